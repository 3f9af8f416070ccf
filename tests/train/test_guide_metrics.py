"""The guide convention (edges inside the hole) and the hole metrics."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.errors import MaskError
from inpaint_core.guide import edges_for_guide
from inpaint_core.metrics import PSNR_CAP_DB, hole_l1, hole_metrics, hole_psnr, hole_ssim


def _square_image() -> np.ndarray:
    img = np.full((64, 64, 3), 30, np.uint8)
    img[16:48, 16:48] = 220
    return img


def test_edges_are_thin_binary_and_inside_the_hole() -> None:
    img = _square_image()
    mask = np.zeros((64, 64), np.uint8)
    mask[:, :32] = 1
    edges = edges_for_guide(img, mask)
    assert edges.dtype == np.uint8 and set(np.unique(edges)) == {0, 1}
    assert not edges[:, 32:].any()  # nothing outside the hole
    full = edges_for_guide(img, np.ones((64, 64), np.uint8))
    # Canny lines are 1 px: the square's outline is ~4*32 pixels, not a thick band
    assert 100 < full.sum() < 180
    assert not edges_for_guide(img, np.zeros((64, 64), np.uint8)).any()


def test_edges_reject_bad_input() -> None:
    with pytest.raises(MaskError):
        edges_for_guide(_square_image(), np.ones((32, 32), np.uint8))


def test_metrics_known_values() -> None:
    target = np.full((32, 32, 3), 100, np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 1
    pred = target.copy()
    assert hole_psnr(pred, target, mask) == PSNR_CAP_DB
    assert hole_l1(pred, target, mask) == 0.0
    assert hole_ssim(pred, target, mask) == pytest.approx(1.0)
    pred_f = target.astype(np.float64) / 255.0
    pred_f[mask == 1] += 0.1
    m = hole_metrics(pred_f, target.astype(np.float64) / 255.0, mask)
    assert m["l1"] == pytest.approx(0.1)
    assert m["psnr"] == pytest.approx(20.0)
    assert m["ssim"] < 1.0
    pred[0, 0] = 0  # outside the hole: ignored by L1 and PSNR
    assert hole_l1(pred, target, mask) == 0.0
    with pytest.raises(MaskError):
        hole_psnr(pred, target, np.zeros_like(mask))
