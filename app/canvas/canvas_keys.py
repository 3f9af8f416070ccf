"""Routes the canvas's held keys (Space to pan, backslash to compare) to the canvas whatever has the focus in its
window, as Krita and Photoshop do. Text fields keep their keys (a space typed into a file name stays there).

A number field (a spin box) lets go of the focus when a canvas shortcut's key is typed into it (a letter, `[`,
`]`: never part of a number) or Escape: the shortcut then works at once, instead of being swallowed until Enter.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from app.canvas.view import CanvasView

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit)
_SHORTCUT_MODIFIERS = (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)


def is_canvas_key(event: QKeyEvent) -> bool:
    """A key a number field cannot use and a canvas shortcut may: a letter or a bracket, bare or with Shift."""
    letter = Qt.Key.Key_A.value <= event.key() <= Qt.Key.Key_Z.value
    bracket = event.key() in (Qt.Key.Key_BracketLeft.value, Qt.Key.Key_BracketRight.value)
    return (letter or bracket) and event.modifiers() in _SHORTCUT_MODIFIERS


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
        if isinstance(watched, QAbstractSpinBox) and self._release_number_field(watched, event):
            return True
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

    def _release_number_field(self, field: QAbstractSpinBox, event: QEvent) -> bool:
        """A canvas shortcut's key or Escape in a number field of this window: the canvas takes the focus back
        (the field keeps its value). True when the event is dealt with: a shortcut override left unaccepted
        lets Qt trigger the shortcut."""
        kind = event.type()
        if (
            kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
            or field.window() is not self.view.window()
        ):
            return False
        assert isinstance(event, QKeyEvent)
        escape = kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape.value
        if not (escape or (kind == QEvent.Type.ShortcutOverride and is_canvas_key(event))):
            return False
        self.view.setFocus()
        event.ignore()
        return True
