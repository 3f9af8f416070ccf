"""The scratch-detection benchmark: the learned and the classical detector side by side, on synthetic damage.

Protocol (reproducible: same seed, same damage, same numbers):
- Photos: every image under the images folder (recursive, sorted), as loaded (grey stays grey), at full size.
- Damage rows, each drawn onto a clean copy of every photo with its own seed (seed, photo, size, kind):
  - scratches by width w in `WIDTHS`: four curves w px wide (`synthetic.add_scratches`, bright or dark,
    opacity 0.6-1);
  - specks by size bin in `SPECK_BINS`: 30 specks (`add_specks`);
  - held-out style, from a generator the learned detector never trains on: four Bezier curves 1-3 px wide,
    light (one row) or dark (another), and 60 round dust discs 1-3 px (`add_polylines`, `add_dust`).
- Truth: the pixels the damage changed by at least `synthetic.VISIBLE_CHANGE` in luminance.
- Scores, pooled over all photos (pixel counts summed, then divided), within `TOLERANCE` = 2 px both ways,
  "within 2 px" meaning in the 5x5 square around a pixel:
  precision = proposed pixels with a true pixel within 2 px / proposed pixels;
  recall = true pixels with a proposed pixel within 2 px / true pixels.
  The tolerance forgives the rim both detectors add on purpose (the fill needs it) and a line found one or
  two pixels to the side of an anti-aliased truth.
- False positives: the share of pixels proposed on each undamaged photo (mean and worst photo), and on
  generated texture crops (`synthetic.TEXTURES`: grass, hair, wood, foliage, fabric, planks, smooth; three
  384x384 crops each), which must stay dark.
- Each detector analyses each image once (`detector.analyse_damage`, the path the CLI and the editor take) and
  is thresholded at many operating points: the classical one at sensitivities 0 to 1, the learned one at logit
  thresholds around its trained default. The tables show the `--sensitivity` columns (0.5 = each detector's
  default); the precision-recall curve (all damage rows pooled, and the held-out rows alone) is printed and,
  with `--plot`, drawn.
- Speed: each detector on a 6 MP photo (a photo mirror-tiled to 3000x2000), median of 3 after a warm-up, and
  the re-threshold (`.mask(s)` on an existing analysis) the editor's slider pays.
- The summary names the targets (issue 21): held-out recall >= 0.8, clean photos <= 1 % flagged, every
  texture <= 0.5 %, for the learned detector at its default threshold (the classical one when it ran alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inpaint_core.errors import InpaintError
from inpaint_core.restore.detector import DamageAnalysis, LearnedAnalysis, analyse_damage, load_detector
from inpaint_core.restore.scratches import DEFAULT_MAX_WIDTH, DEFAULT_SENSITIVITY, ScratchAnalysis
from inpaint_core.restore.synthetic import (
    TEXTURES,
    Damage,
    add_dust,
    add_polylines,
    add_scratches,
    add_specks,
    texture,
)

TOLERANCE = 2  # px, both ways (see the module docstring)
WIDTHS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
SPECK_BINS: tuple[tuple[int, int], ...] = ((2, 4), (4, 6), (6, 8))
SCRATCHES_PER_PHOTO = 4
SPECKS_PER_PHOTO = 30
HELD_OUT_LINES = 4
HELD_OUT_DUST = 60
TEXTURE_SIZE = 384
TEXTURE_CROPS = 3
CLASSICAL_SWEEP: tuple[float, ...] = tuple(
    round(float(s), 3) for s in np.linspace(0.0, 1.0, 9)
)  # sensitivity
LEARNED_SWEEP: tuple[float, ...] = (
    -6.0,
    -4.0,
    -2.0,
    -1.0,
    0.0,
    1.0,
    2.0,
    4.0,
    6.0,
)  # logits from the default
TARGET_RECALL, TARGET_CLEAN, TARGET_TEXTURE = 0.8, 0.01, 0.005
HELD_OUT = "held-out"
CLEAN = "clean photos"
TIMING_PHOTO = (3000, 2000)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    """One damage row: what is drawn (`kind`, `size`) and the group it is pooled into."""

    kind: str  # "scratch" | "speck" | "lines-light" | "lines-dark" | "dust"
    size: int | tuple[int, int]
    label: str
    group: str  # "scratch" | "speck" | HELD_OUT

    @property
    def seed_key(self) -> tuple[int, int]:
        """The row's part of the damage seed: (size, kind code), as the benchmark has always seeded them."""
        size = self.size if isinstance(self.size, int) else self.size[0]
        return size, ("scratch", "speck", "lines-light", "lines-dark", "dust").index(self.kind)


