"""DDP: two CPU processes (gloo) through the torchrun environment variables, checked against one process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from inpaint_core.train.checkpoint import load_checkpoint
from inpaint_core.train.loop import train
from tests.helpers.photos import write_photos
from tests.train.conftest import tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank), "MASTER_ADDR": "127.0.0.1"}
    )
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    # batch 1 per rank: the two ranks together see exactly the samples of one batch-2 process
    train(tiny_config(Path(data), steps=2, batch=1), out, device="cpu")


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    data = write_photos(tmp_path / "p")
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "ddp")), nprocs=2, join=True)
    ddp = load_checkpoint(tmp_path / "ddp" / "ckpt_00000002.pt")
    assert (tmp_path / "ddp" / "export.safetensors").is_file()
    train(tiny_config(data, steps=2, batch=2), tmp_path / "single", device="cpu")
    single = load_checkpoint(tmp_path / "single" / "ckpt_00000002.pt")
    for key, value in single["G"].items():
        # averaged gradients equal the batch-2 gradient up to float rounding; Adam's first steps move
        # every weight by ~lr, so an unsynchronised run would differ by ~1e-4
        assert torch.allclose(ddp["G"][key], value, atol=2e-5, rtol=0), key
    assert not torch.equal(ddp["G"]["coarse.conv1.conv.weight"], load_first_weights(data))


def load_first_weights(data: Path) -> torch.Tensor:
    from inpaint_core.train.loop import build_models

    return build_models(tiny_config(data))[0].coarse.conv1.conv.weight.detach()


@pytest.mark.parametrize("finished", [True, False])
def test_teardown_waits_for_peers_only_after_a_finished_run(
    finished: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch.distributed as dist

    from inpaint_core.train import distributed

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    waits: list[int] = []
    monkeypatch.setattr(dist, "barrier", lambda *a, **k: waits.append(1))
    # a two-rank context: teardown only acts for a distributed run
    ctx = distributed.DistContext(rank=0, world=2, local_rank=0, device=torch.device("cpu"))
    distributed.teardown(ctx, finished=finished)
    assert not dist.is_initialized()
    # after an exception the peer may never reach a barrier: waiting there would hang the run
    assert waits == ([1] if finished else [])
