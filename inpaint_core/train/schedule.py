"""The learning rate as a function of the global sample count, so a chain of warm-started runs (each with a fresh
optimizer, possibly another batch size) follows one schedule: linear warm-up, then constant or cosine decay.
"""

from __future__ import annotations

import math

from inpaint_core.train.config import TrainConfig


def learning_rate(
    config: TrainConfig, samples_before: int, global_batch: int, call_step: int, fresh_adam: bool
) -> float:
    """The lr of the step that trains on samples [samples_before, samples_before + global_batch).

    Args:
        samples_before: samples seen by the whole chain before this step.
        global_batch: samples of this step (batch x processes).
        call_step: 1 for the first step of this process's run, 2 for the next...
        fresh_adam: the optimizer started empty mid-schedule (a warm start): ramp up over `rewarm_steps`.
    """
    seen = samples_before + global_batch  # counting this step's samples: the first warm-up step is not wasted
    factor = 1.0
    warmup = config.warmup_samples
    if warmup > 0:
        factor = min(1.0, seen / warmup)
    if config.lr_schedule == "cosine":
        span = max(1, config.schedule_samples - warmup)
        progress = min(1.0, max(0.0, (seen - warmup) / span))
        floor = config.lr_min_ratio
        factor *= floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if fresh_adam and config.rewarm_steps > 0:
        factor *= min(1.0, call_step / config.rewarm_steps)
    return config.lr * factor
