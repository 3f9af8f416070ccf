"""The learned scratch detector's network, weights file and analysis (restore/scratch_net.py, restore/detector.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core import manifest
from inpaint_core.errors import InpaintError, WeightsError, WeightsMissingError
from inpaint_core.restore import detector
from inpaint_core.restore.detector import LearnedAnalysis, analyse_damage, detect_damage, save_detector
from inpaint_core.restore.scratch_net import MULTIPLE, ScratchNet, macs_per_pixel
from tests.helpers.photos import synthetic_photo


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("detector") / "d.safetensors"
    return save_detector(ScratchNet(), path, threshold=-3.0)


def test_network_is_small_and_keeps_the_size() -> None:
    model = ScratchNet().eval()
    params = sum(p.numel() for p in model.parameters())
    assert params < 1_000_000
    assert macs_per_pixel() < 8000  # the 6 MP latency target's cost model
    with torch.no_grad():
        out = model(torch.rand(2, 3, 2 * MULTIPLE, 3 * MULTIPLE))
    assert out.shape == (2, 1, 2 * MULTIPLE, 3 * MULTIPLE)


def test_one_pixel_detail_reaches_the_output() -> None:
    """The 2x2 fold must not lose which pixel of a block changed: the logits differ where the input differs."""
    torch.manual_seed(1)
    model = ScratchNet().eval()
    x = torch.full((1, 3, 64, 64), 0.5)
    y = x.clone()
    y[..., 33, 33] = 1.0
    with torch.no_grad():
        diff = (model(y) - model(x))[0, 0].abs()
    assert diff[33, 33] > 0
    assert float(diff[33, 33]) != pytest.approx(float(diff[32, 32]))


def test_weights_round_trip_in_fp16(detector_file: Path) -> None:
    model, threshold = detector.load_detector(detector_file, None)
    assert threshold == pytest.approx(-3.0)
    assert detector_file.stat().st_size < 2_000_000  # fp16: the size limit
    assert next(model.parameters()).dtype == torch.float32


def test_a_tampered_or_foreign_file_is_refused(detector_file: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(detector_file.read_bytes()).hexdigest()
    with pytest.raises(WeightsError, match="SHA-256"):
        detector.load_detector(detector_file, "0" * 64)
    assert detector.load_detector(detector_file, digest)[1] == pytest.approx(-3.0)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a weights file at all")
    with pytest.raises(WeightsError, match="not a valid weights file"):
        detector.load_detector(junk, None)
    with pytest.raises(WeightsMissingError):
        detector.load_detector(tmp_path / "missing.safetensors", None)


def test_sensitivity_moves_the_threshold_monotonically() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(-2.0, 3.0, (64, 80)).astype(np.float16)
    analysis = LearnedAnalysis(logits, 0.0, 8, (64, 80), (64, 80))
    shares = [float(analysis.mask(s).mean()) for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert shares == sorted(shares) and shares[0] < shares[-1]
    with pytest.raises(InpaintError, match="sensitivity"):
        analysis.mask(1.5)


def test_max_width_drops_wider_damage() -> None:
    logits = np.full((80, 80), -10.0, np.float16)
    logits[20:60, 10:12] = 10.0  # a 2 px line
    logits[20:60, 40:50] = 10.0  # a 10 px band
    narrow = LearnedAnalysis(logits, 0.0, 3, (80, 80), (80, 80)).mask()
    wide = LearnedAnalysis(logits, 0.0, 10, (80, 80), (80, 80)).mask()
    assert narrow[40, 11] and not narrow[40, 45]
    assert wide[40, 11] and wide[40, 45]


def test_tiles_match_the_whole_pass(detector_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = synthetic_photo(200, 260)
    whole = detector.analyse_learned(image, weights=detector_file).logits.astype(np.float32)
    monkeypatch.setattr(detector, "WHOLE_LIMIT", 100 * 100)
    monkeypatch.setattr(detector, "TILE", 128)
    monkeypatch.setattr(detector, "TILE_MARGIN", 32)
    tiled = detector.analyse_learned(image, weights=detector_file).logits.astype(np.float32)
    assert tiled.shape == whole.shape
    # the margins cut the farthest context, so they agree closely but not bit for bit
    assert np.median(np.abs(tiled - whole)) < 0.05 * (np.abs(whole).mean() + 1e-3)


def test_grey_and_16_bit_photos_are_read(detector_file: Path) -> None:
    grey = synthetic_photo(40, 50, channels=1)
    deep = synthetic_photo(40, 50, dtype=np.uint16)
    assert analyse_damage(grey, weights=detector_file).mask().shape == (40, 50)
    assert detect_damage(deep, weights=detector_file).shape == (40, 50)


def test_wide_max_width_analyses_a_smaller_copy(detector_file: Path) -> None:
    analysis = analyse_damage(synthetic_photo(120, 200), max_width=20, weights=detector_file)
    assert analysis.analysed_shape == (60, 100)
    assert analysis.mask().shape == (120, 200)


def test_auto_means_classical_until_detector_weights_ship(
    detector_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "manifest.json"
    monkeypatch.setattr(manifest, "MANIFEST", fake)
    fake.write_text(json.dumps({"default": None}))
    assert detector.resolve_method("auto") == "classical"
    with pytest.raises(WeightsMissingError):
        detector.resolve_method("learned")
    shipped = tmp_path / "scratch.safetensors"
    shipped.write_bytes(detector_file.read_bytes())
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    fake.write_text(
        json.dumps({"default": None, "scratch_detector": {"file": shipped.name, "sha256": digest}})
    )
    assert detector.resolve_method("auto") == "learned"
    assert analyse_damage(synthetic_photo(40, 50)).method == "learned"
    assert analyse_damage(synthetic_photo(40, 50), "classical").method == "classical"
    with pytest.raises(InpaintError, match="unknown scratch detector"):
        detector.resolve_method("magic")
