"""The speed figures a GPU session brings back (issue #19, part 5), and the row they make in docs/BENCHMARKS.md.

`train session --speed` runs `bench speed` on the session's device before it trains: 512x512 batch-1 latency in
fp32, bf16 and fp16 for the shipped model's width (and the published width as an extra row), the 12 MP
interactive path, CUDA graph replay. The figures go into the session's `summary.json` (no extra file: a call
brings back at most 8), the full report into its log. Back on the development machine, `train relay finish
--carry DIR` appends one row to the "GPU fast lane" table, with the session's own steady training samples/s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from inpaint_core.bench.speed import SpeedConfig, SpeedReport, format_report, run_speed
from inpaint_core.errors import InpaintError
from inpaint_core.files import atomic_write

SPEED_PRECISIONS = ("fp32", "bf16", "fp16")
SPEED_SIZE = 512
SECTION = "## GPU fast lane (issue #19, part 5)"
TABLE_HEADER = (
    "| date | device | torch | model | 512² fp32 (ms) | 512² bf16 (ms) | 512² fp16 (ms) | CUDA graph (ms) "
    "| full width 512² (ms) | 12 MP interactive (s) | training samples/s |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"
)
SECTION_INTRO = (
    "Rows appended by `train relay finish --carry DIR` from a `train session --speed` call (docs/TRAINING.md, "
    '"The fast lane"): `bench speed` on the lent GPU before it trains (medians of 10 runs, batch 1, random-init '
    "weights of the shipped model's width), and the session's own steady training rate at its size and batch."
)


def session_speed_config(device: str) -> SpeedConfig:
    """What a session measures: 512² in the three precisions, the interactive path and CUDA graph replay."""
    return SpeedConfig(device=device, sizes=(SPEED_SIZE,), precisions=SPEED_PRECISIONS, runs=10, warmup=2)


def measure_speed(config: SpeedConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Run `bench speed` and keep what the BENCHMARKS row needs, plus the whole report as text."""
    report = run_speed(config, log=say)
    return speed_summary(report, config)


def speed_summary(report: SpeedReport, config: SpeedConfig) -> dict[str, Any]:
    """The figures of `report` as JSON-ready values (ms per precision and width at the largest size)."""
    size = max(config.sizes)
    latency: dict[str, dict[str, float | None]] = {}
    for row in report.rows:
        if row.size == size:
            latency.setdefault(str(row.cnum), {})[row.precision] = (
                None if row.median_s is None else round(row.median_s * 1000, 2)
            )
    efficiency, _text = report.efficiency()
    return {
        "date": time.strftime("%Y-%m-%d"),
        "device": report.device,
        "torch": torch.__version__,
        "size": size,
        "cnum": config.width,
        "latency_ms": latency,  # {cnum: {precision: ms or None (could not run)}}
        "cuda_graph_ms": None if report.cuda_graph_s is None else round(report.cuda_graph_s * 1000, 2),
        "interactive_s": None if report.interactive_s is None else round(report.interactive_s, 3),
        "efficiency": None if efficiency is None else round(efficiency, 3),
        "report": format_report(report, config, torch.__version__),
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def benchmarks_row(summary: dict[str, Any], date: str | None = None) -> str:
    """One table row from a session's summary.json (its "speed" and its steady training rate)."""
    speed = summary.get("speed")
    if not isinstance(speed, dict):
        raise InpaintError(
            "this session's summary.json holds no speed figures: it ran without its speed benchmark"
        )
    cnum = str(speed["cnum"])
    mine = speed["latency_ms"].get(cnum, {})
    others = [c for c in speed["latency_ms"] if c != cnum]
    full = speed["latency_ms"][others[0]] if others else {}
    full_text = ", ".join(f"{p} {_ms(v)}" for p, v in full.items()) or "n/a"
    config = summary.get("config") or {}
    rate = summary.get("train_samples_per_s")
    training = (
        "n/a"
        if rate is None
        else f"{rate} ({config.get('size', '?')}², batch {config.get('batch', '?')}, cnum {config.get('cnum', '?')})"
    )
    interactive = speed.get("interactive_s")
    cells = [
        date or speed.get("date") or time.strftime("%Y-%m-%d"),
        str(speed["device"]),
        str(speed["torch"]),
        f"cnum {cnum}",
        *(_ms(mine.get(p)) for p in SPEED_PRECISIONS),
        _ms(speed.get("cuda_graph_ms")),
        full_text,
        "n/a" if interactive is None else f"{interactive:.3f}",
        training,
    ]
    return "| " + " | ".join(cells) + " |"


def append_row(benchmarks: Path, row: str) -> bool:
    """Add `row` to the fast-lane table of `benchmarks` (made at the end of the file the first time), atomically.
    False when the same row is already there (finish run twice on one carry set)."""
    text = benchmarks.read_text(encoding="utf-8") if benchmarks.is_file() else "# Benchmarks\n"
    if row in text.splitlines():
        return False
    lines = text.rstrip("\n").split("\n")
    if SECTION not in lines:
        lines += ["", SECTION, SECTION_INTRO, "", *TABLE_HEADER.split("\n"), row]
    else:
        start = lines.index(SECTION) + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
        table = [i for i in range(start, end) if lines[i].startswith("|")]
        if table:
            lines.insert(table[-1] + 1, row)
        else:  # the section lost its table: make it again at the section's end
            lines[end:end] = [*TABLE_HEADER.split("\n"), row, *([""] if end < len(lines) else [])]
    with atomic_write(benchmarks) as fh:
        fh.write(("\n".join(lines) + "\n").encode("utf-8"))
    return True
