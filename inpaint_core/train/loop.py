"""The training loop: one D step and one G step per iteration (published recipe), checkpoints, logs, samples.

`train(config, run_dir)` is synchronous and never prints; progress goes to the `progress` callback (the CLI
draws a tqdm bar). Under `torchrun` each process trains on its own samples and DDP averages the gradients;
only rank 0 writes to the run folder.

For short GPU calls (docs/TRAINING.md): `deadline` stops the run early enough to validate, checkpoint and export
before a command's limit; `warm` starts from a carry set of weight files (warm.py) with a fresh optimizer and the
global step and sample counters continued; with `gan_alpha` 0 there is no discriminator step at all. Nothing in
a step waits on the host: the loss terms are summed on the device and read (`float()`) only at log steps.
"""

from __future__ import annotations

import contextlib
import logging
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

from inpaint_core.errors import Remedy
from inpaint_core.image_ops import resize_short_side
from inpaint_core.model import DeepFillV2Generator, DiscriminatorConfig, GeneratorConfig, SNPatchDiscriminator
from inpaint_core.model.layers import use_fused_gating
from inpaint_core.train import distributed
from inpaint_core.train.budget import TimeBudget
from inpaint_core.train.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from inpaint_core.train.config import ConfigError, TrainConfig
from inpaint_core.train.data import (
    DevicePhotos,
    PhotoSource,
    StepBatches,
    TrainSamples,
    batch_indices,
    list_photos,
    prepared_short_side,
    to_model_inputs,
)
from inpaint_core.train.ema import ModelEma
from inpaint_core.train.heap import keep_freed_memory
from inpaint_core.train.losses import (
    discounted_weight,
    generator_gan_loss,
    gradient_penalty,
    hinge_d_loss,
    hole_l1,
    interpolates,
    l1_loss,
    wgan_d_loss,
)
from inpaint_core.train.metrics_log import MetricsLog
from inpaint_core.train.pack import is_pack, read_pack
from inpaint_core.train.schedule import learning_rate
from inpaint_core.train.validate import ValSet, build_val_set, sample_grid, split_indices, validate, write_png
from inpaint_core.train.warm import WarmStart, check_fits, load_warm_start, save_carry_set

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
EXPORT_FILE = "export.safetensors"
SAMPLES_DIR = "samples"
CARRY_DIR = "carry"  # the warm-start weight files (warm.py), rewritten at every checkpoint

ProgressFn = Callable[[int, dict[str, float]], None]
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
Items = list[Path | np.ndarray]


class RunFolderError(CheckpointError):
    """The run folder is in a state that does not fit the request (e.g. not empty without --resume)."""


@dataclass(frozen=True)
class TrainResult:
    step: int
    run_dir: Path
    export: Path | None
    samples_per_s: float  # over the steps of this call (rank 0), 0 when nothing ran
    samples: int = 0  # global samples seen at the end (the whole chain of warm starts)
    stopped_early: bool = False  # the time budget ended the run before `steps`
    first_step_s: float = 0.0  # the first step's time: torch.compile's cost shows here
    compile_error: str | None = None  # torch.compile failed and the run went on eagerly


@dataclass(frozen=True)
class CheckpointEvent:
    """What `on_checkpoint` is told after each checkpoint (rank 0): the run folder's files are complete."""

    step: int
    samples: int
    run_dir: Path
    grid: Path | None  # the latest sample grid
    final: bool


def build_models(config: TrainConfig) -> tuple[DeepFillV2Generator, SNPatchDiscriminator]:
    torch.manual_seed(config.seed)  # every rank builds the same initial weights
    generator = DeepFillV2Generator(GeneratorConfig(cnum=config.cnum, guide_channel=config.guide_channel))
    discriminator = SNPatchDiscriminator(DiscriminatorConfig(cnum=config.d_cnum))
    return generator, discriminator


