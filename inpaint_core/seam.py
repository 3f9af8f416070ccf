"""Seam matching: a fill keeps its own detail but takes the photo's colours along the hole's border.

A network's fill is often a few levels off the photo right at the border (a colour cast, a step), and there a
diffusion fill such as Navier-Stokes, which copies the border by construction, is hard to beat. Gradient-domain
(Poisson) blending fixes the step without touching the fill's detail: the result has the fill's gradients inside
the hole and the photo's values at its border (Perez et al., "Poisson Image Editing", 2003; Iizuka et al. 2017
use it after their inpainting network). That result is the fill plus the membrane (harmonic) interpolation of
the residual photo - fill, which is known on the pixels around the hole, because the model also redraws those.
"""

from __future__ import annotations

import cv2
import numpy as np

# The 4-neighbour mean: one Jacobi step of Laplace's equation (the border replicated: no flux across the frame).
_NEIGHBOURS = np.array([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]], np.float32)
_COARSEST = 8  # pixels: below this side the cascade stops and sweeps alone converge
_SWEEPS = 24  # red-black sweeps per level after the coarser level's start (enough for a visual-grade solve)


def membrane(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Harmonic interpolation: known pixels keep `values`, each unknown one becomes the mean of its four
    neighbours (Laplace's equation), solved coarse to fine: each level starts from the coarser level's answer
    and smooths it with red-black Gauss-Seidel sweeps. Without any known pixel the answer is zero.

    Shape: values (H, W, C) float32, known (H, W) bool -> (H, W, C) float32
    """
    if not known.any():
        return np.zeros_like(values, dtype=np.float32)
    x = np.where(known[..., None], values, 0.0).astype(np.float32)
    unknown = ~known
    if not unknown.any():
        return x
    h, w = known.shape
    if max(h, w) > _COARSEST:
        # The coarser level: 2x2 blocks, each the mean of its known pixels, known when any of them is.
        ch, cw = (h + 1) // 2, (w + 1) // 2
        weight = cv2.resize(known.astype(np.float32), (cw, ch), interpolation=cv2.INTER_AREA)
        summed = cv2.resize(x, (cw, ch), interpolation=cv2.INTER_AREA).reshape(ch, cw, -1)
        coarse_known = weight > 0
        coarse = summed / np.maximum(weight, 1e-6)[..., None]
        start = cv2.resize(membrane(coarse, coarse_known), (w, h), interpolation=cv2.INTER_LINEAR)
        x[unknown] = start.reshape(h, w, -1)[unknown]
        sweeps = _SWEEPS
    else:
        sweeps = 4 * h * w  # a tiny level: plain sweeps from zero converge
    red = (np.indices((h, w)).sum(axis=0) % 2 == 0) & unknown
    black = unknown & ~red
    for _ in range(sweeps):
        for colour in (red, black):
            mean = cv2.filter2D(x, -1, _NEIGHBOURS, borderType=cv2.BORDER_REPLICATE).reshape(x.shape)
            x[colour] = mean[colour]
    return x


def match_seam(fill: np.ndarray, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The fill inside the hole, shifted by the membrane of (image - fill) so that it meets the image's known
    pixels without a step; outside the hole, the image. Values are clipped to [0, 1].

    Shape: fill (H, W, 3) float in [0, 1] (the model's output, known area included), image (H, W, 3) float,
    hole (H, W) bool -> (H, W, 3) float32
    """
    known = ~hole
    shift = membrane((image - fill).astype(np.float32), known)
    out = np.where(hole[..., None], np.clip(fill + shift, 0.0, 1.0), image)
    return out.astype(np.float32)
