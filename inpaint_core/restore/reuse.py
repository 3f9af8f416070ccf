"""The source-reuse heat map: how much each area of the photo was borrowed by the fills (the flow view inverted).

The flow view colours each *filled* pixel by where it borrowed from. This map is seen from the sources: every
filled pixel hands each of its top-k attention weights to the patch it borrowed (16x16 model pixels centred on
the source cell), spread evenly over that patch's image pixels, and the amounts are summed. So the map's total
is exactly the sum of the top-k weights of all filled pixels (tested), and a pixel's value reads "this many
filled pixels' worth of attention came from here, per pixel".

One bright spot means the network copied from one place (repetition artefacts); a faint wide glow means it drew
widely. The colour scale is fixed and logarithmic (`REUSE_RANGE`), never normalised per image, so maps compare
between runs, as the flow colours do.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.flow import AttentionField, WindowAttention

REUSE_RANGE = (0.01, 10.0)  # borrowed weight per pixel at the two ends of the colour scale
# How a source patch spreads over the attention grid: it covers its own cell and half of each neighbour
# (16 px patch centred on an 8 px cell), so per axis the weights are 1/4, 1/2, 1/4.
_PATCH = np.outer([0.25, 0.5, 0.25], [0.25, 0.5, 0.25])


def _spread_over_patches(cells: np.ndarray) -> np.ndarray:
    """Spread each cell's amount over its 3x3 neighbourhood with `_PATCH`; amounts falling off the grid are
    folded back onto the edge cells, so the total is unchanged.

    Shape: (h, w) -> (h, w)
    """
    h, w = cells.shape
    out = np.zeros((h + 2, w + 2), np.float64)
    for dy in range(3):
        for dx in range(3):
            out[dy : dy + h, dx : dx + w] += _PATCH[dy, dx] * cells
    out[1, :] += out[0, :]
    out[h, :] += out[h + 1, :]
    out[:, 1] += out[:, 0]
    out[:, w] += out[:, w + 1]
    return out[1 : h + 1, 1 : w + 1]


def _window_reuse(win: WindowAttention) -> np.ndarray:
    """The reuse density of one window, in image pixels of its box.

    Shape: -> (box.height, box.width) float64
    """
    h, w = win.grid_shape
    box = win.box
    ys, xs = np.nonzero(win.hole)
    if ys.size == 0:
        return np.zeros((box.height, box.width), np.float64)
    cy, cx = win.cells_of(xs + box.x0, ys + box.y0)
    valid = win.valid[cy, cx]
    # How many filled image pixels each target cell stands for.
    targets = np.bincount((cy * w + cx)[valid], minlength=h * w).astype(np.float64)
    weights = np.where(win.topk_weight > 0, win.topk_weight, 0.0).reshape(len(win.topk_weight), -1)
    given = weights * targets[None, :]  # (k, h*w): what each target cell hands to each of its k sources
    received = np.bincount(win.topk_index.reshape(-1), weights=given.reshape(-1), minlength=h * w)
    cells = received[: h * w].reshape(h, w)
    if (
        win.patch > win.cell
    ):  # DeepFill's 16 px patches reach into the neighbours; PatchMatch copies one pixel
        cells = _spread_over_patches(cells)
    # Each cell's amount is shared evenly by the image pixels that fall in it (the map is separable).
    rows, cols = np.arange(box.y0, box.y1), np.arange(box.x0, box.x1)
    row_cells = win.cells_of(np.full(rows.shape, box.x0), rows)[0]
    col_cells = win.cells_of(cols, np.full(cols.shape, box.y0))[1]
    pixels = np.outer(np.bincount(row_cells, minlength=h), np.bincount(col_cells, minlength=w)).astype(
        np.float64
    )
    per_pixel = np.divide(cells, pixels, out=np.zeros((h, w)), where=pixels > 0)
    return per_pixel[row_cells[:, None], col_cells[None, :]]


def reuse_density(field: AttentionField) -> np.ndarray:
    """Borrowed attention weight per image pixel, summed over every filled pixel's top-k sources.

    `density.sum()` equals the sum of `field.query(x, y)` weights over all filled pixels.

    Shape: -> (field.height, field.width) float32
    """
    density = np.zeros((field.height, field.width), np.float64)
    for win in field.windows:
        density[win.box.slices] += _window_reuse(win)
    return density.astype(np.float32)


def _scale_position(density: np.ndarray) -> np.ndarray:
    """Position on the fixed log colour scale: 0 at REUSE_RANGE[0] (or below), 1 at REUSE_RANGE[1]."""
    low, high = np.log10(REUSE_RANGE[0]), np.log10(REUSE_RANGE[1])
    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(density, 1e-12))
    return np.clip((logs - low) / (high - low), 0.0, 1.0)


def reuse_rgba(density: np.ndarray) -> np.ndarray:
    """The heat map as an overlay: the inferno colour map on the fixed log scale; alpha 0 where nothing was
    borrowed, fading in over the lowest fifth of the scale (the editor applies its overlay opacity on top).

    Shape: (H, W) float -> (H, W, 4) uint8 RGBA
    """
    t = _scale_position(density)
    rgb = cv2.applyColorMap(np.rint(t * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)[..., ::-1]
    alpha = np.where(density >= REUSE_RANGE[0], np.clip(t * 5.0, 0.2, 1.0), 0.0)
    return np.dstack([rgb, np.rint(alpha * 255).astype(np.uint8)])


def reuse_legend(width: int = 256, height: int = 56) -> np.ndarray:
    """The colour bar of `reuse_rgba` with its decade ticks, on white.

    Shape: () -> (height, width, 4) uint8 RGBA
    """
    width, height = max(96, int(width)), max(40, int(height))
    margin = 8
    bar_h = max(8, height // 3)
    img = np.full((height, width, 4), 255, np.uint8)
    low, high = np.log10(REUSE_RANGE[0]), np.log10(REUSE_RANGE[1])
    values = 10 ** np.linspace(low, high, width - 2 * margin)
    img[margin : margin + bar_h, margin : width - margin] = reuse_rgba(values[None, :])[..., :4]
    img[margin : margin + bar_h, margin : width - margin, 3] = 255
    colour = (40, 40, 40, 255)
    scale = max(0.3, width / 800.0)
    for decade in range(int(np.ceil(low)), int(np.floor(high)) + 1):
        x = margin + round((decade - low) / (high - low) * (width - 2 * margin - 1))
        cv2.line(img, (x, margin + bar_h), (x, margin + bar_h + 4), colour, 1)
        label = f"{10.0**decade:g}"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        org = (int(np.clip(x - tw / 2, 0, width - tw)), margin + bar_h + 6 + th)
        cv2.putText(img, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    caption = "borrowed weight per pixel"
    (tw, th), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(
        img, caption, ((width - tw) // 2, height - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA
    )
    return img
