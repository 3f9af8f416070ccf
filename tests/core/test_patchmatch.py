"""The PatchMatch and auto engines: exact copies with their source map, the do-not-borrow mask, bad inputs,
cancel, and the auto engine's split between thin and wide holes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import inpaint_core.engine as engine_module
from inpaint_core.api import InpaintRequest, InpaintResult
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import CancelledError, EngineUnavailableError, InpaintError, MaskError
from inpaint_core.fillers import split_by_width
from inpaint_core.patchmatch import find_sources
from inpaint_core.restore.reuse import reuse_density
from tests.helpers.photos import box_mask, textured


def assert_exact_sources(result: InpaintResult, mask: np.ndarray, forbid: np.ndarray | None = None) -> None:
    """Every filled pixel has one source at 100 %, outside the hole and the forbid mask, whose value in the
    result equals the filled pixel's value (all channels but alpha, at the photo's own depth)."""
    assert result.attention is not None
    ys, xs = np.nonzero(mask)
    for y, x in zip(ys.tolist(), xs.tolist()):
        sources = result.attention.query(x + 0.5, y + 0.5)
        assert len(sources) == 1 and sources[0].weight == 1.0, (x, y, sources)
        sx, sy = int(np.floor(sources[0].x)), int(np.floor(sources[0].y))
        assert not mask[sy, sx], (x, y, sx, sy)
        if forbid is not None:
            assert not forbid[sy, sx]
        got, source = result.image[y, x], result.image[sy, sx]
        if result.image.ndim == 3 and result.image.shape[2] == 4:
            got, source = got[:3], source[:3]
        np.testing.assert_array_equal(got, source, err_msg=f"pixel {(x, y)} vs its source {(sx, sy)}")


def run(runner: InpaintEngine, image: np.ndarray, mask: np.ndarray, **kw: object) -> InpaintResult:
    kw.setdefault("engine", "patchmatch")
    return runner.run(InpaintRequest(image=image, mask=mask, **kw))  # type: ignore[arg-type]


def test_the_source_map_points_at_pixels_equal_to_the_filled_ones(engine: InpaintEngine) -> None:
    image = textured(96, 128)
    mask = box_mask(96, 128, 30, 50, 60, 90)
    result = run(engine, image, mask)
    assert result.image.shape == image.shape and result.image.dtype == image.dtype
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert_exact_sources(result, mask)
    flow = result.attention.flow_rgba()  # type: ignore[union-attr]
    assert (flow[mask, 3] == 255).all() and (flow[~mask, 3] == 0).all()
    # the source-reuse map hands out exactly one pixel's worth per filled pixel, and only to known pixels
    density = reuse_density(result.attention)  # type: ignore[arg-type]
    assert density.sum() == pytest.approx(mask.sum()) and density[mask].sum() == 0


@pytest.mark.parametrize("coarse_above", [1 << 16, 100])  # 100: through the half-size level first
def test_the_search_recovers_a_known_copy_exactly(coarse_above: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """find_sources on a fill that is a shifted copy of the photo finds that shift wherever the patch lies
    inside the copy (the noise makes it unique; nearer the hole's edge the patch also sees unshifted pixels)."""
    monkeypatch.setattr("inpaint_core.patchmatch.COARSE_ABOVE", coarse_above)
    photo = textured(80, 120)
    hole = box_mask(80, 120, 20, 20, 50, 50)
    target = photo.copy()
    target[hole] = photo[np.roll(hole, 60, axis=1)]  # each hole pixel copied from 60 px to the right
    source = find_sources(target, photo, hole, ~hole, 3)
    inner = box_mask(80, 120, 23, 23, 47, 47)
    ys, xs = np.nonzero(inner)
    np.testing.assert_array_equal(source[inner], ys * 120 + xs + 60)


def test_forbidden_pixels_are_never_copied(engine: InpaintEngine) -> None:
    image = textured(96, 128)
    mask = box_mask(96, 128, 30, 50, 60, 90)
    forbid = np.zeros_like(mask)
    forbid[:, 90:] = True  # everything right of the hole
    result = run(engine, image, mask, forbid=forbid)
    assert "ignored" not in result.note
    assert_exact_sources(result, mask, forbid)
    np.testing.assert_array_equal(result.image[~mask], image[~mask])  # forbidden pixels are kept


def test_a_forbid_mask_that_leaves_no_source_is_one_clear_error(engine: InpaintEngine) -> None:
    image = textured(64, 64)
    mask = box_mask(64, 64, 20, 20, 40, 40)
    with pytest.raises(MaskError, match="nothing to copy from") as info:
        run(engine, image, mask, forbid=~mask)
    assert "\n" not in str(info.value)


def test_almost_nothing_known_around_the_hole(engine: InpaintEngine) -> None:
    """A hole over all but a 2 px frame: no whole patch is known, the best partial ones are copied."""
    image = textured(48, 48)
    mask = box_mask(48, 48, 2, 2, 46, 46)
    result = run(engine, image, mask)
    assert_exact_sources(result, mask)


@pytest.mark.parametrize("engine_name", ["patchmatch", "auto"])
def test_a_one_pixel_hole(engine: InpaintEngine, engine_name: str) -> None:
    image = textured(40, 40)
    mask = box_mask(40, 40, 20, 20, 21, 21)
    result = run(engine, image, mask, engine=engine_name)
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    if engine_name == "patchmatch":
        assert_exact_sources(result, mask)


@pytest.mark.parametrize(
    ("channels", "dtype"), [(3, np.uint16), (1, np.uint8), (1, np.uint16), (4, np.uint8), (4, np.uint16)]
)
def test_sixteen_bit_grey_and_alpha_photos_keep_their_layout_and_copy_exactly(
    engine: InpaintEngine, channels: int, dtype: type
) -> None:
    image = textured(64, 80, channels, dtype)
    mask = box_mask(64, 80, 20, 30, 40, 55)
    result = run(engine, image, mask)
    assert result.image.shape == image.shape and result.image.dtype == image.dtype
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    if channels == 4:
        np.testing.assert_array_equal(result.image[..., 3], image[..., 3])  # alpha is never changed
    assert_exact_sources(result, mask)  # at full depth: a 16-bit source equals its copy in all 16 bits


def test_a_toned_photo_keeps_exact_copies(engine: InpaintEngine) -> None:
    """A sepia photo's fill is copied from its own pixels: keep_tone must not re-tone them (the map would lie)."""
    grey = textured(64, 80, 1).astype(np.float32) / 255.0
    sepia = np.clip(np.stack([grey * 1.07, grey * 0.95, grey * 0.78], axis=2) * 255, 0, 255).astype(np.uint8)
    mask = box_mask(64, 80, 20, 30, 40, 55)
    assert_exact_sources(run(engine, sepia, mask), mask)


@pytest.mark.parametrize("radius", [0, 11, -1, True, 2.5])
def test_a_bad_patch_radius_is_refused(engine: InpaintEngine, radius: object) -> None:
    with pytest.raises(InpaintError, match="patch radius"):
        run(engine, textured(32, 32), box_mask(32, 32, 10, 10, 20, 20), patch_radius=radius)


def test_a_whole_image_mask_is_refused(engine: InpaintEngine) -> None:
    with pytest.raises(MaskError, match="whole image"):
        run(engine, textured(32, 32), np.ones((32, 32), bool))


def test_cancel_during_the_native_call_returns_promptly(engine: InpaintEngine) -> None:
    image = textured(400, 400)
    mask = box_mask(400, 400, 100, 100, 300, 300)
    cancel = threading.Event()
    calls: list[str] = []

    def progress(stage: str, _fraction: float) -> None:
        calls.append(stage)
        if stage == "refine" and calls.count("refine") == 3:  # the native call is running (polled)
            cancel.set()

    with pytest.raises(CancelledError):
        engine.run(InpaintRequest(image=image, mask=mask, engine="patchmatch"), progress, cancel)
    assert calls.count("refine") == 3  # stopped at the next poll, not when the library finished


def test_the_same_request_gives_the_same_fill(engine: InpaintEngine) -> None:
    image, mask = textured(64, 64), box_mask(64, 64, 20, 20, 40, 40)
    np.testing.assert_array_equal(run(engine, image, mask).image, run(engine, image, mask).image)


# ------------------------------------------------------------------------------------------------------ auto


def test_split_by_width() -> None:
    mask = np.zeros((60, 80), bool)
    mask[10, 5:75] = True  # a 1 px scratch
    mask[20:24, 5:75] = True  # 4 px wide
    mask[35:55, 20:50] = True  # 20 px: wide
    thin, wide = split_by_width(mask, 6)
    np.testing.assert_array_equal(thin, mask & (np.arange(60)[:, None] < 30))
    np.testing.assert_array_equal(wide, mask & (np.arange(60)[:, None] >= 30))


def test_auto_sends_thin_holes_to_ns_and_wide_ones_to_patchmatch(engine: InpaintEngine) -> None:
    image = textured(96, 128)
    mask = np.zeros((96, 128), bool)
    mask[10:12, 10:118] = True  # a scratch
    wide = box_mask(96, 128, 40, 50, 70, 90)
    mask |= wide
    result = run(engine, image, mask, engine="auto")
    assert "Navier-Stokes" in result.note and "PatchMatch" in result.note
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert_exact_sources(result, wide)
    assert result.attention is not None and result.attention.query(20.5, 10.5) == []  # NS keeps no sources
    # the scratch is NS's fill (it never reaches the wide hole's sources)
    ns = run(engine, image, mask & ~wide, engine="ns")
    np.testing.assert_array_equal(result.image[10:12, 10:118], ns.image[10:12, 10:118])


def test_auto_on_thin_holes_only_is_navier_stokes(engine: InpaintEngine) -> None:
    image = textured(64, 96)
    mask = np.zeros((64, 96), bool)
    mask[30:33, 5:90] = True
    auto, ns = run(engine, image, mask, engine="auto"), run(engine, image, mask, engine="ns")
    np.testing.assert_array_equal(auto.image, ns.image)
    assert "Navier-Stokes" in auto.note


def test_without_the_library_patchmatch_says_so_and_auto_falls_back(
    engine: InpaintEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise EngineUnavailableError("PatchMatch is not installed: pip install pypatchmatch")

    monkeypatch.setattr(engine_module, "load_library", missing)
    monkeypatch.setattr("inpaint_core.patchmatch.load_library", missing)
    image, mask = textured(64, 64), box_mask(64, 64, 20, 20, 44, 44)
    with pytest.raises(EngineUnavailableError, match="pip install pypatchmatch"):
        run(engine, image, mask)
    result = run(engine, image, mask, engine="auto")
    assert "not installed" in result.note and "Navier-Stokes" in result.note
    np.testing.assert_array_equal(result.image, run(engine, image, mask, engine="ns").image)
