"""The scratch detector that ships (resources/weights, manifest key `scratch_detector`): it is intact, it is what
"auto" runs, and on real photos it still finds held-out-style damage while leaving clean photos alone."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from inpaint_core.bench.scratches import score_mask
from inpaint_core.restore import detector
from inpaint_core.restore.synthetic import add_dust, add_polylines
from tests.conftest import SHARED

shipped = detector.learned_weights()
pytestmark = pytest.mark.skipif(shipped is None, reason="no scratch detector ships yet")


def test_the_shipped_file_matches_its_manifest_and_loads() -> None:
    assert shipped is not None
    path, digest = shipped
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert path.stat().st_size < 2_000_000
    model, threshold = detector.load_detector(path, digest)
    assert np.isfinite(threshold)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert detector.resolve_method("auto") == "learned"


@pytest.mark.shared_data
def test_it_finds_held_out_damage_and_spares_clean_photos() -> None:
    """A floor well below the bench's figures (docs/BENCHMARKS.md), so only a real regression fails it."""
    kodak = SHARED / "data" / "eval" / "kodak24"
    if not kodak.is_dir():
        pytest.skip("../shared/data is absent")
    from inpaint_core.image_io import load_rgb8

    recalls, flagged = [], []
    for index, name in enumerate(("kodim03.png", "kodim07.png", "kodim23.png")):
        photo = load_rgb8(kodak / name)
        flagged.append(float(detector.detect_damage(photo).mean()))
        lines = add_polylines(photo, np.random.default_rng([7, index]))
        dusty = add_dust(lines.image, np.random.default_rng([8, index]))
        truth = lines.truth | dusty.truth
        recalls.append(score_mask(detector.detect_damage(dusty.image), truth)[1])
    assert float(np.mean(recalls)) > 0.6, recalls
    assert float(np.mean(flagged)) < 0.02, flagged
