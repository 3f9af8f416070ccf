"""Helpers of the editor's tests: real mouse events on the canvas (photos come from tests/helpers/photos.py)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow


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
