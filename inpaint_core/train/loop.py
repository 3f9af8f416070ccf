"""The training loop: one D step and one G step per iteration (published recipe), checkpoints, logs, samples.

`train(config, run_dir)` is synchronous and never prints; progress goes to the `progress` callback (the CLI
draws a tqdm bar). Under `torchrun` each process trains on its own samples and DDP averages the gradients;
only rank 0 writes to the run folder.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from inpaint_core.model import DeepFillV2Generator, DiscriminatorConfig, GeneratorConfig, SNPatchDiscriminator
from inpaint_core.train import distributed
from inpaint_core.train.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from inpaint_core.train.config import TrainConfig, write_text_atomic
from inpaint_core.train.data import (
    DevicePhotos,
    PhotoSource,
    StepBatches,
    TrainSamples,
    batch_indices,
    list_photos,
    prepared_short_side,
    resize_short_side,
    to_model_inputs,
)
from inpaint_core.train.losses import (
    discounted_weight,
    generator_gan_loss,
    gradient_penalty,
    hinge_d_loss,
    interpolates,
    l1_loss,
    wgan_d_loss,
)
from inpaint_core.train.pack import is_pack, read_pack
from inpaint_core.train.validate import ValSet, build_val_set, sample_grid, split_indices, validate, write_png

CONFIG_FILE = "config.json"
METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
EXPORT_FILE = "export.safetensors"
SAMPLES_DIR = "samples"
CSV_COLUMNS = (
    "step",
    "time_s",
    "samples_per_s",
    "d_loss",
    "g_loss",
    "g_adv",
    "l1_coarse",
    "l1_fine",
    "lr",
    "val_psnr",
    "val_l1",
    "val_ssim",
    "val_psnr_guided",
    "val_l1_guided",
    "val_ssim_guided",
)

ProgressFn = Callable[[int, dict[str, float]], None]
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class RunFolderError(CheckpointError):
    """The run folder is in a state that does not fit the request (e.g. not empty without --resume)."""


@dataclass(frozen=True)
class TrainResult:
    step: int
    run_dir: Path
    export: Path | None
    samples_per_s: float  # over the steps of this call (rank 0), 0 when nothing ran


def build_models(config: TrainConfig) -> tuple[DeepFillV2Generator, SNPatchDiscriminator]:
    torch.manual_seed(config.seed)  # every rank builds the same initial weights
    generator = DeepFillV2Generator(GeneratorConfig(cnum=config.cnum, guide_channel=config.guide_channel))
    discriminator = SNPatchDiscriminator(DiscriminatorConfig(cnum=config.d_cnum))
    return generator, discriminator


def build_optimizers(
    config: TrainConfig, generator: nn.Module, discriminator: nn.Module
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    betas = (config.beta1, config.beta2)
    return (
        torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas),
        torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=betas),
    )


def load_photos(config: TrainConfig) -> tuple[list[Path | np.ndarray], list[Path | np.ndarray]]:
    """(train, val) items: decoded pack photos (arrays at the prepared size) and/or photo paths."""
    short = prepared_short_side(config)
    items: list[Path | np.ndarray] = []
    folders: list[str] = []
    for entry in config.data:
        if is_pack(entry):
            header, photos = read_pack(entry)
            if header.short_side != short:  # a pack made for another --size: resize once, here
                photos = [resize_short_side(p, short) for p in photos]
            items.extend(photos)
        else:
            folders.append(entry)
    if folders:
        items.extend(list_photos(folders))
    if not items:
        raise RunFolderError("no training data: pass --data with photo folders or a .pack file")
    if config.val:
        val_all: list[Path | np.ndarray] = list(list_photos([config.val]))
        _, pick = split_indices(
            len(val_all) + 1, config.val_count, config.seed
        )  # +1: the split keeps one back
        return items, [val_all[i] for i in pick if i < len(val_all)]
    train_idx, val_idx = split_indices(len(items), config.val_count, config.seed)
    return [items[i] for i in train_idx], [items[i] for i in val_idx]


def _batches(
    config: TrainConfig,
    items: list[Path | np.ndarray],
    start: int,
    ctx: distributed.DistContext,
) -> Iterator[Batch]:
    on_device = config.data_on_device and all(isinstance(i, np.ndarray) for i in items)
    if on_device:
        photos = DevicePhotos([i for i in items if isinstance(i, np.ndarray)], config, ctx.device)
        for step in range(start, config.steps):
            yield photos.batch(batch_indices(step, ctx.rank, ctx.world, config.batch))
        return
    dataset = TrainSamples(PhotoSource(items, prepared_short_side(config)), config)
    loader = DataLoader(
        dataset,
        batch_sampler=StepBatches(start, config.steps, ctx.rank, ctx.world, config.batch),
        num_workers=config.workers,
        pin_memory=ctx.device.type == "cuda",
        # a private generator: creating the loader must not advance the global torch RNG (exact resume)
        generator=torch.Generator().manual_seed(config.seed),
        persistent_workers=False,
        prefetch_factor=4 if config.workers > 0 else None,
    )
    yield from loader


class MetricsLog:
    """metrics.jsonl and metrics.csv in the run folder (appended; on resume, rows after the step are dropped)."""

    def __init__(self, run_dir: Path, resume_step: int | None) -> None:
        self.jsonl = run_dir / METRICS_JSONL
        self.csv = run_dir / METRICS_CSV
        if resume_step is None:
            for path in (self.jsonl, self.csv):
                path.unlink(missing_ok=True)
        else:
            self._truncate(resume_step)
        if not self.csv.exists():
            write_text_atomic(self.csv, ",".join(CSV_COLUMNS) + "\n")

    def _truncate(self, step: int) -> None:
        if self.jsonl.exists():
            rows = [
                json.loads(line)
                for line in self.jsonl.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            kept = [r for r in rows if int(r.get("step", 0)) <= step]
            write_text_atomic(self.jsonl, "".join(json.dumps(r) + "\n" for r in kept))
        if self.csv.exists():
            with self.csv.open(newline="", encoding="utf-8") as fh:
                rows_csv = list(csv.DictReader(fh))
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
            writer.writeheader()
            for r in rows_csv:
                if int(float(r.get("step") or 0)) <= step:
                    writer.writerow({k: r.get(k, "") for k in CSV_COLUMNS})
            write_text_atomic(self.csv, out.getvalue())

    def write(self, row: dict[str, float]) -> None:
        with self.jsonl.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        with self.csv.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(
                fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore", lineterminator="\n"
            )
            writer.writerow({k: row.get(k, "") for k in CSV_COLUMNS})


@dataclass(frozen=True)
class StepModels:
    """What one training step updates. `g_run` / `d_run` may be DDP- or compile-wrapped; `discriminator` is bare."""

    g_run: nn.Module
    d_run: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


def train_step(
    models: StepModels,
    image: torch.Tensor,
    mask: torch.Tensor,
    guide: torch.Tensor,
    config: TrainConfig,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> dict[str, torch.Tensor]:
    """One D update then one G update on a batch (the published order); returns the detached loss terms.

    Shape: image (B,3,H,W) in [-1,1]; mask, guide (B,1,H,W) in {0,1}.
    """
    with autocast():
        out = models.g_run(image * (1 - mask), mask, guide=guide if config.guide_channel else None)
    coarse, fine = out.coarse.float(), out.fine.float()
    fake = fine * mask + image * (1 - mask)

    # D step: real, fake (and WGAN-GP interpolates) through one forward, as the official concat
    models.discriminator.requires_grad_(True)
    reals, fakes = image, fake.detach()
    if config.gan_loss == "wgan-gp":
        points = interpolates(image, fake)
        with autocast():
            scores = models.d_run(torch.cat([reals, fakes, points]), torch.cat([mask, mask, mask])).float()
        d_real, d_fake, d_points = scores.chunk(3)
        d_loss = wgan_d_loss(d_real, d_fake) + config.wgan_gp_lambda * gradient_penalty(d_points, points)
    else:
        with autocast():
            scores = models.d_run(torch.cat([reals, fakes]), torch.cat([mask, mask])).float()
        d_real, d_fake = scores.chunk(2)
        d_loss = hinge_d_loss(d_real, d_fake)
    models.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    models.opt_d.step()

    # G step: the bare D module (not its DDP wrapper), frozen, so no D gradient is reduced or kept
    models.discriminator.requires_grad_(False)
    with autocast():
        g_scores = models.discriminator(fake, mask).float()
    g_adv = generator_gan_loss(g_scores)
    weight = discounted_weight(mask, config.discount_gamma) if config.l1_mode == "discounted" else None
    l1_coarse = l1_loss(coarse, image, weight)
    l1_fine = l1_loss(fine, image, weight)
    g_loss = config.l1_alpha * (l1_coarse + l1_fine) + config.gan_alpha * g_adv
    models.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    models.opt_g.step()
    models.discriminator.requires_grad_(True)
    terms = {"d_loss": d_loss, "g_loss": g_loss, "g_adv": g_adv, "l1_coarse": l1_coarse, "l1_fine": l1_fine}
    return {k: v.detach() for k, v in terms.items()}


def _checkpoint_payload(
    config: TrainConfig, generator: nn.Module, discriminator: nn.Module, opt_g: Any, opt_d: Any
) -> dict[str, Any]:
    return {
        "G": generator.state_dict(),
        "D": discriminator.state_dict(),
        "opt_G": opt_g.state_dict(),
        "opt_D": opt_d.state_dict(),
        "config": config.to_json(),
    }


def _prepare_run_dir(run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a fresh run). Refuses to reuse a run folder without --resume."""
    found = latest_checkpoint(run_dir)
    if resume and found is None:
        raise RunFolderError(f"nothing to resume in {run_dir}: no ckpt_*.pt there")
    if not resume and (found is not None or (run_dir / EXPORT_FILE).exists()):
        raise RunFolderError(f"{run_dir} already holds a training run; pass --resume or choose another --out")
    return found


