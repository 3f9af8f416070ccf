"""The attention-flow overlay controls: show, opacity, the colour-wheel legend, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.widgets.flow_legend import FlowLegend
from inpaint_core.api import FLOW_MAX_RADIUS

LEGEND_CAPTION = (
    f"Colour: the direction each filled pixel borrowed from; white is close by, full colour "
    f"{FLOW_MAX_RADIUS:g} model pixels or farther."
)


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
        self.opacity.setToolTip("Opacity of the attention-flow overlay")
        self.legend = FlowLegend()
        self.caption = QLabel(LEGEND_CAPTION)
        self.caption.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        # Room for the longer of the two hints, so the docks do not move when a fill brings attention.
        self.hint.setMinimumHeight(self.hint.fontMetrics().lineSpacing() * 3)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.export_button = QPushButton("Export overlay…")
        layout.addWidget(self.show_box)
        layout.addWidget(QLabel("Overlay opacity"))
        layout.addWidget(self.opacity)
        layout.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addWidget(self.hint)
        layout.addWidget(self.export_button)
        layout.addStretch(1)
        self.show_box.toggled.connect(self.toggled)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        self.export_button.clicked.connect(self.export_requested)
        self.set_available(False)

    def set_available(self, available: bool, wheel: QImage | None = None) -> None:
        """Enable the controls when the last fill produced an attention field; ``wheel`` is its legend."""
        for w in (self.show_box, self.opacity, self.export_button):
            w.setEnabled(available)
        self.legend.set_wheel(wheel if available else None)
        self.caption.setEnabled(available)
        self.hint.setText(
            "Click a filled pixel (Inspect tool, or any tool while the overlay is on) to see the patches it copied."
            if available
            else "No attention yet: a DeepFill fill produces it (classical engines do not)."
        )

    def overlay_opacity(self) -> float:
        return self.opacity.value() / 100.0
