"""Whole-mask operations on a coverage array (HxW uint8, 0..255), Qt-free."""

from __future__ import annotations

import cv2
import numpy as np


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow(alpha: np.ndarray, radius: int) -> np.ndarray:
    """Dilate the mask by ``radius`` pixels (a round structuring element)."""
    return cv2.dilate(alpha, _disk(radius)) if radius > 0 else alpha.copy()


def shrink(alpha: np.ndarray, radius: int) -> np.ndarray:
    """Erode the mask by ``radius`` pixels."""
    return cv2.erode(alpha, _disk(radius)) if radius > 0 else alpha.copy()


def invert(alpha: np.ndarray) -> np.ndarray:
    """Holes become kept pixels and the other way round."""
    return (255 - alpha).astype(np.uint8)


def step_radius(width: int, height: int) -> int:
    """The grow/shrink step: ~0.5 % of the longer side, at least 2 px (so it is visible on a 24 MP photo)."""
    return max(2, round(max(width, height) * 0.005))
