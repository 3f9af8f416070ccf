"""How fast the training step runs: `bench train` (the relay's step, the old path against the new one in one
run) and `bench speed`'s training row (`add_train_rate`).

The paths differ only in how the same function is computed:
- old: the gate eagerly (3 kernels forward, 5 backward) and contextual attention image by image in bands;
- new: the gate fused into one compiled pass each way (model/gating.py) and the attention's score maps of the
  whole batch at once (`ContextualAttention._batched`).

Steps are timed interleaved, round by round, after a warm-up that holds the compiles, and reported as medians,
so a loaded machine slows both alike. Efficiency = counted training FLOPs (forward + backward, FlopCounterMode)
per second over the best 3x3 convolution rate of this machine in the step's precision, measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from inpaint_core.bench.flops import conv_gflops, model_inputs
from inpaint_core.bench.speed import SpeedConfig, SpeedReport
from inpaint_core.devices import cpu_has_native_bf16
from inpaint_core.errors import InpaintError
from inpaint_core.model.config import AttentionConfig
from inpaint_core.model.layers import use_fused_gating
from inpaint_core.train.config import TrainConfig
from inpaint_core.train.heap import keep_freed_memory
from inpaint_core.train.loop import StepModels, bf16_autocast, build_models, build_optimizers, train_step

Log = Callable[[str], None]
SHAPES = ((128, 16), (256, 8))  # the relay's (size, batch)


@dataclass(frozen=True)
class PathTiming:
    path: str
    size: int
    batch: int
    step_s: float  # median seconds per step
    gflop_per_sample: float
    best_s: float = 0.0  # the fastest step: on a shared machine, the one least disturbed

    @property
    def samples_per_s(self) -> float:
        return self.batch / self.step_s


@dataclass
class TrainSpeedReport:
    device: str
    precision: str
    threads: int
    conv_peak_gflops: float
    heap_reuse: bool = False  # glibc kept freed memory (train/heap.py), as the training loop does
    timings: list[PathTiming] = field(default_factory=list)
    first_step_s: dict[str, float] = field(default_factory=dict)  # compile cost shows here

    def efficiency(self, timing: PathTiming) -> float:
        return timing.samples_per_s * timing.gflop_per_sample / self.conv_peak_gflops


def _step_fn(
    path: str, size: int, batch: int, cnum: int, bf16: bool, device: torch.device
) -> Callable[[], None]:
    config = TrainConfig(
        cnum=cnum,
        size=size,
        batch=batch,
        gan_alpha=0.0,
        l1_mode="hole",
        grad_clip=1.0,
        amp_on_cpu=bf16,
        fused_gating=path == "new",
    )
    generator, discriminator = build_models(config)
    if path == "old":  # never the batched attention: the banded path image by image
        generator.refine.contextual_attention.config = AttentionConfig(batched_scores=0)
    else:
        use_fused_gating(generator)
    fmt = torch.channels_last if path == "new" else torch.contiguous_format
    generator.to(device).to(memory_format=fmt).train()  # type: ignore[call-overload]
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    models = StepModels(generator, discriminator, discriminator, opt_g, opt_d)
    autocast = bf16_autocast(config, device)
    gen = torch.Generator().manual_seed(0)
    image = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=fmt)
    mask = torch.zeros(batch, 1, size, size)
    for i in range(batch):  # holes of different sizes and places, as training draws them
        side = size // 4 + (i * size // (2 * batch))
        top = (i * 7) % (size - side)
        mask[i, :, top : top + side, size // 8 : size // 8 + side] = 1
    mask = mask.to(device).contiguous(memory_format=fmt)
    guide = torch.zeros_like(mask)

    def step() -> None:
        train_step(models, image, mask, guide, config, autocast)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step


def training_gflop(size: int, batch: int, cnum: int) -> float:
    """Counted GFLOP of one training step (G forward + backward) per sample, fp32 (FLOPs do not depend on it)."""
    from torch.utils.flop_counter import FlopCounterMode

    step = _step_fn("old", size, batch, cnum, False, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / batch / 1e9


def run_train_speed(
    device: str = "cpu",
    shapes: tuple[tuple[int, int], ...] = SHAPES,
    cnum: int = 24,
    rounds: int = 5,
    precision: str = "auto",
    log: Log | None = None,
    heap_reuse: bool = True,
) -> TrainSpeedReport:
    """Time both paths at each (size, batch). `heap_reuse`: glibc keeps freed memory as training does
    (train/heap.py); it holds for the whole process, so compare it with and without in two runs."""
    say: Log = log or (lambda _m: None)
    dev = torch.device(device)
    reused = dev.type == "cpu" and heap_reuse and keep_freed_memory()
    bf16 = precision == "bf16" or (
        precision == "auto" and (dev.type == "cuda" or (dev.type == "cpu" and cpu_has_native_bf16()))
    )
    dtype = torch.bfloat16 if bf16 else torch.float32
    say(f"conv peak ({dtype}) ...")
    peak = conv_gflops(dtype, device=dev)
    report = TrainSpeedReport(device, "bf16" if bf16 else "fp32", torch.get_num_threads(), peak, reused)
    for size, batch in shapes:
        flop = training_gflop(size, batch, cnum)
        steps = {path: _step_fn(path, size, batch, cnum, bf16, dev) for path in ("old", "new")}
        for path, step in steps.items():
            say(f"{size}px batch {batch}: first step of the {path} path (compiles) ...")
            t0 = time.perf_counter()
            step()
            report.first_step_s[f"{path} {size}"] = time.perf_counter() - t0
            step()
        times: dict[str, list[float]] = {path: [] for path in steps}
        for r in range(rounds):
            for path, step in steps.items():
                t0 = time.perf_counter()
                step()
                times[path].append(time.perf_counter() - t0)
            say(
                f"{size}px round {r + 1}/{rounds}: "
                + ", ".join(f"{p} {t[-1]:.2f} s" for p, t in times.items())
            )
        for path, values in times.items():
            report.timings.append(PathTiming(path, size, batch, statistics.median(values), flop, min(values)))
    return report


def format_report(report: TrainSpeedReport, cpu: str) -> str:
    lines = [
        f"training step, cnum 24, {report.precision}, {report.device} ({cpu}), {report.threads} threads, "
        f"heap reuse {'on' if report.heap_reuse else 'off'}; conv peak {report.conv_peak_gflops:.0f} GFLOP/s",
        "| size | batch | path | step (s, median) | fastest (s) | samples/s | GFLOP/sample | GFLOP/s | of conv peak "
        "| speed-up (median) | speed-up (fastest) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    old = {t.size: t for t in report.timings if t.path == "old"}
    for t in report.timings:
        gflops = t.samples_per_s * t.gflop_per_sample
        ratio = old[t.size].step_s / t.step_s
        best = old[t.size].best_s / t.best_s
        lines.append(
            f"| {t.size} | {t.batch} | {t.path} | {t.step_s:.3f} | {t.best_s:.3f} | {t.samples_per_s:.2f} | "
            f"{t.gflop_per_sample:.2f} | {gflops:.0f} | {report.efficiency(t):.3f} | {ratio:.2f}x | {best:.2f}x |"
        )
    firsts = ", ".join(f"{k}px {v:.0f} s" for k, v in report.first_step_s.items())
    lines.append(f"first steps (compile included): {firsts}")
    main = [t for t in report.timings if t.path == "new"][-1]
    lines.append(
        f"train_samples_per_s={main.samples_per_s:.3f} train_efficiency={report.efficiency(main):.4f}"
    )
    return "\n".join(lines)


def train_throughput(device: torch.device, steps: int, batch: int, size: int = 256) -> float:
    """Samples/s of the training step (D then G update, published losses) at size x size, random data.

    One untimed warm-up step; bf16 autocast on CUDA as the trainer does (config.amp).
    """
    config = TrainConfig(size=size, batch=batch)
    generator, discriminator = build_models(config)
    generator.to(device).train()
    discriminator.to(device).train()
    opt_g, opt_d = build_optimizers(config, generator, discriminator)
    models = StepModels(generator, discriminator, discriminator, opt_g, opt_d)
    image, mask, _ = model_inputs(size, batch, device)
    guide = torch.zeros_like(mask)

    amp = bf16_autocast(config, device)  # the trainer's: bf16 on CUDA, fp32 on the CPU (no amp_on_cpu)

    train_step(models, image, mask, guide, config, amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(models, image, mask, guide, config, amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch / (time.perf_counter() - t0)


def add_train_rate(report: SpeedReport, config: SpeedConfig, log: Log | None = None, size: int = 256) -> None:
    """`bench speed`'s training row: `train_throughput` at 256x256 when `config.train_steps` > 0, else a note."""
    if config.train_steps <= 0:
        report.notes.append(
            "training throughput skipped (default on CPU: a 256x256 step takes seconds; pass --train-steps N)"
        )
        return
    (log or (lambda _m: None))("training throughput")
    try:
        report.train_samples_per_s = train_throughput(
            torch.device(report.device), config.train_steps, config.train_batch, size
        )
    except (RuntimeError, InpaintError) as exc:
        report.notes.append(f"training throughput failed: {str(exc).splitlines()[0]}")
