"""What fills one context window: DeepFill v2, PatchMatch, a classical OpenCV method, or auto's choice of the
last two per hole, behind one interface.

The engine plans the windows and pastes the fills; a filler only turns one window of the working image into an
RGB fill of that window (and, for DeepFill and PatchMatch, where the window's filled pixels came from, and for
DeepFill optionally its coarse stage).
Fillers report their stages through `step(stage, at)`, `at` being the fraction of the window's share of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from inpaint_core.api import AUTO_THIN_PX, ClassicalMethod, InpaintRequest
from inpaint_core.boxes import Box, model_size
from inpaint_core.classical import classical_inpaint
from inpaint_core.flow import WindowAttention
from inpaint_core.image_ops import (
    from_model_tensor,
    mask_to_tensor,
    pad_to_multiple,
    resize_mask,
    shrink_to_float_rgb,
    to_model_tensor,
)
from inpaint_core.patchmatch import CopyFill, patchmatch_fill
from inpaint_core.registry import MODEL_MULTIPLE, PATCHMATCH
from inpaint_core.seam import match_seam

# torch loads on first use: a classical fill never needs it (the engine module's docstring).
if TYPE_CHECKING:
    import torch

    from inpaint_core.model.generator import DeepFillV2Generator

Step = Callable[[str, float], None]
"""`step(stage, at)`: enter `stage` (one of api.STAGES) at fraction `at` (0..1) of this window's share."""


@dataclass(frozen=True)
class WindowFill:
    """One window's fill, covering the window: what `image_ops.sample_fill` reads.

    Either at the window's size (a classical fill: the window's pixels in the image's dtype, grey or RGB) or at
    the model's resolution (DeepFill: RGB float32 in [0, 1]). It is not enlarged to the window here: the paste
    resamples only the pixels it writes, so a long stroke across a 24 MP photo costs the stroke, not the photo.
    """

    fill: np.ndarray
    coarse: np.ndarray | None = None  # DeepFill's coarse stage, only when the request asked for it
    attention: WindowAttention | None = None
    model_size: tuple[int, int] | None = None  # (height, width) the model saw (DeepFill), before padding


class Filler(Protocol):
    """Fills one window of `work` (the working image, earlier windows already pasted)."""

    # True when the filler produces an attention field (the result then carries one, even if empty).
    has_attention: bool
    # True when the filler has a coarse stage it can return (`InpaintRequest.return_coarse`).
    has_coarse: bool

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: Step) -> WindowFill: ...


class ClassicalFiller:
    """OpenCV's Telea or Navier-Stokes fill (classical.py) on the window at full resolution."""

    has_attention = False
    has_coarse = False

    def __init__(self, method: ClassicalMethod, radius: int) -> None:
        self.method, self.radius = method, radius

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: Step) -> WindowFill:
        step("refine", 0.0)
        return WindowFill(classical_inpaint(work[box.slices], hole, self.method, self.radius))


class PatchMatchFiller:
    """PatchMatch (patchmatch.py) on the window at full resolution: an exact copy, with its source map as the
    window's attention (one source per pixel, weight 1, on a grid of 1-pixel cells)."""

    has_attention = True
    has_coarse = False

    def __init__(self, radius: int, forbid: np.ndarray | None) -> None:
        self.radius, self.forbid = radius, forbid

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: Step) -> WindowFill:
        return self.fill_avoiding(work, box, hole, None, step)

    def fill_avoiding(
        self, work: np.ndarray, box: Box, hole: np.ndarray, avoid: np.ndarray | None, step: Step
    ) -> WindowFill:
        """Fill `hole`; the pixels of `avoid` (other holes of the window, filled otherwise) are not copied."""
        step("refine", 0.0)
        forbid = None if self.forbid is None else self.forbid[box.slices] > 0
        if avoid is not None:
            forbid = avoid if forbid is None else forbid | avoid
        copy = patchmatch_fill(work[box.slices], hole, forbid, self.radius, wait=lambda: step("refine", 0.0))
        return WindowFill(copy.pixels, attention=source_attention(box, hole > 0, copy))


