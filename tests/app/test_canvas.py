"""Canvas, tools and history, driven through real mouse events on the view's viewport."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.document import FORBID, GUIDE, MASK
from tests.app.qt_helpers import drag


def _distance_to_segment(h: int, w: int, p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] + 0.5  # pixel centres
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))


def test_brush_stroke_changes_the_mask_under_the_stroke_only(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 20.0), (30.0, 20.0), (50.0, 24.0)])
    mask = window.doc.mask_array()
    d = np.minimum(
        _distance_to_segment(48, 64, (10, 20), (30, 20)), _distance_to_segment(48, 64, (30, 20), (50, 24))
    )
    # view mapping rounds to viewport pixels: allow a one-pixel band at the edge of the brush
    scale = window.view.scale_factor()
    slack = 1.0 + 1.0 / scale
    assert mask[d <= 4 - slack].all()
    assert not mask[d >= 4 + slack].any()
    assert window.doc.undo_stack.count() == 1


def test_undo_redo_of_strokes(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(6)
    drag(window, [(5.0, 5.0), (20.0, 5.0)])
    first = window.doc.layer_alpha(MASK)
    drag(window, [(5.0, 30.0), (40.0, 30.0)])
    second = window.doc.layer_alpha(MASK)
    assert not np.array_equal(first, second)
    window.doc.undo_stack.undo()
    assert np.array_equal(window.doc.layer_alpha(MASK), first)
    window.doc.undo_stack.undo()
    assert not window.doc.layer_alpha(MASK).any()
    window.doc.undo_stack.redo()
    window.doc.undo_stack.redo()
    assert np.array_equal(window.doc.layer_alpha(MASK), second)


def test_eraser_removes_mask(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(12)
    drag(window, [(10.0, 20.0), (50.0, 20.0)])
    window.set_tool("eraser")
    drag(window, [(30.0, 10.0), (30.0, 30.0)])
    mask = window.doc.mask_array()
    assert mask[20, 15] and mask[20, 45]
    assert not mask[18:23, 29:32].any()


def test_guide_pen_is_thin_and_binary_in_its_own_layer(make_window: Any) -> None:
    window = make_window()
    window.set_tool("guide")
    drag(window, [(5.0, 10.0), (55.0, 40.0)])
    alpha = window.doc.layer_alpha(GUIDE)
    assert set(np.unique(alpha)) == {0, 255}  # no antialiasing
    assert 40 <= (alpha > 0).sum() <= 2 * 60 * 2  # one to two pixels wide
    assert not window.doc.layer_alpha(MASK).any()


def test_forbid_brush_goes_to_the_forbid_layer(make_window: Any) -> None:
    window = make_window()
    window.set_tool("forbid")
    window.tool_settings.set_size(10)
    drag(window, [(20.0, 20.0), (30.0, 20.0)])
    assert window.doc.forbid_array()[20, 25] == 1
    assert not window.doc.mask_array().any()


def test_soft_brush_leaves_partial_coverage(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(20)
    window.tool_settings.set_hardness(0.2)
    drag(window, [(32.0, 24.0), (32.5, 24.0)])
    alpha = window.doc.layer_alpha(MASK)
    assert alpha[24, 32] > 200
    assert 0 < alpha[24, 40] < 200


def test_rectangle_and_lasso_fill(make_window: Any) -> None:
    window = make_window()
    window.set_tool("rectangle")
    drag(window, [(10.0, 10.0), (20.0, 15.0), (30.0, 20.0)])
    mask = window.doc.mask_array()
    assert mask[12:18, 12:28].all() and not mask[25:, :].any()
    window.doc.undo_stack.undo()
    assert not window.doc.mask_array().any()
    window.set_tool("lasso")
    drag(window, [(40.0, 5.0), (60.0, 5.0), (60.0, 40.0), (40.0, 40.0)])
    mask = window.doc.mask_array()
    assert mask[10:35, 45:55].all() and not mask[:, :35].any()


def test_mask_operations_are_undoable(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(10)
    drag(window, [(30.0, 24.0), (34.0, 24.0)])
    base = window.doc.mask_array().sum()
    window.mask_operation("grow")
    assert window.doc.mask_array().sum() > base
    window.doc.undo_stack.undo()
    window.mask_operation("shrink")
    assert window.doc.mask_array().sum() < base
    window.mask_operation("invert")
    inverted = window.doc.mask_array()
    assert inverted[0, 0] == 1 and inverted[24, 32] == 0
    window.mask_operation("clear")
    assert not window.doc.mask_array().any()
    for _ in range(3):
        window.doc.undo_stack.undo()
    assert window.doc.mask_array().sum() == base


def test_bracket_keys_resize_the_brush(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(40)
    window.act_larger.trigger()
    assert window.tool_settings.size == 46
    window.act_smaller.trigger()
    window.act_smaller.trigger()
    assert window.tool_settings.size < 46
    assert window.view.brush_cursor.size == window.tool_settings.size


@pytest.mark.parametrize("start", ["100 %", "Fit"])
def test_wheel_zoom_keeps_the_point_under_the_cursor(make_window: Any, start: str) -> None:
    # From Fit the photo is smaller than the view in one direction: Qt centred it, and the anchor drifted.
    window = make_window(image=np.zeros((2000, 3000, 3), np.uint8))
    view = window.view
    view.zoom_100() if start == "100 %" else view.fit()
    QApplication.processEvents()
    cursor = QPoint(200, 150)
    before = view.mapToScene(cursor)
    event = QWheelEvent(
        QPointF(cursor),
        QPointF(view.viewport().mapToGlobal(cursor)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    scale = view.scale_factor()
    QApplication.sendEvent(view.viewport(), event)
    assert view.scale_factor() > 1.3 * scale
    after = view.mapToScene(cursor)
    assert abs(after.x() - before.x()) <= 1.0 and abs(after.y() - before.y()) <= 1.0


def test_fit_shows_the_whole_photo(make_window: Any) -> None:
    window = make_window(image=np.zeros((2000, 3000, 3), np.uint8))
    window.view.fit()
    rect = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert rect.width() >= 3000 - 1 and rect.height() >= 2000 - 1
    window.view.zoom_100()
    assert window.view.scale_factor() == 1.0


def test_forbid_layer_is_separate_from_mask_and_colours(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(20.0, 20.0), (25.0, 20.0)])
    before = window.doc.mask_array()
    from PySide6.QtGui import QColor

    window.doc.set_layer_color(MASK, QColor(0, 200, 0))
    assert np.array_equal(window.doc.mask_array(), before)  # recolouring keeps the coverage
    assert not window.doc.forbid_array().any()
    assert FORBID in window.view.layer_items


def _lit(shot: Any, x: int, y: int) -> bool:
    """Something is drawn within 3 px above or below (x, y) on the black photo."""
    return any(max(shot.pixelColor(x, yy).getRgb()[:3]) > 60 for yy in range(y - 3, y + 4))


def test_a_one_pixel_guide_stroke_stays_visible_at_fit(make_window: Any) -> None:
    """At Fit on a 1.9 MP photo (about 1/3 scale) a 1-px guide line stays visible along its whole length, not
    sampled away, and a later stroke shows too (the reduced copy follows the layer where it changes)."""
    from app.canvas.items import ThinLayerItem
    from app.document import GUIDE
    from inpaint_core.boxes import Box

    window = make_window(image=np.zeros((1200, 1600, 3), np.uint8))
    view = window.view
    view.fit()
    QApplication.processEvents()
    assert view.scale_factor() < 0.5 and isinstance(view.layer_items[GUIDE], ThinLayerItem)
    guide = np.zeros((1200, 1600), np.uint8)
    guide[601, 100:1500] = 255  # a horizontal 1-px stroke
    window.doc.set_layer_alpha(GUIDE, guide)
    QApplication.processEvents()
    shot = view.viewport().grab().toImage()
    left, right = view.mapFromScene(QPointF(110, 601)), view.mapFromScene(QPointF(1490, 601))
    drawn = sum(_lit(shot, x, left.y()) for x in range(left.x(), right.x()))
    assert drawn >= 0.95 * (right.x() - left.x())
    stroke = Box(100, 200, 1500, 201)
    window.doc.set_layer_alpha(GUIDE, np.full((1, 1400), 255, np.uint8), stroke)
    QApplication.processEvents()
    shot = view.viewport().grab().toImage()
    a, b = view.mapFromScene(QPointF(110, 200)), view.mapFromScene(QPointF(1490, 200))
    assert sum(_lit(shot, x, a.y()) for x in range(a.x(), b.x())) >= 0.95 * (b.x() - a.x())
