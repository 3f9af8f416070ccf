"""Shared Qt fixtures for the editor tests (the test_app_* modules import the ``*_fixture`` functions;
pytest registers them under their ``name``).

Settings go to an ini file in tmp_path; message boxes are recorded instead of shown; every window's pool is
checked for leftover threads at teardown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main_window import MainWindow
from app.settings import AppSettings


class DialogRecorder:
    """Stands in for QMessageBox.warning/question/critical: records (kind, title, text), answers ``answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = QMessageBox.StandardButton.Discard

    def make(self, kind: str) -> Callable[..., Any]:
        def record(_parent: Any, title: str, text: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((kind, str(title), str(text)))
            return self.answer

        return record


@pytest.fixture(name="dialogs")
def dialogs_fixture(monkeypatch: pytest.MonkeyPatch) -> DialogRecorder:
    rec = DialogRecorder()
    for kind in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(rec.make(kind)))
    return rec


@pytest.fixture(name="app_settings")
def app_settings_fixture(tmp_path: Path) -> AppSettings:
    return AppSettings.from_ini(tmp_path / "settings.ini")


def photo(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A small synthetic RGB photo: smooth gradients plus a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height)], axis=2)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(name="make_window")
def make_window_fixture(
    qtbot: Any, app_settings: AppSettings, dialogs: DialogRecorder
) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(engine: Any = None, image: np.ndarray | None = None) -> MainWindow:
        if engine is None:
            from inpaint_core.engine import InpaintEngine

            engine = InpaintEngine()
        window = MainWindow(app_settings, engine)
        qtbot.addWidget(window)
        window.resize(900, 700)
        window.show()
        window.doc.set_photo(photo() if image is None else image)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.doc.undo_stack.setClean()
        window.inpaint.shutdown(10000)
        # guard against leftover threads: nothing may still run in the pool
        assert window.inpaint.pool.activeThreadCount() == 0


def send_mouse(
    widget: Any, kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(window: MainWindow, points: list[tuple[float, float]]) -> None:
    """A left-button drag through image points, sent as real mouse events to the canvas viewport."""
    view = window.view
    vp = [QPointF(view.mapFromScene(QPointF(x, y))) for x, y in points]
    send_mouse(view.viewport(), QEvent.Type.MouseButtonPress, vp[0])
    for p in vp[1:]:
        send_mouse(view.viewport(), QEvent.Type.MouseMove, p)
    send_mouse(view.viewport(), QEvent.Type.MouseButtonRelease, vp[-1], Qt.MouseButton.NoButton)
