"""Layers, generator and discriminator: shapes, padding, parameter counts, gradients, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inpaint_core.model import (
    AttentionConfig,
    DeepFillV2Generator,
    GatedConv2d,
    GatedUpConv2d,
    GeneratorConfig,
    SNPatchDiscriminator,
)
from inpaint_core.model.layers import same_padding

torch.manual_seed(0)


def test_same_padding_matches_tensorflow_rules():
    assert same_padding(256, 3, 2) == (0, 1)  # stride-2 3x3 on an even input: the extra pixel goes after
    assert same_padding(256, 5, 2) == (1, 2)  # the discriminator's 5x5 stride-2 convs
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(64, 3, 1, rate=16) == (16, 16)
    assert same_padding(64, 5, 1) == (2, 2)


@pytest.mark.parametrize("size", [(7, 9), (8, 8), (13, 6)])
@pytest.mark.parametrize("stride", [1, 2])
def test_gated_conv_shapes_on_odd_sizes(size, stride):
    layer = GatedConv2d(3, 5, 3, stride)
    out = layer(torch.randn(2, 3, *size))
    assert out.shape == (2, 5, -(-size[0] // stride), -(-size[1] // stride))
    assert layer.conv.out_channels == 10  # feature + gate


def test_gated_conv_is_feature_times_sigmoid_gate():
    layer = GatedConv2d(2, 3, 3, 2)
    x = torch.randn(1, 2, 6, 6)
    raw = layer.conv(F.pad(x, (0, 1, 0, 1)))  # TF SAME for a stride-2 3x3 conv on an even size
    expected = F.elu(raw[:, :3]) * torch.sigmoid(raw[:, 3:])
    torch.testing.assert_close(layer(x), expected)


def test_relu_and_plain_output_layers():
    relu = GatedConv2d(2, 3, 3, activation="relu")
    x = torch.randn(1, 2, 5, 5)
    raw = relu.conv(x)
    torch.testing.assert_close(relu(x), F.relu(raw[:, :3]) * torch.sigmoid(raw[:, 3:]))
    plain = GatedConv2d(2, 3, 3, activation=None)
    assert plain.conv.out_channels == 3
    torch.testing.assert_close(plain(x), plain.conv(x))


def test_gated_upconv_doubles_size_and_has_doubled_conv_key():
    layer = GatedUpConv2d(4, 2)
    assert layer(torch.randn(1, 4, 5, 3)).shape == (1, 2, 10, 6)
    assert "conv.conv.weight" in layer.state_dict()


def test_parameter_counts_match_the_published_checkpoint():
    g = DeepFillV2Generator()
    assert sum(p.numel() for p in g.parameters()) == 4_052_478
    assert len(g.state_dict()) == 84  # 42 convs, weight + bias each
    assert sum(p.numel() for p in SNPatchDiscriminator().parameters()) == 5_946_816
    guided = DeepFillV2Generator(GeneratorConfig(guide_channel=True))
    assert guided.coarse.conv1.conv.weight.shape == (48, 6, 5, 5)
    assert sum(p.numel() for p in guided.parameters()) == 4_052_478 + 48 * 25


def test_official_layer_names_and_shapes():
    sd = DeepFillV2Generator().state_dict()
    expected = {
        "coarse.conv1.conv.weight": (48, 5, 5, 5),
        "coarse.conv13_upsample.conv.conv.weight": (96, 96, 3, 3),
        "coarse.conv16.conv.weight": (24, 24, 3, 3),
        "coarse.conv17.conv.weight": (3, 12, 3, 3),
        "refine.xconv5.conv.weight": (192, 48, 3, 3),
        "refine.xconv10_atrous.conv.weight": (192, 96, 3, 3),
        "refine.pmconv4_downsample.conv.weight": (192, 48, 3, 3),
        "refine.pmconv6.conv.weight": (192, 96, 3, 3),
        "refine.allconv11.conv.weight": (192, 192, 3, 3),
        "refine.allconv15_upsample.conv.conv.weight": (48, 48, 3, 3),
        "refine.allconv17.conv.bias": (3,),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key


def _batch(b=2, h=64, w=48, guide=False):
    image = torch.rand(b, 3, h, w) * 2 - 1
    mask = torch.zeros(b, 1, h, w)
    mask[0, :, 16:40, 8:30] = 1
    if b > 1:
        mask[1, :, 30:60, 20:44] = 1
    return image, mask


@pytest.mark.parametrize(("b", "h", "w"), [(1, 64, 48), (2, 40, 56)])
def test_generator_shapes_and_range(b, h, w):
    g = DeepFillV2Generator(GeneratorConfig(cnum=16)).eval()
    image, mask = _batch(b, h, w)
    with torch.no_grad():
        out = g(image, mask, return_attention=True)
    assert out.coarse.shape == out.fine.shape == (b, 3, h, w)
    assert out.fine.abs().max() <= 1 and torch.isfinite(out.fine).all()
    assert out.attention is not None
    assert out.attention.topk_index.shape == (b, 4, h // 8, w // 8)


def test_generator_output_ignores_pixels_under_the_hole():
    """The network must never see the original content of the hole."""
    g = DeepFillV2Generator(GeneratorConfig(cnum=16)).eval()
    image, mask = _batch(1)
    scrambled = torch.where(mask.bool(), torch.rand_like(image), image)
    with torch.no_grad():
        a, b = g(image, mask), g(scrambled, mask)
    torch.testing.assert_close(a.fine, b.fine)


def test_generator_batch_uses_each_images_own_mask():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16)).eval()
    image, mask = _batch(2)
    with torch.no_grad():
        both = g(image, mask).fine
        second = g(image[1:], mask[1:]).fine
    torch.testing.assert_close(both[1:], second, rtol=1e-4, atol=1e-5)


def test_guide_channel_is_fed_inside_the_hole_only():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16, guide_channel=True)).eval()
    image, mask = _batch(1)
    guide = torch.zeros_like(mask)
    guide[..., 28, :] = 1  # a stroke crossing the hole and the known region
    x = g.prepare_input(image, mask, guide)
    assert x.shape[1] == 6
    torch.testing.assert_close(x[:, 3:4], guide * mask)  # [image, guide, ones, mask]
    torch.testing.assert_close(x[:, 5:6], mask)
    guide.requires_grad_(True)
    g(image, mask, guide=guide).fine.sum().backward()
    assert guide.grad is not None and guide.grad[..., 28, 8:30].abs().sum() > 0
    assert guide.grad[..., 28, 30:].abs().sum() == 0  # outside the hole the stroke is ignored


def test_forbid_changes_the_attention_sources():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16, attention=AttentionConfig(topk=1))).eval()
    image, mask = _batch(1)
    forbid = torch.zeros_like(mask)
    forbid[..., :, 30:] = 1  # nothing right of x=30 may be borrowed
    with torch.no_grad():
        att = g(image, mask, forbid=forbid, return_attention=True).attention
    assert att is not None
    src_x = (att.topk_index[:, 0] % (48 // 8)) * 8 + 4  # centre of the source cell in model pixels
    # sources are 16 px patches: their right edge must stay left of the forbidden band
    assert (src_x[att.topk_weight[:, 0] > 0] + 8 <= 30 + 4).all()


def test_bad_input_is_rejected():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16))
    image, mask = _batch(1)
    with pytest.raises(ValueError, match="multiple of 8"):
        g(image[..., :60, :], mask[..., :60, :])
    with pytest.raises(ValueError, match="mask size"):
        g(image, mask[..., :32, :])
    with pytest.raises(ValueError, match="no guide channel"):
        g(image, mask, guide=mask)
    with pytest.raises(ValueError, match="multiple of 4"):
        DeepFillV2Generator(GeneratorConfig(cnum=18))


def test_generator_and_discriminator_gradients():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16, guide_channel=True))
    d = SNPatchDiscriminator()
    image, mask = _batch(2, 64, 64)
    out = g(image, mask, guide=torch.zeros_like(mask))
    score = d(out.fine * mask + image * (1 - mask), mask)
    assert score.shape == (2, 256)  # 256 channels x 1 x 1 at 64x64
    (out.coarse.abs().mean() + score.mean()).backward()
    for name, p in list(g.named_parameters()) + list(d.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert g.coarse.conv1.conv.weight.grad.abs().sum() > 0
    assert g.refine.pmconv1.conv.weight.grad.abs().sum() > 0  # through the attention branch


def test_discriminator_output_size():
    d = SNPatchDiscriminator()
    assert d(torch.randn(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)).shape == (1, 256 * 4 * 4)


def test_inplace_inference_gating_equals_the_training_path():
    g = DeepFillV2Generator(GeneratorConfig(cnum=16)).eval()
    image, mask = _batch(2)
    with torch.no_grad():
        fast = g(image, mask)  # in-place gating
    slow = g(image, mask)  # autograd enabled: out-of-place gating
    torch.testing.assert_close(fast.fine, slow.fine.detach())
    torch.testing.assert_close(fast.coarse, slow.coarse.detach())
