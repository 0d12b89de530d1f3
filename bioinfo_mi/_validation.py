"""Input validation shared by every estimator.

All public estimators pass their inputs through :func:`check_array` /
:func:`check_pair`, so that every method fails the same way on bad input: a
``ValueError`` / ``TypeError`` naming the argument and what was expected. Inputs
are always copied (never modified in place).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    import torch

__all__ = [
    "EstimateWarning",
    "check_array",
    "check_pair",
    "check_random_state",
    "check_positive_int",
    "check_real",
    "check_device",
    "check_options",
    "seed_from",
    "spawn_generator",
    "to_base",
    "warn_estimate",
]


class EstimateWarning(UserWarning):
    """An estimate that should not be trusted as it stands; the message gives the reason and the fix.

    ``kind`` names the diagnostic (e.g. ``"no-cross-prediction"``, ``"few-samples"``), so that the
    repeated-fit tools can count how many fits raised it and warn once. Filter these with
    ``warnings.filterwarnings("ignore", category=bioinfo_mi.EstimateWarning)``.
    """

    def __init__(self, message: str, kind: str = "estimate") -> None:
        super().__init__(message)
        self.kind = kind


def warn_estimate(message: str, kind: str) -> None:
    """Warn with an :class:`EstimateWarning` of ``kind`` pointing at the first caller outside the package (the
    user's line, whichever public function of the package it called).

    Parameters
    ----------
    message
        What is missing and what to do about it.
    kind
        The diagnostic's name (:attr:`EstimateWarning.kind`).
    """
    package = str(Path(__file__).resolve().parent)
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(EstimateWarning(message, kind), stacklevel=level)


def check_array(x: Any, *, name: str = "x") -> np.ndarray:
    """Convert ``x`` to a finite, 2-D float64 numpy array (a copy).

    Parameters
    ----------
    x
        numpy array, pandas DataFrame/Series, scipy sparse matrix, a lazy array (backed AnnData,
        ``h5py``, Dask: read whole), or anything ``np.asarray`` accepts. 1-D input is treated as
        one column.
    name
        Argument name used in error messages.

    Returns
    -------
    A new ``(n_samples, n_features)`` float64 array.

    Raises
    ------
    TypeError
        For non-numeric data (strings, objects, booleans are accepted as 0/1).
    ValueError
        For NaN/inf, empty input, or more than two dimensions.
    """
    if x is None:
        raise TypeError(f"{name} must be an array-like of numbers, got None")
    if hasattr(x, "to_memory") and not sp.issparse(x):  # a backed AnnData's sparse X: read it whole
        x = x.to_memory()
    elif hasattr(x, "compute") and hasattr(x, "chunks"):  # a Dask array
        x = x.compute()
    if sp.issparse(x):
        x = x.toarray()
    elif isinstance(x, (pd.DataFrame, pd.Series)):
        non_numeric = [
            str(c)
            for c, dt in (x.dtypes.items() if isinstance(x, pd.DataFrame) else [(x.name, x.dtype)])
            if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))
        ]
        if non_numeric:
            raise TypeError(f"{name} has non-numeric columns {non_numeric[:5]}; encode or drop them first")
        x = x.to_numpy()
    try:
        arr = np.array(x, copy=True)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to a numeric array: {err}") from err
    check_dtype(arr.dtype, name)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples x features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    check_finite(arr, name)
    return arr


def check_dtype(dtype: Any, name: str) -> np.dtype:
    """Return the float dtype that values of ``dtype`` are computed in: float32 stays float32, other
    numbers (and booleans, as 0/1) become float64; ``TypeError`` naming ``name`` for anything else.
    """
    dtype = np.dtype(dtype)
    if dtype == np.dtype(bool):
        return np.dtype(np.float64)
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {dtype}")
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def check_finite(values: np.ndarray, name: str) -> None:
    """``ValueError`` naming ``name`` when ``values`` hold NaN or infinite entries."""
    if values.size and not np.isfinite(values).all():
        n_bad = int((~np.isfinite(values)).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite values; remove or impute them first")


def _align(x: Any, y: Any) -> Any:
    """``y`` with its rows in the order of ``x``'s index when both are pandas objects (pandas pairs rows
    by label, not position); a ``ValueError`` when their labels differ or are ambiguous.
    """
    if not (isinstance(x, (pd.DataFrame, pd.Series)) and isinstance(y, (pd.DataFrame, pd.Series))):
        return y
    if x.index.equals(y.index):
        return y
    if not (x.index.is_unique and y.index.is_unique):
        raise ValueError(
            "x and y are pandas objects whose indices differ and are not unique, so their rows "
            "cannot be paired by label; pass them with identical indices (or as arrays, paired "
            "by position)"
        )
    missing_y, missing_x = x.index.difference(y.index), y.index.difference(x.index)
    if len(missing_y) or len(missing_x):
        example = list(missing_y[:3]) or list(missing_x[:3])
        raise ValueError(
            f"x and y are pandas objects paired by index, but {len(missing_y)} label(s) of x are not in y's "
            f"index and {len(missing_x)} of y are not in x's (e.g. {[str(v) for v in example]}); select the "
            "shared rows first (e.g. y.loc[x.index]), or pass arrays to pair rows by position"
        )
    return y.loc[x.index]


def check_pair(x: Any, y: Any, *, min_samples: int = 2, method: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validate a paired sample: both arrays via :func:`check_array`, equal length, enough rows.

    Two pandas objects are paired by index, as pandas does: ``y``'s rows are put in the order of
    ``x``'s index (results follow ``x``'s order); indices with different labels raise ``ValueError``.
    """
    y = _align(x, y)
    xa = check_array(x, name="x")
    ya = check_array(y, name="y")
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(f"x and y must have the same number of samples (rows), got {xa.shape[0]} and {ya.shape[0]}")
    if xa.shape[0] < min_samples:
        what = f"method {method!r}" if method else "this estimator"
        raise ValueError(f"{what} needs at least {min_samples} samples, got {xa.shape[0]}")
    return xa, ya