def source_attention(box: Box, hole: np.ndarray, copy: CopyFill) -> WindowAttention:
    """A copy's source map as a WindowAttention on 1-pixel cells at the window's scale, so the flow overlay,
    the inspector (one source at 100 %), the provenance record and the source-reuse map read it as they read
    DeepFill's attention.

    Shape: hole (box.height, box.width) bool
    """
    height, width = hole.shape
    source = np.where(hole, copy.source, 0).astype(np.int32)
    sy, sx = np.divmod(source, width)
    ys, xs = np.mgrid[0:height, 0:width]
    offsets = np.stack([sy - ys, sx - xs]).astype(np.float32) * hole  # (2, h, w): (dy, dx) in pixels
    return WindowAttention(
        box=box,
        scale_x=1.0,
        scale_y=1.0,
        topk_index=source[None],
        topk_weight=hole.astype(np.float32)[None],
        offsets=offsets,
        valid=hole.copy(),
        hole=hole.copy(),
        cell=1,
        patch=1,
    )


def split_by_width(hole: np.ndarray, thin_px: float = AUTO_THIN_PX) -> tuple[np.ndarray, np.ndarray]:
    """The hole's connected parts (8-connected) split into thin ones and the wider rest. A part is thin when 90 %
    of its pixels lie within `thin_px` of a pixel outside the hole (a scratch up to about 2 * thin_px wide):
    the 90th percentile, not the deepest pixel, so crossing scratches stay thin where they meet.

    Shape: (h, w) -> thin, wide (h, w) bool
    """
    hole = hole > 0
    count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    # Distance to the nearest pixel outside the hole; the window's border is not a known pixel.
    padded = cv2.copyMakeBorder(hole.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    depth = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1][hole]
    part = labels[hole]
    order = np.lexsort((depth, part))  # by part, then by depth
    sizes = np.bincount(part, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    p90 = np.zeros(count, np.float32)
    present = sizes > 0
    at = starts[present] + (0.9 * (sizes[present] - 1)).astype(np.int64)
    p90[present] = depth[order][at]
    thin = np.zeros_like(hole)
    thin[hole] = p90[part] <= thin_px
    return thin, hole & ~thin


class AutoFiller:
    """Per hole of the window: thin ones (`split_by_width`) to Navier-Stokes, wide ones to PatchMatch, which
    first fills the wide ones without copying from the thin ones (they are still damage), then Navier-Stokes
    fills the thin ones around that. Without the PatchMatch library everything goes to Navier-Stokes."""

    has_attention = True
    has_coarse = False

    def __init__(
        self, ns: ClassicalFiller, patchmatch: PatchMatchFiller | None, thin_px: float = AUTO_THIN_PX
    ) -> None:
        self.ns, self.patchmatch, self.thin_px = ns, patchmatch, thin_px
        self.used: set[str] = set()  # the engines that filled something ("ns", "patchmatch"), for the note

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: Step) -> WindowFill:
        thin, wide = split_by_width(hole, self.thin_px)
        if self.patchmatch is None or not wide.any():
            self.used.add("ns")
            return self.ns.fill(work, box, hole, step)
        self.used.add(PATCHMATCH)
        copied = self.patchmatch.fill_avoiding(work, box, wide, thin if thin.any() else None, step)
        if not thin.any():
            return copied
        self.used.add("ns")
        pixels = copied.fill
        done = work[box.slices].copy()
        if done.ndim == 3 and done.shape[2] == 4:
            done[..., :3][wide] = pixels[wide]
        else:
            done[wide] = pixels[wide]
        smooth = classical_inpaint(done, thin, self.ns.method, self.ns.radius)
        out = pixels.copy()
        out[thin] = smooth[thin]
        return WindowFill(out, attention=copied.attention)


