"""Training data: photos from folders or a .pack, random scale / crop / flip, per-sample masks and guides.

Every sample is a pure function of (seed, global sample index): its photo, crop, flip, mask and guide come
from `sample_rng(seed, index)`. The index of sample i of step s on rank r is `(s * world + r) * batch + i`
(`batch_indices`), so `--resume` continues exactly, whatever the number of DataLoader workers, and DDP ranks
never see the same sample. Photos are drawn with replacement (no epochs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from inpaint_core.errors import ImageLoadError
from inpaint_core.guide import edges_for_guide
from inpaint_core.hole_masks import BoxRule, augment_mask, free_form_mask, list_training_masks, read_mask
from inpaint_core.image_io import IMAGE_EXTENSIONS, load_rgb8
from inpaint_core.image_ops import resize_short_side
from inpaint_core.train.config import TrainConfig


def list_photos(folders: Sequence[str | Path]) -> list[Path]:
    """Photo files (`image_io.IMAGE_EXTENSIONS`) under the folders, recursively, sorted per folder."""
    found: list[Path] = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise ImageLoadError(f"photo folder not found: {root}")
        found.extend(
            sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        )
    if not found:
        raise ImageLoadError(f"no photos in {', '.join(str(f) for f in folders)}")
    return found


def prepared_short_side(config: TrainConfig) -> int:
    """The short side photos are resized to before cropping (the pack stores photos at this size)."""
    return round(config.size * config.short_side_ratio)


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator that decides everything about one sample."""
    return np.random.default_rng([seed, index])


def batch_indices(step: int, rank: int, world: int, batch: int) -> list[int]:
    """Global sample indices of one step on one rank."""
    first = (step * world + rank) * batch
    return list(range(first, first + batch))


@dataclass(frozen=True)
class Crop:
    """A square crop of side `side` at (top, left), resized to the training size, optionally mirrored."""

    top: int
    left: int
    side: int
    flip: bool


def draw_crop(rng: np.random.Generator, height: int, width: int, size: int) -> Crop:
    """Random scale (crop side in [size, short side]), position and horizontal flip."""
    short = min(height, width)
    side = int(rng.integers(size, short + 1)) if short > size else short
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    return Crop(top, left, side, bool(rng.random() < 0.5))


def crop_numpy(image: np.ndarray, crop: Crop, size: int) -> np.ndarray:
    """Shape: (H, W, 3) uint8 -> (size, size, 3) uint8."""
    patch = image[crop.top : crop.top + crop.side, crop.left : crop.left + crop.side]
    if crop.side != size:
        patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    if crop.flip:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


class MaskSource:
    """Draws a sample's mask: the published free-form mask, or (at `mask_dir_ratio`) one of `mask_dir`'s training
    masks (index % 4 != 0; a folder of PNGs or a mask pack), randomly flipped, turned and scaled."""

    def __init__(self, config: TrainConfig) -> None:
        from inpaint_core.train.pack import is_mask_pack, read_mask_pack

        self.size = config.size
        self.rule = BoxRule(config.bbox_size, config.bbox_size, config.bbox_max_delta, config.bbox_margin)
        self.ratio = config.mask_dir_ratio if config.mask_dir else 0.0
        self.files: list[Path] = []
        self.arrays: list[np.ndarray] = []
        if config.mask_dir and self.ratio > 0:
            if is_mask_pack(config.mask_dir):
                self.arrays = read_mask_pack(config.mask_dir)
            else:
                self.files = list_training_masks(config.mask_dir)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Shape: returns (size, size) uint8 in {0, 1}."""
        count = len(self.arrays) or len(self.files)
        if count and rng.random() < self.ratio:
            k = int(rng.integers(count))
            grey = self.arrays[k] if self.arrays else read_mask(self.files[k])
            return augment_mask(grey, self.size, rng)
        return free_form_mask(self.size, self.size, rng, self.rule)


def mask_and_guide(
    crop: np.ndarray, rng: np.random.Generator, masks: MaskSource, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    """A sample's mask and guide (edges inside the hole; empty with probability guide_drop).

    Shape: crop (S, S, 3) or grey (S, S) uint8 -> mask (S, S), guide (S, S), both uint8 {0, 1}.
    """
    mask = masks.draw(rng)
    keep_guide = config.guide_channel and rng.random() >= config.guide_drop
    if keep_guide:
        guide = edges_for_guide(
            crop, mask, blur_sigma=config.canny_blur_sigma, low=config.canny_low, high=config.canny_high
        )
    else:
        guide = np.zeros_like(mask)
    return mask, guide


class PhotoSource:
    """Prepared photos (short side = ratio * size), from decoded arrays or loaded lazily from files."""

    def __init__(self, photos: Sequence[Path | np.ndarray], short_side: int) -> None:
        self.items: list[Path | np.ndarray] = list(photos)
        self.short_side = short_side

    def __len__(self) -> int:
        return len(self.items)

    def get(self, index: int) -> np.ndarray:
        item = self.items[index]
        if isinstance(item, np.ndarray):
            return (
                item if min(item.shape[:2]) == self.short_side else resize_short_side(item, self.short_side)
            )
        return resize_short_side(load_rgb8(item), self.short_side)


class TrainSamples(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Map-style dataset over global sample indices (any non-negative int). Runs in DataLoader workers.

    Returns (image (3,S,S) uint8, mask (1,S,S) uint8, guide (1,S,S) uint8).
    """

    def __init__(self, source: PhotoSource, config: TrainConfig) -> None:
        self.source = source
        self.config = config
        self.masks = MaskSource(config)

    def __len__(self) -> int:
        return 2**62  # indices are unbounded; the batch sampler decides which are read

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = sample_rng(self.config.seed, index)
        photo = self.source.get(int(rng.integers(len(self.source))))
        crop = crop_numpy(
            photo, draw_crop(rng, photo.shape[0], photo.shape[1], self.config.size), self.config.size
        )
        mask, guide = mask_and_guide(crop, rng, self.masks, self.config)
        return (
            torch.from_numpy(crop).permute(2, 0, 1).contiguous(),
            torch.from_numpy(mask)[None],
            torch.from_numpy(guide)[None],
        )


