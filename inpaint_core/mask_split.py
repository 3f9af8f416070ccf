"""The split of a mask set between training and the quality benchmark: every 4th mask is held out.

A mask's index is the number in its file name (the NVIDIA irregular set: 00000.png ... 11999.png), or its
position in the sorted list when the name is not a number. Training reads only masks whose index % 4 != 0;
`bench quality` (and `bench figure`) draw only masks whose index % 4 == 0. Because the split is by index, each
NVIDIA hole-ratio block of 2,000 keeps 500 benchmark masks and gives 1,500 to training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

HOLDOUT_EVERY = 4


def mask_index(path: Path, position: int) -> int:
    """The number in the file name (e.g. 02004.png -> 2004), else `position` (its place in the sorted list)."""
    stem = path.stem
    return int(stem) if stem.isdigit() else position


def is_benchmark_mask(index: int) -> bool:
    return index % HOLDOUT_EVERY == 0


def benchmark_masks(files: Sequence[Path]) -> list[Path]:
    """The held-out masks of a sorted file list (index % 4 == 0): the only ones the benchmark reads."""
    return [p for i, p in enumerate(files) if is_benchmark_mask(mask_index(p, i))]


def training_masks(files: Sequence[Path]) -> list[Path]:
    """The masks of a sorted file list that training may read (index % 4 != 0)."""
    return [p for i, p in enumerate(files) if not is_benchmark_mask(mask_index(p, i))]
