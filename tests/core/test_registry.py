"""The shared names and limits have one home (inpaint_core/registry.py) that every front end reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core import registry
from inpaint_core.api import ENGINE_INFO, ENGINES, JPEG_QUALITY, MAX_SIDE, InpaintRequest, InpaintResult
from inpaint_core.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_registry_imports_without_torch_or_numpy() -> None:
    code = "import sys, inpaint_core.registry; assert not {'torch', 'numpy'} & set(sys.modules), sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_engine_has_one_entry_with_distinct_words() -> None:
    assert tuple(ENGINE_INFO) == ENGINES
    assert len({e.label for e in ENGINE_INFO.values()}) == len(ENGINES)
    assert len({e.short for e in ENGINE_INFO.values()}) == len(ENGINES)
    assert [n for n, e in ENGINE_INFO.items() if e.needs_weights] == [registry.DEEPFILL]
    assert ENGINE_INFO[registry.DEEPFILL].input_multiple == registry.MODEL_MULTIPLE
    assert registry.engine_label("from-a-later-version") == "from-a-later-version"


def _choices(argv: list[str], dest: str) -> object:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    inpaint = sub.choices[argv[0]]  # type: ignore[index]
    return next(a for a in inpaint._actions if a.dest == dest)


def test_cli_reads_the_registry() -> None:
    assert tuple(_choices(["inpaint"], "engine").choices) == ENGINES  # type: ignore[attr-defined]
    assert tuple(_choices(["inpaint"], "device").choices) == registry.DEVICES  # type: ignore[attr-defined]
    assert tuple(_choices(["inpaint"], "precision").choices) == registry.PRECISIONS  # type: ignore[attr-defined]
    assert _choices(["inpaint"], "max_side").default == MAX_SIDE.default  # type: ignore[attr-defined]
    parser = build_parser()
    base = ["inpaint", "x.png", "--mask", "m.png", "-o", "o.png", "--max-side"]
    assert parser.parse_args([*base, str(MAX_SIDE.hi)]).max_side == MAX_SIDE.hi
    from inpaint_core.cli import UsageError

    with pytest.raises(UsageError):
        parser.parse_args([*base, str(MAX_SIDE.hi + 1)])


def test_request_and_saving_defaults_come_from_the_registry() -> None:
    import inspect

    from inpaint_core.image_io import save_image

    request = InpaintRequest(image=np.zeros((4, 4, 3), np.uint8), mask=np.zeros((4, 4), bool))
    assert request.max_side == MAX_SIDE.default
    assert request.edge_blend == registry.EDGE_BLEND.default
    assert request.patch_radius == registry.PATCH_RADIUS_SETTING.default
    assert inspect.signature(save_image).parameters["quality"].default == JPEG_QUALITY.default


def test_provenance_names_engines_by_their_label() -> None:
    from inpaint_core.restore.provenance import record_fill

    mask = np.zeros((8, 8), bool)
    mask[2:4, 2:4] = True
    request = InpaintRequest(image=np.zeros((8, 8, 3), np.uint8), mask=mask, engine=registry.NS)
    fill = record_fill(request, InpaintResult(image=request.image, coarse=None, attention=None))
    from inpaint_core.restore.provenance import fill_entry

    assert fill_entry(fill, 0)["engine_name"] == ENGINE_INFO[registry.NS].label


def test_bench_picks_precisions_by_the_engines_bf16_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from inpaint_core.bench import speed

    for native in (True, False):
        monkeypatch.setattr(speed, "cpu_has_native_bf16", lambda native=native: native)
        assert ("bf16" in speed.matmul_precisions(torch.device("cpu"))) is native


def test_one_mask_file_rule_for_engine_bench_and_training(tmp_path: Path) -> None:
    from inpaint_core.bench.quality import load_eval_mask
    from inpaint_core.hole_masks import read_mask
    from inpaint_core.image_io import load_mask

    grey = np.zeros((16, 16), np.uint8)
    grey[:, 4:8] = 40  # faint: a hole by the engine's rule (not black), not by the old "> 127"
    grey[:, 8:12] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(grey).save(path)
    engine = load_mask(path)
    assert engine[:, 4:12].all() and not engine[:, :4].any() and not engine[:, 12:].any()
    np.testing.assert_array_equal(read_mask(path) > 0, engine)
    np.testing.assert_array_equal(load_eval_mask(path, 16), engine)


def test_pyinstaller_hidden_imports_are_generated_from_commands() -> None:
    spec = (ROOT / "packaging" / "deepfill_studio.spec").read_text(encoding="utf-8")
    assert "*COMMANDS.values()" in spec
    assert '"inpaint_core.cli.' not in spec  # no hand-written copy beside it


def test_the_bundle_and_the_wheel_ship_every_weights_file() -> None:
    """Every file the manifest names (DeepFill's weights, the scratch detector's, their cards) lies directly in
    resources/weights/, whose files (not its training carry-set subfolders) the PyInstaller spec copies; the
    package data takes every file under resources/."""
    import json
    import tomllib

    weights = ROOT / "resources" / "weights"
    manifest = json.loads((weights / "manifest.json").read_text(encoding="utf-8"))
    named = [entry[key] for entry in manifest.values() for key in ("file", "card") if key in entry]
    assert named and all((weights / name).is_file() and "/" not in name for name in named)
    spec = (ROOT / "packaging" / "deepfill_studio.spec").read_text(encoding="utf-8")
    assert 'sorted((ROOT / "resources" / "weights").iterdir()) if f.is_file()]' in spec
    assert "safetensors" not in spec.split("OTHER_EXCLUDES = ", 1)[1].split("\n", 1)[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["setuptools"]["package-data"]["resources"] == ["**/*"]
