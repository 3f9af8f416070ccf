"""The parts of the main window its helpers (restore wiring, recovery offer) use, as a Protocol: they take the
window typed by it, so none of them imports main_window, which imports them."""

from __future__ import annotations

from typing import Protocol

from app.canvas.view import CanvasView
from app.document import Document
from app.file_controller import FileController
from app.settings import AppSettings


class WindowParts(Protocol):
    """The document, settings, file controller and canvas of one window."""

    @property
    def doc(self) -> Document: ...
    @property
    def settings(self) -> AppSettings: ...
    @property
    def files(self) -> FileController: ...
    @property
    def view(self) -> CanvasView: ...
