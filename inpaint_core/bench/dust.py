"""`bench dust`: a photo with many small specks through `InpaintEngine.run` (issue 24): the time and the model
calls of the default request, DeepFill beside Navier-Stokes. Thin-hole tiling once made 569 windows of 1,000
dots on 12 MP (141 s); specks now share one window, only long thin holes are tiled.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from inpaint_core.api import DEEPFILL, NS
from inpaint_core.bench.speed import build_model, synthetic_photo
from inpaint_core.engine import InpaintEngine, InpaintRequest


@dataclass(frozen=True)
class DustRun:
    engine: str
    median_s: float
    windows: int
    model_calls: int  # model passes (DeepFill: one per window or tile; 0 for a classical fill)


def dust_mask(width: int, height: int, dots: int, seed: int = 0) -> np.ndarray:
    """`dots` seeded specks of radius 1-3 px. Shape: -> (height, width) uint8, 255 = hole"""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for x, y, r in zip(
        rng.integers(4, width - 4, dots), rng.integers(4, height - 4, dots), rng.integers(1, 4, dots)
    ):
        cv2.circle(mask, (int(x), int(y)), int(r), 255, -1)
    return mask


def time_dust(
    photo: tuple[int, int] = (4000, 3000),
    dots: int = 1000,
    runs: int = 3,
    weights: Path | None = None,
    cnum: int = 24,
    device: str = "cpu",
) -> list[DustRun]:
    """Median seconds over `runs` (after one untimed run that loads the model) per engine. Without `weights`,
    a random-init generator of width `cnum` (timing only)."""
    from inpaint_core.weights import save_generator

    width, height = photo
    image = synthetic_photo(width, height)
    mask = dust_mask(width, height, dots)
    engine = InpaintEngine()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        if weights is None:
            weights = Path(tmp) / f"random_init_{cnum}.safetensors"
            save_generator(build_model(cnum, torch.device("cpu")), weights, dtype=torch.float32)
        for name in (DEEPFILL, NS):
            request = InpaintRequest(image=image, mask=mask, engine=name, device=device, weights=weights)
            result = engine.run(request)
            times = []
            for _ in range(max(1, runs)):
                t0 = time.perf_counter()
                result = engine.run(request)
                times.append(time.perf_counter() - t0)
            out.append(DustRun(name, statistics.median(times), len(result.windows), len(result.model_sizes)))
        engine.clear_cache()
    return out
