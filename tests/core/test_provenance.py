"""Provenance: the sidecar against the fills made, the note embedded in saved files, safe writing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.engine import InpaintEngine, InpaintRequest
from inpaint_core.errors import InpaintError, OutputExistsError, Remedy
from inpaint_core.image_io import load_image, save_image
from inpaint_core.restore.provenance import (
    DIGITAL_SOURCE_CLASSICAL,
    DIGITAL_SOURCE_TRAINED,
    FILES,
    embedded_note,
    record_fill,
    sidecar_path,
    sidecar_reference,
    write_sidecar,
)
from inpaint_core.restore.reuse import reuse_density
from inpaint_core.weights import sha256_file
from tests.helpers.photos import box_mask, synthetic_photo

H, W = 80, 112


@pytest.fixture(scope="module")
def two_fills(random_weights: Path):
    """A Telea fill, then a DeepFill fill on its result (as the editor chains them)."""
    engine = InpaintEngine()
    photo = synthetic_photo(H, W)
    first = InpaintRequest(image=photo, mask=box_mask(H, W, 5, 6, 20, 30), engine="telea")
    r1 = engine.run(first)
    second = InpaintRequest(
        image=r1.image, mask=box_mask(H, W, 40, 50, 70, 100), weights=random_weights, device="cpu"
    )
    r2 = engine.run(second)
    fills = [record_fill(first, r1), record_fill(second, r2)]
    return photo, r2.image, fills


def test_sidecar_matches_the_fills(two_fills, tmp_path: Path, random_weights: Path) -> None:
    photo, result, fills = two_fills
    out = tmp_path / "restored.png"
    folder = write_sidecar(out, fills, shape=photo.shape, original=photo, result=result)
    assert folder == tmp_path / "restored.provenance" == sidecar_path(out)
    record = json.loads((folder / "provenance.json").read_text())
    assert record["image"] == "restored.png" and (record["width"], record["height"]) == (W, H)
    assert record["engines"] == ["deepfill", "telea"]
    assert [f["engine"] for f in record["fills"]] == ["telea", "deepfill"]  # in the order they were made
    assert [f["index"] for f in record["fills"]] == [1, 2]
    assert record["fills"][0]["box"] == [6, 5, 30, 20] and record["fills"][1]["box"] == [50, 40, 100, 70]
    assert record["fills"][0]["pixels"] == 15 * 24 and record["fills"][1]["pixels"] == 30 * 50
    assert record["fills"][0]["weights_sha256"] is None
    sha = sha256_file(random_weights)
    assert (
        record["fills"][1]["weights_sha256"] == sha
        and record["fills"][1]["weights_file"] == random_weights.name
    )
    assert record["models"] == [{"name": "DeepFill v2 (cnum=8)", "file": random_weights.name, "sha256": sha}]
    assert record["fills"][1]["date"].endswith("+00:00")
    assert record["filled_pixels"] == 15 * 24 + 30 * 50
    assert fills[0].region.shape == (15, 24) and fills[0].mask.shape == (H, W)  # only the box is stored
    for name in record["files"].values():
        assert (folder / name).is_file(), name
    assert set(record["files"].values()) == {p.name for p in folder.iterdir()}

    union = box_mask(H, W, 5, 6, 20, 30) | box_mask(H, W, 40, 50, 70, 100)
    np.testing.assert_array_equal(load_image(folder / FILES["filled_pixels"]).pixels > 0, union)
    index = load_image(folder / FILES["fill_index"]).pixels
    assert set(np.unique(index)) == {0, 1, 2}
    np.testing.assert_array_equal(index == 1, box_mask(H, W, 5, 6, 20, 30))
    regions = load_image(folder / FILES["fill_regions"]).pixels
    assert regions.shape == (H, W, 4) and (regions[union, 3] > 0).all()
    flow = load_image(folder / FILES["attention_flow"]).pixels
    np.testing.assert_array_equal(flow[..., 3] > 0, box_mask(H, W, 40, 50, 70, 100) & (flow[..., 3] > 0))
    assert (flow[..., 3] > 0).sum() > 0.9 * 30 * 50  # the DeepFill fill's pixels have flow colours
    reuse = load_image(folder / FILES["source_reuse"]).pixels
    expected = reuse_density(fills[1].attention) >= 0.01
    np.testing.assert_array_equal(reuse[..., 3] > 0, expected)
    readme = (folder / "README.txt").read_text()
    assert "NOT EVERY PIXEL" in readme and sha in readme and "fill 2" in readme
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_changed_pixels_outside_the_fills_count_as_not_original(two_fills, tmp_path: Path) -> None:
    photo, result, fills = two_fills
    edited = result.copy()
    edited[0, 0] = 255 - edited[0, 0]
    folder = write_sidecar(tmp_path / "x.png", fills, shape=photo.shape, original=photo, result=edited)
    assert load_image(folder / FILES["filled_pixels"]).pixels[0, 0] == 255


def test_classical_only_has_no_attention_files(two_fills, tmp_path: Path) -> None:
    photo, _, fills = two_fills
    folder = write_sidecar(tmp_path / "t.jpg", fills[:1], shape=photo.shape)
    names = {p.name for p in folder.iterdir()}
    assert FILES["attention_flow"] not in names and FILES["source_reuse"] not in names
    assert json.loads((folder / "provenance.json").read_text())["models"] == []


def test_existing_sidecar_needs_overwrite(two_fills, tmp_path: Path) -> None:
    photo, _, fills = two_fills
    out = tmp_path / "p.png"
    folder = sidecar_path(out)
    folder.mkdir()
    (folder / "mine.txt").write_text("keep")
    with pytest.raises(OutputExistsError, match="exists") as info:
        write_sidecar(out, fills, shape=photo.shape)
    assert info.value.remedy is Remedy.OVERWRITE  # the front end says how (--force, another name)
    assert (folder / "mine.txt").read_text() == "keep"
    write_sidecar(out, fills[:1], shape=photo.shape, overwrite=True)
    assert not (folder / "mine.txt").exists()
    assert len(json.loads((folder / "provenance.json").read_text())["fills"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["p.provenance"]


def test_bad_sidecar_requests(two_fills, tmp_path: Path) -> None:
    photo, _, fills = two_fills
    with pytest.raises(InpaintError, match="nothing was filled"):
        write_sidecar(tmp_path / "a.png", [], shape=photo.shape)
    with pytest.raises(InpaintError, match="made on a 112x80 image"):
        write_sidecar(tmp_path / "b.png", fills, shape=(10, 10, 3))
    with pytest.raises(InpaintError, match="does not exist"):
        write_sidecar(tmp_path / "missing" / "c.png", fills, shape=photo.shape)


def _xmp_of(path: Path) -> bytes:
    return path.read_bytes()[path.read_bytes().find(b"<x:xmpmeta") :]


@pytest.mark.parametrize(
    ("suffix", "dtype", "channels"),
    [(".png", np.uint8, 3), (".png", np.uint16, 3), (".png", np.uint8, 1), (".jpg", np.uint8, 3),
     (".tif", np.uint8, 3), (".tif", np.uint16, 3), (".tif", np.uint16, 4), (".webp", np.uint8, 4)],
)  # fmt: skip
def test_note_is_embedded(two_fills, tmp_path: Path, suffix: str, dtype: type, channels: int) -> None:
    photo, _, fills = two_fills
    out = tmp_path / f"restored{suffix}"
    note = embedded_note(fills, sidecar_reference(out), photo.shape)
    assert "2 filled (inpainted) regions" in note.text["Description"]
    assert note.text["Provenance"] == "restored.provenance/provenance.json"
    pixels = synthetic_photo(H, W, channels=channels, dtype=dtype)
    save_image(out, pixels, text=note.text, xmp=note.xmp)
    xmp = _xmp_of(out)
    assert b"restored.provenance/provenance.json" in xmp and DIGITAL_SOURCE_TRAINED.encode() in xmp
    assert b"Not every pixel is original" in xmp
    with Image.open(out) as im:
        if suffix == ".png":
            assert im.text["Description"] == note.text["Description"]
            assert "restored.provenance" in im.text["XML:com.adobe.xmp"]
        elif suffix == ".jpg":
            assert im.info["comment"].decode() == note.text["Description"]
        elif suffix == ".tif":
            assert im.tag_v2[270] == note.text["Description"]
    reloaded = load_image(out).pixels  # the file is still a valid image with the same pixels
    if suffix in (".png", ".tif"):
        np.testing.assert_array_equal(reloaded, pixels)


def test_note_without_sidecar_and_for_classical_fills(two_fills) -> None:
    _, _, fills = two_fills
    note = embedded_note(fills[:1], None)
    assert "No provenance record" in note.text["Description"] and "Provenance" not in note.text
    assert DIGITAL_SOURCE_CLASSICAL.encode() in note.xmp and b"Telea (OpenCV, classical)" in note.xmp


def test_a_sidecar_reads_back_as_the_fills_it_records(two_fills, tmp_path: Path) -> None:
    """Opening a filled photo again carries its fills: boxes, regions, engines, models, dates."""
    from inpaint_core.restore.provenance import fill_entry, fill_from_entry, read_sidecar

    photo, result, fills = two_fills
    out = tmp_path / "restored.png"
    write_sidecar(out, fills, shape=photo.shape, original=photo, result=result)
    back = read_sidecar(out, photo.shape)
    assert [(f.box, f.engine, f.when, f.model, f.pixels) for f in back] == [
        (f.box, f.engine, f.when, f.model, f.pixels) for f in fills
    ]
    assert all(np.array_equal(a.region, b.region) for a, b in zip(back, fills))
    assert all(f.attention is None for f in back)  # the flow is not in the record
    assert read_sidecar(tmp_path / "other.png", photo.shape) == []  # no sidecar: nothing carried
    with pytest.raises(InpaintError, match="cannot be read"):
        read_sidecar(out, (H + 1, W, 3))  # a record of another size is refused, not misapplied
    entry = fill_entry(fills[1], 2)  # the recovery copy's form
    again = fill_from_entry(json.loads(json.dumps(entry)), (H, W), fills[1].region)
    assert (again.box, again.model, again.windows, again.settings) == (
        fills[1].box,
        fills[1].model,
        fills[1].windows,
        fills[1].settings,
    )


def test_the_note_of_a_saved_photo_reads_back(two_fills, tmp_path: Path) -> None:
    from inpaint_core.restore.provenance import not_original, note_only_fills, read_note

    photo, _, fills = two_fills
    for suffix in (".png", ".jpg", ".webp"):
        out = tmp_path / f"noted{suffix}"
        note = embedded_note(fills, None, photo.shape)
        save_image(out, photo, text=note.text, xmp=note.xmp)
        regions, pixels = read_note(out) or (0, None)
        assert regions == 2 and pixels == int(not_original(photo.shape, fills).sum()), suffix
    plain = tmp_path / "plain.png"
    save_image(plain, photo)
    assert read_note(plain) is None
    stand_ins = note_only_fills((H, W), 2, 99)
    assert len(stand_ins) == 2 and all(f.pixels == 0 and "99 px" in f.note for f in stand_ins)


def test_the_sidecar_folder_follows_the_umask(two_fills, tmp_path: Path) -> None:
    import os

    photo, result, fills = two_fills
    old = os.umask(0o022)
    try:
        folder = write_sidecar(tmp_path / "a.png", fills, shape=photo.shape, original=photo, result=result)
        assert folder.stat().st_mode & 0o777 == 0o755  # not mkdtemp's 700
        assert (folder / "provenance.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        private = write_sidecar(tmp_path / "b.png", fills, shape=photo.shape, original=photo, result=result)
        assert private.stat().st_mode & 0o777 == 0o700
    finally:
        os.umask(old)


def test_the_result_and_the_record_name_what_ran(
    random_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine reports the concrete device, precision and weights it used; the record takes them from the
    result (the "auto" of the request never reaches it) and does not hash the weights again."""
    import inpaint_core.restore.provenance as provenance

    request = InpaintRequest(
        image=synthetic_photo(H, W),
        mask=box_mask(H, W, 20, 30, 40, 60),
        weights=random_weights,
        device="auto",
    )
    result = InpaintEngine().run(request)
    assert (result.engine, result.device, result.precision) == ("deepfill", "cpu", "fp32")
    assert result.weights == random_weights.resolve() and result.weights_sha256 == sha256_file(random_weights)

    def no_hashing(_path: object) -> str:
        raise AssertionError("the record hashed the weights; the result already had their SHA-256")

    monkeypatch.setattr(provenance, "sha256_file", no_hashing)
    fill = record_fill(request, result)
    assert fill.model is not None and fill.model.sha256 == result.weights_sha256
    assert fill.model.name == "DeepFill v2 (cnum=8)" and fill.model.file == random_weights.name
    assert fill.settings["device"] == "cpu" and fill.settings["precision"] == "fp32"

    classical = InpaintEngine().run(dataclasses.replace(request, engine="telea"))
    assert (classical.engine, classical.device, classical.weights) == ("telea", None, None)
