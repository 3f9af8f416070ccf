"""Generator weights: our safetensors format, strict state-dict checks, and loading.

Our format is safetensors with the model's own state-dict keys and the metadata
`{"format": "deepfill-studio/1", "config": <GeneratorConfig JSON>, "channel_order": "rgb", "dtype": ...}`.
Loading never unpickles anything. The converters from the published checkpoints live in `inpaint_core.convert`;
the shipped weights' manifest in `inpaint_core.manifest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inpaint_core.errors import DeviceError, WeightsError, WeightsMissingError
from inpaint_core.files import atomic_write
from inpaint_core.files import sha256_file as sha256_file  # re-exported; its home is files.py
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.model_info import FORMAT

# --------------------------------------------------------------------------------------------------------------
# Strict state dicts


def expected_shapes(config: GeneratorConfig) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of a generator with `config` and its shape (built on the meta device: no memory)."""
    with torch.device("meta"):
        model = DeepFillV2Generator(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_state_dict(
    state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]], source: str
) -> None:
    """Raise WeightsError naming the first missing key, unexpected key or wrong shape."""
    for key, shape in expected.items():
        if key not in state_dict:
            raise WeightsError(f"{source} lacks the tensor {key}")
        if tuple(state_dict[key].shape) != shape:
            raise WeightsError(
                f"{source}: tensor {key} has shape {list(state_dict[key].shape)}, the model needs {list(shape)}"
            )
    for key in state_dict:
        if key not in expected:
            raise WeightsError(f"{source} has an unexpected tensor {key}")


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> GeneratorConfig:
    """The GeneratorConfig a converted state dict fits: cnum from conv1's filters, the guide from its inputs.

    Raises:
        WeightsError: conv1 is missing or has an unsupported number of input channels.
    """
    weight = state_dict.get("coarse.conv1.conv.weight")
    if weight is None or weight.ndim != 4:
        raise WeightsError("the weights lack a 4-d coarse.conv1.conv.weight")
    cout, cin = int(weight.shape[0]), int(weight.shape[1])
    if cin not in (5, 6) or cout % 4:
        raise WeightsError(f"coarse.conv1 has shape {list(weight.shape)}: not a DeepFill v2 generator")
    return GeneratorConfig(cnum=cout, guide_channel=cin == 6)


def first_non_finite(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The first key whose tensor holds NaN or inf. numpy, not torch: torch's thread pool makes 84 small
    checks take seconds on a busy machine."""
    for key, tensor in tensors.items():
        t = tensor.detach().cpu()
        if not np.isfinite((t.float() if t.dtype == torch.bfloat16 else t).numpy()).all():  # no bf16 in numpy
            return key
    return None


# --------------------------------------------------------------------------------------------------------------
# Our format


def save_generator(
    model: DeepFillV2Generator,
    path: str | os.PathLike[str],
    dtype: torch.dtype = torch.float16,
    extra_metadata: Mapping[str, str] | None = None,
) -> Path:
    """Save the generator's weights as safetensors with our metadata (atomic write; replaces `path`).

    Raises:
        WeightsError: a value does not fit `dtype` (fp16 overflow) or the file cannot be written.
    """
    from safetensors.torch import save

    if dtype not in (torch.float16, torch.float32):
        raise ValueError(f"dtype must be torch.float16 or torch.float32, got {dtype}")
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    bad = first_non_finite(tensors)
    if bad is not None:
        raise WeightsError(
            f"tensor {bad} does not fit in {str(dtype).removeprefix('torch.')} (NaN, inf or out of range)"
        )
    metadata = dict(extra_metadata or {})
    metadata |= {
        "format": FORMAT,
        "config": model.config.to_json(),
        "channel_order": "rgb",
        "dtype": str(dtype).removeprefix("torch."),
        "parameters": str(sum(t.numel() for t in tensors.values())),
    }
    out = Path(path)
    try:
        with atomic_write(out) as fh:
            fh.write(save(tensors, metadata=metadata))
    except OSError as exc:
        raise WeightsError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out


def _read_safetensors(data: bytes, source: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors.torch import load

    invalid = f"{source} is not a valid weights file (truncated or not safetensors)"
    if len(data) < 8:
        raise WeightsError(invalid)
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > len(data) - 8 or header_len > 100 << 20:
        raise WeightsError(invalid)
    try:
        header = json.loads(data[8 : 8 + header_len])
        metadata = header.get("__metadata__") or {}
        tensors = load(data)
    except Exception as exc:  # safetensors raises its own error types (and sometimes others) on bad bytes
        raise WeightsError(invalid) from exc
    if not isinstance(metadata, dict):
        raise WeightsError(invalid)
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def load_generator(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", expected_sha256: str | None = None
) -> DeepFillV2Generator:
    """Load our safetensors weights into a new generator (fp32, eval mode, on `device`).

    Raises:
        WeightsMissingError: no file at `path`.
        WeightsError: the file is not our format, was modified (sha256 mismatch), does not fit the model, or
            holds NaN or infinite values.
        DeviceError: the model cannot be moved to `device`.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsMissingError(f"weights file not found: {p}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {p}: {exc.strerror}") from exc
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256.lower():
        raise WeightsError(f"{p} does not match its expected SHA-256: the file was modified or corrupted")
    tensors, metadata = _read_safetensors(data, str(p))
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{p} is not a {FORMAT} weights file (convert it with `convert-weights`)")
    if metadata.get("channel_order", "rgb") != "rgb":
        raise WeightsError(f"{p} has channel order {metadata['channel_order']!r}; only 'rgb' is supported")
    try:
        config = GeneratorConfig.from_json(metadata["config"])
    except (KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{p} has no readable model config in its metadata") from exc
    check_state_dict(tensors, expected_shapes(config), str(p))
    for key, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise WeightsError(f"{p}: tensor {key} is not floating point")
    bad = first_non_finite(tensors)  # NaN or inf would fill every hole black, with no error
    if bad is not None:
        raise WeightsError(f"{p}: tensor {bad} holds NaN or infinite values")
    model = DeepFillV2Generator(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.eval()
    try:
        return model.to(device)
    except (RuntimeError, AssertionError) as exc:  # AssertionError: torch built without that backend
        raise DeviceError(f"cannot use device {device}: {exc}") from exc


def build_generator(
    state_dict: Mapping[str, torch.Tensor], config: GeneratorConfig | None = None
) -> DeepFillV2Generator:
    """A generator (eval mode, CPU, fp32) holding `state_dict`; the config is inferred when not given."""
    config = config or infer_config(state_dict)
    check_state_dict(state_dict, expected_shapes(config), "the weights")
    model = DeepFillV2Generator(config)
    model.load_state_dict({k: v.float() for k, v in state_dict.items()}, strict=True)
    return model.eval()


def count_parameters(module_or_state: nn.Module | Mapping[str, Any]) -> int:
    """Number of parameters of a module, or of elements in a state dict."""
    if isinstance(module_or_state, nn.Module):
        return sum(p.numel() for p in module_or_state.parameters())
    return sum(int(t.numel()) for t in module_or_state.values())
