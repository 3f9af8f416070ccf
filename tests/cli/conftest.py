"""Helpers of the command-line tests. Qt-free: these tests also run with PySide6 absent (see tests/conftest.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def one_error_line(stderr: str) -> str:
    """The one `error: ...` line a failing command prints (no traceback, nothing else); asserts there is one."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@contextlib.contextmanager
def stalled_process(
    script: str, argv: list[str], staged_prefix: str, folder: Path
) -> Iterator[subprocess.Popen[str]]:
    """`python -c script *argv` from the repository root, stopped where it prints "writing" (mid-write: a
    temporary starting with `staged_prefix` is in `folder`); killed if the test fails before it ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *argv],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "writing", (
            line,
            proc.stderr.read() if proc.poll() is not None and proc.stderr else "",
        )
        staged = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        assert any(name.startswith(staged_prefix) for name in staged), staged
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
