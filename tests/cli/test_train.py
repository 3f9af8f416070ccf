"""`python main.py train` end to end on a tiny synthetic photo folder, `train pack`, `train export`."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.cli import train as train_cli
from tests.cli.conftest import one_error_line
from tests.helpers.photos import write_photos

TINY_ARGS = ["--size", "64", "--batch", "2", "--device", "cpu"]
TINY_SET = ["--set", "cnum=8", "--set", "d_cnum=8", "--set", "workers=1", "--set", "val_count=2"]


def run_cli(argv: list[str]) -> int:
    # the train module's own parser, registered like inpaint_core.cli does it
    parser = argparse.ArgumentParser()
    train_cli.add_parser(parser.add_subparsers(dest="command", required=True), "train")
    args = parser.parse_args(argv)
    return int(args.run(args))


@pytest.mark.slow
def test_train_end_to_end(tmp_path: Path) -> None:
    data = write_photos(tmp_path / "photos")
    run = tmp_path / "run"
    argv = ["train", "--data", str(data), "--out", str(run), "--steps", "2", *TINY_ARGS, *TINY_SET]
    assert run_cli([*argv, "--set", "sample_every=1", "--set", "log_every=1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["steps"] == 2 and config["size"] == 64 and config["data"] == [str(data)]
    assert (run / "ckpt_00000002.pt").is_file()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and rows[-1]["samples_per_s"] > 0 and "val_psnr" in rows[-1]
    assert (run / "metrics.csv").read_text().startswith("step,")
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000001.png", "step_00000002.png"]
    import cv2

    grid = cv2.imread(str(run / "samples" / "step_00000002.png"))
    assert grid.shape == (2 * 64, 5 * 64, 3)

    from inpaint_core.weights import load_generator

    export = run / "export.safetensors"
    model = load_generator(export)
    assert model.config.guide_channel and model.config.cnum == 8
    out = model(torch.zeros(1, 3, 64, 64), torch.ones(1, 1, 64, 64), guide=torch.zeros(1, 1, 64, 64))
    assert out.fine.shape == (1, 3, 64, 64) and torch.isfinite(out.fine).all()

    # resume to step 3 with the saved config, then export on demand to another file
    assert run_cli(["train", "--out", str(run), "--resume", "--steps", "3", "--device", "cpu"]) == 0
    assert (run / "ckpt_00000003.pt").is_file()
    assert run_cli(["train", "export", "--out", str(run), "-o", str(tmp_path / "w.safetensors")]) == 0
    assert load_generator(tmp_path / "w.safetensors").config.cnum == 8

    if importlib.util.find_spec("inpaint_core.engine") is not None:
        from inpaint_core.engine import InpaintEngine, InpaintRequest

        image = np.full((64, 64, 3), 120, np.uint8)
        mask = np.zeros((64, 64), np.uint8)
        mask[20:40, 20:40] = 1
        result = InpaintEngine().run(InpaintRequest(image=image, mask=mask, weights=export, device="cpu"))
        assert result.image.shape == image.shape
        assert np.array_equal(result.image[mask == 0], image[mask == 0])


@pytest.mark.slow
def test_pack_then_train_from_pack(tmp_path: Path) -> None:
    data = write_photos(tmp_path / "photos")
    pack = tmp_path / "photos.pack"
    assert run_cli(["train", "pack", "--data", str(data), "-o", str(pack), "--size", "64"]) == 0
    assert pack.stat().st_size < 200_000
    run = tmp_path / "run"
    argv = ["train", "--data", str(pack), "--out", str(run), "--steps", "1", *TINY_ARGS, *TINY_SET]
    assert run_cli(argv) == 0
    assert (run / "ckpt_00000001.pt").is_file() and (run / "export.safetensors").is_file()


def test_a_training_error_gets_the_clis_advice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The library says what is wrong (no flags); the CLI adds which of its options to change."""
    from inpaint_core.cli import main

    warm = tmp_path / "warm"
    argv = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--warm", str(warm), "--resume"]
    assert main([*argv, "--device", "cpu"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        "error: a warm start begins a new run from weights; it cannot also resume one; "
        "use --warm in a new --out, or --resume without --warm"
    )
