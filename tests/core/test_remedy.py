"""Library errors say what is wrong and carry a remedy code; each front end words the advice (issue 22)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from inpaint_core.cli import main as cli_main
from inpaint_core.cli.advice import CLI_ADVICE, with_advice
from inpaint_core.errors import TRAINING_REMEDIES, DeviceError, InpaintError, OutputExistsError, Remedy

CORE = Path(__file__).resolve().parents[2] / "inpaint_core"
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
EXEMPT = ("cli",)  # the front end words its own advice


def _raised_strings(path: Path) -> list[tuple[int, str]]:
    """The string pieces of every `raise ...(...)` and of module-level *_MESSAGE constants in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.Raise) and node.exc is not None:
            roots.append(node.exc)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.endswith("MESSAGE") for t in node.targets
        ):
            roots.append(node.value)
        for root in roots:
            for sub in ast.walk(root):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    found.append((sub.lineno, sub.value))
    return found


def test_no_library_message_names_a_cli_flag() -> None:
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line}: {text}"
        for path in sorted(CORE.rglob("*.py"))
        if path.relative_to(CORE).parts[0] not in EXEMPT
        for line, text in _raised_strings(path)
        if FLAG.search(text) and "pip install" not in text  # pip's own options are not ours
    ]
    assert offenders == []


def test_every_remedy_has_words_in_both_front_ends() -> None:
    from app.messages import GUI_ADVICE  # the mapping only: no Qt import

    assert set(CLI_ADVICE) == set(Remedy)
    assert set(GUI_ADVICE) == set(Remedy) - TRAINING_REMEDIES  # the editor does not train
    assert not any(FLAG.search(text) for text in GUI_ADVICE.values())


def test_the_front_ends_word_the_same_remedy_their_own_way() -> None:
    from app.messages import gui_text

    error = DeviceError("CUDA was requested but no CUDA GPU is available", remedy=Remedy.USE_CPU)
    assert with_advice(str(error), error).endswith("; use --device cpu")
    assert gui_text(error).endswith("; choose CPU or Auto as the device in the Fill panel")
    plain = InpaintError("nothing to do about it")
    assert with_advice(str(plain), plain) == gui_text(plain) == "nothing to do about it"


def test_cli_adds_its_advice_to_an_existing_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np
    from PIL import Image

    photo, mask, out = tmp_path / "p.png", tmp_path / "m.png", tmp_path / "o.png"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(photo)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(mask)
    out.write_bytes(b"keep me")
    assert cli_main(["inpaint", str(photo), "--mask", str(mask), "-o", str(out), "--engine", "telea"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: ") and line.endswith("exists; pass --force to replace it"), line
    assert out.read_bytes() == b"keep me"


def test_output_exists_carries_the_overwrite_remedy(tmp_path: Path) -> None:
    import numpy as np

    from inpaint_core.image_io import save_image

    path = tmp_path / "x.png"
    path.write_bytes(b"x")
    with pytest.raises(OutputExistsError) as info:
        save_image(path, np.zeros((4, 4, 3), np.uint8))
    assert info.value.remedy is Remedy.OVERWRITE and "--" not in str(info.value)
