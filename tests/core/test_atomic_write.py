"""files.atomic_write: the one writer behind every file the project writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from inpaint_core.files import atomic_write


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"precious")
    with pytest.raises(RuntimeError), atomic_write(path) as fh:
        fh.write(b"half")
        raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temp file left behind

    with atomic_write(path) as fh:
        fh.write(b"new")
    assert path.read_bytes() == b"new"
    with atomic_write(tmp_path / "t.txt", "w") as text:
        text.write("héllo\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "t.txt"]


def test_atomic_write_needs_the_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError), atomic_write(tmp_path / "missing" / "x.bin") as fh:
        fh.write(b"x")
    with pytest.raises(ValueError, match="mode"):
        atomic_write(tmp_path / "x", "a")  # type: ignore[call-overload]
