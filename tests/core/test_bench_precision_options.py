"""`bench speed --attention --interactive-options` and `bench quality --precision --max-side`, end to end on tiny
inputs: the tables come out with their rows, and the options really change what is measured."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.bench.quality import BIN_COUNT
from inpaint_core.cli import main as cli_main
from tests.helpers.photos import synthetic_photo


def _rows(out: str, first_cell: str) -> list[list[str]]:
    rows = [
        [c.strip() for c in line.strip("|").split("|")] for line in out.splitlines() if line.startswith("| ")
    ]
    return [r for r in rows if re.fullmatch(first_cell, r[0])]


@pytest.mark.slow
def test_speed_reports_conv_peaks_attention_and_interactive_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inpaint_core.bench import speed

    # the full model is the default path here, so cnum 24 is the interactive option
    monkeypatch.setattr(speed, "default_cnum", lambda: 48)
    argv = ["bench", "speed", "--sizes", "64", "--runs", "1", "--warmup", "0", "--matmul-n", "128"]
    argv += ["--photo", "240x200", "--hole", "40", "--precision", "fp32", "--no-memory"]
    assert cli_main([*argv, "--attention", "--interactive-options"]) == 0
    out = capsys.readouterr().out
    peak = _rows(out, "fp32")[0]
    assert float(peak[1]) > 0 and float(peak[2]) > 0  # matmul and conv peaks
    forward = _rows(out, r"cnum 48 \(default path\)")[0]
    assert len(forward) == 9 and float(forward[7]) > 0  # the "of same-precision conv" ratio
    attention = [r for r in _rows(out, "64x64") if len(r) == 6]
    assert attention and float(attention[0][2]) > 0  # attention GFLOP counted
    options = {r[0]: r for r in _rows(out, r"(full model|max side|budget|cnum 24|coarse-only).*")}
    assert len(options) == 6
    full, small = options["full model (max side 512)"], options["max side 256"]
    assert full[2] == "128x128"  # the window around a 40 px hole: the engine's 128 px minimum, not enlarged
    assert float(options["cnum 24 (max side 512)"][3]) < float(full[3])  # the narrow model does less work
    coarse = next(v for k, v in options.items() if k.startswith("coarse-only"))
    assert float(coarse[4]) > 0
    assert small[2] == "128x128"
    assert re.search(r"efficiency=[0-9.]+ interactive_s=[0-9.]+$", out.strip())


def _dataset(root: Path) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_photo(64, 64, seed=i)).save(images / f"p{i}.png")
    for b in range(BIN_COUNT):  # four masks a block: the benchmark reads only index % 4 == 0 (held out)
        m = np.zeros((64, 64), np.uint8)
        m[16 : 24 + 4 * b, 20 : 28 + 4 * b] = 255
        for j in range(4):
            Image.fromarray(m).save(masks / f"{4 * b + j:05d}.png")
    return images, masks


def _deepfill_psnr(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[float, str]:
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    return float(_rows(out, "deepfill")[0][4]), out


def test_quality_precision_and_model_side(
    tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, masks = _dataset(tmp_path)
    argv = ["bench", "quality", "--images", str(images), "--masks", str(masks), "--size", "128"]
    argv += ["--engines", "deepfill", "--bins", "3", "--count", "2", "--weights", str(random_weights)]
    fp32, out = _deepfill_psnr(argv, capsys)
    assert "deepfill in fp32" in out
    bf16, out = _deepfill_psnr([*argv, "--precision", "bf16"], capsys)
    assert "deepfill in bf16" in out
    assert abs(bf16 - fp32) < 0.5  # random weights: a sanity bound, not the 0.1 dB criterion
    _, out = _deepfill_psnr([*argv, "--max-side", "64"], capsys)  # the engine sees each window at 64 px
    assert "model side 64" in out
    assert cli_main([*argv, "--max-side", "32"]) == 2  # below the engine's minimum: a one-line error
    assert "between 64 and 4096" in capsys.readouterr().err
