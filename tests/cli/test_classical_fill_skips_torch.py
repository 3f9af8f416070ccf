"""A classical, PatchMatch or auto fill from the CLI never imports torch (about 2-3 s of a CLI run's start;
issue #14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.photos import box_mask, synthetic_photo

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import sys
from inpaint_core.cli import main
code = main(sys.argv[1:])
print("torch loaded" if "torch" in sys.modules else "no torch", code)
"""


@pytest.mark.parametrize("engine", ["telea", "patchmatch", "auto"])
def test_cli_fill_without_a_network_does_not_import_torch(tmp_path: Path, engine: str) -> None:
    Image.fromarray(synthetic_photo(40, 50)).save(tmp_path / "p.png")
    Image.fromarray((box_mask(40, 50, 10, 10, 20, 30) * 255).astype(np.uint8)).save(tmp_path / "m.png")
    argv = [
        "inpaint",
        str(tmp_path / "p.png"),
        "--mask",
        str(tmp_path / "m.png"),
        "-o",
        str(tmp_path / "o.png"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv, "--engine", engine],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "no torch 0", done.stdout + done.stderr
    assert (tmp_path / "o.png").exists()
