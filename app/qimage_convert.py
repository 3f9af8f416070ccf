"""The one place that converts between QImage and numpy arrays.

Every function copies (a QImage's buffer dies with the QImage; a numpy view into it would dangle) and respects
``bytesPerLine`` (rows of a QImage are padded to 4 bytes).
"""

from __future__ import annotations

import sys

import numpy as np
from PySide6.QtGui import QColor, QImage

from inpaint_core.image_io import to_uint8


def _view(image: QImage, channels: int) -> np.ndarray:
    """A (H, W, channels) uint8 view over ``image``'s buffer; only valid while ``image`` lives."""
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h)
    return buf.reshape(h, bpl)[:, : w * channels].reshape(h, w, channels)  # (H, W, C)


def rgb_to_qimage(pixels: np.ndarray) -> QImage:
    """An RGB888 QImage copied from an HxWx3 uint8 array (HxW grey and HxWx4 RGBA are converted first)."""
    arr = np.asarray(pixels)
    if arr.dtype != np.uint8:
        arr = to_uint8(arr) if arr.dtype == np.uint16 else arr.astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(pixels: np.ndarray) -> QImage:
    """A premultiplied ARGB32 QImage copied from an HxWx4 uint8 RGBA array (straight alpha)."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = arr.shape[:2]
    straight = QImage(arr.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    return straight.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


def array_to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage copied from an HxW, HxWx3 or HxWx4 (straight alpha) uint8 array."""
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return rgba_to_qimage(pixels)
    return rgb_to_qimage(pixels)


# Transparency shows as the usual grey checkerboard: squares of CHECKER image pixels, in these two greys.
CHECKER = 8
CHECKER_GREYS = (204, 153)
_DISPLAY_ROWS = 512  # rows converted at a time, so a 24 MP photo never needs a float copy of itself


def display_rgb(pixels: np.ndarray, x0: int = 0, y0: int = 0) -> np.ndarray:
    """What the screen shows of document pixels: HxWx3 uint8 (16 bits rounded to 8, grey replicated, alpha
    composited over the checkerboard). ``x0, y0``: where the patch lies in the image, so patches drawn one by
    one line up with the whole image's checkerboard. The document keeps its own pixels; this is only a view.

    Shape: (H, W) | (H, W, 3) | (H, W, 4), uint8 or uint16 -> (H, W, 3) uint8
    """
    arr = to_uint8(np.asarray(pixels))
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if arr.shape[2] == 3:
        return np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    xs = ((np.arange(w) + x0) // CHECKER) % 2
    for top in range(0, h, _DISPLAY_ROWS):
        rows = slice(top, min(h, top + _DISPLAY_ROWS))
        ys = ((np.arange(rows.start, rows.stop) + y0) // CHECKER) % 2
        back = np.where((ys[:, None] ^ xs[None, :]) == 0, *CHECKER_GREYS).astype(np.uint16)  # (h', W)
        alpha = arr[rows, :, 3].astype(np.uint16)
        colour = arr[rows, :, :3].astype(np.uint16)
        mixed = (colour * alpha[..., None] + back[..., None] * (255 - alpha[..., None]) + 127) // 255
        out[rows] = mixed.astype(np.uint8)
    return out


def display_qimage(pixels: np.ndarray, x0: int = 0, y0: int = 0) -> QImage:
    """An RGB888 QImage of `display_rgb(pixels, x0, y0)`: any document layout, ready to draw."""
    return rgb_to_qimage(display_rgb(pixels, x0, y0))


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """An HxWx3 uint8 RGB copy of ``image``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    return _view(rgb, 3).copy()


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """An HxWx4 uint8 RGBA (straight alpha) copy of ``image``."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return _view(rgba, 4).copy()


def alpha_of(
    layer: QImage, x0: int = 0, y0: int = 0, x1: int | None = None, y1: int | None = None
) -> np.ndarray:
    """A copy of the alpha channel of an ARGB32(_Premultiplied) layer, optionally of a sub-rectangle.

    Shape: (y1 - y0, x1 - x0) uint8.
    """
    if layer.format() not in (QImage.Format.Format_ARGB32_Premultiplied, QImage.Format.Format_ARGB32):
        layer = layer.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    x1 = layer.width() if x1 is None else x1
    y1 = layer.height() if y1 is None else y1
    # ARGB32 is stored as native-endian 0xAARRGGBB words: on little-endian machines alpha is the 4th byte.
    byte = 3 if sys.byteorder == "little" else 0
    return np.ascontiguousarray(_view(layer, 4)[y0:y1, x0:x1, byte])


def _premultiplied_lut(color: QColor) -> np.ndarray:
    """The ARGB32 premultiplied word of ``color`` at every alpha 0..255 (a lookup beats per-pixel maths)."""
    a = np.arange(256, dtype=np.uint32)
    r = (a * color.red() + 127) // 255
    g = (a * color.green() + 127) // 255
    b = (a * color.blue() + 127) // 255
    return (a << 24) | (r << 16) | (g << 8) | b


def layer_from_alpha(alpha: np.ndarray, color: QColor) -> QImage:
    """A premultiplied ARGB32 layer of ``color`` whose alpha is ``alpha`` (HxW uint8)."""
    h, w = alpha.shape
    layer = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    set_alpha(layer, alpha, color)
    return layer


def set_alpha(layer: QImage, alpha: np.ndarray, color: QColor) -> None:
    """Overwrite ``layer`` in place with ``color`` at ``alpha`` (same size), keeping the QImage object."""
    h, w, bpl = layer.height(), layer.width(), layer.bytesPerLine()
    dst = np.frombuffer(layer.bits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    words = dst[:, : 4 * w].view(np.uint32)  # (H, W) native-endian ARGB words
    np.take(_premultiplied_lut(color), np.asarray(alpha, dtype=np.uint8), out=words)
