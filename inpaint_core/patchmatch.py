"""PatchMatch fill (Barnes et al., SIGGRAPH 2009) through the pypatchmatch library, with an exact source map.

The library (MIT, maintained by the InvokeAI project) fills a hole with texture found elsewhere in the photo,
but returns only pixels: not its nearest-neighbour field. Its last step is also not a pure copy: each pixel
takes its best patch's pixel plus that patch's mean colour shift, and a 4 px band inside the hole's border is
shifted by the colour step across it (csrc/inpaint.cpp, pypatchmatch 2.2.0). Matching each filled pixel back to
the photo therefore finds a source within a few levels (~4 of 255 on average), not an equal one.

So the fill is made an exact copy, and its map exact by construction:
1. the library fills the window (8-bit RGB; the do-not-borrow mask becomes its `global_mask`);
2. `find_sources` searches, for each hole pixel, the allowed known pixel whose patch best matches the
   library's fill around it (a PatchMatch search of our own: scan-line propagation and random search);
3. each hole pixel takes that source pixel's value, from the photo at its own depth (16 bit, grey).
`result[p] == photo[source[p]]` holds for every filled pixel (tested); what it costs against the library's own
output (no colour shift, no border band) is in docs/BENCHMARKS.md ("PatchMatch").

The native call cannot be interrupted: it runs on a helper thread while the caller's `wait` is polled (to
report progress and honour a cancel). A cancelled call is left to finish in the background, its result
dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from inpaint_core.errors import EngineUnavailableError, InpaintError, MaskError, OutOfMemoryError
from inpaint_core.image_io import to_rgb8

# Source search: rounds of propagation and random search (3 brought the copy within ~3.7 levels of the
# library's fill on the demo photo; 2: 4.3, at 3/4 of the time).
SEARCH_ROUNDS = 3
# A source-patch pixel that is not allowed (hole, do-not-borrow, outside the window) costs as much as a
# colour difference of 128 levels per channel: patches that lie wholly in allowed pixels are preferred, but
# where none exists (almost nothing known around the hole) the best partial one still wins.
_MISMATCH = 3 * 128.0**2
# Patch distances below this per compared value (a difference of 5 levels) are not searched further at random:
# the library's colour shift alone leaves about that much.
_GOOD_ENOUGH = 25.0
# Holes larger than this (pixels) are searched at half size first (`find_sources`).
COARSE_ABOVE = 1 << 16
POLL_SECONDS = 0.1  # how often `wait` runs while the native call works

Wait = Callable[[], None]
"""Called every POLL_SECONDS while the library works; it may raise (CancelledError) to stop waiting."""


def load_library() -> ModuleType:
    """The pypatchmatch module, or EngineUnavailableError with one line saying how to get it."""
    try:
        import patchmatch
    except ImportError:
        raise EngineUnavailableError(
            "PatchMatch is not installed: pip install pypatchmatch (it needs Python 3.11 or newer)"
        ) from None
    if not patchmatch.patchmatch_available:
        raise EngineUnavailableError(
            "PatchMatch's native library does not load on this machine; reinstall it with "
            "pip install --force-reinstall pypatchmatch"
        )
    return patchmatch


def available() -> bool:
    """True when PatchMatch can run here."""
    try:
        load_library()
    except EngineUnavailableError:
        return False
    return True


@dataclass(frozen=True)
class CopyFill:
    """One window filled by copying: `pixels` in the photo's dtype (grey or RGB, no alpha), each hole pixel
    equal to the window pixel `source` names (flat index y * width + x; 0 outside the hole)."""

    pixels: np.ndarray  # (h, w) or (h, w, 3)
    source: np.ndarray  # (h, w) int32


def patchmatch_fill(
    pixels: np.ndarray,
    hole: np.ndarray,
    forbid: np.ndarray | None = None,
    radius: int = 3,
    *,
    wait: Wait | None = None,
    seed: int = 0,
) -> CopyFill:
    """Fill `hole` of one window with PatchMatch, as exact copies of allowed pixels (module docstring).

    Pixels in `forbid` (and not in the hole) are neither filled nor copied from. Raises MaskError when no pixel
    is left to copy from, EngineUnavailableError without the library.

    Shape: pixels (h, w[, C]) uint8/uint16; hole, forbid (h, w) -> CopyFill
    """
    hole = hole > 0
    forbid = np.zeros_like(hole) if forbid is None else (forbid > 0) & ~hole
    allowed = ~hole & ~forbid
    if not allowed.any():
        what = "the do-not-borrow area covers" if forbid.any() else "the hole covers"
        raise MaskError(
            f"{what} every pixel around this hole: PatchMatch has nothing to copy from; "
            "leave part of the surroundings free"
        )
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    rgb8 = np.ascontiguousarray(to_rgb8(pixels))  # the library's only input; the copies keep the depth
    guide = _run_library(rgb8, hole, forbid, radius, wait, seed)
    source = find_sources(guide, rgb8, hole, allowed, radius, seed=seed)
    out = colour.copy()
    flat = colour.reshape(hole.size, *colour.shape[2:])
    out[hole] = flat[source[hole]]
    return CopyFill(out, source)


def _run_library(
    rgb8: np.ndarray, hole: np.ndarray, forbid: np.ndarray, radius: int, wait: Wait | None, seed: int
) -> np.ndarray:
    """The library's fill of the window, run on a helper thread while `wait` is polled."""
    library = load_library()
    mask = hole.astype(np.uint8) * 255
    global_mask = forbid.astype(np.uint8) * 255 if forbid.any() else None
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            library.set_random_seed(seed)  # the same photo and mask give the same fill
            box["out"] = library.inpaint(rgb8, mask, global_mask=global_mask, patch_size=radius)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="patchmatch", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(POLL_SECONDS)
        if wait is not None and thread.is_alive():
            wait()
    error = box.get("error")
    if isinstance(error, MemoryError) or (error is not None and "memory" in str(error).lower()):
        height, width = hole.shape
        raise OutOfMemoryError(f"not enough memory for PatchMatch on a {width}x{height} window")
    if isinstance(error, (RuntimeError, ValueError)):
        raise InpaintError(f"PatchMatch failed: {error}") from None
    if error is not None:
        raise error
    return np.asarray(box["out"])


