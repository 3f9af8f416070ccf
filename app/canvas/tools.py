"""Painting tools. The view turns mouse events into scene points and calls ``press`` / ``move`` / ``release``;
tests and the self-test may call the same handlers (or send real mouse events to the viewport)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

from app.canvas import geometry
from app.canvas.commands import LayerPatchCommand
from app.canvas.painting import BrushSpec, StrokeRecorder, fill_shape, paint_segment, to_qrect
from app.document import FORBID, GUIDE, MASK, Document
from app.settings import BRUSH_SIZE
from inpaint_core.boxes import Box

# How the layers are named to the user (history, status bar, the eraser's layer choice).
LAYER_LABELS = {MASK: "Mask", GUIDE: "Guide", FORBID: "Do-not-borrow"}


class ToolSettings(QObject):
    """Brush parameters shared by the tools and the options panel, and the active layer (the one the eraser
    acts on: the layer of the painting tool chosen last, or chosen in the Brush panel)."""

    changed = Signal()

    def __init__(self, size: int = BRUSH_SIZE.default, hardness: float = 1.0, guide_width: int = 1) -> None:
        super().__init__()
        self.size, self.hardness, self.guide_width = size, hardness, guide_width
        self.layer = MASK

    def set_layer(self, layer: str) -> None:
        if layer not in LAYER_LABELS:
            raise ValueError(f"unknown layer {layer!r}")
        if layer != self.layer:
            self.layer = layer
            self.changed.emit()

    def set_size(self, size: int) -> None:
        size = int(min(geometry.MAX_BRUSH, max(geometry.MIN_BRUSH, size)))
        if size != self.size:
            self.size = size
            self.changed.emit()

    def set_hardness(self, hardness: float) -> None:
        hardness = min(1.0, max(0.0, hardness))
        if hardness != self.hardness:
            self.hardness = hardness
            self.changed.emit()

    def step_size(self, direction: int) -> None:
        self.set_size(geometry.step_brush_size(self.size, direction))


class Tool:
    """Base class: a tool receives scene points (image pixels)."""

    name = "tool"
    label = "Tool"
    shows_brush = False
    layer: str | None = (
        None  # the layer this tool paints (None: it paints none); choosing the tool activates it
    )

    def __init__(self, doc: Document, settings: ToolSettings) -> None:
        self.doc, self.settings = doc, settings
        self.scene: QGraphicsScene | None = None

    def brush_size(self) -> float:
        return float(self.settings.size)

    def press(self, pos: QPointF) -> None:
        """Mouse button down at ``pos``."""

    def move(self, pos: QPointF) -> None:
        """Pointer moved to ``pos`` with the button held."""

    def release(self, pos: QPointF) -> None:
        """Mouse button up at ``pos``."""

    def cancel(self) -> None:
        """Abandon a gesture in progress (Escape, document replaced)."""


class BrushTool(Tool):
    """Paints (or erases) a layer with a round brush; one stroke = one undo step."""

    name = "brush"
    label = "Mask brush"
    shows_brush = True
    layer: str | None = MASK
    erase = False

    def __init__(self, doc: Document, settings: ToolSettings) -> None:
        super().__init__(doc, settings)
        self._last: geometry.Point | None = None
        self._recorder: StrokeRecorder | None = None

    def target(self) -> str:
        """The layer a stroke goes to."""
        return self.layer or MASK

    def spec(self) -> BrushSpec:
        return BrushSpec(size=float(self.settings.size), hardness=self.settings.hardness, erase=self.erase)

    def press(self, pos: QPointF) -> None:
        self._recorder = StrokeRecorder(self.doc.layer(self.target()))
        self._last = (pos.x(), pos.y())
        self._segment(self._last, self._last)

    def move(self, pos: QPointF) -> None:
        if self._last is None:
            return
        p = (pos.x(), pos.y())
        self._segment(self._last, p)
        self._last = p

    def _segment(self, p0: geometry.Point, p1: geometry.Point) -> None:
        assert self._recorder is not None
        spec = self.spec()
        name = self.target()
        layer = self.doc.layer(name)
        rect = geometry.segment_rect(p0, p1, spec.size, 1 if spec.antialias else 0).clipped(
            layer.width(), layer.height()
        )
        if rect.is_empty():
            return
        self._recorder.will_touch(rect)
        dirty = paint_segment(layer, p0, p1, spec, self.doc.colors[name])
        self.doc.notify_layer(name, to_qrect(dirty))

    def release(self, pos: QPointF) -> None:
        if self._recorder is None:
            return
        self.move(pos)
        patches = self._recorder.patches()
        self._recorder, self._last = None, None
        if patches:
            self.doc.undo_stack.push(LayerPatchCommand(self.doc, self.target(), patches, self.step_text()))

    def step_text(self) -> str:
        return f"{self.label} stroke"

    def cancel(self) -> None:
        if self._recorder is not None:
            for rect, before, _after in self._recorder.patches():
                self.doc.put_patch(self.target(), rect, before)
        self._recorder, self._last = None, None


class EraserTool(BrushTool):
    """Erases the active layer (``ToolSettings.layer``): the mask, the guide sketch or the do-not-borrow area."""

    name = "eraser"
    label = "Eraser"
    erase = True
    layer = None  # choosing the eraser keeps the active layer

    def target(self) -> str:
        return self.settings.layer

    def spec(self) -> BrushSpec:
        if self.target() == GUIDE:
            # The guide is binary (any coverage is a stroke): an antialiased edge would leave faint stroke pixels.
            return BrushSpec(size=float(self.settings.size), hardness=1.0, erase=True, antialias=False)
        return super().spec()

    def step_text(self) -> str:
        return f"Eraser stroke ({LAYER_LABELS[self.target()].lower()})"


class ForbidBrushTool(BrushTool):
    """Marks regions the fill may not copy from (``request.forbid``)."""

    name = "forbid"
    label = "Do-not-borrow brush"
    layer = FORBID


class GuidePenTool(BrushTool):
    """Thin binary sketch strokes (no antialiasing) in the guide layer, fed to the model's guide channel."""

    name = "guide"
    label = "Guide pen"
    layer = GUIDE

    def brush_size(self) -> float:
        return float(self.settings.guide_width)

    def spec(self) -> BrushSpec:
        return BrushSpec(size=float(self.settings.guide_width), hardness=1.0, erase=False, antialias=False)


