"""Finishing a relay run (docs/TRAINING.md, "The relay"): stop it, judge its carry set against the committed one
on the same validation photos and the same `bench quality` pairs (NS and Telea measured in the same run), keep
it only if it is at least as good, and append a row to the model card's relay curve either way.

A run trained with a GAN term (its carry set's `train_config` has `gan_alpha` > 0: `train relay start --gan`)
belongs to the GAN lane (issue #19 part 3): it is judged against the same committed L1 carry set, but by another
rule (sharper, and at most GAN_TOLERANCE_DB below it on the bench), and kept in its own folder (`candidate-gan`,
discriminator included), so the L1 chain and its shipped weights never move because of it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inpaint_core.errors import InpaintError
from inpaint_core.registry import NS, TELEA
from inpaint_core.train.metrics_log import METRICS_JSONL
from inpaint_core.train.relay import RUN_SUBDIR, RelayOptions, read_rows, read_state, relay_config, stop
from inpaint_core.train.warm import D_FILE, EMA_FILE, G_FILE

BINS = (1, 3, 5)  # NVIDIA mask blocks: 10-20 %, 30-40 %, 50-60 %
BIN_NAMES = {1: "10-20 %", 3: "30-40 %", 5: "50-60 %"}
CLASSICAL = (NS, TELEA)  # the curve's baselines (ship also weighs PatchMatch: train/ship.py)
CURVE_HEADING = "## Relay curve"
CURVE_HEADER = (
    "| finished | CPU | samples seen | samples/s | val hole PSNR 256² (dB) | "
    + " | ".join(f"{BIN_NAMES[b]} (vs best classical)" for b in BINS)
    + " | sharpness 10-20 % | kept |\n"
    + "|---|---|---:|---:|---:|"
    + "---:|" * len(BINS)
    + "---:|---|\n"
)

# Issue #19 part 3: what a GAN term may cost of the bench mean, if the fills get sharper.
GAN_TOLERANCE_DB = 0.2
GAN_LANE = "candidate-gan"  # beside candidate/: the GAN lane's carry set (G, G_ema, D)

Say = Callable[[str], None]


@dataclass
class Evaluation:
    """One carry set's figures: validation (the relay's 32 held-out training photos) and bench quality."""

    weights: Path
    samples: int
    val_psnr: float
    bins: dict[int, float] = field(default_factory=dict)  # bench hole PSNR per bin
    sharpness: dict[int, float] = field(default_factory=dict)  # gradient-energy ratio, fill against truth

    @property
    def mean(self) -> float:
        return sum(self.bins.values()) / max(1, len(self.bins))

    @property
    def mean_sharpness(self) -> float:
        return sum(self.sharpness.values()) / max(1, len(self.sharpness))


@dataclass
class FinishReport:
    old: Evaluation
    new: Evaluation
    classical: dict[str, dict[int, float]]  # engine -> bin -> hole PSNR
    kept: bool
    samples_per_s: float
    row: str
    kept_in: Path | None = None  # where a kept carry set went: candidate/, or the GAN lane's folder

    def lines(self) -> list[str]:
        out = [f"{'':10s} {'val':>7s} " + " ".join(f"{BIN_NAMES[b]:>9s}" for b in BINS) + "     mean"]
        for name, ev in (("committed", self.old), ("new", self.new)):
            cells = " ".join(f"{ev.bins.get(b, float('nan')):9.2f}" for b in BINS)
            out.append(f"{name:10s} {ev.val_psnr:7.2f} {cells} {ev.mean:8.2f}   ({ev.samples:,} samples)")
        for engine, per_bin in self.classical.items():
            cells = " ".join(f"{per_bin.get(b, float('nan')):9.2f}" for b in BINS)
            out.append(f"{engine:10s} {'':7s} {cells}")
        verdict = f"kept: the new carry set replaces the one in {self.kept_in}" if self.kept else "not kept"
        out.append(f"{verdict}; model card row: {self.row.strip()}")
        return out


def cpu_label() -> str:
    """The CPU's bf16 class and model name, for the curve (runs on different CPUs differ several times)."""
    from inpaint_core.bench.speed import machine_name

    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    kind = "AMX" if "amx_bf16" in flags else "AVX-512 BF16" if "avx512_bf16" in flags else "AVX2"
    return f"{kind}, {machine_name()}"


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})


def carry_samples(path: Path) -> int:
    return int(_metadata(path).get("samples_seen", 0))


def carry_gan_alpha(path: Path) -> float:
    """The GAN weight the carry set was trained with (0: the L1 chain), from its recorded training config."""
    config = json.loads(_metadata(path).get("train_config") or "{}")
    return float(config.get("gan_alpha", 0.0))


