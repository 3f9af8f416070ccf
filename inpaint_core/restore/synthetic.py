"""Seeded synthetic damage and textures: what the scratch benchmark and the tests measure the detector on.

Damage is drawn the way it looks on old prints and scans: thin bright curves (emulsion scratched off), thin dark
curves (creases, hairs, dirt), and small bright or dark specks (dust). Each stroke is drawn on a 4x supersampled
canvas and area-averaged down, so widths are exact on average and edges are anti-aliased like a scan.

The ground truth is what a person would call damaged: the pixels whose luminance the damage changed by at least
`VISIBLE_CHANGE` (a bright scratch over white sky changes nothing there and is not counted).

"Held-out style" damage (`add_polylines`, `add_dust`) comes from a different generator, as an outside test set
would: smooth Bezier curves 1-3 px wide at a constant opacity per stroke, and round dust discs 1-3 px across.
The learned detector never trains on these functions (its generator is `restore/damage.py`).

Textures (`texture`) are made in code, seeded, and stand in for the photo textures that must not light up:
grass, hair, wood grain, a smooth gradient with film grain, foliage (leaves and twigs), fabric (a plain weave)
and planks (painted boards with dark seams and lit edges, like a door).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from inpaint_core.image_ops import from_float_rgb, to_float_rgb

Polarity = Literal["bright", "dark", "both"]

# A pixel counts as damaged when its luminance changed by this much (on [0, 1]; about 20 levels of 255).
VISIBLE_CHANGE = 0.08
SUPERSAMPLE = 4
# New kinds go at the end: a texture's seed includes its index here.
TEXTURES: tuple[str, ...] = ("smooth", "grass", "hair", "wood", "foliage", "fabric", "planks")
# Rec. 601 luma weights (as image_ops uses for grey).
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# Door paints for the planks texture: off-white, cream, green, oxblood, blue-grey, brown.
_PAINTS = np.array(
    [
        [0.85, 0.84, 0.8],
        [0.85, 0.78, 0.6],
        [0.3, 0.45, 0.32],
        [0.5, 0.18, 0.15],
        [0.45, 0.52, 0.6],
        [0.45, 0.3, 0.2],
    ],
    np.float32,
)


@dataclass(frozen=True)
class Damage:
    """A damaged copy of a photo and the pixels the damage visibly changed."""

    image: np.ndarray  # same layout and dtype as the clean photo
    truth: np.ndarray  # (H, W) bool


def random_curve(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A gently bending curve (a random walk of the heading) crossing a good part of the image.

    Shape: () -> (N, 2) float64 points (x, y) in pixels
    """
    diagonal = float(np.hypot(height, width))
    length = rng.uniform(0.3, 0.8) * diagonal
    steps = max(8, int(length / 4))
    start = rng.uniform((0.1 * width, 0.1 * height), (0.9 * width, 0.9 * height))
    heading = rng.uniform(0, 2 * np.pi)
    bend = rng.uniform(0.0, 0.04)  # radians per step: from straight (film scratches) to wavy (hairs)
    headings = heading + np.cumsum(rng.normal(0.0, bend, steps))
    step = length / steps
    xy = start + np.cumsum(np.stack([np.cos(headings), np.sin(headings)], axis=1) * step, axis=0)
    return np.vstack([start[None], xy])


