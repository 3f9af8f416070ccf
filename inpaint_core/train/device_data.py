"""The device pipeline (`pipeline="device"`): every step's batch is made on the training device, with no host sync.

- Photos (a decoded .pack) live on the device as one flat uint8 buffer; each sample's photo, crop side in
  [size, short side], position and mirror are drawn there and the crop is resampled bilinearly by a gather.
- Masks come from a bank drawn once per call on the CPU (`mask_bank` masks: free-form, mixed with a mask
  folder's or mask pack's training masks at `mask_dir_ratio`), kept on the device; each sample picks one and one
  of its 8 flips/transposes.
- The guide is the torch Canny of canny.py inside the hole, dropped with probability `guide_drop`.

The random draws of step s on rank r come from a device generator seeded with (seed, s, r), so the host only
launches work and a batch is a function of (seed, step, rank, mask bank); each call draws its own bank (keyed by
its first step), so a resumed run sees other masks than an uninterrupted one would. Differences from the host pipeline: the crop is
bilinear (the host one uses an area filter; the scale is at most 1.25 so aliasing stays small), and the guide's
edges agree with the cv2 recipe to F1 0.996 on real photos (canny.py: exact but for hysteresis length).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from inpaint_core.train.canny import guide_from_images
from inpaint_core.train.config import TrainConfig
from inpaint_core.train.data import MaskSource

BANK_STREAM = 104_729  # separates the mask bank's seeds from the samples' and the validation's
STEP_STREAM = 15_485_863


def step_seed(seed: int, step: int, rank: int) -> int:
    """A 63-bit seed for the device generator of one step on one rank."""
    state = np.random.SeedSequence([seed, STEP_STREAM, step, rank]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


class PhotoBank:
    """Photos on the device as one flat uint8 buffer (each photo H x W x 3, row-major) plus their offsets/sizes."""

    def __init__(self, photos: Sequence[np.ndarray], device: torch.device) -> None:
        if not photos:
            raise ValueError("the photo bank needs at least one photo")
        sizes = [int(p.size) for p in photos]
        self.offsets = torch.tensor(np.cumsum([0, *sizes[:-1]]), dtype=torch.int64, device=device)
        self.heights = torch.tensor([p.shape[0] for p in photos], dtype=torch.int64, device=device)
        self.widths = torch.tensor([p.shape[1] for p in photos], dtype=torch.int64, device=device)
        flat = np.concatenate([np.ascontiguousarray(p, dtype=np.uint8).reshape(-1) for p in photos])
        self.flat = torch.from_numpy(flat).to(device)
        self.device = device

    def __len__(self) -> int:
        return int(self.heights.shape[0])

    def nbytes(self) -> int:
        return int(self.flat.numel())

    def crops(
        self,
        index: torch.Tensor,
        side: torch.Tensor,
        top: torch.Tensor,
        left: torch.Tensor,
        flip: torch.Tensor,
        size: int,
    ) -> torch.Tensor:
        """Square crops of side `side` at (top, left), resampled bilinearly to size x size, optionally mirrored.

        Shape: index, side, top, left (B,) int64; flip (B,) bool -> (B, 3, size, size) float in [0, 255].
        """
        h, w = self.heights[index], self.widths[index]  # (B,)
        scale = side.float() / size
        centres = torch.arange(size, device=self.device, dtype=torch.float32) + 0.5
        xs = (
            left[:, None].float() + centres[None] * scale[:, None] - 0.5
        )  # (B, S) source column of each output
        xs = torch.where(flip[:, None], xs.flip(1), xs)
        ys = top[:, None].float() + centres[None] * scale[:, None] - 0.5  # (B, S) source row
        xs = torch.minimum(xs.clamp(min=0), (w - 1)[:, None].float())
        ys = torch.minimum(ys.clamp(min=0), (h - 1)[:, None].float())
        x0, y0 = xs.floor().long(), ys.floor().long()
        x1 = torch.minimum(x0 + 1, (w - 1)[:, None])
        y1 = torch.minimum(y0 + 1, (h - 1)[:, None])
        fx = (xs - x0)[:, None, :, None]  # (B, 1, S, 1): weight of column x1
        fy = (ys - y0)[:, :, None, None]  # (B, S, 1, 1): weight of row y1
        channel = torch.arange(3, device=self.device)
        base = self.offsets[index][:, None]  # (B, 1): where each sample's photo starts

        def read(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
            at = (base + rows * (w[:, None] * 3))[:, :, None] + (cols * 3)[:, None, :]  # (B, S, S)
            return self.flat[at[..., None] + channel].float()  # (B, S, S, 3)

        top_row = read(y0, x0) * (1 - fx) + read(y0, x1) * fx
        bottom_row = read(y1, x0) * (1 - fx) + read(y1, x1) * fx
        return (top_row * (1 - fy) + bottom_row * fy).permute(0, 3, 1, 2)  # (B, 3, S, S)


def build_mask_bank(config: TrainConfig, count: int, key: int, device: torch.device) -> torch.Tensor:
    """`count` masks drawn on the CPU (mask i from a generator seeded with (seed, BANK_STREAM, key, i)).

    Shape: returns (count, 1, size, size) uint8 {0, 1} on `device`.
    """
    source = MaskSource(config)
    masks = [source.draw(np.random.default_rng([config.seed, BANK_STREAM, key, i])) for i in range(count)]
    return torch.from_numpy(np.stack(masks))[:, None].to(device)


class DeviceBatches:
    """Makes each step's (image, mask, guide) on the device; see the module docstring."""

    def __init__(
        self,
        photos: Sequence[np.ndarray] | PhotoBank,
        config: TrainConfig,
        device: torch.device,
        bank_key: int,
        rank: int = 0,
        bank_size: int | None = None,
    ) -> None:
        bank = photos if isinstance(photos, PhotoBank) else PhotoBank(photos, device)
        short = int(torch.minimum(bank.heights, bank.widths).min())
        if short < config.size:
            raise ValueError(f"every photo needs a short side of at least {config.size} px (found {short})")
        self.config = config
        self.device = device
        self.rank = rank
        self.photos = bank
        self.bank = build_mask_bank(config, bank_size or config.mask_bank, bank_key, device)
        self.generator = torch.Generator(device=device)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The batch of `step`.

        Shape: returns image (B,3,S,S) in [-1, 1], mask (B,1,S,S) {0,1}, guide (B,1,S,S) {0,1}, float32.
        """
        cfg, dev, g = self.config, self.device, self.generator
        g.manual_seed(step_seed(cfg.seed, step, self.rank))
        n, size = cfg.batch, cfg.size

        def uniform() -> torch.Tensor:
            return torch.rand(n, generator=g, device=dev)

        index = torch.randint(len(self.photos), (n,), generator=g, device=dev)
        h, w = self.photos.heights[index], self.photos.widths[index]
        side = size + (uniform() * (torch.minimum(h, w) - size + 1).float()).long()  # [size, short side]
        top = (uniform() * (h - side + 1).float()).long()
        left = (uniform() * (w - side + 1).float()).long()
        images = self.photos.crops(index, side, top, left, uniform() < 0.5, size)  # (B, 3, S, S) 0..255

        masks = self.bank[torch.randint(self.bank.shape[0], (n,), generator=g, device=dev)]  # (B,1,S,S)
        turn = torch.rand(n, 3, generator=g, device=dev) < 0.5
        masks = torch.where(turn[:, 0].view(n, 1, 1, 1), masks.transpose(2, 3), masks)
        masks = torch.where(turn[:, 1].view(n, 1, 1, 1), masks.flip(3), masks)
        masks = torch.where(turn[:, 2].view(n, 1, 1, 1), masks.flip(2), masks).float()

        keep = uniform() >= cfg.guide_drop
        if cfg.guide_channel:
            guide = guide_from_images(
                images, masks, keep, cfg.canny_low, cfg.canny_high, cfg.canny_blur_sigma
            )
        else:
            guide = torch.zeros_like(masks)
        return images / 127.5 - 1.0, masks, guide
