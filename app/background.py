"""File work off the GUI thread: opening, saving and exporting a 24 MP photo take seconds, and the window must
keep repainting (and show that it is busy) meanwhile.

`BackgroundCall.call(label, fn)` runs ``fn`` on its own one-thread pool and waits in a local event loop, so the
caller keeps a plain synchronous contract (``save()`` still returns whether the file was written, which closing
the window needs) while the window stays live. The caller snapshots what ``fn`` reads (numpy copies) first; the
user may keep working on the document while it runs, so callers compare an edit counter afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QEventLoop, QObject, QRunnable, QThreadPool, Signal

T = TypeVar("T")


class _Signals(QObject):
    ended = Signal()


class _Call(QRunnable, Generic[T]):
    """Runs ``fn`` once; keeps its value or exception (read after the pool is done, not through a signal, so
    nothing is lost when the wait loop is ended early)."""

    def __init__(self, fn: Callable[[], T]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.value: T | None = None
        self.error: BaseException | None = None
        self.signals = _Signals()

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the GUI thread and raised there
            self.error = exc
        finally:
            self.signals.ended.emit()


class BackgroundCall(QObject):
    """One file operation at a time, off the GUI thread.

    Signals:
        busy_changed(str): a label such as "Saving photo.png…" when work starts, "" when it ends.
    """

    busy_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.label = ""

    @property
    def busy(self) -> bool:
        return bool(self.label)

    def call(self, label: str, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the pool and return its value (or raise its exception) here, on the calling thread.

        Events keep flowing while it runs (repaints, painting, a fill finishing); a second call meanwhile is a
        bug in the caller (RuntimeError): the window disables file actions while busy.
        """
        if self.busy:
            raise RuntimeError(f"already busy: {self.label}")
        job: _Call[T] = _Call(fn)
        loop = QEventLoop()
        job.signals.ended.connect(loop.quit)
        self.label = label
        self.busy_changed.emit(label)
        try:
            self.pool.start(job)
            if not self.pool.waitForDone(20):  # small files finish at once: no loop, no flicker
                loop.exec()
            self.pool.waitForDone()  # also when the loop was left early (the application quitting)
        finally:
            self.label = ""
            self.busy_changed.emit("")
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]  # set whenever error is None

    def shutdown(self) -> None:
        self.pool.waitForDone()
