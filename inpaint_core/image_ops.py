"""Image I/O and the pure array operations the engine is built from.

Conventions (the one place they are spelled out):
- Images at boundaries are numpy arrays in RGB channel order: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA), dtype
  uint8 or uint16.
- Masks are HxW; nonzero = hole (or stroke for a guide, or "do not borrow from here" for a forbid mask).
- Model tensors are float32 NCHW, images in [-1, 1], masks in {0, 1}, H and W multiples of 8.
- Boxes are half-open pixel rectangles `Box(x0, y0, x1, y1)` in image coordinates.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps

from inpaint_core.errors import ImageLoadError, InpaintError, MaskError

# Larger images are refused before decoding (a decompression bomb: a tiny file that expands to gigabytes).
MAX_IMAGE_PIXELS = 250_000_000
# PIL warns above its own limit and refuses above twice it; lift it to ours so our explicit check (with a
# clear message) decides, and PIL's error stays a backstop for anything twice as large.
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_IMAGE_PIXELS)

# Rec. 601 luma, as cv2.cvtColor(RGB2GRAY) uses; converts the model's RGB fill back for grey images.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

SAVE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
IMAGE_EXTENSIONS: tuple[str, ...] = (*SAVE_FORMATS, ".bmp")


class OutputExistsError(InpaintError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image with the metadata worth carrying to the output file."""

    pixels: np.ndarray  # HxW, HxWx3 or HxWx4; uint8 or uint16; EXIF orientation already applied
    exif: bytes | None  # EXIF block without the orientation tag (already applied to the pixels)
    icc: bytes | None  # ICC colour profile
    format: str  # PIL format name ("PNG", "JPEG", ...)


@dataclass(frozen=True)
class Box:
    """A half-open rectangle [x0, x1) x [y0, y1) in image pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """`array[box.slices]` is the crop (rows, then columns)."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def union(self, other: Box) -> Box:
        if self.is_empty():
            return other
        if other.is_empty():
            return self
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def clipped(self, width: int, height: int) -> Box:
        """This box clipped to an image of `width` x `height` (possibly empty)."""
        x0, y0 = max(0, self.x0), max(0, self.y0)
        x1, y1 = min(width, self.x1), min(height, self.y1)
        return Box(x0, y0, max(x0, x1), max(y0, y1))

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


# --------------------------------------------------------------------------------------------------- loading


def _size_text(width: int, height: int) -> str:
    return f"{width}x{height}"


