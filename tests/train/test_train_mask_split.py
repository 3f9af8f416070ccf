"""The NVIDIA index split: training reads only masks with index % 4 != 0, the benchmark only index % 4 == 0."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint_core.bench.quality import mask_bins
from inpaint_core.errors import MaskError
from inpaint_core.hole_masks import list_mask_files, list_training_masks
from inpaint_core.mask_split import benchmark_masks, mask_index, training_masks
from inpaint_core.train.config import TrainConfig
from inpaint_core.train.data import MaskSource
from inpaint_core.train.pack import (
    MASK_FORMAT,
    MASK_MAGIC,
    PackEntry,
    PackHeader,
    _write_container,
    read_mask_pack,
    write_mask_pack,
)

SHARED_MASKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "masks" / "nvidia_irregular"


def write_masks(folder: Path, count: int, size: int = 32) -> Path:
    """Numbered masks; the held-out ones (index % 4 == 0) are all hole, the training ones a small square."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        m = np.zeros((size, size), np.uint8)
        if i % 4 == 0:
            m[:] = 255
        else:
            m[size // 4 : size // 2, size // 4 : size // 2] = 255
        cv2.imwrite(str(folder / f"{i:05d}.png"), m)
    return folder


def test_index_from_name_or_position() -> None:
    assert mask_index(Path("02004.png"), 7) == 2004
    assert mask_index(Path("hole_a.png"), 7) == 7
    names = [Path(f"{i:05d}.png") for i in range(2, 14)]
    held, train = benchmark_masks(names), training_masks(names)
    assert [p.stem for p in held] == ["00004", "00008", "00012"]
    assert set(held).isdisjoint(train) and len(held) + len(train) == len(names)


def test_training_draws_no_benchmark_mask(tmp_path: Path) -> None:
    folder = write_masks(tmp_path / "m", 12)
    files = list_training_masks(folder)
    assert [int(p.stem) % 4 for p in files] == [1, 2, 3] * 3
    config = TrainConfig(size=32, mask_dir=str(folder), mask_dir_ratio=1.0)
    source = MaskSource(config)
    assert source.files == files
    # a held-out mask would be (almost) all hole after any turn or zoom; training masks are a small square
    ratios = [source.draw(np.random.default_rng(i)).mean() for i in range(40)]
    assert max(ratios) < 0.3


def test_benchmark_draws_only_held_out_masks(tmp_path: Path) -> None:
    folder = write_masks(tmp_path / "m", 48)  # 6 blocks of 8
    bins = mask_bins(folder)
    assert all(int(p.stem) % 4 == 0 for b in bins for p in b)
    assert sum(len(b) for b in bins) == 12
    assert not {p for b in bins for p in b} & set(list_training_masks(folder))


def test_mask_pack_holds_training_masks_only(tmp_path: Path) -> None:
    folder = write_masks(tmp_path / "m", 8)
    pack = tmp_path / "masks.pack"
    header = write_mask_pack(list_training_masks(folder), pack, size=16)
    assert [e.name for e in header.entries] == ["00001.png", "00002.png", "00003.png", "00005.png", "00006.png", "00007.png"]  # fmt: skip
    masks = read_mask_pack(pack)
    assert len(masks) == 6 and masks[0].shape == (16, 16) and set(np.unique(masks[0])) == {0, 255}
    with pytest.raises(MaskError, match="held-out"):
        write_mask_pack(list_mask_files(folder), tmp_path / "all.pack", size=16)
    # a pack made by other means that smuggles in a benchmark mask is refused on reading
    _, png = cv2.imencode(".png", np.zeros((16, 16), np.uint8))
    bad = PackHeader(16, 16, 0, (PackEntry("00004.png", 0, len(png), 16, 16),))
    _write_container(tmp_path / "bad.pack", MASK_MAGIC, MASK_FORMAT, bad, [png.tobytes()])
    with pytest.raises(MaskError, match="held-out"):
        read_mask_pack(tmp_path / "bad.pack")
    # the mask pack feeds MaskSource like a folder
    source = MaskSource(TrainConfig(size=32, mask_dir=str(pack), mask_dir_ratio=1.0))
    assert len(source.arrays) == 6 and source.draw(np.random.default_rng(0)).shape == (32, 32)


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_MASKS.is_dir(), reason="../shared/data/masks absent")
def test_nvidia_split_counts() -> None:
    train = list_training_masks(SHARED_MASKS)
    assert len(train) == 9000 and all(int(p.stem) % 4 for p in train)
    assert sum(len(b) for b in mask_bins(SHARED_MASKS)) == 3000
