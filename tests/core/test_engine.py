"""The engine: bit-identical outside the hole, windows on large images, progress, cancel, errors, attention."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.api import InpaintRequest
from inpaint_core.devices import autocast, resolve_device, translate_oom
from inpaint_core.engine import NO_WEIGHTS_MESSAGE, InpaintEngine
from inpaint_core.errors import (
    CancelledError,
    DeviceError,
    InpaintError,
    MaskError,
    Remedy,
    WeightsMissingError,
)
from tests.helpers.photos import box_mask, synthetic_photo

LAYOUTS = [(3, np.uint8), (3, np.uint16), (1, np.uint8), (1, np.uint16), (4, np.uint8), (4, np.uint16)]


def _request(
    image: np.ndarray, mask: np.ndarray, weights: Path | None = None, **kw: object
) -> InpaintRequest:
    return InpaintRequest(image=image, mask=mask, device="cpu", weights=weights, **kw)  # type: ignore[arg-type]


def _record_model_inputs(engine: InpaintEngine, weights: Path) -> tuple[list[tuple[int, ...]], object]:
    """Hook the cached model's coarse stage and record the input shapes it sees."""
    shapes: list[tuple[int, ...]] = []
    model = engine.get_model(weights, torch.device("cpu"), "fp32")
    handle = model.coarse.register_forward_pre_hook(lambda _m, args: shapes.append(tuple(args[0].shape)))
    return shapes, handle


@pytest.mark.parametrize(("channels", "dtype"), LAYOUTS)
@pytest.mark.parametrize("method", ["deepfill", "telea", "ns"])
def test_outside_the_mask_is_bit_identical(
    engine: InpaintEngine, random_weights: Path, method: str, channels: int, dtype: type
) -> None:
    image = synthetic_photo(40, 56, channels, dtype, seed=channels)
    original = image.copy()
    mask = box_mask(40, 56, 12, 20, 26, 36)
    mask[3, 3] = True  # a second, one-pixel hole near the corner

    result = engine.run(_request(image, mask, random_weights, engine=method, return_coarse=True))

    np.testing.assert_array_equal(image, original)  # the request is not modified
    assert result.image.shape == image.shape and result.image.dtype == image.dtype
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    if channels == 4:
        np.testing.assert_array_equal(result.image[..., 3], image[..., 3])
    assert np.any(result.image[mask] != image[mask])
    if method == "deepfill":
        assert result.coarse is not None and result.attention is not None
        np.testing.assert_array_equal(result.coarse[~mask], image[~mask])
    else:
        assert result.coarse is None and result.attention is None


def test_large_image_processes_only_a_window(engine: InpaintEngine, random_weights: Path) -> None:
    image = np.zeros((3000, 4000, 3), np.uint8)
    image[:] = (30, 120, 200)
    image[::7] = (200, 90, 20)  # some structure the fill can borrow
    mask = box_mask(3000, 4000, 1500, 2000, 1540, 2040)  # a 40x40 hole
    shapes, handle = _record_model_inputs(engine, random_weights)
    try:
        result = engine.run(_request(image, mask, random_weights))
    finally:
        handle.remove()  # type: ignore[attr-defined]

    assert len(shapes) == 1
    _, _, h, w = shapes[0]
    assert h <= 136 and w <= 136  # a 128-px window (padded to 8), not the 4000x3000 photo
    (box,) = result.windows
    assert box.width == box.height == 128 and box.x0 <= 2000 and box.x1 >= 2040
    np.testing.assert_array_equal(result.image[~mask], image[~mask])
    assert np.any(result.image[mask] != image[mask])


def test_max_side_caps_what_the_model_sees(engine: InpaintEngine, random_weights: Path) -> None:
    image = synthetic_photo(400, 500)
    mask = box_mask(400, 500, 100, 100, 300, 350)
    shapes, handle = _record_model_inputs(engine, random_weights)
    try:
        result = engine.run(_request(image, mask, random_weights, max_side=128))
    finally:
        handle.remove()  # type: ignore[attr-defined]
    (box,) = result.windows
    assert max(box.width, box.height) > 128
    _, _, h, w = shapes[0]
    assert max(h, w) == 128 and h % 8 == 0 and w % 8 == 0
    np.testing.assert_array_equal(result.image[~mask], image[~mask])