def export_generator(generator: DeepFillV2Generator, path: Path, step: int) -> Path:
    """Write G as fp16 safetensors (the shipping format), via inpaint_core.weights."""
    from inpaint_core.weights import save_generator

    return save_generator(generator, path, dtype=torch.float16, extra_metadata={"train_step": str(step)})


def export_run(run_dir: Path, out: Path | None = None) -> Path:
    """Export the latest checkpoint's generator of a run folder (default: <run_dir>/export.safetensors)."""
    path = latest_checkpoint(run_dir)
    if path is None:
        raise CheckpointError(f"no checkpoint in {run_dir} to export")
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_json(ckpt["config"])
    generator, _ = build_models(config)
    generator.load_state_dict(ckpt["G"])
    return export_generator(generator, out or run_dir / EXPORT_FILE, int(ckpt["step"]))


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or continue training) DeepFill v2 with the guide channel; see docs/TRAINING.md.

    Args:
        config: the full recipe; it is written to <run_dir>/config.json.
        run_dir: the run folder (checkpoints, metrics, samples, export).
        resume: continue from the latest checkpoint in run_dir (exactly: same samples, same RNG states).
        device: "auto", "cpu", "cuda", "cuda:N" or "mps" (under torchrun, "auto" picks cuda:LOCAL_RANK).
        progress: called after every step with (step, last logged metrics).
    """
    run = Path(run_dir)
    ctx = distributed.setup(device)
    try:
        return _train(config, run, resume, ctx, progress)
    finally:
        distributed.teardown(ctx)


def _train(
    config: TrainConfig,
    run: Path,
    resume: bool,
    ctx: distributed.DistContext,
    progress: ProgressFn | None,
) -> TrainResult:
    dev = ctx.device
    ckpt_path = _prepare_run_dir(run, resume)
    distributed.barrier(ctx)  # every rank checked the folder before rank 0 writes to it
    if ctx.is_main:
        run.mkdir(parents=True, exist_ok=True)
        config.save(run / CONFIG_FILE)
    random.seed(config.seed)
    np.random.seed(config.seed % 2**32)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    generator, discriminator = build_models(config)
    channels_last = config.channels_last and dev.type == "cuda"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    generator.to(dev).to(memory_format=fmt)  # type: ignore[call-overload]
    discriminator.to(dev).to(memory_format=fmt)  # type: ignore[call-overload]
    opt_g, opt_d = build_optimizers(config, generator, discriminator)

    start = 0
    if ckpt_path is not None:
        ckpt = load_checkpoint(ckpt_path, map_location=dev)
        generator.load_state_dict(ckpt["G"])
        discriminator.load_state_dict(ckpt["D"])
        opt_g.load_state_dict(ckpt["opt_G"])
        opt_d.load_state_dict(ckpt["opt_D"])
        start = int(ckpt["step"])
        restore_rng_state(ckpt["rng"])

    train_items, val_items = load_photos(config)
    val_set: ValSet | None = build_val_set(val_items, config) if ctx.is_main else None
    log = MetricsLog(run, start if ckpt_path is not None else None) if ctx.is_main else None

    g_run: nn.Module = DDP(generator) if ctx.distributed else generator
    d_run: nn.Module = DDP(discriminator, broadcast_buffers=True) if ctx.distributed else discriminator
    if config.compile:
        g_run = torch.compile(g_run)  # type: ignore[assignment]
    use_amp = config.amp and dev.type == "cuda"

    def autocast() -> contextlib.AbstractContextManager[Any]:
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp)

    models = StepModels(g_run, d_run, discriminator, opt_g, opt_d)

    generator.train()
    discriminator.train()
    sums: dict[str, torch.Tensor] = {}
    last_row: dict[str, float] = {}
    t_call = time.perf_counter()
    t_log, steps_since_log, samples_total = t_call, 0, 0
    step = start
    batches = _batches(config, train_items, start, ctx)
    for step in range(start + 1, config.steps + 1):
        image_u8, mask_u8, guide_u8 = next(batches)
        image, mask, guide = to_model_inputs(image_u8, mask_u8, guide_u8, dev, channels_last)
        terms = train_step(models, image, mask, guide, config, autocast)

        steps_since_log += 1
        samples_total += config.batch * ctx.world
        for key, value in terms.items():  # summed on the device: no host sync until a log step
            sums[key] = sums[key] + value if key in sums else value.clone()

        is_last = step == config.steps
        row: dict[str, float] = {}
        if step % config.log_every == 0 or is_last:
            elapsed = max(time.perf_counter() - t_log, 1e-9)
            row = {
                "step": step,
                "time_s": round(time.perf_counter() - t_call, 3),
                "samples_per_s": steps_since_log * config.batch * ctx.world / elapsed,
                **{k: float(distributed.all_reduce_mean(v, ctx)) / steps_since_log for k, v in sums.items()},
                "lr": float(opt_g.param_groups[0]["lr"]),
            }
            if not all(math.isfinite(v) for v in row.values()):
                raise CheckpointError(f"training diverged at step {step} (non-finite loss); lower the lr")
            sums, steps_since_log, t_log = {}, 0, time.perf_counter()
        if ctx.is_main and val_set is not None:
            if (step % config.val_every == 0 or is_last) and len(val_set):
                row = {"step": step, **row, **validate(generator, val_set, dev, config.guide_channel)}
            if (step % config.sample_every == 0 or is_last) and len(val_set):
                grid = sample_grid(generator, val_set, dev, config.guide_channel, config.sample_count)
                write_png(run / SAMPLES_DIR / f"step_{step:08d}.png", grid)
            if row and log is not None:
                log.write(row)
                last_row = row
            if step % config.ckpt_every == 0 or is_last:
                payload = _checkpoint_payload(config, generator, discriminator, opt_g, opt_d)
                save_checkpoint(run, step, payload, config.keep_last)
        if (step % config.ckpt_every == 0 or is_last) and ctx.distributed:
            distributed.barrier(ctx)
        if progress is not None:
            progress(step, last_row)

    export: Path | None = None
    if ctx.is_main:
        if not list_checkpoints(run):  # resumed at the final step: nothing ran, but the run is complete
            save_checkpoint(run, step, _checkpoint_payload(config, generator, discriminator, opt_g, opt_d), 1)
        export = export_generator(generator, run / EXPORT_FILE, step)
    elapsed_call = time.perf_counter() - t_call
    return TrainResult(step, run, export, samples_total / elapsed_call if samples_total else 0.0)
