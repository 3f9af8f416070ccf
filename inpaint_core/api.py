"""The core's front door: what a caller (the editor, the CLI, a script) needs to ask for a fill and read it back.

No torch here (nor in anything this imports), so the editor can build requests, read results and type against
the engine without loading the ML stack; only the composition root (`app/main.py`) imports
`inpaint_core.engine.InpaintEngine`, which satisfies `Engine`.

Conventions (the one place they are spelled out):
- Images at boundaries are numpy arrays in RGB channel order: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA), dtype
  uint8 or uint16.
- Masks are HxW; nonzero = hole (or stroke for a guide, or "do not borrow from here" for a forbid mask).
- Boxes are half-open pixel rectangles `boxes.Box(x0, y0, x1, y1)` in image coordinates.
- Model tensors (inside the core only) are float32 NCHW, images in [-1, 1], masks in {0, 1}, H and W multiples
  of 8.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from inpaint_core import RESOURCES  # the editor never suggests saving in the program's own folder
from inpaint_core.boxes import Box
from inpaint_core.errors import WeightsError
from inpaint_core.files import FileIdentity, StagedOutputs, atomic_write, file_identity
from inpaint_core.flow import FLOW_MAX_RADIUS, AttentionField, Source
from inpaint_core.manifest import default_weights
from inpaint_core.model_info import (
    CHECKPOINT_SUFFIXES,
    EXPERIMENTAL_SAMPLES,
    WEIGHTS_SUFFIX,
    BinScore,
    ModelInfo,
    Quality,
    is_checkpoint,
    read_weights_info,
    shipped_model_info,
)
from inpaint_core.registry import (
    AUTO,
    AUTO_THIN_PX,
    CLASSICAL_ENGINES,
    DEEPFILL,
    DEVICE_LABELS,
    DEVICES,
    EDGE_BLEND,
    ENGINE_INFO,
    ENGINE_LABELS,
    ENGINES,
    JPEG_QUALITY,
    MAX_EDGE_BLEND,
    MAX_PATCH_RADIUS,
    MAX_SIDE,
    MIN_MAX_SIDE,
    MODEL_MULTIPLE,
    NS,
    PATCH_RADIUS,
    PATCH_RADIUS_SETTING,
    PATCHMATCH,
    PRECISIONS,
    SOURCE_MAP_ENGINES,
    STAGES,
    TELEA,
    TONE_MODES,
    ClassicalMethod,
    EngineInfo,
    IntSetting,
    engine_label,
)

__all__ = [
    "AUTO",
    "AUTO_THIN_PX",
    "CHECKPOINT_SUFFIXES",
    "CLASSICAL_ENGINES",
    "DEEPFILL",
    "DEVICES",
    "DEVICE_LABELS",
    "EDGE_BLEND",
    "ENGINES",
    "ENGINE_INFO",
    "ENGINE_LABELS",
    "EXPERIMENTAL_SAMPLES",
    "FLOW_MAX_RADIUS",
    "INTERACTIVE_SECONDS",
    "JPEG_QUALITY",
    "MAX_EDGE_BLEND",
    "MAX_PATCH_RADIUS",
    "MAX_SIDE",
    "MIN_MAX_SIDE",
    "MODEL_MULTIPLE",
    "NS",
    "PATCHMATCH",
    "PATCH_RADIUS",
    "PATCH_RADIUS_SETTING",
    "PRECISIONS",
    "RESOURCES",
    "SOURCE_MAP_ENGINES",
    "STAGES",
    "TELEA",
    "TONE_MODES",
    "WEIGHTS_SUFFIX",
    "AttentionField",
    "BinScore",
    "CancelFlag",
    "ClassicalMethod",
    "Engine",
    "EngineInfo",
    "FileIdentity",
    "InpaintRequest",
    "InpaintResult",
    "IntSetting",
    "ModelInfo",
    "ModelTools",
    "ProgressCallback",
    "Quality",
    "Source",
    "StagedOutputs",
    "atomic_write",
    "default_engine",
    "engine_label",
    "file_identity",
    "is_checkpoint",
    "read_weights_info",
    "shipped_model_info",
]

INTERACTIVE_SECONDS = 0.5  # issue 14: the time a fill a user waits for at the click may take

ProgressCallback = Callable[[str, float], None]
"""`progress(stage, fraction)`: a stage of `STAGES` and the fraction (0..1) of the whole run done."""


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
    engine: str = DEEPFILL  # one of ENGINES
    device: str = "auto"  # one of DEVICES, or "cuda:N"
    # "auto" (precision.resolve_precision: bf16 only on a CPU/GPU with fast bf16 and weights whose manifest records
    # a bf16 hole-PSNR loss <= 0.1 dB; fp32 until then) | "fp32" | "bf16" | "fp16"
    precision: str = "auto"
    max_side: int = MAX_SIDE.default  # the longest side the model sees, in pixels
    max_gflop: float | None = None  # work budget per window (budget.py): lowers max_side until it fits
    # Time budget per window in seconds (the interactive path): the engine turns it into `max_gflop` for the
    # device from a short convolution measurement (budget.interactive_gflop_budget). Ignored with max_gflop.
    max_seconds: float | None = None
    # Edge blend, in image pixels: the fill always replaces the whole hole (the original pixels under the mask
    # never come back); with N > 0 it also covers a band N px wide outside the mask and fades into the original
    # across it, so the changed area grows by N px. 0 = none (default: docs/BENCHMARKS.md, "Paste").
    edge_blend: int = EDGE_BLEND.default
    weights: str | Path | None = None  # None = the shipped default weights
    return_coarse: bool = False  # also return DeepFill's coarse stage pasted into the hole (for study)
    # "auto": a grey or toned (sepia) RGB photo's fill keeps its tone (restore/tone.py); "off" does not
    tone: str = "auto"
    # DeepFill: shift the fill to meet the photo at the hole's border without a step (seam.py, Poisson
    # blending); False = the model's raw output (for study, and to measure what the blending adds)
    match_seam: bool = True
    patch_radius: int = PATCH_RADIUS  # PatchMatch (and auto's wide holes): patches of (2r+1)^2 pixels
    request_id: int = 0


@dataclass
class InpaintResult:
    """The filled image and what the overlay needs."""

    # same shape and dtype as the request image; bit-identical outside the mask and its edge-blend band (the
    # request's `edge_blend` px around the mask; with 0, outside the mask); alpha is never changed
    image: np.ndarray
    # DeepFill's coarse stage pasted into the hole; only with `request.return_coarse` (else None, and always
    # None for classical engines)
    coarse: np.ndarray | None
    # DeepFill's attention; PatchMatch's exact source map (auto: of the holes PatchMatch filled); None for Telea,
    # Navier-Stokes and empty masks
    attention: AttentionField | None
    windows: list[Box] = field(default_factory=list)  # the context windows filled, none overlapping
    request_id: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    note: str = ""
    # (height, width) the model saw per window
    model_sizes: list[tuple[int, int]] = field(default_factory=list)
    # What the engine actually used, resolved from the request's "auto"s and defaults (provenance records these):
    engine: str = ""  # the request's engine
    device: str | None = None  # DeepFill: the concrete torch device ("cpu", "cuda:0"); None for the others
    precision: str | None = None  # DeepFill: the concrete precision ("fp32", "bf16"); None for the others
    weights: Path | None = (
        None  # DeepFill: the weights file loaded (the shipped one when the request had None)
    )
    weights_sha256: str | None = None  # its SHA-256 (checked against the manifest for the shipped weights)

    def model_size_text(self) -> str:
        """What resolution the model worked at, for a status line: "model at 344x344 px", "model at up to
        512x384 px" over several windows; "" for the classical engines (they work at full resolution)."""
        if not self.model_sizes:
            return ""
        height, width = max(self.model_sizes, key=lambda hw: hw[0] * hw[1])
        up_to = "up to " if len(set(self.model_sizes)) > 1 else ""
        return f"model at {up_to}{width}x{height} px"


class Engine(Protocol):
    """What runs a request: `inpaint_core.engine.InpaintEngine`, or a test's stand-in."""

    def run(
        self,
        request: InpaintRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> InpaintResult: ...


@runtime_checkable
class ModelTools(Protocol):
    """What an engine may offer besides `run` (InpaintEngine does): the devices this machine can use, and
    converting a published checkpoint into a weights file. Both need torch, so they live on the engine object
    (which only the composition root builds), not in this torch-free module."""

    def available_devices(self) -> tuple[str, ...]: ...

    def convert_weights(
        self,
        source: str | Path,
        output: str | Path,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> Path: ...


def default_engine() -> str:
    """DeepFill when weights ship (`resources/weights/manifest.json`), else auto (Navier-Stokes for thin holes,
    PatchMatch for wide ones): it needs no weights and copies real texture into wide holes."""
    try:
        return DEEPFILL if default_weights() is not None else AUTO
    except WeightsError:  # a broken manifest: the engine says so when DeepFill is asked for
        return AUTO
