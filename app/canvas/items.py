"""Scene items: the photo (with the compare split), a paint layer (the guide's kept visible when zoomed out),
the brush cursor."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app import qimage_convert
from app.document import Document
from inpaint_core.boxes import Box

_EXTENDED = QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption


class PhotoItem(QGraphicsItem):
    """The photo. In compare mode the photo as it was before the fills (``original``) shows left of ``split``
    (0..1) and the current image right of it; ``show_original`` shows it everywhere (the hold-to-compare key)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(_EXTENDED)
        self.current = QPixmap()
        self.original = QPixmap()
        self.split: float | None = None
        self.show_original = False

    def set_photo(self, shown: QImage) -> None:
        """Show a newly opened photo; its pixels now are also the before-fills snapshot for compare.

        Two separate pixmaps: fills are painted into ``current`` in place, and a shared buffer (one QPixmap
        object held twice) showed them on the "before" side too.
        """
        self.prepareGeometryChange()
        self.current = QPixmap.fromImage(shown)
        self.original = self.current.copy()  # a deep copy, not another handle on the same pixmap
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.current.width(), self.current.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty() or self.current.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, painter.transform().m11() < 1.0)
        if self.show_original:
            painter.drawPixmap(exposed, self.original, exposed)
            return
        painter.drawPixmap(exposed, self.current, exposed)
        if self.split is not None:
            x = self.split * self.current.width()
            left = exposed.intersected(QRectF(0, 0, x, self.current.height()))
            if not left.isEmpty():
                painter.drawPixmap(left, self.original, left)
            pen = QPen(QColor(255, 255, 255), 0)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, 0), QPointF(x, self.current.height()))


class LayerItem(QGraphicsItem):
    """One paint layer of the document, drawn straight from its QImage, only where exposed."""

    def __init__(self, doc: Document, name: str) -> None:
        super().__init__()
        self.setFlag(_EXTENDED)
        self._doc, self.name = doc, name

    def boundingRect(self) -> QRectF:
        layer = self._doc.layer(self.name)
        return QRectF(0, 0, layer.width(), layer.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        layer: QImage = self._doc.layer(self.name)
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if not exposed.isEmpty():
            painter.drawImage(exposed, layer, exposed)


class ThinLayerItem(LayerItem):
    """A layer of thin strokes (the guide pen's 1-2 px lines). Zoomed out, Qt samples the layer and skips most
    of a 1-px line; here it is drawn from a copy reduced by the maximum over f x f blocks, so every stroke stays
    at least about `MIN_SCREEN_PX` wide on screen. The copy is updated only where the layer changes."""

    MIN_SCREEN_PX = 2.0

    def __init__(self, doc: Document, name: str) -> None:
        super().__init__(doc, name)
        self._factor = 0
        self._reduced: np.ndarray | None = None  # (ceil(H/f), ceil(W/f)) uint8 coverage
        self._image = QImage()

    def invalidate(self, rect: QRect | None = None) -> None:
        """The layer changed inside ``rect`` (None: all of it, or it was replaced)."""
        if self._reduced is None:
            return
        if rect is None:
            self._reduced = None
            return
        f = self._factor
        h, w = self._doc.height, self._doc.width
        bx0, by0 = max(0, rect.left()) // f, max(0, rect.top()) // f
        bx1, by1 = -(-min(w, rect.right() + 1) // f), -(-min(h, rect.bottom() + 1) // f)
        if bx1 <= bx0 or by1 <= by0:
            return
        box = Box(bx0 * f, by0 * f, min(w, bx1 * f), min(h, by1 * f))
        self._reduced[by0:by1, bx0:bx1] = _max_reduce(self._doc.layer_alpha(self.name, box), f)
        qimage_convert.set_alpha(self._image, self._reduced, self._doc.colors[self.name])

    def _rebuild(self, f: int) -> None:
        self._factor = f
        self._reduced = _max_reduce(self._doc.layer_alpha(self.name), f)
        self._image = qimage_convert.layer_from_alpha(self._reduced, self._doc.colors[self.name])

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        scale = painter.worldTransform().m11()
        f = math.ceil(self.MIN_SCREEN_PX / scale) if scale > 0 else 1
        if f <= 2:  # at half size and more, the sampling keeps a 1-px line: draw the layer itself
            super().paint(painter, option, widget)
            return
        if f != self._factor or self._reduced is None:
            self._rebuild(f)
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        scaled = QRectF(exposed.x() / f, exposed.y() / f, exposed.width() / f, exposed.height() / f)
        source = scaled.toAlignedRect().intersected(self._image.rect())
        painter.save()
        painter.scale(f, f)
        painter.drawImage(source, self._image, source)
        painter.restore()


def _max_reduce(alpha: np.ndarray, f: int) -> np.ndarray:
    """The maximum over f x f blocks (the last ones padded with zeros): (H, W) -> (ceil(H/f), ceil(W/f))."""
    h, w = alpha.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f
    padded = np.zeros((hp, wp), np.uint8)
    padded[:h, :w] = alpha
    return padded.reshape(hp // f, f, wp // f, f).max(axis=(1, 3))  # (H/f, f, W/f, f) -> (H/f, W/f)


class BrushCursorItem(QGraphicsEllipseItem):
    """A circle of the brush's diameter that follows the pointer (cosmetic pens: one pixel at any zoom)."""

    def __init__(self) -> None:
        super().__init__()
        self.setPen(QPen(QColor(255, 255, 255, 220), 0))
        self._inner = QGraphicsEllipseItem(self)
        inner_pen = QPen(QColor(0, 0, 0, 200), 0, Qt.PenStyle.DashLine)
        self._inner.setPen(inner_pen)
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.size = 10.0

    def place(self, pos: QPointF, size: float) -> None:
        self.size = size
        r = size / 2.0
        rect = QRectF(pos.x() - r, pos.y() - r, size, size)
        self.setRect(rect)
        self._inner.setRect(rect)
