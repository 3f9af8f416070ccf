"""DDP set-up for runs started by `torchrun` (RANK / WORLD_SIZE / LOCAL_RANK in the environment).

One process per device; nccl on CUDA, gloo on CPU. Without those variables this is a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from inpaint_core.errors import DeviceError


@dataclass(frozen=True)
class DistContext:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    """ "auto" -> cuda:<local_rank> when available, else mps, else cpu."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError("CUDA was requested but no CUDA device is available")
        return torch.device(preference) if ":" in preference else torch.device("cuda", local_rank)
    return torch.device(preference)


def setup(preference: str = "auto") -> DistContext:
    """Read the torchrun environment, pick this process's device and join the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(preference, local_rank)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world
        )
    return DistContext(rank, world, local_rank, device)


def barrier(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of a tensor over ranks (for logging)."""
    if not ctx.distributed:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / ctx.world


def teardown(ctx: DistContext, *, finished: bool = True) -> None:
    """End the process group; `finished` says this rank ended its run normally, not by an exception."""
    if ctx.distributed and dist.is_initialized():
        if finished:
            # a rank that tears gloo down while its peer still sends aborts the peer ("terminate called
            # without an active exception"): wait until every rank is past its last collective. Not after
            # an exception: the peers may never reach the barrier.
            barrier(ctx)
        dist.destroy_process_group()


def any_true(flag: bool, ctx: DistContext) -> bool:
    """True on every rank when `flag` is true on any rank (a collective: call it at the same step everywhere)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
