"""CLI: detect-scratches, inpaint --auto-scratches / --provenance / --tone (single and batch), bench scratches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inpaint_core.cli as cli
from inpaint_core.bench.scratches import score_mask
from inpaint_core.cli import main
from inpaint_core.image_io import load_image
from inpaint_core.restore.synthetic import texture
from tests.cli.conftest import one_error_line
from tests.helpers.photos import damaged_photo


@pytest.fixture(autouse=True)
def only_these_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser with the commands under test only (others may be written by other sessions)."""
    names = ("inpaint", "detect-scratches", "bench")
    monkeypatch.setattr(cli, "COMMANDS", {k: v for k, v in cli.COMMANDS.items() if k in names})


def test_detect_scratches_writes_a_mask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damage = damaged_photo()
    image, truth = damage.image, damage.truth
    src = tmp_path / "old.png"
    Image.fromarray(image).save(src)
    out = tmp_path / "mask.png"
    assert main(["detect-scratches", str(src), "-o", str(out), "--method", "classical"]) == 0
    mask = load_image(out).pixels
    assert mask.shape == truth.shape and set(np.unique(mask)) <= {0, 255}
    precision, recall = score_mask(mask > 0, truth)
    assert precision > 0.9 and recall > 0.6  # the detector's own figures are tested in tests/core
    assert "px proposed" in capsys.readouterr().out
    # no overwrite without --force; a stricter setting proposes less
    assert main(["detect-scratches", str(src), "-o", str(out), "--sensitivity", "0"]) == 2
    assert "--force" in one_error_line(capsys.readouterr().err)
    assert main(["detect-scratches", str(src), "-o", str(out), "--sensitivity", "0", "--force"]) == 0
    assert (load_image(out).pixels > 0).sum() < (mask > 0).sum()


def test_detect_scratches_names_the_detector_it_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shipped_detector: Path, random_detector: Path
) -> None:
    from inpaint_core.restore.detector import detect_damage

    image = damaged_photo(seed=4).image
    src = tmp_path / "old.png"
    Image.fromarray(image).save(src)
    masks = {}
    for method in ("auto", "learned", "classical"):
        out = tmp_path / f"{method}.png"
        assert main(["detect-scratches", str(src), "-o", str(out), "--method", method]) == 0
        line = capsys.readouterr().out
        assert ("by the classical detector" if method == "classical" else "by the learned detector") in line
        masks[method] = load_image(out).pixels > 0
    # auto = learned when its weights ship; the file is what the front door proposes
    np.testing.assert_array_equal(masks["auto"], masks["learned"])
    np.testing.assert_array_equal(masks["learned"], detect_damage(image, method="learned"))
    assert masks["learned"].any() and not np.array_equal(masks["learned"], masks["classical"])
    out = tmp_path / "given.png"
    assert main(["detect-scratches", str(src), "-o", str(out), "--weights", str(random_detector)]) == 0
    assert f"learned detector ({random_detector.name})" in capsys.readouterr().out
    np.testing.assert_array_equal(load_image(out).pixels > 0, masks["learned"])


def test_detect_scratches_learned_without_weights_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_shipped_weights: Path
) -> None:
    src = tmp_path / "old.png"
    Image.fromarray(texture("smooth", 32, 32)).save(src)
    out = tmp_path / "m.png"
    assert main(["detect-scratches", str(src), "-o", str(out), "--method", "learned"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "learned scratch detector's weights are not installed" in line and "--method classical" in line
    assert main(["detect-scratches", str(src), "-o", str(out)]) == 0  # auto falls back to classical
    assert "by the classical detector" in capsys.readouterr().out
    detect = ["detect-scratches", str(src), "-o", str(out), "--force"]
    assert main([*detect, "--method", "classical", "--weights", str(out)]) == 2
    assert "--weights" in one_error_line(capsys.readouterr().err)
    assert main([*detect, "--weights", str(tmp_path / "none.safetensors")]) == 2
    assert "not found" in one_error_line(capsys.readouterr().err)


def test_bad_detector_weights_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], random_weights: Path, shipped_detector: Path
) -> None:
    src = tmp_path / "old.png"
    Image.fromarray(texture("smooth", 32, 32)).save(src)
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(shipped_detector.read_bytes()[:200])
    cases = [(random_weights, "not a scratch detector weights file"), (truncated, "not a valid weights file")]
    for weights, words in cases:
        out = tmp_path / "m.png"
        assert main(["detect-scratches", str(src), "-o", str(out), "--weights", str(weights)]) == 2
        assert words in one_error_line(capsys.readouterr().err) and not out.exists()
    # the shipped file modified after install: its SHA-256 no longer matches the manifest
    data = bytearray(shipped_detector.read_bytes())
    data[-1] ^= 1
    shipped_detector.write_bytes(bytes(data))
    assert main(["detect-scratches", str(src), "-o", str(tmp_path / "m.png")]) == 2
    assert "expected SHA-256" in one_error_line(capsys.readouterr().err)


