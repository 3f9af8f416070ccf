"""Boxes and window planning: pure Python, no numpy, OpenCV, PIL or torch, so the editor's canvas can use them.

Boxes are half-open pixel rectangles `Box(x0, y0, x1, y1)` in image coordinates. The engine fills each hole
group inside a context window: the hole's box grown by a margin proportional to its size (the model needs
context around a hole, Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019), with
overlapping windows merged so no window edge cuts through another window's hole.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """A half-open rectangle [x0, x1) x [y0, y1) in image pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """`array[box.slices]` is the crop (rows, then columns)."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def union(self, other: Box) -> Box:
        if self.is_empty():
            return other
        if other.is_empty():
            return self
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def clipped(self, width: int, height: int) -> Box:
        """This box clipped to an image of `width` x `height` (possibly empty)."""
        x0, y0 = max(0, self.x0), max(0, self.y0)
        x1, y1 = min(width, self.x1), min(height, self.y1)
        return Box(x0, y0, max(x0, x1), max(y0, y1))

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


def model_size(box: Box, max_side: int) -> tuple[int, int]:
    """The (height, width) a window is resized to so its longer side is at most `max_side` (never enlarged)."""
    longer = max(box.width, box.height)
    scale = min(1.0, max_side / longer) if longer > 0 else 1.0
    return max(1, round(box.height * scale)), max(1, round(box.width * scale))


def grow_box(box: Box, margin: int, min_side: int, width: int, height: int) -> Box:
    """`box` grown by `margin` on every side, then to at least `min_side` per side, kept inside the image.

    Near the border the box is shifted rather than clipped where possible, so it keeps its size.
    """
    x0, y0, x1, y1 = box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin
    # Small holes still get enough context for the model's receptive field.
    if x1 - x0 < min_side:
        extra = min_side - (x1 - x0)
        x0, x1 = x0 - extra // 2, x1 + extra - extra // 2
    if y1 - y0 < min_side:
        extra = min_side - (y1 - y0)
        y0, y1 = y0 - extra // 2, y1 + extra - extra // 2
    if x0 < 0:
        x1, x0 = min(width, x1 - x0), 0
    if x1 > width:
        x0, x1 = max(0, x0 - (x1 - width)), width
    if y0 < 0:
        y1, y0 = min(height, y1 - y0), 0
    if y1 > height:
        y0, y1 = max(0, y0 - (y1 - height)), height
    return Box(x0, y0, x1, y1)


def merge_boxes(boxes: Iterable[Box]) -> list[Box]:
    """Merge overlapping boxes until none overlap (a merged box can reach a third one, hence the rounds).

    Each round finds the overlapping pairs with a sweep along x (boxes sorted by x0, each compared only with
    those still open at its x0), joins them into groups (union-find) and replaces each group by its union;
    rounds repeat until one merges nothing, usually after one or two. A round costs O(n log n + open pairs),
    so a thousand separate holes plan in milliseconds (comparing every pair cost O(n^2) per round).
    Result sorted top-to-bottom, left-to-right.
    """
    pending = list(boxes)
    while True:
        parent = list(range(len(pending)))
        merged = False
        open_: list[int] = []
        for i in sorted(range(len(pending)), key=lambda k: pending[k].x0):
            box = pending[i]
            open_ = [j for j in open_ if pending[j].x1 > box.x0]
            for j in open_:
                if box.overlaps(pending[j]):
                    ri, rj = _root(parent, i), _root(parent, j)
                    if ri != rj:
                        parent[ri] = rj
                        merged = True
            open_.append(i)
        if not merged:
            return sorted(pending, key=lambda b: (b.y0, b.x0))
        groups: dict[int, Box] = {}
        for i, box in enumerate(pending):
            r = _root(parent, i)
            groups[r] = groups[r].union(box) if r in groups else box
        pending = list(groups.values())


def _root(parent: list[int], i: int) -> int:
    """Union-find: the representative of i's group (path halving keeps the trees shallow)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def plan_windows(
    holes: Iterable[Box],
    width: int,
    height: int,
    *,
    margin_ratio: float = 0.5,
    min_margin: int = 32,
    min_side: int = 128,
) -> list[Box]:
    """Context windows for the holes (one box per connected hole) of a `width` x `height` image.

    Each hole's box grows by `max(min_margin, margin_ratio * its longer side)` on every side, then to at least
    `min_side` per side (if the image allows), then is kept inside the image; windows that overlap are merged,
    so no window edge cuts through another window's hole. `image_ops.hole_boxes(mask)` gives the holes.
    """
    grown = []
    for hole in holes:
        margin = max(min_margin, math.ceil(margin_ratio * max(hole.width, hole.height)))
        grown.append(grow_box(hole, margin, min_side, width, height))
    return merge_boxes(grown)
