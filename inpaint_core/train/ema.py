"""An exponential moving average of the generator's weights (the weights that are validated and shipped)."""

from __future__ import annotations

import copy
from typing import Generic, TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


class ModelEma(Generic[M]):
    """ema = decay_t * ema + (1 - decay_t) * weights after every optimizer step, with
    decay_t = min(decay, (1 + n) / (10 + n)) at global step n, so early averages do not cling to the initial
    weights (timm's warm-up of the decay). One fused foreach op per step; nothing waits on the host.
    """

    def __init__(self, model: M, decay: float) -> None:
        self.decay = decay
        self.module: M = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        ema: list[torch.Tensor] = list(self.module.parameters())
        live = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(ema, live, 1.0 - decay)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)
