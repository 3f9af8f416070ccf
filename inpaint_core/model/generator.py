"""DeepFill v2 generator (Yu et al. 2019): a coarse network, then a refinement network with contextual attention.

Layer names are the official TF scope names, so converted checkpoints map one to one (see weights.py).
With the published 5-channel input the generator has exactly 4,052,478 parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.attention import AttentionMap, ContextualAttention, tf_resize_nearest
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.layers import GatedConv2d, GatedUpConv2d
from inpaint_core.registry import MODEL_MULTIPLE


@dataclass
class GeneratorOutput:
    coarse: torch.Tensor  # (B, 3, H, W) stage-1 output in [-1, 1], not pasted
    fine: torch.Tensor  # (B, 3, H, W) stage-2 output in [-1, 1], not pasted
    attention: AttentionMap | None = None


def _dilated_block(prefix: str, channels: int) -> list[tuple[str, nn.Module]]:
    return [
        (f"{prefix}{i}_atrous", GatedConv2d(channels, channels, 3, 1, rate=r))
        for i, r in zip(range(7, 11), (2, 4, 8, 16))
    ]


class CoarseGenerator(nn.Module):
    """Stage 1: an encoder-decoder with dilated convolutions in the bottleneck (conv1 ... conv17).

    Shape:
        x: (B, in_channels, H, W) -> (B, 3, H, W) in [-1, 1]
    """

    def __init__(self, in_channels: int, cnum: int = 48):
        super().__init__()
        c = cnum // 2  # gated feature width: half the conv filters
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", GatedConv2d(in_channels, c, 5)),
            ("conv2_downsample", GatedConv2d(c, 2 * c, 3, 2)),
            ("conv3", GatedConv2d(2 * c, 2 * c, 3)),
            ("conv4_downsample", GatedConv2d(2 * c, 4 * c, 3, 2)),
            ("conv5", GatedConv2d(4 * c, 4 * c, 3)),
            ("conv6", GatedConv2d(4 * c, 4 * c, 3)),
            *_dilated_block("conv", 4 * c),
            ("conv11", GatedConv2d(4 * c, 4 * c, 3)),
            ("conv12", GatedConv2d(4 * c, 4 * c, 3)),
            ("conv13_upsample", GatedUpConv2d(4 * c, 2 * c)),
            ("conv14", GatedConv2d(2 * c, 2 * c, 3)),
            ("conv15_upsample", GatedUpConv2d(2 * c, c)),
            ("conv16", GatedConv2d(c, c // 2, 3)),
            ("conv17", GatedConv2d(c // 2, 3, 3, activation=None)),
        ]
        for name, layer in layers:
            self.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return torch.tanh(x)


class RefineGenerator(nn.Module):
    """Stage 2: a dilated-conv branch (xconv*) and a contextual-attention branch (pmconv*), merged (allconv*).

    Shape:
        x: (B, 3, H, W) the stage-1 result pasted into the hole; mask (B, 1, H, W); forbid (B, 1, H, W) or None
        -> (B, 3, H, W) in [-1, 1], and the AttentionMap if asked for
    """

    def __init__(self, cnum: int = 48, attention: ContextualAttention | None = None):
        super().__init__()
        c = cnum // 2
        conv_branch: list[tuple[str, nn.Module]] = [
            ("xconv1", GatedConv2d(3, c, 5)),
            ("xconv2_downsample", GatedConv2d(c, c, 3, 2)),
            ("xconv3", GatedConv2d(c, 2 * c, 3)),
            ("xconv4_downsample", GatedConv2d(2 * c, 2 * c, 3, 2)),
            ("xconv5", GatedConv2d(2 * c, 4 * c, 3)),
            ("xconv6", GatedConv2d(4 * c, 4 * c, 3)),
            *_dilated_block("xconv", 4 * c),
        ]
        attention_branch: list[tuple[str, nn.Module]] = [
            ("pmconv1", GatedConv2d(3, c, 5)),
            ("pmconv2_downsample", GatedConv2d(c, c, 3, 2)),
            ("pmconv3", GatedConv2d(c, 2 * c, 3)),
            ("pmconv4_downsample", GatedConv2d(2 * c, 4 * c, 3, 2)),
            ("pmconv5", GatedConv2d(4 * c, 4 * c, 3)),
            (
                "pmconv6",
                GatedConv2d(4 * c, 4 * c, 3, activation="relu"),
            ),  # the one ReLU, feeding the attention
        ]
        after_attention: list[tuple[str, nn.Module]] = [
            ("pmconv9", GatedConv2d(4 * c, 4 * c, 3)),
            ("pmconv10", GatedConv2d(4 * c, 4 * c, 3)),
        ]
        merge: list[tuple[str, nn.Module]] = [
            ("allconv11", GatedConv2d(8 * c, 4 * c, 3)),
            ("allconv12", GatedConv2d(4 * c, 4 * c, 3)),
            ("allconv13_upsample", GatedUpConv2d(4 * c, 2 * c)),
            ("allconv14", GatedConv2d(2 * c, 2 * c, 3)),
            ("allconv15_upsample", GatedUpConv2d(2 * c, c)),
            ("allconv16", GatedConv2d(c, c // 2, 3)),
            ("allconv17", GatedConv2d(c // 2, 3, 3, activation=None)),
        ]
        for name, layer in conv_branch + attention_branch + after_attention + merge:
            self.add_module(name, layer)
        self._conv_branch = [name for name, _ in conv_branch]
        self._attention_branch = [name for name, _ in attention_branch]
        self._after_attention = [name for name, _ in after_attention]
        self._merge = [name for name, _ in merge]
        self.contextual_attention = attention or ContextualAttention()

    def _run(self, names: list[str], x: torch.Tensor) -> torch.Tensor:
        for name in names:
            x = getattr(self, name)(x)
        return x

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        forbid: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, AttentionMap | None]:
        x_hallu = self._run(self._conv_branch, x)
        pm = self._run(self._attention_branch, x)
        # TF resizes the mask to the features' size with nearest, align_corners=True (`resize_mask_like`).
        mask_s = tf_resize_nearest(mask, pm.shape[-2], pm.shape[-1])
        forbid_s = None
        if forbid is not None:
            # Any forbidden pixel forbids the feature pixel that covers it.
            forbid_s = F.adaptive_max_pool2d(forbid.to(pm.dtype), pm.shape[-2:])
        pm, attention = self.contextual_attention(pm, pm, mask_s.to(pm.dtype), forbid_s, return_attention)
        pm = self._run(self._after_attention, pm)
        y = self._run(self._merge, torch.cat([x_hallu, pm], dim=1))
        return torch.tanh(y), attention


class DeepFillV2Generator(nn.Module):
    """The full generator. Inputs follow the official format; see `prepare_input`.

    Shape:
        image: (B, 3, H, W) in [-1, 1]; mask: (B, 1, H, W), 1 = hole; guide: (B, 1, H, W) in {0, 1} (sketch strokes,
        only with `config.guide_channel`); forbid: (B, 1, H, W), 1 = do not borrow from here. H, W multiples of 8.
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        if config.cnum % 4:
            raise ValueError(f"cnum must be a multiple of 4, got {config.cnum}")
        self.config = config
        self.coarse = CoarseGenerator(config.in_channels, config.cnum)
        self.refine = RefineGenerator(config.cnum, ContextualAttention(config.attention))

    def prepare_input(
        self, image: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[image*(1-mask), guide*mask (guided only), ones, mask]: the order of the official (guided) code."""
        if image.shape[-2] % MODEL_MULTIPLE or image.shape[-1] % MODEL_MULTIPLE:
            raise ValueError(f"image size {tuple(image.shape[-2:])} must be a multiple of {MODEL_MULTIPLE}")
        if mask.shape[-2:] != image.shape[-2:]:
            raise ValueError(
                f"mask size {tuple(mask.shape[-2:])} differs from image size {tuple(image.shape[-2:])}"
            )
        mask = mask.to(image.dtype)
        parts = [image * (1.0 - mask)]
        if self.config.guide_channel:
            parts.append(mask * 0 if guide is None else guide.to(image.dtype) * mask)
        elif guide is not None:
            raise ValueError("these weights have no guide channel; pass guide=None")
        ones = torch.ones_like(mask)
        parts += [ones, ones * mask]
        return torch.cat(parts, dim=1)  # (B, in_channels, H, W)

    def coarse_stage(
        self, image: torch.Tensor, mask: torch.Tensor, guide: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Stage 1 on the masked image (see `prepare_input`): the raw coarse output, not pasted.

        Shape: image (B, 3, H, W), mask (B, 1, H, W), guide (B, 1, H, W) or None -> (B, 3, H, W) in [-1, 1]
        """
        return self.coarse(self.prepare_input(image, mask, guide))

    def refine_stage(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        coarse: torch.Tensor,
        forbid: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, AttentionMap | None]:
        """Stage 2: the coarse output pasted into the hole, refined (v2 feeds stage 2 the 3-channel image only).

        Shape: image, coarse (B, 3, H, W); mask, forbid (B, 1, H, W) -> (B, 3, H, W) in [-1, 1], AttentionMap
        """
        mask = mask.to(image.dtype)
        pasted = coarse * mask + image * (1.0 - mask)
        return self.refine(pasted, mask, forbid, return_attention)

    def forward(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        guide: torch.Tensor | None = None,
        forbid: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> GeneratorOutput:
        # The engine calls the two stages itself, to report progress and check cancel between them.
        coarse = self.coarse_stage(image, mask, guide)
        fine, attention = self.refine_stage(image, mask, coarse, forbid, return_attention)
        return GeneratorOutput(coarse=coarse, fine=fine, attention=attention)