def evaluate(
    committed: Path,
    new: Path,
    val_photos: list,
    relay_cfg: object,
    images: Path,
    masks: Path,
    count: int,
    say: Say,
    bench_size: int = 256,
) -> tuple[Evaluation, Evaluation, dict[str, dict[int, float]]]:
    """Both carry sets' EMA weights on the same validation set and the same bench pairs, classical in the same run."""
    import torch

    from inpaint_core.bench.quality import run_quality
    from inpaint_core.train.config import TrainConfig
    from inpaint_core.train.validate import build_val_set, validate
    from inpaint_core.weights import load_generator

    assert isinstance(relay_cfg, TrainConfig)
    val_set = build_val_set(val_photos, relay_cfg)
    evaluations = []
    for folder in (committed, new):
        weights = folder / EMA_FILE
        model = load_generator(weights)
        say(f"validating {weights} on {len(val_set)} photos at {relay_cfg.size} px")
        with torch.no_grad():
            val = validate(model, val_set, torch.device("cpu"), model.config.guide_channel)
        ev = Evaluation(weights, carry_samples(weights), float(val.get("val_psnr", float("nan"))))
        say(f"bench quality ({count} pairs per bin) of {weights}")
        report = run_quality(
            images, masks, size=bench_size, engines=("deepfill",), bins=BINS, count=count, weights=weights
        )
        for score in report.scores:
            ev.bins[score.bin] = score.psnr
            ev.sharpness[score.bin] = score.sharpness
        evaluations.append(ev)
    say("bench quality of the classical fills on the same pairs")
    report = run_quality(images, masks, size=bench_size, engines=CLASSICAL, bins=BINS, count=count)
    classical: dict[str, dict[int, float]] = {}
    for score in report.scores:
        classical.setdefault(score.engine, {})[score.bin] = score.psnr
    return evaluations[0], evaluations[1], classical


def at_least_as_good(old: Evaluation, new: Evaluation) -> bool:
    """The bench decides (the held-out photos at 256², what users see): the mean hole PSNR over the bins must not
    fall. Validation (training photos held out) is reported, not decisive."""
    return new.mean >= old.mean


def sharper_and_close(l1: Evaluation, gan: Evaluation) -> bool:
    """The GAN lane's rule (issue #19 part 3): sharper fills (gradient energy, mean over the bins) than the
    committed L1 carry set, for at most GAN_TOLERANCE_DB of its bench mean. Always against the L1 set, so
    the losses of successive GAN runs cannot add up."""
    return gan.mean_sharpness > l1.mean_sharpness and gan.mean >= l1.mean - GAN_TOLERANCE_DB


def curve_row(
    report_new: Evaluation,
    classical: dict[str, dict[int, float]],
    rate: float,
    kept: bool,
    machine: str | None = None,
    gan_alpha: float = 0.0,
) -> str:
    """One row of the relay curve; `machine` names where it trained when that was not this CPU; a GAN run's
    row says so in its last cell."""
    cells = []
    for b in BINS:
        best = max((per_bin[b] for per_bin in classical.values() if b in per_bin), default=float("nan"))
        value = report_new.bins.get(b, float("nan"))
        cells.append(f"{value:.2f} ({value - best:+.2f})")
    sharp = report_new.sharpness.get(BINS[0])
    return (
        f"| {time.strftime('%Y-%m-%d %H:%M')} | {machine or cpu_label()} | {report_new.samples:,} | {rate:.2f} | "
        f"{report_new.val_psnr:.2f} | "
        + " | ".join(cells)
        + f" | {'-' if sharp is None else f'{sharp:.2f}'} | "
        f"{'yes' if kept else 'no'}{f' (GAN lane, alpha {gan_alpha:g})' if gan_alpha else ''} |\n"
    )


def append_curve_row(card: Path, row: str) -> None:
    """Add `row` under the last row of the card's relay curve table (made at the end of the card the first time)."""
    from inpaint_core.train.config import write_text_atomic

    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if CURVE_HEADING not in text:
        text = text.rstrip("\n") + (
            f"\n\n{CURVE_HEADING}\n"
            "Each row is one relay run (`train relay finish`): the new carry set's EMA weights on the 32 held-out "
            "training photos at 256² and on `bench quality --count 30` per bin, against the best classical fill "
            "(NS or Telea) on the same pairs in the same run. Sharpness: gradient energy in the hole, fill "
            "against truth (1 = as sharp as the photo). Only a kept row's weights are in `candidate/` "
            "(`candidate-gan/` for a GAN lane row).\n\n" + CURVE_HEADER
        )
        write_text_atomic(card, text + row)
        return
    # Under the table's last row, not at the end of the card: notes may follow the table.
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(CURVE_HEADING))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rows = [i for i in range(start, end) if lines[i].startswith("|")]
    at = rows[-1] + 1 if rows else end
    if at and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, row if row.endswith("\n") else row + "\n")
    write_text_atomic(card, "".join(lines))


