"""Old-photo restoration in the editor: the live scratch-and-dust proposal, and what the photo's tone is.

Scratch detection goes through the core's front door (inpaint_core/restore/detector.py, docs/DESIGN.md
"Restoration and provenance"), with the detector the settings name (`scratch_method`: auto, learned, classical).
It is split as the core advises: `analyse_damage` (the expensive part) runs on a worker when the preview starts,
the photo, the detector or the maximum width changes; the sensitivity slider only re-thresholds it
(`analysis.mask(s)`, on the GUI thread, coalesced by a short timer), never re-running the network. The classical
detector analyses a copy at most `PREVIEW_SIDE` px long; the learned one always reads the full photo (it tiles a
large one itself). "Apply" reuses the analysis when it is full size (the learned one always is), else detects
once at full resolution on the worker, and replaces or adds to the mask layer as ONE undo step; the user then
edits it with the usual tools before filling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QRect, QThreadPool, QTimer, Signal

from app.canvas.commands import LayerReplaceCommand
from app.document import MASK, Document
from app.scratch_worker import ScratchWorker
from app.settings import AppSettings
from inpaint_core.errors import WeightsMissingError
from inpaint_core.restore.detector import (
    DamageAnalysis,
    LearnedAnalysis,
    analyse_damage,
    detect_damage,
    resolve_method,
)
from inpaint_core.restore.scratches import ScratchAnalysis
from inpaint_core.restore.tone import fit_tone

PREVIEW_SIDE = 1600  # the classical preview analyses a copy this long (0.2 s at 6 MP, docs/BENCHMARKS.md)
REPLACE, ADD = "replace", "add"


def describe_detector(method: str) -> tuple[str, bool]:
    """What the Restore panel says about the detector `method` (a setting) stands for on this installation, and
    whether that is a problem (the learned detector chosen, and its weights missing)."""
    try:
        resolved = resolve_method(method)
    except WeightsMissingError:
        return "Detector: learned, but its weights are not installed: choose Auto or Classical", True
    if resolved == "learned":
        return "Detector: learned", False
    if method == "classical":
        return "Detector: classical", False
    return "Detector: classical (no learned weights installed)", False


def describe_tone(image: np.ndarray) -> str:
    """The tone in a few words: "grey", "warm-toned (sepia)", "cool-toned (cyanotype)", "toned"; "" = colour."""
    if image.ndim == 2:
        return "grey"
    curve = fit_tone(image)
    return "" if curve is None else curve.describe()


@dataclass
class _Job:
    kind: str  # "analyse" | "apply"
    worker: ScratchWorker
    revision: int  # the photo's image_revision the job saw
    mode: str = REPLACE  # for "apply"


class ScratchController(QObject):
    """The proposed scratch mask of the current photo, shown live while the preview is on.

    Signals:
        proposal_changed: ``proposal`` changed: a bool array at the analysed size (the photo's, or smaller for a
            photo longer than PREVIEW_SIDE), or None when there is none to show.
        busy_changed(bool): an analysis or full-resolution detection started / the last one ended.
        active_changed(bool): the preview was started / stopped.
        message(str): a status-bar line.
        failed(str): a user-facing error line (the mask is untouched).
    """

    proposal_changed = Signal()
    busy_changed = Signal(bool)
    active_changed = Signal(bool)
    message = Signal(str)
    failed = Signal(str)

    def __init__(self, doc: Document, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc, self.settings = doc, settings
        # Its own single thread: detection never waits behind a fill, and never runs two at once.
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.active = False
        self.analysis: DamageAnalysis | None = None
        self._analysis_revision = -1
        self.proposal: np.ndarray | None = None
        self._jobs: dict[int, _Job] = {}
        self._token = 0
        self._latest_analysis = 0
        self._latest_apply = 0
        self._rethreshold = QTimer(self)
        self._rethreshold.setSingleShot(True)
        self._rethreshold.setInterval(30)  # a dragged slider sends many values; show the latest
        self._rethreshold.timeout.connect(self._update_proposal)
        doc.image_changed.connect(self._on_doc_image_changed)
        doc.image_region_changed.connect(self._on_doc_image_region_changed)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    @property
    def sensitivity(self) -> float:
        return self.settings.scratch_sensitivity

    @property
    def max_width(self) -> int:
        return self.settings.scratch_max_width

    @property
    def method(self) -> str:
        return self.settings.scratch_method

    # -- preview --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Show the proposal for the current photo (analysing it first)."""
        if self.active:
            return
        self.active = True
        self.active_changed.emit(True)
        if self.analysis is not None and self._analysis_revision == self.doc.image_revision:
            self._update_proposal()
        else:
            self._analyse()

    def stop(self) -> None:
        """Hide the proposal; a running analysis is dropped when it ends."""
        self._latest_analysis = 0
        self._rethreshold.stop()
        if self.proposal is not None:
            self.proposal = None
            self.proposal_changed.emit()
        if self.active:
            self.active = False
            self.active_changed.emit(False)

    def set_sensitivity(self, sensitivity: float) -> None:
        """0 = only the surest damage, 1 = anything plausible; re-thresholds the analysis (no new analysis)."""
        self.settings.scratch_sensitivity = float(sensitivity)
        if self.active and self.analysis is not None:
            self._rethreshold.start()

    def set_max_width(self, max_width: int) -> None:
        """The widest scratch or speck to look for (px): a new analysis."""
        if int(max_width) == self.max_width:
            return
        self.settings.scratch_max_width = int(max_width)
        self.analysis = None
        if self.active:
            self._analyse()

    def set_method(self, method: str) -> None:
        """The detector ("auto", "learned", "classical"): a new analysis."""
        if method == self.method:
            return
        self.settings.scratch_method = method
        self.analysis = None
        if self.active:
            self._analyse()

    def _analyse(self) -> None:
        image, width, method = self.doc.image.copy(), self.max_width, self.method
        self._latest_analysis = self._run(
            "analyse", lambda: analyse_damage(image, method, width, preview_side=PREVIEW_SIDE)
        )

    def _update_proposal(self) -> None:
        if not self.active or self.analysis is None:
            return
        # Thresholded at the analysed size (the canvas scales it up): a large scan's slider stays live.
        analysis = self.analysis
        assert isinstance(analysis, ScratchAnalysis | LearnedAnalysis)  # both frozen dataclasses
        at_analysed_size = dataclasses.replace(analysis, shape=analysis.analysed_shape)
        self.proposal = at_analysed_size.mask(self.sensitivity)
        self.proposal_changed.emit()
        share = float(self.proposal.mean()) if self.proposal.size else 0.0
        self.message.emit(
            f"Proposed scratch and dust mask: {share:.2%} of the photo "
            f"({self.analysis.method} detector, sensitivity {self.sensitivity:.2f}, max width {self.max_width} px)"
        )

    # -- apply ----------------------------------------------------------------------------------------------
    def apply(self, mode: str = REPLACE) -> None:
        """Detect at full resolution and make the result the mask (REPLACE) or add it (ADD): one undo step."""
        analysis = self.analysis
        current = analysis is not None and self._analysis_revision == self.doc.image_revision
        if analysis is not None and current and analysis.analysed_shape == analysis.shape:
            self._push(analysis.mask(self.sensitivity), mode)  # the preview was already full resolution
            return
        image, sensitivity, width, method = (
            self.doc.image.copy(),
            self.sensitivity,
            self.max_width,
            self.method,
        )
        self.message.emit("Detecting scratches at full resolution…")
        self._latest_apply = self._run(
            "apply", lambda: detect_damage(image, sensitivity, width, method), mode
        )

    def _push(self, found: np.ndarray, mode: str) -> None:
        before = self.doc.layer_alpha(MASK)
        proposal = np.where(found, np.uint8(255), np.uint8(0))
        after = np.maximum(before, proposal) if mode == ADD else proposal
        self.stop()
        if np.array_equal(before, after):
            self.message.emit("No scratches or dust found at this sensitivity: the mask is unchanged.")
            return
        text = "Add scratches to mask" if mode == ADD else "Scratches as mask"
        self.doc.undo_stack.push(LayerReplaceCommand(self.doc, MASK, before, after, text))
        self.message.emit(
            f"The mask now holds the proposed scratches ({int(found.sum())} px): "
            "edit it with the brush and eraser, then Inpaint."
        )

    # -- worker bookkeeping ---------------------------------------------------------------------------------
    def _run(self, kind: str, job: Callable[[], object], mode: str = REPLACE) -> int:
        self._token += 1
        worker = ScratchWorker(self._token, job)
        worker.signals.finished.connect(self._on_worker_finished)
        worker.signals.failed.connect(self._on_worker_failed)
        was_busy = self.busy
        self._jobs[self._token] = _Job(kind, worker, self.doc.image_revision, mode)
        self.pool.start(worker)
        if not was_busy:
            self.busy_changed.emit(True)
        return self._token

    def _finish(self, token: int) -> _Job | None:
        job = self._jobs.pop(token, None)
        if not self._jobs:
            self.busy_changed.emit(False)
        return job

    def _on_worker_finished(self, token: int, result: object) -> None:
        job = self._finish(token)
        if job is None:
            return
        fresh = job.revision == self.doc.image_revision
        if job.kind == "analyse" and token == self._latest_analysis and fresh:
            assert isinstance(result, ScratchAnalysis | LearnedAnalysis)
            self.analysis, self._analysis_revision = result, job.revision
            self._update_proposal()
        elif job.kind == "apply" and token == self._latest_apply:
            if not fresh:
                self.message.emit("The photo changed while scratches were detected; detect again.")
                return
            assert isinstance(result, np.ndarray)
            self._push(result, job.mode)

    def _on_worker_failed(self, token: int, text: str) -> None:
        job = self._finish(token)
        if job is not None and token in (self._latest_analysis, self._latest_apply):
            self.stop()
            self.failed.emit(text)

    def _on_doc_image_changed(self) -> None:
        # Another photo: the proposal and the analysis belong to the old one.
        self.analysis = None
        self._latest_apply = 0
        self.stop()

    def _on_doc_image_region_changed(self, _rect: QRect) -> None:
        # A fill (or its undo) changed pixels: re-analyse so the proposal follows the photo.
        self.analysis = None
        if self.active:
            self._analyse()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Drop every pending result and wait for the pool (window close)."""
        self._latest_analysis = self._latest_apply = 0
        self._rethreshold.stop()
        return bool(self.pool.waitForDone(timeout_ms))