def _orientation_transpose(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an array, as ImageOps.exif_transpose does to a PIL image."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(pixels)) if op else pixels


def _is_deep_colour(im: Image.Image) -> bool:
    """True for 16-bit-per-channel colour files, which PIL would silently reduce to 8 bits."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    for tile in getattr(im, "tile", []) or []:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _decode_deep_colour(data: bytes, orientation: int) -> np.ndarray | None:
    """Decode a 16-bit colour PNG/TIFF with OpenCV (keeps all 16 bits); RGB(A) order; None if it fails."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        return None
    code = cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return _orientation_transpose(cv2.cvtColor(arr, code), orientation)


def _pil_to_array(im: Image.Image) -> np.ndarray:
    """Convert any PIL mode to one of the boundary layouts (grey/RGB/RGBA, uint8/uint16)."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.asarray(im).copy()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16)
    if mode == "I":
        # PIL reports some 16-bit grey files as 32-bit "I"; values beyond 16 bits are clipped.
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
    if mode == "1":
        return np.asarray(im.convert("L")).copy()
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGBA" if has_alpha else "RGB")).copy()
    if mode in ("LA", "La", "RGBa"):
        return np.asarray(im.convert("RGBA")).copy()
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(im.convert("RGB")).copy()
    raise ImageLoadError(f"unsupported image mode {mode!r} (use 8- or 16-bit grey, RGB or RGBA)")


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read an image file into the boundary layout, with the EXIF orientation applied.

    16-bit PNG/TIFF stay uint16, grey stays HxW, RGBA keeps its alpha; palette, LA and CMYK images are
    converted to RGB(A). Raises ImageLoadError (one line) for missing, corrupt, truncated or oversized files.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageLoadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(io.BytesIO(data))
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageLoadError(
                    f"{path}: {_size_text(width, height)} is too large to decode safely "
                    f"(limit {MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
                )
            fmt = im.format or "unknown"
            deep = _is_deep_colour(im) and fmt in ("PNG", "TIFF")  # before getexif(), which may decode
            icc = im.info.get("icc_profile") or None
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            im.load()
            pixels = _decode_deep_colour(data, orientation) if deep else None
            if pixels is None:
                im = ImageOps.exif_transpose(im) or im
                pixels = _pil_to_array(im)
            exif_obj = im.getexif()
            if 0x0112 in exif_obj:
                del exif_obj[0x0112]  # the orientation is applied to the pixels now
            exif = exif_obj.tobytes() if len(exif_obj) else None
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{path}: image is too large to decode safely (decompression bomb?)") from None
    except Image.UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not an image file, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(f"{path}: corrupt or truncated image ({reason})") from None
    if pixels.ndim == 3 and pixels.shape[2] not in (3, 4):
        raise ImageLoadError(f"{path}: unsupported number of channels ({pixels.shape[2]})")
    if pixels.size == 0:
        raise ImageLoadError(f"{path}: image is empty")
    return LoadedImage(pixels=pixels, exif=exif, icc=icc, format=fmt)


def mask_from_pixels(pixels: np.ndarray) -> np.ndarray:
    """Binarise mask pixels: a pixel is a hole when it is not black and not fully transparent.

    This reads white-on-black masks (any non-black = hole) as well as RGBA masks painted on a transparent layer.

    Shape: (H, W) | (H, W, 3) | (H, W, 4) -> (H, W) bool
    """
    if pixels.ndim == 2:
        return pixels > 0
    hole = np.any(pixels[..., :3] > 0, axis=2)
    if pixels.shape[2] == 4:
        hole &= pixels[..., 3] > 0
    return hole


def load_mask(path: str | os.PathLike[str], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read a mask file as HxW bool (see `mask_from_pixels`); MaskError if unreadable or not `shape[:2]`."""
    try:
        pixels = load_image(path).pixels
    except ImageLoadError as exc:
        raise MaskError(str(exc)) from None
    mask = mask_from_pixels(pixels)
    if shape is not None:
        check_same_size(mask, shape, f"mask {Path(path).name}")
    return mask


def check_same_size(array: np.ndarray, shape: tuple[int, ...], what: str) -> None:
    """Raise MaskError naming both sizes (WxH) when `array` is not `shape[:2]`."""
    if tuple(array.shape[:2]) != tuple(shape[:2]):
        got = _size_text(array.shape[1], array.shape[0])
        want = _size_text(shape[1], shape[0])
        raise MaskError(f"{what} is {got} but the image is {want}")


# ---------------------------------------------------------------------------------------------------- saving


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    # uint16 -> uint8 with rounding: 65535 / 257 = 255 exactly
    return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)


def check_output_path(path: str | os.PathLike[str], overwrite: bool = False) -> str:
    """Raise unless `path` can be written (known format, free or `overwrite`, folder exists); returns the format.

    Callers with expensive work ahead (the CLI) call it first, so a bad output path fails before the work.
    """
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted({s.lstrip(".") for s in SAVE_FORMATS}))
        raise InpaintError(f"{path}: unknown output format {path.suffix!r} (use one of: {known})")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise InpaintError(f"{path.parent}: output folder does not exist")
    return fmt


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    exif: bytes | None = None,
    icc: bytes | None = None,
    quality: int = 95,
    overwrite: bool = False,
    text: dict[str, str] | None = None,
    xmp: bytes | None = None,
) -> None:
    """Write an image atomically (temp file in the same folder, then os.replace); format from the extension.

    PNG and TIFF keep 16 bits (16-bit colour is written with OpenCV, which drops EXIF/ICC); JPEG and WEBP are
    8-bit, and JPEG has no alpha (dropped). Refuses an existing path unless `overwrite` (OutputExistsError).
    `text` and `xmp` (e.g. `restore.provenance.embedded_note`) are embedded as restore/embed.py describes.
    """
    path = Path(path)
    fmt = check_output_path(path, overwrite)
    if pixels.dtype not in (np.uint8, np.uint16) or pixels.ndim not in (2, 3):
        raise InpaintError(f"cannot save an array of dtype {pixels.dtype} and shape {pixels.shape}")

    deep = pixels.dtype == np.uint16 and fmt in ("PNG", "TIFF")
    if not deep:
        pixels = _to_uint8(pixels)
    if fmt == "JPEG" and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]

    encoded: bytes | None = None
    if deep and pixels.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        ok, buf = cv2.imencode(path.suffix.lower(), cv2.cvtColor(np.ascontiguousarray(pixels), code))
        if not ok:
            raise InpaintError(f"{path}: could not encode the image")
        encoded = buf.tobytes()
        if fmt == "PNG" and (text or xmp):
            from inpaint_core.restore.embed import add_png_chunks

            encoded = add_png_chunks(encoded, text, xmp)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if encoded is not None:
                fh.write(encoded)
            else:
                im = Image.fromarray(np.ascontiguousarray(pixels))
                params: dict[str, object] = {}
                if exif:
                    params["exif"] = exif
                if icc:
                    params["icc_profile"] = icc
                if fmt in ("JPEG", "WEBP"):
                    params["quality"] = int(quality)
                if text or xmp:
                    from inpaint_core.restore.embed import pil_save_params

                    params |= pil_save_params(fmt, text, xmp)
                im.save(fh, format=fmt, **params)
        os.replace(tmp_name, path)
    except OSError as exc:
        raise InpaintError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


