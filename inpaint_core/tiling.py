"""Thin holes (scratches, cracks, power lines) filled in tiles at full resolution.

A long scratch across a photo makes one context window as large as the photo; the model would see it shrunk to
`max_side` (512) pixels, where a 2-px scratch is a fraction of a pixel, and its fill would come back 8x
upscaled and soft. A hole that thin never needs far context: every hole pixel is a few pixels from known ones.
So a window whose holes are all thin (no pixel farther than `THIN_PX` from the hole's edge) and that the model
would shrink is cut into cells of `TILE // 2`; each cell's part of the hole gets its own window of at most
`TILE` pixels a side, seen at full resolution. Small tiles keep the cost down: along a scratch it grows with
the tile's side (tiles x side^2, with tiles ~ length / side), and a thin hole needs no more context than that.

The cost: a 3-px scratch corner to corner of a 12 MP photo makes 53 tiles, about 11-12x the time of the one
shrunk window (docs/BENCHMARKS.md), so the engine tiles only requests without a work or time budget (the CLI's
default, the editor with "Fast fills" off).

Each job fills only its own pixels (`WindowJob.own`); the model sees every hole pixel not yet filled as hole,
and the pixels earlier tiles filled as context, so tiles meet without a seam.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_core.boxes import Box, grow_box
from inpaint_core.image_ops import hole_boxes

THIN_PX = 12  # the widest hole (twice this) tiles; wider ones need the context of the whole window
TILE = 256  # a tile's window side at most (and never more than the request's max_side)


@dataclass(frozen=True)
class WindowJob:
    """One model call: `window` is what the model sees, `own` the region whose hole pixels this call fills."""

    window: Box
    own: Box


def is_thin(hole: np.ndarray, thin_px: int = THIN_PX) -> bool:
    """No hole pixel is more than `thin_px` from a known pixel (the hole is at most ~2 x `thin_px` wide)."""
    if not hole.any():
        return True
    # Pad with known pixels so that the distance is to the hole's edge, also at the crop's border.
    padded = np.pad(hole.astype(np.uint8), 1)
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, 3).max()) <= thin_px


def has_long_hole(hole: np.ndarray, min_length: int) -> bool:
    """True when a hole component (8-connected) is longer than `min_length` px on a side: a scratch, not dust.

    Dust (many specks, each a few px) never needs tiles: the specks of one window are filled together, as
    before tiling; tiling them made one tile per speck (569 model calls for 1,000 dots on 12 MP, 12x slower).
    """
    count, _, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    if count <= 1:
        return False
    sides = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    return bool((sides > min_length).any())


def plan_jobs(
    fill: np.ndarray, windows: list[Box], max_side: int, min_margin: int, thin_px: int = THIN_PX
) -> list[WindowJob]:
    """The model calls for `windows` (from `boxes.plan_windows` on `fill`, the pixels to fill): one per window,
    except a window the model would shrink (longer side > `max_side`) whose holes are all thin and one of them
    long (longer than a cell: a scratch, not dust, see `has_long_hole`): that one is cut into cells of half a tile, each cell with a hole getting a window of at most `min(TILE, max_side)` inside it.
    Jobs come top to bottom, left to right, so each tile sees its upper and left neighbours filled.
    """
    jobs: list[WindowJob] = []
    side = min(TILE, max_side)
    cell = max(16, side // 2)
    for window in windows:
        hole = fill[window.slices]
        if (
            max(window.width, window.height) <= max_side
            or not is_thin(hole, thin_px)
            or not has_long_hole(hole, cell)
        ):
            jobs.append(WindowJob(window, window))
            continue
        for y0 in range(window.y0, window.y1, cell):
            for x0 in range(window.x0, window.x1, cell):
                own = Box(x0, y0, min(x0 + cell, window.x1), min(y0 + cell, window.y1))
                pieces = hole_boxes(fill[own.slices])
                if not pieces:
                    continue
                piece = functools.reduce(Box.union, pieces)
                piece = Box(piece.x0 + x0, piece.y0 + y0, piece.x1 + x0, piece.y1 + y0)
                margin = max(min_margin, (side - max(piece.width, piece.height)) // 2)
                # kept inside the window's right and bottom edges here, its left and top on the next line
                grown = grow_box(piece, margin, 0, window.x1, window.y1)
                seen = Box(max(grown.x0, window.x0), max(grown.y0, window.y0), grown.x1, grown.y1)
                jobs.append(WindowJob(_at_most(seen, piece, side), own))
    return jobs


def _at_most(box: Box, keep: Box, side: int) -> Box:
    """`box` cut to at most `side` per side around `keep` (which fits: a cell is half of `side`)."""

    def span(lo: int, hi: int, keep_lo: int, keep_hi: int) -> tuple[int, int]:
        if hi - lo <= side:
            return lo, hi
        centre = (keep_lo + keep_hi) // 2
        start = min(max(lo, centre - side // 2), hi - side)
        return start, start + side

    x0, x1 = span(box.x0, box.x1, keep.x0, keep.x1)
    y0, y1 = span(box.y0, box.y1, keep.y0, keep.y1)
    return Box(x0, y0, x1, y1)
