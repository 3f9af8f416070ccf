"""The Fill panel: the model picker (shipped DeepFill weights, weights files the user loaded, Auto, PatchMatch and
the classical engines) with the active model's facts, device, max model resolution, PatchMatch's patch radius,
edge blend, fast fills, fill-on-release, Inpaint and Cancel, and what the last fill took."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.icons import icon
from app.messages import gui_text
from app.settings import AppSettings
from app.theme import icon_color, warning_color
from inpaint_core.api import (
    AUTO,
    DEEPFILL,
    DEVICE_LABELS,
    DEVICES,
    EDGE_BLEND,
    ENGINE_INFO,
    ENGINES,
    EXPERIMENTAL_SAMPLES,
    INTERACTIVE_SECONDS,
    MAX_SIDE,
    PATCH_RADIUS_SETTING,
    PATCHMATCH,
    BinScore,
    ModelInfo,
    read_weights_info,
    shipped_model_info,
)
from inpaint_core.errors import InpaintError

SHIPPED = DEEPFILL  # the picker's key of the shipped default weights
NO_SHIPPED_WEIGHTS = (
    "No DeepFill weights ship with this version yet: load a weights file (.safetensors) or a published "
    "DeepFill v2 checkpoint (.index, .pth) with Load…, or use Auto or another engine."
)
NO_DEVICE = "Not available to PyTorch on this machine."


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker."""

    key: str  # SHIPPED, "file:<path>" or a classical engine name
    engine: str
    weights: str | None  # None: the shipped default (DeepFill) or no weights (classical)
    label: str
    enabled: bool
    why: str  # the tooltip: what it is, or why it cannot be chosen
    info: ModelInfo | None = None


NO_FILL_YET = "Last fill: none yet"  # the Fill panel's last line before the first fill


def file_key(path: str) -> str:
    return f"file:{path}"


def current_key(settings: AppSettings) -> str:
    """The picker key of the model the next fill uses."""
    if settings.engine != DEEPFILL:
        return settings.engine
    return file_key(settings.weights) if settings.weights else SHIPPED


def _size(info: ModelInfo) -> str:
    return f"{info.parameters / 1e6:.2f} M parameters, {info.size_bytes / 1e6:.1f} MB ({info.dtype})"


def _bins(scores: tuple[BinScore, ...]) -> str:
    names = [s.bin.replace("%", " %") for s in scores]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe(choice: ModelChoice) -> str:
    """What the info line under the picker says about a choice: its facts and what is known of its quality."""
    info = choice.info
    if info is None:
        return choice.why
    trained = f"trained on {info.trained_on}" if info.trained_on else "training data not recorded in the file"
    parts = [f"{info.name}: {_size(info)}, {trained}."]
    if info.source:
        parts.append(f"Converted from {info.source}.")
    parts.append(
        "Reads guide strokes." if info.guide_channel else "No guide channel: guide strokes are ignored."
    )
    quality = info.quality
    seen = f"{quality.samples_seen:,}" if quality.samples_seen is not None else None
    if seen is not None and seen not in info.name:  # the shipped name already says "N samples"
        parts.append(f"{seen} training samples seen.")
    if quality.scores:
        figures = ", ".join(f"{s.bin.replace('%', ' %')} {s.gain:+.2f} dB" for s in quality.scores)
        parts.append(f"Hole PSNR against the best fill without weights ({quality.source}): {figures}.")
    else:
        parts.append("No quality figures in the file or a model card.")
    return " ".join(parts)


def quality_warning(choice: ModelChoice) -> str:
    """A warning for a model that is experimental: below the classical fills, or trained on too few samples
    ("" for any other)."""
    quality = choice.info.quality if choice.info is not None else None
    if quality is None or not quality.experimental:
        return ""
    below = quality.below_classical
    if below:
        return (
            f"Experimental: its fills score below the classical ones on {_bins(below)} holes (pale or blurred "
            "fills, colour shifts at the edge). Telea or Navier-Stokes will often look better."
        )
    return (
        f"Experimental: trained on only {quality.samples_seen:,} samples (a usable model needs about "
        f"{EXPERIMENTAL_SAMPLES:,} or more); expect fills worse than the classical ones."
    )