def default_rows(
    widths: Sequence[int] = WIDTHS, speck_bins: Sequence[tuple[int, int]] = SPECK_BINS, held_out: bool = True
) -> list[Row]:
    rows = [Row("scratch", w, f"scratches {w} px", "scratch") for w in widths]
    rows += [Row("speck", b, f"specks {b[0]}-{b[1]} px", "speck") for b in speck_bins]
    if held_out:
        rows += [
            Row("lines-light", (1, 3), "held-out: light lines 1-3 px", HELD_OUT),
            Row("lines-dark", (1, 3), "held-out: dark lines 1-3 px", HELD_OUT),
            Row("dust", (1, 3), "held-out: dust discs 1-3 px", HELD_OUT),
        ]
    return rows


@dataclass
class Score:
    """Pooled pixel counts of one row; precision and recall derive from them."""

    label: str
    proposed: int = 0  # proposed pixels
    proposed_near_truth: int = 0  # proposed pixels with a true pixel within TOLERANCE
    truth: int = 0  # true pixels
    truth_found: int = 0  # true pixels with a proposed pixel within TOLERANCE

    @property
    def precision(self) -> float:
        return self.proposed_near_truth / self.proposed if self.proposed else 1.0

    @property
    def recall(self) -> float:
        return self.truth_found / self.truth if self.truth else 1.0

    def add(self, proposed: np.ndarray, truth: np.ndarray, near_truth: np.ndarray | None = None) -> None:
        """Count one image (`near_truth`: the truth grown by TOLERANCE, when the caller has it already)."""
        near = _near(truth) if near_truth is None else near_truth
        self.proposed += int(np.count_nonzero(proposed))
        self.proposed_near_truth += int(np.count_nonzero(proposed & near))
        self.truth += int(np.count_nonzero(truth))
        self.truth_found += int(np.count_nonzero(truth & _near(proposed)))

    def merged(self, other: Score, label: str | None = None) -> Score:
        return Score(
            label or self.label,
            self.proposed + other.proposed,
            self.proposed_near_truth + other.proposed_near_truth,
            self.truth + other.truth,
            self.truth_found + other.truth_found,
        )


_SQUARE = np.ones((2 * TOLERANCE + 1,) * 2, np.uint8)


def _near(mask: np.ndarray) -> np.ndarray:
    """The pixels within TOLERANCE px of `mask` (the 5x5 square). Shape: (H, W) bool -> (H, W) bool"""
    return cv2.dilate(mask.astype(np.uint8), _SQUARE) > 0


@dataclass
class FalsePositives:
    """Share of pixels proposed on undamaged images."""

    label: str
    rates: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.rates)) if self.rates else 0.0

    @property
    def worst(self) -> float:
        return float(np.max(self.rates)) if self.rates else 0.0


@dataclass
class DetectorRun:
    """One detector's counts at every operating point it was measured at."""

    method: str  # "learned" | "classical"
    unit: str  # what a point is: "sensitivity" | "logit threshold"
    default: float  # the default operating point, in `unit`
    points: tuple[float, ...]  # every point measured, sorted
    columns: dict[float, float]  # the table's sensitivities -> their point
    source: str = ""  # the weights file (learned)
    scores: dict[str, dict[float, Score]] = field(default_factory=dict)  # row label -> point -> counts
    clean: dict[str, dict[float, FalsePositives]] = field(default_factory=dict)  # CLEAN / texture -> point
    speed: dict[str, float] = field(default_factory=dict)  # label -> median seconds

    def pooled(self, labels: Sequence[str], point: float, label: str = "pooled") -> Score:
        total = Score(label)
        for row in labels:
            total = total.merged(self.scores[row][point], label)
        return total

    def curve(self, labels: Sequence[str]) -> list[tuple[float, float, float]]:
        """(point, precision, recall) over `labels` pooled, for every point measured."""
        out = []
        for point in self.points:
            score = self.pooled(labels, point)
            out.append((point, score.precision, score.recall))
        return out

    def textures(self, point: float) -> list[FalsePositives]:
        return [self.clean[k][point] for k in self.clean if k != CLEAN]


@dataclass
class ScratchReport:
    photos: int
    max_width: int
    seed: int
    sensitivities: tuple[float, ...]
    rows: list[Row]
    runs: list[DetectorRun] = field(default_factory=list)

    def labels(self, group: str | None = None) -> list[str]:
        return [r.label for r in self.rows if group is None or r.group == group]


