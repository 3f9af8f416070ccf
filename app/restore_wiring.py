"""Connects restoration and provenance to the window: the Restore panel, the scratch proposal on the canvas, the
"filled regions" indicator in the status bar, the save hook, and the actions the window puts in its menus.

Kept out of main_window.py so the window only creates this object, docks its panel and lists its actions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QSizePolicy, QToolButton

from app.canvas.proposal_item import ProposalItem
from app.icons import icon
from app.provenance_controller import ProvenanceController
from app.restore_controller import REPLACE, ScratchController, describe_detector, describe_tone
from app.widgets.attention_panel import FLOW, REUSE, AttentionPanel
from app.widgets.panel_scroll import PanelScroll
from app.widgets.restore_panel import RestorePanel
from app.widgets.reuse_legend import reuse_legend_pixmap
from app.window_parts import WindowParts
from inpaint_core.restore.provenance import sidecar_path
from inpaint_core.restore.reuse import REUSE_RANGE


class RestoreHost(WindowParts, Protocol):
    """What the wiring needs of the window besides being a QMainWindow: its parts, attention panel and overlay
    switch."""

    @property
    def attention_panel(self) -> AttentionPanel: ...
    @property
    def act_overlay(self) -> QAction: ...
    def refresh_overlay(self) -> None: ...
    def set_overlay_visible(self, visible: bool) -> None: ...


class RestoreWiring:
    """Owns the scratch and provenance controllers and their widgets for one window."""

    def __init__(self, window: QMainWindow, host: RestoreHost) -> None:
        self.window = window  # the parent of its dialogs and actions, and its status bar
        self.host = host
        doc, settings = host.doc, host.settings
        self.scratches = ScratchController(doc, settings, window)
        self.provenance = ProvenanceController(doc, settings, window)
        host.files.before_write = self.provenance.prepare_save
        self.panel = RestorePanel()
        self.panel.load(
            settings.scratch_sensitivity,
            settings.scratch_max_width,
            settings.tone == "auto",
            settings.write_provenance,
            settings.scratch_method,
        )
        # In a scroll area: a crowded dock column scrolls the panel instead of squashing its controls.
        # Never shorter than it wants to be: the scroll area scrolls it rather than overlapping its rows.
        self.panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.dock_content = PanelScroll(self.panel)
        self.dock: QDockWidget | None = None  # set by the window once docked
        self.proposal_item = ProposalItem()
        host.view.scene().addItem(self.proposal_item)

        self.indicator = QToolButton()
        self.indicator.setObjectName("filled_regions_indicator")
        self.indicator.setIcon(icon("mdi6.file-certificate-outline", "#e0a030"))
        self.indicator.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.indicator.setAutoRaise(True)
        self.indicator.setStyleSheet("color: #e0a030;")
        self.indicator.setVisible(False)
        window.statusBar().insertPermanentWidget(0, self.indicator)

        self.act_find_scratches = self._action(
            "Find Scratches and Dust…", self.find_scratches, "Ctrl+Shift+R", "mdi6.magnify-scan"
        )
        self.act_export_provenance = self._action(
            "Export &Provenance…",
            self.provenance.export_dialog,
            "Ctrl+Shift+P",
            "mdi6.file-certificate-outline",
        )
        self.act_show_reuse = self._action("Source &Reuse Heat Map", self.show_reuse, "Shift+A", "mdi6.fire")

    def _action(self, text: str, slot: Callable[[], object], shortcut: str, icon_name: str) -> QAction:
        action = QAction(icon(icon_name), text, self.window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.window.addAction(action)  # shortcuts work even when the action is only in a menu
        return action

    def connect(self) -> None:
        """Connect signals (called by the window once its docks and status bar exist)."""
        panel, status = self.panel, self.window.statusBar()
        panel.preview_toggled.connect(self._on_panel_preview_toggled)
        panel.sensitivity_changed.connect(self.scratches.set_sensitivity)
        panel.max_width_changed.connect(self.scratches.set_max_width)
        panel.method_changed.connect(self._on_panel_method_changed)
        panel.apply_requested.connect(self.scratches.apply)
        panel.tone_toggled.connect(self._on_panel_tone_toggled)
        panel.record_toggled.connect(self._on_panel_record_toggled)
        panel.export_requested.connect(self.provenance.export_dialog)
        self.indicator.clicked.connect(self.raise_panel)
        self.scratches.proposal_changed.connect(self._on_scratches_proposal_changed)
        self.scratches.busy_changed.connect(lambda _busy: self._update_scratch_state())
        self.scratches.active_changed.connect(lambda _active: self._update_scratch_state())
        self.scratches.message.connect(lambda text: status.showMessage(text, 8000))
        self.scratches.failed.connect(self._on_scratches_failed)
        self.provenance.fills_changed.connect(self._on_provenance_fills_changed)
        self.provenance.message.connect(lambda text: status.showMessage(text, 10000))
        self.host.files.saved.connect(self._on_files_saved)
        self.host.files.opened.connect(lambda path: self.provenance.carry_earlier(Path(path)))
        self.host.doc.image_changed.connect(self._on_doc_image_changed)
        self.host.act_overlay.toggled.connect(self._on_overlay_toggled)
        self._on_doc_image_changed()
        self._on_provenance_fills_changed()
        self.update_detector()

    # -- scratches ------------------------------------------------------------------------------------------
    def raise_panel(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()

    def find_scratches(self) -> None:
        """Mask > Find Scratches and Dust: show the panel and start the live proposal."""
        self.raise_panel()
        self.update_detector()
        self.scratches.start()

    def _on_panel_method_changed(self, method: str) -> None:
        self.scratches.set_method(method)
        self.update_detector()

    def update_detector(self) -> None:
        """Say in the panel which detector proposes the damage (weights may have been installed since)."""
        self.panel.set_detector(*describe_detector(self.host.settings.scratch_method))

    def _on_panel_preview_toggled(self, on: bool) -> None:
        if on:
            self.update_detector()
            self.scratches.start()
        else:
            self.scratches.stop()

    def _on_scratches_proposal_changed(self) -> None:
        proposal = self.scratches.proposal
        self.proposal_item.set_mask(proposal, self.host.doc.width)
        if proposal is not None:
            self.panel.set_proposal_share(float(proposal.mean()))
        self._update_scratch_state()

    def _update_scratch_state(self) -> None:
        self.panel.set_scratch_state(
            active=self.scratches.active,
            busy=self.scratches.busy,
            has_proposal=self.scratches.proposal is not None,
        )

    def _on_scratches_failed(self, text: str) -> None:
        QMessageBox.warning(
            self.window, "Scratch detection failed", f"{text}\n\nThe mask was left unchanged."
        )

    def apply_scratches(self, mode: str = REPLACE) -> None:
        self.scratches.apply(mode)

    # -- tone -----------------------------------------------------------------------------------------------
    def _on_panel_tone_toggled(self, keep: bool) -> None:
        self.host.settings.tone = "auto" if keep else "off"

    def _on_doc_image_changed(self) -> None:
        self.panel.set_tone(describe_tone(self.host.doc.image))
        self._on_provenance_fills_changed()  # another photo: perhaps with a record of earlier fills beside it

    # -- provenance -----------------------------------------------------------------------------------------
    def _on_panel_record_toggled(self, on: bool) -> None:
        self.host.settings.write_provenance = on

    def _on_provenance_fills_changed(self) -> None:
        fills = self.provenance.fills()
        summary = self.provenance.summary()
        sidecar = str(self.provenance.last_sidecar) if self.provenance.last_sidecar else ""
        earlier = self.provenance.earlier_record() is not None
        self.panel.set_provenance(summary, bool(fills) or earlier, sidecar, can_export=bool(fills))
        self.act_export_provenance.setEnabled(bool(fills))
        count = len(fills)
        self.indicator.setText(f"{count} filled region{'s' if count != 1 else ''}")
        self.indicator.setToolTip(f"{summary} Click for the provenance record.")
        self.indicator.setVisible(bool(fills))
        has_map = self.provenance.has_attention()
        # Drawn now, in the current theme's text colour (the theme can change between fills).
        legend = reuse_legend_pixmap(240, self.window.palette().color(QPalette.ColorRole.WindowText))
        self.host.attention_panel.set_reuse_available(
            has_map, legend if has_map else None, self.reuse_caption()
        )
        self.act_show_reuse.setEnabled(has_map)
        self.host.refresh_overlay()

    def _on_files_saved(self, path: str) -> None:
        fills = self.provenance.fills()
        if not fills:
            return
        folder = sidecar_path(path)
        where = f"; provenance record in {folder.name}/" if self.provenance.last_sidecar == folder else ""
        self.window.statusBar().showMessage(
            f"Saved {Path(path).name} with a note that it contains {len(fills)} filled region(s){where}",
            10000,
        )

    # -- the source-reuse overlay ---------------------------------------------------------------------------
    def _on_overlay_toggled(self, shown: bool) -> None:
        if shown:
            self.raise_overlay_panel()

    def raise_overlay_panel(self) -> None:
        """The Attention dock holds the overlay's legend and opacity; it shares a tab with the Restore panel."""
        dock = self.window.findChild(QDockWidget, "Attention")
        if dock is not None:
            dock.show()
            dock.raise_()

    def show_reuse(self) -> None:
        """View > Source Reuse Heat Map: switch the overlay to the heat map and show it."""
        if not self.provenance.has_attention():
            self.window.statusBar().showMessage(
                "No source-reuse map yet: it comes with DeepFill and PatchMatch fills (Telea and Navier-Stokes "
                "borrow no patches).",
                6000,
            )
            return
        self.host.attention_panel.set_mode(REUSE)
        self.host.set_overlay_visible(True)
        self.raise_overlay_panel()

    def reuse_caption(self) -> str:
        """How to read the heat map of the fills now in the history (its peak, and where it is)."""
        density = self.provenance.reuse_density()
        if density is None:
            return ""
        count = sum(f.attention is not None for f in self.provenance.fills())
        y, x = np.unravel_index(int(np.argmax(density)), density.shape)
        peak = float(density[y, x])
        text = (
            f"{count} DeepFill fill(s): bright = borrowed often (fixed log scale, comparable between photos); "
            f"the peak is {peak:.3g} per pixel at ({x}, {y})."
        )
        if peak < REUSE_RANGE[0]:
            return text + (
                f" Nothing reaches the scale's lowest step ({REUSE_RANGE[0]:g}), so the map is empty: the fills "
                "drew thinly from everywhere, no spot was copied."
            )
        return text + " One hot spot means the network copied from one place."

    def overlay(self, mode: str) -> np.ndarray | None:
        """The RGBA overlay of ``mode``: the last fill's flow colours, or the heat map of all DeepFill fills."""
        doc = self.host.doc
        if mode == FLOW:
            field = doc.attention
            return None if field is None else np.asarray(field.flow_rgba(doc.height, doc.width), np.uint8)
        return self.provenance.reuse_overlay()

    def export_overlay(self) -> bool:
        """The overlay panel's Export button: the map that is selected."""
        if self.host.attention_panel.mode() == REUSE:
            return self.provenance.export_reuse_dialog()
        return self.host.files.export_overlay()

    def hover_text(self, x: int, y: int) -> str:
        """What the heat map says at (x, y), for the status bar while it is shown."""
        density = self.provenance.reuse_density()
        if density is None or not (0 <= y < density.shape[0] and 0 <= x < density.shape[1]):
            return ""
        return f"  borrowed here: {float(density[y, x]):.3g} per pixel"

    def shutdown(self) -> None:
        self.scratches.shutdown()