def _says_deepfill(name: str, wrap: str = "DeepFill · {}") -> str:
    """A model's name as shown: as it is when it already says DeepFill, else wrapped to say so."""
    return name if name.startswith("DeepFill") else wrap.format(name)


def model_choices(settings: AppSettings) -> list[ModelChoice]:
    """The shipped weights, the user's weights files (the session's ``--weights`` one first), the classical
    engines; what cannot work is listed disabled with the reason."""
    try:
        shipped = shipped_model_info()
        why = (
            NO_SHIPPED_WEIGHTS
            if shipped is None
            else f"The weights that ship with DeepFill Studio ({shipped.name})"
        )
    except InpaintError as exc:
        shipped, why = None, f"The shipped weights cannot be used: {gui_text(exc)}"
    # The shipped weights by their manifest name, e.g. "DeepFill v2 lite (CPU-trained, 86,856 samples)"
    label = (
        _says_deepfill(shipped.name) if shipped is not None and shipped.name else "DeepFill · shipped weights"
    )
    choices = [ModelChoice(SHIPPED, DEEPFILL, None, label, shipped is not None, why, shipped)]
    paths = list(
        dict.fromkeys(p for p in (settings.session_weights, settings.weights, *settings.weights_files) if p)
    )
    stems = [Path(p).stem for p in paths]
    for path in paths:  # unique, in order
        name = Path(path).stem
        if stems.count(name) > 1:  # two files of one name: their folders tell them apart
            name = f"{Path(path).parent.name}/{name}"
        tags = ["this session"] if path == settings.session_weights else []
        try:
            info = read_weights_info(path)
        except InpaintError as exc:
            label = f"DeepFill · {name}" + (f" ({', '.join(tags)})" if tags else "")
            choices.append(ModelChoice(file_key(path), DEEPFILL, path, label, False, gui_text(exc)))
            continue
        if info.quality.experimental:
            tags.insert(0, "experimental")
        label = f"DeepFill · {name}" + (f" ({', '.join(tags)})" if tags else "")
        choices.append(ModelChoice(file_key(path), DEEPFILL, path, label, True, path, info))
    for name in ENGINES:
        if name != DEEPFILL:
            choices.append(
                ModelChoice(name, name, None, ENGINE_INFO[name].label, True, ENGINE_INFO[name].note)
            )
    return choices


