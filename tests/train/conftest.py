"""Helpers of the training tests (also used by tests/cli/test_train.py): a tiny config (photo folders come from
tests/helpers/photos.py).

Qt-free: these tests also run with PySide6 absent (see tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

from inpaint_core.train.config import TrainConfig

TINY = {"size": 64, "batch": 2, "cnum": 8, "d_cnum": 8, "workers": 0, "val_count": 2, "log_every": 1}


def tiny_config(data: Path, **changes: object) -> TrainConfig:
    return TrainConfig(data=(str(data),), **{**TINY, **changes})  # type: ignore[arg-type]
