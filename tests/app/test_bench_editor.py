"""The editor benchmark runs end to end and prints its figures."""

from __future__ import annotations

import re

from app import bench_editor


def test_bench_editor_prints_stroke_latency(qtbot, capsys):
    assert bench_editor.main(["--width", "640", "--height", "480", "--segments", "6"]) == 0
    out = capsys.readouterr().out
    for zoom in ("fit", "100%"):
        line = next(line for line in out.splitlines() if line.startswith(f"{zoom}:"))
        median = float(re.search(r"segment median ([\d.]+) ms", line).group(1))
        assert 0 < median < 10_000
        assert "over 6" in line
    assert "undo one stroke" in out
