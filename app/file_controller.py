"""Opening, saving and exporting: the photo, the mask and the attention overlay. Errors show in a message box
and leave the current document as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from app.canvas.commands import LayerReplaceCommand
from app.document import MASK, Document
from app.settings import AppSettings
from inpaint_core import image_io
from inpaint_core.errors import InpaintError

# File-dialog filters, from the core's one format table.
OPEN_FILTER = f"Images ({' '.join('*' + e for e in image_io.IMAGE_EXTENSIONS)});;All files (*)"
EXPORT_FILTERS = {
    f"{f.label} ({' '.join('*' + e for e in f.extensions)})": f.extensions[0]
    for f in image_io.FORMATS
    if f.writable
}


class FileController(QObject):
    """File operations of the window. ``opened(path)`` and ``saved(path)`` let the window update its title and
    recent-files menu."""

    opened = Signal(str)
    saved = Signal(str)
    message = Signal(str)

    def __init__(self, doc: Document, settings: AppSettings, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.doc, self.settings, self.parent_widget = doc, settings, parent_widget
        # Provenance (app/provenance_controller.py): called before a photo is written; writes its sidecar and
        # returns the note to embed (text, xmp), or (None, None) when nothing was filled.
        self.before_write: Callable[[Path], tuple[dict[str, str] | None, bytes | None]] | None = None

    def error(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent_widget, title, text)

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
        if not self.maybe_save():
            return False
        start = str(self.doc.path.parent) if self.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Open photo", start, OPEN_FILTER)
        return self.open_path(path, ask=False) if path else False

    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Load ``path`` into the document; on error show it and keep the current document."""
        if ask and not self.maybe_save():
            return False
        try:
            loaded = image_io.load_image(path)
        except InpaintError as exc:
            self.error("Cannot open the photo", str(exc))
            return False
        except MemoryError:
            self.error("Cannot open the photo", f"{path}: not enough memory to open this photo")
            return False
        self.doc.set_photo(loaded.pixels, Path(path), loaded.exif, loaded.icc, loaded.format)
        self.settings.add_recent(str(Path(path).resolve()))
        self.opened.emit(str(path))
        return True

    # -- save -----------------------------------------------------------------------------------------------
    def _write(self, path: Path, pixels: np.ndarray, overwrite: bool, *, provenance: bool = True) -> bool:
        """Write the photo; ``provenance``: with its note and sidecar (False for copies that are not the
        user's, e.g. autosave)."""
        quality = self.settings.jpeg_quality
        text, xmp = self.before_write(path) if provenance and self.before_write else (None, None)
        try:
            image_io.save_image(
                path,
                pixels,
                exif=self.doc.exif,
                icc=self.doc.icc,
                quality=quality,
                overwrite=overwrite,
                text=text,
                xmp=xmp,
            )
        except InpaintError as exc:
            self.error("Cannot save", str(exc))
            return False
        return True

    def save(self) -> bool:
        """Save over the document's file, after asking (the original is never overwritten silently)."""
        if self.doc.path is None:
            return self.save_as()
        if self.doc.path.suffix.lower() not in image_io.SAVE_FORMATS:
            return self.save_as()
        answer = QMessageBox.question(
            self.parent_widget,
            "Overwrite the original?",
            f"Replace {self.doc.path.name} with the edited photo? This cannot be undone outside the editor.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return self.save_as()
        if not self._write(self.doc.path, self.doc.image, overwrite=True):
            return False
        self.doc.undo_stack.setClean()
        self.saved.emit(str(self.doc.path))
        return True

    def _ask_path(self, title: str, suggested: str) -> Path | None:
        path, chosen = QFileDialog.getSaveFileName(
            self.parent_widget, title, suggested, ";;".join(EXPORT_FILTERS)
        )
        if not path:
            return None
        p = Path(path)
        if p.suffix.lower() not in image_io.SAVE_FORMATS:
            p = p.with_suffix(EXPORT_FILTERS.get(chosen, ".png"))
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

    def _suggested(self, tag: str, suffix: str | None = None) -> str:
        if self.doc.path is None:
            return f"untitled-{tag}{suffix or '.png'}"
        return str(self.doc.path.with_name(f"{self.doc.path.stem}-{tag}{suffix or self.doc.path.suffix}"))

    def save_as(self) -> bool:
        """Save to a new file (the file dialog confirms replacing an existing one) and keep editing that file."""
        path = self._ask_path("Save as", self._suggested("edited"))
        if path is None or not self._write(path, self.doc.image, overwrite=True):
            return False
        self.doc.path = path
        self.doc.undo_stack.setClean()
        self.doc.path_changed.emit()
        self.settings.add_recent(str(path.resolve()))
        self.saved.emit(str(path))
        return True

    def export(self) -> bool:
        """Write a copy (PNG/JPEG/WebP/TIFF) without changing which file the document is tied to."""
        path = self._ask_path("Export", self._suggested("export"))
        if path is None or not self._write(path, self.doc.image, overwrite=True):
            return False
        self.message.emit(f"Exported {path}")
        return True

    # -- mask and overlay -----------------------------------------------------------------------------------
    def import_mask(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Import mask", "", OPEN_FILTER)
        return self.import_mask_from(path) if path else False

    def import_mask_from(self, path: str | Path) -> bool:
        """Replace the mask with a mask file (white/opaque = hole) as one undoable step."""
        try:
            hole = image_io.load_mask(path, self.doc.image.shape)
        except InpaintError as exc:
            self.error("Cannot import the mask", str(exc))
            return False
        before = self.doc.layer_alpha(MASK)
        after = np.where(hole, 255, 0).astype(np.uint8)
        self.doc.undo_stack.push(LayerReplaceCommand(self.doc, MASK, before, after, "Import mask"))
        return True

    def export_mask(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget, "Export mask", self._suggested("mask", ".png"), "PNG (*.png)"
        )
        return self.export_mask_to(Path(path).with_suffix(".png")) if path else False

    def export_mask_to(self, path: Path) -> bool:
        """Write the mask as a white-on-black PNG."""
        mask = (self.doc.mask_array() * 255).astype(np.uint8)
        try:
            image_io.save_image(path, mask, overwrite=True)
        except InpaintError as exc:
            self.error("Cannot export the mask", str(exc))
            return False
        self.message.emit(f"Mask exported to {path}")
        return True

    def export_overlay(self) -> bool:
        if self.doc.attention is None:
            self.error(
                "No attention overlay", "Run a DeepFill fill first: classical engines have no attention."
            )
            return False
        path, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            "Export attention overlay",
            self._suggested("attention", ".png"),
            "PNG (*.png)",
        )
        return self.export_overlay_to(Path(path).with_suffix(".png")) if path else False

    def export_overlay_to(self, path: Path) -> bool:
        """Write the attention-flow colours (RGBA, transparent outside the holes) as a PNG."""
        field = self.doc.attention
        if field is None:
            self.error("Cannot export", "There is no attention overlay: fill with DeepFill first.")
            return False
        rgba = np.asarray(field.flow_rgba(self.doc.height, self.doc.width), dtype=np.uint8)
        try:
            image_io.save_image(path, rgba, overwrite=True)
        except InpaintError as exc:
            self.error("Cannot export the overlay", str(exc))
            return False
        self.message.emit(f"Attention overlay exported to {path}")
        return True
