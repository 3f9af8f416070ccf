"""Training configuration: one frozen dataclass, written to and read from JSON (the run folder keeps config.json).

Defaults follow the published DeepFill v2 recipe (Yu et al., ICCV 2019; docs/TRAINING.md): 256x256 crops, batch 16, Adam lr 1e-4 with
betas (0.5, 0.999), L1 : SN-PatchGAN = 1 : 1 (hinge loss), free-form masks. The guide (sketch) channel is on: the
project trains its own guided weights. The project's two-phase recipe is in presets.py (docs/TRAINING.md).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from inpaint_core.errors import InpaintError
from inpaint_core.files import atomic_write
from inpaint_core.registry import MODEL_MULTIPLE

GanLoss = Literal["hinge", "wgan-gp"]
L1Mode = Literal["plain", "discounted", "hole"]
LrSchedule = Literal["constant", "cosine"]
Pipeline = Literal["host", "device"]


class ConfigError(InpaintError):
    """A training configuration file or value is invalid."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs except the run folder. Batch size is per process (per GPU under DDP)."""

    # data
    data: tuple[str, ...] = ()  # photo folders and/or .pack files
    val: str | None = None  # folder of held-out photos; None = a seeded split of `data`
    val_count: int = 16  # photos held out from `data` when `val` is None (and photos used for validation)
    size: int = 256  # square training crop, multiple of 8
    short_side_ratio: float = 1.25  # photos are resized so their short side is ratio*size, then cropped
    workers: int = 2  # DataLoader worker processes (folder data)
    data_on_device: bool = True  # a .pack is decoded once and kept on the training device as uint8
    # "host": per-sample masks and Canny guides on the CPU (the published-recipe path); "device": crops, masks
    # (from a bank drawn once per call) and guides (torch Canny) all on the training device, no host round trip
    pipeline: Pipeline = "host"
    mask_bank: int = 4096  # masks drawn once per call for the device pipeline (each seen in 8 flips/turns)
    # model
    cnum: int = 48  # generator width (published 48)
    d_cnum: int = 64  # discriminator width (published 64)
    guide_channel: bool = True
    # optimisation
    steps: int = 100_000
    batch: int = 16
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    l1_alpha: float = 1.0  # weight of each stage's L1 (coarse and fine)
    gan_alpha: float = 1.0  # 0: no discriminator at all (phase 1 of the project's recipe)
    gan_loss: GanLoss = "hinge"
    wgan_gp_lambda: float = 10.0
    l1_mode: L1Mode = "plain"  # "discounted": DeepFill v1's spatially discounted L1 inside the hole
    discount_gamma: float = 0.9
    l1_known_weight: float = 0.2  # l1_mode "hole": mean L1 over the hole + this x mean L1 over known pixels
    grad_clip: float = 0.0  # max global norm of G's gradient (0 = no clipping)
    ema: float = 0.0  # decay of an exponential moving average of G (0 = none); validated and exported if on
    # learning rate, keyed to the global sample count so a chain of warm-started runs follows one schedule
    lr_schedule: LrSchedule = "constant"
    warmup_samples: int = 0  # linear warm-up over this many samples (phase 1: 300 steps of 64)
    schedule_samples: int = 0  # cosine: samples seen when the lr reaches lr_min_ratio * lr
    lr_min_ratio: float = 0.0
    rewarm_steps: int = 0  # after a warm start from weights (fresh Adam), ramp the lr up over this many steps
    # masks
    bbox_size: int = 128  # published: 128x128 box (for 256x256 images)
    bbox_max_delta: int = 32
    bbox_margin: int = 0  # published vertical/horizontal margin
    mask_dir: str | None = None  # a mask folder (e.g. ../shared/data/masks/nvidia_irregular) or a mask pack;
    # only its training masks are read (index % 4 != 0; inpaint_core/mask_split.py)
    mask_dir_ratio: float = 0.0  # fraction of samples whose mask comes from mask_dir
    # guide (sketch) channel
    guide_drop: float = 0.5  # probability that a sample gets an empty guide
    canny_blur_sigma: float = 1.5
    canny_low: int = 60
    canny_high: int = 140
    # speed
    amp: bool = True  # bf16 autocast on CUDA
    amp_on_cpu: bool = False  # bf16 autocast on the CPU too (needs amp; tests, CPUs with native bf16)
    channels_last: bool = True  # on CUDA
    # on the CPU too: oneDNN's weight gradients ran 2-9x faster (with fused_gating)
    channels_last_cpu: bool = False
    compile: bool = False
    # the gates as one compiled pass each way (model/gating.py; not with `compile`)
    fused_gating: bool = False
    compile_backend: str = "inductor"  # tests use "aot_eager": same graph capture, no code generation
    # on the CPU (Linux): glibc keeps freed blocks for reuse instead of unmapping them (train/heap.py)
    heap_reuse: bool = True
    # bookkeeping
    seed: int = 0
    log_every: int = 50
    sample_every: int = 1000
    val_every: int = 2000
    ckpt_every: int = 2000
    ckpt_every_s: float = 0.0  # also checkpoint (and validate) when this many seconds passed since the last
    val_at_start: bool = False  # validate before the first step (the curve's first point)
    keep_last: int = 3
    sample_count: int = 4  # rows in a sample grid

    def __post_init__(self) -> None:
        _check_numbers(self)
        if self.size <= 0 or self.size % MODEL_MULTIPLE:
            raise ConfigError(f"size must be a positive multiple of {MODEL_MULTIPLE}, got {self.size}")
        if self.batch <= 0 or self.steps < 0:
            raise ConfigError("batch must be positive and steps non-negative")
        if self.cnum <= 0 or self.cnum % 2 or self.d_cnum <= 0:
            raise ConfigError(f"cnum must be a positive even number, got {self.cnum}")
        if self.gan_loss not in ("hinge", "wgan-gp"):
            raise ConfigError(f"gan_loss must be 'hinge' or 'wgan-gp', got {self.gan_loss!r}")
        if self.l1_mode not in ("plain", "discounted", "hole"):
            raise ConfigError(f"l1_mode must be 'plain', 'discounted' or 'hole', got {self.l1_mode!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine" and self.schedule_samples <= 0:
            raise ConfigError(
                "lr_schedule 'cosine' needs schedule_samples > 0 (the samples of the whole chain)"
            )
        if self.pipeline not in ("host", "device"):
            raise ConfigError(f"pipeline must be 'host' or 'device', got {self.pipeline!r}")
        if self.pipeline == "device" and self.mask_bank <= 0:
            raise ConfigError("the device pipeline needs mask_bank > 0")
        if self.lr <= 0 or self.gan_alpha < 0 or self.grad_clip < 0 or self.l1_known_weight < 0:
            raise ConfigError("lr must be positive; gan_alpha, grad_clip and l1_known_weight non-negative")
        if not 0.0 <= self.ema < 1.0 or not 0.0 <= self.lr_min_ratio <= 1.0:
            raise ConfigError("ema must lie in [0, 1) and lr_min_ratio in [0, 1]")
        if min(self.warmup_samples, self.rewarm_steps, self.schedule_samples) < 0 or self.ckpt_every_s < 0:
            raise ConfigError("warmup_samples, rewarm_steps, schedule_samples and ckpt_every_s must be >= 0")
        if not 0.0 <= self.guide_drop <= 1.0 or not 0.0 <= self.mask_dir_ratio <= 1.0:
            raise ConfigError("guide_drop and mask_dir_ratio must lie in [0, 1]")
        if self.short_side_ratio < 1.0:
            raise ConfigError("short_side_ratio must be at least 1.0")
        if self.keep_last < 1:
            raise ConfigError("keep_last must be at least 1")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["data"] = list(self.data)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training config keys: {', '.join(unknown)}")
        values = dict(data)
        if "data" in values:
            raw = values["data"]
            values["data"] = (raw,) if isinstance(raw, str) else tuple(str(p) for p in raw)
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"bad training config: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"training config is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError("training config must be a JSON object")
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read training config {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"training config {path} is not a text (JSON) file") from None
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON, atomically."""
        write_text_atomic(Path(path), self.to_json() + "\n")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`--set KEY=VALUE` items as config changes: values read as JSON where they parse, else as text."""
    known = {f.name for f in fields(TrainConfig)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ConfigError(f"a config change needs KEY=VALUE with a known config key, got {item!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key == "data":
            value = tuple(str(v) for v in value) if isinstance(value, list) else tuple(str(value).split(","))
        out[key] = value
    return out


def _check_numbers(config: TrainConfig) -> None:
    """Number fields hold finite numbers of their default's kind (JSON and --set accept NaN, "1e-4" as text)."""
    for f in fields(config):
        value, default = getattr(config, f.name), f.default
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            continue
        kind = int if isinstance(default, int) else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
            what = "a whole number" if kind is int else "a finite number"
            raise ConfigError(f"{f.name} must be {what}, got {value!r}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to a temp file beside `path`, then rename it over `path`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(data)
