"""torch.compile and bf16 autocast on the CPU, so a capture or dtype error shows in CI and not on a lent GPU.

The backend is "aot_eager": TorchDynamo captures the same graphs and AOTAutograd builds the same joint
forward/backward graphs as with inductor, but no kernels are generated (a cold inductor compile of the
generator takes minutes on a 2-core CPU; on the GPU, a failing inductor compile falls back to eager, loop.py).
This CPU has native bf16 (avx512_bf16), so the autocast runs real bf16 convolutions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inpaint_core.model import DeepFillV2Generator, DiscriminatorConfig, GeneratorConfig, SNPatchDiscriminator
from inpaint_core.train.config import ConfigError
from inpaint_core.train.loop import CARRY_DIR, StepModels, build_models, build_optimizers, train, train_step
from inpaint_core.train.presets import preset_config
from inpaint_core.train.warm import load_warm_start
from tests.train.tiny_pack import TINY_RECIPE, make_pack


def inputs(batch: int = 2, size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    image = (torch.rand(batch, 3, size, size) * 2 - 1).contiguous(memory_format=torch.channels_last)
    mask = torch.zeros(batch, 1, size, size)
    mask[..., 12:40, 20:48] = 1
    guide = torch.zeros_like(mask)
    guide[..., 30, 20:48] = 1
    return image, mask, guide


def test_generator_and_discriminator_compile_in_one_graph_each() -> None:
    # fullgraph=True fails on any graph break (a .item(), a data-dependent branch): each would cost speed
    torch._dynamo.reset()
    g = DeepFillV2Generator(GeneratorConfig(cnum=8, guide_channel=True))
    d = SNPatchDiscriminator(DiscriminatorConfig(cnum=8))
    image, mask, guide = inputs()
    out = torch.compile(g, backend="eager", fullgraph=True, dynamic=False)(
        image * (1 - mask), mask, guide=guide
    )
    scores = torch.compile(d, backend="eager", fullgraph=True, dynamic=False)(out.fine, mask)
    (out.fine.mean() + scores.mean()).backward()
    assert (
        g.coarse.conv1.conv.weight.grad is not None
        and d.convs[0].parametrizations.weight.original.grad is not None
    )


@pytest.mark.parametrize("phase", ["phase1", "phase2"])
def test_compiled_bf16_channels_last_step(phase: str) -> None:
    torch._dynamo.reset()
    config = preset_config(phase).replace(size=64, batch=2, cnum=8, d_cnum=8)
    generator, discriminator = build_models(config)
    generator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    discriminator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    g_run = torch.compile(generator, backend="aot_eager", dynamic=False)
    d_run = torch.compile(discriminator, backend="aot_eager", dynamic=False)
    models = StepModels(g_run, d_run, d_run, opt_g, opt_d)
    image, mask, guide = inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert g_run(image, mask, guide=guide).fine.dtype == torch.bfloat16  # autocast reaches the convs
    before = generator.refine.allconv17.conv.weight.detach().clone()

    def bf16() -> torch.autocast:
        return torch.autocast("cpu", dtype=torch.bfloat16)

    history = [train_step(models, image, mask, guide, config, bf16) for _ in range(2)]
    assert all(torch.isfinite(v).all() for terms in history for v in terms.values())
    assert all(v.dtype == torch.float32 for v in history[-1].values())  # losses in fp32 under autocast
    assert ("d_loss" in history[0]) == (phase == "phase2")
    assert not torch.equal(before, generator.refine.allconv17.conv.weight)
    assert generator.refine.allconv17.conv.weight.dtype == torch.float32  # master weights stay fp32


@pytest.mark.slow
def test_train_loop_compiled_in_bf16(tmp_path: Path) -> None:
    # the loop's own wiring: compile (G and D), bf16 autocast, EMA, clipping, device pipeline, carry set
    torch._dynamo.reset()
    pack = make_pack(tmp_path)
    recipe = {**TINY_RECIPE, "compile": True, "compile_backend": "aot_eager", "amp_on_cpu": True}
    config = preset_config("phase2").replace(data=(str(pack),), **recipe, steps=3)
    result = train(config, tmp_path / "run", device="cpu")
    assert result.compile_error is None and result.step == 3
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 3 and all(key in rows[-1] for key in ("d_loss", "grad_norm", "val_psnr"))
    assert load_warm_start(tmp_path / "run" / CARRY_DIR).discriminator is not None


def test_a_failing_compile_falls_back_to_eager(tmp_path: Path) -> None:
    from torch._dynamo import register_backend

    @register_backend(name="fails_for_test")  # type: ignore[misc]
    def fails_for_test(gm: torch.fx.GraphModule, example_inputs: list[torch.Tensor]) -> None:
        raise RuntimeError("a code generator that cannot lower this graph")

    torch._dynamo.reset()
    pack = make_pack(tmp_path)
    recipe = {**TINY_RECIPE, "compile": True, "compile_backend": "fails_for_test"}
    config = preset_config("phase1").replace(data=(str(pack),), **recipe, steps=2)
    result = train(config, tmp_path / "run", device="cpu")
    assert result.step == 2 and result.compile_error is not None and "cannot lower" in result.compile_error
    with pytest.raises(ConfigError, match="backend"):
        train(config.replace(compile_backend="no-such-backend"), tmp_path / "run2", device="cpu")
