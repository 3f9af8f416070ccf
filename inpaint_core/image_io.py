"""Image files: loading (EXIF, ICC, 16 bit, size limits), masks, saving (atomic), output-path checks, formats.

No torch: the editor uses this module directly. Layouts follow the conventions in `inpaint_core.api`.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps

from inpaint_core.errors import ImageLoadError, InpaintError, MaskError, OutputExistsError, Remedy
from inpaint_core.files import StagedOutputs, atomic_write, check_folder_writable
from inpaint_core.metadata import pil_save_params, png_chunk, png_text_chunks
from inpaint_core.registry import JPEG_QUALITY

__all__ = [
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "PNG_COMPRESSION",
    "SAVE_FORMATS",
    "ImageFormat",
    "LoadedImage",
    "OutputExistsError",
    "check_output_path",
    "check_same_size",
    "check_writable",
    "dtype_max",
    "format_losses",
    "is_lossy",
    "load_image",
    "load_mask",
    "load_rgb8",
    "mask_from_pixels",
    "save_image",
    "to_rgb8",
    "to_uint8",
]

# Larger images are refused before decoding (a decompression bomb: a tiny file that expands to gigabytes).
MAX_IMAGE_PIXELS = 250_000_000
# PIL warns above its own limit and refuses above twice it; lift it to ours so our explicit check (with a
# clear message) decides, and PIL's error stays a backstop for anything twice as large.
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_IMAGE_PIXELS)

# The default PNG compression level (zlib's 0-9). Levels 1-3 write with the run-length strategy and the Paeth
# filter: on photos that is 5-7x faster than Pillow's default (level 6, adaptive filters) and no larger
# (docs/BENCHMARKS.md, "Files and paste"). Levels 4-9 use zlib's default strategy with adaptive filters:
# slower, and smaller only on flat graphics (screenshots, drawings). 0 stores without compression.
PNG_COMPRESSION = 1


@dataclass(frozen=True)
class ImageFormat:
    """One row of the format table: what the editor's dialogs, the CLI, training and saving agree on."""

    name: str  # PIL format name
    label: str  # for file dialogs
    extensions: tuple[str, ...]  # the first is the one a new file gets
    writable: bool
    lossy: bool  # takes a quality setting (1-100)
    alpha: bool = True  # can hold transparency
    deep: bool = False  # can hold 16 bits per channel


# The one format table: everything below (and every file filter in the editor) is derived from it.
FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat("PNG", "PNG image", (".png",), writable=True, lossy=False, deep=True),
    ImageFormat("JPEG", "JPEG image", (".jpg", ".jpeg"), writable=True, lossy=True, alpha=False),
    ImageFormat("WEBP", "WebP image", (".webp",), writable=True, lossy=True),
    ImageFormat("TIFF", "TIFF image", (".tif", ".tiff"), writable=True, lossy=False, deep=True),
    ImageFormat("BMP", "BMP image", (".bmp",), writable=False, lossy=False),
)
# extension -> PIL format name, for the formats we write
SAVE_FORMATS: dict[str, str] = {ext: f.name for f in FORMATS if f.writable for ext in f.extensions}
# every extension we read
IMAGE_EXTENSIONS: tuple[str, ...] = tuple(ext for f in FORMATS for ext in f.extensions)
_LOSSY = frozenset(f.name for f in FORMATS if f.lossy)
_DEEP = frozenset(f.name for f in FORMATS if f.deep)
_NO_ALPHA = frozenset(f.name for f in FORMATS if not f.alpha)


def is_lossy(path: str | os.PathLike[str]) -> bool:
    """True when the file's format takes a quality setting (JPEG, WebP)."""
    return SAVE_FORMATS.get(Path(path).suffix.lower()) in _LOSSY


_CONVERTED_MODES = ("CMYK", "YCbCr", "LAB", "HSV")  # colour models load_image turns into RGB


