"""`inpaint`: fill the holes of one image, or of a folder of images, from the command line.

One image:  python main.py inpaint IMAGE --mask MASK -o OUT [--guide G] [--forbid F] [--flow-out FLOW.png]
A folder:   python main.py inpaint --images DIR --masks DIR -o OUTDIR   (pairs matched by file stem)

Masks: white (any non-black) = hole. The output format follows the output's extension (png, jpg, webp, tif).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

# Kept here (not imported from the engine) so building the CLI parser does not import torch.
_ENGINES = ("deepfill", "telea", "ns")
_DEVICES = ("auto", "cpu", "cuda", "mps")
_PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # devices.PRECISIONS


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
        "--engine", choices=_ENGINES, default="deepfill", help="fill method (default: deepfill)"
    )
    parser.add_argument(
        "--weights", type=Path, help="DeepFill weights (.safetensors); default: the shipped ones"
    )
    parser.add_argument(
        "--device", choices=_DEVICES, default="auto", help="default: auto (CUDA, MPS, then CPU)"
    )
    parser.add_argument(
        "--precision",
        choices=_PRECISIONS,
        default="auto",
        help="default: auto (bf16 on CPUs with native bf16 once the weights are measured safe in it, else fp32)",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=512,
        metavar="N",
        help="longest side the model sees, in px (default: 512)",
    )
    parser.add_argument(
        "--feather", type=float, default=4.0, help="blend width inside the hole edge, px (default 4)"
    )
    parser.add_argument(
        "--flow-out", type=Path, metavar="FLOW.png", help="also write the attention-flow image"
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from inpaint_core.errors import InpaintError

    batch = args.images is not None or args.masks is not None
    if batch:
        if args.images is None or args.masks is None:
            raise InpaintError("batch mode needs both --images DIR and --masks DIR")
        if args.image is not None or args.mask is not None:
            raise InpaintError("give either IMAGE --mask MASK or --images DIR --masks DIR, not both")
        if args.guide or args.forbid or args.flow_out:
            raise InpaintError("--guide, --forbid and --flow-out work with a single image only")
        return _run_batch(args)
    if args.image is None or args.mask is None:
        raise InpaintError("give an IMAGE and --mask MASK (or --images DIR --masks DIR)")
    return _run_single(args)


def _request(args: argparse.Namespace, pixels: Any, mask: Any, guide: Any = None, forbid: Any = None) -> Any:
    from inpaint_core.engine import InpaintRequest

    return InpaintRequest(
        image=pixels,
        mask=mask,
        guide=guide,
        forbid=forbid,
        engine=args.engine,
        device=args.device,
        precision=args.precision,
        max_side=args.max_side,
        feather=args.feather,
        weights=args.weights,
    )


def _run_single(args: argparse.Namespace) -> int:
    from inpaint_core.engine import InpaintEngine
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_ops import check_output_path, load_image, load_mask, save_image

    check_output_path(args.output, args.force)
    if args.flow_out is not None:
        if args.engine != "deepfill":
            raise InpaintError("--flow-out needs --engine deepfill (classical fills have no attention)")
        check_output_path(args.flow_out, args.force)
    loaded = load_image(args.image)
    shape = loaded.pixels.shape
    mask = load_mask(args.mask, shape)
    guide = load_mask(args.guide, shape) if args.guide else None
    forbid = load_mask(args.forbid, shape) if args.forbid else None

    start = time.perf_counter()
    result = InpaintEngine().run(_request(args, loaded.pixels, mask, guide, forbid))
    elapsed = time.perf_counter() - start
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    save_image(args.output, result.image, exif=loaded.exif, icc=loaded.icc, overwrite=args.force)
    if args.flow_out is not None:
        if result.attention is None:
            print("note: nothing was filled, so no flow image was written", file=sys.stderr)
        else:
            height, width = shape[:2]
            save_image(args.flow_out, result.attention.flow_rgba(height, width), overwrite=args.force)
    windows = len(result.windows)
    print(f"wrote {args.output} ({windows} window{'s' if windows != 1 else ''}, {elapsed:.2f} s)")
    return 0


def _list_images(folder: Path) -> list[Path]:
    from inpaint_core.errors import InpaintError
    from inpaint_core.image_ops import IMAGE_EXTENSIONS

    if not folder.is_dir():
        raise InpaintError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _run_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inpaint_core.engine import InpaintEngine
    from inpaint_core.errors import DeviceError, InpaintError, WeightsError
    from inpaint_core.image_ops import check_output_path, load_image, load_mask, save_image

    images = _list_images(args.images)
    masks: dict[str, list[Path]] = {}
    for path in _list_images(args.masks):
        masks.setdefault(path.stem, []).append(path)
    out_dir: Path = args.output
    if out_dir.exists() and not out_dir.is_dir():
        raise InpaintError(f"{out_dir}: the batch output must be a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    if not images:
        raise InpaintError(f"{args.images}: no images found")

    engine = InpaintEngine()
    filled = failed = empty = 0

    def report(name: str, message: str) -> None:
        tqdm.write(f"error: {name}: {message}", file=sys.stderr)

    for image_path in tqdm(images, desc="inpaint", unit="image", file=sys.stderr):
        candidates = masks.get(image_path.stem, [])
        if len(candidates) != 1:
            why = "no mask" if not candidates else f"{len(candidates)} masks"
            report(image_path.name, f"{why} named {image_path.stem}.* in {args.masks}; skipped")
            failed += 1
            continue
        out_path = out_dir / image_path.name
        try:
            check_output_path(out_path, args.force)
            loaded = load_image(image_path)
            mask = load_mask(candidates[0], loaded.pixels.shape)
            result = engine.run(_request(args, loaded.pixels, mask))
            save_image(out_path, result.image, exif=loaded.exif, icc=loaded.icc, overwrite=args.force)
        except (WeightsError, DeviceError):
            raise  # the same for every image: stop rather than report it once per image
        except InpaintError as exc:
            report(image_path.name, str(exc))
            failed += 1
            continue
        if result.note.startswith("empty mask"):
            empty += 1
        filled += 1
    for stem in sorted(set(masks) - {p.stem for p in images}):
        tqdm.write(f"note: mask {masks[stem][0].name} has no image; ignored", file=sys.stderr)
    copied = f" ({empty} with an empty mask, copied)" if empty else ""
    print(f"batch: {filled} written{copied}, {failed} failed, of {len(images)} images -> {out_dir}")
    return 1 if failed else 0
