"""The model resolution that keeps one fill within a time budget on this device (the interactive path).

The work of a forward is a*H*W + b*(H*W)^2 FLOPs exactly: convolutions scale with the area, contextual attention
compares every target cell with every source cell, i.e. the area squared (both terms are counted, not guessed:
`flop_coefficients`). A budget is a FLOP count for a device, so the engine can pick the largest model side that
fits without timing anything (`max_side_for_budget`, pure); `interactive_gflop_budget` turns seconds into
FLOPs for this device from a short convolution measurement and the fraction of it the whole model reaches
(docs/BENCHMARKS.md, "Interactive path").
"""

from __future__ import annotations

import functools
import time

import torch

from inpaint_core.api import INTERACTIVE_SECONDS
from inpaint_core.boxes import Box, model_size
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.flops import conv_gflops, count_generator_flops
from inpaint_core.registry import MIN_MAX_SIDE, MODEL_MULTIPLE

INTERACTIVE_BUDGET_S = INTERACTIVE_SECONDS
MIN_MODEL_SIDE = MIN_MAX_SIDE  # below this the model has nothing to work with
# Fraction of the 3x3-convolution peak (`model.flops.conv_gflops`) a whole forward reaches around 400x400, per
# compute dtype: 0.75 (fp32) and 0.60 (bf16) measured by `bench speed --sizes 400` on the AVX-512 BF16 machine
# (docs/BENCHMARKS.md), less a margin: a fill that comes in under budget is better than one that overruns.
MODEL_FRACTION_OF_CONV_PEAK = {torch.float32: 0.65, torch.bfloat16: 0.5, torch.float16: 0.5}
# Time outside the model on a 12 MP photo (windows, crop, resize, paste; measured 0.06-0.07 s): subtracted.
FIXED_OVERHEAD_S = 0.1


def padded(side: int, multiple: int = MODEL_MULTIPLE) -> int:
    """The side the model sees after the engine pads to a multiple of `MODEL_MULTIPLE`."""
    return -(-side // multiple) * multiple


@functools.lru_cache(maxsize=16)
def flop_coefficients(config: GeneratorConfig) -> tuple[float, float]:
    """(a, b) with forward FLOPs = a*A + b*A^2 for a model input of area A = H*W (padded), batch 1."""
    a1, a2 = 128 * 128, 256 * 256
    f1, f2 = count_generator_flops(config, 128, 128), count_generator_flops(config, 256, 256)
    b = (f2 / a2 - f1 / a1) / (a2 - a1)
    return f1 / a1 - b * a1, b


def forward_gflop(config: GeneratorConfig, height: int, width: int) -> float:
    """GFLOPs of one forward at the padded size of height x width."""
    a, b = flop_coefficients(config)
    area = float(padded(height) * padded(width))
    return (a * area + b * area * area) / 1e9


def max_side_for_budget(box: Box, cap: int, gflop_budget: float, config: GeneratorConfig) -> int:
    """The largest model side (<= cap, >= MIN_MODEL_SIDE) at which this window's forward costs at most
    `gflop_budget` GFLOPs. A window smaller than the side is never enlarged, so its own size may be returned."""
    longer = max(box.width, box.height)
    hi = min(cap, longer)
    if forward_gflop(config, *model_size(box, hi)) <= gflop_budget:
        return hi
    lo = min(MIN_MODEL_SIDE, hi)
    # The cost grows with the side: bisect for the largest side within budget (lo may exceed it: the floor).
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if forward_gflop(config, *model_size(box, mid)) <= gflop_budget:
            lo = mid
        else:
            hi = mid
    return lo


CALIBRATION_TTL_S = 60.0  # re-measure after this long: the machine's load changes, and so does its speed
_calibrations: dict[tuple[str, torch.dtype], tuple[float, float]] = {}  # (device, dtype) -> (when, GFLOP/s)


def conv_rate_now(device: torch.device, dtype: torch.dtype) -> float:
    """This device's 3x3-convolution GFLOP/s in `dtype`, measured at most once a minute (a cache, not state)."""
    key = (str(device), dtype)
    cached = _calibrations.get(key)
    if cached is not None and time.monotonic() - cached[0] < CALIBRATION_TTL_S:
        return cached[1]
    # 256 channels at 64x64 (4.8 GFLOP): ~10 ms in fp32 on 2 AVX-512 cores; best of 5, the steady rate.
    rate = conv_gflops(dtype, channels=256, side=64, repeats=5, device=device)
    _calibrations[key] = (time.monotonic(), rate)
    return rate


def interactive_gflop_budget(
    device: torch.device, precision: str, seconds: float = INTERACTIVE_BUDGET_S
) -> float:
    """GFLOPs one fill may spend on `device` at a concrete `precision` to finish within `seconds` end to end.

    From a short convolution benchmark (`conv_rate_now`, ~50 ms, at most once a minute), so it adapts to the
    machine and its load: an AVX2 laptop gets a smaller budget than an AVX-512 server, a GPU a far larger one.
    """
    from inpaint_core.devices import compute_dtype

    dtype = compute_dtype(precision, device)
    rate = conv_rate_now(device, dtype) * MODEL_FRACTION_OF_CONV_PEAK.get(dtype, 0.25)
    return max(0.0, seconds - FIXED_OVERHEAD_S) * rate


def window_side(box: Box, max_side: int, max_gflop: float | None, config: GeneratorConfig) -> int:
    """The longer side the engine resizes this window to: `max_side`, lowered to fit `max_gflop` if given."""
    return max_side if max_gflop is None else max_side_for_budget(box, max_side, max_gflop, config)
