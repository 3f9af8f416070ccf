"""Keep grey and toned photos in their own tone after a fill.

A network trained on colour photos fills a sepia print with its own colours: a bluish sky or a pink cheek in
the middle of brown. A toned photo (sepia, selenium, cyanotype, a grey photo stored as RGB) has a property
colour photos lack: its chroma is a function of its luminance. Every pixel of a given brightness has the same
colour cast. So the fill is corrected like this (docs/DESIGN.md, "Tonal photos"):

1. Fit the tone curve on the pixels outside the hole: luma Y (Rec. 601) in 32 bins, and per bin the median
   chroma C = (R - Y, B - Y). Empty bins are interpolated.
2. Decide: the photo is *toned* when the curve explains its chroma, that is when the 90th percentile of
   |C - curve(Y)| over the known pixels is below `TONED_RESIDUAL` (5 levels of 255), both over the whole
   photo and in a ring around the hole (so a hand-coloured region is left alone). It is *grey* when the curve
   is also flat at zero. Otherwise it is a colour photo and nothing changes.
3. Re-tone the fill: inside the hole only, keep the fill's luma and replace its chroma by curve(luma). A grey
   photo's fill gets R = G = B exactly.

An HxW grey image needs none of this: the engine fills it in RGB and converts back by luma, so it stays HxW.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_core.api import TONE_MODES
from inpaint_core.image_io import dtype_max

__all__ = ["TONE_MODES", "keep_tone"]


BINS = 32
MAX_SAMPLES = 200_000  # known pixels used for the fit (a fixed stride, so the result is deterministic)
MIN_PER_BIN = 20
TONED_RESIDUAL = 0.02  # 90th percentile of chroma left unexplained by the curve, on [0, 1] (5 levels of 255)
GREY_CHROMA = 1.5 / 255.0  # a curve this flat is grey
RING = 15  # px around the hole where the tone must hold too
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class ToneCurve:
    """A photo's tone: chroma as a function of luma, fitted on its known pixels."""

    kind: str  # "grey" | "toned"
    chroma: np.ndarray  # (BINS, 2) float32: (R - Y, B - Y) at the bin centres
    residual: float  # 90th percentile of |chroma - curve(luma)| on the known pixels

    def chroma_at(self, luma: np.ndarray) -> np.ndarray:
        """The tone's chroma at these luma values.

        Shape: (...) float in [0, 1] -> (..., 2) float32
        """
        centres = (np.arange(BINS, dtype=np.float32) + 0.5) / BINS
        flat = np.asarray(luma, np.float32).ravel()
        cr = np.interp(flat, centres, self.chroma[:, 0])
        cb = np.interp(flat, centres, self.chroma[:, 1])
        return np.stack([cr, cb], axis=1).astype(np.float32).reshape(*np.shape(luma), 2)

    def describe(self) -> str:
        """A few words for a note: "grey", "warm-toned (sepia)", "cool-toned (cyanotype)" or "toned"."""
        if self.kind == "grey":
            return "grey"
        cr, cb = (float(v) for v in self.chroma.mean(axis=0))
        if cr > 0 and cb < 0:
            return "warm-toned (sepia)"
        if cb > 0 and cr < 0:
            return "cool-toned (cyanotype)"
        return "toned"


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb @ _LUMA, np.float32)