def replace_carry_set(source: Path, target: Path) -> None:
    """Copy G, G_ema and D (when `source` has one; a stale one in `target` is removed) over `target`, each file
    atomically (a temp copy renamed into place), then record their SHA-256 in `target/SHA256SUMS`, which loading
    checks."""
    from inpaint_core.weights import write_candidate_sums

    target.mkdir(parents=True, exist_ok=True)
    has_d = (source / D_FILE).is_file()
    if not has_d:
        (target / D_FILE).unlink(missing_ok=True)
    for name in (G_FILE, EMA_FILE, *((D_FILE,) if has_d else ())):
        with tempfile.NamedTemporaryFile(dir=target, prefix=f".{name}.", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        try:
            shutil.copyfile(source / name, tmp_path)
            tmp_path.replace(target / name)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    write_candidate_sums(target)


def _archive(run_dir: Path) -> Path:
    """Rename a finished run folder to `run-<time>` (`-2`, `-3`... if two finish within a second)."""
    stem = f"{run_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    target, n = run_dir.with_name(stem), 1
    while target.exists():
        n += 1
        target = run_dir.with_name(f"{stem}-{n}")
    return run_dir.rename(target)


def finish(
    out: Path,
    candidate: Path,
    card: Path,
    images: Path,
    masks: Path,
    count: int = 30,
    say: Say = print,
    bench_size: int = 256,
    carry: Path | None = None,
    data: Path | None = None,
    gan_lane: Path | None = None,
) -> FinishReport:
    """Judge a carry set against `candidate`, keep it if it is at least as good, log the row in `card`.

    A GAN run's carry set is judged by `sharper_and_close` and kept in `gan_lane` (default: candidate-gan
    beside `candidate`), never in `candidate`.

    Without `carry`: stop the relay in `out` if it runs and judge its run's carry set; the run folder is then
    renamed `run-<time>` so the next `start` begins a fresh one. With `carry`: judge that folder instead (a GPU
    call's `$OUT`, say: the same step makes a GPU run and a CPU run links of one chain); validation then uses the
    last relay's options, or the relay recipe on `data` (the photo pack) if no relay ran in `out`.
    """
    from inpaint_core.train.loop import load_photos

    state = read_state(out)
    if carry is None:
        if state is None:
            raise InpaintError(f"no relay was started in {out}")
        if stop(out):
            say("relay stopped; its final checkpoint and carry set are written")
    run_dir = out / RUN_SUBDIR
    new = carry if carry is not None else run_dir / "carry"
    if not (new / EMA_FILE).is_file():
        raise InpaintError(f"no carry set in {new}: no {EMA_FILE} there")
    if state is not None:
        options = state[0]
    elif data is not None:
        options = RelayOptions(out, candidate, 0.0, data, None)
    else:
        raise InpaintError("judging a carry set needs the photo pack its validation photos come from")
    config = relay_config(options)
    _, val_photos = load_photos(config)
    old_ev, new_ev, classical = evaluate(
        candidate, new, val_photos, config, images, masks, count, say, bench_size
    )
    rows = read_rows((new if carry is not None else run_dir) / METRICS_JSONL)
    rates = sorted(r["samples_per_s"] for r in rows if "samples_per_s" in r)
    rate = rates[len(rates) // 2] if rates else 0.0
    alpha = carry_gan_alpha(new / EMA_FILE)
    target = candidate if not alpha else gan_lane or candidate.parent / GAN_LANE
    newer = new_ev.samples > old_ev.samples and (
        not (target / EMA_FILE).is_file() or new_ev.samples > carry_samples(target / EMA_FILE)
    )
    kept = newer and (sharper_and_close(old_ev, new_ev) if alpha else at_least_as_good(old_ev, new_ev))
    if kept:
        replace_carry_set(new, target)
    machine = None if carry is None else "carried in"
    row = curve_row(new_ev, classical, rate, kept, machine=machine, gan_alpha=alpha)
    append_curve_row(card, row)
    if carry is None:
        _archive(run_dir)
    return FinishReport(old_ev, new_ev, classical, kept, rate, row, target if kept else None)