@dataclass(frozen=True)
class _ModelInput:
    """One window prepared for the model (model space, padded)."""

    size: tuple[int, int]  # (height, width) before padding
    image: torch.Tensor  # (1, 3, Hp, Wp) in [-1, 1]
    mask: torch.Tensor  # (1, 1, Hp, Wp)
    guide: torch.Tensor | None
    forbid: torch.Tensor | None


class DeepFillFiller:
    """The generator's two stages on the window, resized so its longer side is at most `request.max_side`."""

    has_attention = True
    has_coarse = True

    def __init__(self, model: DeepFillV2Generator, request: InpaintRequest, device: torch.device) -> None:
        self.model, self.request, self.device = model, request, device

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: Step) -> WindowFill:
        import torch

        from inpaint_core.devices import autocast, translate_oom

        win = self._prepare(work, box, hole)
        model, request, device = self.model, self.request, self.device
        step("coarse", 0.05)
        with torch.inference_mode(), translate_oom(device):
            with autocast(request.precision, device):
                coarse = model.coarse_stage(win.image, win.mask, win.guide)
            step("refine", 0.45)
            with autocast(request.precision, device):
                fine, att = model.refine_stage(win.image, win.mask, coarse, win.forbid, True)
        mh, mw = win.size
        fine_rgb = self._to_image(fine, win, request.match_seam)
        coarse_rgb = self._to_image(coarse, win, False) if request.return_coarse else None  # study: raw
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
                hole=hole.copy(),
                cell=int(att.cell),
                patch=int(att.patch),
            )
        return WindowFill(fine_rgb, coarse_rgb, win_att, win.size)

    @staticmethod
    def _to_image(stage_out: torch.Tensor, win: _ModelInput, match: bool) -> np.ndarray:
        """A stage's output pasted into the model-space hole and unpadded (RGB float, model resolution); with
        `match`, shifted to meet the known pixels without a step (seam.match_seam).

        Outside the hole it holds the known pixels, which the paste's bicubic resampling reads at the hole's edge.
        """
        mh, mw = win.size
        out = from_model_tensor(stage_out)[:mh, :mw]
        known = from_model_tensor(win.image)[:mh, :mw]
        hole = win.mask[0, 0, :mh, :mw].cpu().numpy() > 0.5
        if match:
            return match_seam(out, known, hole)
        return np.ascontiguousarray(np.where(hole[..., None], out, known))

    def _prepare(self, work: np.ndarray, box: Box, hole: np.ndarray) -> _ModelInput:
        """Crop, resize (longer side <= max_side) and pad one window into model tensors."""
        from inpaint_core.model.inference import inference_tensor

        request, device = self.request, self.device
        from inpaint_core.budget import window_side

        mh, mw = model_size(box, window_side(box, request.max_side, request.max_gflop, self.model.config))
        rgb = shrink_to_float_rgb(work[box.slices], mw, mh)
        hole_m = resize_mask(hole, mw, mh)
        rgb_p = pad_to_multiple(rgb, MODEL_MULTIPLE, "reflect")
        hole_p = pad_to_multiple(hole_m, MODEL_MULTIPLE, "constant")
        guide_t = None
        if self.model.config.guide_channel:
            guide = request.guide[box.slices] if request.guide is not None else np.zeros_like(hole)
            guide_t = inference_tensor(
                mask_to_tensor(pad_to_multiple(resize_mask(guide, mw, mh), MODEL_MULTIPLE, "constant")),
                device,
            )
        forbid_p = np.zeros(hole_p.shape, bool)
        forbid_p[mh:, :] = True  # the reflected padding is not real content: never borrow from it
        forbid_p[:, mw:] = True
        if request.forbid is not None:
            forbid_p[:mh, :mw] |= resize_mask(request.forbid[box.slices], mw, mh)
        forbid_t = inference_tensor(mask_to_tensor(forbid_p), device) if forbid_p.any() else None
        return _ModelInput(
            size=(mh, mw),
            image=inference_tensor(to_model_tensor(rgb_p), device),
            mask=inference_tensor(mask_to_tensor(hole_p), device),
            guide=guide_t,
            forbid=forbid_t,
        )
