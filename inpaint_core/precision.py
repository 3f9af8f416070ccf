"""What precision "auto" means for a run: bf16 only where it is both fast and shown to be harmless.

bf16 is fast only on CPUs with native bf16 arithmetic (AVX-512 BF16 / AMX; elsewhere PyTorch emulates it, ~70x
slower) and on GPUs that support it. It is harmless only for weights measured to lose at most
`MAX_BF16_HOLE_PSNR_LOSS_DB` of hole PSNR against fp32 (`bench quality` run twice, docs/BENCHMARKS.md). That
measurement is recorded beside the shipped weights in `resources/weights/manifest.json` as
`"bf16_hole_psnr_loss_db"`; without it, "auto" is fp32. So switching the default to bf16 is a data change made
with the weights' measurement, not a code change.
"""

from __future__ import annotations

from pathlib import Path

import torch

from inpaint_core.devices import PRECISIONS, cpu_has_native_bf16
from inpaint_core.errors import DeviceError, WeightsError

MAX_BF16_HOLE_PSNR_LOSS_DB = 0.1  # issue 14: the most hole PSNR a reduced-precision default may cost
MANIFEST_BF16_LOSS_KEY = "bf16_hole_psnr_loss_db"


def shipped_bf16_loss_db() -> float | None:
    """The shipped weights' measured hole-PSNR loss in bf16 (dB, fp32 minus bf16), or None if not recorded.

    Read through `manifest.default_entry`, the one parser of the manifest.
    """
    from inpaint_core.manifest import MANIFEST, default_entry

    entry = default_entry()
    value = None if entry is None else entry.get(MANIFEST_BF16_LOSS_KEY)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise WeightsError(f"the weights manifest {MANIFEST} is malformed: {exc}") from exc


def bf16_allowed(weights: str | Path | None) -> bool:
    """True when these weights (None = the shipped default) were measured to lose at most the allowed PSNR."""
    if weights is not None:
        from inpaint_core.manifest import default_weights

        shipped = default_weights()
        if shipped is None or Path(weights).resolve() != shipped[0].resolve():
            return False  # a file of the user's: nothing was measured for it
    loss = shipped_bf16_loss_db()
    return loss is not None and loss <= MAX_BF16_HOLE_PSNR_LOSS_DB


def device_has_fast_bf16(device: torch.device) -> bool:
    """bf16 arithmetic in hardware: native bf16 on the CPU, bf16 support on a CUDA GPU."""
    if device.type == "cpu":
        return cpu_has_native_bf16()
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return False


def resolve_precision(precision: str, device: torch.device, weights: str | Path | None = None) -> str:
    """A concrete precision for a request: "auto" -> "bf16" where the device is fast at it and the weights allow
    it (`bf16_allowed`), else "fp32". Other names pass through; an unknown one is a DeviceError.
    """
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "bf16" if device_has_fast_bf16(device) and bf16_allowed(weights) else "fp32"
