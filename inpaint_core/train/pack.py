"""The .pack format: one file of pre-sized training photos, JPEG-encoded, with an offset table.

Layout (little-endian):
    8 bytes   magic b"DFSPACK1"
    8 bytes   header length N (uint64)
    N bytes   header, UTF-8 JSON: {"format": "deepfill-studio-pack/1", "size": S, "short_side": P,
              "quality": Q, "entries": [{"name", "offset", "length", "height", "width"}, ...]}
    ...       the JPEG blobs; offsets are relative to the first byte after the header

Each photo is resized so its short side is `short_side` (default 1.25 x the training size), so random crops
between S and P px still have room for scale augmentation. The 661 photos of ../shared/data/train at S=256
take 34.8 MB at JPEG quality 92 and 25.2 MB at 85 (the quality to carry to a GPU machine, docs/TRAINING.md).

A mask pack has the same layout with the magic b"DFSMASK1", format "deepfill-studio-maskpack/1", `quality` 0
and PNG blobs of grey masks (white = hole) at size x size: the training masks of a folder (index % 4 != 0,
inpaint_core/mask_split.py), small enough to travel with the photos (about 1.4 kB a mask at 256).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inpaint_core.errors import ImageLoadError, MaskError
from inpaint_core.files import atomic_write
from inpaint_core.image_io import load_rgb8
from inpaint_core.image_ops import resize_short_side
from inpaint_core.mask_split import is_benchmark_mask, mask_index

MAGIC = b"DFSPACK1"
FORMAT = "deepfill-studio-pack/1"
MASK_MAGIC = b"DFSMASK1"
MASK_FORMAT = "deepfill-studio-maskpack/1"


@dataclass(frozen=True)
class PackEntry:
    name: str
    offset: int
    length: int
    height: int
    width: int


@dataclass(frozen=True)
class PackHeader:
    size: int
    short_side: int
    quality: int
    entries: tuple[PackEntry, ...]


def is_pack(path: str | Path, magic: bytes = MAGIC) -> bool:
    """True for an existing file that starts with the (photo) pack magic."""
    p = Path(path)
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        return fh.read(len(magic)) == magic


def is_mask_pack(path: str | Path) -> bool:
    return is_pack(path, MASK_MAGIC)


def write_pack(
    photos: Sequence[Path],
    out: str | Path,
    size: int,
    short_side_ratio: float = 1.25,
    quality: int = 92,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PackHeader:
    """Resize each photo (short side = ratio * size), JPEG-encode it and write all into one file, atomically.

    `progress(done, total)` is called after each photo.
    """
    out_path = Path(out)
    if out_path.exists() and not overwrite:
        raise ImageLoadError(f"{out_path} exists; choose another name or delete it")
    if not 1 <= quality <= 100:
        raise ImageLoadError(f"JPEG quality must lie in 1..100, got {quality}")
    short_side = round(size * short_side_ratio)
    blobs: list[bytes] = []
    entries: list[PackEntry] = []
    offset = 0
    for done, path in enumerate(photos, start=1):
        rgb = resize_short_side(load_rgb8(path), short_side)
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        if not ok:
            raise ImageLoadError(f"cannot encode {path} as JPEG")
        blob = buf.tobytes()
        name = f"{Path(path).parent.name}/{Path(path).name}"
        entries.append(PackEntry(name, offset, len(blob), int(rgb.shape[0]), int(rgb.shape[1])))
        blobs.append(blob)
        offset += len(blob)
        if progress is not None:
            progress(done, len(photos))
    header = PackHeader(size, short_side, quality, tuple(entries))
    _write_container(out_path, MAGIC, FORMAT, header, blobs)
    return header


def _write_container(
    out_path: Path, magic: bytes, fmt: str, header: PackHeader, blobs: Sequence[bytes]
) -> None:
    """magic, header length, JSON header, blobs: into a temp file, then renamed over `out_path`."""
    head = json.dumps(
        {
            "format": fmt,
            "size": header.size,
            "short_side": header.short_side,
            "quality": header.quality,
            "entries": [e.__dict__ for e in header.entries],
        }
    ).encode("utf-8")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_path) as fh:
        fh.write(magic)
        fh.write(struct.pack("<Q", len(head)))
        fh.write(head)
        for blob in blobs:
            fh.write(blob)


def read_pack_header(path: str | Path, magic: bytes = MAGIC, fmt: str = FORMAT) -> tuple[PackHeader, int]:
    """The header and the file offset of the first blob."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            if fh.read(len(magic)) != magic:
                raise ImageLoadError(f"{p} is not a {'mask' if magic == MASK_MAGIC else 'training'} pack")
            (n,) = struct.unpack("<Q", fh.read(8))
            raw: dict[str, Any] = json.loads(fh.read(n).decode("utf-8"))
        if raw.get("format") != fmt:
            raise ImageLoadError(f"{p}: unknown pack format {raw.get('format')!r}")
        entries = tuple(PackEntry(**e) for e in raw["entries"])
        header = PackHeader(int(raw["size"]), int(raw["short_side"]), int(raw["quality"]), entries)
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ImageLoadError(f"cannot read pack {p}: {exc}") from exc
    return header, len(magic) + 8 + n


