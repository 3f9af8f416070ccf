"""`inpaint` with the PatchMatch and auto engines: the default without weights, --patch-radius, --flow-out, the
batch, and the provenance sidecar with the source map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inpaint_core.cli as cli
from inpaint_core.cli import main
from inpaint_core.image_io import load_image
from tests.cli.conftest import one_error_line
from tests.helpers.photos import box_mask, textured


@pytest.fixture(autouse=True)
def only_inpaint_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", {"inpaint": cli.COMMANDS["inpaint"]})


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    image, mask = textured(64, 96), box_mask(64, 96, 20, 30, 44, 60)
    Image.fromarray(image).save(tmp_path / "photo.png")
    Image.fromarray((mask * 255).astype(np.uint8)).save(tmp_path / "photo.mask.png")
    return tmp_path / "photo.png", tmp_path / "photo.mask.png", image, mask


def test_the_default_without_weights_is_auto(pair, tmp_path: Path, no_shipped_weights: Path) -> None:
    image_path, mask_path, image, mask = pair
    out = tmp_path / "out.png"
    assert main(["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--provenance"]) == 0
    result = load_image(out).pixels
    np.testing.assert_array_equal(result[~mask], image[~mask])
    record = json.loads((tmp_path / "out.provenance" / "provenance.json").read_text())
    assert record["fills"][0]["engine"] == "auto" and record["fills"][0]["settings"]["patch_radius"] == 3
    # the wide hole went to PatchMatch: its source map is in the sidecar
    flow = load_image(tmp_path / "out.provenance" / "attention-flow.png").pixels
    assert (flow[mask, 3] > 0).all() and (flow[~mask, 3] == 0).all()
    reuse = load_image(tmp_path / "out.provenance" / "source-reuse.png").pixels
    assert reuse[~mask, 3].any() and not reuse[mask, 3].any()  # borrowed from known pixels only


def test_patchmatch_flow_out_and_patch_radius(pair, tmp_path: Path) -> None:
    image_path, mask_path, image, mask = pair
    out, flow = tmp_path / "out.png", tmp_path / "flow.png"
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "patchmatch"]
    assert main([*argv, "--patch-radius", "2", "--flow-out", str(flow)]) == 0
    assert (load_image(flow).pixels[mask, 3] > 0).all()
    result = load_image(out).pixels
    # every filled value is one of the photo's known values (a copy)
    known = {tuple(v) for v in image[~mask]}
    assert all(tuple(v) in known for v in result[mask])


@pytest.mark.parametrize("radius", ["0", "11", "x"])
def test_a_bad_patch_radius_is_one_line(pair, tmp_path: Path, radius: str, capsys) -> None:
    image_path, mask_path, _, _ = pair
    out = tmp_path / "out.png"
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--patch-radius", radius]
    assert main(argv) == 2
    assert "patch-radius" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_flow_out_with_a_classical_engine_is_refused(pair, tmp_path: Path, capsys) -> None:
    image_path, mask_path, _, _ = pair
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(tmp_path / "o.png")]
    assert main([*argv, "--engine", "ns", "--flow-out", str(tmp_path / "f.png")]) == 2
    assert "patchmatch" in one_error_line(capsys.readouterr().err)


def test_a_forbid_mask_leaving_no_source_is_one_line(pair, tmp_path: Path, capsys) -> None:
    image_path, mask_path, _, mask = pair
    forbid = tmp_path / "forbid.png"
    Image.fromarray((~mask * 255).astype(np.uint8)).save(forbid)
    out = tmp_path / "o.png"
    argv = ["inpaint", str(image_path), "--mask", str(mask_path), "-o", str(out), "--engine", "patchmatch"]
    assert main([*argv, "--forbid", str(forbid)]) == 2
    assert "nothing to copy from" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_batch_with_patchmatch(tmp_path: Path) -> None:
    images, masks, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    images.mkdir()
    masks.mkdir()
    for i in range(2):
        Image.fromarray(textured(48, 64, seed=i)).save(images / f"p{i}.png")
        Image.fromarray((box_mask(48, 64, 10, 10, 30, 30) * 255).astype(np.uint8)).save(masks / f"p{i}.png")
    argv = [
        "inpaint",
        "--images",
        str(images),
        "--masks",
        str(masks),
        "-o",
        str(out),
        "--engine",
        "patchmatch",
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]
