"""Which scratch detector runs, and the learned one's analysis: one front door for the CLI, the batch and the editor.

Two detectors propose the same thing, a mask of scratches, creases and dust:
- "learned": `scratch_net.ScratchNet`, trained on synthetic damage (`restore/damage.py`, `train/scratch.py`).
  It gives every pixel a damage logit once; the sensitivity only moves the threshold on that map, so a live
  slider costs a comparison and a one-pixel growth.
- "classical": `restore/scratches.py` (top-hats, line evidence, hysteresis), the fallback when no learned
  weights are installed, and the benchmark's baseline.
"auto" picks the learned one when its weights ship (`resources/weights/manifest.json`, key `scratch_detector`).

Both analyses answer `.mask(sensitivity)` and carry `.method`, so callers need not know which ran. This module
imports torch only when the learned detector runs: the editor imports it on its GUI thread.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import cv2
import numpy as np

from inpaint_core import manifest
from inpaint_core.errors import InpaintError, Remedy, WeightsError, WeightsMissingError
from inpaint_core.files import atomic_write
from inpaint_core.restore.scratches import (
    DEFAULT_MAX_WIDTH,
    DEFAULT_SENSITIVITY,
    analyse_scratches,
    check_image,
    detect_scratches,
    luma8,
)

if TYPE_CHECKING:
    from inpaint_core.restore.scratch_net import ScratchNet

Method = Literal["auto", "learned", "classical"]
METHODS: tuple[str, ...] = ("auto", "learned", "classical")
METHOD_LABELS = {
    "learned": "learned detector (small U-Net)",
    "classical": "classical filters (top-hat, line evidence)",
}
MANIFEST_KEY = "scratch_detector"
MISSING_MESSAGE = "the learned scratch detector's weights are not installed"
FORMAT = "deepfill-studio-scratchnet/1"
TRAINED_MAX_WIDTH = 10  # px: the widest damage in training; wider `max_width`s analyse a downscaled copy
SENSITIVITY_SPAN = 4.0  # logits: sensitivity 0 and 1 move the threshold this far from the trained default
WHOLE_LIMIT = 4096 * 3072  # px: larger photos run in tiles (about 60 bytes a pixel at peak)
TILE, TILE_MARGIN = 2048, 128  # px: tile side (margins included) and the context each side that is dropped


class DamageAnalysis(Protocol):
    """What both detectors' analyses offer: the method that ran and a mask at any sensitivity."""

    @property
    def method(self) -> str: ...

    @property
    def shape(self) -> tuple[int, int]: ...

    @property
    def analysed_shape(self) -> tuple[int, int]: ...

    def mask(self, sensitivity: float = DEFAULT_SENSITIVITY) -> np.ndarray: ...


@dataclass(frozen=True)
class LearnedAnalysis:
    """The learned detector's logit map for one photo; `.mask(s)` thresholds it."""

    logits: np.ndarray  # (h, w) float16 at `analysed_shape`
    threshold: float  # the trained default (sensitivity 0.5), in logits
    max_width: int
    shape: tuple[int, int]  # (height, width) of the photo the mask is for
    analysed_shape: tuple[int, int]  # smaller than `shape` only when max_width > TRAINED_MAX_WIDTH
    method: str = "learned"

    def probability(self) -> np.ndarray:
        """Per-pixel damage probability at the analysed size. Shape: -> (h, w) float32"""
        return np.asarray(1.0 / (1.0 + np.exp(-self.logits.astype(np.float32))), np.float32)

    def mask(self, sensitivity: float = DEFAULT_SENSITIVITY) -> np.ndarray:
        """The proposed mask at this sensitivity (0 = only the surest damage, 1 = anything plausible).

        Shape: -> (H, W) bool at `shape`
        """
        return self.mask_at(self.cut_for(sensitivity))

    def cut_for(self, sensitivity: float) -> float:
        """The logit threshold a sensitivity stands for: the trained default at 0.5, +-SENSITIVITY_SPAN at 0/1."""
        if not 0.0 <= sensitivity <= 1.0:
            raise InpaintError(f"sensitivity must be between 0 and 1, got {sensitivity:g}")
        return self.threshold + (0.5 - float(sensitivity)) * 2.0 * SENSITIVITY_SPAN

    def mask_at(self, cut: float) -> np.ndarray:
        """The proposed mask where the logit exceeds `cut` (the benchmark sweeps it past the slider's span).

        Shape: -> (H, W) bool at `shape`
        """
        found = (self.logits > np.float16(cut)).astype(np.uint8)
        width = min(self.max_width, TRAINED_MAX_WIDTH)
        if width < TRAINED_MAX_WIDTH:  # drop what is wider than asked: it survives an opening that wide
            wide = cv2.morphologyEx(found, cv2.MORPH_OPEN, _disc(width + 2))
            found[wide > 0] = 0
        grown = cv2.dilate(found, _disc(3))  # the anti-aliased rim, as the classical detector adds
        if grown.shape != self.shape:
            grown = cv2.resize(grown, (self.shape[1], self.shape[0]), interpolation=cv2.INTER_NEAREST)
        return grown > 0


