"""Core error lines in the editor's language: the core writes for the command line ("use --device cpu"); a message
box names the editor's controls instead ("choose CPU as the device in the Fill panel")."""

from __future__ import annotations

import re

# (pattern, replacement), applied in order. The last rules catch command-line advice no earlier rule knew.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (
            r"use --engine \w+ or pass --weights \S+",
            "choose Auto or another engine, or load a weights file, in the Fill panel's model list",
        ),
        (r"pass --weights \S+", "load a weights file in the Fill panel's model list"),
        (r"use --engine \w+", "choose Auto or another engine in the Fill panel's model list"),
        (r"use --device cpu", "choose CPU or Auto as the device in the Fill panel"),
        (r"use --precision [\w ]+", "the editor runs in full precision"),
        (
            r"\(?convert it with `?convert-weights`?\)?",
            "(load the published checkpoint with Load… in the Fill panel: it is converted on the spot)",
        ),
        (r"pass --force to (replace|overwrite) it", "choose another name"),
        (r"[;,]? *(use|pass) --[\w-]+[^;.)]*", ""),
        (r"--[\w-]+", "the matching setting"),
    )
)


def gui_text(error: BaseException | str) -> str:
    """The one-line message of ``error`` with command-line advice replaced by the editor's controls."""
    text = str(error) or type(error).__name__
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()
