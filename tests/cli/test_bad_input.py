"""Bad and unusual input, one case per class (issue #10): images, masks, weights, number options, output paths,
signals, memory. Each asserts a single clear error (exit 2, one `error:` line, nothing left behind) or a correct
result. The editor's saves have their own module (test_app_bad_input.py), so this one runs without Qt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import inpaint_core.engine as engine_module
from inpaint_core.api import InpaintRequest
from inpaint_core.cli import main, one_line
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import InpaintError, MaskError, OutOfMemoryError, WeightsError
from inpaint_core.files import atomic_write, sweep_stale_temps, temp_path_for
from inpaint_core.image_io import load_image, save_image
from inpaint_core.weights import load_generator
from tests.cli.conftest import one_error_line, stalled_process
from tests.helpers.photos import box_mask, synthetic_photo

REPO = Path(__file__).resolve().parents[2]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and signals")


def _write(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """A 48x64 photo and a mask with one hole, as files."""
    return (
        _write(tmp_path / "photo.png", synthetic_photo(48, 64)),
        _write(tmp_path / "mask.png", box_mask(48, 64, 16, 20, 30, 40).astype(np.uint8) * 255),
    )


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------------------------------- images


def test_native_decoder_chatter_stays_off_stderr(tmp_path: Path) -> None:
    """A damaged LZW TIFF makes libtiff print from C; the CLI still shows exactly one line."""
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / "deep.tif"), (rng.random((40, 50, 3)) * 65535).astype(np.uint16))
    data = bytearray((tmp_path / "deep.tif").read_bytes())
    data[2000:4000] = b"\xff" * 2000
    bad = tmp_path / "bad.tif"
    bad.write_bytes(bytes(data))
    mask = _write(tmp_path / "mask.png", box_mask(40, 50, 10, 10, 20, 20).astype(np.uint8) * 255)
    args = ("inpaint", str(bad), "--mask", str(mask), "-o", str(tmp_path / "out.png"), "--engine", "telea")

    loud = _run_cli(*args, env={"DEEPFILL_NATIVE_STDERR": "1"})
    assert len(loud.stderr.strip().splitlines()) > 1, "this file no longer makes a native library talk"
    quiet = _run_cli(*args)
    assert quiet.returncode == 2
    assert "corrupt" in one_error_line(quiet.stderr)
    assert not (tmp_path / "out.png").exists()


def test_decompression_bomb_in_a_training_folder(tmp_path: Path) -> None:
    data, val = tmp_path / "data", tmp_path / "val"
    data.mkdir()
    val.mkdir()
    Image.new("L", (20000, 20000)).save(data / "bomb.png")  # 400 MP in a few hundred kB
    _write(val / "ok.png", synthetic_photo(80, 80))
    run_dir = tmp_path / "run"
    result = _run_cli(
        "train", "--data", str(data), "--val", str(val), "--out", str(run_dir), "--steps", "1",
        "--size", "64", "--batch", "2", "--set", "workers=1", "--set", "cnum=8", "--set", "d_cnum=8",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {data / 'bomb.png'}: "), result.stderr
    assert "too large to decode safely" in errors[0] and "Traceback" not in result.stderr
    assert not run_dir.exists() or _leftovers(run_dir) == []


def test_dataloader_wrapped_error_becomes_its_last_line() -> None:
    wrapped = InpaintError(
        "Caught ImageLoadError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\n    g()\ninpaint_core.errors.ImageLoadError: a.png: corrupt\n'
    )
    assert one_line(wrapped) == "a.png: corrupt"
    assert one_line(InpaintError("plain: message")) == "plain: message"


# ---------------------------------------------------------------------------------------------------- masks


@pytest.mark.parametrize("engine", ["telea", "ns"])
def test_whole_image_mask_with_a_classical_engine(
    engine: str, pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = synthetic_photo(48, 64)
    with pytest.raises(MaskError, match="covers the whole image"):
        InpaintEngine().run(InpaintRequest(photo, np.ones((48, 64), bool), engine=engine))
    full = _write(tmp_path / "full.png", np.full((48, 64), 255, np.uint8))
    out = tmp_path / "out.png"
    assert main(["inpaint", str(pair[0]), "--mask", str(full), "-o", str(out), "--engine", engine]) == 2
    assert "covers the whole image" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.parametrize(("flag", "word"), [("--guide", "guide"), ("--forbid", "forbid mask")])
def test_a_wrong_size_guide_or_forbid_file_is_named_as_such(
    flag: str, word: str, pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = _write(tmp_path / "small.png", np.zeros((10, 12), np.uint8))
    out = tmp_path / "out.png"
    argv = ["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea"]
    assert main([*argv, flag, str(small)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{word} small.png is 12x10" in line and "64x48" in line
    assert not out.exists()


# -------------------------------------------------------------------------------------------------- weights


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_holding_nan_or_inf_are_refused_at_load(
    value: float,
    random_weights: Path,
    pair: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(random_weights), "pt") as fh:
        metadata = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118  (safe_open has no __iter__)
    key = "refine.allconv17.conv.weight"
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[5] = value
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)

    with pytest.raises(WeightsError, match=f"{key} holds NaN or infinite"):
        load_generator(bad)
    out = tmp_path / "out.png"
    assert main(["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--weights", str(bad)]) == 2
    assert "NaN" in one_error_line(capsys.readouterr().err)
    assert not out.exists()
    tensors[key] = torch.nan_to_num(tensors[key], nan=0.0, posinf=0.0)
    save_file(tensors, str(bad), metadata=metadata)
    assert load_generator(bad) is not None  # the same file, finite again, loads: the check is not blanket


# -------------------------------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--edge-blend", "nan"], "--edge-blend: expected a whole number"),
        (["--edge-blend", "2.5"], "--edge-blend: expected a whole number"),
        (["--edge-blend=-1"], "--edge-blend: must be between 0 and 64"),
        (["--max-side", "10"], "--max-side: must be between 64 and 4096"),
        (["--max-side", "abc"], "--max-side: expected a whole number"),
        (["--engine", "magic"], "--engine: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_number_and_option_values_are_one_line(
    extra: list[str],
    fragment: str,
    pair: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out.png"
    args = ["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea", *extra]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert fragment in one_error_line(captured.err)
    assert "usage:" not in captured.err + captured.out
    assert not out.exists()


def test_engine_refuses_an_out_of_range_edge_blend() -> None:
    photo, mask = synthetic_photo(48, 64), box_mask(48, 64, 10, 10, 20, 20)
    for blend in (float("nan"), float("inf"), -1, 65):
        with pytest.raises(InpaintError, match="edge blend"):
            InpaintEngine().run(InpaintRequest(photo, mask, engine="telea", edge_blend=blend))  # type: ignore[arg-type]


def test_bad_option_in_a_real_process_prints_no_usage_block(pair: tuple[Path, Path], tmp_path: Path) -> None:
    result = _run_cli(
        "inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(tmp_path / "o.png"), "--edge-blend", "nan"
    )
    assert result.returncode == 2
    assert "--edge-blend" in one_error_line(result.stderr)


def test_training_config_that_is_binary_or_not_finite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "config.json"
    binary.write_bytes(bytes(range(256)) * 4)
    data = tmp_path / "data"
    data.mkdir()
    common = ["train", "--data", str(data), "--out", str(tmp_path / "run")]
    assert main([*common, "--config", str(binary)]) == 2
    assert "not a text (JSON) file" in one_error_line(capsys.readouterr().err)
    assert main([*common, "--set", "lr=NaN"]) == 2
    assert "lr must be a finite number" in one_error_line(capsys.readouterr().err)
    assert main([*common, "--steps", "-3"]) == 2
    assert "--steps: must be at least 0" in one_error_line(capsys.readouterr().err)


# --------------------------------------------------------------------------------------------- output paths


def test_unwritable_output_folder_fails_before_the_fill(
    pair: tuple[Path, Path],
    unwritable_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs: list[object] = []
    real_run = InpaintEngine.run
    monkeypatch.setattr(InpaintEngine, "run", lambda self, *a, **k: runs.append(a) or real_run(self, *a, **k))
    out = unwritable_folder / "out.png"
    assert main(["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea"]) == 2
    assert "cannot write in this folder" in one_error_line(capsys.readouterr().err)

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for name in ("a", "b"):
        (images / f"{name}.png").write_bytes(pair[0].read_bytes())
        (masks / f"{name}.png").write_bytes(pair[1].read_bytes())
    batch = ["inpaint", "--images", str(images), "--masks", str(masks), "--engine", "telea"]
    assert main([*batch, "-o", str(unwritable_folder)]) == 2
    assert "cannot write in this folder" in one_error_line(capsys.readouterr().err)
    assert runs == []  # refused before any fill ran
    assert main([*batch, "-o", str(unwritable_folder / "sub")]) == 2
    assert "cannot create the output folder" in one_error_line(capsys.readouterr().err)


def test_flow_out_equal_to_output_is_refused_before_the_run(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], random_weights: Path
) -> None:
    out = tmp_path / "out.png"
    args = ["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--weights", str(random_weights)]
    assert main([*args, "--flow-out", str(tmp_path / "." / "out.png")]) == 2
    assert "same file" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


@POSIX
def test_outputs_respect_the_umask_and_keep_an_existing_mode(pair: tuple[Path, Path], tmp_path: Path) -> None:
    photo = synthetic_photo(8, 8)
    old = os.umask(0o027)
    try:
        save_image(tmp_path / "new.png", photo)
        assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == 0o640
        for mode in (0o644, 0o600, 0o664):
            out = tmp_path / f"existing-{mode:o}.png"
            save_image(out, photo)
            out.chmod(mode)
            args = ["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea"]
            assert main([*args, "--force"]) == 0
            assert stat.S_IMODE(out.stat().st_mode) == mode
            assert load_image(out).pixels.shape == (48, 64, 3)  # it was really replaced
    finally:
        os.umask(old)


@POSIX
def test_a_symlinked_output_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.png"
    save_image(real, synthetic_photo(8, 8))
    link = tmp_path / "link.png"
    link.symlink_to(real)
    save_image(link, synthetic_photo(8, 8, seed=3), overwrite=True)
    assert link.is_symlink()
    assert np.array_equal(load_image(real).pixels, synthetic_photo(8, 8, seed=3))


def test_data_is_synced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    with atomic_write(tmp_path / "x.bin") as fh:
        fh.write(b"data")
    assert events[:2] == ["fsync", "replace"]  # the file's bytes are on disk before its name points at them
    if os.name == "posix":
        assert events == ["fsync", "replace", "fsync"]  # and the folder entry after the rename


# -------------------------------------------------------------------------------------------------- signals

# A CLI run that stalls inside the atomic write (after writing, before the rename) and says so on stdout.
_STALLING_CLI = """
import os, sys, time
def stall(fd):
    print("writing", flush=True)
    time.sleep(600)
