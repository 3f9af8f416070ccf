"""Bad input and interruptions for restoration and provenance (issue #24): the photo, its proposed mask and its
sidecar succeed or fail together, batch output names never clash, masks are written losslessly, and scratch
detection ends in a mask or one clear line, never a traceback. Qt-free.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inpaint_core.cli as cli
import inpaint_core.image_io as image_io
from inpaint_core.cli import main
from inpaint_core.files import StagedOutputs, atomic_write, sweep_stale_temps
from inpaint_core.image_io import load_image, save_image
from tests.cli.conftest import one_error_line, stalled_process
from tests.helpers.photos import damaged_photo

REPO = Path(__file__).resolve().parents[2]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and signals")


@pytest.fixture(autouse=True)
def only_these_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser with the commands under test only (others may be written by other sessions)."""
    names = ("inpaint", "detect-scratches")
    monkeypatch.setattr(cli, "COMMANDS", {k: v for k, v in cli.COMMANDS.items() if k in names})


def _old_photo(path: Path, seed: int = 0) -> Path:
    """A scan with a few scratches and specks, as a file."""
    Image.fromarray(damaged_photo(96, 128, seed).image).save(path)
    return path


def _restore_argv(src: Path, out: Path, *extra: str) -> list[str]:
    return [
        "inpaint",
        str(src),
        "--auto-scratches",
        "--provenance",
        "-o",
        str(out),
        "--engine",
        "telea",
        *extra,
    ]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------- the photo, its mask and its sidecar go together


