"""Gated convolutions with TensorFlow "SAME" padding, as in the official DeepFill v2 code.

TF pads "SAME" asymmetrically for strided convolutions (the extra pixel goes bottom/right). Matching it exactly is
what lets the published weights give the published outputs; symmetric padding shifts the grid by half a pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.gating import fused_gate

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


@dataclass(frozen=True)
class _InferenceWeights:
    """The conv's weights as inference uses them: in the compute dtype, the feature and gate halves apart.

    Splitting the halves costs nothing in math (two convolutions to `cout` instead of one to `2*cout`) and makes
    each output contiguous, so the activation, the sigmoid and the product run on dense memory. On the chunked
    views of one channels_last output they ran 2-4x slower (bf16 most of all) plus a copy before the next conv
    (docs/BENCHMARKS.md, "gated convolution").
    """

    dtype: torch.dtype
    source: tuple[int, int, int, int]  # (data_ptr, version) of the weight and the bias it was made from
    feature: tuple[torch.Tensor, torch.Tensor | None]  # (weight, bias); the whole conv when not gated
    gate: tuple[torch.Tensor, torch.Tensor | None] | None


def _source_key(conv: nn.Conv2d) -> tuple[int, int, int, int]:
    bias = conv.bias
    return (
        conv.weight.data_ptr(),
        conv.weight._version,
        0 if bias is None else bias.data_ptr(),
        0 if bias is None else bias._version,
    )


class GatedConv2d(nn.Module):
    """`gen_conv` of the official code: conv to 2*cout, split, activation(feature) * sigmoid(gate).

    With `activation=None` (the RGB output layers) the conv has `cout` filters and its raw output is returned.

    Inference (autograd off) can run from weights converted once to a compute dtype (`prepare_inference`); the
    input is cast to it on entry, and the RGB output layers return float32 (the model's boundary dtype).

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
        self._compute_dtype: torch.dtype | None = None
        self._inference: _InferenceWeights | None = None
        self.fused_gating = False  # training: the gate as one compiled pass each way (model/gating.py)

    def prepare_inference(self, dtype: torch.dtype | None) -> None:
        """Run inference from weights converted once to `dtype` (None: back to the plain fp32 path).

        Not part of the state dict. The converted copy is remade if the weights change afterwards (loading,
        training or moving them changes their storage or version counter), so it can never go stale.
        """
        self._compute_dtype = dtype
        self._inference = None if dtype is None else self._make_inference_weights(dtype)

    def _make_inference_weights(self, dtype: torch.dtype) -> _InferenceWeights:
        with torch.no_grad():
            weight = self.conv.weight.detach().to(dtype).contiguous(memory_format=torch.channels_last)
            bias = None if self.conv.bias is None else self.conv.bias.detach().to(dtype)
            if not self.gated:
                return _InferenceWeights(dtype, _source_key(self.conv), (weight, bias), None)
            fw, gw = (w.contiguous(memory_format=torch.channels_last) for w in weight.chunk(2, dim=0))
            fb, gb = (None, None) if bias is None else (b.contiguous() for b in bias.chunk(2, dim=0))
            return _InferenceWeights(dtype, _source_key(self.conv), (fw, fb), (gw, gb))

    def _inference_weights(self) -> _InferenceWeights:
        assert self._compute_dtype is not None
        prepared = self._inference
        if prepared is None or prepared.source != _source_key(self.conv):
            prepared = self._inference = self._make_inference_weights(self._compute_dtype)
        return prepared

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._compute_dtype is not None and not torch.is_grad_enabled():
            return self._forward_prepared(x)
        if not self._symmetric:
            x = pad_same(x, self.ksize, self.stride, self.rate)
        x = self.conv(x)
        if not self.gated:
            return x
        assert self.activation is not None
        if self.fused_gating and torch.is_grad_enabled():
            return fused_gate(x, self.activation)
        # (B, cout, H, W) each: the first half is the feature, the second the gate, as in TF's split.
        feature, gate = x.chunk(2, dim=1)
        if torch.is_grad_enabled():
            return _ACTIVATIONS[self.activation](feature) * torch.sigmoid(gate)
        # Inference: gate in place in the conv's own output. The out-of-place line above allocates three
        # full-size temporaries, which cost about 15% of a CPU forward at 512x512 (memory traffic, not math).
        _INPLACE_ACTIVATIONS[self.activation](feature)
        return feature.mul_(gate.sigmoid_())

    def _forward_prepared(self, x: torch.Tensor) -> torch.Tensor:
        """The same result from the prepared weights: two dense convs, then the gating in place."""
        prepared = self._inference_weights()
        x = x.to(prepared.dtype)
        if not self._symmetric:
            x = pad_same(x, self.ksize, self.stride, self.rate)
        conv = self.conv
        feature = F.conv2d(x, *prepared.feature, conv.stride, conv.padding, conv.dilation)
        if prepared.gate is None:
            return feature.float()  # the RGB output leaves the model in float32, whatever the compute dtype
        gate = F.conv2d(x, *prepared.gate, conv.stride, conv.padding, conv.dilation)
        assert self.activation is not None
        _INPLACE_ACTIVATIONS[self.activation](feature)
        return feature.mul_(gate.sigmoid_())


def prepare_inference(model: nn.Module, dtype: torch.dtype | None) -> None:
    """Convert every gated convolution's weights once to `dtype` for inference (None: undo). See GatedConv2d."""
    for module in model.modules():
        if isinstance(module, GatedConv2d):
            module.prepare_inference(dtype)


def use_fused_gating(model: nn.Module, enabled: bool = True) -> int:
    """Switch every gated convolution of `model` to the fused gate for training (model/gating.py); returns how
    many it switched. Inference never uses it."""
    count = 0
    for module in model.modules():
        if isinstance(module, GatedConv2d) and module.gated:
            module.fused_gating = enabled
            count += 1
    return count


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
