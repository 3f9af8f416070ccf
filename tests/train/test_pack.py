"""The .pack format: round trip, sizes, refusal to overwrite, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.errors import ImageLoadError
from inpaint_core.train.data import list_photos
from inpaint_core.train.pack import is_pack, read_pack, write_pack
from tests.helpers.photos import write_photos


def _photos(folder: Path, count: int = 3) -> Path:
    """Photos of several sizes, PNG and JPEG."""
    return write_photos(folder, count, height=100, width=160, step=20, jpeg_every_other=True)


def test_round_trip(tmp_path: Path) -> None:
    _photos(tmp_path / "photos")
    paths = list_photos([tmp_path / "photos"])
    header = write_pack(paths, tmp_path / "a.pack", size=64)
    assert is_pack(tmp_path / "a.pack") and not is_pack(paths[0])
    read_header, photos = read_pack(tmp_path / "a.pack")
    assert read_header == header and header.short_side == 80
    assert len(photos) == 3
    for entry, photo, path in zip(header.entries, photos, paths, strict=True):
        assert photo.dtype == np.uint8 and min(photo.shape[:2]) == 80
        assert photo.shape[:2] == (entry.height, entry.width)
        original = np.asarray(Image.open(path).convert("RGB").resize((entry.width, entry.height)))
        assert np.abs(photo.astype(int) - original.astype(int)).mean() < 4  # JPEG q92 of a smooth image


def test_refuses_to_overwrite_and_rejects_foreign_files(tmp_path: Path) -> None:
    _photos(tmp_path / "photos", 1)
    paths = list_photos([tmp_path / "photos"])
    write_pack(paths, tmp_path / "a.pack", size=64)
    with pytest.raises(ImageLoadError):
        write_pack(paths, tmp_path / "a.pack", size=64)
    write_pack(paths, tmp_path / "a.pack", size=32, overwrite=True)
    assert read_pack(tmp_path / "a.pack")[0].short_side == 40
    (tmp_path / "bad.pack").write_bytes(b"not a pack at all")
    with pytest.raises(ImageLoadError):
        read_pack(tmp_path / "bad.pack")
