"""`inpaint`: fill the holes of one image, or of a folder of images, from the command line.

One image:  python main.py inpaint IMAGE --mask MASK -o OUT [--guide G] [--forbid F] [--flow-out FLOW.png]
A folder:   python main.py inpaint --images DIR --masks DIR -o OUTDIR   (pairs matched by file stem)
Old photos: python main.py inpaint --images DIR --auto-scratches -o OUTDIR [--provenance]   (or IMAGE)

Masks: white (any non-black) = hole. The output format follows the output's extension (png, jpg, webp, tif).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from inpaint_core.api import (
    DEEPFILL,
    DEVICES,
    EDGE_BLEND,
    ENGINES,
    MAX_SIDE,
    PATCH_RADIUS_SETTING,
    PRECISIONS,
    SOURCE_MAP_ENGINES,
    default_engine,
)
from inpaint_core.cli.advice import with_advice
from inpaint_core.cli.options import finite_float, int_range
from inpaint_core.cli.restore_options import (
    add_restore_options,
    check_restore_outputs,
    plan_batch_outputs,
    proposed_mask,
    resolve_scratch_method,
    save_result,
    scratch_note,
)


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="fill the masked holes of an image (or of a folder of images)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", nargs="?", type=Path, help="the image to fill (omit with --images)")
    parser.add_argument(
        "--mask", type=Path, help="the mask: white (non-black) = hole, same size as the image"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="output file (a folder with --images)"
    )
    parser.add_argument("--images", type=Path, help="batch: a folder of images")
    parser.add_argument("--masks", type=Path, help="batch: a folder of masks named like the images")
    parser.add_argument(
        "--guide", type=Path, help="sketch strokes to guide the fill (weights with a guide channel)"
    )
    parser.add_argument("--forbid", type=Path, help="a mask of regions the fill must not borrow from")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="fill method (default: deepfill with --weights or when weights ship, else auto: Navier-Stokes "
        f"for thin holes, PatchMatch for wide ones; here now: {default_engine()})",
    )
    parser.add_argument(
        "--patch-radius",
        type=int_range(PATCH_RADIUS_SETTING.lo, PATCH_RADIUS_SETTING.hi),
        default=PATCH_RADIUS_SETTING.default,
        metavar="R",
        help=f"patchmatch and auto: compare patches of (2R+1)^2 px; larger follows larger structures but is "
        f"slower (default: {PATCH_RADIUS_SETTING.default})",
    )
    parser.add_argument(
        "--weights", type=Path, help="DeepFill weights (.safetensors); default: the shipped ones"
    )
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="default: auto (CUDA, MPS, then CPU)"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="default: auto (bf16 on CPUs with native bf16 once the weights are measured safe in it, else fp32)",
    )
    parser.add_argument(
        "--max-side",
        type=int_range(MAX_SIDE.lo, MAX_SIDE.hi),
        default=MAX_SIDE.default,
        metavar="N",
        help=f"longest side the model sees, in px ({MAX_SIDE.lo}-{MAX_SIDE.hi}; default: {MAX_SIDE.default})",
    )
    parser.add_argument(
        "--max-seconds",
        type=finite_float(0.05, 3600.0),
        default=None,
        metavar="S",
        help="time budget per hole window: lower the model resolution until the fill fits S seconds on this "
        "device (e.g. 0.5 for interactive use; default: no budget, --max-side only)",
    )
    parser.add_argument(
        "--edge-blend",
        type=int_range(EDGE_BLEND.lo, EDGE_BLEND.hi),
        default=EDGE_BLEND.default,
        metavar="PX",
        help="fade the fill into the image over PX pixels outside the mask (grows the changed area; "
        "the mask itself is always replaced completely; default 0 = none)",
    )
    parser.add_argument(
        "--flow-out", type=Path, metavar="FLOW.png", help="also write the attention-flow image"
    )
    parser.add_argument(
        "--png-compression",
        type=int,
        choices=range(10),
        default=None,
        metavar="0-9",
        help="PNG output: zlib level; 1-3 fast (default 1), 4-9 smaller on flat graphics but slower",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    add_restore_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from inpaint_core.errors import InpaintError

    if args.engine is None:  # a weights file asks for DeepFill; else the editor's default
        args.engine = DEEPFILL if args.weights is not None else default_engine()

    batch = args.images is not None or args.masks is not None
    if (args.mask is not None or args.masks is not None) and args.auto_scratches:
        raise InpaintError("give masks or --auto-scratches, not both")
    if args.auto_scratches:
        resolve_scratch_method(args)  # a missing learned detector: one line, before any work
    if batch:
        if args.images is None or (args.masks is None and not args.auto_scratches):
            raise InpaintError("batch mode needs --images DIR and --masks DIR (or --auto-scratches)")
        if args.image is not None or args.mask is not None:
            raise InpaintError("give either IMAGE --mask MASK or --images DIR --masks DIR, not both")
        if args.guide or args.forbid or args.flow_out:
            raise InpaintError("--guide, --forbid and --flow-out work with a single image only")
        return _run_batch(args)
    if args.image is None or (args.mask is None and not args.auto_scratches):
        raise InpaintError("give an IMAGE and --mask MASK or --auto-scratches (or --images DIR --masks DIR)")
    return _run_single(args)


def _request(args: argparse.Namespace, pixels: Any, mask: Any, guide: Any = None, forbid: Any = None) -> Any:
    from inpaint_core.api import InpaintRequest

    return InpaintRequest(
        image=pixels,
        mask=mask,
        guide=guide,
        forbid=forbid,
        engine=args.engine,
        device=args.device,
        precision=args.precision,
        max_side=args.max_side,
        max_seconds=args.max_seconds,
        edge_blend=args.edge_blend,
        weights=args.weights,
        tone=args.tone,
        patch_radius=args.patch_radius,
    )


def _png(args: argparse.Namespace) -> dict[str, int]:
    """save_image's PNG option when given (else its default, image_io.PNG_COMPRESSION)."""
    return {} if args.png_compression is None else {"png_compression": args.png_compression}


