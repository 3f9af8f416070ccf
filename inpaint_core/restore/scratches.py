"""Propose a mask of thin scratches, creases and dust specks on an old photo (classical image processing, no model).

Pipeline, on the 8-bit luminance:
1. Thin structure: the white top-hat `L - open(L)` (bright damage) and the black top-hat `close(L) - L` (dark
   damage) with a disc a little wider than `max_width`. What is left is the detail narrower than the disc.
2. Line evidence: for 16 orientations, the top-hat is averaged along a 41 px line and the larger of the two
   parallel flank averages (offset just beyond `max_width`) is subtracted. A scratch keeps its contrast over the
   whole length, while texture averages out and is cancelled by its own flanks. Computed at half resolution on
   a 2x2 max-pooled top-hat (a 1 px line keeps its full contrast) by rotating the image, which is what makes
   long lines affordable.
3. Local contrast: the line evidence is divided by 3x its local level (a winsorised mean over a window of a few
   `max_width`s, so the scratch itself barely raises it) plus a noise floor. Grass, hair, wood grain and fences
   have line evidence everywhere, so no single line stands out there; a scratch across sky or skin does.
4. Hysteresis: components of weak line pixels are kept where they hold a strong one (and the pixel itself lies
   on the top-hat ridge, not in the fan of orientations at a line's end), so a fading scratch is kept whole.
5. Specks: top-hat pixels far above the mean of a ring around them, in components at most `max_width` across.
6. A frame of `max_width` px is ignored (a scan's edge or a print's border is not damage), and the mask grows by
   one pixel so the anti-aliased rim of a scratch is filled too.

A photo larger than `TILE_SIDE` squared (or with a side over twice that) is detected in overlapping tiles: each
tile carries a margin wider than everything above can see (`_tile_margin`), so its inner part comes out as
the whole-photo pass would give it, and memory stays bounded (a 250 MP scan needs about 1 GB beyond its own
pixels) with no side near OpenCV's 32767 px limits, even on a 70000 px panorama. Only the hysteresis of step 4
is local to a tile: a faint scratch is kept where a strong pixel lies within the margin.

The expensive part (1-3) does not depend on the sensitivity: `analyse_scratches` computes it once and
`ScratchAnalysis.mask(sensitivity)` thresholds it in a fraction of the time, which is what a live sensitivity
slider needs. `preview_side` runs everything on a downscaled copy. Figures: docs/BENCHMARKS.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from inpaint_core.errors import InpaintError, OutOfMemoryError

DEFAULT_SENSITIVITY = 0.5
DEFAULT_MAX_WIDTH = 8
MAX_WIDTH_LIMIT = 32

LINE_LENGTH = 41  # px at full resolution: long enough to average texture out, short enough for gentle bends
ORIENTATIONS = 16  # 11.25 degrees apart: a 41 px line drifts at most 2 px off a scratch at the worst angle
LEVEL_WEIGHT = 3.0  # line evidence is compared with this many times its local level ...
NOISE = 0.01  # ... plus this floor (luma, 0..1): grain on flat areas is not texture
# Thresholds at sensitivity 0.5 (measured on the benchmark, docs/BENCHMARKS.md); each halves at sensitivity 1
# and doubles at 0.
LINE_RATIO = 2.5
LINE_FLOOR = 0.08  # luma contrast a scratch seed needs
SPECK_RATIO = 8.0
SPECK_FLOOR = 0.1
SPECK_NOISE = 0.02
# Tiling: a photo over TILE_SIDE^2 px, or with a side over 2 * TILE_SIDE, is detected in tiles of this side
# (margins included). About 50 bytes per tile pixel at peak: some 0.8 GB, whatever the photo's size.
TILE_SIDE = 4096
HYSTERESIS_SLACK = 64  # px of margin beyond the filters' reach, so a faint scratch meets its strong part


@dataclass(frozen=True)
class _Polarity:
    """What `mask` needs for one polarity (bright or dark damage), all at the analysed size."""

    line_ratio: np.ndarray  # (H, W) float32: line evidence / local level; 0 off the ridge and in the frame
    line: np.ndarray  # (H, W) float32: line evidence in luma
    speck_ratio: np.ndarray  # (H, W) float32: top-hat / ring mean; 0 in the frame
    tophat: np.ndarray  # (H, W) float32: top-hat in luma


@dataclass(frozen=True)
class ScratchAnalysis:
    """The sensitivity-independent part of the detection for one image and one `max_width`."""

    max_width: int
    shape: tuple[int, int]  # (height, width) of the image the mask is for
    analysed_shape: tuple[int, int]  # smaller than `shape` on the preview path
    polarities: tuple[_Polarity, _Polarity]
    method: str = "classical"  # as `restore.detector.LearnedAnalysis` says "learned"

    def mask(self, sensitivity: float = DEFAULT_SENSITIVITY) -> np.ndarray:
        """The proposed mask at this sensitivity (0 = only the surest damage, 1 = anything plausible).

        Shape: -> (H, W) bool, the analysed image's size
        """
        if not 0.0 <= sensitivity <= 1.0:
            raise InpaintError(f"sensitivity must be between 0 and 1, got {sensitivity:g}")
        grown = _threshold(self.polarities, self.analysed_shape, self.max_width, sensitivity)
        if grown.shape != self.shape:
            size = (self.shape[1], self.shape[0])
            grown = cv2.resize(grown.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        return grown


def _threshold(
    polarities: tuple[_Polarity, _Polarity], shape: tuple[int, int], max_width: int, sensitivity: float
) -> np.ndarray:
    """Steps 4-6 at one sensitivity: hysteresis on the line ratio, specks, then the one-pixel growth.

    Shape: -> (H, W) bool, the analysed size
    """
    factor = np.float32(2.0 ** ((0.5 - float(sensitivity)) * 2.0))
    keep = np.zeros(shape, bool)
    for pol in polarities:
        strong = (pol.line_ratio > LINE_RATIO * factor) & (pol.line > LINE_FLOOR * factor)
        weak = pol.line_ratio > 0.5 * LINE_RATIO * factor
        keep |= _hysteresis(weak | strong, strong)
        specks = (pol.speck_ratio > SPECK_RATIO * factor) & (pol.tophat > SPECK_FLOOR * factor)
        keep |= _small_components(specks, max_width + 2)
    return cv2.dilate(keep.astype(np.uint8), _disc(3)) > 0


def detect_scratches(
    image: np.ndarray,
    sensitivity: float = DEFAULT_SENSITIVITY,
    max_width: int = DEFAULT_MAX_WIDTH,
    *,
    preview_side: int | None = None,
) -> np.ndarray:
    """Propose a mask of scratches, creases and dust specks (see the module docstring).

    `sensitivity` in [0, 1]; `max_width`: the widest scratch or speck to look for, in px (1 to 32).
    `preview_side`: when the photo's longer side exceeds it, detect on a copy downscaled to it and scale the
    mask back up (faster and coarser: for a live preview). Raises InpaintError for a bad image or setting.

    Shape: (H, W) | (H, W, 3) | (H, W, 4), uint8/uint16 -> (H, W) bool
    """
    if not 0.0 <= sensitivity <= 1.0:
        raise InpaintError(f"sensitivity must be between 0 and 1, got {sensitivity:g}")
    check_image(image, max_width)
    height, width = image.shape[:2]
    with _opencv_limits(width, height):
        if preview_side is not None or not _needs_tiles(height, width):
            return analyse_scratches(image, max_width, preview_side=preview_side).mask(sensitivity)
        return _detect_in_tiles(image, sensitivity, int(max_width))


def one_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")


def _needs_tiles(height: int, width: int) -> bool:
    return height * width > TILE_SIDE * TILE_SIDE or max(height, width) > 2 * TILE_SIDE


def _tile_margin(max_width: int) -> int:
    """Full-resolution px that every step before the hysteresis can see beyond a pixel, plus slack; a multiple
    of 4 so tiles keep the whole photo's 2x2 pooling grid."""
    disc = max_width + 3  # the top-hat's opening: erosion then dilation by the disc's radius
    offset = max(1, (max_width // 2 + 2) // 2)  # as in _analyse, at half resolution
    window = max(15, 4 * max_width) | 1
    half = (LINE_LENGTH // 2 | 1) // 2 + offset + 2 + 2 * (window // 2)  # line, flanks, two level blurs
    margin = disc + 2 * half + max_width + 8 + HYSTERESIS_SLACK
    return -(-margin // 4) * 4


def _detect_in_tiles(image: np.ndarray, sensitivity: float, max_width: int) -> np.ndarray:
    """`detect_scratches` tile by tile (see the module docstring); each tile's margin is analysed and dropped.

    Shape: (H, W[, C]) -> (H, W) bool
    """
    height, width = image.shape[:2]
    margin = _tile_margin(max_width)
    step = max(4, (TILE_SIDE - 2 * margin) // 4 * 4)  # the inner part of a tile
    out = np.zeros((height, width), bool)
    for y0 in range(0, height, step):
        for x0 in range(0, width, step):
            y1, x1 = min(y0 + step, height), min(x0 + step, width)
            ty0, tx0 = max(0, y0 - margin), max(0, x0 - margin)
            ty1, tx1 = min(height, y1 + margin), min(width, x1 + margin)
            lum = luma8(image[ty0:ty1, tx0:tx1])
            keep = _threshold(_analyse(lum, max_width), lum.shape, max_width, sensitivity)
            out[y0:y1, x0:x1] = keep[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0]
    return out


@contextmanager
def _opencv_limits(width: int, height: int) -> Iterator[None]:
    """Running out of memory, or any limit OpenCV still hits, becomes one plain line instead of a traceback."""
    try:
        yield
    except InpaintError:
        raise
    except (MemoryError, cv2.error) as exc:
        if isinstance(exc, MemoryError) or "Insufficient memory" in str(exc):
            raise OutOfMemoryError(
                f"not enough memory to look for scratches on this {width}x{height} photo; "
                "close other programs or use a smaller copy"
            ) from None
        # "OpenCV(5.1.0) /path/file.cpp:1454: error: (-215:Assertion failed) dst.cols < SHRT_MAX ... in function"
        found = re.search(r"error: \(-?\d+:([^)]*)\) (.*)", str(exc))
        reason = f"{found[1]}: {found[2].strip()}" if found else one_line(str(exc))
        raise InpaintError(
            f"cannot look for scratches on this {width}x{height} photo (OpenCV: {reason})"
        ) from None


def analyse_scratches(
    image: np.ndarray, max_width: int = DEFAULT_MAX_WIDTH, *, preview_side: int | None = None
) -> ScratchAnalysis:
    """The expensive, sensitivity-independent part of `detect_scratches`; call `.mask(s)` on the result.

    In one pass over the photo (or its preview copy), so it keeps every pixel's evidence: a photo that needs
    tiles (over `TILE_SIDE` squared) must take a `preview_side`, or use `detect_scratches`.
    """
    check_image(image, max_width)
    height, width = image.shape[:2]
    if preview_side is None and _needs_tiles(height, width):
        raise InpaintError(
            f"this {width}x{height} photo is too large to analyse in one pass; give a preview side"
        )
    with _opencv_limits(width, height):
        return _analyse_whole(image, max_width, preview_side)


def _analyse_whole(image: np.ndarray, max_width: int, preview_side: int | None) -> ScratchAnalysis:
    lum = luma8(image)
    height, width = lum.shape
    longer = max(height, width)
    if preview_side is not None and preview_side < 16:
        raise InpaintError(f"the preview side must be at least 16 px, got {preview_side}")
    if preview_side is not None and longer > preview_side:
        scale = preview_side / longer
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        lum = cv2.resize(lum, size, interpolation=cv2.INTER_AREA)
        max_width = max(1, round(max_width * scale))
    pols = _analyse(lum, int(max_width))
    return ScratchAnalysis(int(max_width), (height, width), (lum.shape[0], lum.shape[1]), pols)


def luma8(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of a boundary image as uint8 (16-bit images are reduced; damage is far above 1/256).

    Shape: (H, W) | (H, W, 3) | (H, W, 4) -> (H, W) uint8
    """
    pixels = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    if pixels.ndim == 2:
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)


def check_image(image: np.ndarray, max_width: int) -> None:
    """InpaintError unless `image` is a uint8/uint16 grey, RGB or RGBA array and `max_width` is in range."""
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.uint16):
        raise InpaintError("the image must be a uint8 or uint16 numpy array")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or image.size == 0:
        raise InpaintError(f"the image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if not 1 <= int(max_width) <= MAX_WIDTH_LIMIT:
        raise InpaintError(f"maximum width must be 1 to {MAX_WIDTH_LIMIT} px, got {max_width}")


@cache
def _disc(diameter: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))


def _analyse(lum: np.ndarray, max_width: int) -> tuple[_Polarity, _Polarity]:
    height, width = lum.shape
    disc = _disc(max_width + 2 + (max_width + 1) % 2)  # odd, wider than the widest structure
    tophats = (cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, disc), cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, disc))

    # Line evidence at half resolution on a 2x2 max-pooled top-hat (both polarities as two channels).
    pooled = cv2.merge([cv2.dilate(t, np.ones((2, 2), np.uint8), anchor=(0, 0))[::2, ::2] for t in tophats])
    offset = max(1, (max_width // 2 + 2) // 2)  # flank distance at half resolution
    half = _line_evidence(pooled, LINE_LENGTH // 2 | 1, ORIENTATIONS, offset)  # (h, w, 2) uint8
    window = max(15, 4 * max_width) | 1  # level window at half resolution (about 8 max_widths at full)
    inner = np.zeros((height, width), bool)
    border = max_width
    inner[border : height - border, border : width - border] = True

    pols = []
    for channel, top in enumerate(tophats):
        line_half = half[..., channel].astype(np.float32) * np.float32(1 / 255)
        level_half = _winsorised_mean(line_half, window)
        line = cv2.resize(line_half, (width, height), interpolation=cv2.INTER_LINEAR)
        level = cv2.resize(level_half, (width, height), interpolation=cv2.INTER_LINEAR)
        top_f = top.astype(np.float32) * np.float32(1 / 255)
        ratio = line / (LEVEL_WEIGHT * level + np.float32(NOISE))
        # Only on the ridge itself: the line evidence fans out past a line's ends, the top-hat does not.
        ratio[(top_f < 0.5 * line) | ~inner] = 0.0
        speck = top_f / (_ring_mean(top_f, max_width) + np.float32(SPECK_NOISE))
        speck[~inner] = 0.0
        pols.append(_Polarity(line_ratio=ratio, line=line, speck_ratio=speck, tophat=top_f))
    return pols[0], pols[1]


def _line_evidence(tophat: np.ndarray, length: int, orientations: int, offset: int) -> np.ndarray:
    """Max over orientations of: mean along a line - the larger flank mean at +-`offset` (saturating at 0).

    Each orientation rotates the image so the line is horizontal (an enlarged canvas, nothing cut off), takes a
    running mean along rows, and rotates the result back.

    Shape: (H, W, C) uint8 -> (H, W, C) uint8
    """
    height, width = tophat.shape[:2]
    centre = ((width - 1) / 2.0, (height - 1) / 2.0)
    best = np.zeros_like(tophat)
    for i in range(orientations):
        angle = 180.0 * i / orientations
        rad = np.deg2rad(angle)
        cos, sin = abs(np.cos(rad)), abs(np.sin(rad))
        out_w, out_h = (
            int(np.ceil(width * cos + height * sin)) + 2,
            int(np.ceil(width * sin + height * cos)) + 2,
        )
        rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rot[0, 2] += (out_w - 1) / 2.0 - centre[0]
        rot[1, 2] += (out_h - 1) / 2.0 - centre[1]
        rotated = cv2.warpAffine(tophat, rot, (out_w, out_h), flags=cv2.INTER_LINEAR)
        along = cv2.blur(rotated, (length, 1), borderType=cv2.BORDER_CONSTANT)
        flank = np.zeros_like(along)
        flank[offset:] = along[:-offset]
        np.maximum(flank[:-offset], along[offset:], out=flank[:-offset])
        response = cv2.subtract(along, flank)
        back = cv2.warpAffine(response, rot, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        best = cv2.max(best, back.reshape(best.shape))
    return best


def _winsorised_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Local mean after clipping each value at 3x a first local mean: isolated peaks barely raise it."""
    first = cv2.blur(values, (window, window), borderType=cv2.BORDER_REFLECT)
    return cv2.blur(np.minimum(values, 3.0 * first), (window, window), borderType=cv2.BORDER_REFLECT)


def _ring_mean(values: np.ndarray, max_width: int) -> np.ndarray:
    """Mean of `values` over a square ring just outside a speck of `max_width` px (two box sums)."""
    inner = max_width // 2 + 2
    outer = inner + 4
    big = cv2.boxFilter(
        values, cv2.CV_32F, (2 * outer + 1,) * 2, normalize=False, borderType=cv2.BORDER_REFLECT
    )
    small = cv2.boxFilter(
        values, cv2.CV_32F, (2 * inner + 1,) * 2, normalize=False, borderType=cv2.BORDER_REFLECT
    )
    return (big - small) * np.float32(1.0 / ((2 * outer + 1) ** 2 - (2 * inner + 1) ** 2))


def _hysteresis(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The components of `weak` (8-connected) that contain at least one `strong` pixel."""
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(weak.shape, bool)
    seeded = np.zeros(count, bool)
    seeded[labels[strong & weak]] = True
    seeded[0] = False
    return seeded[labels]


def _small_components(mask: np.ndarray, max_side: int) -> np.ndarray:
    """The components of `mask` (8-connected) whose bounding box is at most `max_side` on both sides."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    ok = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) <= max_side
    ok[0] = False
    return ok[labels]
