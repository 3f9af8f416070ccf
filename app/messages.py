"""Core errors in the editor's language: the core says what is wrong and, where the user can fix it, carries a
`Remedy` code; this module words that advice with the editor's controls ("choose CPU as the device in the Fill
panel"), as `inpaint_core/cli/advice.py` does with the command line's options."""

from __future__ import annotations

from inpaint_core.errors import Remedy

GUI_ADVICE: dict[Remedy, str] = {
    Remedy.USE_CPU: "choose CPU or Auto as the device in the Fill panel",
    Remedy.OTHER_PRECISION: "the editor runs in full precision on this GPU",
    Remedy.FULL_PRECISION: "the editor runs in full precision on this device",
    Remedy.OTHER_ENGINE_OR_WEIGHTS: "choose Auto or another engine, or load a weights file, in the Fill panel's "
    "model list",
    Remedy.CONVERT_WEIGHTS: "load the published checkpoint (snap-0.index or .pth) with Load… in the Fill panel: "
    "it is converted on the spot",
    Remedy.OVERWRITE: "choose another name",
    Remedy.OTHER_DETECTOR: "choose Auto or Classical as the detector in the Restore panel",
}


def gui_text(error: BaseException | str) -> str:
    """The one-line message of ``error`` with the editor's advice for its remedy, if it has one (a string is
    already worded and comes back as it is)."""
    if isinstance(error, str):
        return error.strip()
    text = (str(error) or type(error).__name__).strip()
    remedy = getattr(error, "remedy", None)
    advice = GUI_ADVICE.get(remedy) if isinstance(remedy, Remedy) else None
    return f"{text}; {advice}" if advice else text
