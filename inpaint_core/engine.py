"""The inference engine: runs an InpaintRequest through DeepFill v2 (or a classical fill) at any image size.

High-resolution strategy: the holes are grouped into context windows (`image_ops.plan_windows`: each hole's box
grown by a margin proportional to its size, overlapping windows merged). Each window is resized so the model
sees at most `max_side` pixels on its longer side, padded to a multiple of 8, filled, resized back, and pasted
only inside the hole with a feathered edge, so pixels outside the mask stay bit-identical. Windows run one by
one on a working copy, each seeing the results of the previous ones. A 12 MP photo with a small hole costs one
small model call.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from inpaint_core.budget import window_side
from inpaint_core.classical import CLASSICAL_METHODS, classical_fill
from inpaint_core.devices import autocast, for_inference, inference_tensor, resolve_device, translate_oom
from inpaint_core.errors import CancelledError, InpaintError, WeightsMissingError
from inpaint_core.flow import AttentionField, WindowAttention
from inpaint_core.image_ops import (
    Box,
    check_same_size,
    from_model_tensor,
    mask_to_tensor,
    model_size,
    pad_to_multiple,
    paste_fill,
    plan_windows,
    resize_mask,
    resize_rgb,
    to_float_rgb,
    to_model_tensor,
)
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.precision import resolve_precision

ENGINES: tuple[str, ...] = ("deepfill", *CLASSICAL_METHODS)
STAGES: tuple[str, ...] = ("load", "prepare", "coarse", "refine", "paste")
MIN_MAX_SIDE = 64
NO_WEIGHTS_MESSAGE = (
    "DeepFill weights are not installed (resources/weights has none yet); "
    "use --engine telea or pass --weights FILE"
)

ProgressCallback = Callable[[str, float], None]


class CancelFlag(Protocol):
    """Anything with `is_set()`, e.g. threading.Event."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, eq=False)
class InpaintRequest:
    """Everything one run needs: an immutable snapshot (the caller passes copies it will not modify)."""

    image: np.ndarray  # HxW, HxWx3 or HxWx4; uint8 or uint16
    mask: np.ndarray  # HxW, nonzero = hole
    guide: np.ndarray | None = None  # HxW, nonzero = sketch stroke (used by weights with a guide channel)
    forbid: np.ndarray | None = None  # HxW, nonzero = do not borrow from here
    engine: str = "deepfill"  # "deepfill" | "telea" | "ns"
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "mps"
    precision: str = (
        "auto"  # "auto" (precision.resolve_precision: fp32 until bf16 is measured safe) | "fp32" | ...
    )
    max_side: int = 512  # the longest side the model sees, in pixels
    max_gflop: float | None = None  # work budget per window (budget.py): lowers max_side until it fits
    feather: float = 4.0  # width of the blend ramp inside the hole edge, in image pixels
    weights: str | Path | None = None  # None = the shipped default weights
    request_id: int = 0


@dataclass
class InpaintResult:
    """The filled image and what the overlay needs."""

    image: np.ndarray  # same shape and dtype as the request image; bit-identical outside the mask
    coarse: np.ndarray | None  # the coarse stage pasted into the hole (None for classical engines)
    attention: AttentionField | None  # None for classical engines and empty masks
    windows: list[Box] = field(default_factory=list)
    request_id: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    note: str = ""
    model_sizes: list[tuple[int, int]] = field(
        default_factory=list
    )  # (height, width) the model saw per window


@dataclass
class _Run:
    """Progress, cancel and timing bookkeeping of one run."""

    progress: ProgressCallback | None
    cancel: CancelFlag | None
    timings: dict[str, float] = field(default_factory=dict)
    _stage: str | None = None
    _since: float = 0.0

    def enter(self, stage: str, fraction: float) -> None:
        """Close the current stage's timer, report the next one, and honour a cancel."""
        self.close()
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("cancelled")
        if self.progress is not None:
            self.progress(stage, float(min(1.0, max(0.0, fraction))))
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("cancelled")
        self._stage, self._since = stage, time.perf_counter()

    def finish(self) -> None:
        """Close the last stage and report completion (no cancel check: the work is done)."""
        self.close()
        if self.progress is not None:
            self.progress("paste", 1.0)

    def close(self) -> None:
        if self._stage is not None:
            elapsed = time.perf_counter() - self._since
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + elapsed
            self._stage = None


@dataclass(frozen=True)
class _WindowInput:
    """One window prepared for the model (model space, padded)."""

    box: Box
    size: tuple[int, int]  # (height, width) before padding
    image: torch.Tensor  # (1, 3, Hp, Wp) in [-1, 1]
    mask: torch.Tensor  # (1, 1, Hp, Wp)
    guide: torch.Tensor | None
    forbid: torch.Tensor | None
    hole: np.ndarray  # (box.height, box.width) bool, image space


