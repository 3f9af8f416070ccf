"""Training damage for the learned scratch detector: an old print made from a clean photo, with its truth mask.

One sample is made in the order a real old photo is:
1. **The scene** (a photo crop) may gain thin structure that belongs to it and must not be flagged: wires,
   plank seams, text strokes, branches, grass blades, hairs, a woven pattern. They are drawn in the scene's
   own colours (a darker or lighter shade of what is under them), then the whole scene goes through the
   camera's blur: thin scene structure is as soft as the rest of the photo.
2. **The print's tone**: grey, sepia, faded colour or full colour.
3. **Damage on the print**: scratches 1-10 px wide (straight, curved or branching; light where emulsion is
   gone, dark where dirt is; semi-transparent, with soft edges and fading along their length), film scratches
   along the whole frame, crack networks, dust specks and hairs. Damage does not care about the scene: its
   value comes from the paper or the dirt, not from the pixels it covers.
4. **The scan**: a little blur, film grain, paper texture, JPEG.

The truth is what `synthetic.VISIBLE_CHANGE` calls visible: the pixels whose luminance step 3 changed by at
least that much. Pixels changed by less than half of it, but some, are "unsure" (the soft rims): the loss
ignores them. This generator shares nothing with `synthetic.py` (the benchmark's damage and textures), so the
benchmark measures how far the detector generalises.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_core.restore.synthetic import VISIBLE_CHANGE

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_SHIFT = 4  # cv2 drawing with 4 fractional bits: sub-pixel positions, so thin lines are anti-aliased honestly
_SEPIA = np.array([1.07, 0.9, 0.68], np.float32)


@dataclass(frozen=True)
class DamagedSample:
    image: np.ndarray  # (S, S, 3) float32 in [0, 1]: the damaged scan
    truth: np.ndarray  # (S, S) bool: visibly damaged
    unsure: np.ndarray  # (S, S) bool: changed, but too faintly to count either way


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb @ _LUMA, np.float32)


def _pts(xy: np.ndarray) -> np.ndarray:
    return np.rint(xy * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)


def _walk(
    rng: np.random.Generator,
    size: int,
    length: float,
    bend: float,
    start: np.ndarray | None = None,
    heading: float | None = None,
) -> np.ndarray:
    """A random-walk polyline: heading drifts by `bend` radians per 3 px step. Shape: -> (N, 2) xy"""
    steps = max(2, int(length / 3))
    start = rng.uniform(-0.1 * size, 1.1 * size, 2) if start is None else start
    heading = rng.uniform(0, 2 * np.pi) if heading is None else heading
    angles = heading + np.cumsum(rng.normal(0.0, bend, steps))
    xy = start + np.cumsum(np.stack([np.cos(angles), np.sin(angles)], 1) * 3.0, axis=0)
    return np.vstack([start[None], xy])


def _stroke(size: int, lines: list[np.ndarray], width: float, soft: float) -> np.ndarray:
    """Coverage in [0, 1] of polylines `width` px wide, edges softened by a blur of `soft` px.

    Widths under 2 px are drawn 2 px wide and scaled in coverage, which is what a thin line looks like after a
    scanner's optics (a 1 px hairline of full contrast is rarer than a 2 px one of half contrast).
    """
    layer = np.zeros((size, size), np.uint8)
    thick = max(1, round(width))
    cv2.polylines(layer, [_pts(line) for line in lines], False, 255, thick, cv2.LINE_AA, shift=_SHIFT)
    cov = layer.astype(np.float32) / 255.0
    if width < thick:
        cov *= width / thick
    if soft > 0.05:
        cov = np.asarray(cv2.GaussianBlur(cov, (0, 0), soft), np.float32)
    return np.clip(cov, 0.0, 1.0)


# ------------------------------------------------------------------------------------------------- scene


def _scene_structure(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thin structure that belongs to the scene, in the scene's colours. Shape: (S, S, 3) -> same"""
    size = rgb.shape[0]
    kind = rng.choice(
        ["wires", "seams", "text", "branches", "blades", "hairs", "weave", "boards", "boards", "leaves"]
    )
    if kind == "boards":
        return _boards(rgb, rng)
    if kind == "leaves":
        return _leaves(rgb, rng)
    lines: list[np.ndarray] = []
    width = float(rng.uniform(1.0, 3.0))
    if kind == "wires":  # long, smooth, sagging, often in parallel; as soft as the lens makes them
        base = _walk(rng, size, size * 1.6, 0.004)
        sag = rng.uniform(0.0, 0.15) * size * np.sin(np.linspace(0.0, np.pi, len(base)))
        base = base + np.stack([np.zeros_like(sag), sag], axis=1)
        for k in range(int(rng.integers(1, 4))):
            lines.append(base + np.array([0.0, k * rng.uniform(4, 14)]))
        # A wire is the scene's: a mid shade, never paper white or dirt black, and never sharper than the lens.
        # (A crisp, extreme straight line is what a film scratch looks like; the wires must not teach otherwise.)
        cov = _stroke(size, lines, width, float(rng.uniform(0.7, 1.2)))
        shaded = np.clip(rgb * np.float32(rng.uniform(0.4, 0.75) if rng.random() < 0.75 else 1.35), 0.0, 1.0)
        alpha = cov[..., None] * np.float32(rng.uniform(0.5, 0.9))
        return rgb * (1.0 - alpha) + shaded * alpha
    elif kind == "seams":  # boards: parallel straight lines at a regular pitch across the crop
        pitch, angle = rng.uniform(10, 40), rng.uniform(0, np.pi)
        normal = np.array([np.cos(angle), np.sin(angle)])
        along = np.array([-normal[1], normal[0]])
        for offset in np.arange(-size, size, pitch):
            centre = size / 2 + normal * offset
            lines.append(np.stack([centre - along * size, centre + along * size]))
    elif kind == "text":
        layer = np.zeros((size, size), np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            text = "".join(rng.choice(list("ABCDEFGHKLMNRSTWaehimnrstw0123456789"), int(rng.integers(3, 9))))
            org = (int(rng.integers(-20, size // 2)), int(rng.integers(10, size)))
            scale = float(rng.uniform(0.4, 1.6))
            cv2.putText(
                layer, text, org, int(rng.integers(0, 8)), scale, 255, int(rng.integers(1, 3)), cv2.LINE_AA
            )
        return _shade(rgb, layer.astype(np.float32) / 255.0, rng)
    elif kind == "branches":  # a trunk with tapering side branches
        trunk = _walk(rng, size, size * 1.2, 0.08)
        lines.append(trunk)
        for i in rng.integers(0, len(trunk), int(rng.integers(3, 10))):
            lines.append(_walk(rng, size, rng.uniform(15, 60), 0.15, trunk[i], rng.uniform(0, 2 * np.pi)))
    elif kind in ("blades", "hairs"):
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(10, 60))):
            length = rng.uniform(10, 40) if kind == "blades" else rng.uniform(40, 160)
            lines.append(_walk(rng, size, length, 0.06, None, heading + rng.normal(0, 0.4)))
        width = float(rng.uniform(1.0, 2.0))
        if kind == "hairs":  # a head of hair: dense, nearly parallel, dark strands and near-white highlights
            region = np.zeros((size, size), np.float32)
            centre = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
            axes = tuple(int(v) for v in rng.integers(size // 4, size // 2, 2))
            cv2.ellipse(region, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
            region = np.asarray(cv2.GaussianBlur(region, (0, 0), 6.0), np.float32)
            lines += [
                _walk(rng, size, rng.uniform(40, 160), 0.05, None, heading + rng.normal(0, 0.2))
                for _ in range(60)
            ]
            lit = [
                _walk(rng, size, rng.uniform(20, 80), 0.05, None, heading + rng.normal(0, 0.2))
                for _ in range(int(rng.integers(60, 150)))
            ]
            bright = np.clip(rgb * np.float32(rng.uniform(1.8, 3.0)) + np.float32(0.1), 0.0, 1.0)
            alpha = (_stroke(size, lit, float(rng.uniform(1.0, 2.0)), 0.0) * region)[..., None]
            rgb = rgb * (1.0 - alpha) + bright * alpha
            return _shade(rgb, _stroke(size, lines, width, 0.0) * region, rng)
    else:  # weave: two families of fine periodic threads
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        pitch = rng.uniform(3, 8)
        pattern = 0.5 + 0.25 * (np.sin(2 * np.pi * xx / pitch) + np.sin(2 * np.pi * yy / pitch))
        region = np.zeros((size, size), np.float32)
        cv2.circle(
            region,
            tuple(int(v) for v in rng.integers(0, size, 2)),
            int(rng.integers(size // 4, size)),
            1.0,
            -1,
        )
        return _shade(rgb, pattern * region * rng.uniform(0.3, 1.0), rng)
    return _shade(rgb, _stroke(size, lines, width, 0.0), rng)


def _boards(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boards or tiles: strips (with staggered cross joints) of their own shade and grain, parted by crisp seams.

    The seams can be nearly black (a door's gaps) or light (mortar), with a lit edge on one side: what tells
    them from scratches is that they bound regions that differ and repeat at a pitch.
    """
    size = rgb.shape[0]
    big = int(size * 1.5)  # drawn larger, then rotated and cropped, so any angle covers the crop
    pitch = rng.uniform(14, 80)
    edges = np.cumsum(rng.uniform(0.7, 1.3, int(big / pitch) + 2) * pitch).astype(int)
    shade = np.ones((big, big), np.float32)
    seams = np.zeros((big, big), np.uint8)
    lit = np.zeros((big, big), np.uint8)
    width = int(rng.integers(1, 4))
    joint = rng.uniform(40, 200) if rng.random() < 0.6 else None  # cross joints: tiles, bricks, short boards
    start = 0
    for edge in edges:
        stop = min(big, int(edge))
        if stop <= start:
            break
        cuts = (
            [0, big]
            if joint is None
            else sorted({0, big, *np.arange(rng.uniform(0, joint), big, joint).astype(int)})
        )
        for a, b in itertools.pairwise(cuts):
            shade[a:b, start:stop] = rng.uniform(0.75, 1.25)
            seams[a : a + width, start:stop] = 255 if a > 0 else 0
        seams[:, stop : stop + width] = 255
        lit[:, stop + width : stop + 2 * width] = 255
        start = stop + width
    grain = cv2.GaussianBlur(rng.normal(0, 1, (big, big)).astype(np.float32), (0, 0), sigmaX=0.7, sigmaY=8.0)
    shade *= 1.0 + np.float32(rng.uniform(0.0, 0.06)) * grain / max(float(grain.std()), 1e-6)
    layers = np.stack([shade, seams.astype(np.float32) / 255, lit.astype(np.float32) / 255], axis=2)
    angle = rng.choice([0.0, 90.0]) + (rng.normal(0, 12) if rng.random() < 0.4 else 0.0)
    turn = cv2.getRotationMatrix2D((big / 2, big / 2), float(angle), 1.0)
    layers = np.asarray(cv2.warpAffine(layers, turn, (big, big), flags=cv2.INTER_LINEAR), np.float32)
    off = (big - size) // 2
    shade, seam, edge_lit = (layers[off : off + size, off : off + size, i] for i in range(3))
    out = np.clip(rgb * shade[..., None], 0.0, 1.0)
    paint = np.clip(rgb.mean(axis=(0, 1)) * np.float32(rng.uniform(0.6, 1.4)), 0.0, 1.0)
    painted = rng.random() < 0.5
    if painted:  # the scene gives way to one paint colour carrying the boards' shading
        out = np.clip(paint * shade[..., None], 0.0, 1.0)
    dark = not painted or rng.random() < 0.7  # light seams (mortar) only where the boards are plainly boards
    seam_value = out * np.float32(rng.uniform(0.05, 0.45)) if dark else np.clip(out * 1.6 + 0.2, 0.0, 1.0)
    out = out * (1 - seam[..., None]) + seam_value * seam[..., None]
    if rng.random() < 0.5:
        glow = np.float32(rng.uniform(0.2, 0.6)) * edge_lit[..., None]
        out = out * (1 - glow) + np.clip(out * 1.5 + 0.1, 0.0, 1.0) * glow
    return np.asarray(out, np.float32)


def _leaves(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Foliage: overlapping leaf shapes of their own shades over a darker ground; the gaps between leaves make
    networks of thin dark lines that are not cracks. Leaves are painted as labels, later ones on top."""
    size = rgb.shape[0]
    count = int(rng.integers(60, 260))
    labels = np.zeros((size, size), np.uint16)
    for index in range(1, count + 1):
        centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
        length = float(rng.uniform(5, 22))
        axes = (max(1, int(length)), max(1, int(length * rng.uniform(0.3, 0.7))))
        cv2.ellipse(labels, centre, axes, float(rng.uniform(0, 180)), 0, 360, index, -1)
    palette = np.clip(rgb.mean(axis=(0, 1)) * rng.uniform(0.6, 1.5, (count + 1, 3)), 0.0, 1.0)
    palette[0] = np.clip(rgb.mean(axis=(0, 1)) * rng.uniform(0.2, 0.5), 0.0, 1.0)  # the shadowed ground
    return np.asarray(palette[labels], np.float32)


def _shade(rgb: np.ndarray, coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blend a darker or lighter shade of the scene itself (not paper white or dirt black) under `coverage`."""
    factor = rng.uniform(0.25, 0.7) if rng.random() < 0.7 else rng.uniform(1.3, 1.9)
    shaded = np.clip(rgb * np.float32(factor), 0.0, 1.0)
    alpha = coverage[..., None] * np.float32(rng.uniform(0.5, 1.0))
    return rgb * (1.0 - alpha) + shaded * alpha


def _tone(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey, sepia, faded colour or the photo's own colours, with the print's contrast and exposure.

    Full colour is a quarter of the prints: the detector also runs on colour scans, where saturated edges (a red
    shutter on a grey wall) must not read as damage.
    """
    grey = _luma(rgb)[..., None]
    pick = rng.random()
    if pick < 0.3:
        out = np.repeat(grey, 3, axis=2)
    elif pick < 0.55:
        out = grey * (_SEPIA * np.float32(rng.uniform(0.9, 1.05)))
    elif pick < 0.75:  # faded colour: washed towards grey, with a warm cast
        keep = np.float32(rng.uniform(0.3, 0.9))
        out = rgb * keep + grey * (1 - keep)
        out = out * np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.7, 0.95)], np.float32)
    else:
        out = rgb
    contrast, lift = np.float32(rng.uniform(0.6, 1.1)), np.float32(rng.uniform(-0.05, 0.15))
    return np.clip((out - 0.5) * contrast + 0.5 + lift, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------------- damage


def _damage_value(rng: np.random.Generator, light: bool) -> np.ndarray:
    """Paper showing through (light) or dirt (dark): RGB values that do not depend on the scene."""
    value = rng.uniform(0.82, 1.0) if light else rng.uniform(0.0, 0.2)
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0)], np.float32)
    return np.clip(np.float32(value) * tint, 0.0, 1.0)


def _fade_along(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth opacity field in [0.2, 1]: a scratch fades in and out along its length."""
    small = rng.uniform(0.0, 1.0, (4, 4)).astype(np.float32)
    field = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(0.2 + field, 0.2, 1.0)


def _damage_layers(size: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(coverage, RGB value) layers of one print's damage; some prints get none."""
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    if rng.random() < 0.12:
        return layers

    def add(lines: list[np.ndarray], width: float, light: bool, fade: bool = True) -> None:
        cov = _stroke(size, lines, width, rng.uniform(0.0, 1.2) if rng.random() < 0.5 else 0.0)
        cov *= np.float32(rng.uniform(0.35, 1.0))
        if fade and rng.random() < 0.5:
            cov *= _fade_along(size, rng)
        layers.append((cov, _damage_value(rng, light)))

    light_bias = rng.uniform(0.2, 0.8)
    for _ in range(int(rng.integers(0, 5))):  # scratches
        width = float(np.clip(np.exp(rng.normal(0.6, 0.6)), 1.0, 10.0))
        bend = 0.0 if rng.random() < 0.35 else rng.uniform(0.005, 0.05)
        line = _walk(rng, size, rng.uniform(0.3, 1.6) * size, bend)
        lines = [line]
        if rng.random() < 0.25:  # branching
            for i in rng.integers(0, len(line), int(rng.integers(1, 4))):
                lines.append(_walk(rng, size, rng.uniform(10, 60), 0.08, line[i]))
        add(lines, width, rng.random() < light_bias)
    if (
        rng.random() < 0.2
    ):  # film scratches: straight, along the film (vertical, or horizontal), the whole frame
        across = rng.random() < 0.3
        for _ in range(int(rng.integers(1, 4))):
            at = rng.uniform(0, size)
            start = np.array([at, -5.0]) if not across else np.array([-5.0, at])
            heading = (np.pi / 2 if not across else 0.0) + rng.normal(0, 0.01)
            line = _walk(rng, size, size * 1.2, 0.002, start, heading)
            add([line], float(np.clip(np.exp(rng.normal(0.4, 0.5)), 1.0, 6.0)), rng.random() < light_bias)
    if rng.random() < 0.25:  # a crack network: short thin segments joined in cells
        seeds = rng.uniform(0, size, (int(rng.integers(4, 14)), 2))
        lines = []
        for a in seeds:
            for _ in range(int(rng.integers(1, 4))):
                lines.append(_walk(rng, size, rng.uniform(15, 70), 0.2, a))
        add(lines, float(rng.uniform(1.0, 2.5)), rng.random() < 0.7, fade=False)
    if rng.random() < 0.75:  # dust specks: each its own small blob
        layer = np.zeros((size * 2, size * 2), np.uint8)
        dark = np.zeros_like(layer)
        for _ in range(int(rng.integers(3, 60))):
            centre = tuple(int(v) for v in rng.integers(0, size * 2, 2))
            d = float(np.clip(np.exp(rng.normal(0.7, 0.5)), 1.0, 8.0)) * 2  # at 2x: 1-8 px after the halving
            axes = (max(1, int(d / 2)), max(1, int(d / 2 * rng.uniform(0.5, 1.0))))
            target = layer if rng.random() < light_bias else dark
            cv2.ellipse(target, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        for canvas, light in ((layer, True), (dark, False)):
            cov = cv2.resize(canvas.astype(np.float32) / 255.0, (size, size), interpolation=cv2.INTER_AREA)
            if cov.any():
                layers.append((cov * np.float32(rng.uniform(0.5, 1.0)), _damage_value(rng, light)))
    if rng.random() < 0.25:  # hairs and fibres: long, very curvy, thin
        lines = [_walk(rng, size, rng.uniform(30, 150), 0.12) for _ in range(int(rng.integers(1, 4)))]
        add(lines, float(rng.uniform(1.0, 2.0)), rng.random() < 0.4, fade=False)
    return layers


# ------------------------------------------------------------------------------------------------- scan


def _scan(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scanner blur, film grain, paper texture and JPEG."""
    size = rgb.shape[0]
    if rng.random() < 0.5:
        rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.3, 0.8))
    if rng.random() < 0.4:  # paper: a slow multiplicative mottle
        mottle = cv2.resize(
            rng.normal(0, 1, (6, 6)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC
        )
        rgb = rgb * (1.0 + np.float32(rng.uniform(0.01, 0.05)) * mottle[..., None])
    if rng.random() < 0.7:  # grain, sometimes clumped
        grain = rng.normal(0.0, rng.uniform(0.005, 0.04), (size, size)).astype(np.float32)
        if rng.random() < 0.5:
            grain = cv2.GaussianBlur(grain, (0, 0), rng.uniform(0.5, 1.0)) * 1.8
        rgb = rgb + grain[..., None]
    rgb = np.clip(rgb, 0.0, 1.0)
    if rng.random() < 0.4:
        bgr = cv2.cvtColor(np.rint(rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 96))])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return np.asarray(rgb, np.float32)


def damaged_sample(photo: np.ndarray, rng: np.random.Generator, size: int) -> DamagedSample:
    """One training sample from an RGB uint8 photo (any size over `size`/2): a random crop, rescaled, made old.

    Shape: (H, W, 3) uint8 -> DamagedSample of side `size`
    """
    h, w = photo.shape[:2]
    side = int(min(h, w, rng.uniform(0.6, 1.6) * size))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = photo[y : y + side, x : x + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    rgb = cv2.resize(crop, (size, size), interpolation=interp).astype(np.float32) / 255.0
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1]
    if rng.random() < 0.08:  # a plain sky or wall: damage on a flat ground must be found too
        yy = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
        top, bottom = rgb[:8].mean(axis=(0, 1)), rgb[-8:].mean(axis=(0, 1))
        rgb = np.ascontiguousarray(np.broadcast_to(top + (bottom - top) * yy, rgb.shape), np.float32)
    for _ in range(int(rng.random() < 0.55) + int(rng.random() < 0.15)):
        rgb = _scene_structure(np.ascontiguousarray(rgb), rng)
    if rng.random() < 0.6:  # the camera's blur, scene structure included
        rgb = np.asarray(cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.3, 1.0)), np.float32)
    printed = _tone(np.ascontiguousarray(rgb), rng)
    damaged = printed.copy()
    for cov, value in _damage_layers(size, rng):
        alpha = cov[..., None]
        damaged = damaged * (1.0 - alpha) + value * alpha
    change = np.abs(_luma(damaged) - _luma(printed))
    truth = change >= VISIBLE_CHANGE
    unsure = (change >= VISIBLE_CHANGE / 4) & ~truth
    return DamagedSample(_scan(damaged, rng), truth, unsure)
