"""Canvas geometry as pure functions (no Qt)."""

from __future__ import annotations

import math

import pytest

from app.canvas import geometry
from inpaint_core.boxes import Box


@pytest.mark.parametrize("factor", [1.25, 0.8, 3.0, 0.1])
@pytest.mark.parametrize("anchor", [(0.0, 0.0), (120.0, 45.0), (799.0, 599.0)])
def test_zoom_about_keeps_the_point_under_the_cursor(factor: float, anchor: tuple[float, float]) -> None:
    origin, scale = (37.5, -12.0), 0.75
    before = (origin[0] + anchor[0] / scale, origin[1] + anchor[1] / scale)
    new_origin, new_scale = geometry.zoom_about(origin, scale, factor, anchor)
    after = (new_origin[0] + anchor[0] / new_scale, new_origin[1] + anchor[1] / new_scale)
    assert new_scale == pytest.approx(scale * factor)
    assert after == pytest.approx(before)


def test_zoom_is_clamped() -> None:
    _origin, scale = geometry.zoom_about((0, 0), 1.0, 1e6, (10, 10))
    assert scale == geometry.MAX_SCALE
    _origin, scale = geometry.zoom_about((0, 0), 1.0, 1e-9, (10, 10))
    assert scale == geometry.MIN_SCALE


def test_centre_for_and_fit_scale() -> None:
    assert geometry.centre_for((10.0, 20.0), 2.0, (400, 300)) == (110.0, 95.0)
    # 6000x4000 into 1016x716 (minus the 8 px margins): limited by the width
    assert geometry.fit_scale((6000, 4000), (1016, 716)) == pytest.approx(1000 / 6000)
    assert geometry.fit_scale((100, 400), (516, 416)) == pytest.approx(400 / 400)


def test_dab_rect_covers_the_dab_plus_padding() -> None:
    r = geometry.dab_rect(10.0, 20.0, 8.0, pad=1)
    assert (r.x0, r.y0, r.x1, r.y1) == (5, 15, 16, 26)
    # every pixel whose centre is within the radius is inside the rect
    for y in range(0, 40):
        for x in range(0, 40):
            if math.hypot(x + 0.5 - 10.0, y + 0.5 - 20.0) <= 4.0:
                assert r.x0 <= x < r.x1 and r.y0 <= y < r.y1


def test_segment_rect_is_the_union_and_clips() -> None:
    r = geometry.segment_rect((5.0, 5.0), (50.0, 9.0), 4.0, pad=0)
    assert r == geometry.dab_rect(5, 5, 4, 0).union(geometry.dab_rect(50, 9, 4, 0))
    assert r.clipped(30, 30) == Box(3, 3, 30, 12)
    assert Box(-5, -5, -1, -1).clipped(10, 10).is_empty()


def test_dab_positions_spacing_and_endpoints() -> None:
    pts = geometry.dab_positions((0.0, 0.0), (10.0, 0.0), 3.0)
    assert pts[-1] == (10.0, 0.0)
    assert (0.0, 0.0) not in pts
    gaps = [b[0] - a[0] for a, b in zip([(0.0, 0.0), *pts[:-1]], pts)]
    assert max(gaps) <= 3.0 and len(pts) == 4


def test_tiles_touching() -> None:
    assert geometry.tiles_touching(Box(250, 10, 260, 20), 256) == [(0, 0), (1, 0)]
    assert geometry.tiles_touching(Box(0, 0, 256, 256), 256) == [(0, 0)]
    assert geometry.tiles_touching(geometry.EMPTY, 256) == []


def test_step_brush_size() -> None:
    assert geometry.step_brush_size(1, -1) == 1
    assert geometry.step_brush_size(1, 1) == 2
    assert geometry.step_brush_size(100, 1) == 115
    assert geometry.step_brush_size(100, -1) == 87
    assert geometry.step_brush_size(1000, 1) == 1000
