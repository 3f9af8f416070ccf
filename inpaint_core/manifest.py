"""The shipped weights: `resources/weights/manifest.json` names the default file and its SHA-256.

Kept apart from `weights.py` (which needs torch) so that the editor's front door (`inpaint_core.api`) can say
which engine is the default without loading the ML stack.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from inpaint_core import RESOURCES
from inpaint_core.errors import Remedy, WeightsError, WeightsMissingError

MANIFEST = RESOURCES / "weights" / "manifest.json"
NO_WEIGHTS_MESSAGE = "DeepFill weights are not installed (resources/weights has none yet)"


def default_entry() -> dict[str, str] | None:
    """The manifest's `default` entry (`file`, `sha256` and optional `name`, `trained_on`, ...), or None when
    no weights ship.

    Raises:
        WeightsError: the manifest is malformed.
    """
    if not MANIFEST.is_file():
        return None
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        entry = manifest["default"]
        if entry is None:
            return None
        fields = {str(k): str(v) for k, v in entry.items()}
        name, sha = fields["file"], fields["sha256"].lower()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WeightsError(f"the weights manifest {MANIFEST} is malformed: {exc}") from exc
    if Path(name).name != name or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise WeightsError(f"the weights manifest {MANIFEST} has a bad file name or sha256")
    return fields | {"sha256": sha}


def default_weights() -> tuple[Path, str] | None:
    """The shipped weights `(path, sha256)` from `resources/weights/manifest.json`, or None when none ship.

    Raises:
        WeightsError: the manifest is malformed.
    """
    entry = default_entry()
    if entry is None:
        return None
    return MANIFEST.parent / entry["file"], entry["sha256"]


def resolve_weights(weights: str | Path | None) -> tuple[Path, str | None]:
    """The weights file to use and its expected SHA-256 (known only for the shipped default; None = shipped).

    Raises:
        WeightsMissingError: no file was given and none ships.
    """
    if weights is not None:
        return Path(weights), None
    shipped = default_weights()
    if shipped is None:
        raise WeightsMissingError(NO_WEIGHTS_MESSAGE, remedy=Remedy.OTHER_ENGINE_OR_WEIGHTS)
    return Path(shipped[0]), shipped[1]
