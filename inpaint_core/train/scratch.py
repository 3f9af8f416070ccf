"""Training the learned scratch detector (`restore/scratch_net.py`) on synthetic damage (`restore/damage.py`).

A short, time-budgeted run on the CPU (an hour on 2 cores reaches a useful detector):
- Photos: a pack of the training photos (`train/pack.py`, short side 400 px), made on first use.
- Samples: `damaged_sample` crops, made on the fly in the training process (about 6 ms each: a fraction of
  the step). Validation: fixed samples from the eval photos, with seeds no training sample uses.
- Loss: binary cross-entropy plus a soft Dice term (damage is 1-3 % of the pixels, and Dice keeps thin
  lines from being traded away for the background); the faint "unsure" rims carry no loss.
- AdamW, a cosine learning rate over the wall-clock budget, an EMA of the weights (the weights that ship).
- Every `eval_every_s`: validation (loss, and recall within 2 px at the threshold that flags 1 % of clean
  pixels), a carry set (`scratch_last.safetensors`, `scratch_ema.safetensors`) and a CSV row.
- At the end: the default threshold is calibrated on the clean eval photos (`calibrate_threshold`) and the EMA
  weights are written as fp16 with it (`detector.save_detector`).
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inpaint_core.devices import cpu_has_native_bf16
from inpaint_core.errors import InpaintError
from inpaint_core.restore.damage import damaged_sample
from inpaint_core.restore.detector import LearnedAnalysis, load_detector, save_detector
from inpaint_core.restore.scratch_net import ScratchNet
from inpaint_core.restore.scratches import DEFAULT_MAX_WIDTH
from inpaint_core.train.ema import ModelEma
from inpaint_core.train.pack import read_pack, write_pack

log = logging.getLogger(__name__)
VAL_SEED = 1_000_003  # validation samples are seeded from here; training seeds come from `seed` (small ints)
CLEAN_SHARE = 0.008  # the default threshold flags at most this share of a clean photo's pixels (target: 1 %)
TOLERANCE = 2  # px: as the benchmark counts recall


@dataclass
class ScratchTrainConfig:
    size: int = 192
    batch: int = 16
    lr: float = 2e-3
    min_lr: float = 5e-5
    weight_decay: float = 1e-4
    ema_decay: float = 0.998
    dice_weight: float = 0.5
    eval_every_s: float = 300.0
    val_samples: int = 48
    val_size: int = 256
    seed: int = 0


def make_photo_pack(photos: Sequence[Path], out: Path) -> Path:
    """The photos at short side 400 px (crops then rescale 0.6-1.6x around the crop size), made once."""
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        write_pack(photos, out, size=320, quality=92)
    return out


def batch_of(
    photos: Sequence[np.ndarray], rng: np.random.Generator, count: int, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images, truth, loss weights) of `count` fresh samples. Shape: -> (B,3,S,S), (B,1,S,S), (B,1,S,S)"""
    samples = [damaged_sample(photos[int(rng.integers(len(photos)))], rng, size) for _ in range(count)]
    images = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2)
    truth = torch.from_numpy(np.stack([s.truth for s in samples])[:, None]).float()
    weight = torch.from_numpy(~np.stack([s.unsure for s in samples])[:, None]).float()
    return images.contiguous(memory_format=torch.channels_last), truth, weight


def detector_loss(
    logits: torch.Tensor, truth: torch.Tensor, weight: torch.Tensor, dice_weight: float
) -> torch.Tensor:
    """Masked BCE + soft Dice over the batch."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, truth, weight=weight, reduction="sum") / weight.sum()
    prob = torch.sigmoid(logits) * weight
    dice = 1.0 - (2.0 * (prob * truth).sum() + 1.0) / (prob.sum() + truth.sum() + 1.0)
    return bce + dice_weight * dice


def _near(mask: np.ndarray) -> np.ndarray:
    k = np.ones((2 * TOLERANCE + 1,) * 2, np.uint8)
    return cv2.dilate(mask.astype(np.uint8), k) > 0


@dataclass
class ValResult:
    loss: float
    threshold: float  # logit flagging 1 % of the clean validation pixels
    recall: float  # within 2 px, at that threshold
    precision: float


@torch.no_grad()
def validate(
    model: ScratchNet, val: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], dice_weight: float
) -> ValResult:
    """Loss on the damaged validation samples; recall and precision at the 1 %-of-clean threshold."""
    images, truth, weight, clean = val
    model.eval()
    logits = torch.cat([model(images[i : i + 8]).float() for i in range(0, len(images), 8)])
    clean_logits = torch.cat([model(clean[i : i + 8]).float() for i in range(0, len(clean), 8)])
    loss = float(detector_loss(logits, truth, weight, dice_weight))
    threshold = float(torch.quantile(clean_logits.flatten()[::7], 0.99))
    found = (logits > threshold).numpy()[:, 0]
    true = truth.numpy()[:, 0] > 0
    hit = sum(int((t & _near(f)).sum()) for t, f in zip(true, found, strict=True))
    right = sum(int((f & _near(t)).sum()) for t, f in zip(true, found, strict=True))
    recall = hit / max(1, int(true.sum()))
    precision = right / max(1, int(found.sum()))
    return ValResult(loss, threshold, recall, precision)


def validation_set(
    photos: Sequence[np.ndarray], count: int, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fixed damaged samples (seeds from VAL_SEED) and the same crops undamaged (for the clean threshold)."""
    images, truths, weights, cleans = [], [], [], []
    for i in range(count):
        sample = damaged_sample(photos[i % len(photos)], np.random.default_rng(VAL_SEED + i), size)
        images.append(sample.image)
        truths.append(sample.truth)
        weights.append(~sample.unsure)
        photo = photos[(i * 7 + 3) % len(photos)]
        side = min(photo.shape[0], photo.shape[1], size)
        crop = photo[:side, :side]
        cleans.append(cv2.resize(crop, (size, size)).astype(np.float32) / 255.0)
    as_t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    return (
        as_t(images),
        torch.from_numpy(np.stack(truths)[:, None]).float(),
        torch.from_numpy(np.stack(weights)[:, None]).float(),
        as_t(cleans),
    )


