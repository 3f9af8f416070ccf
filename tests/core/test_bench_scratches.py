"""`bench scratches`: both detectors in one run, tolerance both ways, held-out rows, textures, the curve, the plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inpaint_core.bench.scratches import (
    CLEAN,
    HELD_OUT,
    TOLERANCE,
    Score,
    damage_for,
    default_rows,
    format_report,
    plot_curves,
    run_scratch_bench,
    summary_line,
)
from inpaint_core.errors import InpaintError, WeightsMissingError
from inpaint_core.restore.detector import analyse_damage
from inpaint_core.restore.synthetic import TEXTURES, texture


@pytest.fixture(scope="module")
def photos() -> list[tuple[str, np.ndarray]]:
    return [(f"c{i}.png", texture("smooth", 96, 128, seed=i)) for i in range(2)]


@pytest.fixture(scope="module")
def report(photos, random_detector: Path):
    rows = [
        r for r in default_rows() if r.label in ("scratches 3 px", "specks 4-6 px") or r.group == HELD_OUT
    ]
    return run_scratch_bench(
        photos, methods=("classical", "learned"), weights=random_detector, rows=rows, speed=False
    )


def test_tolerance_applies_both_ways() -> None:
    assert TOLERANCE == 2
    truth = np.zeros((20, 20), bool)
    truth[10, 2:18] = True
    beside = np.zeros_like(truth)
    beside[12, 2:18] = True  # the whole line found, two pixels off: right, and every true pixel found
    score = Score("x")
    score.add(beside, truth)
    assert score.precision == 1.0 and score.recall == 1.0
    far = np.zeros_like(truth)
    far[13, 2:18] = True  # three pixels off: neither
    score = Score("y")
    score.add(far, truth)
    assert score.precision == 0.0 and score.recall == 0.0


def test_held_out_rows_draw_their_own_damage() -> None:
    clean = texture("smooth", 96, 128, seed=4)
    light = damage_for(clean, "lines-light", (1, 3), (0, 0, 9))
    dark = damage_for(clean, "lines-dark", (1, 3), (0, 0, 9))
    dust = damage_for(clean, "dust", (1, 3), (0, 0, 10))
    luma = np.array([0.299, 0.587, 0.114])
    assert ((light.image @ luma - clean @ luma)[light.truth] > 0).all()  # light lines brighten
    assert ((dark.image @ luma - clean @ luma)[dark.truth] < 0).all()  # dark lines darken
    assert 0 < dust.truth.sum() < 60 * 3.2**2  # 60 discs at most 3 px across
    np.testing.assert_array_equal(damage_for(clean, "dust", (1, 3), (0, 0, 10)).truth, dust.truth)  # seeded
    with pytest.raises(ValueError, match="unknown damage"):
        damage_for(clean, "smudge", (1, 3), (0,))


@pytest.mark.parametrize("kind", ["foliage", "fabric", "planks"])
def test_new_textures_are_seeded_photo_like_and_structured(kind: str) -> None:
    a, b = texture(kind, 128, 160, seed=0), texture(kind, 128, 160, seed=1)
    assert a.shape == (128, 160, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, texture(kind, 128, 160, seed=0))
    assert not np.array_equal(a, b)
    grey = a.astype(np.float32).mean(axis=2)
    assert 30 < grey.mean() < 225 and grey.std() > 4  # neither flat nor clipped
    assert kind in TEXTURES


def test_planks_have_seams_the_classical_detector_mistakes_for_scratches() -> None:
    """Why planks is a texture row: the classical detector flags their seams (issue 21's painted door)."""
    from inpaint_core.restore.scratches import detect_scratches

    assert detect_scratches(texture("planks", 256, 256, seed=0)).mean() > 0.01


def test_both_detectors_in_one_run(report, photos, random_detector: Path) -> None:
    assert [run.method for run in report.runs] == ["classical", "learned"]
    classical, learned = report.runs
    assert classical.unit == "sensitivity" and classical.default == 0.5
    assert learned.unit == "logit threshold" and learned.source == str(random_detector)
    assert learned.default == pytest.approx(-3.3, abs=1e-3)
    assert classical.default in classical.points and learned.default in learned.points
    assert 0.0 in classical.points and 1.0 in classical.points
    assert min(learned.points) <= learned.default - 4 and max(learned.points) >= learned.default + 4
    # the learned counts are the front door's masks at those thresholds
    _name, pixels = photos[0]
    analysis = analyse_damage(pixels, "learned", weights=random_detector)
    expected = float(analysis.mask_at(learned.default).mean())
    assert learned.clean[CLEAN][learned.default].rates[0] == pytest.approx(expected)
    # the classical sweep trades precision for recall; the pooled counts are sums of the rows
    labels = report.labels()
    curve = classical.curve(labels)
    assert curve[-1][2] > curve[0][2]
    total = classical.pooled(labels, 0.5)
    assert total.truth == sum(classical.scores[label][0.5].truth for label in labels) > 0
    # textures: every kind measured for both detectors
    assert {k for k in learned.clean if k != CLEAN} == {f"texture: {k}" for k in TEXTURES}


def test_the_report_and_the_summary(report) -> None:
    text = format_report(report)
    assert "within 2 px" in text
    assert "| held-out: light lines 1-3 px |" in text and "| held-out: all |" in text
    assert "classical P / R at 0.5 | learned P / R at 0.5" in text
    assert "| texture: planks | 3 |" in text and "| texture: fabric | 3 |" in text
    assert "| learned | logit threshold -3.30* |" in text and "| classical | sensitivity 0.50* |" in text
    last = text.splitlines()[-1]
    assert last == summary_line(report) and last.startswith("summary: learned at its default logit threshold")
    assert "held-out recall" in last and "target >= 0.8" in last and "target <= 1.0%" in last
    assert "worst texture" in last and "target <= 0.5%" in last


def test_summary_falls_back_to_the_classical_detector(photos) -> None:
    rows = [r for r in default_rows() if r.group == HELD_OUT]
    report = run_scratch_bench(photos[:1], rows=rows, textures=False, speed=False)
    line = summary_line(report)
    assert line.startswith("summary: classical") and "did not run" in line and "worst texture" not in line


def test_plot_marks_both_detectors(report) -> None:
    picture = plot_curves(report)
    assert picture.shape == (600, 760, 3) and picture.dtype == np.uint8
    for rgb in ((220, 120, 20), (30, 100, 220)):  # each detector's colour is drawn
        assert (np.abs(picture.astype(int) - rgb).sum(axis=2) < 30).sum() > 50


def test_speed_rows_name_both_detectors(
    photos, random_detector: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inpaint_core.bench.scratches as bench

    monkeypatch.setattr(
        bench, "TIMING_PHOTO", (160, 120)
    )  # the 6 MP photo is the CLI's; the rows are tested here
    rows = default_rows(widths=(2,), speck_bins=(), held_out=False)
    report = run_scratch_bench(
        photos[:1], methods=("classical", "learned"), weights=random_detector, rows=rows, textures=False
    )
    classical, learned = report.runs
    assert (
        "detect_damage, full 6 MP" in learned.speed
        and "LearnedAnalysis.mask (new sensitivity), full 6 MP" in learned.speed
    )
    assert any("preview_side=1600" in k for k in classical.speed)
    assert all(v > 0 for run in report.runs for v in run.speed.values())


def test_bad_requests(photos, no_shipped_weights) -> None:
    with pytest.raises(InpaintError, match="no photos"):
        run_scratch_bench([])
    with pytest.raises(InpaintError, match="unknown detector"):
        run_scratch_bench(photos, methods=("magic",))
    with pytest.raises(InpaintError, match="between 0 and 1"):
        run_scratch_bench(photos, sensitivities=(1.5,))
    with pytest.raises(WeightsMissingError, match="not installed"):
        run_scratch_bench(photos, methods=("learned",), textures=False, speed=False)
