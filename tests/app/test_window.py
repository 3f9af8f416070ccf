"""Window behaviour: settings persistence, close prompt, compare, attention overlay and inspection, shortcuts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.settings import AppSettings
from tests.app.qt_helpers import drag
from tests.conftest import REPO


@dataclass(frozen=True)
class FakeSource:
    x: float
    y: float
    weight: float
    size: float


class FakeField:
    """An AttentionField stand-in: the block x in 20..40, y in 10..30 borrowed from two places."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width

    def query(self, x: float, y: float) -> list[FakeSource]:
        if 20 <= x < 40 and 10 <= y < 30:
            return [FakeSource(8.0, 8.0, 0.7, 6.0), FakeSource(50.0, 40.0, 0.3, 6.0)]
        return []

    def flow_rgba(self, height: int, width: int) -> np.ndarray:
        out = np.zeros((height, width, 4), np.uint8)
        out[10:30, 20:40] = (255, 0, 0, 255)
        return out

    def legend(self, size: int = 128, labels: bool = True) -> np.ndarray:
        return np.full((size, size, 3), 128, np.uint8)


def test_engine_settings_persist(make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    panel = window.engine_panel
    panel.model.setCurrentIndex(panel.model.findData("ns"))
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    panel.max_side.setValue(768)
    panel.edge_blend.setValue(9)
    window.settings.sync()
    reread = AppSettings.from_ini(tmp_path / "settings.ini")
    assert (reread.engine, reread.device, reread.max_side, reread.edge_blend) == ("ns", "cpu", 768, 9)
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 10.0), (20.0, 10.0)])
    req = window.inpaint.make_request()  # the controller reads the same settings
    assert (req.engine, req.device, req.max_side, req.edge_blend) == ("ns", "cpu", 768, 9)


def test_close_prompts_about_unsaved_changes(make_window: Any, dialogs: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 10.0), (20.0, 10.0)])
    assert window.isWindowModified()
    dialogs.answer = QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert window.isVisible() and dialogs.calls[-1][1] == "Unsaved changes"
    dialogs.answer = QMessageBox.StandardButton.Discard
    assert window.close()


def test_hold_backslash_and_split_compare(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    qtbot.keyPress(window.view, Qt.Key.Key_Backslash)
    assert window.view.photo_item.show_original
    qtbot.keyRelease(window.view, Qt.Key.Key_Backslash)
    assert not window.view.photo_item.show_original
    window.compare_bar.enabled_box.setChecked(True)
    window.compare_bar.slider.setValue(250)
    assert window.view.photo_item.split == pytest.approx(0.25)
    window.compare_bar.enabled_box.setChecked(False)
    assert window.view.photo_item.split is None


def test_attention_overlay_click_and_hover(make_window: Any) -> None:
    window = make_window()
    assert not window.act_overlay.isEnabled()
    window.doc.set_attention(FakeField(window.doc.height, window.doc.width))
    assert window.act_overlay.isEnabled()
    window.act_overlay.trigger()
    assert window.view.flow_item.isVisible()
    assert window.view.tool.name == "inspect"  # clicks inspect while the overlay is on
    assert window.attention_panel.legend.has_wheel
    drag(window, [(30.0, 20.0)])
    assert [s.weight for s in window.last_inspected] == [0.7, 0.3]
    assert window.inspector.shown == 2
    window.view.hovered.emit(QPointF(25.0, 15.0))
    assert "borrowed from (8, 8)" in window.hover_label.text()
    drag(window, [(2.0, 2.0)])  # not a filled pixel
    assert window.last_inspected == [] and window.inspector.shown == 0
    window.act_overlay.trigger()
    assert not window.view.flow_item.isVisible() and window.view.tool.name == "brush"


def test_overlay_export(make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    window.doc.set_attention(FakeField(window.doc.height, window.doc.width))
    out = tmp_path / "overlay.png"
    assert window.files.export_overlay_to(out)
    from inpaint_core.image_io import load_image

    pixels = load_image(out).pixels
    assert pixels.shape == (48, 64, 4) and pixels[20, 30, 3] == 255 and pixels[0, 0, 3] == 0


def test_shortcuts_sheet_and_themes(make_window: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 10.0), (20.0, 10.0)])  # the undo action's text is now "Undo Brush stroke"...
    dialog = window.show_shortcuts()
    assert dialog.row_count > 15
    names = [name for name, _keys in dialog.rows]
    assert "Undo" in names and not any(n.startswith("Undo ") for n in names)  # ...the sheet says "Undo"
    # Grouped by menu in the menus' order: File's rows first, the canvas gestures last.
    assert names.index("Open") < names.index("Undo") < names.index("Grow Mask") < names.index("Inpaint")
    assert names[-1] == "Cancel the current gesture"
    assert len(names) == len(set(names))  # each action once
    dialog.close()
    window.set_theme("light")
    assert window.settings.theme == "light"
    window.set_theme("dark")


@pytest.mark.slow
def test_self_test_subprocess(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "main.py", "--self-test", "--screenshot", str(shot)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test: passed" in proc.stdout
    assert shot.exists() and shot.stat().st_size > 20_000
    from PIL import Image

    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.shape[0] > 300 and pixels.std() > 10  # not a blank window


def _dock_layout(window: Any) -> dict[str, tuple[tuple[int, int, int, int], int]]:
    """Each dock's rectangle and how far its panel scrolls (0: nothing cut off), every tab raised in turn."""
    from PySide6.QtWidgets import QDockWidget, QScrollArea

    out = {}
    for dock in window.findChildren(QDockWidget):
        dock.raise_()
        QApplication.processEvents()
        content = dock.widget()
        scroll = content.verticalScrollBar().maximum() if isinstance(content, QScrollArea) else 0
        out[dock.objectName()] = (dock.geometry().getRect(), scroll)
    return out


def test_the_dock_layout_is_restored_and_no_panel_is_cut_off(
    qtbot: Any, app_settings: AppSettings, tmp_path: Path
) -> None:
    from app.main_window import LAYOUT_VERSION, MainWindow
    from inpaint_core.engine import InpaintEngine

    def launch() -> MainWindow:
        window = MainWindow(AppSettings.from_ini(tmp_path / "settings.ini"), InpaintEngine())
        qtbot.addWidget(window)
        window.resize(1280, 820)  # the first run's size (a later run's comes from the stored geometry)
        window.show()
        qtbot.waitExposed(window)
        return window

    first = launch()
    layout = _dock_layout(first)
    cut = {name: scroll for name, (_rect, scroll) in layout.items() if scroll}
    assert not cut, f"panels cut off on the first launch: {cut}"
    first.close()
    assert AppSettings.from_ini(tmp_path / "settings.ini").window_state is not None
    later = launch()
    assert _dock_layout(later) == layout  # same places, sizes, nothing scrolls
    # A user's own change (a narrower Fill dock) is kept too.
    fill = later.docks[1]
    later.resizeDocks([fill], [fill.width() + 40], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    width = fill.width()
    later.close()
    assert launch().docks[1].width() == width
    # A state stored by an older layout version is not restored over new panels: they are sized afresh.
    store = AppSettings.from_ini(tmp_path / "settings.ini")
    store.window_state = later.saveState(LAYOUT_VERSION - 1)
    store.sync()
    fresh = launch()
    assert fresh.docks[1].width() != width
    assert not any(scroll for _rect, scroll in _dock_layout(fresh).values())
