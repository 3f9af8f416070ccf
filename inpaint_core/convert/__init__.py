"""Converters from the published DeepFill v2 checkpoints into our state dict (our keys, fp32, RGB order).

- `convert_tf_checkpoint` (tf_release.py): the official TF release, read with numpy (tf_checkpoint.py).
- `convert_torch_port` (torch_port.py): nipponjo/deepfillv2-pytorch's `states_tf_*.pth` / `states_pt_*.pth`.
- `convert_any`: either, by what the path is.

The result is saved in our format with `inpaint_core.weights.save_generator`; the channel-order fix both share is
described in channels.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from inpaint_core.convert.channels import SourceOrder, reverse_color_channels
from inpaint_core.convert.tf_release import convert_tf_checkpoint
from inpaint_core.convert.torch_port import convert_torch_port
from inpaint_core.errors import WeightsError
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.model_info import guess_training_set
from inpaint_core.weights import build_generator, save_generator

__all__ = [
    "SourceOrder",
    "convert_any",
    "convert_file",
    "convert_tf_checkpoint",
    "convert_torch_port",
    "reverse_color_channels",
]


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


def convert_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    source_order: SourceOrder = "bgr",
    dtype: torch.dtype = torch.float32,
    on_stage: Callable[[str], None] | None = None,
) -> DeepFillV2Generator:
    """Convert a published checkpoint (`convert_any`) into our safetensors file at `output` (atomic write).

    The metadata records the source file and, when its name tells, the data set it was trained on.
    `on_stage(stage)` is called before "read", "check" and "write" (it may raise to stop, e.g. on cancel).
    Returns the converted generator.
    """

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    src = Path(source)
    stage("read")
    state = convert_any(src, source_order)
    stage("check")
    model = build_generator(state)
    stage("write")
    metadata = {"source": src.name, "source_order": source_order}
    trained_on = guess_training_set(f"{src.resolve().parent.name}/{src.name}")
    if trained_on:
        metadata["trained_on"] = trained_on
    save_generator(model, output, dtype=dtype, extra_metadata=metadata)
    return model