def format_losses(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    exif: bool = False,
    converted_from: str | None = None,
) -> list[str]:
    """What saving `pixels` to `path`'s format would drop, in words (empty when it keeps everything).

    `exif`: the image carries EXIF data (16-bit colour TIFF is written without it).
    `converted_from`: the photo's file was CMYK (or another model) and was opened as RGB (`LoadedImage`). The
    editor's save and export dialogs show this list, so no data is lost without the user being told.
    """
    fmt = next((f for f in FORMATS if f.name == SAVE_FORMATS.get(Path(path).suffix.lower())), None)
    if fmt is None:
        return []
    losses = []
    if converted_from:
        losses.append(f"the {converted_from} colours (the photo is saved as RGB)")
    if pixels.ndim == 3 and pixels.shape[2] == 4 and not fmt.alpha:
        losses.append("the transparency (alpha channel)")
    if pixels.dtype == np.uint16 and not fmt.deep:
        losses.append("16-bit depth (saved as 8 bits per channel)")
    if exif and pixels.dtype == np.uint16 and pixels.ndim == 3 and fmt.name == "TIFF":
        losses.append("the EXIF data (not written to 16-bit colour TIFF)")
    return losses


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image with the metadata worth carrying to the output file."""

    pixels: np.ndarray  # HxW, HxWx3 or HxWx4; uint8 or uint16; EXIF orientation already applied
    exif: bytes | None  # EXIF block without the orientation tag (already applied to the pixels)
    icc: bytes | None  # ICC colour profile
    format: str  # PIL format name ("PNG", "JPEG", ...)
    # The file's colour model when it was not RGB(A) or grey and was converted to RGB on load ("CMYK", "LAB"...):
    # no format we write keeps it, so a save must say so (format_losses).
    converted_from: str | None = None


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
    if mode in _CONVERTED_MODES or mode == "RGBX":
        return np.asarray(im.convert("RGB")).copy()
    raise ImageLoadError(f"unsupported image mode {mode!r} (use 8- or 16-bit grey, RGB or RGBA)")


# OpenCV decodes these (PIL format, PIL mode) straight into a numpy array, in one copy where PIL's decode plus
# its array export take three (the export alone costs as much as the JPEG decode); other files go through PIL.
_OPENCV_READS: dict[tuple[str, str], int] = {
    ("JPEG", "L"): cv2.IMREAD_GRAYSCALE,
    ("JPEG", "RGB"): cv2.IMREAD_COLOR,
    ("PNG", "L"): cv2.IMREAD_GRAYSCALE,
    ("PNG", "RGB"): cv2.IMREAD_COLOR,
    ("PNG", "RGBA"): cv2.IMREAD_UNCHANGED,
}


def _decode_with_opencv(im: Image.Image, data: bytes) -> tuple[np.ndarray, Image.Exif] | None:
    """Decode an 8-bit JPEG or PNG with OpenCV (pixels identical to PIL's: the same libjpeg/libpng decode),
    with the EXIF orientation applied; None for anything else (PIL decodes it).

    Only files whose header PIL has read as plain 8-bit grey, RGB or RGBA qualify: no palette, no tRNS
    transparency, no 16-bit or sub-byte samples, no CMYK. A PNG's EXIF is taken from an eXIf chunk before the
    image data (where PIL finds it without decoding); PIL's getexif would decode the whole PNG to look further.
    """
    flag = _OPENCV_READS.get((im.format or "", im.mode))
    if flag is None:
        return None
    if im.format == "PNG":
        tiles = getattr(im, "tile", None) or []
        args = tiles[0][3] if tiles and len(tiles[0]) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if "transparency" in im.info or rawmode != im.mode:
            return None
        exif = Image.Exif()
        if im.info.get("exif"):
            exif.load(im.info["exif"])
    else:
        exif = im.getexif()  # JPEG: read from the APP1 segment, no decoding
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    channels = len(im.getbands())
    expected = (im.height, im.width) if channels == 1 else (im.height, im.width, channels)
    if pixels is None or pixels.dtype != np.uint8 or pixels.shape != expected:
        return None
    if channels > 1:  # BGR(A) -> RGB(A), in place
        code = cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB
        cv2.cvtColor(pixels, code, dst=pixels)
    return _orientation_transpose(pixels, int(exif.get(0x0112, 1) or 1)), exif


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
            converted_from = im.mode if im.mode in _CONVERTED_MODES else None
            if converted_from is not None:
                icc = None  # a CMYK/LAB profile describes the old channels: on the RGB pixels it would mis-colour
            fast = None if deep else _decode_with_opencv(im, data)
            if fast is not None:
                pixels, exif_obj = fast
            else:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
                im.load()
                decoded = _decode_deep_colour(data, orientation) if deep else None
                if decoded is None:
                    im = ImageOps.exif_transpose(im) or im
                    decoded = _pil_to_array(im)
                pixels = decoded
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
    return LoadedImage(pixels=pixels, exif=exif, icc=icc, format=fmt, converted_from=converted_from)


def load_rgb8(path: str | os.PathLike[str]) -> np.ndarray:
    """A photo as RGB uint8 with its EXIF orientation applied: the one loader of training and the benchmarks.

    It is `load_image` (same EXIF handling, limits and one-line ImageLoadError as the engine's input) followed
    by `to_rgb8`, so a photo looks the same to the editor, to training and to the quality benchmark.

    Shape: -> (H, W, 3) uint8
    """
    return to_rgb8(load_image(path).pixels)


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


def load_mask(
    path: str | os.PathLike[str], shape: tuple[int, ...] | None = None, what: str = "mask"
) -> np.ndarray:
    """Read a mask file as HxW bool (see `mask_from_pixels`); MaskError if unreadable or not `shape[:2]`.

    `what` names the file in that error ("guide", "forbid mask"), so a wrong-size guide is not called a mask."""
    try:
        pixels = load_image(path).pixels
    except ImageLoadError as exc:
        raise MaskError(str(exc)) from None
    mask = mask_from_pixels(pixels)
    if shape is not None:
        check_same_size(mask, shape, f"{what} {Path(path).name}")
    return mask


def check_same_size(array: np.ndarray, shape: tuple[int, ...], what: str) -> None:
    """Raise MaskError naming both sizes (WxH) when `array` is not `shape[:2]`."""
    if tuple(array.shape[:2]) != tuple(shape[:2]):
        got = _size_text(array.shape[1], array.shape[0])
        want = _size_text(shape[1], shape[0])
        raise MaskError(f"{what} is {got} but the image is {want}")


# ---------------------------------------------------------------------------------------------------- saving


def dtype_max(dtype: np.dtype | type) -> float:
    """The value of full white for an image dtype (255 or 65535)."""
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by rounding (65535 / 257 = 255 exactly); uint8 is returned as is.

    The one 16-to-8-bit conversion: saving, the editor's display copy and the training/benchmark loader use it.
    """
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """Any boundary image -> RGB uint8 (grey replicated, alpha dropped, 16 bits rounded to 8).

    Shape: (H, W) | (H, W, 3) | (H, W, 4) -> (H, W, 3)
    """
    rgb = to_uint8(pixels)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    return np.ascontiguousarray(rgb[..., :3])


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
        raise OutputExistsError(f"{path} exists", remedy=Remedy.OVERWRITE)
    if not path.parent.is_dir():
        raise InpaintError(f"{path.parent}: output folder does not exist")
    check_writable(path.parent)
    return fmt


def check_writable(folder: str | os.PathLike[str]) -> None:
    """InpaintError (one line) unless files can be created in `folder` (probed, see files.py)."""
    try:
        check_folder_writable(folder)
    except OSError as exc:
        raise InpaintError(f"{folder}: cannot write in this folder ({exc.strerror or exc})") from None


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    exif: bytes | None = None,
    icc: bytes | None = None,
    quality: int = JPEG_QUALITY.default,
    overwrite: bool = False,
    png_compression: int = PNG_COMPRESSION,
    text: dict[str, str] | None = None,
    xmp: bytes | None = None,
    stage: StagedOutputs | None = None,
) -> None:
    """Write an image atomically (temp file in the same folder, then os.replace); format from the extension.

    PNG and TIFF keep 16 bits; JPEG and WEBP are 8-bit, and JPEG has no alpha (dropped): `format_losses` says so
    beforehand. PNG is written by OpenCV's libpng at `png_compression` (0-9, see PNG_COMPRESSION), with the EXIF
    and ICC chunks added; a 16-bit colour TIFF (written by tifffile) keeps the profile, not the EXIF. `text`
    and `xmp` (e.g. `restore.provenance.embedded_note`) are embedded as metadata.py describes. Refuses an existing path
    unless `overwrite` (OutputExistsError). With `stage` the file is only renamed into place at the stage's
    commit, together with the outputs staged beside it (files.StagedOutputs).
    """
    path = Path(path)
    fmt = check_output_path(path, overwrite)
    if pixels.dtype not in (np.uint8, np.uint16) or pixels.ndim not in (2, 3):
        raise InpaintError(f"cannot save an array of dtype {pixels.dtype} and shape {pixels.shape}")

    deep = pixels.dtype == np.uint16 and fmt in _DEEP
    if not deep:
        pixels = to_uint8(pixels)
    if fmt in _NO_ALPHA and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]

    if fmt == "PNG":
        png = _encode_png(pixels, png_compression)
        if png is None:
            raise InpaintError(f"{path}: could not encode the image")
        notes = b""
        if text or xmp:
            notes = png_text_chunks(text, xmp)
        try:
            with atomic_write(path, stage=stage) as fh:
                _write_png(fh, png, exif, icc, notes)
        except OSError as exc:
            raise InpaintError(f"{path}: cannot write ({exc.strerror or exc})") from None
        return
    if deep and pixels.ndim == 3 and fmt == "TIFF":  # PIL cannot write 16-bit colour
        try:
            with atomic_write(path, stage=stage) as fh:
                _write_deep_tiff(fh, pixels, icc, (text or {}).get("Description", ""), xmp)
        except OSError as exc:
            raise InpaintError(f"{path}: cannot write ({exc.strerror or exc})") from None
        return

    try:
        with atomic_write(path, stage=stage) as fh:
            im = Image.fromarray(np.ascontiguousarray(pixels))
            params: dict[str, object] = {}
            if exif:
                params["exif"] = exif
            if icc:
                params["icc_profile"] = icc
            if fmt in _LOSSY:
                params["quality"] = int(quality)
            if text or xmp:
                params |= pil_save_params(fmt, text, xmp)
            im.save(fh, format=fmt, **params)
    except OSError as exc:
        raise InpaintError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:  # an encoder refusing the data (e.g. WebP beyond 16383 px)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InpaintError(f"{path}: cannot encode this image as {fmt} ({reason})") from None


