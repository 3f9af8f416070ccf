"""The front door: engine names, the default engine, the shipped-weights manifest, and no torch on import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import inpaint_core.manifest as manifest_module
from inpaint_core.api import CLASSICAL_ENGINES, ENGINE_LABELS, ENGINES, default_engine
from inpaint_core.errors import WeightsError
from inpaint_core.manifest import default_weights
from inpaint_core.weights import sha256_file


def test_engine_names_have_one_home() -> None:
    assert ENGINES == ("deepfill", "auto", "patchmatch", "telea", "ns") and CLASSICAL_ENGINES == (
        "telea",
        "ns",
    )
    assert set(ENGINE_LABELS) == set(ENGINES)


@pytest.mark.parametrize("module", ["inpaint_core.api", "inpaint_core.image_io", "inpaint_core.boxes"])
def test_front_door_loads_no_torch(module: str) -> None:
    """The editor imports these at start-up; torch (seconds, gigabytes) must wait for the engine."""
    code = f"import sys, {module}; print('torch' in sys.modules, 'PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_shipped_manifest_says_none_yet() -> None:
    manifest = json.loads(manifest_module.MANIFEST.read_text())
    if manifest["default"] is None:
        assert default_weights() is None
        assert default_engine() == "auto"
    else:
        path, sha = default_weights()  # type: ignore[misc]
        assert path.is_file() and sha256_file(path) == sha
        assert default_engine() == "deepfill"


def test_manifest_entry_and_default_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "manifest.json"
    monkeypatch.setattr(manifest_module, "MANIFEST", manifest)
    assert default_weights() is None  # no manifest at all
    assert default_engine() == "auto"
    sha = "ab" * 32
    manifest.write_text(json.dumps({"default": {"file": "g.safetensors", "sha256": sha, "source": "x"}}))
    assert default_weights() == (tmp_path / "g.safetensors", sha)
    assert default_engine() == "deepfill"
    for bad in ('{"default": {"file": "../g.safetensors", "sha256": "' + sha + '"}}', '{"default": {}}', "{"):
        manifest.write_text(bad)
        with pytest.raises(WeightsError, match="manifest"):
            default_weights()
        assert default_engine() == "auto"  # a broken manifest never stops the editor


def test_model_size_text_names_the_largest_window() -> None:
    import numpy as np

    from inpaint_core.api import InpaintResult

    blank = np.zeros((4, 4, 3), np.uint8)
    # classical engines work at full resolution: nothing to say
    assert InpaintResult(blank, None, None).model_size_text() == ""
    one = InpaintResult(blank, None, None, model_sizes=[(344, 296)])
    assert one.model_size_text() == "model at 296x344 px"
    several = InpaintResult(blank, None, None, model_sizes=[(64, 64), (512, 384), (344, 344)])
    assert several.model_size_text() == "model at up to 384x512 px"
