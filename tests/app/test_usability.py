"""The small things a user trips on: canvas keys whatever has the focus, startup, status bar, tooltips, F1,
theme menu, contrast, the stable attention legend, inspect labels, fill on release, cancel feedback, README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from app.canvas.geometry import place_labels
from app.canvas.inspect_overlay import percent
from app.dialogs.shortcuts_dialog import ShortcutsDialog
from app.theme import icon_color, warning_color
from app.widgets.flow_legend import WHEEL
from inpaint_core.image_io import save_image
from tests.app.qt_helpers import drag, send_mouse
from tests.helpers.fake_engine import FakeEngine
from tests.helpers.photos import synthetic_photo

REPO = Path(__file__).resolve().parents[2]


# -- canvas keys whatever has the focus ---------------------------------------------------------------------
def test_space_drag_pans_after_a_panel_control_was_clicked(make_window: Any, qtbot: Any) -> None:
    window = make_window(image=synthetic_photo(600, 800))
    window.view.zoom_100()
    window.set_tool("lasso")
    button = window.engine_panel.inpaint_button
    button.setFocus()  # as if the user had reached it; a click no longer takes the focus (TabFocus)
    steps = window.doc.undo_stack.count()
    bar = window.view.horizontalScrollBar()
    start = bar.value()
    qtbot.keyPress(button, Qt.Key.Key_Space)
    drag(window, [(300.0, 300.0), (250.0, 300.0), (200.0, 320.0)])
    qtbot.keyRelease(button, Qt.Key.Key_Space)
    assert bar.value() != start  # it panned
    assert window.doc.undo_stack.count() == steps  # and painted no lasso
    assert not window.doc.mask_array().any()


def test_backslash_compares_whatever_has_the_focus(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    slider = window.tool_options.hardness
    slider.setFocus()
    qtbot.keyPress(slider, Qt.Key.Key_Backslash)
    assert window.view.photo_item.show_original
    qtbot.keyRelease(slider, Qt.Key.Key_Backslash)
    assert not window.view.photo_item.show_original


def test_tool_keys_work_after_clicking_a_panel_control(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    button = window.engine_panel.inpaint_button
    assert button.focusPolicy() == Qt.FocusPolicy.TabFocus  # a click leaves the focus on the canvas
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.view.setFocus()
    qtbot.mouseClick(window.tool_options.hardness, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.engine_panel.auto_fill, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is window.view  # the clicks left the focus on the canvas
    qtbot.keyClick(window.view, Qt.Key.Key_E)
    assert window.view.tool.name == "eraser"
    size = window.tool_settings.size
    qtbot.keyClick(window.view, Qt.Key.Key_BracketRight)
    assert window.tool_settings.size > size


def test_a_number_field_gives_the_focus_back_to_the_canvas(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    spin = window.tool_options.size_spin
    spin.setFocus()
    assert QApplication.focusWidget() is spin
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is window.view
    spin.setFocus()
    other = window.engine_panel.max_side
    other.setFocus()  # leaving one field for another keeps the focus in the other
    assert QApplication.focusWidget() is other


def test_text_fields_keep_their_space(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    edit = window.tool_options.size_spin.lineEdit()
    assert not window.canvas_keys.eventFilter(edit, _key(Qt.Key.Key_Space))


def _key(key: Qt.Key) -> Any:
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, " ")


# -- startup ------------------------------------------------------------------------------------------------
def test_no_brush_circle_before_the_pointer_enters(make_window: Any) -> None:
    window = make_window()
    view = window.view
    assert view.tool.shows_brush and not view.brush_cursor.isVisible()
    window.tool_settings.set_size(12)  # a size change must not show it either
    assert not view.brush_cursor.isVisible()
    send_mouse(view.viewport(), QEvent.Type.MouseMove, QPointF(50, 50), Qt.MouseButton.NoButton)
    assert view.brush_cursor.isVisible()
    QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))
    assert not view.brush_cursor.isVisible()


def test_startup_shows_the_name_and_a_busy_state_while_the_photo_loads(
    make_window: Any, qtbot: Any, tmp_path: Path
) -> None:
    window = make_window()
    path = tmp_path / "holiday.png"
    save_image(path, synthetic_photo(64, 96))
    window.open_at_startup(path)
    assert window.windowTitle().startswith("holiday.png")
    assert "holiday.png" in window.statusBar().currentMessage()
    assert window.view._placeholder == "Opening holiday.png…"
    assert QApplication.overrideCursor() is not None
    with qtbot.waitSignal(window.files.opened, timeout=5000):
        pass
    assert window.doc.width == 96 and window.view._placeholder == ""
    assert QApplication.overrideCursor() is None
    assert window.status_fields.image.text() == "96 × 64, 8-bit RGB"


# -- status bar, tooltips, F1, theme menu -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pixels", "text"),
    [
        (np.zeros((20, 30, 3), np.uint16), "30 × 20, 16-bit RGB"),
        (np.zeros((20, 30), np.uint8), "30 × 20, 8-bit grey"),
        (np.zeros((20, 30, 4), np.uint8), "30 × 20, 8-bit RGBA"),
    ],
)
def test_status_bar_shows_size_and_bit_depth(make_window: Any, pixels: np.ndarray, text: str) -> None:
    window = make_window()
    window.doc.set_photo(pixels)
    assert window.status_fields.image.text() == text


def test_status_bar_shows_tool_model_and_zoom(make_window: Any) -> None:
    window = make_window()
    window.set_tool("guide")
    assert window.status_fields.tool.text() == "Guide pen"
    window.set_tool("eraser")
    assert window.status_fields.tool.text() == "Eraser (guide)"
    panel = window.engine_panel
    panel.model.setCurrentIndex(panel.model.findData("ns"))
    assert window.status_fields.model.text() == "Navier-Stokes (OpenCV, classical)"
    window.view.zoom_100()
    assert window.status_fields.zoom.text() == "100 %"


def test_toolbar_tooltips_name_their_shortcuts(make_window: Any) -> None:
    window = make_window()
    with_keys = [a for a in window.toolbar.actions() if not a.shortcut().isEmpty()]
    assert len(with_keys) >= 12
    for action in with_keys:
        keys = action.shortcut().toString()
        assert f"({keys})" in action.toolTip(), (action.text(), action.toolTip())
    assert window.tool_actions["brush"].toolTip() == "Mask brush (B)"


def test_f1_opens_one_sheet(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    first = window.show_shortcuts()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    second = window.show_shortcuts()
    assert first is second
    assert len([d for d in window.findChildren(ShortcutsDialog) if d.isVisible()]) == 1
    first.close()


def test_the_theme_menu_marks_the_active_theme(make_window: Any) -> None:
    window = make_window()
    assert window.act_dark.isChecked() and not window.act_light.isChecked()
    window.set_theme("light")
    assert window.act_light.isChecked() and not window.act_dark.isChecked()
    window.act_dark.trigger()
    assert window.act_dark.isChecked() and window.settings.theme == "dark"


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_warning_and_icons_have_contrast_in_both_themes(make_window: Any, theme: str) -> None:
    window = make_window()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.set_theme(theme)
    try:
        palette = app.palette()
        window_bg = palette.color(QPalette.ColorRole.Window)
        button_bg = palette.color(QPalette.ColorRole.Button)
        assert contrast(QColor(warning_color(theme)), window_bg) >= 4.5
        assert contrast(QColor(icon_color(theme)), button_bg) >= 4.5
        # the Fill panel's Inpaint icon follows the theme (it was light grey on the light theme)
        glyph = window.engine_panel.inpaint_button.icon().pixmap(32, 32).toImage()
        darkest = min(
            (
                glyph.pixelColor(x, y)
                for x in range(32)
                for y in range(32)
                if glyph.pixelColor(x, y).alpha() > 200
            ),
            key=_luminance,
        )
        assert contrast(darkest, button_bg) >= 3.0
    finally:
        window.set_theme("dark")


# -- attention legend and inspect labels --------------------------------------------------------------------
def test_the_legend_keeps_its_size_when_a_fill_brings_it(make_window: Any) -> None:
    window = make_window()
    panel = window.attention_panel
    before = panel.sizeHint().height()
    wheel = QImage(WHEEL, WHEEL, QImage.Format.Format_ARGB32_Premultiplied)
    wheel.fill(QColor(200, 80, 80))
    panel.set_available(True, wheel)
    assert panel.sizeHint().height() == before and panel.legend.has_wheel
    panel.set_available(False)  # another photo opened
    assert panel.sizeHint().height() == before


def test_the_legend_labels_are_drawn_in_the_text_colour(make_window: Any) -> None:
    window = make_window()
    legend = window.attention_panel.legend
    image = legend.grab().toImage()
    text = legend.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    right_edge = [
        image.pixelColor(x, y)
        for x in range(image.width() - 40, image.width())
        for y in range(image.height())
    ]
    assert any(contrast(c, legend.palette().color(QPalette.ColorRole.Window)) > 2.0 for c in right_edge), text
    assert legend.fontInfo().pointSizeF() >= QApplication.font().pointSizeF()


def test_percentages() -> None:
    assert percent(0.42) == "42 %"
    assert percent(0.042) == "4.2 %"
    assert percent(0.000626) == "0.1 %"
    assert percent(0.0000626) == "< 0.1 %"


def test_labels_are_placed_without_overlap() -> None:
    anchors = [(10.0, 10.0), (12.0, 11.0), (11.0, 9.0), (100.0, 10.0)]
    sizes = [(40.0, 14.0)] * 4
    spots = place_labels(anchors, sizes)
    boxes = [(x, y, x + w, y + h) for (x, y), (w, h) in zip(spots, sizes)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert spots[3] == anchors[3]  # a free spot is kept


class CloseSources:
    def query(self, x: float, y: float) -> list[Any]:
        from inpaint_core.api import Source

        return [Source(8.0 + i, 8.0, w, 6.0) for i, w in enumerate((0.5, 0.3, 0.000626))]

    def flow_rgba(self, height: int, width: int) -> np.ndarray:
        return np.zeros((height, width, 4), np.uint8)

    def legend(self, size: int = 128, labels: bool = True) -> np.ndarray:
        return np.zeros((size, size, 4), np.uint8)


def test_inspect_labels_have_plates_percentages_and_no_overlap(make_window: Any) -> None:
    window = make_window()
    window.doc.set_attention(CloseSources())
    window.view.zoom_100()
    window.inspect_at(QPointF(30.0, 20.0))
    labels = window.inspector.labels
    assert [label.text for label in labels] == ["1 · 50 %", "2 · 30 %", "3 · 0.1 %"]
    view = window.view
    rects = [view.mapFromScene(label.scenePos()) for label in labels]
    sizes = [label.size() for label in labels]
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            a, b = rects[i], rects[j]
            apart = (
                a.x() + sizes[i][0] <= b.x()
                or b.x() + sizes[j][0] <= a.x()
                or a.y() + sizes[i][1] <= b.y()
                or b.y() + sizes[j][1] <= a.y()
            )
            assert apart
    assert "50 %" in window.statusBar().currentMessage()
    # Labels moved off their boxes (to clear one another) are tied back to them by leader lines.
    moved = [label for label in labels if abs(label.scenePos().y() - _box_bottom(label, labels)) > 2.5]
    assert moved and len(window.inspector.leaders) == len(moved)
    for leader in window.inspector.leaders:
        start, end = leader.path().elementAt(0), leader.path().elementAt(1)
        assert (start.x, start.y) != (end.x, end.y)


def _box_bottom(label: Any, labels: list[Any]) -> float:
    """The y where a label would sit if nothing were in its way (its source box's bottom edge)."""
    src = CloseSources().query(30.0, 20.0)[labels.index(label)]
    return float(src.y) + float(src.size) / 2


# -- fill on release, cancel feedback ----------------------------------------------------------------------
def test_fill_on_release_preference(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.settings.engine = "telea"
    window.engine_panel.auto_fill.setChecked(True)
    assert window.settings.auto_fill
    window.tool_settings.set_size(10)
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        drag(window, [(20.0, 20.0), (40.0, 24.0)])
    window.set_tool("guide")
    steps = window.doc.undo_stack.count()
    drag(window, [(10.0, 10.0), (20.0, 10.0)])  # a guide stroke starts nothing
    assert not window.inpaint.is_running and window.doc.undo_stack.count() == steps + 1


def reporting_engine() -> FakeEngine:
    """Reports per-window progress the way an engine might, then waits for its gate and honours cancel."""
    return FakeEngine(before=(("paste", 0.91), ("window 2 of 3: paste", 0.95)))


def test_progress_and_cancel_feedback(make_window: Any, qtbot: Any) -> None:
    engine = reporting_engine()
    window = make_window(engine=engine)
    window.tool_settings.set_size(10)
    drag(window, [(20.0, 20.0), (40.0, 24.0)])
    with qtbot.waitSignal(window.inpaint.progress, timeout=5000):
        window.start_inpaint()
    assert engine.entered.wait(5)
    qtbot.waitUntil(lambda: window.fill_progress.progress_bar.value() == 95, timeout=5000)
    assert "window 2 of 3: paste" in window.statusBar().currentMessage()
    assert window.act_cancel.isEnabled()
    window.act_cancel.trigger()
    assert (
        window.fill_progress.cancel_button.text() == "Cancelling…"
        and not window.fill_progress.cancel_button.isEnabled()
    )
    assert not window.engine_panel.cancel_button.isEnabled()
    assert window.statusBar().currentMessage() == "Cancelling the fill…"
    with qtbot.waitSignal(window.inpaint.running_changed, timeout=5000):
        engine.gate.set()
    assert "cancelled" in window.statusBar().currentMessage().lower()
    assert not window.fill_progress.progress_bar.isVisible() and not window.act_cancel.isEnabled()
    assert window.fill_progress.cancel_button.text() == "Cancel"


# -- README -------------------------------------------------------------------------------------------------
def test_readme_keeps_two_setup_commands_and_names_the_xcb_libraries() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    assert setup.count("```bash") == 2
    line = next(line for line in setup.splitlines() if "libxcb-cursor0" in line)
    assert re.search(r"`sudo apt-get install -y [^`]*libxcb-cursor0[^`]*`", line)


def test_no_leftover_buttons_in_panels_take_focus_on_click(make_window: Any) -> None:
    window = make_window()
    for dock in window.docks:
        for button in dock.findChildren(QPushButton):
            assert button.focusPolicy() == Qt.FocusPolicy.TabFocus


@pytest.mark.parametrize("key", [Qt.Key.Key_E, Qt.Key.Key_BracketRight, Qt.Key.Key_Escape])
def test_a_number_field_lets_go_of_canvas_keys_and_escape(make_window: Any, qtbot: Any, key: Qt.Key) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    spin = window.engine_panel.max_side  # as after a click in it or on its arrows
    value = spin.value()
    spin.setFocus()
    size = window.tool_settings.size
    qtbot.keyClick(spin, key)
    assert QApplication.focusWidget() is window.view
    assert spin.value() == value
    if key == Qt.Key.Key_E:
        assert window.view.tool.name == "eraser"  # the shortcut worked at once, not after Enter
    elif key == Qt.Key.Key_BracketRight:
        assert window.tool_settings.size > size
    # Digits still go into the field.
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_5)
    assert QApplication.focusWidget() is spin


def test_the_wheel_over_a_panel_scrolls_it_and_leaves_its_fields_alone(make_window: Any, qtbot: Any) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    window = make_window()
    window.resize(900, 400)  # short: the Restore panel scrolls
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.restore.raise_panel()
    area = window.restore.dock_content
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=5000)
    field = window.restore.panel.max_width
    value = field.value()

    def wheel(widget: Any) -> None:
        centre = QPointF(widget.rect().center())
        event = QWheelEvent(
            centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(widget, event)

    wheel(field)
    assert field.value() == value  # the field did not change under the scrolling wheel...
    assert area.verticalScrollBar().value() > 0  # ...the panel scrolled
    field.setFocus()  # clicked into: the wheel is the field's
    assert field.hasFocus()
    wheel(field)
    assert field.value() != value


def test_grow_and_shrink_mask_keys_can_be_typed(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.view.setFocus()
    mask = np.zeros((window.doc.height, window.doc.width), np.uint8)
    mask[20:28, 30:38] = 255
    window.doc.set_layer_alpha("mask", mask)
    qtbot.keyClick(window.view, Qt.Key.Key_Equal, Qt.KeyboardModifier.AltModifier)
    grown = int((window.doc.layer_alpha("mask") > 0).sum())
    assert grown > 64
    qtbot.keyClick(window.view, Qt.Key.Key_Minus, Qt.KeyboardModifier.AltModifier)
    assert int((window.doc.layer_alpha("mask") > 0).sum()) < grown
    # No shortcut asks for Shift with a symbol that Shift itself makes (it arrives as another key), and none is
    # shared by two actions (an ambiguous shortcut triggers neither).
    seen: dict[str, str] = {}
    for action in window.actions():
        for sequence in action.shortcuts():
            keys = sequence.toString()
            assert not re.search(r"Shift\+[+_{}|:\"<>?~!@#$%^&*()]$", keys), keys
            assert keys not in seen, f"{keys}: {seen.get(keys)} and {action.text()}"
            seen[keys] = action.text()


def test_a_long_status_message_is_not_cut_off_by_the_fields(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.resize(1280, 820)
    window.restore.indicator.setText("12 filled regions")
    window.restore.indicator.setVisible(True)
    QApplication.processEvents()
    bar = window.statusBar()
    text = "Provenance record written to /home/someone/Pictures/archive/1952-wedding-restored.provenance (3 fill(s))."
    bar.showMessage(text)
    QApplication.processEvents()
    fields = [w for w in bar.findChildren(QWidget) if w.parent() is bar and w.isVisible() and w.width() > 0]
    room = bar.width() - sum(w.width() for w in fields if w.x() > 0)
    assert bar.fontMetrics().horizontalAdvance(text) <= room
    assert not window.status_fields.model.isVisible()
    bar.clearMessage()
    assert window.status_fields.model.isVisible()  # back once the message is gone


def test_a_classical_fill_shows_it_is_busy_not_a_frozen_percentage(make_window: Any, qtbot: Any) -> None:
    # a classical fill's one long OpenCV call: "refine" at 10 %, then nothing until the gate opens
    engine = FakeEngine(before=(("refine", 0.1),), after=(("paste", 0.9),), honour_cancel=False)
    window = make_window(engine=engine)
    window.settings.engine = "telea"
    window.tool_settings.set_size(10)
    drag(window, [(20.0, 20.0), (40.0, 24.0)])
    window.start_inpaint()
    assert engine.entered.wait(5)
    qtbot.waitUntil(
        lambda: window.fill_progress.progress_bar.maximum() == 0, timeout=5000
    )  # busy, no percentage
    assert "no progress to report" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().endswith(" 1 s"), timeout=5000)  # it counts
    with qtbot.waitSignal(window.inpaint.running_changed, timeout=5000):
        engine.gate.set()
    assert (
        window.fill_progress.progress_bar.maximum() == 100
        and not window.fill_progress.opaque_timer.isActive()
    )