def _write_deep_tiff(
    fh: BinaryIO, pixels: np.ndarray, icc: bytes | None, description: str, xmp: bytes | None
) -> None:
    """A 16-bit RGB(A) TIFF (tifffile), deflate level 1 (about as fast as an uncompressed write to a disk), with
    the ICC profile (34675), the note as ImageDescription (270, ASCII by the TIFF spec; the XMP has it in full)
    and the XMP packet (700). EXIF is not written: it would need its own sub-IFD (`format_losses` says so)."""
    import tifffile

    tags: list[tuple[int, int | str, int, bytes, bool]] = [(700, "B", len(xmp), xmp, True)] if xmp else []
    if icc:
        tags.append((34675, 7, len(icc), icc, True))  # UNDEFINED bytes; tags in ascending order
    buffer = io.BytesIO()  # tifffile wants a named file; `atomic_write` gives an fd-backed one
    tifffile.imwrite(
        buffer,
        np.ascontiguousarray(pixels),
        photometric="rgb",
        compression="zlib",
        compressionargs={"level": 1},
        description=description.encode("ascii", "replace").decode("ascii") or None,
        extratags=tags,
        metadata=None,  # no tifffile JSON in the description
        extrasamples=("unassalpha",) if pixels.shape[2] == 4 else None,
    )
    fh.write(buffer.getbuffer())


