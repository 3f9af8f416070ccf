"""Source-reuse heat map: hand-computed values, and the total equals the attention weights of every filled pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inpaint_core.engine import InpaintEngine, InpaintRequest
from inpaint_core.flow import AttentionField, WindowAttention
from inpaint_core.image_ops import Box
from inpaint_core.restore.reuse import REUSE_RANGE, reuse_density, reuse_legend, reuse_rgba
from tests.helpers.photos import synthetic_photo


def _one_target_window() -> WindowAttention:
    """A 32x32 window at scale 1 (a 4x4 grid): the hole is cell (0, 0); every cell borrows 0.6 from cell (2, 2)
    and 0.3 from cell (3, 3)."""
    k, h, w = 2, 4, 4
    index = np.empty((k, h, w), np.int64)
    index[0], index[1] = 2 * w + 2, 3 * w + 3
    weight = np.empty((k, h, w), np.float32)
    weight[0], weight[1] = 0.6, 0.3
    hole = np.zeros((32, 32), bool)
    hole[:8, :8] = True
    return WindowAttention(
        box=Box(40, 20, 72, 52),
        scale_x=1.0,
        scale_y=1.0,
        topk_index=index,
        topk_weight=weight,
        offsets=np.zeros((2, h, w), np.float32),
        valid=np.ones((h, w), bool),
        hole=hole,
    )


def test_hand_computed_density() -> None:
    density = reuse_density(AttentionField([_one_target_window()], (60, 80)))

    # 64 filled pixels hand 0.6 each to cell (2, 2) and 0.3 each to the corner cell (3, 3): 38.4 and 19.2.
    # A patch covers its cell (1/4) and half of each neighbour (1/8 sides, 1/16 corners); what falls off the
    # grid is folded back, so the corner cell keeps 1/4 + 2/8 + 1/16 = 9/16 of its own amount.
    def cell(cy: int, cx: int) -> np.ndarray:
        return density[20 + 8 * cy : 28 + 8 * cy, 40 + 8 * cx : 48 + 8 * cx]

    np.testing.assert_allclose(cell(2, 2), (38.4 / 4 + 19.2 / 16) / 64, rtol=1e-6)
    np.testing.assert_allclose(cell(3, 3), (38.4 / 16 + 19.2 * 9 / 16) / 64, rtol=1e-6)
    np.testing.assert_allclose(cell(1, 1), 38.4 / 16 / 64, rtol=1e-6)
    np.testing.assert_allclose(cell(2, 3), (38.4 / 8 + 19.2 * (1 / 8 + 1 / 16)) / 64, rtol=1e-6)
    assert (cell(0, 0) == 0).all()  # nobody borrowed from the hole
    assert density.sum() == pytest.approx(38.4 + 19.2, rel=1e-6)
    assert density[:20].sum() == 0 and density[:, :40].sum() == 0  # nothing outside the window


def test_invalid_cells_and_zero_weights_give_nothing() -> None:
    win = _one_target_window()
    valid = win.valid.copy()
    valid[0, 0] = False
    field = AttentionField([WindowAttention(**{**win.__dict__, "valid": valid})], (60, 80))
    assert reuse_density(field).sum() == 0


def _query_total(field: AttentionField, mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    return sum(s.weight for x, y in zip(xs, ys) for s in field.query(x, y))


@pytest.mark.parametrize(("height", "width", "max_side"), [(97, 131, 512), (203, 317, 96)])
def test_sums_to_the_attention_weights(random_weights: Path, height: int, width: int, max_side: int) -> None:
    image = synthetic_photo(height, width)
    mask = np.zeros((height, width), bool)
    mask[10:30, 12:40] = True  # two holes far apart ...
    mask[height - 25 : height - 9, width - 33 : width - 6] = True
    engine = InpaintEngine(min_side=64, min_margin=8)  # ... in separate windows
    result = engine.run(
        InpaintRequest(image=image, mask=mask, weights=random_weights, device="cpu", max_side=max_side)
    )
    assert result.attention is not None and len(result.windows) == 2
    density = reuse_density(result.attention)
    assert density.shape == (height, width) and (density >= 0).all()
    expected = _query_total(result.attention, mask)
    assert expected > 1.0
    assert density.sum() == pytest.approx(expected, rel=1e-4)
    inside = np.zeros_like(mask)
    for box in result.windows:
        inside[box.slices] = True
    assert density[~inside].sum() == 0


def test_overlay_colours_are_on_a_fixed_scale() -> None:
    density = np.array([[0.0, REUSE_RANGE[0] / 10, 1.0, REUSE_RANGE[1] * 5]], np.float32)
    rgba = reuse_rgba(density)
    assert rgba.shape == (1, 4, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[0, 1, 3] == 0  # nothing or next to nothing borrowed: transparent
    assert rgba[0, 2, 3] == 255 and rgba[0, 3, 3] == 255
    # the colour of a value does not depend on the other values in the map
    np.testing.assert_array_equal(reuse_rgba(np.array([[1.0]], np.float32))[0, 0], rgba[0, 2])
    np.testing.assert_array_equal(reuse_rgba(np.array([[REUSE_RANGE[1]]], np.float32))[0, 0], rgba[0, 3])
    assert rgba[0, 3, :3].astype(int).sum() > rgba[0, 2, :3].astype(int).sum()  # brighter for more reuse


def test_legend() -> None:
    legend = reuse_legend(300, 60)
    assert legend.shape == (60, 300, 4) and legend.dtype == np.uint8
    bar = legend[12, 10:290, :3].astype(int).sum(axis=1)
    assert bar[-1] > bar[0]  # dark (little) to bright (much)
    assert (legend[45:, :, :3] < 100).any()  # tick labels and caption are drawn
