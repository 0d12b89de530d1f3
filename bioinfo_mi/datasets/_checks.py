"""Scalar argument checks shared by the dataset generators (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_real(
    value: Any,
    *,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float inside the given interval.

    Raises ``TypeError`` for non-real values and ``ValueError`` (naming ``name``) for NaN, infinity
    or values outside ``[low, high]`` (with open ends where ``*_inclusive`` is False).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    too_low = low is not None and (out < low if low_inclusive else out <= low)
    too_high = high is not None and (out > high if high_inclusive else out >= high)
    if too_low or too_high:
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        lb = "[" if (low is not None and low_inclusive) else "("
        rb = "]" if (high is not None and high_inclusive) else ")"
        raise ValueError(f"{name} must lie in {lb}{left}, {right}{rb}, got {value!r}")
    return out