def _encode_png(pixels: np.ndarray, level: int) -> np.ndarray | None:
    """PNG bytes (as a uint8 array, not copied) of a grey, RGB or RGBA uint8/uint16 image; None on failure."""
    if not 0 <= int(level) <= 9:
        raise InpaintError(f"PNG compression must be 0 to 9, got {level}")
    if level == 0:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 0, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_DEFAULT]
        png_filter = getattr(cv2, "IMWRITE_PNG_FILTER_NONE", None)
    elif level <= 3:
        params = [
            cv2.IMWRITE_PNG_COMPRESSION,
            int(level),
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
        ]
        png_filter = getattr(cv2, "IMWRITE_PNG_FILTER_PAETH", None)
    else:
        params = [
            cv2.IMWRITE_PNG_COMPRESSION,
            int(level),
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_DEFAULT,
        ]
        png_filter = getattr(cv2, "IMWRITE_PNG_ALL_FILTERS", None)
    if png_filter is not None and hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.11; else libpng's choice
        params += [cv2.IMWRITE_PNG_FILTER, png_filter]
    if pixels.ndim == 3:  # OpenCV writes BGR(A)
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        pixels = cv2.cvtColor(np.ascontiguousarray(pixels), code)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(pixels), params)
    return buf if ok else None


def _write_png(
    fh: BinaryIO, png: np.ndarray, exif: bytes | None, icc: bytes | None, notes: bytes = b""
) -> None:
    """Write PNG bytes with iCCP and eXIf chunks inserted after IHDR (both must precede the image data), and
    `notes` (ready-made text chunks) after them."""
    head = 8 + 8 + 13 + 4  # signature, then the IHDR chunk (13 data bytes), always first
    view = png.reshape(-1).data  # the encoder's buffer, not copied
    if bytes(view[12:16]) != b"IHDR":
        raise InpaintError("the PNG encoder wrote an unexpected header")
    extra = b""
    if icc:
        extra += png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc))
    if exif:
        extra += png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    extra += notes
    fh.write(view[:head])
    fh.write(extra)
    fh.write(view[head:])
