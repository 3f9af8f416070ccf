"""Model configuration. Defaults match the published DeepFill v2 release (Places2, 256x256)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AttentionConfig:
    """Contextual attention as called by the official code: `contextual_attention(x, x, mask, 3, 1, rate=2)`."""

    ksize: int = 3  # matching patch size on the downsampled grid
    stride: int = 1
    rate: int = 2  # features are downsampled by `rate` for matching; raw patches are 2*rate wide
    fuse_k: int = 3  # identity kernel that propagates scores to diagonal neighbours
    softmax_scale: float = 10.0
    fuse: bool = True
    topk: int = 4  # sources kept per target cell for the overlay (not used by the fill itself)
    # Targets are matched in chunks of rows whose (targets x sources) score map holds at most this many entries,
    # so memory stays bounded: the full map is (H/8*W/8)^2 floats, ~1 GB at 1024x1024. The default (64 MB in
    # fp32) takes a 512x512 input in one chunk. 0 = no chunking.
    chunk_scores: int = 1 << 24
    # training (autograd on): the whole batch's (B, L, L) score maps at once while B*L*L is at most this
    batched_scores: int = 1 << 26


@dataclass(frozen=True)
class GeneratorConfig:
    cnum: int = 48  # conv filters of the first layer; gated features are half of this
    guide_channel: bool = False  # True: a 6th input channel with sketch strokes (the project's own weights)
    attention: AttentionConfig = AttentionConfig()

    @property
    def in_channels(self) -> int:
        # [image (3), guide (1, optional), ones (1), mask (1)], the order of the official guided variant
        return 6 if self.guide_channel else 5

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorConfig:
        known = {f.name for f in dataclasses.fields(AttentionConfig)}
        # Tolerate files written with other attention options: they change speed or memory, never the weights.
        att = AttentionConfig(**{k: v for k, v in data.get("attention", {}).items() if k in known})
        return cls(
            cnum=int(data.get("cnum", 48)),
            guide_channel=bool(data.get("guide_channel", False)),
            attention=att,
        )

    @classmethod
    def from_json(cls, text: str) -> GeneratorConfig:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class DiscriminatorConfig:
    cnum: int = 64
    in_channels: int = 4  # image (3) + mask (1), `gan_with_mask: True` in the official config
