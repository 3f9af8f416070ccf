"""SN-PatchGAN discriminator of DeepFill v2: six spectral-norm 5x5 stride-2 convs, LeakyReLU 0.2, then flatten."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from inpaint_core.model.config import DiscriminatorConfig
from inpaint_core.model.layers import pad_same


class SNPatchDiscriminator(nn.Module):
    """Scores every 64x64-strided patch of (image, mask): 256 * H/64 * W/64 outputs per image.

    Shape:
        image: (B, 3, H, W) in [-1, 1]; mask: (B, 1, H, W) -> (B, 256 * ceil(H/64) * ceil(W/64))
    """

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        c = config.cnum
        widths = [config.in_channels, c, 2 * c, 4 * c, 4 * c, 4 * c, 4 * c]
        # One power iteration per step, as the official `kernel_sn/u` update.
        self.convs = nn.ModuleList(
            spectral_norm(nn.Conv2d(cin, cout, 5, 2), n_power_iterations=1)
            for cin, cout in itertools.pairwise(widths)
        )

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, mask.to(image.dtype)], dim=1)
        for conv in self.convs:
            x = F.leaky_relu(conv(pad_same(x, 5, 2)), 0.2)  # TF "SAME": 1 before, 2 after on even sizes
        return x.flatten(1)
