"""Routes the canvas's held keys (Space to pan, backslash to compare) to the canvas whatever has the focus in its
window, as Krita and Photoshop do. Text fields keep their keys (a space typed into a file name stays there)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from app.canvas.view import CanvasView

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit)


class CanvasKeys(QObject):
    """An application event filter; ``install()`` and ``remove()`` tie it to the QApplication."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        self.view = view

    def install(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if watched is self.view or not isinstance(watched, QWidget) or isinstance(watched, _TEXT_INPUTS):
            return False  # the canvas handles its own keys; text fields keep theirs
        assert isinstance(event, QKeyEvent)
        if event.key() not in CanvasView.HELD_KEYS or watched.window() is not self.view.window():
            return False
        if not event.isAutoRepeat():
            self.view.held_key(event.key(), event.type() == QEvent.Type.KeyPress)
        return True
