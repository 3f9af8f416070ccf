"""The canvas view: zoom around the cursor with the wheel, fit, 100 %, pan with space-drag or the middle button;
mouse events go to the current tool as image-pixel points."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from app import qimage_convert
from app.canvas import geometry
from app.canvas.items import BrushCursorItem, LayerItem, PhotoItem, ThinLayerItem
from app.canvas.tools import Tool
from app.document import FORBID, GUIDE, MASK, Document
from inpaint_core.image_io import IMAGE_EXTENSIONS


class CanvasView(QGraphicsView):
    """Shows a Document and forwards pointer gestures to the current Tool.

    Signals:
        hovered(QPointF): the pointer is over image pixel (x, y) (scene coordinates).
        zoom_changed(float): the scale changed (1.0 = 100 %).
        file_dropped(str): an image file was dropped on the canvas.
        compare_held(bool): the hold-to-compare key (backslash) went down / up.
        stroke_finished(str): a gesture of the named tool ended (the button was released).
    """

    hovered = Signal(QPointF)
    zoom_changed = Signal(float)
    file_dropped = Signal(str)
    compare_held = Signal(bool)
    stroke_finished = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(QColor(40, 40, 44)))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # No scroll bars: the view's scene rect has a margin of one viewport around the photo (`_free_margin`),
        # which they would show as room to scroll into. Panning moves the (hidden) bars.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.photo_item = PhotoItem()
        self.layer_items: dict[str, LayerItem] = {name: LayerItem(doc, name) for name in (FORBID, MASK)}
        self.layer_items[GUIDE] = ThinLayerItem(doc, GUIDE)  # 1-px strokes stay visible at Fit
        self.flow_item = QGraphicsPixmapItem()
        self.flow_item.setVisible(False)
        self.brush_cursor = BrushCursorItem()
        self.brush_cursor.setVisible(False)
        scene = self.scene()
        scene.addItem(self.photo_item)
        for z, name in enumerate((FORBID, MASK, GUIDE), start=1):
            self.layer_items[name].setZValue(z)
            scene.addItem(self.layer_items[name])
        self.layer_items[FORBID].setOpacity(0.45)
        self.flow_item.setZValue(10)
        scene.addItem(self.flow_item)
        scene.addItem(self.brush_cursor)

        self.tool: Tool | None = None
        self._space_down = False
        self._pan_from: QPoint | None = None
        self._tool_active = False
        self._fitted = True
        # The brush circle shows only while the pointer is over the canvas (not at (0, 0) before it enters).
        self._pointer_inside = False
        self._placeholder = ""

        doc.image_changed.connect(self._on_doc_image_changed)
        doc.image_region_changed.connect(self._on_doc_image_region_changed)
        doc.layer_changed.connect(self._on_doc_layer_changed)
        self._on_doc_image_changed()

    # -- document -> scene ----------------------------------------------------------------------------------
    def _on_doc_image_changed(self) -> None:
        size_changed = (
            self.photo_item.current.width() != self.doc.width
            or self.photo_item.current.height() != self.doc.height
        )
        self.photo_item.set_photo(self._displayed_qimage())
        for item in self.layer_items.values():
            if isinstance(item, ThinLayerItem):
                item.invalidate()
            item.prepareGeometryChange()
            item.update()
        self.scene().setSceneRect(QRectF(0, 0, self.doc.width, self.doc.height))
        if size_changed:
            self.fit()

    def _displayed_qimage(self, rect: QRect | None = None) -> QImage:
        """The photo as the screen shows it (8-bit RGB; grey as RGB, 16 bits rounded, alpha over a checkerboard),
        whole or inside ``rect``."""
        if rect is None:
            return qimage_convert.display_qimage(self.doc.image)
        patch = self.doc.image[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]
        return qimage_convert.display_qimage(patch, rect.left(), rect.top())

    def _on_doc_image_region_changed(self, rect: QRect) -> None:
        # Only the changed box is converted and drawn into the pixmap: a fill on a 24 MP photo stays cheap.
        if rect.isEmpty():
            return
        painter = QPainter(self.photo_item.current)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), self._displayed_qimage(rect))
        painter.end()
        self.photo_item.update(QRectF(rect))

    def _on_doc_layer_changed(self, name: str, rect: QRect) -> None:
        item = self.layer_items.get(name)
        if isinstance(item, ThinLayerItem):
            item.invalidate(rect)
        if item is not None:
            item.update(QRectF(rect))

    def set_mask_opacity(self, opacity: float) -> None:
        self.layer_items[MASK].setOpacity(opacity)

    def set_flow(self, rgba: QImage | None, opacity: float) -> None:
        """Show the attention-flow overlay (None hides it)."""
        if rgba is None:
            self.flow_item.setVisible(False)
            return
        self.flow_item.setPixmap(QPixmap.fromImage(rgba))
        self.flow_item.setOpacity(opacity)
        self.flow_item.setVisible(True)

    # -- zoom -----------------------------------------------------------------------------------------------
    def scale_factor(self) -> float:
        return float(self.transform().m11())

    def _free_margin(self, scale: float) -> None:
        """Let the view place the photo anywhere (up to a viewport beyond its edges): Qt centres a scene smaller
        than the viewport and clamps one larger at its edges, so a wheel zoom from Fit drifted away from the
        cursor until the photo outgrew the viewport."""
        vp = self.viewport().size()
        mx, my = vp.width() / scale, vp.height() / scale
        self.setSceneRect(QRectF(-mx, -my, self.doc.width + 2 * mx, self.doc.height + 2 * my))

    def _apply(self, origin: geometry.Point, scale: float) -> None:
        self._free_margin(scale)
        self.setTransform(QTransform.fromScale(scale, scale))
        vp = self.viewport().size()
        cx, cy = geometry.centre_for(origin, scale, (vp.width(), vp.height()))
        self.centerOn(QPointF(cx, cy))
        self._update_brush_cursor(None)
        self.zoom_changed.emit(scale)

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        """Zoom by ``factor`` keeping the image point under viewport point ``anchor`` fixed."""
        top_left = self.mapToScene(QPoint(0, 0))
        origin, scale = geometry.zoom_about(
            (top_left.x(), top_left.y()), self.scale_factor(), factor, (anchor.x(), anchor.y())
        )
        self._fitted = False
        self._apply(origin, scale)

    def fit(self) -> None:
        """Zoom so the whole photo is visible, centred."""
        vp = self.viewport().size()
        scale = geometry.fit_scale((self.doc.width, self.doc.height), (vp.width(), vp.height()))
        self._free_margin(scale)
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(QPointF(self.doc.width / 2, self.doc.height / 2))
        self._fitted = True
        self.zoom_changed.emit(scale)

    def zoom_100(self) -> None:
        """Show the photo at 100 %, keeping the viewport's centre."""
        centre = self.mapToScene(self.viewport().rect().center())
        self._free_margin(1.0)
        self.setTransform(QTransform())
        self.centerOn(centre)
        self._fitted = False
        self.zoom_changed.emit(1.0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()
        else:
            self._free_margin(self.scale_factor())

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return
        self.zoom_at(1.0015**delta, event.position())
        event.accept()

    # -- tools ----------------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.tool = tool
        tool.scene = self.scene()
        self._update_cursor()

    def _update_cursor(self) -> None:
        if self._space_down or self._pan_from is not None:
            self.viewport().setCursor(
                Qt.CursorShape.ClosedHandCursor if self._pan_from else Qt.CursorShape.OpenHandCursor
            )
        elif self.tool is not None and self.tool.shows_brush:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        elif self.tool is not None and self.tool.name == "inspect":
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def _update_brush_cursor(self, scene_pos: QPointF | None) -> None:
        if self.tool is None or not self.tool.shows_brush:
            self.brush_cursor.setVisible(False)
            return
        if scene_pos is None:
            scene_pos = self.brush_cursor.rect().center()
        self.brush_cursor.place(scene_pos, self.tool.brush_size())
        self.brush_cursor.setVisible(self._pointer_inside)

    def refresh_brush_cursor(self) -> None:
        """Redraw the brush circle after a size change."""
        self._update_brush_cursor(None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._pan_from = event.position().toPoint()
            self._update_cursor()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool is not None:
            self._tool_active = True
            self.tool.press(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            self._fitted = False
            event.accept()
            return
        scene_pos = self.mapToScene(pos)
        self._pointer_inside = True
        self._update_brush_cursor(scene_pos)
        if self._tool_active and self.tool is not None:
            self.tool.move(scene_pos)
        self.hovered.emit(scene_pos)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self._update_cursor()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self._tool_active and self.tool is not None:
            self._tool_active = False
            self.tool.release(self.mapToScene(event.position().toPoint()))
            self.stroke_finished.emit(self.tool.name)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def enterEvent(self, event: QEvent) -> None:
        self._pointer_inside = True
        super().enterEvent(event)  # type: ignore[arg-type]

    def leaveEvent(self, event: QEvent) -> None:
        self._pointer_inside = False
        self.brush_cursor.setVisible(False)
        super().leaveEvent(event)

    # -- keys -----------------------------------------------------------------------------------------------
    # Space (pan) and backslash (compare) are the canvas's held keys. The window routes them here whatever
    # widget has the focus (CanvasKeys), as Krita and Photoshop do: a panel control clicked last must not
    # turn a space-drag into a painted stroke.
    HELD_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Backslash)

    def held_key(self, key: int, down: bool) -> None:
        """Space or backslash went down (``down``) or up."""
        if key == Qt.Key.Key_Space:
            self._space_down = down
            self._update_cursor()
        elif key == Qt.Key.Key_Backslash:
            self.compare_held.emit(down)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() in self.HELD_KEYS:
            self.held_key(event.key(), True)
        elif event.key() == Qt.Key.Key_Escape and self.tool is not None:
            self._tool_active = False
            self.tool.cancel()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() in self.HELD_KEYS:
            self.held_key(event.key(), False)
        else:
            super().keyReleaseEvent(event)

    # -- placeholder ----------------------------------------------------------------------------------------
    def set_placeholder(self, text: str) -> None:
        """A line centred on the canvas (e.g. "Opening photo.jpg…" while a large photo loads); "" removes it."""
        self._placeholder = text
        self.photo_item.setVisible(not text)  # not the empty document's single pixel, zoomed up
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        if not self._placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(220, 220, 220))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
        painter.restore()

    # -- drag and drop --------------------------------------------------------------------------------------
    @staticmethod
    def _dropped_path(event: QDragEnterEvent | QDropEvent) -> str | None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and urls[0].toLocalFile().lower().endswith(IMAGE_EXTENSIONS):
            return str(urls[0].toLocalFile())
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if self._dropped_path(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event)
        if path:
            event.acceptProposedAction()
            self.file_dropped.emit(path)
