"""`python main.py inpaint`: single images, batches, and every error path (one line, exit code, no output)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inpaint_core.cli as cli
import inpaint_core.manifest as manifest_module
from inpaint_core.cli import main
from inpaint_core.image_io import load_image
from inpaint_core.weights import sha256_file
from tests.cli.conftest import one_error_line
from tests.conftest import REPO
from tests.helpers.photos import box_mask, synthetic_photo

ALL_COMMANDS = dict(cli.COMMANDS)


@pytest.fixture(autouse=True)
def only_inpaint_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser with this subcommand only, so these tests do not depend on the other subcommands."""
    monkeypatch.setattr(cli, "COMMANDS", {"inpaint": cli.COMMANDS["inpaint"]})


def _write(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    image = synthetic_photo(48, 64)
    mask = box_mask(48, 64, 16, 20, 30, 40)
    return (
        _write(tmp_path / "photo.png", image),
        _write(tmp_path / "mask.png", (mask * 255).astype(np.uint8)),
        image,
        mask,
    )


def test_single_telea(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image_path, mask_path, image, mask = pair
    out = tmp_path / "out.png"
    assert (
        main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]) == 0
    )
    result = load_image(out).pixels
    np.testing.assert_array_equal(result[~mask], image[~mask])
    assert np.any(result[mask] != image[mask])
    assert "wrote" in capsys.readouterr().out


