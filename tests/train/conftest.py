"""Helpers of the training tests (also used by tests/cli/test_train.py): a tiny photo folder and config.

Qt-free: these tests also run with PySide6 absent (see tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_core.train.config import TrainConfig

TINY = {"size": 64, "batch": 2, "cnum": 8, "d_cnum": 8, "workers": 0, "val_count": 2, "log_every": 1}


def make_photos(folder: Path, count: int = 5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        h, w = 72 + 8 * i, 96
        yy, xx = np.mgrid[0:h, 0:w]
        rgb = np.stack([(xx * 3 + 17 * i) % 256, (yy * 2) % 256, (xx + yy) % 256], -1).astype(np.uint8)
        rgb[10:30, 20 + i : 50 + i] = rng.integers(0, 255, 3)
        Image.fromarray(rgb).save(folder / f"p{i}.png")
    return folder


def tiny_config(data: Path, **changes: object) -> TrainConfig:
    return TrainConfig(data=(str(data),), **{**TINY, **changes})  # type: ignore[arg-type]