# ------------------------------------------------------------------------------------------------ conversions


def dtype_max(dtype: np.dtype | type) -> float:
    """The value of full white for an image dtype (255 or 65535)."""
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


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


# ------------------------------------------------------------------------------------------ windows and paste


def model_size(box: Box, max_side: int) -> tuple[int, int]:
    """The (height, width) a window is resized to so its longer side is at most `max_side` (never enlarged)."""
    longer = max(box.width, box.height)
    scale = min(1.0, max_side / longer) if longer > 0 else 1.0
    return max(1, round(box.height * scale)), max(1, round(box.width * scale))


def _grow(box: Box, margin: int, min_side: int, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin
    # Small holes still get enough context for the model's receptive field.
    if x1 - x0 < min_side:
        extra = min_side - (x1 - x0)
        x0, x1 = x0 - extra // 2, x1 + extra - extra // 2
    if y1 - y0 < min_side:
        extra = min_side - (y1 - y0)
        y0, y1 = y0 - extra // 2, y1 + extra - extra // 2
    # Shift rather than clip where possible, so a window at the border keeps its size.
    if x0 < 0:
        x1, x0 = min(width, x1 - x0), 0
    if x1 > width:
        x0, x1 = max(0, x0 - (x1 - width)), width
    if y0 < 0:
        y1, y0 = min(height, y1 - y0), 0
    if y1 > height:
        y0, y1 = max(0, y0 - (y1 - height)), height
    return Box(x0, y0, x1, y1)


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Merge overlapping boxes until none overlap (a merged box can reach a third one, hence the loop).

    Result sorted top-to-bottom, left-to-right.
    """
    pending = list(boxes)
    changed = True
    while changed:
        changed = False
        merged: list[Box] = []
        for box in pending:
            current = box
            keep: list[Box] = []
            for other in merged:
                if current.overlaps(other):
                    current = current.union(other)
                    changed = True
                else:
                    keep.append(other)
            keep.append(current)
            merged = keep
        pending = merged
    return sorted(pending, key=lambda b: (b.y0, b.x0))


def plan_windows(
    mask: np.ndarray, *, margin_ratio: float = 0.5, min_margin: int = 32, min_side: int = 128
) -> list[Box]:
    """Context windows for the holes of `mask`: one per group of nearby holes, none overlapping.

    Each connected hole's bounding box grows by `max(min_margin, margin_ratio * its longer side)` on every side,
    then to at least `min_side` per side (if the image allows), then is kept inside the image; windows that
    overlap are merged, so no window edge cuts through another window's hole.

    Shape: mask (H, W) -> list of Box
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    height, width = mask.shape
    binary = (mask > 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes: list[Box] = []
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        margin = max(min_margin, int(np.ceil(margin_ratio * max(w, h))))
        boxes.append(_grow(Box(x, y, x + w, y + h), margin, min_side, width, height))
    return merge_boxes(boxes)


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