def test_a_terminal_sees_the_fill_progress_and_a_pipe_does_not(
    pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the single fill draws a percentage bar naming the stage (window by window); in a pipe,
    nothing but the result line."""
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    image_path, mask_path, *_ = pair
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "--engine", "telea"]
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        out = tmp_path / f"out_{shown}.png"
        assert main([*argv, "-o", str(out)]) == 0
        text = stream.getvalue()
        assert ("inpaint:" in text and "%|" in text) == shown, (
            text
        )  # redrawn at most every 0.1 s, then cleared


def test_single_deepfill_with_flow(pair, tmp_path: Path, random_weights: Path) -> None:
    image_path, mask_path, image, mask = pair
    out, flow = tmp_path / "out.png", tmp_path / "flow.png"
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out)]
    argv += ["--weights", str(random_weights), "--device", "cpu", "--flow-out", str(flow)]
    assert main(argv) == 0
    np.testing.assert_array_equal(load_image(out).pixels[~mask], image[~mask])
    flow_pixels = load_image(flow).pixels
    assert flow_pixels.shape == (48, 64, 4)
    assert (flow_pixels[~mask, 3] == 0).all() and (flow_pixels[mask, 3] > 0).any()


def test_corrupt_image(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, mask_path, _, _ = pair
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out.png"
    assert main(["inpaint", str(bad), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]) == 2
    assert "bad.png" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_wrong_size_mask(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image_path, _, _, _ = pair
    small = _write(tmp_path / "small.png", np.full((10, 12), 255, np.uint8))
    out = tmp_path / "out.png"
    assert main(["inpaint", str(image_path), "--mask", str(small), "-o", str(out), "--engine", "ns"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "12x10" in line and "64x48" in line
    assert not out.exists()


def test_decompression_bomb(pair, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    import inpaint_core.image_io as image_io

    image_path, mask_path, _, _ = pair
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 1000)
    out = tmp_path / "out.png"
    assert (
        main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]) == 2
    )
    assert "too large" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_missing_weights(
    pair, tmp_path: Path, no_shipped_weights, capsys: pytest.CaptureFixture[str]
) -> None:
    image_path, mask_path, _, _ = pair
    out = tmp_path / "out.png"
    assert (
        main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "deepfill"])
        == 2
    )
    line = one_error_line(capsys.readouterr().err)
    assert "weights are not installed" in line and "--engine auto" in line
    assert not out.exists()


def test_tampered_shipped_weights(
    pair, tmp_path: Path, random_weights: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    image_path, mask_path, _, _ = pair
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    data = bytearray(random_weights.read_bytes())
    (shipped / "w.safetensors").write_bytes(bytes(data))
    manifest = shipped / "manifest.json"
    manifest.write_text(
        json.dumps({"default": {"file": "w.safetensors", "sha256": sha256_file(random_weights)}})
    )
    monkeypatch.setattr(manifest_module, "MANIFEST", manifest)
    data[-100] ^= 0xFF  # flip a byte of a tensor: the file still parses, only the hash can tell
    (shipped / "w.safetensors").write_bytes(bytes(data))
    out = tmp_path / "out.png"
    assert (
        main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--device", "cpu"]) == 2
    )
    assert "SHA-256" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_not_a_weights_file(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image_path, mask_path, _, _ = pair
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    out = tmp_path / "out.png"
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--weights", str(junk)]
    assert main([*argv, "--device", "cpu"]) == 2
    assert "not a valid weights file" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_existing_output_needs_force(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image_path, mask_path, image, mask = pair
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "telea"]
    assert main(argv) == 2
    assert "--force" in one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"keep me"
    assert main([*argv, "--force"]) == 0
    np.testing.assert_array_equal(load_image(out).pixels[~mask], image[~mask])


def test_empty_mask_copies_through(pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image_path, _, image, _ = pair
    empty = _write(tmp_path / "empty.png", np.zeros((48, 64), np.uint8))
    out = tmp_path / "out.png"
    assert main(["inpaint", str(image_path), "--mask", str(empty), "-o", str(out)]) == 0  # no weights needed
    assert "empty mask" in capsys.readouterr().err
    np.testing.assert_array_equal(load_image(out).pixels, image)


def test_missing_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inpaint", "-o", str(tmp_path / "x.png")]) == 2
    assert "IMAGE" in one_error_line(capsys.readouterr().err)
    assert main(["inpaint", "--images", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "--masks" in one_error_line(capsys.readouterr().err)


def test_batch_with_one_bad_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    for i, name in enumerate(("a", "b", "c")):
        _write(images / f"{name}.png", synthetic_photo(32, 40, seed=i))
    (images / "d.png").write_bytes(b"corrupt")  # a bad image
    _write(images / "e.png", synthetic_photo(32, 40))  # no mask for this one
    hole = (box_mask(32, 40, 10, 10, 20, 22) * 255).astype(np.uint8)
    for name in ("a", "b", "d"):
        _write(masks / f"{name}.png", hole)
    _write(masks / "c.png", np.zeros((16, 16), np.uint8))  # wrong size

    code = main(
        ["inpaint", "--images", str(images), "--masks", str(masks), "-o", str(out), "--engine", "telea"]
    )

    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3
    assert any("c.png" in e and "16x16" in e for e in errors)
    assert any("d.png" in e for e in errors) and any("e.png" in e and "no mask" in e for e in errors)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    assert "2 written" in captured.out and "3 failed" in captured.out


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    import importlib.util

    missing = [m for m in ALL_COMMANDS.values() if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"main.py builds every subcommand; not written yet: {missing}")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    _write(tmp_path / "m.png", np.zeros((4, 4), np.uint8))
    proc = subprocess.run(
        [
            sys.executable,
            "main.py",
            "inpaint",
            str(bad),
            "--mask",
            str(tmp_path / "m.png"),
            "-o",
            str(tmp_path / "o.png"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    one_error_line(proc.stderr)
    assert not (tmp_path / "o.png").exists()


def test_time_budget_lowers_the_model_resolution(
    tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-seconds: a budget no window can meet leaves the model at its floor side; the line says so."""
    image_path = _write(tmp_path / "photo.png", synthetic_photo(200, 260))
    mask_path = _write(tmp_path / "mask.png", (box_mask(200, 260, 70, 100, 130, 160) * 255).astype(np.uint8))
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "--weights", str(random_weights)]
    argv += ["--device", "cpu", "--precision", "fp32"]
    assert main([*argv, "-o", str(tmp_path / "full.png")]) == 0
    full_line = capsys.readouterr().out
    assert main([*argv, "-o", str(tmp_path / "fast.png"), "--max-seconds", "0.05"]) == 0
    fast_line = capsys.readouterr().out
    fast_side = max(int(n) for n in fast_line.split("model at ")[1].split(" px")[0].split("x"))
    full_side = max(int(n) for n in full_line.split("model at ")[1].split(" px")[0].split("x"))
    assert fast_side == 64 < full_side
    assert main([*argv, "-o", str(tmp_path / "bad.png"), "--max-seconds", "0"]) == 2
    assert "--max-seconds" in one_error_line(capsys.readouterr().err)
