"""Helpers of the command-line tests. Qt-free: these tests also run with PySide6 absent (see tests/conftest.py)."""

from __future__ import annotations


def one_error_line(stderr: str) -> str:
    """The one `error: ...` line a failing command prints (no traceback, nothing else); asserts there is one."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]
