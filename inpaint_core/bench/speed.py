"""The speed benchmark: forward latency, counted FLOPs, efficiency against the machine's matmul peak, peak
memory, the interactive 12 MP path end to end, training throughput and (CUDA only) graph capture.

All timings are medians over several runs after a warm-up; the model has random-init weights (timing only: the
work does not depend on the weights' values) of the shipped model's width (`default_cnum`: what the default path
runs), and the published full width (cnum 48) is timed as extra rows when the shipped model is narrower.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from inpaint_core.bench.flops import (
    conv_gflops,
    count_forward_flops,
    count_generator_flops,
    matmul_gflops,
    median,
    model_inputs,
    time_forward,
)
from inpaint_core.budget import padded
from inpaint_core.devices import autocast_dtype, cpu_has_native_bf16
from inpaint_core.errors import DeviceError, InpaintError
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.registry import MODEL_MULTIPLE

_MATMUL_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_MIB = 1024.0 * 1024.0
FULL_WIDTH = GeneratorConfig().cnum  # the published model (cnum 48)

Log = Callable[[str], None]


@dataclass(frozen=True)
class SpeedConfig:
    """What `bench speed` measures."""

    device: str = "cpu"  # "cpu" | "cuda" (or "cuda:N")
    sizes: tuple[int, ...] = (256, 512)
    precisions: tuple[str, ...] = ("fp32",)
    runs: int = 5
    warmup: int = 1
    matmul_n: int = 2048
    memory: bool = True
    photo: tuple[int, int] = (4000, 3000)  # (width, height) of the interactive-path photo
    hole: int = 200  # side of the square hole in that photo
    train_steps: int = 0  # 0 = skip the training-throughput figure (train/step_speed.py: add_train_rate)
    train_batch: int = 8
    gpu_options: bool = True  # CUDA graph capture and batch throughput (CUDA only)
    gpu_batches: tuple[int, ...] = (8, 32)  # the batch-throughput sizes at 256x256 (CUDA only)
    cnum: int | None = None  # None: the shipped model's width (`default_cnum`)
    attention: bool = False  # also time contextual attention alone at each size
    interactive_options: bool = False  # also time the ways to a 0.5 s fill (`interactive_options`)

    @cached_property  # read once per config: it opens the manifest and the weights file's header
    def width(self) -> int:
        """The default path's model width: `cnum`, else the shipped model's."""
        return self.cnum or default_cnum()


@dataclass
class SpeedRow:
    """One (model width, size, precision) measurement."""

    size: int
    precision: str
    median_s: float | None  # None: the precision could not run here (see note)
    gflop: float
    peak_mib: float | None = None  # forward's peak memory above the model (CPU: RSS; CUDA: allocator)
    note: str = ""
    cnum: int = FULL_WIDTH

    @property
    def achieved_gflops(self) -> float | None:
        return None if not self.median_s else self.gflop / self.median_s


@dataclass
class AttentionRow:
    """Contextual attention alone: the model's attention input at one image size and precision."""

    size: int  # image side; the attention sees (size/4)^2 features and matches on a (size/8)^2 grid
    precision: str
    median_s: float
    gflop: float

    @property
    def achieved_gflops(self) -> float:
        return self.gflop / self.median_s


