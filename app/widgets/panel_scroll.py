"""A dock panel that scrolls when its dock is shorter than it, instead of squashing its rows together."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QWidget


class PanelScroll(QScrollArea):
    """Asks for the panel's full size (so docks start at their natural height and width) but accepts less."""

    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(
            Qt.FocusPolicy.NoFocus
        )  # a click on the panel's background keeps the canvas's focus
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        # Wide enough for the panel and a vertical scroll bar: the bar never covers the fields.
        self.setMinimumWidth(panel.minimumSizeHint().width() + bar)

    def sizeHint(self) -> QSize:
        panel = self.widget()
        hint = panel.sizeHint() if panel is not None else super().sizeHint()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return QSize(hint.width() + bar, hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), 60)
