"""Shipping the relay's weights (issue 19, part 4): the bench decides, then the manifest names them.

`ship` scores the committed carry set's EMA weights with `bench quality` (107 held-out photos per bin at 256²,
through `InpaintEngine.run` as users get it) beside every fill that needs no weights (Telea, NS, PatchMatch) in
the same run, and once more in bf16. Only when the model beats the best of them in every bin does it write the
shipped file (the same tensors, with the figures in its metadata, which the editor's picker shows) and make it
`manifest.json`'s default, with its SHA-256 and the measured bf16 loss that lets "auto" precision pick bf16.
Shipped weights are never replaced by ones whose bench mean over the bins is lower.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from inpaint_core.bench.quality import RAW_ENGINE, QualityReport, format_table, run_quality
from inpaint_core.devices import cpu_has_native_bf16
from inpaint_core.errors import InpaintError
from inpaint_core.files import sha256_file
from inpaint_core.model_info import BASELINE_ENGINES, read_weights_info
from inpaint_core.precision import MANIFEST_BF16_LOSS_KEY
from inpaint_core.registry import DEEPFILL
from inpaint_core.train.config import write_bytes_atomic, write_text_atomic
from inpaint_core.train.relay_finish import BINS
from inpaint_core.train.warm import EMA_FILE

SHIPPED_FILE = "deepfill_v2_lite.safetensors"
SHIP_COUNT = 107  # pairs per bin: every held-out photo once (the protocol)
TRAINED_ON = "661 photos: BSDS500, Urban100, SUN, Wikipedia (../shared/data/train)"

Say = Callable[[str], None]


@dataclass
class ShipReport:
    table: QualityReport  # fp32: the model, its raw output, the baselines
    bf16: QualityReport | None  # the model alone, in bf16, on the same pairs (None: no native bf16 here)
    margins: dict[str, float]  # bin label -> model minus the best baseline (dB)
    bf16_loss_db: float | None  # the largest fp32 - bf16 hole PSNR over the bins
    shipped: Path | None  # the written file; None when the model does not win every bin
    previous_mean: float | None = None  # the shipped weights' recorded bench mean, when some ship

    def lines(self) -> list[str]:
        out = [format_table(self.table), ""]
        if self.bf16 is not None:
            out += ["bf16:", format_table(self.bf16), ""]
        out.append(
            "margin over the best fill without weights: "
            + ", ".join(f"{b} {m:+.2f} dB" for b, m in self.margins.items())
        )
        if self.bf16_loss_db is None:
            out.append("bf16 not measured: this CPU has no native bf16 (auto precision stays fp32)")
        else:
            out.append(f"bf16 loss (largest over the bins): {self.bf16_loss_db:.3f} dB")
        won = bool(self.margins) and min(self.margins.values()) > 0
        if self.shipped is None and self.previous_mean is not None and won:
            out.append(
                f"not shipped: its bench mean {self.mean:.2f} dB is below the shipped weights' "
                f"{self.previous_mean:.2f} dB"
            )
        elif self.shipped is None:
            out.append("not shipped: the model does not beat the best fill without weights in every bin")
        else:
            out.append(f"shipped: {self.shipped} is the manifest's default")
        return out

    @property
    def mean(self) -> float:
        """The model's hole PSNR averaged over the bins (fp32)."""
        rows = [s.psnr for s in self.table.scores if s.engine == DEEPFILL]
        return sum(rows) / max(1, len(rows))