def test_detect_scratches_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "m.png"
    assert main(["detect-scratches", str(bad), "-o", str(out)]) == 2
    assert "bad.png" in one_error_line(capsys.readouterr().err)
    good = tmp_path / "good.png"
    Image.fromarray(texture("smooth", 32, 32)).save(good)
    assert main(["detect-scratches", str(good), "-o", str(out), "--max-width", "99"]) == 2
    assert "maximum width" in one_error_line(capsys.readouterr().err)
    assert main(["detect-scratches", str(good), "-o", str(tmp_path / "m.xyz")]) == 2
    assert "unknown output format" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_inpaint_auto_scratches_with_provenance(tmp_path: Path, random_weights: Path) -> None:
    image = damaged_photo(seed=2).image
    src = tmp_path / "old.png"
    Image.fromarray(image).save(src)
    out = tmp_path / "restored.png"
    argv = ["inpaint", str(src), "--auto-scratches", "-o", str(out), "--provenance"]
    assert main([*argv, "--weights", str(random_weights), "--device", "cpu"]) == 0
    mask = load_image(tmp_path / "restored.mask.png").pixels > 0
    result = load_image(out).pixels
    assert mask.any()
    np.testing.assert_array_equal(result[~mask], image[~mask])  # only the proposed pixels changed
    record = json.loads((tmp_path / "restored.provenance" / "provenance.json").read_text())
    assert record["fills"][0]["engine"] == "deepfill" and record["fills"][0]["pixels"] == int(mask.sum())
    assert record["fills"][0]["settings"]["mask_proposed_by"] in (
        "classical scratch detector",
        "learned scratch detector",
    )
    with Image.open(out) as im:
        assert im.text["Provenance"] == "restored.provenance/provenance.json"
    # everything it wrote is refused the second time without --force, and nothing is touched
    before = out.read_bytes()
    assert main([*argv, "--weights", str(random_weights), "--device", "cpu"]) == 2
    assert out.read_bytes() == before


def test_inpaint_notes_filled_regions_even_without_provenance(tmp_path: Path) -> None:
    image = damaged_photo(seed=3).image
    src, mask_path, out = tmp_path / "a.png", tmp_path / "m.png", tmp_path / "o.jpg"
    Image.fromarray(image).save(src)
    hole = np.zeros(image.shape[:2], np.uint8)
    hole[20:40, 30:60] = 255
    Image.fromarray(hole).save(mask_path)
    assert main(["inpaint", str(src), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]) == 0
    with Image.open(out) as im:
        assert "1 filled (inpainted) region" in im.info["comment"].decode()
    assert not (tmp_path / "o.provenance").exists()


def test_batch_auto_scratches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, out = tmp_path / "scans", tmp_path / "restored"
    images.mkdir()
    for i in range(2):
        Image.fromarray(damaged_photo(seed=10 + i).image).save(images / f"p{i}.png")
    (images / "broken.jpg").write_bytes(b"not a jpeg")
    argv = ["inpaint", "--images", str(images), "--auto-scratches", "-o", str(out), "--engine", "telea"]
    code = main([*argv, "--provenance", "--tone", "off"])
    captured = capsys.readouterr()
    assert code == 1  # one bad file: reported, skipped, the rest written
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "broken.jpg" in errors[0]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["p0.mask.png", "p0.png", "p0.provenance", "p1.mask.png", "p1.png", "p1.provenance"]
    for i in range(2):
        mask = load_image(out / f"p{i}.mask.png").pixels > 0
        source = load_image(images / f"p{i}.png").pixels
        np.testing.assert_array_equal(load_image(out / f"p{i}.png").pixels[~mask], source[~mask])
    assert "2 written" in captured.out and "1 failed" in captured.out


def test_batch_auto_scratches_uses_the_chosen_detector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shipped_detector: Path
) -> None:
    from inpaint_core.restore.detector import detect_damage

    images = tmp_path / "scans"
    images.mkdir()
    sources = {f"p{i}": damaged_photo(seed=20 + i).image for i in range(2)}
    for name, pixels in sources.items():
        Image.fromarray(pixels).save(images / f"{name}.png")
    for method in ("auto", "classical"):
        out = tmp_path / method
        argv = ["inpaint", "--images", str(images), "--auto-scratches", "-o", str(out), "--engine", "telea"]
        assert main([*argv, "--scratch-method", method, "--provenance"]) == 0
        detector = "learned" if method == "auto" else "classical"
        assert f"(scratches by the {detector} detector)" in capsys.readouterr().out
        for name, pixels in sources.items():
            mask = load_image(out / f"{name}.mask.png").pixels > 0
            np.testing.assert_array_equal(mask, detect_damage(pixels, method=detector))
            record = json.loads((out / f"{name}.provenance" / "provenance.json").read_text())
            assert record["fills"][0]["settings"]["mask_proposed_by"] == f"{detector} scratch detector"


