"""The permanent fields on the right of the status bar: pointer position, image size and bit depth, active tool,
active model, zoom."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget


class StatusFields(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.position = QLabel()
        self.position.setToolTip("The image pixel under the pointer")
        self.image = QLabel()
        self.image.setToolTip("Image size and the file's bit depth")
        self.tool = QLabel()
        self.tool.setToolTip("The active tool (and the layer it paints or erases)")
        self.model = QLabel()
        self.model.setToolTip("The model the next fill uses (choose it in the Fill panel)")
        self.zoom = QLabel("100 %")
        self.zoom.setToolTip("Zoom (Ctrl+0 fits, Ctrl+1 is 100 %)")
        # A fixed width keeps the fields from shifting as the numbers change.
        self.zoom.setMinimumWidth(self.zoom.fontMetrics().horizontalAdvance("6400 %"))
        self.position.setMinimumWidth(self.position.fontMetrics().horizontalAdvance("00000, 00000"))
        self._separators: dict[QLabel, QFrame] = {}
        for i, label in enumerate((self.position, self.image, self.tool, self.model, self.zoom)):
            if i:
                self._separators[label] = self._separator()
                layout.addWidget(self._separators[label])
            layout.addWidget(label)

    def set_compact(self, compact: bool) -> None:
        """Hide the image, tool and model fields (they are in the window's panels too), so a long status message
        (a record's path, the inspector's sources) has the room to show whole."""
        for label in (self.image, self.tool, self.model):
            label.setVisible(not compact)
            self._separators[label].setVisible(not compact)
        # compact: no wider than the fields left, or those two stretch over the room the hidden ones had
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.setMaximumWidth(self.sizeHint().width() if compact else 16777215)  # QWIDGETSIZE_MAX

    @staticmethod
    def _separator() -> QFrame:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        return line

    def set_image(self, width: int, height: int, depth: str) -> None:
        self.image.setText(f"{width} × {height}, {depth}")

    def set_tool(self, text: str) -> None:
        self.tool.setText(text)

    def set_model(self, text: str) -> None:
        self.model.setText(text)

    def set_zoom(self, scale: float) -> None:
        self.zoom.setText(f"{scale * 100:.0f} %")
