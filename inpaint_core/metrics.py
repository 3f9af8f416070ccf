"""Fill-quality metrics measured inside the hole: PSNR, L1 and SSIM (numpy; used by training and benchmarks).

Inputs are RGB (H, W, 3) or grey (H, W) images, uint8 (0..255) or float (0..1), and an (H, W) mask with
nonzero = hole. All values are computed on the [0, 1] scale.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.errors import MaskError

PSNR_CAP_DB = 100.0  # identical holes would give +inf; a cap keeps averages finite


def _to_unit(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 65535.0
    return image.astype(np.float64)


def _check(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if pred.shape != target.shape:
        raise MaskError(f"prediction {pred.shape} and target {target.shape} differ in shape")
    if mask.shape != pred.shape[:2]:
        raise MaskError(f"mask {mask.shape} does not match image {pred.shape[:2]}")
    hole = mask != 0
    if not hole.any():
        raise MaskError("empty mask: no hole to measure")
    a, b = _to_unit(pred), _to_unit(target)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    return a, b, hole


def hole_l1(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error over the hole pixels (all channels), in [0, 1]."""
    a, b, hole = _check(pred, target, mask)
    return float(np.abs(a - b)[hole].mean())


def hole_psnr(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB of the hole pixels (peak 1.0), capped at PSNR_CAP_DB."""
    a, b, hole = _check(pred, target, mask)
    mse = float(((a - b) ** 2)[hole].mean())
    if mse <= 10 ** (-PSNR_CAP_DB / 10):
        return PSNR_CAP_DB
    return float(10.0 * np.log10(1.0 / mse))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03) on [0, 1] data.

    Shape: (H, W) or (H, W, C) float in, (H, W) out (mean over channels).
    """
    c1, c2 = 0.01**2, 0.03**2
    a = a.astype(np.float64)
    b = b.astype(np.float64)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    out = num / den
    return out.mean(axis=2) if out.ndim == 3 else out


def hole_ssim(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """SSIM of the whole image, averaged over the hole pixels (the windows reach the known border)."""
    a, b, hole = _check(pred, target, mask)
    return float(ssim_map(a, b)[hole].mean())


def _gradient_energy(image: np.ndarray) -> np.ndarray:
    """Squared Sobel gradient magnitude per pixel, summed over channels. Shape: (H, W, C) -> (H, W)"""
    gx = cv2.Sobel(image, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    gy = cv2.Sobel(image, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    energy = gx * gx + gy * gy
    return energy.sum(axis=2) if energy.ndim == 3 else energy


def hole_sharpness(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """Gradient energy inside the hole, fill against truth: 1 is as much detail as the photo had, 0.4 a smear.

    PSNR rewards a blur over a well-placed texture that is not the exact one; this ratio shows the difference.
    A hole with no detail in the truth (a flat sky) gives nan, which averages skip.
    """
    a, b, hole = _check(pred, target, mask)
    truth = float(_gradient_energy(b)[hole].sum())
    if truth <= 1e-12:
        return float("nan")
    return float(_gradient_energy(a)[hole].sum()) / truth


def hole_metrics(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """{"psnr", "l1", "ssim", "sharpness"} inside the hole."""
    return {
        "psnr": hole_psnr(pred, target, mask),
        "l1": hole_l1(pred, target, mask),
        "ssim": hole_ssim(pred, target, mask),
        "sharpness": hole_sharpness(pred, target, mask),
    }
