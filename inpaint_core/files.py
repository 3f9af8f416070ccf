"""The one atomic file writer: every file the project writes (images, weights, checkpoints, packs, configs,
the editor's recovery copy) goes through `atomic_write`, so a crash, a kill or a full disk never leaves a
half-written file under the real name. Also `sha256_file`, the one file hash (weights manifests, provenance).

How a write goes: a temporary file named `.NAME.dfs-PID-RANDOM.tmp` is created beside the target, written,
flushed and fsync'ed, given the mode the target should have (an existing file's mode, else what the umask
allows, as `open()` would), renamed over the target, and the folder is fsync'ed so the rename survives a power
cut. Any exception (KeyboardInterrupt and the CLI's SIGTERM included) deletes the temporary file. Only SIGKILL
or a crash can leave one behind; the next write to the same target sweeps such files whose writing process is
gone (`sweep_stale_temps`).

Outputs that belong together (a restored photo, its proposed mask and its provenance sidecar folder) are staged
in one `StagedOutputs`: each is written to its temporary as above (`atomic_write(path, stage=...)`, a folder with
`stage.folder(path)`), and only when all are complete does `commit` rename them into place, files first and
folders last, so a record never exists without its photo. Any failure removes every temporary; a failed rename
puts back what the commit had already replaced. Temporary folders use the same naming and are swept the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

# Our temporary names: ".<target name>.dfs-<pid>-<random>.tmp". The pid lets a later write tell a file left
# by a killed process (stale) from one another process is still writing.
_TEMP_MARK = ".dfs-"
_TEMP_RE = re.compile(r"\.dfs-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["wb"] = "wb", *, stage: StagedOutputs | None = None
) -> AbstractContextManager[BinaryIO]: ...
@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["w"], *, stage: StagedOutputs | None = None
) -> AbstractContextManager[TextIO]: ...
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", *, stage: StagedOutputs | None = None
) -> AbstractContextManager[IO[Any]]:
    """Open a temporary file beside `path` for writing (binary, or UTF-8 text with mode "w").

    On leaving the `with` block normally the file is flushed, synced to disk, given `path`'s mode (or the
    umask's default for a new file) and renamed over `path` (with `stage`: handed to the stage, which renames
    it at its commit); on an exception it is deleted and `path` is left as it was. A symlink is written
    through (the link stays, its target gets the new content). The folder must exist. Raises OSError.

        with atomic_write(path) as fh:
            fh.write(data)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    return _atomic(Path(path), mode, stage)


def temp_path_for(path: Path) -> Path:
    """A fresh temporary name beside `path` in our naming (see the module docstring)."""
    return path.with_name(f".{path.name}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create (O_EXCL, 0600 until the data is complete) a temporary file beside `path`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = temp_path_for(path)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


@contextmanager
def _atomic(path: Path, mode: str, stage: StagedOutputs | None = None) -> Iterator[IO[Any]]:
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    sweep_stale_temps(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(NotImplementedError):
            os.chmod(tmp, _final_mode(path))
        if stage is not None:
            stage.add_file(tmp, path)
            return
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _final_mode(path: Path) -> int:
    """An existing file keeps its permission bits; a new one gets 0666 less the umask, as `open()` gives."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask. Read from /proc where there is one: setting it to read it races other threads."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); folders cannot be opened for fsync on Windows, nor on every file system."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap, safe test (os.kill would end the process): assume it still writes
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def sweep_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files of our naming beside `path` whose writing process is gone (SIGKILL, crash).

    Only our own names for this very target are touched, never another file. Returns what was deleted.
    """
    target = Path(path)
    prefix = f".{target.name}{_TEMP_MARK}"
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix)]
    except OSError:
        return []
    removed: list[Path] = []
    for name in names:
        match = _TEMP_RE.fullmatch(name[len(prefix) - len(_TEMP_MARK) :])
        if match is None or _process_alive(int(match["pid"])):
            continue
        stale = target.parent / name
        with contextlib.suppress(OSError):
            if stale.is_dir() and not stale.is_symlink():  # a staged folder (a provenance sidecar)
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed.append(stale)
    return removed


