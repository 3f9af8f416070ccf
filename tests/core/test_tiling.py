"""Thin holes on a large photo are filled in tiles the model sees at full resolution (inpaint_core/tiling.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inpaint_core.api import InpaintRequest
from inpaint_core.boxes import Box
from inpaint_core.engine import InpaintEngine
from inpaint_core.tiling import TILE, is_thin, plan_jobs
from tests.helpers.photos import box_mask, synthetic_photo

H, W = 700, 1400


def _scratch() -> np.ndarray:
    """A 3-px scratch from corner to corner: its window is the whole photo."""
    mask = np.zeros((H, W), np.uint8)
    cv2.line(mask, (5, 10), (W - 10, H - 5), 255, 3)
    return mask > 0


def _model_inputs(engine: InpaintEngine, weights: Path) -> tuple[list[tuple[int, ...]], object]:
    shapes: list[tuple[int, ...]] = []
    model = engine.get_model(weights, torch.device("cpu"), "fp32")
    handle = model.coarse.register_forward_pre_hook(lambda _m, args: shapes.append(tuple(args[0].shape)))
    return shapes, handle


def test_is_thin() -> None:
    assert is_thin(_scratch())
    # a 60-px square: its centre is 30 px from the edge
    assert not is_thin(box_mask(100, 100, 20, 20, 80, 80))
    assert is_thin(np.ones((10, 300), bool))  # a 10-px band filling its crop: the crop's border is not known


def test_plan_cuts_only_thin_windows_the_model_would_shrink() -> None:
    whole = Box(0, 0, W, H)
    jobs = plan_jobs(_scratch(), [whole], max_side=512, min_margin=32)
    assert len(jobs) > 1
    for job in jobs:
        assert max(job.window.width, job.window.height) <= TILE
        assert whole.contains(job.window.x0, job.window.y0) and job.window.x1 <= W and job.window.y1 <= H
    owns = [job.own for job in jobs]
    # each pixel has one owner
    assert all(not a.overlaps(b) for i, a in enumerate(owns) for b in owns[i + 1 :])
    covered = np.zeros((H, W), bool)
    for own in owns:
        covered[own.slices] = True
    assert covered[_scratch()].all()
    assert len(plan_jobs(_scratch(), [whole], max_side=2048, min_margin=32)) == 1  # fits: not cut
    blob = box_mask(H, W, 100, 100, 600, 1300)  # wide: needs the whole window's context
    assert [j.window for j in plan_jobs(blob, [whole], max_side=512, min_margin=32)] == [whole]


@pytest.mark.slow
def test_a_scratch_across_the_photo_is_filled_at_full_resolution(
    engine: InpaintEngine, random_weights: Path
) -> None:
    image = synthetic_photo(H, W)
    mask = _scratch()
    shapes, handle = _model_inputs(engine, random_weights)
    try:
        result = engine.run(InpaintRequest(image=image, mask=mask, device="cpu", weights=random_weights))
    finally:
        handle.remove()  # type: ignore[attr-defined]
    assert len(shapes) == len(result.windows) > 1
    for box, shape in zip(result.windows, shapes):
        assert result.model_sizes[result.windows.index(box)] == (box.height, box.width)  # not shrunk
        assert shape[2] >= box.height and shape[3] >= box.width  # padded to a multiple of 8 only
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert (result.image[mask] != 255).any()
    field = result.attention
    assert field is not None
    alpha = field.flow_rgba()[..., 3] > 0
    assert not alpha[~mask].any() and alpha[mask].mean() > 0.5  # each scratch pixel coloured by its own tile
    ys, xs = np.nonzero(mask)
    for y, x in zip(ys[:: len(ys) // 20], xs[:: len(xs) // 20]):
        win = field._window_at(int(x), int(y))
        assert win is not None and win.hole.sum() > 0


def test_tiled_classical_fill_matches_the_whole_photo_fill(engine: InpaintEngine) -> None:
    image = synthetic_photo(H, W)
    mask = _scratch()
    tiled = engine.run(InpaintRequest(image=image, mask=mask, engine="telea"))
    assert len(tiled.windows) > 1
    whole = cv2.inpaint(image, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    diff = np.abs(tiled.image.astype(int) - whole.astype(int))[mask]
    assert np.median(diff) <= 1 and diff.mean() < 2  # Telea is local: the tiles change next to nothing


def test_a_time_budget_keeps_the_one_shrunk_window(engine: InpaintEngine) -> None:
    image = synthetic_photo(H, W)
    request = InpaintRequest(image=image, mask=_scratch(), engine="telea", max_gflop=50.0)
    assert engine.run(request).windows == [Box(0, 0, W, H)]


def test_dust_is_not_cut_into_a_tile_per_speck() -> None:
    """1,000-dot dust made 569 tiles on 12 MP (issue #24): specks keep their window, as before tiling; a scratch
    among them still tiles."""
    rng = np.random.default_rng(0)
    dust = np.zeros((H, W), np.uint8)
    for x, y in zip(rng.integers(10, W - 10, 300), rng.integers(10, H - 10, 300), strict=True):
        cv2.circle(dust, (int(x), int(y)), 3, 255, -1)
    whole = Box(0, 0, W, H)
    assert [j.window for j in plan_jobs(dust > 0, [whole], max_side=512, min_margin=32)] == [whole]
    assert len(plan_jobs((dust > 0) | _scratch(), [whole], max_side=512, min_margin=32)) > 1
