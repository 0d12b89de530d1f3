"""Conditional mutual information I(X; Y | Z): the k-NN estimator of Frenzel & Pompe and the stratified sum.

KSG-CMI (Frenzel & Pompe 2007; Vejmelka & Palus 2008)
    For each sample ``i``, ``eps_i`` is the max-norm distance to its ``k``-th neighbour in the joint
    space of ``(x, y, z)``; ``n_xz``, ``n_yz`` and ``n_z`` count the other samples strictly closer than
    ``eps_i`` in the spaces of ``(x, z)``, ``(y, z)`` and ``z``, and
    ``cmi_i = psi(k) - psi(n_xz + 1) - psi(n_yz + 1) + psi(n_z + 1)``; the estimate is their mean.
    The counts are exact, from the package's own neighbour kernel (the same as :func:`ksg`: the joint
    space of ``(x, y, z)`` is searched as ``((x, z), y)``, ``((y, z), x)`` and ``(z, (x, y))``, which
    share their max-norm distances, so the three searches find the same ``eps_i``). Ties are broken by
    the package's jitter (``1e-10`` of each column's SD).

Stratified (a categorical ``z``: cell type, batch, well)
    ``I(X; Y | Z) = sum_z p(z) I(X; Y | Z = z)``, exactly: each stratum's MI is estimated by ``bm.mi``
    (``within_method``) on its own samples, and the stratum estimates are averaged with the stratum
    frequencies. A stratum with fewer than ``min_stratum_samples`` samples cannot be estimated: it is
    left out, the frequencies are renormalised over the strata kept, and an
    :class:`~bioinfo_mi.EstimateWarning` (kind ``"small-strata"``) names how many samples that leaves
    out; ``extra["stratified"]`` records every stratum's size, estimate and whether it was kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma

from .._docs import shared_docs
from .._validation import (
    EstimateWarning,
    check_array,
    check_pair,
    check_positive_int,
    check_random_state,
    to_base,
)
from ._copula import copula_transform
from ._knn import _check_not_constant, _NeighbourIndex, add_jitter
from ._result import MIResult

__all__ = [
    "ksg_cmi",
    "ksg_cmi_calibrated",
    "gaussian_cmi",
    "check_strata",
    "small_strata_warning",
    "MIN_STRATUM_SAMPLES",
]

#: fewest samples of a stratum that the stratified estimate scores (below it the stratum is left out)
MIN_STRATUM_SAMPLES = 20


def _check_triple(x: Any, y: Any, z: Any, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xa, ya = check_pair(x, y, min_samples=k + 2, method="ksg")
    if z is None:
        raise TypeError("z must be an array-like of numbers (the conditioning variable), got None")
    try:
        za = check_array(z, name="z")
    except TypeError as err:
        raise TypeError(f"{err}; a categorical z (labels) is estimated by method='stratified'") from err
    if len(za) != len(xa):
        raise ValueError(f"z must have the same number of samples (rows) as x and y, got {len(za)} and {len(xa)}")
    for arr, name in ((xa, "x"), (ya, "y"), (za, "z")):
        _check_not_constant(arr, name)
    return xa, ya, za


@shared_docs
def ksg_cmi(
    x: Any,
    y: Any,
    z: Any,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """k-NN estimate of the conditional MI I(X; Y | Z) (Frenzel & Pompe 2007) with its pointwise terms.

    Parameters
    ----------
    {ksg}
    z
        The conditioning sample, ``(N, d_z)`` numbers (1-D is one column), paired row by row with ``x`` and
        ``y``.

    Returns
    -------
    :class:`MIResult` with method ``"ksg"``: ``mi`` the estimate of ``I(X; Y | Z)`` (mean of ``pmi``,
    the pointwise terms), ``params`` ``k`` and ``jitter``, ``extra["conditional"] = True``.
    """
    k = check_positive_int(k, name="k")
    if not np.isfinite(jitter) or jitter < 0:
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    xa, ya, za = _check_triple(x, y, z, k)
    rng = check_random_state(random_state)
    xa, ya, za = (add_jitter(a, rng, jitter) for a in (xa, ya, za))
    xz, yz, xy = np.hstack([xa, za]), np.hstack([ya, za]), np.hstack([xa, ya])
    n_xz, _ = _NeighbourIndex(xz, ya, workers).counts(xz, ya, k, exclude_self=True)
    n_yz, _ = _NeighbourIndex(yz, xa, workers).counts(yz, xa, k, exclude_self=True)
    n_z, _ = _NeighbourIndex(za, xy, workers).counts(za, xy, k, exclude_self=True)
    pmi = to_base(digamma(k) - digamma(n_xz + 1) - digamma(n_yz + 1) + digamma(n_z + 1), base)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg",
        base=base,
        n_samples=len(pmi),
        params={"k": k, "jitter": jitter},
        extra={"conditional": True},
    )


def gaussian_cmi(corr: np.ndarray, d_x: int, d_y: int) -> float:
    """Return the CMI in bits of a Gaussian with correlation (or covariance) matrix ``corr`` over ``(x, y, z)``:
    ``1/2 log2(det S_xz det S_yz / (det S_z det S_xyz))`` (``S_z`` of an empty ``z`` is 1).

    Parameters
    ----------
    corr
        ``(d_x + d_y + d_z)`` square matrix, the x columns first, then y, then z.
    d_x, d_y
        Dimensions of ``x`` and ``y``.

    Returns
    -------
    The conditional MI in bits.
    """
    ix, iy = np.arange(d_x), np.arange(d_x, d_x + d_y)
    iz = np.arange(d_x + d_y, len(corr))

    def logdet(idx: np.ndarray) -> float:
        return float(np.linalg.slogdet(corr[np.ix_(idx, idx)])[1]) if len(idx) else 0.0

    nats = 0.5 * (logdet(np.r_[ix, iz]) + logdet(np.r_[iy, iz]) - logdet(iz) - logdet(np.r_[ix, iy, iz]))
    return nats / np.log(2.0)


@shared_docs
def ksg_cmi_calibrated(
    x: Any,
    y: Any,
    z: Any,
    *,
    k: int = 3,
    n_twins: int = 4,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """k-NN CMI on normal scores with its bias measured on Gaussian twins and removed (as ``ksg-calibrated``
    does for MI).

    1. Every column of ``x``, ``y`` and ``z`` is replaced by its normal scores (CMI is invariant under
       invertible per-coordinate maps);
    2. :func:`ksg_cmi` on them gives ``C_KSG``;
    3. ``n_twins`` Gaussian samples of the same size with the normal scores' correlation matrix ``R`` are
       drawn; each twin's exact CMI is :func:`gaussian_cmi` of ``R``, so KSG's error on it is known;
    4. the result is ``C_KSG`` minus the twins' mean error (the pointwise values shifted by the same
       constant), capped at ``max(gaussian_cmi(R), C_KSG)``: a correction that lifts the estimate above
       both uncorrected readings is not supported by either (``extra["capped"]``).

    On Gaussian data the twins share the data's distribution up to the estimated correlations and the
    k-NN estimator's downward bias in higher dimensions is removed (``benchmarks/bench_cmi.py``).

    Parameters
    ----------
    {ksg}
    z
        The conditioning sample, ``(N, d_z)`` numbers.
    n_twins
        Gaussian twins behind the bias estimate (>= 1).

    Returns
    -------
    :class:`MIResult` with method ``"ksg-calibrated"``; ``extra``: ``raw`` (``C_KSG``), ``gaussian``
    (the normal scores' Gaussian CMI), ``twin_errors``, ``capped``, ``conditional``.
    """
    k = check_positive_int(k, name="k")
    n_twins = check_positive_int(n_twins, name="n_twins")
    if not np.isfinite(jitter) or jitter < 0:
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    xa, ya, za = _check_triple(x, y, z, k)
    width = xa.shape[1] + ya.shape[1] + za.shape[1]
    if len(xa) <= width + 2:
        raise ValueError(
            f"the Gaussian calibration needs more samples than columns: {len(xa)} samples for {width} columns of "
            "x, y and z; use method='ksg' (the uncalibrated k-NN CMI) for inputs this wide"
        )
    rng = check_random_state(random_state)
    scores = [copula_transform(a) for a in (xa, ya, za)]
    d_x, d_y = xa.shape[1], ya.shape[1]
    seeds = rng.integers(0, 2**32 - 1, size=n_twins + 1)
    raw = ksg_cmi(*scores, k=k, base="nats", random_state=int(seeds[0]), jitter=jitter, workers=workers)
    corr = np.corrcoef(np.hstack(scores), rowvar=False)
    corr = corr + 1e-10 * np.eye(len(corr))  # keeps a singular sample correlation invertible
    truth_nats = gaussian_cmi(corr, d_x, d_y) * np.log(2.0)
    chol = np.linalg.cholesky(corr)
    errors = []
    for seed in seeds[1:]:
        twin = np.random.default_rng(int(seed)).standard_normal((len(xa), len(corr))) @ chol.T
        parts = twin[:, :d_x], twin[:, d_x : d_x + d_y], twin[:, d_x + d_y :]
        errors.append(
            ksg_cmi(*parts, k=k, base="nats", random_state=int(seed), jitter=jitter, workers=workers).mi - truth_nats
        )
    shift = float(np.mean(errors))
    corrected = raw.mi - shift
    cap = max(truth_nats, raw.mi)
    capped = corrected > cap
    pmi_nats = raw.pmi - shift - (corrected - cap if capped else 0.0)
    pmi = to_base(pmi_nats, base)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg-calibrated",
        base=base,
        n_samples=len(pmi),
        params={"k": k, "n_twins": n_twins, "jitter": jitter},
        extra={
            "conditional": True,
            "raw": float(to_base(raw.mi, base)),
            "gaussian": float(to_base(truth_nats, base)),
            "twin_errors": [float(to_base(e, base)) for e in errors],
            "capped": bool(capped),
        },
    )


def check_strata(z: Any, n_samples: int) -> tuple[np.ndarray, list[Any]]:
    """Return the stratum code of each sample (``0 .. m - 1``) and the stratum labels of a categorical ``z``.

    Parameters
    ----------
    z
        One label per sample (array-like, pandas Series or Categorical; a one-column 2-D array is
        accepted). Missing labels (NaN, None) are refused.
    n_samples
        The number of samples of ``x`` and ``y``.

    Returns
    -------
    ``(codes, labels)``: ``codes[i]`` indexes ``labels``, which are sorted (categories in their order).
    """
    if z is None:
        raise TypeError("z must be one label per sample, got None")
    values = z.to_numpy() if isinstance(z, (pd.Series, pd.DataFrame)) else z
    if isinstance(values, pd.Categorical):
        series = pd.Series(values)
    else:
        arr = np.asarray(values, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"a stratified z must be one label per sample (1-D), got shape {arr.shape}")
        series = pd.Series(arr)
    if len(series) != n_samples:
        raise ValueError(f"z must have the same number of samples (rows) as x and y, got {len(series)} and {n_samples}")
    if series.isna().any():
        raise ValueError(f"z has {int(series.isna().sum())} missing labels; drop those samples or label them")
    codes, labels = pd.factorize(series, sort=True)
    return codes.astype(np.int64), list(labels)


def small_strata_warning(sizes: np.ndarray, kept: np.ndarray, minimum: int) -> EstimateWarning | None:
    """Return the :class:`EstimateWarning` for the strata left out, or None when every stratum is kept."""
    if kept.all():
        return None
    left = int(sizes[~kept].sum())
    return EstimateWarning(
        f"{int((~kept).sum())} of {len(sizes)} strata of z have fewer than {minimum} samples "
        f"({left} of {int(sizes.sum())} samples): they are left out and I(X; Y | Z) is the mean over the "
        "other strata, weighted by their frequencies (set min_stratum_samples to change the limit)",
        "small-strata",
    )
