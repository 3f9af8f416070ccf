"""train/heap.py: with glibc keeping freed memory, a training step reuses its pages instead of faulting fresh
ones in every step (on the development CPU: 370k page faults and a second of system time per relay step, a
quarter of the step, before)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from inpaint_core.train.step_speed import _step_fn
from inpaint_core.train.heap import keep_freed_memory
torch.set_num_threads(1)
if sys.argv[1] == "reuse":
    assert keep_freed_memory() and keep_freed_memory()  # once per process; a second call is a no-op
step = _step_fn("new", 256, 2, 24, False, torch.device("cpu"))  # the relay's step, fp32, batch 2
for _ in range(2):
    step()
faults = []
for _ in range(4):  # the least of four: the heap may still settle in the first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults))
"""


def _step_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_training_step_reuses_its_memory() -> None:
    # Measured with the setting: 0-4 faults a step once the heap has settled. Without it, glibc's own dynamic
    # threshold settles or not from run to run (least of four steps: 850 to 15.8k faults seen), so the default
    # is not asserted on; a setting that stopped working would show thousands here.
    assert _step_faults("reuse") < 500