@dataclass
class SpeedReport:
    """Everything one `bench speed` run measured."""

    device: str
    machine: str
    threads: int
    default_precision: str
    matmul: dict[str, float]  # precision -> best GFLOP/s of a large square matmul
    conv: dict[str, float] = field(default_factory=dict)  # precision -> best GFLOP/s of a large 3x3 conv
    rows: list[SpeedRow] = field(default_factory=list)
    attention: list[AttentionRow] = field(default_factory=list)
    interactive_runs: list[InteractiveRun] = field(default_factory=list)
    interactive_s: float | None = None  # median, model already loaded
    interactive_cold_s: float | None = None  # first run: includes loading the weights
    interactive_note: str = ""
    train_samples_per_s: float | None = None
    cuda_graph_s: float | None = None  # 512x512 batch-1 forward replayed from a captured CUDA graph
    notes: list[str] = field(default_factory=list)

    def efficiency(self) -> tuple[float | None, str]:
        """Achieved GFLOP/s of the default path at the largest size over the fastest matmul, with a description.

        The denominator is the fastest matmul measured in any precision that path may use (fp32, and bf16/fp16
        where the device supports them), so a path that leaves bf16 units idle does not score well.
        """
        if not self.rows or not self.matmul:
            return None, "nothing measured"
        default_width = self.rows[0].cnum  # the first rows are the default path's model
        largest = max(r.size for r in self.rows if r.cnum == default_width)
        candidates = [
            r for r in self.rows if r.size == largest and r.cnum == default_width and r.achieved_gflops
        ]
        if not candidates:
            return None, f"no precision ran at {largest}"
        row = next((r for r in candidates if r.precision == self.default_precision), candidates[0])
        peak_precision = max(self.matmul, key=lambda k: self.matmul[k])
        peak = self.matmul[peak_precision]
        achieved = row.achieved_gflops or 0.0
        text = (
            f"{achieved:.1f} GFLOP/s ({row.precision}, {largest}x{largest}) / "
            f"{peak:.1f} GFLOP/s ({peak_precision} matmul)"
        )
        return achieved / peak, text


