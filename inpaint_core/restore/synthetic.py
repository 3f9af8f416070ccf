"""Seeded synthetic damage and textures: what the scratch benchmark and the tests measure the detector on.

Damage is drawn the way it looks on old prints and scans: thin bright curves (emulsion scratched off), thin dark
curves (creases, hairs, dirt), and small bright or dark specks (dust). Each stroke is drawn on a 4x supersampled
canvas and area-averaged down, so widths are exact on average and edges are anti-aliased like a scan.

The ground truth is what a person would call damaged: the pixels whose luminance the damage changed by at least
`VISIBLE_CHANGE` (a bright scratch over white sky changes nothing there and is not counted).

Textures (`texture`) are made in code, seeded, and stand in for the photo textures that must not light up:
grass, hair, wood grain, and a smooth gradient with film grain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from inpaint_core.image_ops import from_float_rgb, to_float_rgb

Polarity = Literal["bright", "dark", "both"]

# A pixel counts as damaged when its luminance changed by this much (on [0, 1]; about 20 levels of 255).
VISIBLE_CHANGE = 0.08
SUPERSAMPLE = 4
TEXTURES: tuple[str, ...] = ("smooth", "grass", "hair", "wood")
# Rec. 601 luma weights (as image_ops uses for grey).
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


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
    height, width = image.shape[:2]
    strokes = []
    for _ in range(count):
        centre = (float(rng.uniform(0, width - 1)), float(rng.uniform(0, height - 1)))
        diameter = float(rng.uniform(*sizes))
        cov = speck_coverage(centre, diameter, rng.uniform(0.6, 1.0), rng.uniform(0, 180), height, width)
        strokes.append((cov, _target(rng, polarity), float(rng.uniform(0.6, 1.0))))
    return _composite(image, strokes)


# ------------------------------------------------------------------------------------------------- textures


def _smooth_noise(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Gaussian-blurred white noise with unit standard deviation (features about `scale` px across)."""
    noise = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), scale)
    return blurred / max(float(blurred.std()), 1e-6)


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
        layer = np.zeros((height, width), np.uint8)
        cv2.polylines(
            layer, [pts], False, 255, int(rng.integers(widths[0], widths[1] + 1)), cv2.LINE_AA, shift=4
        )
        alpha = (layer.astype(np.float32) / 255.0)[..., None]
        factor = np.float32(rng.uniform(*shade))
        canvas[:] = canvas * (1.0 - alpha) + np.clip(canvas * factor, 0.0, 1.0) * alpha


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
    else:
        raise ValueError(f"unknown texture {kind!r}; use one of {', '.join(TEXTURES)}")
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
