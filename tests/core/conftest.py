"""Fixtures of the core's tests. Qt-free: these tests also run with PySide6 absent (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from inpaint_core.engine import InpaintEngine


@pytest.fixture(scope="module")
def engine() -> InpaintEngine:
    """One engine per test module: its model cache is shared by the module's tests, as in the editor."""
    return InpaintEngine()
