"""Painting into a layer QImage with QPainter, touching only a segment's dirty rectangle."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF, QRadialGradient

from app.canvas import geometry
from app.canvas.geometry import Point
from inpaint_core.boxes import Box

Mode = QPainter.CompositionMode


@dataclass(frozen=True)
class BrushSpec:
    """How a stroke paints: diameter in image pixels, hardness 0..1, erase or paint, antialiasing."""

    size: float
    hardness: float = 1.0
    erase: bool = False
    antialias: bool = True


def to_qrect(rect: Box) -> QRect:
    return QRect(rect.x0, rect.y0, rect.width, rect.height)


def paint_segment(layer: QImage, p0: Point, p1: Point, spec: BrushSpec, color: QColor) -> Box:
    """Paint (or erase) a round-brush segment from p0 to p1 into ``layer``; returns the touched pixels.

    A hard brush is one round-capped line; a soft brush stamps radial dabs (max-blended, so overlapping dabs
    do not build up past the brush profile).
    """
    pad = 1 if spec.antialias else 0
    dirty = geometry.segment_rect(p0, p1, spec.size, pad).clipped(layer.width(), layer.height())
    if dirty.is_empty():
        return dirty
    painter = QPainter(layer)
    painter.setClipRect(to_qrect(dirty))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, spec.antialias)
    opaque = QColor(color)
    opaque.setAlpha(255)
    if spec.hardness >= 0.99 or spec.size <= 2:
        painter.setCompositionMode(
            Mode.CompositionMode_DestinationOut if spec.erase else Mode.CompositionMode_SourceOver
        )
        if spec.size <= 1.5 and not spec.antialias:
            painter.setPen(QPen(opaque, max(1.0, spec.size), Qt.PenStyle.SolidLine, Qt.PenCapStyle.SquareCap))
            painter.drawLine(QPointF(*p0), QPointF(*p1))
        else:
            pen = QPen(
                opaque, spec.size, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
            )
            painter.setPen(pen)
            if p0 == p1:
                painter.drawPoint(QPointF(*p0))
            else:
                painter.drawLine(QPointF(*p0), QPointF(*p1))
    else:
        painter.setCompositionMode(
            Mode.CompositionMode_DestinationOut if spec.erase else Mode.CompositionMode_Lighten
        )
        painter.setPen(Qt.PenStyle.NoPen)
        r = spec.size / 2.0
        transparent = QColor(opaque)
        transparent.setAlpha(0)
        points = [p0] if p0 == p1 else geometry.dab_positions(p0, p1, max(1.0, spec.size * 0.1))
        for x, y in points:
            grad = QRadialGradient(QPointF(x, y), r)
            grad.setColorAt(0.0, opaque)
            grad.setColorAt(max(0.0, min(0.999, spec.hardness)), opaque)
            grad.setColorAt(1.0, transparent)
            painter.setBrush(QBrush(grad))
            painter.drawEllipse(QPointF(x, y), r, r)
    painter.end()
    return dirty


def fill_shape(layer: QImage, shape: QRectF | QPolygonF, color: QColor, erase: bool = False) -> Box:
    """Fill a rectangle or polygon (lasso) into ``layer``; returns the touched pixels."""
    path = QPainterPath()
    if isinstance(shape, QRectF):
        path.addRect(shape)
    else:
        path.addPolygon(shape)
        path.closeSubpath()
    b = path.boundingRect().toAlignedRect().adjusted(-1, -1, 1, 1)
    dirty = Box(b.left(), b.top(), b.right() + 1, b.bottom() + 1).clipped(layer.width(), layer.height())
    if dirty.is_empty():
        return dirty
    painter = QPainter(layer)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setCompositionMode(
        Mode.CompositionMode_DestinationOut if erase else Mode.CompositionMode_SourceOver
    )
    opaque = QColor(color)
    opaque.setAlpha(255)
    painter.fillPath(path, opaque)
    painter.end()
    return dirty


class StrokeRecorder:
    """Keeps the 'before' pixels of every tile a stroke touches, so the stroke can become one undo step
    without copying the whole (possibly 24 MP) layer when the stroke starts."""

    TILE = 256

    def __init__(self, layer: QImage) -> None:
        self.layer = layer
        self._before: dict[tuple[int, int], QImage] = {}
        self.dirty = geometry.EMPTY

    def will_touch(self, rect: Box) -> None:
        """Call before painting inside ``rect``: snapshots the tiles not seen yet."""
        for key in geometry.tiles_touching(rect, self.TILE):
            if key not in self._before:
                self._before[key] = self.layer.copy(self._tile_rect(key))
        self.dirty = self.dirty.union(rect)

    def _tile_rect(self, key: tuple[int, int]) -> QRect:
        t = self.TILE
        r = Box(key[0] * t, key[1] * t, key[0] * t + t, key[1] * t + t).clipped(
            self.layer.width(), self.layer.height()
        )
        return to_qrect(r)

    def patches(self) -> list[tuple[QRect, QImage, QImage]]:
        """(rect, before, after) for every touched tile."""
        return [
            (self._tile_rect(k), before, self.layer.copy(self._tile_rect(k)))
            for k, before in self._before.items()
        ]
