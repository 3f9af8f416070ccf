"""Hole masks for training and `bench figure`: the published free-form generator (Yu et al., ICCV 2019; docs/TRAINING.md) and masks read from a folder or mask pack.

Masks from a folder are only those training may use (index % 4 != 0, inpaint_core/mask_split.py): the others
are held out for `bench quality`.

The published code draws ONE mask per batch (numpy's global RNG, shared by every sample). We draw one mask per
sample from a generator the caller passes in, so a batch sees several hole shapes and a run is reproducible
from its seed (each sample's generator is derived from (seed, sample index), see data.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from inpaint_core.errors import MaskError
from inpaint_core.image_io import load_mask
from inpaint_core.mask_split import training_masks

# Published brush-stroke constants (official `brush_stroke_mask`, v2.0.0), in pixels at 256x256.
MIN_NUM_VERTEX = 4
MAX_NUM_VERTEX = 12  # exclusive, as in randint: 4..11 vertices
MEAN_ANGLE = 2 * math.pi / 5
ANGLE_RANGE = 2 * math.pi / 15
MIN_WIDTH = 12
MAX_WIDTH = 40
REFERENCE_SIZE = 256  # the constants above (and the 128 px box) are for this image size


@dataclass(frozen=True)
class BoxRule:
    """The published random box: `random_bbox` + `bbox2mask` with 128x128, max_delta 32, margins 0 (at 256 px)."""

    height: int = 128
    width: int = 128
    max_delta: int = 32
    margin: int = 0


def brush_stroke_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Free-form strokes as in the published generator: 1-3 polylines of 4-11 vertices, 12-40 px wide.

    Widths are scaled by `min(height, width) / 256` so a smaller training size keeps the same hole ratios
    (at 256 px the constants are exactly the published ones). The published quirks are kept where they
    change the distribution (start vertex uniform, radius clipped to [0, 2r]); its no-op flips are dropped.

    Shape: returns (height, width) uint8 in {0, 1}.
    """
    scale = min(height, width) / REFERENCE_SIZE
    average_radius = math.sqrt(height * height + width * width) / 8
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, 4))):
        num_vertex = int(rng.integers(MIN_NUM_VERTEX, MAX_NUM_VERTEX))
        angle_min = MEAN_ANGLE - rng.uniform(0, ANGLE_RANGE)
        angle_max = MEAN_ANGLE + rng.uniform(0, ANGLE_RANGE)
        angles = [
            2 * math.pi - rng.uniform(angle_min, angle_max)
            if i % 2 == 0
            else rng.uniform(angle_min, angle_max)
            for i in range(num_vertex)
        ]
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        vertices = [(x, y)]
        for angle in angles:
            # the published std is `average_radius // 2` (floor division on a float)
            r = float(np.clip(rng.normal(average_radius, average_radius // 2), 0, 2 * average_radius))
            x = int(np.clip(x + r * math.cos(angle), 0, width))
            y = int(np.clip(y + r * math.sin(angle), 0, height))
            vertices.append((x, y))
        stroke = max(1, int(rng.uniform(MIN_WIDTH, MAX_WIDTH) * scale))
        draw.line(vertices, fill=1, width=stroke)
        half = stroke // 2
        for vx, vy in vertices:  # round joints, as published
            draw.ellipse((vx - half, vy - half, vx + half, vy + half), fill=1)
    return np.asarray(canvas, dtype=np.uint8).copy()


def box_mask(height: int, width: int, rng: np.random.Generator, rule: BoxRule = BoxRule()) -> np.ndarray:
    """The published random box: a box placed uniformly inside the margins, each side shrunk by 0..max_delta/2.

    The box size, delta and margin are scaled by `min(height, width) / 256`.

    Shape: returns (height, width) uint8 in {0, 1}.
    """
    scale = min(height, width) / REFERENCE_SIZE
    bh, bw = max(1, round(rule.height * scale)), max(1, round(rule.width * scale))
    delta, margin = round(rule.max_delta * scale), round(rule.margin * scale)
    if bh + 2 * margin > height or bw + 2 * margin > width:
        raise MaskError(f"a {bh}x{bw} box with margin {margin} does not fit a {height}x{width} image")
    # published: uniform in [margin, size - margin - box) (maxval exclusive); a box that fills the image stays put
    top = int(rng.integers(margin, max(margin + 1, height - margin - bh)))
    left = int(rng.integers(margin, max(margin + 1, width - margin - bw)))
    dh, dw = int(rng.integers(0, delta // 2 + 1)), int(rng.integers(0, delta // 2 + 1))
    mask = np.zeros((height, width), np.uint8)
    mask[top + dh : top + bh - dh, left + dw : left + bw - dw] = 1
    return mask


def free_form_mask(
    height: int, width: int, rng: np.random.Generator, rule: BoxRule = BoxRule()
) -> np.ndarray:
    """The DeepFill v2 training mask: brush strokes OR a random box.

    Shape: returns (height, width) uint8 in {0, 1}.
    """
    return np.maximum(brush_stroke_mask(height, width, rng), box_mask(height, width, rng, rule))


def list_mask_files(folder: str | Path) -> list[Path]:
    """The PNG masks of a folder (sorted, so a seeded choice is reproducible)."""
    root = Path(folder)
    if not root.is_dir():
        raise MaskError(f"mask folder not found: {root}")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise MaskError(f"no PNG masks in {root}")
    return files


def list_training_masks(folder: str | Path) -> list[Path]:
    """The masks of a folder that training may use: index % 4 != 0 (the rest is the benchmark's, mask_split.py)."""
    files = training_masks(list_mask_files(folder))
    if not files:
        raise MaskError(f"{folder} has no training masks (index % 4 != 0)")
    return files


def read_mask(path: Path) -> np.ndarray:
    """A mask file as grey uint8 (H, W), 255 = hole by the engine's rule (`image_io.load_mask`), so training,
    the benchmark and a user's fill read a mask file alike."""
    return load_mask(path).astype(np.uint8) * 255


def augment_mask(grey: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random flip, rotation (any angle) and scale (0.8-1.25) of a grey mask (white = hole), at size x size.

    Shape: grey (H, W) uint8 -> (size, size) uint8 in {0, 1}.
    """
    h, w = grey.shape
    angle = float(rng.uniform(0, 360))
    zoom = float(np.exp(rng.uniform(math.log(0.8), math.log(1.25))))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, zoom)
    grey = cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        grey = grey[:, ::-1]
    if rng.random() < 0.5:
        grey = grey[::-1, :]
    # Half coverage, not the engine's "any non-black" rule (image_io.load_mask): the rotation and the area
    # resize above blur the edge, and a pixel less than half covered was not hole in the mask drawn.
    return (grey > 127).astype(np.uint8)


def folder_mask(path: Path, size: int, rng: np.random.Generator) -> np.ndarray:
    """A mask file (white = hole), augmented by `augment_mask`.

    Shape: returns (size, size) uint8 in {0, 1}.
    """
    return augment_mask(read_mask(path), size, rng)
