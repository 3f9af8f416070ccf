"""The paste contract (issue #9 part 3, issue #12): a fill replaces the hole completely, only the mask and its
edge-blend band change, cancel is honoured during the paste, progress never goes back; and the hole finding and
window merging that scale with the holes give the same answers as the straightforward versions."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

import inpaint_core.image_ops as image_ops
from inpaint_core.api import MAX_EDGE_BLEND, InpaintRequest
from inpaint_core.boxes import Box, merge_boxes
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import CancelledError, InpaintError
from inpaint_core.fillers import WindowFill
from inpaint_core.image_ops import edge_weights, grow_mask, hole_boxes, resize_rgb, sample_fill
from tests.helpers.photos import box_mask, synthetic_photo

FILL = 0.25  # the stub's fill colour, as a fraction of full white


@dataclass
class ConstantFiller:
    """A filler whose fill is one known colour, at a smaller resolution (as DeepFill's) or at the window's."""

    downscale: int = 3
    has_attention = False
    has_coarse = False

    def fill(self, work: np.ndarray, box: Box, hole: np.ndarray, step: object) -> WindowFill:
        step("refine", 0.0)  # type: ignore[operator]
        h, w = max(1, box.height // self.downscale), max(1, box.width // self.downscale)
        return WindowFill(np.full((h, w, 3), FILL, np.float32))


@pytest.fixture
def stub_engine(monkeypatch: pytest.MonkeyPatch) -> InpaintEngine:
    engine = InpaintEngine()
    monkeypatch.setattr(engine, "_filler", lambda request, notes, used: ConstantFiller())
    return engine


def _white_hole(
    channels: int, dtype: type, height: int = 60, width: int = 80
) -> tuple[np.ndarray, np.ndarray]:
    """A photo with a ring-and-bar hole painted pure white, as the object a user removes."""
    image = synthetic_photo(height, width, channels, dtype)
    mask = np.zeros((height, width), np.uint8)
    cv2.circle(mask, (30, 30), 14, 1, 5)
    mask[45:48, 10:70] = 1
    hole = mask > 0
    peak = np.iinfo(dtype).max
    if channels == 4:
        image[hole, :3] = peak
    else:
        image[hole] = peak
    return image, hole


@pytest.mark.parametrize(("channels", "dtype"), [(3, np.uint8), (1, np.uint16), (4, np.uint8)])
@pytest.mark.parametrize("edge_blend", [0, 5])
def test_the_hole_is_all_fill_and_only_mask_and_band_change(
    stub_engine: InpaintEngine, channels: int, dtype: type, edge_blend: int
) -> None:
    image, hole = _white_hole(channels, dtype)
    result = stub_engine.run(InpaintRequest(image=image, mask=hole, edge_blend=edge_blend)).image

    peak = np.iinfo(dtype).max
    colour = result[..., :3] if channels == 4 else result
    # Every hole pixel is the fill's colour exactly: none of the white under the mask came back.
    np.testing.assert_array_equal(colour[hole], np.full_like(colour[hole], round(FILL * peak)))
    changed = grow_mask(hole, edge_blend)
    np.testing.assert_array_equal(result[~changed], image[~changed])  # bit-identical outside mask ∪ band
    if channels == 4:
        np.testing.assert_array_equal(result[..., 3], image[..., 3])
    band = changed & ~hole
    if edge_blend:
        assert band.any() and np.any(result[band] != image[band])
    else:
        assert not band.any()


def test_classical_fill_of_a_white_painted_hole_has_no_white_edge() -> None:
    # A dark photo: a Telea fill from the pixels around the hole stays dark; the old paste, which blended the
    # pixels under the mask back into the fill's edge, left a light outline of the removed object.
    image, hole = _white_hole(3, np.uint8)
    image[~hole] //= 3
    darkest_white = int(image[~hole].max())
    for edge_blend in (0, 4):
        out = InpaintEngine().run(
            InpaintRequest(image=image, mask=hole, engine="telea", edge_blend=edge_blend)
        )
        assert int(out.image[grow_mask(hole, edge_blend)].max()) <= darkest_white


def test_edge_weights_fall_off_outside_the_hole_only() -> None:
    hole = box_mask(40, 40, 15, 15, 25, 25)
    w = edge_weights(hole, 4)
    assert (w[hole] == 1.0).all()
    row = w[20, 25:32]  # leaving the hole to the right: 1 px, 2 px, ... away
    np.testing.assert_allclose(row, [0.8, 0.6, 0.4, 0.2, 0.0, 0.0, 0.0], atol=0.02)
    np.testing.assert_array_equal(grow_mask(hole, 4), w > 0)
    np.testing.assert_array_equal(edge_weights(hole, 0), hole.astype(np.float32))


@pytest.mark.parametrize("edge_blend", [-1, MAX_EDGE_BLEND + 1])
def test_edge_blend_out_of_range_is_refused(edge_blend: int) -> None:
    image, hole = _white_hole(3, np.uint8)
    with pytest.raises(InpaintError, match="edge blend"):
        InpaintEngine().run(InpaintRequest(image=image, mask=hole, engine="telea", edge_blend=edge_blend))


# ----------------------------------------------------------------------------------------- cancel, progress


def test_cancel_during_paste_raises_and_leaves_the_request_alone(
    stub_engine: InpaintEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_ops, "PASTE_CHUNK", 50)  # many chunks, hence many chances to cancel
    image, hole = _white_hole(3, np.uint8)
    original = image.copy()
    cancel = threading.Event()
    calls: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        calls.append((stage, fraction))
        if stage == "paste" and sum(s == "paste" for s, _ in calls) == 2:  # the first report inside the paste
            cancel.set()

    with pytest.raises(CancelledError):
        stub_engine.run(InpaintRequest(image=image, mask=hole), progress=progress, cancel=cancel)
    pastes = [f for s, f in calls if s == "paste"]
    assert len(pastes) == 2 and pastes[-1] < 1.0  # stopped inside the paste, not after it
    assert hole.sum() > 4 * 50  # the paste had chunks left when it stopped
    np.testing.assert_array_equal(image, original)


def test_progress_reports_each_window_and_each_paste_chunk_and_never_goes_back(
    stub_engine: InpaintEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_ops, "PASTE_CHUNK", 40)
    image = synthetic_photo(300, 400)
    mask = np.zeros((300, 400), bool)
    mask[20:40, 20:60] = True  # three far-apart holes: three windows
    mask[250:280, 30:50] = True
    mask[130:160, 330:380] = True
    calls: list[tuple[str, float]] = []
    result = stub_engine.run(
        InpaintRequest(image=image, mask=mask), progress=lambda s, f: calls.append((s, f))
    )

    assert len(result.windows) == 3
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = [s for s, _ in calls]
    assert stages[:2] == ["load", "prepare"] and stages.count("refine") == 3
    per_chunk = sum(-(-int(mask[w.slices].sum()) // 40) - 1 for w in result.windows)
    assert stages.count("paste") == 3 + per_chunk + 1  # entering each paste, each chunk but the last, the end


# ------------------------------------------------------------------------------ resampling, holes, windows


def test_sampled_fill_matches_resizing_the_whole_fill() -> None:
    rng = np.random.default_rng(1)
    small = cv2.GaussianBlur(rng.random((41, 57, 3), dtype=np.float32), (0, 0), 1.0)
    ys, xs = np.nonzero(rng.random((300, 430)) < 0.2)
    whole = resize_rgb(small, 430, 300)
    np.testing.assert_allclose(sample_fill(small, ys, xs, 300, 430), whole[ys, xs], atol=1e-4)
    pixels = synthetic_photo(30, 40, 1, np.uint16)  # the window's own pixels are read as they are
    got = sample_fill(pixels, np.array([3, 7]), np.array([5, 9]), 30, 40)
    np.testing.assert_allclose(got[:, 0], pixels[[3, 7], [5, 9]] / 65535.0, rtol=1e-6)


def _reference_hole_boxes(mask: np.ndarray) -> list[Box]:
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [Box(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in stats[1:count, :4]]


@pytest.mark.parametrize("seed", range(4))
def test_hole_boxes_match_connected_components(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((90, 120)) < 0.08  # many small, touching, diagonal holes
    mask[:, 0] |= rng.random(90) < 0.5  # holes on the border
    ring = np.zeros_like(mask)
    cv2.circle(ring.view(np.uint8), (60, 45), 20, 1, 3)
    mask[25:66, 40:81] = False
    mask |= ring
    mask[45, 60] = True  # a hole inside the ring's gap: its own box
    assert sorted(hole_boxes(mask), key=_key) == sorted(_reference_hole_boxes(mask), key=_key)


def _key(box: Box) -> tuple[int, int, int, int]:
    return box.y0, box.x0, box.y1, box.x1


def _reference_merge(boxes: list[Box]) -> list[Box]:
    pending, changed = list(boxes), True
    while changed:
        changed, merged = False, []
        for box in pending:
            for other in list(merged):
                if box.overlaps(other):
                    box, changed = box.union(other), True
                    merged.remove(other)
            merged.append(box)
        pending = merged
    return sorted(pending, key=lambda b: (b.y0, b.x0))


@pytest.mark.parametrize("seed", range(6))
def test_merge_boxes_matches_comparing_every_pair(seed: int) -> None:
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(int(rng.integers(1, 150))):
        x, y = (int(v) for v in rng.integers(0, 1000, 2))
        w, h = (int(v) for v in rng.integers(1, 120, 2))
        boxes.append(Box(x, y, x + w, y + h))
    merged = merge_boxes(boxes)
    assert merged == _reference_merge(boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(merged) for b in merged[i + 1 :])
