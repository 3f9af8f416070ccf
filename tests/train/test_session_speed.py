"""The fast lane's speed figures (issue #19, part 5): the CUDA-only lines of `bench speed` and `train session`
walked on the CPU with torch.cuda faked (tests/helpers/fake_cuda.py), the summary a session keeps, and the row
`train relay finish --carry` adds to docs/BENCHMARKS.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inpaint_core.bench.speed import (
    SpeedConfig,
    SpeedReport,
    SpeedRow,
    _gpu_options,
    build_model,
    cuda_forward_peak_mib,
    cuda_graph_latency,
)
from inpaint_core.errors import InpaintError
from inpaint_core.train import session_speed
from inpaint_core.train.session import environment
from inpaint_core.train.session_speed import SECTION, append_row, benchmarks_row, speed_summary
from tests.helpers import fake_cuda
from tests.train.test_train_session import session
from tests.train.tiny_pack import make_pack

TINY_SPEED = SpeedConfig(
    device="cpu",
    sizes=(32,),
    precisions=("fp32",),
    runs=1,
    warmup=0,
    matmul_n=128,
    memory=False,
    photo=(240, 160),
    hole=24,
    cnum=8,
)


def test_cuda_speed_lines_run_on_a_fake_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_cuda.install(monkeypatch)
    model = build_model(8, torch.device("cpu"))
    assert cuda_forward_peak_mib(model, 32, "fp32") == fake_cuda.FAKE_PEAK_BYTES / 2**20
    assert calls.reset_peak == 1

    assert cuda_graph_latency(model, 32, "fp32", runs=3) >= 0
    assert calls.graphs[-1].replays == 3  # each timed run replays the captured graph once

    report = SpeedReport(device="Fake GPU", machine="test", threads=1, default_precision="bf16", matmul={})
    logged: list[str] = []
    _gpu_options(model, SpeedConfig(runs=1, warmup=0, gpu_batches=(1,)), report, logged.append)
    assert report.cuda_graph_s is not None
    assert any(n.startswith("CUDA graph replay, 512x512 batch 1, bf16") for n in report.notes)
    assert any("256x256 batch 1, bf16:" in n and "images/s" in n for n in report.notes), report.notes


def test_session_environment_names_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cuda.install(monkeypatch)
    env = environment("cuda")
    assert env["gpu"] == "Fake GPU" and env["gpu_memory_gib"] == 80.0 and env["capability"] == "9.0"
    assert env["bf16"] is True and env["cudnn"] == 91000


def _report() -> SpeedReport:
    report = SpeedReport(
        device="NVIDIA H100", machine="x", threads=16, default_precision="bf16", matmul={"bf16": 1000.0}
    )
    report.rows = [
        SpeedRow(512, "fp32", 0.0123, 50.0, cnum=24),
        SpeedRow(512, "bf16", 0.0061, 50.0, cnum=24),
        SpeedRow(512, "fp16", None, 50.0, cnum=24, note="not run"),
        SpeedRow(512, "bf16", 0.0150, 180.0, cnum=48),
    ]
    report.cuda_graph_s, report.interactive_s, report.interactive_cold_s = 0.0042, 0.0871, 1.5
    return report


def test_the_benchmarks_row_holds_every_figure() -> None:
    config = SpeedConfig(device="cuda", sizes=(512,), precisions=("fp32", "bf16", "fp16"), cnum=24)
    speed = speed_summary(_report(), config)
    assert speed["latency_ms"] == {"24": {"fp32": 12.3, "bf16": 6.1, "fp16": None}, "48": {"bf16": 15.0}}
    summary = {"speed": speed, "train_samples_per_s": 412.5, "config": {"size": 256, "batch": 64, "cnum": 24}}
    row = benchmarks_row(json.loads(json.dumps(summary)), date="2026-12-07")  # as read back from summary.json
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["2026-12-07", "NVIDIA H100", torch.__version__, "cnum 24"]
    assert cells[4:] == ["12.3", "6.1", "n/a", "4.2", "bf16 15.0", "0.087", "412.5 (256², batch 64, cnum 24)"]
    with pytest.raises(InpaintError, match="no speed figures"):
        benchmarks_row({"train_samples_per_s": 1.0})


def test_rows_go_into_the_fast_lane_table(tmp_path: Path) -> None:
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\n## Speed\n| a |\n|---|\n| 1 |\n", encoding="utf-8")
    assert append_row(md, "| first |")
    assert append_row(md, "| second |") and not append_row(md, "| first |")  # a row is never doubled
    md.write_text(md.read_text() + "\n## Later section\ntext\n", encoding="utf-8")
    assert append_row(md, "| third |")
    lines = md.read_text().splitlines()
    start = lines.index(SECTION)
    table = [line for line in lines[start:] if line.startswith("|")]
    assert table[0].startswith("| date | device |") and table[2:] == ["| first |", "| second |", "| third |"]
    assert lines[:6] == ["# Benchmarks", "", "## Speed", "| a |", "|---|", "| 1 |"]  # the rest untouched
    assert lines.index("| third |") < lines.index("## Later section")


@pytest.mark.slow
def test_a_session_with_speed_brings_its_figures_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(session_speed, "session_speed_config", lambda device: TINY_SPEED)
    out = tmp_path / "out"
    assert session(make_pack(tmp_path), out, 40, "--speed", "--probe-batches", "") == 0
    summary = json.loads((out / "summary.json").read_text())
    speed = summary["speed"]
    assert speed["cnum"] == 8 and speed["latency_ms"]["8"]["fp32"] > 0 and speed["interactive_s"] > 0
    assert speed["latency_ms"]["48"]["fp32"] > 0  # the published width as the extra row
    assert "efficiency=" in (out / "session.log").read_text() and summary["status"] == "done"

    from inpaint_core.cli import relay as relay_cli

    md = tmp_path / "BENCHMARKS.md"
    monkeypatch.setitem(relay_cli.DEFAULTS, "benchmarks", md)
    relay_cli._record_speed(out / "summary.json")
    row = next(line for line in md.read_text().splitlines() if "cnum 8" in line)
    assert f"{summary['train_samples_per_s']} (64², batch 4, cnum 8)" in row
