"""`python main.py train`: train DeepFill v2 with the guide channel, plus its helpers.

    python main.py train --data DIR|FILE.pack --out RUN_DIR [--preset NAME | --config FILE] [--steps N] [--size PX]
        [--batch B] [--resume | --warm CARRY_DIR] [--time-budget SECONDS] [--set KEY=VALUE ...] [--print-config]
    python main.py train pack --data DIR[,DIR...] -o FILE.pack [--size PX] [--quality Q]
    python main.py train pack-masks --data MASK_DIR -o FILE.pack [--size PX] [--count N]
    python main.py train export --out RUN_DIR [-o FILE.safetensors]
    python main.py train session --data FILE.pack --out OUT_DIR --time-budget SECONDS [--warm CARRY_DIR] ...
    python main.py train carry --data PATH[,PATH...]
    python main.py train scratches --out RUN_DIR [--time-budget SECONDS] [--warm FILE] (cli/train_scratches.py)

Multi-GPU / multi-node: `torchrun --nproc_per_node N main.py train ...` (docs/TRAINING.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from inpaint_core.cli.options import int_range
from inpaint_core.cli.relay import add_arguments as add_relay_arguments
from inpaint_core.errors import InpaintError

ACTIONS = ("run", "pack", "pack-masks", "export", "session", "carry", "relay", "scratches")


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="train the model (or: train pack / pack-masks / export / session / carry / relay)",
        description="Train DeepFill v2 (guide channel on) on photo folders or a .pack file. See docs/TRAINING.md.",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        default="run",
        help="run (default): train; pack: write a .pack of pre-sized photos; pack-masks: a mask pack of a "
        "folder's training masks; export: fp16 weights of a run; session: one self-contained GPU call "
        "(probe, train to the budget, carry set to --out); carry: the size of a device call's carry; "
        "relay start|status|stop|finish|ship: the background CPU training relay and shipping its weights; "
        "scratches: the learned scratch-and-dust detector",
    )
    add_relay_arguments(parser)
    parser.add_argument("--data", help="photo folders and/or .pack files, comma separated")
    parser.add_argument("--out", help="run folder (checkpoints, config.json, metrics, samples, export)")
    parser.add_argument("-o", "--output", help="pack: the .pack to write; export: weights file to write")
    parser.add_argument("--preset", help="a named recipe: published (default), phase1, phase2 (presets.py)")
    parser.add_argument("--config", help="training config JSON (defaults: the published recipe)")
    parser.add_argument("--steps", type=int_range(0), help="train until this step")
    parser.add_argument("--size", type=int_range(8), help="crop size in pixels (multiple of 8; default 256)")
    parser.add_argument("--batch", type=int_range(1), help="batch per process (default 16)")
    parser.add_argument("--val", help="folder of held-out photos (default: a seeded split of --data)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    parser.add_argument(
        "--warm", help="start from a carry set (G.safetensors, G_ema..., D...): weights and counters only"
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop, checkpoint and export before this many seconds have passed since the command started",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field, e.g. --set lr=2e-4 --set workers=8 (repeatable)",
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--overwrite", action="store_true", help="pack: replace an existing output file")
    parser.add_argument(
        "--quality", type=int, default=92, help="pack: JPEG quality (default 92; 85 to carry)"
    )
    parser.add_argument("--count", type=int, help="pack-masks: keep this many masks, evenly spread")
    parser.add_argument(
        "--probe-batches", default="32,64,128", help="session: batch sizes to time first (empty: none)"
    )
    parser.add_argument("--probe-seconds", type=float, default=45.0, help="session: time for all probes")
    parser.add_argument("--run-dir", help="session: run folder for checkpoints (default: a temp folder)")
    parser.add_argument(
        "--speed",
        action="store_true",
        help="session: bench speed on the device first (512², fp32/bf16/fp16), into summary.json",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=10.0,
        help="seconds kept free before the time budget ends (default 10)",
    )
    parser.set_defaults(run=run)
    return parser


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _config_from_args(args: argparse.Namespace) -> Any:
    from inpaint_core.train.config import ConfigError, TrainConfig, parse_overrides
    from inpaint_core.train.presets import preset_config

    run_dir = Path(args.out)
    if args.config and args.preset:
        raise ConfigError("--config and --preset each give a whole recipe; pass one of them")
    if args.config:
        config = TrainConfig.load(args.config)
    elif args.preset:
        config = preset_config(args.preset)
    elif args.resume and (run_dir / "config.json").is_file():
        config = TrainConfig.load(run_dir / "config.json")
    else:
        config = TrainConfig()
    changes: dict[str, Any] = {}
    if args.data:
        changes["data"] = _split(args.data)
    for key in ("steps", "size", "batch", "val"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    changes |= parse_overrides(args.set)
    config = config.replace(**changes) if changes else config
    if not config.data:
        raise ConfigError("no training data: pass --data DIR[,DIR...] or a .pack file")
    return config


def _run_pack(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inpaint_core.train.data import list_photos
    from inpaint_core.train.pack import write_pack

    if not args.data or not args.output:
        raise InpaintError("train pack needs --data DIR[,DIR...] and -o FILE.pack")
    photos = list_photos(_split(args.data))
    with tqdm(total=len(photos), desc="pack", unit="photo") as bar:
        header = write_pack(
            photos,
            args.output,
            size=args.size or 256,
            quality=args.quality,
            overwrite=args.overwrite,
            progress=lambda done, total: bar.update(done - bar.n),
        )
    mb = Path(args.output).stat().st_size / 1e6
    print(
        f"wrote {args.output}: {len(header.entries)} photos, short side {header.short_side} px, {mb:.1f} MB"
    )
    return 0


def _run_pack_masks(args: argparse.Namespace) -> int:
    import numpy as np

    from inpaint_core.hole_masks import list_training_masks
    from inpaint_core.train.pack import write_mask_pack

    if not args.data or not args.output:
        raise InpaintError("train pack-masks needs --data MASK_DIR and -o FILE.pack")
    files = list_training_masks(args.data)  # never the held-out benchmark masks (index % 4 == 0)
    if args.count is not None:
        if args.count <= 0:
            raise InpaintError(f"--count must be positive, got {args.count}")
        picks = np.linspace(0, len(files) - 1, min(args.count, len(files))).round().astype(int)
        files = [files[i] for i in sorted(set(picks.tolist()))]
    header = write_mask_pack(files, args.output, size=args.size or 256, overwrite=args.overwrite)
    mb = Path(args.output).stat().st_size / 1e6
    print(f"wrote {args.output}: {len(header.entries)} training masks at {header.size} px, {mb:.1f} MB")
    return 0


def _run_carry(args: argparse.Namespace) -> int:
    from inpaint_core.train.session import CARRY_LIMIT_BYTES, carry_budget

    rows = carry_budget(Path.cwd(), [Path(p) for p in _split(args.data or "")])
    total = sum(size for _, size in rows)
    for name, size in rows:
        print(f"{size / 2**20:8.2f} MiB  {name}")
    verdict = "fits" if total <= CARRY_LIMIT_BYTES else "does NOT fit"
    print(
        f"{total / 2**20:8.2f} MiB  total: {verdict} the {CARRY_LIMIT_BYTES >> 20} MiB a device call carries"
    )
    return 0 if total <= CARRY_LIMIT_BYTES else 2


def _run_session(args: argparse.Namespace, started: float) -> int:
    from inpaint_core.train.session import SessionOptions, run_session
    from inpaint_core.train.session_speed import session_speed_config

    if not args.out or args.time_budget is None:
        raise InpaintError("train session needs --out DIR and --time-budget SECONDS")
    if args.resume:
        raise InpaintError("train session starts from --warm weights, not --resume")
    config = _config_from_args(args)
    probes = tuple(int(b) for b in _split(args.probe_batches))
    options = SessionOptions(
        out=Path(args.out),
        time_budget_s=args.time_budget,
        warm=Path(args.warm) if args.warm else None,
        probe_batches=probes,
        probe_seconds=args.probe_seconds,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        device=args.device,
        margin_s=args.margin,
        speed=session_speed_config(args.device) if args.speed else None,
    )
    run_session(config, options, started, lambda line: print(line, flush=True))
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from inpaint_core.train.loop import export_run

    if not args.out:
        raise InpaintError("train export needs --out RUN_DIR")
    path = export_run(Path(args.out), Path(args.output) if args.output else None)
    print(f"exported {path}")
    return 0


def _run_train(args: argparse.Namespace, started: float) -> int:
    from tqdm import tqdm

    from inpaint_core.train.loop import train

    if not args.out:
        raise InpaintError("train needs --out RUN_DIR")
    config = _config_from_args(args)
    if args.print_config:
        print(config.to_json())
        return 0
    if args.time_budget is not None and args.time_budget <= 0:
        raise InpaintError(f"--time-budget must be positive, got {args.time_budget}")
    is_main = int(os.environ.get("RANK", "0")) == 0
    budget = args.time_budget
    # A time-budgeted run ends at its deadline, not at `steps` (10M in the presets): the bar counts seconds.
    total, unit = (round(budget), "s") if budget is not None else (config.steps, "step")
    # The bar starts at the first step: the data, weights and device are checked before it, so an error there
    # is one line with no bar render before it (also in piped stderr). Closed before any error is printed.
    bars: list[Any] = []

    def progress(step: int, row: dict[str, float]) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="train", unit=unit, disable=not is_main, dynamic_ncols=True))
        bar = bars[0]
        bar.update((min(total, round(time.monotonic() - started)) if budget is not None else step) - bar.n)
        if row:
            shown = {
                "step": "step",
                "samples/s": "samples_per_s",
                "g": "g_loss",
                "d": "d_loss",
                "psnr": "val_psnr",
            }
            bar.set_postfix({k: f"{row[v]:.3g}" for k, v in shown.items() if v in row}, refresh=False)

    deadline = started + args.time_budget if args.time_budget is not None else None
    try:
        result = train(
            config,
            args.out,
            resume=args.resume,
            device=args.device,
            progress=progress,
            deadline=deadline,
            warm=args.warm,
            margin_s=args.margin,
        )
    finally:
        for bar in bars:
            bar.close()
    if is_main:
        stop = "; stopped by the time budget" if result.stopped_early else ""
        print(
            f"step {result.step} ({result.samples} samples): {result.samples_per_s:.2f} samples/s{stop}; "
            f"run folder {result.run_dir}"
        )
        if result.compile_error:
            print(f"torch.compile failed, trained eagerly: {result.compile_error}")
        if result.export is not None:
            print(f"exported {result.export}")
    return 0


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()  # a --time-budget counts from here (before torch is imported)
    if args.action == "pack":
        return _run_pack(args)
    if args.action == "pack-masks":
        return _run_pack_masks(args)
    if args.action == "export":
        return _run_export(args)
    if args.action == "carry":
        return _run_carry(args)
    if args.action == "session":
        return _run_session(args, started)
    if args.action == "scratches":
        from inpaint_core.cli.train_scratches import run as run_scratches

        return run_scratches(args)
    if args.action == "relay":
        from inpaint_core.cli.relay import run as run_relay

        return run_relay(args)
    return _run_train(args, started)


if __name__ == "__main__":  # pragma: no cover
    from inpaint_core.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
