"""What fills one context window: DeepFill v2 or a classical OpenCV method, behind one interface.

The engine plans the windows and pastes the fills; a filler only turns one window of the working image into an
RGB fill of that window (and, for DeepFill, the attention of that window and optionally its coarse stage).
Fillers report their stages through `step(stage, at)`, `at` being the fraction of the window's share of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from inpaint_core.api import ClassicalMethod, InpaintRequest
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
        fine_rgb = self._to_image(fine, win)
        coarse_rgb = self._to_image(coarse, win) if request.return_coarse else None
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
    def _to_image(stage_out: torch.Tensor, win: _ModelInput) -> np.ndarray:
        """A stage's output pasted into the model-space hole and unpadded (RGB float, model resolution).

        Outside the hole it holds the known pixels, which the paste's bicubic resampling reads at the hole's edge.
        """
        pasted = stage_out.float() * win.mask + win.image * (1.0 - win.mask)
        mh, mw = win.size
        return np.ascontiguousarray(from_model_tensor(pasted)[:mh, :mw])

    def _prepare(self, work: np.ndarray, box: Box, hole: np.ndarray) -> _ModelInput:
        """Crop, resize (longer side <= max_side) and pad one window into model tensors."""
        from inpaint_core.devices import inference_tensor

        request, device = self.request, self.device
        from inpaint_core.budget import window_side

        mh, mw = model_size(box, window_side(box, request.max_side, request.max_gflop, self.model.config))
        rgb = shrink_to_float_rgb(work[box.slices], mw, mh)
        hole_m = resize_mask(hole, mw, mh)
        rgb_p = pad_to_multiple(rgb, 8, "reflect")
        hole_p = pad_to_multiple(hole_m, 8, "constant")
        guide_t = None
        if self.model.config.guide_channel:
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
        return _ModelInput(
            size=(mh, mw),
            image=inference_tensor(to_model_tensor(rgb_p), device),
            mask=inference_tensor(mask_to_tensor(hole_p), device),
            guide=guide_t,
            forbid=forbid_t,
        )