def calibrate_threshold(
    weights: Path, clean_photos: Sequence[np.ndarray], share: float = CLEAN_SHARE
) -> float:
    """The lowest logit threshold whose proposal (with the one-pixel growth) flags at most `share` of the clean
    photos' pixels on average: the detector's default (sensitivity 0.5)."""
    from inpaint_core.restore.detector import logit_map

    model, _ = load_detector(weights, None)
    maps = [logit_map(model, photo) for photo in clean_photos]
    lo, hi = -8.0, 16.0
    for _ in range(18):  # bisection: the flagged share falls as the threshold rises
        mid = (lo + hi) / 2
        flagged = np.mean(
            [LearnedAnalysis(m, mid, DEFAULT_MAX_WIDTH, m.shape, m.shape).mask(0.5).mean() for m in maps]
        )
        lo, hi = (mid, hi) if flagged > share else (lo, mid)
    return hi


def train_detector(
    photos: Sequence[np.ndarray],
    val_photos: Sequence[np.ndarray],
    out: Path,
    seconds: float,
    config: ScratchTrainConfig | None = None,
    warm: Path | None = None,
    progress: Callable[[str], None] = print,
) -> Path:
    """Train for `seconds` of wall time; returns the calibrated fp16 weights file (`out/scratch_detector.safetensors`)."""
    cfg = config or ScratchTrainConfig()
    if not photos or not val_photos:
        raise InpaintError("the scratch detector needs training and validation photos")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = ScratchNet().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if warm is not None:
        model.load_state_dict(load_detector(warm, None)[0].state_dict())
    ema = ModelEma(model, cfg.ema_decay)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    val = validation_set(val_photos, cfg.val_samples, cfg.val_size)
    bf16 = cpu_has_native_bf16()
    curve = out / "scratch_curve.csv"
    start = last_eval = time.monotonic()
    step, samples = 0, 0
    losses: list[float] = []
    with curve.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "step",
                "samples",
                "minutes",
                "train_loss",
                "val_loss",
                "recall_at_1pct",
                "precision",
                "threshold",
            ]
        )
        while True:
            elapsed = time.monotonic() - start
            done = elapsed >= seconds
            if done or time.monotonic() - last_eval >= cfg.eval_every_s:
                result = validate(ema.module, val, cfg.dice_weight)
                row = [
                    step,
                    samples,
                    round(elapsed / 60, 1),
                    round(float(np.mean(losses or [0])), 4),
                    round(result.loss, 4),
                    round(result.recall, 4),
                    round(result.precision, 4),
                    round(result.threshold, 3),
                ]
                writer.writerow(row)
                handle.flush()
                progress(
                    f"step {step} samples {samples:,} {elapsed / 60:.1f} min  train {row[3]}  val {row[4]}  "
                    f"recall@1% {result.recall:.3f} precision {result.precision:.3f}"
                )
                save_detector(ema.module, out / "scratch_ema.safetensors", result.threshold)
                save_detector(model, out / "scratch_last.safetensors", result.threshold)
                losses, last_eval = [], time.monotonic()
                if done:
                    break
            lr = cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (
                1 + math.cos(math.pi * min(1.0, elapsed / seconds))
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            images, truth, weight = batch_of(photos, rng, cfg.batch, cfg.size)
            model.train()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(images)
            loss = detector_loss(logits, truth, weight, cfg.dice_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            samples += cfg.batch
            ema.update(model, step)
            losses.append(loss.item())
    final = out / "scratch_detector.safetensors"
    threshold = calibrate_threshold(out / "scratch_ema.safetensors", val_photos)
    extra = {"samples": str(samples), "config": str(asdict(cfg))}
    save_detector(ema.module, final, threshold, extra)
    progress(
        f"wrote {final}: default threshold {threshold:.2f} (flags {CLEAN_SHARE:.1%} of clean eval pixels)"
    )
    return final


def gather_photos(sources: Sequence[str | Path], pack_dir: Path) -> list[np.ndarray]:
    """RGB photos from .pack files and photo folders; a folder is packed once (short side 400) into `pack_dir`."""
    from inpaint_core.train.data import list_photos
    from inpaint_core.train.pack import is_pack

    photos: list[np.ndarray] = []
    for source in sources:
        path = Path(source)
        if not is_pack(path):
            name = "-".join(path.resolve().parts[-2:]).replace(" ", "_")
            path = make_photo_pack(list_photos([path]), pack_dir / f"scratch-photos-{name}.pack")
        photos.extend(read_pack(path)[1])
    return photos


def config_with(overrides: Sequence[str]) -> ScratchTrainConfig:
    """A config with `KEY=VALUE` changes (numbers of the default's kind)."""
    config = ScratchTrainConfig()
    for item in overrides:
        key, sep, raw = item.partition("=")
        default = getattr(config, key.strip(), None)
        if not sep or default is None:
            raise InpaintError(
                f"unknown scratch-detector setting {item!r}; known: {', '.join(asdict(config))}"
            )
        try:
            value = type(default)(raw)
        except ValueError:
            raise InpaintError(f"{key} must be {type(default).__name__}, got {raw!r}") from None
        setattr(config, key.strip(), value)
    return config
