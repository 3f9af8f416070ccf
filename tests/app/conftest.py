"""Qt fixtures for the editor's tests (pytest finds them here; test modules never import them).

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
from PySide6.QtWidgets import QMessageBox

from app.dialogs import ask_box
from app.main_window import MainWindow
from app.settings import AppSettings
from tests.helpers.photos import synthetic_photo


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


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> DialogRecorder:
    rec = DialogRecorder()
    for kind in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(rec.make(kind)))
    monkeypatch.setattr(ask_box, "ask", rec.make("question"))  # the questions with labelled buttons
    return rec


@pytest.fixture
def app_settings(tmp_path: Path) -> AppSettings:
    return AppSettings.from_ini(tmp_path / "settings.ini")


@pytest.fixture
def make_window(
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
        window.doc.set_photo(synthetic_photo() if image is None else image)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.doc.undo_stack.setClean()
        window.inpaint.shutdown(10000)
        # guard against leftover threads: nothing may still run in the pool
        assert window.inpaint.pool.activeThreadCount() == 0
