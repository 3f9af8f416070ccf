"""The learned scratch-and-dust detector: a small U-Net that gives every pixel a damage logit.

Built for speed at full resolution (a 6 MP scan on 2 CPU cores in about a second), because thin damage
vanishes on a downscaled copy:
- The input is folded 2x2 into channels (`pixel_unshuffle`): no convolution runs at full resolution, yet a
  one-pixel line keeps its full contrast in the folded channels.
- Four scales (1/2 to 1/16) with 3x3 convolutions; the coarsest adds dilated ones, so a pixel sees about
  250 px around it: enough to tell a scratch crossing a sky from a plank seam that belongs to a door.
- The decoder adds each skip (as a feature pyramid does) rather than concatenating it, which halves its cost,
  and its last layer sees the folded input again, so the edges come out sharp.
- The head predicts the 4 pixels of each 2x2 block and unfolds them (`pixel_shuffle`).

No normalisation layers: the network is small, and so inference is the same at every batch and tile size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

MULTIPLE = 32  # input sides are padded to this: four halvings after the 2x2 fold


@dataclass(frozen=True)
class ScratchNetConfig:
    widths: tuple[int, int, int, int] = (16, 32, 48, 64)  # channels at 1/2, 1/4, 1/8, 1/16

    def to_dict(self) -> dict[str, str]:
        return {k: ",".join(map(str, v)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, str]) -> ScratchNetConfig:
        widths = tuple(int(x) for x in fields.get("widths", "16,32,48,64").split(","))
        if len(widths) != 4 or not all(0 < w <= 256 for w in widths):
            raise ValueError(f"bad scratch-net widths {fields.get('widths')!r}")
        return cls(widths=(widths[0], widths[1], widths[2], widths[3]))


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)


class ScratchNet(nn.Module):
    """RGB in [0, 1] -> one damage logit per pixel.

    Shape: (B, 3, H, W) float, H and W multiples of `MULTIPLE` -> (B, 1, H, W) logits
    """

    def __init__(self, config: ScratchNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or ScratchNetConfig()
        c1, c2, c3, c4 = self.config.widths
        folded = 3 * 4
        self.enc1 = nn.ModuleList([_conv(folded, c1), _conv(c1, c1)])
        self.enc2 = nn.ModuleList([_conv(c1, c2, stride=2), _conv(c2, c2)])
        self.enc3 = nn.ModuleList([_conv(c2, c3, stride=2), _conv(c3, c3)])
        self.enc4 = nn.ModuleList(
            [_conv(c3, c4, stride=2), _conv(c4, c4, dilation=2), _conv(c4, c4, dilation=4)]
        )
        self.lat3, self.dec3 = nn.Conv2d(c4, c3, 1), _conv(c3, c3)
        self.lat2, self.dec2 = nn.Conv2d(c3, c2, 1), _conv(c2, c2)
        self.lat1, self.dec1 = nn.Conv2d(c2, c1, 1), _conv(c1 + folded, c1)
        self.head = nn.Conv2d(c1, 4, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]
        nn.init.constant_(self.head.bias, -4.0)  # type: ignore[arg-type]  # damage is rare: start near "no damage" (p = 0.018)

    @staticmethod
    def _run(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = F.relu(layer(x))
        return x

    @staticmethod
    def _up(x: torch.Tensor, lateral: nn.Module, skip: torch.Tensor) -> torch.Tensor:
        return F.interpolate(lateral(x), size=skip.shape[-2:], mode="nearest") + skip

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        folded = F.pixel_unshuffle(rgb - 0.5, 2)
        e1 = self._run(self.enc1, folded)
        e2 = self._run(self.enc2, e1)
        e3 = self._run(self.enc3, e2)
        e4 = self._run(self.enc4, e3)
        d3 = F.relu(self.dec3(self._up(e4, self.lat3, e3)))
        d2 = F.relu(self.dec2(self._up(d3, self.lat2, e2)))
        d1 = F.relu(self.dec1(torch.cat([self._up(d2, self.lat1, e1), folded], dim=1)))
        return F.pixel_shuffle(self.head(d1), 2)


def macs_per_pixel(config: ScratchNetConfig | None = None) -> float:
    """Multiply-accumulates per input pixel (convolutions only): the cost model behind the latency target."""
    c1, c2, c3, c4 = (config or ScratchNetConfig()).widths
    f = 12
    half = 9 * (f * c1 + c1 * c1) + 9 * (c1 + f) * c1 + 4 * c1
    quarter = 9 * (c1 * c2 + c2 * c2) + 9 * c2 * c2 + c3 * c2
    eighth = 9 * (c2 * c3 + c3 * c3) + 9 * c3 * c3 + c4 * c3
    sixteenth = 9 * (c3 * c4 + 2 * c4 * c4)
    return half / 4 + quarter / 16 + eighth / 64 + sixteenth / 256 + c2 * c1 / 4
