"""Stand-ins for the `torch.cuda` calls that CUDA-only code makes, so a CPU test walks those lines with the
tensors on the CPU: a typo, a wrong signature or a missing import fails here rather than on the first lent GPU
(issue #19, part 5). Nothing here pretends to time or measure a GPU; the figures it gives are fixed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import torch

FAKE_PEAK_BYTES = 3 << 20


class FakeStream:
    def __init__(self, device: Any = None) -> None:
        self.waited = 0

    def wait_stream(self, other: FakeStream) -> None:
        self.waited += 1


class FakeGraph:
    """Capture runs the body once (eagerly, on the CPU); each replay counts."""

    def __init__(self) -> None:
        self.replays = 0

    def replay(self) -> None:
        self.replays += 1


@contextlib.contextmanager
def _context(*args: Any, **kwargs: Any) -> Iterator[None]:
    yield


def install(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Patch torch.cuda for the rest of the test; returns a record of what the code called."""
    calls: SimpleNamespace = SimpleNamespace(synchronize=0, reset_peak=0, graphs=[])

    def synchronize(device: Any = None) -> None:
        calls.synchronize += 1

    def reset_peak_memory_stats(device: Any = None) -> None:
        calls.reset_peak += 1

    def make_graph() -> FakeGraph:
        graph = FakeGraph()
        calls.graphs.append(graph)
        return graph

    properties = SimpleNamespace(
        name="Fake GPU", total_memory=80 << 30, major=9, minor=0, multi_processor_count=132
    )
    fakes: dict[str, Callable[..., Any] | type] = {
        "is_available": lambda: True,
        "is_bf16_supported": lambda *a, **k: True,
        "synchronize": synchronize,
        "reset_peak_memory_stats": reset_peak_memory_stats,
        "memory_allocated": lambda device=None: 1 << 20,
        "max_memory_allocated": lambda device=None: (1 << 20) + FAKE_PEAK_BYTES,
        "empty_cache": lambda: None,
        "get_device_name": lambda device=None: properties.name,
        "get_device_properties": lambda device=None: properties,
        "Stream": FakeStream,
        "current_stream": lambda device=None: FakeStream(),
        "stream": _context,
        "graph": _context,
        "CUDAGraph": make_graph,
    }
    for name, fake in fakes.items():
        monkeypatch.setattr(torch.cuda, name, fake)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91000)
    return calls