def check_folder_writable(folder: str | os.PathLike[str]) -> None:
    """Raise OSError (with errno and strerror) unless a file can be created in `folder`.

    A real probe (create, then delete, a temporary file) rather than `os.access`, which says yes to root on a
    read-only mount and cannot see ACLs. Callers with expensive work ahead check before the work.
    """
    probe = Path(folder) / "probe"
    fd, tmp = _create_temp(probe)
    os.close(fd)
    tmp.unlink(missing_ok=True)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class StagedOutputs:
    """Outputs that appear together or not at all (see the module docstring).

        with StagedOutputs() as stage:  # commits on a normal exit, discards on any exception
            save_image(photo, pixels, stage=stage)
            folder = stage.folder(sidecar)  # fill it, it is renamed to `sidecar` at the commit

    `on_commit(callback)` runs a callback after a successful commit (in the committing thread).
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []  # (temporary, target) in staging order
        self._folders: list[tuple[Path, Path]] = []
        self._callbacks: list[Callable[[], None]] = []
        self.committed = False

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def add_file(self, tmp: Path, target: Path) -> None:
        """A complete temporary file (synced, final mode) to be renamed to `target` at the commit."""
        self._files.append((tmp, target))

    def folder(self, target: str | os.PathLike[str]) -> Path:
        """Create an empty temporary folder beside `target` (mode as `mkdir` gives under the umask, or an
        existing target's mode) that the commit renames to `target`; stale ones from killed runs are swept."""
        target = Path(target)
        sweep_stale_temps(target)
        for _ in range(100):
            tmp = temp_path_for(target)
            try:
                os.mkdir(tmp)
            except FileExistsError:
                continue
            self._folders.append((tmp, target))
            if target.is_dir():
                with contextlib.suppress(OSError):
                    os.chmod(tmp, target.stat().st_mode & 0o7777)
            return tmp
        raise FileExistsError(f"cannot create a temporary folder beside {target}")

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def temporary_for(self, target: Path) -> Path | None:
        """The staged temporary of `target` (a file), e.g. to hash what is about to be committed."""
        resolved = Path(os.path.realpath(target))
        return next((tmp for tmp, t in self._files if t in (target, resolved)), None)

    def targets(self) -> list[Path]:
        """Where the staged outputs go, in commit order."""
        return [target for _, target in (*self._files, *self._folders)]

    def drop(self, tmp: Path) -> None:
        """Remove one staged temporary (file or folder); the others stay staged."""
        self._files = [(t, target) for t, target in self._files if t != tmp]
        self._folders = [(t, target) for t, target in self._folders if t != tmp]
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove every temporary (nothing was committed, or a commit failed and was undone)."""
        for tmp, _ in self._files:
            tmp.unlink(missing_ok=True)
        for tmp, _ in self._folders:
            shutil.rmtree(tmp, ignore_errors=True)
        self._files, self._folders, self._callbacks = [], [], []

    def commit(self) -> None:
        """Rename every staged output into place: files in staging order, then folders. If a rename fails,
        the outputs already renamed are put back as they were (a replaced file from a hard link kept beside it
        meanwhile; without links it is left new) and every temporary is removed. Raises OSError."""
        done: list[tuple[Path, Path | None, bool]] = []  # (target, a link to its old content, existed)
        try:
            for tmp, target in self._files:
                existed = target.exists()
                backup = _link_aside(target) if existed else None
                try:
                    os.replace(tmp, target)
                except BaseException:
                    if backup is not None:
                        backup.unlink(missing_ok=True)
                    raise
                done.append((target, backup, existed))
            for tmp, target in self._folders:
                replace_folder(tmp, target)
        except BaseException:
            for target, backup, existed in reversed(done):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, target)
                    elif not existed:
                        target.unlink()
            self.discard()
            raise
        for _, backup, _ in done:
            if backup is not None:
                backup.unlink(missing_ok=True)
        for folder in {target.parent for target in self.targets()}:
            _fsync_folder(folder)
        callbacks, self._files, self._folders, self._callbacks = self._callbacks, [], [], []
        self.committed = True
        for callback in callbacks:
            callback()


def _link_aside(target: Path) -> Path | None:
    """A hard link to the existing `target` under a temporary name (so a commit can put it back); None where
    the file system has no links. Swept like any temporary if the process is killed."""
    backup = temp_path_for(target)
    try:
        os.link(target, backup)
    except OSError:
        return None
    return backup


def replace_folder(tmp: Path, folder: Path) -> None:
    """Rename the complete folder `tmp` to `folder`. An existing `folder` is moved aside (to a temporary name)
    first, removed after the swap, and put back if the swap fails."""
    if not folder.exists():
        os.rename(tmp, folder)
        return
    old = temp_path_for(folder)
    os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class FileIdentity:
    """Which version of a file: its size, modification time and content hash (the hash decides; the size
    rules a replacement out cheaply; the time is kept to say when it changed)."""

    size: int
    mtime_ns: int
    sha256: str

    def same_content(self, other: FileIdentity | None) -> bool:
        return other is not None and other.size == self.size and other.sha256 == self.sha256


def file_identity(path: str | os.PathLike[str]) -> FileIdentity:
    """The identity of the file at `path` now. Raises OSError."""
    info = Path(path).stat()
    return FileIdentity(info.st_size, info.st_mtime_ns, sha256_file(path))