def test_disk_full_while_the_photo_is_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _old_photo(tmp_path / "old.png")
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "restored.png"

    def full_disk(path: Path, mode: str = "wb", **kwargs: object) -> object:
        if Path(path).name == out.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return atomic_write(path, mode, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(image_io, "atomic_write", full_disk)
    assert main(_restore_argv(src, out)) == 2
    assert "No space left" in one_error_line(capsys.readouterr().err)
    assert _names(outdir) == []  # no mask, no record of a photo that does not exist, no temporaries
    monkeypatch.undo()
    assert main(_restore_argv(src, out)) == 0  # the retry is not refused over files of the failed run
    assert _names(outdir) == ["restored.mask.png", "restored.png", "restored.provenance"]


def test_a_sidecar_that_cannot_be_written_takes_the_photo_and_mask_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import inpaint_core.restore.provenance as provenance

    src = _old_photo(tmp_path / "old.png")
    outdir = tmp_path / "out"
    outdir.mkdir()

    def broken(*_args: object, **_kwargs: object) -> list[str]:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(provenance, "_write_maps", broken)
    assert main(_restore_argv(src, outdir / "r.png")) == 2
    assert "cannot write the provenance sidecar" in one_error_line(capsys.readouterr().err)
    assert _names(outdir) == []


def test_a_failed_commit_puts_back_what_it_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo, mask, folder = tmp_path / "p.png", tmp_path / "p.mask.png", tmp_path / "p.provenance"
    photo.write_bytes(b"old photo")
    stage = StagedOutputs()
    with atomic_write(photo, stage=stage) as fh:
        fh.write(b"new photo")
    with atomic_write(mask, stage=stage) as fh:
        fh.write(b"new mask")
    (stage.folder(folder) / "provenance.json").write_text("{}")
    assert photo.read_bytes() == b"old photo" and not mask.exists() and not folder.exists()  # staged only

    real_rename = os.rename

    def no_folder_rename(src: object, dst: object) -> None:
        if Path(str(dst)) == folder:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", no_folder_rename)
    with pytest.raises(OSError):
        stage.commit()
    assert photo.read_bytes() == b"old photo" and not mask.exists() and not folder.exists()
    assert _names(tmp_path) == ["p.png"]  # no temporaries, no backups


# A CLI run that stalls while the sidecar is written (the photo and mask staged, not yet renamed).
_STALLING_SIDECAR = """
import sys, time
import inpaint_core.restore.provenance as provenance
def stall(folder, *args):
    print("writing", flush=True)
    time.sleep(600)
provenance._write_maps = stall
from inpaint_core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _stalled_sidecar(argv: list[str], out: Path) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    return stalled_process(_STALLING_SIDECAR, argv, f".{out.stem}.provenance.dfs-", out.parent)


@POSIX
@pytest.mark.parametrize(
    ("signum", "message"), [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")]
)
def test_a_signal_while_the_sidecar_is_written_leaves_nothing(
    tmp_path: Path, signum: int, message: str
) -> None:
    src = _old_photo(tmp_path / "old.png")
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "r.png"
    with _stalled_sidecar(_restore_argv(src, out), out) as proc:
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == (130 if signum == signal.SIGINT else 128 + signum)
    assert one_error_line(stderr) == f"error: {message}"
    assert _names(outdir) == []


@POSIX
def test_a_sidecar_left_by_sigkill_is_swept_by_the_next_run(tmp_path: Path) -> None:
    src = _old_photo(tmp_path / "old.png")
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "r.png"
    with _stalled_sidecar(_restore_argv(src, out), out) as proc:
        proc.kill()
        proc.communicate(timeout=180)
    stale = _names(outdir)
    assert not (outdir / "r.png").exists() and not (outdir / "r.provenance").exists()  # nothing committed
    assert any(name.startswith(".r.provenance.dfs-") for name in stale), stale
    keep = outdir / ".r.provenance.backup"  # a look-alike of another tool: not ours
    keep.mkdir()
    assert main(_restore_argv(src, out)) == 0
    assert _names(outdir) == [keep.name, "r.mask.png", "r.png", "r.provenance"]
    assert sweep_stale_temps(outdir / "r.provenance") == []


@POSIX
def test_the_sidecar_folder_follows_the_umask(tmp_path: Path) -> None:
    src = _old_photo(tmp_path / "old.png")
    old = os.umask(0o022)
    try:
        assert main(_restore_argv(src, tmp_path / "r.png")) == 0
    finally:
        os.umask(old)
    folder = tmp_path / "r.provenance"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "provenance.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "r.mask.png").stat().st_mode) == 0o644


def test_save_image_with_a_stage_writes_only_at_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    with StagedOutputs() as stage:
        save_image(path, np.zeros((4, 4), np.uint8), stage=stage)
        assert not path.exists()
    assert load_image(path).pixels.shape == (4, 4)


# ------------------------------------------------------------------------------------ batch output names


@pytest.mark.parametrize(
    ("names", "extra", "clash"),
    [
        (["a.png", "a.jpg"], ["--provenance", "--force"], "a.mask.png"),  # same stem, other format
        (["x.png", "x.mask.png"], [], "x.mask.png"),  # a photo named like another's proposed mask
        (["a.png", "a.jpg"], [], "a.mask.png"),  # without --force: refused up front, not mid-run
    ],
)
def test_batch_outputs_that_would_clash_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: list[str], extra: list[str], clash: str
) -> None:
    images, out = tmp_path / "scans", tmp_path / "restored"
    images.mkdir()
    for i, name in enumerate(names):
        _old_photo(images / name, seed=i)
    argv = [
        "inpaint",
        "--images",
        str(images),
        "--auto-scratches",
        "-o",
        str(out),
        "--engine",
        "telea",
        *extra,
    ]
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert all(name in line for name in names) and clash in line, line
    assert not out.exists()  # planned before the output folder was even made
    assert _names(images) == sorted(names)


def test_batch_names_that_only_share_a_stem_are_fine_without_sidecars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, masks, out = tmp_path / "scans", tmp_path / "masks", tmp_path / "filled"
    images.mkdir()
    masks.mkdir()
    for i, name in enumerate(["a.png", "a.jpg"]):
        _old_photo(images / name, seed=i)
    hole = np.zeros((96, 128), np.uint8)
    hole[20:40, 30:60] = 255
    Image.fromarray(hole).save(masks / "a.png")
    argv = ["inpaint", "--images", str(images), "--masks", str(masks), "-o", str(out), "--engine", "telea"]
    assert main(argv) == 0
    assert _names(out) == ["a.jpg", "a.png"]
    assert "2 written" in capsys.readouterr().out


# ------------------------------------------------------------------------------- progress bars and errors


def test_a_fatal_batch_error_is_one_line_in_piped_stderr(tmp_path: Path) -> None:
    images, out = tmp_path / "scans", tmp_path / "restored"
    images.mkdir()
    for i in range(2):
        _old_photo(images / f"p{i}.png", seed=i)
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(b"not weights")
    result = subprocess.run(
        [sys.executable, "main.py", "inpaint", "--images", str(images), "--auto-scratches", "-o", str(out),
         "--weights", str(bad), "--device", "cpu"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "w.safetensors" in one_error_line(result.stderr)  # no "inpaint: 0%|" render before it


def test_bad_training_data_is_one_line_with_no_bar_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "COMMANDS", {"train": "inpaint_core.cli.train"})
    empty = tmp_path / "data"
    empty.mkdir()
    argv = ["train", "--data", str(empty), "--out", str(tmp_path / "run"), "--steps", "2", "--device", "cpu"]
    assert main(argv) == 2
    assert "train:" not in one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------------------ the mask format


@pytest.mark.parametrize("name", ["mask.jpg", "mask.jpeg", "mask.webp", "mask.tif", "mask.PNG.jpg"])
def test_a_mask_is_written_as_png_only(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    src = _old_photo(tmp_path / "old.png")
    out = tmp_path / name
    assert main(["detect-scratches", str(src), "-o", str(out)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "PNG" in line and name in line
    assert _names(tmp_path) == ["old.png"]
    assert main(["detect-scratches", str(src), "-o", str(tmp_path / "mask.PNG")]) == 0  # any case of .png


# ------------------------------------------------------------------------------------- scratch detection


def test_a_70000_px_panorama_strip_is_detected_in_tiles(tmp_path: Path) -> None:
    strip = np.full((100, 70000), 128, np.uint8)  # 7 MP; at half resolution over OpenCV's 32767 px
    strip[50:52, 1000:69000] = 30  # a long dark scratch along it
    strip[20:80, 35000] = 220  # a short bright one across it
    src, out = tmp_path / "pano.png", tmp_path / "pano.mask.png"
    save_image(src, strip)
    # the classical detector's tiles (the learned one reads a strip this size in one pass)
    assert main(["detect-scratches", str(src), "-o", str(out), "--method", "classical"]) == 0
    mask = load_image(out).pixels > 0
    assert mask.shape == (100, 70000)
    assert mask[50, 1000:69000].mean() > 0.99 and mask[20:80, 35000].mean() > 0.9
    assert mask[:10].sum() == 0 and mask[90:].sum() == 0  # nothing beyond them


def _opencv_out_of_memory(*_args: object) -> object:
    """What a 250 MP scan under a memory cap does to the detector's warpAffine."""
    import cv2

    cv2.resize(np.zeros((4, 4), np.uint8), (1 << 20, 1 << 20))
    raise AssertionError("OpenCV allocated a terabyte")


@pytest.mark.parametrize("command", ["detect-scratches", "inpaint"])
def test_scratch_detection_out_of_memory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    import inpaint_core.restore.scratches as scratches

    src = _old_photo(tmp_path / "old.png")
    out = tmp_path / "out.png"
    monkeypatch.setattr(scratches, "_analyse", _opencv_out_of_memory)
    argv = ["detect-scratches", str(src), "-o", str(out), "--method", "classical"]
    if command == "inpaint":
        argv = _restore_argv(src, out, "--scratch-method", "classical")
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "not enough memory to look for scratches on this 128x96 photo" in line
    assert _names(tmp_path) == ["old.png"]


def test_another_opencv_limit_is_one_plain_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import inpaint_core.restore.scratches as scratches

    def limit(*_args: object) -> object:  # the untiled detector's line evidence on a 70000 px strip
        scratches._line_evidence(np.zeros((4, 35000, 2), np.uint8), 21, 16, 3)
        raise AssertionError("OpenCV took a 35000 px row")

    src = _old_photo(tmp_path / "old.png")
    monkeypatch.setattr(scratches, "_analyse", limit)
    assert main(["detect-scratches", str(src), "-o", str(tmp_path / "m.png"), "--method", "classical"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(
        "error: cannot look for scratches on this 128x96 photo (OpenCV: Assertion failed: "
    )
    assert "SHRT_MAX" in line and ".cpp" not in line