def check_options(options: dict[str, Any], valid: set[str], *, where: str) -> None:
    """Raise ``TypeError`` for a keyword in ``options`` that is not in ``valid``, suggesting the closest name.

    Parameters
    ----------
    options
        Keyword arguments as passed.
    valid
        Names accepted.
    where
        What takes them, for the message (e.g. ``"method='auto'"``).
    """
    import difflib

    for name in options:
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{where} got an unexpected option {name!r}{hint} Valid options: {sorted(valid)}")


def check_positive_int(value: Any, *, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int, raising ``ValueError`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


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
    if not np.isfinite(out):
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


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int, or a Generator into a ``numpy.random.Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}")


def spawn_generator(rng: np.random.Generator) -> np.random.Generator:
    """Spawn an independent child generator of ``rng`` without drawing from ``rng``'s stream."""
    if hasattr(rng, "spawn"):  # numpy >= 1.25
        return rng.spawn(1)[0]
    seed_seq = rng.bit_generator._seed_seq  # what Generator.spawn uses
    return np.random.default_rng(seed_seq.spawn(1)[0])


def seed_from(rng: np.random.Generator) -> int:
    """Draw a 63-bit integer seed from ``rng`` (for torch generators and sub-streams)."""
    return int(rng.integers(0, 2**63 - 1))


def to_base(value_nats: Any, base: float | str) -> Any:
    """Convert nats to ``base`` ("bits" / 2, "nats" / e, or any positive number)."""
    return value_nats / np.log(_base_value(base))


def _base_value(base: float | str) -> float:
    if isinstance(base, str):
        lookup = {"bits": 2.0, "bit": 2.0, "nats": float(np.e), "nat": float(np.e)}
        if base not in lookup:
            raise ValueError(f"base must be 'bits', 'nats' or a number > 1, got {base!r}")
        return lookup[base]
    if not np.isscalar(base) or base <= 1:
        raise ValueError(f"base must be 'bits', 'nats' or a number > 1, got {base!r}")
    return float(base)


def check_device(device: Any) -> torch.device:
    """Torch device to compute on: ``None`` picks CUDA when available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be None, a device string or a torch.device, got {device!r}") from err
