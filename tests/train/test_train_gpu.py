"""The GPU path on a CUDA device (skipped without one): inductor compile, bf16, channels_last, the device
pipeline. A lent GPU can run these in about a minute before a long call:
`python3 -m pytest -q -m gpu tests/train/test_train_gpu.py`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.train.canny import canny, grey_levels
from inpaint_core.train.loop import train
from inpaint_core.train.presets import preset_config
from tests.train.tiny_pack import TINY_RECIPE, make_pack

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_canny_on_cuda_matches_the_cpu() -> None:
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (4, 3, 96, 96)).astype(np.float32))
    images = torch.nn.functional.avg_pool2d(images, 5, 1, 2)  # some structure, not pure noise
    cpu = canny(grey_levels(images), 60, 140, 1.5)
    gpu = canny(grey_levels(images.cuda()), 60, 140, 1.5).cpu()
    assert torch.equal(cpu, gpu)


def test_a_step_never_waits_on_the_host() -> None:
    # sync debug mode raises on anything that makes the host wait for the GPU (.item(), a blocking copy...)
    from inpaint_core.train.device_data import DeviceBatches
    from inpaint_core.train.ema import ModelEma
    from inpaint_core.train.loop import StepModels, build_models, build_optimizers, train_step
    from tests.helpers.photos import synthetic_photo

    dev = torch.device("cuda")
    config = preset_config("phase2").replace(**{**TINY_RECIPE, "batch": 8})
    photos = [synthetic_photo(80, 96 + 8 * i, seed=i) for i in range(4)]
    source = DeviceBatches(photos, config, dev, bank_key=0)
    generator, discriminator = build_models(config)
    generator.to(dev)
    discriminator.to(dev)
    opt_g, opt_d = build_optimizers(config, generator, discriminator, fused=True)
    ema = ModelEma(generator, config.ema)
    models = StepModels(generator, discriminator, discriminator, opt_g, opt_d)

    def bf16() -> torch.autocast:
        return torch.autocast("cuda", dtype=torch.bfloat16)

    train_step(models, *source.batch(0), config, bf16)  # first step: allocations and cuDNN autotuning
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(1, 3):
            terms = train_step(models, *source.batch(step), config, bf16)
            ema.update(generator, step)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(torch.isfinite(v).all() for v in terms.values())


@pytest.mark.parametrize("phase", ["phase1", "phase2"])
def test_compiled_training_on_cuda(tmp_path: Path, phase: str) -> None:
    torch._dynamo.reset()
    pack = make_pack(tmp_path)
    recipe = {**TINY_RECIPE, "compile": True, "batch": 8}
    config = preset_config(phase).replace(data=(str(pack),), **recipe, steps=4)
    result = train(config, tmp_path / "run", device="cuda")
    assert result.compile_error is None, result.compile_error
    assert result.step == 4 and result.export is not None
