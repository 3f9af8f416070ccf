"""The work model behind the adaptive model resolution, the side it picks, and the engine honouring a budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.bench.flops import count_generator_flops
from inpaint_core.boxes import Box, model_size
from inpaint_core.budget import (
    MIN_MODEL_SIDE,
    flop_coefficients,
    forward_gflop,
    interactive_gflop_budget,
    max_side_for_budget,
)
from inpaint_core.engine import InpaintEngine, InpaintRequest
from inpaint_core.errors import InpaintError
from inpaint_core.model import GeneratorConfig
from tests.conftest import TEST_CNUM
from tests.helpers.photos import synthetic_photo


@pytest.mark.parametrize("config", [GeneratorConfig(), GeneratorConfig(cnum=24, guide_channel=True)])
@pytest.mark.parametrize(("height", "width"), [(400, 400), (320, 512), (72, 136), (1024, 1024)])
def test_work_model_matches_the_counted_flops(config: GeneratorConfig, height: int, width: int) -> None:
    counted = count_generator_flops(config, height, width) / 1e9
    # Exact for the convolutions and the attention's two products; the banded attention adds a few single-row
    # matches (raw_one) at large sizes, well under 1%.
    assert forward_gflop(config, height, width) == pytest.approx(counted, rel=5e-3)


def test_work_grows_with_the_area_squared() -> None:
    a, b = flop_coefficients(GeneratorConfig())
    assert a > 0 and b > 0  # convolutions and attention both counted
    assert forward_gflop(GeneratorConfig(), 1024, 1024) > 4 * forward_gflop(GeneratorConfig(), 512, 512)


def test_side_for_budget_is_the_largest_that_fits() -> None:
    config = GeneratorConfig()
    box = Box(0, 0, 400, 400)  # the window around a 200 px hole
    assert max_side_for_budget(box, 512, 1e6, config) == 400  # no limit: the window's own size, not enlarged
    for budget in (20.0, 60.0, 120.0):
        side = max_side_for_budget(box, 512, budget, config)
        assert forward_gflop(config, *model_size(box, side)) <= budget
        assert forward_gflop(config, *model_size(box, side + 1)) > budget  # one more pixel would not fit
    assert max_side_for_budget(box, 512, 1e-3, config) == MIN_MODEL_SIDE  # never below the floor
    wide = Box(0, 0, 900, 300)
    side = max_side_for_budget(wide, 512, 60.0, config)
    h, w = model_size(wide, side)
    assert w == side and forward_gflop(config, h, w) <= 60.0


def test_device_budget_is_positive_and_scales_with_time() -> None:
    cpu = torch.device("cpu")
    from inpaint_core.budget import FIXED_OVERHEAD_S

    one = interactive_gflop_budget(cpu, "fp32", FIXED_OVERHEAD_S + 0.5)
    two = interactive_gflop_budget(cpu, "fp32", FIXED_OVERHEAD_S + 1.0)
    assert 0 < one < two
    assert two == pytest.approx(2 * one)  # (seconds - fixed overhead) x the same measured rate
    assert interactive_gflop_budget(cpu, "fp32", 0.0) == 0.0


def test_engine_lowers_the_model_size_to_the_budget(random_weights: Path) -> None:
    image = synthetic_photo(300, 400)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[100:180, 150:250] = 255
    engine = InpaintEngine()

    def request(max_gflop: float | None) -> InpaintRequest:
        return InpaintRequest(
            image=image,
            mask=mask,
            device="cpu",
            precision="fp32",
            weights=random_weights,
            max_gflop=max_gflop,
        )

    full = engine.run(request(None))
    config = GeneratorConfig(cnum=TEST_CNUM)
    budget = 0.5 * forward_gflop(config, *full.model_sizes[0])
    lowered = engine.run(request(budget))
    assert len(full.model_sizes) == len(lowered.model_sizes) == len(full.windows) == 1
    assert max(lowered.model_sizes[0]) < max(full.model_sizes[0])
    assert forward_gflop(config, *lowered.model_sizes[0]) <= budget
    assert np.array_equal(lowered.image[mask == 0], image[mask == 0])
    with pytest.raises(InpaintError, match="budget"):
        engine.run(request(0.0))


@pytest.mark.slow
def test_a_time_budget_becomes_this_devices_work_budget(random_weights: Path) -> None:
    """`max_seconds` (the editor's "Fast fills") turns into the FLOP budget the device manages in that time."""
    from inpaint_core.budget import FIXED_OVERHEAD_S

    image = synthetic_photo(300, 400)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[100:180, 150:250] = 255
    engine = InpaintEngine()

    def run(max_seconds: float | None, max_gflop: float | None = None) -> list[tuple[int, int]]:
        request = InpaintRequest(
            image=image,
            mask=mask,
            device="cpu",
            precision="fp32",
            weights=random_weights,
            max_seconds=max_seconds,
            max_gflop=max_gflop,
        )
        return engine.run(request).model_sizes

    full = run(None)
    # A sliver of time beyond the fixed overhead buys next to nothing: the floor side.
    tiny = run(FIXED_OVERHEAD_S + 1e-6)
    assert max(tiny[0]) == MIN_MODEL_SIDE < max(full[0])
    assert run(3600.0) == full  # an hour is no limit for one small window
    assert run(FIXED_OVERHEAD_S + 1e-6, max_gflop=1e6) == full  # an explicit work budget wins
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InpaintError, match="time budget"):
            run(bad)
