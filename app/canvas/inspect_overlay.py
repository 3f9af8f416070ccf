"""Draws where a filled pixel borrowed from: its top-k source patches outlined with their weights and arrows
from the target to each source (click), or a light outline of the best source (hover)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QStyleOptionGraphicsItem,
    QWidget,
)

from app.canvas.geometry import place_labels
from inpaint_core.api import Source

RANK_COLORS = ("#ffd400", "#ff7a00", "#ff3da8", "#7a5cff", "#00c2ff", "#3dff8a")


def arrow_path(start: QPointF, end: QPointF, head: float) -> QPainterPath:
    """A line from ``start`` to ``end`` with a two-stroke arrow head of length ``head`` at ``end``."""
    path = QPainterPath(start)
    path.lineTo(end)
    angle = math.atan2(end.y() - start.y(), end.x() - start.x())
    for side in (-1, 1):
        a = angle + math.pi - side * math.radians(25)
        path.moveTo(end)
        path.lineTo(end + QPointF(math.cos(a) * head, math.sin(a) * head))
    return path


def percent(weight: float) -> str:
    """An attention weight (0..1) as a percentage a person reads at a glance: '42 %', '4.2 %', '< 0.1 %'."""
    p = float(weight) * 100.0
    if p >= 9.95:
        return f"{p:.0f} %"
    if p >= 0.05:
        return f"{p:.1f} %"
    return "< 0.1 %"


def copied_from(sources: Sequence[Source]) -> tuple[int, int] | None:
    """The pixel (x, y) a PatchMatch fill copied this pixel from (one 1-pixel source at 100 %), else None."""
    if len(sources) != 1 or sources[0].weight < 1.0 or sources[0].size > 1.0:
        return None
    return math.floor(sources[0].x), math.floor(sources[0].y)


class LabelItem(QGraphicsItem):
    """Text on a dark rounded plate with a border in the source's colour, the same size at any zoom."""

    PAD = 3.0

    def __init__(self, text: str, color: QColor) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.text, self.color = text, color
        self.font = QFont()
        self.font.setPointSize(9)
        self.font.setBold(True)
        metrics = QFontMetricsF(self.font)
        self._rect = QRectF(
            0, 0, metrics.horizontalAdvance(text) + 2 * self.PAD, metrics.height() + 2 * self.PAD
        )

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def size(self) -> tuple[float, float]:
        return self._rect.width(), self._rect.height()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.color, 1.5))
        painter.setBrush(QColor(20, 20, 24, 215))
        painter.drawRoundedRect(self._rect, 3, 3)
        painter.setFont(self.font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class InspectOverlay:
    """Owns the scene items of one inspection; ``show`` replaces the previous one."""

    Z = 60

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self._items: list[QGraphicsItem] = []
        self._hover: list[QGraphicsItem] = []
        self.labels: list[LabelItem] = []
        self.leaders: list[QGraphicsPathItem] = []  # lines from a label moved off its box back to the box

    def _add(self, item: QGraphicsItem, bucket: list[QGraphicsItem]) -> None:
        item.setZValue(self.Z)
        item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.scene.addItem(item)
        bucket.append(item)

    def clear(self) -> None:
        for item in (*self._items, *self._hover):
            self.scene.removeItem(item)
        self._items, self._hover, self.labels, self.leaders = [], [], [], []

    def clear_hover(self) -> None:
        for item in self._hover:
            self.scene.removeItem(item)
        self._hover = []

    @property
    def shown(self) -> int:
        """How many sources the current inspection outlines."""
        return sum(isinstance(i, QGraphicsRectItem) for i in self._items)

    def show(self, target: QPointF, sources: Sequence[Source], zoom: float) -> None:
        """Outline each source patch (best first) with its weight and an arrow from ``target``."""
        for item in self._items:
            self.scene.removeItem(item)
        self._items = []
        head = 10.0 / max(zoom, 1e-3)
        marker = QGraphicsPathItem()
        ring = QPainterPath()
        ring.addEllipse(target, 4.0 / max(zoom, 1e-3), 4.0 / max(zoom, 1e-3))
        marker.setPath(ring)
        marker.setPen(QPen(QColor("white"), 0))
        marker.setBrush(QBrush(QColor(255, 255, 255, 120)))
        self._add(marker, self._items)
        labels: list[tuple[LabelItem, QPointF]] = []
        for rank, src in enumerate(sources):
            color = QColor(RANK_COLORS[rank % len(RANK_COLORS)])
            size = float(src.size)
            centre = QPointF(float(src.x), float(src.y))
            rect = QGraphicsRectItem(QRectF(centre.x() - size / 2, centre.y() - size / 2, size, size))
            pen = QPen(color, 2)
            pen.setCosmetic(True)
            rect.setPen(pen)
            self._add(rect, self._items)
            arrow = QGraphicsPathItem(arrow_path(target, centre, head))
            apen = QPen(color, 1.5)
            apen.setCosmetic(True)
            arrow.setPen(apen)
            self._add(arrow, self._items)
            label = LabelItem(f"{rank + 1} · {percent(src.weight)}", color)
            labels.append((label, QPointF(centre.x() - size / 2, centre.y() + size / 2)))
        # Place in view pixels (the labels ignore the zoom), then back to scene units.
        z = max(zoom, 1e-3)
        wanted = [(p.x() * z, p.y() * z + 2) for _, p in labels]
        spots = place_labels(wanted, [lb.size() for lb, _ in labels])
        self.leaders = []
        for (label, anchor), (x, y), (wx, wy) in zip(labels, spots, wanted):
            label.setPos(QPointF(x / z, y / z))
            self._add(label, self._items)
            if abs(y - wy) > 1 or abs(x - wx) > 1:
                # Moved off its box to clear another label: a leader line in its colour ties it to its box.
                leader = QGraphicsPathItem()
                path = QPainterPath(anchor)
                path.lineTo(QPointF(x / z, (y + label.size()[1] / 2) / z))
                leader.setPath(path)
                lpen = QPen(label.color, 1.2)
                lpen.setCosmetic(True)
                leader.setPen(lpen)
                self._add(leader, self._items)
                self.leaders.append(leader)
        self.labels = [label for label, _ in labels]

    def hover(self, target: QPointF, sources: Sequence[Source]) -> None:
        """A light outline of the best source of the pixel under the cursor and a faint line to it."""
        self.clear_hover()
        if not sources:
            return
        src = sources[0]
        size = float(src.size)
        rect = QGraphicsRectItem(QRectF(float(src.x) - size / 2, float(src.y) - size / 2, size, size))
        pen = QPen(QColor(255, 255, 255, 170), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        rect.setPen(pen)
        self._add(rect, self._hover)
        line = QGraphicsPathItem()
        path = QPainterPath()
        path.moveTo(target)
        path.lineTo(QLineF(target, QPointF(float(src.x), float(src.y))).p2())
        line.setPath(path)
        lpen = QPen(QColor(255, 255, 255, 110), 1, Qt.PenStyle.DotLine)
        lpen.setCosmetic(True)
        line.setPen(lpen)
        self._add(line, self._hover)