def _coverage(height: int, width: int, draw: object, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Render `draw(canvas, scale, origin)` on a supersampled uint8 canvas covering `bounds` (x0, y0, x1, y1 in
    image pixels, clipped to the image) and average it down to coverage in [0, 1].

    Only the bounds are rendered (whole pixels, so the result is the same as rendering the whole image).

    Shape: -> (height, width) float32
    """
    s = SUPERSAMPLE
    x0, y0 = max(0, int(np.floor(bounds[0]))), max(0, int(np.floor(bounds[1])))
    x1, y1 = min(width, int(np.ceil(bounds[2])) + 1), min(height, int(np.ceil(bounds[3])) + 1)
    out = np.zeros((height, width), np.float32)
    if x1 <= x0 or y1 <= y0:
        return out
    canvas = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    draw(canvas, s, (x0 * s, y0 * s))  # type: ignore[operator]
    small = cv2.resize(canvas.astype(np.float32) / 255.0, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    out[y0:y1, x0:x1] = small
    return out


def curve_coverage(points: np.ndarray, stroke_width: float, height: int, width: int) -> np.ndarray:
    """Coverage of a polyline drawn `stroke_width` pixels wide (round caps).

    Shape: points (N, 2) xy -> (height, width) float32 in [0, 1]
    """

    def draw(canvas: np.ndarray, s: int, origin: tuple[int, int]) -> None:
        pts = np.rint((points + 0.5) * s - 0.5).astype(np.int32) - np.array(origin, np.int32)
        thickness = max(1, round(stroke_width * s))
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, 255, thickness=thickness, lineType=cv2.LINE_8)

    pad = stroke_width + 2
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    return _coverage(height, width, draw, (lo[0], lo[1], hi[0], hi[1]))


def speck_coverage(
    centre: tuple[float, float], diameter: float, aspect: float, angle: float, height: int, width: int
) -> np.ndarray:
    """Coverage of a filled ellipse: `diameter` px across its long axis, `aspect` short/long, rotated `angle`°.

    Shape: () -> (height, width) float32 in [0, 1]
    """

    def draw(canvas: np.ndarray, s: int, origin: tuple[int, int]) -> None:
        cx, cy = ((centre[0] + 0.5) * s - 0.5, (centre[1] + 0.5) * s - 0.5)
        axes = (max(1, round(diameter * s / 2)), max(1, round(diameter * aspect * s / 2)))
        cv2.ellipse(
            canvas, (round(cx) - origin[0], round(cy) - origin[1]), axes, angle, 0, 360, 255, thickness=-1
        )

    pad = diameter / 2 + 2
    return _coverage(
        height, width, draw, (centre[0] - pad, centre[1] - pad, centre[0] + pad, centre[1] + pad)
    )


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb @ _LUMA, np.float32)


def _composite(image: np.ndarray, strokes: list[tuple[np.ndarray, float, float]]) -> Damage:
    """Blend each (coverage, target grey value, opacity) over the image in turn; truth from the change."""
    rgb = to_float_rgb(image)
    before = _luma(rgb)
    for coverage, target, opacity in strokes:
        alpha = (coverage * opacity)[..., None]
        rgb = rgb * (1.0 - alpha) + np.float32(target) * alpha
    truth = np.abs(_luma(rgb) - before) >= VISIBLE_CHANGE
    return Damage(image=from_float_rgb(rgb, image), truth=truth)


def _target(rng: np.random.Generator, polarity: Polarity) -> float:
    bright = rng.random() < 0.5 if polarity == "both" else polarity == "bright"
    return float(rng.uniform(0.85, 1.0) if bright else rng.uniform(0.0, 0.15))


def add_scratches(
    image: np.ndarray,
    rng: np.random.Generator,
    width: float,
    count: int = 4,
    polarity: Polarity = "both",
) -> Damage:
    """Draw `count` thin curves `width` px wide, each bright or dark, at an opacity of 0.6 to 1."""
    height, w = image.shape[:2]
    strokes = [
        (
            curve_coverage(random_curve(rng, height, w), width, height, w),
            _target(rng, polarity),
            rng.uniform(0.6, 1.0),
        )
        for _ in range(count)
    ]
    return _composite(image, strokes)


def add_specks(
    image: np.ndarray,
    rng: np.random.Generator,
    sizes: tuple[float, float] = (2.0, 8.0),
    count: int = 40,
    polarity: Polarity = "both",
) -> Damage:
    """Draw `count` dust specks: ellipses `sizes[0]`..`sizes[1]` px across, bright or dark, opacity 0.6 to 1."""

    def ellipse(r: np.random.Generator) -> tuple[float, float, float]:
        return float(r.uniform(*sizes)), float(r.uniform(0.6, 1.0)), float(r.uniform(0, 180))

    return _scatter(image, rng, count, ellipse, 0.6, polarity)


def _scatter(
    image: np.ndarray,
    rng: np.random.Generator,
    count: int,
    shape: Callable[[np.random.Generator], tuple[float, float, float]],
    min_opacity: float,
    polarity: Polarity,
) -> Damage:
    """`count` specks at uniform centres; `shape(rng)` gives each one's (diameter, aspect, angle)."""
    height, width = image.shape[:2]
    strokes = []
    for _ in range(count):
        centre = (float(rng.uniform(0, width - 1)), float(rng.uniform(0, height - 1)))
        cov = speck_coverage(centre, *shape(rng), height, width)
        strokes.append((cov, _target(rng, polarity), float(rng.uniform(min_opacity, 1.0))))
    return _composite(image, strokes)


# -------------------------------------------------------------------------------------- held-out style damage


def bezier_curve(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A cubic Bezier curve between two points in the image, through two random control points (S and C
    shapes; unlike `random_curve`'s random walk of the heading).

    Shape: () -> (N, 2) float64 points (x, y) in pixels
    """
    lo, hi = (0.05 * width, 0.05 * height), (0.95 * width, 0.95 * height)
    p0, p1, p2, p3 = (rng.uniform(lo, hi) for _ in range(4))
    n = max(16, int(np.hypot(height, width) / 3))
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def add_polylines(
    image: np.ndarray,
    rng: np.random.Generator,
    widths: tuple[float, float] = (1.0, 3.0),
    count: int = 4,
    polarity: Polarity = "both",
) -> Damage:
    """Held-out style lines: `count` Bezier curves `widths[0]`..`widths[1]` px wide, light or dark, opacity 0.7-1."""
    height, width = image.shape[:2]
    strokes = []
    for _ in range(count):
        points = bezier_curve(rng, height, width)
        stroke = float(rng.uniform(*widths))
        strokes.append(
            (curve_coverage(points, stroke, height, width), _target(rng, polarity), rng.uniform(0.7, 1.0))
        )
    return _composite(image, strokes)


def add_dust(
    image: np.ndarray,
    rng: np.random.Generator,
    diameters: tuple[float, float] = (1.0, 3.0),
    count: int = 60,
    polarity: Polarity = "both",
) -> Damage:
    """Held-out style dust: `count` round discs `diameters[0]`..`diameters[1]` px across, opacity 0.7-1."""
    return _scatter(image, rng, count, lambda r: (float(r.uniform(*diameters)), 1.0, 0.0), 0.7, polarity)


# ------------------------------------------------------------------------------------------------- textures


def _smooth_noise(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Gaussian-blurred white noise with unit standard deviation (features about `scale` px across)."""
    noise = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), scale)
    return blurred / max(float(blurred.std()), 1e-6)


Draw = Callable[[np.ndarray, tuple[int, int]], None]
Paint = Callable[[np.ndarray], np.ndarray]


def _blend_shape(
    canvas: np.ndarray,
    draw: Draw,
    bounds: tuple[float, float, float, float],
    paint: Paint,
) -> None:
    """Blend `paint(region)` into a float RGB canvas by the coverage of one anti-aliased shape.

    `draw(layer, origin)` draws into a uint8 layer covering only `bounds` (x0, y0, x1, y1 in pixels), with
    `origin` the layer's corner in 1/16 px (OpenCV's shift=4 units): as drawing on the whole canvas, but the
    cost follows the shape's size, not the canvas's.
    """
    height, width = canvas.shape[:2]
    x0, y0 = max(0, int(np.floor(bounds[0]))), max(0, int(np.floor(bounds[1])))
    x1, y1 = min(width, int(np.ceil(bounds[2])) + 1), min(height, int(np.ceil(bounds[3])) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    layer = np.zeros((y1 - y0, x1 - x0), np.uint8)
    draw(layer, (x0 * 16, y0 * 16))
    alpha = (layer.astype(np.float32) / 255.0)[..., None]
    region = canvas[y0:y1, x0:x1]
    region[:] = region * (1.0 - alpha) + paint(region) * alpha


def _draw_strands(
    canvas: np.ndarray,
    rng: np.random.Generator,
    count: int,
    length: tuple[float, float],
    heading: float,
    spread: float,
    bend: float,
    widths: tuple[int, int],
    shade: tuple[float, float],
) -> None:
    """Anti-aliased strands (blades, hairs) drawn into a float RGB canvas, each a lighter or darker shade."""
    height, width = canvas.shape[:2]
    for _ in range(count):
        n = 12
        size = rng.uniform(*length)
        angles = heading + rng.normal(0.0, spread) + np.cumsum(rng.normal(0.0, bend, n))
        start = rng.uniform((0, 0), (width, height))
        xy = start + np.cumsum(np.stack([np.cos(angles), np.sin(angles)], 1) * size / n, axis=0)
        pts = np.rint(np.vstack([start[None], xy]) * 16).astype(np.int32).reshape(-1, 1, 2)
        thickness = int(rng.integers(widths[0], widths[1] + 1))
        factor = np.float32(rng.uniform(*shade))

        lo, hi = (
            pts.reshape(-1, 2).min(axis=0) / 16 - thickness - 2,
            pts.reshape(-1, 2).max(axis=0) / 16 + thickness + 2,
        )
        _blend_shape(canvas, _polyline(pts, thickness), (lo[0], lo[1], hi[0], hi[1]), _scaled(factor))


def _polyline(pts: np.ndarray, thickness: int) -> Draw:
    """Draws an anti-aliased polyline (points in 1/16 px) at a layer's origin."""

    def draw(layer: np.ndarray, origin: tuple[int, int]) -> None:
        cv2.polylines(layer, [pts - np.array(origin, np.int32)], False, 255, thickness, cv2.LINE_AA, shift=4)

    return draw


def _ellipse(centre: tuple[int, int], axes: tuple[int, int], angle: float) -> Draw:
    """Draws a filled anti-aliased ellipse (centre and axes in 1/16 px) at a layer's origin."""

    def draw(layer: np.ndarray, origin: tuple[int, int]) -> None:
        at = (centre[0] - origin[0], centre[1] - origin[1])
        cv2.ellipse(layer, at, axes, angle, 0, 360, 255, -1, cv2.LINE_AA, shift=4)

    return draw


def _scaled(factor: np.float32) -> Paint:
    return lambda region: np.clip(region * factor, 0.0, 1.0)


def _flat(colour: np.ndarray) -> Paint:
    return lambda region: np.broadcast_to(colour, region.shape)


def texture(kind: str, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A seeded texture that has thin structure everywhere but no damage: one of `TEXTURES`.

    Shape: () -> (height, width, 3) uint8 RGB
    """
    rng = np.random.default_rng([seed, TEXTURES.index(kind)])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "smooth":  # sky-like gradient with film grain
        base = 0.35 + 0.4 * yy / height + 0.08 * _smooth_noise(rng, height, width, 20.0)
        rgb = np.stack([base * 0.8, base * 0.9, base], axis=2)
        rgb += rng.normal(0.0, 0.012, rgb.shape).astype(np.float32)
    elif kind == "grass":  # dense blades, mostly upright, lighter and darker than the ground
        ground = 0.3 + 0.06 * _smooth_noise(rng, height, width, 6.0)
        rgb = np.stack([ground * 0.55, ground, ground * 0.35], axis=2)
        blades = int(height * width / 40)
        _draw_strands(rgb, rng, blades, (8, 30), -np.pi / 2, 0.35, 0.05, (1, 3), (0.5, 1.8))
    elif kind == "hair":  # long flowing strands side by side
        base = 0.35 + 0.05 * _smooth_noise(rng, height, width, 10.0)
        rgb = np.stack([base, base * 0.75, base * 0.5], axis=2)
        strands = int(height * width / 60)
        _draw_strands(rgb, rng, strands, (40, 120), np.pi / 3, 0.15, 0.04, (1, 2), (0.55, 1.7))
    elif kind == "wood":  # growth rings bent by a smooth field, plus fine grain streaks along them
        warp = 6.0 * _smooth_noise(rng, height, width, 25.0)
        rings = 0.5 + 0.5 * np.sin(2 * np.pi * (yy + 0.15 * xx + warp) / rng.uniform(9.0, 14.0))
        streaks = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
        grain = np.asarray(cv2.GaussianBlur(streaks, (0, 0), 12.0, sigmaY=0.6), np.float32)
        grain /= max(float(grain.std()), 1e-6)
        value = 0.45 + 0.18 * rings + 0.05 * grain
        rgb = np.stack([value, value * 0.72, value * 0.45], axis=2)
    elif kind == "foliage":
        rgb = _foliage(rng, height, width)
    elif kind == "fabric":
        rgb = _fabric(rng, height, width, yy, xx)
    elif kind == "planks":
        rgb = _planks(rng, height, width)
    else:
        raise ValueError(f"unknown texture {kind!r}; use one of {', '.join(TEXTURES)}")
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _foliage(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Overlapping leaves in many greens over dark gaps, and a few thin twigs (dark lines that are not damage)."""
    shade = 0.18 + 0.05 * _smooth_noise(rng, height, width, 8.0)
    rgb = np.stack([shade * 0.6, shade, shade * 0.45], axis=2)
    for _ in range(int(height * width / 90)):
        centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        length = rng.uniform(4.0, 11.0)
        axes = (int(length * 16), int(length * rng.uniform(0.35, 0.6) * 16))
        angle = float(rng.uniform(0, 180))
        value = np.float32(rng.uniform(0.25, 0.7))
        leaf = np.array([value * rng.uniform(0.45, 0.8), value, value * rng.uniform(0.25, 0.5)], np.float32)

        draw = _ellipse((int(centre[0] * 16), int(centre[1] * 16)), axes, angle)
        lo, hi = centre - length - 2, centre + length + 2
        _blend_shape(rgb, draw, (lo[0], lo[1], hi[0], hi[1]), _flat(leaf))
    _draw_strands(
        rgb,
        rng,
        max(1, int(height * width / 20000)),
        (30, 90),
        rng.uniform(0, np.pi),
        0.8,
        0.1,
        (1, 2),
        (0.3, 0.6),
    )
    return rgb


def _fabric(rng: np.random.Generator, height: int, width: int, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """A plain weave: warp and weft threads a few px apart, over and under in turn, with uneven threads and
    soft folds."""
    period = float(rng.uniform(4.0, 8.0))
    angle = float(rng.uniform(-0.3, 0.3))
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    across_warp = np.cos(np.pi * u / period) ** 2  # bright at a thread's middle, dark between threads
    across_weft = np.cos(np.pi * v / period) ** 2
    warp_on_top = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    relief = np.where(warp_on_top, across_warp, across_weft)
    uneven = 0.05 * _smooth_noise(rng, height, width, period)
    folds = 0.06 * _smooth_noise(rng, height, width, 40.0)
    value = 0.4 + 0.2 * relief + uneven + folds
    tint = rng.uniform(0.6, 1.0, 3).astype(np.float32)
    return np.asarray(value[..., None] * tint, np.float32)


def _planks(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Painted boards side by side, like a door: each board a slightly different shade with faint grain, a dark
    seam 1-3 px wide between boards with a lit edge beside it, and a cross rail with its own seams."""
    paint = _PAINTS[int(rng.integers(len(_PAINTS)))] * np.float32(rng.uniform(0.85, 1.1))
    streaks = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    grain = np.asarray(cv2.GaussianBlur(streaks, (0, 0), 0.7, sigmaY=15.0), np.float32)  # along the boards
    grain /= max(float(grain.std()), 1e-6)
    value = np.ones((height, width), np.float32)
    edges = [0]
    while edges[-1] < width:
        edges.append(edges[-1] + int(rng.integers(45, 110)))
    for x0, x1 in itertools.pairwise(edges):
        value[:, x0:x1] = rng.uniform(0.9, 1.08)
    rail = (int(rng.uniform(0.3, 0.6) * height), int(rng.integers(50, 90)))
    value[rail[0] : rail[0] + rail[1]] = rng.uniform(0.95, 1.1)
    value += 0.025 * grain + 0.03 * _smooth_noise(rng, height, width, 30.0)
    for x in edges[1:-1]:  # seams: shadow, then the next board's lit edge
        gap = int(rng.integers(1, 4))
        value[:, x : x + gap] *= rng.uniform(0.3, 0.55)
        value[:, x + gap : x + gap + 1] *= 1.15
    for y in (rail[0], rail[0] + rail[1]):
        gap = int(rng.integers(1, 3))
        value[y : y + gap] *= rng.uniform(0.35, 0.6)
        value[max(0, y - 1) : y] *= 1.12
    return np.asarray(value[..., None] * paint, np.float32)
