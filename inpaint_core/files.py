"""The one atomic file writer: every file the project writes (images, weights, checkpoints, packs, configs)
goes through `atomic_write`, so a crash or a full disk never leaves a half-written file under the real name.
Also `sha256_file`, the one file hash (weights manifests, provenance records)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload


@overload
def atomic_write(
    path: str | os.PathLike[str], mode: Literal["wb"] = "wb"
) -> AbstractContextManager[BinaryIO]: ...
@overload
def atomic_write(path: str | os.PathLike[str], mode: Literal["w"]) -> AbstractContextManager[TextIO]: ...
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> AbstractContextManager[IO[Any]]:
    """Open a temporary file beside `path` for writing (binary, or UTF-8 text with mode "w").

    On leaving the `with` block normally the file is flushed, synced to disk and renamed over `path`; on an
    exception it is deleted and `path` is left as it was. The folder must exist. Raises OSError.

        with atomic_write(path) as fh:
            fh.write(data)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    return _atomic(Path(path), mode)


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
