"""metrics.jsonl and metrics.csv of a run folder: every log row and validation, the training curve."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from inpaint_core.train.config import write_text_atomic

METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
CSV_COLUMNS = (
    "step",
    "samples",
    "time_s",
    "samples_per_s",
    "d_loss",
    "g_loss",
    "g_adv",
    "l1_coarse",
    "l1_fine",
    "grad_norm",
    "lr",
    "val_psnr",
    "val_l1",
    "val_ssim",
    "val_psnr_guided",
    "val_l1_guided",
    "val_ssim_guided",
)


class MetricsLog:
    """metrics.jsonl and metrics.csv in the run folder (appended; on resume, rows after the step are dropped)."""

    def __init__(self, run_dir: Path, resume_step: int | None) -> None:
        self.jsonl = run_dir / METRICS_JSONL
        self.csv = run_dir / METRICS_CSV
        if resume_step is None:
            for path in (self.jsonl, self.csv):
                path.unlink(missing_ok=True)
        else:
            self._truncate(resume_step)
        if not self.csv.exists():
            write_text_atomic(self.csv, ",".join(CSV_COLUMNS) + "\n")

    def _truncate(self, step: int) -> None:
        if self.jsonl.exists():
            rows = [
                json.loads(line)
                for line in self.jsonl.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            kept = [r for r in rows if int(r.get("step", 0)) <= step]
            write_text_atomic(self.jsonl, "".join(json.dumps(r) + "\n" for r in kept))
        if self.csv.exists():
            with self.csv.open(newline="", encoding="utf-8") as fh:
                rows_csv = list(csv.DictReader(fh))
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
            writer.writeheader()
            for r in rows_csv:
                if int(float(r.get("step") or 0)) <= step:
                    writer.writerow({k: r.get(k, "") for k in CSV_COLUMNS})
            write_text_atomic(self.csv, out.getvalue())

    def write(self, row: dict[str, float]) -> None:
        with self.jsonl.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        with self.csv.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(
                fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore", lineterminator="\n"
            )
            writer.writerow({k: row.get(k, "") for k in CSV_COLUMNS})
