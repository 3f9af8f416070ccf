"""`python main.py train session` on the CPU: the one command a GPU call runs, end to end, twice in a chain; and
`train carry`, the pre-flight check of what a call carries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import pytest

from inpaint_core.cli import main as cli_main
from inpaint_core.train.session import MAX_FILE_BYTES, MAX_OUT_FILES, OUT_FILES, check_out_folder
from inpaint_core.train.warm import CARRY_FILES, load_warm_start
from inpaint_core.weights import load_generator
from tests.train.tiny_pack import TINY_RECIPE, make_pack

TINY_SET = [arg for key, value in TINY_RECIPE.items() for arg in ("--set", f"{key}={json.dumps(value)}")]


def session(pack: Path, out: Path, budget: float, *extra: str) -> int:
    argv = ["train", "session", "--data", str(pack), "--out", str(out), "--time-budget", str(budget)]
    argv += ["--preset", "phase1", "--device", "cpu", "--probe-batches", "2,4", "--probe-seconds", "2"]
    argv += ["--margin", "2", *TINY_SET, "--set", "ckpt_every_s=3", *extra]
    return cli_main(argv)


@pytest.mark.slow
def test_two_chained_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = make_pack(tmp_path)
    out1 = tmp_path / "out1"
    assert session(pack, out1, 30) == 0
    printed = capsys.readouterr().out
    assert "environment: python=" in printed and "probe: batch 2: samples_per_s" in printed

    names = sorted(p.name for p in out1.iterdir())
    assert set(names) <= set(OUT_FILES) and len(names) <= MAX_OUT_FILES - 1
    assert "D.safetensors" not in names  # phase 1: no discriminator to carry
    assert check_out_folder(out1) == [] and all(p.stat().st_size < MAX_FILE_BYTES for p in out1.iterdir())
    summary = json.loads((out1 / "summary.json").read_text())
    assert summary["status"] == "done" and summary["stopped_by_budget"] is True
    # stopped by itself near its budget (the exact reserve is tested with a fake clock in test_train_recipe;
    # a shared CPU can stall a step for seconds, hence the slack)
    assert summary["elapsed_s"] < 2 * 30 and summary["step"] > 0
    assert [p["batch"] for p in summary["probe"]] == [2, 4] and summary["probe"][0]["samples_per_s"] > 0
    assert all(
        "samples_per_s" in p or "spent" in p["error"] for p in summary["probe"]
    )  # a busy CPU skips one
    assert summary["environment"]["torch"] and summary["curve"][0]["step"] == 0
    assert summary["val_psnr_end"] == summary["curve"][-1]["val_psnr"]
    grid = cv2.imread(str(out1 / "samples.png"))
    assert grid.shape == (2 * 64, 5 * 64, 3)
    assert load_generator(out1 / "G_ema.safetensors").config.cnum == 8
    assert "done: step" in (out1 / "session.log").read_text()

    # the next call: the carry set comes back in and training goes on from its counters, as phase 2
    warm = tmp_path / "warm"
    warm.mkdir()
    for name in CARRY_FILES:
        if (out1 / name).is_file():
            shutil.copy(out1 / name, warm / name)
    out2 = tmp_path / "out2"
    argv = ["--warm", str(warm), "--preset", "phase2"]
    assert session(pack, out2, 30, *argv) == 0
    second = json.loads((out2 / "summary.json").read_text())
    assert second["curve"][0]["samples"] == summary["samples"] and second["samples"] > summary["samples"]
    assert second["config"]["gan_alpha"] == 0.1 and (out2 / "D.safetensors").is_file()
    assert load_warm_start(out2).discriminator is not None
    assert "val_psnr_change_db" in second  # phase 2 is kept only if this is above -0.2 dB


def test_session_refuses_a_used_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("a user's file")
    assert session(make_pack(tmp_path), out, 10) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "a user's file"


@pytest.mark.skipif(
    not (Path.cwd() / ".git").exists(), reason="needs a git checkout (lists the repo's files)"
)
def test_carry_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    assert cli_main(["train", "carry", "--data", str(small)]) == 0
    out = capsys.readouterr().out
    assert "repository" in out and "fits the 64 MiB" in out
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:  # sparse: 65 MiB on paper
        fh.truncate(65 << 20)
    assert cli_main(["train", "carry", "--data", f"{small},{big}"]) == 2
    assert "does NOT fit" in capsys.readouterr().out
