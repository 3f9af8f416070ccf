"""The converters from the TF release and the PyTorch port (inpaint_core.convert)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.convert import convert_tf_checkpoint, convert_torch_port, reverse_color_channels
from inpaint_core.convert.channels import split_key
from inpaint_core.convert.tf_checkpoint import read_index
from inpaint_core.convert.tf_release import _tf_scope
from inpaint_core.errors import WeightsError, WeightsMissingError
from inpaint_core.model.config import GeneratorConfig
from inpaint_core.model.generator import DeepFillV2Generator
from inpaint_core.weights import load_generator
from tests.conftest import SHARED, strong_random_model
from tests.helpers_tf import write_bundle

REFERENCE = SHARED / "reference" / "deepfill_v2"
SMALL = GeneratorConfig(cnum=16)  # same topology as the release (cnum 48), a fraction of the compute

# Written out here independently of convert/torch_port.py, from the port's networks.py: TF scope -> its module.
PORT_TABLE = """
conv1 stage1.conv1
conv2_downsample stage1.down_block1.conv1_downsample
conv3 stage1.down_block1.conv2
conv4_downsample stage1.down_block2.conv1_downsample
conv5 stage1.down_block2.conv2
conv6 stage1.conv_bn1
conv7_atrous stage1.conv_bn2
conv8_atrous stage1.conv_bn3
conv9_atrous stage1.conv_bn4
conv10_atrous stage1.conv_bn5
conv11 stage1.conv_bn6
conv12 stage1.conv_bn7
conv13_upsample stage1.up_block1.conv1_upsample
conv14 stage1.up_block1.conv2
conv15_upsample stage1.up_block2.conv1_upsample
conv16 stage1.up_block2.conv2
conv17 stage1.conv_to_rgb
xconv1 stage2.conv_conv1
xconv2_downsample stage2.conv_down_block1.conv1_downsample
xconv3 stage2.conv_down_block1.conv2
xconv4_downsample stage2.conv_down_block2.conv1_downsample
xconv5 stage2.conv_down_block2.conv2
xconv6 stage2.conv_conv_bn1
xconv7_atrous stage2.conv_conv_bn2
xconv8_atrous stage2.conv_conv_bn3
xconv9_atrous stage2.conv_conv_bn4
xconv10_atrous stage2.conv_conv_bn5
pmconv1 stage2.ca_conv1
pmconv2_downsample stage2.ca_down_block1.conv1_downsample
pmconv3 stage2.ca_down_block1.conv2
pmconv4_downsample stage2.ca_down_block2.conv1_downsample
pmconv5 stage2.ca_down_block2.conv2
pmconv6 stage2.ca_conv_bn1
pmconv9 stage2.ca_conv_bn4
pmconv10 stage2.ca_conv_bn5
allconv11 stage2.conv_bn6
allconv12 stage2.conv_bn7
allconv13_upsample stage2.up_block1.conv1_upsample
allconv14 stage2.up_block1.conv2
allconv15_upsample stage2.up_block2.conv1_upsample
allconv16 stage2.up_block2.conv2
allconv17 stage2.conv_to_rgb
"""
PORT = dict(line.split() for line in PORT_TABLE.strip().splitlines())


def _random_model(config: GeneratorConfig = SMALL, seed: int = 0) -> DeepFillV2Generator:
    return strong_random_model(config, seed)


def _layer_and_suffix(key: str) -> tuple[str, str]:
    """`coarse.conv13_upsample.conv.conv.weight` -> ("conv13_upsample", ".conv.conv.weight")."""
    _stage, layer, rest = key.split(".", 2)
    return layer, "." + rest


def _tf_variables(model: DeepFillV2Generator) -> dict[str, np.ndarray]:
    """The model's weights named and laid out as in the official checkpoint, plus the variables to ignore."""
    out: dict[str, np.ndarray] = {}
    for key, tensor in model.state_dict().items():
        layer, suffix = _layer_and_suffix(key)
        scope = f"{layer}/{layer}_conv" if suffix.startswith(".conv.conv.") else layer
        array = tensor.numpy()
        if suffix.endswith("weight"):
            out[f"inpaint_net/{scope}/kernel"] = array.transpose(2, 3, 1, 0)  # -> [kh, kw, cin, cout]
        else:
            out[f"inpaint_net/{scope}/bias"] = array
    rng = np.random.default_rng(1)
    for name in list(out):
        out[f"{name}/Adam"] = rng.standard_normal(out[name].shape).astype(np.float32)
        out[f"{name}/Adam_1"] = rng.standard_normal(out[name].shape).astype(np.float32)
    out["discriminator/sn_patch_gan/conv1/kernel"] = rng.standard_normal((5, 5, 4, 8)).astype(np.float32)
    out["discriminator/sn_patch_gan/conv1/kernel_sn/u"] = rng.standard_normal((1, 8)).astype(np.float32)
    out["global_step"] = np.array(1000, dtype=np.int32)
    out["lr"] = np.array(1e-4, dtype=np.float32)
    out["beta1_power"] = np.array(0.0, dtype=np.float32)
    out["beta2_power"] = np.array(0.0, dtype=np.float32)
    return out


