"""What a caller can show about a weights file without loading torch: name, size, parameters, training set.

Only the safetensors header is read (an 8-byte little-endian length, then JSON holding each tensor's dtype and
shape and the `__metadata__` strings `weights.save_generator` writes), so describing a file costs a few kilobytes
of I/O. The editor's model picker uses it through the front door (`inpaint_core.api`).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from inpaint_core import manifest
from inpaint_core.errors import Remedy, WeightsError, WeightsMissingError
from inpaint_core.registry import CLASSICAL_ENGINES, DEEPFILL, ENGINE_INFO, PATCHMATCH

# Our metadata's "format" value: `weights.save_generator` writes it, `weights.load_generator` requires it.
FORMAT = "deepfill-studio/1"
WEIGHTS_SUFFIX = ".safetensors"
# Published DeepFill v2 checkpoints the engine converts: the official TF release's `snap-0.index` and the
# PyTorch port's `.pth` (weights.convert_any).
CHECKPOINT_SUFFIXES: tuple[str, ...] = (".index", ".pth", ".pt")
_MAX_HEADER = 100 << 20  # a larger JSON header is not a weights file (and not worth reading)
_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}
# Substrings of a checkpoint's file or folder name -> the data set the published weights were trained on.
_TRAINING_SETS = (("places2", "Places2"), ("celeba", "CelebA-HQ"))
# The model card describes the weights beside it (resources/weights/, e.g. the CPU candidate).
MODEL_CARD = manifest.MANIFEST.parent / "MODEL_CARD.md"
# Without bench figures, fewer training samples than this (the model card's target for one GPU session) marks a
# model experimental; with figures, they decide.
EXPERIMENTAL_SAMPLES = 1_000_000
# The fills a model must beat: the ones that need no weights (the "best classical fill").
BASELINE_ENGINES: tuple[str, ...] = (*CLASSICAL_ENGINES, PATCHMATCH)
# A row of the card's `bench quality` table: | engine | mask bin | hole | n | PSNR | L1 | SSIM |
_CARD_ROW = re.compile(
    r"^\|\s*(deepfill|telea|ns|patchmatch)\s*\|\s*(\d+-\d+%)\s*\|[^|]*\|[^|]*\|\s*([\d.]+)\s*\|"
)


@dataclass(frozen=True)
class BinScore:
    """The model against the best fill without weights (Telea, NS, PatchMatch) on one hole-size bin of
    `bench quality` (hole PSNR, dB)."""

    bin: str  # "10-20%"
    model_db: float
    classical_db: float
    classical: str  # the best baseline engine's name on this bin

    @property
    def gain(self) -> float:
        return self.model_db - self.classical_db


@dataclass(frozen=True)
class Quality:
    """What is known about how well a weights file fills, from its metadata or the model card."""

    samples_seen: int | None = None
    scores: tuple[BinScore, ...] = ()
    source: str = ""  # where the scores come from: "the model card", "the file's metadata"

    @property
    def below_classical(self) -> tuple[BinScore, ...]:
        """The bins where a classical fill scores higher."""
        return tuple(s for s in self.scores if s.gain < 0)

    @property
    def experimental(self) -> bool:
        """Measured below a classical fill on some bin; without figures, trained on too few samples."""
        if self.scores:
            return bool(self.below_classical)
        return self.samples_seen is not None and self.samples_seen < EXPERIMENTAL_SAMPLES


@dataclass(frozen=True)
class ModelInfo:
    """A DeepFill weights file as a picker shows it."""

    name: str  # the manifest's name for the shipped weights, else the file name
    path: Path
    size_bytes: int
    parameters: int
    trained_on: str  # "" when the file does not say
    guide_channel: bool  # the weights read guide strokes (a 6th input channel)
    dtype: str  # "float16", "float32", ...
    source: str = ""  # the checkpoint it was converted from, if any
    quality: Quality = Quality()
    cnum: int | None = None  # the model's width from its recorded config (None when the file does not say)


def guess_training_set(name: str) -> str:
    """The data set a published checkpoint was trained on, from its file or folder name ("" if unknown):
    the official releases are `release_places2_256_deepfill_v2` and `release_celeba_hq_256_deepfill_v2`, the
    PyTorch port's files `states_tf_places2.pth` and `states_tf_celebahq.pth`."""
    lowered = name.lower()
    return next((label for key, label in _TRAINING_SETS if key in lowered), "")


def is_checkpoint(path: str | Path) -> bool:
    """True for a published checkpoint that must be converted before use (by its suffix)."""
    return Path(path).suffix.lower() in CHECKPOINT_SUFFIXES


