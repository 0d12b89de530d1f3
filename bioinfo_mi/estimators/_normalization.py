"""Normalisations of the scale-invariance paper (Section 4.1, Definitions 1-3) and the
normalised KSG variants of its Table 1.

- local: every column divided by its standard deviation (Definition 1);
- global: the whole variable divided by ``sqrt(E ||X - E X||_2^2)`` (Definition 2);
- global-linf: divided by ``E ||X - E X||_inf`` (Definition 3).

All three also centre the data (a translation leaves MI unchanged and keeps the networks of the
MINE variants well conditioned). Statistics are taken over the sample itself, so every variant
is invariant to one-sided rescaling ``I(X; a T)`` (Propositions 2-3 and Section 4.2).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.special import digamma

from .._docs import shared_docs
from .._validation import check_pair, check_positive_int, check_random_state, to_base
from ._knn import _check_not_constant, _NeighbourIndex, _warn_duplicates, add_jitter
from ._result import MIResult

__all__ = ["normalize", "ksg_local", "ksg_global", "ksg_global_linf", "DEFAULT_SCALES"]

Normalization = Literal["local", "global", "global-linf"]

#: the scale grid of KSG-Global / KSG-Global-L-inf: c in {0.1, 0.2, ..., 2.0}
DEFAULT_SCALES = np.round(np.arange(1, 21) / 10, 1)


def normalize(x: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Centre ``x`` and rescale it by the normalisation ``normalization`` (Definitions 1-3).

    Parameters
    ----------
    x
        ``(n, d)`` float array; not modified. Must not be constant.
    normalization
        ``"local"``, ``"global"`` or ``"global-linf"``.

    Returns
    -------
    The normalised copy. For ``"local"``, constant columns are left at 0 (they carry no
    information and must not become NaN).
    """
    centred = x - x.mean(axis=0)
    if normalization == "local":
        sd = centred.std(axis=0)
        return centred / np.where(sd > 0, sd, 1.0)
    if normalization == "global":
        scale = np.sqrt((centred**2).sum(axis=1).mean())
    elif normalization == "global-linf":
        scale = np.abs(centred).max(axis=1).mean()
    else:
        raise ValueError(f"normalization must be 'local', 'global' or 'global-linf', got {normalization!r}")
    if scale == 0:
        raise ValueError("cannot normalise a constant variable")
    return centred / scale


def _normalized_ksg(
    x: Any,
    y: Any,
    *,
    normalization: Normalization,
    scales: np.ndarray | None,
    k: int,
    base: str | float,
    random_state: int | np.random.Generator | None,
    jitter: float,
    workers: int,
    method: str,
) -> MIResult:
    k = check_positive_int(k, name="k")
    xa, ya = check_pair(x, y, min_samples=k + 2, method=method)
    _check_not_constant(xa, "x")
    _check_not_constant(ya, "y")
    _warn_duplicates(xa, ya)
    rng = check_random_state(random_state)
    xn = add_jitter(normalize(xa, normalization), rng, jitter)
    yn = add_jitter(normalize(ya, normalization), rng, jitter)
    n = len(xn)
    grid = np.array([1.0]) if scales is None else np.asarray(scales, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or not (grid > 0).all():
        raise ValueError(f"scales must be a non-empty 1-D array of positive numbers, got {scales!r}")
    # every scale at once: in high dimension the marginal distances are computed once for all scales
    nx, ny = _NeighbourIndex(xn, yn, workers).scaled_self_counts(k, grid)
    per_scale = list(to_base(digamma(k) + digamma(n) - digamma(nx + 1) - digamma(ny + 1), base))
    means = np.array([p.mean() for p in per_scale])
    best = int(np.argmax(means))
    extra: dict[str, Any] = {}
    if scales is not None:
        extra = {"scale": float(grid[best]), "scales": grid.tolist(), "mi_per_scale": means.tolist()}
    return MIResult(
        mi=float(means[best]),
        pmi=per_scale[best],
        method=method,
        base=base,
        n_samples=n,
        params={"k": k, "jitter": jitter, "normalization": normalization},
        extra=extra,
    )


@shared_docs
def ksg_local(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG-Local (scale-invariance paper, Table 1): KSG on locally normalised X and T.

    Parameters
    ----------
    {ksg}

    Returns
    -------
    :class:`MIResult` with method ``"ksg-local"``.
    """
    return _normalized_ksg(
        x,
        y,
        normalization="local",
        scales=None,
        k=k,
        base=base,
        random_state=random_state,
        jitter=jitter,
        workers=workers,
        method="ksg-local",
    )


@shared_docs
def ksg_global(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    scales: np.ndarray | None = DEFAULT_SCALES,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG-Global (Table 1): ``max_c I_KSG(X_Sigma; c T_Sigma)`` with L2 global normalisation and
    ``c`` in ``scales`` (default 0.1, 0.2, ..., 2.0; Section 5.2 motivates the maximum).

    Parameters
    ----------
    {ksg}
    {ksg_scales}

    Returns
    -------
    :class:`MIResult` with method ``"ksg-global"``; ``extra`` holds the chosen ``scale`` and
    ``mi_per_scale``.
    """
    return _normalized_ksg(
        x,
        y,
        normalization="global",
        scales=scales,
        k=k,
        base=base,
        random_state=random_state,
        jitter=jitter,
        workers=workers,
        method="ksg-global",
    )


@shared_docs
def ksg_global_linf(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    scales: np.ndarray | None = DEFAULT_SCALES,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG-Global-L-inf (Table 1): ``max_c I_KSG(X_Sigma_inf; c T_Sigma_inf)`` with the L-inf
    global normalisation (Definition 3, Section 5.3) and ``c`` in ``scales``.

    Parameters
    ----------
    {ksg}
    {ksg_scales}

    Returns
    -------
    :class:`MIResult` with method ``"ksg-global-linf"``; ``extra`` holds the chosen ``scale`` and
    ``mi_per_scale``.
    """
    return _normalized_ksg(
        x,
        y,
        normalization="global-linf",
        scales=scales,
        k=k,
        base=base,
        random_state=random_state,
        jitter=jitter,
        workers=workers,
        method="ksg-global-linf",
    )
