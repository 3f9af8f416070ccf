"""The .pack format: one file of pre-sized training photos, JPEG-encoded, with an offset table.

Layout (little-endian):
    8 bytes   magic b"DFSPACK1"
    8 bytes   header length N (uint64)
    N bytes   header, UTF-8 JSON: {"format": "deepfill-studio-pack/1", "size": S, "short_side": P,
              "quality": Q, "entries": [{"name", "offset", "length", "height", "width"}, ...]}
    ...       the JPEG blobs; offsets are relative to the first byte after the header

Each photo is resized so its short side is `short_side` (default 1.25 x the training size), so random crops
between S and P px still have room for scale augmentation. ~660 photos at S=256 take about 30 MB.
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

from inpaint_core.errors import ImageLoadError
from inpaint_core.files import atomic_write
from inpaint_core.image_io import load_rgb8
from inpaint_core.train.data import resize_short_side

MAGIC = b"DFSPACK1"
FORMAT = "deepfill-studio-pack/1"


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


def is_pack(path: str | Path) -> bool:
    """True for an existing file that starts with the pack magic."""
    p = Path(path)
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


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
    head = json.dumps(
        {
            "format": FORMAT,
            "size": size,
            "short_side": short_side,
            "quality": quality,
            "entries": [e.__dict__ for e in entries],
        }
    ).encode("utf-8")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_path) as fh:
        fh.write(MAGIC)
        fh.write(struct.pack("<Q", len(head)))
        fh.write(head)
        for blob in blobs:
            fh.write(blob)
    return header


def read_pack_header(path: str | Path) -> tuple[PackHeader, int]:
    """The header and the file offset of the first blob."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise ImageLoadError(f"{p} is not a training pack")
            (n,) = struct.unpack("<Q", fh.read(8))
            raw: dict[str, Any] = json.loads(fh.read(n).decode("utf-8"))
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImageLoadError(f"cannot read pack {p}: {exc}") from exc
    if raw.get("format") != FORMAT:
        raise ImageLoadError(f"{p}: unknown pack format {raw.get('format')!r}")
    entries = tuple(PackEntry(**e) for e in raw["entries"])
    header = PackHeader(int(raw["size"]), int(raw["short_side"]), int(raw["quality"]), entries)
    return header, len(MAGIC) + 8 + n


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
