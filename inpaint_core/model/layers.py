"""Gated convolutions with TensorFlow "SAME" padding, as in the official DeepFill v2 code.

TF pads "SAME" asymmetrically for strided convolutions (the extra pixel goes bottom/right). Matching it exactly is
what lets the published weights give the published outputs; symmetric padding shifts the grid by half a pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"elu": F.elu, "relu": F.relu}
_INPLACE_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"elu": F.elu_, "relu": F.relu_}


def same_padding(size: int, ksize: int, stride: int, rate: int = 1) -> tuple[int, int]:
    """TF "SAME" padding (before, after) for one spatial dimension."""
    effective = (ksize - 1) * rate + 1
    out = -(-size // stride)  # ceil
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, ksize: int, stride: int, rate: int = 1) -> torch.Tensor:
    """Zero-pad `x` (B,C,H,W) so that a conv with these settings behaves like TF "SAME"."""
    top, bottom = same_padding(x.shape[-2], ksize, stride, rate)
    left, right = same_padding(x.shape[-1], ksize, stride, rate)
    if top == bottom and left == right and top == left:
        return x if top == 0 else F.pad(x, (left, right, top, bottom))
    return F.pad(x, (left, right, top, bottom))


class GatedConv2d(nn.Module):
    """`gen_conv` of the official code: conv to 2*cout, split, activation(feature) * sigmoid(gate).

    With `activation=None` (the RGB output layers) the conv has `cout` filters and its raw output is returned.

    Shape:
        x: (B, cin, H, W) -> (B, cout, ceil(H/stride), ceil(W/stride))
    """

    def __init__(
        self, cin: int, cout: int, ksize: int, stride: int = 1, rate: int = 1, activation: str | None = "elu"
    ):
        super().__init__()
        self.ksize, self.stride, self.rate = ksize, stride, rate
        self.activation = activation
        self.gated = activation is not None
        # Stride-1 "SAME" padding is symmetric, so the conv can pad by itself (cheaper than F.pad).
        self._symmetric = stride == 1 and ((ksize - 1) * rate) % 2 == 0
        padding = (ksize - 1) * rate // 2 if self._symmetric else 0
        self.conv = nn.Conv2d(
            cin, 2 * cout if self.gated else cout, ksize, stride, padding=padding, dilation=rate
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._symmetric:
            x = pad_same(x, self.ksize, self.stride, self.rate)
        x = self.conv(x)
        if not self.gated:
            return x
        # (B, cout, H, W) each: the first half is the feature, the second the gate, as in TF's split.
        feature, gate = x.chunk(2, dim=1)
        assert self.activation is not None
        if torch.is_grad_enabled():
            return _ACTIVATIONS[self.activation](feature) * torch.sigmoid(gate)
        # Inference: gate in place in the conv's own output. The out-of-place line above allocates three
        # full-size temporaries, which cost about 15% of a CPU forward at 512x512 (memory traffic, not math).
        _INPLACE_ACTIVATIONS[self.activation](feature)
        return feature.mul_(gate.sigmoid_())


class GatedUpConv2d(nn.Module):
    """`gen_deconv`: nearest-neighbour x2 upsampling, then a 3x3 gated conv (held as `.conv`, hence `.conv.conv.`).

    Shape:
        x: (B, cin, H, W) -> (B, cout, 2H, 2W)
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = GatedConv2d(cin, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TF resizes with align_corners=True; for an exact x2 upsampling that picks the same pixels as plain nearest.
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
