"""Fixtures shared by every test folder: small synthetic photos and masks, a random-weights generator file, no
shipped weights. Qt-free: the editor's Qt fixtures live in tests/app/conftest.py.

Everything is generated here with fixed seeds; only tests marked shared_data read ../shared (and skip without it).

`DEEPFILL_NO_QT=1 python -m pytest -p no:pytest-qt tests/core tests/train tests/cli` runs the core's tests as if
PySide6, qtpy and qtawesome were not installed (napari's headless job): any Qt import fails the run.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.helpers.photos import box_mask, synthetic_photo

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # photos, masks and the reference release; never committed
QT_PACKAGES = ("PySide6", "shiboken6", "qtpy", "qtawesome", "pytestqt")


class _RefuseQt(importlib.abc.MetaPathFinder):
    """Makes `import PySide6` (and qtpy, qtawesome) fail as if the package were not installed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname.split(".")[0] in QT_PACKAGES:
            raise ModuleNotFoundError(f"No module named {fullname!r} (DEEPFILL_NO_QT is set)", name=fullname)


if os.environ.get("DEEPFILL_NO_QT"):
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in QT_PACKAGES)
    if loaded:  # e.g. pytest-qt was not disabled with -p no:pytest-qt: the check would prove nothing
        raise RuntimeError(f"DEEPFILL_NO_QT is set but Qt is already imported: {', '.join(loaded[:3])}")
    sys.meta_path.insert(0, _RefuseQt())

# A narrow generator keeps the engine tests fast; the architecture is the same as with cnum=48.
TEST_CNUM = 8


@pytest.fixture
def make_photo() -> Callable[..., np.ndarray]:
    """`make_photo(h, w, channels=3, dtype=np.uint8, seed=0)` -> a synthetic photo."""
    return synthetic_photo


@pytest.fixture
def photo() -> np.ndarray:
    """A 48x64 RGB uint8 synthetic photo."""
    return synthetic_photo(48, 64)


@pytest.fixture
def hole() -> np.ndarray:
    """A 48x64 mask with a 12x14 hole in the middle."""
    return box_mask(48, 64, 18, 24, 30, 38)


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A safetensors file with a seeded, untrained generator (cnum=TEST_CNUM), written by save_generator."""
    import torch

    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
    from inpaint_core.weights import save_generator

    torch.manual_seed(0)
    model = DeepFillV2Generator(GeneratorConfig(cnum=TEST_CNUM))
    path = tmp_path_factory.mktemp("weights") / "random.safetensors"
    save_generator(model, path, dtype=torch.float32)
    return path


@pytest.fixture
def no_shipped_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the weights manifest at a file that does not exist, as in a checkout before weights ship."""
    import inpaint_core.manifest as manifest

    missing = tmp_path / "no-weights" / "manifest.json"
    monkeypatch.setattr(manifest, "MANIFEST", missing)
    return missing


# The random-init detector's logits sit near -3.5 (the head's bias): at this threshold it proposes a few percent
# of a photo, so a test can tell its masks from the classical detector's.
RANDOM_DETECTOR_THRESHOLD = -3.3


@pytest.fixture(scope="session")
def random_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, untrained scratch detector file (restore/detector.py's format), as `save_detector` writes it."""
    import torch

    from inpaint_core.restore.detector import save_detector
    from inpaint_core.restore.scratch_net import ScratchNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("detector") / "scratch_detector.safetensors"
    return save_detector(ScratchNet(), path, threshold=RANDOM_DETECTOR_THRESHOLD)


@pytest.fixture
def shipped_detector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, random_detector: Path) -> Path:
    """A weights folder whose manifest names `random_detector` as the shipped scratch detector (no DeepFill
    weights), so "auto" means the learned detector. Returns the detector file."""
    import json
    import shutil

    import inpaint_core.manifest as manifest
    from inpaint_core.files import sha256_file

    folder = tmp_path / "shipped-weights"
    folder.mkdir()
    target = folder / random_detector.name
    shutil.copyfile(random_detector, target)
    entry = {"file": target.name, "sha256": sha256_file(target)}
    (folder / "manifest.json").write_text(json.dumps({"default": None, "scratch_detector": entry}))
    monkeypatch.setattr(manifest, "MANIFEST", folder / "manifest.json")
    return target


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Path:
    """A folder the OS refuses to create files in: chmod 0555, or /proc where root ignores the mode bits."""
    if os.name == "posix" and os.geteuid() == 0:
        if not Path("/proc/self").is_dir():
            pytest.skip("root ignores file modes and there is no /proc")
        return Path("/proc")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        pytest.skip("this system lets us write into a 0555 folder")
    return folder


def strong_random_model(config: Any, seed: int = 0) -> Any:
    """Random weights scaled so the output depends strongly on the input colours (PyTorch's default init
    attenuates the signal over 17 layers until the output hardly depends on the input, which would let a
    wrong input-channel permutation pass the equivalence test). Biases are non-zero so their flips matter.
    """
    import torch

    from inpaint_core.model import DeepFillV2Generator

    torch.manual_seed(seed)
    model = DeepFillV2Generator(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.ndim == 4 else 1
            p.normal_(0.0, 2.0 / fan_in**0.5 if p.ndim == 4 else 0.1)
    return model
