"""The inference engine: runs an InpaintRequest through DeepFill v2 (or a classical fill) at any image size.

High-resolution strategy: the holes are grouped into context windows (`boxes.plan_windows`: each hole's box
grown by a margin proportional to its size, overlapping windows merged). Each window is resized so the model
sees at most `max_side` pixels on its longer side, padded to a multiple of 8 and filled (except thin holes,
which `tiling.plan_jobs` cuts into tiles the model sees at full resolution); the paste resamples
the fill only at the pixels it writes. The fill replaces the hole completely (none of the original pixels
under the mask come back); an edge blend of `edge_blend` px grows the filled area by that band and fades the
fill into the original across it. Pixels outside the mask and that band stay bit-identical. Windows run one
by one on a working copy, each seeing the results of the previous ones. A 12 MP photo with a small hole costs
one small model call.

PatchMatch and auto (fillers.PatchMatchFiller, AutoFiller; patchmatch.py) fill each window at full resolution,
PatchMatch as exact copies whose source map becomes the result's attention field.

torch is imported with the first DeepFill fill, not with this module: a classical fill (the CLI's
`--engine telea`, the editor without weights) never loads it, which saves 2-3 s of a CLI run's start here
(docs/BENCHMARKS.md, "Files and paste").
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np

from inpaint_core.api import (
    AUTO,
    DEEPFILL,
    ENGINES,
    MAX_EDGE_BLEND,
    MAX_PATCH_RADIUS,
    MIN_MAX_SIDE,
    PATCHMATCH,
    TONE_MODES,
    CancelFlag,
    ClassicalMethod,
    InpaintRequest,
    InpaintResult,
    ProgressCallback,
)
from inpaint_core.boxes import plan_windows
from inpaint_core.errors import (
    CancelledError,
    EngineUnavailableError,
    InpaintError,
    MaskError,
    OutOfMemoryError,
    WeightsMissingError,
)
from inpaint_core.files import sha256_file
from inpaint_core.fillers import AutoFiller, ClassicalFiller, DeepFillFiller, Filler, PatchMatchFiller
from inpaint_core.flow import AttentionField, WindowAttention
from inpaint_core.image_io import check_same_size
from inpaint_core.image_ops import edge_weights, grow_mask, hole_boxes, paste_fill
from inpaint_core.manifest import NO_WEIGHTS_MESSAGE as NO_WEIGHTS_MESSAGE  # its home is manifest.py
from inpaint_core.manifest import resolve_weights
from inpaint_core.patchmatch import load_library
from inpaint_core.restore.tone import keep_tone
from inpaint_core.tiling import WindowJob, plan_jobs

# torch loads with the first DeepFill fill: classical fills never need it (module docstring).
if TYPE_CHECKING:
    import torch

    from inpaint_core.model.generator import DeepFillV2Generator


_RunMethod = Callable[..., InpaintResult]


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

    def tick(self, stage: str, fraction: float) -> None:
        """Report progress inside the current stage (its timer keeps running), and honour a cancel."""
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("cancelled")
        if self.progress is not None:
            self.progress(stage, float(min(1.0, max(0.0, fraction))))

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
    if request.tone not in TONE_MODES:
        raise InpaintError(f"unknown tone mode {request.tone!r}; use one of {', '.join(TONE_MODES)}")
    if request.max_side < MIN_MAX_SIDE:
        raise InpaintError(f"max model resolution must be at least {MIN_MAX_SIDE} px, got {request.max_side}")
    radius = request.patch_radius
    whole = isinstance(radius, (int, np.integer)) and not isinstance(radius, bool)
    if not whole or not 1 <= radius <= MAX_PATCH_RADIUS:
        raise InpaintError(f"the patch radius must be 1 to {MAX_PATCH_RADIUS} px, got {radius}")
    if not 0 <= request.edge_blend <= MAX_EDGE_BLEND:
        raise InpaintError(f"the edge blend must be 0 to {MAX_EDGE_BLEND} px, got {request.edge_blend}")
    if request.max_gflop is not None and not request.max_gflop > 0:
        raise InpaintError(f"the work budget must be positive, got {request.max_gflop} GFLOP")
    if request.max_seconds is not None and not 0 < request.max_seconds < math.inf:
        raise InpaintError(f"the time budget must be a positive number of seconds, got {request.max_seconds}")
    if request.engine != DEEPFILL and request.mask.size and np.all(request.mask):
        raise MaskError(
            f"the mask covers the whole image: {request.engine} has no pixels to fill from; "
            "leave part of the photo unmasked"
        )


def _host_memory_errors(run: _RunMethod) -> _RunMethod:
    """Turn running out of host memory (numpy's MemoryError, OpenCV's "Insufficient memory" while planning or
    pasting the windows of a huge photo) into one OutOfMemoryError line instead of a traceback."""

    @functools.wraps(run)
    def wrapper(self: InpaintEngine, request: InpaintRequest, *args: Any, **kwargs: Any) -> InpaintResult:
        try:
            return run(self, request, *args, **kwargs)
        except InpaintError:
            raise
        except (MemoryError, cv2.error) as exc:
            if isinstance(exc, cv2.error) and "Insufficient memory" not in str(exc):
                raise
            height, width = np.shape(request.image)[:2]
            raise OutOfMemoryError(
                f"not enough memory to fill this {width}x{height} image; close other programs or use a smaller copy"
            ) from None

    return wrapper


def _owned(remaining: np.ndarray, job: WindowJob) -> np.ndarray:
    """The pixels of `job.window` that the job fills: those of its `own` region that no job has filled yet.

    Shape: remaining (H, W) bool -> (window.height, window.width) bool
    """
    box, own = job.window, job.own
    owned = np.zeros((box.height, box.width), bool)
    x0, y0, x1, y1 = max(box.x0, own.x0), max(box.y0, own.y0), min(box.x1, own.x1), min(box.y1, own.y1)
    if x0 < x1 and y0 < y1:
        owned[y0 - box.y0 : y1 - box.y0, x0 - box.x0 : x1 - box.x0] = remaining[y0:y1, x0:x1]
    return owned


@dataclass(frozen=True)
class LoadedModel:
    """A cached generator and the file it came from."""

    model: DeepFillV2Generator
    path: Path  # resolved
    sha256: str


@dataclass
class _Used:
    """What a run resolved: copied into its InpaintResult."""

    device: str | None = None
    precision: str | None = None
    weights: Path | None = None
    weights_sha256: str | None = None


class InpaintEngine:
    """Runs requests; keeps loaded models cached per (weights file, device, precision). Thread-safe."""

    def __init__(
        self, *, margin_ratio: float = 0.5, min_margin: int = 32, min_side: int = 128, radius: int = 3
    ):
        self.margin_ratio = margin_ratio
        self.min_margin = min_margin
        self.min_side = min_side
        self.radius = radius  # classical engines' neighbourhood
        self._models: dict[tuple[str, int, int, str, str], LoadedModel] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------------------------- models

    @staticmethod
    def resolve_weights(weights: str | Path | None) -> tuple[Path, str | None]:
        """The weights file to use and its expected SHA-256 (`manifest.resolve_weights`)."""
        return resolve_weights(weights)

    def get_model(
        self, weights: str | Path | None, device: torch.device, precision: str = "fp32"
    ) -> DeepFillV2Generator:
        """The generator for these weights on `device`, loaded once and cached (a changed file is reloaded)."""

        return self.load_model(weights, device, precision).model

    def load_model(
        self, weights: str | Path | None, device: torch.device, precision: str = "fp32"
    ) -> LoadedModel:
        """`get_model`, with the file it loaded and that file's SHA-256 (hashed once per cached model, on the
        caller's thread: the engine's worker, never the editor's GUI thread)."""
        from inpaint_core.devices import translate_oom
        from inpaint_core.model.inference import for_inference
        from inpaint_core.weights import load_generator

        path, sha = self.resolve_weights(weights)
        try:
            stat = path.stat()
        except OSError:
            raise WeightsMissingError(f"weights file not found: {path}") from None
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(device), precision)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None:
                with translate_oom(device):
                    model = load_generator(path, device, expected_sha256=sha)
                    for_inference(model, precision)
                # the manifest's hash was just checked; a user's file is hashed here, once
                loaded = LoadedModel(model, Path(key[0]), sha or sha256_file(path))
                # Drop stale entries of the same file (it changed on disk).
                self._models = {k: v for k, v in self._models.items() if k[0] != key[0] or k[3:] != key[3:]}
                self._models[key] = loaded
            return loaded

    def clear_cache(self) -> None:
        """Forget every loaded model (frees their memory once no run uses them)."""
        with self._lock:
            self._models.clear()

    @staticmethod
    def available_devices() -> tuple[str, ...]:
        """The device names `InpaintRequest.device` can take on this machine ("auto" and "cpu" always)."""
        from inpaint_core.devices import available_devices

        return available_devices()

    @staticmethod
    def convert_weights(
        source: str | Path,
        output: str | Path,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> Path:
        """Convert a published checkpoint (`convert.convert_file`) into our safetensors file at `output`.

        `progress(stage, fraction)` reports "read", "check", "write"; a set `cancel` stops before the next
        stage (CancelledError) and leaves no file. Raises WeightsError / WeightsMissingError with one line.
        """
        from inpaint_core.convert import convert_file

        state = _Run(progress, cancel)
        fractions = {"read": 0.0, "check": 0.6, "write": 0.8}
        convert_file(source, output, on_stage=lambda stage: state.enter(stage, fractions[stage]))
        state.close()
        if progress is not None:
            progress("write", 1.0)
        return Path(output)

    # ------------------------------------------------------------------------------------------------- run

    @_host_memory_errors
    def run(
        self,
        request: InpaintRequest,
        progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
    ) -> InpaintResult:
        """Fill the request's holes. See the module docstring for the strategy.

        `progress(stage, fraction)` is called between the stages "load", "prepare", then per window "coarse",
        "refine" (classical engines: "refine" only) and "paste", and inside "paste" after each chunk of pixels;
        fractions never decrease. `cancel.is_set()` is checked at each call, raising CancelledError.
        Raises InpaintError subclasses (MaskError, WeightsError, DeviceError) with one line.
        """
        _validate(request)
        state = _Run(progress, cancel)
        notes: list[str] = []
        image = request.image
        hole_all = request.mask > 0

        state.enter("load", 0.0)
        if not hole_all.any():
            state.close()
            wants_coarse = request.return_coarse and request.engine == DEEPFILL
            return InpaintResult(
                image=image.copy(),
                coarse=image.copy() if wants_coarse else None,
                attention=None,
                windows=[],
                request_id=request.request_id,
                timings=state.timings,
                note="empty mask: nothing to fill",
                engine=request.engine,
            )
        used = _Used()
        filler = self._filler(request, notes, used)

        state.enter("prepare", 0.1)
        height, width = hole_all.shape
        blend = int(request.edge_blend)
        # The filled area: the hole, grown by the edge-blend band (which the fill must cover to fade into).
        fill_all = grow_mask(hole_all, blend) if blend else hole_all
        windows = plan_windows(
            hole_boxes(fill_all),
            width,
            height,
            margin_ratio=self.margin_ratio,
            min_margin=self.min_margin,
            min_side=self.min_side,
        )
        if request.max_seconds is None and request.max_gflop is None:
            jobs = plan_jobs(fill_all, windows, request.max_side, self.min_margin)
        else:  # a budget asks for speed: thin holes are seen shrunk with their window (tiles cost ~11x more)
            jobs = [WindowJob(window, window) for window in windows]
        remaining = fill_all.copy()  # filled by no job yet: the model sees these as hole
        work = image.copy()
        coarse_img = image.copy() if request.return_coarse and filler.has_coarse else None
        attention: list[WindowAttention] = []
        model_sizes: list[tuple[int, int]] = []
        n = len(jobs)
        for i, job in enumerate(jobs):
            box = job.window
            base, span = 0.1 + 0.9 * i / n, 0.9 / n

            def step(stage: str, at: float, base: float = base, span: float = span) -> None:
                state.enter(stage, base + at * span)

            def tick(done: float, base: float = base, span: float = span) -> None:
                state.tick("paste", base + (0.9 + 0.1 * done) * span)

            out = filler.fill(work, box, remaining[box.slices], step)
            step("paste", 0.9)
            owned = _owned(remaining, job)  # this job's pixels (hole and blend band), in window coordinates
            weight = edge_weights(hole_all[box.slices], blend) * owned if blend else owned
            paste_fill(work, out.fill, weight, box, tick)
            if coarse_img is not None and out.coarse is not None:
                paste_fill(coarse_img, out.coarse, weight, box)
            remaining[box.slices] &= ~owned
            if out.attention is not None:  # the pixels it filled and has sources for (auto: PatchMatch's)
                attention.append(dataclasses.replace(out.attention, hole=owned & out.attention.hole))
            if out.model_size is not None:
                model_sizes.append(out.model_size)
        if isinstance(filler, AutoFiller) and len(filler.used) > 1:
            notes.append("auto: thin holes filled with Navier-Stokes, wide ones with PatchMatch")
        elif isinstance(filler, AutoFiller) and filler.used:
            notes.append(
                f"auto: filled with {'PatchMatch' if 'patchmatch' in filler.used else 'Navier-Stokes'}"
            )
        if request.tone == "auto":
            # PatchMatch's pixels are copies of the photo's own, already in its tone; re-toning them would
            # make their source map false.
            copied = np.zeros_like(hole_all)
            if not isinstance(filler, DeepFillFiller):  # DeepFill's attention marks what it painted
                for win in attention:
                    copied[win.box.slices] |= win.hole
            work, tone_note = keep_tone(image, work, hole_all & ~copied)
            notes += [tone_note] if tone_note else []
        state.finish()
        return InpaintResult(
            image=work,
            coarse=coarse_img,
            attention=AttentionField(attention, image.shape[:2]) if filler.has_attention else None,
            windows=[job.window for job in jobs],
            request_id=request.request_id,
            timings=state.timings,
            note="; ".join(notes),
            model_sizes=model_sizes,
            engine=request.engine,
            **dataclasses.asdict(used),
        )

    def _filler(self, request: InpaintRequest, notes: list[str], used: _Used) -> Filler:
        """The filler for the request's engine (loads DeepFill's model); adds a note for inputs it ignores and
        records in `used` the device, precision and weights it resolved."""
        if request.engine == DEEPFILL:
            from inpaint_core.devices import resolve_device
            from inpaint_core.precision import resolve_precision

            device = resolve_device(request.device)
            # From here on the request names a concrete precision ("auto" resolved for this device and weights).
            request = dataclasses.replace(
                request, precision=resolve_precision(request.precision, device, request.weights)
            )
            loaded = self.load_model(request.weights, device, request.precision)
            model = loaded.model
            used.device, used.precision = str(device), request.precision
            used.weights, used.weights_sha256 = loaded.path, loaded.sha256
            if request.max_seconds is not None and request.max_gflop is None:
                from inpaint_core.budget import interactive_gflop_budget

                budget = interactive_gflop_budget(device, request.precision, request.max_seconds)
                request = dataclasses.replace(request, max_gflop=max(budget, 1e-3))
            if request.guide is not None and np.any(request.guide) and not model.config.guide_channel:
                notes.append("guide strokes ignored: these weights have no guide channel")
            return DeepFillFiller(model, request, device)
        if request.guide is not None and np.any(request.guide):
            notes.append(f"guide strokes ignored by the {request.engine} engine")
        if request.engine == PATCHMATCH:
            return PatchMatchFiller(request.patch_radius, request.forbid)
        if request.engine == AUTO:
            ns = ClassicalFiller("ns", self.radius)
            try:
                load_library()
            except EngineUnavailableError as exc:
                notes.append(f"{exc}; wide holes filled with Navier-Stokes instead")
                return AutoFiller(ns, None)
            return AutoFiller(ns, PatchMatchFiller(request.patch_radius, request.forbid))
        if request.forbid is not None and np.any(request.forbid):
            notes.append(f"the do-not-borrow mask is ignored by the {request.engine} engine")
        return ClassicalFiller(cast(ClassicalMethod, request.engine), self.radius)
