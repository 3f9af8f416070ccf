"""Converter from the official DeepFill v2 TF release (`snap-0.index` + `snap-0.data-00000-of-00001`).

The checkpoint is read with numpy (tf_checkpoint.py). `inpaint_net/<scope>/kernel` [kh, kw, cin, cout] becomes
`<stage>.<scope>.conv.weight` [cout, cin, kh, kw] and `/bias` `.conv.bias`; the upsampling scopes
`inpaint_net/conv13_upsample/conv13_upsample_conv/kernel` become `coarse.conv13_upsample.conv.conv.weight`. The
discriminator, the Adam slots, global_step, lr and beta*_power are ignored.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from inpaint_core.convert.channels import SourceOrder, finish, split_key
from inpaint_core.convert.tf_checkpoint import read_index, read_tensors, resolve_prefix
from inpaint_core.errors import WeightsError
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.weights import expected_shapes

log = logging.getLogger(__name__)


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
    names = {key: _tf_scope(*split_key(key)[1:]) for key in expected}
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
    return finish(state, expected, source, source_order)
