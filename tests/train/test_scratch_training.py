"""The scratch detector's training damage (restore/damage.py) and its short training run (train/scratch.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.errors import InpaintError
from inpaint_core.restore.damage import damaged_sample
from inpaint_core.restore.detector import load_detector
from inpaint_core.restore.synthetic import VISIBLE_CHANGE
from inpaint_core.train.scratch import (
    ScratchTrainConfig,
    batch_of,
    config_with,
    detector_loss,
    train_detector,
)
from tests.helpers.photos import synthetic_photo


def test_samples_are_seeded_and_carry_their_truth() -> None:
    photo = synthetic_photo(300, 400)
    a = damaged_sample(photo, np.random.default_rng(5), 96)
    b = damaged_sample(photo, np.random.default_rng(5), 96)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.truth, b.truth)
    assert a.image.shape == (96, 96, 3) and a.image.dtype == np.float32
    assert not (a.truth & a.unsure).any()
    damaged = [damaged_sample(photo, np.random.default_rng(s), 96) for s in range(30)]
    shares = [float(s.truth.mean()) for s in damaged]
    assert max(shares) > 0.001  # most prints are damaged ...
    assert min(shares) < max(shares)  # ... by different amounts


def test_truth_is_where_the_damage_is_visible() -> None:
    """Flat grey photo: every true pixel must differ visibly from the grey it was (before the scan's noise)."""
    flat = np.full((200, 200, 3), 128, np.uint8)
    for seed in range(10):
        sample = damaged_sample(flat, np.random.default_rng(seed), 64)
        if sample.truth.any():
            # scan noise is at most a few levels; a true pixel moved by VISIBLE_CHANGE before it
            grey = float(np.median(sample.image[~sample.truth & ~sample.unsure].mean(axis=1)))
            moved = np.abs(sample.image[sample.truth].mean(axis=1) - grey)
            assert np.median(moved) > VISIBLE_CHANGE / 2
            return
    pytest.fail("ten seeds made no damage at all")


def test_loss_ignores_unsure_pixels_and_rewards_the_truth() -> None:
    truth = torch.zeros(1, 1, 8, 8)
    truth[..., 3, :] = 1
    weight = torch.ones_like(truth)
    right = truth * 20 - 10
    assert float(detector_loss(right, truth, weight, 0.5)) < 0.05
    assert float(detector_loss(-right, truth, weight, 0.5)) > 5
    flagged = right.clone()
    flagged[..., 5, :] = 10  # a faint rim (row 5) called damage
    costly = float(detector_loss(flagged, truth, weight, 0.5))
    weight[..., 5, :] = 0  # ... but the rim is "unsure": calling it either way is free
    assert float(detector_loss(flagged, truth, weight, 0.5)) == pytest.approx(
        float(detector_loss(right, truth, weight, 0.5)), abs=1e-4
    )
    assert costly > 0.1


def test_batches_are_channels_last_and_match(monkeypatch: pytest.MonkeyPatch) -> None:
    photos = [synthetic_photo(200, 240, seed=s) for s in range(3)]
    images, truth, weight = batch_of(photos, np.random.default_rng(0), 4, 64)
    assert images.shape == (4, 3, 64, 64) and truth.shape == weight.shape == (4, 1, 64, 64)
    assert images.is_contiguous(memory_format=torch.channels_last)


def test_settings_are_checked() -> None:
    assert config_with(["batch=4", "lr=1e-3"]).batch == 4
    with pytest.raises(InpaintError, match="unknown"):
        config_with(["nope=1"])
    with pytest.raises(InpaintError, match="int"):
        config_with(["batch=four"])


def test_a_short_run_writes_a_calibrated_detector(tmp_path: Path) -> None:
    photos = [synthetic_photo(160, 200, seed=s) for s in range(4)]
    config = ScratchTrainConfig(size=64, batch=4, eval_every_s=1.0, val_samples=4, val_size=64)
    lines: list[str] = []
    final = train_detector(photos, photos[:2], tmp_path, 3.0, config, progress=lines.append)
    _model, threshold = load_detector(final, None)
    assert np.isfinite(threshold)
    assert (tmp_path / "scratch_ema.safetensors").is_file()
    rows = (tmp_path / "scratch_curve.csv").read_text().splitlines()
    assert rows[0].startswith("step,samples") and len(rows) >= 2
    assert any("wrote" in line for line in lines)
    # warm start from the result: the first validation row continues from the trained weights
    again = train_detector(
        photos, photos[:2], tmp_path / "warm", 1.0, config, warm=final, progress=lines.append
    )
    assert again.is_file()