def _validate(request: InpaintRequest) -> None:
    image = request.image
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.uint16):
        raise InpaintError("the image must be a uint8 or uint16 numpy array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or image.size == 0:
        raise InpaintError(f"the image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    check_same_size(request.mask, image.shape, "mask")
    if request.mask.ndim != 2:
        raise InpaintError(f"the mask must be HxW, got shape {request.mask.shape}")
    for name, extra in (("guide", request.guide), ("forbid mask", request.forbid)):
        if extra is not None:
            check_same_size(extra, image.shape, name)
            if extra.ndim != 2:
                raise InpaintError(f"the {name} must be HxW, got shape {extra.shape}")
    if request.engine not in ENGINES:
        raise InpaintError(f"unknown engine {request.engine!r}; use one of {', '.join(ENGINES)}")
    if request.max_side < MIN_MAX_SIDE:
        raise InpaintError(f"max model resolution must be at least {MIN_MAX_SIDE} px, got {request.max_side}")
    if request.max_gflop is not None and not request.max_gflop > 0:
        raise InpaintError(f"the work budget must be positive, got {request.max_gflop} GFLOP")


class InpaintEngine:
    """Runs requests; keeps loaded models cached per (weights file, device, precision). Thread-safe."""

    def __init__(
        self, *, margin_ratio: float = 0.5, min_margin: int = 32, min_side: int = 128, radius: int = 3
    ):
        self.margin_ratio = margin_ratio
        self.min_margin = min_margin
        self.min_side = min_side
        self.radius = radius  # classical engines' neighbourhood
        self._models: dict[tuple[str, int, int, str, str], DeepFillV2Generator] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------- models

    @staticmethod
    def resolve_weights(weights: str | Path | None) -> tuple[Path, str | None]:
        """The weights file to use and its expected SHA-256 (known only for the shipped default)."""
        if weights is not None:
            return Path(weights), None
        from inpaint_core.weights import default_weights

        shipped = default_weights()
        if shipped is None:
            raise WeightsMissingError(NO_WEIGHTS_MESSAGE)
        return Path(shipped[0]), shipped[1]

    def get_model(
        self, weights: str | Path | None, device: torch.device, precision: str = "fp32"
    ) -> DeepFillV2Generator:
        """The generator for these weights on `device`, loaded once and cached (a changed file is reloaded)."""
        from inpaint_core.weights import load_generator

        path, sha = self.resolve_weights(weights)
        try:
            stat = path.stat()
        except OSError:
            raise WeightsMissingError(f"weights file not found: {path}") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(device), precision)
        with self._lock:
            model = self._models.get(key)
            if model is None:
                with translate_oom(device):
                    model = load_generator(path, device, expected_sha256=sha)
                    for_inference(model, precision)
                # Drop stale entries of the same file (it changed on disk).
                self._models = {k: v for k, v in self._models.items() if k[0] != key[0] or k[3:] != key[3:]}
                self._models[key] = model
            return model

    def clear_cache(self) -> None:
        """Forget every loaded model (frees their memory once no run uses them)."""
        with self._lock:
            self._models.clear()

    # ------------------------------------------------------------------------------------------------- run

    def run(
        self,
        request: InpaintRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> InpaintResult:
        """Fill the request's holes. See the module docstring for the strategy.

        `progress(stage, fraction)` is called between the stages "load", "prepare", then per window "coarse",
        "refine" (classical engines: "refine" only) and "paste"; `cancel.is_set()` is checked at each, raising
        CancelledError. Raises InpaintError subclasses (MaskError, WeightsError, DeviceError) with one line.
        """
        _validate(request)
        state = _Run(progress, cancel)
        notes: list[str] = []
        image = request.image
        hole_all = request.mask > 0

        state.enter("load", 0.0)
        if not hole_all.any():
            state.close()
            return InpaintResult(
                image=image.copy(),
                coarse=image.copy() if request.engine == "deepfill" else None,
                attention=None,
                windows=[],
                request_id=request.request_id,
                timings=state.timings,
                note="empty mask: nothing to fill",
            )
        model: DeepFillV2Generator | None = None
        device = torch.device("cpu")
        if request.engine == "deepfill":
            device = resolve_device(request.device)
            # From here on the request names a concrete precision ("auto" resolved for this device and weights).
            request = dataclasses.replace(
                request, precision=resolve_precision(request.precision, device, request.weights)
            )
            model = self.get_model(request.weights, device, request.precision)
            if request.guide is not None and np.any(request.guide) and not model.config.guide_channel:
                notes.append("guide strokes ignored: these weights have no guide channel")
        else:
            if request.guide is not None and np.any(request.guide):
                notes.append(f"guide strokes ignored by the {request.engine} engine")
            if request.forbid is not None and np.any(request.forbid):
                notes.append(f"the do-not-borrow mask is ignored by the {request.engine} engine")

        state.enter("prepare", 0.1)
        windows = plan_windows(
            hole_all, margin_ratio=self.margin_ratio, min_margin=self.min_margin, min_side=self.min_side
        )
        work = image.copy()
        coarse_img = image.copy() if model is not None else None
        attention: list[WindowAttention] = []
        model_sizes: list[tuple[int, int]] = []
        n = len(windows)
        for i, box in enumerate(windows):
            base, span = 0.1 + 0.9 * i / n, 0.9 / n
            hole = hole_all[box.slices]
            if model is None:
                state.enter("refine", base)
                fill = classical_fill(work[box.slices], hole, request.engine, self.radius)  # type: ignore[arg-type]
                state.enter("paste", base + 0.9 * span)
                paste_fill(work, fill, hole, box, request.feather)
                continue
            prepared = self._prepare(work, request, box, hole, model, device)
            model_sizes.append(prepared.size)
            assert coarse_img is not None
            state.enter("coarse", base + 0.05 * span)
            fill, coarse_fill, win_att = self._run_model(model, prepared, request, device, state, base, span)
            state.enter("paste", base + 0.9 * span)
            paste_fill(work, fill, hole, box, request.feather)
            paste_fill(coarse_img, coarse_fill, hole, box, request.feather)
            if win_att is not None:
                attention.append(win_att)
        state.finish()
        field_ = AttentionField(attention, image.shape[:2]) if model is not None else None
        return InpaintResult(
            image=work,
            coarse=coarse_img,
            attention=field_,
            windows=windows,
            request_id=request.request_id,
            timings=state.timings,
            note="; ".join(notes),
            model_sizes=model_sizes,
        )

    # ---------------------------------------------------------------------------------------------- helpers

    def _prepare(
        self,
        work: np.ndarray,
        request: InpaintRequest,
        box: Box,
        hole: np.ndarray,
        model: DeepFillV2Generator,
        device: torch.device,
    ) -> _WindowInput:
        """Crop, resize (longer side <= max_side) and pad one window into model tensors."""
        mh, mw = model_size(box, window_side(box, request.max_side, request.max_gflop, model.config))
        rgb = resize_rgb(to_float_rgb(work[box.slices]), mw, mh)
        hole_m = resize_mask(hole, mw, mh)
        rgb_p = pad_to_multiple(rgb, 8, "reflect")
        hole_p = pad_to_multiple(hole_m, 8, "constant")
        guide_t = None
        if model.config.guide_channel:
            guide = request.guide[box.slices] if request.guide is not None else np.zeros_like(hole)
            guide_t = inference_tensor(
                mask_to_tensor(pad_to_multiple(resize_mask(guide, mw, mh), 8, "constant")), device
            )
        forbid_p = np.zeros(hole_p.shape, bool)
        forbid_p[mh:, :] = True  # the reflected padding is not real content: never borrow from it
        forbid_p[:, mw:] = True
        if request.forbid is not None:
            forbid_p[:mh, :mw] |= resize_mask(request.forbid[box.slices], mw, mh)
        forbid_t = inference_tensor(mask_to_tensor(forbid_p), device) if forbid_p.any() else None
        return _WindowInput(
            box=box,
            size=(mh, mw),
            image=inference_tensor(to_model_tensor(rgb_p), device),
            mask=inference_tensor(mask_to_tensor(hole_p), device),
            guide=guide_t,
            forbid=forbid_t,
            hole=hole,
        )

    @staticmethod
    def _run_model(
        model: DeepFillV2Generator,
        win: _WindowInput,
        request: InpaintRequest,
        device: torch.device,
        state: _Run,
        base: float,
        span: float,
    ) -> tuple[np.ndarray, np.ndarray, WindowAttention | None]:
        """Both stages on one window; returns the fine and coarse fills (image space, RGB float) and attention."""
        mask, image = win.mask, win.image
        with torch.inference_mode(), translate_oom(device):
            with autocast(request.precision, device):
                # The generator's forward, split so progress can be reported between the two stages.
                coarse = model.coarse(model.prepare_input(image, mask, win.guide))
            state.enter("refine", base + 0.45 * span)
            with autocast(request.precision, device):
                pasted = coarse * mask + image * (1.0 - mask)
                fine, att = model.refine(pasted, mask, win.forbid, True)
            fine = fine.float() * mask + image * (1.0 - mask)
            coarse = coarse.float() * mask + image * (1.0 - mask)
        mh, mw = win.size
        box = win.box
        fine_rgb = resize_rgb(from_model_tensor(fine)[:mh, :mw], box.width, box.height)
        coarse_rgb = resize_rgb(from_model_tensor(coarse)[:mh, :mw], box.width, box.height)
        win_att = None
        if att is not None:
            win_att = WindowAttention(
                box=box,
                scale_x=mw / box.width,
                scale_y=mh / box.height,
                topk_index=att.topk_index[0].cpu().numpy().astype(np.int64),
                topk_weight=att.topk_weight[0].float().cpu().numpy(),
                offsets=att.offsets[0].float().cpu().numpy(),
                valid=att.valid[0, 0].cpu().numpy().astype(bool),
                hole=win.hole.copy(),
                cell=int(att.cell),
                patch=int(att.patch),
            )
        return fine_rgb, coarse_rgb, win_att
