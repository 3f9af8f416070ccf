"""The torch-free weights facts (`inpaint_core.model_info`, through the front door) and the engine's model tools:
device list and checkpoint conversion with progress and cancel."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from inpaint_core import api, manifest
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import CancelledError, WeightsError, WeightsMissingError
from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
from inpaint_core.model_info import guess_training_set, is_checkpoint, read_weights_info, shipped_model_info
from inpaint_core.weights import load_generator, save_generator


def test_read_weights_info_from_the_header(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DeepFillV2Generator(GeneratorConfig(cnum=8, guide_channel=True))
    path = save_generator(
        model, tmp_path / "g.safetensors", extra_metadata={"source": "states_tf_celebahq.pth"}
    )
    info = read_weights_info(path)
    assert info.name == "g.safetensors" and info.path == path
    assert info.parameters == sum(p.numel() for p in model.parameters())
    assert info.size_bytes == path.stat().st_size
    assert info.dtype == "float16" and info.guide_channel
    assert info.source == "states_tf_celebahq.pth" and info.trained_on == "CelebA-HQ"


def test_read_weights_info_refuses_what_is_not_ours(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError):
        read_weights_info(tmp_path / "none.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(WeightsError, match="not a safetensors"):
        read_weights_info(garbage)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(WeightsError, match="not a DeepFill Studio weights file"):
        read_weights_info(foreign)


def test_shipped_model_info_reads_the_manifest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, random_weights: Path
) -> None:
    target = tmp_path / "default.safetensors"
    target.write_bytes(random_weights.read_bytes())
    sha = hashlib.sha256(target.read_bytes()).hexdigest()
    listing = tmp_path / "manifest.json"
    monkeypatch.setattr(manifest, "MANIFEST", listing)
    assert shipped_model_info() is None  # no manifest: nothing ships
    entry = {"file": target.name, "sha256": sha, "name": "DeepFill v2 (ours)", "trained_on": "our photos"}
    listing.write_text(json.dumps({"default": entry}))
    info = shipped_model_info()
    assert info is not None and info.name == "DeepFill v2 (ours)" and info.trained_on == "our photos"
    assert manifest.default_weights() == (target, sha)
    target.unlink()
    with pytest.raises(WeightsMissingError):
        shipped_model_info()


def test_guesses_and_suffixes() -> None:
    assert guess_training_set("release_places2_256_deepfill_v2/snap-0.index") == "Places2"
    assert guess_training_set("states_tf_celebahq.pth") == "CelebA-HQ"
    assert guess_training_set("mine.safetensors") == ""
    assert is_checkpoint("snap-0.index") and is_checkpoint("x.PTH") and not is_checkpoint("x.safetensors")


def test_the_front_door_stays_torch_free() -> None:
    code = "import sys, inpaint_core.api as a; a.read_weights_info; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_the_engine_offers_the_model_tools() -> None:
    engine = InpaintEngine()
    assert isinstance(engine, api.ModelTools)
    devices = engine.available_devices()
    assert devices[:2] == ("auto", "cpu") and ("cuda" in devices) == torch.cuda.is_available()


def _pth(tmp_path: Path) -> tuple[Path, DeepFillV2Generator]:
    torch.manual_seed(1)
    model = DeepFillV2Generator(GeneratorConfig(cnum=8)).eval()
    folder = tmp_path / "release_places2_256"
    folder.mkdir()
    src = folder / "states_tf_places2.pth"
    torch.save({"G": {k.split(".", 1)[1]: v for k, v in model.state_dict().items()}}, src)
    return src, model


def test_convert_weights_reports_progress_and_writes_our_format(tmp_path: Path) -> None:
    src, model = _pth(tmp_path)
    out = tmp_path / "out.safetensors"
    seen: list[tuple[str, float]] = []
    assert InpaintEngine().convert_weights(src, out, progress=lambda s, f: seen.append((s, f))) == out
    assert [s for s, _ in seen] == ["read", "check", "write", "write"] and seen[-1][1] == 1.0
    info = read_weights_info(out)
    assert info.trained_on == "Places2" and info.source == src.name and info.dtype == "float32"
    loaded = load_generator(out)
    # the published release is BGR: the converter flips the image channels (weights.py), the rest is equal
    assert torch.equal(
        loaded.state_dict()["coarse.conv5.conv.weight"], model.state_dict()["coarse.conv5.conv.weight"]
    )


def test_convert_weights_cancel_leaves_no_file(tmp_path: Path) -> None:
    src, _model = _pth(tmp_path)
    out = tmp_path / "out.safetensors"
    cancel = threading.Event()

    def progress(stage: str, _fraction: float) -> None:
        if stage == "check":
            cancel.set()  # the user pressed Cancel while it read

    with pytest.raises(CancelledError):
        InpaintEngine().convert_weights(src, out, progress=progress, cancel=cancel)
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []


def _with_metadata(src: Path, dst: Path, **extra: str) -> Path:
    """A copy of a safetensors file with metadata added (the header is rewritten; the tensors' bytes follow
    it unchanged, their offsets being relative to the header's end)."""
    data = src.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    header["__metadata__"] |= extra
    blob = json.dumps(header).encode()
    dst.write_bytes(len(blob).to_bytes(8, "little") + blob + data[8 + size :])
    return dst


def test_quality_from_the_file_s_metadata(random_weights: Path, tmp_path: Path) -> None:
    from inpaint_core.model_info import EXPERIMENTAL_SAMPLES, Quality

    def quality_of(name: str, samples: int, bench: dict[str, dict[str, float]]) -> Quality:
        path = tmp_path / f"{name}.safetensors"
        _with_metadata(random_weights, path, samples_seen=str(samples), bench_quality=json.dumps(bench))
        return read_weights_info(path).quality

    bench = {
        "10-20%": {"deepfill": 19.5, "telea": 20.3, "ns": 20.4},
        "50-60%": {"deepfill": 17.0, "ns": 16.1},
    }
    quality = quality_of("w", 69560, bench)
    assert quality.samples_seen == 69560 and quality.source == "the file's metadata"
    small, large = quality.scores
    assert (small.bin, small.classical, round(small.gain, 2)) == ("10-20%", "Navier-Stokes", -0.9)
    assert (large.bin, large.classical, round(large.gain, 2)) == ("50-60%", "Navier-Stokes", 0.9)
    assert quality.below_classical == (small,) and quality.experimental
    # Enough samples and above the classical fills everywhere: not experimental.
    assert not quality_of(
        "good", EXPERIMENTAL_SAMPLES * 2, {"10-20%": {"deepfill": 22.0, "telea": 20.3}}
    ).experimental
    # Figures decide over the count: few samples, but above every fill without weights (PatchMatch included).
    above = {
        "10-20%": {"deepfill": 20.4, "ns": 19.8, "patchmatch": 19.6},
        "50-60%": {"deepfill": 17.5, "patchmatch": 17.6},
    }
    below = quality_of("above", 86856, above).below_classical
    assert [(q.bin, q.classical) for q in below] == [("50-60%", "PatchMatch")]
    above["50-60%"]["patchmatch"] = 16.1
    assert not quality_of("above2", 86856, above).experimental
    # Too few samples marks a model experimental without figures; no figures and no count say nothing.
    few = _with_metadata(random_weights, tmp_path / "few.safetensors", samples_seen="5000")
    assert read_weights_info(few).quality.experimental and not read_weights_info(few).quality.scores
    assert not read_weights_info(random_weights).quality.experimental
    # Malformed figures are no figures, not a broken file.
    odd = _with_metadata(random_weights, tmp_path / "odd.safetensors", bench_quality="[1, 2")
    assert read_weights_info(odd).quality.scores == ()


def test_quality_from_the_model_card_for_the_weights_beside_it(
    random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inpaint_core.model_info as model_info

    card = tmp_path / "weights" / "MODEL_CARD.md"
    card.parent.mkdir()
    card.write_text(
        "| engine | mask bin | hole (measured) | n | PSNR (dB) | L1 | SSIM |\n|---|---|---|---:|---:|---:|---:|\n"
        "| deepfill | 10-20% | 14.4% | 107 | 19.58 | 0.0772 | 0.5354 |\n"
        "| deepfill+edges | 10-20% | 14.4% | 107 | 19.90 | 0.0756 | 0.5417 |\n"
        "| telea | 10-20% | 14.4% | 107 | 20.30 | 0.0654 | 0.5769 |\n"
        "| ns | 10-20% | 14.4% | 107 | 20.34 | 0.0644 | 0.5815 |\n"
        "\n| deepfill | 10-20% | 14.4% | 30 | 25.00 | 0 | 0 |\n",  # a later table: the first one counts
        encoding="utf-8",
    )
    monkeypatch.setattr(model_info, "MODEL_CARD", card)
    beside = card.parent / "candidate" / "G_ema.safetensors"
    beside.parent.mkdir()
    beside.write_bytes(random_weights.read_bytes())
    quality = read_weights_info(beside).quality
    assert quality.source == "the model card"
    (score,) = quality.scores
    assert (score.model_db, score.classical_db, score.classical) == (19.58, 20.34, "Navier-Stokes")
    assert quality.experimental
    assert read_weights_info(random_weights).quality.scores == ()  # the card says nothing of other files


def test_the_shipped_default_beats_the_fills_without_weights() -> None:
    """The shipped weights carry their bench figures (`train relay ship` wrote them): above Telea, NS and
    PatchMatch in every bin, so the picker shows no "experimental" warning; the name gives the samples seen."""
    shipped = shipped_model_info()
    if shipped is None:
        pytest.skip("no default weights ship in this checkout")
    quality = shipped.quality
    assert quality.source == "the file's metadata" and len(quality.scores) == 3
    assert all(score.gain > 0 for score in quality.scores) and not quality.experimental
    assert quality.samples_seen is not None and f"{quality.samples_seen:,} samples" in shipped.name
    assert shipped.cnum == 24
