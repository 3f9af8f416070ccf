"""Command-line interface. Subcommands live in sibling modules; each exposes `add_parser` and `run`.

Only this package turns exceptions into a one-line message on stderr and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# name -> module that implements it (imported lazily, so `inpaint` does not pay for the trainer's imports)
COMMANDS: dict[str, str] = {
    "inpaint": "inpaint_core.cli.inpaint",
    "detect-scratches": "inpaint_core.cli.scratches",
    "convert-weights": "inpaint_core.cli.convert",
    "train": "inpaint_core.cli.train",
    "bench": "inpaint_core.cli.bench",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python main.py", description="DeepFill v2 inpainting: CLI.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        importlib.import_module(module_name).add_parser(sub, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from inpaint_core.errors import InpaintError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return int(args.run(args))
    except InpaintError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller --max-side or another device", file=sys.stderr)
        return 2
