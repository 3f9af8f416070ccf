"""Named training recipes (`python main.py train --preset NAME`); docs/TRAINING.md says why each value is there.

- "published": the DeepFill v2 paper's recipe, the TrainConfig defaults (L1 + SN-PatchGAN 1 : 1, lr 1e-4,
  betas (0.5, 0.999), batch 16).
- "phase1": the project's reconstruction phase for short GPU calls (issue 9): L1 averaged over the hole plus
  0.2 x L1 over the known pixels on both stages, no discriminator; Adam (0.9, 0.99), batch 64, 300 warm-up
  steps (of 64) to 5e-4 then cosine decay over `schedule_samples` (set it to the samples the whole chain of calls will
  see), gradient clipping at 1.0, EMA 0.999 (the EMA is validated and shipped); the device pipeline, bf16,
  channels_last and torch.compile; a checkpoint, validation and sample grid every 2 minutes.
- "phase2": phase 1's weights sharpened by SN-PatchGAN hinge at 0.1, lr 1e-4 (constant), betas (0.5, 0.999).
  Keep its result only if the validation hole PSNR falls by less than 0.2 dB (summary.json of `train session`
  holds the PSNR before and after).
"""

from __future__ import annotations

from typing import Any

from inpaint_core.train.config import ConfigError, TrainConfig

_PHASE1: dict[str, Any] = {
    "l1_mode": "hole",
    "l1_known_weight": 0.2,
    "gan_alpha": 0.0,
    "lr": 5e-4,
    "beta1": 0.9,
    "beta2": 0.99,
    "batch": 64,
    "warmup_samples": 300 * 64,  # 300 steps at batch 64
    "lr_schedule": "cosine",
    "schedule_samples": 1_000_000,  # ~2 GPU calls of 8 minutes at ~1,000 samples/s
    "lr_min_ratio": 0.02,
    "rewarm_steps": 50,
    "grad_clip": 1.0,
    "ema": 0.999,
    "pipeline": "device",
    "mask_bank": 4096,
    "mask_dir_ratio": 0.5,  # used when --set mask_dir=... names a mask folder or mask pack
    "compile": True,
    "steps": 10_000_000,  # a time budget ends the call
    "val_count": 32,
    "val_every": 1000,
    "val_at_start": True,
    "sample_every": 10_000_000,  # grids come with the timed checkpoints
    "ckpt_every": 10_000_000,
    "ckpt_every_s": 120.0,
    "log_every": 50,
}

PRESETS: dict[str, dict[str, Any]] = {
    "published": {},
    "phase1": _PHASE1,
    "phase2": {
        **_PHASE1,
        "gan_alpha": 0.1,
        "lr": 1e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "lr_schedule": "constant",
        "warmup_samples": 0,
        "schedule_samples": 0,
    },
}


def preset_config(name: str) -> TrainConfig:
    """The TrainConfig of a named preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    return TrainConfig(**PRESETS[name])