class EnginePanel(QWidget):
    """Writes every change straight to AppSettings, so the next request and the next session see it.

    ``load_requested``: the user asked to add a weights file (the window opens the file dialog);
    ``model_changed``: the active model changed (the status bar shows it)."""

    load_requested = Signal()
    model_changed = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.choices: list[ModelChoice] = []
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model = QComboBox()
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # The list has a row to itself, under "Model" and Load…, so names are not cut off ("Navier-Stokes (classica").
        self.model.setMinimumContentsLength(26)
        self.model.setToolTip("The model that fills the mask")
        self.load_button = QToolButton()
        self.load_button.setText("Load…")
        self.load_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.load_button.setToolTip(
            "Add DeepFill weights: a .safetensors file, or a published DeepFill v2 checkpoint "
            "(snap-0.index or .pth), converted on the spot"
        )
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for the longest description, so choosing another model never moves the docks below.
        self.model_info.setMinimumHeight(self.model_info.fontMetrics().lineSpacing() * 6)
        self.model_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.model_warning = QLabel()  # an experimental model says so, in the warning colour
        self.model_warning.setWordWrap(True)
        self.model_warning.setObjectName("model_warning")
        self.model_warning.setVisible(False)
        header = QHBoxLayout()
        header.addWidget(QLabel("Model"))
        header.addStretch(1)
        header.addWidget(self.load_button)
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        self.max_side = QSpinBox()
        self.max_side.setRange(MAX_SIDE.lo, MAX_SIDE.hi)
        self.max_side.setSingleStep(64)
        self.max_side.setSuffix(" px")
        self.max_side.setToolTip(
            "The model sees each hole's window scaled to at most this many pixels per side"
        )
        self.patch_radius = QSpinBox()
        self.patch_radius.setRange(PATCH_RADIUS_SETTING.lo, PATCH_RADIUS_SETTING.hi)
        self.patch_radius.setSuffix(" px")
        self.patch_radius.setToolTip(
            "PatchMatch (and Auto's wide holes) compares patches this many pixels around each pixel: larger "
            "follows larger structures (brick courses, planks) but takes about the square as long"
        )
        self.edge_blend = QSpinBox()
        self.edge_blend.setRange(EDGE_BLEND.lo, EDGE_BLEND.hi)
        self.edge_blend.setSuffix(" px")
        self.edge_blend.setToolTip(
            "Fade the fill into the photo over this many pixels outside the mask (0 = none). "
            "The masked pixels are always replaced completely."
        )
        # The budget covers the network's pass, not the whole fill: no promise of a fill time on the box.
        self.fast_fills = QCheckBox("Fast fills (lower model resolution)")
        self.fast_fills.setToolTip(
            f"Lower the model resolution so that the network's pass over a hole is budgeted at about "
            f"{INTERACTIVE_SECONDS:g} s on this device (estimated from a short speed test). The whole fill takes "
            "longer: loading the model the first time, preparing each hole's window, matching the tone and "
            "pasting (on a 2-core CPU the shipped lite model's whole fill of a 200x200 hole in a 12 MP photo "
            'took about 0.6 s). "Last fill" below '
            "shows what the last one took. Off: always the maximum resolution, and long thin holes (scratches) "
            "filled in tiles at the photo's own resolution (slower, sharper)."
        )
        # Always shown (with a placeholder) so the dock is sized for it from the start, not cut off later.
        self.last_fill = QLabel(NO_FILL_YET)
        self.last_fill.setToolTip("How long the last fill took and the resolution the model worked at")
        self.auto_fill = QCheckBox("Fill when a stroke ends")
        self.auto_fill.setToolTip("Start a fill as soon as a mask stroke or selection ends (as IOPaint does)")
        # The wrapped description sits outside the form: inside a QFormLayout row a word-wrapped label gets one
        # line's height and the rows below draw over it.
        layout.addLayout(header)
        layout.addWidget(self.model)
        layout.addWidget(self.model_info)
        layout.addWidget(self.model_warning)
        form.addRow("Device", self.device)
        form.addRow("Max resolution", self.max_side)
        form.addRow("Patch radius", self.patch_radius)
        form.addRow("Edge blend", self.edge_blend)
        form.addRow(self.fast_fills)
        form.addRow(self.auto_fill)
        layout.addLayout(form)
        self.weights_note = QLabel()
        self.weights_note.setWordWrap(True)
        layout.addWidget(self.weights_note)
        buttons = QHBoxLayout()
        self.inpaint_button = QPushButton("Inpaint")
        self.inpaint_button.setToolTip("Fill the masked area (Ctrl+Return)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running fill (Ctrl+.)")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.inpaint_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addWidget(self.last_fill)
        layout.addStretch(1)
        self.set_theme(settings.theme)
        self.load()
        self.model.currentIndexChanged.connect(self._on_model_changed)
        self.load_button.clicked.connect(self.load_requested)
        self.device.currentIndexChanged.connect(self._on_changed)
        self.max_side.valueChanged.connect(self._on_changed)
        self.patch_radius.valueChanged.connect(self._on_changed)
        self.edge_blend.valueChanged.connect(self._on_changed)
        self.auto_fill.toggled.connect(self._on_changed)
        self.fast_fills.toggled.connect(self._on_changed)

    # -- showing the settings -------------------------------------------------------------------------------
    def load(self) -> None:
        """Show the stored settings (and the current list of models)."""
        self._fill_models()
        combo = self.device
        combo.blockSignals(True)
        combo.setCurrentIndex(max(0, combo.findData(self.settings.device)))
        combo.blockSignals(False)
        for spin, number in (
            (self.max_side, self.settings.max_side),
            (self.patch_radius, self.settings.patch_radius),
            (self.edge_blend, self.settings.edge_blend),
        ):
            spin.blockSignals(True)
            spin.setValue(number)
            spin.blockSignals(False)
        for box, checked in (
            (self.auto_fill, self.settings.auto_fill),
            (self.fast_fills, self.settings.fast_fills),
        ):
            box.blockSignals(True)
            box.setChecked(checked)
            box.blockSignals(False)

    def _fill_models(self) -> None:
        self.choices = model_choices(self.settings)
        combo = self.model
        combo.blockSignals(True)
        combo.clear()
        items = combo.model()
        assert isinstance(items, QStandardItemModel)  # QComboBox's own model
        for i, choice in enumerate(self.choices):
            combo.addItem(choice.label, choice.key)
            combo.setItemData(i, choice.why, Qt.ItemDataRole.ToolTipRole)
            item = items.item(i)
            if item is not None and not choice.enabled:
                item.setEnabled(False)
        combo.setCurrentIndex(max(0, combo.findData(current_key(self.settings))))
        combo.blockSignals(False)
        # The open list is as wide as its longest name, even where the closed box is narrower.
        widest = max((combo.fontMetrics().horizontalAdvance(c.label) for c in self.choices), default=0)
        combo.view().setMinimumWidth(widest + 40)
        self._show_current()

    def _show_current(self) -> None:
        choice = self.current_choice()
        self.model_info.setText(describe(choice) if choice is not None else "")
        warning = quality_warning(choice) if choice is not None else ""
        self.model_warning.setText(warning)
        self.model_warning.setVisible(bool(warning))
        self.model.setToolTip(choice.why if choice is not None else "")
        # Enabled where the chosen engine reads it.
        self.patch_radius.setEnabled(choice is not None and choice.engine in (PATCHMATCH, AUTO))

    def current_choice(self) -> ModelChoice | None:
        index = self.model.currentIndex()
        return self.choices[index] if 0 <= index < len(self.choices) else None

    def active_model_name(self) -> str:
        """A short name of the model the next fill uses (the status bar's)."""
        choice = self.current_choice()
        if choice is None:
            return ""
        if choice.engine != DEEPFILL:
            return ENGINE_INFO[choice.engine].label
        name = choice.info.name if choice.info else Path(choice.weights or "").name or "none"
        return _says_deepfill(name, "DeepFill v2 ({})")

    def set_available_devices(self, devices: tuple[str, ...] | None) -> None:
        """Disable the devices this machine lacks (None: unknown, all stay enabled)."""
        items = self.device.model()
        assert isinstance(items, QStandardItemModel)
        for i in range(self.device.count()):
            key = str(self.device.itemData(i))
            usable = devices is None or key in devices
            item = items.item(i)
            if item is not None:
                item.setEnabled(usable)
            self.device.setItemData(i, None if usable else NO_DEVICE, Qt.ItemDataRole.ToolTipRole)

    def set_can_convert(self, can: bool) -> None:
        if not can:
            self.load_button.setToolTip("Add a DeepFill weights file (.safetensors)")

    def set_weights_note(self, text: str) -> None:
        self.weights_note.setText(text)
        self.weights_note.setVisible(bool(text))

    def set_theme(self, theme: str) -> None:
        """Icons and the warning colour with enough contrast on the theme's background."""
        color = icon_color(theme)
        self.inpaint_button.setIcon(icon("mdi6.auto-fix", color))
        self.cancel_button.setIcon(icon("mdi6.close-circle-outline", color))
        self.load_button.setIcon(icon("mdi6.folder-open-outline", color))
        self.weights_note.setStyleSheet(f"color: {warning_color(theme)};")
        self.model_warning.setStyleSheet(f"color: {warning_color(theme)};")

    # -- user changes ---------------------------------------------------------------------------------------
    def _on_model_changed(self) -> None:
        choice = self.current_choice()
        if choice is None:
            return
        self.settings.engine = choice.engine
        self.settings.weights = choice.weights
        self._show_current()
        self.model_changed.emit()

    def _on_changed(self) -> None:
        self.settings.device = str(self.device.currentData())
        self.settings.max_side = self.max_side.value()
        self.settings.patch_radius = self.patch_radius.value()
        self.settings.edge_blend = self.edge_blend.value()
        self.settings.auto_fill = self.auto_fill.isChecked()
        self.settings.fast_fills = self.fast_fills.isChecked()

    def set_last_fill(self, text: str) -> None:
        """Show how long the last fill took and the resolution the model saw ("" for the placeholder)."""
        self.last_fill.setText(text or NO_FILL_YET)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
