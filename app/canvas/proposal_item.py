"""The proposed scratch-and-dust mask, drawn over the photo (and over the mask layer) while the preview is on."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from app import qimage_convert

# Yellow: apart from the mask (red by default), the guide (cyan) and the forbid layer (blue), and visible on
# grey, sepia and cyanotype prints alike.
PROPOSAL_COLOR = QColor(255, 214, 0)


class ProposalItem(QGraphicsPixmapItem):
    """Shows an (H, W) bool proposal in `PROPOSAL_COLOR`; takes no mouse input (the tools keep working)."""

    Z = 5  # above the paint layers (1-3), below the attention overlay (10)

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(self.Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        # Smooth scaling keeps 1 px scratches visible (fainter) when the view is zoomed out.
        self.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.setOpacity(0.9)
        self.setVisible(False)

    def set_mask(self, mask: np.ndarray | None, width: int | None = None) -> None:
        """Show ``mask`` (nonzero = proposed) stretched to ``width`` image pixels (default: its own), or hide the
        item for None."""
        if mask is None:
            self.setVisible(False)
            self.setPixmap(QPixmap())
            return
        alpha = np.where(mask, np.uint8(255), np.uint8(0))
        self.setPixmap(QPixmap.fromImage(qimage_convert.layer_from_alpha(alpha, PROPOSAL_COLOR)))
        self.setScale((width or mask.shape[1]) / mask.shape[1])
        self.setVisible(True)

    @property
    def shown(self) -> bool:
        return self.isVisible() and not self.pixmap().isNull()
