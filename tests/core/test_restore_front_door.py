"""The restore modules the editor imports (pyproject's front-door contract) load and run without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from inpaint_core.files import sha256_file
from tests.conftest import REPO

# What the editor calls: scratch analysis (through the detector front door: which detector, its analysis), the tone fit, a DeepFill fill's record (the weights are identified by
# name and SHA-256), the heat map of its attention, and the embedded note.
SCRIPT = """
import sys
import numpy as np
from inpaint_core.api import InpaintRequest, InpaintResult
from inpaint_core.restore.detector import METHODS, analyse_damage, detect_damage, resolve_method
from inpaint_core.restore.provenance import embedded_note, record_fill
from inpaint_core.restore.reuse import reuse_legend, reuse_rgba
from inpaint_core.restore.scratches import analyse_scratches
from inpaint_core.restore.tone import fit_tone

image = np.full((40, 50, 3), 120, np.uint8)
image[..., 0] += 20
mask = np.zeros((40, 50), np.uint8)
mask[10:20, 10:30] = 1
analyse_scratches(image, 4).mask(0.5)
assert resolve_method("auto") in ("learned", "classical") and METHODS == ("auto", "learned", "classical")
assert analyse_damage(image, "classical", 4, preview_side=32).method == "classical"
detect_damage(image, 0.5, 4, "classical")
tone = fit_tone(image)
request = InpaintRequest(image=image, mask=mask, engine="deepfill", weights=sys.argv[1])
record = record_fill(request, InpaintResult(image=image, coarse=None, attention=None))
reuse_rgba(np.zeros((4, 4), np.float32)), reuse_legend()
embedded_note([record], None, image.shape)
print(tone.describe() if tone else "colour", record.model.sha256, record.pixels, "torch" in sys.modules, sep="|")
"""


def test_restore_modules_run_without_torch(random_weights: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(random_weights)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    tone, sha, pixels, torch_loaded = out.stdout.strip().split("|")
    assert tone == "warm-toned (sepia)" and sha == sha256_file(random_weights) and pixels == "200"
    assert torch_loaded == "False"