def _chroma(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    return np.stack([rgb[..., 0] - luma, rgb[..., 2] - luma], axis=-1)


def _unit_rgb(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., :3].astype(np.float32) * np.float32(1.0 / dtype_max(pixels.dtype))


def _residual(curve: ToneCurve, rgb: np.ndarray) -> float:
    luma = _luma(rgb)
    error = _chroma(rgb, luma) - curve.chroma_at(luma)
    return float(np.percentile(np.hypot(error[:, 0], error[:, 1]), 90)) if len(rgb) else 0.0


def fit_tone(image: np.ndarray, known: np.ndarray | None = None) -> ToneCurve | None:
    """The tone curve of a toned or grey RGB(A) photo, or None for a colour photo (or a HxW grey array).

    `known`: HxW bool, the pixels to learn from (default: all).
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        return None
    flat = image[..., :3].reshape(-1, 3)
    count = flat.shape[0] if known is None else int(np.count_nonzero(known))
    if count < MIN_PER_BIN:
        return None
    step = max(1, count // MAX_SAMPLES)  # a fixed stride over the photo: deterministic, and no full-size copy
    pixels = flat[::step] if known is None else flat[::step][known.reshape(-1)[::step]]
    if len(pixels) < MIN_PER_BIN:
        return None
    rgb = _unit_rgb(pixels)
    luma = _luma(rgb)
    chroma = _chroma(rgb, luma)
    index = np.minimum((luma * BINS).astype(np.int64), BINS - 1)
    counts = np.bincount(index, minlength=BINS)
    filled = np.flatnonzero(counts >= MIN_PER_BIN)
    if filled.size == 0:
        return None
    order = np.argsort(index, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    centres = (np.arange(BINS, dtype=np.float32) + 0.5) / BINS
    medians = np.array(
        [np.median(chroma[order[starts[b] : starts[b + 1]]], axis=0) for b in filled], np.float32
    )
    curve = np.stack([np.interp(centres, centres[filled], medians[:, c]) for c in range(2)], axis=1)
    model = ToneCurve("toned", curve.astype(np.float32), 0.0)
    residual = _residual(model, rgb)
    if residual > TONED_RESIDUAL:
        return None
    kind = "grey" if float(np.abs(medians).max()) <= GREY_CHROMA else "toned"
    return ToneCurve(kind, curve.astype(np.float32), residual)


def apply_tone(filled: np.ndarray, mask: np.ndarray, curve: ToneCurve) -> np.ndarray:
    """A copy of `filled` whose pixels inside `mask` keep their luma and take the tone's chroma.

    Pixels outside the mask and an alpha channel are not changed. A grey tone gives R = G = B exactly.

    Shape: filled (H, W, 3|4) uint8/uint16, mask (H, W) -> like filled
    """
    out = filled.copy()
    inside = mask > 0
    if not inside.any():
        return out
    peak = dtype_max(filled.dtype)
    rgb = _unit_rgb(filled[inside])
    luma = _luma(rgb)
    if curve.kind == "grey":
        grey = np.clip(np.rint(luma * peak), 0, peak).astype(filled.dtype)
        out[..., :3][inside] = grey[:, None]
        return out
    cr, cb = curve.chroma_at(luma).T
    red, blue = luma + cr, luma + cb
    green = (luma - _LUMA[0] * red - _LUMA[2] * blue) / _LUMA[1]
    toned = np.stack([red, green, blue], axis=1)
    out[..., :3][inside] = np.clip(np.rint(np.clip(toned, 0.0, 1.0) * peak), 0, peak).astype(filled.dtype)
    return out


def keep_tone(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, str]:
    """The engine's post-step: re-tone the fill of a toned or grey photo; returns (image, note).

    Colour photos and HxW grey arrays come back unchanged with an empty note. The curve is fitted on
    `original` outside `mask`, so the fill cannot influence it.

    Shape: original, filled (H, W[, C]) same layout; mask (H, W) -> like filled
    """
    hole = mask > 0
    if filled.ndim != 3 or not hole.any():
        return filled, ""
    curve = fit_tone(original, ~hole)
    if curve is None:
        return filled, ""
    ring = _ring(hole, RING)
    if ring.any() and _residual(curve, _unit_rgb(original[ring])) > TONED_RESIDUAL:
        return filled, f"the photo looks {curve.describe()} but not around the hole: fill colours kept"
    what = "filled in grey" if curve.kind == "grey" else "the fill was given its tone"
    return apply_tone(filled, hole, curve), f"{curve.describe()} photo: {what}"


def _ring(hole: np.ndarray, width: int) -> np.ndarray:
    """Known pixels within `width` px of the hole (computed on the hole's bounding box only)."""
    ys, xs = np.nonzero(hole)
    y0, y1 = max(0, ys.min() - width), min(hole.shape[0], ys.max() + width + 1)
    x0, x1 = max(0, xs.min() - width), min(hole.shape[1], xs.max() + width + 1)
    crop = hole[y0:y1, x0:x1].astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    ring = np.zeros_like(hole)
    ring[y0:y1, x0:x1] = (cv2.dilate(crop, disc) > 0) & (crop == 0)
    return ring
