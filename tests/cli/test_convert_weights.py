"""`python main.py convert-weights`: conversion from both formats, --fp16, --force, and the error exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core import cli
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.weights import load_generator, sha256_file
from tests.conftest import REPO
from tests.helpers_tf import write_bundle

ROOT = REPO
CONFIG = GeneratorConfig(cnum=8)  # the CLI infers the config from the weights


@pytest.fixture(autouse=True)
def _only_convert(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other subcommands are written by other modules; this file tests the convert command alone.
    monkeypatch.setattr(cli, "COMMANDS", {"convert-weights": "inpaint_core.cli.convert"})


def _model(seed: int = 0) -> DeepFillV2Generator:
    torch.manual_seed(seed)
    return DeepFillV2Generator(CONFIG).eval()


def _tf_checkpoint(tmp_path: Path, model: DeepFillV2Generator) -> Path:
    variables: dict[str, np.ndarray] = {"global_step": np.array(7, dtype=np.int32)}
    for key, tensor in model.state_dict().items():
        _stage, layer, rest = key.split(".", 2)
        scope = f"{layer}/{layer}_conv" if rest.startswith("conv.conv.") else layer
        leaf = "kernel" if rest.endswith("weight") else "bias"
        array = tensor.numpy()
        variables[f"inpaint_net/{scope}/{leaf}"] = array.transpose(2, 3, 1, 0) if array.ndim == 4 else array
    write_bundle(tmp_path / "release_places2_256" / "snap-0", variables)
    return tmp_path / "release_places2_256"


def test_convert_tf_checkpoint_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _model()
    out = tmp_path / "g.safetensors"
    assert (
        cli.main(
            ["convert-weights", str(_tf_checkpoint(tmp_path, model)), "-o", str(out), "--source-order", "rgb"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    n = sum(p.numel() for p in model.parameters())
    assert f"{n:,} parameters" in printed and str(out) in printed
    loaded = load_generator(out)
    assert loaded.config == CONFIG
    assert all(
        torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items()
    )  # fp32 by default


def test_convert_index_file_bgr_fp16(tmp_path: Path) -> None:
    model = _model()
    index = _tf_checkpoint(tmp_path, model) / "snap-0.index"
    out = tmp_path / "g.safetensors"
    assert cli.main(["convert-weights", str(index), "-o", str(out), "--fp16"]) == 0
    loaded = load_generator(out).state_dict()
    source = model.state_dict()
    w = source["coarse.conv1.conv.weight"]
    assert torch.equal(
        loaded["coarse.conv1.conv.weight"], torch.cat([w[:, [2, 1, 0]], w[:, 3:]], 1).half().float()
    )
    assert torch.equal(
        loaded["refine.allconv17.conv.bias"], source["refine.allconv17.conv.bias"].flip(0).half().float()
    )
    assert torch.equal(loaded["coarse.conv5.conv.weight"], source["coarse.conv5.conv.weight"].half().float())


def test_convert_pth(tmp_path: Path) -> None:
    model = _model()
    src = tmp_path / "states_tf_places2.pth"
    torch.save({"G": {k.split(".", 1)[1]: v for k, v in model.state_dict().items()}}, src)
    out = tmp_path / "g.safetensors"
    assert cli.main(["convert-weights", str(src), "-o", str(out), "--source-order", "rgb"]) == 0
    assert all(torch.equal(load_generator(out).state_dict()[k], v) for k, v in model.state_dict().items())


def test_refuses_to_overwrite_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = _tf_checkpoint(tmp_path, _model())
    out = tmp_path / "g.safetensors"
    out.write_bytes(b"the user's file")
    assert cli.main(["convert-weights", str(ckpt), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and err.count("\n") == 1
    assert out.read_bytes() == b"the user's file"
    assert cli.main(["convert-weights", str(ckpt), "-o", str(out), "--force"]) == 0
    load_generator(out)


@pytest.mark.parametrize(
    "problem", ["garbage_pth", "missing_source", "missing_folder", "bad_suffix", "not_a_checkpoint"]
)
def test_error_exit_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], problem: str) -> None:
    src = tmp_path / "states.pth"
    out = tmp_path / "g.safetensors"
    if problem == "garbage_pth":
        src.write_bytes(b"garbage" * 50)
    elif problem == "missing_folder":
        src = _tf_checkpoint(tmp_path, _model())
        out = tmp_path / "no" / "g.safetensors"
    elif problem == "bad_suffix":
        src = _tf_checkpoint(tmp_path, _model())
        out = tmp_path / "g.pth"
    elif problem == "not_a_checkpoint":
        src = tmp_path / "photo.jpg"
        src.write_bytes(b"\xff\xd8 not weights")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli.main(["convert-weights", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temporary file
    if problem == "not_a_checkpoint":
        assert "not a checkpoint this can convert" in err


_REGISTRY_COMPLETE = (
    "import importlib.util as u, inpaint_core.cli as c; "
    "raise SystemExit(0 if all(u.find_spec(m) for m in c.COMMANDS.values()) else 3)"
)


_CONVERT_ONLY = (
    "import sys, inpaint_core.cli as c; c.COMMANDS = {'convert-weights': 'inpaint_core.cli.convert'}; "
    "raise SystemExit(c.main(sys.argv[1:]))"
)


@pytest.mark.slow
def test_subprocess_main_py(tmp_path: Path) -> None:
    # main.py runs in a fresh interpreter with the real registry, which imports every subcommand's module;
    # until the other subcommands exist, the same CLI runs with only this one registered.
    check = subprocess.run([sys.executable, "-c", _REGISTRY_COMPLETE], cwd=ROOT, capture_output=True)
    runner = ["main.py"] if check.returncode == 0 else ["-c", _CONVERT_ONLY]
    ckpt = _tf_checkpoint(tmp_path, _model())
    out = tmp_path / "g.safetensors"
    cmd = [sys.executable, *runner, "convert-weights", str(ckpt), "-o", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    digest = sha256_file(out)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and again.stderr.count("\n") == 1
    assert sha256_file(out) == digest
