"""The guide (sketch) channel seen in training: edges of the ground truth inside the hole.

Convention (docs/TRAINING.md): a guide is a binary (H, W) map at model resolution, 1 on thin (1 px) strokes,
0 elsewhere, and only nonzero inside the hole. Canny lines are 1 px wide, so the editor's guide pen must
rasterise strokes 1 px wide at model resolution to look like what the network saw.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.errors import MaskError

DEFAULT_BLUR_SIGMA = 1.5
DEFAULT_LOW = 60
DEFAULT_HIGH = 140


def edges_for_guide(
    image_uint8: np.ndarray,
    mask: np.ndarray,
    *,
    blur_sigma: float = DEFAULT_BLUR_SIGMA,
    low: int = DEFAULT_LOW,
    high: int = DEFAULT_HIGH,
) -> np.ndarray:
    """Canny edges of the blurred grey image, kept inside the hole only.

    Args:
        image_uint8: RGB (H, W, 3) or grey (H, W) uint8, the ground truth.
        mask: (H, W), nonzero = hole.
        blur_sigma: Gaussian blur before Canny (0 = none); suppresses texture so strokes follow structure.
        low, high: Canny hysteresis thresholds.

    Shape: returns (H, W) uint8 in {0, 1}.
    """
    if image_uint8.dtype != np.uint8 or image_uint8.ndim not in (2, 3):
        raise MaskError("edges_for_guide needs a uint8 HxW or HxWx3 image")
    if mask.shape != image_uint8.shape[:2]:
        raise MaskError(f"mask {mask.shape} does not match image {image_uint8.shape[:2]}")
    grey = image_uint8 if image_uint8.ndim == 2 else cv2.cvtColor(image_uint8, cv2.COLOR_RGB2GRAY)
    if blur_sigma > 0:
        grey = cv2.GaussianBlur(grey, (0, 0), blur_sigma)
    edges = cv2.Canny(np.ascontiguousarray(grey), low, high)
    return ((edges > 0) & (mask != 0)).astype(np.uint8)
