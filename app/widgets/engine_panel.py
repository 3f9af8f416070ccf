"""Engine, device, max model resolution and edge blend (persisted), with the Inpaint and Cancel buttons."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from app.settings import DEVICES, AppSettings
from inpaint_core.api import ENGINE_LABELS, ENGINES, MAX_EDGE_BLEND, MIN_MAX_SIDE

DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)"}


class EnginePanel(QWidget):
    """Writes every change straight to AppSettings, so the next request and the next session see it."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.engine = QComboBox()
        for key in ENGINES:
            self.engine.addItem(ENGINE_LABELS[key], key)
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        self.max_side = QSpinBox()
        self.max_side.setRange(MIN_MAX_SIDE, 4096)
        self.max_side.setSingleStep(64)
        self.max_side.setSuffix(" px")
        self.max_side.setToolTip(
            "The model sees each hole's window scaled to at most this many pixels per side"
        )
        self.edge_blend = QSpinBox()
        self.edge_blend.setRange(0, MAX_EDGE_BLEND)
        self.edge_blend.setSuffix(" px")
        self.edge_blend.setToolTip(
            "Fade the fill into the photo over this many pixels outside the mask (0 = none). "
            "The masked pixels are always replaced completely."
        )
        form.addRow("Engine", self.engine)
        form.addRow("Device", self.device)
        form.addRow("Max resolution", self.max_side)
        form.addRow("Edge blend", self.edge_blend)
        layout.addLayout(form)
        self.weights_note = QLabel()
        self.weights_note.setWordWrap(True)
        self.weights_note.setStyleSheet("color: #e0a030;")
        layout.addWidget(self.weights_note)
        buttons = QHBoxLayout()
        self.inpaint_button = QPushButton(icon("mdi6.auto-fix"), "Inpaint")
        self.inpaint_button.setToolTip("Fill the masked area (Ctrl+Return)")
        self.cancel_button = QPushButton(icon("mdi6.close-circle-outline"), "Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.inpaint_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.load()
        self.engine.currentIndexChanged.connect(self._on_changed)
        self.device.currentIndexChanged.connect(self._on_changed)
        self.max_side.valueChanged.connect(self._on_changed)
        self.edge_blend.valueChanged.connect(self._on_changed)

    def load(self) -> None:
        """Show the stored settings."""
        for combo, value in ((self.engine, self.settings.engine), (self.device, self.settings.device)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.blockSignals(False)
        for spin, number in (
            (self.max_side, self.settings.max_side),
            (self.edge_blend, self.settings.edge_blend),
        ):
            spin.blockSignals(True)
            spin.setValue(number)
            spin.blockSignals(False)

    def set_weights_note(self, text: str) -> None:
        self.weights_note.setText(text)
        self.weights_note.setVisible(bool(text))

    def _on_changed(self) -> None:
        self.settings.engine = str(self.engine.currentData())
        self.settings.device = str(self.device.currentData())
        self.settings.max_side = self.max_side.value()
        self.settings.edge_blend = self.edge_blend.value()

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
