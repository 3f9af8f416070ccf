"""Shipping the relay's weights: the bench decides; a shipped file is the same tensors with its figures, and the
manifest names it with its SHA-256, keeping its other entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open

from inpaint_core.files import sha256_file
from inpaint_core.model_info import read_weights_info
from inpaint_core.train import ship as ship_module
from inpaint_core.train.ship import SHIPPED_FILE, margins, ship
from inpaint_core.train.warm import EMA_FILE
from tests.helpers.photos import write_bench_folders
from tests.train.tiny_pack import make_carry


def test_margins_are_against_the_best_fill_without_weights() -> None:
    table = {
        "10-20%": {"deepfill": 20.4, "deepfill-raw": 25.0, "ns": 19.8, "telea": 19.9, "patchmatch": 19.5},
        "50-60%": {"deepfill": 17.5, "ns": 16.4, "patchmatch": 17.6},
        "30-40%": {"ns": 18.0},  # no model row: a bin it did not win
    }
    got = margins(table)
    assert got["10-20%"] == pytest.approx(0.5) and got["50-60%"] == pytest.approx(-0.1)
    assert got["30-40%"] == float("-inf")


@pytest.mark.slow
def test_ship_writes_only_a_winner_and_keeps_the_manifest_s_other_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = make_carry(tmp_path / "candidate", samples=86856)
    images, masks = write_bench_folders(tmp_path / "eval")
    manifest = tmp_path / "weights" / "manifest.json"
    manifest.parent.mkdir()
    detector = {"file": "scratch_detector.safetensors", "sha256": "ab" * 32}
    manifest.write_text(json.dumps({"default": None, "scratch_detector": detector}))
    run = {"images": images, "masks": masks, "count": 2, "say": lambda _: None, "bench_size": 32}

    # 1. one bin lost (the decision forced, the bench still run): nothing is written
    monkeypatch.setattr(ship_module, "margins", lambda table: dict.fromkeys(table, 0.5) | {"30-40%": -0.01})
    report = ship(candidate, manifest, **run)  # type: ignore[arg-type]
    assert report.shipped is None
    engines = {s.engine for s in report.table.scores}
    assert engines == {"deepfill", "deepfill-raw", "ns", "telea", "patchmatch"}
    assert json.loads(manifest.read_text())["default"] is None
    assert not (manifest.parent / SHIPPED_FILE).exists()

    # 2. a winner (the decision forced, the bench still run): the file and the default entry appear
    monkeypatch.setattr(ship_module, "margins", lambda table: dict.fromkeys(table, 0.5))
    report = ship(candidate, manifest, **run)  # type: ignore[arg-type]
    shipped = manifest.parent / SHIPPED_FILE
    assert report.shipped == shipped
    data = json.loads(manifest.read_text())
    assert data["scratch_detector"] == detector
    entry = data["default"]
    assert entry["file"] == SHIPPED_FILE and entry["sha256"] == sha256_file(shipped)
    assert entry["name"] == "DeepFill v2 lite (CPU-trained, 86,856 samples)"
    with (
        safe_open(str(candidate / EMA_FILE), framework="pt") as a,
        safe_open(str(shipped), framework="pt") as b,
    ):
        assert set(a.keys()) == set(b.keys())
        assert all(a.get_tensor(k).equal(b.get_tensor(k)) for k in a.keys())  # noqa: SIM118
        figures = json.loads((b.metadata() or {})["bench_quality"])
    assert set(figures) == {"10-20%", "30-40%", "50-60%"}
    assert all("deepfill-raw" not in row and "patchmatch" in row for row in figures.values())
    # the picker reads the figures from the file itself
    assert read_weights_info(shipped).quality.source == "the file's metadata"
    assert ship_module.shipped_mean(manifest) == pytest.approx(report.mean, abs=0.01)

    # 3. a winner over the baselines, but weaker than what ships: the shipped file stays
    inodes = (shipped.stat().st_ino, manifest.stat().st_ino)  # an atomic rewrite would bring new ones
    monkeypatch.setattr(ship_module, "shipped_mean", lambda _manifest: report.mean + 1.0)
    weaker = ship(candidate, manifest, **run)  # type: ignore[arg-type]
    assert weaker.shipped is None and (shipped.stat().st_ino, manifest.stat().st_ino) == inodes
    assert "below the shipped weights'" in "\n".join(weaker.lines())