def _run_single(args: argparse.Namespace) -> int:
    from inpaint_core.engine import InpaintEngine
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_io import check_output_path, load_image, load_mask, save_image

    check_output_path(args.output, args.force)
    check_restore_outputs(args, args.output)
    if args.flow_out is not None:
        if args.engine not in SOURCE_MAP_ENGINES:
            raise InpaintError(
                f"--flow-out needs --engine {', '.join(SOURCE_MAP_ENGINES)} ({args.engine} keeps no sources)"
            )
        if _same_file(args.flow_out, args.output):
            raise InpaintError(
                f"--flow-out and -o are the same file ({args.output}); give the flow image its own name"
            )
        check_output_path(args.flow_out, args.force)
    loaded = load_image(args.image)
    shape = loaded.pixels.shape
    mask = proposed_mask(args, loaded.pixels) if args.auto_scratches else load_mask(args.mask, shape)
    guide = load_mask(args.guide, shape, "guide") if args.guide else None
    forbid = load_mask(args.forbid, shape, "forbid mask") if args.forbid else None

    start = time.perf_counter()
    request = _request(args, loaded.pixels, mask, guide, forbid)
    with _progress_bar() as progress:
        result = InpaintEngine().run(request, progress)
    elapsed = time.perf_counter() - start
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    save_result(args, args.output, loaded, request, result, **_png(args))
    if args.flow_out is not None:
        if result.attention is None:
            print("note: nothing was filled, so no flow image was written", file=sys.stderr)
        else:
            height, width = shape[:2]
            save_image(args.flow_out, result.attention.flow_rgba(height, width), overwrite=args.force)
    windows = len(result.windows)
    facts = [
        f"{windows} window{'s' if windows != 1 else ''}",
        result.model_size_text(),
        scratch_note(args),
        f"{elapsed:.2f} s",
    ]
    print(f"wrote {args.output} ({', '.join(f for f in facts if f)})")
    return 0


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[str, float], None]]:
    """A percentage bar on a terminal's stderr that names the stage; the engine's fraction advances window by
    window (tile by tile for thin holes), so a fill of many windows shows where it is. Off in pipes, and
    closed before any error line is printed."""
    from tqdm import tqdm

    bar = tqdm(
        total=100,
        desc="inpaint",
        unit="%",
        file=sys.stderr,
        disable=None,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}]",
    )

    def progress(stage: str, fraction: float) -> None:
        bar.set_postfix_str(stage, refresh=False)
        bar.update(max(0, round(100 * fraction) - bar.n))

    try:
        yield progress
    finally:
        bar.close()


