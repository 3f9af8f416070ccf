"""`bench train`: the old and new training paths timed in one run, with the last line the issue asks for."""

from __future__ import annotations

import re

import pytest

from inpaint_core.cli import main as cli_main
from inpaint_core.train.step_speed import training_gflop


def test_training_flops_grow_with_the_pixels() -> None:
    small, large = training_gflop(32, 1, 8), training_gflop(64, 1, 8)
    assert small > 0 and 3.0 < large / small < 5.0  # about 4x the pixels; attention adds a little more


@pytest.mark.slow
def test_bench_train_prints_both_paths_and_the_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "train", "--shapes", "32x2", "--rounds", "1", "--precision", "fp32"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = [line for line in out if line.startswith("| 32 | 2 |")]
    assert [row.split("|")[3].strip() for row in rows] == ["old", "new"]
    match = re.fullmatch(r"train_samples_per_s=([0-9.]+) train_efficiency=([0-9.]+)", out[-1])
    assert match is not None and float(match.group(1)) > 0 and 0 < float(match.group(2)) < 1


def test_bench_speed_training_row_runs_or_says_why_not() -> None:
    from inpaint_core.bench.speed import SpeedConfig, SpeedReport
    from inpaint_core.train.step_speed import add_train_rate

    skipped = SpeedReport("cpu", "test", 1, "fp32", {})
    add_train_rate(skipped, SpeedConfig())
    assert skipped.train_samples_per_s is None and "training throughput skipped" in skipped.notes[0]

    timed = SpeedReport("cpu", "test", 1, "fp32", {})
    add_train_rate(timed, SpeedConfig(train_steps=1, train_batch=1), size=32)
    assert timed.notes == [] and timed.train_samples_per_s is not None and timed.train_samples_per_s > 0