def _inputs(seed: int = 0, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(1, 1, size, size)
    mask[..., 8:20, 10:24] = 1
    return image, mask


def _assert_channel_equivalent(bgr_model: DeepFillV2Generator, rgb_model: DeepFillV2Generator) -> None:
    """The RGB model fed RGB gives the channel-reversed output of the BGR model fed BGR, at both stages."""
    image_rgb, mask = _inputs()
    with torch.no_grad():
        out_bgr = bgr_model(image_rgb.flip(1), mask)
        out_rgb = rgb_model(image_rgb, mask)
    for a, b in ((out_bgr.coarse, out_rgb.coarse), (out_bgr.fine, out_rgb.fine)):
        torch.testing.assert_close(b, a.flip(1), rtol=0, atol=1e-5)
    # The test can tell a wrong conversion: the outputs depend on the input colour order, and the source
    # weights fed RGB do not give the converted model's output.
    with torch.no_grad():
        swapped = rgb_model(image_rgb.flip(1), mask)
        unconverted = bgr_model(image_rgb, mask)
    for stage in ("coarse", "fine"):
        assert (getattr(swapped, stage) - getattr(out_rgb, stage)).abs().max() > 1e-2
        assert (getattr(unconverted, stage) - getattr(out_rgb, stage)).abs().max() > 1e-2


# --------------------------------------------------------------------------------------------------------------
# TF checkpoint converter


@pytest.mark.skipif(not (REFERENCE / "official_places2_snap-0.index").is_file(), reason="../shared is absent")
def test_model_keys_map_onto_the_real_release_index() -> None:
    entries = read_index(REFERENCE / "official_places2_snap-0.index")
    generator = {n: e for n, e in entries.items() if n.startswith("inpaint_net/") and "/Adam" not in n}
    variables = _tf_variables(DeepFillV2Generator(GeneratorConfig()))
    mapped = {n: v for n, v in variables.items() if n.startswith("inpaint_net/") and "/Adam" not in n}
    assert set(mapped) == set(generator)
    for name, array in mapped.items():
        assert tuple(array.shape) == generator[name].shape, name
    # and the converter's own naming agrees with this test's
    for key in DeepFillV2Generator(GeneratorConfig()).state_dict():
        _stage, layer, suffix = split_key(key)
        assert _tf_scope(layer, suffix) in generator, key


def test_tf_checkpoint_roundtrip_and_channel_order(tmp_path: Path) -> None:
    source = _random_model()
    write_bundle(tmp_path / "release" / "snap-0", _tf_variables(source))

    as_is = convert_tf_checkpoint(tmp_path / "release", source_order="rgb")
    reference = source.state_dict()
    assert list(as_is) == list(reference)
    for key, tensor in reference.items():
        assert as_is[key].dtype == torch.float32
        assert torch.equal(as_is[key], tensor), key

    converted = convert_tf_checkpoint(tmp_path / "release" / "snap-0.index")  # bgr by default
    changed = sorted(k for k in reference if not torch.equal(converted[k], reference[k]))
    assert changed == sorted(
        [
            "coarse.conv1.conv.weight",
            "coarse.conv17.conv.weight",
            "coarse.conv17.conv.bias",
            "refine.xconv1.conv.weight",
            "refine.pmconv1.conv.weight",
            "refine.allconv17.conv.weight",
            "refine.allconv17.conv.bias",
        ]
    )
    w = converted["coarse.conv1.conv.weight"]
    assert torch.equal(w[:, 0], reference["coarse.conv1.conv.weight"][:, 2])
    assert torch.equal(w[:, 3:], reference["coarse.conv1.conv.weight"][:, 3:])  # ones and mask stay

    rgb_model = DeepFillV2Generator(SMALL).eval()
    rgb_model.load_state_dict(converted, strict=True)
    _assert_channel_equivalent(source, rgb_model)


def test_reverse_color_channels_is_an_involution() -> None:
    state = _random_model().state_dict()
    twice = reverse_color_channels(reverse_color_channels(state))
    assert all(torch.equal(twice[k], state[k]) for k in state)


def _write_tf(tmp_path: Path, variables: dict[str, np.ndarray]) -> Path:
    return write_bundle(tmp_path / "snap-0", variables)


def test_tf_missing_variable(tmp_path: Path) -> None:
    variables = _tf_variables(_random_model())
    del variables["inpaint_net/pmconv9/bias"]
    _write_tf(tmp_path, variables)
    with pytest.raises(WeightsError, match="lacks the variable inpaint_net/pmconv9/bias"):
        convert_tf_checkpoint(tmp_path)


def test_tf_unexpected_variable(tmp_path: Path) -> None:
    variables = _tf_variables(_random_model())
    variables["inpaint_net/pmconv7/kernel"] = np.zeros((3, 3, 4, 4), np.float32)
    _write_tf(tmp_path, variables)
    with pytest.raises(WeightsError, match="unexpected generator variable inpaint_net/pmconv7/kernel"):
        convert_tf_checkpoint(tmp_path)


def test_tf_wrong_shape(tmp_path: Path) -> None:
    variables = _tf_variables(_random_model())
    variables["inpaint_net/conv5/kernel"] = variables["inpaint_net/conv5/kernel"][:, :, :-1]
    _write_tf(tmp_path, variables)
    with pytest.raises(WeightsError, match=r"coarse\.conv5\.conv\.weight has shape"):
        convert_tf_checkpoint(tmp_path)


def test_tf_not_a_generator(tmp_path: Path) -> None:
    _write_tf(tmp_path, {"lr": np.array(1.0, np.float32)})
    with pytest.raises(WeightsError, match="not a DeepFill v2 checkpoint"):
        convert_tf_checkpoint(tmp_path)


def test_tf_missing_files(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError):
        convert_tf_checkpoint(tmp_path / "nothing.index")
    _write_tf(tmp_path, _tf_variables(_random_model()))
    (tmp_path / "snap-0.data-00000-of-00001").unlink()
    with pytest.raises(WeightsMissingError, match="data file not found"):
        convert_tf_checkpoint(tmp_path)


# --------------------------------------------------------------------------------------------------------------
# PyTorch port converter


def _port_dict(model: DeepFillV2Generator, variant: str) -> dict[str, torch.Tensor]:
    out = {}
    for key, tensor in model.state_dict().items():
        layer, suffix = _layer_and_suffix(key)
        out[(PORT[layer] if variant == "pt" else layer) + suffix] = tensor.clone()
    if variant == "pt":
        out["stage2.contextual_attention.fuse_weight"] = torch.eye(3).view(1, 1, 3, 3)
    return out


def _save_port(tmp_path: Path, g: dict[str, torch.Tensor], name: str = "states.pth") -> Path:
    path = tmp_path / name
    disc = {"conv1.conv_sn.weight": torch.zeros(8, 4, 5, 5)}
    torch.save({"G": g, "D": disc, "n_iter": 5}, path)
    return path


@pytest.mark.parametrize("variant", ["tf", "pt"])
def test_torch_port_conversion(tmp_path: Path, variant: str) -> None:
    source = _random_model(seed=3)
    raw = _port_dict(source, variant)
    assert len(raw) == 84 + (variant == "pt")
    path = _save_port(tmp_path, raw, f"states_{variant}_places2.pth")

    as_is = convert_torch_port(path, source_order="rgb")
    reference = source.state_dict()
    assert list(as_is) == list(reference)
    assert all(torch.equal(as_is[k], reference[k]) for k in reference)

    converted = convert_torch_port(path)
    expected = reverse_color_channels(dict(reference))
    assert all(torch.equal(converted[k], expected[k]) for k in reference)
    rgb_model = DeepFillV2Generator(SMALL).eval()
    rgb_model.load_state_dict(converted, strict=True)
    _assert_channel_equivalent(source, rgb_model)


def test_torch_port_bare_state_dict(tmp_path: Path) -> None:
    source = _random_model()
    path = tmp_path / "bare.pth"
    torch.save(_port_dict(source, "tf"), path)
    got = convert_torch_port(path, "rgb")
    assert torch.equal(
        got["refine.allconv15_upsample.conv.conv.weight"], source.refine.allconv15_upsample.conv.conv.weight
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d.pop("stage2.ca_conv_bn4.conv.bias"),
            r"lacks the tensor stage2\.ca_conv_bn4\.conv\.bias",
        ),
        (
            lambda d: d.update({"stage2.extra.conv.weight": torch.zeros(1)}),
            r"unexpected tensor stage2\.extra",
        ),
        (
            lambda d: d.update({"stage1.conv_bn3.conv.weight": torch.zeros(1, 2, 3, 3)}),
            r"coarse\.conv8_atrous\.conv\.weight has shape \[1, 2, 3, 3\]",
        ),
        (
            lambda d: d.update({"stage1.conv_bn3.conv.bias": torch.zeros(16, dtype=torch.int64)}),
            "not floating point",
        ),
        (lambda d: d.pop("stage1.conv1.conv.weight"), "neither conv1.conv.weight nor"),
    ],
)
def test_torch_port_strict(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = _port_dict(_random_model(), "pt")
    edit(raw)
    with pytest.raises(WeightsError, match=message):
        convert_torch_port(_save_port(tmp_path, raw))


def test_torch_port_nan_refused(tmp_path: Path) -> None:
    raw = _port_dict(_random_model(), "tf")
    raw["allconv12.conv.bias"][3] = float("nan")
    with pytest.raises(WeightsError, match=r"refine\.allconv12\.conv\.bias holds NaN"):
        convert_torch_port(_save_port(tmp_path, raw))


class _Payload:
    """Pickles into a call that would create a marker file: what a malicious checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_pickle_with_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"G": {"conv1.conv.weight": torch.zeros(1)}, "x": _Payload(marker)}, path)
    with pytest.raises(WeightsError, match="holds code, which is refused"):
        convert_torch_port(path)
    assert not marker.exists()
    # load_generator does not unpickle at all: the same file is just not a weights file
    with pytest.raises(WeightsError, match="not a valid weights file"):
        load_generator(path)
    assert not marker.exists()
    # The payload is live: plain unpickling does run it, so the refusals above are what kept the marker away.
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_torch_port_bad_files(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissingError):
        convert_torch_port(tmp_path / "absent.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a zip and not a pickle" * 10)
    with pytest.raises(WeightsError, match="not a valid PyTorch weights file"):
        convert_torch_port(garbage)
    good = _save_port(tmp_path, _port_dict(_random_model(), "tf"))
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(WeightsError, match="not a valid PyTorch weights file"):
        convert_torch_port(truncated)
    listed = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(WeightsError, match="no generator state dict"):
        convert_torch_port(listed)