def score_mask(proposed: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of one proposed mask against one truth mask, as the benchmark counts them."""
    score = Score("one")
    score.add(proposed.astype(bool), truth.astype(bool))
    return score.precision, score.recall


def damage_for(image: np.ndarray, kind: str, size: int | tuple[int, int], seed: Sequence[int]) -> Damage:
    """The seeded damage of one benchmark row (`Row.kind`, `Row.size`): "scratch" (size = width), "speck"
    (size = (lo, hi)), "lines-light" / "lines-dark" / "dust" (the held-out style; size = (lo, hi) px)."""
    rng = np.random.default_rng(list(seed))
    if kind == "scratch":
        assert isinstance(size, int)
        return add_scratches(image, rng, float(size), count=SCRATCHES_PER_PHOTO)
    assert isinstance(size, tuple)
    span = (float(size[0]), float(size[1]))
    if kind == "speck":
        return add_specks(image, rng, span, count=SPECKS_PER_PHOTO)
    if kind in ("lines-light", "lines-dark"):
        return add_polylines(
            image, rng, span, count=HELD_OUT_LINES, polarity="bright" if kind == "lines-light" else "dark"
        )
    if kind == "dust":
        return add_dust(image, rng, span, count=HELD_OUT_DUST)
    raise ValueError(f"unknown damage kind {kind!r}")


def _tile_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Mirror-tile a photo up to width x height (a large photo with photo statistics, for timing)."""
    reps_y, reps_x = -(-height // image.shape[0]), -(-width // image.shape[1])
    row = np.concatenate([image if i % 2 == 0 else image[:, ::-1] for i in range(reps_x)], axis=1)
    tall = np.concatenate([row if i % 2 == 0 else row[::-1] for i in range(reps_y)], axis=0)
    return np.ascontiguousarray(tall[:height, :width])


# ------------------------------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class _Detector:
    """How the benchmark runs one detector: its analysis, and its mask at a point."""

    method: str
    weights: Path | None

    def analyse(self, image: np.ndarray, max_width: int) -> DamageAnalysis:
        return analyse_damage(image, self.method, max_width, weights=self.weights)

    def mask(self, analysis: DamageAnalysis, point: float) -> np.ndarray:
        if isinstance(analysis, LearnedAnalysis):
            return analysis.mask_at(point)
        assert isinstance(analysis, ScratchAnalysis)
        return analysis.mask(point)


def _new_run(method: str, weights: Path | None, sensitivities: Sequence[float]) -> DetectorRun:
    if method == "classical":
        columns = {float(s): float(s) for s in sensitivities}
        points = tuple(sorted({*CLASSICAL_SWEEP, *columns.values()}))
        return DetectorRun("classical", "sensitivity", DEFAULT_SENSITIVITY, points, columns)
    if weights is not None:
        _, threshold = load_detector(weights, None)
        source = str(weights)
    else:
        from inpaint_core.restore.detector import learned_weights, resolve_method

        resolve_method("learned")  # WeightsMissingError (one line) when none ship
        shipped = learned_weights()
        assert shipped is not None
        _, threshold = load_detector(*shipped)
        source = shipped[0].name
    probe = LearnedAnalysis(np.zeros((1, 1), np.float16), threshold, DEFAULT_MAX_WIDTH, (1, 1), (1, 1))
    columns = {float(s): round(probe.cut_for(float(s)), 4) for s in sensitivities}
    points = tuple(sorted({round(threshold + d, 4) for d in LEARNED_SWEEP} | set(columns.values())))
    return DetectorRun("learned", "logit threshold", round(threshold, 4), points, columns, source)


def run_scratch_bench(
    images: Sequence[tuple[str, np.ndarray]],
    *,
    methods: Sequence[str] = ("classical",),
    weights: str | Path | None = None,
    sensitivities: Sequence[float] = (DEFAULT_SENSITIVITY,),
    max_width: int = DEFAULT_MAX_WIDTH,
    seed: int = 0,
    rows: Sequence[Row] | None = None,
    textures: bool = True,
    speed: bool = True,
    log: Log | None = None,
) -> ScratchReport:
    """Score each detector in `methods` ("classical", "learned") on damaged copies of `images` ((name, pixels)
    pairs); see the module docstring. `weights`: a learned detector file to bench instead of the shipped one.

    Raises:
        InpaintError: no photos, an unknown method or a bad sensitivity.
        WeightsError: the learned detector's weights are missing or unusable.
    """
    if not images:
        raise InpaintError("no photos to benchmark on")
    unknown = [m for m in methods if m not in ("classical", "learned")]
    if unknown or not methods:
        raise InpaintError(f"unknown detector {unknown[0] if unknown else ''!r}; use classical or learned")
    if any(not 0.0 <= s <= 1.0 for s in sensitivities) or not sensitivities:
        raise InpaintError("sensitivities must be between 0 and 1")
    path = Path(weights) if weights is not None else None
    rows = list(rows) if rows is not None else default_rows()
    report = ScratchReport(len(images), max_width, seed, tuple(float(s) for s in sensitivities), rows)
    detectors = [_Detector(m, path if m == "learned" else None) for m in methods]
    report.runs = [_new_run(m, path if m == "learned" else None, sensitivities) for m in methods]
    for run in report.runs:
        run.scores = {r.label: {p: Score(r.label) for p in run.points} for r in rows}
        run.clean = {CLEAN: {p: FalsePositives(CLEAN) for p in run.points}}

    def measure(image: np.ndarray, count: Callable[[DetectorRun, float, np.ndarray], None]) -> None:
        for detector, run in zip(detectors, report.runs, strict=True):
            analysis = detector.analyse(image, max_width)
            for point in run.points:
                count(run, point, detector.mask(analysis, point))

    for index, (name, pixels) in enumerate(images):
        if log is not None:
            log(f"{index + 1}/{len(images)} {name}")
        measure(pixels, lambda run, p, m: run.clean[CLEAN][p].rates.append(float(m.mean())))
        for row in rows:
            damage = damage_for(pixels, row.kind, row.size, (seed, index, *row.seed_key))
            near = _near(damage.truth)
            measure(damage.image, lambda run, p, m: run.scores[row.label][p].add(m, damage.truth, near))  # noqa: B023
    if textures:
        if log is not None:
            log(f"textures: {', '.join(TEXTURES)}")
        for kind in TEXTURES:
            label = f"texture: {kind}"
            for run in report.runs:
                run.clean[label] = {p: FalsePositives(label) for p in run.points}
            for k in range(TEXTURE_CROPS):
                crop = texture(kind, TEXTURE_SIZE, TEXTURE_SIZE, seed=seed + k)
                measure(crop, lambda run, p, m: run.clean[label][p].rates.append(float(m.mean())))  # noqa: B023
    if speed:
        big = _tile_to(images[0][1], *TIMING_PHOTO)
        for detector, run in zip(detectors, report.runs, strict=True):
            if log is not None:
                log(f"timing the {run.method} detector on a {TIMING_PHOTO[0]}x{TIMING_PHOTO[1]} photo")
            _time_detector(detector, run, big, max_width)
    return report


def _time_detector(detector: _Detector, run: DetectorRun, big: np.ndarray, max_width: int) -> None:
    from inpaint_core.restore.detector import detect_damage

    s0 = DEFAULT_SENSITIVITY
    name = "ScratchAnalysis" if run.method == "classical" else "LearnedAnalysis"
    run.speed["detect_damage, full 6 MP"] = _median_time(
        lambda: detect_damage(big, s0, max_width, detector.method, weights=detector.weights)
    )
    analysis = detector.analyse(big, max_width)
    run.speed[f"{name}.mask (new sensitivity), full 6 MP"] = _median_time(lambda: analysis.mask(s0))
    if run.method == "classical":  # the preview path the editor used before the learned detector
        for side in (1600, 1024):
            run.speed[f"analyse_damage(..., preview_side={side}) + mask"] = _median_time(
                lambda side=side: analyse_damage(big, "classical", max_width, preview_side=side).mask(s0)  # type: ignore[misc]
            )


def _median_time(fn: Callable[[], object], runs: int = 3) -> float:
    """Median seconds of `fn` over `runs` runs after one warm-up."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def load_photos(folder: str | Path, count: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The benchmark photos: every image under `folder` (sorted), the first `count` if given."""
    from inpaint_core.bench.quality import list_images
    from inpaint_core.image_io import load_image

    root = Path(folder)
    paths = list_images(root)[: count if count else None]
    return [(p.relative_to(root).as_posix(), load_image(p).pixels) for p in paths]


# ------------------------------------------------------------------------------------------------- report


def _point_name(run: DetectorRun, point: float) -> str:
    return f"{point:.2f}" if run.unit == "sensitivity" else f"{point:+.2f}"


def format_report(report: ScratchReport) -> str:
    """Markdown tables: precision/recall per row, detector and sensitivity; false-positive shares; the
    precision-recall sweep; timings; and the summary line against the targets."""
    runs, levels = report.runs, report.sensitivities
    heads = [f"{run.method} P / R at {s:g}" for run in runs for s in levels]
    described = "; ".join(
        f"{run.method}: default {run.unit} {_point_name(run, run.default)}"
        + (f" ({run.source})" if run.source else "")
        for run in runs
    )
    lines = [
        f"Scratch detection: {report.photos} photos, max width {report.max_width} px, seed {report.seed}; "
        f"precision (P) and recall (R) within {TOLERANCE} px; {described}",
        "",
        f"| damage | true px | {' | '.join(heads)} |",
        "|---|---:|" + "---:|" * len(heads),
    ]
    groups = [(r.label, [r.label]) for r in report.rows]
    held = report.labels(HELD_OUT)
    if held:
        groups.append((f"{HELD_OUT}: all", held))
    for label, members in groups:
        scores = [run.pooled(members, run.columns[s], label) for run in runs for s in levels]
        cells = " | ".join(f"{sc.precision:.3f} / {sc.recall:.3f}" for sc in scores)
        lines.append(f"| {label} | {scores[0].truth} | {cells} |")
    heads = [f"{run.method} mean / worst at {s:g}" for run in runs for s in levels]
    lines += ["", f"| undamaged: proposed pixels | images | {' | '.join(heads)} |"]
    lines.append("|---|---:|" + "---:|" * len(heads))
    for key in runs[0].clean:
        fps = [run.clean[key][run.columns[s]] for run in runs for s in levels]
        cells = " | ".join(f"{fp.mean:.3%} / {fp.worst:.3%}" for fp in fps)
        lines.append(f"| {key} | {len(fps[0].rates)} | {cells} |")
    lines += [
        "",
        "Precision-recall over the threshold (all damage rows pooled; held-out rows pooled; clean photos' mean "
        "share); * = the default",
        "",
        "| detector | threshold | P | R | held-out P | held-out R | clean photos |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for point in run.points:
            every, out = run.pooled(report.labels(), point), run.pooled(held, point) if held else None
            mark = "*" if point == run.default else ""
            held_cells = f"{out.precision:.3f} | {out.recall:.3f}" if out else "- | -"
            lines.append(
                f"| {run.method} | {run.unit} {_point_name(run, point)}{mark} | {every.precision:.3f} | "
                f"{every.recall:.3f} | {held_cells} | {run.clean[CLEAN][point].mean:.3%} |"
            )
    timed = [run for run in runs if run.speed]
    if timed:
        w, h = TIMING_PHOTO
        lines += ["", f"| on a {w}x{h} photo, sensitivity {DEFAULT_SENSITIVITY:g} | median s |", "|---|---:|"]
        lines += [
            f"| {run.method}: {label} | {sec:.3f} |" for run in timed for label, sec in run.speed.items()
        ]
    lines += ["", summary_line(report)]
    return "\n".join(lines)


def summary_line(report: ScratchReport) -> str:
    """The learned detector at its default threshold (else the classical one) against issue 21's targets."""
    run = next((r for r in report.runs if r.method == "learned"), report.runs[0])
    point = run.default
    parts = []
    held = report.labels(HELD_OUT)
    if held:
        recall = run.pooled(held, point).recall
        parts.append(f"held-out recall {recall:.3f} ({_verdict(recall, TARGET_RECALL, at_least=True)})")
    clean = run.clean[CLEAN][point].mean
    parts.append(f"clean photos {clean:.2%} flagged ({_verdict(clean, TARGET_CLEAN, at_least=False)})")
    worst = max(run.textures(point), key=lambda fp: fp.mean, default=None)
    if worst is not None:
        name = worst.label.removeprefix("texture: ")
        parts.append(
            f"worst texture {name} {worst.mean:.2%} ({_verdict(worst.mean, TARGET_TEXTURE, at_least=False)})"
        )
    alone = "" if run.method == "learned" else " (the learned detector did not run)"
    return f"summary: {run.method} at its default {run.unit} {_point_name(run, point)}{alone}: {'; '.join(parts)}"


def _verdict(value: float, target: float, *, at_least: bool) -> str:
    if at_least:
        met = value >= target
        return f"target >= {target:g}: " + ("met" if met else f"short by {target - value:.3f}")
    met = value <= target
    return f"target <= {target:.1%}: " + ("met" if met else f"over by {value - target:.2%}")


# ------------------------------------------------------------------------------------------------- plot

_COLOURS = {"classical": (220, 120, 20), "learned": (30, 100, 220)}  # RGB


def plot_curves(report: ScratchReport, size: tuple[int, int] = (760, 600)) -> np.ndarray:
    """The precision-recall curves as an RGB picture: one thick line per detector (all damage pooled), a thin
    one for the held-out rows, a ring on each default operating point, and the target recall.

    Shape: () -> (size[1], size[0], 3) uint8
    """
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, width - 20, 50, height - 60
    font, grey, ink = cv2.FONT_HERSHEY_SIMPLEX, (215, 215, 215), (40, 40, 40)

    def at(recall: float, precision: float) -> tuple[int, int]:
        return (
            round(left + float(np.clip(recall, 0, 1)) * (right - left)),
            round(bottom - float(np.clip(precision, 0, 1)) * (bottom - top)),
        )

    for k in range(11):
        v = k / 10
        cv2.line(canvas, at(v, 0), at(v, 1), grey, 1)
        cv2.line(canvas, at(0, v), at(1, v), grey, 1)
        cv2.putText(canvas, f"{v:.1f}", (at(v, 0)[0] - 11, bottom + 18), font, 0.4, ink, 1, cv2.LINE_AA)
        cv2.putText(canvas, f"{v:.1f}", (left - 32, at(0, v)[1] + 4), font, 0.4, ink, 1, cv2.LINE_AA)
    cv2.rectangle(canvas, at(0, 0), at(1, 1), ink, 1)
    x80 = at(TARGET_RECALL, 0)[0]
    for y in range(top, bottom, 8):  # dashed: the target recall
        cv2.line(canvas, (x80, y), (x80, min(y + 4, bottom)), (120, 170, 120), 1)
    cv2.putText(
        canvas,
        f"target recall {TARGET_RECALL:g}",
        (x80 + 5, (top + bottom) // 2),
        font,
        0.4,
        (70, 130, 70),
        1,
    )
    cv2.putText(
        canvas, "recall (within 2 px)", (left + (right - left) // 2 - 70, height - 22), font, 0.5, ink, 1
    )
    label = np.full((20, 200, 3), 255, np.uint8)
    cv2.putText(label, "precision (within 2 px)", (2, 15), font, 0.5, ink, 1, cv2.LINE_AA)
    rotated = cv2.rotate(label, cv2.ROTATE_90_COUNTERCLOCKWISE)
    y0 = (top + bottom) // 2 - rotated.shape[0] // 2
    canvas[y0 : y0 + rotated.shape[0], 4 : 4 + rotated.shape[1]] = rotated
    title = f"Scratch detection: precision-recall over the threshold ({report.photos} photos)"
    cv2.putText(canvas, title, (left, 30), font, 0.5, ink, 1, cv2.LINE_AA)
    held = report.labels(HELD_OUT)
    legend_y = bottom - 12 - 40 * len(report.runs)
    for i, run in enumerate(report.runs):
        colour = _COLOURS.get(run.method, ink)
        for labels, thickness in ((report.labels(), 2), (held, 1)):
            if not labels:
                continue
            pts = [at(r, p) for _, p, r in run.curve(labels)]
            pts.sort()
            cv2.polylines(
                canvas, [np.array(pts, np.int32).reshape(-1, 1, 2)], False, colour, thickness, cv2.LINE_AA
            )
            for pt in pts:
                cv2.circle(canvas, pt, 2 + thickness, colour, -1, cv2.LINE_AA)
            default = run.pooled(labels, run.default)
            cv2.circle(canvas, at(default.recall, default.precision), 8, colour, 2, cv2.LINE_AA)
        y = legend_y + 40 * i
        cv2.line(canvas, (left + 15, y), (left + 45, y), colour, 2, cv2.LINE_AA)
        cv2.putText(canvas, f"{run.method}: all damage", (left + 52, y + 4), font, 0.45, ink, 1, cv2.LINE_AA)
        cv2.line(canvas, (left + 15, y + 16), (left + 45, y + 16), colour, 1, cv2.LINE_AA)
        cv2.putText(
            canvas, f"{run.method}: held-out rows", (left + 52, y + 20), font, 0.45, ink, 1, cv2.LINE_AA
        )
    cv2.circle(canvas, (right - 150, bottom - 20), 8, ink, 2, cv2.LINE_AA)
    cv2.putText(canvas, "default threshold", (right - 136, bottom - 16), font, 0.45, ink, 1, cv2.LINE_AA)
    return canvas
