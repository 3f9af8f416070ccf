"""Running scratch detection off the GUI thread: a QRunnable plus a QObject carrying its signals.

The job is a closure over a numpy copy taken on the GUI thread; the worker never touches widgets. Exceptions
become the ``failed`` signal, worded with the editor's advice (app/messages.py). A job cannot be interrupted (a
few OpenCV calls, or one pass of the learned detector); a result that arrives for an outdated token is dropped
by the controller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Signal

from app.messages import gui_text
from inpaint_core.errors import InpaintError

log = logging.getLogger(__name__)


class ScratchSignals(QObject):
    """finished(token, result), failed(token, message)."""

    finished = Signal(int, object)
    failed = Signal(int, str)


class ScratchWorker(QRunnable):
    """Runs ``job()`` once on a pool thread and reports its result under ``token``."""

    def __init__(self, token: int, job: Callable[[], object]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the controller keeps a reference until a final signal arrives
        self.token, self.job = token, job
        self.signals = ScratchSignals()

    def run(self) -> None:
        try:
            result = self.job()
        except InpaintError as exc:
            self.signals.failed.emit(self.token, gui_text(exc))
        except MemoryError:
            self.signals.failed.emit(self.token, "not enough memory to look for scratches on this photo")
        except Exception as exc:  # a bug: report it rather than lose it in the pool
            log.exception("scratch detection crashed")
            self.signals.failed.emit(self.token, f"{type(exc).__name__}: {exc}")
        else:
            self.signals.finished.emit(self.token, result)
