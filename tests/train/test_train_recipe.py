"""The phase-1/phase-2 recipe pieces: presets, the hole L1, the lr schedule keyed to samples, EMA, clipping, the
GAN-free step, and the time budget."""

from __future__ import annotations

import math

import pytest
import torch

from inpaint_core.train.budget import TimeBudget
from inpaint_core.train.config import ConfigError, TrainConfig
from inpaint_core.train.ema import ModelEma
from inpaint_core.train.loop import StepModels, build_models, build_optimizers, train_step
from inpaint_core.train.losses import hole_l1
from inpaint_core.train.presets import PRESETS, preset_config
from inpaint_core.train.schedule import learning_rate


def test_presets_hold_the_issue_recipe() -> None:
    assert preset_config("published") == TrainConfig()
    p1, p2 = preset_config("phase1"), preset_config("phase2")
    assert (p1.l1_mode, p1.l1_known_weight, p1.gan_alpha) == ("hole", 0.2, 0.0)
    assert (p1.beta1, p1.beta2, p1.lr, p1.warmup_samples, p1.lr_schedule) == (
        0.9,
        0.99,
        5e-4,
        300 * 64,
        "cosine",
    )
    assert p1.batch >= 64 and (p1.grad_clip, p1.ema) == (1.0, 0.999)
    assert (p1.pipeline, p1.amp, p1.channels_last, p1.compile) == ("device", True, True, True)
    assert (p2.gan_loss, p2.gan_alpha, p2.lr, p2.beta1, p2.l1_mode) == ("hinge", 0.1, 1e-4, 0.5, "hole")
    assert set(PRESETS) == {"published", "phase1", "phase2"}
    with pytest.raises(ConfigError):
        preset_config("phase3")
    with pytest.raises(ConfigError):
        TrainConfig(lr_schedule="cosine")  # needs schedule_samples


def test_hole_l1_by_hand() -> None:
    target = torch.zeros(1, 3, 2, 2)
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    mask = torch.tensor([1.0, 0.0, 0.0, 1.0]).view(1, 1, 2, 2)
    # hole pixels 1 and 4 -> mean 2.5; known pixels 2 and 3 -> mean 2.5, weighted 0.2
    assert float(hole_l1(pred, target, mask, 0.2)) == pytest.approx(2.5 + 0.2 * 2.5)
    assert float(hole_l1(pred, target, torch.zeros_like(mask), 0.2)) == pytest.approx(0.2 * 2.5)
    # the hole term is a mean over hole pixels: a small hole weighs as much per pixel as a large one
    big = torch.ones(1, 1, 2, 2)
    assert float(hole_l1(pred, target, big, 0.0)) == pytest.approx(2.5)


def test_lr_warms_up_then_follows_a_cosine_of_the_samples() -> None:
    cfg = preset_config("phase1").replace(schedule_samples=300 * 64 + 10_000 * 64, lr_min_ratio=0.0)

    def lr(samples: int, step: int = 1000, fresh: bool = False) -> float:
        return learning_rate(cfg, samples, 64, step, fresh)

    assert lr(0) == pytest.approx(5e-4 / 300)  # step 1 of the warm-up
    assert lr(149 * 64) == pytest.approx(5e-4 * 150 / 300)
    assert lr(299 * 64) == pytest.approx(5e-4)  # step 300: warm-up done
    half = (300 + 5000) * 64 - 64
    assert lr(half) == pytest.approx(5e-4 * 0.5, rel=1e-6)  # halfway through the cosine
    assert lr(cfg.schedule_samples * 2) == pytest.approx(0.0, abs=1e-12)  # and it stays at the floor
    # keyed to samples, not steps: another batch size at the same sample count gets the same lr
    assert learning_rate(cfg, half + 64 - 128, 128, 7, False) == pytest.approx(lr(half), rel=1e-6)
    # after a warm start the fresh Adam gets its lr ramped over rewarm_steps of the call
    assert lr(half, step=1, fresh=True) == pytest.approx(lr(half) / cfg.rewarm_steps)
    assert lr(half, step=cfg.rewarm_steps, fresh=True) == pytest.approx(lr(half))
    assert learning_rate(TrainConfig(), 10**9, 16, 1, True) == 1e-4  # published: constant


def test_ema_follows_the_weights() -> None:
    net = torch.nn.Linear(3, 2)
    ema = ModelEma(net, decay=0.999)
    before = ema.module.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net, step=1000)  # decay_t = min(0.999, 1001/1010) = 0.991...
    d = min(0.999, 1001 / 1010)
    torch.testing.assert_close(ema.module.weight, d * before + (1 - d) * net.weight.detach())
    assert not ema.module.weight.requires_grad


def tiny_batch(size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    image = torch.rand(2, 3, size, size) * 2 - 1
    mask = torch.zeros(2, 1, size, size)
    mask[..., 16:40, 20:44] = 1
    return image, mask, torch.zeros_like(mask)


def test_phase1_step_has_no_discriminator_and_clips_the_gradient() -> None:
    config = preset_config("phase1").replace(size=64, batch=2, cnum=8, d_cnum=8, grad_clip=1e-3)
    generator, discriminator = build_models(config)
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    d_before = {k: v.clone() for k, v in discriminator.state_dict().items()}
    g_before = generator.coarse.conv1.conv.weight.detach().clone()
    terms = train_step(
        StepModels(generator, discriminator, discriminator, opt_g, opt_d), *tiny_batch(), config
    )
    assert set(terms) == {"g_loss", "l1_coarse", "l1_fine", "grad_norm"}
    assert float(terms["grad_norm"]) > 1e-3  # the norm before clipping, logged
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in generator.parameters()]))
    assert float(clipped) <= 1e-3 * (1 + 1e-4)  # what Adam got
    assert not torch.equal(g_before, generator.coarse.conv1.conv.weight)
    assert all(torch.equal(d_before[k], v) for k, v in discriminator.state_dict().items())
    assert all(p.grad is None for p in discriminator.parameters())


def test_phase2_step_trains_both() -> None:
    config = preset_config("phase2").replace(size=64, batch=2, cnum=8, d_cnum=8)
    generator, discriminator = build_models(config)
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    d_before = discriminator.convs[0].parametrizations.weight.original.detach().clone()
    terms = train_step(
        StepModels(generator, discriminator, discriminator, opt_g, opt_d), *tiny_batch(), config
    )
    assert {"d_loss", "g_adv", "g_loss"} <= set(terms) and all(
        math.isfinite(float(v)) for v in terms.values()
    )
    assert not torch.equal(d_before, discriminator.convs[0].parametrizations.weight.original)
    expected = terms["l1_coarse"] + terms["l1_fine"] + 0.1 * terms["g_adv"]
    assert float(terms["g_loss"]) == pytest.approx(float(expected), rel=1e-5)


def test_time_budget_keeps_room_for_the_tail() -> None:
    now = [0.0]
    budget = TimeBudget(deadline=200.0, margin_s=5.0, clock=lambda: now[0])
    now[0] += 90.0  # the first step compiles: it must not count as a step time
    budget.step_done()
    assert budget.step_s == 0.0 and not budget.exhausted()
    for _ in range(5):  # steps of 2 s
        now[0] += 2.0
        budget.step_done()
    assert budget.step_s == pytest.approx(2.0) and not budget.exhausted()
    budget.tail_done(8.0)  # a checkpoint took 8 s: reserve = 5 + 12 + 6
    now[0] = 200.0 - 24.0
    assert not budget.exhausted()
    now[0] = 200.0 - 22.0
    assert budget.exhausted()
