"""Adding weights files to the model picker: a `.safetensors` file is checked (its header only) and listed; a
published checkpoint (`snap-0.index`, `.pth`) is first converted into the models folder, off the GUI thread,
through the engine (conversion needs torch, which only the engine object brings)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.messages import gui_text
from app.settings import AppSettings
from inpaint_core.api import DEEPFILL, WEIGHTS_SUFFIX, Engine, ModelTools, is_checkpoint, read_weights_info
from inpaint_core.errors import CancelledError, InpaintError

log = logging.getLogger(__name__)


def converted_path(source: Path, folder: Path) -> Path:
    """A new file in ``folder`` for the conversion of ``source``, never an existing one.

    The official release's files are all called `snap-0.*`, so their folder names the result."""
    stem = source.parent.name if source.stem.startswith("snap-") and source.parent.name else source.stem
    path = folder / f"{stem}{WEIGHTS_SUFFIX}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{WEIGHTS_SUFFIX}"
        n += 1
    return path


class ConvertSignals(QObject):
    progress = Signal(str, float)
    finished = Signal(str)
    failed = Signal(object)
    cancelled = Signal()


class ConvertWorker(QRunnable):
    """Runs ``tools.convert_weights(source, output)`` once on a pool thread."""

    def __init__(self, tools: ModelTools, source: Path, output: Path) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.tools, self.source, self.output = tools, source, output
        self.signals = ConvertSignals()
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            self.tools.convert_weights(
                self.source,
                self.output,
                progress=lambda stage, fraction: self.signals.progress.emit(stage, float(fraction)),
                cancel=self.cancel_event,
            )
        except CancelledError:
            self.signals.cancelled.emit()
        except InpaintError as exc:
            self.signals.failed.emit(exc)
        except Exception as exc:  # a bug: report it rather than lose it in the pool
            log.exception("weights conversion crashed")
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(str(self.output))


class WeightsLoader(QObject):
    """``loaded(path)``: a usable weights file was added to the user's list (and chosen); ``failed(text)``: a
    message-box line in the editor's language; ``progress(stage, fraction)`` and ``busy_changed(bool)`` while a
    checkpoint converts."""

    loaded = Signal(str)
    failed = Signal(str)
    progress = Signal(str, float)
    busy_changed = Signal(bool)

    def __init__(self, engine: Engine, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine, self.settings = engine, settings
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._worker: ConvertWorker | None = None

    @property
    def can_convert(self) -> bool:
        return isinstance(self.engine, ModelTools)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def load(self, path: str | Path) -> bool:
        """Check and list a weights file, or start converting a checkpoint; False when refused at once."""
        source = Path(path)
        if is_checkpoint(source):
            return self._convert(source)
        try:
            read_weights_info(source)
        except InpaintError as exc:
            self.failed.emit(gui_text(exc))
            return False
        self._add(str(source.resolve()))
        return True

    def _add(self, path: str) -> None:
        self.settings.add_weights_file(path)
        self.settings.engine = DEEPFILL
        self.settings.weights = path
        self.loaded.emit(path)

    def _convert(self, source: Path) -> bool:
        if self.busy:
            self.failed.emit("A checkpoint is being converted already; wait for it or cancel it.")
            return False
        if not isinstance(self.engine, ModelTools):
            self.failed.emit("This engine cannot convert checkpoints; choose a .safetensors weights file.")
            return False
        folder = self.settings.models_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.failed.emit(f"Cannot create the models folder {folder}: {exc.strerror or exc}")
            return False
        worker = ConvertWorker(self.engine, source, converted_path(source, folder))
        worker.signals.progress.connect(self.progress)
        worker.signals.finished.connect(self._on_worker_finished)
        worker.signals.failed.connect(self._on_worker_failed)
        worker.signals.cancelled.connect(self._on_worker_cancelled)
        self._worker = worker
        self.busy_changed.emit(True)
        self.pool.start(worker)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel_event.set()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        self.cancel()
        return bool(self.pool.waitForDone(timeout_ms))

    def _done(self) -> None:
        self._worker = None
        self.busy_changed.emit(False)

    def _on_worker_finished(self, path: str) -> None:
        self._done()
        self._add(path)

    def _on_worker_failed(self, error: object) -> None:
        self._done()
        self.failed.emit(gui_text(error) if isinstance(error, BaseException) else str(error))

    def _on_worker_cancelled(self) -> None:
        self._done()
