"""Array and tensor operations the engine is built from: float conversion, model tensors, resize, pad, the
connected holes of a mask, and the feathered paste.

Layouts follow the conventions in `inpaint_core.api`; boxes are `inpaint_core.boxes.Box`.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inpaint_core.boxes import Box
from inpaint_core.image_io import dtype_max as dtype_max  # its home is image_io (torch-free)

# Rec. 601 luma, as cv2.cvtColor(RGB2GRAY) uses; converts the model's RGB fill back for grey images.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """Any boundary image -> RGB float32 in [0, 1] (grey replicated, alpha dropped, 16 bit scaled).

    Shape: (H, W) | (H, W, 3) | (H, W, 4) -> (H, W, 3)
    """
    scale = 1.0 / dtype_max(pixels.dtype)
    if pixels.ndim == 2:
        grey = pixels.astype(np.float32) * scale
        return np.repeat(grey[:, :, None], 3, axis=2)
    return pixels[..., :3].astype(np.float32) * scale


def from_float_rgb(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """RGB float [0, 1] -> the layout and dtype of `like` (grey by Rec. 601 luma; alpha copied from `like`).

    Shape: (H, W, 3), like (H, W[, C]) -> like's shape
    """
    peak = dtype_max(like.dtype)
    values = rgb @ _LUMA if like.ndim == 2 else rgb
    out = np.clip(np.rint(np.clip(values, 0.0, 1.0) * peak), 0, peak).astype(like.dtype)
    if like.ndim == 3 and like.shape[2] == 4:
        out = np.concatenate([out, like[..., 3:4]], axis=2)
    return out


def to_model_tensor(rgb: np.ndarray) -> torch.Tensor:
    """RGB float [0, 1] -> a model image tensor in [-1, 1].

    Shape: (H, W, 3) -> (1, 3, H, W)
    """
    t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32))
    return (t.permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0).contiguous()


def mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """A binary HxW mask -> a float {0, 1} tensor.

    Shape: (H, W) -> (1, 1, H, W)
    """
    return torch.from_numpy((mask > 0).astype(np.float32))[None, None]


def from_model_tensor(tensor: torch.Tensor) -> np.ndarray:
    """A model image tensor in [-1, 1] (first batch item) -> RGB float32 in [0, 1].

    Shape: (B, 3, H, W) -> (H, W, 3)
    """
    t = tensor[0].detach().float().clamp(-1.0, 1.0).cpu()
    return ((t.permute(1, 2, 0).numpy() + 1.0) * 0.5).astype(np.float32)


def pad_to_multiple(array: np.ndarray, multiple: int = 8, mode: str = "reflect") -> np.ndarray:
    """Pad the bottom and right of an HxW[xC] array so H and W are multiples of `multiple`.

    `mode` is a numpy pad mode ("reflect" for images, "constant" for masks: zero). Reflection needs at least
    two pixels; smaller sides fall back to edge replication.

    Shape: (H, W[, C]) -> (ceil(H/m)*m, ceil(W/m)*m[, C])
    """
    h, w = array.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return array
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (array.ndim - 2)
    if mode == "reflect" and (h < 2 or w < 2 or ph >= h or pw >= w):
        mode = "edge"
    if mode == "constant":
        return np.pad(array, pad, mode="constant")
    return np.pad(array, pad, mode=mode)  # type: ignore[call-overload]


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a binary mask so that no marked pixel is lost: area-average, then anything > 0 is marked.

    Shape: (H, W) -> (height, width) bool
    """
    if mask.shape == (height, width):
        return mask > 0
    m = (mask > 0).astype(np.float32)
    interp = cv2.INTER_AREA if width <= mask.shape[1] and height <= mask.shape[0] else cv2.INTER_NEAREST
    return cv2.resize(m, (width, height), interpolation=interp) > 0


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float RGB: AREA when shrinking (no aliasing), CUBIC when enlarging; clipped to [0, 1].

    Shape: (H, W, 3) -> (height, width, 3)
    """
    if rgb.shape[:2] == (height, width):
        return rgb
    shrinking = width * height < rgb.shape[0] * rgb.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.clip(cv2.resize(rgb, (width, height), interpolation=interp), 0.0, 1.0)


# ----------------------------------------------------------------------------------------- holes and paste


def hole_boxes(mask: np.ndarray) -> list[Box]:
    """The bounding box of each 8-connected hole of `mask` (the input of `boxes.plan_windows`).

    Shape: mask (H, W) -> list of Box
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    binary = (mask > 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes = []
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        boxes.append(Box(x, y, x + w, y + h))
    return boxes


def feather_alpha(hole: np.ndarray, feather: float) -> np.ndarray:
    """Blend weights for pasting a fill: 0 outside the hole, rising from the hole edge to 1 inside.

    The ramp is `feather` pixels wide, but never wider than half the thickness of the hole it is in, so thin
    holes (scratches, wires) are filled fully rather than faintly.

    Shape: (H, W) bool -> (H, W) float32 in [0, 1]
    """
    hole_u8 = (hole > 0).astype(np.uint8)
    if feather <= 0 or not hole_u8.any():
        return hole_u8.astype(np.float32)
    # Distance to the nearest non-hole pixel; pad so the image border does not count as an edge.
    dist = cv2.distanceTransform(np.pad(hole_u8, 1, mode="edge"), cv2.DIST_L2, 3)[1:-1, 1:-1]
    count, raw_labels = cv2.connectedComponents(hole_u8, connectivity=8)
    labels: np.ndarray = np.asarray(raw_labels, dtype=np.intp)
    thickest = np.zeros(count, np.float32)
    np.maximum.at(thickest, labels[hole_u8 > 0], dist[hole_u8 > 0])
    ramp = np.minimum(np.float32(feather), np.maximum(thickest[labels] / 2.0, 1e-3))
    alpha = np.clip(dist / ramp, 0.0, 1.0).astype(np.float32)
    alpha[hole_u8 == 0] = 0.0
    return alpha


def paste_fill(image: np.ndarray, fill: np.ndarray, hole: np.ndarray, box: Box, feather: float) -> None:
    """Paste an RGB float fill of `box` into `image` in place, only inside `hole`, with a feathered edge.

    Pixels outside the hole are not written (bit-identical), nor is an alpha channel.

    Shape: image (H, W[, C]); fill (box.height, box.width, 3) float [0, 1]; hole (box.height, box.width) bool
    """
    crop = image[box.slices]
    inside = hole > 0
    if not inside.any():
        return
    alpha = feather_alpha(inside, feather)[..., None]
    original = to_float_rgb(crop)
    blended = alpha * fill + (1.0 - alpha) * original
    result = from_float_rgb(blended, crop)
    if crop.ndim == 3 and crop.shape[2] == 4:
        crop[..., :3][inside] = result[..., :3][inside]
    else:
        crop[inside] = result[inside]