def find_sources(
    target: np.ndarray,
    photo: np.ndarray,
    hole: np.ndarray,
    allowed: np.ndarray,
    radius: int,
    *,
    rounds: int = SEARCH_ROUNDS,
    seed: int = 0,
) -> np.ndarray:
    """For each hole pixel, the allowed pixel whose patch in `photo` best matches `target`'s patch around it
    (`_search`). A hole of more than `COARSE_ABOVE` pixels is searched at half size first; that map, doubled,
    starts one round at full size with a short random search (a 1000 px square hole: 2.5x faster).

    Shape: target, photo (h, w, 3) uint8; hole, allowed (h, w) bool -> (h, w) int32 flat source index
    (y * w + x, 0 outside the hole)
    """
    height, width = hole.shape
    if int(hole.sum()) <= COARSE_ABOVE or min(height, width) < 8 * radius:
        return _search(target, photo, hole, allowed, radius, rounds=rounds, seed=seed)
    half = (width // 2, height // 2)
    small_allowed = cv2.resize(allowed.astype(np.uint8), half, interpolation=cv2.INTER_AREA) == 1
    small_hole = cv2.resize(hole.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST) > 0
    if not small_allowed.any():
        return _search(target, photo, hole, allowed, radius, rounds=rounds, seed=seed)
    coarse = find_sources(
        cv2.resize(target, half, interpolation=cv2.INTER_AREA),
        cv2.resize(photo, half, interpolation=cv2.INTER_AREA),
        small_hole & ~small_allowed,
        small_allowed,
        radius,
        rounds=rounds,
        seed=seed,
    )
    # Each pixel starts from its coarse pixel's source, doubled, plus its own place in the 2x2 block.
    hy, hx = np.nonzero(hole)
    cy, cx = np.minimum(hy // 2, half[1] - 1), np.minimum(hx // 2, half[0] - 1)
    csy, csx = np.divmod(coarse[cy, cx], half[0])
    start = np.where(
        small_hole[cy, cx] & ~small_allowed[cy, cx],
        np.clip(2 * csy + hy % 2, 0, height - 1) * width + np.clip(2 * csx + hx % 2, 0, width - 1),
        -1,
    )
    return _search(target, photo, hole, allowed, radius, rounds=1, seed=seed, start=start, reach=4)


def _search(
    target: np.ndarray,
    photo: np.ndarray,
    hole: np.ndarray,
    allowed: np.ndarray,
    radius: int,
    *,
    rounds: int,
    seed: int,
    start: np.ndarray | None = None,
    reach: int | None = None,
) -> np.ndarray:
    """One level of `find_sources`: a PatchMatch search (Barnes et al. 2009). Random starts (or `start`'s
    sources), then per round propagation along rows and columns in all four directions (a neighbour's source,
    shifted by one, is tried) and a random search around the current source at halving radii from `reach`
    (default: the window's size). Patches of (2 * radius + 1)^2 pixels are compared at every other pixel
    plus the centre (a quarter of the work; the matches barely change) by the sum of squared RGB differences;
    source-patch pixels that are not allowed cost `_MISMATCH` each, target pixels outside the window nothing.

    Shape: target, photo (h, w, 3) uint8; hole, allowed (h, w) bool -> (h, w) int32 flat source index
    (y * w + x, 0 outside the hole)
    """
    height, width = hole.shape
    r = int(radius)
    wp = width + 2 * r  # padded row length: patch offsets are flat steps in the padded arrays
    pad3 = ((r, r), (r, r), (0, 0))
    photo_p = np.pad(photo.astype(np.float32), pad3, mode="edge").reshape(-1, 3)
    allowed_p = np.pad(allowed, r).reshape(-1)
    allowed_f = allowed_p.astype(np.float32)
    dy, dx = np.mgrid[-r : r + 1 : 2, -r : r + 1 : 2]
    points = set(zip(dy.ravel().tolist(), dx.ravel().tolist())) | {(0, 0)}
    offsets = np.array(sorted(a * wp + b for a, b in points), np.int64)  # (K,)
    hy, hx = np.nonzero(hole)
    n = hy.size
    centre = (hy + r) * wp + (hx + r)  # each hole pixel's padded flat index
    target_p = np.pad(target.astype(np.float32), pad3, mode="edge").reshape(-1, 3)
    inside_p = np.pad(np.ones(hole.shape, np.float32), r).reshape(-1)
    # The target patches never change: gathered once, unless that is too large (then per evaluation).
    cached = n * offsets.size * 16 <= 256 * 2**20
    t_patch = target_p[centre[:, None] + offsets] if cached else None  # (n, K, 3)
    t_inside = inside_p[centre[:, None] + offsets] if cached else None  # (n, K)

    def cost(idx: np.ndarray, source: np.ndarray) -> np.ndarray:
        q = source[:, None] + offsets
        if t_patch is not None and t_inside is not None:
            tp, ti = t_patch[idx], t_inside[idx]
        else:
            p = centre[idx, None] + offsets
            tp, ti = target_p[p], inside_p[p]
        d2 = ((tp - photo_p[q]) ** 2).sum(-1)
        ok = allowed_f[q]
        return np.asarray((ti * (ok * (d2 - _MISMATCH) + _MISMATCH)).sum(1))

    rng = np.random.default_rng(seed)
    ay, ax = np.nonzero(allowed)
    pick = rng.integers(0, ay.size, n)
    src = (ay[pick] + r) * wp + (ax[pick] + r)
    if start is not None:  # a coarse level's sources where they are allowed here, random elsewhere
        sy, sx = np.divmod(np.maximum(start, 0), width)
        given = (start >= 0) & allowed[sy, sx]
        src[given] = (sy[given] + r) * wp + (sx[given] + r)
    best = np.empty(n, np.float64)
    for first in range(0, n, 1 << 16):
        part = np.arange(first, min(n, first + (1 << 16)))
        best[part] = cost(part, src[part])
    src_at = np.full(allowed_p.size, -1, np.int64)  # each hole pixel's current source, by padded index
    src_at[centre] = src

    def improve(idx: np.ndarray, cand: np.ndarray) -> None:
        ok = allowed_p[cand]  # a source must itself be an allowed pixel (also keeps patches inside the pad)
        idx, cand = idx[ok], cand[ok]
        for first in range(0, idx.size, 1 << 16):
            i, c = idx[first : first + (1 << 16)], cand[first : first + (1 << 16)]
            d = cost(i, c)
            better = d < best[i]
            i, c = i[better], c[better]
            best[i], src[i] = d[better], c
            src_at[centre[i]] = c

    rows = np.split(np.arange(n), np.flatnonzero(np.diff(hy)) + 1)
    by_column = np.lexsort((hy, hx))
    columns = np.split(by_column, np.flatnonzero(np.diff(hx[by_column])) + 1)
    good = _GOOD_ENOUGH * 3 * offsets.size
    for _ in range(rounds):
        # Scan-line propagation: a whole row (column) at once, from the one before it, so a match travels
        # across the hole in one sweep.
        for lines, step in ((rows, wp), (columns, 1), (rows[::-1], -wp), (columns[::-1], -1)):
            for idx in lines:
                before = src_at[centre[idx] - step]
                has = before >= 0
                improve(idx[has], before[has] + step)
        reach_now = max(height, width) if reach is None else reach
        while reach_now >= 1:
            idx = np.flatnonzero(best > good)
            sy = src[idx] // wp - r + rng.integers(-reach_now, reach_now + 1, idx.size)
            sx = src[idx] % wp - r + rng.integers(-reach_now, reach_now + 1, idx.size)
            improve(idx, (np.clip(sy, 0, height - 1) + r) * wp + np.clip(sx, 0, width - 1) + r)
            reach_now //= 2
    out = np.zeros(hole.shape, np.int32)
    out[hy, hx] = (src // wp - r) * width + (src % wp - r)
    return out
