"""Exceptions the core raises. Each message is one line that says what is wrong; where the user can fix it, the
error also carries a `Remedy` code, and each front end words that advice in its own terms (the CLI names its
options in `cli/advice.py`, the editor its controls in `app/messages.py`). Library messages name no CLI flags.
"""

from __future__ import annotations

from enum import StrEnum


class Remedy(StrEnum):
    """What the user can do about an error, independent of how a front end asks for it."""

    USE_CPU = "use-cpu"  # the device asked for is not available here
    OTHER_PRECISION = "other-precision"  # this GPU cannot run the precision (fp16 or fp32 can)
    FULL_PRECISION = "full-precision"  # the device cannot run a reduced precision
    OTHER_ENGINE_OR_WEIGHTS = (
        "other-engine-or-weights"  # DeepFill needs weights: give some or pick another engine
    )
    CONVERT_WEIGHTS = "convert-weights"  # a published checkpoint: convert it first
    OVERWRITE = "overwrite"  # the output exists: allow replacing it, or choose another name
    OTHER_DETECTOR = (
        "other-detector"  # the learned scratch detector's weights are missing: use the classical one
    )
    # training's (inpaint_core.train), which runs from the command line only: see TRAINING_REMEDIES
    TRAINING_DATA = "training-data"  # no photos to train on: name photo folders or a pack
    RESUME_OR_NEW_RUN = "resume-or-new-run"  # the run folder holds a run: continue it, or use another folder
    WARM_OR_RESUME = "warm-or-resume"  # a warm start makes a new run: it cannot also resume one
    MORE_STEPS = "more-steps"  # the run has reached its last step: give it more to train on


# The remedies only training raises. Training has no editor front end, so only the CLI words them.
TRAINING_REMEDIES = frozenset(
    {Remedy.TRAINING_DATA, Remedy.RESUME_OR_NEW_RUN, Remedy.WARM_OR_RESUME, Remedy.MORE_STEPS}
)


class InpaintError(Exception):
    """Base class: anything the user can fix or should be told about, never a bug. `remedy`, when given, is
    the advice a front end adds to the message (`Remedy`)."""

    def __init__(self, *args: object, remedy: Remedy | None = None) -> None:
        super().__init__(*args)
        self.remedy = remedy


class ImageLoadError(InpaintError):
    """An image file is missing, unreadable, corrupt, or too large to decode safely."""


class MaskError(InpaintError):
    """A mask (or guide / forbidden-source mask) is unreadable or does not match the image."""


class WeightsError(InpaintError):
    """Weights are missing, tampered with, or do not fit the model (keys or shapes)."""


class WeightsMissingError(WeightsError):
    """No weights file exists where one is needed."""


class DeviceError(InpaintError):
    """The requested device is unavailable, or it ran out of memory."""


class CancelledError(InpaintError):
    """The caller cancelled the run between two stages."""


class OutputExistsError(InpaintError, FileExistsError):
    """The output path exists and overwriting was not asked for."""


class OutOfMemoryError(InpaintError, MemoryError):
    """The computer ran out of memory (RAM, not a GPU's) for this image."""


class EngineUnavailableError(InpaintError):
    """An engine's library is not installed or does not load on this machine (PatchMatch's native code)."""
