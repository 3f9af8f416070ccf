"""The main window: actions, menus, toolbar, docks and status bar. Work is delegated to the document, the canvas
view and tools, the file controller and the inpaint controller."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolBar,
    QUndoView,
    QWidget,
)

from app import qimage_convert
from app.canvas import mask_ops
from app.canvas.commands import LayerReplaceCommand
from app.canvas.inspect_overlay import InspectOverlay
from app.canvas.tools import TOOL_CLASSES, InspectTool, Tool, ToolSettings
from app.canvas.view import CanvasView
from app.dialogs.shortcuts_dialog import ShortcutsDialog
from app.document import MASK, Document
from app.file_controller import FileController
from app.icons import icon
from app.inpaint_controller import InpaintController
from app.restore_wiring import RestoreWiring
from app.settings import AppSettings
from app.theme import apply_theme, icon_color
from app.widgets.attention_panel import REUSE, AttentionPanel
from app.widgets.compare_bar import CompareBar
from app.widgets.engine_panel import EnginePanel
from app.widgets.tool_options_panel import ToolOptionsPanel
from inpaint_core.api import Engine, Source, default_engine

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
        self.inspector = InspectOverlay(self.view.scene())
        self.restore = RestoreWiring(self)  # scratches, tone, provenance, the source-reuse map
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

        self._build_status_bar()
        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._connect()
        self.set_tool("brush")
        self.resize(1280, 820)
        if settings.geometry is not None:
            self.restoreGeometry(settings.geometry)
        self._on_doc_path_changed()
        self._on_doc_attention_changed()
        if default_engine() == "telea" and not settings.weights:
            self.engine_panel.set_weights_note(
                "DeepFill weights are not installed, so fills use the classical Telea engine."
            )
        else:
            self.engine_panel.set_weights_note("")

    # -- construction ---------------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.hover_label = QLabel()
        self.zoom_label = QLabel("100 %")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setFormat("%p %")
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton(icon("mdi6.close"), "Cancel")
        self.cancel_button.setVisible(False)
        bar.addPermanentWidget(self.hover_label)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.zoom_label)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        right = Qt.DockWidgetArea.RightDockWidgetArea
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
            self._dock("Attention", self.attention_panel, right),
            self._dock("History", self.history_view, right),
        ]
        self.restore.dock = self._dock("Restore", self.restore.dock_content, right)
        self.tabifyDockWidget(self.docks[2], self.restore.dock)  # beside Attention: both study the fills
        self.docks.append(self.restore.dock)

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
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._icon_names[self.act_redo] = "mdi6.redo"
        self._recolor_icons()
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_grow = a("Grow Mask", lambda: self.mask_operation("grow"), "Ctrl+Shift+=")
        self.act_shrink = a("Shrink Mask", lambda: self.mask_operation("shrink"), "Ctrl+Shift+-")
        self.act_clear = a(
            "Clear Mask", lambda: self.mask_operation("clear"), "Ctrl+Shift+D", "mdi6.selection-remove"
        )
        self.act_invert = a("Invert Mask", lambda: self.mask_operation("invert"), "Ctrl+I")
        self.act_smaller = a("Smaller Brush", lambda: self._step_brush(-1), "[")
        self.act_larger = a("Larger Brush", lambda: self._step_brush(1), "]")
        self.act_inpaint = a("&Inpaint", self.start_inpaint, "Ctrl+Return", "mdi6.auto-fix")
        self.act_cancel = a("Cancel Fill", self.inpaint.cancel, "Ctrl+.")
        self.act_fit = a("&Fit", self.view.fit, "Ctrl+0", "mdi6.fit-to-screen-outline")
        self.act_100 = a("&100 %", self.view.zoom_100, "Ctrl+1", "mdi6.numeric-1-box-outline")
        self.act_zoom_in = a("Zoom In", lambda: self._zoom_centre(1.25), QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_out = a("Zoom Out", lambda: self._zoom_centre(0.8), QKeySequence.StandardKey.ZoomOut)
        self.act_overlay = a("Attention &Overlay", self.set_overlay_visible, "A", "mdi6.vector-arrange-below")
        self.act_overlay.setCheckable(True)
        self.act_dark = a("Dark Theme", lambda: self.set_theme("dark"))
        self.act_light = a("Light Theme", lambda: self.set_theme("light"))
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
        self.doc.undo_stack.cleanChanged.connect(lambda clean: self.setWindowModified(not clean))
        self.view.hovered.connect(self._on_view_hovered)
        self.view.zoom_changed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f} %"))
        self.view.file_dropped.connect(lambda p: self.files.open_path(p))
        self.view.compare_held.connect(self._on_view_compare_held)
        self.compare_bar.split_changed.connect(self._on_compare_split_changed)
        self.tool_settings.changed.connect(self._on_tool_settings_changed)
        self.tool_options.mask_color_changed.connect(self._on_mask_color_changed)
        self.tool_options.mask_opacity_changed.connect(self._on_mask_opacity_changed)
        self.engine_panel.inpaint_button.clicked.connect(self.start_inpaint)
        self.engine_panel.cancel_button.clicked.connect(self.inpaint.cancel)
        self.cancel_button.clicked.connect(self.inpaint.cancel)
        self.attention_panel.toggled.connect(self.set_overlay_visible)
        self.attention_panel.opacity_changed.connect(self.view.flow_item.setOpacity)
        self.attention_panel.export_requested.connect(self.restore.export_overlay)
        self.attention_panel.mode_changed.connect(lambda _mode: self.refresh_overlay())
        self.inpaint.running_changed.connect(self._on_inpaint_running_changed)
        self.inpaint.progress.connect(self._on_inpaint_progress)
        self.inpaint.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.inpaint.failed.connect(self._on_inpaint_failed)
        self.inpaint.weights_missing.connect(self._on_inpaint_weights_missing)
        self.inpaint.applied.connect(self._on_inpaint_applied)
        self.files.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.files.opened.connect(lambda _p: self.view.fit())
        self.restore.connect()

    # -- tools and brush ------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.view.set_tool(self.tools[name])
        self.tool_actions[name].setChecked(True)
        if name != "inspect":
            self.inspector.clear_hover()
        self.view.refresh_brush_cursor()

    def _step_brush(self, direction: int) -> None:
        self.tool_settings.step_size(direction)

    def _on_tool_settings_changed(self) -> None:
        self.view.refresh_brush_cursor()
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

    def mask_operation(self, op: str) -> None:
        """Grow, shrink, clear or invert the mask as one undoable step."""
        before = self.doc.layer_alpha(MASK)
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
        self.doc.undo_stack.push(
            LayerReplaceCommand(self.doc, MASK, before, after, f"{op.capitalize()} mask")
        )

    # -- fill -----------------------------------------------------------------------------------------------
    def start_inpaint(self) -> int:
        return self.inpaint.start()

    def _on_inpaint_running_changed(self, running: bool) -> None:
        self.progress_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.engine_panel.set_running(running)
        if running:
            self.progress_bar.setValue(0)

    def _on_inpaint_progress(self, stage: str, fraction: float) -> None:
        self.progress_bar.setValue(round(fraction * 100))
        self.statusBar().showMessage(f"Filling: {stage}…")

    def _on_inpaint_applied(self, seconds: float) -> None:
        self.last_fill_seconds = seconds

    def _on_inpaint_failed(self, text: str) -> None:
        QMessageBox.warning(self, "Fill failed", f"{text}\n\nThe photo was left unchanged.")

    def _on_inpaint_weights_missing(self, text: str) -> None:
        answer = QMessageBox.question(
            self,
            "DeepFill weights are missing",
            f"DeepFill weights are missing ({text}).\n\nFill with the classical Telea engine instead? "
            "The engine setting switches to Telea; choose DeepFill again once weights are installed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        self.engine_panel.set_weights_note("DeepFill weights are missing; using the classical Telea engine.")
        if answer == QMessageBox.StandardButton.Yes:
            self.settings.engine = "telea"
            self.engine_panel.load()
            self.inpaint.start("telea")

    # -- attention ------------------------------------------------------------------------------------------
    def _on_doc_attention_changed(self) -> None:
        field = self.doc.attention
        self.inspector.clear()
        if field is None:
            self.attention_panel.set_available(False)
        else:
            legend = qimage_convert.array_to_qimage(np.asarray(field.legend(120), dtype=np.uint8))
            self.attention_panel.set_available(True, QPixmap.fromImage(legend))
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
            self.statusBar().showMessage("That pixel was not filled by DeepFill: nothing to inspect.", 4000)
            return sources
        self.inspector.show(pos, sources, self.view.scale_factor())
        parts = ", ".join(f"({s.x:.0f}, {s.y:.0f}) {s.weight:.3g}" for s in sources)
        self.statusBar().showMessage(f"Pixel ({pos.x():.0f}, {pos.y():.0f}) borrowed from: {parts}")
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
            if sources:
                best = sources[0]
                text += f"  ← borrowed from ({best.x:.0f}, {best.y:.0f}), weight {best.weight:.3g}"
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
        self._recolor_icons()

    def _recolor_icons(self) -> None:
        color = icon_color(self.settings.theme)
        for action, name in self._icon_names.items():
            action.setIcon(icon(name, color))

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.actions(), self)
        dialog.show()
        return dialog

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About DeepFill Studio",
            "DeepFill Studio: remove objects from photos with DeepFill v2 (gated convolutions and contextual "
            "attention), with an overlay showing where each filled pixel was copied from.",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel any fill, wait for the pools, store the window geometry."""
        self.inpaint.shutdown()
        self.restore.shutdown()
        self.settings.geometry = self.saveGeometry()
        self.settings.sync()
