"""Generator weights: our safetensors format, strict state-dict checks, and loading.

Our format is safetensors with the model's own state-dict keys and the metadata
`{"format": "deepfill-studio/1", "config": <GeneratorConfig JSON>, "channel_order": "rgb", "dtype": ...}`.
Loading never unpickles anything, and refuses weights whose numbers cannot come from training (`check_scale`:
1e30 values that fill with noise, or F16 data relabelled BF16, whose values shrink to ~1e-13 and fill with
flat grey). A folder may hold `SHA256SUMS` (`sha256sum` format, written by `write_candidate_sums`, e.g. by the
training relay for resources/weights/candidate/): a listed file must match it, which also catches tampering no
statistic sees (two same-shaped tensors' offsets swapped). The converters from the published checkpoints live in `inpaint_core.convert`;
the shipped weights' manifest in `inpaint_core.manifest`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inpaint_core import RESOURCES
from inpaint_core.errors import DeviceError, Remedy, WeightsError, WeightsMissingError
from inpaint_core.files import atomic_write
from inpaint_core.files import sha256_file as sha256_file  # re-exported; its home is files.py
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.model_info import FORMAT

log = logging.getLogger(__name__)

SUMS_NAME = "SHA256SUMS"
CANDIDATE_FOLDER = RESOURCES / "weights" / "candidate"
# What training produces, with a wide berth: DeepFill v2's largest weights (converted release included) stay
# within a few units, and a conv kernel is never all but zero.
MAX_ABS_WEIGHT = 1e3
MIN_KERNEL_SCALE = 1e-5

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
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise WeightsError(f"{p} does not match its expected SHA-256: the file was modified or corrupted")
    _check_recorded_sum(p, digest)
    tensors, metadata = _read_safetensors(data, str(p))
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{p} is not a {FORMAT} weights file", remedy=Remedy.CONVERT_WEIGHTS)
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
    check_scale(tensors, str(p))
    model = DeepFillV2Generator(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.eval()
    try:
        return model.to(device)
    except (RuntimeError, AssertionError) as exc:  # AssertionError: torch built without that backend
        raise DeviceError(f"cannot use device {device}: {exc}", remedy=Remedy.USE_CPU) from exc


def check_scale(tensors: Mapping[str, torch.Tensor], source: str) -> None:
    """WeightsError unless every tensor's scale is one training can produce: no value beyond MAX_ABS_WEIGHT,
    and no conv kernel whose largest value is below MIN_KERNEL_SCALE (F16 bits read as BF16 land there)."""
    for key, tensor in tensors.items():
        if tensor.numel() == 0:
            continue
        peak = float(tensor.detach().float().abs().max())
        if peak > MAX_ABS_WEIGHT:
            raise WeightsError(
                f"{source}: tensor {key} holds values up to {peak:.3g}, far beyond what training produces "
                "(a damaged or tampered file)"
            )
        if tensor.ndim == 4 and peak < MIN_KERNEL_SCALE:
            raise WeightsError(
                f"{source}: tensor {key} is all but zero (largest value {peak:.3g}): the data does not match its "
                f"declared type ({str(tensor.dtype).removeprefix('torch.')}) or the file is damaged"
            )


def read_sums(folder: Path) -> dict[str, str] | None:
    """`folder/SHA256SUMS` as {file name: sha256}, or None when there is none. Raises WeightsError if unreadable."""
    sums = folder / SUMS_NAME
    if not sums.is_file():
        return None
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{sums}: cannot read it ({exc})") from None
    out: dict[str, str] = {}
    for line in lines:
        found = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if found is None:
            if line.strip():
                raise WeightsError(f"{sums}: a line is not '<sha256>  <file name>': {line.strip()[:60]!r}")
            continue
        out[found[2]] = found[1].lower()
    return out


def write_candidate_sums(folder: str | os.PathLike[str] = CANDIDATE_FOLDER) -> Path:
    """Record the SHA-256 of every .safetensors file in `folder` in `folder/SHA256SUMS` (atomically; the
    weight files are not touched). Call it whenever the files are replaced. Returns the SHA256SUMS path."""
    folder = Path(folder)
    names = sorted(f.name for f in folder.glob("*.safetensors") if f.is_file())
    text = "".join(f"{sha256_file(folder / name)}  {name}\n" for name in names)
    with atomic_write(folder / SUMS_NAME, "w") as fh:
        fh.write(text)
    return folder / SUMS_NAME


def _check_recorded_sum(path: Path, digest: str) -> None:
    """A file listed in its folder's SHA256SUMS must match it; the candidate folder without one is loaded with
    a warning (its files are replaced by the training relay, which then rewrites the sums)."""
    folder = path.resolve().parent
    sums = read_sums(folder)
    recorded = None if sums is None else sums.get(path.name)
    if recorded is not None and recorded != digest:
        raise WeightsError(
            f"{path} does not match the SHA-256 in {folder / SUMS_NAME}: the file was modified or corrupted "
            "(if it was replaced on purpose, rewrite the sums with weights.write_candidate_sums)"
        )
    if recorded is None and folder == CANDIDATE_FOLDER.resolve():
        where = f"{SUMS_NAME} does not list it" if sums is not None else f"there is no {SUMS_NAME} beside it"
        log.warning("%s: no recorded SHA-256 (%s), so its integrity is not checked", path.name, where)


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
