"""Tonal photos: grey stays grey, sepia and cyanotype fills take the photo's tone, colour photos are untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inpaint_core.engine import InpaintEngine, InpaintRequest
from inpaint_core.errors import InpaintError
from inpaint_core.image_io import load_image, save_image
from inpaint_core.restore.tone import apply_tone, fit_tone, keep_tone
from tests.helpers.photos import box_mask, synthetic_photo

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
H, W = 96, 128


def _toned(curves: tuple, dtype: type = np.uint8) -> np.ndarray:
    """A grey synthetic photo pushed through per-channel tone curves (each a function of grey in [0, 1])."""
    grey = synthetic_photo(H, W, channels=1).astype(np.float32) / 255.0
    rgb = np.stack([np.clip(curve(grey), 0.0, 1.0) for curve in curves], axis=2)
    peak = 65535.0 if dtype == np.uint16 else 255.0
    return np.rint(rgb * peak).astype(dtype)


# A warm sepia with a cast that changes with brightness, and a cyanotype (blue, brighter in the shadows).
SEPIA = (lambda g: 1.08 * g**0.9 + 0.04, lambda g: 0.95 * g + 0.02, lambda g: 0.7 * g**1.15 + 0.01)
CYANOTYPE = (lambda g: 0.08 + 0.62 * g, lambda g: 0.22 + 0.66 * g, lambda g: 0.42 + 0.56 * g)
HOLE = box_mask(H, W, 30, 40, 62, 92)


def _chroma_error(image: np.ndarray, reference: np.ndarray, hole: np.ndarray) -> float:
    """Largest chroma difference inside the hole between the fill and the photo's own tone at the same luma.

    The reference tone is the photo's curve measured on its known pixels with the same luma (nearest bin).
    """
    peak = 65535.0 if image.dtype == np.uint16 else 255.0
    known = reference[~hole].astype(np.float64) / peak
    y_known = known @ LUMA
    c_known = np.stack([known[:, 0] - y_known, known[:, 2] - y_known], 1)
    order = np.argsort(y_known)
    filled = image[hole].astype(np.float64) / peak
    y = filled @ LUMA
    chroma = np.stack([filled[:, 0] - y, filled[:, 2] - y], 1)
    nearest = order[np.clip(np.searchsorted(y_known[order], y), 0, len(order) - 1)]
    return float(np.abs(chroma - c_known[nearest]).max())


@pytest.fixture(scope="module")
def engine() -> InpaintEngine:
    return InpaintEngine()


@pytest.mark.parametrize("curves", [SEPIA, CYANOTYPE], ids=["sepia", "cyanotype"])
@pytest.mark.parametrize("engine_name", ["deepfill", "telea"])
def test_toned_photo_round_trip(
    engine: InpaintEngine, random_weights: Path, curves, engine_name: str
) -> None:
    photo = _toned(curves)
    request = InpaintRequest(image=photo, mask=HOLE, engine=engine_name, weights=random_weights, device="cpu")
    toned = engine.run(request)
    np.testing.assert_array_equal(toned.image[~HOLE], photo[~HOLE])
    assert "tone" in toned.note
    assert _chroma_error(toned.image, photo, HOLE) < 0.02  # within the 8-bit rounding of the tone curve
    if engine_name == "deepfill":  # the untrained network's own colours are far off: the test can fail
        raw = engine.run(InpaintRequest(**{**request.__dict__, "tone": "off", "match_seam": False}))
        assert _chroma_error(raw.image, photo, HOLE) > 0.1
        assert "tone" not in raw.note


def test_sixteen_bit_sepia(engine: InpaintEngine, random_weights: Path) -> None:
    photo = _toned(SEPIA, np.uint16)
    result = engine.run(InpaintRequest(image=photo, mask=HOLE, weights=random_weights, device="cpu"))
    assert result.image.dtype == np.uint16
    assert _chroma_error(result.image, photo, HOLE) < 0.02


def test_grey_photo_stored_as_rgb_is_filled_grey(engine: InpaintEngine, random_weights: Path) -> None:
    grey = synthetic_photo(H, W, channels=1)
    photo = np.repeat(grey[..., None], 3, axis=2)
    result = engine.run(InpaintRequest(image=photo, mask=HOLE, weights=random_weights, device="cpu"))
    filled = result.image[HOLE]
    np.testing.assert_array_equal(filled[:, 0], filled[:, 1])
    np.testing.assert_array_equal(filled[:, 0], filled[:, 2])
    assert "grey" in result.note
    raw = engine.run(
        InpaintRequest(
            image=photo, mask=HOLE, weights=random_weights, device="cpu", tone="off", match_seam=False
        )
    )
    assert np.any(raw.image[HOLE][:, 0] != raw.image[HOLE][:, 2])  # without it the network adds colour


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_grey_array_is_filled_and_saved_grey(
    engine: InpaintEngine, random_weights: Path, tmp_path: Path, dtype: type, suffix: str
) -> None:
    photo = synthetic_photo(H, W, channels=1, dtype=dtype)
    result = engine.run(InpaintRequest(image=photo, mask=HOLE, weights=random_weights, device="cpu"))
    assert result.image.shape == (H, W) and result.image.dtype == dtype
    np.testing.assert_array_equal(result.image[~HOLE], photo[~HOLE])
    path = tmp_path / f"grey{suffix}"
    save_image(path, result.image)
    reloaded = load_image(path).pixels
    assert reloaded.shape == (H, W) and reloaded.dtype == dtype
    np.testing.assert_array_equal(reloaded, result.image)


def test_colour_photo_is_untouched(engine: InpaintEngine, random_weights: Path) -> None:
    photo = synthetic_photo(H, W)
    assert fit_tone(photo) is None
    auto = engine.run(InpaintRequest(image=photo, mask=HOLE, weights=random_weights, device="cpu"))
    off = engine.run(InpaintRequest(image=photo, mask=HOLE, weights=random_weights, device="cpu", tone="off"))
    np.testing.assert_array_equal(auto.image, off.image)
    assert "tone" not in auto.note


def test_hand_coloured_region_around_the_hole_is_left_alone() -> None:
    grey = synthetic_photo(192, 256, channels=1).astype(np.float32) / 255.0
    photo = np.rint(np.stack([np.clip(c(grey), 0, 1) for c in SEPIA], axis=2) * 255).astype(np.uint8)
    hole = box_mask(192, 256, 90, 120, 100, 136)
    patch = (slice(70, 120), slice(100, 156))  # hand-tinted green around the hole: 6% of the photo
    g = grey[patch]
    photo[patch] = np.rint(np.stack([0.55 * g, 1.2 * g, 0.6 * g], axis=2).clip(0, 1) * 255).astype(np.uint8)
    assert fit_tone(photo, ~hole) is not None  # the photo as a whole is still sepia ...
    filled = photo.copy()
    filled[hole] = (200, 30, 30)
    out, note = keep_tone(photo, filled, hole)
    np.testing.assert_array_equal(out, filled)  # ... but not around the hole, so the fill is left as it is
    assert "not around the hole" in note


def test_fit_and_apply() -> None:
    photo = _toned(SEPIA)
    curve = fit_tone(photo)
    assert curve is not None and curve.kind == "toned" and "sepia" in curve.describe()
    assert "cyanotype" in fit_tone(_toned(CYANOTYPE)).describe()  # type: ignore[union-attr]
    filled = photo.copy()
    filled[HOLE] = (20, 200, 240)
    rgba = np.dstack([filled, np.full((H, W), 9, np.uint8)])
    out = apply_tone(rgba, HOLE, curve)
    np.testing.assert_array_equal(out[~HOLE], rgba[~HOLE])
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    luma_in = filled[HOLE] @ LUMA
    luma_out = out[HOLE][:, :3] @ LUMA
    assert np.abs(luma_in - luma_out).max() < 1.5  # the fill's brightness is kept
    assert fit_tone(synthetic_photo(H, W, channels=1)) is None  # an HxW array needs nothing


def test_unknown_tone_mode(engine: InpaintEngine) -> None:
    with pytest.raises(InpaintError, match="tone mode"):
        engine.run(InpaintRequest(image=synthetic_photo(H, W), mask=HOLE, engine="telea", tone="sepia"))
