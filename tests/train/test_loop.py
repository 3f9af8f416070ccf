"""The training step and loop: overfitting one batch, exact resume, per-sample determinism, loss options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_core.errors import Remedy
from inpaint_core.train.checkpoint import load_checkpoint
from inpaint_core.train.config import ConfigError, TrainConfig
from inpaint_core.train.data import DevicePhotos, PhotoSource, TrainSamples, batch_indices, to_model_inputs
from inpaint_core.train.loop import StepModels, build_models, build_optimizers, train, train_step
from inpaint_core.train.losses import discounted_weight
from tests.helpers.photos import write_photos
from tests.train.conftest import tiny_config


def _fixed_batch(config: TrainConfig, folder: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ds = TrainSamples(PhotoSource(sorted(folder.iterdir()), 80), config)
    items = [ds[i] for i in range(2)]
    return to_model_inputs(*(torch.stack(t) for t in zip(*items, strict=True)), torch.device("cpu"))


@pytest.mark.slow
def test_overfits_one_batch(tmp_path: Path) -> None:
    # a high lr and a light adversarial term: a cnum-8 net needs ~20 steps to move the L1 noticeably
    config = tiny_config(write_photos(tmp_path / "p"), lr=3e-3, gan_alpha=0.1)
    image, mask, guide = _fixed_batch(config, tmp_path / "p")
    generator, discriminator = build_models(config)
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    models = StepModels(generator, discriminator, discriminator, opt_g, opt_d)
    history = [train_step(models, image, mask, guide, config) for _ in range(22)]
    assert all(torch.isfinite(v) for terms in history for v in terms.values())
    l1 = [float(t["l1_coarse"] + t["l1_fine"]) for t in history]
    assert np.mean(l1[-3:]) < 0.88 * l1[0]


def test_v1_options_run(tmp_path: Path) -> None:
    config = tiny_config(write_photos(tmp_path / "p"), gan_loss="wgan-gp", l1_mode="discounted")
    image, mask, guide = _fixed_batch(config, tmp_path / "p")
    generator, discriminator = build_models(config)
    before = generator.coarse.conv1.conv.weight.detach().clone()
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    terms = train_step(
        StepModels(generator, discriminator, discriminator, opt_g, opt_d), image, mask, guide, config
    )
    assert all(torch.isfinite(v) for v in terms.values())
    assert not torch.equal(before, generator.coarse.conv1.conv.weight)


@pytest.mark.slow
def test_resume_is_exact(tmp_path: Path) -> None:
    data = write_photos(tmp_path / "p")
    train(tiny_config(data, steps=4), tmp_path / "a", device="cpu")
    train(tiny_config(data, steps=2), tmp_path / "b", device="cpu")
    train(tiny_config(data, steps=4), tmp_path / "b", device="cpu", resume=True)
    a = load_checkpoint(tmp_path / "a" / "ckpt_00000004.pt")
    b = load_checkpoint(tmp_path / "b" / "ckpt_00000004.pt")
    for part in ("G", "D"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key}"
    assert torch.equal(a["opt_G"]["state"][0]["exp_avg"], b["opt_G"]["state"][0]["exp_avg"])
    start = load_checkpoint(tmp_path / "b" / "ckpt_00000002.pt")
    assert not torch.equal(start["G"]["coarse.conv1.conv.weight"], b["G"]["coarse.conv1.conv.weight"])
    # the metrics log of the resumed run lists each step once
    steps = [
        int(line.split(",")[0]) for line in (tmp_path / "b" / "metrics.csv").read_text().splitlines()[1:]
    ]
    assert steps == [1, 2, 3, 4]


def test_refuses_to_reuse_a_run_folder(tmp_path: Path) -> None:
    from inpaint_core.train.loop import RunFolderError

    data = write_photos(tmp_path / "p")
    train(tiny_config(data, steps=1), tmp_path / "a", device="cpu")
    with pytest.raises(RunFolderError) as held:
        train(tiny_config(data, steps=1), tmp_path / "a", device="cpu")
    assert held.value.remedy == Remedy.RESUME_OR_NEW_RUN and "--" not in str(held.value)
    with pytest.raises(RunFolderError):
        train(tiny_config(data, steps=1), tmp_path / "empty", device="cpu", resume=True)


def test_samples_are_a_function_of_the_index(tmp_path: Path) -> None:
    config = tiny_config(write_photos(tmp_path / "p"))
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((tmp_path / "p").iterdir())]
    ds = TrainSamples(PhotoSource(photos, 80), config)
    a, b = ds[5], ds[5]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(ds[6][1], a[1])  # another index, another mask
    # the on-device path draws the same crops and masks for the same indices
    from inpaint_core.image_ops import resize_short_side

    dev = DevicePhotos([resize_short_side(p, 80) for p in photos], config, torch.device("cpu"))
    images, masks, _ = dev.batch([5, 6])
    assert torch.equal(masks[0], a[1])
    assert (images[0].int() - a[0].int()).abs().float().mean() < 4  # bilinear-antialias vs area resize
    assert batch_indices(3, 1, 2, 4) == [28, 29, 30, 31]


def test_discounted_weight_matches_v1_on_a_rectangle() -> None:
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 2:14] = 1
    w = discounted_weight(mask, 0.9)
    h, wd = 8, 12
    for i in range(h):
        for j in range(wd):
            # v1: max(gamma^min(i, H-1-i), gamma^min(j, W-1-j)) over the hole patch (distance to its border)
            expected = max(0.9 ** min(i, h - 1 - i), 0.9 ** min(j, wd - 1 - j))
            assert float(w[0, 0, 4 + i, 2 + j]) == pytest.approx(expected, rel=1e-5)
    assert float(w[0, 0, 0, 0]) == 1.0


def test_config_json_round_trip_and_validation(tmp_path: Path) -> None:
    config = TrainConfig(data=("a", "b"), steps=7, gan_loss="wgan-gp")
    config.save(tmp_path / "c.json")
    assert TrainConfig.load(tmp_path / "c.json") == config
    assert TrainConfig() == TrainConfig.from_json(TrainConfig().to_json())
    assert (TrainConfig().size, TrainConfig().batch, TrainConfig().lr) == (256, 16, 1e-4)
    assert (TrainConfig().beta1, TrainConfig().beta2, TrainConfig().guide_channel) == (0.5, 0.999, True)
    with pytest.raises(ConfigError):
        TrainConfig(size=100)
    with pytest.raises(ConfigError):
        TrainConfig.from_json('{"nope": 1}')
