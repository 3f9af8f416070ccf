"""The comparison picture for people: input with its hole | NS | PatchMatch | Auto | DeepFill | DeepFill with a
sketch | original. The DeepFill columns appear when there are weights (shipped or `weights`), with a guide channel
for the sketch column; without weights the picture shows what users get today.

Rows are seeded image/mask pairs from one NVIDIA mask-ratio bin, chosen exactly as `bench quality` chooses them,
or (`masks="generated"`) the project's own free-form training masks (`hole_masks.py`), seeded: a picture
with those holds nothing from the NVIDIA set, so with free photos it can be published (the README's picture).
The sketch column feeds the guide channel the ground truth's edges inside the hole (what a careful sketch gives).
Every fill goes through the engine with its default request (`bench.quality.engine_result`), so the picture
shows what a user gets, not a bare forward beside it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import cv2
import numpy as np

from inpaint_core.api import AUTO, DEEPFILL, NS, PATCHMATCH
from inpaint_core.bench.quality import (
    QualityReport,
    engine_model,
    engine_result,
    list_images,
    load_eval_image,
    load_eval_mask,
    make_pairs,
    mask_bins,
)
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import InpaintError, WeightsMissingError
from inpaint_core.manifest import default_weights

CLASSICAL_COLUMNS = (("Navier-Stokes", NS), ("PatchMatch", PATCHMATCH), ("Auto", AUTO))
DEEPFILL_COLUMNS = ("DeepFill", "DeepFill + sketch")
HEADER_PX = 28
HOLE_GREY = 235  # the hole is shown near-white in the input column, as the published figures do
GENERATED = "generated"  # `masks` value: seeded free-form masks instead of a folder of NVIDIA masks


def _header(width: int, tile: int, columns: list[str]) -> np.ndarray:
    bar = np.full((HEADER_PX, width, 3), 255, np.uint8)
    for i, title in enumerate(columns):
        (tw, th), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
        x = i * tile + (tile - tw) // 2
        cv2.putText(
            bar, title, (x, (HEADER_PX + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA
        )
    return bar


def comparison_grid(
    images: str | Path,
    masks: str | Path,
    *,
    weights: str | Path | None = None,
    count: int = 8,
    mask_bin: int = 3,
    size: int = 256,
    seed: int = 0,
    device: str = "auto",
) -> np.ndarray:
    """The picture as one RGB array.

    Shape: -> (HEADER_PX + count*size, columns*size, 3) uint8: 5 columns without weights, 7 with guided ones
    """
    paths = list_images(images)
    if not paths:
        raise InpaintError(f"no images in {images}")
    report = QualityReport(size=size, seed=seed, images=len(paths))
    # every column is the engine's fill with its defaults, as `bench quality` measures
    runner = InpaintEngine()
    model = None
    if weights is not None or default_weights() is not None:
        model = engine_model(runner, weights, device, report)
        if model is None:
            raise WeightsMissingError("; ".join(report.notes))
    fills = [
        (title, partial(engine_result, runner, engine, weights=weights, device=device))
        for title, engine in CLASSICAL_COLUMNS
    ]
    if model is not None:
        through = partial(engine_result, runner, DEEPFILL, weights=weights, device=device)
        fills.append((DEEPFILL_COLUMNS[0], through))
        if model.config.guide_channel:  # the sketch: the truth's edges inside the hole
            fills.append((DEEPFILL_COLUMNS[1], partial(through, guide_from_truth=True)))
    columns = ["input", *(title for title, _ in fills), "original"]
    rows = []
    for image_index, hole in _rows(len(paths), masks, mask_bin, count, size, seed):
        truth = load_eval_image(paths[image_index], size)
        shown = truth.copy()
        shown[hole] = HOLE_GREY
        cells = [shown, *(fill(truth, hole) for _, fill in fills), truth]
        rows.append(np.concatenate(cells, axis=1))
    body = np.concatenate(rows, axis=0)
    return np.concatenate([_header(body.shape[1], size, columns), body], axis=0)


def _rows(
    images: int, masks: str | Path, mask_bin: int, count: int, size: int, seed: int
) -> list[tuple[int, np.ndarray]]:
    """(image index, hole) per row: `bench quality`'s pairs, or each image in turn with a generated mask."""
    if str(masks) == GENERATED:
        from inpaint_core.hole_masks import free_form_mask

        return [
            (i % images, free_form_mask(size, size, np.random.default_rng([seed, i])) > 0)
            for i in range(count)
        ]
    pairs = make_pairs(images, mask_bins(masks), [mask_bin], count, seed)
    return [(pair.image, load_eval_mask(pair.mask, size)) for pair in pairs]
