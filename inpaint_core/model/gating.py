"""The gate of a gated convolution, `act(feature) * sigmoid(gate)`, fused into one pass forward and one backward
for training (docs/BENCHMARKS.md, "training step").

Eagerly, the gate is 3 kernels forward and 5 backward, each a full pass over memory, and on the CPU the
activation and sigmoid of a bf16 half-tensor run far below the convolutions' rate: a third of a training step.
Here an autograd Function saves only the conv's output and calls two small pointwise functions compiled by
inductor (C++ with vectorised exp), which recompute what they need. Compiled per shape (`dynamic=False`: the
dynamic kernels measured slower); inductor's on-disk cache keeps the next run's start short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

GateFn = Callable[..., torch.Tensor]
_compiled: dict[str, GateFn] = {}
_RECOMPILE_LIMIT = 256  # one graph per (layer shape, activation, batch): a DeepFill step has ~30


def _layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def gate_forward(y: torch.Tensor, relu: bool, channels_last: bool = False) -> torch.Tensor:
    """act(f) * sigmoid(g) for y = [f, g] along channels, computed in float32 at least, returned in y's dtype and in the
    memory layout asked for (the next convolution's: a layout change would be one more pass).

    Shape: y (B, 2C, H, W) -> (B, C, H, W)
    """
    f, g = y.to(torch.promote_types(y.dtype, torch.float32)).chunk(2, dim=1)
    act = F.relu(f) if relu else F.elu(f)
    return _layout((act * torch.sigmoid(g)).to(y.dtype), channels_last)


def gate_backward(
    y: torch.Tensor, grad: torch.Tensor, relu: bool, channels_last: bool = False
) -> torch.Tensor:
    """d(gate_forward)/dy for the upstream `grad`. ELU' is 1 above 0 and elu(f) + 1 below.

    Shape: y (B, 2C, H, W), grad (B, C, H, W) -> (B, 2C, H, W) in y's dtype and the layout asked for
    """
    exact = torch.promote_types(y.dtype, torch.float32)
    f, g = y.to(exact).chunk(2, dim=1)
    up = grad.to(exact)
    s = torch.sigmoid(g)
    if relu:
        act = F.relu(f)
        slope = (f > 0).to(f.dtype)
    else:
        act = F.elu(f)
        slope = torch.where(f > 0, 1.0, act + 1.0)
    return _layout(torch.cat([up * s * slope, up * act * s * (1.0 - s)], dim=1).to(y.dtype), channels_last)


def _kernel(name: str, fn: GateFn) -> GateFn:
    if name not in _compiled:
        import torch._dynamo

        config: Any = torch._dynamo.config
        for key in ("recompile_limit", "cache_size_limit"):  # renamed in torch 2.7; raise whichever exists
            if hasattr(config, key):
                setattr(config, key, max(getattr(config, key), _RECOMPILE_LIMIT))
        _compiled[name] = torch.compile(fn, dynamic=False, fullgraph=True)
    return _compiled[name]


class _FusedGate(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, relu: bool) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.relu = relu
        # the conv's own layout, kept: on the CPU a channels_last conv's weight gradient ran 2-9x faster
        ctx.channels_last = y.dim() == 4 and y.is_contiguous(memory_format=torch.channels_last)
        return _kernel("forward", gate_forward)(y, relu, ctx.channels_last)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (y,) = ctx.saved_tensors
        grad = _layout(grad, ctx.channels_last)  # one compiled graph per layout, not per stride pattern
        return _kernel("backward", gate_backward)(y, grad, ctx.relu, ctx.channels_last), None


def fused_gate(y: torch.Tensor, activation: str) -> torch.Tensor:
    """The gate as one compiled pass each way (autograd on). Shape: (B, 2C, H, W) -> (B, C, H, W)"""
    if activation not in ("elu", "relu"):
        raise ValueError(f"no fused gate for activation {activation!r}")
    out: torch.Tensor = _FusedGate.apply(y, activation == "relu")
    return out
