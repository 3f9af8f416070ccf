"""The editor's state: the photo, the paint layers (mask, guide, forbid), the last attention field, the history.

Layers are premultiplied ARGB32 QImages painted in place (only in a stroke's dirty rectangle, so a 24 MP photo
stays fluid); the numpy masks the engine needs are derived lazily from their alpha channel on request.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QUndoStack

from app import qimage_convert
from app.settings import MASK_COLOR
from inpaint_core.api import AttentionField, FileIdentity
from inpaint_core.boxes import Box

MASK, GUIDE, FORBID = "mask", "guide", "forbid"
LAYERS = (MASK, GUIDE, FORBID)
# A soft brush leaves partial alpha; pixels at least half covered count as hole / forbidden.
HOLE_THRESHOLD = 128

DEFAULT_COLORS = {MASK: QColor(MASK_COLOR), GUIDE: QColor(0, 255, 255), FORBID: QColor(60, 130, 255)}


def pixel_depth(pixels: np.ndarray) -> str:
    """How a photo's file stores its pixels, for the status bar: '8-bit RGB', '16-bit RGBA', '8-bit grey'."""
    bits = 8 * pixels.dtype.itemsize
    channels = 1 if pixels.ndim == 2 else int(pixels.shape[2])
    return f"{bits}-bit {({1: 'grey', 2: 'grey + alpha', 3: 'RGB', 4: 'RGBA'}).get(channels, f'{channels} channels')}"


