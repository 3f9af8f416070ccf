"""The one atomic file writer: every file the project writes (images, weights, checkpoints, packs, configs,
the editor's recovery copy) goes through `atomic_write`, so a crash, a kill or a full disk never leaves a
half-written file under the real name. Also `sha256_file`, the one file hash (weights manifests, provenance).

How a write goes: a temporary file named `.NAME.dfs-PID-RANDOM.tmp` is created beside the target, written,
flushed and fsync'ed, given the mode the target should have (an existing file's mode, else what the umask
allows, as `open()` would), renamed over the target, and the folder is fsync'ed so the rename survives a power
cut. Any exception (KeyboardInterrupt and the CLI's SIGTERM included) deletes the temporary file. Only SIGKILL
or a crash can leave one behind; the next write to the same target sweeps such files whose writing process is
gone (`sweep_stale_temps`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

# Our temporary names: ".<target name>.dfs-<pid>-<random>.tmp". The pid lets a later write tell a file left
# by a killed process (stale) from one another process is still writing.
_TEMP_MARK = ".dfs-"
_TEMP_RE = re.compile(r"\.dfs-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["wb"] = "wb"
) -> AbstractContextManager[BinaryIO]: ...
@overload
def atomic_write(path: str | os.PathLike[str], mode: Literal["w"]) -> AbstractContextManager[TextIO]: ...
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> AbstractContextManager[IO[Any]]:
    """Open a temporary file beside `path` for writing (binary, or UTF-8 text with mode "w").

    On leaving the `with` block normally the file is flushed, synced to disk, given `path`'s mode (or the
    umask's default for a new file) and renamed over `path`; on an exception it is deleted and `path` is left
    as it was. A symlink is written through (the link stays, its target gets the new content). The folder
    must exist. Raises OSError.

        with atomic_write(path) as fh:
            fh.write(data)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    return _atomic(Path(path), mode)


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
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
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
