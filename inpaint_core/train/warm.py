"""Warm start from weight files alone: the carry set a GPU call brings back and the next call takes in.

The set (file names fixed here; a run folder keeps it under `carry/`, `train session` writes it to its --out):
- `G.safetensors`: the generator in fp32, in inpaint_core.weights' format (load_generator reads it);
- `G_ema.safetensors`: the EMA of the generator in fp16, the shipping format (only when `ema` > 0);
- `D.safetensors`: the discriminator in fp16 (only when a GAN term is trained).
Each file's metadata holds the global counters `train_step` and `samples_seen` (the lr schedule is keyed to the
samples) and the training config. Adam's moments are not kept: they would add 2 x (G + D) in fp32, about 80 MB,
to a carry that must fit 64 MiB with the photo pack. A warm start therefore begins with a fresh optimizer
(`rewarm_steps` ramps its lr up) and continues the global counters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inpaint_core.model import DeepFillV2Generator, DiscriminatorConfig, GeneratorConfig, SNPatchDiscriminator
from inpaint_core.train.checkpoint import CheckpointError
from inpaint_core.train.config import TrainConfig, write_bytes_atomic

G_FILE = "G.safetensors"
EMA_FILE = "G_ema.safetensors"
D_FILE = "D.safetensors"
CARRY_FILES = (G_FILE, EMA_FILE, D_FILE)
D_FORMAT = "deepfill-studio-discriminator/1"


@dataclass(frozen=True)
class WarmStart:
    """Weights and global counters read from a carry set."""

    generator: dict[str, torch.Tensor]  # fp32
    ema: dict[str, torch.Tensor] | None  # fp32 (stored as fp16)
    discriminator: dict[str, torch.Tensor] | None  # fp32 (stored as fp16)
    generator_config: GeneratorConfig
    discriminator_config: DiscriminatorConfig | None
    step: int
    samples: int
    source: Path


def _counters(step: int, samples: int, config: TrainConfig) -> dict[str, str]:
    return {"train_step": str(step), "samples_seen": str(samples), "train_config": config.to_json()}


def save_carry_set(
    folder: Path,
    generator: DeepFillV2Generator,
    ema: DeepFillV2Generator | None,
    discriminator: SNPatchDiscriminator | None,
    step: int,
    samples: int,
    config: TrainConfig,
) -> list[Path]:
    """Write G (fp32), its EMA (fp16) and D (fp16) into `folder`, each atomically. Returns the files written."""
    from safetensors.torch import save

    from inpaint_core.weights import save_generator

    folder.mkdir(parents=True, exist_ok=True)
    meta = _counters(step, samples, config)
    written = [save_generator(generator, folder / G_FILE, dtype=torch.float32, extra_metadata=meta)]
    if ema is not None:
        written.append(save_generator(ema, folder / EMA_FILE, dtype=torch.float16, extra_metadata=meta))
    if discriminator is not None:
        tensors = {
            k: v.detach().to("cpu", torch.float16).contiguous() for k, v in _state(discriminator).items()
        }
        if not all(bool(torch.isfinite(t).all()) for t in tensors.values()):
            raise CheckpointError(
                "the discriminator holds values that do not fit fp16 (NaN, inf or too large)"
            )
        d_meta = {
            **meta,
            "format": D_FORMAT,
            "config": json.dumps({"cnum": discriminator.convs[0].out_channels}),
        }
        write_bytes_atomic(folder / D_FILE, save(tensors, metadata=d_meta))
        written.append(folder / D_FILE)
    return written


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in module.state_dict().items()}


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception as exc:  # safetensors raises its own types on bad bytes
        raise CheckpointError(f"{path} is not a safetensors file: {exc}".splitlines()[0]) from exc


def _int(meta: dict[str, str], key: str, path: Path) -> int:
    try:
        return int(meta[key])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path} has no {key} in its metadata: not a training carry set") from exc


def load_warm_start(folder: str | Path) -> WarmStart:
    """Read a carry set (G required; EMA and D when present). Raises CheckpointError on anything amiss."""
    from inpaint_core.errors import WeightsError
    from inpaint_core.weights import load_generator

    root = Path(folder)
    g_path = root / G_FILE
    if not g_path.is_file():
        raise CheckpointError(f"no {G_FILE} in {root}: nothing to warm-start from")
    meta = _metadata(g_path)
    step, samples = _int(meta, "train_step", g_path), _int(meta, "samples_seen", g_path)
    try:
        generator = load_generator(g_path)
        ema = load_generator(root / EMA_FILE) if (root / EMA_FILE).is_file() else None
    except WeightsError as exc:
        raise CheckpointError(str(exc)) from exc
    if ema is not None and ema.config != generator.config:
        raise CheckpointError(f"{root / EMA_FILE} does not fit {g_path} (another model config)")
    d_state, d_config = None, None
    if (root / D_FILE).is_file():
        d_state, d_config = _load_discriminator(root / D_FILE)
    return WarmStart(
        generator=_state(generator),
        ema=_state(ema) if ema is not None else None,
        discriminator=d_state,
        generator_config=generator.config,
        discriminator_config=d_config,
        step=step,
        samples=samples,
        source=root,
    )


def _load_discriminator(path: Path) -> tuple[dict[str, torch.Tensor], DiscriminatorConfig]:
    from safetensors.torch import load

    meta = _metadata(path)
    if meta.get("format") != D_FORMAT:
        raise CheckpointError(f"{path} is not a {D_FORMAT} file")
    try:
        config = DiscriminatorConfig(cnum=int(json.loads(meta["config"])["cnum"]))
        tensors = load(path.read_bytes())
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in SNPatchDiscriminator(config).state_dict().items()}
    if set(tensors) != set(expected):
        raise CheckpointError(f"{path} does not hold the discriminator's tensors (keys differ)")
    for key, shape in expected.items():
        if tuple(tensors[key].shape) != shape:
            raise CheckpointError(
                f"{path}: {key} has shape {list(tensors[key].shape)}, expected {list(shape)}"
            )
    return {k: v.float() for k, v in tensors.items()}, config


def check_fits(warm: WarmStart, config: TrainConfig) -> None:
    """Raise CheckpointError when the carry set's models are not the ones `config` trains."""
    g = warm.generator_config
    if (g.cnum, g.guide_channel) != (config.cnum, config.guide_channel):
        raise CheckpointError(
            f"{warm.source}: G has cnum {g.cnum}, guide {g.guide_channel}; the config trains cnum {config.cnum}, "
            f"guide {config.guide_channel}"
        )
    d = warm.discriminator_config
    if d is not None and d.cnum != config.d_cnum:
        raise CheckpointError(f"{warm.source}: D has cnum {d.cnum}; the config trains d_cnum {config.d_cnum}")
