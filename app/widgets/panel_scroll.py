"""A dock panel that scrolls when its dock is shorter than it, instead of squashing its rows together."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFrame,
    QScrollArea,
    QStyle,
    QWidget,
)

# Fields that take the mouse wheel: over a panel, the wheel scrolls the panel unless the field has the focus.
_WHEEL_FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


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
        self._guard = _WheelGuard(self)
        for field in panel.findChildren(QWidget):
            if isinstance(field, _WHEEL_FIELDS):
                field.installEventFilter(self._guard)

    def sizeHint(self) -> QSize:
        panel = self.widget()
        hint = panel.sizeHint() if panel is not None else super().sizeHint()
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return QSize(hint.width() + bar, hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), 60)


class _WheelGuard(QObject):
    """The wheel over a field that was not clicked into scrolls the panel (scrolling past "Max width" must not
    turn it from 8 to 1); a field with the focus takes it as usual."""

    def __init__(self, area: QScrollArea) -> None:
        super().__init__(area)
        self.area = area

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        QApplication.sendEvent(self.area.verticalScrollBar(), event)
        return True
