"""The quality benchmark: hole PSNR, L1 and SSIM per NVIDIA mask-ratio bin, for each engine.

Protocol (the one the model card's table comes from):
- Images: every image under the images folder (recursive, sorted by relative path); grey converted to RGB;
  each centre-cropped to a square and resized to `size` (area filter).
- Masks: the masks folder's PNGs sorted by name and split into `BIN_COUNT` equal blocks, one per hole-ratio bin
  (the NVIDIA irregular mask test set: 6 blocks of 2,000, 1-10% ... 50-60%). Only the held-out masks are drawn:
  index % 4 == 0 (inpaint_core/mask_split.py; training reads the others), 500 per NVIDIA block. Each mask is
  centre-cropped to a square and resized to `size` with nearest neighbour; a hole by the engine's rule.
- Pairing: per bin, a generator seeded with (seed, bin) shuffles the images and draws masks from the bin's block,
  so a run is reproducible and each bin gets an independent draw.
- Fill: what a user gets: `InpaintEngine.run` with the default request (windows, model resolution, paste and
  edge blend as the editor and the CLI use them; `edge_blend` can be overridden to study it), on the image
  with its hole pre-painted white, as the object a user removes: an original pixel that came back into the
  result would cost PSNR (a fill of the true pixels would hide it). `precision` (e.g. bf16 against fp32) and
  `max_side` (the model sees the window resized to it: what the adaptive model resolution costs, docs/BENCHMARKS.md
  "Interactive path") can be overridden to measure their quality cost.
- DeepFill's fill is seam-matched (seam.py) as users get it; `raw` adds a row without it, to show what the
  model alone gives.
- Metrics (metrics.py): inside the hole, on [0, 1] values; the table reports their means over the pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inpaint_core.api import DEEPFILL, ENGINES, MODEL_MULTIPLE, InpaintRequest
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import ImageLoadError, InpaintError, MaskError
from inpaint_core.image_io import IMAGE_EXTENSIONS, load_mask, load_rgb8
from inpaint_core.mask_split import HOLDOUT_EVERY, benchmark_masks
from inpaint_core.metrics import hole_metrics
from inpaint_core.model.generator import DeepFillV2Generator

BIN_COUNT = 6
BIN_LABELS: tuple[str, ...] = ("1-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%")
EDGES_ENGINE = "deepfill+edges"
RAW_ENGINE = "deepfill-raw"  # DeepFill's output without seam matching (seam.py): what the blending adds

Log = Callable[[str], None]


@dataclass(frozen=True)
class Pair:
    """One evaluation sample: an image (index into the image list) and a mask file of a bin."""

    bin: int
    image: int
    mask: Path


@dataclass
class BinScore:
    """Mean metrics of one engine on one bin."""

    engine: str
    bin: int
    count: int = 0
    psnr: float = 0.0
    l1: float = 0.0
    ssim: float = 0.0
    hole_ratio: float = 0.0  # mean measured hole fraction at the benchmark size
    # mean gradient-energy ratio in the hole, fill against truth (metrics.hole_sharpness)
    sharpness: float = 0.0
    sharp_count: int = 0  # pairs whose truth had detail in the hole (the others have no ratio)


@dataclass
class QualityReport:
    """The table's rows, in engine then bin order, and the notes (skipped engines)."""

    size: int
    seed: int
    images: int
    scores: list[BinScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def list_images(folder: str | Path) -> list[Path]:
    """Every image file under `folder` (recursive), sorted by relative path for a stable order."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageLoadError(f"images folder not found: {root}")
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if not files:
        raise ImageLoadError(f"no images under {root}")
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def mask_bins(folder: str | Path) -> list[list[Path]]:
    """The mask PNGs sorted by name, split into BIN_COUNT equal blocks (bin 0 = smallest holes), each keeping
    only its held-out masks (index % 4 == 0; training never reads them)."""
    root = Path(folder)
    if not root.is_dir():
        raise MaskError(f"masks folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    per_bin = len(files) // BIN_COUNT
    if per_bin == 0:
        raise MaskError(f"{root} needs at least {BIN_COUNT} PNG masks (one block per hole-ratio bin)")
    held_out = set(benchmark_masks(files))
    bins = [[p for p in files[b * per_bin : (b + 1) * per_bin] if p in held_out] for b in range(BIN_COUNT)]
    if not all(bins):
        raise MaskError(
            f"{root}: a hole-ratio block has no held-out mask (index % {HOLDOUT_EVERY} == 0); "
            f"give each block at least {HOLDOUT_EVERY} masks"
        )
    return bins


def make_pairs(
    n_images: int, bins: list[list[Path]], wanted: Sequence[int], count: int, seed: int
) -> list[Pair]:
    """Seeded image/mask pairs: `count` per wanted bin; images shuffled (cycled when count > n_images) and
    masks drawn without replacement while the bin has enough."""
    pairs: list[Pair] = []
    for b in wanted:
        if not 0 <= b < BIN_COUNT:
            raise InpaintError(f"mask bin {b} is out of range 0..{BIN_COUNT - 1}")
        rng = np.random.default_rng([seed, b])
        order = rng.permutation(n_images)
        images = [int(order[i % n_images]) for i in range(count)]
        block = bins[b]
        picks = rng.choice(len(block), size=count, replace=count > len(block))
        pairs.extend(Pair(b, img, block[int(m)]) for img, m in zip(images, picks, strict=True))
    return pairs


def _centre_square(array: np.ndarray) -> np.ndarray:
    h, w = array.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return array[y0 : y0 + side, x0 : x0 + side]


def load_eval_image(path: Path, size: int) -> np.ndarray:
    """RGB uint8 (EXIF orientation applied, as everywhere), centre-cropped to a square, resized to size x size.

    Shape: -> (size, size, 3) uint8
    """
    square = _centre_square(load_rgb8(path))
    interp = cv2.INTER_AREA if square.shape[0] >= size else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(square, (size, size), interpolation=interp))


def load_eval_mask(path: Path, size: int) -> np.ndarray:
    """A bool hole mask by the engine's rule (`image_io.load_mask`: not black, not transparent), centre-cropped
    square, nearest-resized to size x size.

    Shape: -> (size, size) bool
    """
    square = np.ascontiguousarray(_centre_square(load_mask(path).astype(np.uint8)))
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_NEAREST) > 0


def run_quality(
    images_dir: str | Path,
    masks_dir: str | Path,
    *,
    size: int = 256,
    engines: Sequence[str] = ENGINES,
    bins: Sequence[int] = (1, 3, 5),
    count: int | None = None,
    seed: int = 0,
    weights: str | Path | None = None,
    guide_edges: bool = False,
    raw: bool = False,
    device: str = "auto",
    edge_blend: int | None = None,
    precision: str | None = None,
    max_side: int | None = None,
    log: Log | None = None,
) -> QualityReport:
    """Score each engine on seeded image/mask pairs per bin. See the module docstring for the protocol.

    `count` pairs per bin (default: the number of images, so each image is used once per bin). DeepFill is
    skipped with a note when there are no weights (none shipped and `weights` is None); `guide_edges` adds the
    row "deepfill+edges" with the guide channel fed the ground truth's edges (weights with a guide channel only);
    `raw` adds the row "deepfill-raw": the model's output as it is, without seam matching.
    `edge_blend`, `precision` and `max_side` override the request's defaults (None: the default, what users get).
    """
    say: Log = log or (lambda _msg: None)
    if size <= 0 or size % MODEL_MULTIPLE:
        raise InpaintError(f"size must be a positive multiple of {MODEL_MULTIPLE}, got {size}")
    for engine in engines:
        if engine not in ENGINES:
            raise InpaintError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    image_files = list_images(images_dir)
    mask_blocks = mask_bins(masks_dir)
    n = count if count is not None else len(image_files)
    if n <= 0:
        raise InpaintError(f"the image count must be positive, got {n}")
    pairs = make_pairs(len(image_files), mask_blocks, bins, n, seed)
    report = QualityReport(size=size, seed=seed, images=len(image_files))

    fills: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}
    runner = InpaintEngine()
    overrides = {"edge_blend": edge_blend, "precision": precision, "max_side": max_side}
    through = partial(
        engine_result,
        runner,
        weights=weights,
        device=device,
        overrides={k: v for k, v in overrides.items() if v is not None},
    )
    for engine in engines:
        if engine != DEEPFILL:  # classical, PatchMatch, auto: no weights to load
            fills[engine] = partial(through, engine)
            continue
        model = engine_model(runner, weights, device, report)
        if model is None:
            continue
        fills[DEEPFILL] = partial(through, DEEPFILL)
        if raw:
            fills[RAW_ENGINE] = partial(
                engine_result,
                runner,
                DEEPFILL,
                weights=weights,
                device=device,
                overrides={**through.keywords["overrides"], "match_seam": False},
            )
        if guide_edges:
            if not model.config.guide_channel:
                report.notes.append(f"{EDGES_ENGINE} skipped: these weights have no guide channel")
            else:
                fills[EDGES_ENGINE] = partial(through, DEEPFILL, guide_from_truth=True)
    if guide_edges and "deepfill" not in engines:
        report.notes.append(f"{EDGES_ENGINE} needs the deepfill engine among the engines")

    cache: dict[int, np.ndarray] = {}
    sums: dict[tuple[str, int], BinScore] = {}
    empty = 0
    for i, pair in enumerate(pairs):
        if pair.image not in cache:
            cache[pair.image] = load_eval_image(image_files[pair.image], size)
        truth = cache[pair.image]
        hole = load_eval_mask(pair.mask, size)
        if not hole.any():
            empty += 1  # a tiny hole can vanish at a small size: nothing to measure
            continue
        for name, fill in fills.items():
            result = fill(truth, hole)
            m = hole_metrics(result, truth, hole)
            acc = sums.setdefault((name, pair.bin), BinScore(name, pair.bin))
            acc.count += 1
            acc.psnr += m["psnr"]
            acc.l1 += m["l1"]
            acc.ssim += m["ssim"]
            acc.hole_ratio += float(hole.mean())
            if math.isfinite(m["sharpness"]):
                acc.sharpness += m["sharpness"]
                acc.sharp_count += 1
        if (i + 1) % 50 == 0:
            say(f"{i + 1}/{len(pairs)} pairs")
    if empty:
        report.notes.append(f"{empty} pair(s) skipped: the mask had no hole left at {size}x{size}")
    for name in fills:
        for b in bins:
            total = sums.get((name, b))
            if total is None or total.count == 0:
                continue
            k = float(total.count)
            report.scores.append(
                BinScore(
                    name,
                    b,
                    total.count,
                    total.psnr / k,
                    total.l1 / k,
                    total.ssim / k,
                    total.hole_ratio / k,
                    total.sharpness / max(1, total.sharp_count),
                    total.sharp_count,
                )
            )
    return report


def engine_result(
    runner: InpaintEngine,
    engine: str,
    truth: np.ndarray,
    hole: np.ndarray,
    *,
    weights: str | Path | None,
    device: str,
    overrides: dict[str, Any] | None = None,
    guide_from_truth: bool = False,
) -> np.ndarray:
    """The engine's result for `truth` with its hole pre-painted white (see the module docstring).

    Only what the benchmark chooses departs from the default request: the engine, the weights, the device,
    `overrides` (e.g. edge_blend, precision, max_side) when given, and for "deepfill+edges" the ground truth's
    edges as the guide.

    Shape: truth (S, S, 3) uint8, hole (S, S) bool -> (S, S, 3) uint8
    """
    painted = truth.copy()
    painted[hole] = 255
    guide = None
    if guide_from_truth:
        from inpaint_core.guide import edges_for_guide

        guide = edges_for_guide(truth, hole)
    request = InpaintRequest(
        image=painted, mask=hole, guide=guide, engine=engine, weights=weights, device=device
    )
    if overrides:
        request = replace(request, **overrides)
    return runner.run(request).image


def engine_model(
    runner: InpaintEngine, weights: str | Path | None, device: str, report: QualityReport
) -> DeepFillV2Generator | None:
    """The engine's DeepFill model (loaded once, cached by the engine); None with a note when none ships."""
    from inpaint_core.devices import resolve_device
    from inpaint_core.manifest import default_weights

    if weights is None and default_weights() is None:
        report.notes.append("deepfill skipped: no weights are shipped yet and none were given")
        return None
    return runner.get_model(weights, resolve_device(device))


def format_table(report: QualityReport) -> str:
    """The markdown table: one row per engine and bin."""
    lines = [
        "| engine | mask bin | hole (measured) | n | PSNR (dB) ↑ | L1 ↓ | SSIM ↑ | sharpness (1 = truth) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in report.scores:
        lines.append(
            f"| {s.engine} | {BIN_LABELS[s.bin]} | {100 * s.hole_ratio:.1f}% | {s.count} | "
            f"{s.psnr:.2f} | {s.l1:.4f} | {s.ssim:.4f} | {s.sharpness:.2f} |"
        )
    return "\n".join(lines)
