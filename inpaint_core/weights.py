"""Generator weights: our safetensors format, strict loading, and converters from the published checkpoints.

Our format is safetensors with the model's own state-dict keys and the metadata
`{"format": "deepfill-studio/1", "config": <GeneratorConfig JSON>, "channel_order": "rgb", "dtype": ...}`.
Loading never unpickles anything; the PyTorch-port converter uses `torch.load(weights_only=True)`, which refuses
pickled code.

Converters (both return a state dict with our keys, fp32, RGB channel order):

- `convert_tf_checkpoint`: the official TF release (`snap-0.index` + `snap-0.data-00000-of-00001`), read with
  numpy (tf_checkpoint.py). `inpaint_net/<scope>/kernel` [kh, kw, cin, cout] becomes `<stage>.<scope>.conv.weight`
  [cout, cin, kh, kw] and `/bias` `.conv.bias`; the upsampling scopes `inpaint_net/conv13_upsample/
  conv13_upsample_conv/kernel` become `coarse.conv13_upsample.conv.conv.weight`. The discriminator, the Adam
  slots, global_step, lr and beta*_power are ignored.
- `convert_torch_port`: nipponjo/deepfillv2-pytorch's `states_tf_*.pth` (keys `conv1.conv.weight`, ...: the TF
  scope names) and `states_pt_*.pth` (keys `stage1.conv1.conv.weight`, `stage1.down_block1.conv1_downsample...`;
  its buffer `stage2.contextual_attention.fuse_weight` is skipped). Note that the `states_pt_*` weights were
  fine-tuned for that port's symmetric padding; our layers pad like TF, so they fit less well than `states_tf`.

Channel order: the official pipeline is BGR end to end (cv2.imread for training and testing); our model is RGB.
With `source_order="bgr"` the converters reverse the colour channels where the image enters or leaves a stage:
the input channels 0..2 of `coarse.conv1` (channels 3.. are the ones and mask planes, and the guide in the guided
variant, which stay), all 3 input channels of `refine.xconv1` and `refine.pmconv1` (they read the stage-1 image),
and the 3 output channels (weight rows and bias) of `coarse.conv17` and `refine.allconv17`. Every other layer sees
features, whose order does not change, so the converted model fed RGB gives exactly the channel-reversed output of
the source model fed BGR.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from inpaint_core.errors import DeviceError, WeightsError, WeightsMissingError
from inpaint_core.files import atomic_write
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.tf_checkpoint import read_index, read_tensors, resolve_prefix

log = logging.getLogger(__name__)

FORMAT = "deepfill-studio/1"

SourceOrder = Literal["bgr", "rgb"]

# Layers whose input channels 0..2 are the image, and the output layers whose 3 filters are the image.
_IMAGE_INPUT_LAYERS = ("coarse.conv1", "refine.xconv1", "refine.pmconv1")
_IMAGE_OUTPUT_LAYERS = ("coarse.conv17", "refine.allconv17")

# nipponjo networks.py module path -> our layer name (RESEARCH.md §2.2). Stage prefix separate: stage1 = coarse.
_PT_STAGE1 = {
    "conv1": "conv1",
    "down_block1.conv1_downsample": "conv2_downsample",
    "down_block1.conv2": "conv3",
    "down_block2.conv1_downsample": "conv4_downsample",
    "down_block2.conv2": "conv5",
    "conv_bn1": "conv6",
    "conv_bn2": "conv7_atrous",
    "conv_bn3": "conv8_atrous",
    "conv_bn4": "conv9_atrous",
    "conv_bn5": "conv10_atrous",
    "conv_bn6": "conv11",
    "conv_bn7": "conv12",
    "up_block1.conv1_upsample": "conv13_upsample",
    "up_block1.conv2": "conv14",
    "up_block2.conv1_upsample": "conv15_upsample",
    "up_block2.conv2": "conv16",
    "conv_to_rgb": "conv17",
}
_PT_STAGE2 = {
    "conv_conv1": "xconv1",
    "conv_down_block1.conv1_downsample": "xconv2_downsample",
    "conv_down_block1.conv2": "xconv3",
    "conv_down_block2.conv1_downsample": "xconv4_downsample",
    "conv_down_block2.conv2": "xconv5",
    "conv_conv_bn1": "xconv6",
    "conv_conv_bn2": "xconv7_atrous",
    "conv_conv_bn3": "xconv8_atrous",
    "conv_conv_bn4": "xconv9_atrous",
    "conv_conv_bn5": "xconv10_atrous",
    "ca_conv1": "pmconv1",
    "ca_down_block1.conv1_downsample": "pmconv2_downsample",
    "ca_down_block1.conv2": "pmconv3",
    "ca_down_block2.conv1_downsample": "pmconv4_downsample",
    "ca_down_block2.conv2": "pmconv5",
    "ca_conv_bn1": "pmconv6",
    "ca_conv_bn4": "pmconv9",
    "ca_conv_bn5": "pmconv10",
    "conv_bn6": "allconv11",
    "conv_bn7": "allconv12",
    "up_block1.conv1_upsample": "allconv13_upsample",
    "up_block1.conv2": "allconv14",
    "up_block2.conv1_upsample": "allconv15_upsample",
    "up_block2.conv2": "allconv16",
    "conv_to_rgb": "allconv17",
}
_PT_LAYER_TO_SOURCE = {v: f"stage1.{k}" for k, v in _PT_STAGE1.items()} | {
    v: f"stage2.{k}" for k, v in _PT_STAGE2.items()
}
# The port's eye(3) fuse buffer; our attention builds its own.
_PT_SKIPPED = frozenset({"stage2.contextual_attention.fuse_weight"})
_KEY = re.compile(r"^(?P<stage>coarse|refine)\.(?P<layer>\w+?)(?P<suffix>(\.conv)+\.(weight|bias))$")


# --------------------------------------------------------------------------------------------------------------
# Files


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def reverse_color_channels(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Swap BGR <-> RGB in the layers that read or write the image (see the module docstring). Returns a new dict.

    Shape:
        `*.conv.weight` (cout, cin, kh, kw): input layers flip cin[0:3]; output layers flip cout[0:3] (and bias).
    """
    out = dict(state_dict)
    for layer in _IMAGE_INPUT_LAYERS:
        w = out[f"{layer}.conv.weight"].clone()
        w[:, 0:3] = w[:, 0:3].flip(1)
        out[f"{layer}.conv.weight"] = w
    for layer in _IMAGE_OUTPUT_LAYERS:
        for suffix in ("weight", "bias"):
            t = out[f"{layer}.conv.{suffix}"].clone()
            if t.shape[0] != 3:
                raise WeightsError(f"{layer}.conv.{suffix} has {t.shape[0]} outputs, expected the 3 colours")
            out[f"{layer}.conv.{suffix}"] = t.flip(0)
    return out