@cache
def _disc(diameter: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))


# ------------------------------------------------------------------------------------------------- choosing


def learned_weights() -> tuple[Path, str] | None:
    """The shipped detector weights `(path, sha256)` named in the manifest, or None when none ship."""
    try:
        entry = json.loads(manifest.MANIFEST.read_text(encoding="utf-8")).get(MANIFEST_KEY)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or "file" not in entry or "sha256" not in entry:
        return None
    name = str(entry["file"])
    if Path(name).name != name:
        return None
    return manifest.MANIFEST.parent / name, str(entry["sha256"]).lower()


def resolve_method(method: str = "auto") -> str:
    """What `method` means on this installation: "learned" or "classical".

    Raises:
        InpaintError: an unknown method.
        WeightsMissingError: "learned" was asked for and no detector weights are installed.
    """
    if method not in METHODS:
        raise InpaintError(f"unknown scratch detector {method!r}; use one of {', '.join(METHODS)}")
    shipped = learned_weights()
    if method == "classical" or (method == "auto" and (shipped is None or not shipped[0].is_file())):
        return "classical"
    if shipped is None or not shipped[0].is_file():
        raise WeightsMissingError(MISSING_MESSAGE, remedy=Remedy.OTHER_DETECTOR)
    return "learned"


def analyse_damage(
    image: np.ndarray,
    method: str = "auto",
    max_width: int = DEFAULT_MAX_WIDTH,
    *,
    preview_side: int | None = None,
    weights: str | os.PathLike[str] | None = None,
) -> DamageAnalysis:
    """The expensive, sensitivity-independent part of the detection; call `.mask(s)` on the result.

    `preview_side` applies to the classical detector only: the learned one always reads full resolution
    (thin damage vanishes on a smaller copy) and tiles a large photo itself. `weights` overrides the shipped
    detector (and implies "learned").
    """
    chosen = "learned" if weights is not None else resolve_method(method)
    if chosen == "classical":
        return analyse_scratches(image, max_width, preview_side=preview_side)
    return analyse_learned(image, max_width, weights=weights)


