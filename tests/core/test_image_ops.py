"""image_ops: float and tensor conversions, padding, resizing, the holes of a mask, the paste."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaint_core.boxes import Box
from inpaint_core.image_ops import (
    from_float_rgb,
    from_model_tensor,
    hole_boxes,
    pad_to_multiple,
    paste_fill,
    resize_mask,
    to_float_rgb,
    to_model_tensor,
)
from tests.helpers.photos import box_mask, synthetic_photo

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


def test_hole_boxes_one_box_per_connected_hole() -> None:
    mask = np.zeros((50, 60), bool)
    mask[5:9, 10:20] = True
    mask[9, 20] = True  # touches the first hole diagonally: 8-connected, same hole
    mask[30:40, 40:41] = True
    assert sorted(hole_boxes(mask), key=lambda b: b.y0) == [Box(10, 5, 21, 10), Box(40, 30, 41, 40)]
    assert hole_boxes(np.zeros((4, 4), bool)) == []
    with pytest.raises(ValueError, match="HxW"):
        hole_boxes(np.zeros((4, 4, 3), bool))


# ------------------------------------------------------------------------------------------------------- paste


@pytest.mark.parametrize(
    ("channels", "dtype"), [(3, np.uint8), (1, np.uint16), (4, np.uint16), (4, np.uint8)]
)
def test_paste_fill_touches_only_the_hole(channels: int, dtype: type) -> None:
    image = synthetic_photo(40, 50, channels, dtype)
    before = image.copy()
    mask = box_mask(40, 50, 10, 12, 30, 40)
    box = Box(5, 4, 45, 36)
    fill = np.full((box.height, box.width, 3), 0.25, np.float32)
    paste_fill(image, fill, mask[box.slices], box)
    np.testing.assert_array_equal(image[~mask], before[~mask])
    if channels == 4:
        np.testing.assert_array_equal(image[..., 3], before[..., 3])
    peak = 65535 if dtype == np.uint16 else 255
    centre = image[20, 26] if channels != 4 else image[20, 26, :3]
    np.testing.assert_allclose(np.asarray(centre, np.float64), 0.25 * peak, atol=1)
