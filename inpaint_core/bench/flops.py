"""Benchmark helpers: timing forwards the engine's way, model inputs, and the machine's own matmul peak.

The FLOP count and the convolution rate live with the model (`model/flops.py`: the engine's work budget uses
them); this module re-exports them for the benchmarks.

Two peaks are measured per precision: a large square `torch.matmul` (BLAS; the roofline the issue's figures
use) and a large 3x3 convolution in channels_last (oneDNN, what the model's convolutions run on). They differ:
on AMD CPUs MKL's fp32 GEMM does not use AVX-512, and oneDNN's convolution reached 2.4x its rate here.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from inpaint_core.devices import autocast
from inpaint_core.model.flops import conv_gflops, count_forward_flops, count_generator_flops, sync
from inpaint_core.model.inference import for_inference, inference_tensor
from inpaint_core.registry import MODEL_MULTIPLE

__all__ = [
    "conv_gflops",
    "count_forward_flops",
    "count_generator_flops",
    "matmul_gflops",
    "median",
    "model_inputs",
    "time_forward",
]


def model_inputs(
    size: int, batch: int = 1, device: torch.device | str = "cpu", seed: int = 0, guide: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A seeded random image and a centred square hole (a quarter of the area), as the generator takes them.

    Shape: -> image (B, 3, size, size) in [-1, 1], mask (B, 1, size, size) in {0, 1}, guide like mask or None.
    """
    if size % MODEL_MULTIPLE:
        raise ValueError(f"size must be a multiple of {MODEL_MULTIPLE}, got {size}")
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=gen) * 2.0 - 1.0
    mask = torch.zeros(batch, 1, size, size)
    lo, hi = size // 4, size - size // 4
    mask[:, :, lo:hi, lo:hi] = 1.0
    guide_t = torch.zeros_like(mask) if guide else None
    dev = torch.device(device)
    return (
        inference_tensor(image, dev),
        inference_tensor(mask, dev),
        None if guide_t is None else inference_tensor(guide_t, dev),
    )


def matmul_gflops(
    dtype: torch.dtype, n: int = 2048, repeats: int = 5, device: torch.device | str = "cpu"
) -> float:
    """Best-of-`repeats` GFLOP/s of an n x n x n matmul (2*n^3 FLOPs) in `dtype` on `device`."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=gen).to(dev, dtype)
    b = torch.rand(n, n, generator=gen).to(dev, dtype)
    torch.matmul(a, b)  # warm-up: kernel selection, page faults
    sync(dev)
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        sync(dev)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def time_forward(
    model: nn.Module,
    size: int,
    precision: str,
    runs: int,
    warmup: int,
    batch: int = 1,
) -> list[float]:
    """Wall-clock seconds of `runs` forward passes (after `warmup` untimed ones) in `precision`, the engine's
    way: the weights converted once to the precision (`for_inference`, which this does to `model`), then the
    forwards in autocast (a no-op on the CPU's converted path).

    Raises DeviceError when the device cannot run that precision.
    """
    guided = bool(getattr(getattr(model, "config", None), "guide_channel", False))
    for_inference(model, precision)
    device = next(model.parameters()).device
    image, mask, guide = model_inputs(size, batch, device, guide=guided)
    times: list[float] = []
    with torch.inference_mode(), autocast(precision, device):
        for i in range(warmup + max(1, runs)):
            sync(device)
            t0 = time.perf_counter()
            model(image, mask, guide)
            sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def median(values: list[float]) -> float:
    """The median (the figure every table reports: robust to a loaded machine)."""
    return float(statistics.median(values))
