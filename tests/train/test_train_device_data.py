"""The device pipeline: crops against cv2's bilinear resize, per-step determinism, the mask bank, the guide."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inpaint_core.train.config import TrainConfig
from inpaint_core.train.device_data import DeviceBatches, PhotoBank
from tests.helpers.photos import synthetic_photo

CPU = torch.device("cpu")


def photos() -> list[np.ndarray]:
    return [synthetic_photo(80, 80 + 16 * i, seed=i) for i in range(3)] + [synthetic_photo(100, 80, seed=9)]


def test_crops_match_a_bilinear_reference() -> None:
    pics = photos()
    bank = PhotoBank(pics, CPU)
    cases = [(2, 64, 5, 30, False), (2, 80, 0, 0, True), (3, 72, 20, 3, False), (0, 64, 16, 16, True)]
    index, side, top, left, flip = (torch.tensor(v) for v in zip(*cases, strict=True))
    crops = bank.crops(index, side, top, left, flip, 64).permute(0, 2, 3, 1).numpy()  # (B, 64, 64, 3)
    for (i, s, t, lft, fl), crop in zip(cases, crops, strict=True):
        patch = pics[i][t : t + s, lft : lft + s].astype(np.float32)
        ref = cv2.resize(patch, (64, 64), interpolation=cv2.INTER_LINEAR)  # pixel-centre mapping, as ours
        if fl:
            ref = ref[:, ::-1]
        np.testing.assert_allclose(crop, ref, atol=0.02)
    # scale 1 is a plain copy
    assert np.array_equal(crops[0], pics[2][5:69, 30:94].astype(np.float32))


def tiny(**changes: object) -> TrainConfig:
    base = {"size": 64, "batch": 6, "mask_bank": 32, "pipeline": "device", "guide_drop": 0.5}
    return TrainConfig(**{**base, **changes})  # type: ignore[arg-type]


def test_batches_are_a_function_of_the_step() -> None:
    source = DeviceBatches(photos(), tiny(), CPU, bank_key=0)
    a, b, c = source.batch(7), source.batch(7), source.batch(8)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[1], c[1])
    # a new process (same seed, same bank key) draws the same batch: resume and DDP ranks rely on it
    again = DeviceBatches(photos(), tiny(), CPU, bank_key=0).batch(7)
    assert all(torch.equal(x, y) for x, y in zip(a, again, strict=True))
    other_rank = DeviceBatches(photos(), tiny(), CPU, bank_key=0, rank=1).batch(7)
    assert not torch.equal(a[0], other_rank[0])


def test_batch_contents() -> None:
    image, mask, guide = DeviceBatches(photos(), tiny(batch=32), CPU, bank_key=3).batch(0)
    assert image.shape == (32, 3, 64, 64) and mask.shape == guide.shape == (32, 1, 64, 64)
    assert image.dtype == mask.dtype == guide.dtype == torch.float32
    assert float(image.min()) >= -1.0 and float(image.max()) <= 1.0
    assert set(mask.unique().tolist()) <= {0.0, 1.0} and set(guide.unique().tolist()) <= {0.0, 1.0}
    assert float((guide * (1 - mask)).sum()) == 0.0  # strokes only inside the hole
    guided = (guide.flatten(1).sum(1) > 0).float().mean()
    assert 0.2 < float(guided) < 0.8  # about half the samples keep their guide (guide_drop 0.5)
    holes = mask.flatten(1).mean(1)
    assert float(holes.min()) > 0.02 and float(holes.max()) < 0.8
    _, _, none = DeviceBatches(photos(), tiny(guide_channel=False), CPU, bank_key=3).batch(0)
    assert float(none.sum()) == 0.0


def test_mask_bank_changes_with_its_key_and_turns_masks() -> None:
    a = DeviceBatches(photos(), tiny(), CPU, bank_key=0).bank
    b = DeviceBatches(photos(), tiny(), CPU, bank_key=100).bank
    assert a.shape == (32, 1, 64, 64) and a.dtype == torch.uint8 and not torch.equal(a, b)


def test_photos_smaller_than_the_crop_are_refused() -> None:
    with pytest.raises(ValueError, match="short side"):
        DeviceBatches([synthetic_photo(40, 90)], tiny(), CPU, bank_key=0)
