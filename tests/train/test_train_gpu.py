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


@pytest.mark.parametrize("phase", ["phase1", "phase2"])
def test_compiled_training_on_cuda(tmp_path: Path, phase: str) -> None:
    torch._dynamo.reset()
    pack = make_pack(tmp_path)
    recipe = {**TINY_RECIPE, "compile": True, "batch": 8}
    config = preset_config(phase).replace(data=(str(pack),), **recipe, steps=4)
    result = train(config, tmp_path / "run", device="cuda")
    assert result.compile_error is None, result.compile_error
    assert result.step == 4 and result.export is not None
