"""`python main.py train scratches`: train the learned scratch-and-dust detector (docs/TRAINING.md).

    python main.py train scratches --out RUN_DIR [--data DIR|FILE.pack,...] [--val DIR] [--time-budget SECONDS]
        [--warm DETECTOR.safetensors] [--set KEY=VALUE ...]

Writes RUN_DIR/scratch_detector.safetensors (fp16, with its calibrated default threshold), the carry files
scratch_ema/scratch_last.safetensors and scratch_curve.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from inpaint_core.errors import InpaintError

DEFAULT_DATA = "../shared/data/train"
DEFAULT_VAL = "../shared/data/eval"
DEFAULT_SECONDS = 3000.0


def run(args: argparse.Namespace) -> int:
    from inpaint_core.image_io import load_rgb8
    from inpaint_core.train.data import list_photos
    from inpaint_core.train.scratch import config_with, gather_photos, train_detector

    if not args.out:
        raise InpaintError("train scratches needs a run folder (--out)")
    out = Path(args.out)
    config = config_with(args.set)
    sources = [s.strip() for s in (args.data or DEFAULT_DATA).split(",") if s.strip()]
    photos = gather_photos(sources, out)
    val = [load_rgb8(p) for p in list_photos([args.val or DEFAULT_VAL])]
    seconds = args.time_budget if args.time_budget is not None else DEFAULT_SECONDS
    print(f"scratch detector: {len(photos)} training photos, {len(val)} validation photos, {seconds:.0f} s")

    def progress(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    warm = Path(args.warm) if args.warm else None
    train_detector(photos, val, out, seconds, config, warm=warm, progress=progress)
    return 0
