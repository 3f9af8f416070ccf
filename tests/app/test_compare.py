"""Compare shows the photo as it was before the fills, by pixels: split slider, hold-to-compare, undo/redo,
another photo; and the slider looks disabled while Compare is off."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyleOptionGraphicsItem

from app import qimage_convert
from app.theme import apply_theme
from tests.app.qt_helpers import drag
from tests.helpers.photos import synthetic_photo


def shown_photo(window: Any) -> np.ndarray:
    """The photo item's pixels as the canvas paints them at 100 % (HxWx3 uint8)."""
    item = window.view.photo_item
    rect = item.boundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    option = QStyleOptionGraphicsItem()
    option.exposedRect = rect
    item.paint(painter, option, None)
    painter.end()
    return qimage_convert.qimage_to_rgb(image)


def filled_window(make_window: Any, qtbot: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    window = make_window()
    window.settings.engine = "telea"
    window.tool_settings.set_size(12)
    drag(window, [(10.0, 24.0), (54.0, 24.0)])  # across the whole width: both halves get filled pixels
    before = window.doc.image.copy()
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.start_inpaint()
    after = window.doc.image.copy()
    changed = np.any(after != before, axis=2)
    assert changed[:, :32].any() and changed[:, 33:].any()
    return window, before, after


def test_hold_to_compare_shows_the_photo_before_the_fill(make_window: Any, qtbot: Any) -> None:
    window, before, after = filled_window(make_window, qtbot)
    assert np.array_equal(shown_photo(window), after)
    qtbot.keyPress(window.view, Qt.Key.Key_Backslash)
    assert np.array_equal(shown_photo(window), before)  # the bug: the filled pixels showed here too
    assert window.statusBar().currentMessage() == "Original"
    qtbot.keyRelease(window.view, Qt.Key.Key_Backslash)
    assert np.array_equal(shown_photo(window), after)


def test_split_compare_by_pixels_through_undo_and_redo(make_window: Any, qtbot: Any) -> None:
    window, before, after = filled_window(make_window, qtbot)
    window.compare_bar.enabled_box.setChecked(True)
    window.compare_bar.slider.setValue(500)  # split at x = 32
    shown = shown_photo(window)
    assert np.array_equal(shown[:, :31], before[:, :31])  # left of the split line: before the fill
    assert np.array_equal(shown[:, 33:], after[:, 33:])  # right of it: the result
    window.doc.undo_stack.undo()
    shown = shown_photo(window)
    assert np.array_equal(shown[:, :31], before[:, :31]) and np.array_equal(shown[:, 33:], before[:, 33:])
    window.doc.undo_stack.redo()
    shown = shown_photo(window)
    assert np.array_equal(shown[:, :31], before[:, :31]) and np.array_equal(shown[:, 33:], after[:, 33:])


def test_another_photo_is_its_own_before(make_window: Any, qtbot: Any) -> None:
    window, _before, _after = filled_window(make_window, qtbot)
    other = synthetic_photo(seed=5)
    window.doc.set_photo(other)
    window.view.photo_item.show_original = True
    assert np.array_equal(shown_photo(window), other)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_compare_slider_looks_disabled_while_compare_is_off(make_window: Any, theme: str) -> None:
    window = make_window()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    try:
        bar = window.compare_bar
        assert not bar.enabled_box.isChecked() and not bar.slider.isEnabled()
        palette = bar.slider.palette()
        role = QPalette.ColorRole.Highlight  # Fusion fills the slider's groove with it
        active = palette.color(QPalette.ColorGroup.Active, role)
        disabled = palette.color(QPalette.ColorGroup.Disabled, role)
        assert disabled.hslSaturation() < 40 and active.hslSaturation() > 100  # grey when off, blue when on
        bar.enabled_box.setChecked(True)
        assert bar.slider.isEnabled()
    finally:
        apply_theme(app, "dark")
