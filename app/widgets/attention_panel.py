"""The overlay controls: show, which map (the attention flow of the last fill, or the source-reuse heat map of
all DeepFill fills), one opacity for both, the map's legend, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.widgets.flow_legend import FlowLegend
from inpaint_core.api import FLOW_MAX_RADIUS

FLOW, REUSE = "flow", "reuse"

LEGEND_CAPTION = (
    f"Colour: the direction each filled pixel borrowed from; white is close by, full colour "
    f"{FLOW_MAX_RADIUS:g} model pixels or farther."
)


class AttentionPanel(QWidget):
    """Signals: toggled(bool), opacity_changed(float), export_requested() (of the map shown), and
    mode_changed(str FLOW | REUSE)."""

    toggled = Signal(bool)
    opacity_changed = Signal(float)
    export_requested = Signal()
    mode_changed = Signal(str)

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
        self.flow_radio = QRadioButton("Attention flow")
        self.flow_radio.setToolTip("Where each pixel of the last DeepFill fill borrowed from (colour wheel)")
        self.reuse_radio = QRadioButton("Source reuse")
        self.reuse_radio.setToolTip(
            "How much each area of the photo was borrowed by all DeepFill fills: one bright spot means the "
            "network copied from one place (repetition), a faint wide glow that it drew widely"
        )
        self.flow_radio.setChecked(True)
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.flow_radio)
        self._modes.addButton(self.reuse_radio)
        modes = QHBoxLayout()
        modes.addWidget(self.flow_radio)
        modes.addWidget(self.reuse_radio)
        self._available = {FLOW: False, REUSE: False}
        self._wheel: QImage | None = None
        self._reuse_pixmap: QPixmap | None = None
        self.reuse_legend = QLabel()
        self.reuse_legend.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self._reuse_caption = ""
        layout.addLayout(modes)
        layout.addWidget(self.show_box)
        layout.addWidget(QLabel("Overlay opacity"))
        layout.addWidget(self.opacity)
        layout.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.reuse_legend)
        layout.addWidget(self.caption)
        layout.addWidget(self.hint)
        layout.addWidget(self.export_button)
        layout.addStretch(1)
        self.show_box.toggled.connect(self.toggled)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100.0))
        self.export_button.clicked.connect(self.export_requested)
        self.flow_radio.toggled.connect(self._on_mode_toggled)
        self.set_available(False)

    def set_available(self, available: bool, wheel: QImage | None = None) -> None:
        """Enable the flow view when the last fill produced an attention field; ``wheel`` is its legend."""
        self._available[FLOW], self._wheel = available, (wheel if available else None)
        self._refresh()

    def set_reuse_available(self, available: bool, legend: QPixmap | None = None, caption: str = "") -> None:
        """Enable the source-reuse view when a DeepFill fill is in the history; ``caption`` reads the map."""
        self._available[REUSE], self._reuse_pixmap = available, legend
        self._reuse_caption = caption
        self._refresh()

    def mode(self) -> str:
        return FLOW if self.flow_radio.isChecked() else REUSE

    def set_mode(self, mode: str) -> None:
        (self.flow_radio if mode == FLOW else self.reuse_radio).setChecked(True)

    def is_available(self, mode: str | None = None) -> bool:
        return self._available[mode or self.mode()]

    def _on_mode_toggled(self, _checked: bool) -> None:
        self._refresh()
        self.mode_changed.emit(self.mode())

    def _refresh(self) -> None:
        mode = self.mode()
        other = REUSE if mode == FLOW else FLOW
        if not self._available[mode] and self._available[other]:
            self.set_mode(other)  # toggles, which refreshes again and tells the window
            return
        self.flow_radio.setEnabled(self._available[FLOW])
        self.reuse_radio.setEnabled(self._available[REUSE])
        available = self._available[mode]
        for w in (self.show_box, self.opacity, self.export_button):
            w.setEnabled(available)
        self.show_box.setText("Show attention flow" if mode == FLOW else "Show source reuse")
        # The flow's wheel keeps its place (fixed size) so the panel does not jump when a fill brings attention.
        self.legend.setVisible(mode == FLOW)
        self.caption.setVisible(mode == FLOW)
        self.legend.set_wheel(self._wheel if mode == FLOW and available else None)
        self.caption.setEnabled(available)
        self.reuse_legend.setVisible(mode == REUSE)
        if mode == REUSE and available and self._reuse_pixmap is not None:
            self.reuse_legend.setPixmap(self._reuse_pixmap)
        else:
            self.reuse_legend.clear()
        if not available:
            hint = (
                "No sources yet: a DeepFill or PatchMatch fill records them (Telea and Navier-Stokes do not)."
            )
        elif mode == FLOW:
            hint = "Click a filled pixel (Inspect tool, or any tool while the overlay is on) to see the patches it copied."
        else:
            hint = self._reuse_caption or (
                "Bright = borrowed often, by all DeepFill fills together (fixed log scale, comparable between "
                "photos). One hot spot means the network copied from one place."
            )
        self.hint.setText(hint)

    def overlay_opacity(self) -> float:
        return self.opacity.value() / 100.0
