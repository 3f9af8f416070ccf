"""image_io: loading (EXIF, 16 bit, modes, bombs, corrupt files), masks, the one RGB8 loader, saving, formats."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_core import image_io
from inpaint_core.errors import ImageLoadError, InpaintError, MaskError, OutputExistsError
from inpaint_core.image_io import (
    IMAGE_EXTENSIONS,
    SAVE_FORMATS,
    format_losses,
    is_lossy,
    load_image,
    load_mask,
    load_rgb8,
    save_image,
    to_rgb8,
    to_uint8,
)
from tests.helpers.photos import box_mask, synthetic_photo

# ----------------------------------------------------------------------------------------------------- loading


def _exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make: must survive the load
    return exif.tobytes()


def test_load_applies_exif_orientation(tmp_path: Path) -> None:
    # 40 wide, 20 high: left half red, right half blue. Orientation 6 = display rotated 90 degrees clockwise.
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)
    pixels[:, 20:] = (0, 0, 255)
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, quality=95, exif=_exif_with_orientation(6))

    loaded = load_image(path)

    assert loaded.pixels.shape == (40, 20, 3)
    assert loaded.format == "JPEG"
    # Rotating clockwise puts the left (red) half on top.
    assert loaded.pixels[5, 10, 0] > 200 and loaded.pixels[5, 10, 2] < 60
    assert loaded.pixels[35, 10, 2] > 200 and loaded.pixels[35, 10, 0] < 60
    exif = Image.Exif()
    assert loaded.exif is not None
    exif.load(loaded.exif)
    assert 0x0112 not in exif  # applied, so not applied again by a viewer of the output
    assert exif[0x010F] == "TestCam"


def test_load_16bit_colour_png_keeps_16_bits(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 65536, (12, 17, 3), dtype=np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    loaded = load_image(path)

    assert loaded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(loaded.pixels, rgb)


def test_load_16bit_rgba_png_and_tiff(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 65536, (9, 11, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(tmp_path / "b.tif"), cv2.cvtColor(rgba[..., :3], cv2.COLOR_RGB2BGR))

    np.testing.assert_array_equal(load_image(tmp_path / "a.png").pixels, rgba)
    np.testing.assert_array_equal(load_image(tmp_path / "b.tif").pixels, rgba[..., :3])


def test_load_16bit_grey_png(tmp_path: Path) -> None:
    grey = np.arange(0, 65535, 257 * 3, dtype=np.uint16).reshape(5, -1)[:, :17]
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    loaded = load_image(tmp_path / "g.png")
    assert loaded.pixels.dtype == np.uint16 and loaded.pixels.ndim == 2
    np.testing.assert_array_equal(loaded.pixels, grey)


def test_load_modes_converted(tmp_path: Path) -> None:
    rgb = synthetic_photo(10, 12)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    Image.fromarray(rgb).convert("L").convert("LA").save(tmp_path / "la.png")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(rgb).convert("L").save(tmp_path / "l.png")
    Image.fromarray(synthetic_photo(10, 12, 4)).save(tmp_path / "rgba.png")

    assert load_image(tmp_path / "p.png").pixels.shape == (10, 12, 3)
    assert load_image(tmp_path / "la.png").pixels.shape == (10, 12, 4)
    assert load_image(tmp_path / "cmyk.jpg").pixels.shape == (10, 12, 3)
    assert load_image(tmp_path / "l.png").pixels.shape == (10, 12)
    rgba = load_image(tmp_path / "rgba.png").pixels
    np.testing.assert_array_equal(rgba, synthetic_photo(10, 12, 4))


def test_decompression_bomb_rejected_by_our_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.fromarray(synthetic_photo(20, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 599)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(tmp_path / "big.png")
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 600)
    assert load_image(tmp_path / "big.png").pixels.shape == (20, 30, 3)


def test_decompression_bomb_rejected_by_pil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.fromarray(synthetic_photo(20, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # PIL warns above 100 and errors above 200
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(tmp_path / "big.png")


def test_corrupt_and_truncated_files(tmp_path: Path) -> None:
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    buf = io.BytesIO()
    Image.fromarray(synthetic_photo(64, 64)).save(buf, format="PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    Image.fromarray(synthetic_photo(64, 64)).save(buf, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (tmp_path / "text.jpg").write_text("hello")

    for name in ("junk.png", "cut.png", "cut.jpg", "text.jpg", "missing.png"):
        with pytest.raises(ImageLoadError) as info:
            load_image(tmp_path / name)
        message = str(info.value)
        assert name in message and "\n" not in message


def test_load_mask_rules_and_size_check(tmp_path: Path) -> None:
    mask = box_mask(10, 12, 2, 3, 6, 9)
    Image.fromarray((mask * 255).astype(np.uint8)).save(tmp_path / "white.png")
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[mask] = (255, 255, 255, 200)  # strokes on a transparent layer
    rgba[~mask] = (255, 255, 255, 0)
    Image.fromarray(rgba).save(tmp_path / "layer.png")

    np.testing.assert_array_equal(load_mask(tmp_path / "white.png", (10, 12, 3)), mask)
    np.testing.assert_array_equal(load_mask(tmp_path / "layer.png", (10, 12)), mask)
    with pytest.raises(MaskError, match=r"12x10.*13x10"):
        load_mask(tmp_path / "white.png", (10, 13, 3))
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(MaskError):
        load_mask(tmp_path / "bad.png", (10, 12))


# ------------------------------------------------------------------------------------------------------ saving


@pytest.mark.parametrize(
    ("name", "channels", "dtype"),
    [
        ("a.png", 3, np.uint8),
        ("b.png", 3, np.uint16),
        ("c.png", 1, np.uint16),
        ("d.png", 4, np.uint8),
        ("e.png", 4, np.uint16),
        ("f.tif", 3, np.uint16),
        ("g.tiff", 1, np.uint8),
        ("h.webp", 3, np.uint8),
    ],
)
def test_save_load_roundtrip_lossless(tmp_path: Path, name: str, channels: int, dtype: type) -> None:
    pixels = synthetic_photo(9, 13, channels, dtype)
    if name.endswith(".webp"):
        pytest.importorskip("PIL.WebPImagePlugin")
        save_image(tmp_path / name, pixels, quality=100)
        assert load_image(tmp_path / name).pixels.shape == pixels.shape
        return
    save_image(tmp_path / name, pixels)
    np.testing.assert_array_equal(load_image(tmp_path / name).pixels, pixels)


def test_save_jpeg_drops_alpha_scales_16bit_keeps_exif(tmp_path: Path) -> None:
    pixels = np.empty((16, 16, 4), np.uint16)
    pixels[:] = (40000, 20000, 10000, 30000)  # flat, so JPEG's loss does not blur the comparison
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    save_image(tmp_path / "x.jpg", pixels, exif=exif.tobytes())
    loaded = load_image(tmp_path / "x.jpg")
    assert loaded.pixels.shape == (16, 16, 3) and loaded.pixels.dtype == np.uint8
    expected = pixels[..., :3].astype(np.float32) / 257
    assert np.abs(loaded.pixels.astype(np.float32) - expected).max() < 3
    assert loaded.exif is not None and b"TestCam" in loaded.exif


def test_save_refuses_existing_file_and_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    with pytest.raises(OutputExistsError) as info:
        save_image(path, synthetic_photo(4, 4))
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, InpaintError)
    assert path.read_bytes() == b"precious"
    save_image(path, synthetic_photo(4, 4), overwrite=True)
    assert load_image(path).pixels.shape == (4, 4, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left behind


def test_save_rejects_unknown_extension_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InpaintError, match="unknown output format"):
        save_image(tmp_path / "out.gifx", synthetic_photo(4, 4))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- 8 bits and formats


def test_to_uint8_rounds() -> None:
    deep = np.array([0, 128, 129, 257, 385, 386, 65535], np.uint16)
    np.testing.assert_array_equal(to_uint8(deep), [0, 0, 1, 1, 1, 2, 255])
    same = np.arange(256, dtype=np.uint8)
    assert to_uint8(same) is same


def test_load_rgb8_applies_exif_and_converts_every_layout(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", quality=95, exif=exif.tobytes())
    rotated = load_rgb8(tmp_path / "rotated.jpg")
    assert rotated.shape == (40, 20, 3) and rotated.dtype == np.uint8
    assert rotated[5, 10, 0] > 200 and rotated[35, 10, 0] < 60  # the red half is on top now

    grey16 = np.array([[0, 385, 386, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    np.testing.assert_array_equal(load_rgb8(tmp_path / "g16.png")[..., 1], [[0, 1, 2, 255]])
    rgba = synthetic_photo(6, 7, 4)
    np.testing.assert_array_equal(to_rgb8(rgba), rgba[..., :3])
    with pytest.raises(ImageLoadError):
        load_rgb8(tmp_path / "missing.png")


def test_format_table_drives_extensions() -> None:
    assert IMAGE_EXTENSIONS == (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
    assert ".bmp" not in SAVE_FORMATS and SAVE_FORMATS[".jpeg"] == "JPEG"
    assert is_lossy("x.JPG") and is_lossy("x.webp") and not is_lossy("x.png") and not is_lossy("x.gif")


def test_a_cmyk_file_loads_as_rgb_without_its_cmyk_profile(tmp_path: Path) -> None:
    """The CMYK profile described the old channels: kept on the RGB pixels it would mis-colour them. And every
    save says the CMYK colours are gone."""
    rgb = synthetic_photo(24, 32)
    path = tmp_path / "print.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95, icc_profile=b"not really a CMYK profile")
    loaded = load_image(path)
    assert loaded.converted_from == "CMYK" and loaded.icc is None
    assert loaded.pixels.shape == (24, 32, 3) and loaded.pixels.dtype == np.uint8
    assert any("CMYK" in loss for loss in format_losses("out.png", loaded.pixels, converted_from="CMYK"))
    plain = tmp_path / "plain.jpg"
    Image.fromarray(rgb).save(plain, quality=95)
    assert load_image(plain).converted_from is None


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_tiff_keeps_depth_alpha_and_colour_profile(tmp_path: Path, channels: int) -> None:
    pixels = synthetic_photo(40, 56, channels=channels, dtype=np.uint16)
    profile = b"an ICC profile's bytes" * 8
    out = tmp_path / "deep.tif"
    save_image(out, pixels, icc=profile, exif=b"Exif\x00\x00not kept")
    loaded = load_image(out)
    assert loaded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert loaded.icc == profile
    assert format_losses(out, pixels) == []  # the profile is no loss any more
    assert format_losses(out, pixels, exif=True) == ["the EXIF data (not written to 16-bit colour TIFF)"]
