"""Seam matching: the membrane solves Laplace's equation, and a fill meets the photo without a step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inpaint_core.api import InpaintRequest
from inpaint_core.engine import InpaintEngine
from inpaint_core.seam import match_seam, membrane
from tests.helpers.photos import synthetic_photo


def _blob(h: int, w: int) -> np.ndarray:
    """An irregular hole away from the frame: a disc and a bar."""
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - h * 0.45) ** 2 + (xx - w * 0.4) ** 2 < (min(h, w) * 0.22) ** 2
    bar = (abs(yy - h * 0.6) < 4) & (xx > w * 0.3) & (xx < w * 0.85)
    return disc | bar


def test_membrane_reproduces_a_plane_and_keeps_the_known_pixels() -> None:
    h, w = 90, 130
    hole = _blob(h, w)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    plane = np.stack([0.003 * xx + 0.001 * yy, 0.5 - 0.002 * yy, np.full_like(xx, 0.25)], axis=-1)
    noisy = plane.copy()
    noisy[hole] = 7.0  # the unknown pixels' values must not matter
    out = membrane(noisy, ~hole)
    assert np.array_equal(out[~hole], plane[~hole])
    # A plane is harmonic: the solution inside is the plane itself
    assert np.abs(out[hole] - plane[hole]).max() < 2e-3


def test_membrane_without_known_pixels_is_zero() -> None:
    out = membrane(np.ones((20, 30, 3), np.float32), np.zeros((20, 30), bool))
    assert out.shape == (20, 30, 3) and not out.any()


def test_a_cast_fill_is_shifted_back_and_keeps_its_detail() -> None:
    rng = np.random.default_rng(0)
    h, w = 96, 128
    truth = np.clip(synthetic_photo(h, w).astype(np.float32) / 255 * 0.6 + 0.2, 0, 1)
    hole = _blob(h, w)
    xx = np.mgrid[:h, :w][1].astype(np.float32)
    cast = (0.1 + 0.001 * xx)[..., None] * np.array([1.0, -0.5, 0.3], np.float32)  # a smooth colour cast
    fill = truth + cast
    fill[hole] += rng.normal(0, 0.02, (int(hole.sum()), 3)).astype(np.float32)  # detail of the fill's own
    image = truth.copy()
    image[hole] = 1.0  # the hole's pixels are painted over: never read
    out = match_seam(fill, image, hole)
    assert np.array_equal(out[~hole], image[~hole])
    before = np.abs(fill[hole] - truth[hole]).mean()
    after = np.abs(out[hole] - truth[hole]).mean()
    assert before > 0.09 and after < 0.02  # the cast is gone, only the fill's own noise (about 0.016) is left
    # the detail is kept: the fill's pixel-to-pixel differences survive
    assert np.corrcoef((out - truth)[hole][:, 0], (fill - truth - cast)[hole][:, 0])[0, 1] > 0.9


def test_match_seam_clips_to_the_unit_range() -> None:
    hole = _blob(40, 40)
    image = np.full((40, 40, 3), 0.95, np.float32)
    fill = np.full((40, 40, 3), 0.5, np.float32)
    fill[hole] = 0.9  # the hole is 0.4 brighter than the fill around it: shifted by +0.45 it would pass 1
    out = match_seam(fill, image, hole)
    assert out.max() <= 1.0 and out[hole].min() > 0.99


def _border_step(result: np.ndarray, hole: np.ndarray) -> float:
    """Mean absolute difference between each hole pixel and its known left or right neighbour."""
    r = result.astype(np.float64)
    steps = [np.abs(r[:, 1:] - r[:, :-1])[hole[:, 1:] != hole[:, :-1]]]
    return float(np.concatenate(steps).mean())


def test_the_engine_matches_seams_by_default_and_not_when_asked(random_weights: Path) -> None:
    image = synthetic_photo(64, 96)
    hole = np.zeros((64, 96), bool)
    hole[20:44, 30:70] = True
    engine = InpaintEngine()
    matched = engine.run(InpaintRequest(image=image, mask=hole, weights=random_weights, device="cpu"))
    raw = engine.run(
        InpaintRequest(image=image, mask=hole, weights=random_weights, device="cpu", match_seam=False)
    )
    assert np.array_equal(matched.image[~hole], image[~hole])
    assert np.array_equal(raw.image[~hole], image[~hole])
    # An untrained model's fill is far off the photo; matched, it meets the photo with a small step only
    assert _border_step(matched.image, hole) < 0.5 * _border_step(raw.image, hole)
