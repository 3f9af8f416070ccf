"""Contextual attention computed band by band (convolution matching, sliced fuse, transposed-conv paste) against a
dense reference written the straightforward way: the whole score map, the fuse as two passes of a diagonal sum,
the paste as a fold. Shapes that stress the band edges: one row, one column, bands of one row, bands that do not
divide the grid, a batch with different holes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inpaint_core.model.attention import ContextualAttention, tf_resize_nearest
from inpaint_core.model.config import AttentionConfig


def _diag_fuse(s: torch.Tensor) -> torch.Tensor:
    """out[i, j] = s[i, j] + s[i-1, j-1] + s[i+1, j+1] (zero outside). Shape: (N, N) -> (N, N)"""
    out = s.clone()
    out[1:, 1:] += s[:-1, :-1]
    out[:-1, :-1] += s[1:, 1:]
    return out


def dense_reference(f, b, mask, forbid=None, scale=10.0, fuse=True):
    """One call on a batch, everything dense. f, b: (B, C, H4, W4); mask, forbid: (B, 1, H4, W4)."""
    batch, _, h4, w4 = b.shape
    gh, gw = h4 // 2, w4 // 2
    n = gh * gw
    raw = F.unfold(F.pad(b, (1, 1, 1, 1)), 4, stride=2)  # (B, C*16, L)
    f_ds, b_ds = tf_resize_nearest(f, gh, gw), tf_resize_nearest(b, gh, gw)
    w = F.unfold(F.pad(b_ds, (1, 1, 1, 1)), 3)  # (B, C*9, L)
    w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-4)
    fp = F.unfold(F.pad(f_ds, (1, 1, 1, 1)), 3)  # (B, C*9, N)
    allowed = F.max_pool2d(tf_resize_nearest(mask, gh, gw), 3, 1, padding=1) == 0
    if forbid is not None:
        touched = F.max_pool2d(F.pad(forbid, (1, 1, 1, 1)), 4, 2) > 0
        allowed = allowed & ~touched[..., :gh, :gw]
    col = torch.arange(n).view(gh, gw).t().reshape(-1)  # column-major position -> row-major index
    ys = []
    for i in range(batch):
        s = fp[i].t() @ w[i]  # (N, L)
        if fuse:
            s = _diag_fuse(s)
            s = _diag_fuse(s[col][:, col])  # the same in column-major order ...
            inv = torch.empty_like(col)
            inv[col] = torch.arange(n)
            s = s[inv][:, inv]  # ... and back
        mm = allowed[i].flatten().to(s.dtype)
        attn = torch.softmax(s * mm * scale, dim=1) * mm
        cols = raw[i] @ attn.t()  # (C*16, N)
        ys.append(F.fold(cols[None], (h4, w4), 4, stride=2, padding=1)[0] / 4)
    return torch.stack(ys)


def _case(batch: int, c: int, h4: int, w4: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c, h4, w4, generator=g, dtype=torch.float64)
    mask = torch.zeros(batch, 1, h4, w4, dtype=torch.float64)
    mask[0, :, h4 // 4 : h4 // 2 + 1, w4 // 3 : w4 // 3 + 2] = 1
    if batch > 1:
        mask[1, :, -3:, :2] = 1
    return x, mask


@pytest.mark.parametrize(
    ("h4", "w4"),
    [(2, 12), (12, 2), (2, 2), (14, 10), (10, 16)],  # one row, one column, one cell, odd grids
)
@pytest.mark.parametrize("rows", [0, 1, 2, 3])  # 0 = the whole map in one band
def test_bands_match_the_dense_reference(h4: int, w4: int, rows: int) -> None:
    x, mask = _case(2, 3, h4, w4, seed=h4 * 100 + w4)
    n = (h4 // 2) * (w4 // 2)
    layer = ContextualAttention(AttentionConfig(chunk_scores=rows * (w4 // 2) * n))
    expected = dense_reference(x, x, mask)
    y, _ = layer(x, x, mask)
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-10)
    with torch.no_grad():  # the in-place inference path
        y_fast, _ = layer(x, x, mask)
    torch.testing.assert_close(y_fast, expected, rtol=1e-10, atol=1e-10)


def test_bands_with_forbid_and_without_fuse() -> None:
    x, mask = _case(2, 4, 12, 14, seed=3)
    forbid = torch.zeros_like(mask)
    forbid[:, :, :3, -4:] = 1
    for fuse in (True, False):
        layer = ContextualAttention(AttentionConfig(fuse=fuse, chunk_scores=2 * 7 * 42))
        expected = dense_reference(x, x, mask, forbid, fuse=fuse)
        torch.testing.assert_close(layer(x, x, mask, forbid)[0], expected, rtol=1e-10, atol=1e-10)


def test_distinct_foreground_and_background() -> None:
    x, mask = _case(1, 3, 10, 10, seed=4)
    f = torch.randn_like(x)
    layer = ContextualAttention(AttentionConfig(chunk_scores=1 * 5 * 25))
    torch.testing.assert_close(layer(f, x, mask)[0], dense_reference(f, x, mask), rtol=1e-10, atol=1e-10)


def test_topk_map_is_the_same_in_bands() -> None:
    x, mask = _case(2, 3, 12, 10, seed=5)
    whole = ContextualAttention(AttentionConfig(chunk_scores=0))(x, x, mask, return_attention=True)[1]
    banded = ContextualAttention(AttentionConfig(chunk_scores=5 * 30))(x, x, mask, return_attention=True)[1]
    assert whole is not None and banded is not None
    assert torch.equal(whole.topk_index, banded.topk_index)
    torch.testing.assert_close(whole.topk_weight, banded.topk_weight, rtol=1e-12, atol=1e-12)


def test_gradients_match_the_dense_reference() -> None:
    x, mask = _case(1, 3, 8, 12, seed=6)
    a = x.clone().requires_grad_(True)
    bb = x.clone().requires_grad_(True)
    layer = ContextualAttention(AttentionConfig(chunk_scores=1 * 6 * 24))
    layer(a, a, mask)[0].square().sum().backward()
    dense_reference(bb, bb, mask).square().sum().backward()
    assert a.grad is not None and bb.grad is not None
    torch.testing.assert_close(a.grad, bb.grad, rtol=1e-9, atol=1e-9)


def test_odd_feature_size_is_rejected() -> None:
    x = torch.randn(1, 2, 7, 8)
    with pytest.raises(ValueError, match="multiple of 2"):
        ContextualAttention()(x, x, torch.zeros(1, 1, 7, 8))


@pytest.mark.parametrize("rows", [0, 2])
def test_float32_paths_match_the_float64_reference(rows: int) -> None:
    """float32 takes the 1x1-conv paste on the CPU (float64 the matmul); both must give the reference."""
    x, mask = _case(2, 6, 12, 14, seed=8)
    expected = dense_reference(x, x, mask)
    layer = ContextualAttention(AttentionConfig(chunk_scores=rows * 7 * 42))
    x32 = x.float().contiguous(memory_format=torch.channels_last)
    for grad in (False, True):
        with torch.set_grad_enabled(grad):
            y, _ = layer(x32, x32, mask.float())
        torch.testing.assert_close(y.double(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("forbid", [False, True])
def test_training_batch_path_equals_the_bands(forbid: bool) -> None:
    """With autograd on, small maps go through `_batched` (whole batch at once); the bands give the same values
    and gradients."""
    x, mask = _case(2, 3, 10, 14, seed=8)
    block = torch.zeros_like(mask)
    block[..., :4, -4:] = 1
    outs, grads = [], []
    for batched in (1 << 26, 0):  # 0: never batched, the banded path
        a = x.clone().requires_grad_(True)
        layer = ContextualAttention(AttentionConfig(chunk_scores=2 * 7 * 35, batched_scores=batched))
        y = layer(a, a, mask, block if forbid else None)[0]
        y.square().sum().backward()
        outs.append(y.detach())
        grads.append(a.grad)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(
        outs[0], dense_reference(x, x, mask, block if forbid else None), rtol=1e-10, atol=1e-10
    )
