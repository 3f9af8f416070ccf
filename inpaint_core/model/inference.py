"""Putting a model and its inputs in the form inference runs them in: eval mode, the inference memory format,
weights converted once to the compute dtype. Every inference path (the engine, the benchmarks) uses this."""

from __future__ import annotations

from typing import TypeVar

import torch

from inpaint_core.devices import compute_dtype
from inpaint_core.model.layers import prepare_inference

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)

# channels_last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest convolution kernels: 10% faster per forward
# at 512x512 on the CPU here (docs/BENCHMARKS.md). Every inference path uses it, the speed benchmark included.
INFERENCE_FORMAT = torch.channels_last


def for_inference(model: ModuleT, precision: str = "fp32") -> ModuleT:
    """Eval mode, weights in the inference memory format, and the gated convolutions' weights converted once to
    the compute dtype of `precision` (a concrete one: see `precision.resolve_precision` for "auto"). In place;
    returns the model. Training is unaffected: with autograd on, the layers use their fp32 parameters.
    """
    model.eval().to(memory_format=INFERENCE_FORMAT)  # type: ignore[call-overload]  # accepted, missing from stubs
    device = next(model.parameters()).device
    prepare_inference(model, compute_dtype(precision, device))
    return model


def inference_tensor(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A (B, C, H, W) model input on `device` in the inference memory format."""
    return tensor.to(device).contiguous(memory_format=INFERENCE_FORMAT)
