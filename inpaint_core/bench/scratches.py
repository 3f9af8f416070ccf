"""The scratch-detection benchmark: precision and recall of the proposed mask on synthetic damage, per width.

Protocol (reproducible: same seed, same damage, same numbers):
- Photos: every image under the images folder (recursive, sorted), as loaded (grey stays grey), at full size.
- Scratches: for each photo and each width w in `widths`, four curves w px wide are drawn onto a clean copy
  (`restore.synthetic.add_scratches`, each bright or dark, opacity 0.6-1, seeded by (seed, photo, w)).
- Specks: for each photo and each size bin, 30 specks of that size range (`add_specks`, seeded likewise).
- Truth: the pixels the damage changed by at least `synthetic.VISIBLE_CHANGE` in luminance.
- Scores, pooled over all photos (pixel counts summed, then divided):
  precision = proposed pixels within `TOLERANCE` px of a true pixel / proposed pixels;
  recall = true pixels inside the proposed mask / true pixels.
  The tolerance forgives the one-pixel rim the detector adds on purpose (the fill needs it).
- False positives on clean photos: the fraction of pixels proposed on the undamaged photo (mean and worst
  photo), and the same on the generated textures (grass, hair, wood grain, smooth), which must stay dark.
- Speed: `detect_scratches` on a 6 MP photo (a photo tiled up to 3000x2000), full size and with the preview
  path, median of a few runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inpaint_core.errors import InpaintError
from inpaint_core.restore.scratches import (
    DEFAULT_MAX_WIDTH,
    DEFAULT_SENSITIVITY,
    analyse_scratches,
    detect_scratches,
)
from inpaint_core.restore.synthetic import TEXTURES, Damage, add_scratches, add_specks, texture

TOLERANCE = 1  # px
WIDTHS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
SPECK_BINS: tuple[tuple[int, int], ...] = ((2, 4), (4, 6), (6, 8))
SCRATCHES_PER_PHOTO = 4
SPECKS_PER_PHOTO = 30
TEXTURE_SIZE = 384

Log = Callable[[str], None]


@dataclass
class Score:
    """Pooled pixel counts of one row; precision and recall derive from them."""

    label: str
    proposed: int = 0  # proposed pixels
    proposed_near_truth: int = 0  # proposed pixels within TOLERANCE of a true pixel
    truth: int = 0  # true pixels
    truth_found: int = 0  # true pixels inside the proposed mask

    @property
    def precision(self) -> float:
        return self.proposed_near_truth / self.proposed if self.proposed else 1.0

    @property
    def recall(self) -> float:
        return self.truth_found / self.truth if self.truth else 1.0

    def add(self, proposed: np.ndarray, truth: np.ndarray) -> None:
        near = cv2.dilate(truth.astype(np.uint8), np.ones((2 * TOLERANCE + 1,) * 2, np.uint8)) > 0
        self.proposed += int(proposed.sum())
        self.proposed_near_truth += int((proposed & near).sum())
        self.truth += int(truth.sum())
        self.truth_found += int((truth & proposed).sum())


@dataclass
class FalsePositives:
    """Fraction of pixels proposed on undamaged images."""

    label: str
    rates: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.rates)) if self.rates else 0.0

    @property
    def worst(self) -> float:
        return float(np.max(self.rates)) if self.rates else 0.0


@dataclass
class ScratchReport:
    photos: int
    sensitivities: tuple[float, ...]
    max_width: int
    seed: int
    scores: dict[float, list[Score]] = field(default_factory=dict)  # sensitivity -> rows
    clean: dict[float, list[FalsePositives]] = field(default_factory=dict)  # sensitivity -> rows
    speed: dict[str, float] = field(default_factory=dict)  # label -> median seconds


def score_mask(proposed: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of one proposed mask against one truth mask, as the benchmark counts them."""
    score = Score("one")
    score.add(proposed.astype(bool), truth.astype(bool))
    return score.precision, score.recall


def damage_for(image: np.ndarray, kind: str, size: int | tuple[int, int], seed: Sequence[int]) -> Damage:
    """The seeded damage of one benchmark row: kind "scratch" (size = width) or "speck" (size = (lo, hi))."""
    rng = np.random.default_rng(list(seed))
    if kind == "scratch":
        assert isinstance(size, int)
        return add_scratches(image, rng, float(size), count=SCRATCHES_PER_PHOTO)
    assert isinstance(size, tuple)
    return add_specks(image, rng, (float(size[0]), float(size[1])), count=SPECKS_PER_PHOTO)


