"""Running the engine off the GUI thread: a QRunnable plus a QObject carrying its signals.

The request is an immutable snapshot taken on the GUI thread; the worker never touches widgets or pixmaps.
Exceptions become the ``failed`` signal (they never vanish in the pool); cancelling sets a threading.Event the
engine checks between stages.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal

from inpaint_core.api import Engine, InpaintRequest, InpaintResult
from inpaint_core.errors import CancelledError, InpaintError
from inpaint_core.restore.provenance import FillRecord, ModelIdentity, record_fill

log = logging.getLogger(__name__)


def fill_record(request: InpaintRequest, result: InpaintResult) -> FillRecord:
    """The provenance record of a fill (its weights identified by SHA-256, once per file). Made on the worker:
    finding the filled pixels of a large mask, and hashing weights that a result does not identify, take time."""
    try:
        return record_fill(request, result)
    except InpaintError:  # the weights file vanished after the fill: the fill still happened, say so plainly
        name = Path(request.weights).name if request.weights else "the shipped weights"
        unknown = ModelIdentity("DeepFill v2 (weights could not be identified)", name, "unknown")
        return record_fill(request, result, model=unknown)


class WorkerSignals(QObject):
    """started(request_id), progress(request_id, stage, fraction), finished(result, record), failed(request_id,
    error), cancelled(request_id). ``finished`` carries the result with its provenance record (`FillRecord`),
    both made on the pool thread; ``failed`` carries the exception object so the window can react to its type."""

    started = Signal(int)
    progress = Signal(int, str, float)
    finished = Signal(object, object)
    failed = Signal(int, object)
    cancelled = Signal(int)


class InpaintWorker(QRunnable):
    """Runs ``engine.run(request)`` once on a pool thread."""

    def __init__(self, engine: Engine, request: InpaintRequest) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the controller keeps a reference until a final signal arrives
        self.engine, self.request = engine, request
        self.signals = WorkerSignals()
        self.cancel_event = threading.Event()

    @property
    def request_id(self) -> int:
        return int(self.request.request_id)

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        rid = self.request_id
        if self.cancel_event.is_set():
            self.signals.cancelled.emit(rid)
            return
        self.signals.started.emit(rid)
        try:
            result = self.engine.run(
                self.request,
                progress=lambda stage, fraction: self.signals.progress.emit(rid, stage, float(fraction)),
                cancel=self.cancel_event,
            )
            record = fill_record(self.request, result)
        except CancelledError:
            self.signals.cancelled.emit(rid)
        except InpaintError as exc:
            self.signals.failed.emit(rid, exc)
        except MemoryError:
            self.signals.failed.emit(
                rid, MemoryError("out of memory; lower the max resolution or use the CPU")
            )
        except Exception as exc:  # a bug: report it rather than lose it in the pool
            log.exception("inpaint worker crashed")
            self.signals.failed.emit(rid, exc)
        else:
            if self.cancel_event.is_set():
                self.signals.cancelled.emit(rid)
                return
            self.signals.finished.emit(result, record)
