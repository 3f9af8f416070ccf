"""The attention-flow field: where each filled pixel borrowed from, in image coordinates.

Contextual attention works on a grid of 8x8-model-pixel cells. Per processed window this module keeps that
grid's arrays (top-k sources, weights, best offsets) and the affine map between model and image pixels, and
answers per-pixel queries on demand, so nothing per-pixel is stored for the whole photo.

Offsets are coloured with the Middlebury optical-flow colour wheel (Baker et al. 2011) on a fixed scale of
`FLOW_MAX_RADIUS` model pixels, never normalised per image, so colours compare between runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_core.boxes import Box

# Offsets of this length (model pixels) or longer get the fully saturated wheel colour.
FLOW_MAX_RADIUS = 128.0

# Hue segments of the Middlebury wheel: red-yellow, yellow-green, green-cyan, cyan-blue, blue-magenta, magenta-red.
_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))


# Per segment: the channel held at 255, the channel that ramps, and whether it rises (R=0, G=1, B=2).
_RAMPS = ((0, 1, True), (1, 0, False), (1, 2, True), (2, 1, False), (2, 0, True), (0, 2, False))


def make_colorwheel() -> np.ndarray:
    """The Middlebury colour wheel: 55 hues from red through yellow, green, cyan, blue and magenta.

    Shape: () -> (55, 3) float32 in [0, 255]
    """
    wheel = np.zeros((sum(n for _, n in _SEGMENTS), 3), np.float32)
    col = 0
    for (_, n), (held, ramped, rising) in zip(_SEGMENTS, _RAMPS):
        ramp = np.floor(255.0 * np.arange(n) / n)
        wheel[col : col + n, held] = 255
        wheel[col : col + n, ramped] = ramp if rising else 255 - ramp
        col += n
    return wheel


_WHEEL = make_colorwheel()


def flow_to_rgb(dx: np.ndarray, dy: np.ndarray, max_radius: float = FLOW_MAX_RADIUS) -> np.ndarray:
    """Colour offsets with the Middlebury wheel on a fixed scale: zero is white, `max_radius` is saturated.

    Direction gives the hue, as in the Middlebury code (angle `atan2(-dy, -dx)`): +x red, +y (down) orange-yellow,
    -x cyan, -y (up) blue-violet. Length gives the saturation, clipped at `max_radius`.

    Shape: dx, dy (...) in pixels -> (..., 3) uint8
    """
    u = np.asarray(dx, np.float32) / np.float32(max_radius)
    v = np.asarray(dy, np.float32) / np.float32(max_radius)
    rad = np.minimum(np.sqrt(u * u + v * v), 1.0)
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    ncols = _WHEEL.shape[0]
    fk = (angle + 1.0) / 2.0 * (ncols - 1)
    k0 = np.floor(fk).astype(np.int64) % ncols
    k1 = (k0 + 1) % ncols
    f = (fk - np.floor(fk))[..., None]
    col = ((1.0 - f) * _WHEEL[k0] + f * _WHEEL[k1]) / 255.0
    col = 1.0 - rad[..., None] * (1.0 - col)  # fade to white towards zero length
    return np.clip(np.floor(255.0 * col + 0.5), 0, 255).astype(np.uint8)


def legend(size: int = 128, max_radius: float = FLOW_MAX_RADIUS, labels: bool = True) -> np.ndarray:
    """The colour-wheel legend: a disc coloured as `flow_to_rgb` colours offsets, with axis labels (unless
    `labels` is False: a GUI draws its own, in its own font).

    The centre is zero offset (white); the rim is `max_radius` model pixels. Transparent outside the disc.

    Shape: () -> (size, size, 4) uint8 RGBA
    """
    size = max(32, int(size))
    margin = max(10, size // 8)  # room for the labels around the disc
    radius = size / 2.0 - margin
    centre = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dx = (xx - centre) / radius * max_radius
    dy = (yy - centre) / radius * max_radius
    inside = np.hypot(xx - centre, yy - centre) <= radius
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = flow_to_rgb(dx, dy, max_radius)
    rgba[..., 3] = np.where(inside, 255, 0).astype(np.uint8)
    grey = (90, 90, 90, 255)
    c = round(centre)
    r = round(radius)
    cv2.line(rgba, (c - r, c), (c + r, c), grey, 1, cv2.LINE_AA)
    cv2.line(rgba, (c, c - r), (c, c + r), grey, 1, cv2.LINE_AA)
    cv2.circle(rgba, (c, c), r, grey, 1, cv2.LINE_AA)
    if not labels:
        return rgba
    scale = max(0.3, size / 400.0)
    colour = (40, 40, 40, 255)

    def text(label: str, x: float, y: float) -> None:
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        org = (int(np.clip(x - tw / 2, 0, size - tw)), int(np.clip(y + th / 2, th, size - 1)))
        cv2.putText(rgba, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)

    text("+x", centre + radius + margin / 2, centre)
    text("-x", centre - radius - margin / 2, centre)
    text("-y", centre, centre - radius - margin / 2)
    text("+y", centre, centre + radius + margin / 2)
    text(f"{max_radius:g}px", size - margin * 1.6, size - margin / 2)
    return rgba


@dataclass(frozen=True)
class Source:
    """One place a filled pixel borrowed from, in image pixels; `size` is the side of the borrowed patch."""

    x: float
    y: float
    weight: float
    size: float


@dataclass(frozen=True)
class WindowAttention:
    """The attention grid of one processed window and the affine map between its model and image pixels.

    Model pixel centre m maps to image x = box.x0 + (m + 0.5) / scale_x - 0.5 (likewise y).
    """

    box: Box  # the window in image pixels
    scale_x: float  # model pixels per image pixel
    scale_y: float
    topk_index: np.ndarray  # (k, h, w) int: flat source cell index sy*w + sx, best first
    topk_weight: np.ndarray  # (k, h, w) float32
    offsets: np.ndarray  # (2, h, w) float32: (dy, dx) in cells
    valid: np.ndarray  # (h, w) bool
    hole: np.ndarray  # (box.height, box.width) bool: the hole inside the window, in image pixels
    cell: int = 8
    patch: int = 16

    @property
    def grid_shape(self) -> tuple[int, int]:
        return int(self.valid.shape[0]), int(self.valid.shape[1])

    def cells_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid cells (row, column) covering image pixels (x, y) of this window (integer arrays)."""
        h, w = self.grid_shape
        mx = (np.asarray(x, np.float64) - self.box.x0 + 0.5) * self.scale_x - 0.5
        my = (np.asarray(y, np.float64) - self.box.y0 + 0.5) * self.scale_y - 0.5
        cx = np.clip(np.floor(mx / self.cell), 0, w - 1).astype(np.int64)
        cy = np.clip(np.floor(my / self.cell), 0, h - 1).astype(np.int64)
        return cy, cx

    def model_to_image(self, mx: float, my: float) -> tuple[float, float]:
        """A model-pixel position -> image pixels, clipped to the window."""
        x = self.box.x0 + (mx + 0.5) / self.scale_x - 0.5
        y = self.box.y0 + (my + 0.5) / self.scale_y - 0.5
        return (
            float(np.clip(x, self.box.x0, self.box.x1 - 1)),
            float(np.clip(y, self.box.y0, self.box.y1 - 1)),
        )


