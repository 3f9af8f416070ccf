"""The main window: actions, menus, toolbar, docks and status bar. Work is delegated to the document, the canvas
view and tools, the file and inpaint controllers, the fill's progress in the status bar (`fill_progress.py`),
the restoration wiring (`restore_wiring.py`) and the start-time recovery offer (`recovery_offer.py`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QColor, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QUndoView,
    QWidget,
)

from app import qimage_convert
from app.canvas import mask_ops
from app.canvas.canvas_keys import CanvasKeys
from app.canvas.commands import LayerReplaceCommand
from app.canvas.inspect_overlay import InspectOverlay, copied_from, percent
from app.canvas.tools import LAYER_LABELS, TOOL_CLASSES, InspectTool, Tool, ToolSettings
from app.canvas.view import CanvasView
from app.dialogs.convert_progress import ConvertProgress
from app.dialogs.shortcuts_dialog import SHEET_NAME, ShortcutsDialog, sections_of
from app.document import FORBID, GUIDE, MASK, Document
from app.file_controller import FileController
from app.fill_progress import FillProgress
from app.icons import icon
from app.inpaint_controller import InpaintController
from app.messages import gui_text
from app.recovery import RecoveryController
from app.recovery_offer import offer_recovery
from app.restore_wiring import RestoreWiring
from app.settings import THEMES, AppSettings
from app.theme import apply_theme, icon_color
from app.weights_loader import WeightsLoader
from app.widgets.attention_panel import REUSE, AttentionPanel
from app.widgets.compare_bar import CompareBar
from app.widgets.engine_panel import EnginePanel
from app.widgets.flow_legend import WHEEL
from app.widgets.panel_scroll import PanelScroll
from app.widgets.status_fields import StatusFields
from app.widgets.tool_options_panel import ToolOptionsPanel
from inpaint_core.api import (
    AUTO,
    CHECKPOINT_SUFFIXES,
    DEEPFILL,
    WEIGHTS_SUFFIX,
    Engine,
    ModelTools,
    Source,
)

# The docks' layout version (QMainWindow.saveState): raise it when a panel is added, moved or much resized, so
# a layout stored by an older version is not restored over the new panels (they are sized afresh instead).
LAYOUT_VERSION = 2
# Tools whose strokes make the hole: with "Fill when a stroke ends" on, their gestures start a fill.
MASK_TOOLS = ("brush", "rectangle", "lasso")
WEIGHTS_FILTER = (
    f"DeepFill weights ({' '.join('*' + e for e in (WEIGHTS_SUFFIX, *CHECKPOINT_SUFFIXES))});;All files (*)"
)

TOOL_KEYS = {
    "brush": "B",
    "eraser": "E",
    "guide": "G",
    "forbid": "F",
    "rectangle": "R",
    "lasso": "L",
    "inspect": "I",
}
TOOL_ICONS = {
    "brush": "mdi6.brush",
    "eraser": "mdi6.eraser",
    "guide": "mdi6.draw-pen",
    "forbid": "mdi6.cancel",
    "rectangle": "mdi6.selection",
    "lasso": "mdi6.lasso",
    "inspect": "mdi6.eye-outline",
}


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.doc = Document(self)
        self.doc.colors[MASK] = settings.mask_color
        self.tool_settings = ToolSettings(settings.brush_size, settings.brush_hardness)
        self.view = CanvasView(self.doc, self)
        self.view.set_mask_opacity(settings.mask_opacity)
        self.setCentralWidget(self.view)
        self.files = FileController(self.doc, settings, self)
        self.inpaint = InpaintController(self.doc, engine, settings, self)
        self.weights_loader = WeightsLoader(engine, settings, self)
        self.canvas_keys = CanvasKeys(self.view)
        self.canvas_keys.install()
        self._shortcuts_dialog: ShortcutsDialog | None = None
        self.convert_progress = ConvertProgress(self.weights_loader, self)
        self.recovery = RecoveryController(self.doc, settings.recovery_folder, self)
        self.inspector = InspectOverlay(self.view.scene())
        self.restore = RestoreWiring(self, self)  # scratches, tone, provenance, the source-reuse map
        self.recovery.records = self.restore.provenance.fills
        self.tools: dict[str, Tool] = {}
        for cls in TOOL_CLASSES:
            tool = cls(self.doc, self.tool_settings)
            if isinstance(tool, InspectTool):
                tool.on_click = self.inspect_at
            self.tools[tool.name] = tool
        self._tool_before_overlay: str | None = None
        self._icon_names: dict[QAction, str] = {}
        self.last_inspected: list[Source] = []
        self.last_fill_seconds: float | None = None

        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._connect()
        self._build_reliability()
        self.set_tool("brush")
        self.resize(1280, 820)
        if settings.geometry is not None:
            self.restoreGeometry(settings.geometry)
        # The docks as the user left them; a state of another layout version (panels added or moved since) is
        # refused by Qt, and the docks are then sized afresh in showEvent.
        state = settings.window_state
        self._docks_sized = state is not None and self.restoreState(state, LAYOUT_VERSION)
        self.show_document()
        self._on_doc_attention_changed()
        self.engine_panel.set_available_devices(
            engine.available_devices() if isinstance(engine, ModelTools) else None
        )
        self.engine_panel.set_can_convert(self.weights_loader.can_convert)
        self._on_engine_model_changed()
        self._keep_canvas_focus()
        self.act_cancel.setEnabled(False)

    # -- construction ---------------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_fields = StatusFields()
        self.hover_label = self.status_fields.position
        # the fill's bar and Cancel first, then the fields
        self.fill_progress = FillProgress(bar, self.inpaint, self.engine_panel)
        bar.addPermanentWidget(self.status_fields)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, scroll: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        # A panel taller than its share of a small screen scrolls instead of squashing its rows.
        dock.setWidget(PanelScroll(widget) if scroll else widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        right, left = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
        self.tool_options = ToolOptionsPanel(
            self.tool_settings, self.settings.mask_color, self.settings.mask_opacity
        )
        self.engine_panel = EnginePanel(self.settings)
        self.attention_panel = AttentionPanel()
        self.history_view = QUndoView(self.doc.undo_stack)
        self.history_view.setEmptyLabel("Opened photo")
        self.docks = [
            self._dock("Brush", self.tool_options, right),
            self._dock("Fill", self.engine_panel, right),
            self._dock("Attention", self.attention_panel, left),
            self._dock("History", self.history_view, left, scroll=False),
        ]
        # Attention, History and Restore share a tabbed dock on the left: under Brush and Fill it would not fit
        # a laptop's height (about 960 px for the three, against 730 in the default window), and panels cut
        # off at "Mask opacity" or "Use as mask" are worse than a narrower canvas.
        self.attention_dock, self.history_dock = self.docks[2], self.docks[3]
        self.tabifyDockWidget(self.attention_dock, self.history_dock)
        # scrolls itself
        self.restore.dock = self._dock("Restore", self.restore.dock_content, left, scroll=False)
        # beside Attention: both study the fills
        self.tabifyDockWidget(self.attention_dock, self.restore.dock)
        self.docks.append(self.restore.dock)
        self.history_dock.raise_()

    def _action(
        self,
        text: str,
        slot: Callable[..., object],
        shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
        icon_name: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({keys})")
        if icon_name:
            action.setIcon(icon(icon_name, icon_color(self.settings.theme)))
            self._icon_names[action] = icon_name
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the action is only in a menu
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_open = a(
            "&Open…", self.files.open_dialog, QKeySequence.StandardKey.Open, "mdi6.folder-open-outline"
        )
        self.act_save = a(
            "&Save", self.files.save, QKeySequence.StandardKey.Save, "mdi6.content-save-outline"
        )
        self.act_save_as = a("Save &As…", self.files.save_as, "Ctrl+Shift+S")
        self.act_export = a("&Export…", self.files.export, "Ctrl+E", "mdi6.export")
        self.act_import_mask = a("Import Mask…", self.files.import_mask)
        self.act_export_mask = a("Export Mask…", self.files.export_mask)
        self.act_export_overlay = a("Export Attention Overlay…", self.files.export_overlay)
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self._icon_names[self.act_undo] = "mdi6.undo"
        self.act_undo.setProperty(SHEET_NAME, "Undo")  # its text follows the stack ("Undo Brush stroke")
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._icon_names[self.act_redo] = "mdi6.redo"
        self.act_redo.setProperty(SHEET_NAME, "Redo")
        # The undo stack rewrites these actions' text ("Undo Brush stroke"); their tooltips follow with the keys.
        self.doc.undo_stack.indexChanged.connect(self._update_undo_tooltips)
        self._update_undo_tooltips()
        self._recolor_icons()
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        # Alt with = and -: typed as such on any layout; Ctrl+Shift+= arrives as Ctrl++ (Zoom In) on a US one.
        self.act_grow = a("Grow Mask", lambda: self.mask_operation("grow"), "Alt+=")
        self.act_shrink = a("Shrink Mask", lambda: self.mask_operation("shrink"), "Alt+-")
        self.act_clear = a(
            "Clear Mask", lambda: self.mask_operation("clear"), "Ctrl+Shift+D", "mdi6.selection-remove"
        )
        self.act_invert = a("Invert Mask", lambda: self.mask_operation("invert"), "Ctrl+I")
        self.act_clear_guide = a("Clear Guide", lambda: self.mask_operation("clear", GUIDE))
        self.act_clear_forbid = a("Clear Do-not-borrow", lambda: self.mask_operation("clear", FORBID))
        self.act_load_weights = a("Load Weights…", self.load_weights_dialog, None, "mdi6.folder-open-outline")
        self.act_smaller = a("Smaller Brush", lambda: self._step_brush(-1), "[")
        self.act_larger = a("Larger Brush", lambda: self._step_brush(1), "]")
        self.act_inpaint = a("&Inpaint", self.start_inpaint, "Ctrl+Return", "mdi6.auto-fix")
        self.act_cancel = a("Cancel Fill", self.fill_progress.cancel, "Ctrl+.")
        self.act_fit = a("&Fit", self.view.fit, "Ctrl+0", "mdi6.fit-to-screen-outline")
        self.act_100 = a("&100 %", self.view.zoom_100, "Ctrl+1", "mdi6.numeric-1-box-outline")
        self.act_zoom_in = a("Zoom In", lambda: self._zoom_centre(1.25), QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_out = a("Zoom Out", lambda: self._zoom_centre(0.8), QKeySequence.StandardKey.ZoomOut)
        self.act_overlay = a("Attention &Overlay", self.set_overlay_visible, "A", "mdi6.vector-arrange-below")
        self.act_overlay.setCheckable(True)
        self.act_dark = a("Dark Theme", lambda: self.set_theme("dark"))
        self.act_light = a("Light Theme", lambda: self.set_theme("light"))
        self.theme_group = QActionGroup(self)
        for act in (self.act_dark, self.act_light):
            act.setCheckable(True)
            self.theme_group.addAction(act)
        self._theme_actions = dict(zip(THEMES, (self.act_dark, self.act_light)))
        self._theme_actions[self.settings.theme].setChecked(True)
        self.act_shortcuts = a("Keyboard &Shortcuts", self.show_shortcuts, "F1", "mdi6.keyboard-outline")
        self.act_about = a("&About", self._show_about)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, tool in self.tools.items():
            act = a(
                tool.label, lambda _checked=False, n=name: self.set_tool(n), TOOL_KEYS[name], TOOL_ICONS[name]
            )
            act.setCheckable(True)
            self.tool_group.addAction(act)
            self.tool_actions[name] = act

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        for act in (self.act_save, self.act_save_as, self.act_export):
            file_menu.addAction(act)
        file_menu.addSeparator()
        for act in (self.act_import_mask, self.act_export_mask, self.act_export_overlay):
            file_menu.addAction(act)
        file_menu.addAction(self.restore.act_export_provenance)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = menu.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        mask = menu.addMenu("&Mask")
        for act in (self.act_grow, self.act_shrink, self.act_clear, self.act_invert):
            mask.addAction(act)
        mask.addSeparator()
        mask.addAction(self.act_clear_guide)
        mask.addAction(self.act_clear_forbid)
        mask.addAction(self.restore.act_find_scratches)
        tools = menu.addMenu("&Tools")
        for act in self.tool_actions.values():
            tools.addAction(act)
        tools.addSeparator()
        tools.addAction(self.act_smaller)
        tools.addAction(self.act_larger)
        run = menu.addMenu("&Fill")
        run.addAction(self.act_inpaint)
        run.addAction(self.act_cancel)
        run.addSeparator()
        run.addAction(self.act_load_weights)
        view = menu.addMenu("&View")
        for act in (self.act_fit, self.act_100, self.act_zoom_in, self.act_zoom_out, self.act_overlay):
            view.addAction(act)
        view.addAction(self.restore.act_show_reuse)
        view.addSeparator()
        view.addAction(self.act_dark)
        view.addAction(self.act_light)
        view.addSeparator()
        for dock in self.docks:
            view.addAction(dock.toggleViewAction())
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

        bar = QToolBar("Tools", self)
        bar.setObjectName("toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        for act in (self.act_open, self.act_save):
            bar.addAction(act)
        bar.addSeparator()
        for act in self.tool_actions.values():
            bar.addAction(act)
        bar.addSeparator()
        bar.addAction(self.act_undo)
        bar.addAction(self.act_redo)
        bar.addSeparator()
        bar.addAction(self.act_fit)
        bar.addAction(self.act_100)
        bar.addAction(self.act_overlay)
        self.compare_bar = CompareBar()
        bar.addWidget(self.compare_bar)
        bar.addSeparator()
        bar.addAction(self.act_inpaint)
        self.toolbar = bar

    def _connect(self) -> None:
        self.doc.path_changed.connect(self._on_doc_path_changed)
        self.doc.attention_changed.connect(self._on_doc_attention_changed)
        self.doc.undo_stack.cleanChanged.connect(self._on_undo_clean_changed)
        self.view.hovered.connect(self._on_view_hovered)
        self.view.zoom_changed.connect(self.status_fields.set_zoom)
        self.view.stroke_finished.connect(self._on_view_stroke_finished)
        self.doc.image_changed.connect(self._on_doc_image_changed)
        self.view.file_dropped.connect(lambda p: self.files.open_path(p))
        self.view.compare_held.connect(self._on_view_compare_held)
        self.compare_bar.split_changed.connect(self._on_compare_split_changed)
        self.tool_settings.changed.connect(self._on_tool_settings_changed)
        for spin in self.findChildren(QAbstractSpinBox):
            spin.editingFinished.connect(self._return_focus_to_canvas)
        self.tool_options.mask_color_changed.connect(self._on_mask_color_changed)
        self.tool_options.mask_opacity_changed.connect(self._on_mask_opacity_changed)
        self.engine_panel.inpaint_button.clicked.connect(self.start_inpaint)
        self.engine_panel.model_changed.connect(self._on_engine_model_changed)
        self.engine_panel.load_requested.connect(self.load_weights_dialog)
        self.weights_loader.loaded.connect(self._on_weights_loaded)
        self.weights_loader.failed.connect(self._on_weights_failed)
        self.attention_panel.toggled.connect(self.set_overlay_visible)
        self.attention_panel.opacity_changed.connect(self.view.flow_item.setOpacity)
        self.attention_panel.export_requested.connect(self.restore.export_overlay)
        self.attention_panel.mode_changed.connect(lambda _mode: self.refresh_overlay())
        self.inpaint.running_changed.connect(self.act_cancel.setEnabled)
        self.inpaint.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.inpaint.failed.connect(self._on_inpaint_failed)
        self.inpaint.weights_missing.connect(self._on_inpaint_weights_missing)
        self.inpaint.applied.connect(self._on_inpaint_applied)
        self.files.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.files.opened.connect(lambda _p: self.view.fit())
        self.restore.connect()

    # -- tools and brush ------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        tool = self.tools[name]
        if tool.layer is not None:
            self.tool_settings.set_layer(tool.layer)  # the eraser then acts on this tool's layer
        self.view.set_tool(tool)
        self.tool_actions[name].setChecked(True)
        if name != "inspect":
            self.inspector.clear_hover()
        self.view.refresh_brush_cursor()
        self._show_tool()

    def _show_tool(self) -> None:
        tool = self.view.tool
        if tool is None:
            return
        text = tool.label
        if tool.name == "eraser":
            text += f" ({LAYER_LABELS[self.tool_settings.layer].lower()})"
        self.status_fields.set_tool(text)

    def _step_brush(self, direction: int) -> None:
        self.tool_settings.step_size(direction)

    def _on_tool_settings_changed(self) -> None:
        self.view.refresh_brush_cursor()
        self._show_tool()
        self.settings.brush_size = self.tool_settings.size
        self.settings.brush_hardness = self.tool_settings.hardness

    def _zoom_centre(self, factor: float) -> None:
        self.view.zoom_at(factor, QPointF(self.view.viewport().rect().center()))

    def _on_mask_color_changed(self, color: QColor) -> None:
        self.settings.mask_color = color
        self.doc.set_layer_color(MASK, color)

    def _on_mask_opacity_changed(self, opacity: float) -> None:
        self.settings.mask_opacity = opacity
        self.view.set_mask_opacity(opacity)

    def mask_operation(self, op: str, layer: str = MASK) -> None:
        """Grow, shrink, clear or invert the mask (or clear another layer) as one undoable step; an operation
        that changes nothing records no step."""
        before = self.doc.layer_alpha(layer)
        radius = mask_ops.step_radius(self.doc.width, self.doc.height)
        if op == "grow":
            after = mask_ops.grow(before, radius)
        elif op == "shrink":
            after = mask_ops.shrink(before, radius)
        elif op == "invert":
            after = mask_ops.invert(before)
        else:
            after = np.zeros_like(before)
        if np.array_equal(before, after):
            return
        text = f"{op.capitalize()} {LAYER_LABELS[layer].lower()}"
        self.doc.undo_stack.push(LayerReplaceCommand(self.doc, layer, before, after, text))

    # -- fill -----------------------------------------------------------------------------------------------
    def start_inpaint(self) -> int:
        return self.inpaint.start()

    def _on_view_stroke_finished(self, tool: str) -> None:
        if self.settings.auto_fill and tool in MASK_TOOLS and self.doc.mask_array().any():
            self.start_inpaint()

    def _on_inpaint_applied(self, seconds: float) -> None:
        self.last_fill_seconds = seconds
        self.engine_panel.set_last_fill(self.inpaint.last_fill)

    def _on_inpaint_failed(self, text: str) -> None:
        QMessageBox.warning(self, "Fill failed", f"{gui_text(text)}\n\nThe photo was left unchanged.")

    def _on_inpaint_weights_missing(self, text: str) -> None:
        answer = QMessageBox.question(
            self,
            "DeepFill weights are missing",
            f"DeepFill cannot run: {gui_text(text)}.\n\nFill with Auto instead (Navier-Stokes for thin holes, "
            "PatchMatch for wide ones)? The Fill panel's model list switches to Auto; choose DeepFill there "
            "again once you have loaded weights (Load… above the list).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.settings.engine = AUTO
            self.engine_panel.load()
            self._on_engine_model_changed()
            self.inpaint.start(AUTO)

    # -- models ---------------------------------------------------------------------------------------------
    def _on_engine_model_changed(self) -> None:
        self.status_fields.set_model(self.engine_panel.active_model_name())
        usable = [c for c in self.engine_panel.choices if c.enabled and c.engine == DEEPFILL]
        self.engine_panel.set_weights_note(
            ""
            if usable
            else "No DeepFill weights are installed, so fills use Auto (PatchMatch and Navier-Stokes) or the "
            "engine you choose. Load weights with Load… above the model list."
        )

    def load_weights_dialog(self) -> None:
        folder = str(self.settings.models_dir) if self.settings.models_dir.is_dir() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Load DeepFill weights", folder, WEIGHTS_FILTER)
        if path:
            self.weights_loader.load(path)

    def _on_weights_loaded(self, path: str) -> None:
        self.engine_panel.load()
        self._on_engine_model_changed()
        self.statusBar().showMessage(f"Fills now use {self.engine_panel.active_model_name()}", 8000)

    def _on_weights_failed(self, text: str) -> None:
        QMessageBox.warning(self, "Cannot load these weights", text)

    # -- attention ------------------------------------------------------------------------------------------
    def _on_doc_attention_changed(self) -> None:
        field = self.doc.attention
        self.inspector.clear()
        if field is None:
            self.attention_panel.set_available(False)
        else:
            wheel = np.asarray(field.legend(WHEEL, labels=False), dtype=np.uint8)
            self.attention_panel.set_available(True, qimage_convert.array_to_qimage(wheel))
        self.refresh_overlay()

    def refresh_overlay(self) -> None:
        """After a fill, an undo or a change of map: enable the overlay when the selected map exists (the flow of
        the last fill, or the source reuse of all DeepFill fills), redraw it while shown, hide it when gone."""
        available = self.attention_panel.is_available()
        self.act_overlay.setEnabled(available)
        if not available:
            self.set_overlay_visible(False)
        elif self.act_overlay.isChecked():
            self._show_flow()

    def _show_flow(self) -> None:
        rgba = self.restore.overlay(self.attention_panel.mode())
        if rgba is None:
            return
        self.view.set_flow(qimage_convert.rgba_to_qimage(rgba), self.attention_panel.overlay_opacity())

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide the overlay (attention flow or source reuse); while shown, clicks inspect, not paint."""
        visible = bool(visible) and self.attention_panel.is_available()
        for widget in (self.act_overlay, self.attention_panel.show_box):
            widget.blockSignals(True)
            widget.setChecked(visible)
            widget.blockSignals(False)
        if visible:
            self._show_flow()
            self.attention_dock.raise_()  # its tab holds the legend that reads the colours
            if self.view.tool is not None and self.view.tool.name != "inspect":
                self._tool_before_overlay = self.view.tool.name
                self.set_tool("inspect")
        else:
            self.view.set_flow(None, 0.0)
            self.inspector.clear()
            if self._tool_before_overlay is not None:
                self.set_tool(self._tool_before_overlay)
                self._tool_before_overlay = None

    def inspect_at(self, pos: QPointF) -> list[Source]:
        """Outline where the filled pixel at ``pos`` borrowed from; returns its sources (empty if none)."""
        field = self.doc.attention
        sources = list(field.query(int(pos.x()), int(pos.y()))) if field is not None else []
        self.last_inspected = sources
        if not sources:
            self.inspector.clear()
            self.statusBar().showMessage(
                "That pixel has no recorded source (not filled, or filled by Telea or Navier-Stokes).", 4000
            )
            return sources
        self.inspector.show(pos, sources, self.view.scale_factor())
        pixel = copied_from(sources)
        if pixel is not None:
            self.statusBar().showMessage(
                f"Pixel ({pos.x():.0f}, {pos.y():.0f}) was copied from pixel ({pixel[0]}, {pixel[1]})"
            )
            return sources
        parts = ", ".join(f"({s.x:.0f}, {s.y:.0f}) {percent(s.weight)}" for s in sources[:3])
        more = f" and {len(sources) - 3} more" if len(sources) > 3 else ""
        self.statusBar().showMessage(f"Pixel ({pos.x():.0f}, {pos.y():.0f}) borrowed from {parts}{more}")
        return sources

    def _on_view_hovered(self, pos: QPointF) -> None:
        x, y = int(pos.x()), int(pos.y())
        if not (0 <= x < self.doc.width and 0 <= y < self.doc.height):
            self.hover_label.setText("")
            return
        text = f"{x}, {y}"
        field = self.doc.attention
        inspecting = self.view.tool is not None and self.view.tool.name == "inspect"
        if field is not None and inspecting:
            sources = list(field.query(x, y))
            pixel = copied_from(sources)
            if pixel is not None:
                text += f"  ← copied from ({pixel[0]}, {pixel[1]})"
            elif sources:
                best = sources[0]
                text += f"  ← borrowed from ({best.x:.0f}, {best.y:.0f}), {percent(best.weight)}"
            self.inspector.hover(pos, sources)
        if self.act_overlay.isChecked() and self.attention_panel.mode() == REUSE:
            text += self.restore.hover_text(x, y)
        self.hover_label.setText(text)

    # -- compare --------------------------------------------------------------------------------------------
    def _on_view_compare_held(self, held: bool) -> None:
        self.view.photo_item.show_original = held
        self.view.photo_item.update()
        if held:
            self.statusBar().showMessage("Original", 1500)

    def _on_compare_split_changed(self, split: float) -> None:
        self.view.photo_item.split = None if split < 0 else split
        self.view.photo_item.update()

    # -- misc -----------------------------------------------------------------------------------------------
    def _on_doc_path_changed(self) -> None:
        name = self.doc.path.name if self.doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — DeepFill Studio")
        self.setWindowModified(self.doc.is_modified)
        self.inspector.clear()

    def _on_doc_image_changed(self) -> None:
        self.status_fields.set_image(self.doc.width, self.doc.height, self.doc.depth)

    def show_document(self) -> None:
        """Title, modified mark and image size from the document as it is now."""
        self._on_doc_path_changed()
        self._on_doc_image_changed()

    def _on_status_message_changed(self, text: str) -> None:
        """A message longer than the room the permanent fields leave: the secondary fields step aside (and the
        filled-regions indicator shows its icon and count only) until the message is gone."""
        bar = self.statusBar()
        indicator = self.restore.indicator
        self.status_fields.set_compact(False)
        indicator.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        if not text:
            return
        permanent = sum(w.sizeHint().width() + 6 for w in (indicator, self.status_fields) if w.isVisible())
        permanent += sum(
            w.width() + 6
            for w in (self.fill_progress.progress_bar, self.fill_progress.cancel_button, self.file_busy_bar)
            if w.isVisible()
        )
        if bar.fontMetrics().horizontalAdvance(text) + 24 > bar.width() - permanent:
            self.status_fields.set_compact(True)
            indicator.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def open_at_startup(self, path: Path) -> None:
        """Open the first photo once the window has painted: its name and a busy state show at once, instead
        of a black window titled "untitled" while a large photo decodes."""
        self.setWindowTitle(f"{path.name} — DeepFill Studio")
        self.view.set_placeholder(f"Opening {path.name}…")
        self.statusBar().showMessage(f"Opening {path.name}…")
        self.status_fields.image.setText("")
        self.status_fields.zoom.setText("")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

        def load() -> None:
            try:
                self.files.open_path(path, ask=False)
            finally:
                QApplication.restoreOverrideCursor()
                self.view.set_placeholder("")
                self.statusBar().clearMessage()
                self._on_doc_path_changed()
                self.view.setFocus()

        QTimer.singleShot(50, load)  # after the first paint (a 0 ms timer can run before the window maps)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.recent_files if Path(p).exists()]
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.files.open_path(p))

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self._theme_actions[theme].setChecked(True)
        self._recolor_icons()
        self.engine_panel.set_theme(theme)

    def _recolor_icons(self) -> None:
        color = icon_color(self.settings.theme)
        for action, name in self._icon_names.items():
            action.setIcon(icon(name, color))

    def show_shortcuts(self) -> ShortcutsDialog:
        """The one keyboard-shortcuts sheet: F1 again raises it rather than opening a second."""
        if self._shortcuts_dialog is None:
            menus = [m for m in (a.menu() for a in self.menuBar().actions()) if isinstance(m, QMenu)]
            self._shortcuts_dialog = ShortcutsDialog(sections_of(menus, self.actions()), self)
        self._shortcuts_dialog.show()
        self._shortcuts_dialog.raise_()
        self._shortcuts_dialog.activateWindow()
        return self._shortcuts_dialog

    def _update_undo_tooltips(self) -> None:
        for action in (self.act_undo, self.act_redo):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text().replace('&', '')} ({keys})")

    def _keep_canvas_focus(self) -> None:
        """Clicking a panel's button, slider, box or list leaves the keyboard focus on the canvas (as in Krita),
        so the canvas's keys keep working; number fields take the focus to type in and give it back."""
        for dock in self.docks:
            for widget in dock.findChildren(QWidget):
                if isinstance(widget, (QAbstractButton, QAbstractSlider, QComboBox)):
                    widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.history_view.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.compare_bar.enabled_box.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.compare_bar.slider.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    def _return_focus_to_canvas(self) -> None:
        # Enter in the field (it still has the focus) hands the keys back; leaving it for another field does not.
        field = self.sender()
        if isinstance(field, QWidget) and field.hasFocus():
            self.view.setFocus()

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About DeepFill Studio",
            "DeepFill Studio: remove objects from photos with DeepFill v2 (gated convolutions and contextual "
            "attention), with an overlay showing where each filled pixel was copied from.",
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._docks_sized:
            self.size_docks()

    def size_docks(self) -> None:
        """First run (or a new layout version): Brush at its full height, Fill gets the rest of the column;
        both columns as wide as their panels ask. (Before the window is shown the dock areas have no
        size to share.)"""
        self._docks_sized = True
        brush, fill = self.docks[0], self.docks[1]
        tall = brush.sizeHint().height() + 8  # + the frame and a little air, or the last row scrolls
        heights = [tall, max(fill.sizeHint().height(), self.view.height() - tall)]  # the rest to Fill
        self.resizeDocks([brush, fill], heights, Qt.Orientation.Vertical)
        left = max(d.sizeHint().width() for d in (self.attention_dock, self.restore.dock) if d is not None)
        right = max(brush.sizeHint().width(), fill.sizeHint().width())
        self.resizeDocks([self.attention_dock, fill], [left, right], Qt.Orientation.Horizontal)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.files.busy:  # a photo is being read or written: closing now would lose it
            self.statusBar().showMessage(f"{self.files.background.label} Close again when it is done.", 8000)
            event.ignore()
            return
        if not self.files.maybe_save():  # includes a save that failed: its box said why
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def terminate(self) -> None:
        """SIGTERM/SIGINT (`app.terminate`): no one to ask, so unsaved work goes to the recovery copy, which the
        next start offers back, and everything else shuts down as on close."""
        unsaved = self.doc.is_modified
        if unsaved and self.recovery.pending:
            self.recovery.save_now()
        if unsaved:
            # the next start says it was asked to quit, not that it crashed
            self.recovery.mark_ended("signal")
        self.shutdown(keep_recovery=unsaved)

    def shutdown(self, keep_recovery: bool = False) -> None:
        """Cancel any fill or conversion, wait for the pools, drop the recovery copy (unless ``keep_recovery``),
        store the window geometry."""
        # Signals the document still emits while Qt deletes it must not reach this half-deleted window.
        with contextlib.suppress(RuntimeError, TypeError):
            self.doc.undo_stack.cleanChanged.disconnect(self._on_undo_clean_changed)
        self.canvas_keys.remove()
        self.inpaint.shutdown()
        self.weights_loader.shutdown()
        self.files.shutdown()
        self.recovery.shutdown(keep=keep_recovery)
        self.restore.shutdown()
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState(LAYOUT_VERSION)
        self.settings.sync()

    # -- reliability: busy indicator, saved message, autosave and crash recovery ---------------------------
    def _build_reliability(self) -> None:
        self.file_busy_bar = QProgressBar()
        self.file_busy_bar.setRange(0, 0)  # indeterminate: reading or writing a file has no progress to show
        self.file_busy_bar.setFixedWidth(120)
        self.file_busy_bar.setVisible(False)
        self.statusBar().addPermanentWidget(self.file_busy_bar)
        self.statusBar().messageChanged.connect(self._on_status_message_changed)
        self.files.busy_changed.connect(self._on_files_busy_changed)
        self.inpaint.applied.connect(self._on_inpaint_applied_autosave)
        self.recovery.failed.connect(self._on_recovery_failed)

    def _on_undo_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _on_files_busy_changed(self, label: str) -> None:
        busy = bool(label)
        self.file_busy_bar.setVisible(busy)
        for act in (
            self.act_open,
            self.act_save,
            self.act_save_as,
            self.act_export,
            self.recent_menu.menuAction(),
        ):
            act.setEnabled(not busy)
        for act in (self.act_import_mask, self.act_export_mask, self.act_export_overlay):
            act.setEnabled(not busy)
        if busy:
            self.statusBar().showMessage(label)
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QApplication.restoreOverrideCursor()
            if self.statusBar().currentMessage().endswith("…"):
                self.statusBar().clearMessage()

    def _on_inpaint_applied_autosave(self, _seconds: float) -> None:
        self.recovery.save_now()

    def _on_recovery_failed(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def offer_recovery(self) -> bool:
        """At start: offer the newest recovery copy a crashed or killed session left. True when restored."""
        return offer_recovery(self, self)
