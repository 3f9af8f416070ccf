"""A split slider comparing the original photo (left) with the current result (right)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSizePolicy, QSlider, QWidget


class CompareBar(QWidget):
    """``split_changed(fraction)`` with a fraction in 0..1, or -1 when comparing is off."""

    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.enabled_box = QCheckBox("Compare")
        self.enabled_box.setToolTip(
            "Original on the left of the split, result on the right (hold \\ to see the original)"
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.setFixedWidth(160)
        self.slider.setEnabled(False)
        layout.addWidget(self.enabled_box)
        layout.addWidget(self.slider)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.enabled_box.toggled.connect(self._emit)
        self.slider.valueChanged.connect(self._emit)

    def _emit(self) -> None:
        on = self.enabled_box.isChecked()
        self.slider.setEnabled(on)
        self.split_changed.emit(self.slider.value() / 1000.0 if on else -1.0)
