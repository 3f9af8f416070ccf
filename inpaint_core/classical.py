"""Classical (non-learned) fills from OpenCV, behind the same interface as the model, for comparison and fallback.

- "telea": Telea 2004, fast marching that propagates a weighted average of the known neighbourhood.
- "ns": Bertalmio et al. 2001, Navier-Stokes based propagation of the image's isophotes.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.api import CLASSICAL_ENGINES, ClassicalMethod
from inpaint_core.image_ops import to_float_rgb

# Neighbourhood radius in pixels; OpenCV's docs suggest 3; larger blurs more.
DEFAULT_RADIUS = 3

_FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def classical_fill(
    pixels: np.ndarray, hole: np.ndarray, method: ClassicalMethod = "telea", radius: int = DEFAULT_RADIUS
) -> np.ndarray:
    """`classical_inpaint` as RGB float in [0, 1] (the benchmarks' form).

    Shape: pixels (H, W[, C]) uint8/uint16, hole (H, W) -> (H, W, 3) float32
    """
    return to_float_rgb(classical_inpaint(pixels, hole, method, radius))


def classical_inpaint(
    pixels: np.ndarray, hole: np.ndarray, method: ClassicalMethod = "telea", radius: int = DEFAULT_RADIUS
) -> np.ndarray:
    """Fill the hole of `pixels` with cv2.inpaint; returns the whole crop in the input's dtype, without alpha.

    8-bit grey or RGB goes to OpenCV as is; 16-bit images go channel by channel as float32 (which cv2.inpaint
    accepts for one channel), so no precision is lost. An alpha channel is ignored (the engine never changes it).
    Only the hole of the result is meant to be used; the caller pastes it (the engine converts only the hole's
    pixels, not the whole crop).

    Shape: pixels (H, W[, C]) uint8/uint16, hole (H, W) -> (H, W) or (H, W, 3), pixels' dtype
    """
    if method not in _FLAGS:
        raise ValueError(f"unknown classical method {method!r}; use one of {CLASSICAL_ENGINES}")
    flag = _FLAGS[method]
    hole_u8 = (hole > 0).astype(np.uint8)
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    if colour.dtype == np.uint8:
        return np.asarray(cv2.inpaint(np.ascontiguousarray(colour), hole_u8, radius, flag))
    planes = [colour] if colour.ndim == 2 else [colour[..., c] for c in range(colour.shape[2])]
    out = [cv2.inpaint(np.ascontiguousarray(p, dtype=np.float32), hole_u8, radius, flag) for p in planes]
    filled = out[0] if colour.ndim == 2 else np.stack(out, axis=2)
    return np.clip(np.rint(filled), 0, 65535).astype(np.uint16)
