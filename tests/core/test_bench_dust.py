"""`bench dust`: many specks on a photo through the engine, the time and the model passes per engine."""

from __future__ import annotations

import pytest

from inpaint_core.cli import main as cli_main


def test_bench_dust_prints_one_line_per_engine(capsys: pytest.CaptureFixture[str]) -> None:
    """Many specks share one window: one model pass for DeepFill, none for Navier-Stokes."""
    argv = ["bench", "dust", "--photo", "320x240", "--dots", "60", "--runs", "1"]
    assert cli_main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[2].split(":")[0].strip() for line in lines] == ["deepfill", "ns"]
    assert "1 window(s), 1 model pass(es)" in lines[0] and "0 model pass(es)" in lines[1]
