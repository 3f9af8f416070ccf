"""Warm start from weight files alone: the carry set's format, and a chain of runs that continues one schedule."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from inpaint_core.train.checkpoint import CheckpointError
from inpaint_core.train.loop import CARRY_DIR, RunFolderError, build_models, train
from inpaint_core.train.presets import preset_config
from inpaint_core.train.schedule import learning_rate
from inpaint_core.train.warm import D_FILE, EMA_FILE, G_FILE, load_warm_start, save_carry_set
from inpaint_core.weights import load_generator
from tests.train.tiny_pack import TINY_RECIPE, make_pack


def rows(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_carry_set_round_trip(tmp_path: Path) -> None:
    config = preset_config("phase2").replace(**TINY_RECIPE)
    generator, discriminator = build_models(config)
    ema, _ = build_models(config.replace(seed=1))
    written = save_carry_set(tmp_path, generator, ema, discriminator, step=12, samples=345, config=config)
    assert [p.name for p in written] == [G_FILE, EMA_FILE, D_FILE]
    warm = load_warm_start(tmp_path)
    assert (warm.step, warm.samples, warm.generator_config.cnum) == (12, 345, 8)
    for key, value in generator.state_dict().items():  # G travels in fp32: exact
        assert torch.equal(warm.generator[key], value)
    assert warm.ema is not None and warm.discriminator is not None
    for key, value in ema.state_dict().items():  # the EMA and D in fp16
        torch.testing.assert_close(warm.ema[key], value, atol=1e-3, rtol=1e-3)
    for key, value in discriminator.state_dict().items():
        torch.testing.assert_close(warm.discriminator[key], value, atol=1e-3, rtol=1e-3)
    # G and its EMA are ordinary weights files (the EMA one is the shipping format)
    assert load_generator(tmp_path / EMA_FILE).config.guide_channel
    (tmp_path / D_FILE).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError):
        load_warm_start(tmp_path)
    with pytest.raises(CheckpointError, match="nothing to warm-start"):
        load_warm_start(tmp_path / "empty")


@pytest.mark.slow
def test_a_chain_of_warm_starts_follows_one_schedule(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    p1 = preset_config("phase1").replace(
        data=(str(pack),), **TINY_RECIPE, steps=4, schedule_samples=200, warmup_samples=8, rewarm_steps=2
    )
    train(p1, tmp_path / "a", device="cpu")
    carry = tmp_path / "a" / CARRY_DIR
    assert sorted(p.name for p in carry.iterdir()) == [G_FILE, EMA_FILE]  # phase 1 trains no D
    first = rows(tmp_path / "a")
    assert first[0]["step"] == 0 and "val_psnr" in first[0]  # validated before the first step
    end_psnr = first[-1]["val_psnr"]

    # call 2: weights only, fresh Adam; counters go on from step 4 / 16 samples
    result = train(p1.replace(steps=7), tmp_path / "b", device="cpu", warm=carry)
    second = rows(tmp_path / "b")
    assert second[0]["step"] == 4 and second[0]["samples"] == 16
    assert second[0]["val_psnr"] == pytest.approx(end_psnr, abs=0.05)  # the same EMA, via fp16
    assert (result.step, result.samples) == (7, 28)
    logged = {int(r["step"]): r["lr"] for r in second if "lr" in r}
    assert logged
    for step, lr in logged.items():  # the schedule continues from the global sample count, re-warmed
        assert lr == pytest.approx(learning_rate(p1, (step - 1) * 4, 4, step - 4, True))

    # phase 2 from phase 1's weights: a fresh D, which then travels too
    p2 = preset_config("phase2").replace(data=(str(pack),), **TINY_RECIPE, steps=9)
    train(p2, tmp_path / "c", device="cpu", warm=tmp_path / "b" / CARRY_DIR)
    assert (tmp_path / "c" / CARRY_DIR / D_FILE).is_file()
    warm = load_warm_start(tmp_path / "c" / CARRY_DIR)
    assert (warm.step, warm.samples) == (9, 36) and warm.discriminator is not None


def test_warm_start_refuses_what_does_not_fit(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    config = preset_config("phase1").replace(data=(str(pack),), **TINY_RECIPE, steps=2)
    generator, _ = build_models(config.replace(cnum=12))
    save_carry_set(tmp_path / "wide", generator, None, None, step=1, samples=4, config=config)
    with pytest.raises(CheckpointError, match="cnum 12"):
        train(config, tmp_path / "r1", device="cpu", warm=tmp_path / "wide")
    with pytest.raises(RunFolderError, match="resume"):
        train(config, tmp_path / "r2", device="cpu", warm=tmp_path / "wide", resume=True)


@pytest.mark.slow
def test_time_budget_ends_a_run_cleanly(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    config = preset_config("phase2").replace(data=(str(pack),), **TINY_RECIPE, ckpt_every_s=2.0)
    budget = 12.0
    t0 = time.monotonic()
    result = train(config, tmp_path / "run", device="cpu", deadline=t0 + budget, margin_s=2.0)
    took = time.monotonic() - t0
    assert result.stopped_early and 0 < result.step < config.steps
    # it stopped by itself (steps is 10 million); the reserve's arithmetic is tested with a fake clock in
    # test_train_recipe, as a shared 2-core CPU can stall a single step for 10 s
    assert took < 3 * budget
    assert result.export is not None and load_generator(result.export).config.cnum == 8
    assert (tmp_path / "run" / CARRY_DIR / D_FILE).is_file()
    assert rows(tmp_path / "run")[-1]["step"] == result.step


def test_a_spent_budget_trains_nothing_but_hands_the_weights_on(tmp_path: Path) -> None:
    pack = make_pack(tmp_path)
    config = preset_config("phase1").replace(data=(str(pack),), **TINY_RECIPE, steps=5)
    train(config.replace(steps=2), tmp_path / "a", device="cpu")
    warm = tmp_path / "a" / CARRY_DIR
    result = train(config, tmp_path / "b", device="cpu", warm=warm, deadline=time.monotonic() - 1.0)
    assert (result.step, result.samples, result.stopped_early) == (2, 8, True)
    again = load_warm_start(tmp_path / "b" / CARRY_DIR)
    assert again.step == 2 and all(
        torch.equal(again.generator[k], v) for k, v in load_warm_start(warm).generator.items()
    )
