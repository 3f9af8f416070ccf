"""Runs fills: snapshots a request from the document, runs it on the single-thread pool, applies fresh results
as undoable history steps and drops stale ones."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from app.canvas import mask_ops
from app.canvas.commands import FillCommand, FillPatch, LayerCrop
from app.document import FORBID, GUIDE, MASK, Document
from app.messages import gui_text
from app.settings import AppSettings
from app.workers import InpaintWorker
from inpaint_core.api import (
    DEEPFILL,
    ENGINE_LABELS,
    INTERACTIVE_SECONDS,
    Engine,
    InpaintRequest,
    InpaintResult,
)
from inpaint_core.boxes import Box, grow_box, merge_boxes
from inpaint_core.errors import WeightsMissingError
from inpaint_core.restore.provenance import FillRecord


@dataclass
class _Pending:
    worker: InpaintWorker
    image_revision: int
    started_at: float


class InpaintController(QObject):
    """Owns the worker pool (one thread: model use is serialised) and the request bookkeeping.

    Signals:
        running_changed(bool): a fill started or the last one ended.
        progress(str, float): stage name and overall fraction of the current request.
        message(str): a status-bar line (applied, cancelled, dropped as stale, nothing to fill).
        applied(float): a result became a history step; seconds from the click to the applied fill.
        failed(str): a user-facing error line (the document is untouched).
        weights_missing(str): DeepFill was asked for but its weights are missing.
    """

    running_changed = Signal(bool)
    progress = Signal(str, float)
    message = Signal(str)
    applied = Signal(float)
    failed = Signal(str)
    weights_missing = Signal(str)

    def __init__(
        self, doc: Document, engine: Engine, settings: AppSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.doc, self.engine, self.settings = doc, engine, settings
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self.latest_id = 0
        self.last_engine_used = ""
        self.last_fill = ""  # "Last fill: 0.44 s, model at 344x344 px" (the Fill panel shows it)
        # Opening another photo makes every running request stale (saving under a new name does not).
        doc.image_changed.connect(self._on_doc_image_changed)

    @property
    def is_running(self) -> bool:
        return bool(self._pending)

    @property
    def cancelling(self) -> bool:
        """A cancel was asked for and the latest fill has not stopped yet."""
        pending = self._pending.get(self.latest_id)
        return pending is not None and pending.worker.cancel_event.is_set()

    def make_request(self, engine: str | None = None) -> InpaintRequest | None:
        """Snapshot the document into an immutable InpaintRequest (numpy copies); None if the mask is empty."""
        mask = self.doc.mask_array()
        if not mask.any():
            return None
        guide = self.doc.guide_array()
        forbid = self.doc.forbid_array()
        self._next_id += 1
        return InpaintRequest(
            image=self.doc.image.copy(),
            mask=mask,
            guide=guide if guide.any() else None,
            forbid=forbid if forbid.any() else None,
            engine=engine or self.settings.engine,
            device=self.settings.device,
            max_side=self.settings.max_side,
            max_seconds=INTERACTIVE_SECONDS if self.settings.fast_fills else None,
            edge_blend=self.settings.edge_blend,
            weights=self.settings.weights,
            tone=self.settings.tone,
            patch_radius=self.settings.patch_radius,
            request_id=self._next_id,
        )

    def start(self, engine: str | None = None) -> int:
        """Start a fill of the current mask; returns its request id (0 when there is nothing to fill).

        A fill already running is cancelled: its result would be stale anyway.
        """
        request = self.make_request(engine)
        if request is None:
            self.message.emit("Nothing to fill: paint over what to remove first.")
            return 0
        for pending in self._pending.values():
            pending.worker.cancel()
        worker = InpaintWorker(self.engine, request)
        rid = worker.request_id
        self.latest_id = rid
        worker.signals.progress.connect(self._on_worker_progress)
        worker.signals.finished.connect(self._on_worker_finished)
        worker.signals.failed.connect(self._on_worker_failed)
        worker.signals.cancelled.connect(self._on_worker_cancelled)
        was_running = self.is_running
        self._pending[rid] = _Pending(worker, self.doc.image_revision, time.perf_counter())
        self.last_engine_used = request.engine
        self.pool.start(worker)
        if not was_running:
            self.running_changed.emit(True)
        self.progress.emit(f"{ENGINE_LABELS.get(request.engine, request.engine)}: queued", 0.0)
        return rid

    def cancel(self) -> None:
        """Ask every running fill to stop at its next stage boundary."""
        for pending in self._pending.values():
            pending.worker.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the pool (window close). Returns True when no thread is left running."""
        self.cancel()
        done = bool(self.pool.waitForDone(timeout_ms))
        return done

    # -- worker signals -------------------------------------------------------------------------------------
    def _finish(self, rid: int) -> _Pending | None:
        pending = self._pending.pop(rid, None)
        if not self._pending:
            self.running_changed.emit(False)
        return pending

    def _on_worker_progress(self, rid: int, stage: str, fraction: float) -> None:
        if rid == self.latest_id:
            self.progress.emit(stage, fraction)

    def _on_worker_finished(self, result: InpaintResult, record: FillRecord) -> None:
        rid = int(result.request_id)
        pending = self._finish(rid)
        if pending is None or rid != self.latest_id:
            self.message.emit("A newer request superseded that fill; its result was dropped.")
            return
        if pending.image_revision != self.doc.image_revision:
            self.message.emit("The photo changed while the fill ran; its result was dropped.")
            return
        request = pending.worker.request
        self._apply(request, result, record)
        elapsed = time.perf_counter() - pending.started_at
        facts = ", ".join(f for f in (result.model_size_text(), result.note) if f)
        self.message.emit(
            f"Filled with {ENGINE_LABELS.get(request.engine, request.engine)} in {elapsed:.2f} s"
            + (f" ({facts})" if facts else "")
        )
        self.last_fill = f"Last fill: {elapsed:.2f} s" + (
            f", {result.model_size_text()}" if result.model_sizes else ""
        )
        self.applied.emit(elapsed)

    def _apply(self, request: InpaintRequest, result: InpaintResult, record: FillRecord) -> None:
        """Push the fill as one history step holding only its windows (every filled pixel lies in one), the
        layer crops it consumed and its provenance record (made by the worker; kept in the command, so it
        follows undo/redo)."""
        patches = [
            FillPatch(
                box,
                self.doc.image[box.slices].copy(),
                np.ascontiguousarray(result.image[box.slices]),  # the photo's own layout and depth
            )
            for box in result.windows
        ]
        layers = self.consumed_layers(request.mask > 0, result.windows)
        label = ENGINE_LABELS.get(request.engine, request.engine)
        self.doc.undo_stack.push(
            FillCommand(self.doc, patches, layers, result.attention, f"Fill with {label}", record)
        )

    def consumed_layers(self, hole: np.ndarray, windows: list[Box]) -> list[LayerCrop]:
        """What a fill used up, as IOPaint clears its mask: the mask strokes that made its holes (their faint
        edges too), and the guide and do-not-borrow marks inside its windows (where the model read them).
        Strokes painted elsewhere while it ran stay for the next fill."""
        found = dict(self._stroke_box(hole, window) for window in windows)
        crops = []
        for box in merge_boxes(found):
            before = self.doc.layer_alpha(MASK, box)
            consumed = found.get(box)  # computed already unless boxes merged
            if consumed is None:
                consumed = mask_ops.connected_to(before, hole[box.slices])
            after = before.copy()
            after[consumed] = 0
            crops.append(LayerCrop(MASK, box, before, after))
        for name in (GUIDE, FORBID):
            for box in windows:
                before = self.doc.layer_alpha(name, box)
                if before.any():
                    crops.append(LayerCrop(name, box, before, np.zeros_like(before)))
        return crops

    def _stroke_box(self, hole: np.ndarray, window: Box) -> tuple[Box, np.ndarray]:
        """``window`` grown until it holds the whole of each mask stroke touching its holes (a soft brush's
        faint edge can reach past the window's margin), and those strokes' pixels in it."""
        width, height = self.doc.width, self.doc.height
        box = window
        while True:
            consumed = mask_ops.connected_to(self.doc.layer_alpha(MASK, box), hole[box.slices])
            if box == Box(0, 0, width, height) or not mask_ops.touches_inner_edge(
                consumed, box, width, height
            ):
                return box, consumed
            box = grow_box(box, max(box.width, box.height) // 2, 0, width, height)

    def _on_worker_failed(self, rid: int, error: object) -> None:
        pending = self._finish(rid)
        if pending is None or rid != self.latest_id:
            return
        if isinstance(error, WeightsMissingError) and pending.worker.request.engine == DEEPFILL:
            self.weights_missing.emit(str(error))
            return
        self.failed.emit(gui_text(error) if isinstance(error, BaseException) else str(error))

    def _on_worker_cancelled(self, rid: int) -> None:
        self._finish(rid)
        if rid == self.latest_id:
            self.message.emit("Fill cancelled.")

    def _on_doc_image_changed(self) -> None:
        self.cancel()
        self.latest_id = self._next_id + 1  # anything still running is stale now