class Document(QObject):
    """One open photo and everything painted on it.

    Signals:
        image_changed: the whole document changed (a new photo).
        image_region_changed(rect): the photo pixels changed inside ``rect`` (a fill or its undo).
        layer_changed(name, rect): a layer changed inside ``rect`` (image pixels).
        attention_changed: the attention field of the last fill changed (or was cleared).
        path_changed: the file the document is tied to changed.
    """

    image_changed = Signal()
    image_region_changed = Signal(QRect)
    layer_changed = Signal(str, QRect)
    attention_changed = Signal()
    path_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        self.exif: bytes | None = None
        self.icc: bytes | None = None
        self.format: str = "PNG"
        # the file's colour model when opened as RGB ("CMYK"), else None
        self.converted_from: str | None = None
        self.depth: str = "8-bit RGB"  # the file's bit depth and channels (pixel_depth)
        # Which version of `path` the document started from (opened or last saved): a recovery copy keeps it,
        # so it is never restored over another picture that took the photo's name.
        self.file_identity: FileIdentity | None = None
        # The photo as loaded and as edited, in the file's own layout (HxW, HxWx3 or HxWx4; uint8 or uint16).
        self.original: np.ndarray = np.zeros((1, 1, 3), np.uint8)
        self.image: np.ndarray = self.original.copy()
        self.colors: dict[str, QColor] = {k: QColor(v) for k, v in DEFAULT_COLORS.items()}
        self.layers: dict[str, QImage] = {}
        self.attention: AttentionField | None = None
        # Bumped whenever the photo pixels change: a fill computed on an older photo is stale.
        self.image_revision = 0
        self._reset_layers()

    # -- whole document -------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def set_photo(
        self,
        pixels: np.ndarray,
        path: Path | None = None,
        exif: bytes | None = None,
        icc: bytes | None = None,
        fmt: str = "PNG",
        converted_from: str | None = None,
    ) -> None:
        """Replace the whole document with a new photo (clears layers, attention and history).

        The pixels are kept as they are (grey, RGB or RGBA; 8 or 16 bits): fills happen and saves write at the
        photo's own depth, so nothing is lost. Only the screen sees a converted view
        (`qimage_convert.display_rgb`).
        """
        if pixels.dtype not in (np.uint8, np.uint16) or not (
            pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
        ):
            raise ValueError(
                f"a photo is HxW, HxWx3 or HxWx4 uint8/uint16, got {pixels.dtype} {pixels.shape}"
            )
        self.depth = pixel_depth(pixels)
        self.original = np.array(pixels, copy=True, order="C")
        self.image = self.original.copy()
        self.path, self.exif, self.icc, self.format = path, exif, icc, fmt
        self.converted_from = converted_from
        self.file_identity = None  # set by whoever read the file (FileController.open_path)
        self.attention = None
        self.undo_stack.clear()
        self.image_revision += 1
        self._reset_layers()
        self.image_changed.emit()
        self.attention_changed.emit()
        self.path_changed.emit()

    def _reset_layers(self) -> None:
        h, w = self.image.shape[:2]
        for name in LAYERS:
            layer = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
            layer.fill(0)
            self.layers[name] = layer

    @property
    def is_modified(self) -> bool:
        """True when the history has steps since the last save (or load)."""
        return not self.undo_stack.isClean()

    # -- photo pixels ---------------------------------------------------------------------------------------
    def set_image_region(self, box: Box, pixels: np.ndarray) -> None:
        """Write ``pixels`` (the photo's layout and dtype, box-sized) into the photo inside ``box``; used by fill
        commands."""
        self.image[box.slices] = pixels
        self.image_revision += 1
        self.image_region_changed.emit(QRect(box.x0, box.y0, box.width, box.height))

    def set_attention(self, attention: AttentionField | None) -> None:
        self.attention = attention
        self.attention_changed.emit()

    # -- layers ---------------------------------------------------------------------------------------------
    def layer(self, name: str) -> QImage:
        return self.layers[name]

    def notify_layer(self, name: str, rect: QRect) -> None:
        """Tell the views that ``name`` changed inside ``rect`` (tools paint in place, then call this)."""
        self.layer_changed.emit(name, rect)

    def put_patch(self, name: str, rect: QRect, patch: QImage) -> None:
        """Replace the pixels of layer ``name`` inside ``rect`` with ``patch`` (same size as ``rect``)."""
        painter = QPainter(self.layers[name])
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), patch)
        painter.end()
        self.layer_changed.emit(name, rect)

    def layer_alpha(self, name: str, box: Box | None = None) -> np.ndarray:
        """A copy of layer ``name``'s coverage (uint8, 0..255): the whole layer (HxW), or inside ``box``."""
        if box is None:
            return qimage_convert.alpha_of(self.layers[name])
        return qimage_convert.alpha_of(self.layers[name], box.x0, box.y0, box.x1, box.y1)

    def set_layer_alpha(self, name: str, alpha: np.ndarray, box: Box | None = None) -> None:
        """Replace layer ``name``'s coverage with ``alpha`` (uint8) in its colour: all of it, or inside ``box``."""
        if box is not None:
            self.put_patch(
                name,
                QRect(box.x0, box.y0, box.width, box.height),
                qimage_convert.layer_from_alpha(alpha, self.colors[name]),
            )
            return
        qimage_convert.set_alpha(self.layers[name], alpha, self.colors[name])
        self.layer_changed.emit(name, QRect(0, 0, self.width, self.height))

    def set_layer_color(self, name: str, color: QColor) -> None:
        """Recolour a layer (its coverage is kept)."""
        if color == self.colors[name]:
            return
        alpha = self.layer_alpha(name)
        self.colors[name] = QColor(color)
        self.set_layer_alpha(name, alpha)

    def mask_array(self) -> np.ndarray:
        """The hole mask for the engine: HxW uint8, 1 = hole."""
        return (self.layer_alpha(MASK) >= HOLE_THRESHOLD).astype(np.uint8)

    def guide_array(self) -> np.ndarray:
        """The guide sketch for the engine: HxW uint8, 1 = stroke (the pen is binary)."""
        return (self.layer_alpha(GUIDE) > 0).astype(np.uint8)

    def forbid_array(self) -> np.ndarray:
        """Where the fill may not borrow from: HxW uint8, 1 = forbidden."""
        return (self.layer_alpha(FORBID) >= HOLE_THRESHOLD).astype(np.uint8)
