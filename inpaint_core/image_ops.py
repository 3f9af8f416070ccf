"""Array and tensor operations the engine is built from: float conversion, model tensors, resize, pad, the
connected holes of a mask, and the paste (the fill replaces the hole; an optional edge blend outside it).

Layouts follow the conventions in `inpaint_core.api`; boxes are `inpaint_core.boxes.Box`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inpaint_core.boxes import Box
from inpaint_core.image_io import dtype_max as dtype_max  # its home is image_io (torch-free)
from inpaint_core.registry import MODEL_MULTIPLE

# torch loads on first use: a classical fill never needs it (the engine module's docstring).
if TYPE_CHECKING:
    import torch

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
    import torch

    t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32))
    return (t.permute(2, 0, 1).unsqueeze(0) * 2.0 - 1.0).contiguous()


def mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """A binary HxW mask -> a float {0, 1} tensor.

    Shape: (H, W) -> (1, 1, H, W)
    """
    import torch

    return torch.from_numpy((mask > 0).astype(np.float32))[None, None]


def from_model_tensor(tensor: torch.Tensor) -> np.ndarray:
    """A model image tensor in [-1, 1] (first batch item) -> RGB float32 in [0, 1].

    Shape: (B, 3, H, W) -> (H, W, 3)
    """
    t = tensor[0].detach().float().clamp(-1.0, 1.0).cpu()
    return ((t.permute(1, 2, 0).numpy() + 1.0) * 0.5).astype(np.float32)


def pad_to_multiple(array: np.ndarray, multiple: int = MODEL_MULTIPLE, mode: str = "reflect") -> np.ndarray:
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


def shrink_to_float_rgb(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """A boundary image as RGB float [0, 1] at `width` x `height` (at most its own size): area-averaged in the
    image's own dtype, then converted, so a large window is read once as integers instead of being converted
    to float whole first (4x the bytes). Rounding the average to the dtype costs at most 0.5/255.

    Shape: (H, W[, C]) -> (height, width, 3)
    """
    if pixels.shape[:2] == (height, width):
        return to_float_rgb(pixels)
    if width > pixels.shape[1] or height > pixels.shape[0]:
        raise ValueError(f"cannot shrink {pixels.shape[1]}x{pixels.shape[0]} to {width}x{height}")
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    small = cv2.resize(np.ascontiguousarray(colour), (width, height), interpolation=cv2.INTER_AREA)
    return to_float_rgb(small)


# ----------------------------------------------------------------------------------------- holes and paste

# Pixels pasted per chunk: bounds the temporaries (a few MB) and paces progress reports and cancel checks.
PASTE_CHUNK = 1 << 18
# Bicubic resampling sends pixel lists through cv2.remap as rows of this length (remap wants sides < 32767).
_REMAP_ROW = 4096


def hole_boxes(mask: np.ndarray) -> list[Box]:
    """The bounding box of each 8-connected hole of `mask` (the input of `boxes.plan_windows`).

    Traced from the holes' outer contours (`cv2.findContours`, RETR_CCOMP: the top level holds the outer
    boundary of every 8-connected component, also those inside another's gap), which costs a pass over the
    mask and then work proportional to the holes' outlines: about 30x less than labelling every pixel.

    Shape: mask (H, W) -> list of Box
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    binary = mask.view(np.uint8) if mask.dtype == bool else (mask > 0).view(np.uint8)
    contours, hierarchy = cv2.findContours(
        np.ascontiguousarray(binary), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE
    )
    if hierarchy is None:
        return []
    boxes = []
    for contour, parent in zip(contours, hierarchy[0][:, 3]):
        if parent < 0:  # an outer boundary (a gap's boundary has its component's outline as parent)
            x, y, w, h = cv2.boundingRect(contour)
            boxes.append(Box(x, y, x + w, y + h))
    return boxes


def grow_mask(mask: np.ndarray, width: int) -> np.ndarray:
    """The hole grown by `width` pixels (Euclidean): the area an edge blend of that width changes.

    Computed only around the mask's bounding box, so the cost follows the holes' extent, not the photo's.

    Shape: (H, W) -> (H, W) bool
    """
    hole = mask > 0
    if width <= 0 or not hole.any():
        return hole
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    y0, y1 = max(0, rows[0] - width), min(hole.shape[0], rows[-1] + width + 1)
    x0, x1 = max(0, cols[0] - width), min(hole.shape[1], cols[-1] + width + 1)
    grown = hole.copy()
    grown[y0:y1, x0:x1] = edge_weights(hole[y0:y1, x0:x1], width) > 0
    return grown


