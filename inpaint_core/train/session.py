"""One self-contained training call for a lent GPU (`python main.py train session`, docs/TRAINING.md).

In one command, inside a time budget: report the environment; measure training samples/s at a few batch sizes
(eager, a few seconds each); train from the carried weights (or from scratch) until the budget; and keep the
out folder complete at every checkpoint, so even a killed command brings something back. The out folder holds
at most 7 files, each under 16 MiB (the device tool returns 8 files of 16 MiB at most):

    G.safetensors  G_ema.safetensors  D.safetensors (GAN phase only)   the carry set for the next call (warm.py)
    metrics.jsonl  samples.png  summary.json  session.log

`carry_budget` (the `train carry` command) adds up what the next call must carry against the 64 MiB limit.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inpaint_core.bench.speed import SpeedConfig
from inpaint_core.errors import InpaintError
from inpaint_core.files import atomic_write
from inpaint_core.train.config import TrainConfig, write_text_atomic
from inpaint_core.train.loop import (
    CARRY_DIR,
    CheckpointEvent,
    StepModels,
    bf16_autocast,
    build_models,
    build_optimizers,
    configure_backends,
    load_photos,
    train,
    train_step,
)
from inpaint_core.train.metrics_log import METRICS_JSONL
from inpaint_core.train.warm import CARRY_FILES

SUMMARY = "summary.json"
LOG = "session.log"
GRID = "samples.png"
OUT_FILES = (*CARRY_FILES, METRICS_JSONL, GRID, SUMMARY, LOG)
MAX_OUT_FILES = 8
MAX_FILE_BYTES = 16 << 20
CARRY_LIMIT_BYTES = 64 << 20
PROBE_BANK_KEY = 2**31 - 1  # the probes draw their masks apart from any run's

Say = Callable[[str], None]


class SessionError(InpaintError):
    """The session cannot start (e.g. its out folder already holds files)."""


@dataclass(frozen=True)
class SessionOptions:
    out: Path
    time_budget_s: float
    warm: Path | None = None
    probe_batches: tuple[int, ...] = (32, 64, 128)
    probe_seconds: float = 45.0  # all batch sizes together (capped at 15% of the budget)
    run_dir: Path | None = None  # default: a new temporary folder (checkpoints with Adam states stay there)
    device: str = "auto"
    margin_s: float = 10.0
    speed: SpeedConfig | None = None  # `bench speed` on the device before training (session_speed.py)


def environment(device: str) -> dict[str, Any]:
    """What the machine offers: versions, the accelerator, bf16 support, CPU count."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cuda": torch.version.cuda,
        "cpu_count": os.cpu_count(),
        "device": device,
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count,
            "cudnn": torch.backends.cudnn.version(),
            "bf16": torch.cuda.is_bf16_supported(),
        }
    return info


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def probe_speed(
    config: TrainConfig,
    photos: Sequence[np.ndarray],
    batches: Sequence[int],
    seconds: float,
    device: torch.device,
) -> list[dict[str, Any]]:
    """Training samples/s of `train_step` at each batch size: eager (compile's cost and gain show in the run's own
    log), the config's precision, memory format and pipeline; fresh weights. A batch that runs out of memory is
    reported, not raised. The sizes share `seconds` (two untimed steps each included); a size is skipped when
    the time is spent.
    """
    from inpaint_core.train.device_data import PhotoBank

    results: list[dict[str, Any]] = []
    if not batches or seconds <= 0:
        return results
    configure_backends(device)
    bank = PhotoBank(photos, device) if config.pipeline == "device" and photos else None
    t_end = time.monotonic() + seconds
    for k, batch in enumerate(batches):
        entry: dict[str, Any] = {"batch": batch}
        left = t_end - time.monotonic()
        if left <= 0:
            entry["error"] = "skipped: the probe's time was spent"
        else:
            try:
                until = time.monotonic() + left / (len(batches) - k)
                entry |= _probe_one(config.replace(batch=batch, compile=False), bank, until, device)
            except torch.OutOfMemoryError:
                entry["error"] = "out of memory"
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the models of this size are gone; give their memory back
        results.append(entry)
    return results