class AttentionField:
    """Attention data of a whole run, mapped back to image coordinates (see the module docstring)."""

    def __init__(self, windows: list[WindowAttention], image_size: tuple[int, int]):
        self.windows = list(windows)
        self.height, self.width = image_size

    def _window_at(self, x: int, y: int) -> WindowAttention | None:
        """The window that filled pixel (x, y) (windows may overlap where thin holes were tiled; each pixel's
        `hole` is set in the one window that filled it), or None."""
        for win in self.windows:
            if win.box.contains(x, y) and win.hole[y - win.box.y0, x - win.box.x0]:
                return win
        return None

    def query(self, x: float, y: float) -> list[Source]:
        """The top-k sources of the filled pixel (x, y), best first; empty outside the holes."""
        xi, yi = int(np.floor(x)), int(np.floor(y))
        win = self._window_at(xi, yi)
        if win is None:
            return []
        cy, cx = win.cells_of(np.array(xi), np.array(yi))
        cy_i, cx_i = int(cy), int(cx)
        if not win.valid[cy_i, cx_i]:
            return []
        w = win.grid_shape[1]
        size = win.patch / ((win.scale_x + win.scale_y) / 2.0)
        sources: list[Source] = []
        for index, weight in zip(win.topk_index[:, cy_i, cx_i], win.topk_weight[:, cy_i, cx_i]):
            if not weight > 0:
                continue
            sy, sx = divmod(int(index), w)
            centre = win.cell * np.array([sx, sy], np.float64) + win.cell / 2.0
            ix, iy = win.model_to_image(float(centre[0]), float(centre[1]))
            sources.append(Source(x=ix, y=iy, weight=float(weight), size=float(size)))
        sources.sort(key=lambda s: -s.weight)
        return sources

    def flow_rgba(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        """The flow image: each filled pixel coloured by its best source's offset; alpha 0 outside the holes.

        Computed at the image size, then resized (nearest) if another size is asked for.

        Shape: () -> (height, width, 4) uint8
        """
        out: np.ndarray = np.zeros((self.height, self.width, 4), np.uint8)
        for win in self.windows:
            ys, xs = np.nonzero(win.hole)
            if ys.size == 0:
                continue
            cy, cx = win.cells_of(xs + win.box.x0, ys + win.box.y0)
            keep = win.valid[cy, cx]
            ys, xs, cy, cx = ys[keep], xs[keep], cy[keep], cx[keep]
            dy = win.offsets[0, cy, cx] * win.cell
            dx = win.offsets[1, cy, cx] * win.cell
            rgb = flow_to_rgb(dx, dy)
            out[ys + win.box.y0, xs + win.box.x0, :3] = rgb
            out[ys + win.box.y0, xs + win.box.x0, 3] = 255
        height = self.height if height is None else int(height)
        width = self.width if width is None else int(width)
        if (height, width) != (self.height, self.width):
            out = cv2.resize(out, (width, height), interpolation=cv2.INTER_NEAREST)
        return out

    def legend(self, size: int = 128, labels: bool = True) -> np.ndarray:
        """The colour-wheel legend for `flow_rgba` (see `legend`)."""
        return legend(size, labels=labels)