def test_auto_scratches_learned_without_weights_stops_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_shipped_weights: Path
) -> None:
    images, out = tmp_path / "scans", tmp_path / "restored"
    images.mkdir()
    Image.fromarray(damaged_photo(seed=5).image).save(images / "p.png")
    argv = ["inpaint", "--images", str(images), "--auto-scratches", "-o", str(out), "--engine", "telea"]
    assert main([*argv, "--scratch-method", "learned"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "weights are not installed" in line and "--scratch-method" in line
    assert not out.exists()
    single = ["inpaint", str(images / "p.png"), "--auto-scratches", "-o", str(tmp_path / "o.png")]
    assert main([*single, "--engine", "telea"]) == 0  # auto: the classical detector
    assert "scratches by the classical detector" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--images", "DIR", "--masks", "DIR", "--auto-scratches"], "not both"),
        (["IMAGE", "--mask", "M.png", "--auto-scratches"], "not both"),
        (["IMAGE"], "--auto-scratches"),
        (["--images", "DIR"], "--masks"),
    ],
)
def test_conflicting_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra, words: str) -> None:
    argv = [str(tmp_path) if a in ("DIR", "IMAGE") else a for a in extra]
    assert main(["inpaint", *argv, "-o", str(tmp_path / "o.png")]) == 2
    assert words in one_error_line(capsys.readouterr().err)


def test_bench_scratches_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(2):
        Image.fromarray(texture("smooth", 96, 128, seed=i)).save(tmp_path / f"c{i}.png")
    argv = [
        "bench",
        "scratches",
        "--images",
        str(tmp_path),
        "--no-speed",
        "--no-textures",
        "--sensitivity",
        "0.5",
        "--method",
        "classical",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| scratches 1 px |" in out and "| specks 6-8 px |" in out and "| clean photos | 2 |" in out
    assert "| held-out: dust discs 1-3 px |" in out and "learned" not in out.split("summary")[0]
    row = next(line for line in out.splitlines() if line.startswith("| scratches 4 px |"))
    precision, recall = (float(v) for v in row.split("|")[3].split("/"))
    assert precision > 0.9 and recall > 0.7
    assert out.strip().splitlines()[-1].startswith("summary: classical")


def test_bench_scratches_compares_both_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], random_detector: Path, no_shipped_weights: Path
) -> None:
    images = tmp_path / "photos"
    images.mkdir()
    Image.fromarray(texture("smooth", 96, 128, seed=0)).save(images / "c0.png")
    plot = tmp_path / "pr.png"
    argv = ["bench", "scratches", "--images", str(images), "--no-speed", "--no-textures", "--plot", str(plot)]
    # no learned weights ship: the default is the classical detector alone; --weights brings in both
    assert main([*argv, "--weights", str(random_detector)]) == 0
    out = capsys.readouterr().out
    assert "| damage | true px | classical P / R at 0.5 | learned P / R at 0.5 |" in out
    assert out.strip().splitlines()[-1].startswith("summary: learned at its default logit threshold -3.30")
    picture = load_image(plot).pixels
    assert picture.shape == (600, 760, 3)
    # the plot is not overwritten without --force, before any work
    before = plot.read_bytes()
    assert main([*argv, "--weights", str(random_detector)]) == 2
    assert "--force" in one_error_line(capsys.readouterr().err) and plot.read_bytes() == before
    # the learned detector asked for without weights: one line, with the remedy
    assert main([*argv, "--method", "learned", "--plot", str(tmp_path / "other.png")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "weights are not installed" in line and "--method classical" in line
    assert main([*argv, "--method", "classical", "--weights", str(random_detector), "--force"]) == 2
    assert "--weights" in one_error_line(capsys.readouterr().err)
    assert main([*argv[:-1], str(tmp_path / "pr.jpg")]) == 2
    assert "PNG" in one_error_line(capsys.readouterr().err)


def test_cli_defaults_match_the_library() -> None:
    import inpaint_core.cli.scratches as cli_scratches
    from inpaint_core.restore import scratches

    assert cli_scratches._DEFAULT_SENSITIVITY == scratches.DEFAULT_SENSITIVITY
    assert cli_scratches._DEFAULT_MAX_WIDTH == scratches.DEFAULT_MAX_WIDTH
