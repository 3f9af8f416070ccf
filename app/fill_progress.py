"""The running fill in the status bar: a percentage bar and a Cancel button beside the fields, the stage in
words on the message line, and a count of seconds for a stage that reports no progress of its own.

Kept out of main_window.py: the window creates it with its status bar and only lays it out.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QProgressBar, QPushButton, QStatusBar

from app.icons import icon
from app.inpaint_controller import InpaintController
from app.widgets.engine_panel import EnginePanel
from inpaint_core.api import CLASSICAL_ENGINES, ENGINE_LABELS, STAGES

STAGE_LABELS = {
    "load": "loading the model",
    "prepare": "preparing",
    "coarse": "coarse pass",
    "refine": "refining",
    "paste": "pasting",
}


class FillProgress(QObject):
    """Shows the inpaint controller's fill in `bar` and cancels it from either Cancel button (the bar's, the
    Fill panel's)."""

    def __init__(self, bar: QStatusBar, inpaint: InpaintController, panel: EnginePanel) -> None:
        super().__init__(bar)
        self.bar, self.inpaint, self.panel = bar, inpaint, panel
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setFormat("%p %")
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton(icon("mdi6.close"), "Cancel")
        self.cancel_button.setVisible(False)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        self.opaque_timer = QTimer(self)  # ticks the seconds of a stage with no progress of its own
        self.opaque_timer.setInterval(1000)
        self.opaque_timer.timeout.connect(self._show_opaque_stage)
        self._opaque_since = 0.0
        inpaint.running_changed.connect(self._on_running_changed)
        inpaint.progress.connect(self._on_progress)
        self.cancel_button.clicked.connect(self.cancel)
        panel.cancel_button.clicked.connect(self.cancel)

    def cancel(self) -> None:
        """Ask the running fill to stop; the bar stays until the engine has stopped (its next stage check)."""
        if not self.inpaint.is_running:
            return
        self.inpaint.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.panel.set_running(False)
        self.bar.showMessage("Cancelling the fill…")

    def _on_running_changed(self, running: bool) -> None:
        self.progress_bar.setVisible(running)
        self.progress_bar.setRange(0, 100)
        self.opaque_timer.stop()
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.cancel_button.setText("Cancel")
        self.panel.set_running(running)
        if running:
            self.progress_bar.setValue(0)

    def _on_progress(self, stage: str, fraction: float) -> None:
        # A classical fill is one OpenCV call with no progress of its own (20 s on a huge hole of a 24 MP photo):
        # the bar turns busy and the line counts the seconds, instead of a percentage that stands still.
        opaque = stage == "refine" and self.inpaint.last_engine_used in CLASSICAL_ENGINES
        self.progress_bar.setRange(0, 0 if opaque else 100)
        self.progress_bar.setValue(round(fraction * 100))
        if opaque and not self.opaque_timer.isActive():
            self._opaque_since = time.monotonic()
            self.opaque_timer.start()
        elif not opaque:
            self.opaque_timer.stop()
        if self.inpaint.cancelling:
            return
        if opaque:
            self._show_opaque_stage()
            return
        # Known stages read as words; anything else the engine reports (e.g. per-window detail) shows as is.
        words = STAGE_LABELS.get(stage, stage) if stage in STAGES else stage
        self.bar.showMessage(f"Filling: {words}… {fraction * 100:.0f} %")

    def _show_opaque_stage(self) -> None:
        if self.inpaint.cancelling or not self.inpaint.is_running:
            self.opaque_timer.stop()
            return
        name = ENGINE_LABELS.get(self.inpaint.last_engine_used, self.inpaint.last_engine_used)
        seconds = time.monotonic() - self._opaque_since
        self.bar.showMessage(
            f"Filling with {name}: one OpenCV call with no progress to report, large holes take a while… "
            f"{seconds:.0f} s"
        )
