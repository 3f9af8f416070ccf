"""`convert-weights SRC -o DST.safetensors`: convert published DeepFill v2 weights to our format.

SRC is the official TF release (a `.index` file, the `snap-0` prefix, or the directory holding `snap-0.index`)
or a nipponjo/deepfillv2-pytorch `.pth` (`states_tf_*` or `states_pt_*`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="convert official TF or PyTorch-port DeepFill v2 weights to .safetensors",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("source", type=Path, help="snap-0.index, its checkpoint directory, or a .pth file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .safetensors file to write")
    parser.add_argument(
        "--source-order",
        choices=("bgr", "rgb"),
        default="bgr",
        help="colour order the source weights expect (default: bgr, as the official release)",
    )
    parser.add_argument("--fp16", action="store_true", help="store float16 tensors (half the size)")
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    # Imported here so that building the CLI parser does not import torch.
    import torch

    from inpaint_core.convert import convert_file
    from inpaint_core.errors import InpaintError
    from inpaint_core.weights import count_parameters

    output: Path = args.output
    if output.exists() and not args.force:
        raise InpaintError(f"{output} exists; pass --force to overwrite it")
    if not output.parent.is_dir():
        raise InpaintError(f"output folder {output.parent} does not exist")
    if output.suffix != ".safetensors":
        raise InpaintError(f"output {output} should end with .safetensors")
    model = convert_file(
        args.source, output, args.source_order, dtype=torch.float16 if args.fp16 else torch.float32
    )
    print(f"converted {count_parameters(model):,} parameters -> {output}")
    return 0