def build_optimizers(
    config: TrainConfig, generator: nn.Module, discriminator: nn.Module, fused: bool = False
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and D. `fused` (one kernel for all parameters) on CUDA; the lr is set per step by the loop."""
    betas = (config.beta1, config.beta2)
    kind: dict[str, Any] = {"fused": True} if fused else {}
    return (
        torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas, **kind),
        torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=betas, **kind),
    )


def load_photos(config: TrainConfig) -> tuple[Items, Items]:
    """(train, val) items: decoded pack photos (arrays at the prepared size) and/or photo paths."""
    short = prepared_short_side(config)
    items: Items = []
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
        raise RunFolderError(
            "no training data: no photo folder or .pack file was given", remedy=Remedy.TRAINING_DATA
        )
    if config.val:
        val_all: Items = list(list_photos([config.val]))
        # +1: the split keeps one back
        _, pick = split_indices(len(val_all) + 1, config.val_count, config.seed)
        return items, [val_all[i] for i in pick if i < len(val_all)]
    train_idx, val_idx = split_indices(len(items), config.val_count, config.seed)
    return [items[i] for i in train_idx], [items[i] for i in val_idx]


def _batches(
    config: TrainConfig,
    items: Items,
    start: int,
    ctx: distributed.DistContext,
    channels_last: bool,
) -> Iterator[Batch]:
    """Model-ready (image, mask, guide) float tensors on the device for steps start+1, start+2, ..."""
    if config.pipeline == "device":
        from inpaint_core.train.device_data import DeviceBatches

        arrays = [i for i in items if isinstance(i, np.ndarray)]
        if len(arrays) != len(items):
            raise RunFolderError("pipeline 'device' needs the photos from a .pack file, not photo folders")
        # a new mask bank per call (keyed by the first step), so a chain of calls sees fresh masks
        source = DeviceBatches(arrays, config, ctx.device, bank_key=start, rank=ctx.rank)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        for step in range(start, config.steps):
            image, mask, guide = source.batch(step)
            yield (
                image.contiguous(memory_format=fmt),
                mask.contiguous(memory_format=fmt),
                guide.contiguous(memory_format=fmt),
            )
        return
    on_device = config.data_on_device and all(isinstance(i, np.ndarray) for i in items)
    if on_device:
        photos = DevicePhotos([i for i in items if isinstance(i, np.ndarray)], config, ctx.device)
        for step in range(start, config.steps):
            batch = photos.batch(batch_indices(step, ctx.rank, ctx.world, config.batch))
            yield to_model_inputs(*batch, ctx.device, channels_last)
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
    for image_u8, mask_u8, guide_u8 in loader:
        yield to_model_inputs(image_u8, mask_u8, guide_u8, ctx.device, channels_last)


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
    """One D update (skipped when gan_alpha is 0) then one G update on a batch; returns the detached loss terms.

    Shape: image (B,3,H,W) in [-1,1]; mask, guide (B,1,H,W) in {0,1}.
    """
    with autocast():
        out = models.g_run(image * (1 - mask), mask, guide=guide if config.guide_channel else None)
    coarse, fine = out.coarse.float(), out.fine.float()
    terms: dict[str, torch.Tensor] = {}
    use_gan = config.gan_alpha > 0
    fake = fine * mask + image * (1 - mask)

    if use_gan:
        # D step: real, fake (and WGAN-GP interpolates) through one forward, as the official concat
        models.discriminator.requires_grad_(True)
        reals, fakes = image, fake.detach()
        if config.gan_loss == "wgan-gp":
            points = interpolates(image, fake)
            with autocast():
                scores = models.d_run(
                    torch.cat([reals, fakes, points]), torch.cat([mask, mask, mask])
                ).float()
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
        terms["d_loss"] = d_loss
        # G step: the bare D module (not its DDP wrapper), frozen, so no D gradient is reduced or kept
        models.discriminator.requires_grad_(False)
        with autocast():
            g_scores = models.discriminator(fake, mask).float()
        g_adv = generator_gan_loss(g_scores)
        terms["g_adv"] = g_adv

    if config.l1_mode == "hole":
        l1_coarse = hole_l1(coarse, image, mask, config.l1_known_weight)
        l1_fine = hole_l1(fine, image, mask, config.l1_known_weight)
    else:
        weight = discounted_weight(mask, config.discount_gamma) if config.l1_mode == "discounted" else None
        l1_coarse = l1_loss(coarse, image, weight)
        l1_fine = l1_loss(fine, image, weight)
    g_loss = config.l1_alpha * (l1_coarse + l1_fine)
    if use_gan:
        g_loss = g_loss + config.gan_alpha * terms["g_adv"]
    models.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    if config.grad_clip > 0:
        params = [p for group in models.opt_g.param_groups for p in group["params"]]
        # a tensor: no host sync (error_if_nonfinite would need one); a non-finite loss shows at the log step
        terms["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, config.grad_clip, foreach=True)
    models.opt_g.step()
    if use_gan:
        models.discriminator.requires_grad_(True)
    terms |= {"g_loss": g_loss, "l1_coarse": l1_coarse, "l1_fine": l1_fine}
    return {k: v.detach() for k, v in terms.items()}


def _checkpoint_payload(
    config: TrainConfig,
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: Any,
    opt_d: Any,
    ema: ModelEma[DeepFillV2Generator] | None,
    samples: int,
) -> dict[str, Any]:
    payload = {
        "G": generator.state_dict(),
        "D": discriminator.state_dict(),
        "opt_G": opt_g.state_dict(),
        "opt_D": opt_d.state_dict(),
        "config": config.to_json(),
        "samples": int(samples),
    }
    if ema is not None:
        payload["G_ema"] = ema.module.state_dict()
    return payload


def _prepare_run_dir(run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a fresh run). Refuses to reuse a run folder without --resume."""
    found = latest_checkpoint(run_dir)
    if resume and found is None:
        raise RunFolderError(f"nothing to resume in {run_dir}: no ckpt_*.pt there")
    if not resume and (found is not None or (run_dir / EXPORT_FILE).exists()):
        raise RunFolderError(f"{run_dir} already holds a training run", remedy=Remedy.RESUME_OR_NEW_RUN)
    return found


def export_generator(generator: DeepFillV2Generator, path: Path, step: int) -> Path:
    """Write G as fp16 safetensors (the shipping format), via inpaint_core.weights."""
    from inpaint_core.weights import save_generator

    return save_generator(generator, path, dtype=torch.float16, extra_metadata={"train_step": str(step)})


def export_run(run_dir: Path, out: Path | None = None) -> Path:
    """Export the latest checkpoint's generator (its EMA when the run kept one) of a run folder
    (default: <run_dir>/export.safetensors)."""
    path = latest_checkpoint(run_dir)
    if path is None:
        raise CheckpointError(f"no checkpoint in {run_dir} to export")
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_json(ckpt["config"])
    generator, _ = build_models(config)
    generator.load_state_dict(ckpt["G_ema"] if "G_ema" in ckpt else ckpt["G"])
    return export_generator(generator, out or run_dir / EXPORT_FILE, int(ckpt["step"]))


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    device: str = "auto",
    progress: ProgressFn | None = None,
    deadline: float | None = None,
    warm: str | Path | None = None,
    photos: tuple[Items, Items] | None = None,
    on_checkpoint: Callable[[CheckpointEvent], None] | None = None,
    margin_s: float = 10.0,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train (or continue training) DeepFill v2 with the guide channel; see docs/TRAINING.md.

    Args:
        config: the full recipe; it is written to <run_dir>/config.json.
        run_dir: the run folder (checkpoints, carry set, metrics, samples, export).
        resume: continue from the latest checkpoint in run_dir (exactly: same samples, same RNG states).
        device: "auto", "cpu", "cuda", "cuda:N" or "mps" (under torchrun, "auto" picks cuda:LOCAL_RANK).
        progress: called after every step with (step, last logged metrics).
        deadline: a time.monotonic() value; the run stops early enough to finish its final validation,
            checkpoint and export `margin_s` before it (budget.py).
        warm: a carry-set folder (warm.py) to start from: weights and global counters, fresh optimizer.
        photos: (train, val) items already loaded (`load_photos(config)`), to decode a pack only once.
        on_checkpoint: called on rank 0 after every checkpoint (e.g. to copy the carry set out).
        should_stop: asked after every step (single process); True ends the run as a deadline does, with the
            final validation, checkpoint, carry set and export (the relay's SIGTERM handler sets it).
    """
    if warm is not None and resume:
        raise RunFolderError(
            "a warm start begins a new run from weights; it cannot also resume one",
            remedy=Remedy.WARM_OR_RESUME,
        )
    run = Path(run_dir)
    ctx = distributed.setup(device)
    budget = TimeBudget(deadline, margin_s) if deadline is not None else None
    finished = False
    try:
        warm_start = load_warm_start(warm) if warm is not None else None
        if warm_start is not None:
            check_fits(warm_start, config)
        result = _train(
            config, run, resume, ctx, progress, budget, warm_start, photos, on_checkpoint, should_stop
        )
        finished = True
        return result
    finally:
        distributed.teardown(ctx, finished=finished)


def bf16_autocast(
    config: TrainConfig, device: torch.device
) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """The step's autocast: bf16 on CUDA when `amp`, on the CPU only with `amp_on_cpu` too."""
    enabled = config.amp and (device.type == "cuda" or (device.type == "cpu" and config.amp_on_cpu))

    def autocast() -> contextlib.AbstractContextManager[Any]:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)

    return autocast


def configure_backends(device: torch.device) -> None:
    """cuDNN autotuning (fixed shapes) and TF32 for the fp32 parts, on CUDA."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _compiled(
    config: TrainConfig, generator: nn.Module, discriminator: nn.Module, ctx: distributed.DistContext
) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(g_run, d_run, d_for_g): the modules a step calls, DDP-wrapped and/or compiled as the config asks."""
    g_run: nn.Module = DDP(generator) if ctx.distributed else generator
    d_plain: nn.Module = discriminator
    if config.compile:
        from torch._dynamo.exc import InvalidBackend

        # dynamic=False: D sees two batch shapes (2B in its own step, B in G's); without it the second shape
        # would recompile D with symbolic sizes, slower kernels for no gain
        try:
            g_run = torch.compile(g_run, backend=config.compile_backend, dynamic=False)  # type: ignore[assignment]
            if config.gan_alpha > 0:
                d_plain = torch.compile(  # type: ignore[assignment]
                    discriminator, backend=config.compile_backend, dynamic=False
                )
        except InvalidBackend as exc:
            raise ConfigError(f"torch.compile has no backend {config.compile_backend!r}") from exc
    d_run: nn.Module = DDP(discriminator, broadcast_buffers=True) if ctx.distributed else d_plain
    return g_run, d_run, d_plain


def _train(
    config: TrainConfig,
    run: Path,
    resume: bool,
    ctx: distributed.DistContext,
    progress: ProgressFn | None,
    budget: TimeBudget | None,
    warm: WarmStart | None,
    photos: tuple[Items, Items] | None,
    on_checkpoint: Callable[[CheckpointEvent], None] | None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    dev = ctx.device
    ckpt_path = _prepare_run_dir(run, resume)
    distributed.barrier(ctx)  # every rank checked the folder before rank 0 writes to it
    if ctx.is_main:
        run.mkdir(parents=True, exist_ok=True)
        config.save(run / CONFIG_FILE)
    random.seed(config.seed)
    np.random.seed(config.seed % 2**32)
    configure_backends(dev)
    if dev.type == "cpu" and config.heap_reuse:
        keep_freed_memory()  # fresh pages for every large tensor cost a CPU step up to a quarter (train/heap.py)

    use_gan = config.gan_alpha > 0
    global_batch = config.batch * ctx.world
    generator, discriminator = build_models(config)
    start, samples = 0, 0
    if warm is not None:
        generator.load_state_dict(warm.generator)
        if warm.discriminator is not None and use_gan:
            discriminator.load_state_dict(warm.discriminator)
        start, samples = warm.step, warm.samples
    if config.fused_gating and not config.compile:  # compile fuses the whole graph itself
        use_fused_gating(generator)
    channels_last = (config.channels_last and dev.type == "cuda") or (
        config.channels_last_cpu and dev.type == "cpu"
    )
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    generator.to(dev).to(memory_format=fmt)  # type: ignore[call-overload]
    discriminator.to(dev).to(memory_format=fmt)  # type: ignore[call-overload]
    opt_g, opt_d = build_optimizers(config, generator, discriminator, fused=dev.type == "cuda")
    ema = ModelEma(generator, config.ema) if config.ema > 0 else None
    if ema is not None and warm is not None and warm.ema is not None:
        ema.module.load_state_dict(warm.ema)

    if ckpt_path is not None:
        ckpt = load_checkpoint(ckpt_path, map_location=dev)
        generator.load_state_dict(ckpt["G"])
        discriminator.load_state_dict(ckpt["D"])
        opt_g.load_state_dict(ckpt["opt_G"])
        opt_d.load_state_dict(ckpt["opt_D"])
        start = int(ckpt["step"])
        samples = int(ckpt.get("samples", start * global_batch))
        if ema is not None:
            ema.module.load_state_dict(ckpt.get("G_ema", ckpt["G"]))
        restore_rng_state(ckpt["rng"])
    if start >= config.steps and warm is not None:
        raise RunFolderError(
            f"the carry set is at step {start}, the run's last step", remedy=Remedy.MORE_STEPS
        )

    train_items, val_items = photos if photos is not None else load_photos(config)
    val_set: ValSet | None = build_val_set(val_items, config) if ctx.is_main else None
    metrics = MetricsLog(run, start if ckpt_path is not None else None) if ctx.is_main else None
    eval_model: DeepFillV2Generator = ema.module if ema is not None else generator

    g_run, d_run, d_plain = _compiled(config, generator, discriminator, ctx)
    autocast = bf16_autocast(config, dev)
    models = StepModels(g_run, d_run, d_plain, opt_g, opt_d)

    generator.train()
    discriminator.train()
    sums: dict[str, torch.Tensor] = {}
    last_row: dict[str, float] = {}
    t_call = time.perf_counter()
    t_log, steps_since_log, samples_call = t_call, 0, 0
    first_step_s, compile_error = 0.0, None
    grid_path: Path | None = None
    if ctx.is_main and val_set is not None and len(val_set) and config.val_at_start:
        t_tail = time.perf_counter()
        row0 = {"step": start, "samples": samples, **validate(eval_model, val_set, dev, config.guide_channel)}
        if metrics is not None:
            metrics.write(row0)
        last_row = row0
        if budget is not None:
            budget.tail_done(time.perf_counter() - t_tail)
    t_event = time.monotonic()
    step = start
    # a budget already spent (slow data loading, say) trains nothing but still hands the weights on below
    stopped = budget is not None and not ctx.distributed and budget.exhausted()
    batches = _batches(config, train_items, start, ctx, channels_last)
    last_step = start if stopped else config.steps
    for step in range(start + 1, last_step + 1):
        lr = learning_rate(config, samples, global_batch, step - start, fresh_adam=warm is not None)
        for group in (*opt_g.param_groups, *opt_d.param_groups):
            group["lr"] = lr
        image, mask, guide = next(batches)
        t_step = time.perf_counter()
        try:
            terms = train_step(models, image, mask, guide, config, autocast)
        except Exception as exc:  # torch.compile fails in many ways; the first step is where it shows
            if not config.compile or step != start + 1:
                raise
            lines = [line.strip() for line in f"{type(exc).__name__}: {exc}".splitlines() if line.strip()]
            compile_error = " ".join(lines[:3])[:500]  # dynamo's first line only names the backend
            log.warning("torch.compile failed; training on without it", exc_info=True)
            g_run, d_run, d_plain = _compiled(config.replace(compile=False), generator, discriminator, ctx)
            models = StepModels(g_run, d_run, d_plain, opt_g, opt_d)
            # a failure in the compiled backward comes after D's update: D takes this step twice (harmless)
            terms = train_step(models, image, mask, guide, config, autocast)
        if ema is not None:
            ema.update(generator, step)
        if step == start + 1:
            first_step_s = time.perf_counter() - t_step
        samples += global_batch
        samples_call += global_batch
        steps_since_log += 1
        for key, value in terms.items():  # summed on the device: no host sync until a log step
            sums[key] = sums[key] + value if key in sums else value.clone()

        log_now = step % config.log_every == 0
        if budget is not None:
            budget.step_done()
            if not ctx.distributed:
                stopped = budget.exhausted()
            elif log_now:  # ranks must agree on the last step: decide at the (synchronising) log steps
                stopped = distributed.any_true(budget.exhausted(), ctx)
        if should_stop is not None and not ctx.distributed and should_stop():
            stopped = True
        is_last = step == config.steps or stopped
        timed = config.ckpt_every_s > 0 and time.monotonic() - t_event >= config.ckpt_every_s
        row: dict[str, float] = {}
        if log_now or is_last:
            elapsed = max(time.perf_counter() - t_log, 1e-9)
            row = {
                "step": step,
                "samples": samples,
                "time_s": round(time.perf_counter() - t_call, 3),
                "samples_per_s": steps_since_log * global_batch / elapsed,
                **{k: float(distributed.all_reduce_mean(v, ctx)) / steps_since_log for k, v in sums.items()},
                "lr": lr,
            }
            if not all(math.isfinite(v) for v in row.values()):
                raise CheckpointError(f"training diverged at step {step} (non-finite loss); lower the lr")
            sums, steps_since_log, t_log = {}, 0, time.perf_counter()
        if ctx.is_main and val_set is not None:
            checkpoint_now = step % config.ckpt_every == 0 or is_last or timed
            t_tail = time.perf_counter()
            if (step % config.val_every == 0 or is_last or timed) and len(val_set):
                row = {
                    "step": step,
                    "samples": samples,
                    **row,
                    **validate(eval_model, val_set, dev, config.guide_channel),
                }
            if (step % config.sample_every == 0 or is_last or timed) and len(val_set):
                grid = sample_grid(eval_model, val_set, dev, config.guide_channel, config.sample_count)
                grid_path = run / SAMPLES_DIR / f"step_{step:08d}.png"
                write_png(grid_path, grid)
            if row and metrics is not None:
                metrics.write(row)
                last_row = row
            if checkpoint_now:
                payload = _checkpoint_payload(config, generator, discriminator, opt_g, opt_d, ema, samples)
                save_checkpoint(run, step, payload, config.keep_last)
                save_carry_set(
                    run / CARRY_DIR,
                    generator,
                    ema.module if ema is not None else None,
                    discriminator if use_gan else None,
                    step,
                    samples,
                    config,
                )
                if on_checkpoint is not None:
                    on_checkpoint(CheckpointEvent(step, samples, run, grid_path, final=is_last))
                t_event = time.monotonic()
                if budget is not None:
                    budget.tail_done(time.perf_counter() - t_tail)
        if (step % config.ckpt_every == 0 or is_last) and ctx.distributed:
            distributed.barrier(ctx)
        if progress is not None:
            progress(step, last_row)
        if is_last:
            break

    export: Path | None = None
    if ctx.is_main:
        if step == start:  # no step ran (resumed at the final step, or no time): the run is complete anyway
            if not list_checkpoints(run):
                payload = _checkpoint_payload(config, generator, discriminator, opt_g, opt_d, ema, samples)
                save_checkpoint(run, step, payload, 1)
            ema_module = ema.module if ema is not None else None
            d_kept = discriminator if use_gan else None
            save_carry_set(run / CARRY_DIR, generator, ema_module, d_kept, step, samples, config)
            if on_checkpoint is not None:
                on_checkpoint(CheckpointEvent(step, samples, run, grid_path, final=True))
        export = export_generator(eval_model, run / EXPORT_FILE, step)
    elapsed_call = time.perf_counter() - t_call
    return TrainResult(
        step,
        run,
        export,
        samples_call / elapsed_call if samples_call else 0.0,
        samples=samples,
        stopped_early=stopped and step < config.steps,
        first_step_s=first_step_s,
        compile_error=compile_error,
    )
