"""Weights: our safetensors format, strict loading and saving (inpaint_core.weights)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from inpaint_core.errors import WeightsError, WeightsMissingError
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.weights import load_generator, save_generator, sha256_file
from tests.conftest import strong_random_model

SMALL = GeneratorConfig(cnum=16)  # same topology as the release (cnum 48), a fraction of the compute


def _random_model(config: GeneratorConfig = SMALL, seed: int = 0) -> DeepFillV2Generator:
    return strong_random_model(config, seed)


# --------------------------------------------------------------------------------------------------------------
# Our format


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_save_load_roundtrip(tmp_path: Path, dtype: torch.dtype) -> None:
    model = _random_model()
    path = save_generator(model, tmp_path / "g.safetensors", dtype=dtype, extra_metadata={"note": "hi"})
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]  # no temporary file left behind
    loaded = load_generator(path, expected_sha256=sha256_file(path).upper())
    assert not loaded.training
    assert loaded.config == model.config
    for key, tensor in model.state_dict().items():
        got = loaded.state_dict()[key]
        assert got.dtype == torch.float32
        assert torch.equal(got, tensor.to(dtype).float()), key
    if dtype == torch.float16:
        assert not all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        assert fh.get_tensor("coarse.conv1.conv.weight").dtype == dtype
    assert meta["format"] == "deepfill-studio/1" and meta["channel_order"] == "rgb" and meta["note"] == "hi"
    assert GeneratorConfig.from_json(meta["config"]) == model.config
    assert int(meta["parameters"]) == sum(p.numel() for p in model.parameters())


def test_default_config_parameter_count_survives(tmp_path: Path) -> None:
    model = DeepFillV2Generator(GeneratorConfig())
    path = save_generator(model, tmp_path / "full.safetensors")
    loaded = load_generator(path)
    assert sum(p.numel() for p in loaded.parameters()) == 4_052_478
    assert path.stat().st_size < 4_052_478 * 2 + 64_000  # fp16 by default


def test_save_fp16_overflow_refused(tmp_path: Path) -> None:
    model = _random_model()
    with torch.no_grad():
        model.coarse.conv3.conv.weight[0, 0, 0, 0] = 1e6
    with pytest.raises(WeightsError, match=r"coarse\.conv3\.conv\.weight does not fit in float16"):
        save_generator(model, tmp_path / "g.safetensors")
    assert list(tmp_path.iterdir()) == []
    save_generator(model, tmp_path / "g.safetensors", dtype=torch.float32)  # fine in fp32


def test_save_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    save_generator(_random_model(seed=1), path)
    first = sha256_file(path)
    save_generator(_random_model(seed=2), path)
    assert sha256_file(path) != first
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]


def _write_ours(
    path: Path, tensors: dict[str, torch.Tensor], config: GeneratorConfig = SMALL, **meta: str
) -> Path:
    metadata = {"format": "deepfill-studio/1", "config": config.to_json(), "channel_order": "rgb"} | meta
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError, match="weights file not found"):
        load_generator(tmp_path / "absent.safetensors")


@pytest.mark.parametrize("keep", [0, 7, 100, 0.5, -1])
def test_load_truncated_file(tmp_path: Path, keep: float) -> None:
    path = save_generator(_random_model(), tmp_path / "g.safetensors")
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep if keep >= 0 else len(data) + keep
    path.write_bytes(data[:n])
    with pytest.raises(WeightsError, match="is not a valid weights file"):
        load_generator(path)


def test_load_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    path.write_bytes(struct.pack("<Q", 20) + b"{not json at all!!!}" + b"\0" * 64)
    with pytest.raises(WeightsError, match="is not a valid weights file"):
        load_generator(path)


def test_load_sha_mismatch(tmp_path: Path) -> None:
    path = save_generator(_random_model(), tmp_path / "g.safetensors")
    with pytest.raises(WeightsError, match="modified or corrupted"):
        load_generator(path, expected_sha256="0" * 64)


def test_load_missing_key(tmp_path: Path) -> None:
    state = _random_model().state_dict()
    del state["refine.pmconv6.conv.bias"]
    path = _write_ours(tmp_path / "g.safetensors", state)
    with pytest.raises(WeightsError, match=r"lacks the tensor refine\.pmconv6\.conv\.bias"):
        load_generator(path)


def test_load_extra_key(tmp_path: Path) -> None:
    state = _random_model().state_dict() | {"refine.bonus.conv.weight": torch.zeros(2)}
    path = _write_ours(tmp_path / "g.safetensors", state)
    with pytest.raises(WeightsError, match=r"unexpected tensor refine\.bonus\.conv\.weight"):
        load_generator(path)


def test_load_wrong_shape(tmp_path: Path) -> None:
    # Weights of a cnum=16 model whose metadata claims the release config (cnum 48).
    path = _write_ours(tmp_path / "g.safetensors", _random_model().state_dict(), config=GeneratorConfig())
    with pytest.raises(WeightsError, match=r"coarse\.conv1\.conv\.weight has shape \[16, 5, 5, 5\]"):
        load_generator(path)


def test_load_foreign_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(WeightsError, match="not a deepfill-studio/1 weights file"):
        load_generator(path)
    _write_ours(path, _random_model().state_dict(), channel_order="bgr")
    with pytest.raises(WeightsError, match="channel order 'bgr'"):
        load_generator(path)


def test_load_bad_device(tmp_path: Path) -> None:
    from inpaint_core.errors import DeviceError

    path = save_generator(_random_model(), tmp_path / "g.safetensors")
    with pytest.raises(DeviceError, match="cannot use device no-such-device"):
        load_generator(path, device="no-such-device")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="cannot use device cuda"):
            load_generator(path, device="cuda")