def test_two_far_holes_give_two_windows_processed_in_order(
    engine: InpaintEngine, random_weights: Path
) -> None:
    image = synthetic_photo(300, 600)
    mask = box_mask(300, 600, 20, 20, 40, 40) | box_mask(300, 600, 250, 540, 270, 580)
    shapes, handle = _record_model_inputs(engine, random_weights)
    stages: list[str] = []
    try:
        result = engine.run(_request(image, mask, random_weights), progress=lambda s, f: stages.append(s))
    finally:
        handle.remove()  # type: ignore[attr-defined]
    assert len(result.windows) == 2 and len(shapes) == 2
    assert stages.count("coarse") == 2 and stages.count("refine") == 2
    np.testing.assert_array_equal(result.image[~mask], image[~mask])


def test_progress_order_and_fractions(engine: InpaintEngine, random_weights: Path, photo, hole) -> None:
    calls: list[tuple[str, float]] = []
    engine.run(_request(photo, hole, random_weights), progress=lambda s, f: calls.append((s, f)))
    assert [s for s, _ in calls] == ["load", "prepare", "coarse", "refine", "paste", "paste"]
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_cancel_at_prepare_raises_and_returns_nothing(
    engine: InpaintEngine, random_weights: Path, photo, hole
) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        seen.append(stage)
        if stage == "prepare":
            cancel.set()

    with pytest.raises(CancelledError):
        engine.run(_request(photo, hole, random_weights), progress=progress, cancel=cancel)
    assert seen == ["load", "prepare"]


def test_cancel_before_start(engine: InpaintEngine, photo, hole) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        engine.run(_request(photo, hole, engine="telea"), cancel=cancel)


def test_attention_query_in_image_coordinates(engine: InpaintEngine, random_weights: Path) -> None:
    image = synthetic_photo(200, 300)
    mask = box_mask(200, 300, 80, 120, 120, 170)
    result = engine.run(_request(image, mask, random_weights, max_side=96))
    field = result.attention
    assert field is not None
    sources = field.query(140, 100)
    assert sources, "a filled pixel has sources"
    weights = [s.weight for s in sources]
    assert weights == sorted(weights, reverse=True)
    assert 0 < sum(weights) <= 1.0 + 1e-5
    (box,) = result.windows
    for s in sources:
        assert 0 <= s.x < 300 and 0 <= s.y < 200 and box.contains(s.x, s.y)
        assert not mask[int(s.y), int(s.x)] or s.size > 0
    assert field.query(5, 5) == []  # not filled
    flow = field.flow_rgba(200, 300)
    assert flow.shape == (200, 300, 4)
    assert (flow[..., 3] > 0).sum() <= mask.sum() and (flow[~mask, 3] == 0).all()
    assert field.legend(64).shape == (64, 64, 4)


def test_forbid_keeps_sources_out(engine: InpaintEngine, random_weights: Path) -> None:
    image = synthetic_photo(128, 128)
    mask = box_mask(128, 128, 48, 48, 80, 80)
    forbid = np.zeros((128, 128), bool)
    forbid[:, :64] = True  # nothing from the left half
    result = engine.run(_request(image, mask, random_weights, forbid=forbid))
    assert result.attention is not None
    for y in range(50, 80, 6):
        for x in range(50, 80, 6):
            for s in result.attention.query(x, y):
                assert s.x >= 64 - 8, (x, y, s)  # source centres lie right of the forbidden half
    np.testing.assert_array_equal(result.image[~mask], image[~mask])


def test_bf16_on_cpu(engine: InpaintEngine, random_weights: Path, photo, hole) -> None:
    result = engine.run(_request(photo, hole, random_weights, precision="bf16"))
    np.testing.assert_array_equal(result.image[~hole], photo[~hole])
    assert np.any(result.image[hole] != photo[hole])


def test_model_is_cached(random_weights: Path) -> None:
    engine = InpaintEngine()
    a = engine.get_model(random_weights, torch.device("cpu"), "fp32")
    b = engine.get_model(random_weights, torch.device("cpu"), "fp32")
    c = engine.get_model(random_weights, torch.device("cpu"), "bf16")
    assert a is b and a is not c