def read_pack(path: str | Path) -> tuple[PackHeader, list[np.ndarray]]:
    """Decode every photo of a pack: RGB uint8 (h, w, 3) arrays, in pack order."""
    header, base = read_pack_header(path)
    data = Path(path).read_bytes()
    photos: list[np.ndarray] = []
    for e in header.entries:
        blob = np.frombuffer(data, np.uint8, count=e.length, offset=base + e.offset)
        bgr = cv2.imdecode(blob, cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape[:2] != (e.height, e.width):
            raise ImageLoadError(f"{path}: entry {e.name} is corrupt")
        photos.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return header, photos


def write_mask_pack(
    files: Sequence[Path],
    out: str | Path,
    size: int = 256,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PackHeader:
    """Resize each mask to size x size (area filter, then > 127 = hole) and store it as a PNG blob, atomically.

    The files must be training masks (mask_split.py): a held-out (benchmark) mask is refused.
    """
    from inpaint_core.hole_masks import read_mask

    out_path = Path(out)
    if out_path.exists() and not overwrite:
        raise MaskError(f"{out_path} exists; choose another name or delete it")
    blobs: list[bytes] = []
    entries: list[PackEntry] = []
    offset = 0
    for done, path in enumerate(files, start=1):
        if path.stem.isdigit() and is_benchmark_mask(mask_index(path, 0)):
            raise MaskError(
                f"{path.name} is a held-out benchmark mask (index % 4 == 0); it may not be trained on"
            )
        grey = cv2.resize(read_mask(path), (size, size), interpolation=cv2.INTER_AREA)
        hole = np.where(grey > 127, 255, 0).astype(np.uint8)
        ok, buf = cv2.imencode(".png", hole, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise MaskError(f"cannot encode {path} as PNG")
        blob = buf.tobytes()
        entries.append(PackEntry(path.name, offset, len(blob), size, size))
        blobs.append(blob)
        offset += len(blob)
        if progress is not None:
            progress(done, len(files))
    header = PackHeader(size, size, 0, tuple(entries))
    _write_container(out_path, MASK_MAGIC, MASK_FORMAT, header, blobs)
    return header


def read_mask_pack(path: str | Path) -> list[np.ndarray]:
    """Decode every mask of a mask pack: grey uint8 (size, size) arrays, white = hole, in pack order."""
    header, base = read_pack_header(path, MASK_MAGIC, MASK_FORMAT)
    for e in header.entries:  # a pack written by hand must not smuggle in benchmark masks
        stem = Path(e.name).stem
        if stem.isdigit() and is_benchmark_mask(int(stem)):
            raise MaskError(f"{path}: {e.name} is a held-out benchmark mask (index % 4 == 0)")
    data = Path(path).read_bytes()
    masks: list[np.ndarray] = []
    for e in header.entries:
        grey = cv2.imdecode(np.frombuffer(data, np.uint8, count=e.length, offset=base + e.offset), 0)
        if grey is None or grey.shape != (e.height, e.width):
            raise MaskError(f"{path}: entry {e.name} is corrupt")
        masks.append(grey)
    return masks
