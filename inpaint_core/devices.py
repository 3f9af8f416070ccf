"""Device and precision resolution, and turning out-of-memory failures into a DeviceError the user can act on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import torch

from inpaint_core.errors import DeviceError, Remedy
from inpaint_core.registry import DEVICES, PRECISIONS, DeviceName, Precision

__all__ = ["DEVICES", "PRECISIONS", "DeviceName", "Precision"]  # re-exported: their home is registry
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

log = logging.getLogger(__name__)

_OOM_MESSAGE = "out of GPU memory on {device}; lower the max model resolution or use the CPU"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> tuple[str, ...]:
    """The names of `DEVICES` usable on this machine ("auto" and "cpu" always)."""
    usable = {"auto", "cpu", "cuda" if torch.cuda.is_available() else "", "mps" if _mps_available() else ""}
    return tuple(d for d in DEVICES if d in usable)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA, then MPS, then CPU; an explicit device must be available (DeviceError otherwise)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                "CUDA was requested but no CUDA GPU is available to this PyTorch", remedy=Remedy.USE_CPU
            )
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise DeviceError("MPS (Apple GPU) was requested but is not available", remedy=Remedy.USE_CPU)
        return torch.device("mps")
    raise DeviceError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")


def cpu_has_native_bf16() -> bool:
    """True when oneDNN can run bf16 convolutions natively (AVX512-BF16 / AMX); otherwise they are emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision (None = plain fp32); DeviceError where the device cannot do it."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise DeviceError("this GPU does not support bf16", remedy=Remedy.OTHER_PRECISION)
        if device.type == "cpu" and not cpu_has_native_bf16():
            log.warning("this CPU has no native bf16: bf16 runs much slower than fp32 here (measured ~70x)")
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if precision == "auto":
        raise DeviceError('precision "auto" must be resolved first (precision.resolve_precision)')
    raise DeviceError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")


def compute_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the model's weights and activations use at a concrete `precision` (DeviceError as autocast)."""
    return autocast_dtype(precision, device) or torch.float32


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[object]:
    """A context that runs the model at `precision` on `device` (a no-op for fp32)."""
    dtype = autocast_dtype(precision, device)
    if dtype is None:
        return contextlib.nullcontext()
    try:
        return torch.autocast(device_type=device.type, dtype=dtype)
    except RuntimeError as exc:  # e.g. a dtype the backend's autocast does not support
        raise DeviceError(
            f"{precision} is not supported on {device.type} ({exc})", remedy=Remedy.FULL_PRECISION
        ) from None


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory failures, whichever exception type the backend used."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@contextlib.contextmanager
def translate_oom(device: torch.device) -> Iterator[None]:
    """Re-raise an out-of-memory failure on `device` as a one-line DeviceError (and free the cache)."""
    try:
        yield
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError too
        if not is_out_of_memory(exc):
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise DeviceError(_OOM_MESSAGE.format(device=device)) from None
