"""Weights whose numbers cannot come from training are refused at load, and a folder's SHA256SUMS is checked
(issue #24): 1e30 values (noise), F16 data relabelled BF16 (flat grey), two same-shaped tensors swapped."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import inpaint_core.weights as weights
from inpaint_core.errors import WeightsError
from inpaint_core.weights import load_generator, read_sums, write_candidate_sums


def _tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), "pt") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys()}, fh.metadata()  # noqa: SIM118


def test_absurd_values_are_refused(random_weights: Path, tmp_path: Path) -> None:
    tensors, metadata = _tensors(random_weights)
    key = "coarse.conv5.conv.weight"
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[7] = 1e30
    bad = tmp_path / "huge.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(WeightsError, match=f"{key} holds values up to 1e\\+30, far beyond what training"):
        load_generator(bad)


def test_f16_data_relabelled_as_bf16_is_refused(random_weights: Path, tmp_path: Path) -> None:
    tensors, metadata = _tensors(random_weights)
    # The same bytes, read as the other 16-bit type: what editing the header's dtype does.
    relabelled = {k: v.to(torch.float16).view(torch.bfloat16) for k, v in tensors.items()}
    bad = tmp_path / "relabelled.safetensors"
    save_file(relabelled, str(bad), metadata=metadata)
    with pytest.raises(WeightsError, match=r"all but zero .* does not match its declared type \(bfloat16\)"):
        load_generator(bad)
    honest = tmp_path / "f16.safetensors"
    save_file({k: v.to(torch.float16) for k, v in tensors.items()}, str(honest), metadata=metadata)
    assert load_generator(honest) is not None  # real half-precision weights load


def test_a_sha256sums_file_catches_swapped_tensors(random_weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "candidate"
    folder.mkdir()
    good = folder / "G_ema.safetensors"
    shutil.copyfile(random_weights, good)
    sums = write_candidate_sums(folder)
    assert read_sums(folder) == {good.name: weights.sha256_file(good)} and sums.name == "SHA256SUMS"
    assert load_generator(good) is not None

    tensors, metadata = _tensors(good)
    a, b = "refine.pmconv9.conv.weight", "refine.pmconv10.conv.weight"  # same shape: statistics cannot tell
    assert tensors[a].shape == tensors[b].shape
    tensors[a], tensors[b] = tensors[b], tensors[a]
    save_file(tensors, str(good), metadata=metadata)
    with pytest.raises(WeightsError, match=r"does not match the SHA-256 in .*SHA256SUMS"):
        load_generator(good)
    write_candidate_sums(folder)  # replaced on purpose: the relay rewrites the sums
    assert load_generator(good) is not None


def test_the_candidate_folder_without_sums_loads_and_says_so(
    random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "candidate"
    folder.mkdir()
    shutil.copyfile(random_weights, folder / "G.safetensors")
    monkeypatch.setattr(weights, "CANDIDATE_FOLDER", folder)
    with caplog.at_level(logging.WARNING, logger="inpaint_core.weights"):
        assert load_generator(folder / "G.safetensors") is not None
    assert "no recorded SHA-256 (there is no SHA256SUMS beside it)" in caplog.text
    (folder / "SHA256SUMS").write_text("not a sums line\n")
    with pytest.raises(WeightsError, match="is not '<sha256>  <file name>'"):
        load_generator(folder / "G.safetensors")
