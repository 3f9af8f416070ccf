"""Counting the FLOPs of the generator's forward pass, and measuring the device's 3x3-convolution rate: what the
engine's work budget (budget.py) and the speed benchmark (bench/speed.py) both need, so it lives with the model.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (a multiply-add counts as 2 FLOPs; convolutions,
transposed convolutions, matmul/bmm, addmm and scaled-dot-product attention are counted; element-wise ops are
not, which is the usual convention for the model's work). The count runs on the meta device: shapes only, no
arithmetic, so even 1024x1024 counts in a fraction of a second.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.registry import MODEL_MULTIPLE


def count_generator_flops(
    config: GeneratorConfig, height: int, width: int, batch: int = 1, coarse_only: bool = False
) -> int:
    """FLOPs of one generator forward at height x width (multiples of `MODEL_MULTIPLE`), counted on the meta device; with
    `coarse_only`, of the coarse stage alone (a preview without the refinement network).

    The count does not depend on the weights, the device or the precision the model later runs in.
    """
    if height % MODEL_MULTIPLE or width % MODEL_MULTIPLE:
        raise ValueError(f"size must be a multiple of {MODEL_MULTIPLE}, got {height}x{width}")
    meta = torch.device("meta")
    with meta:
        model = DeepFillV2Generator(config).eval()
    image = torch.zeros(batch, 3, height, width, device=meta)
    mask = torch.zeros(batch, 1, height, width, device=meta)
    guide = torch.zeros_like(mask) if config.guide_channel else None
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        if coarse_only:
            model.coarse(model.prepare_input(image, mask, guide))
        else:
            model(image, mask, guide)
    return int(counter.get_total_flops())


def count_forward_flops(model: nn.Module, size: int, batch: int = 1) -> int:
    """FLOPs of one forward of this generator (its `config`) at size x size; see `count_generator_flops`."""
    config = getattr(model, "config", None)
    if not isinstance(config, GeneratorConfig):
        raise TypeError("count_forward_flops needs a DeepFillV2Generator (a model with a GeneratorConfig)")
    return count_generator_flops(config, size, size, batch)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def conv_gflops(
    dtype: torch.dtype,
    channels: int = 256,
    side: int = 64,
    repeats: int = 5,
    device: torch.device | str = "cpu",
) -> float:
    """Best-of-`repeats` GFLOP/s of a 3x3 convolution, channels -> channels at side x side, channels_last: the
    rate the model's convolutions can reach (oneDNN on the CPU, cuDNN on CUDA)."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, channels, side, side, generator=gen).to(dev, dtype)
    w = torch.rand(channels, channels, 3, 3, generator=gen).to(dev, dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    w = w.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        torch.nn.functional.conv2d(x, w, padding=1)  # warm-up: kernel selection, page faults
        sync(dev)
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            torch.nn.functional.conv2d(x, w, padding=1)
            sync(dev)
            best = min(best, time.perf_counter() - t0)
    return 2.0 * side * side * channels * channels * 9 / best / 1e9
