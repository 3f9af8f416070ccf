"""Inference from weights converted once (`model.inference.for_inference(model, precision)`), and the "auto" precision.

bf16 runs on any CPU (emulated where there is no native bf16, slowly), so these tests use small sizes and run
everywhere; the speed itself is measured by `bench speed`, not asserted here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core import precision as precision_mod
from inpaint_core.bench.flops import model_inputs
from inpaint_core.engine import InpaintEngine, InpaintRequest
from inpaint_core.errors import DeviceError
from inpaint_core.model import DeepFillV2Generator, GatedConv2d, GeneratorConfig
from inpaint_core.model.inference import for_inference
from inpaint_core.precision import MANIFEST_BF16_LOSS_KEY, resolve_precision
from tests.conftest import TEST_CNUM
from tests.helpers.photos import synthetic_photo

CPU = torch.device("cpu")


def _model(cnum: int = TEST_CNUM, seed: int = 0) -> DeepFillV2Generator:
    torch.manual_seed(seed)
    return DeepFillV2Generator(GeneratorConfig(cnum=cnum))


def test_prepared_fp32_equals_the_training_path() -> None:
    model = _model()
    image, mask, _ = model_inputs(64)
    reference = model(image, mask)  # autograd on: the plain fp32 layers, out-of-place gating
    for_inference(model, "fp32")
    with torch.inference_mode():
        fast = model(image, mask)
    torch.testing.assert_close(fast.fine, reference.fine.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast.coarse, reference.coarse.detach(), rtol=1e-5, atol=1e-5)


def test_bf16_outputs_float32_and_stays_close_to_fp32() -> None:
    model = _model(cnum=16)
    fp32 = for_inference(copy.deepcopy(model), "fp32")
    bf16 = for_inference(copy.deepcopy(model), "bf16")
    image, mask, _ = model_inputs(64, batch=2)
    with torch.inference_mode():
        a, b = fp32(image, mask), bf16(image, mask)
    assert b.fine.dtype == b.coarse.dtype == torch.float32  # the boundary convention holds in bf16
    assert torch.isfinite(b.fine).all()
    for x, y in ((a.fine, b.fine), (a.coarse, b.coarse)):
        rel = ((x - y).norm() / x.norm()).item()
        assert (
            0 < rel < 0.03
        )  # really ran in bf16 (not bit-identical), yet close (measured ~0.005 at cnum 48)


def test_preparation_leaves_the_state_dict_and_training_alone() -> None:
    model = _model()
    keys = list(model.state_dict())
    for_inference(model, "bf16")
    assert list(model.state_dict()) == keys
    assert all(v.dtype == torch.float32 for v in model.state_dict().values())
    image, mask, _ = model_inputs(32)
    out = model(image, mask)  # autograd on: the fp32 parameters, differentiable
    out.fine.square().mean().backward()
    assert model.coarse.conv1.conv.weight.grad is not None


def test_weights_are_converted_once_not_per_call() -> None:
    model = for_inference(_model(), "bf16")
    layer = model.coarse.conv5
    assert isinstance(layer, GatedConv2d)
    image, mask, _ = model_inputs(32)
    with torch.inference_mode():
        model(image, mask)
        first = layer._inference
        model(image, mask)
    assert first is not None and layer._inference is first
    assert first.feature[0].dtype == torch.bfloat16
    assert first.feature[0].is_contiguous(memory_format=torch.channels_last)


def test_converted_weights_follow_a_later_load() -> None:
    model = for_inference(_model(seed=0), "fp32")
    other = _model(seed=1)
    image, mask, _ = model_inputs(32)
    with torch.inference_mode():
        before = model(image, mask).fine
    model.load_state_dict(other.state_dict())  # in place: new values, same parameter objects
    with torch.inference_mode():
        after = model(image, mask).fine
        expected = for_inference(other, "fp32")(image, mask).fine
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, expected)


def _manifest(tmp_path: Path, loss: float | None) -> Path:
    weights = tmp_path / "shipped.safetensors"
    weights.write_bytes(b"x")
    entry: dict[str, object] = {"file": weights.name, "sha256": "0" * 64}
    if loss is not None:
        entry[MANIFEST_BF16_LOSS_KEY] = loss
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"default": entry}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("loss", "native", "expected"),
    [
        (None, True, "fp32"),  # nothing measured: fp32
        (0.05, True, "bf16"),  # measured within 0.1 dB on a CPU with native bf16
        (0.1, True, "bf16"),
        (0.25, True, "fp32"),  # measured, too lossy
        (0.05, False, "fp32"),  # allowed, but emulated bf16 would be slow here
    ],
)
def test_auto_precision_follows_the_manifest_and_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loss: float | None, native: bool, expected: str
) -> None:
    monkeypatch.setattr("inpaint_core.manifest.MANIFEST", _manifest(tmp_path, loss))
    monkeypatch.setattr(precision_mod, "cpu_has_native_bf16", lambda: native)
    assert resolve_precision("auto", CPU) == expected
    assert resolve_precision("auto", CPU, tmp_path / "shipped.safetensors") == expected  # the shipped file
    assert resolve_precision("auto", CPU, tmp_path / "mine.safetensors") == "fp32"  # a user's: unmeasured
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"  # explicit choices pass through


def test_unknown_precision_and_malformed_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DeviceError, match="unknown precision"):
        resolve_precision("int8", CPU)
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"default": {"file": "w", "sha256": "0" * 64, MANIFEST_BF16_LOSS_KEY: "x"}}))
    monkeypatch.setattr("inpaint_core.manifest.MANIFEST", bad)
    with pytest.raises(precision_mod.WeightsError, match="malformed"):
        resolve_precision("auto", CPU)


def test_engine_runs_bf16_and_auto(
    random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inpaint_core.manifest.MANIFEST", _manifest(tmp_path, None))
    # 16 bits: a random model's bf16 rounding (~1e-3) is below one 8-bit level but many 16-bit ones.
    image = synthetic_photo(96, 120).astype(np.uint16) * 257
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[30:60, 40:80] = 255
    engine = InpaintEngine()
    results = {}
    for prec in ("auto", "fp32", "bf16"):
        request = InpaintRequest(image=image, mask=mask, device="cpu", precision=prec, weights=random_weights)
        results[prec] = engine.run(request).image
        assert np.array_equal(results[prec][mask == 0], image[mask == 0])
    assert np.array_equal(results["auto"], results["fp32"])  # no manifest measurement: auto is fp32
    diff = np.abs(results["bf16"].astype(int) - results["fp32"].astype(int))
    assert 0 < diff.max() <= 8 * 257  # bf16 really ran, and stayed close


def test_bf16_attention_alone_with_the_overlay() -> None:
    """The layer in bf16 without autocast (the converted path): float32 softmax, bf16 products, the overlay map."""
    from inpaint_core.model.attention import ContextualAttention

    torch.manual_seed(0)
    x = torch.randn(1, 8, 12, 16).relu()
    mask = torch.zeros(1, 1, 12, 16)
    mask[..., 4:8, 4:10] = 1
    layer = ContextualAttention()
    with torch.inference_mode():
        y32, a32 = layer(x, x, mask, return_attention=True)
        y16, a16 = layer(x.bfloat16(), x.bfloat16(), mask.bfloat16(), return_attention=True)
    assert y16.dtype == torch.bfloat16
    assert a32 is not None and a16 is not None and a16.topk_weight.dtype == torch.float32
    assert ((y16.float() - y32).norm() / y32.norm()).item() < 0.02
    assert (a16.topk_index[:, 0] == a32.topk_index[:, 0]).float().mean() > 0.9  # the same best source mostly
