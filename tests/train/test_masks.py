"""The free-form mask generator: published constants, per-sample masks, hole-ratio statistics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint_core.hole_masks import box_mask, brush_stroke_mask, folder_mask, free_form_mask, list_mask_files
from tests.conftest import SHARED

SHARED_MASKS = SHARED / "data" / "masks" / "nvidia_irregular"


def test_hole_ratio_statistics_at_256() -> None:
    rng = np.random.default_rng(0)
    ratios = np.array([free_form_mask(256, 256, rng).mean() for _ in range(200)])
    # the box alone covers (128 - 2*dh) x (128 - 2*dw) with dh, dw in 0..16: 96^2 .. 128^2 of 256^2
    assert ratios.min() >= 96 * 96 / 256**2
    # 1-3 strokes of <= 11 segments, each <= 2*45.25 px long and <= 39 px wide, plus the 25% box
    assert ratios.max() <= 0.25 + 3 * 11 * (2 * 45.25 * 39 + np.pi * 20**2) / 256**2
    assert ratios.max() < 0.8  # strokes overlap and get clipped: the practical maximum is far lower
    # box mean ~ E[(128-2d)^2]/256^2 ~ 0.19; two strokes on average add ~ 0.1-0.25 after overlaps and clipping
    assert 0.22 < ratios.mean() < 0.45
    assert ratios.std() > 0.03  # masks vary


def test_masks_differ_per_sample_and_repeat_per_seed() -> None:
    masks = [free_form_mask(256, 256, np.random.default_rng([0, i])) for i in range(8)]
    assert all(not np.array_equal(masks[0], m) for m in masks[1:])
    again = free_form_mask(256, 256, np.random.default_rng([0, 3]))
    assert np.array_equal(again, masks[3])
    assert set(np.unique(masks[0])) <= {0, 1} and masks[0].dtype == np.uint8


def test_box_follows_published_rule() -> None:
    rng = np.random.default_rng(1)
    for _ in range(100):
        m = box_mask(256, 256, rng)
        ys, xs = np.nonzero(m)
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert 96 <= h <= 128 and 96 <= w <= 128
        assert m.sum() == h * w  # one filled rectangle


def test_stroke_widths_scale_with_size() -> None:
    rng = np.random.default_rng(2)
    small = np.mean([brush_stroke_mask(64, 64, rng).mean() for _ in range(100)])
    rng = np.random.default_rng(2)
    large = np.mean([brush_stroke_mask(256, 256, rng).mean() for _ in range(100)])
    assert abs(small - large) < 0.08  # same hole ratio at a quarter of the size


def test_folder_mask_augments(tmp_path: Path) -> None:
    mask = np.zeros((128, 128), np.uint8)
    mask[10:40, 20:100] = 255
    cv2.imwrite(str(tmp_path / "m.png"), mask)
    files = list_mask_files(tmp_path)
    outs = [folder_mask(files[0], 64, np.random.default_rng(i)) for i in range(6)]
    assert all(o.shape == (64, 64) and set(np.unique(o)) <= {0, 1} for o in outs)
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
    ratio = np.mean([o.mean() for o in outs])
    assert 0.05 < ratio < 0.3  # about the 15% of the source (rotation and zoom move it a bit)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_MASKS.is_dir(), reason="../shared/data/masks absent")
def test_nvidia_masks_load() -> None:
    files = list_mask_files(SHARED_MASKS)
    m = folder_mask(files[0], 256, np.random.default_rng(0))
    assert m.shape == (256, 256) and m.any()