def _finish(
    state_dict: dict[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]], source: str, order: str
) -> dict[str, torch.Tensor]:
    if order not in ("bgr", "rgb"):
        raise ValueError(f"source_order must be 'bgr' or 'rgb', got {order!r}")
    check_state_dict(state_dict, expected, source)
    bad = _first_non_finite(state_dict)
    if bad is not None:
        raise WeightsError(f"{source}: tensor {bad} holds NaN or infinite values")
    return reverse_color_channels(state_dict) if order == "bgr" else state_dict


def _first_non_finite(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The first key whose tensor holds NaN or inf. numpy, not torch: torch's thread pool makes 84 small
    checks take seconds on a busy machine."""
    for key, tensor in tensors.items():
        t = tensor.detach().cpu()
        if not np.isfinite((t.float() if t.dtype == torch.bfloat16 else t).numpy()).all():  # no bf16 in numpy
            return key
    return None


def _split_key(key: str) -> tuple[str, str, str]:
    m = _KEY.match(key)
    if m is None:
        raise AssertionError(f"unexpected model key {key}")  # a model change this module does not know about
    return m["stage"], m["layer"], m["suffix"]


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
    bad = _first_non_finite(tensors)
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
    bad = _first_non_finite(tensors)  # NaN or inf would fill every hole black, with no error
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


# --------------------------------------------------------------------------------------------------------------
# Converters


def _tf_scope(layer: str, suffix: str) -> str:
    """Our (layer, '.conv.weight' | '.conv.conv.bias' ...) -> the TF variable name."""
    leaf = "kernel" if suffix.endswith("weight") else "bias"
    if suffix.startswith(".conv.conv."):  # gen_deconv puts its conv in a nested `<name>_conv` scope
        return f"inpaint_net/{layer}/{layer}_conv/{leaf}"
    return f"inpaint_net/{layer}/{leaf}"


def _is_tf_generator_variable(name: str) -> bool:
    if not name.startswith("inpaint_net/"):
        return False
    last = name.rsplit("/", 1)[-1]
    return not last.startswith("Adam")  # optimizer slots: .../kernel/Adam, .../kernel/Adam_1


def convert_tf_checkpoint(
    index_path_or_dir: str | os.PathLike[str], source_order: SourceOrder = "bgr"
) -> dict[str, torch.Tensor]:
    """Convert the official TF release checkpoint into our state dict (fp32, RGB unless source_order="rgb").

    Args:
        index_path_or_dir: `snap-0.index`, the prefix `snap-0`, or the directory holding it.
        source_order: the colour order the checkpoint was trained on ("bgr" for the official release).

    Raises:
        WeightsMissingError: the index or data file is missing.
        WeightsError: a generator variable is missing, unexpected, of the wrong shape, or corrupt.
    """
    prefix = resolve_prefix(index_path_or_dir)
    entries = read_index(prefix)
    source = str(prefix)
    conv1 = entries.get("inpaint_net/conv1/kernel")
    if conv1 is None or len(conv1.shape) != 4:
        raise WeightsError(f"{source} has no inpaint_net/conv1/kernel: not a DeepFill v2 checkpoint")
    config = GeneratorConfig(cnum=conv1.shape[3], guide_channel=conv1.shape[2] == 6)
    expected = expected_shapes(config)
    names = {key: _tf_scope(*_split_key(key)[1:]) for key in expected}
    available = {n for n in entries if _is_tf_generator_variable(n)}
    for key, name in names.items():
        if name not in available:
            raise WeightsError(f"{source} lacks the variable {name} (for {key})")
    unused = sorted(available - set(names.values()))
    if unused:
        raise WeightsError(f"{source} has an unexpected generator variable {unused[0]}")
    ignored = [n for n in entries if n not in available]
    log.debug("ignoring %d non-generator variables of %s", len(ignored), source)
    arrays = read_tensors(prefix, list(names.values()))
    state: dict[str, torch.Tensor] = {}
    for key, name in names.items():
        array = arrays[name]
        if array.dtype.kind != "f":
            raise WeightsError(f"{source}: variable {name} is {array.dtype}, not floating point")
        if array.ndim == 4:
            array = array.transpose(3, 2, 0, 1)  # TF [kh, kw, cin, cout] -> torch [cout, cin, kh, kw]
        state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return _finish(state, expected, source, source_order)


def _load_pth(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsMissingError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for code, RuntimeError/EOFError/... for bad or truncated files
        raise WeightsError(
            f"{path} is not a valid PyTorch weights file (corrupt, or it holds code, which is refused)"
        ) from exc
    if isinstance(obj, dict) and isinstance(obj.get("G"), dict):
        obj = obj["G"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} holds no generator state dict (expected a dict with key 'G')")
    return {str(k): v for k, v in obj.items()}


def convert_torch_port(
    path: str | os.PathLike[str], source_order: SourceOrder = "bgr"
) -> dict[str, torch.Tensor]:
    """Convert nipponjo/deepfillv2-pytorch weights (`states_tf_*.pth` or `states_pt_*.pth`) into our state dict.

    Args:
        path: the `.pth` file: a dict with key 'G' (or a bare generator state dict).
        source_order: the colour order the weights expect ("bgr" for weights converted from the official release).

    Raises:
        WeightsMissingError: no file at `path`.
        WeightsError: the file holds pickled code or no state dict, or a key is missing, unexpected or misshapen.
    """
    p = Path(path)
    source = str(p)
    raw = _load_pth(p)
    if "stage1.conv1.conv.weight" in raw:
        layer_source: Callable[[str], str] = _PT_LAYER_TO_SOURCE.__getitem__
        conv1 = raw["stage1.conv1.conv.weight"]
    elif "conv1.conv.weight" in raw:
        layer_source = str  # states_tf keys are the TF scope names
        conv1 = raw["conv1.conv.weight"]
    else:
        raise WeightsError(f"{source} has neither conv1.conv.weight nor stage1.conv1.conv.weight")
    if conv1.ndim != 4 or conv1.shape[1] not in (5, 6):
        raise WeightsError(f"{source}: conv1 has shape {list(conv1.shape)}: not a DeepFill v2 generator")
    expected = expected_shapes(GeneratorConfig(cnum=int(conv1.shape[0]), guide_channel=conv1.shape[1] == 6))
    state: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key in expected:
        _, layer, suffix = _split_key(key)
        name = layer_source(layer) + suffix
        if name not in raw:
            raise WeightsError(f"{source} lacks the tensor {name} (for {key})")
        tensor = raw[name]
        if not tensor.is_floating_point():
            raise WeightsError(f"{source}: tensor {name} is not floating point")
        state[key] = tensor.detach().to(torch.float32).contiguous()
        used.add(name)
    unused = sorted(set(raw) - used - _PT_SKIPPED)
    if unused:
        raise WeightsError(f"{source} has an unexpected tensor {unused[0]}")
    return _finish(state, expected, source, source_order)


def convert_any(path: str | os.PathLike[str], source_order: SourceOrder = "bgr") -> dict[str, torch.Tensor]:
    """Convert a `.pth` (PyTorch port) or a TF checkpoint (`.index`, prefix or directory) by what `path` is."""
    p = Path(path)
    if p.suffix in (".pth", ".pt"):
        return convert_torch_port(p, source_order)
    if p.is_file() and p.suffix != ".index":
        raise WeightsError(
            f"{p}: not a checkpoint this can convert (a TF snap-0.index, its folder or prefix, or a .pth)"
        )
    return convert_tf_checkpoint(p, source_order)


def count_parameters(module_or_state: nn.Module | Mapping[str, Any]) -> int:
    """Number of parameters of a module, or of elements in a state dict."""
    if isinstance(module_or_state, nn.Module):
        return sum(p.numel() for p in module_or_state.parameters())
    return sum(int(t.numel()) for t in module_or_state.values())
