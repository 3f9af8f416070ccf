"""The command line's wording of a core error's remedy (`errors.Remedy`): the core's messages name no options,
so the CLI adds its own ("use --device cpu"), as the editor adds its controls (app/messages.py)."""

from __future__ import annotations

from inpaint_core.errors import Remedy

CLI_ADVICE: dict[Remedy, str] = {
    Remedy.USE_CPU: "use --device cpu",
    Remedy.OTHER_PRECISION: "use --precision fp16 or fp32",
    Remedy.FULL_PRECISION: "use --precision fp32",
    Remedy.OTHER_ENGINE_OR_WEIGHTS: "use --engine auto or pass --weights FILE",
    Remedy.CONVERT_WEIGHTS: "convert a published checkpoint with: python main.py convert-weights CHECKPOINT -o "
    "OUT.safetensors",
    Remedy.OVERWRITE: "pass --force to replace it",
    Remedy.OTHER_DETECTOR: "use --method classical or auto (with inpaint: --scratch-method), or give a "
    "detector weights file with --weights (detect-scratches, bench scratches)",
    Remedy.TRAINING_DATA: "pass --data with photo folders or a .pack file",
    Remedy.RESUME_OR_NEW_RUN: "pass --resume to continue it, or choose another --out",
    Remedy.WARM_OR_RESUME: "use --warm in a new --out, or --resume without --warm",
    Remedy.MORE_STEPS: "raise --steps above it to train on",
}


def with_advice(message: str, error: BaseException) -> str:
    """`message` (the error's line) followed by the CLI's advice for the error's remedy, if it has one."""
    remedy = getattr(error, "remedy", None)
    advice = CLI_ADVICE.get(remedy) if isinstance(remedy, Remedy) else None
    return f"{message}; {advice}" if advice else message
