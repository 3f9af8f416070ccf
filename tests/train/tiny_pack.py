"""A tiny training pack made in code (synthetic photos), for the tests of the GPU-call path on the CPU."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from inpaint_core.train.config import TrainConfig
from inpaint_core.train.loop import build_models
from inpaint_core.train.pack import write_pack
from inpaint_core.train.warm import save_carry_set
from tests.helpers.photos import synthetic_photo

TINY_RECIPE = {  # phase-1/phase-2 presets shrunk for a CPU: 64 px crops, narrow nets, tiny banks
    "size": 64,
    "batch": 4,
    "cnum": 8,
    "d_cnum": 8,
    "mask_bank": 16,
    "val_count": 2,
    "log_every": 2,
    "sample_count": 2,
    "compile": False,
}


def make_pack(folder: Path, count: int = 6) -> Path:
    """A .pack of `count` synthetic photos for 64 px crops (short side 80)."""
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(synthetic_photo(80 + 8 * (i % 3), 96 + 8 * i, seed=i)).save(photos / f"p{i}.png")
    pack = folder / "tiny.pack"
    write_pack(sorted(photos.iterdir()), pack, size=64, quality=90)
    return pack


def make_carry(folder: Path, samples: int, gan_alpha: float = 0.0) -> Path:
    """A carry set of the tiny recipe's untrained models (EMA 0.9) in `folder`, `samples` seen; with a
    discriminator when `gan_alpha` > 0 (a GAN-lane run's)."""
    recipe = {k: v for k, v in TINY_RECIPE.items() if k != "compile"}
    config = TrainConfig(**recipe, ema=0.9, gan_alpha=gan_alpha)
    generator, discriminator = build_models(config)
    ema, _ = build_models(config)
    kept_d = discriminator if gan_alpha > 0 else None
    save_carry_set(folder, generator, ema, kept_d, step=samples // 4, samples=samples, config=config)
    return folder