class ShapeTool(Tool):
    """Base for rectangle and lasso: a preview item while dragging, a filled shape on release."""

    layer = MASK

    def __init__(self, doc: Document, settings: ToolSettings) -> None:
        super().__init__(doc, settings)
        self._preview: QGraphicsPathItem | QGraphicsRectItem | None = None

    def _commit(self, shape: QRectF | QPolygonF) -> None:
        layer = self.doc.layer(MASK)
        recorder = StrokeRecorder(layer)
        path = QPainterPath()
        if isinstance(shape, QRectF):
            path.addRect(shape)
        else:
            path.addPolygon(shape)
        b = path.boundingRect().toAlignedRect().adjusted(-1, -1, 1, 1)
        rect = Box(b.left(), b.top(), b.right() + 1, b.bottom() + 1).clipped(layer.width(), layer.height())
        if rect.is_empty():
            return
        recorder.will_touch(rect)
        dirty = fill_shape(layer, shape, self.doc.colors[MASK])
        self.doc.notify_layer(MASK, to_qrect(dirty))
        self.doc.undo_stack.push(LayerPatchCommand(self.doc, MASK, recorder.patches(), self.label))

    def _drop_preview(self) -> None:
        if self._preview is not None and self.scene is not None:
            self.scene.removeItem(self._preview)
        self._preview = None

    def cancel(self) -> None:
        self._drop_preview()


def _preview_pen() -> QPen:
    pen = QPen(QColor(255, 255, 255), 0)
    pen.setDashPattern([4.0, 3.0])
    return pen


class RectangleTool(ShapeTool):
    name = "rectangle"
    label = "Rectangle selection"

    def __init__(self, doc: Document, settings: ToolSettings) -> None:
        super().__init__(doc, settings)
        self._start: QPointF | None = None

    def press(self, pos: QPointF) -> None:
        self._start = QPointF(pos)
        if self.scene is not None:
            item = QGraphicsRectItem()
            item.setPen(_preview_pen())
            item.setZValue(50)
            self.scene.addItem(item)
            self._preview = item
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        if self._start is not None and isinstance(self._preview, QGraphicsRectItem):
            self._preview.setRect(QRectF(self._start, pos).normalized())

    def release(self, pos: QPointF) -> None:
        if self._start is None:
            return
        rect = QRectF(self._start, pos).normalized()
        self._start = None
        self._drop_preview()
        if rect.width() >= 1 and rect.height() >= 1:
            self._commit(rect)

    def cancel(self) -> None:
        self._start = None
        super().cancel()


class LassoTool(ShapeTool):
    name = "lasso"
    label = "Lasso selection"

    def __init__(self, doc: Document, settings: ToolSettings) -> None:
        super().__init__(doc, settings)
        self._points: list[QPointF] = []

    def press(self, pos: QPointF) -> None:
        self._points = [QPointF(pos)]
        if self.scene is not None:
            item = QGraphicsPathItem()
            item.setPen(_preview_pen())
            item.setZValue(50)
            self.scene.addItem(item)
            self._preview = item

    def move(self, pos: QPointF) -> None:
        if not self._points:
            return
        self._points.append(QPointF(pos))
        if isinstance(self._preview, QGraphicsPathItem):
            path = QPainterPath(self._points[0])
            for p in self._points[1:]:
                path.lineTo(p)
            self._preview.setPath(path)

    def release(self, pos: QPointF) -> None:
        if not self._points:
            return
        self._points.append(QPointF(pos))
        points, self._points = self._points, []
        self._drop_preview()
        if len(points) >= 3:
            self._commit(QPolygonF(points))

    def cancel(self) -> None:
        self._points = []
        super().cancel()


class InspectTool(Tool):
    """Click a filled pixel to see where it borrowed from; the window connects ``inspected``."""

    name = "inspect"
    label = "Inspect attention"

    def __init__(self, doc: Document, settings: ToolSettings, on_click: object = None) -> None:
        super().__init__(doc, settings)
        self.on_click = on_click

    def press(self, pos: QPointF) -> None:
        if callable(self.on_click):
            self.on_click(pos)


TOOL_CLASSES: tuple[type[Tool], ...] = (
    BrushTool,
    EraserTool,
    GuidePenTool,
    ForbidBrushTool,
    RectangleTool,
    LassoTool,
    InspectTool,
)