def machine_name() -> str:
    """The CPU model name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def engine_default_precision(device: torch.device | None = None) -> str:
    """The precision an InpaintRequest uses unless told otherwise, resolved for `device` with the shipped
    weights ("auto" -> precision.resolve_precision): the "default path" efficiency is about."""
    from inpaint_core.engine import InpaintRequest
    from inpaint_core.precision import resolve_precision

    default = next((str(f.default) for f in fields(InpaintRequest) if f.name == "precision"), "fp32")
    return resolve_precision(default, device or torch.device("cpu"))


def matmul_precisions(device: torch.device) -> list[str]:
    """Precisions whose matmul peak counts: fp32 everywhere; bf16 on CPUs with native bf16; bf16, fp16 on CUDA."""
    if device.type == "cuda":
        out = ["fp32", "fp16"]
        if torch.cuda.is_bf16_supported():
            out.insert(1, "bf16")
        return out
    return ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]


def default_cnum() -> int:
    """The shipped model's width (the default path's work), from its file's recorded config; the published
    width while none ships or when the file cannot say."""
    from inpaint_core.model_info import shipped_model_info

    try:
        shipped = shipped_model_info()
    except InpaintError:
        return FULL_WIDTH
    return FULL_WIDTH if shipped is None or shipped.cnum is None else shipped.cnum


def build_model(cnum: int, device: torch.device) -> DeepFillV2Generator:
    """A random-init generator (seeded) in eval mode on `device`."""
    torch.manual_seed(0)
    from inpaint_core.model.inference import for_inference

    model = DeepFillV2Generator(GeneratorConfig(cnum=cnum)).to(device)
    for_inference(model)  # the engine's layout, so the timing is the default path's
    return model


# ------------------------------------------------------------------------------------------- peak memory


def _rss_kib() -> tuple[int, int] | None:
    """(current RSS, RSS high-water mark) of this process in KiB from /proc/self/status (Linux), else None."""
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    if len(values) != 2:
        return None
    return values["VmRSS"], values["VmHWM"]


def _memory_child(size: int, precision: str, cnum: int) -> dict[str, float]:
    """In a fresh process: the RSS peak of one forward above the RSS just before it (MiB).

    Linux carries a parent's ru_maxrss over fork and exec, so the per-mm VmHWM is used where it exists (reset
    just before the forward through /proc/self/clear_refs); ru_maxrss is the fallback elsewhere.
    """
    from inpaint_core.devices import autocast
    from inpaint_core.model.inference import for_inference

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    model = for_inference(build_model(cnum, torch.device("cpu")), precision)
    image, mask, guide = model_inputs(size)
    before = _rss_kib()
    if before is not None:
        try:
            Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # reset VmHWM to VmRSS
            before = _rss_kib()
        except OSError:
            pass
    import resource

    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with torch.inference_mode(), autocast(precision, torch.device("cpu")):
        model(image, mask, guide)
    after = _rss_kib()
    if before is not None and after is not None:
        return {"forward_mib": (after[1] - before[0]) / 1024.0, "process_mib": after[1] / 1024.0}
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"forward_mib": (max_after - max_before) / 1024.0, "process_mib": max_after / 1024.0}


def cpu_forward_peak_mib(size: int, precision: str, cnum: int) -> tuple[float | None, str]:
    """Peak memory of one CPU forward at `size`, measured in a subprocess (RSS high-water mark delta).

    tracemalloc does not see torch's allocations and the RSS peak never goes down within a process, so each
    size gets a fresh interpreter. Returns (MiB or None, note).
    """
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        return None, "peak memory needs the POSIX resource module"
    code = (
        "import json,sys;from inpaint_core.bench.speed import _memory_child;"
        f"print(json.dumps(_memory_child({int(size)}, {precision!r}, {int(cnum)})))"
    )
    env = dict(os.environ, BENCH_THREADS=str(torch.get_num_threads()))
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1800, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"peak memory: subprocess failed ({exc})"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"peak memory: subprocess failed ({last})"
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(data["forward_mib"]), ""


def cuda_forward_peak_mib(model: DeepFillV2Generator, size: int, precision: str) -> float:
    """torch.cuda.max_memory_allocated during one forward, above what was allocated before it (MiB)."""
    from inpaint_core.devices import autocast
    from inpaint_core.model.inference import for_inference

    for_inference(model, precision)
    device = next(model.parameters()).device
    image, mask, guide = model_inputs(size, device=device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    with torch.inference_mode(), autocast(precision, device):
        model(image, mask, guide)
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / _MIB


# --------------------------------------------------------------------------------- contextual attention


def time_attention(
    size: int, precision: str, runs: int, warmup: int, cnum: int, device: torch.device
) -> AttentionRow:
    """Contextual attention alone, as the generator calls it at image size x size: (size/4)^2 features of
    2*cnum channels (random, ReLU'd like pmconv6's output) in the compute dtype, channels_last, with a centred
    hole of a quarter of the area. FLOPs counted on the meta device; the median of `runs` timed calls.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from inpaint_core.devices import compute_dtype
    from inpaint_core.model.attention import ContextualAttention

    if size % MODEL_MULTIPLE:
        raise InpaintError(f"sizes must be multiples of {MODEL_MULTIPLE}, got {size}")
    h4 = size // 4
    layer = ContextualAttention(GeneratorConfig(cnum=cnum).attention)
    counter = FlopCounterMode(display=False)
    meta = torch.zeros(1, 2 * cnum, h4, h4, device="meta")
    with torch.inference_mode(), counter:
        layer(meta, meta, torch.zeros(1, 1, h4, h4, device="meta"))
    dtype = compute_dtype(precision, device)
    gen = torch.Generator().manual_seed(0)
    feat = torch.randn(1, 2 * cnum, h4, h4, generator=gen).relu_().to(device, dtype)
    feat = feat.contiguous(memory_format=torch.channels_last)
    mask = torch.zeros(1, 1, h4, h4, dtype=dtype, device=device)
    mask[..., h4 // 4 : h4 - h4 // 4, h4 // 4 : h4 - h4 // 4] = 1
    times = []
    with torch.inference_mode():
        for i in range(warmup + max(1, runs)):
            _sync_device(device)
            t0 = time.perf_counter()
            layer(feat, feat, mask)
            _sync_device(device)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return AttentionRow(size, precision, median(times), counter.get_total_flops() / 1e9)


def _sync_device(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------- interactive path


def synthetic_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient photo with mild noise (content does not change the timing).

    Shape: -> (height, width, 3) uint8
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    rgb = np.stack([0.2 + 0.6 * x + 0 * y, 0.3 + 0.5 * y + 0 * x, 0.5 + 0.3 * x * y], axis=2)
    noise = rng.integers(0, 6, (height, width, 1), dtype=np.uint8)
    return (rgb * 240.0).astype(np.uint8) + noise


@dataclass
class InteractiveRun:
    """`InpaintEngine.run` timings on the interactive photo for one option."""

    option: str
    precision: str
    cold_s: float  # the first run: includes loading the weights
    median_s: float  # median of the further runs, model cached
    stages: dict[str, float]  # stage -> seconds, last run
    model_size: tuple[int, int]  # (height, width) the model saw (unpadded)
    gflop: float  # counted FLOPs of the forward at that (padded) size
    without_refine_s: float = float("nan")  # median of each run's stages but "refine": a coarse-only preview


@dataclass(frozen=True)
class InteractiveCase:
    """One way to run the interactive fill: a model width, a precision and the engine's resolution limits."""

    option: str
    precision: str
    cnum: int
    max_side: int = 512
    max_gflop: float | None = None


def time_interactive_cases(
    cases: list[InteractiveCase], device: str, photo: tuple[int, int], hole: int, runs: int
) -> list[InteractiveRun]:
    """`InpaintEngine.run` on a photo with one centred square hole, per case: a first run each (loading the
    weights), then `runs` rounds that run every case once in turn, so a change in the machine's load falls on
    all of them alike; each case's median over the rounds.

    The weights are random-init generators (one per width) saved to temporary safetensors files (timing only).
    """
    from inpaint_core.budget import forward_gflop
    from inpaint_core.engine import InpaintEngine, InpaintRequest, InpaintResult
    from inpaint_core.weights import save_generator

    width, height = photo
    if hole >= min(width, height):
        raise InpaintError(f"the hole ({hole} px) must be smaller than the photo ({width}x{height})")
    image = synthetic_photo(width, height)
    mask = np.zeros((height, width), np.uint8)
    y0, x0 = (height - hole) // 2, (width - hole) // 2
    mask[y0 : y0 + hole, x0 : x0 + hole] = 255
    engine = InpaintEngine()
    with tempfile.TemporaryDirectory() as tmp:
        weights: dict[int, Path] = {}
        for cnum in sorted({c.cnum for c in cases}):
            weights[cnum] = Path(tmp) / f"random_init_{cnum}.safetensors"
            save_generator(build_model(cnum, torch.device("cpu")), weights[cnum], dtype=torch.float32)
        requests = [
            InpaintRequest(
                image=image,
                mask=mask,
                device=device,
                precision=c.precision,
                weights=weights[c.cnum],
                max_side=c.max_side,
                max_gflop=c.max_gflop,
            )
            for c in cases
        ]
        cold: list[float] = []
        last: list[InpaintResult] = []
        for request in requests:
            t0 = time.perf_counter()
            last.append(engine.run(request))
            cold.append(time.perf_counter() - t0)
        warm: list[list[float]] = [[] for _ in cases]
        quick: list[list[float]] = [[] for _ in cases]
        for _ in range(max(1, runs)):
            for k, request in enumerate(requests):
                t0 = time.perf_counter()
                last[k] = engine.run(request)
                warm[k].append(time.perf_counter() - t0)
                quick[k].append(sum(v for stage, v in last[k].timings.items() if stage != "refine"))
        engine.clear_cache()
    out = []
    for k, (case, result) in enumerate(zip(cases, last, strict=True)):
        size = result.model_sizes[0] if result.model_sizes else (0, 0)
        gflop = forward_gflop(GeneratorConfig(cnum=case.cnum), *size) if result.model_sizes else 0.0
        out.append(
            InteractiveRun(
                case.option,
                case.precision,
                cold[k],
                median(warm[k]),
                result.timings,
                size,
                gflop,
                median(quick[k]),
            )
        )
    return out


def time_interactive(
    device: str, precision: str, photo: tuple[int, int], hole: int, runs: int, cnum: int
) -> InteractiveRun:
    """The default interactive fill (max side 512, no budget): `time_interactive_cases` with one case."""
    case = InteractiveCase("default", precision, cnum)
    return time_interactive_cases([case], device, photo, hole, runs)[0]


def interactive_options(config: SpeedConfig, device: torch.device, log: Log) -> list[InteractiveRun]:
    """The ways to a fill under 0.5 s on this device through the engine (issue 14), per precision: the full
    model; lower max sides; the device's budget (`budget.interactive_gflop_budget`); the other width (the
    full one when the default is the lite model, else cnum 24). A coarse-only preview is estimated from the
    full model's stage timings (all but "refine").
    """
    from inpaint_core.budget import interactive_gflop_budget

    cases: list[InteractiveCase] = []
    other = FULL_WIDTH if config.width != FULL_WIDTH else 24  # the other model: full width, or the lite one
    for precision in config.precisions:
        budget = interactive_gflop_budget(device, precision)
        cases += [
            InteractiveCase("full model (max side 512)", precision, config.width),
            InteractiveCase("max side 320", precision, config.width, 320),
            InteractiveCase("max side 256", precision, config.width, 256),
            InteractiveCase(f"budget {budget:.0f} GFLOP", precision, config.width, 512, budget),
            InteractiveCase(f"cnum {other} (max side 512)", precision, other),
        ]
    log(f"interactive options: {len(cases)} cases, {min(config.runs, 3)} interleaved rounds")
    runs = time_interactive_cases(cases, str(device), config.photo, config.hole, min(config.runs, 3))
    out: list[InteractiveRun] = []
    for run in runs:
        out.append(run)
        if run.option.startswith("full model"):
            name = "coarse-only preview (the full model's runs without the refine stage)"
            h, w = (padded(side) for side in run.model_size)
            gflop = count_generator_flops(GeneratorConfig(cnum=config.width), h, w, coarse_only=True) / 1e9
            out.append(
                InteractiveRun(
                    name, run.precision, float("nan"), run.without_refine_s, {}, run.model_size, gflop
                )
            )
    return out


# ------------------------------------------------------------------------------------------ GPU options


def cuda_graph_latency(model: DeepFillV2Generator, size: int, precision: str, runs: int) -> float:
    """Median seconds of a forward replayed from a captured CUDA graph (batch 1). Raises RuntimeError when the
    forward cannot be captured (e.g. a host sync inside it)."""
    from inpaint_core.devices import autocast
    from inpaint_core.model.inference import for_inference

    for_inference(model, precision)
    device = next(model.parameters()).device
    image, mask, guide = model_inputs(size, device=device)
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.inference_mode(), autocast(precision, device):
        with torch.cuda.stream(stream):  # warm-up on a side stream, as capture requires
            for _ in range(3):
                model(image, mask, guide)
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(image, mask, guide)
    times = []
    for _ in range(max(1, runs)):
        torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        graph.replay()
        torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    return median(times)


def _gpu_options(model: DeepFillV2Generator, config: SpeedConfig, report: SpeedReport, log: Log) -> None:
    precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    try:
        graph_s = report.cuda_graph_s = cuda_graph_latency(model, 512, precision, config.runs)
        report.notes.append(
            f"CUDA graph replay, 512x512 batch 1, {precision}: {graph_s * 1000:.1f} ms (median)"
        )
    except (RuntimeError, DeviceError) as exc:
        report.notes.append(f"CUDA graph capture failed: {str(exc).splitlines()[0]}")
    log("gpu: batch throughput at 256x256")
    for batch in config.gpu_batches:
        try:
            times = time_forward(model, 256, precision, config.runs, max(1, config.warmup), batch=batch)
            report.notes.append(
                f"256x256 batch {batch}, {precision}: {batch / median(times):.1f} images/s (forward only)"
            )
        except (RuntimeError, DeviceError) as exc:
            report.notes.append(f"256x256 batch {batch}: failed ({str(exc).splitlines()[0]})")


# ---------------------------------------------------------------------------------------------------- run


def _time_rows(
    model: DeepFillV2Generator,
    cnum: int,
    config: SpeedConfig,
    device: torch.device,
    only: str | None,
    say: Log,
) -> list[SpeedRow]:
    """Forward latency (and peak memory) of `model` at each size, in each precision (`only`: that one)."""
    rows = []
    for size in config.sizes:
        gflop = count_forward_flops(model, size) / 1e9
        for precision in (only,) if only else config.precisions:
            say(f"timing cnum {cnum} {size}x{size} {precision}")
            row = SpeedRow(size=size, precision=precision, median_s=None, gflop=gflop, cnum=cnum)
            rows.append(row)
            try:
                autocast_dtype(precision, device)
                row.median_s = median(time_forward(model, size, precision, config.runs, config.warmup))
            except (RuntimeError, DeviceError) as exc:
                row.note = f"not run: {str(exc).splitlines()[0]}"
                continue
            if config.memory:
                if device.type == "cuda":
                    row.peak_mib = cuda_forward_peak_mib(model, size, precision)
                else:
                    say(f"peak memory cnum {cnum} {size}x{size} {precision} (subprocess)")
                    row.peak_mib, row.note = cpu_forward_peak_mib(size, precision, cnum)
    return rows


def run_speed(config: SpeedConfig, log: Log | None = None) -> SpeedReport:
    """Measure everything in `config` in one process, so ratios compare figures taken under the same load."""
    say: Log = log or (lambda _msg: None)
    from inpaint_core.devices import resolve_device

    device = resolve_device(config.device)
    if device.type not in ("cpu", "cuda"):
        raise DeviceError(f"bench speed supports cpu and cuda, not {device.type}")
    for size in config.sizes:
        if size <= 0 or size % MODEL_MULTIPLE:
            raise InpaintError(f"sizes must be positive multiples of {MODEL_MULTIPLE}, got {size}")
    default_precision = engine_default_precision(device)
    report = SpeedReport(
        device=str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        machine=machine_name(),
        threads=torch.get_num_threads(),
        default_precision=default_precision,
        matmul={},
    )
    for precision in matmul_precisions(device):
        say(f"matmul and conv peaks: {precision}")
        dtype = _MATMUL_DTYPES[precision]
        report.matmul[precision] = matmul_gflops(dtype, config.matmul_n, repeats=5, device=device)
        report.conv[precision] = conv_gflops(dtype, repeats=5, device=device)

    cnum = config.width
    model = build_model(cnum, device)
    widths = [(cnum, model)] + ([] if cnum == FULL_WIDTH else [(FULL_WIDTH, build_model(FULL_WIDTH, device))])
    # The full width's extra rows: one precision, the default path's where this run times it
    extra = default_precision if default_precision in config.precisions else config.precisions[0]
    for width, timed in widths:
        for row in _time_rows(timed, width, config, device, extra if width != cnum else None, say):
            report.rows.append(row)
            if config.attention and width == cnum and row.median_s is not None:
                say(f"contextual attention {row.size}x{row.size} {row.precision}")
                report.attention.append(
                    time_attention(row.size, row.precision, config.runs, config.warmup, cnum, device)
                )

    say("interactive path")
    try:
        precision = default_precision if default_precision in config.precisions else config.precisions[0]
        run = time_interactive(
            str(device), precision, config.photo, config.hole, min(config.runs, 3), config.width
        )
        report.interactive_cold_s, report.interactive_s = run.cold_s, run.median_s
        stage_text = ", ".join(f"{k} {v:.3f}" for k, v in run.stages.items())
        report.interactive_note = (
            f"{config.photo[0]}x{config.photo[1]} photo, {config.hole}x{config.hole} hole, {precision}, "
            f"model {run.model_size[1]}x{run.model_size[0]} ({run.gflop:.0f} GFLOP), "
            "InpaintEngine.run from request to pasted result (random-init weights: timing only); "
            f"stages (s): {stage_text}"
        )
        if config.interactive_options:
            report.interactive_runs = interactive_options(config, device, say)
    except (RuntimeError, InpaintError) as exc:
        report.interactive_note = f"interactive path failed: {str(exc).splitlines()[0]}"

    if device.type == "cuda" and config.gpu_options:
        _gpu_options(model, config, report, say)
    return report


# ------------------------------------------------------------------------------------------------ report


def _fmt(value: float | None, spec: str) -> str:
    return "nan" if value is None else format(value, spec)


def format_report(report: SpeedReport, config: SpeedConfig, torch_version: str) -> str:
    """Markdown tables; the last line is `efficiency=<ratio> interactive_s=<seconds>` for scripts."""
    lines = [
        f"Speed: {report.device} ({report.machine}), {report.threads} threads, torch {torch_version}",
        f"Medians of {config.runs} runs after {config.warmup} warm-up; the default path's generator is cnum "
        f"{config.width} (the shipped model's width), with random-init weights (timing only), converted once to "
        "each precision (for_inference). FLOPs counted by torch FlopCounterMode (multiply-add = 2).",
        "",
        f"| precision | matmul n={config.matmul_n} GFLOP/s (best) | 3x3 conv 256ch@64² GFLOP/s (best) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {p} | {g:.1f} | {_fmt(report.conv.get(p), '.1f')} |" for p, g in report.matmul.items()]
    lines += [
        "",
        "| model | size | precision | GFLOP | median (s) | GFLOP/s | of same-precision matmul "
        "| of same-precision conv | peak forward memory (MiB) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.rows:
        mm, cv = report.matmul.get(r.precision), report.conv.get(r.precision)
        ratio = r.achieved_gflops / mm if r.achieved_gflops and mm else None
        conv_ratio = r.achieved_gflops / cv if r.achieved_gflops and cv else None
        lines.append(
            f"| cnum {r.cnum}{' (default path)' if r.cnum == config.width else ''} | {r.size}x{r.size} | "
            f"{r.precision} | {r.gflop:.1f} | {_fmt(r.median_s, '.3f')} | "
            f"{_fmt(r.achieved_gflops, '.1f')} | {_fmt(ratio, '.2f')} | {_fmt(conv_ratio, '.2f')} | "
            f"{_fmt(r.peak_mib, '.0f')} |"
        )
    lines.append("")
    for r in report.rows:
        if r.note:
            lines.append(f"note: cnum {r.cnum} {r.size}x{r.size} {r.precision}: {r.note}")
    if report.attention:
        lines += [
            "| contextual attention at | precision | GFLOP | median (s) | GFLOP/s | of same-precision conv |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for a in report.attention:
            cv = report.conv.get(a.precision)
            lines.append(
                f"| {a.size}x{a.size} | {a.precision} | {a.gflop:.2f} | {a.median_s:.3f} | "
                f"{a.achieved_gflops:.1f} | {_fmt(a.achieved_gflops / cv if cv else None, '.2f')} |"
            )
        lines.append("")
    if report.interactive_s is not None:
        lines.append(
            f"interactive: {report.interactive_s:.3f} s median ({report.interactive_cold_s:.3f} s first run, "
            f"with loading) — {report.interactive_note}"
        )
    else:
        lines.append(f"interactive: {report.interactive_note}")
    if report.interactive_runs:
        lines += [
            "",
            "| interactive option | precision | model size | GFLOP | median (s) | first run (s) | stages (s) |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for run in report.interactive_runs:
            stages = ", ".join(f"{k} {v:.3f}" for k, v in run.stages.items())
            lines.append(
                f"| {run.option} | {run.precision} | {run.model_size[1]}x{run.model_size[0]} | "
                f"{run.gflop:.1f} | {run.median_s:.3f} | {run.cold_s:.3f} | {stages} |"
            )
        lines.append("")
    if report.train_samples_per_s is not None:
        lines.append(
            f"training: {report.train_samples_per_s:.2f} samples/s at 256x256 "
            f"(batch {config.train_batch}, {config.train_steps} steps after 1 warm-up)"
        )
    lines += [f"note: {n}" for n in report.notes]
    eff, text = report.efficiency()
    lines.append(f"efficiency (default path, {report.default_precision}): {text}")
    lines.append(f"efficiency={_fmt(eff, '.3f')} interactive_s={_fmt(report.interactive_s, '.3f')}")
    return "\n".join(lines)
