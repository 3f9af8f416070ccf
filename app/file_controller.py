"""Opening, saving and exporting: the photo, the mask and the attention overlay.

- Reading and writing run off the GUI thread (`background.BackgroundCall`) with a busy indicator; the document
  stays usable meanwhile, so a save writes a snapshot and marks the document saved only if nothing changed
  while it ran, and an open asks again about changes made while the photo was loading.
- Saves keep what the photo had (16 bits, alpha, grey, EXIF, ICC); where the chosen format cannot, the dialog
  says what it drops (`image_io.format_losses`) before anything is written.
- Every failure shows one "Cannot save" / "Cannot open the photo" box and leaves the document as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

import app
from app.background import BackgroundCall
from app.canvas.commands import LayerReplaceCommand
from app.document import MASK, Document
from app.settings import AppSettings
from inpaint_core import image_io
from inpaint_core.api import RESOURCES, FileIdentity, StagedOutputs, file_identity
from inpaint_core.errors import InpaintError

# File-dialog filters, from the core's one format table.
OPEN_FILTER = f"Images ({' '.join('*' + e for e in image_io.IMAGE_EXTENSIONS)});;All files (*)"
EXPORT_FILTERS = {
    f"{f.label} ({' '.join('*' + e for e in f.extensions)})": f.extensions[0]
    for f in image_io.FORMATS
    if f.writable
}
SAVE_ERROR_TITLE = "Cannot save"
OPEN_ERROR_TITLE = "Cannot open the photo"
# Errors a file operation turns into a message box (anything else is a bug and is raised).
_FILE_ERRORS = (InpaintError, OSError, MemoryError, ValueError)
# Never suggested as a place to save: the program's own folders (the demo photo lives in RESOURCES).
INSTALL_FOLDERS = (RESOURCES.resolve(), Path(app.__file__).resolve().parent)


class SaveJob(Protocol):
    """What the provenance hook hands a save: `write` on the file worker stages the sidecar with the photo and
    returns the note to embed (text, xmp); `report` runs on the GUI thread afterwards, committed or not."""

    def write(self) -> tuple[dict[str, str], bytes]: ...

    def report(self) -> None: ...


def is_install_folder(path: Path) -> bool:
    """True for a path inside the program's own folders."""
    resolved = path.resolve()
    return any(resolved == folder or folder in resolved.parents for folder in INSTALL_FOLDERS)


