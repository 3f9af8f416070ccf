"""The torch Canny of the device pipeline against cv2.Canny: exact given the same blurred image, and the whole
guide recipe (grey, blur, Canny) measured by F1 agreement on a synthetic photo."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inpaint_core.train.canny import canny, gaussian_kernel, grey_levels, guide_from_images
from inpaint_core.train.guide import DEFAULT_BLUR_SIGMA, DEFAULT_HIGH, DEFAULT_LOW
from tests.conftest import synthetic_photo


def shapes_photo(size: int = 128, seed: int = 0) -> np.ndarray:
    """A synthetic photo with structure: smooth gradients, filled discs and lines of several widths, mild noise."""
    rng = np.random.default_rng(seed)
    img = synthetic_photo(size, size, seed=seed).astype(np.float32)
    for _ in range(5):
        cx, cy = (int(v) for v in rng.integers(0, size, 2))
        cv2.circle(img, (cx, cy), int(rng.integers(8, size // 3)), rng.integers(0, 255, 3).tolist(), -1)
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, size, 4))
        cv2.line(img, (x0, y0), (x1, y1), rng.integers(0, 255, 3).tolist(), int(rng.integers(1, 5)))
    img += rng.normal(0.0, 3.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def f1(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1, int(a.sum() + b.sum()))


def test_gaussian_kernel_is_opencvs() -> None:
    k = gaussian_kernel(1.5).numpy()
    assert k.shape == (11,)  # cv2 picks round(6 sigma + 1) | 1 taps for uint8 images
    np.testing.assert_allclose(k, cv2.getGaussianKernel(11, 1.5).ravel(), atol=1e-7)


def test_canny_is_exact_on_the_same_blurred_image() -> None:
    # non-maximum suppression, thresholds and (followed to the end) hysteresis match OpenCV pixel for pixel
    for seed in range(3):
        grey = cv2.GaussianBlur(cv2.cvtColor(shapes_photo(seed=seed), cv2.COLOR_RGB2GRAY), (0, 0), 1.5)
        ref = cv2.Canny(grey, DEFAULT_LOW, DEFAULT_HIGH) > 0
        ours = canny(torch.from_numpy(grey)[None, None].float(), DEFAULT_LOW, DEFAULT_HIGH, 0.0, 500)
        assert ref.sum() > 300
        assert np.array_equal(ours[0, 0].numpy(), ref), f"seed {seed}: {(ours[0, 0].numpy() != ref).sum()} px"


def test_guide_recipe_agrees_with_cv2() -> None:
    photos = [shapes_photo(seed=s) for s in range(3)]
    images = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).float()  # (3, 3, S, S) 0..255
    ours = canny(grey_levels(images), DEFAULT_LOW, DEFAULT_HIGH, DEFAULT_BLUR_SIGMA)[:, 0].numpy()
    for photo, edges in zip(photos, ours, strict=True):
        grey = cv2.GaussianBlur(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), (0, 0), DEFAULT_BLUR_SIGMA)
        ref = cv2.Canny(grey, DEFAULT_LOW, DEFAULT_HIGH) > 0
        # the rest: the uint8 blur's fixed-point rounding, and chains longer than the hysteresis rounds
        assert f1(edges, ref) > 0.9  # measured 0.94-0.95 here; 0.97 on real photos at 256 px


def test_guide_only_inside_kept_holes() -> None:
    images = torch.from_numpy(np.stack([shapes_photo(seed=1)] * 2)).permute(0, 3, 1, 2).float()
    masks = torch.zeros(2, 1, 128, 128)
    masks[..., 32:96, 32:96] = 1
    guide = guide_from_images(images, masks, torch.tensor([True, False]), 60, 140, 1.5)
    assert guide.shape == (2, 1, 128, 128) and set(guide.unique().tolist()) <= {0.0, 1.0}
    assert guide[0].sum() > 0 and guide[1].sum() == 0
    assert guide[0, 0][masks[0, 0] == 0].sum() == 0
