"""`python main.py bench quality|speed|files|scratches`: fill quality per mask-ratio bin, speed/FLOPs/efficiency,
the time of loading, saving and pasting a large photo, and scratch detection's precision/recall.

    python main.py bench quality --images DIR --masks DIR [--size 256] [--engines deepfill,telea,ns]
                                 [--bins 1,3,5] [--count N] [--seed S] [--weights W] [--guide-edges] [--raw]
                                 [--precision fp32|bf16] [--max-side N]
    python main.py bench speed [--device cpu|cuda] [--sizes 256,512] [--precision fp32,bf16] [--runs N]
                               [--warmup N] [--attention] [--interactive-options]
    python main.py bench scratches [--images DIR] [--count N] [--method learned|classical|both] [--weights FILE]
                                   [--plot PR.png] [--sensitivity 0.5] [--max-width PX]
    python main.py bench files [--runs N] [--photo WxH] [--holes N] [--no-deepfill] [--no-cli]
                               [--compare-with OLD_CHECKOUT]

Tables go to stdout (markdown), progress to stderr. The speed benchmark's last line is machine-readable:
`efficiency=<ratio> interactive_s=<seconds>`. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inpaint_core.api import ENGINES, MAX_SIDE, PRECISIONS
from inpaint_core.cli.options import int_range
from inpaint_core.errors import InpaintError

_SHARED = "../shared/data"


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _photo(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    try:
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="benchmarks: quality (hole PSNR/L1/SSIM) or speed (latency, FLOPs, efficiency)",
        description="Benchmarks. See docs/BENCHMARKS.md for the protocol and the published tables.",
    )
    actions = parser.add_subparsers(dest="bench_action", required=True)

    q = actions.add_parser("quality", help="hole PSNR / L1 / SSIM per NVIDIA mask-ratio bin")
    q.add_argument("--images", default=f"{_SHARED}/eval", help="evaluation photos (recursive)")
    q.add_argument("--masks", default=f"{_SHARED}/masks/nvidia_irregular", help="NVIDIA irregular masks")
    q.add_argument(
        "--size", type=int_range(8), default=256, help="square evaluation size in pixels (default 256)"
    )
    q.add_argument("--engines", type=_names, default=ENGINES, help="comma separated")
    q.add_argument(
        "--bins",
        type=_ints,
        default=(1, 3, 5),
        help="mask-ratio bins: 0 = 1-10%%, 1 = 10-20%%, ..., 5 = 50-60%% (default 1,3,5)",
    )
    q.add_argument("--count", type=int_range(1), help="pairs per bin (default: the number of images)")
    q.add_argument("--seed", type=int, default=0, help="seed of the image/mask pairing (default 0)")
    q.add_argument("--weights", help="DeepFill weights (default: the shipped ones; skipped if none)")
    q.add_argument("--device", default="auto", help="device for deepfill (default auto)")
    q.add_argument(
        "--guide-edges",
        action="store_true",
        help="also run deepfill with the guide channel fed the ground truth's edges",
    )
    q.add_argument(
        "--raw",
        action="store_true",
        help="also score deepfill's raw output, without seam matching (the row deepfill-raw)",
    )
    q.add_argument(
        "--edge-blend",
        type=int,
        metavar="PX",
        help="override the request's default edge blend (default: the default request, what users get)",
    )
    q.add_argument(
        "--precision",
        choices=[p for p in PRECISIONS if p != "auto"],
        help="deepfill precision (default: the request's); compare runs to measure a reduced precision's PSNR loss",
    )
    q.add_argument(
        "--max-side",
        type=int_range(MAX_SIDE.lo, MAX_SIDE.hi),
        help="deepfill sees each window resized to this longer side (default: the request's)",
    )
    q.set_defaults(run=run_quality_cmd)

    f = actions.add_parser(
        "figure", help="comparison picture: input | Telea | DeepFill | with sketch | original"
    )
    f.add_argument("--images", default=f"{_SHARED}/eval", help="evaluation photos (recursive)")
    f.add_argument(
        "--masks",
        default=f"{_SHARED}/masks/nvidia_irregular",
        help="NVIDIA irregular masks, or 'generated': seeded free-form masks (nothing from the NVIDIA set)",
    )
    f.add_argument("--weights", help="DeepFill weights with a guide channel (default: the shipped ones)")
    f.add_argument("--count", type=int_range(1), default=8, help="rows (default 8)")
    f.add_argument(
        "--bin", type=int_range(0, 5), default=3, help="NVIDIA mask-ratio bin (default 3: 30-40%%)"
    )
    f.add_argument("--size", type=int_range(8), default=256, help="tile size in pixels (default 256)")
    f.add_argument("--seed", type=int, default=0, help="seed of the image/mask pairing (default 0)")
    f.add_argument("--device", default="auto", help="device for deepfill (default auto)")
    f.add_argument("-o", "--output", required=True, help="PNG to write")
    f.add_argument("--force", action="store_true", help="replace an existing output file")
    f.set_defaults(run=run_figure_cmd)

    sc = actions.add_parser(
        "scratches", help="scratch detection, learned vs classical: precision/recall on synthetic damage"
    )
    sc.add_argument("--images", default=f"{_SHARED}/eval", help="clean photos to damage (recursive)")
    sc.add_argument("--count", type=int_range(1), help="use the first N photos (default: all)")
    sc.add_argument(
        "--method",
        choices=("learned", "classical", "both"),
        help="detectors to compare (default: both when learned weights are installed or given, else classical)",
    )
    sc.add_argument(
        "--weights",
        metavar="FILE",
        help="a learned detector weights file to bench instead of the shipped one (implies the learned detector)",
    )
    sc.add_argument("--plot", metavar="PNG", help="also draw the precision-recall curves into this PNG")
    sc.add_argument("--force", action="store_true", help="replace an existing --plot file")
    sc.add_argument(
        "--sensitivity",
        type=_floats,
        default=(0.5,),
        help="the table's columns, comma separated (default 0.5: each detector's default; the curve sweeps "
        "the whole range)",
    )
    sc.add_argument("--max-width", type=int, default=8, help="detector's max width in px (default 8)")
    sc.add_argument("--seed", type=int, default=0, help="seed of the damage (default 0)")
    sc.add_argument("--no-textures", action="store_true", help="skip the generated-texture rows")
    sc.add_argument("--no-held-out", action="store_true", help="skip the held-out style damage rows")
    sc.add_argument("--no-speed", action="store_true", help="skip the 6 MP timing")
    sc.set_defaults(run=run_scratches_cmd)

    s = actions.add_parser("speed", help="forward latency, FLOPs, efficiency, peak memory, 12 MP path")
    s.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    s.add_argument("--sizes", type=_ints, help="square sizes (default 256,512 on CPU, 256,512,1024 on CUDA)")
    s.add_argument(
        "--precision",
        type=_names,
        help="fp32,bf16,fp16 (default: fp32, plus bf16 where the CPU has native bf16; all three on CUDA)",
    )
    s.add_argument(
        "--runs", type=int_range(1), default=5, help="timed runs per measurement (median reported)"
    )
    s.add_argument("--warmup", type=int_range(0), default=1, help="untimed runs first (default 1)")
    s.add_argument("--matmul-n", type=int_range(1), default=2048, help="side of the square matmul peak test")
    s.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    s.add_argument("--photo", type=_photo, default=(4000, 3000), help="interactive path photo WxH")
    s.add_argument("--hole", type=int_range(1), default=200, help="interactive path hole side in pixels")
    s.add_argument(
        "--train-steps",
        type=int_range(0),
        help="timed training steps at 256x256 (default 5 on CUDA, 0 = skip on CPU)",
    )
    s.add_argument(
        "--train-batch", type=int_range(1), default=8, help="training batch for the throughput figure"
    )
    s.add_argument("--attention", action="store_true", help="also time contextual attention alone per size")
    s.add_argument(
        "--interactive-options",
        action="store_true",
        help="also time the ways to a 0.5 s fill: lower max sides, the device budget, cnum 24, coarse preview",
    )
    s.set_defaults(run=run_speed_cmd)

    fl = actions.add_parser("files", help="load, save, paste and CLI times on a made-up 24 MP photo")
    fl.add_argument("--runs", type=int, default=3, help="repetitions per figure (median reported)")
    fl.add_argument("--photo", type=_photo, default=(6000, 4000), help="load/save/stroke photo WxH")
    fl.add_argument("--holes-photo", type=_photo, default=(4000, 3000), help="many-holes photo WxH")
    fl.add_argument("--holes", type=int, default=1000, help="small holes in that photo (default 1000)")
    fl.add_argument("--no-deepfill", action="store_true", help="skip the DeepFill stroke row")
    fl.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI row")
    fl.add_argument(
        "--compare-with",
        metavar="CHECKOUT",
        help="also time another checkout (a folder with inpaint_core/ and main.py), alternating runs: "
        "before/after medians and ratios",
    )
    fl.set_defaults(run=run_files_cmd)
    du = actions.add_parser("dust", help="many small specks on a large photo: time and model calls")
    du.add_argument("--photo", type=_photo, default=(4000, 3000), help="photo WxH (default 4000x3000)")
    du.add_argument("--dots", type=int_range(1), default=1000, help="specks of radius 1-3 px (default 1000)")
    du.add_argument("--runs", type=int_range(1), default=3, help="timed runs per engine (median reported)")
    du.add_argument("--weights", help="DeepFill weights (default: a random-init cnum-24 model, timing only)")
    du.set_defaults(run=run_dust_cmd)
    tr = actions.add_parser("train", help="training samples/s: the old step against the new, one run")
    tr.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    tr.add_argument(
        "--shapes", default="128x16,256x8", help="SIZExBATCH list (default the relay's: 128x16,256x8)"
    )
    tr.add_argument("--rounds", type=int_range(1), default=5, help="timed rounds per path (median reported)")
    tr.add_argument(
        "--precision", default="auto", choices=[p for p in PRECISIONS if p != "fp16"], help="default: auto"
    )
    tr.add_argument(
        "--no-heap-reuse",
        action="store_true",
        help="let glibc unmap freed memory as it does by default (training keeps it: train/heap.py)",
    )
    tr.set_defaults(run=run_train_cmd)
    parser.set_defaults(run=run)
    return parser


def run_dust_cmd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inpaint_core.bench.dust import time_dust

    width, height = args.photo
    runs = time_dust(args.photo, args.dots, args.runs, Path(args.weights) if args.weights else None)
    for r in runs:
        print(
            f"dust: {width}x{height}, {args.dots} specks, {r.engine}: {r.median_s:.2f} s (median of "
            f"{args.runs}), {r.windows} window(s), {r.model_calls} model pass(es)"
        )
    return 0


def run_train_cmd(args: argparse.Namespace) -> int:
    from inpaint_core.bench.speed import machine_name
    from inpaint_core.train.step_speed import format_report, run_train_speed

    try:
        shapes = tuple(_photo(item) for item in _names(args.shapes))
    except argparse.ArgumentTypeError as exc:
        raise InpaintError(f"--shapes: {exc}") from None
    report = run_train_speed(
        args.device,
        shapes,
        rounds=args.rounds,
        precision=args.precision,
        log=_log,
        heap_reuse=not args.no_heap_reuse,
    )
    print(format_report(report, machine_name()))
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch (argparse sets the action's own run; this is reached only without an action)."""
    print("error: choose an action: bench quality, speed, train, files, figure or scratches", file=sys.stderr)
    return 2


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_quality_cmd(args: argparse.Namespace) -> int:
    from inpaint_core.bench.quality import format_table, run_quality

    report = run_quality(
        args.images,
        args.masks,
        size=args.size,
        engines=args.engines,
        bins=args.bins,
        count=args.count,
        seed=args.seed,
        weights=args.weights,
        guide_edges=args.guide_edges,
        raw=args.raw,
        device=args.device,
        edge_blend=args.edge_blend,
        precision=args.precision,
        max_side=args.max_side,
        log=_log,
    )
    from inpaint_core.devices import resolve_device
    from inpaint_core.precision import resolve_precision

    # The precision DeepFill ran in: the request's "auto" resolves per device and weights (precision.py).
    precision = resolve_precision(args.precision or "auto", resolve_device(args.device), args.weights)
    model_side = f", model side {args.max_side}" if args.max_side else ""
    print(
        f"Quality: {report.images} images, {args.size}x{args.size}, seed {report.seed}, "
        f"deepfill in {precision}{model_side}, metrics inside the hole (mean over pairs)\n"
    )
    print(format_table(report))
    for note in report.notes:
        print(f"\nnote: {note}")
    return 0


