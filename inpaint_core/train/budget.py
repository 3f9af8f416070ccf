"""A wall-clock budget for a training call: stop early enough that the final validation, checkpoint and export
still finish before the deadline (a GPU command is killed at its limit, and a killed run brings nothing back).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TimeBudget:
    """Decides, after each step, whether another step still leaves time for the tail.

    The reserve before the deadline is `margin_s` + 1.5 x the longest tail seen (validation + sample grid +
    checkpoint + carry set; measured at each checkpoint) + 3 x the slowest recent step. The first step is not
    counted: it carries one-time costs (torch.compile, cuDNN autotuning: minutes on a GPU) that would otherwise
    stop the run at once. Step times are host times: the host runs at most a few steps ahead of the GPU, and
    the log steps' syncs keep it honest.
    """

    def __init__(
        self, deadline: float, margin_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.deadline = deadline  # on `clock`'s scale (time.monotonic by default)
        self.margin_s = margin_s
        self.tail_s = 0.0
        self.step_s = 0.0
        self.steps = 0
        self._clock = clock
        self._last = clock()

    def now(self) -> float:
        return self._clock()

    def remaining(self) -> float:
        return self.deadline - self._clock()

    def step_done(self) -> None:
        """Call once per step: tracks a slowly decaying maximum of the step time."""
        now = self._clock()
        self.steps += 1
        if self.steps > 1:  # the first step's one-time costs say nothing about the next steps
            self.step_s = max(now - self._last, 0.9 * self.step_s)
        self._last = now

    def tail_done(self, seconds: float) -> None:
        """Report how long a checkpoint tail took; the next step time does not count it."""
        self.tail_s = max(self.tail_s, seconds)
        self._last = self._clock()

    def reserve(self) -> float:
        return self.margin_s + 1.5 * self.tail_s + 3.0 * self.step_s

    def exhausted(self) -> bool:
        return self.remaining() < self.reserve()
