"""image_ops: loading (EXIF, 16 bit, modes, bombs, corrupt files), saving, conversions, window plans, paste."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_core import image_ops
from inpaint_core.errors import ImageLoadError, InpaintError, MaskError
from inpaint_core.image_ops import (
    Box,
    OutputExistsError,
    feather_alpha,
    from_float_rgb,
    from_model_tensor,
    load_image,
    load_mask,
    merge_boxes,
    model_size,
    pad_to_multiple,
    paste_fill,
    plan_windows,
    resize_mask,
    save_image,
    to_float_rgb,
    to_model_tensor,
)
from tests.conftest import box_mask, synthetic_photo

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
    monkeypatch.setattr(image_ops, "MAX_IMAGE_PIXELS", 599)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(tmp_path / "big.png")
    monkeypatch.setattr(image_ops, "MAX_IMAGE_PIXELS", 600)
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


# ------------------------------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("channels", "dtype"), [(1, np.uint8), (3, np.uint8), (4, np.uint16), (3, np.uint16)]
)
def test_float_roundtrip_is_exact(channels: int, dtype: type) -> None:
    pixels = synthetic_photo(7, 9, channels, dtype)
    rgb = to_float_rgb(pixels)
    assert rgb.shape == (7, 9, 3) and rgb.dtype == np.float32
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    np.testing.assert_array_equal(from_float_rgb(rgb, pixels), pixels)


def test_model_tensor_roundtrip_and_range() -> None:
    rgb = to_float_rgb(synthetic_photo(8, 16))
    t = to_model_tensor(rgb)
    assert t.shape == (1, 3, 8, 16) and t.dtype == torch.float32
    assert float(t.min()) >= -1.0 and float(t.max()) <= 1.0
    np.testing.assert_allclose(from_model_tensor(t), rgb, atol=1e-6)
    # red in RGB stays in channel 0
    np.testing.assert_allclose(t[0, 0].numpy(), rgb[..., 0] * 2 - 1, atol=1e-6)


@pytest.mark.parametrize(("h", "w"), [(8, 8), (9, 15), (1, 3), (33, 64)])
def test_pad_to_multiple(h: int, w: int) -> None:
    a = np.arange(h * w * 3, dtype=np.float32).reshape(h, w, 3)
    p = pad_to_multiple(a, 8)
    assert p.shape[0] % 8 == 0 and p.shape[1] % 8 == 0 and p.shape[0] - h < 8 and p.shape[1] - w < 8
    np.testing.assert_array_equal(p[:h, :w], a)
    m = pad_to_multiple(np.ones((h, w), bool), 8, "constant")
    assert m[:h, :w].all() and not m[h:].any() and not m[:, w:].any()


def test_resize_mask_never_loses_a_hole_pixel() -> None:
    mask = np.zeros((100, 100), bool)
    mask[37, 11] = True  # one pixel
    mask[60:, 71] = True  # a one-pixel line
    small = resize_mask(mask, 13, 13)
    assert small[int(37 * 0.13), int(11 * 0.13)]
    assert small[int(80 * 0.13), int(71 * 0.13)]
    assert small.sum() < 13 * 13 // 4


# ------------------------------------------------------------------------------------------------ window plans


def test_plan_small_hole_min_margin_and_min_side() -> None:
    mask = box_mask(1000, 1000, 500, 500, 510, 506)  # 6 wide, 10 high
    (win,) = plan_windows(mask, margin_ratio=0.5, min_margin=32, min_side=128)
    assert win.width == 128 and win.height == 128  # 6+64 and 10+64 grown to min_side
    assert win.x0 <= 500 - 32 and win.x1 >= 506 + 32 and win.y0 <= 500 - 32 and win.y1 >= 510 + 32
    (win,) = plan_windows(mask, margin_ratio=0.5, min_margin=32, min_side=0)
    assert win == Box(500 - 32, 500 - 32, 506 + 32, 510 + 32)


def test_plan_large_hole_margin_proportional() -> None:
    mask = box_mask(2000, 2000, 800, 700, 1000, 1100)  # 400 wide, 200 high
    (win,) = plan_windows(mask, margin_ratio=0.5, min_margin=32, min_side=0)
    assert win == Box(700 - 200, 800 - 200, 1100 + 200, 1000 + 200)


def test_plan_merges_nearby_and_keeps_far_apart() -> None:
    mask = np.zeros((1000, 1000), bool)
    mask[100:110, 100:110] = True
    mask[100:110, 150:160] = True  # 40 px away: the windows overlap -> one window
    mask[800:810, 800:810] = True  # far away: its own window
    wins = plan_windows(mask, min_margin=32, min_side=0)
    assert len(wins) == 2
    assert wins[0] == Box(68, 68, 192, 142)
    assert wins[1] == Box(768, 768, 842, 842)


def test_plan_windows_never_overlap_and_cover_every_hole() -> None:
    rng = np.random.default_rng(3)
    mask = np.zeros((600, 800), bool)
    for _ in range(40):
        y, x = rng.integers(0, 590), rng.integers(0, 790)
        h, w = rng.integers(1, 30, 2)
        mask[y : y + h, x : x + w] = True
    wins = plan_windows(mask)
    covered = np.zeros_like(mask)
    for i, a in enumerate(wins):
        assert 0 <= a.x0 < a.x1 <= 800 and 0 <= a.y0 < a.y1 <= 600
        for b in wins[i + 1 :]:
            assert not a.overlaps(b)
        covered[a.slices] = True
    assert covered[mask].all()


def test_plan_at_border_shifts_inside_image() -> None:
    mask = box_mask(300, 400, 0, 390, 5, 400)  # top-right corner
    (win,) = plan_windows(mask, min_margin=32, min_side=128)
    assert win.x1 == 400 and win.y0 == 0 and win.width == 128 and win.height == 128


def test_merge_boxes_chains() -> None:
    # a overlaps b only after b was merged with c
    a, b, c = Box(0, 0, 10, 10), Box(20, 0, 30, 10), Box(9, 0, 21, 5)
    assert merge_boxes([a, b, c]) == [Box(0, 0, 30, 10)]
    assert merge_boxes([a, b]) == [a, b]
    assert merge_boxes([Box(50, 50, 60, 60), a, Box(5, 5, 55, 55)]) == [Box(0, 0, 60, 60)]


def test_model_size_caps_the_longer_side() -> None:
    assert model_size(Box(0, 0, 2000, 1000), 512) == (256, 512)
    assert model_size(Box(0, 0, 300, 200), 512) == (200, 300)  # never enlarged


# ------------------------------------------------------------------------------------------------------- paste


def test_feather_alpha_ramps_inside_only() -> None:
    mask = box_mask(60, 60, 10, 10, 50, 50)
    alpha = feather_alpha(mask, 4)
    assert (alpha[~mask] == 0).all()
    assert alpha[30, 30] == 1.0
    assert 0 < alpha[10, 30] < alpha[12, 30] < 1.0  # rises from the edge inwards
    np.testing.assert_array_equal(feather_alpha(mask, 0), mask.astype(np.float32))


def test_feather_alpha_fills_thin_holes_fully() -> None:
    mask = np.zeros((20, 40), bool)
    mask[10, 5:35] = True  # a one-pixel scratch
    mask[2:4, 5:35] = True  # a two-pixel scratch
    alpha = feather_alpha(mask, 4)
    assert (alpha[mask] == 1.0).all()


@pytest.mark.parametrize(
    ("channels", "dtype"), [(3, np.uint8), (1, np.uint16), (4, np.uint16), (4, np.uint8)]
)
def test_paste_fill_touches_only_the_hole(channels: int, dtype: type) -> None:
    image = synthetic_photo(40, 50, channels, dtype)
    before = image.copy()
    mask = box_mask(40, 50, 10, 12, 30, 40)
    box = Box(5, 4, 45, 36)
    fill = np.full((box.height, box.width, 3), 0.25, np.float32)
    paste_fill(image, fill, mask[box.slices], box, feather=3)
    np.testing.assert_array_equal(image[~mask], before[~mask])
    if channels == 4:
        np.testing.assert_array_equal(image[..., 3], before[..., 3])
    peak = 65535 if dtype == np.uint16 else 255
    centre = image[20, 26] if channels != 4 else image[20, 26, :3]
    np.testing.assert_allclose(np.asarray(centre, np.float64), 0.25 * peak, atol=1)