def run_files_cmd(args: argparse.Namespace) -> int:
    from inpaint_core.bench.files import FilesConfig, format_report, run_files

    if args.runs < 1 or args.holes < 1:
        raise InpaintError("--runs and --holes must be at least 1")
    config = FilesConfig(
        runs=args.runs,
        photo=args.photo,
        holes_photo=args.holes_photo,
        holes=args.holes,
        deepfill=not args.no_deepfill,
        cli=not args.no_cli,
    )
    if args.compare_with:
        from pathlib import Path

        from inpaint_core.bench.files import compare_files, format_comparison

        before, after = compare_files(config, Path(args.compare_with), log=_log)
        print(format_comparison(before, after, config, args.compare_with))
        return 0
    print(format_report(run_files(config, log=_log), config))
    return 0


def run_figure_cmd(args: argparse.Namespace) -> int:
    from inpaint_core.bench.figure import comparison_grid
    from inpaint_core.image_io import save_image

    grid = comparison_grid(
        args.images,
        args.masks,
        weights=args.weights,
        count=args.count,
        mask_bin=args.bin,
        size=args.size,
        seed=args.seed,
        device=args.device,
    )
    save_image(args.output, grid, overwrite=args.force)
    print(f"wrote {args.output} ({grid.shape[1]}x{grid.shape[0]})")
    return 0


