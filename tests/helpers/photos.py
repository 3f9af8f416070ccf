"""The tests' one home for test photos and masks: a smooth synthetic photo (every other maker builds on it), a
textured one, a scan with scratches and specks, a folder of photo files. Seeded, generated, Qt-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_core.restore.synthetic import Damage, add_scratches, add_specks, texture


def synthetic_photo(
    height: int = 48, width: int = 64, channels: int = 3, dtype: type = np.uint8, seed: int = 0
) -> np.ndarray:
    """A smooth photo-like test image (gradients, a disc, mild noise) in the boundary layout.

    Shape: -> (height, width) when channels == 1, else (height, width, channels)
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.5 + 0.4 * np.sin(xx / max(width, 1) * 3.0)
    g = 0.3 + 0.5 * yy / max(height, 1)
    b = 0.6 - 0.3 * np.cos((xx + yy) / max(width + height, 1) * 5.0)
    disc = (xx - width * 0.3) ** 2 + (yy - height * 0.6) ** 2 < (min(height, width) * 0.2) ** 2
    rgb = np.stack([r, g, b], axis=2)
    rgb[disc] = (0.9, 0.2, 0.1)
    rgb += rng.normal(0.0, 0.02, rgb.shape).astype(np.float32)
    peak = 65535.0 if np.dtype(dtype) == np.uint16 else 255.0
    rgb = np.clip(rgb, 0.0, 1.0)
    if channels == 1:
        out = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    elif channels == 4:
        alpha = 0.5 + 0.5 * xx / max(width, 1)
        out = np.concatenate([rgb, alpha[..., None]], axis=2)
    else:
        out = rgb
    return np.rint(out * peak).astype(dtype)


def box_mask(height: int, width: int, y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    """An HxW bool mask with one rectangular hole [y0:y1, x0:x1]."""
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def textured(height: int, width: int, channels: int = 3, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """A photo with texture (stripes over noise), so copies are told apart by their values."""
    rng = np.random.default_rng(seed)
    base = synthetic_photo(height, width, channels, dtype, seed).astype(np.float64)
    peak = 65535.0 if np.dtype(dtype) == np.uint16 else 255.0
    xx = np.arange(width)[None, :]
    stripes = (np.sin(xx / 3.0) * 0.15 * peak) + rng.normal(0, 0.05 * peak, (height, width))
    out = base + (stripes[..., None] if base.ndim == 3 else stripes)
    if channels == 4:
        out[..., 3] = base[..., 3]  # alpha stays as it was
    return np.clip(np.rint(out), 0, peak).astype(dtype)


def damaged_photo(
    height: int = 120,
    width: int = 160,
    seed: int = 0,
    scratch_width: float = 3.0,
    speck_sizes: tuple[float, float] = (4.0, 7.0),
) -> Damage:
    """An old scan: a smooth sky-like texture with three scratches and six specks; `truth` is where they lie."""
    clean = texture("smooth", height, width, seed=seed)
    scratched = add_scratches(clean, np.random.default_rng(seed), scratch_width, count=3)
    specked = add_specks(scratched.image, np.random.default_rng(seed + 1), speck_sizes, count=6)
    return Damage(specked.image, scratched.truth | specked.truth)


def write_photos(
    folder: Path,
    count: int = 5,
    height: int = 72,
    width: int = 96,
    step: int = 8,
    jpeg_every_other: bool = False,
) -> Path:
    """`count` synthetic photos p0.png, p1.png... in `folder` (created), `height + step * i` high; with
    `jpeg_every_other` the even-numbered ones are JPEG files (quality 98). Returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        suffix = "jpg" if jpeg_every_other and i % 2 == 0 else "png"
        Image.fromarray(synthetic_photo(height + step * i, width, seed=i)).save(
            folder / f"p{i}.{suffix}", quality=98
        )
    return folder


def write_bench_folders(root: Path, n_images: int = 3, masks_per_bin: int = 4) -> tuple[Path, Path]:
    """An images folder (a subfolder and a grey photo among them) and a masks folder of square holes, a block
    of `masks_per_bin` per hole-ratio bin, bigger holes in later blocks: `bench quality`'s inputs, tiny."""
    from inpaint_core.bench.quality import BIN_COUNT  # the bench loads torch: only when asked

    images, masks = root / "images", root / "masks"
    (images / "sub").mkdir(parents=True)
    masks.mkdir()
    for i in range(n_images):
        folder = images / "sub" if i % 2 else images
        Image.fromarray(synthetic_photo(40 + 8 * i, 56, seed=i)).save(folder / f"p{i}.png")
    Image.fromarray(synthetic_photo(48, 48, channels=1, seed=9)).save(images / "grey.png")  # grey -> RGB
    rng = np.random.default_rng(0)
    for b in range(BIN_COUNT):
        for k in range(masks_per_bin):
            m = np.zeros((64, 64), np.uint8)
            side = 8 + 6 * b + int(rng.integers(0, 3))
            y, x = rng.integers(0, 64 - side, size=2)
            m[y : y + side, x : x + side] = 255
            Image.fromarray(m).save(masks / f"{b * masks_per_bin + k:05d}.png")
    return images, masks