def _same_file(a: Path, b: Path) -> bool:
    """True when two output paths name one file (also through links, or by case on a case-blind disk)."""
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet: compare the names
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _list_images(folder: Path) -> list[Path]:
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_io import IMAGE_EXTENSIONS

    if not folder.is_dir():
        raise InpaintError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _run_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inpaint_core.engine import InpaintEngine
    from inpaint_core.errors import DeviceError, InpaintError, WeightsError
    from inpaint_core.image_io import check_output_path, check_writable, load_image, load_mask

    images = _list_images(args.images)
    masks: dict[str, list[Path]] = {}
    for path in _list_images(args.masks) if args.masks is not None else []:
        masks.setdefault(path.stem, []).append(path)
    out_dir: Path = args.output
    if out_dir.exists() and not out_dir.is_dir():
        raise InpaintError(f"{out_dir}: the batch output must be a folder")
    if not images:
        raise InpaintError(f"{args.images}: no images found")
    planned = plan_batch_outputs(args, images, out_dir)  # before any work: no two images write one file
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    check_writable(out_dir)  # the same for every image: say it once, before the first fill

    engine = InpaintEngine()
    filled = failed = empty = 0

    def report(name: str, message: str) -> None:
        tqdm.write(f"error: {name}: {message}", file=sys.stderr)

    # Closed (by the with) before a fatal error is printed; off when stderr is not a terminal (disable=None),
    # so a log or a pipe gets the error and summary lines, not bar renders.
    bar = tqdm(images, desc="inpaint", unit="image", file=sys.stderr, disable=None)
    with bar:
        for image_path in bar:
            candidates = masks.get(image_path.stem, [])
            if len(candidates) != 1 and not args.auto_scratches:
                why = "no mask" if not candidates else f"{len(candidates)} masks"
                report(image_path.name, f"{why} named {image_path.stem}.* in {args.masks}; skipped")
                failed += 1
                continue
            out_path = planned[image_path]
            try:
                check_output_path(out_path, args.force)
                check_restore_outputs(args, out_path)
                loaded = load_image(image_path)
                if args.auto_scratches:
                    mask = proposed_mask(args, loaded.pixels)
                else:
                    mask = load_mask(candidates[0], loaded.pixels.shape)
                request = _request(args, loaded.pixels, mask)
                result = engine.run(request)
                save_result(args, out_path, loaded, request, result, **_png(args))
            except (WeightsError, DeviceError):
                raise  # the same for every image: stop rather than report it once per image
            except InpaintError as exc:
                report(image_path.name, with_advice(str(exc), exc))
                failed += 1
                continue
            if result.note.startswith("empty mask"):
                empty += 1
            filled += 1
    for stem in sorted(set(masks) - {p.stem for p in images}):
        tqdm.write(f"note: mask {masks[stem][0].name} has no image; ignored", file=sys.stderr)
    copied = f" ({empty} with an empty mask, copied)" if empty else ""
    note = scratch_note(args)
    print(
        f"batch: {filled} written{copied}, {failed} failed, of {len(images)} images -> {out_dir}"
        + (f" ({note})" if note else "")
    )
    return 1 if failed else 0
