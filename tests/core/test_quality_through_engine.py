"""`bench quality` measures what users get (issue #9 part 3): InpaintEngine.run with the default request, on the
image with its hole painted white, so an original pixel that came back would cost PSNR."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.api import InpaintRequest
from inpaint_core.bench.quality import BIN_COUNT, run_quality
from inpaint_core.engine import InpaintEngine
from tests.helpers.photos import synthetic_photo

# The fields the benchmark chooses; every other field must keep the request's default.
CHOSEN = {"image", "mask", "guide", "engine", "weights", "device"}


def _dataset(root: Path) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_photo(48, 48, seed=i)).save(images / f"p{i}.png")
    for b in range(BIN_COUNT):  # four masks a block: the benchmark reads only index % 4 == 0 (held out)
        m = np.zeros((64, 64), np.uint8)
        m[20 : 28 + 4 * b, 16:40] = 255
        for j in range(4):
            Image.fromarray(m).save(masks / f"{4 * b + j:05d}.png")
    return images, masks


def test_quality_runs_the_default_request_on_a_white_painted_hole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[InpaintRequest] = []
    real_run = InpaintEngine.run

    def recording_run(self: InpaintEngine, request: InpaintRequest, *args: object, **kw: object) -> object:
        seen.append(request)
        return real_run(self, request, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(InpaintEngine, "run", recording_run)
    images, masks = _dataset(tmp_path)
    report = run_quality(images, masks, size=32, engines=("telea",), bins=(2,), count=2)

    assert len(seen) == 2 and report.scores[0].count == 2
    defaults = InpaintRequest(image=np.zeros((1, 1), np.uint8), mask=np.zeros((1, 1), bool))
    for request in seen:
        hole = request.mask > 0
        assert hole.any() and (request.image[hole] == 255).all()  # the removed object: pure white
        for f in fields(InpaintRequest):
            if f.name not in CHOSEN | {"request_id"}:
                assert getattr(request, f.name) == getattr(defaults, f.name), f.name
        assert request.engine == "telea"


def test_quality_can_study_an_edge_blend(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path)
    plain = run_quality(images, masks, size=32, engines=("telea",), bins=(3,), count=2)
    blended = run_quality(images, masks, size=32, engines=("telea",), bins=(3,), count=2, edge_blend=3)
    # Filling a grown hole borrows from farther away: it scores differently (here, worse) inside the hole.
    assert blended.scores[0].psnr != plain.scores[0].psnr


def test_quality_has_patchmatch_and_auto_rows_through_the_engine(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path)
    report = run_quality(images, masks, size=32, engines=("ns", "patchmatch", "auto"), bins=(3,), count=2)
    assert [s.engine for s in report.scores] == ["ns", "patchmatch", "auto"]
    assert all(s.count == 2 and np.isfinite(s.psnr) for s in report.scores)
    assert report.scores[1].psnr != report.scores[0].psnr  # PatchMatch copies: not the NS smear
