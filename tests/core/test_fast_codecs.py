"""image_io's fast paths (issue #14, files): OpenCV decodes 8-bit JPEG/PNG to the same pixels and metadata as
PIL, anything unusual still goes through PIL, and the libpng writer is lossless at every level and keeps EXIF
and ICC."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import inpaint_core.image_io as image_io
from inpaint_core.errors import InpaintError
from inpaint_core.image_io import load_image, save_image
from tests.helpers.photos import synthetic_photo


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    return exif.tobytes()


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _through_pil(path: Path, monkeypatch: pytest.MonkeyPatch) -> image_io.LoadedImage:
    with monkeypatch.context() as patch:
        patch.setattr(image_io, "_decode_with_opencv", lambda im, data: None)
        return load_image(path)


@pytest.mark.parametrize(
    ("suffix", "channels"), [(".jpg", 3), (".jpg", 1), (".png", 3), (".png", 4), (".png", 1)]
)
@pytest.mark.parametrize("orientation", [1, 6, 3])
def test_opencv_decode_equals_pil_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, channels: int, orientation: int
) -> None:
    pixels = synthetic_photo(30, 44, channels)
    path = tmp_path / f"p{suffix}"
    options = {"quality": 90} if suffix == ".jpg" else {}
    Image.fromarray(pixels).save(path, exif=_exif(orientation), icc_profile=_icc(), **options)
    calls: list[object] = []
    real = image_io._decode_with_opencv
    monkeypatch.setattr(image_io, "_decode_with_opencv", lambda im, data: calls.append(1) or real(im, data))

    fast = load_image(path)
    assert calls and fast.pixels.flags.writeable and fast.pixels.flags.c_contiguous
    reference = _through_pil(path, monkeypatch)
    np.testing.assert_array_equal(fast.pixels, reference.pixels)
    assert fast.pixels.shape[:2] == ((44, 30) if orientation == 6 else (30, 44))
    assert (fast.exif, fast.icc, fast.format) == (reference.exif, reference.icc, reference.format)
    assert fast.exif is not None and b"TestCam" in fast.exif


def test_files_opencv_would_read_differently_go_through_pil(tmp_path: Path) -> None:
    rgb = synthetic_photo(20, 24)
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(tmp_path / "palette.png")
    transparent = Image.fromarray(rgb)
    transparent.save(tmp_path / "trns.png", transparency=tuple(int(v) for v in rgb[0, 0]))
    deep = synthetic_photo(20, 24, 3, np.uint16)
    save_image(tmp_path / "deep.png", deep)
    assert load_image(tmp_path / "palette.png").pixels.shape == (20, 24, 3)
    assert load_image(tmp_path / "trns.png").pixels.shape == (20, 24, 3)  # as PIL reads it: RGB
    np.testing.assert_array_equal(load_image(tmp_path / "deep.png").pixels, deep)


@pytest.mark.parametrize(
    ("channels", "dtype"), [(3, np.uint8), (4, np.uint8), (1, np.uint8), (3, np.uint16), (1, np.uint16)]
)
@pytest.mark.parametrize("level", [0, 1, 6])
def test_png_writer_is_lossless_at_every_level(
    tmp_path: Path, channels: int, dtype: type, level: int
) -> None:
    pixels = synthetic_photo(33, 47, channels, dtype)
    save_image(tmp_path / "x.png", pixels, png_compression=level)
    loaded = load_image(tmp_path / "x.png")
    assert loaded.pixels.dtype == pixels.dtype
    np.testing.assert_array_equal(loaded.pixels, pixels)


def test_png_writer_keeps_exif_and_icc_where_pil_finds_them(tmp_path: Path) -> None:
    pixels = synthetic_photo(16, 16)
    icc = _icc()
    save_image(tmp_path / "x.png", pixels, exif=_exif(1), icc=icc)
    with Image.open(tmp_path / "x.png") as im:
        assert im.info["icc_profile"] == icc
        assert im.getexif()[0x010F] == "TestCam"
        im.verify()  # every chunk's CRC checks out
    loaded = load_image(tmp_path / "x.png")
    assert loaded.icc == icc and loaded.exif is not None and b"TestCam" in loaded.exif


def test_png_level_is_checked_and_higher_levels_are_not_larger_on_flat_graphics(tmp_path: Path) -> None:
    flat = np.zeros((200, 300, 3), np.uint8)
    flat[::7] = (200, 40, 40)  # a striped drawing: zlib's matching finds the repeats
    sizes = {}
    for level in (1, 9):
        path = tmp_path / f"l{level}.png"
        save_image(path, flat, png_compression=level)
        sizes[level] = path.stat().st_size
    assert sizes[9] <= sizes[1]
    with pytest.raises(InpaintError, match="PNG compression"):
        save_image(tmp_path / "bad.png", flat, png_compression=10)
    assert not (tmp_path / "bad.png").exists()


def test_png_written_by_pil_and_by_us_decode_to_the_same_pixels(tmp_path: Path) -> None:
    pixels = synthetic_photo(25, 31, 4)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    (tmp_path / "pil.png").write_bytes(buffer.getvalue())
    save_image(tmp_path / "ours.png", pixels)
    np.testing.assert_array_equal(
        load_image(tmp_path / "pil.png").pixels, load_image(tmp_path / "ours.png").pixels
    )
