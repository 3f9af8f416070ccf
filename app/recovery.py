"""Autosave and crash recovery: a recovery copy of the open document in the platform's app-data folder
(`AppSettings.recovery_folder`).

What is kept: the photo's path and the identity of the file version the work started from (size, time,
SHA-256: the work is restored over that file only while it is still the same), its current pixels (own depth
and layout), its EXIF/ICC, the mask, guide and do-not-borrow layers, and the provenance records of the fills in
the work. The copy is taken on the GUI thread (numpy copies) and written atomically (`atomic_write`) on a
one-thread pool after each fill, `AUTOSAVE_DEBOUNCE_MS` after any other edit (once the edits pause), and every
`AUTOSAVE_INTERVAL_MS` while there are unsaved changes; it is deleted when the document is saved, discarded or
closed normally. The undo history is not kept: a restored copy is one step.

Each editor session holds a `QLockFile` beside its copy. Qt treats a lock whose process is gone as stale, so at
the next start a copy whose lock can be taken was left by a session that crashed or was killed: the window
offers to restore it. A copy whose session still runs (a second window) is left alone. A copy that cannot be
read is moved aside (`DAMAGED_SUFFIX`, no longer offered), so it is reported once, not at every start.

File format (a zip, read with numpy's `allow_pickle=False`): meta.json (with the fills' provenance entries, as
provenance.json lists them), pixels.npy, one npy per layer, fill-<n>.npy per fill (its region in its box), and
the optional exif.bin / icc.bin.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QLockFile, QObject, QRunnable, QThreadPool, QTimer, Signal

from app.document import LAYERS, Document
from inpaint_core import image_io
from inpaint_core.api import FileIdentity, atomic_write, file_identity
from inpaint_core.errors import InpaintError
from inpaint_core.restore.provenance import FillRecord, fill_entry, fill_from_entry

AUTOSAVE_INTERVAL_MS = 2 * 60 * 1000  # "every couple of minutes" while there are unsaved changes
# After any edit (a stroke, an undo, a fill): a copy once the edits pause this long. Short, so a stroke made a
# second before a kill is kept; the pause keeps a burst of strokes to one write.
AUTOSAVE_DEBOUNCE_MS = 600
SUFFIX = ".recovery"  # <session>.recovery holds the copy, <session>.lock the live session's lock
# <session>.ended: the session was asked to quit (SIGTERM/SIGINT); absent after a crash
ENDED_SUFFIX = ".ended"
FORMAT = "deepfill-studio-recovery/1"
DAMAGED_SUFFIX = ".damaged"  # <session>.recovery.damaged: a copy that could not be read, kept for inspection


@dataclass
class Snapshot:
    """One recovery copy of a document."""

    pixels: np.ndarray
    layers: dict[str, np.ndarray]  # layer name -> HxW uint8 coverage
    path: str = ""  # the photo's file ("" for an unsaved photo)
    fmt: str = "PNG"
    exif: bytes | None = None
    icc: bytes | None = None
    saved_at: float = field(default_factory=time.time)
    # The provenance records of the fills in the work (earlier sessions' and this one's; no attention fields):
    # a save after restoring still records every fill.
    fills: list[FillRecord] = field(default_factory=list)
    identity: FileIdentity | None = None  # of the file at `path` when the work started from it

    @classmethod
    def of(cls, doc: Document, fills: list[FillRecord] | None = None) -> Snapshot:
        """Copy what the document holds now (GUI thread: the copies are what the writer thread reads)."""
        return cls(
            pixels=doc.image.copy(),
            layers={name: doc.layer_alpha(name) for name in LAYERS},
            path=str(doc.path) if doc.path else "",
            fmt=doc.format,
            exif=doc.exif,
            icc=doc.icc,
            fills=list(fills or []),  # records are immutable: the list is the snapshot
            identity=doc.file_identity,
        )


def write_snapshot(file: Path, snap: Snapshot) -> None:
    """Write ``snap`` atomically. The photo is stored uncompressed (fast; it barely compresses), the layers
    deflated (mostly empty). Raises OSError."""
    meta: dict[str, object] = {
        "format": FORMAT,
        "path": snap.path,
        "fmt": snap.fmt,
        "saved_at": snap.saved_at,
    }
    meta["fills"] = [fill_entry(fill, n) for n, fill in enumerate(snap.fills, start=1)]
    if snap.identity is not None:
        meta["identity"] = asdict(snap.identity)
    file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(file) as fh, zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        arrays = {"pixels": (snap.pixels, zipfile.ZIP_STORED)}
        arrays |= {name: (alpha, zipfile.ZIP_DEFLATED) for name, alpha in snap.layers.items()}
        arrays |= {f"fill-{n}": (f.region, zipfile.ZIP_DEFLATED) for n, f in enumerate(snap.fills, start=1)}
        for name, (array, method) in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy")
            info.compress_type = method
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
        for name, blob in (("exif.bin", snap.exif), ("icc.bin", snap.icc)):
            if blob:
                zf.writestr(name, blob)


def read_snapshot(file: Path) -> Snapshot:
    """Read a recovery copy. Raises ValueError (not a recovery copy, or damaged) or OSError."""
    try:
        with zipfile.ZipFile(file) as zf:
            meta = json.loads(zf.read("meta.json"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{file.name} is not a recovery copy of this version")
            names = set(zf.namelist())

            def array(name: str) -> np.ndarray:
                with zf.open(f"{name}.npy") as member:
                    return np.lib.format.read_array(member, allow_pickle=False)

            pixels = array("pixels")
            layers = {name: array(name) for name in LAYERS if f"{name}.npy" in names}
            size = (int(pixels.shape[0]), int(pixels.shape[1]))
            fills = [
                fill_from_entry(entry, size, array(f"fill-{n}"))
                for n, entry in enumerate(meta.get("fills") or [], start=1)
            ]
            exif = zf.read("exif.bin") if "exif.bin" in names else None
            icc = zf.read("icc.bin") if "icc.bin" in names else None
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, zlib.error, AttributeError) as exc:
        raise ValueError(f"{file.name} is damaged ({exc})") from None
    photo_layout = pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
    if pixels.dtype not in (np.uint8, np.uint16) or not photo_layout or pixels.size == 0:
        raise ValueError(f"{file.name} is damaged (not a photo: {pixels.dtype} {pixels.shape})")
    if any(layer.dtype != np.uint8 or layer.shape != pixels.shape[:2] for layer in layers.values()):
        raise ValueError(f"{file.name} is damaged (its layers do not fit the photo)")
    identity = meta.get("identity")
    try:
        known = FileIdentity(**identity) if isinstance(identity, dict) else None
    except TypeError:
        raise ValueError(f"{file.name} is damaged (its photo's identity is unreadable)") from None
    return Snapshot(
        pixels=pixels,
        layers=layers,
        path=str(meta.get("path", "")),
        fmt=str(meta.get("fmt", "PNG")),
        exif=exif,
        icc=icc,
        saved_at=float(meta.get("saved_at", 0.0)),
        fills=fills,
        identity=known,
    )


def recovered_with_base(file: Path) -> tuple[Snapshot, np.ndarray, str]:
    """A recovery copy, the pixels its work started from, and where they come from:

    "file": the photo file, still the version the work started from (same size and SHA-256; for a copy without
    an identity: same size and layout); "changed": the file is another picture now (replaced, or edited
    elsewhere), so the copy's own pixels are the base and the file is never shown as "the original" of this
    work; "missing": the file is gone or unreadable; "unsaved": the work was never saved to a file. Raises
    ValueError or OSError (the copy)."""
    snap = read_snapshot(file)
    if not snap.path:
        return snap, snap.pixels, "unsaved"
    if not Path(snap.path).is_file():
        return snap, snap.pixels, "missing"
    if snap.identity is not None:
        try:
            same = snap.identity.same_content(file_identity(snap.path))
        except OSError:
            return snap, snap.pixels, "missing"
        if not same:
            return snap, snap.pixels, "changed"
    try:
        on_disk = image_io.load_image(snap.path).pixels
    except (InpaintError, MemoryError):
        return snap, snap.pixels, "missing"
    if on_disk.shape != snap.pixels.shape or on_disk.dtype != snap.pixels.dtype:
        return snap, snap.pixels, "changed"
    return snap, on_disk, "file"


def move_aside(file: Path) -> Path:
    """Rename a recovery copy that cannot be read so it is no longer offered; returns its new name. Its
    `ENDED_SUFFIX` marker goes (it would name no copy)."""
    aside = file.with_name(file.name + DAMAGED_SUFFIX)
    file.replace(aside)
    file.with_suffix(ENDED_SUFFIX).unlink(missing_ok=True)
    return aside


@dataclass
class Orphan:
    """A recovery copy left by a session that did not end normally; its lock is held while it is offered."""

    file: Path
    lock: QLockFile
    saved_at: float
    ended: str = ""  # why its session ended when it was asked to quit ("signal"); "" after a crash or a kill

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)
        self.file.with_suffix(ENDED_SUFFIX).unlink(missing_ok=True)
        self.lock.unlock()  # also removes the lock file

    def release(self) -> None:
        """Keep the copy for a later start."""
        self.lock.unlock()


def find_orphans(folder: Path) -> list[Orphan]:
    """Recovery copies in ``folder`` whose session is gone, newest first (their locks now held by us)."""
    found = []
    for file in folder.glob(f"*{SUFFIX}") if folder.is_dir() else []:
        lock = _lock_for(file)
        if not lock.tryLock(0):
            continue  # its session still runs
        try:
            ended = file.with_suffix(ENDED_SUFFIX).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            ended = ""
        found.append(Orphan(file, lock, file.stat().st_mtime, ended))
    return sorted(found, key=lambda o: o.saved_at, reverse=True)


def _lock_for(file: Path) -> QLockFile:
    lock = QLockFile(str(file.with_suffix(".lock")))
    lock.setStaleLockTime(0)  # stale only when its process is gone, never by age: a session may run for days
    return lock


class _Job(QRunnable):
    def __init__(self, run: object) -> None:
        super().__init__()
        self._run = run

    def run(self) -> None:
        self._run()  # type: ignore[operator]


class _Signals(QObject):
    written = Signal(float)
    failed = Signal(str)


class RecoveryController(QObject):
    """Keeps the session's recovery copy up to date.

    Signals:
        written(float): a copy was written (its time.time()).
        failed(str): a copy could not be written (shown in the status bar; the editor keeps working).
    """

    written = Signal(float)
    failed = Signal(str)

    def __init__(self, doc: Document, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc, self.folder = doc, folder
        session = uuid.uuid4().hex
        self.file = folder / f"{session}{SUFFIX}"
        self._lock: QLockFile | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # writes and deletes run in order
        self._signals = _Signals()  # a separate QObject: emitted from the pool thread
        self._signals.written.connect(self.written)
        self._signals.failed.connect(self.failed)
        # The provenance records of the fills now in the work (the window sets it): kept in each copy.
        self.records: Callable[[], list[FillRecord]] | None = None
        self._changes = 0  # edits since the session started
        self._saved_changes = 0  # ... as of the last copy
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.timer.timeout.connect(self.autosave_if_needed)
        self.timer.start()
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(AUTOSAVE_DEBOUNCE_MS)
        self.debounce.timeout.connect(self.autosave_if_needed)
        self._in_flight = 0  # copies handed to the pool and not yet written
        self.written.connect(self._on_write_done)
        self.failed.connect(self._on_write_done)
        doc.undo_stack.indexChanged.connect(self._on_doc_changed)
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _on_doc_changed(self, *_args: object) -> None:
        self._changes += 1
        self.debounce.start()  # restarted by each edit: one copy once they pause

    def _on_write_done(self, *_args: object) -> None:
        self._in_flight = max(0, self._in_flight - 1)

    def _on_clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()  # saved (or undone back to the saved state): nothing to recover

    @property
    def pending(self) -> bool:
        """There are unsaved changes the last copy does not hold."""
        return self.doc.is_modified and self._changes != self._saved_changes

    def autosave_if_needed(self) -> None:
        if self._in_flight and self.pending:
            self.debounce.start()  # a copy is still being written: the next one after it, not queued behind it
            return
        if self.pending:
            self.save_now()

    def save_now(self) -> None:
        """Copy the document now and write it in the background (after each fill; on the timer)."""
        if not self.doc.is_modified:
            return
        if self._lock is None:  # first copy of this session: hold the lock that marks it alive
            lock = _lock_for(self.file)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.failed.emit(f"No recovery copy: cannot create {self.folder} ({exc.strerror or exc})")
                return
            if not lock.tryLock(0):
                self.failed.emit(f"No recovery copy: cannot lock {self.file.with_suffix('.lock')}")
                return
            self._lock = lock
        snap = Snapshot.of(self.doc, self.records() if self.records is not None else None)
        self._saved_changes = self._changes
        file, signals = self.file, self._signals

        def write() -> None:
            try:
                write_snapshot(file, snap)
            except (OSError, ValueError) as exc:
                signals.failed.emit(f"Could not write the recovery copy: {exc}")
            else:
                signals.written.emit(snap.saved_at)

        self._in_flight += 1
        self.pool.start(_Job(write))

    def mark_ended(self, reason: str) -> None:
        """Note beside the copy that the session was asked to quit (so the next start does not call it a crash)."""
        with contextlib.suppress(OSError):  # only the wording of the next start's question depends on it
            self.file.with_suffix(ENDED_SUFFIX).write_text(reason, encoding="utf-8")

    def discard(self) -> None:
        """Delete the copy (after any write still in flight)."""
        self._saved_changes = self._changes
        file = self.file
        self.pool.start(_Job(lambda: file.unlink(missing_ok=True)))

    def shutdown(self, keep: bool = False) -> None:
        """Window closing: stop the timer, finish the writes, and (unless ``keep``) delete the copy. A kept copy's
        lock is released too, so the next start (even in this process) offers it back."""
        self.timer.stop()
        self.debounce.stop()
        for signal, slot in (
            (self.doc.undo_stack.indexChanged, self._on_doc_changed),
            (self.doc.undo_stack.cleanChanged, self._on_clean_changed),
        ):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(slot)
        self.pool.waitForDone()
        if not keep:
            self.file.unlink(missing_ok=True)
            self.file.with_suffix(ENDED_SUFFIX).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlock()  # removes the lock file; a kept copy then counts as left by a gone session
            self._lock = None
