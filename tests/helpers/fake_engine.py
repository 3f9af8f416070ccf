"""The tests' one stand-in for `InpaintEngine`: the editor's tests drive the window with it where the real engine
would be too slow, or could not be made to wait, fail or report on cue. Qt-free.

It reports the stages it is given, waits at a gate the test opens (so a test can act while a fill or a conversion
runs), honours a cancel as the real engine does between stages, raises a given error, and returns the photo with
the hole filled by a grey that tells requests apart, or unchanged. Like the real engine it lists this machine's
devices (here: no GPU) and converts checkpoints (into an empty file, after the gate).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inpaint_core.api import InpaintRequest, InpaintResult
from inpaint_core.boxes import Box
from inpaint_core.errors import CancelledError

Stages = tuple[tuple[str, float], ...]


class FakeEngine:
    """A scripted engine.

    Args:
        before: (stage, fraction) reports before the gate.
        after: reports after the gate (and after the cancel check).
        gated: `run` and `convert_weights` set `entered`, then wait until the test sets `gate`.
        honour_cancel: a cancel flag set by then raises CancelledError; False imitates an engine that had
            finished its last stage before it saw the flag.
        grey: fill the hole with 40 * request_id, so a test tells results apart; else return the photo as it was.
        error: raised by `run` instead of filling (for the engines in `error_engines`; None: for every engine).
        devices: what `available_devices` lists.
    """

    def __init__(
        self,
        *,
        before: Stages = (),
        after: Stages = (),
        gated: bool = True,
        honour_cancel: bool = True,
        grey: bool = False,
        error: BaseException | None = None,
        error_engines: Iterable[str] | None = None,
        devices: tuple[str, ...] = ("auto", "cpu"),
    ) -> None:
        self.before, self.after = before, after
        self.gated, self.honour_cancel, self.grey = gated, honour_cancel, grey
        self.error = error
        self.error_engines = None if error_engines is None else frozenset(error_engines)
        self.devices = devices
        self.gate, self.entered = threading.Event(), threading.Event()
        self.requests: list[InpaintRequest] = []

    def run(self, request: InpaintRequest, progress: Any = None, cancel: Any = None) -> InpaintResult:
        self.requests.append(request)
        if self.error is not None and (self.error_engines is None or request.engine in self.error_engines):
            raise self.error
        self._report(progress, self.before)
        self._wait(cancel)
        self._report(progress, self.after)
        out = request.image.copy()
        if self.grey:
            out[request.mask > 0] = 40 * request.request_id
        height, width = out.shape[:2]
        # One window over the whole photo: like the real engine's, it holds every changed pixel.
        return InpaintResult(out, None, None, [Box(0, 0, width, height)], request.request_id)

    def available_devices(self) -> tuple[str, ...]:
        return self.devices

    def convert_weights(self, source: Any, output: Any, progress: Any = None, cancel: Any = None) -> Path:
        self._wait(cancel)
        Path(output).write_bytes(b"")
        return Path(output)

    def _wait(self, cancel: Any) -> None:
        self.entered.set()
        if self.gated:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.honour_cancel and cancel is not None and cancel.is_set():
            raise CancelledError("cancelled")

    @staticmethod
    def _report(progress: Any, stages: Stages) -> None:
        for stage, fraction in stages:
            if progress is not None:
                progress(stage, fraction)
