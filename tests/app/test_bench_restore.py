"""The restoration benchmark runs end to end and prints its figures."""

from __future__ import annotations

import re
from typing import Any

from app import bench_restore


def test_bench_restore_prints_its_figures(qtbot: Any, capsys: Any) -> None:
    assert bench_restore.main(["--width", "320", "--height", "200", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("proposal shown", "one sensitivity step -> shown", "apply at full resolution -> mask step",
                  "tone check on open", "record one fill", "save PNG with note \\+ sidecar"):  # fmt: skip
        assert re.search(label + r"[^:]*: \d+ ms", out), label
    assert "warm-toned (sepia)" in out
    assert re.search(r"(learned|classical) detector: find scratches", out)


def test_bench_restore_names_the_learned_detector(qtbot: Any, capsys: Any, shipped_detector: Any) -> None:
    assert (
        bench_restore.main(["--width", "320", "--height", "200", "--repeats", "1", "--method", "learned"])
        == 0
    )
    assert "learned detector: find scratches -> proposal shown" in capsys.readouterr().out