def _header(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 0 < size <= _MAX_HEADER:
                raise WeightsError(f"{path.name} is not a safetensors weights file")
            header = json.loads(fh.read(size))
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # JSON, or bytes that are not UTF-8
        raise WeightsError(f"{path.name} is not a safetensors weights file") from exc
    if not isinstance(header, dict):
        raise WeightsError(f"{path.name} is not a safetensors weights file")
    return header


def read_weights_info(path: str | Path, name: str = "", trained_on: str = "") -> ModelInfo:
    """Describe a DeepFill Studio `.safetensors` weights file from its header (no tensors are read).

    `name` and `trained_on` override what the file says (the manifest names the shipped weights).

    Raises:
        WeightsMissingError: no file at `path`.
        WeightsError: not a safetensors file, or not in this project's format (e.g. an unconverted checkpoint).
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsMissingError(f"weights file not found: {p}")
    header = _header(p)
    raw_meta = header.get("__metadata__") or {}
    metadata = {str(k): str(v) for k, v in raw_meta.items()} if isinstance(raw_meta, dict) else {}
    if metadata.get("format") != FORMAT:
        raise WeightsError(
            f"{p.name} is not a DeepFill Studio weights file: it holds another model or another format",
            remedy=Remedy.CONVERT_WEIGHTS,
        )
    tensors = [v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]
    parameters = sum(math.prod(int(n) for n in t.get("shape", [])) for t in tensors)
    try:
        config = json.loads(metadata.get("config", "{}"))
    except ValueError:
        config = {}
    first_dtype = str(tensors[0].get("dtype", "")) if tensors else ""
    source = metadata.get("source", "")
    return ModelInfo(
        name=name or p.name,
        path=p,
        size_bytes=p.stat().st_size,
        parameters=parameters,
        trained_on=trained_on or metadata.get("trained_on", "") or guess_training_set(source),
        guide_channel=bool(isinstance(config, dict) and config.get("guide_channel")),
        dtype=metadata.get("dtype", "") or _DTYPES.get(first_dtype, first_dtype.lower()),
        source=source,
        quality=_quality(p, metadata),
        cnum=_width(config),
    )


def _width(config: object) -> int | None:
    width = config.get("cnum") if isinstance(config, dict) else None
    return width if isinstance(width, int) and width > 0 else None


def _quality(path: Path, metadata: dict[str, str]) -> Quality:
    """Samples seen from the file; bench scores from its metadata ("bench_quality": {bin: {engine: dB}}), else
    from the model card when the file is one of the weights the card describes."""
    samples = metadata.get("samples_seen", "")
    seen = int(samples) if samples.isdigit() else None
    scores = _scores(_metadata_table(metadata.get("bench_quality", "")))
    if scores:
        return Quality(seen, scores, "the file's metadata")
    if MODEL_CARD.parent.resolve() in path.resolve().parents:
        scores = _scores(_card_table(str(MODEL_CARD), _mtime(MODEL_CARD)))
        if scores:
            return Quality(seen, scores, "the model card")
    return Quality(seen)


def _scores(table: dict[str, dict[str, float]]) -> tuple[BinScore, ...]:
    """Per bin, the model ("deepfill") against the best baseline engine; bins without both are skipped."""
    out = []
    for bin_, row in table.items():
        classical = {name: db for name, db in row.items() if name in BASELINE_ENGINES}
        if DEEPFILL in row and classical:
            best = max(classical, key=lambda name: classical[name])
            out.append(BinScore(bin_, row[DEEPFILL], classical[best], ENGINE_INFO[best].short))
    return tuple(out)


def _metadata_table(text: str) -> dict[str, dict[str, float]]:
    try:
        table = json.loads(text) if text else {}
        return {str(b): {str(e): float(v) for e, v in row.items()} for b, row in table.items()}
    except (ValueError, TypeError, AttributeError):  # malformed figures are no figures, not a broken file
        return {}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@cache
def _card_table(card: str, _mtime_ns: int) -> dict[str, dict[str, float]]:
    """The model card's first `bench quality` table: {bin: {engine: hole PSNR}} (re-read when it changes)."""
    table: dict[str, dict[str, float]] = {}
    try:
        lines = Path(card).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return table
    for line in lines:
        match = _CARD_ROW.match(line)
        if match:
            engine, bin_, db = match.group(1), match.group(2), float(match.group(3))
            table.setdefault(bin_, {}).setdefault(engine, db)  # the first table wins (later ones are subsets)
    return table


def shipped_model_info() -> ModelInfo | None:
    """The shipped default weights (`resources/weights/manifest.json`), or None while none ship.

    Raises:
        WeightsMissingError: the manifest names a file that is not there.
        WeightsError: the manifest or the file is malformed.
    """
    entry = manifest.default_entry()
    if entry is None:
        return None
    return read_weights_info(
        manifest.MANIFEST.parent / entry["file"],
        name=entry.get("name", ""),
        trained_on=entry.get("trained_on", ""),
    )