os.fsync = stall
from inpaint_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _stalled_save(
    pair: tuple[Path, Path], out: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    """A CLI process stalled mid-save (its temp file written, not yet renamed); killed if the test fails."""
    args = ["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea", "--force"]
    return stalled_process(_STALLING_CLI, args, f".{out.name}.dfs-", out.parent)


@POSIX
def test_sigterm_during_a_save_cleans_up(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    with _stalled_save(pair, out) as proc:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=180)  # generous: a loaded machine tears torch down slowly
    assert proc.returncode == 128 + signal.SIGTERM
    assert one_error_line(stderr) == "error: terminated"
    assert out.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == []


@POSIX
def test_sigkill_leftovers_are_swept_by_the_next_save(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    with _stalled_save(pair, out) as proc:
        proc.kill()
        proc.communicate(timeout=180)
    stale = _leftovers(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".out.png.dfs-")
    # Not ours to delete: a live writer's temp file, another target's, and a look-alike name.
    live = temp_path_for(out)  # this process's pid: still running
    live.write_bytes(b"in progress")
    other = tmp_path / ".other.png.dfs-1-0123abcd.tmp"
    lookalike = tmp_path / ".out.png.dfs-backup.tmp"
    for keep in (other, lookalike):
        keep.write_bytes(b"keep")

    assert main(["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea"]) == 0
    assert load_image(out).pixels.shape == (48, 64, 3)
    assert _leftovers(tmp_path) == sorted([live.name, other.name, lookalike.name])
    assert sweep_stale_temps(out) == []


# --------------------------------------------------------------------------------------------------- memory


def test_opencv_out_of_memory_in_window_planning_is_one_line(
    pair: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def huge(_mask: np.ndarray) -> list[object]:  # what a ~250 MP mask does to connectedComponents
        cv2.resize(np.zeros((4, 4), np.uint8), (1 << 20, 1 << 20))
        raise AssertionError("OpenCV allocated a terabyte")

    monkeypatch.setattr(engine_module, "hole_boxes", huge)
    with pytest.raises(OutOfMemoryError, match="not enough memory to fill this 64x48 image"):
        InpaintEngine().run(
            InpaintRequest(synthetic_photo(48, 64), box_mask(48, 64, 1, 1, 9, 9), engine="telea")
        )
    out = tmp_path / "out.png"
    assert main(["inpaint", str(pair[0]), "--mask", str(pair[1]), "-o", str(out), "--engine", "telea"]) == 2
    assert "not enough memory" in one_error_line(capsys.readouterr().err)
    assert not out.exists() and _leftovers(tmp_path) == []
