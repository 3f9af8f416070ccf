"""ContextualAttention against a plain loop-based reference written from the published algorithm (Yu et al.,
"Generative Image Inpainting with Contextual Attention", CVPR 2018; used unchanged in DeepFill v2, ICCV 2019)."""

from __future__ import annotations

import math

import pytest
import torch

from inpaint_core.model.attention import ContextualAttention, tf_nearest_indices
from inpaint_core.model.config import AttentionConfig


def _tf_index(size_in: int, size_out: int) -> list[int]:
    if size_out == 1:
        return [0]
    return [min(size_in - 1, math.floor(j * (size_in - 1) / (size_out - 1) + 0.5)) for j in range(size_out)]


def reference_attention(f, b, mask, forbid=None, fuse=True, scale=10.0):
    """One image, explicit loops. f, b: (C, H4, W4); mask, forbid: (H4, W4). Returns y (C, H4, W4), attn (N, L)."""
    c, h4, w4 = b.shape
    gh, gw = h4 // 2, w4 // 2
    iy, ix = _tf_index(h4, gh), _tf_index(w4, gw)
    f_ds = torch.stack([torch.stack([f[:, y, x] for x in ix], -1) for y in iy], -2)  # (C, gh, gw)
    b_ds = torch.stack([torch.stack([b[:, y, x] for x in ix], -1) for y in iy], -2)
    m_ds = [[float(mask[y, x]) for x in ix] for y in iy]

    def patch3(t, y, x):  # 3x3 patch around (y, x), zero outside
        out = torch.zeros(c, 3, 3, dtype=t.dtype)
        for dy in range(3):
            for dx in range(3):
                yy, xx = y + dy - 1, x + dx - 1
                if 0 <= yy < gh and 0 <= xx < gw:
                    out[:, dy, dx] = t[:, yy, xx]
        return out

    n = gh * gw
    cells = [(y, x) for y in range(gh) for x in range(gw)]
    w = []
    for sy, sx in cells:
        p = patch3(b_ds, sy, sx)
        w.append(p / max(p.norm().item(), 1e-4))
    scores = torch.zeros(n, n, dtype=f.dtype)
    for t, (ty, tx) in enumerate(cells):
        fp = patch3(f_ds, ty, tx)
        for s in range(n):
            scores[t, s] = (fp * w[s]).sum()
    if fuse:

        def diag(m):
            out = torch.zeros_like(m)
            for i in range(n):
                for j in range(n):
                    for d in (-1, 0, 1):
                        if 0 <= i + d < n and 0 <= j + d < n:
                            out[i, j] += m[i + d, j + d]
            return out

        s1 = diag(scores)
        col = [x * gh + y for (y, x) in cells]  # row-major index -> column-major index
        s1c = torch.zeros_like(s1)
        for i in range(n):
            for j in range(n):
                s1c[col[i], col[j]] = s1[i, j]
        s2c = diag(s1c)
        scores = torch.zeros_like(s1)
        for i in range(n):
            for j in range(n):
                scores[i, j] = s2c[col[i], col[j]]
    allowed = torch.zeros(n, dtype=f.dtype)
    for s, (sy, sx) in enumerate(cells):
        ok = all(
            m_ds[sy + dy][sx + dx] == 0
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if 0 <= sy + dy < gh and 0 <= sx + dx < gw
        )
        if forbid is not None:  # the raw 4x4 patch covers feature rows 2sy-1 .. 2sy+2
            for yy in range(2 * sy - 1, 2 * sy + 3):
                for xx in range(2 * sx - 1, 2 * sx + 3):
                    if 0 <= yy < h4 and 0 <= xx < w4 and forbid[yy, xx] > 0:
                        ok = False
        allowed[s] = float(ok)
    attn = torch.softmax(scores * allowed * scale, dim=1) * allowed
    y = torch.zeros(c, h4 + 2, w4 + 2, dtype=f.dtype)  # 1 px border: the transposed conv's padding=1
    bpad = torch.nn.functional.pad(b, (1, 1, 1, 1))
    for t, (ty, tx) in enumerate(cells):
        for s, (sy, sx) in enumerate(cells):
            patch = bpad[:, 2 * sy : 2 * sy + 4, 2 * sx : 2 * sx + 4]
            y[:, 2 * ty : 2 * ty + 4, 2 * tx : 2 * tx + 4] += attn[t, s] * patch
    return y[:, 1:-1, 1:-1] / 4, attn


def _inputs(batch=2, c=3, h4=8, w4=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c, h4, w4, generator=g, dtype=torch.float64)
    mask = torch.zeros(batch, 1, h4, w4, dtype=torch.float64)
    mask[0, :, 2:5, 3:7] = 1
    if batch > 1:
        mask[1, :, 4:8, 0:3] = 1  # a different hole in the second image
    return x, mask