def test_empty_mask_copies_through(engine: InpaintEngine, photo) -> None:
    result = engine.run(_request(photo, np.zeros(photo.shape[:2], bool)))  # no weights needed
    np.testing.assert_array_equal(result.image, photo)
    assert result.image is not photo and "empty mask" in result.note and result.windows == []


def test_no_weights_shipped_raises_plainly(
    engine: InpaintEngine, no_shipped_weights: Path, photo, hole
) -> None:
    with pytest.raises(WeightsMissingError) as info:
        engine.run(_request(photo, hole, None))
    assert str(info.value) == NO_WEIGHTS_MESSAGE and "--" not in str(info.value)
    assert info.value.remedy is Remedy.OTHER_ENGINE_OR_WEIGHTS  # each front end words the way out


def test_missing_weights_file(engine: InpaintEngine, tmp_path: Path, photo, hole) -> None:
    with pytest.raises(WeightsMissingError, match="not found"):
        engine.run(_request(photo, hole, tmp_path / "nope.safetensors"))


@pytest.mark.parametrize("field", ["mask", "guide", "forbid"])
def test_wrong_size_masks_name_both_sizes(engine: InpaintEngine, photo, hole, field: str) -> None:
    wrong = np.zeros((20, 30), bool)
    kwargs = {"mask": hole, field: wrong}
    with pytest.raises(MaskError, match=r"30x20.*64x48"):
        engine.run(InpaintRequest(image=photo, engine="telea", **kwargs))  # type: ignore[arg-type]


def test_bad_requests(engine: InpaintEngine, photo, hole) -> None:
    with pytest.raises(InpaintError, match="unknown engine"):
        engine.run(_request(photo, hole, engine="magic"))
    with pytest.raises(InpaintError, match="uint8 or uint16"):
        engine.run(_request(photo.astype(np.float32), hole, engine="telea"))
    with pytest.raises(InpaintError, match="at least"):
        engine.run(_request(photo, hole, engine="deepfill", max_side=8))


def test_guide_ignored_without_guide_channel(
    engine: InpaintEngine, random_weights: Path, photo, hole
) -> None:
    guide = np.zeros_like(hole)
    guide[20, 25:35] = True
    result = engine.run(_request(photo, hole, random_weights, guide=guide))
    assert "guide strokes ignored" in result.note


def test_classical_fill_of_a_flat_16bit_image_is_flat(engine: InpaintEngine) -> None:
    image = np.full((50, 60, 3), (1000, 30000, 60000), np.uint16)
    mask = box_mask(50, 60, 10, 10, 30, 40)
    for method in ("telea", "ns"):
        result = engine.run(_request(image, mask, engine=method))
        np.testing.assert_allclose(result.image.astype(int), image.astype(int), atol=1)


def test_cuda_requested_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="CUDA"):
        resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "mps")


def test_out_of_memory_becomes_device_error() -> None:
    with pytest.raises(DeviceError, match="out of GPU memory"), translate_oom(torch.device("cuda")):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(RuntimeError, match="something else"), translate_oom(torch.device("cpu")):
        raise RuntimeError("something else")


def test_autocast_contexts() -> None:
    x = torch.ones(2, 2)
    with autocast("bf16", torch.device("cpu")):
        assert (x @ x).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert (x @ x).dtype == torch.float32
    with pytest.raises(DeviceError):
        autocast("fp8", torch.device("cpu"))


def test_coarse_stage_is_opt_in(engine: InpaintEngine, random_weights: Path, photo: np.ndarray) -> None:
    mask = box_mask(48, 64, 18, 24, 30, 38)
    plain = engine.run(_request(photo, mask, random_weights))
    asked = engine.run(_request(photo, mask, random_weights, return_coarse=True))
    assert plain.coarse is None and asked.coarse is not None
    np.testing.assert_array_equal(plain.image, asked.image)  # asking for it changes nothing else
    assert np.any(asked.coarse[mask] != asked.image[mask])  # the coarse stage is not the fine one
