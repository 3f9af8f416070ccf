"""`python main.py train`: train DeepFill v2 with the guide channel; `train pack` builds a .pack; `train export`.

    python main.py train --data DIR[,DIR...] --out RUN_DIR [--config FILE] [--steps N] [--size PX] [--batch B] [--resume]
    python main.py train pack --data DIR[,DIR...] -o FILE.pack [--size PX]
    python main.py train export --out RUN_DIR [-o FILE.safetensors]

Multi-GPU / multi-node: `torchrun --nproc_per_node N main.py train ...` (docs/TRAINING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from inpaint_core.cli.options import int_range
from inpaint_core.errors import InpaintError


def add_parser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help="train the model (or: train pack / train export)",
        description="Train DeepFill v2 (guide channel on) on photo folders or a .pack file. See docs/TRAINING.md.",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=("run", "pack", "export"),
        default="run",
        help="run (default): train; pack: write a .pack of pre-sized photos; export: fp16 weights of a run",
    )
    parser.add_argument("--data", help="photo folders and/or .pack files, comma separated")
    parser.add_argument("--out", help="run folder (checkpoints, config.json, metrics, samples, export)")
    parser.add_argument("-o", "--output", help="pack: the .pack to write; export: weights file to write")
    parser.add_argument("--config", help="training config JSON (defaults: the published recipe)")
    parser.add_argument("--steps", type=int_range(0), help="train until this step")
    parser.add_argument("--size", type=int_range(8), help="crop size in pixels (multiple of 8; default 256)")
    parser.add_argument("--batch", type=int_range(1), help="batch per process (default 16)")
    parser.add_argument("--val", help="folder of held-out photos (default: a seeded split of --data)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field, e.g. --set lr=2e-4 --set workers=8 (repeatable)",
    )
    parser.add_argument("--overwrite", action="store_true", help="pack: replace an existing output file")
    parser.set_defaults(run=run)
    return parser


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    from inpaint_core.train.config import ConfigError, TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ConfigError(f"--set needs KEY=VALUE with a known config key, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key == "data":
            value = tuple(str(v) for v in value) if isinstance(value, list) else tuple(str(value).split(","))
        out[key] = value
    return out


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _config_from_args(args: argparse.Namespace) -> Any:
    from inpaint_core.train.config import ConfigError, TrainConfig

    run_dir = Path(args.out)
    if args.config:
        config = TrainConfig.load(args.config)
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
    changes |= _parse_overrides(args.set)
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
            overwrite=args.overwrite,
            progress=lambda done, total: bar.update(done - bar.n),
        )
    mb = Path(args.output).stat().st_size / 1e6
    print(
        f"wrote {args.output}: {len(header.entries)} photos, short side {header.short_side} px, {mb:.1f} MB"
    )
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from inpaint_core.train.loop import export_run

    if not args.out:
        raise InpaintError("train export needs --out RUN_DIR")
    path = export_run(Path(args.out), Path(args.output) if args.output else None)
    print(f"exported {path}")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inpaint_core.train.loop import train

    if not args.out:
        raise InpaintError("train needs --out RUN_DIR")
    config = _config_from_args(args)
    is_main = int(os.environ.get("RANK", "0")) == 0
    bar = tqdm(total=config.steps, desc="train", unit="step", disable=not is_main, dynamic_ncols=True)

    def progress(step: int, row: dict[str, float]) -> None:
        bar.update(step - bar.n)
        if row:
            shown = {"samples/s": "samples_per_s", "g": "g_loss", "d": "d_loss", "psnr": "val_psnr"}
            bar.set_postfix({k: f"{row[v]:.3g}" for k, v in shown.items() if v in row}, refresh=False)

    try:
        result = train(config, args.out, resume=args.resume, device=args.device, progress=progress)
    finally:
        bar.close()
    if is_main:
        print(f"step {result.step}: {result.samples_per_s:.2f} samples/s; run folder {result.run_dir}")
        if result.export is not None:
            print(f"exported {result.export}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "pack":
        return _run_pack(args)
    if args.action == "export":
        return _run_export(args)
    return _run_train(args)


if __name__ == "__main__":  # pragma: no cover
    from inpaint_core.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