def shipped_mean(manifest: Path) -> float | None:
    """The bench mean recorded in the shipped file's metadata (the model over the bins), or None when nothing
    ships or the file records no figures."""
    try:
        entry = json.loads(manifest.read_text(encoding="utf-8"))["default"]
        path = manifest.parent / str(entry["file"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not path.is_file():
        return None
    scores = read_weights_info(path).quality.scores
    return sum(s.model_db for s in scores) / len(scores) if scores else None


def bench_table(report: QualityReport) -> dict[str, dict[str, float]]:
    """{bin label: {engine: hole PSNR}}: the shape `model_info` reads from a file's `bench_quality` metadata."""
    from inpaint_core.bench.quality import BIN_LABELS

    table: dict[str, dict[str, float]] = {}
    for score in report.scores:
        table.setdefault(BIN_LABELS[score.bin], {})[score.engine] = round(score.psnr, 2)
    return table


def margins(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per bin: the model minus the best baseline (a bin missing either is a loss: -inf)."""
    out = {}
    for label, row in table.items():
        best = max((db for name, db in row.items() if name in BASELINE_ENGINES), default=None)
        out[label] = row[DEEPFILL] - best if DEEPFILL in row and best is not None else float("-inf")
    return out


def write_shipped(source: Path, target: Path, extra: dict[str, str]) -> None:
    """`source`'s tensors, bit for bit, with `extra` added to its metadata, written atomically to `target`."""
    from safetensors import safe_open
    from safetensors.torch import save

    with safe_open(str(source), framework="pt") as fh:
        metadata = dict(fh.metadata() or {})
        names = fh.keys()
        tensors = {key: fh.get_tensor(key) for key in names}
    write_bytes_atomic(target, save(tensors, metadata | extra))


def set_default(manifest: Path, entry: dict[str, object]) -> None:
    """Make `entry` the manifest's default, keeping its other keys (the scratch detector's); atomic."""
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    data["default"] = entry
    write_text_atomic(manifest, json.dumps(data, indent=2) + "\n")


def ship(
    candidate: Path,
    manifest: Path,
    images: Path,
    masks: Path,
    count: int = SHIP_COUNT,
    say: Say = print,
    bench_size: int = 256,
) -> ShipReport:
    """Bench the candidate's EMA weights; when they win every bin, ship them (see the module docstring).
    `bench_size` other than 256 is for tests only."""
    from inpaint_core.train.relay_finish import carry_samples

    weights = candidate / EMA_FILE
    if not weights.is_file():
        raise InpaintError(f"no {EMA_FILE} in {candidate}: nothing to ship")
    engines = (DEEPFILL, *BASELINE_ENGINES)
    say(f"bench quality of {weights} and {', '.join(BASELINE_ENGINES)}, {count} pairs per bin, fp32")
    bench = partial(
        run_quality,
        images,
        masks,
        size=bench_size,
        bins=BINS,
        count=count,
        weights=weights,
        device="cpu",
        log=say,
    )
    fp32 = bench(engines=engines, raw=True, precision="fp32")
    table = bench_table(fp32)
    gains = margins(table)
    bf16, loss = None, None
    if cpu_has_native_bf16():  # elsewhere bf16 is emulated, ~70x slower, and "auto" never picks it
        say("the same pairs in bf16")
        bf16 = bench(engines=(DEEPFILL,), precision="bf16")
        low = bench_table(bf16)
        loss = max(table[b][DEEPFILL] - low[b][DEEPFILL] for b in table if DEEPFILL in low.get(b, {}))
    report = ShipReport(fp32, bf16, gains, loss, None, shipped_mean(manifest))
    if not gains or min(gains.values()) <= 0:
        return report
    if report.previous_mean is not None and round(report.mean, 2) < round(report.previous_mean, 2):
        return report  # never replace the shipped weights with weaker ones
    samples = carry_samples(weights)
    target = manifest.parent / SHIPPED_FILE
    shipped_rows = {b: {e: db for e, db in row.items() if e != RAW_ENGINE} for b, row in table.items()}
    write_shipped(weights, target, {"bench_quality": json.dumps(shipped_rows), "trained_on": TRAINED_ON})
    set_default(
        manifest,
        {
            "file": SHIPPED_FILE,
            "sha256": sha256_file(target),
            "name": f"DeepFill v2 lite (CPU-trained, {samples:,} samples)",
            "trained_on": TRAINED_ON,
            "card": "MODEL_CARD.md",
        }
        | ({} if loss is None else {MANIFEST_BF16_LOSS_KEY: round(loss, 3)}),
    )
    report.shipped = target
    return report