class StepBatches:
    """Batch sampler for DataLoader: the indices of steps start..end-1 on this rank."""

    def __init__(self, start: int, end: int, rank: int, world: int, batch: int) -> None:
        self.start, self.end, self.rank, self.world, self.batch = start, end, rank, world, batch

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.end):
            yield batch_indices(step, self.rank, self.world, self.batch)

    def __len__(self) -> int:
        return max(0, self.end - self.start)


class DevicePhotos:
    """Prepared photos kept on the training device as uint8 (3, h, w) tensors; crops and flips run there.

    Masks and guides are still drawn on the CPU (PIL strokes, cv2.Canny) from the same per-sample generator;
    only the grey crops travel back for Canny (S*S bytes per sample).
    """

    def __init__(self, photos: Sequence[np.ndarray], config: TrainConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        self.photos = [torch.from_numpy(np.array(p, copy=True)).permute(2, 0, 1).to(device) for p in photos]
        self.masks = MaskSource(config)

    def nbytes(self) -> int:
        return sum(p.numel() for p in self.photos)

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Shape: returns image (B,3,S,S), mask (B,1,S,S), guide (B,1,S,S), uint8 on the device."""
        size = self.config.size
        crops: list[torch.Tensor] = []
        rngs: list[np.random.Generator] = []
        for index in indices:
            rng = sample_rng(self.config.seed, index)
            photo = self.photos[int(rng.integers(len(self.photos)))]
            crop = draw_crop(rng, int(photo.shape[1]), int(photo.shape[2]), size)
            patch = photo[:, crop.top : crop.top + crop.side, crop.left : crop.left + crop.side]
            if crop.side != size:
                resized = F.interpolate(
                    patch[None].float(),
                    size=(size, size),
                    mode="bilinear",
                    antialias=True,
                    align_corners=False,
                )
                patch = resized[0].round_().clamp_(0, 255).to(torch.uint8)
            if crop.flip:
                patch = patch.flip(-1)
            crops.append(patch)
            rngs.append(rng)
        images = torch.stack(crops)  # (B, 3, S, S) uint8
        weights = torch.tensor([0.299, 0.587, 0.114], device=self.device).view(1, 3, 1, 1)
        grey = (
            (images.float() * weights).sum(1).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()
        )  # (B, S, S)
        masks, guides = [], []
        for rng, g in zip(rngs, grey, strict=True):
            mask, guide = mask_and_guide(g, rng, self.masks, self.config)
            masks.append(mask)
            guides.append(guide)
        mask_t = torch.from_numpy(np.stack(masks))[:, None].to(self.device)
        guide_t = torch.from_numpy(np.stack(guides))[:, None].to(self.device)
        return images, mask_t, guide_t


def to_model_inputs(
    image: torch.Tensor,
    mask: torch.Tensor,
    guide: torch.Tensor,
    device: torch.device,
    channels_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """uint8 batches -> float model tensors: image in [-1, 1], mask and guide in {0, 1}.

    Shape: (B,3,S,S), (B,1,S,S), (B,1,S,S) -> same shapes, float32.
    """
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    img = (image.to(device, non_blocking=True).float() / 127.5 - 1.0).contiguous(memory_format=fmt)
    m = mask.to(device, non_blocking=True).float().contiguous(memory_format=fmt)
    g = guide.to(device, non_blocking=True).float().contiguous(memory_format=fmt)
    return img, m, g
