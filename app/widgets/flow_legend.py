"""The attention-flow colour wheel with direction labels in the interface's own font and text colour.

It keeps one size whether or not a wheel is shown, so the docks do not move when the first DeepFill fill brings
the legend."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

WHEEL = 140  # the legend image's side (core `legend(size)`); the disc is smaller by the core's margin
# Where each label goes, as a unit direction from the centre (image y points down: "up" is -y).
LABELS = (("right", 1.0, 0.0), ("left", -1.0, 0.0), ("up", 0.0, -1.0), ("down", 0.0, 1.0))


def disc_radius(image: QImage) -> float:
    """The colour disc's radius in an RGBA legend image: the opaque run along the centre column."""
    cx, cy = image.width() // 2, image.height() // 2
    r = 0
    while cy - r - 1 >= 0 and image.pixelColor(cx, cy - r - 1).alpha() > 0:
        r += 1
    return float(r)


class FlowLegend(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wheel: QImage | None = None
        self._radius = WHEEL / 2 - max(10, WHEEL // 8)
        side = WHEEL + 2 * self.fontMetrics().horizontalAdvance("right ") + 8
        self.setFixedSize(QSize(side, WHEEL + 8))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_wheel(self, wheel: QImage | None) -> None:
        """Show ``wheel`` (the core legend without labels, WHEEL px square), or an empty outline when None."""
        self._wheel = wheel
        if wheel is not None and not wheel.isNull():
            self._radius = disc_radius(wheel) or self._radius
        self.update()

    @property
    def has_wheel(self) -> bool:
        return self._wheel is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre = QPointF(self.width() / 2, self.height() / 2)
        palette = self.palette()
        if self._wheel is not None:
            painter.drawImage(
                QRectF(centre.x() - WHEEL / 2, centre.y() - WHEEL / 2, WHEEL, WHEEL), self._wheel
            )
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        else:
            pen = QPen(palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText), 1)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawEllipse(centre, self._radius, self._radius)
        metrics = self.fontMetrics()
        gap = 4.0
        for text, ux, uy in LABELS:
            w, h = metrics.horizontalAdvance(text), metrics.height()
            x = centre.x() + ux * (self._radius + gap) + (ux - 1) * w / 2
            y = centre.y() + uy * (self._radius + gap) + (uy - 1) * h / 2
            if ux == 0:
                x = centre.x() - w / 2
            if uy == 0:
                y = centre.y() - h / 2
            painter.drawText(QRectF(x, y, w, h), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