def scratch_methods(method: str | None, weights: str | None) -> tuple[str, ...]:
    """The detectors `bench scratches` runs: --method, or both when learned weights exist (given or shipped)."""
    from inpaint_core.restore.detector import resolve_method

    if method is None:
        method = "both" if weights is not None or resolve_method("auto") == "learned" else "classical"
    if method == "classical" and weights is not None:
        raise InpaintError("--weights is a learned detector file; use --method learned or both with it")
    return ("classical", "learned") if method == "both" else (method,)


def run_scratches_cmd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from inpaint_core.bench.scratches import (
        default_rows,
        format_report,
        load_photos,
        plot_curves,
        run_scratch_bench,
    )
    from inpaint_core.image_io import check_output_path, save_image

    methods = scratch_methods(args.method, args.weights)
    plot = Path(args.plot) if args.plot else None
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise InpaintError(f"{plot}: the plot is written as PNG; name it {plot.stem}.png")
        check_output_path(plot, args.force)
    photos = load_photos(args.images, args.count)
    report = run_scratch_bench(
        photos,
        methods=methods,
        weights=args.weights,
        sensitivities=args.sensitivity,
        max_width=args.max_width,
        seed=args.seed,
        rows=default_rows(held_out=not args.no_held_out),
        textures=not args.no_textures,
        speed=not args.no_speed,
        log=_log,
    )
    print(format_report(report))
    if plot is not None:
        save_image(plot, plot_curves(report), overwrite=args.force)
        _log(f"wrote {plot}")
    return 0


def run_speed_cmd(args: argparse.Namespace) -> int:
    import torch

    from inpaint_core.bench.speed import SpeedConfig, format_report, matmul_precisions, run_speed
    from inpaint_core.devices import resolve_device
    from inpaint_core.train.step_speed import add_train_rate

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    sizes = args.sizes or ((256, 512, 1024) if cuda else (256, 512))
    precisions = args.precision or tuple(matmul_precisions(device))
    train_steps = args.train_steps if args.train_steps is not None else (5 if cuda else 0)
    if args.runs < 1 or args.warmup < 0:
        raise InpaintError("--runs must be at least 1 and --warmup at least 0")
    config = SpeedConfig(
        device=args.device,
        sizes=tuple(sizes),
        precisions=tuple(precisions),
        runs=args.runs,
        warmup=args.warmup,
        matmul_n=args.matmul_n,
        memory=not args.no_memory,
        photo=args.photo,
        hole=args.hole,
        train_steps=train_steps,
        train_batch=args.train_batch,
        attention=args.attention,
        interactive_options=args.interactive_options,
    )
    report = run_speed(config, log=_log)
    add_train_rate(report, config, log=_log)
    print(format_report(report, config, torch.__version__))
    return 0