def _tile_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Mirror-tile a photo up to width x height (a large photo with photo statistics, for timing)."""
    reps_y, reps_x = -(-height // image.shape[0]), -(-width // image.shape[1])
    row = np.concatenate([image if i % 2 == 0 else image[:, ::-1] for i in range(reps_x)], axis=1)
    tall = np.concatenate([row if i % 2 == 0 else row[::-1] for i in range(reps_y)], axis=0)
    return np.ascontiguousarray(tall[:height, :width])


def time_detection(
    image: np.ndarray, sensitivity: float, max_width: int, runs: int = 3, preview_side: int | None = None
) -> float:
    """Median seconds of `detect_scratches` on `image` over `runs` runs (after one warm-up)."""
    return _median_time(
        lambda: detect_scratches(image, sensitivity, max_width, preview_side=preview_side), runs
    )


def run_scratch_bench(
    images: Sequence[tuple[str, np.ndarray]],
    *,
    sensitivities: Sequence[float] = (DEFAULT_SENSITIVITY,),
    max_width: int = DEFAULT_MAX_WIDTH,
    seed: int = 0,
    widths: Sequence[int] = WIDTHS,
    speck_bins: Sequence[tuple[int, int]] = SPECK_BINS,
    textures: bool = True,
    speed: bool = True,
    log: Log | None = None,
) -> ScratchReport:
    """Score the detector on damaged copies of `images` ((name, pixels) pairs); see the module docstring.

    Each damaged image is analysed once (`analyse_scratches`) and thresholded at every sensitivity.
    """
    if not images:
        raise InpaintError("no photos to benchmark on")
    levels = tuple(float(s) for s in sensitivities)
    report = ScratchReport(len(images), levels, max_width, seed)
    rows: list[tuple[str, int | tuple[int, int], str]] = [("scratch", w, f"scratches {w} px") for w in widths]
    rows += [("speck", b, f"specks {b[0]}-{b[1]} px") for b in speck_bins]
    scores = {s: {label: Score(label) for _, _, label in rows} for s in levels}
    clean = {s: FalsePositives("clean photos") for s in levels}
    for index, (name, pixels) in enumerate(images):
        if log is not None:
            log(f"{index + 1}/{len(images)} {name}")
        analysis = analyse_scratches(pixels, max_width)
        for s in levels:
            clean[s].rates.append(float(analysis.mask(s).mean()))
        for kind, size, label in rows:
            key = size if isinstance(size, int) else size[0]
            damage = damage_for(pixels, kind, size, (seed, index, key, 0 if kind == "scratch" else 1))
            analysis = analyse_scratches(damage.image, max_width)
            for s in levels:
                scores[s][label].add(analysis.mask(s), damage.truth)
    for s in levels:
        report.scores[s] = [scores[s][label] for _, _, label in rows]
        report.clean[s] = [clean[s]]
    if textures:
        for kind in TEXTURES:
            fps = {s: FalsePositives(f"texture: {kind}") for s in levels}
            for k in range(3):
                analysis = analyse_scratches(
                    texture(kind, TEXTURE_SIZE, TEXTURE_SIZE, seed=seed + k), max_width
                )
                for s in levels:
                    fps[s].rates.append(float(analysis.mask(s).mean()))
            for s in levels:
                report.clean[s].append(fps[s])
    if speed:
        big = _tile_to(images[0][1], 3000, 2000)
        if log is not None:
            log("timing on a 3000x2000 photo")
        s0 = levels[0]
        report.speed["detect_scratches, full 6 MP"] = time_detection(big, s0, max_width)
        analysis = analyse_scratches(big, max_width)
        report.speed["ScratchAnalysis.mask (new sensitivity), full 6 MP"] = _median_time(
            lambda: analysis.mask(s0)
        )
        for side in (1600, 1024):
            report.speed[f"detect_scratches, preview_side={side}"] = time_detection(
                big, s0, max_width, preview_side=side
            )
    return report


def _median_time(fn: Callable[[], object], runs: int = 3) -> float:
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


def format_report(report: ScratchReport) -> str:
    """Markdown tables: precision/recall per row and sensitivity, false-positive rates, timings."""
    levels = report.sensitivities
    head = " | ".join(f"P / R at {s:g}" for s in levels)
    lines = [
        f"Scratch detection: {report.photos} photos, max width {report.max_width} px, seed {report.seed}; "
        f"precision (P) and recall (R) per sensitivity",
        "",
        f"| damage | true px | {head} |",
        "|---|---:|" + "---:|" * len(levels),
    ]
    first = report.scores[levels[0]]
    for i, row in enumerate(first):
        cells = " | ".join(
            f"{report.scores[s][i].precision:.3f} / {report.scores[s][i].recall:.3f}" for s in levels
        )
        lines.append(f"| {row.label} | {row.truth} | {cells} |")
    head = " | ".join(f"mean / worst at {s:g}" for s in levels)
    lines += ["", f"| undamaged: proposed pixels | images | {head} |", "|---|---:|" + "---:|" * len(levels)]
    for i, fp in enumerate(report.clean[levels[0]]):
        cells = " | ".join(f"{report.clean[s][i].mean:.3%} / {report.clean[s][i].worst:.3%}" for s in levels)
        lines.append(f"| {fp.label} | {len(fp.rates)} | {cells} |")
    if report.speed:
        lines += ["", f"| on a 3000x2000 photo, sensitivity {levels[0]:g} | median s |", "|---|---:|"]
        lines += [f"| {label} | {seconds:.3f} |" for label, seconds in report.speed.items()]
    return "\n".join(lines)
