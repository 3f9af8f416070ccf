"""Converter from nipponjo/deepfillv2-pytorch's `states_tf_*.pth` and `states_pt_*.pth`.

`states_tf_*` keys are the TF scope names (`conv1.conv.weight`, ...); `states_pt_*` keys are the port's module
paths (`stage1.conv1.conv.weight`, `stage1.down_block1.conv1_downsample...`), mapped by the tables below; its
buffer `stage2.contextual_attention.fuse_weight` is skipped. The `states_pt_*` weights were fine-tuned for that
port's symmetric padding; our layers pad like TF, so they fit less well than `states_tf`. Files are read with
`torch.load(weights_only=True)`, which refuses pickled code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from inpaint_core.convert.channels import SourceOrder, finish, split_key
from inpaint_core.errors import WeightsError, WeightsMissingError
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.weights import expected_shapes

# nipponjo networks.py module path -> our layer name (the port's networks.py). Stage prefix separate: stage1 = coarse.
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
        _, layer, suffix = split_key(key)
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
    return finish(state, expected, source, source_order)
