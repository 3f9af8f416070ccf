"""flow: the Middlebury colour wheel on a fixed scale, the legend, and attention queries in image coordinates."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.boxes import Box
from inpaint_core.flow import (
    FLOW_MAX_RADIUS,
    AttentionField,
    WindowAttention,
    flow_to_rgb,
    legend,
    make_colorwheel,
)


def _rgb(dx: float, dy: float) -> np.ndarray:
    return flow_to_rgb(np.array([dx]), np.array([dy]))[0].astype(int)


def test_colorwheel_has_the_middlebury_segments() -> None:
    wheel = make_colorwheel()
    assert wheel.shape == (15 + 6 + 4 + 11 + 13 + 6, 3)
    np.testing.assert_array_equal(wheel[0], (255, 0, 0))  # RY starts at red
    np.testing.assert_array_equal(wheel[15], (255, 255, 0))  # YG starts at yellow
    np.testing.assert_array_equal(wheel[21], (0, 255, 0))  # GC starts at green
    np.testing.assert_array_equal(wheel[25], (0, 255, 255))  # CB starts at cyan
    np.testing.assert_array_equal(wheel[36], (0, 0, 255))  # BM starts at blue
    np.testing.assert_array_equal(wheel[49], (255, 0, 255))  # MR starts at magenta


def test_zero_flow_is_white() -> None:
    np.testing.assert_array_equal(_rgb(0, 0), (255, 255, 255))


def test_known_angles() -> None:
    r = FLOW_MAX_RADIUS
    right = _rgb(r, 0)
    assert right[0] == 255 and right[1] < 30 and right[2] < 60  # +x red
    down = _rgb(0, r)
    assert down[0] == 255 and down[1] > 180 and down[2] < 30  # +y orange-yellow
    left = _rgb(-r, 0)
    assert left[0] < 30 and left[1] > 150 and left[2] == 255  # -x cyan-blue
    up = _rgb(0, -r)
    assert up[2] == 255 and up[1] < 30  # -y blue-violet


def test_fixed_scale_saturates_and_clips() -> None:
    r = FLOW_MAX_RADIUS
    half = _rgb(r / 2, 0)
    full = _rgb(r, 0)
    assert half[1] > full[1] and half[2] > full[2]  # paler at half length
    np.testing.assert_array_equal(_rgb(10 * r, 0), full)  # clipped beyond the fixed radius
    # the colour depends on the offset only, never on the largest offset in the set
    batch = flow_to_rgb(np.array([r / 4, 1000.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(batch[0], _rgb(r / 4, 0))


def test_legend_disc() -> None:
    img = legend(160)
    assert img.shape == (160, 160, 4) and img.dtype == np.uint8
    c = 79
    np.testing.assert_array_equal(img[c + 3, c + 3, :3] > 230, [True, True, True])  # near zero: white
    assert img[0, 0, 3] == 0 and img[c + 5, c + 5, 3] == 255
    # right of the centre, well inside the disc: reddish (the +x direction)
    px = img[c + 4, c + 45]
    assert px[0] > px[1] and px[0] > px[2]


def _window(box: Box, scale: float, offsets_cells: tuple[float, float]) -> WindowAttention:
    mh, mw = round(box.height * scale), round(box.width * scale)
    h, w = -(-mh // 8), -(-mw // 8)
    k = 3
    index = np.zeros((k, h, w), np.int64)
    weight = np.zeros((k, h, w), np.float32)
    for cy in range(h):
        for cx in range(w):
            # sources: the cell to the right, the cell below, the top-left cell
            index[:, cy, cx] = [cy * w + min(cx + 1, w - 1), min(cy + 1, h - 1) * w + cx, 0]
            weight[:, cy, cx] = [0.5, 0.3, 0.1]
    offsets = np.zeros((2, h, w), np.float32)
    offsets[0], offsets[1] = offsets_cells
    hole = np.zeros((box.height, box.width), bool)
    hole[box.height // 4 : box.height * 3 // 4, box.width // 4 : box.width * 3 // 4] = True
    return WindowAttention(
        box=box,
        scale_x=mw / box.width,
        scale_y=mh / box.height,
        topk_index=index,
        topk_weight=weight,
        offsets=offsets,
        valid=np.ones((h, w), bool),
        hole=hole,
    )


def test_query_maps_sources_to_image_coordinates() -> None:
    box = Box(100, 50, 164, 114)  # 64x64 at scale 1: an 8x8 grid
    field = AttentionField([_window(box, 1.0, (0, 1))], (300, 400))
    # pixel (130, 80) is model (30, 30): cell (3, 3); its best source is cell (3, 4), centre model (36, 28)
    sources = field.query(130, 80)
    assert [round(s.weight, 3) for s in sources] == [0.5, 0.3, 0.1]
    assert (sources[0].x, sources[0].y) == (100 + 36, 50 + 28)
    assert (sources[1].x, sources[1].y) == (100 + 28, 50 + 36)
    assert (sources[2].x, sources[2].y) == (100 + 4, 50 + 4)
    assert sources[0].size == 16
    assert field.query(101, 51) == []  # in the window but not in the hole
    assert field.query(10, 10) == []  # outside every window


def test_query_with_scaled_window() -> None:
    box = Box(0, 0, 256, 128)  # seen by the model at half size: 128x64 model pixels, 16x8 cells
    field = AttentionField([_window(box, 0.5, (0, 0))], (128, 256))
    sources = field.query(
        128, 64
    )  # model (63.75, 31.75): cell (3, 7); best source cell (3, 8), centre (68, 28)
    assert sources[0].x == pytest.approx((68 + 0.5) / 0.5 - 0.5)
    assert sources[0].y == pytest.approx((28 + 0.5) / 0.5 - 0.5)
    assert sources[0].size == pytest.approx(32)
    for s in sources:
        assert 0 <= s.x < 256 and 0 <= s.y < 128
    weights = [s.weight for s in sources]
    assert weights == sorted(weights, reverse=True) and sum(weights) <= 1.0


def test_flow_rgba_alpha_only_in_holes_and_same_colour_across_runs() -> None:
    small = AttentionField([_window(Box(10, 10, 74, 74), 1.0, (2, -3))], (100, 120))
    large = AttentionField([_window(Box(500, 300, 1012, 812), 0.25, (2, -3))], (1000, 1200))
    a = small.flow_rgba(100, 120)
    b = large.flow_rgba()
    assert a.shape == (100, 120, 4) and b.shape == (1000, 1200, 4)
    assert (a[..., 3] > 0).sum() == 32 * 32 and a[0, 0, 3] == 0
    hole_a = a[a[..., 3] > 0, :3]
    hole_b = b[b[..., 3] > 0, :3]
    # same offset in model pixels -> same colour, whatever the image size or window scale
    np.testing.assert_array_equal(np.unique(hole_a, axis=0), np.unique(hole_b, axis=0))
    np.testing.assert_array_equal(hole_a[0], flow_to_rgb(np.array(-3 * 8.0), np.array(2 * 8.0)))
    assert small.flow_rgba(50, 60).shape == (50, 60, 4)
