"""Brush size and hardness, guide pen width, the active layer (what the eraser erases), mask overlay colour and
opacity."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QFormLayout, QSlider, QSpinBox, QWidget

from app.canvas.tools import LAYER_LABELS, ToolSettings
from app.settings import BRUSH_SIZE
from app.widgets.color_button import ColorButton


class ToolOptionsPanel(QWidget):
    """Edits a ToolSettings; ``mask_color_changed`` and ``mask_opacity_changed`` go to the window."""

    mask_color_changed = Signal(QColor)
    mask_opacity_changed = Signal(float)

    def __init__(
        self,
        tool_settings: ToolSettings,
        mask_color: QColor,
        mask_opacity: float,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.tool_settings = tool_settings
        form = QFormLayout(self)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(BRUSH_SIZE.lo, BRUSH_SIZE.hi)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter in photo pixels ( [ and ] )")
        self.hardness = QSlider(Qt.Orientation.Horizontal)
        self.hardness.setRange(0, 100)
        self.hardness.setToolTip("Hard edge at the right, soft at the left")
        self.guide_width = QSpinBox()
        self.guide_width.setRange(1, 2)
        self.guide_width.setSuffix(" px")
        self.guide_width.setToolTip(
            "Sketch the structure lines the fill should follow, inside the hole. "
            "1 px matches the edge maps the network was trained on."
        )
        self.layer = QComboBox()
        for name, label in LAYER_LABELS.items():
            self.layer.addItem(label, name)
        self.layer.setToolTip(
            "The layer the eraser acts on. Choosing the mask brush, guide pen or do-not-borrow brush "
            "makes its layer active."
        )
        self.color = ColorButton(mask_color)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setValue(round(mask_opacity * 100))
        self.opacity.setToolTip("How strongly the mask shows over the photo")
        form.addRow("Brush size", self.size_spin)
        form.addRow("Hardness", self.hardness)
        form.addRow("Guide pen", self.guide_width)
        form.addRow("Eraser erases", self.layer)
        form.addRow("Mask colour", self.color)
        form.addRow("Mask opacity", self.opacity)
        self._sync()
        tool_settings.changed.connect(self._sync)
        self.size_spin.valueChanged.connect(tool_settings.set_size)
        self.hardness.valueChanged.connect(lambda v: tool_settings.set_hardness(v / 100.0))
        self.guide_width.valueChanged.connect(self._on_guide_width_changed)
        self.layer.currentIndexChanged.connect(
            lambda _i: tool_settings.set_layer(str(self.layer.currentData()))
        )
        self.color.color_changed.connect(self.mask_color_changed)
        self.opacity.valueChanged.connect(lambda v: self.mask_opacity_changed.emit(v / 100.0))

    def _sync(self) -> None:
        for widget, value in (
            (self.size_spin, self.tool_settings.size),
            (self.hardness, round(self.tool_settings.hardness * 100)),
            (self.guide_width, self.tool_settings.guide_width),
        ):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)
        index = self.layer.findData(self.tool_settings.layer)
        if index != self.layer.currentIndex():
            self.layer.blockSignals(True)
            self.layer.setCurrentIndex(index)
            self.layer.blockSignals(False)

    def _on_guide_width_changed(self, value: int) -> None:
        self.tool_settings.guide_width = value
        self.tool_settings.changed.emit()
