"""Canvas geometry as pure functions (no Qt), so the maths is tested on its own.

Coordinates: *scene* = image pixels (x right, y down); *view* = viewport pixels. The view maps a scene point p
to ``(p - origin) * scale`` where ``origin`` is the scene point at the viewport's top-left corner.
"""

from __future__ import annotations

import math

from inpaint_core.boxes import Box

MIN_SCALE = 0.01
MAX_SCALE = 64.0
MIN_BRUSH = 1
MAX_BRUSH = 1000

Point = tuple[float, float]


# Rectangles are the core's half-open pixel Box (dirty rects, tiles): one rectangle type in the project.
EMPTY = Box(0, 0, 0, 0)


def clamp_scale(scale: float) -> float:
    """Keep the zoom inside [MIN_SCALE, MAX_SCALE]."""
    return min(MAX_SCALE, max(MIN_SCALE, scale))


def zoom_about(origin: Point, scale: float, factor: float, anchor_view: Point) -> tuple[Point, float]:
    """Zoom by ``factor`` keeping the scene point under ``anchor_view`` (the cursor) fixed.

    Returns the new (origin, scale). The scene point under the anchor is ``origin + anchor_view / scale`` before
    and after the zoom.
    """
    new_scale = clamp_scale(scale * factor)
    ax = origin[0] + anchor_view[0] / scale
    ay = origin[1] + anchor_view[1] / scale
    return (ax - anchor_view[0] / new_scale, ay - anchor_view[1] / new_scale), new_scale


def centre_for(origin: Point, scale: float, view_size: tuple[int, int]) -> Point:
    """The scene point at the viewport's centre (what QGraphicsView.centerOn takes)."""
    return origin[0] + view_size[0] / (2 * scale), origin[1] + view_size[1] / (2 * scale)


def fit_scale(image_size: tuple[int, int], view_size: tuple[int, int], margin: int = 8) -> float:
    """The largest scale at which the whole image fits inside the view with ``margin`` pixels around it."""
    iw, ih = image_size
    vw, vh = max(1, view_size[0] - 2 * margin), max(1, view_size[1] - 2 * margin)
    if iw <= 0 or ih <= 0:
        return 1.0
    return clamp_scale(min(vw / iw, vh / ih))


def dab_rect(x: float, y: float, size: float, pad: int = 1) -> Box:
    """Bounding pixels of a round dab of diameter ``size`` centred at (x, y), with ``pad`` px for antialiasing."""
    r = size / 2.0
    return Box(
        math.floor(x - r) - pad,
        math.floor(y - r) - pad,
        math.ceil(x + r) + pad + 1,
        math.ceil(y + r) + pad + 1,
    )


def segment_rect(p0: Point, p1: Point, size: float, pad: int = 1) -> Box:
    """Bounding pixels of a stroke segment from p0 to p1 drawn with a round brush of diameter ``size``."""
    return dab_rect(p0[0], p0[1], size, pad).union(dab_rect(p1[0], p1[1], size, pad))


def dab_positions(p0: Point, p1: Point, spacing: float) -> list[Point]:
    """Dab centres from p0 (excluded) to p1 (included), at most ``spacing`` px apart.

    p0 is excluded because the previous segment already stamped it.
    """
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    dist = math.hypot(dx, dy)
    n = max(1, math.ceil(dist / max(spacing, 0.5)))
    return [(p0[0] + dx * i / n, p0[1] + dy * i / n) for i in range(1, n + 1)]


def tiles_touching(rect: Box, tile: int) -> list[tuple[int, int]]:
    """Indices (tx, ty) of the ``tile`` x ``tile`` tiles that intersect ``rect``."""
    if rect.is_empty():
        return []
    return [
        (tx, ty)
        for ty in range(rect.y0 // tile, (rect.y1 - 1) // tile + 1)
        for tx in range(rect.x0 // tile, (rect.x1 - 1) // tile + 1)
    ]


def step_brush_size(size: int, direction: int) -> int:
    """The next brush size for ``[`` (direction -1) or ``]`` (+1): steps of ~15 %, at least 1 px."""
    new = max(size + 1, round(size * 1.15)) if direction > 0 else min(size - 1, round(size / 1.15))
    return int(min(MAX_BRUSH, max(MIN_BRUSH, new)))


def place_labels(anchors: list[Point], sizes: list[tuple[float, float]], gap: float = 2.0) -> list[Point]:
    """Top-left corners for labels that want their top-left at ``anchors`` (same units as ``sizes``), each
    moved down in steps of its height until it overlaps no label placed before it (neighbouring sources share
    a corner, so their labels would stack on one another)."""
    placed: list[tuple[float, float, float, float]] = []
    out: list[Point] = []
    for (x, y), (w, h) in zip(anchors, sizes):
        while any(
            x < px + pw + gap and px < x + w + gap and y < py + ph + gap and py < y + h + gap
            for px, py, pw, ph in placed
        ):
            y += h + gap
        placed.append((x, y, w, h))
        out.append((x, y))
    return out
