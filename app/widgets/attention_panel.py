"""The attention-flow overlay controls: show, opacity, the colour-wheel legend, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget


class AttentionPanel(QWidget):
    toggled = Signal(bool)
    opacity_changed = Signal(float)
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.show_box = QCheckBox("Show attention flow")
        self.show_box.setToolTip("Colour = direction and distance each filled pixel borrowed from (A)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(5, 100)
        self.opacity.setValue(70)
        self.legend = QLabel()
        self.legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setMinimumHeight(self.hint.fontMetrics().height() * 4)
        self.export_button = QPushButton("Export overlay…")
        layout.addWidget(self.show_box)
        layout.addWidget(QLabel("Overlay opacity"))
        layout.addWidget(self.opacity)
        layout.addWidget(self.legend)
        layout.addWidget(self.hint)
        layout.addWidget(self.export_button)
        layout.addStretch(1)
        self.show_box.toggled.connect(self.toggled)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        self.export_button.clicked.connect(self.export_requested)
        self.set_available(False)

    def set_available(self, available: bool, legend: QPixmap | None = None) -> None:
        """Enable the controls when the last fill produced an attention field."""
        for w in (self.show_box, self.opacity, self.export_button):
            w.setEnabled(available)
        if legend is not None and available:
            self.legend.setPixmap(legend)
        else:
            self.legend.clear()
        self.hint.setText(
            "Click a filled pixel (Inspect tool, or any tool while the overlay is on) to see the patches it copied."
            if available
            else "No attention yet: a DeepFill fill produces it (classical engines do not)."
        )

    def overlay_opacity(self) -> float:
        return self.opacity.value() / 100.0
