"""Contextual attention (Yu et al. 2018), as called by DeepFill v2: ksize 3, stride 1, rate 2, fuse_k 3, scale 10.

Improvements over the official layer, none of which changes its output for a batch of one:
- every image in a batch uses its own mask (the original used the first image's mask for the whole batch);
- an optional "do not borrow from here" mask removes sources;
- targets are processed in chunks of rows, so the (targets x sources) score map stays bounded in memory;
- the top-k sources of every target cell are returned for the attention overlay.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.config import AttentionConfig
from inpaint_core.model.layers import pad_same


@dataclass
class AttentionMap:
    """Where each target cell of the attention grid borrowed from. The grid is (h, w) = (H/8, W/8) of the image.

    A cell is `cell` model pixels wide; source s pastes a `patch`-wide square centred on `cell*s + cell/2`.
    """

    topk_index: torch.Tensor  # (B, k, h, w) int64: flat source index sy*w + sx, best first
    topk_weight: torch.Tensor  # (B, k, h, w): softmax weights of those sources
    offsets: torch.Tensor  # (B, 2, h, w): (dy, dx) of the best source minus the target, in cells
    valid: torch.Tensor  # (B, 1, h, w) bool: the target had at least one allowed source
    cell: int = 8
    patch: int = 16


def tf_nearest_indices(size_in: int, size_out: int, device: torch.device) -> torch.Tensor:
    """Indices TF1's nearest resize with align_corners=True reads: round(j * (in-1) / (out-1))."""
    if size_out == 1:
        return torch.zeros(1, dtype=torch.long, device=device)
    pos = torch.arange(size_out, dtype=torch.float64, device=device) * ((size_in - 1) / (size_out - 1))
    return torch.floor(pos + 0.5).long().clamp_(max=size_in - 1)


