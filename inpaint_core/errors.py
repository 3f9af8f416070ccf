"""Exceptions the core raises. Each message is one line a user can act on; the CLI and the editor show it as is."""

from __future__ import annotations


class InpaintError(Exception):
    """Base class: anything the user can fix or should be told about, never a bug."""


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
