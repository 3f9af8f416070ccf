"""The benchmarks: FLOP counting, the speed command end to end on a tiny size, the quality command on a tiny
synthetic image/mask folder, the seeded pairing, and the deepfill-without-weights note."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from inpaint_core.bench.quality import make_pairs, mask_bins
from inpaint_core.cli import main as cli_main
from inpaint_core.errors import MaskError
from tests.conftest import SHARED, TEST_CNUM
from tests.helpers.photos import write_bench_folders


def test_flop_count_positive_and_scales_between_area_and_area_squared() -> None:
    import torch

    from inpaint_core.bench.flops import count_forward_flops
    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig

    torch.manual_seed(0)
    model = DeepFillV2Generator(GeneratorConfig(cnum=TEST_CNUM)).eval()
    f64, f128, f256 = (count_forward_flops(model, s) for s in (64, 128, 256))
    assert f64 > 0
    # Convolutions scale with the area (x4 per doubling of the side); contextual attention compares every
    # hole patch with every background patch, i.e. area squared (x16). The total must lie strictly between,
    # and the attention share (hence the ratio) grows with the size.
    r1, r2 = f128 / f64, f256 / f128
    assert 4.0 < r1 < 16.0
    assert 4.0 < r2 < 16.0
    assert r2 > r1


def test_count_is_batch_linear() -> None:
    import torch

    from inpaint_core.bench.flops import count_forward_flops
    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig

    torch.manual_seed(0)
    model = DeepFillV2Generator(GeneratorConfig(cnum=TEST_CNUM)).eval()
    assert count_forward_flops(model, 64, batch=2) == 2 * count_forward_flops(model, 64, batch=1)


@pytest.mark.slow
def test_speed_command_end_to_end_last_line_parses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inpaint_core.bench import speed

    monkeypatch.setattr(speed, "default_cnum", lambda: 24)  # a lite model ships: the full width is extra rows
    rc = cli_main(
        [
            "bench", "speed", "--sizes", "64", "--runs", "1", "--warmup", "0", "--matmul-n", "128",
            "--photo", "200x160", "--hole", "12", "--precision", "fp32",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.strip().splitlines()
    match = re.fullmatch(r"efficiency=([0-9.]+) interactive_s=([0-9.]+)", lines[-1])
    assert match, lines[-1]
    assert float(match.group(1)) > 0 and float(match.group(2)) > 0
    assert re.search(r"\| cnum 24 \(default path\) \| 64x64 \| fp32 \| [0-9.]+ \| [0-9.]+ \|", out)
    assert re.search(r"\| cnum 48 \| 64x64 \| fp32 \| [0-9.]+ \| [0-9.]+ \|", out)
    assert "random-init" in out


def test_speed_times_the_shipped_model_s_width(
    random_weights: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    import inpaint_core.manifest as manifest
    from inpaint_core.bench.speed import FULL_WIDTH, default_cnum
    from inpaint_core.files import sha256_file

    target = tmp_path / "manifest.json"
    monkeypatch.setattr(manifest, "MANIFEST", target)
    assert default_cnum() == FULL_WIDTH  # none ships: the published width
    (tmp_path / "w.safetensors").write_bytes(random_weights.read_bytes())
    entry = {"file": "w.safetensors", "sha256": sha256_file(random_weights)}
    target.write_text(json.dumps({"default": entry}))
    assert default_cnum() == TEST_CNUM


def _table_rows(out: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in r] for r in rows[1:]]  # without the header


def test_quality_table_rows_with_classical_and_random_deepfill(
    tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, masks = write_bench_folders(tmp_path)
    argv = ["bench", "quality", "--images", str(images), "--masks", str(masks), "--size", "32"]
    argv += [
        "--engines",
        "telea,ns,deepfill",
        "--bins",
        "1,4",
        "--count",
        "3",
        "--weights",
        str(random_weights),
        "--raw",
    ]
    assert cli_main(argv) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert [(r[0], r[1]) for r in rows] == [
        ("telea", "10-20%"), ("telea", "40-50%"), ("ns", "10-20%"), ("ns", "40-50%"),
        ("deepfill", "10-20%"), ("deepfill", "40-50%"), ("deepfill-raw", "10-20%"), ("deepfill-raw", "40-50%"),
    ]  # fmt: skip
    assert rows[4][4:7] != rows[6][4:7]  # the raw row is the model without seam matching: other figures
    for r in rows:
        assert r[3] == "3"
        psnr, l1, ssim = float(r[4]), float(r[5]), float(r[6])
        assert 0 < psnr < 100 and 0 < l1 < 1 and -1 <= ssim <= 1
    # bin 4 has bigger holes than bin 1 in this synthetic set
    assert float(rows[1][2].rstrip("%")) > float(rows[0][2].rstrip("%"))


def test_quality_skips_deepfill_without_weights(
    tmp_path: Path, no_shipped_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, masks = write_bench_folders(tmp_path)
    argv = ["bench", "quality", "--images", str(images), "--masks", str(masks), "--size", "32"]
    assert cli_main([*argv, "--engines", "deepfill,telea", "--bins", "2", "--count", "2"]) == 0
    out = capsys.readouterr().out
    assert "deepfill skipped" in out
    assert [r[0] for r in _table_rows(out)] == ["telea"]


def test_pairing_is_deterministic_per_seed(tmp_path: Path) -> None:
    _, masks = write_bench_folders(tmp_path, masks_per_bin=80)
    bins = mask_bins(masks)
    a = make_pairs(50, bins, (1, 3), 10, seed=0)
    b = make_pairs(50, bins, (1, 3), 10, seed=0)
    c = make_pairs(50, bins, (1, 3), 10, seed=1)
    assert a == b
    assert a != c
    assert {p.bin for p in a} == {1, 3}
    assert all(p.mask in bins[p.bin] for p in a)


def test_mask_bins_are_consecutive_blocks_of_held_out_masks(tmp_path: Path) -> None:
    _, masks = write_bench_folders(tmp_path, masks_per_bin=8)
    bins = mask_bins(masks)
    # block 1 is 00008..00015; only index % 4 == 0 is drawn (the rest is for training)
    assert [[p.name for p in b] for b in bins][1] == ["00008.png", "00012.png"]
    with pytest.raises(MaskError):  # a block without a held-out mask
        mask_bins(write_bench_folders(tmp_path / "few", masks_per_bin=2)[1])


@pytest.mark.shared_data
def test_real_eval_data_pairs_when_present() -> None:
    root = SHARED / "data"
    if not (root / "masks" / "nvidia_irregular").is_dir():
        pytest.skip("../shared/data is absent")
    bins = mask_bins(root / "masks" / "nvidia_irregular")
    assert bins[1][0].name == "02000.png" and bins[5][-1].name == "11996.png"
    assert all(len(b) == 500 and all(int(p.stem) % 4 == 0 for p in b) for b in bins)


@pytest.mark.parametrize("generated", [False, True])
def test_figure_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str], generated: bool) -> None:
    import torch

    from inpaint_core.bench.figure import HEADER_PX, HOLE_GREY
    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
    from inpaint_core.weights import save_generator

    torch.manual_seed(0)
    weights = tmp_path / "guided.safetensors"
    save_generator(
        DeepFillV2Generator(GeneratorConfig(cnum=8, guide_channel=True)), weights, dtype=torch.float32
    )
    images, masks = write_bench_folders(tmp_path)
    out = tmp_path / "grid.png"
    mask_arg = "generated" if generated else str(masks)  # generated: free-form masks, no mask folder read
    argv = ["bench", "figure", "--images", str(images), "--masks", mask_arg, "--weights", str(weights)]
    assert cli_main([*argv, "--size", "32", "--count", "2", "--bin", "4", "-o", str(out)]) == 0
    grid = np.asarray(Image.open(out).convert("RGB"))
    # input | NS | PatchMatch | Auto | DeepFill | DeepFill + sketch | original
    assert grid.shape == (HEADER_PX + 2 * 32, 7 * 32, 3)
    for row in range(2):
        tiles = [
            grid[HEADER_PX + 32 * row : HEADER_PX + 32 * (row + 1), 32 * c : 32 * (c + 1)] for c in range(7)
        ]
        shown, *fills, original = tiles
        hole = np.all(shown == HOLE_GREY, axis=2) & np.any(original != HOLE_GREY, axis=2)
        assert hole.any()
        for fill in fills:
            assert np.array_equal(fill[~hole], original[~hole])  # only the hole changes
            assert not np.array_equal(fill[hole], shown[hole])  # and it is filled
    assert cli_main([*argv, "--size", "32", "--count", "2", "-o", str(out)]) == 2  # never overwrites silently
    assert "--force" in capsys.readouterr().err


def test_figure_without_weights_shows_the_fills_users_get(tmp_path: Path, no_shipped_weights: Path) -> None:
    images, _ = write_bench_folders(tmp_path)
    out = tmp_path / "g.png"
    argv = [
        "bench",
        "figure",
        "--images",
        str(images),
        "--masks",
        "generated",
        "--size",
        "32",
        "--count",
        "1",
    ]
    # no weights ship: input | NS | PatchMatch | Auto | original
    assert cli_main([*argv, "-o", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[1] == 5 * 32


def test_figure_without_a_guide_channel_has_no_sketch_column(tmp_path: Path, random_weights: Path) -> None:
    images, masks = write_bench_folders(tmp_path)
    argv = [
        "bench",
        "figure",
        "--images",
        str(images),
        "--masks",
        str(masks),
        "--weights",
        str(random_weights),
    ]
    assert cli_main([*argv, "--size", "32", "--count", "1", "-o", str(tmp_path / "g.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "g.png")).shape[1] == 6 * 32


def test_figure_fills_through_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every filled column is an engine run with the default request (issue 22: no bare forward beside it)."""
    import torch

    from inpaint_core.bench.figure import comparison_grid
    from inpaint_core.engine import InpaintEngine
    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
    from inpaint_core.weights import save_generator

    torch.manual_seed(0)
    weights = tmp_path / "guided.safetensors"
    save_generator(
        DeepFillV2Generator(GeneratorConfig(cnum=8, guide_channel=True)), weights, dtype=torch.float32
    )
    images, _ = write_bench_folders(tmp_path)
    seen: list[tuple[str, bool]] = []
    run = InpaintEngine.run

    def counting(self: InpaintEngine, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((request.engine, request.guide is not None))
        return run(self, request, *args, **kwargs)

    monkeypatch.setattr(InpaintEngine, "run", counting)
    comparison_grid(images, "generated", weights=weights, count=2, size=32, device="cpu")
    assert (
        seen
        == [("ns", False), ("patchmatch", False), ("auto", False), ("deepfill", False), ("deepfill", True)]
        * 2
    )
