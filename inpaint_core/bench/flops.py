"""Counting the FLOPs of a forward pass, and measuring the machine's own matmul peak to compare against.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (a multiply-add counts as 2 FLOPs; convolutions,
transposed convolutions, matmul/bmm, addmm and scaled-dot-product attention are counted; element-wise ops are
not, which is the usual convention for the model's work). The count runs on the meta device: shapes only, no
arithmetic, so even 1024x1024 counts in a fraction of a second.

Two peaks are measured per precision: a large square `torch.matmul` (BLAS; the roofline the issue's figures
use) and a large 3x3 convolution in channels_last (oneDNN, what the model's convolutions run on). They differ:
on AMD CPUs MKL's fp32 GEMM does not use AVX-512, and oneDNN's convolution reached 2.4x its rate here.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inpaint_core.devices import autocast, for_inference
from inpaint_core.model.config import GeneratorConfig


def model_inputs(
    size: int, batch: int = 1, device: torch.device | str = "cpu", seed: int = 0, guide: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A seeded random image and a centred square hole (a quarter of the area), as the generator takes them.

    Shape: -> image (B, 3, size, size) in [-1, 1], mask (B, 1, size, size) in {0, 1}, guide like mask or None.
    """
    if size % 8:
        raise ValueError(f"size must be a multiple of 8, got {size}")
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=gen) * 2.0 - 1.0
    mask = torch.zeros(batch, 1, size, size)
    lo, hi = size // 4, size - size // 4
    mask[:, :, lo:hi, lo:hi] = 1.0
    guide_t = torch.zeros_like(mask) if guide else None
    from inpaint_core.devices import inference_tensor

    dev = torch.device(device)
    return (
        inference_tensor(image, dev),
        inference_tensor(mask, dev),
        None if guide_t is None else inference_tensor(guide_t, dev),
    )


def count_generator_flops(
    config: GeneratorConfig, height: int, width: int, batch: int = 1, coarse_only: bool = False
) -> int:
    """FLOPs of one generator forward at height x width (multiples of 8), counted on the meta device; with
    `coarse_only`, of the coarse stage alone (a preview without the refinement network).

    The count does not depend on the weights, the device or the precision the model later runs in.
    """
    from inpaint_core.model.generator import DeepFillV2Generator

    if height % 8 or width % 8:
        raise ValueError(f"size must be a multiple of 8, got {height}x{width}")
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


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX-512 BF16 or AMX), where bf16 can beat fp32."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    if text:
        flags: set[str] = set()
        for line in text.splitlines():
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
                break
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    capability = ""
    with contextlib.suppress(AttributeError, RuntimeError):
        capability = str(torch.backends.cpu.get_cpu_capability())
    return "BF16" in capability.upper() or "AMX" in capability.upper()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(
    dtype: torch.dtype, n: int = 2048, repeats: int = 5, device: torch.device | str = "cpu"
) -> float:
    """Best-of-`repeats` GFLOP/s of an n x n x n matmul (2*n^3 FLOPs) in `dtype` on `device`."""
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=gen).to(dev, dtype)
    b = torch.rand(n, n, generator=gen).to(dev, dtype)
    torch.matmul(a, b)  # warm-up: kernel selection, page faults
    _sync(dev)
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


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
        _sync(dev)
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            torch.nn.functional.conv2d(x, w, padding=1)
            _sync(dev)
            best = min(best, time.perf_counter() - t0)
    return 2.0 * side * side * channels * channels * 9 / best / 1e9


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
            _sync(device)
            t0 = time.perf_counter()
            model(image, mask, guide)
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def median(values: list[float]) -> float:
    """The median (the figure every table reports: robust to a loaded machine)."""
    return float(statistics.median(values))
