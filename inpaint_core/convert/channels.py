"""What both converters share: the channel-order fix, the key parser, and the final checks.

Channel order: the official pipeline is BGR end to end (cv2.imread for training and testing); our model is RGB.
With `source_order="bgr"` the converters reverse the colour channels where the image enters or leaves a stage:
the input channels 0..2 of `coarse.conv1` (channels 3.. are the ones and mask planes, and the guide in the guided
variant, which stay), all 3 input channels of `refine.xconv1` and `refine.pmconv1` (they read the stage-1 image),
and the 3 output channels (weight rows and bias) of `coarse.conv17` and `refine.allconv17`. Every other layer sees
features, whose order does not change, so the converted model fed RGB gives exactly the channel-reversed output of
the source model fed BGR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import torch

from inpaint_core.errors import WeightsError
from inpaint_core.weights import check_state_dict, first_non_finite

SourceOrder = Literal["bgr", "rgb"]

# Layers whose input channels 0..2 are the image, and the output layers whose 3 filters are the image.
_IMAGE_INPUT_LAYERS = ("coarse.conv1", "refine.xconv1", "refine.pmconv1")
_IMAGE_OUTPUT_LAYERS = ("coarse.conv17", "refine.allconv17")
# Our state-dict keys: <stage>.<layer>(.conv)+.(weight|bias); the nested .conv. marks an upsampling layer.
_KEY = re.compile(r"^(?P<stage>coarse|refine)\.(?P<layer>\w+?)(?P<suffix>(\.conv)+\.(weight|bias))$")


def reverse_color_channels(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Swap BGR <-> RGB in the layers that read or write the image (see the module docstring). Returns a new dict.

    Shape:
        `*.conv.weight` (cout, cin, kh, kw): input layers flip cin[0:3]; output layers flip cout[0:3] (and bias).
    """
    out = dict(state_dict)
    for layer in _IMAGE_INPUT_LAYERS:
        w = out[f"{layer}.conv.weight"].clone()
        w[:, 0:3] = w[:, 0:3].flip(1)
        out[f"{layer}.conv.weight"] = w
    for layer in _IMAGE_OUTPUT_LAYERS:
        for suffix in ("weight", "bias"):
            t = out[f"{layer}.conv.{suffix}"].clone()
            if t.shape[0] != 3:
                raise WeightsError(f"{layer}.conv.{suffix} has {t.shape[0]} outputs, expected the 3 colours")
            out[f"{layer}.conv.{suffix}"] = t.flip(0)
    return out


def finish(
    state_dict: dict[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]], source: str, order: str
) -> dict[str, torch.Tensor]:
    if order not in ("bgr", "rgb"):
        raise ValueError(f"source_order must be 'bgr' or 'rgb', got {order!r}")
    check_state_dict(state_dict, expected, source)
    bad = first_non_finite(state_dict)
    if bad is not None:
        raise WeightsError(f"{source}: tensor {bad} holds NaN or infinite values")
    return reverse_color_channels(state_dict) if order == "bgr" else state_dict


def split_key(key: str) -> tuple[str, str, str]:
    m = _KEY.match(key)
    if m is None:
        raise AssertionError(f"unexpected model key {key}")  # a model change this module does not know about
    return m["stage"], m["layer"], m["suffix"]
