"""The Restore panel: find scratches and dust (live proposal, apply as the mask), the photo's tone, and the
provenance of the fills made (what is not original, the record written beside saved photos)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon

# The detector choices (restore/detector.py METHODS) as the combo shows them.
DETECTOR_CHOICES = (
    ("auto", "Auto", "The learned detector when its weights are installed, else the classical one"),
    (
        "learned",
        "Learned",
        "A small neural network trained on synthetic scratches and dust: finds more, and "
        "leaves plank seams, hair and grass alone",
    ),
    ("classical", "Classical", "Hand-tuned filters (top-hats, line evidence): the fallback"),
)

WARNING_STYLE = "color: #e0a030; font-weight: bold;"


def _reserve_lines(label: QLabel, lines: int) -> None:
    # A group box does not pass a wrapped label's height-for-width up to the dock, so the rows would overlap
    # when the text wraps: reserve the lines it may take.
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * lines + 4)


class RestorePanel(QWidget):
    """Widgets only; app/restore_wiring.py connects them to the controllers.

    Signals:
        preview_toggled(bool), sensitivity_changed(float 0..1), max_width_changed(int px),
        method_changed(str "auto" | "learned" | "classical"), apply_requested(str "replace" | "add"),
        tone_toggled(bool), record_toggled(bool), export_requested().
    """

    preview_toggled = Signal(bool)
    sensitivity_changed = Signal(float)
    max_width_changed = Signal(int)
    method_changed = Signal(str)
    apply_requested = Signal(str)
    tone_toggled = Signal(bool)
    record_toggled = Signal(bool)
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_scratches())
        layout.addWidget(self._build_tone())
        layout.addWidget(self._build_provenance())
        layout.addStretch(1)

    # -- construction ---------------------------------------------------------------------------------------
    def _build_scratches(self) -> QGroupBox:
        box = QGroupBox("Scratches and dust")
        layout = QVBoxLayout(box)
        self.find_button = QPushButton(icon("mdi6.magnify-scan"), "Find scratches and dust")
        self.find_button.setCheckable(True)
        self.find_button.setToolTip(
            "Propose a mask of thin scratches, creases, dust and specks, shown in yellow (Ctrl+Shift+R)"
        )
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setRange(0, 100)
        self.sensitivity.setToolTip("0: only the surest damage; 100: anything plausible")
        self.sensitivity_label = QLabel()
        self.sensitivity_label.setMinimumWidth(self.sensitivity_label.fontMetrics().horizontalAdvance("100 "))
        row = QHBoxLayout()
        row.addWidget(self.sensitivity, 1)
        row.addWidget(self.sensitivity_label)
        self.max_width = QSpinBox()
        self.max_width.setRange(1, 32)
        self.max_width.setSuffix(" px")
        self.max_width.setToolTip("The widest scratch or speck to look for; wider marks are left alone")
        self.method = QComboBox()
        for key, text, tip in DETECTOR_CHOICES:
            self.method.addItem(text, key)
            self.method.setItemData(self.method.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("Which detector proposes the damage")
        self.detector_label = QLabel()
        self.detector_label.setWordWrap(True)
        self.detector_label.setObjectName("detector_label")
        _reserve_lines(self.detector_label, 2)
        form = QFormLayout()
        form.addRow("Detector", self.method)
        form.addRow("Sensitivity", row)
        form.addRow("Max width", self.max_width)
        self.scratch_status = QLabel()
        self.scratch_status.setWordWrap(True)
        _reserve_lines(self.scratch_status, 3)
        self.replace_button = QPushButton("Use as mask")
        self.replace_button.setToolTip("Replace the mask with the proposal (one undo step)")
        self.add_button = QPushButton("Add to mask")
        self.add_button.setToolTip("Add the proposal to the mask painted so far (one undo step)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.replace_button)
        buttons.addWidget(self.add_button)
        layout.addWidget(self.find_button)
        layout.addLayout(form)
        layout.addWidget(self.detector_label)
        layout.addWidget(self.scratch_status)
        layout.addLayout(buttons)
        self.find_button.toggled.connect(self.preview_toggled)
        self.sensitivity.valueChanged.connect(self._on_sensitivity_moved)
        self.max_width.valueChanged.connect(self.max_width_changed)
        self.method.currentIndexChanged.connect(
            lambda _i: self.method_changed.emit(self.method.currentData())
        )
        self.replace_button.clicked.connect(lambda: self.apply_requested.emit("replace"))
        self.add_button.clicked.connect(lambda: self.apply_requested.emit("add"))
        self.set_scratch_state(active=False, busy=False, has_proposal=False)
        return box

    def _build_tone(self) -> QGroupBox:
        box = QGroupBox("Tone")
        layout = QVBoxLayout(box)
        self.tone_label = QLabel()
        self.tone_label.setWordWrap(True)
        _reserve_lines(self.tone_label, 2)
        self.tone_box = QCheckBox("Keep the photo's tone in fills")
        self.tone_box.setToolTip(
            "Grey, sepia and cyanotype photos are filled in their own tone, not in the network's colours"
        )
        layout.addWidget(self.tone_label)
        layout.addWidget(self.tone_box)
        self.tone_box.toggled.connect(self.tone_toggled)
        return box

    def _build_provenance(self) -> QGroupBox:
        box = QGroupBox("Provenance")
        layout = QVBoxLayout(box)
        self.provenance_label = QLabel()
        self.provenance_label.setWordWrap(True)
        _reserve_lines(self.provenance_label, 3)
        self.record_box = QCheckBox("Write a record when saving")
        self.record_box.setToolTip(
            "Beside photo.png, a folder photo.provenance/ with the filled-pixel map, each fill's region, the "
            "attention maps and provenance.json (engine, model, weights SHA-256, dates, boxes). Saved files "
            "always carry a note that they contain filled regions."
        )
        self.sidecar_label = QLabel()
        self.sidecar_label.setWordWrap(True)
        self.sidecar_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton(icon("mdi6.file-certificate-outline"), "Export provenance…")
        layout.addWidget(self.provenance_label)
        layout.addWidget(self.record_box)
        layout.addWidget(self.sidecar_label)
        layout.addWidget(self.export_button)
        self.record_box.toggled.connect(self.record_toggled)
        self.export_button.clicked.connect(self.export_requested)
        return box

    # -- state ----------------------------------------------------------------------------------------------
    def load(
        self, sensitivity: float, max_width: int, keep_tone: bool, write_record: bool, method: str = "auto"
    ) -> None:
        """Show the stored settings (without emitting)."""
        widgets = (self.sensitivity, self.max_width, self.tone_box, self.record_box, self.method)
        for widget in widgets:
            widget.blockSignals(True)
        self.sensitivity.setValue(round(sensitivity * 100))
        self.max_width.setValue(int(max_width))
        self.method.setCurrentIndex(max(0, self.method.findData(method)))
        self.tone_box.setChecked(keep_tone)
        self.record_box.setChecked(write_record)
        for widget in widgets:
            widget.blockSignals(False)
        self.sensitivity_label.setText(str(self.sensitivity.value()))

    def _on_sensitivity_moved(self, value: int) -> None:
        self.sensitivity_label.setText(str(value))
        self.sensitivity_changed.emit(value / 100.0)

    def set_scratch_state(self, *, active: bool, busy: bool, has_proposal: bool) -> None:
        self.find_button.blockSignals(True)
        self.find_button.setChecked(active)
        self.find_button.blockSignals(False)
        # A checked button looks much like an unchecked one in some styles: say what a click does.
        self.find_button.setText("Hide the proposal" if active else "Find scratches and dust")
        for button in (self.replace_button, self.add_button):
            button.setEnabled(active and has_proposal)
        if busy:
            self.scratch_status.setText("Looking for scratches…")
        elif not active:
            self.scratch_status.setText(
                "Proposes a mask of scratches, creases and dust, live as you move the sliders. Use it as the "
                "mask (one undo step), touch it up with the brush and eraser, then Inpaint."
            )

    def set_detector(self, text: str, problem: bool = False) -> None:
        """Which detector is in use ("Detector: learned"); `problem`: it cannot run as chosen."""
        self.detector_label.setText(text)
        self.detector_label.setStyleSheet(WARNING_STYLE if problem else "")

    def set_proposal_share(self, share: float) -> None:
        self.scratch_status.setText(
            f"Proposed (yellow): {share:.2%} of the photo. Move the sliders, then use it as the mask."
        )

    def set_tone(self, description: str) -> None:
        """The photo's tone in a few words ("" = colour)."""
        if not description:
            self.tone_label.setText("Colour photo: fills keep the network's colours.")
        elif description == "grey":
            self.tone_label.setText("Grey photo: fills stay grey.")
        else:
            self.tone_label.setText(f"This photo looks {description}: fills take its tone.")

    def set_provenance(
        self, summary: str, not_original: bool, sidecar: str = "", can_export: bool = True
    ) -> None:
        """``not_original``: the photo holds filled regions (this session's, or recorded beside it)."""
        self.provenance_label.setText(summary)
        self.provenance_label.setStyleSheet(WARNING_STYLE if not_original else "")
        self.export_button.setEnabled(can_export)
        self.sidecar_label.setText(f"Last record: {sidecar}" if sidecar else "")
        self.sidecar_label.setVisible(bool(sidecar))
