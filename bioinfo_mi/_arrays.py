"""Array-level helpers shared by ``datasets`` and ``pp`` (which must not import each other)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_array

__all__ = ["normalize_embeddings"]


def normalize_embeddings(
    values: Any,
    *,
    mean: Any = None,
    std: Any = None,
    clip: float | None = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-variance normalisation per dimension, then clipping (LMI paper, Appendix A.4.1).

    ``(values - mean) / std``, clipped to ``[-clip, clip]``. Without ``mean`` / ``std`` the
    statistics are those of ``values`` itself (one row per protein, each protein once); pass the
    statistics of a training set to normalise held-out proteins without leakage.

    Parameters
    ----------
    values
        ``(n_proteins, dim)`` array-like (array, DataFrame, ...) of finite numbers.
    mean, std
        Per-dimension statistics (length ``dim``) to use instead of those of ``values``; give both
        or neither. ``std`` must be positive.
    clip
        Clip the normalised values at ``±clip`` (paper: 10); ``None`` does not clip.

    Returns
    -------
    ``(normalized, mean, std)``: the normalised values as a float32 ``(n_proteins, dim)`` array,
    and the float64 statistics used. Computed statistics use ``ddof=1``, as :func:`scanpy.pp.scale`
    (the paper's preprocessing); a dimension with zero variance (or a single protein) gets
    ``std = 1``, so it is centred but not scaled.

    Raises
    ------
    ValueError
        On non-finite or empty ``values``, only one of ``mean`` / ``std`` given, statistics of the
        wrong length, a non-positive ``std``, or ``clip <= 0``.
    """
    data = check_array(values, name="values")
    if clip is not None and not (np.isscalar(clip) and float(clip) > 0):
        raise ValueError(f"clip must be a positive number or None, got {clip!r}")
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (statistics of a training set) or neither")
    if mean is None:
        mean = data.mean(axis=0)
        std = data.std(axis=0, ddof=1) if data.shape[0] > 1 else np.zeros(data.shape[1])
        std[~(std > 0)] = 1.0
    else:
        mean = np.asarray(mean, dtype=np.float64).ravel()
        std = np.asarray(std, dtype=np.float64).ravel()
        for name, stat in (("mean", mean), ("std", std)):
            if stat.shape != (data.shape[1],):
                raise ValueError(f"{name} must have one value per dimension ({data.shape[1]}), got {stat.shape[0]}")
            if not np.isfinite(stat).all():
                raise ValueError(f"{name} contains NaN or infinite values")
        if not (std > 0).all():
            raise ValueError("std must be positive in every dimension")
    data -= mean
    data /= std
    if clip is not None:
        np.clip(data, -clip, clip, out=data)
    return data.astype(np.float32), mean, std
