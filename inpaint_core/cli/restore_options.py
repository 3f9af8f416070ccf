"""The restoration and provenance options of `inpaint` (kept apart so `cli/inpaint.py` only hooks them in).

    --auto-scratches        fill the damage `detect-scratches` proposes instead of a --mask / --masks
    --sensitivity S, --max-width PX   the detector's settings (as in detect-scratches)
    --scratch-method auto|learned|classical   which detector (detect-scratches' --method; default auto)
    --provenance            also write the sidecar folder `<output stem>.provenance/` (restore/provenance.py)
    --tone auto|off         keep a grey or toned (sepia) photo's fill in its tone (default auto)

With --auto-scratches the proposed mask is written beside each result as `<output stem>.mask.png`, so it can be
checked (and edited, then used with --mask). Every saved result that has filled pixels carries a short note
(PNG text, XMP) saying so, naming the sidecar when one is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from inpaint_core.api import TONE_MODES
from inpaint_core.cli.scratches import add_detection_options, add_method_option, describe_method, mask_pixels

MASK_SUFFIX = ".mask.png"


def add_restore_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("restoration and provenance")
    group.add_argument(
        "--auto-scratches",
        action="store_true",
        help="fill the scratches and dust that detect-scratches proposes (instead of --mask/--masks); "
        "the mask is written beside each result as <name>.mask.png",
    )
    add_detection_options(group)  # type: ignore[arg-type]
    add_method_option(group, "--scratch-method")  # type: ignore[arg-type]
    group.add_argument(
        "--provenance",
        action="store_true",
        help="also write <output name>.provenance/: the filled-pixel map, each fill's region, the attention "
        "flow, the source-reuse heat map and provenance.json",
    )
    group.add_argument(
        "--tone",
        choices=TONE_MODES,
        default="auto",
        help="auto (default): a grey or toned (sepia, cyanotype) photo's fill keeps its tone; off: as filled",
    )


def mask_path_for(output: Path) -> Path:
    """Where the proposed mask of `output` goes: beside it, `<stem>.mask.png`."""
    return output.with_name(output.stem + MASK_SUFFIX)


def outputs_of(args: argparse.Namespace, output: Path) -> list[Path]:
    """Every path that writing `output` with these options may create: the result, its mask, its sidecar."""
    from inpaint_core.restore.provenance import sidecar_path

    paths = [output]
    if args.auto_scratches:
        paths.append(mask_path_for(output))
    if args.provenance:
        paths.append(sidecar_path(output))
    return paths


def plan_batch_outputs(args: argparse.Namespace, images: list[Path], out_dir: Path) -> dict[Path, Path]:
    """Each image's output in `out_dir`, planned before any work: InpaintError (one line) when two images would
    write the same file, such as `a.png` and `a.jpg` both writing `a.mask.png` and `a.provenance/`, or a photo
    named `x.mask.png` and the proposed mask of `x.png`."""
    from inpaint_core.errors import InpaintError

    owners: dict[str, Path] = {}
    plan: dict[Path, Path] = {}
    for image in images:
        output = out_dir / image.name
        for path in outputs_of(args, output):
            key = os.path.normcase(path.name)
            other = owners.setdefault(key, image)
            if other != image:
                raise InpaintError(
                    f"{other.name} and {image.name} would both write {path.name} in {out_dir}; "
                    "rename one of them or restore them in separate runs"
                )
        plan[image] = output
    return plan


def check_restore_outputs(args: argparse.Namespace, output: Path) -> None:
    """Fail before any work when an output that these options add cannot be written."""
    from inpaint_core.image_io import check_output_path
    from inpaint_core.restore.provenance import check_sidecar_path

    if args.auto_scratches:
        check_output_path(mask_path_for(output), args.force)
    if args.provenance:
        check_sidecar_path(output, args.force)


def resolve_scratch_method(args: argparse.Namespace) -> str:
    """With --auto-scratches: the detector --scratch-method means here ("learned" or "classical"), stored on
    `args` and said once; WeightsMissingError (one line) before any work when "learned" has no weights."""
    from inpaint_core.restore.detector import resolve_method

    args.scratch_detector = resolve_method(args.scratch_method)
    return str(args.scratch_detector)


def scratch_note(args: argparse.Namespace) -> str:
    """Names the detector in the printed lines ("" without --auto-scratches)."""
    detector = getattr(args, "scratch_detector", None)
    return f"scratches by the {describe_method(detector)}" if args.auto_scratches and detector else ""


def proposed_mask(args: argparse.Namespace, pixels: Any) -> Any:
    from inpaint_core.restore.detector import detect_damage

    method = getattr(args, "scratch_detector", None) or resolve_scratch_method(args)
    return detect_damage(pixels, args.sensitivity, args.max_width, method)


def save_result(
    args: argparse.Namespace, output: Path, loaded: Any, request: Any, result: Any, **save_options: Any
) -> None:
    """Write the result with its note, the proposed mask (--auto-scratches) and the sidecar (--provenance)
    together: all are staged, then renamed into place photo first, so a failure or a signal anywhere leaves
    none of them and a record never exists without its photo (`save_options` go to `save_image`)."""
    from inpaint_core.files import StagedOutputs
    from inpaint_core.image_io import save_image
    from inpaint_core.restore.provenance import (
        embedded_note,
        record_fill,
        sidecar_reference,
        write_sidecar,
    )

    shape = loaded.pixels.shape
    filled = bool((request.mask > 0).any())
    proposed_by = getattr(args, "scratch_detector", None) if args.auto_scratches else None
    fills = [record_fill(request, result, mask_proposed_by=proposed_by)] if filled else []
    text = xmp = None
    if filled:
        note = embedded_note(fills, sidecar_reference(output) if args.provenance else None, shape)
        text, xmp = note.text, note.xmp
    elif args.provenance:
        print(f"note: nothing was filled in {output.name}, so no provenance was written", file=sys.stderr)
    with StagedOutputs() as stage:
        save_image(
            output,
            result.image,
            exif=loaded.exif,
            icc=loaded.icc,
            overwrite=args.force,
            text=text,
            xmp=xmp,
            stage=stage,
            **save_options,
        )
        if args.auto_scratches:
            mask = mask_pixels(request.mask > 0)
            save_image(mask_path_for(output), mask, overwrite=args.force, stage=stage)
        if filled and args.provenance:
            write_sidecar(
                output,
                fills,
                shape=shape,
                original=loaded.pixels,
                result=result.image,
                overwrite=args.force,
                stage=stage,
            )