@pytest.mark.parametrize("fuse", [True, False])
def test_matches_loop_reference_per_image_masks(fuse):
    x, mask = _inputs()
    layer = ContextualAttention(AttentionConfig(fuse=fuse))
    y, att = layer(x, x, mask, return_attention=True)
    assert att is not None
    for i in range(2):
        y_ref, attn_ref = reference_attention(x[i], x[i], mask[i, 0], fuse=fuse)
        torch.testing.assert_close(y[i], y_ref, rtol=1e-9, atol=1e-9)
        best = attn_ref.argmax(dim=1).view(att.topk_index.shape[-2:])
        assert torch.equal(att.topk_index[i, 0], best)


def test_forbid_mask_removes_sources():
    x, mask = _inputs(batch=1)
    forbid = torch.zeros_like(mask)
    forbid[0, 0, 0:4, 6:10] = 1
    layer = ContextualAttention(AttentionConfig())
    y, att = layer(x, x, mask, forbid, return_attention=True)
    y_ref, _ = reference_attention(x[0], x[0], mask[0, 0], forbid[0, 0])
    torch.testing.assert_close(y[0], y_ref, rtol=1e-9, atol=1e-9)
    # No top-k source with a non-zero weight lies in the forbidden region (feature rows 0..3, cols 6..9).
    gw = x.shape[-1] // 2
    used = att.topk_index[att.topk_weight > 0]
    sy, sx = used // gw, used % gw
    overlaps = (2 * sy - 1 <= 3) & (2 * sy + 2 >= 0) & (2 * sx + 2 >= 6) & (2 * sx - 1 <= 9)
    assert not overlaps.any()
    y_free, _ = layer(x, x, mask)
    assert not torch.allclose(y, y_free)  # the forbidden sources really mattered


@pytest.mark.parametrize("rows", [1, 2, 4])
def test_chunked_targets_equal_the_full_score_map(rows):
    x, mask = _inputs(h4=12, w4=10, seed=3)
    full = ContextualAttention(AttentionConfig(chunk_scores=0))
    chunked = ContextualAttention(
        AttentionConfig(chunk_scores=rows * 5 * 30)
    )  # rows x 5 targets x 30 sources
    y_full, a_full = full(x, x, mask, return_attention=True)
    y_chunk, a_chunk = chunked(x, x, mask, return_attention=True)
    torch.testing.assert_close(y_chunk, y_full, rtol=1e-10, atol=1e-10)
    assert torch.equal(a_chunk.topk_index, a_full.topk_index)


def test_topk_weights_sorted_and_offsets_point_to_the_best_source():
    x, mask = _inputs(seed=5)
    _, att = ContextualAttention(AttentionConfig(topk=3))(x, x, mask, return_attention=True)
    assert att.topk_weight.shape == (2, 3, 4, 5)
    assert (att.topk_weight[:, :-1] >= att.topk_weight[:, 1:]).all()
    assert (att.topk_weight.sum(dim=1) <= 1 + 1e-6).all()
    gh, gw = 4, 5
    ty, tx = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    best = att.topk_index[:, 0]
    assert torch.equal(att.offsets[:, 0].long(), best // gw - ty)
    assert torch.equal(att.offsets[:, 1].long(), best % gw - tx)


def test_no_known_source_gives_zero_and_invalid():
    x, _ = _inputs(batch=1)
    mask = torch.ones(1, 1, 8, 10, dtype=torch.float64)
    y, att = ContextualAttention()(x, x, mask, return_attention=True)
    assert torch.count_nonzero(y) == 0
    assert not att.valid.any()


def test_gradients_flow_and_no_nan():
    x, mask = _inputs(seed=7)
    x = x.float().requires_grad_(True)
    y, _ = ContextualAttention(AttentionConfig(chunk_scores=6 * 20))(x, x, mask.float())
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_tf_nearest_indices_match_align_corners_rule():
    assert tf_nearest_indices(64, 32, torch.device("cpu")).tolist() == _tf_index(64, 32)
    assert tf_nearest_indices(64, 32, torch.device("cpu"))[16].item() == 33  # not 2*16: the TF quirk


def test_inference_path_equals_the_autograd_path():
    x, mask = _inputs(seed=11)
    layer = ContextualAttention(AttentionConfig(chunk_scores=7 * 20))
    with torch.no_grad():
        y_fast, a_fast = layer(x, x, mask, return_attention=True)
    y_slow, a_slow = layer(x.requires_grad_(True), x, mask, return_attention=True)
    torch.testing.assert_close(y_fast, y_slow.detach(), rtol=1e-12, atol=1e-12)
    assert torch.equal(a_fast.topk_index, a_slow.topk_index)
