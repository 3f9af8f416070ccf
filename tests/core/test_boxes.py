"""boxes: the Box type and window planning (pure Python)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from inpaint_core.boxes import Box, merge_boxes, model_size, plan_windows
from inpaint_core.image_ops import hole_boxes


def test_plan_small_hole_min_margin_and_min_side() -> None:
    hole = Box(500, 500, 506, 510)  # 6 wide, 10 high
    (win,) = plan_windows([hole], 1000, 1000, margin_ratio=0.5, min_margin=32, min_side=128)
    assert win.width == 128 and win.height == 128  # 6+64 and 10+64 grown to min_side
    assert win.x0 <= 500 - 32 and win.x1 >= 506 + 32 and win.y0 <= 500 - 32 and win.y1 >= 510 + 32
    (win,) = plan_windows([hole], 1000, 1000, margin_ratio=0.5, min_margin=32, min_side=0)
    assert win == Box(500 - 32, 500 - 32, 506 + 32, 510 + 32)


def test_plan_large_hole_margin_proportional() -> None:
    hole = Box(700, 800, 1100, 1000)  # 400 wide, 200 high
    (win,) = plan_windows([hole], 2000, 2000, margin_ratio=0.5, min_margin=32, min_side=0)
    assert win == Box(700 - 200, 800 - 200, 1100 + 200, 1000 + 200)


def test_plan_merges_nearby_and_keeps_far_apart() -> None:
    holes = [
        Box(100, 100, 110, 110),
        Box(150, 100, 160, 110),
        Box(800, 800, 810, 810),
    ]  # the first two: 40 px apart
    wins = plan_windows(holes, 1000, 1000, min_margin=32, min_side=0)
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
    wins = plan_windows(hole_boxes(mask), 800, 600)
    covered = np.zeros_like(mask)
    for i, a in enumerate(wins):
        assert 0 <= a.x0 < a.x1 <= 800 and 0 <= a.y0 < a.y1 <= 600
        for b in wins[i + 1 :]:
            assert not a.overlaps(b)
        covered[a.slices] = True
    assert covered[mask].all()


def test_plan_at_border_shifts_inside_image() -> None:
    (win,) = plan_windows([Box(390, 0, 400, 5)], 400, 300, min_margin=32, min_side=128)  # top-right corner
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


def test_boxes_import_nothing_heavy() -> None:
    """The canvas imports boxes on every stroke path: it must stay pure Python."""
    code = "import sys, inpaint_core.boxes; print(' '.join(m for m in ('numpy', 'cv2', 'PIL', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
