"""The CLI's paste and file options: --edge-blend grows the changed area by its band, --png-compression picks
the PNG level (lossless at every level), and `bench files` prints its table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.cli import main
from inpaint_core.image_io import load_image
from inpaint_core.image_ops import grow_mask
from tests.helpers.photos import box_mask, synthetic_photo


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    image = synthetic_photo(48, 64)
    mask = box_mask(48, 64, 16, 20, 30, 40)
    Image.fromarray(image).save(tmp_path / "photo.png")
    Image.fromarray((mask * 255).astype(np.uint8)).save(tmp_path / "mask.png")
    return tmp_path / "photo.png", tmp_path / "mask.png", image, mask


@pytest.mark.parametrize("edge_blend", [0, 3])
def test_edge_blend_option_changes_only_mask_and_band(
    tmp_path: Path, pair: tuple[Path, Path, np.ndarray, np.ndarray], edge_blend: int
) -> None:
    photo, mask_path, image, mask = pair
    out = tmp_path / f"out{edge_blend}.png"
    argv = ["inpaint", str(photo), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]
    assert main([*argv, "--edge-blend", str(edge_blend), "--png-compression", "9"]) == 0
    result = load_image(out).pixels
    changed = np.any(result != image, axis=2)
    assert changed[mask].any()
    assert not (changed & ~grow_mask(mask, edge_blend)).any()
    assert changed[~mask].any() == (edge_blend > 0)


def test_bad_png_level_is_a_usage_error(
    tmp_path: Path, pair: tuple[Path, Path, np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    photo, mask_path, _, _ = pair
    code = main(
        [
            "inpaint",
            str(photo),
            "--mask",
            str(mask_path),
            "-o",
            str(tmp_path / "o.png"),
            "--png-compression",
            "12",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--png-compression" in err[0] and "usage:" not in err[0]
    assert not (tmp_path / "o.png").exists()


def test_bench_files_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "files", "--runs", "1", "--photo", "160x120", "--holes-photo", "200x150", "--holes", "6"]
    assert main([*argv, "--no-deepfill", "--no-cli"]) == 0
    out = capsys.readouterr().out
    for row in ("load 160x120 JPEG", "save 160x120 PNG (default)", "stroke across 160x120, telea: paste stage",
                "6 holes in 200x150, telea: run"):  # fmt: skip
        assert f"| {row} |" in out
    assert "PNG written:" in out


def test_bench_files_compares_two_checkouts(capsys: pytest.CaptureFixture[str]) -> None:
    repo = Path(__file__).resolve().parents[2]  # compared with itself: both columns filled, ratios printed
    argv = ["bench", "files", "--runs", "1", "--photo", "120x80", "--holes-photo", "120x90", "--holes", "3"]
    assert main([*argv, "--no-deepfill", "--no-cli", "--compare-with", str(repo)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| load 120x80 PNG")]
    assert len(rows) == 1
    before, after, ratio = (cell.strip() for cell in rows[0].strip("|").split("|")[1:])
    assert float(before) >= 0 and float(after) >= 0 and re.fullmatch(r"\d+\.\dx|-", ratio)


def test_bench_files_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    argv = ["bench", "files", "--runs", "1", "--no-deepfill", "--no-cli", "--compare-with", str(tmp_path)]
    assert main(argv) == 2
