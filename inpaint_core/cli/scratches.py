"""`detect-scratches IMAGE -o MASK.png`: propose a mask of scratches, creases and dust specks on an old photo.

Two detectors propose it: the learned one (a small U-Net trained on synthetic damage), the default when its
weights are installed, and the classical filters (top-hats and line evidence), the fallback. --method picks
one; the printed line names the one that ran.

The mask is white where damage was found (the same convention as `inpaint --mask`): check it, edit it, then
fill it with `inpaint IMAGE --mask MASK.png -o OUT`, or do both at once with `inpaint IMAGE --auto-scratches`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

# Kept in step with inpaint_core.restore.scratches (not imported: building the parser stays cheap).
_DEFAULT_SENSITIVITY = 0.5
_DEFAULT_MAX_WIDTH = 8
_METHODS = ("auto", "learned", "classical")  # inpaint_core.restore.detector.METHODS


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def add_detection_options(parser: argparse.ArgumentParser) -> None:
    """--sensitivity and --max-width, shared by `detect-scratches` and `inpaint --auto-scratches`."""
    parser.add_argument(
        "--sensitivity",
        type=_unit_interval,
        default=_DEFAULT_SENSITIVITY,
        metavar="S",
        help=f"0 (only the surest damage) to 1 (anything plausible); default {_DEFAULT_SENSITIVITY}",
    )
    parser.add_argument(
        "--max-width",
        type=int,
        default=_DEFAULT_MAX_WIDTH,
        metavar="PX",
        help=f"widest scratch or speck to look for, in pixels (1 to 32; default {_DEFAULT_MAX_WIDTH})",
    )


def add_method_option(parser: argparse.ArgumentParser, flag: str) -> None:
    """The detector choice: `--method` in detect-scratches, `--scratch-method` in inpaint."""
    parser.add_argument(
        flag,
        choices=_METHODS,
        default="auto",
        help="the scratch detector: learned (a small U-Net), classical (filters), or auto (default: learned "
        "when its weights are installed, else classical)",
    )


def describe_method(method: str, weights: Any = None) -> str:
    """How the printed lines name a resolved detector: "learned detector" or "classical detector"."""
    if method == "learned" and weights is not None:
        return f"learned detector ({Path(weights).name})"
    return f"{method} detector"


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="propose a mask of scratches and dust on an old photo",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("image", type=Path, help="the photo to examine")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="the mask to write (PNG: white = damage)"
    )
    add_detection_options(parser)
    add_method_option(parser, "--method")
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="a learned detector weights file to use instead of the installed one (implies --method learned)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    parser.set_defaults(run=run)
    return parser


def mask_pixels(mask: Any) -> Any:
    """A bool mask -> the uint8 image written to disk (255 = hole), as `inpaint --mask` reads it."""
    import numpy as np

    return np.where(mask, np.uint8(255), np.uint8(0))


def check_mask_output(path: Path) -> None:
    """Masks are written as PNG only: a lossy format (JPEG, WebP) blurs the edges into grey, which the mask rule
    (any non-black pixel is a hole) reads as more holes than were proposed."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_io import SAVE_FORMATS

    if path.suffix.lower() in SAVE_FORMATS and path.suffix.lower() != ".png":  # others: "unknown format"
        raise InpaintError(
            f"{path}: a mask is written as PNG (lossless, white = damage); name it {path.stem}.png"
        )


def run(args: argparse.Namespace) -> int:
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_io import check_output_path, load_image, save_image
    from inpaint_core.restore.detector import detect_damage, resolve_method

    if args.weights is not None and args.method == "classical":
        raise InpaintError("--weights is a learned detector file; drop it or use --method learned")
    method = "learned" if args.weights is not None else resolve_method(args.method)  # before any work
    check_mask_output(args.output)
    check_output_path(args.output, args.force)
    pixels = load_image(args.image).pixels
    start = time.perf_counter()
    mask = detect_damage(pixels, args.sensitivity, args.max_width, method, weights=args.weights)
    elapsed = time.perf_counter() - start
    save_image(args.output, mask_pixels(mask), overwrite=args.force)
    count = int(mask.sum())
    print(
        f"wrote {args.output}: {count} px proposed ({count / mask.size:.2%} of the photo) by the "
        f"{describe_method(method, args.weights)}, {elapsed:.2f} s"
    )
    return 0