def detect_damage(
    image: np.ndarray,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_width: int = DEFAULT_MAX_WIDTH,
    method: str = "auto",
    *,
    weights: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """The proposed damage mask at full resolution, by `method` (see `resolve_method`).

    Shape: (H, W) | (H, W, 3) | (H, W, 4), uint8/uint16 -> (H, W) bool
    """
    if weights is None and resolve_method(method) == "classical":
        return detect_scratches(image, sensitivity, max_width)
    return analyse_learned(image, max_width, weights=weights).mask(sensitivity)


# ------------------------------------------------------------------------------------------------- learned


def analyse_learned(
    image: np.ndarray, max_width: int = DEFAULT_MAX_WIDTH, *, weights: str | os.PathLike[str] | None = None
) -> LearnedAnalysis:
    """Run the learned detector over the whole photo (in tiles when it is large)."""
    check_image(image, max_width)
    if weights is not None:
        model, threshold = load_detector(Path(weights), None)
    else:
        shipped = learned_weights()
        if shipped is None:
            raise WeightsMissingError(MISSING_MESSAGE, remedy=Remedy.OTHER_DETECTOR)
        model, threshold = load_detector(*shipped)
    rgb = _as_rgb8(image)
    height, width = rgb.shape[:2]
    # Wider damage than trained: look at a copy where it is as wide as the widest trained.
    if max_width > TRAINED_MAX_WIDTH:
        scale = TRAINED_MAX_WIDTH / max_width
        size = (max(32, round(width * scale)), max(32, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    logits = logit_map(model, rgb)
    return LearnedAnalysis(
        logits, threshold, int(max_width), (height, width), (logits.shape[0], logits.shape[1])
    )


def _as_rgb8(image: np.ndarray) -> np.ndarray:
    """Shape: (H, W) | (H, W, 3|4) uint8/uint16 -> (H, W, 3) uint8"""
    if image.ndim == 2:
        return cv2.cvtColor(luma8(image), cv2.COLOR_GRAY2RGB)
    pixels = image[..., :3]
    return np.ascontiguousarray(pixels if pixels.dtype == np.uint8 else (pixels >> 8).astype(np.uint8))


_LOCK = threading.Lock()  # one detector pass at a time: torch's thread pool is shared


def logit_map(model: ScratchNet, rgb: np.ndarray) -> np.ndarray:
    """The network's logits for a whole photo: one pass up to `WHOLE_LIMIT` px, overlapping tiles beyond.

    Shape: (H, W, 3) uint8 -> (H, W) float16
    """
    import torch

    height, width = rgb.shape[:2]
    out = np.empty((height, width), np.float16)
    with _LOCK, torch.inference_mode(), _autocast():
        if height * width <= WHOLE_LIMIT:
            out[:] = _run(model, rgb)
            return out
        step = TILE - 2 * TILE_MARGIN
        for y in range(0, height, step):
            for x in range(0, width, step):
                y0, x0 = max(0, y - TILE_MARGIN), max(0, x - TILE_MARGIN)
                y1, x1 = min(height, y + step + TILE_MARGIN), min(width, x + step + TILE_MARGIN)
                tile = _run(model, rgb[y0:y1, x0:x1])
                ys, xs = min(height, y + step), min(width, x + step)
                out[y:ys, x:xs] = tile[y - y0 : ys - y0, x - x0 : xs - x0]
    return out


def _autocast() -> Any:
    import contextlib

    import torch

    from inpaint_core.devices import cpu_has_native_bf16

    if cpu_has_native_bf16():  # about 1.7x faster than fp32 where the CPU does bf16 natively
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _run(model: ScratchNet, rgb: np.ndarray) -> np.ndarray:
    """One forward pass on a reflect-padded copy. Shape: (h, w, 3) uint8 -> (h, w) float16"""
    import torch

    from inpaint_core.restore.scratch_net import MULTIPLE

    h, w = rgb.shape[:2]
    ph, pw = -h % MULTIPLE, -w % MULTIPLE
    padded = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="reflect" if min(h, w) > 1 else "edge")
    x = torch.from_numpy(padded).permute(2, 0, 1)[None].float().div_(255.0)
    x = x.contiguous(memory_format=torch.channels_last)
    logits = model(x)[0, 0, :h, :w]
    return logits.float().clamp_(-60000, 60000).numpy().astype(np.float16)


# ------------------------------------------------------------------------------------------------- weights


def load_detector(path: Path, expected_sha256: str | None) -> tuple[ScratchNet, float]:
    """The detector network (eval mode, channels_last) and its default threshold, cached per file version.

    Raises:
        WeightsMissingError: no file at `path`.
        WeightsError: not a detector file, modified (SHA-256 mismatch), wrong shapes or non-finite values.
    """
    if not path.is_file():
        raise WeightsMissingError(f"scratch detector weights not found: {path}")
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size, expected_sha256)


@cache
def _load_cached(path: str, _mtime: int, _size: int, expected_sha256: str | None) -> tuple[ScratchNet, float]:
    import hashlib

    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load

    from inpaint_core.restore.scratch_net import ScratchNet, ScratchNetConfig

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror}") from exc
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise WeightsError(f"{path} does not match its expected SHA-256: the file was modified or corrupted")
    try:
        header_len = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
        tensors = load(data)
    except (SafetensorError, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise WeightsError(f"{path} is not a valid weights file (truncated or not safetensors)") from exc
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a scratch detector weights file")
    try:
        config = ScratchNetConfig.from_dict(metadata)
        threshold = float(metadata["threshold"])
        model = ScratchNet(config)
        model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path} does not fit the scratch detector: {str(exc).splitlines()[0]}") from exc
    if not all(bool(torch.isfinite(v).all()) for v in tensors.values()) or not np.isfinite(threshold):
        raise WeightsError(f"{path} holds NaN or infinite values")
    return model.eval().to(memory_format=torch.channels_last), threshold  # type: ignore[call-overload]


def save_detector(
    model: ScratchNet, path: str | os.PathLike[str], threshold: float, extra: dict[str, str] | None = None
) -> Path:
    """Write the detector as fp16 safetensors (atomically), with its config and default threshold."""
    import torch
    from safetensors.torch import save

    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "threshold": f"{threshold:.4f}", **model.config.to_dict(), **(extra or {})}
    target = Path(path)
    with atomic_write(target, "wb") as handle:
        handle.write(save(tensors, metadata=metadata))
    return target
