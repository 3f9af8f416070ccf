"""Argument types for number options: a value that is not a finite number inside its range is refused by the
parser, with one line, before any work starts (a NaN blend width once filled every hole black)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}"
    return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"


def finite_float(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """An argparse `type`: a finite float in [lo, hi] (either bound may be None)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be {_range_text(lo, hi)}, got {text}")
        return value

    parse.__name__ = "number"  # argparse names the type in its messages
    return parse


def int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse `type`: an integer in [lo, hi] (either bound may be None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be {_range_text(lo, hi)}, got {text}")
        return value

    parse.__name__ = "integer"
    return parse
