"""A button showing a colour; clicking it opens a colour picker."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QPushButton, QWidget


class ColorButton(QPushButton):
    color_changed = Signal(QColor)

    def __init__(self, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(48)
        self._color = QColor(color)
        self._paint()
        self.clicked.connect(self._on_clicked)

    def color(self) -> QColor:
        return QColor(self._color)

    def set_color(self, color: QColor) -> None:
        if color.isValid() and color != self._color:
            self._color = QColor(color)
            self._paint()
            self.color_changed.emit(QColor(color))

    def _paint(self) -> None:
        self.setStyleSheet(
            f"background-color: {self._color.name()}; border: 1px solid #888; min-height: 18px;"
        )

    def _on_clicked(self) -> None:
        self.set_color(QColorDialog.getColor(self._color, self, "Mask overlay colour"))
