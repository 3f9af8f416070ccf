"""Scene items: the photo (with the compare split), a paint layer, the brush cursor."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.document import Document

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
