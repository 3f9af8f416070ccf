"""Contextual attention (Yu et al. 2018), as called by DeepFill v2: ksize 3, stride 1, rate 2, fuse_k 3, scale 10.

Improvements over the official layer, none of which changes its output for a batch of one:
- every image in a batch uses its own mask (the original used the first image's mask for the whole batch);
- an optional "do not borrow from here" mask removes sources;
- targets are processed in bands of rows, so the (targets x sources) score map stays bounded in memory;
- the top-k sources of every target cell are returned for the attention overlay.

Speed (docs/BENCHMARKS.md, "contextual attention"): matching is the official code's convolution with the
normalised patches as kernels, on channels_last views band by band, so oneDNN runs it at its convolution rate in
fp32 and bf16 alike; the paste runs on the faster of a 1x1 conv and a matmul for the dtype; the fuse is shifted
slices, not gathers; no raw score is computed twice. In a reduced precision (bf16) the two products run in it,
and the fuse and the softmax in float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.config import AttentionConfig


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


def _patches(x: torch.Tensor, ksize: int, stride: int, rows: int, cols: int) -> torch.Tensor:
    """Every ksize x ksize patch of a padded channels-last image, copied once into one row per patch.

    Shape: x (Hp, Wp, C) contiguous -> (rows*cols, ksize, ksize, C)
    """
    hp_stride, wp_stride, c_stride = x.stride()
    view = x.as_strided(
        (rows, cols, ksize, ksize, x.shape[-1]),
        (stride * hp_stride, stride * wp_stride, hp_stride, wp_stride, c_stride),
    )
    return view.reshape(rows * cols, ksize, ksize, x.shape[-1])


def _add_col_prev(dst: torch.Tensor, src: torch.Tensor) -> None:
    """dst[..., sy, sx] += src at the column-major predecessor of (sy, sx): (sy-1, sx), or (gh-1, sx-1) on row 0.

    Shape: dst, src (..., gh, gw); the source grid of the score map.
    """
    dst[..., 1:, :] += src[..., :-1, :]
    dst[..., 0, 1:] += src[..., -1, :-1]


def _add_col_next(dst: torch.Tensor, src: torch.Tensor) -> None:
    """dst[..., sy, sx] += src at the column-major successor of (sy, sx): (sy+1, sx), or (0, sx+1) on the last row.

    Shape: dst, src (..., gh, gw)
    """
    dst[..., :-1, :] += src[..., 1:, :]
    dst[..., -1, :-1] += src[..., 0, 1:]


class _BandScores:
    """Fused matching scores of one image, band of target rows by band, top to bottom.

    Raw scores are the convolution of the target features with the normalised 3x3 source patches as kernels; its
    channels_last output is already the (targets x sources) map.

    The fuse is a 3x3 identity conv over that map, first with both flat indices in row-major order
    (S[t,s] + S[t-1,s-1] + S[t+1,s+1], wrapping at row ends), then in column-major order. In row-major terms the
    column-major neighbour of a cell is the cell above or below it, except on the first and last rows, where it
    wraps to the neighbouring column. So every term is a shifted slice of a few rows, not a gather: a band needs
    the row-fused scores of one row above and below it, which the previous band computed (carried over, never
    recomputed), plus the wrapped-to rows for the first and last band.

    Shape: f_pad (1, C, gh+2, gw+2) target features with a zero border; kernels (L, C, 3, 3), L = gh*gw.
    Scores come out in `dtype` (float32 at least: the fuse and the softmax need it).
    """

    def __init__(
        self, f_pad: torch.Tensor, kernels: torch.Tensor, gh: int, gw: int, fuse: bool, dtype: torch.dtype
    ):
        self.f_pad, self.kernels, self.gh, self.gw, self.fuse, self.dtype = (
            f_pad,
            kernels,
            gh,
            gw,
            fuse,
            dtype,
        )
        self.n = gh * gw

    def raw_rows(self, r0: int, r1: int) -> torch.Tensor:
        """Raw scores of the target rows [r0, r1), in `dtype`. Shape: -> (T, L), T = (r1-r0)*gw"""
        s = F.conv2d(self.f_pad[:, :, r0 : r1 + 2], self.kernels)  # (1, L, r1-r0, gw), channels_last
        return s.permute(0, 2, 3, 1).reshape(-1, self.n).to(self.dtype)  # a view when channels_last, fp32

    def raw_one(self, t: int) -> torch.Tensor:
        """Raw scores of the single target t (flat index). Shape: -> (L,)"""
        y, x = divmod(t, self.gw)
        return F.conv2d(self.f_pad[:, :, y : y + 3, x : x + 3], self.kernels).view(self.n).to(self.dtype)

    def row_fused_into(self, dst: torch.Tensor, r0: int, r1: int) -> None:
        """Write the row-major fuse of target rows [r0, r1) into dst (T, L)."""
        if r1 <= r0:
            return
        s = self.raw_rows(r0, r1)
        if torch.is_grad_enabled():
            dst.copy_(s)
            dst[1:, 1:] += s[:-1, :-1]  # S[t-1, s-1]
        else:  # the same with one pass fewer (out= is not differentiable)
            torch.add(s[1:, 1:], s[:-1, :-1], out=dst[1:, 1:])
            dst[0].copy_(s[0])
            dst[1:, 0].copy_(s[1:, 0])
        dst[:-1, :-1] += s[1:, 1:]  # S[t+1, s+1]
        lo, hi = r0 * self.gw, r1 * self.gw
        if lo > 0:  # the band's first target: its predecessor is the last cell of the row above
            dst[0, 1:] += self.raw_one(lo - 1)[:-1]
        if hi < self.n:
            dst[-1, :-1] += self.raw_one(hi)[1:]

    def row_fused(self, r0: int, r1: int) -> torch.Tensor:
        out = self.f_pad.new_empty(((r1 - r0) * self.gw, self.n), dtype=self.dtype)
        self.row_fused_into(out, r0, r1)
        return out

    def bands(self, rows: int) -> Iterator[tuple[int, int, torch.Tensor]]:
        """(y0, y1, fused scores (T, L)) for consecutive bands of at most `rows` target rows."""
        gh, gw, n = self.gh, self.gw, self.n
        if not self.fuse:
            for y0 in range(0, gh, rows):
                y1 = min(gh, y0 + rows)
                yield y0, y1, self.raw_rows(y0, y1)
            return
        carry: torch.Tensor | None = None  # row-fused rows [y0-1, y0+1) from the previous band
        first_row: torch.Tensor | None = None  # row-fused row 0, for the last band's wrap-around
        for y0 in range(0, gh, rows):
            y1 = min(gh, y0 + rows)
            lo, hi = max(y0 - 1, 0), min(y1 + 1, gh)
            f1 = self.f_pad.new_empty(((hi - lo) * gw, n), dtype=self.dtype)  # row-fused rows [lo, hi)
            done = 0 if carry is None else carry.shape[0] // gw
            if carry is not None:
                f1[: done * gw].copy_(carry)
            self.row_fused_into(f1[done * gw :], lo + done, hi)
            grid = f1.view(hi - lo, gw, gh, gw)  # target (y, x), source (y, x)
            out = grid[y0 - lo : y1 - lo].clone()  # (rows, gw, gh, gw)
            if max(y0, 1) < y1:  # targets below the first row: the predecessor is the row above
                r0 = max(y0, 1)
                _add_col_prev(out[r0 - y0 :], grid[r0 - 1 - lo : y1 - 1 - lo])
            if y0 == 0 and gw > 1:  # first row: the predecessor of (0, x) is (gh-1, x-1)
                last = grid[gh - 1 - lo] if hi == gh else self.row_fused(gh - 1, gh).view(gw, gh, gw)
                _add_col_prev(out[0, 1:], last[:-1])
            if y0 < min(y1, gh - 1):  # targets above the last row: the successor is the row below
                r1 = min(y1, gh - 1)
                _add_col_next(out[: r1 - y0], grid[y0 + 1 - lo : r1 + 1 - lo])
            if y1 == gh and gw > 1:  # last row: the successor of (gh-1, x) is (0, x+1)
                first = grid[0] if lo == 0 else first_row
                assert first is not None
                _add_col_next(out[gh - 1 - y0, :-1], first[1:])
            if y0 == 0 and y1 < gh:
                first_row = grid[0].clone()
            carry = f1[(y1 - 1 - lo) * gw :].clone() if y1 < gh else None  # rows [y1-1, y1+1)
            yield y0, y1, out.view((y1 - y0) * gw, n)


def _diagonal_sum(s: torch.Tensor) -> torch.Tensor:
    """out[t, s] = S[t, s] + S[t-1, s-1] + S[t+1, s+1] over flat indices, zero outside. Shape: (B, N, N)"""
    out = s.clone()
    out[:, 1:, 1:] += s[:, :-1, :-1]
    out[:, :-1, :-1] += s[:, 1:, 1:]
    return out


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
        if cfg.stride != 1 or k != 3:
            raise ValueError("contextual attention supports ksize 3 and stride 1 (as DeepFill calls it)")
        batch, channels, h4, w4 = b.shape
        if h4 % rate or w4 % rate:
            raise ValueError(f"feature size {h4}x{w4} must be a multiple of {rate}")
        kraw = 2 * rate
        gh, gw = h4 // rate, w4 // rate
        n = gh * gw
        if torch.is_grad_enabled() and not return_attention and batch * n * n <= cfg.batched_scores:
            return self._batched(f, b, mask, forbid), None
        # The model's compute dtype (bf16 in the bf16 path): the two convolutions run in it; the fuse and the
        # softmax run in float32 (at least), where a bf16 logit would be off by ~0.4% times the softmax scale.
        dtype = b.dtype
        exact = torch.promote_types(dtype, torch.float32)
        # (B, H, W, C): free for the model's channels_last features; the downsampling below then gathers whole
        # channel vectors instead of single elements.
        b_hwc = b.permute(0, 2, 3, 1).contiguous()
        ds_rows = tf_nearest_indices(h4, gh, b.device)
        ds_cols = tf_nearest_indices(w4, gw, b.device)
        # 1. Raw 2*rate patches of the full-resolution background: what gets pasted. "SAME" padding for kraw at
        # stride rate is symmetric for even sizes.
        pad = (kraw - rate) // 2
        raw = F.unfold(F.pad(b, (pad, pad, pad, pad)), kraw, stride=rate)  # (B, C*kraw^2, L)
        # 2.-3. Match on a grid downsampled by `rate` (TF's nearest resize), with L2-normalised 3x3 background
        # patches as kernels (B, L, 3, 3, C); zero "SAME" padding on both sides.
        b_ds = b_hwc[:, ds_rows][:, :, ds_cols]  # (B, gh, gw, C)
        f_ds = b_ds if f is b else f.permute(0, 2, 3, 1)[:, ds_rows][:, :, ds_cols]
        b_ds_pad = F.pad(b_ds, (0, 0, 1, 1, 1, 1))
        kernels = torch.stack([_patches(b_ds_pad[i], k, 1, gh, gw) for i in range(batch)])
        norm = torch.linalg.vector_norm(kernels.flatten(2), dim=2, dtype=exact).clamp_min(1e-4)  # (B, L)
        kernels = kernels * (1.0 / norm).to(dtype)[..., None, None, None]
        f_pad = F.pad(f_ds, (0, 0, 1, 1, 1, 1)).contiguous().permute(0, 3, 1, 2)  # (B, C, gh+2, gw+2) CL
        # 6. Sources are fully known patches (per image), minus the forbidden ones.
        m = tf_resize_nearest(mask, gh, gw)
        allowed = F.max_pool2d(m, k, 1, padding=k // 2) == 0  # (B, 1, gh, gw)
        if forbid is not None:
            # A raw patch covers kraw x kraw feature pixels at stride `rate`: forbid it if any of them is forbidden.
            touched = F.max_pool2d(F.pad(forbid, (1, 1, 1, 1)), kraw, rate) > 0
            allowed = allowed & ~touched[..., :gh, :gw]
        mm = allowed.flatten(1).to(exact)  # (B, L)

        rows_per_band = gh if cfg.chunk_scores <= 0 else max(1, cfg.chunk_scores // (gw * n))
        cols = b.new_empty(batch, channels * kraw * kraw, n)  # pasted patch per target: the fold's input
        # 8. The paste, (patch x sources) x (sources x targets), runs where it is fastest: oneDNN's 1x1 conv for
        # fp32 on the CPU (BLAS's fp32 GEMM ran at half its rate on the AMD CPU here), a matmul otherwise (bf16
        # matmul beat the conv by up to 1.5x on band shapes). docs/BENCHMARKS.md, "contextual attention".
        paste_as_conv = dtype == torch.float32 and b.device.type == "cpu"
        index_of, weight_of = [], []
        for i in range(batch):
            kernels_i = kernels[i].permute(0, 3, 1, 2)  # (L, C, 3, 3), channels_last
            scores_of = _BandScores(f_pad[i : i + 1], kernels_i, gh, gw, cfg.fuse, exact)
            index_i, weight_i = [], []
            for y0, y1, scores in scores_of.bands(rows_per_band):  # (T, L)
                attn = self._softmax(scores, mm[i])  # (T, L), exact
                if return_attention:
                    weight, index = attn.topk(min(cfg.topk, n), dim=-1)  # (T, k)
                    index_i.append(index)
                    weight_i.append(weight)
                attn = attn.to(dtype)
                if paste_as_conv:
                    x = attn.view(1, y1 - y0, gw, n).permute(0, 3, 1, 2)  # (1, L, rows, gw), channels_last
                    pasted = F.conv2d(x, raw[i].view(-1, n, 1, 1))[0].flatten(1)  # (C*kraw^2, T)
                else:
                    pasted = torch.mm(raw[i], attn.t())  # (C*kraw^2, T)
                cols[i, :, y0 * gw : y1 * gw] = pasted
            if return_attention:
                index_of.append(torch.cat(index_i))
                weight_of.append(torch.cat(weight_i))
        # The transposed conv with the raw patches, as a fold; /4 averages the overlapping patches.
        y = F.fold(cols, (h4, w4), kraw, stride=rate, padding=pad) / 4.0
        if not return_attention:
            return y, None
        return y, self._attention_map(index_of, weight_of, allowed, batch, gh, gw)

    def _batched(
        self, f: torch.Tensor, b: torch.Tensor, mask: torch.Tensor, forbid: torch.Tensor | None
    ) -> torch.Tensor:
        """Training's path: the whole batch's score maps at once (B, L, L), a few large ops instead of the bands'
        many small ones per image, and a smaller autograd graph. The same function as the banded path (tested
        against it and a dense reference); it keeps the whole map, so it is used only while that is small.
        """
        cfg = self.config
        rate, kraw = cfg.rate, 2 * cfg.rate
        batch, _, h4, w4 = b.shape
        gh, gw = h4 // rate, w4 // rate
        n = gh * gw
        dtype = b.dtype
        exact = torch.promote_types(dtype, torch.float32)
        pad = (kraw - rate) // 2
        raw = F.unfold(F.pad(b, (pad, pad, pad, pad)), kraw, stride=rate)  # (B, C*kraw^2, L)
        b_ds = tf_resize_nearest(b, gh, gw)
        patches = F.unfold(b_ds, cfg.ksize, padding=cfg.ksize // 2)  # (B, C*9, L), zero "SAME" padding
        norm = torch.linalg.vector_norm(patches, dim=1, keepdim=True, dtype=exact).clamp_min(1e-4)
        kernels = patches * (1.0 / norm).to(dtype)
        targets = patches if f is b else F.unfold(tf_resize_nearest(f, gh, gw), cfg.ksize, padding=1)
        scores = torch.bmm(targets.transpose(1, 2), kernels).to(exact)  # (B, T, L)
        if cfg.fuse:  # the official fuse: a diagonal sum in row-major order, then in column-major order
            scores = _diagonal_sum(scores)
            cols = scores.view(batch, gh, gw, gh, gw).permute(0, 2, 1, 4, 3).reshape(batch, n, n)
            cols = _diagonal_sum(cols)
            scores = cols.view(batch, gw, gh, gw, gh).permute(0, 2, 1, 4, 3).reshape(batch, n, n)
        m = tf_resize_nearest(mask, gh, gw)
        allowed = F.max_pool2d(m, cfg.ksize, 1, padding=cfg.ksize // 2) == 0
        if forbid is not None:
            touched = F.max_pool2d(F.pad(forbid, (1, 1, 1, 1)), kraw, rate) > 0
            allowed = allowed & ~touched[..., :gh, :gw]
        mm = allowed.flatten(1).to(exact)[:, None, :]  # (B, 1, L): sources
        attn = torch.softmax(scores * mm * cfg.softmax_scale, dim=-1) * mm
        pasted = torch.bmm(raw, attn.to(dtype).transpose(1, 2))  # (B, C*kraw^2, T)
        return F.fold(pasted, (h4, w4), kraw, stride=rate, padding=pad) / 4.0

    def _softmax(self, scores: torch.Tensor, mm: torch.Tensor) -> torch.Tensor:
        """7. Softmax over the allowed sources, in the scores' dtype; TF masks before (scores*mm) and after (*mm)
        the softmax.

        Shape: scores (T, L), mm (L,) -> (T, L)
        """
        scale = self.config.softmax_scale
        if torch.is_grad_enabled():
            return torch.softmax(scores * mm * scale, dim=-1) * mm
        # The same in place: saves two passes over the (T, L) map.
        return torch.softmax(scores.mul_(mm * scale), dim=-1).mul_(mm)

    @staticmethod
    def _attention_map(
        index_of: list[torch.Tensor],  # per image (N, k)
        weight_of: list[torch.Tensor],
        allowed: torch.Tensor,
        batch: int,
        gh: int,
        gw: int,
    ) -> AttentionMap:
        index = torch.stack(index_of).permute(0, 2, 1).reshape(batch, -1, gh, gw)  # (B, k, gh, gw)
        weight = torch.stack(weight_of).permute(0, 2, 1).reshape(batch, -1, gh, gw)
        best = index[:, 0]  # (B, gh, gw)
        ty = torch.arange(gh, device=best.device).view(1, gh, 1)
        tx = torch.arange(gw, device=best.device).view(1, 1, gw)
        offsets = torch.stack([best // gw - ty, best % gw - tx], dim=1).float()  # (B, 2, gh, gw)
        valid = allowed.flatten(1).any(dim=1).view(batch, 1, 1, 1).expand(batch, 1, gh, gw)
        return AttentionMap(topk_index=index, topk_weight=weight, offsets=offsets, valid=valid)
