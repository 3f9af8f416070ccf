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
    assert main(["detect-scratches", str(src), "-o", str(out)]) == 0
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
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| scratches 1 px |" in out and "| specks 6-8 px |" in out and "| clean photos | 2 |" in out
    row = next(line for line in out.splitlines() if line.startswith("| scratches 4 px |"))
    precision, recall = (float(v) for v in row.split("|")[3].split("/"))
    assert precision > 0.9 and recall > 0.7


def test_cli_defaults_match_the_library() -> None:
    import inpaint_core.cli.scratches as cli_scratches
    from inpaint_core.restore import scratches

    assert cli_scratches._DEFAULT_SENSITIVITY == scratches.DEFAULT_SENSITIVITY
    assert cli_scratches._DEFAULT_MAX_WIDTH == scratches.DEFAULT_MAX_WIDTH