def _probe_one(config: TrainConfig, bank: Any, until: float, device: torch.device) -> dict[str, Any]:
    """Two untimed steps, then timed steps until `until` (time.monotonic), at least one."""
    from inpaint_core.train.device_data import DeviceBatches

    channels_last = config.channels_last and device.type == "cuda"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    autocast = bf16_autocast(config, device)
    generator, discriminator = build_models(config)
    generator.to(device).to(memory_format=fmt).train()  # type: ignore[call-overload]
    discriminator.to(device).to(memory_format=fmt).train()  # type: ignore[call-overload]
    opt_g, opt_d = build_optimizers(config, generator, discriminator, fused=device.type == "cuda")
    models = StepModels(generator, discriminator, discriminator, opt_g, opt_d)
    size, batch = config.size, config.batch
    if bank is not None:
        source = DeviceBatches(bank, config, device, bank_key=PROBE_BANK_KEY, bank_size=256)

        def make(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            image, mask, guide = source.batch(step)
            return (
                image.contiguous(memory_format=fmt),
                mask.contiguous(memory_format=fmt),
                guide.contiguous(memory_format=fmt),
            )

    else:
        image = (torch.rand(batch, 3, size, size, device=device) * 2 - 1).contiguous(memory_format=fmt)
        mask = torch.zeros(batch, 1, size, size, device=device)
        mask[..., size // 4 : size // 2, size // 4 : size // 2] = 1

        def make(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return image, mask, torch.zeros_like(mask)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for step in range(2):  # warm-up: cuDNN picks its kernels for the new shapes
        train_step(models, *make(step), config, autocast)
    _sync(device)
    t0, steps = time.perf_counter(), 0
    while steps < 1 or (time.monotonic() < until and steps < 1000):
        train_step(models, *make(steps + 2), config, autocast)
        steps += 1
        if steps % 5 == 0:
            _sync(device)  # keep the host within a few steps of the device, so the clock is honest
    _sync(device)
    entry: dict[str, Any] = {
        "samples_per_s": round(steps * batch / (time.perf_counter() - t0), 1),
        "steps": steps,
    }
    if device.type == "cuda":
        entry["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return entry


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy `src` over `dst` atomically (files.atomic_write: synced, the temporary file removed on failure)."""
    with src.open("rb") as fin, atomic_write(dst) as fout:
        shutil.copyfileobj(fin, fout)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The validation curve (samples -> hole PSNR) and training speed from a run's metrics rows."""
    val = [r for r in rows if "val_psnr" in r]
    speeds = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
    out: dict[str, Any] = {
        "curve": [
            {"step": r["step"], "samples": r.get("samples"), "val_psnr": round(r["val_psnr"], 3)} for r in val
        ],
        # the first logged interval holds compile and warm-up; the median of the rest is the steady speed
        "train_samples_per_s": round(statistics.median(speeds[1:] or speeds), 1) if speeds else None,
    }
    if val:
        out["val_psnr_start"], out["val_psnr_end"] = (
            round(val[0]["val_psnr"], 3),
            round(val[-1]["val_psnr"], 3),
        )
        out["val_psnr_change_db"] = round(val[-1]["val_psnr"] - val[0]["val_psnr"], 3)
    return out


def run_session(config: TrainConfig, options: SessionOptions, started: float, say: Say) -> dict[str, Any]:
    """Run one session (see the module docstring). `started` is the time.monotonic() the budget counts from.

    Returns the summary (also written to <out>/summary.json, at every checkpoint and at the end).
    """
    out = options.out
    if out.exists() and any(out.iterdir()):
        raise SessionError(f"{out} is not empty; a session writes into an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / LOG

    def note(line: str) -> None:
        say(line)
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    deadline = started + options.time_budget_s
    summary: dict[str, Any] = {"status": "starting", "time_budget_s": options.time_budget_s}

    def write_summary() -> None:
        summary["elapsed_s"] = round(time.monotonic() - started, 1)
        write_text_atomic(out / SUMMARY, json.dumps(summary, indent=2, default=str) + "\n")

    try:
        env = environment(options.device)
        summary["environment"] = env
        note("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
        from inpaint_core.train.distributed import pick_device

        device = pick_device(options.device)
        t0 = time.monotonic()
        photos = load_photos(config)
        arrays = [p for p in photos[0] if isinstance(p, np.ndarray)]
        note(
            f"data: {len(photos[0])} training and {len(photos[1])} validation photos ({time.monotonic() - t0:.1f} s)"
        )
        write_summary()

        probe_s = min(options.probe_seconds, 0.15 * options.time_budget_s)
        probe = probe_speed(config, arrays, options.probe_batches, probe_s, device)
        summary["probe"] = probe
        for entry in probe:
            note(
                f"probe: batch {entry['batch']}: "
                + ", ".join(f"{k} {v}" for k, v in entry.items() if k != "batch")
            )
        write_summary()

        if options.speed is not None:
            _measure_speed(options.speed, summary, note)
            write_summary()

        run_dir = options.run_dir or Path(tempfile.mkdtemp(prefix="deepfill-run-"))
        summary |= {"run_dir": str(run_dir), "config": config.to_dict(), "status": "training"}
        note(f"training: run folder {run_dir}, {deadline - time.monotonic():.0f} s left")

        def publish(event: CheckpointEvent) -> None:
            for name in CARRY_FILES:
                src = event.run_dir / CARRY_DIR / name
                if src.is_file():
                    _copy_atomic(src, out / name)
            if (event.run_dir / METRICS_JSONL).is_file():
                _copy_atomic(event.run_dir / METRICS_JSONL, out / METRICS_JSONL)
            if event.grid is not None:
                _copy_atomic(event.grid, out / GRID)
            summary.update(step=event.step, samples=event.samples)
            summary.update(summarise(_read_rows(event.run_dir / METRICS_JSONL)))
            write_summary()
            note(
                f"checkpoint: step {event.step}, {event.samples} samples, val PSNR {summary.get('val_psnr_end')}, "
                f"{deadline - time.monotonic():.0f} s left"
            )

        def progress(step: int, row: dict[str, float]) -> None:
            if row.get("step") == step and "samples_per_s" in row:
                shown = (
                    "samples",
                    "samples_per_s",
                    "l1_fine",
                    "g_adv",
                    "d_loss",
                    "grad_norm",
                    "lr",
                    "val_psnr",
                )
                note(f"step {step}: " + ", ".join(f"{k} {row[k]:.4g}" for k in shown if k in row))

        result = train(
            config,
            run_dir,
            device=options.device,
            deadline=deadline,
            warm=options.warm,
            photos=photos,
            on_checkpoint=publish,
            progress=progress,
            margin_s=options.margin_s,
        )
        summary |= {
            "status": "done",
            "stopped_by_budget": result.stopped_early,
            "first_step_s": round(result.first_step_s, 1),
            "compile_error": result.compile_error,
            "call_samples_per_s": round(result.samples_per_s, 1),
        }
        summary["out_files"] = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
        note(
            f"done: step {result.step}, {result.samples} samples, {summary.get('train_samples_per_s')} samples/s, "
            f"val PSNR {summary.get('val_psnr_start')} -> {summary.get('val_psnr_end')} dB"
        )
        return summary
    except BaseException as exc:
        summary |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        raise
    finally:
        write_summary()


def _measure_speed(config: SpeedConfig, summary: dict[str, Any], note: Say) -> None:
    """`bench speed` into summary["speed"]; a failure is noted, never fatal: the training matters more."""
    from inpaint_core.train.session_speed import measure_speed

    note(f"speed: bench speed on {config.device}, {config.sizes} in {', '.join(config.precisions)}")
    t0 = time.monotonic()
    try:
        summary["speed"] = measure_speed(config, lambda line: note(f"speed: {line}"))
    except (RuntimeError, InpaintError) as exc:
        summary["speed_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        note(f"speed: failed: {summary['speed_error']}")
        return
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the benchmark's models are gone: their memory goes back before training
    for line in summary["speed"]["report"].splitlines():
        note(line)
    note(f"speed: done in {time.monotonic() - t0:.0f} s")


def check_out_folder(out: Path) -> list[str]:
    """What the device tool would not bring back from `out` (too many files, too large, nested too deep)."""
    problems: list[str] = []
    files = [p for p in out.rglob("*") if p.is_file()]
    if len(files) > MAX_OUT_FILES:
        problems.append(f"{len(files)} files (at most {MAX_OUT_FILES} come back)")
    problems += [
        f"{p.name}: {p.stat().st_size} bytes (over 16 MiB)"
        for p in files
        if p.stat().st_size > MAX_FILE_BYTES
    ]
    return problems


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def carry_budget(repo: Path, paths: Sequence[Path]) -> list[tuple[str, int]]:
    """(name, bytes) of what a device call sends: the repository's tracked and untracked-not-ignored files, then
    each carried path. Their sum must stay under 64 MiB (CARRY_LIMIT_BYTES)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SessionError(f"cannot list the repository's files with git in {repo}: {exc}") from exc
    files = [repo / name for name in listed.decode("utf-8", "replace").split("\0") if name]
    rows = [("repository", sum(f.stat().st_size for f in files if f.is_file()))]
    for path in paths:
        if not path.exists():
            raise SessionError(f"carried path not found: {path}")
        rows.append((str(path), _tree_bytes(path)))
    return rows
