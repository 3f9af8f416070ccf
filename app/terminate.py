"""SIGTERM and SIGINT while the editor runs (a logout, `kill`, Ctrl+C in the terminal it was started from).

There is no one to ask "Save changes?", so unsaved work goes to the recovery copy, which the next start offers
back, and the editor quits with the usual status (128 + the signal's number).

Python runs its signal handlers only between bytecodes, and the Qt event loop holds the main thread in C++, so
a signal would wait for the next mouse move. `signal.set_wakeup_fd` makes the C-level handler write a byte to a
socket that a `QSocketNotifier` watches: the loop wakes at once, and the Python handler runs in the notifier's
slot.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TerminationHandler(QObject):
    """Route SIGTERM/SIGINT to ``on_signal(signum)`` on the GUI thread, from the Qt event loop.

    Main thread only (Python's rule for signal handlers). Installed once, for the life of the process.
    """

    def __init__(self, on_signal: Callable[[int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        # Runs inside whatever Python code the main thread was in: leave the work to the event loop.
        QTimer.singleShot(0, lambda: self._on_signal(signum))

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while self._reader.recv(64):
                pass
