"""At start: offer back the unsaved work a crashed or killed session left (its recovery copy, `app/recovery.py`).

Kept out of main_window.py: the window calls `offer_recovery` once, before it opens a photo.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QMainWindow, QMessageBox

from app.canvas.commands import FillCommand, FillPatch
from app.dialogs import ask_box
from app.recovery import Orphan, RecoveryController, find_orphans, move_aside, recovered_with_base
from app.restore_wiring import RestoreWiring
from app.widgets.status_fields import StatusFields
from app.window_parts import WindowParts
from inpaint_core.boxes import Box


class RecoveryHost(WindowParts, Protocol):
    """What the offer needs of the window besides being a QMainWindow."""

    @property
    def status_fields(self) -> StatusFields: ...
    @property
    def recovery(self) -> RecoveryController: ...
    @property
    def restore(self) -> RestoreWiring: ...
    def show_document(self) -> None: ...


def offer_recovery(window: QMainWindow, host: RecoveryHost) -> bool:
    """Offer the newest recovery copy a crashed or killed session left. True when restored.

    The restored work is one undoable step over the photo file as it is on disk (when it is still there and the
    same size), so undo and compare show the original, as after opening it.
    """
    orphans = find_orphans(host.settings.recovery_folder)
    if not orphans:
        return False
    newest = orphans[0]
    for other in orphans[1:]:
        other.release()  # offered at a later start
    try:
        snap, base, source = host.files.background.call(
            "Reading the recovery copy…", lambda: recovered_with_base(newest.file)
        )
    except (OSError, ValueError, MemoryError) as exc:
        _report_damaged_copy(window, newest, exc)
        return False
    name = Path(snap.path).name if snap.path else "an unsaved photo"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.saved_at))
    # Behind the question: the photo's name and a line, not "untitled" and an empty image at 6400 %.
    window.setWindowTitle(f"{Path(snap.path).name if snap.path else 'untitled'} — DeepFill Studio")
    host.view.set_placeholder(f"Unsaved work on {name} can be restored")
    host.status_fields.image.setText("")
    host.status_fields.zoom.setText("")
    how = (
        "DeepFill Studio was asked to quit (a logout or a kill signal) and kept your unsaved work."
        if newest.ended
        else "DeepFill Studio did not close properly."
    )
    changed = ""
    if source == "changed":  # never restore the work over another picture, nor offer to save over it
        changed = (
            f"\n\n{name} has changed on disk since (replaced or edited elsewhere): the work is restored as "
            "it was, as an unsaved photo, and Save will not replace that file."
        )
    Button = QMessageBox.StandardButton
    try:
        answer = ask_box.ask(
            window,
            "Restore unsaved work?",
            f"{how} Restore your unsaved work on {name} (autosaved {when})?{changed}\n\n"
            "Discard deletes the recovery copy; Later keeps it for the next start.",
            {Button.Yes: "Restore", Button.Discard: "Discard", Button.Cancel: "Later"},
            Button.Yes,
        )
    finally:
        host.view.set_placeholder("")
        host.show_document()
    if answer != Button.Yes:
        if answer == Button.Discard:
            newest.discard()
        else:
            newest.release()  # Later (or the box closed): offered again at the next start
        return False
    doc = host.doc
    path = Path(snap.path) if snap.path and source != "changed" else None
    doc.set_photo(base, path, snap.exif, snap.icc, snap.fmt)
    if source == "file":
        doc.file_identity = snap.identity
    for layer, alpha in snap.layers.items():
        doc.set_layer_alpha(layer, alpha)
    restored = FillPatch(Box(0, 0, doc.width, doc.height), base, snap.pixels)
    # every fill in the work (earlier sessions' too): the next save records them
    records = tuple(snap.fills)
    doc.undo_stack.push(FillCommand(doc, [restored], [], None, "Restored unsaved work", records=records))
    if path is not None:  # not beside a file that is another picture now
        host.restore.provenance.adopt_sidecar(path, list(records))
    host.view.fit()
    newest.discard()
    host.recovery.save_now()  # this session's own copy, until the work is saved
    if source == "changed":
        window.statusBar().showMessage(
            f"Restored your unsaved work as an unsaved photo ({name} has changed).", 8000
        )
        return True
    window.statusBar().showMessage(f"Restored your unsaved work on {name}.", 8000)
    return True


def _report_damaged_copy(window: QMainWindow, orphan: Orphan, exc: BaseException) -> None:
    """Say once that a recovery copy cannot be read: it is moved aside (no longer offered at each start), and
    the box offers to delete it."""
    try:
        aside: Path | None = move_aside(orphan.file)
    except OSError:
        aside = None
    where = (
        f"It was moved aside to {aside} and will not be offered again."
        if aside is not None
        else f"It stays at {orphan.file}."
    )
    answer = QMessageBox.warning(
        window,
        "Cannot restore",
        f"The recovery copy cannot be read: {exc}\n\n{where} Discard deletes it.",
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Ok,
        QMessageBox.StandardButton.Ok,
    )
    if answer == QMessageBox.StandardButton.Discard:
        (aside or orphan.file).unlink(missing_ok=True)
    orphan.release()
