"""The editor's honest record of what was filled: the fills in the history, the sidecar and the embedded note,
and the source-reuse heat map of all DeepFill fills (inpaint_core/restore/provenance.py and reuse.py).

Each fill's record (`FillRecord`) lives in its `FillCommand`, so the record list is simply the records of the
fill commands below the undo stack's index: undoing a fill removes its record and redoing restores it, with no
second list to keep in step. Saving asks `prepare_save` for the note to embed; the sidecar is staged with the
photo (files.StagedOutputs) and renamed into place right after it, so a failed or killed save leaves no record
of fills that the photo on disk does not have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.canvas.commands import FillCommand
from app.document import Document
from app.settings import AppSettings
from inpaint_core.api import StagedOutputs
from inpaint_core.errors import InpaintError
from inpaint_core.image_io import save_image
from inpaint_core.restore.provenance import (
    FillRecord,
    embedded_note,
    not_original,
    note_only_fills,
    read_note,
    read_sidecar,
    sidecar_path,
    sidecar_reference,
    source_reuse,
    write_sidecar,
)
from inpaint_core.restore.reuse import reuse_legend, reuse_rgba

REUSE_LEGEND_SIZE = (640, 128)  # the exported legend: large enough to read beside a figure


class SaveNote:
    """The provenance part of one save. `write` runs on the file worker (the full-size maps of a 24 MP photo take
    seconds to encode): it stages the sidecar in the photo's `stage` (renamed into place after the photo, never
    without it; without a stage it is written at once) and returns the note to embed. `report` runs back on the
    GUI thread once the save is over, committed or not."""

    def __init__(
        self,
        owner: ProvenanceController,
        image: Path,
        fills: list[FillRecord],
        pixels: np.ndarray,
        original: np.ndarray,
        write_record: bool,
        stage: StagedOutputs | None = None,
    ) -> None:
        self.owner, self.image, self.fills = owner, image, fills
        self.pixels, self.original, self.write_record = pixels, original, write_record
        self.stage = stage
        self.written: Path | None = None
        self.error = ""

    def write(self) -> tuple[dict[str, str], bytes]:
        """Write the sidecar (when asked to) and return the note (text, xmp); a sidecar that cannot be written
        is reported, and the note then says that no record was saved."""
        if self.write_record:
            try:
                self.written = write_sidecar(
                    self.image,
                    self.fills,
                    shape=self.pixels.shape,
                    original=self.original,
                    result=self.pixels,
                    overwrite=True,
                    stage=self.stage,
                )
            except InpaintError as exc:
                self.error = str(exc)
        sidecar = sidecar_reference(self.image) if self.written is not None else None
        note = embedded_note(self.fills, sidecar, self.pixels.shape)
        return note.text, note.xmp

    def report(self) -> None:
        """Tell what became of the record. A save whose photo failed told that already ("Cannot save"), and
        its staged record was removed with the photo: nothing to add."""
        if self.stage is not None and not self.stage.committed:
            return
        self.owner._sidecar_written(self.written, self.error, len(self.fills))


class ProvenanceController(QObject):
    """Signals:
    fills_changed: a fill was applied, undone or redone, or another photo was opened.
    message(str): a status-bar line (a sidecar was written, an export).
    """

    fills_changed = Signal()
    message = Signal(str)

    def __init__(self, doc: Document, settings: AppSettings, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.doc, self.settings, self.parent_widget = doc, settings, parent_widget
        self._fills: list[FillRecord] = []
        # Fills made before this session, read from the opened photo's sidecar (or counted from its note): every
        # save records them too, so a re-save never drops what an earlier one said.
        self._earlier: list[FillRecord] = []
        # the sidecar they came from: replaced without asking (kept in full)
        self._carried: Path | None = None
        self._reuse: tuple[tuple[int, ...], np.ndarray | None] = ((), None)
        self._written: set[Path] = set()  # sidecars this session wrote (replaced again without asking)
        self.last_sidecar: Path | None = None
        doc.undo_stack.indexChanged.connect(self._refresh)
        doc.image_changed.connect(self._on_doc_image_changed)

    # -- the records ----------------------------------------------------------------------------------------
    def fills(self) -> list[FillRecord]:
        """The records of the fills now applied, in the order they were made."""
        return list(self._fills)

    def _on_doc_image_changed(self) -> None:
        """Another photo: nothing carried over from the last one (`carry_earlier` reads the new one's record)."""
        self._earlier, self._carried, self.last_sidecar = [], None, None
        self._refresh()

    def carry_earlier(self, path: Path) -> None:
        """The photo at ``path`` was opened: carry the fills its sidecar records (or its note counts) into this
        session, so every save covers them as well as the new ones."""
        shape = self.doc.image.shape
        earlier: list[FillRecord] = []
        try:
            earlier = read_sidecar(path, shape)
        except InpaintError as exc:
            self.message.emit(f"{exc}; the photo's note is used instead.")
        if earlier:
            self._carried = sidecar_path(path).resolve()
        else:
            note = read_note(path)
            if note is not None:
                earlier = note_only_fills((shape[0], shape[1]), *note)
        self._earlier = earlier
        self._refresh()

    def adopt_sidecar(self, path: Path, records: list[FillRecord]) -> None:
        """Restored work on the photo at ``path`` holds ``records``: when they include every fill of the sidecar
        beside it, that sidecar is replaced without asking (nothing it says is lost)."""
        try:
            on_disk = read_sidecar(path, self.doc.image.shape)
        except InpaintError:
            return
        held = {(f.box, f.engine, f.when) for f in records}
        if on_disk and all((f.box, f.engine, f.when) in held for f in on_disk):
            self._carried = sidecar_path(path).resolve()

    def _refresh(self, *_args: object) -> None:
        stack = self.doc.undo_stack
        if not shiboken6.isValid(stack):  # the window is closing: the stack clears itself as it is deleted
            return
        fills = list(self._earlier)
        for i in range(stack.index()):
            command = stack.command(i)
            if isinstance(command, FillCommand):
                fills.extend(command.records)
        if [id(f) for f in fills] != [id(f) for f in self._fills]:
            self._fills = fills
            self.fills_changed.emit()

    def filled_pixels(self) -> int:
        return int(not_original(self.doc.image.shape, self._fills).sum()) if self._fills else 0

    def summary(self) -> str:
        """One line for the panel and the status bar."""
        count = len(self._fills)
        earlier = self.earlier_record()
        if count == 0 and earlier is not None:
            return f"No fills in this session, but a provenance record of earlier fills lies beside it: {earlier.name}/"
        if count == 0:
            return "No fills yet: every pixel is original."
        pixels = self.filled_pixels()
        share = pixels / max(1, self.doc.width * self.doc.height)
        regions = "filled region" if count == 1 else "filled regions"
        carried = f" ({len(self._earlier)} from earlier sessions)" if self._earlier else ""
        return f"{count} {regions}{carried}, {pixels:,} px ({share:.2%}): not every pixel is original."

    def earlier_record(self) -> Path | None:
        """The sidecar beside the opened photo when this session did not write it (the photo was filled before)."""
        if self.doc.path is None:
            return None
        folder = sidecar_path(self.doc.path)
        written = folder.exists() and folder.resolve() in self._written
        return folder if folder.is_dir() and not written else None

    def earlier_count(self) -> int:
        """How many of the fills were made before this session (carried from the photo's record or note)."""
        return len(self._earlier)

    def has_attention(self) -> bool:
        """True when a fill in the history has an attention field (a DeepFill fill): the heat map exists."""
        return any(f.attention is not None for f in self._fills)

    def reuse_density(self) -> np.ndarray | None:
        """Borrowed attention weight per pixel, summed over all DeepFill fills (cached); None without any."""
        key = tuple(id(f) for f in self._fills)
        if key != self._reuse[0]:
            self._reuse = (key, source_reuse(self.doc.image.shape, self._fills))
        return self._reuse[1]

    def reuse_overlay(self) -> np.ndarray | None:
        """The heat map as an RGBA overlay (fixed log scale, transparent where nothing was borrowed)."""
        density = self.reuse_density()
        return None if density is None else reuse_rgba(density)

    @staticmethod
    def reuse_legend() -> np.ndarray:
        return reuse_legend(*REUSE_LEGEND_SIZE)

    # -- saving (FileController's hook) ---------------------------------------------------------------------
    def prepare_save(
        self, path: Path, pixels: np.ndarray, stage: StagedOutputs | None = None
    ) -> SaveNote | None:
        """Before the photo ``pixels`` (a snapshot) is written to ``path``, on the GUI thread: ask about an
        existing record and snapshot the fills. The returned job writes the sidecar (into ``stage`` when given,
        committed with the photo) and makes the note on the file worker, and reports back here; None when
        nothing was filled."""
        fills = self.fills()
        if not fills:
            return None
        folder = sidecar_path(path)
        write = self.settings.write_provenance and self._may_replace(folder, path)
        if self.settings.write_provenance and not write:
            self.message.emit(f"{folder.name} was kept as it was; no new provenance record was written.")
        return SaveNote(self, path, fills, pixels, self.doc.original, write, stage)

    def _may_replace(self, folder: Path, image: Path) -> bool:
        """An existing sidecar is replaced when this session wrote it, its fills are carried into the new one, or
        the user says so."""
        if not folder.exists() or folder.resolve() in self._written or folder.resolve() == self._carried:
            return True
        answer = QMessageBox.question(
            self.parent_widget,
            "Replace the provenance record?",
            f"{folder.name} beside {image.name} already holds a provenance record, perhaps of earlier fills "
            f"of this photo.\n\nReplace it with the record of the {len(self._fills)} fill(s) made here? "
            "If not, the photo is saved with a note that it contains filled regions, and the folder is left "
            "as it is.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return bool(answer == QMessageBox.StandardButton.Yes)

    def _write_sidecar(self, image: Path, fills: list[FillRecord]) -> Path | None:
        """Write the sidecar now (the export, which writes no photo) and report it."""
        folder = sidecar_path(image)
        if not self._may_replace(folder, image):
            self.message.emit(f"{folder.name} was kept as it was; no new provenance record was written.")
            return None
        job = SaveNote(self, image, fills, self.doc.image.copy(), self.doc.original, True)
        job.write()
        job.report()
        return job.written

    def _sidecar_written(self, written: Path | None, error: str, fills: int) -> None:
        """Back on the GUI thread after a sidecar was written (in place: its photo's save was committed), or
        failed (``error``)."""
        if error:
            QMessageBox.warning(
                self.parent_widget,
                "Provenance record not written",
                f"{error}\n\nThe photo is still saved, with a note that it contains filled regions.",
            )
            return
        if written is not None:
            self._recorded(written, fills)

    def _recorded(self, folder: Path, count: int) -> None:
        """A sidecar is in place (after its photo when saved with one)."""
        self._written.add(folder.resolve())
        self.last_sidecar = folder
        self.message.emit(f"Provenance record written to {folder} ({count} fill(s)).")
        self.fills_changed.emit()  # the panel shows where the record went

    # -- exports --------------------------------------------------------------------------------------------
    def export_dialog(self) -> bool:
        """File > Export Provenance…: write the sidecar folder for the photo as it is now."""
        if not self._fills:
            QMessageBox.information(
                self.parent_widget,
                "Nothing to record",
                "No region of this photo has been filled yet: every pixel is original.",
            )
            return False
        path = self.doc.path or Path.cwd() / "untitled.png"
        suggested = str(sidecar_path(path))
        chosen, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            "Export provenance record (a folder)",
            suggested,
            "Provenance record (*.provenance)",
            options=QFileDialog.Option.DontConfirmOverwrite,  # _may_replace asks about an existing record
        )
        if not chosen:
            return False
        # The folder is named after the photo it describes: <stem>.provenance beside <stem><suffix>.
        stem = Path(chosen).name.removesuffix(".provenance") or "untitled"
        return self.export_to(Path(chosen).with_name(stem + (path.suffix or ".png"))) is not None

    def export_to(self, image: Path) -> Path | None:
        """Write the sidecar of the photo as if saved at ``image`` (the photo itself is not written)."""
        return self._write_sidecar(image, self.fills()) if self._fills else None

    def export_reuse_dialog(self) -> bool:
        if self.reuse_density() is None:
            QMessageBox.warning(
                self.parent_widget,
                "No source-reuse map",
                "Fill with DeepFill, PatchMatch or Auto first: Telea and Navier-Stokes borrow no patches, so there "
                "is no map.",
            )
            return False
        base = self.doc.path or Path.cwd() / "untitled.png"
        chosen, _ = QFileDialog.getSaveFileName(
            self.parent_widget,
            "Export source-reuse heat map",
            str(base.with_name(f"{base.stem}-source-reuse.png")),
            "PNG (*.png)",
        )
        return self.export_reuse_to(Path(chosen).with_suffix(".png")) if chosen else False

    def export_reuse_to(self, path: Path) -> bool:
        """Write the heat map (RGBA PNG, transparent where nothing was borrowed) and its legend beside it."""
        overlay = self.reuse_overlay()
        if overlay is None:
            return False
        legend = path.with_name(f"{path.stem}-legend.png")
        try:
            save_image(path, overlay, overwrite=True)
            save_image(legend, self.reuse_legend(), overwrite=True)
        except InpaintError as exc:
            QMessageBox.warning(self.parent_widget, "Cannot export the heat map", str(exc))
            return False
        self.message.emit(f"Source-reuse heat map exported to {path} (legend: {legend.name})")
        return True