def edge_weights(hole: np.ndarray, width: int) -> np.ndarray:
    """Paste weights with an edge blend: 1 on the hole, falling linearly to 0 over `width` pixels outside it.

    The hole itself always gets weight 1, so none of its original pixels come back; only the band outside it
    (pixels the user left) mixes the fill with the original. `width` 0 gives the hole alone.

    Shape: (H, W) -> (H, W) float32 in [0, 1]
    """
    inside = hole > 0
    if width <= 0 or not inside.any():
        return inside.astype(np.float32)
    # Distance of every pixel to the nearest hole pixel (distanceTransform measures to the nearest zero).
    dist = cv2.distanceTransform((~inside).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    return np.clip(1.0 - dist / np.float32(width + 1), 0.0, 1.0).astype(np.float32)


def sample_fill(fill: np.ndarray, ys: np.ndarray, xs: np.ndarray, height: int, width: int) -> np.ndarray:
    """A window's fill at the window pixels (ys, xs), as RGB float32 in [0, 1].

    `fill` covers a `height` x `width` window, either at the window's size (RGB float in [0, 1], or pixel
    values uint8/uint16, grey or RGB: read directly), or at a smaller resolution (RGB float, a model's output:
    resampled bicubically at just those pixels, with `resize_rgb`'s geometry, instead of enlarging the whole
    window first); it agrees with `resize_rgb` to about 1e-5 (tested).

    Shape: fill (h, w[, 3]); ys, xs (N,) -> (N, 3)
    """
    if fill.shape[:2] == (height, width):
        values = fill[ys, xs]
        if values.dtype == np.float32 and values.ndim == 2:
            return values
        return to_float_rgb(values[None])[0]  # a pixel list converts as a one-row image
    if fill.dtype != np.float32 or fill.ndim != 3:
        raise ValueError(f"a resampled fill must be float32 RGB, got {fill.dtype} {fill.shape}")
    n = ys.size
    rows = max(1, -(-n // _REMAP_ROW))
    cols = min(n, _REMAP_ROW) or 1
    map_x = np.zeros(rows * cols, np.float32)
    map_y = np.zeros(rows * cols, np.float32)
    # cv2.resize's pixel-centre mapping: source = (target + 0.5) * source_size / target_size - 0.5
    map_x[:n] = (xs + 0.5) * (fill.shape[1] / width) - 0.5
    map_y[:n] = (ys + 0.5) * (fill.shape[0] / height) - 0.5
    out = cv2.remap(
        fill,
        map_x.reshape(rows, cols),
        map_y.reshape(rows, cols),
        interpolation=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.clip(out.reshape(-1, 3)[:n], 0.0, 1.0)


def paste_fill(
    image: np.ndarray,
    fill: np.ndarray,
    weight: np.ndarray,
    box: Box,
    tick: Callable[[float], None] | None = None,
) -> None:
    """Paste a window's fill into `image` in place, where `weight` > 0; nothing else is written.

    `weight` (the window's size) is the hole (bool: the fill replaces those pixels) or `edge_weights` (1 on
    the hole, a blend with the original in the band outside it). A pixel of weight 1 is never read, so the
    original under the hole cannot come back. An alpha channel is never written. The cost follows the pixels
    written (plus one pass over `weight` to find them), not the window; `tick(fraction done)` runs between
    chunks of PASTE_CHUNK pixels (progress; it may raise to cancel, leaving `image` partly pasted).

    Shape: image (H, W[, C]); fill: see `sample_fill`; weight (box.height, box.width) bool or float [0, 1]
    """
    crop = image[box.slices]
    ys, xs = np.nonzero(weight)
    blend = weight.dtype != bool
    rgba = crop.ndim == 3 and crop.shape[2] == 4
    total = ys.size
    for start in range(0, total, PASTE_CHUNK):
        y, x = ys[start : start + PASTE_CHUNK], xs[start : start + PASTE_CHUNK]
        rgb = sample_fill(fill, y, x, box.height, box.width)
        pixels = crop[y, x][None]  # (1, N[, C]): the image conversions apply to a pixel list as to one row
        if blend:
            w = weight[y, x].astype(np.float32)[:, None]
            rgb = np.where(w >= 1.0, rgb, w * rgb + (1.0 - w) * to_float_rgb(pixels)[0])
        out = from_float_rgb(rgb[None], pixels)[0]
        if rgba:
            crop[y, x, :3] = out[:, :3]
        else:
            crop[y, x] = out
        if tick is not None and start + PASTE_CHUNK < total:
            tick((start + PASTE_CHUNK) / total)


def resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    """Resize so that min(H, W) == short_side, keeping the aspect ratio (area filter when shrinking).

    Shape: (H, W, 3) -> (H', W', 3).
    """
    h, w = image.shape[:2]
    scale = short_side / min(h, w)
    new_h, new_w = max(short_side, round(h * scale)), max(short_side, round(w * scale))
    if (new_h, new_w) == (h, w):
        return image
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, (new_w, new_h), interpolation=interp)
