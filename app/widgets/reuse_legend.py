"""The source-reuse heat map's colour bar for the overlay panel, drawn with the editor's font.

The colours come from the core (`reuse_rgba` over the fixed `REUSE_RANGE`), so the bar is the map's own scale;
only the tick labels are drawn here, because the core's raster legend (made for the exported files) is too
small to read at panel size.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap

from app import qimage_convert
from inpaint_core.restore.reuse import REUSE_RANGE, reuse_rgba


def reuse_legend_pixmap(width: int = 240, text_color: QColor | None = None) -> QPixmap:
    """A ``width`` px wide colour bar with decade ticks and a caption, on a transparent background."""
    margin, bar_h = 16, 14  # the margin leaves room for the end labels
    font = QFont()
    font.setPointSize(8)
    line = int(font.pointSize() * 2)
    height = bar_h + 6 + 2 * line
    low, high = math.log10(REUSE_RANGE[0]), math.log10(REUSE_RANGE[1])
    inner = width - 2 * margin
    values = 10 ** np.linspace(low, high, inner)
    bar = reuse_rgba(values[None, :].astype(np.float32))
    bar[..., 3] = 255  # the bar shows the colours; the overlay's fade-in at the low end is its own matter
    bar = np.repeat(bar, bar_h, axis=0)

    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawImage(margin, 0, qimage_convert.rgba_to_qimage(bar))
    color = text_color or QColor(216, 216, 216)
    painter.setPen(color)
    painter.setFont(font)
    for decade in range(math.ceil(low), math.floor(high) + 1):
        x = margin + (decade - low) / (high - low) * (inner - 1)
        painter.drawLine(round(x), bar_h, round(x), bar_h + 4)
        label = f"{10.0**decade:g}"
        painter.drawText(
            QRectF(x - 30, bar_h + 4, 60, line),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            label,
        )
    painter.drawText(
        QRectF(0, bar_h + 4 + line, width, line),
        Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
        "borrowed attention weight per pixel",
    )
    painter.end()
    return pixmap