def tf_resize_nearest(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest resize of (B,C,H,W) matching neuralgym's `resize(..., align_corners=True)`."""
    rows = tf_nearest_indices(x.shape[-2], height, x.device)
    cols = tf_nearest_indices(x.shape[-1], width, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def _shift(x: torch.Tensor, d: int) -> torch.Tensor:
    """y[..., s] = x[..., s - d] along the last dim, zero-filled (a flat index shift, as TF's SAME conv sees it)."""
    y = torch.zeros_like(x)
    if d > 0:
        y[..., d:] = x[..., :-d]
    else:
        y[..., :d] = x[..., -d:]
    return y


class ContextualAttention(nn.Module):
    """Fill the hole's features with a softmax-weighted sum of known background patches.

    Shape:
        f: (B, C, H4, W4) foreground features; b: (B, C, H4, W4) background features (the same tensor in DeepFill)
        mask: (B, 1, H4, W4), 1 = hole, at feature resolution
        forbid: (B, 1, H4, W4) or None, 1 = no source may overlap this
        returns y (B, C, H4, W4) and an AttentionMap on the (H4/rate, W4/rate) grid (None unless asked for)
    """

    def __init__(self, config: AttentionConfig = AttentionConfig()):
        super().__init__()
        self.config = config

    def forward(
        self,
        f: torch.Tensor,
        b: torch.Tensor,
        mask: torch.Tensor,
        forbid: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, AttentionMap | None]:
        cfg = self.config
        rate, k = cfg.rate, cfg.ksize
        if f.shape != b.shape:
            raise ValueError(f"foreground {tuple(f.shape)} and background {tuple(b.shape)} must match")
        batch, _, h4, w4 = b.shape
        kraw = 2 * rate
        # 1. Raw 2*rate patches of the full-resolution background: what gets pasted.
        raw = F.unfold(
            pad_same(b, kraw, rate * cfg.stride), kraw, stride=rate * cfg.stride
        )  # (B, C*kraw^2, L)
        # 2.-3. Match on a grid downsampled by `rate`, with L2-normalised 3x3 background patches.
        gh, gw = h4 // rate, w4 // rate
        f_ds = tf_resize_nearest(f, gh, gw)
        b_ds = tf_resize_nearest(b, gh, gw)
        w_p = F.unfold(pad_same(b_ds, k, cfg.stride), k, stride=cfg.stride)  # (B, C*k*k, L)
        w_p = w_p / w_p.norm(dim=1, keepdim=True).clamp_min(1e-4)
        f_p = F.unfold(pad_same(f_ds, k, 1), k)  # (B, C*k*k, N): the target-side patches
        n_src = w_p.shape[-1]
        if raw.shape[-1] != n_src:
            raise ValueError(f"feature size {h4}x{w4} must be a multiple of {rate}")
        # 6. Sources are fully known patches (per image), minus the forbidden ones.
        m = tf_resize_nearest(mask, gh, gw)
        allowed = F.max_pool2d(m, k, 1, padding=k // 2) == 0  # (B, 1, gh, gw)
        if forbid is not None:
            # A raw patch covers kraw x kraw feature pixels at stride `rate`: forbid it if any of them is forbidden.
            touched = F.max_pool2d(F.pad(forbid, (1, 1, 1, 1)), kraw, rate) > 0
            allowed = allowed & ~touched[..., :gh, :gw]
        mm = allowed.flatten(1).to(f_p.dtype)[:, None, :]  # (B, 1, L)

        rows_per_chunk = gh if cfg.chunk_scores <= 0 else max(1, cfg.chunk_scores // (gw * n_src))
        pasted, idx_chunks, weight_chunks = [], [], []
        for y0 in range(0, gh, rows_per_chunk):
            y1 = min(gh, y0 + rows_per_chunk)
            scores = self._scores(f_p, w_p, y0, y1, gh, gw)  # (B, T, L)
            # 7. Softmax over allowed sources; TF masks before (scores*mm) and after (*mm) the softmax.
            if torch.is_grad_enabled():
                attn = torch.softmax(scores * mm * cfg.softmax_scale, dim=-1) * mm
            else:  # the same in place: saves two passes over the (T, L) score map
                attn = torch.softmax(scores.mul_(mm * cfg.softmax_scale), dim=-1).mul_(mm)
            pasted.append(torch.bmm(raw, attn.transpose(1, 2)))  # (B, C*kraw^2, T)
            if return_attention:
                weight, index = attn.float().topk(min(cfg.topk, n_src), dim=-1)  # (B, T, k)
                idx_chunks.append(index)
                weight_chunks.append(weight)
        # 8. Paste: the transposed conv with the raw patches, as a fold; /4 averages the overlapping patches.
        cols = torch.cat(pasted, dim=2)  # (B, C*kraw^2, N)
        y = F.fold(cols, (h4, w4), kraw, stride=rate, padding=(kraw - rate) // 2) / 4.0
        if not return_attention:
            return y, None
        return y, self._attention_map(idx_chunks, weight_chunks, allowed, batch, gh, gw)

    def _scores(
        self, f_p: torch.Tensor, w_p: torch.Tensor, y0: int, y1: int, gh: int, gw: int
    ) -> torch.Tensor:
        """Matching scores (B, T, L) of the target rows [y0, y1), fused as in the official code if enabled."""
        n = gh * gw
        targets = torch.arange(y0 * gw, y1 * gw, device=f_p.device)
        if not self.config.fuse:
            return torch.bmm(f_p[:, :, targets].transpose(1, 2), w_p)
        if y0 == 0 and y1 == gh:
            return self._fuse_all(torch.bmm(f_p.transpose(1, 2), w_p), gh, gw)
        # 5. The fuse adds scores of flat-index neighbours, first in row-major order, then in column-major order
        # (with the official code's wrap-around at row ends). A chunk needs its neighbours' raw scores too.
        row_major = torch.arange(n, device=f_p.device).view(gh, gw)
        col_order = row_major.t().reshape(-1)  # col-major position -> row-major index
        col_pos = torch.empty_like(col_order)
        col_pos[col_order] = torch.arange(n, device=f_p.device)  # row-major index -> col-major position

        def col_neighbour(t: torch.Tensor, d: int) -> torch.Tensor:
            p = col_pos[t] + d
            ok = (p >= 0) & (p < n)
            return torch.where(ok, col_order[p.clamp(0, n - 1)], torch.full_like(t, -1))

        prev_c, next_c = col_neighbour(targets, -1), col_neighbour(targets, 1)
        need1 = torch.cat([targets, prev_c, next_c])
        need1 = torch.unique(need1[need1 >= 0])
        need0 = torch.cat([need1 - 1, need1, need1 + 1])
        need0 = torch.unique(need0[(need0 >= 0) & (need0 < n)])
        raw = torch.bmm(f_p[:, :, need0].transpose(1, 2), w_p)  # (B, |need0|, L)
        raw = torch.cat(
            [raw, raw.new_zeros(raw.shape[0], 1, raw.shape[2])], dim=1
        )  # last row: "no neighbour"

        def rows_of(table: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
            pos = torch.searchsorted(table, wanted.clamp(min=0))
            hit = (wanted >= 0) & (pos < table.numel()) & (table[pos.clamp(max=table.numel() - 1)] == wanted)
            return torch.where(hit, pos, torch.full_like(pos, table.numel()))

        fused1 = (
            raw[:, rows_of(need0, need1)]
            + _shift(raw[:, rows_of(need0, need1 - 1)], 1)
            + _shift(raw[:, rows_of(need0, torch.where(need1 + 1 < n, need1 + 1, -1))], -1)
        )
        fused1 = torch.cat([fused1, fused1.new_zeros(fused1.shape[0], 1, fused1.shape[2])], dim=1)
        src_col = fused1[..., col_order]  # sources in column-major order
        out_col = (
            src_col[:, rows_of(need1, targets)]
            + _shift(src_col[:, rows_of(need1, prev_c)], 1)
            + _shift(src_col[:, rows_of(need1, next_c)], -1)
        )
        return out_col[..., col_pos]  # sources back in row-major order

    def _fuse_all(self, s: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        """The official fuse on the full (B, N, L) score matrix: two passes of a 3x3 identity conv."""
        out = s.clone()
        out[:, 1:, 1:] += s[:, :-1, :-1]
        out[:, :-1, :-1] += s[:, 1:, 1:]
        batch = s.shape[0]
        # Same again with both flat indices in column-major (h <-> w transposed) order.
        t = out.view(batch, gh, gw, gh, gw).permute(0, 2, 1, 4, 3).reshape(batch, gh * gw, gh * gw)
        fused = t.clone()
        fused[:, 1:, 1:] += t[:, :-1, :-1]
        fused[:, :-1, :-1] += t[:, 1:, 1:]
        return fused.view(batch, gw, gh, gw, gh).permute(0, 2, 1, 4, 3).reshape(batch, gh * gw, gh * gw)

    @staticmethod
    def _attention_map(
        idx_chunks: list[torch.Tensor],
        weight_chunks: list[torch.Tensor],
        allowed: torch.Tensor,
        batch: int,
        gh: int,
        gw: int,
    ) -> AttentionMap:
        index = torch.cat(idx_chunks, dim=1).permute(0, 2, 1).reshape(batch, -1, gh, gw)  # (B, k, gh, gw)
        weight = torch.cat(weight_chunks, dim=1).permute(0, 2, 1).reshape(batch, -1, gh, gw)
        best = index[:, 0]  # (B, gh, gw)
        ty = torch.arange(gh, device=best.device).view(1, gh, 1)
        tx = torch.arange(gw, device=best.device).view(1, 1, gw)
        offsets = torch.stack([best // gw - ty, best % gw - tx], dim=1).float()  # (B, 2, gh, gw)
        valid = allowed.flatten(1).any(dim=1).view(batch, 1, 1, 1).expand(batch, 1, gh, gw)
        return AttentionMap(topk_index=index, topk_weight=weight, offsets=offsets, valid=valid)