def pictures_folder() -> Path:
    """The user's Pictures folder (home where the platform has none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location and Path(location).is_dir() else Path.home()


class FileController(QObject):
    """File operations of the window.

    Signals:
        opened(path), saved(path): the window updates its title and recent-files menu.
        message(str): a status-bar line ("Saved photo.png").
        busy_changed(str): what is being read or written ("" when done): the window shows a busy indicator
            and disables file actions meanwhile.
    """

    opened = Signal(str)
    saved = Signal(str)
    message = Signal(str)
    busy_changed = Signal(str)

    def __init__(self, doc: Document, settings: AppSettings, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.doc, self.settings, self.parent_widget = doc, settings, parent_widget
        self.background = BackgroundCall(self)
        self.background.busy_changed.connect(self.busy_changed)
        # Counts every change to the document: a save marks it saved only if none happened while it wrote.
        self.changes = 0
        doc.undo_stack.indexChanged.connect(self._count_change)
        doc.image_changed.connect(self._count_change)
        # Provenance (app/provenance_controller.py): called on the GUI thread before a photo is written (it may
        # ask about an existing record); returns the job that, on the file worker, stages the sidecar in the
        # photo's StagedOutputs (renamed into place after the photo, never without it) and makes the note to
        # embed; None when nothing was filled.
        self.last_written: FileIdentity | None = None  # the identity of the photo the last write_file wrote
        self.before_write: Callable[[Path, np.ndarray, StagedOutputs], SaveJob | None] | None = None

    def _count_change(self, *_args: object) -> None:
        self.changes += 1

    @property
    def busy(self) -> bool:
        return self.background.busy

    def error(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent_widget, title, text)

    def _refuse_while_busy(self) -> bool:
        if self.busy:
            self.message.emit(f"Busy: {self.background.label} Try again when it is done.")
        return self.busy

    # -- folders --------------------------------------------------------------------------------------------
    def start_folder(self) -> Path:
        """Where file dialogs open: the last folder used, else Pictures; never the program's own folders."""
        last = self.settings.last_folder
        if last and Path(last).is_dir() and not is_install_folder(Path(last)):
            return Path(last)
        return pictures_folder()

    def _remember_folder(self, path: Path) -> None:
        if not is_install_folder(path.parent):
            self.settings.last_folder = str(path.parent.resolve())

    def _suggested(self, tag: str, suffix: str | None = None) -> str:
        """A name for a new file: beside the photo, unless the photo is the program's own (the demo)."""
        path = self.doc.path
        if path is None:
            return str(self.start_folder() / f"untitled-{tag}{suffix or '.png'}")
        folder = path.parent if not is_install_folder(path) else self.start_folder()
        return str(folder / f"{path.stem}-{tag}{suffix or path.suffix}")

    # -- open -----------------------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to replace or close the document."""
        if not self.doc.is_modified:
            return True
        answer = QMessageBox.question(
            self.parent_widget,
            "Unsaved changes",
            "The photo has changes that are not saved. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return bool(answer == QMessageBox.StandardButton.Discard)

    def open_dialog(self) -> bool:
        if self._refuse_while_busy() or not self.maybe_save():
            return False
        path, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Open photo", str(self.start_folder()), OPEN_FILTER
        )
        if not path:
            return False
        self._remember_folder(Path(path))
        return self.open_path(path, ask=False)

    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Load ``path`` into the document; on error show it and keep the current document."""
        if self._refuse_while_busy() or (ask and not self.maybe_save()):
            return False
        path = Path(path)
        before = self.changes
        try:
            loaded, identity = self.background.call(
                f"Opening {path.name}…", lambda: (image_io.load_image(path), file_identity(path))
            )
        except _FILE_ERRORS as exc:
            self.error(OPEN_ERROR_TITLE, _describe(exc, path))
            return False
        if self.changes != before and not self.maybe_save():  # edited while it loaded: ask again
            return False
        self.doc.set_photo(loaded.pixels, path, loaded.exif, loaded.icc, loaded.format, loaded.converted_from)
        self.doc.file_identity = identity
        self.settings.add_recent(str(path.resolve()))
        self.opened.emit(str(path))
        return True

    # -- save -----------------------------------------------------------------------------------------------
    def write_file(
        self, path: Path, pixels: np.ndarray, *, with_metadata: bool = False, quality: int | None = None
    ) -> bool:
        """Write ``pixels`` (a snapshot the caller will not modify) off the GUI thread; a "Cannot save" box on
        failure. Existing files are replaced: every caller has asked first. ``with_metadata``: the photo itself,
        with its EXIF/ICC and, when it holds fills, the provenance note and record (``before_write``)."""
        exif, icc = (self.doc.exif, self.doc.icc) if with_metadata else (None, None)
        quality = self.settings.jpeg_quality if quality is None else quality
        # The photo and its sidecar are written to temporaries and renamed into place together, photo first:
        # a failed or killed save leaves neither, so no record describes fills the photo on disk lacks.
        stage = StagedOutputs()
        job: SaveJob | None = None

        def write() -> (
            FileIdentity | None
        ):  # on the file worker: the record's maps, then the photo with its note
            text, xmp = job.write() if job is not None else (None, None)
            image_io.save_image(
                path,
                pixels,
                exif=exif,
                icc=icc,
                quality=quality,
                overwrite=True,
                text=text,
                xmp=xmp,
                stage=stage,
            )
            staged = stage.temporary_for(path)  # the file as it will be once renamed (same bytes, same time)
            return file_identity(staged) if with_metadata and staged is not None else None

        try:
            hook = self.before_write if with_metadata else None
            job = hook(path, pixels, stage) if hook is not None else None
            self.last_written = self.background.call(f"Saving {path.name}…", write)
            stage.commit()  # renames only: quick, and on the GUI thread with the callbacks it runs
        except _FILE_ERRORS as exc:
            stage.discard()
            self.error(SAVE_ERROR_TITLE, _describe(exc, path))
            return False
        finally:
            if job is not None:
                job.report()  # on the GUI thread: the record written with the photo, or why it is missing
        return True

    def _save_document(self, path: Path) -> bool:
        """Write the photo to ``path``; mark the document saved when nothing changed while it was written."""
        before = self.changes
        if not self.write_file(path, self.doc.image.copy(), with_metadata=True):
            return False
        self.doc.file_identity = self.last_written  # the document now continues from this file
        if self.changes == before:
            self.doc.undo_stack.setClean()
            self.message.emit(f"Saved {path.name}")
        else:
            self.message.emit(f"Saved {path.name}; the edits made while it was saving are not in it yet")
        return True

    def _losses(self, path: Path) -> list[str]:
        # What PIL reads as a TIFF's EXIF is the file's own IFD (size, compression...), which every TIFF
        # writer rewrites: only EXIF from another format is metadata that could be lost.
        exif = bool(self.doc.exif) and self.doc.format != "TIFF"
        return image_io.format_losses(path, self.doc.image, exif=exif, converted_from=self.doc.converted_from)

    def save(self) -> bool:
        """Save over the document's file, after asking (the original is never overwritten silently)."""
        if self._refuse_while_busy():
            return False
        path = self.doc.path
        if path is None or path.suffix.lower() not in image_io.SAVE_FORMATS or is_install_folder(path):
            return self.save_as()  # the demo photo is the program's, not the user's: never saved over
        losses = self._losses(path)
        warning = f"\n\nThis format cannot keep {_join(losses)}." if losses else ""
        answer = QMessageBox.question(
            self.parent_widget,
            "Overwrite the original?",
            f"Replace {path.name} with the edited photo? This cannot be undone outside the editor." + warning,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return self.save_as()
        if not self._save_document(path):
            return False
        self.saved.emit(str(path))
        return True

    def _confirm_losses(self, path: Path, losses: list[str]) -> bool:
        """Where the chosen format cannot hold the photo, say what it drops; True to go ahead."""
        if not losses:
            return True
        answer = QMessageBox.question(
            self.parent_widget,
            "Some data will be lost",
            f"{path.suffix[1:].upper()} cannot keep {_join(losses)} of this photo. Save anyway? "
            "(PNG and TIFF keep everything.)",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return bool(answer == QMessageBox.StandardButton.Save)

    def _ask_path(
        self, title: str, suggested: str, confirm: Callable[[Path], list[str]] | None = None
    ) -> Path | None:
        path, chosen = QFileDialog.getSaveFileName(
            self.parent_widget, title, suggested, ";;".join(EXPORT_FILTERS)
        )
        if not path:
            return None
        p = Path(path)
        if p.suffix.lower() not in image_io.SAVE_FORMATS:
            p = p.with_suffix(EXPORT_FILTERS.get(chosen, ".png"))
        self._remember_folder(p)
        if confirm is not None and not self._confirm_losses(p, confirm(p)):
            return None
        if image_io.is_lossy(p):
            quality, ok = QInputDialog.getInt(
                self.parent_widget,
                "Quality",
                f"{p.suffix[1:].upper()} quality (1-100):",
                self.settings.jpeg_quality,
                1,
                100,
            )
            if not ok:
                return None
            self.settings.jpeg_quality = quality
        return p

    def save_as(self) -> bool:
        """Save to a new file (the file dialog confirms replacing an existing one) and keep editing that file."""
        if self._refuse_while_busy():
            return False
        path = self._ask_path("Save as", self._suggested("edited"), self._losses)
        if path is None or not self._save_document(path):
            return False
        self.doc.path = path
        self.doc.path_changed.emit()
        self.settings.add_recent(str(path.resolve()))
        self.saved.emit(str(path))
        return True

    def export(self) -> bool:
        """Write a copy (PNG/JPEG/WebP/TIFF) without changing which file the document is tied to."""
        if self._refuse_while_busy():
            return False
        path = self._ask_path("Export", self._suggested("export"), self._losses)
        if path is None or not self.write_file(path, self.doc.image.copy(), with_metadata=True):
            return False
        self.message.emit(f"Exported {path}")
        return True

    # -- mask and overlay -----------------------------------------------------------------------------------
    def import_mask(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Import mask", str(self.start_folder()), OPEN_FILTER
        )
        if path:
            self._remember_folder(Path(path))
        return self.import_mask_from(path) if path else False

    def import_mask_from(self, path: str | Path) -> bool:
        """Replace the mask with a mask file (white/opaque = hole) as one undoable step."""
        try:
            hole = image_io.load_mask(path, self.doc.image.shape)
        except _FILE_ERRORS as exc:
            self.error("Cannot import the mask", _describe(exc, Path(path)))
            return False
        before = self.doc.layer_alpha(MASK)
        after = np.where(hole, 255, 0).astype(np.uint8)
        self.doc.undo_stack.push(LayerReplaceCommand(self.doc, MASK, before, after, "Import mask"))
        return True

    def _ask_png(self, title: str, tag: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget, title, self._suggested(tag, ".png"), "PNG (*.png)"
        )
        if not path:
            return None
        self._remember_folder(Path(path))
        return Path(path).with_suffix(".png")

    def export_mask(self) -> bool:
        if self._refuse_while_busy():
            return False
        path = self._ask_png("Export mask", "mask")
        return self.export_mask_to(path) if path else False

    def export_mask_to(self, path: Path) -> bool:
        """Write the mask as a white-on-black PNG."""
        mask = (self.doc.mask_array() * 255).astype(np.uint8)
        if not self.write_file(path, mask):
            return False
        self.message.emit(f"Mask exported to {path}")
        return True

    def export_overlay(self) -> bool:
        if self._refuse_while_busy():
            return False
        if self.doc.attention is None:
            self.error(
                "No attention overlay",
                "Run a DeepFill, PatchMatch or Auto fill first: Telea and Navier-Stokes keep no sources.",
            )
            return False
        path = self._ask_png("Export attention overlay", "attention")
        return self.export_overlay_to(path) if path else False

    def export_overlay_to(self, path: Path) -> bool:
        """Write the attention-flow colours (RGBA, transparent outside the holes) as a PNG."""
        field = self.doc.attention
        if field is None:
            self.error(SAVE_ERROR_TITLE, "There is no attention overlay: fill with DeepFill first.")
            return False
        rgba = np.asarray(field.flow_rgba(self.doc.height, self.doc.width), dtype=np.uint8)
        if not self.write_file(path, rgba):
            return False
        self.message.emit(f"Attention overlay exported to {path}")
        return True

    def shutdown(self) -> None:
        """Wait for a read or write still running (window close)."""
        self.background.shutdown()


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _describe(exc: BaseException, path: Path) -> str:
    """One line for a message box. InpaintError messages already name the file; the others may not."""
    if isinstance(exc, InpaintError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{path}: not enough memory for this photo"
    if isinstance(exc, OSError):
        return f"{path}: {exc.strerror or exc}"
    return f"{path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
