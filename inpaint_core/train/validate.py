"""Validation (hole PSNR / L1 / SSIM on fixed held-out photos and fixed masks) and sample grids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from inpaint_core.files import atomic_write
from inpaint_core.guide import edges_for_guide
from inpaint_core.hole_masks import BoxRule, free_form_mask
from inpaint_core.image_io import load_rgb8
from inpaint_core.image_ops import resize_short_side
from inpaint_core.metrics import hole_metrics
from inpaint_core.model import GeneratorOutput
from inpaint_core.train.config import TrainConfig

VAL_STREAM = 7_919  # separates the validation masks' seeds from the training samples' seeds


@dataclass(frozen=True)
class ValSet:
    """Fixed validation inputs. Shape: images (N,3,S,S), masks (N,1,S,S), guides (N,1,S,S), uint8 on the CPU."""

    images: torch.Tensor
    masks: torch.Tensor
    guides: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


def split_indices(count: int, val_count: int, seed: int) -> tuple[list[int], list[int]]:
    """A seeded split of `count` items into (train, val); at least one item stays in train."""
    val_n = max(0, min(val_count, count - 1))
    order = np.random.default_rng([seed, VAL_STREAM]).permutation(count)
    val = sorted(int(i) for i in order[:val_n])
    held = set(val)
    return [i for i in range(count) if i not in held], val


def build_val_set(photos: Sequence[Path | np.ndarray], config: TrainConfig) -> ValSet:
    """Centre crops (short side resized to the training size) with seeded free-form masks and their edge guides."""
    size = config.size
    rule = BoxRule(config.bbox_size, config.bbox_size, config.bbox_max_delta, config.bbox_margin)
    images, masks, guides = [], [], []
    for i, item in enumerate(photos):
        photo = item if isinstance(item, np.ndarray) else load_rgb8(item)
        photo = resize_short_side(photo, size)
        top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
        crop = np.ascontiguousarray(photo[top : top + size, left : left + size])
        mask = free_form_mask(size, size, np.random.default_rng([config.seed, VAL_STREAM, i]), rule)
        guide = edges_for_guide(
            crop, mask, blur_sigma=config.canny_blur_sigma, low=config.canny_low, high=config.canny_high
        )
        images.append(torch.from_numpy(crop).permute(2, 0, 1))
        masks.append(torch.from_numpy(mask)[None])
        guides.append(torch.from_numpy(guide)[None])
    if not images:
        return ValSet(torch.zeros(0, 3, size, size, dtype=torch.uint8), *(torch.zeros(0, 1, size, size),) * 2)
    return ValSet(torch.stack(images), torch.stack(masks), torch.stack(guides))


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """Shape: (B,3,H,W) in [-1,1] -> (B,H,W,3) uint8 (rounded)."""
    return (
        ((x.detach().float().clamp(-1, 1) + 1) * 127.5)
        .round()
        .to(torch.uint8)
        .permute(0, 2, 3, 1)
        .cpu()
        .numpy()
    )


@torch.no_grad()
def run_generator(
    generator: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    guides: torch.Tensor | None,
    device: torch.device,
    guide_channel: bool,
    return_attention: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, GeneratorOutput]:
    """Run G in eval mode on uint8 batches; returns (image, mask, GeneratorOutput) as float tensors."""
    img = images.to(device).float() / 127.5 - 1.0
    mask = masks.to(device).float()
    guide = guides.to(device).float() if (guide_channel and guides is not None) else None
    was_training = generator.training
    generator.eval()
    try:
        out = generator(img * (1 - mask), mask, guide=guide, return_attention=return_attention)
    finally:
        generator.train(was_training)
    return img, mask, out


def validate(
    generator: nn.Module, val: ValSet, device: torch.device, guide_channel: bool, batch: int = 8
) -> dict[str, float]:
    """Mean hole PSNR / L1 / SSIM of the pasted fine output, without a guide and (guided models) with one."""
    if len(val) == 0:
        return {}
    modes: list[tuple[str, bool]] = [("", False)] + ([("_guided", True)] if guide_channel else [])
    results: dict[str, float] = {}
    for suffix, use_guide in modes:
        sums = {"psnr": 0.0, "l1": 0.0, "ssim": 0.0}
        for start in range(0, len(val), batch):
            sl = slice(start, start + batch)
            guides = val.guides[sl] if use_guide else torch.zeros_like(val.guides[sl])
            img, mask, out = run_generator(
                generator, val.images[sl], val.masks[sl], guides, device, guide_channel
            )
            pasted = out.fine * mask + img * (1 - mask)
            preds = to_uint8_images(pasted)
            truth = val.images[sl].permute(0, 2, 3, 1).numpy()
            for p, t, m in zip(preds, truth, val.masks[sl][:, 0].numpy(), strict=True):
                for key, value in hole_metrics(p, t, m).items():
                    if key in sums:  # the curve keeps PSNR / L1 / SSIM (sharpness is the bench's)
                        sums[key] += value
        for key, total in sums.items():
            results[f"val_{key}{suffix}"] = total / len(val)
    return results


def color_offsets(offsets: np.ndarray, max_radius: float) -> np.ndarray:
    """Colour an offset field as the editor's overlay does (inpaint_core.flow's Middlebury wheel; an HSV wheel
    if that module is absent): hue = direction, saturation = length / max_radius (fixed scale), white = zero.

    Shape: (2, h, w) (dy, dx) in pixels -> (h, w, 3) uint8 RGB.
    """
    try:
        from inpaint_core.flow import flow_to_rgb
    except ImportError:
        pass
    else:
        return flow_to_rgb(offsets[1], offsets[0], max_radius)
    dy, dx = offsets[0].astype(np.float32), offsets[1].astype(np.float32)
    angle = (np.degrees(np.arctan2(dy, dx)) % 360.0) / 2.0  # OpenCV hue is 0..180
    sat = np.clip(np.hypot(dy, dx) / max(max_radius, 1e-6), 0, 1) * 255.0
    hsv = np.stack([angle, sat, np.full_like(sat, 255.0)], axis=-1).round().astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def sample_grid(
    generator: nn.Module, val: ValSet, device: torch.device, guide_channel: bool, count: int
) -> np.ndarray:
    """Rows of input | coarse | fine | attention flow | ground truth (first `count` validation samples).

    The input column shows the hole in grey and the guide strokes (alternate rows get the guide) in red.

    Shape: returns (count*S, 5*S, 3) uint8 RGB.
    """
    n = min(count, len(val))
    guides = val.guides[:n].clone()
    guides[1::2] = 0  # even rows show a guided fill, odd rows an unguided one
    img, mask, out = run_generator(
        generator, val.images[:n], val.masks[:n], guides, device, guide_channel, True
    )
    coarse = to_uint8_images(out.coarse * mask + img * (1 - mask))
    fine = to_uint8_images(out.fine * mask + img * (1 - mask))
    truth = val.images[:n].permute(0, 2, 3, 1).numpy()
    holes = val.masks[:n, 0].numpy().astype(bool)
    strokes = guides[:, 0].numpy().astype(bool) if guide_channel else np.zeros_like(holes)
    size = truth.shape[1]
    rows = []
    for i in range(n):
        shown = truth[i].copy()
        shown[holes[i]] = 128
        shown[strokes[i]] = (255, 0, 0)
        flow = np.full_like(shown, 255)
        if out.attention is not None:
            offsets = out.attention.offsets[i].float().cpu().numpy() * out.attention.cell  # cells -> pixels
            coloured = color_offsets(offsets, max_radius=size / 2)  # fixed scale: half the crop
            cell = size // offsets.shape[-1]
            flow = np.repeat(np.repeat(coloured, cell, axis=0), cell, axis=1)[:size, :size].copy()
            flow[~holes[i]] = 255
        rows.append(np.concatenate([shown, coarse[i], fine[i], flow, truth[i]], axis=1))
    return np.concatenate(rows, axis=0)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG, atomically."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(buf.tobytes())
