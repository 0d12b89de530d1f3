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

Latent CMI (``method="lmi"``; high-dimensional ``x`` and ``y``: genes, embeddings)
    LMI's paired encoders (LMI paper, Algorithm 1) are trained on the training half of ``(x, y)``
    with the cross-prediction regulariser, extended: every decoder (the self- and the
    cross-decoders) sees ``z`` beside the code (``lmi(..., condition=z)``), so a code need not carry
    what ``z`` already explains of its own variable or of the partner, and keeps what predicts the
    partner beyond ``z``. The CMI of the held-out codes given ``z`` is then estimated: for a numeric
    ``z`` (wider than :data:`LATENT_Z_DIM` columns: its first principal components, fitted on ``z``
    alone) by :func:`corrected_code_cmi`, the k-NN CMI of the codes' normal scores minus its mean under
    local permutations of the x codes in ``z`` (the k-NN bias where the codes follow ``z`` but not each
    other beyond it), times the shortfall factor that Gaussian twins of the codes measure; for a
    categorical ``z`` (one-hot for the decoders) by the KSG MI of the codes within each stratum,
    averaged with the held-out stratum frequencies (strata under ``min_stratum_samples`` samples left
    out as above). The encoders take ``x`` or ``y`` alone, so by the data processing inequality the
    codes' CMI is at most ``I(X; Y | Z)``; its estimate is corrected for the k-NN estimator's
    shortfall, so it is not a lower bound by construction. Without the decoders' ``z`` the codes spent
    their capacity on the dependence through ``z``. On the dense low-rank design of
    ``benchmarks/bench_cmi.py`` (part ``latent``: every column loads on the 2-D link, 1-bit truth) the
    plain k-NN CMI of the codes read about half (sessions 6-22); the corrected one reads most of it
    (docs/benchmarks.md, "Session 23"), while the calibrated k-NN CMI on the raw columns tracks the
    truth wherever it can run; ``auto`` therefore runs the latent CMI only where that calibration
    cannot run (see :mod:`bioinfo_mi.conditional`).

Jobs of the repeated-fit layer (:func:`conditional_estimate`)
    The tools' conditional fits pass ``z`` as numbers: integer codes (a categorical ``z``, one
    column) or floats (a numeric ``z``). ``"lmi"`` runs the latent CMI, ``"ksg"`` and
    ``"ksg-calibrated"`` the k-NN CMI of a numeric ``z``, and any :func:`bioinfo_mi.mi` method the
    stratified sum over the strata of a categorical ``z`` (the KSG family on each stratum's own samples).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.special import digamma
from scipy.stats import t as student_t

from .._docs import shared_docs
from .._validation import (
    EstimateWarning,
    check_array,
    check_options,
    check_pair,
    check_positive_int,
    check_random_state,
    to_base,
)
from ._auto import MIN_SAMPLES, warn_few_samples
from ._calibrated import _whitener, shrink_canonical
from ._copula import _gaussian_entropy, copula_transform
from ._knn import _check_not_constant, _NeighbourIndex, add_jitter, ksg
from ._lmi import _check_condition, lmi
from ._registry import get_method, run_method
from ._result import LMIResult, MIResult

__all__ = [
    "ksg_cmi",
    "ksg_cmi_calibrated",
    "corrected_code_cmi",
    "local_permutations",
    "gaussian_cmi",
    "check_strata",
    "small_strata_warning",
    "MIN_STRATUM_SAMPLES",
    "LATENT_Z_DIM",
    "latent_cmi",
    "conditional_estimate",
    "stratum_weights",
]

#: fewest samples of a stratum that the stratified estimate scores (below it the stratum is left out)
MIN_STRATUM_SAMPLES = 20
#: the latent CMI uses a numeric ``z`` of at most this many columns as it is; a wider one is reduced to
#: its first ``LATENT_Z_DIM`` principal components (fitted on the training half), as LMI's codes
#: have 8 dimensions per variable: the k-NN CMI then searches at most 3 x 8 dimensions
LATENT_Z_DIM = 8


@nb.njit(cache=True)
def _restricted_permutation(neighbors: np.ndarray, order: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Runge's (2018) local permutation: visiting the samples in ``order``, each takes the first of its
    (shuffled) neighbours not taken yet, or its last neighbour when all are.
    """
    n, k = neighbors.shape
    taken = np.zeros(n, dtype=np.bool_)
    out = np.empty(n, dtype=np.int64)
    for i in order:
        j = neighbors[i, k - 1]
        for m in range(k):
            if not taken[neighbors[i, m]]:
                j = neighbors[i, m]
                break
        out[i] = j
        taken[j] = True
    return out


def local_permutations(z: np.ndarray, n_shuffles: int, shuffle_neighbors: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_shuffles, n)`` permutations of the rows that keep each sample's ``x`` near its ``z`` (Runge 2018).

    Parameters
    ----------
    z
        ``(n, d_z)`` numeric conditioning sample (standardised here; ties broken by a tiny jitter).
    n_shuffles
        Number of permutations.
    shuffle_neighbors
        Neighbours in ``z`` (max norm, the sample itself included) among which a sample's ``x`` is drawn.
    rng
        Source of randomness.

    Returns
    -------
    Integer array; row ``s`` is the row of ``x`` each sample takes in shuffle ``s``.
    """
    sd = z.std(axis=0)
    zs = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    zs = zs + 1e-10 * rng.random(zs.shape)
    k = min(shuffle_neighbors, len(zs))
    _, neighbors = cKDTree(zs).query(zs, k=k, p=np.inf)
    neighbors = np.asarray(neighbors, dtype=np.int64).reshape(len(zs), k)
    out = np.empty((n_shuffles, len(zs)), dtype=np.int64)
    for s in range(n_shuffles):
        shuffled = np.take_along_axis(neighbors, rng.permuted(np.tile(np.arange(k), (len(zs), 1)), axis=1), axis=1)
        out[s] = _restricted_permutation(shuffled, rng.permutation(len(zs)))
    return out


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


#: the calibrated k-NN CMI's null check (:func:`ksg_cmi_calibrated`): local permutations of the data behind
#: its null bias (each twin takes one), and the neighbours in z among which they shuffle (Runge 2018's default)
CALIBRATED_NULL_SHUFFLES = 2
NULL_SHUFFLE_NEIGHBORS = 5
#: the one-sided level at which :func:`null_excess` counts the data's null bias beyond the twins' (at 2 standard
#: errors, about 6 % with 4 degrees of freedom, the excess was removed from 3 of 51 Gaussian data sets, 0.04 bits
#: off a 0.10-bit CMI in one)
NULL_EXCESS_LEVEL = 0.01


def _null_bias(
    scores: list[np.ndarray], n_null: int, k: int, rng: np.random.Generator, jitter: float, workers: int
) -> list[float]:
    """Return the k-NN CMI (nats) of ``scores`` under each of ``n_null`` local permutations of x in z (Runge 2018):
    the estimator's reading where x and y depend on z as they do but not on each other beyond it.
    """
    perms = local_permutations(scores[2], n_null, NULL_SHUFFLE_NEIGHBORS, rng)
    seeds = rng.integers(0, 2**32 - 1, size=n_null)
    return [
        ksg_cmi(scores[0][p], *scores[1:], k=k, base="nats", random_state=int(s), jitter=jitter, workers=workers).mi
        for p, s in zip(perms, seeds, strict=True)
    ]


def null_excess(null: list[float], twin_null: list[float]) -> float:
    """Return the null bias of the data beyond the twins' (nats): ``mean(null) - mean(twin_null)`` where a one-sided
    t test (pooled variance of the two groups) finds it above 0 at the :data:`NULL_EXCESS_LEVEL` level, else 0.

    Parameters
    ----------
    null, twin_null
        The k-NN CMI under local permutations of the data and of the twins (one per twin); at least one each and
        three together.

    Returns
    -------
    The excess, >= 0.
    """
    a, b = np.asarray(null, dtype=float), np.asarray(twin_null, dtype=float)
    diff = float(a.mean() - b.mean())
    dof = len(a) + len(b) - 2
    if dof < 1 or diff <= 0:
        return 0.0
    pooled = (np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)) / dof
    threshold = float(student_t.ppf(1 - NULL_EXCESS_LEVEL, dof)) * float(np.sqrt(pooled * (1 / len(a) + 1 / len(b))))
    return diff if diff > threshold else 0.0


def _twin_errors(
    scores: list[np.ndarray], model: dict[str, Any], seeds: np.ndarray, k: int, null: bool, jitter: float, workers: int
) -> tuple[list[float], list[float]]:
    """Return the k-NN CMI's error (nats) on each Gaussian twin of ``model`` and, with ``null``, each twin's
    null bias (one local permutation; else empty).
    """
    d_x, d_y = scores[0].shape[1], scores[1].shape[1]
    chol = np.linalg.cholesky(model["corr_twin"] + 1e-10 * np.eye(len(model["corr_twin"])))
    errors, nulls = [], []
    for seed in seeds:
        rng = np.random.default_rng(int(seed))
        twin = rng.standard_normal((len(scores[0]), len(chol))) @ chol.T
        parts = [twin[:, :d_x], twin[:, d_x : d_x + d_y], twin[:, d_x + d_y :]]
        estimate = ksg_cmi(*parts, k=k, base="nats", random_state=int(seed), jitter=jitter, workers=workers).mi
        errors.append(estimate - model["twin_cmi"])
        if null:
            nulls += _null_bias(parts, 1, k, rng, jitter, workers)
    return errors, nulls


@shared_docs
def ksg_cmi_calibrated(
    x: Any,
    y: Any,
    z: Any,
    *,
    k: int = 3,
    n_twins: int = 4,
    n_null: int = CALIBRATED_NULL_SHUFFLES,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """k-NN CMI on normal scores with its bias measured on Gaussian twins and removed (as ``ksg-calibrated``
    does for MI), and the null bias the twins miss removed too.

    1. Every column of ``x``, ``y`` and ``z`` is replaced by its normal scores (CMI is invariant under
       invertible per-coordinate maps);
    2. :func:`ksg_cmi` on them gives ``C_KSG``;
    3. ``n_twins`` Gaussian samples of the same size are drawn with the normal scores' correlation
       matrix, its conditional canonical correlations of x and y given z shrunk until the twins' exact
       CMI equals the bias-corrected Gaussian CMI ``C_G`` (:func:`gaussian_cmi_twin_model`), so KSG's
       error on them is known;
    4. the null check (issue 31, session 24): ``C_0``, the k-NN CMI's mean over ``n_null`` local
       permutations of x among the 5 nearest samples in z (Runge 2018), and ``C_0,twin``, the same on each
       twin (one permutation each). The twins depend on z linearly; where the data depend on it otherwise
       (``x = f(z) + noise``), the k-NN CMI reads a dependence given z that the twins do not show
       (0.6 bits on 20 + 20 columns that follow a 2-D z through ``z^2`` and ``sin 2z``, truth 0), and the
       permutations, which keep each x near its z, read it too. The excess ``E = C_0 - C_0,twin`` is removed
       where a one-sided t test finds it above 0 at the 1 % level (:func:`null_excess`), else ``E = 0``:
       only an excess (on a 1-D ``z`` the permutations of the data read 0.01-0.04 bits below the twins', an
       artefact of permuting among 5 neighbours, which a two-sided difference would add), and only one beyond
       the permutations' noise (``max(E, 0)`` alone took 0.06 bits off a 0.19-bit Gaussian CMI at
       5 + 5 | 5, N = 2000);
    5. the result is ``C_KSG - E`` minus the twins' mean error (the pointwise values shifted by the same
       constant), capped at ``max(C_G, C_KSG)``, or ``max(C_G, C_KSG - C_0)`` where an excess was removed: a
       correction that lifts the estimate above both uncorrected readings is not supported by either
       (``extra["capped"]``). (With ``C_KSG - E`` in the cap, 50 + 50 columns following z nonlinearly read
       0.02-0.07 bits, the twins' own permutation bias, 0.05 bits, coming back with ``E``.)

    On Gaussian data the twins share the data's distribution up to the estimated correlations and the
    k-NN estimator's downward bias in higher dimensions is removed (``benchmarks/bench_cmi.py``).

    Parameters
    ----------
    {ksg}
    z
        The conditioning sample, ``(N, d_z)`` numbers.
    n_twins
        Gaussian twins behind the bias estimate (>= 1).
    n_null
        Local permutations of the data behind the null check (>= 0; 0 skips the check: ``1 + n_twins``
        k-NN CMI estimates instead of ``1 + n_null + 2 n_twins``).

    Returns
    -------
    :class:`MIResult` with method ``"ksg-calibrated"``; ``extra``: ``raw`` (``C_KSG``), ``gaussian``
    (``C_G``, the normal scores' bias-corrected Gaussian CMI), ``twin_errors``, ``null_bias`` (``C_0``),
    ``twin_null_bias`` (mean ``C_0,twin``), ``null_excess`` (``E``), ``capped``, ``conditional``, ``calibrated``
    (``False``, with only ``raw`` beside it and an ``EstimateWarning``, where collinear columns leave no Gaussian
    model to calibrate on: the result is then the uncorrected k-NN CMI of the normal scores). Constant columns are
    dropped first.
    """
    k = check_positive_int(k, name="k")
    n_twins = check_positive_int(n_twins, name="n_twins")
    n_null = check_positive_int(n_null, name="n_null", minimum=0)
    if not np.isfinite(jitter) or jitter < 0:
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    # constant columns carry nothing and would make the twins' covariance singular (as in ksg_calibrated)
    xa, ya, za = (a[:, a.std(axis=0) > 0] for a in _check_triple(x, y, z, k))
    width = xa.shape[1] + ya.shape[1] + za.shape[1]
    if len(xa) <= width + 2:
        raise ValueError(
            f"the Gaussian calibration needs more samples than columns: {len(xa)} samples for {width} columns of "
            "x, y and z; use method='ksg' (the uncalibrated k-NN CMI) for inputs this wide"
        )
    rng = check_random_state(random_state)
    scores = [copula_transform(a) for a in (xa, ya, za)]
    seeds = rng.integers(0, 2**32 - 1, size=n_twins + 2)
    raw = ksg_cmi(*scores, k=k, base="nats", random_state=int(seeds[0]), jitter=jitter, workers=workers)
    try:
        model = None if _collinear(scores) else gaussian_cmi_twin_model(*scores)
    except np.linalg.LinAlgError:  # nearly collinear: the factorisation failed on this CPU's rounding
        model = None
    if model is None:  # no Gaussian twin to calibrate on
        warnings.warn(
            EstimateWarning(
                "Gaussian calibration of the k-NN CMI skipped (collinear columns: the normal scores' correlation "
                "matrix is singular); returning the uncorrected copula k-NN CMI",
                "calibration-skipped",
            ),
            stacklevel=2,
        )
        pmi, extra = to_base(raw.pmi, base), {"calibrated": False}
    else:
        pmi, extra = _calibrated(raw, scores, model, seeds, (k, n_null, jitter, workers), base)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg-calibrated",
        base=base,
        n_samples=len(pmi),
        params={"k": k, "n_twins": n_twins, "n_null": n_null, "jitter": jitter},
        extra={"conditional": True, "raw": float(to_base(raw.mi, base)), **extra},
    )


def _collinear(scores: list[np.ndarray]) -> bool:
    """Whether the columns of the normal scores are linearly dependent (to rounding: the smallest eigenvalue of their
    correlation matrix below 1e-10 of the largest), so that no Gaussian twin model exists. Decided on the eigenvalues
    rather than on a failed factorisation, which depends on the CPU's rounding.
    """
    eig = np.linalg.eigvalsh(np.corrcoef(np.hstack(scores), rowvar=False))
    return bool(eig[0] <= 1e-10 * eig[-1])


def _calibrated(
    raw: MIResult,
    scores: list[np.ndarray],
    model: dict[str, Any],
    seeds: np.ndarray,
    settings: tuple[int, int, float, int],
    base: str | float,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Run steps 3-5 of :func:`ksg_cmi_calibrated` on the normal ``scores`` and their Gaussian ``model``: the pointwise
    values of the calibrated estimate (in ``base``) and the ``extra`` fields of the calibration.
    """
    k, n_null, jitter, workers = settings
    target = model["gaussian_cmi"]  # bias-corrected (nats)
    errors, twin_nulls = _twin_errors(scores, model, seeds[2:], k, n_null > 0, jitter, workers)
    nulls = _null_bias(scores, n_null, k, np.random.default_rng(int(seeds[1])), jitter, workers) if n_null else []
    excess = null_excess(nulls, twin_nulls) if n_null else 0.0
    shift = float(np.mean(errors)) + excess
    corrected = raw.mi - shift
    mean = float(np.mean(nulls)) if n_null else 0.0
    cap = max(target, raw.mi - (mean if excess > 0 else 0.0))
    capped = corrected > cap
    pmi = to_base(raw.pmi - shift - (corrected - cap if capped else 0.0), base)
    nulls = {"null_bias": mean, "twin_null_bias": float(np.mean(twin_nulls)) if n_null else 0.0, "null_excess": excess}
    return pmi, {
        "calibrated": True,
        "gaussian": float(to_base(target, base)),
        "twin_errors": [float(to_base(e, base)) for e in errors],
        **{key: float(to_base(v, base)) for key, v in nulls.items()},
        "capped": bool(capped),
    }


def gaussian_cmi_twin_model(
    xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, z_target: np.ndarray | None = None
) -> dict[str, Any]:
    """Gaussian model of normal scores for the calibrated k-NN CMI: the bias-corrected Gaussian CMI and the
    correlation matrix of twins whose exact CMI equals it.

    The plug-in Gaussian CMI of the sample correlations is inflated by sampling noise (by about
    ``d_x d_y / 2N`` nats), so twins drawn with the sample correlations carry more conditional
    dependence than the data, and the k-NN estimator's bias measured on them overcorrects (on
    50 + 50 | 2 columns at N = 2000, 1.9 bits for a truth of 1.0; ``benchmarks/bench_cmi.py``). As
    ``ksg-calibrated`` does for MI, the twins' conditional canonical correlations (those of x and y
    after regressing out z) are shrunk, ``rho_i^2 -> max(rho_i^2 - tau, 0)``, until the twins' exact CMI
    equals the bias-corrected Gaussian CMI ``H(x, z) + H(y, z) - H(z) - H(x, y, z)`` (each entropy
    corrected as in Ince et al. 2017; 0 when that is negative); the correlations of x, y with z and
    within each variable are kept.

    Parameters
    ----------
    xs, ys, zs
        Normal scores ``(n, d_x)``, ``(n, d_y)``, ``(n, d_z)`` without constant columns.
    z_target
        Columns that the bias-corrected Gaussian CMI (the twins' target) conditions on, ``zs`` by default;
        the latent CMI passes ``zs`` with nonlinear features of it (:func:`corrected_code_cmi`), so that
        a dependence of x and y on ``z`` that is not linear does not count as conditional dependence. The
        twins themselves keep their linear dependence on ``zs``.

    Returns
    -------
    dict with ``gaussian_cmi`` (bias-corrected, nats), ``twin_cmi`` (the twins' exact CMI, nats),
    ``corr_twin`` (their correlation matrix over ``(x, y, z)``) and ``rho`` (the sample conditional
    canonical correlations).
    """
    d_x, d_y = xs.shape[1], ys.shape[1]
    zt = zs if z_target is None else z_target
    xz, yz = np.hstack([xs, zt]), np.hstack([ys, zt])
    i_g = (
        _gaussian_entropy(xz)
        + _gaussian_entropy(yz)
        - _gaussian_entropy(zt)
        - _gaussian_entropy(np.hstack([xs, ys, zt]))
    )
    corr = np.corrcoef(np.hstack([xs, ys, zs]), rowvar=False)
    v = slice(0, d_x + d_y)
    szz_inv = np.linalg.pinv(corr[d_x + d_y :, d_x + d_y :])
    regression = corr[v, d_x + d_y :] @ szz_inv @ corr[d_x + d_y :, v]
    cond = corr[v, v] - regression  # covariance of (x, y) given z
    lx, wx = _whitener(cond[:d_x, :d_x])
    ly, wy = _whitener(cond[d_x:, d_x:])
    u, rho, vt = np.linalg.svd(wx @ cond[:d_x, d_x:] @ wy.T, full_matrices=False)
    rho = np.clip(rho, 0.0, 1 - 1e-9)
    rho_twin, twin_value = shrink_canonical(rho, max(float(i_g), 0.0))
    twin = corr.copy()
    cross = lx @ u @ np.diag(rho_twin) @ vt @ ly.T + regression[:d_x, d_x:]
    twin[:d_x, d_x : d_x + d_y] = cross
    twin[d_x : d_x + d_y, :d_x] = cross.T
    return {"gaussian_cmi": float(i_g), "twin_cmi": twin_value, "corr_twin": twin, "rho": rho}


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


def stratum_weights(codes: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the size of every stratum, which are kept (at least ``minimum`` samples) and their weights
    (frequencies renormalised over the strata kept, 0 for the others).
    """
    sizes = np.bincount(codes)
    kept = sizes >= minimum
    total = sizes[kept].sum()
    weights = np.where(kept, sizes, 0) / total if total else np.zeros(len(sizes))
    return sizes, kept, weights


def _check_codes(z: Any, n: int) -> np.ndarray:
    codes = np.asarray(z)
    if codes.ndim == 2 and codes.shape[1] == 1:
        codes = codes[:, 0]
    if codes.ndim != 1 or codes.dtype.kind not in "iu" or len(codes) != n or (len(codes) and codes.min() < 0):
        raise ValueError(f"a categorical z must be {n} non-negative integer codes (one per sample), got {codes!r:.80}")
    return codes.astype(np.int64)


def _latent_z(z: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """``z`` as the latent CMI uses it: as it is up to :data:`LATENT_Z_DIM` columns, else its first
    principal components (standardised columns; fitted on ``z`` alone, which holds no x or y).
    """
    if z.shape[1] <= LATENT_Z_DIM:
        return z, {"z_columns": int(z.shape[1]), "z_reduced": False}
    mean, sd = z.mean(axis=0), z.std(axis=0)
    zs = (z - mean) / np.where(sd > 0, sd, 1.0)
    _, s, vt = np.linalg.svd(zs, full_matrices=False)
    comps = vt[:LATENT_Z_DIM]
    explained = float((s[:LATENT_Z_DIM] ** 2).sum() / max((s**2).sum(), 1e-300))
    return zs @ comps.T, {"z_columns": int(z.shape[1]), "z_reduced": True, "z_variance_kept": explained}


def latent_condition(res: LMIResult, z: Any) -> np.ndarray:
    """Rebuild the conditioning sample (every row, before standardisation) that the decoders of ``res`` were
    trained with, from the ``z`` given to :func:`latent_cmi` (one-hot strata, the columns or their first
    principal components) or to ``lmi(..., condition=z)`` (the columns as given).

    Parameters
    ----------
    res
        A conditional LMI fit: :func:`latent_cmi`'s result, or :func:`~bioinfo_mi.estimators.lmi`'s with
        ``condition``.
    z
        The ``z`` (or ``condition``) that fit was given, all ``N`` rows in the same order.

    Returns
    -------
    ``(N, d_condition)`` float array; ``ValueError`` naming ``z`` where it cannot be the fit's.
    """
    n, width = res.n_samples, int(res.params.get("d_condition", 0))
    if not res.extra.get("conditional"):
        cond = _check_condition(z, n)
    elif res.params.get("categorical"):
        codes = _check_codes(z, n)
        if codes.max() >= width:
            raise ValueError(
                f"z must be the stratum codes res was fitted with (0 to {width - 1}), got up to {codes.max()}"
            )
        cond = np.eye(width)[codes]
    else:
        za = check_array(z, name="z")
        if len(za) != n:
            raise ValueError(f"z must have the {n} rows res was fitted on, got {len(za)}")
        cond = _latent_z(za)[0]
        held = res.extra.get("latent_z")
        if held is not None and (held.shape[1] != cond.shape[1] or not np.allclose(cond[res.test_idx], held)):
            raise ValueError("z is not the conditioning variable res was fitted with (its held-out rows differ)")
    if cond is None or cond.shape[1] != width:
        got = 0 if cond is None else cond.shape[1]
        raise ValueError(f"z must be the conditioning variable res was fitted with: {width} columns, got {got}")
    return cond


@shared_docs
def latent_cmi(
    x: Any,
    y: Any,
    z: Any,
    *,
    categorical: bool = False,
    min_stratum_samples: int = MIN_STRATUM_SAMPLES,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    **lmi_options: Any,
) -> LMIResult:
    """Latent conditional MI: LMI's codes of ``x`` and ``y`` (trained on one half) and the corrected k-NN CMI of
    the held-out codes given ``z`` (:func:`corrected_code_cmi`; see the module docstring; LMI paper, Algorithm 1,
    with Frenzel & Pompe 2007 and Runge 2018).

    Parameters
    ----------
    x, y
        Paired samples ``(N, d_x)``, ``(N, d_y)``, as for :func:`bioinfo_mi.estimators.lmi`.
    z
        The conditioning variable: ``(N, d_z)`` numbers, or with ``categorical=True`` one integer
        stratum code per sample.
    categorical
        ``z`` holds stratum codes: the codes' KSG MI within each stratum of the held-out half.
    min_stratum_samples
        Fewest samples (both halves) of a stratum that is scored; smaller strata are left out with an
        :class:`~bioinfo_mi.EstimateWarning`.
    k
        Neighbours of the k-NN estimates.
    base
        ``"bits"`` (default) or ``"nats"``.
    random_state
        Seed or Generator of the LMI fit (split, training) and of the k-NN jitter.
    **lmi_options
        Options of :func:`bioinfo_mi.estimators.lmi` (``latent_dim``, ``epochs``, ``normalization``, ...).

    Returns
    -------
    :class:`LMIResult` (the LMI fit's codes, model and split) with ``mi`` the latent estimate of
    ``I(X; Y | Z)`` and ``pmi`` its pointwise terms on the held-out half (NaN elsewhere);
    ``extra["conditional"] = True``, ``extra["latent_mi"]`` (LMI's unconditional estimate of the same
    fit), ``extra["latent_z"]`` (the held-out ``z`` as used: the columns, the principal components or the
    codes), for a numeric ``z`` ``extra["code_estimator"]`` (``"ksg-corrected"``) and ``extra["code_cmi"]``
    (:func:`corrected_code_cmi`'s ``raw``, ``null_bias``, ``factor``, twins), and ``extra["strata"]`` for a
    categorical ``z`` (size, held-out size, weight, kept).
    """
    k = check_positive_int(k, name="k")
    minimum = check_positive_int(min_stratum_samples, name="min_stratum_samples", minimum=2)
    rng = check_random_state(random_state)
    fit_seed, knn_seed = (int(s) for s in rng.integers(0, 2**32 - 1, size=2))
    n = len(x) if not hasattr(x, "shape") else int(x.shape[0])
    if categorical:
        za = _check_codes(z, n)
        condition = np.eye(int(za.max()) + 1)[za]  # one-hot strata
    else:
        za = check_array(z, name="z")
        if len(za) != n:
            raise ValueError(f"z must have the same number of samples (rows) as x and y, got {len(za)} and {n}")
        _check_not_constant(za, "z")
        zc, info = _latent_z(za)
        condition = zc
    check_options(lmi_options, set(get_method("lmi").options) - {"k", "base"}, where="method='lmi'")
    # the decoders see z beside the codes, so the codes need not spend their capacity on what z explains
    res = lmi(x, y, random_state=fit_seed, k=k, base=base, condition=condition, **lmi_options)
    if res.n_samples < MIN_SAMPLES:
        warn_few_samples(res, "lmi", stacklevel=3)
    test = res.test_idx
    zx, zy = res.zx[test], res.zy[test]
    pmi = np.full(res.n_samples, np.nan)
    extra: dict[str, Any] = {**res.extra, "conditional": True, "latent_mi": res.mi}
    collapsed = not (zx.std(axis=0) > 0).any() or not (zy.std(axis=0) > 0).any()
    if categorical:
        pmi[test] = _score_strata(zx, zy, za, test, minimum, k, base, knn_seed, collapsed, extra)
    else:
        extra.update(info)
        extra["latent_z"] = zc[test]
        pmi[test] = _score_numeric(zx, zy, zc[test], k, base, knn_seed, collapsed, extra)
    if not np.isfinite(pmi).any():
        raise ValueError(
            f"no stratum of z has {minimum} samples with at least {k + 2} of them held out: nothing to estimate; "
            "lower min_stratum_samples or use a coarser z"
        )
    params = {**res.params, "categorical": bool(categorical), "min_stratum_samples": minimum}
    return dataclasses.replace(res, mi=float(np.nanmean(pmi)), pmi=pmi, params=params, extra=extra)


def _score_strata(
    zx: np.ndarray,
    zy: np.ndarray,
    za: np.ndarray,
    test: np.ndarray,
    minimum: int,
    k: int,
    base: Any,
    seed: int,
    collapsed: bool,
    extra: dict[str, Any],
) -> np.ndarray:
    """Pointwise KSG MI of the held-out codes ``zx``, ``zy`` within each kept stratum of the codes ``za``
    (NaN for the others); the strata's record goes into ``extra``.
    """
    sizes, kept, _ = stratum_weights(za, minimum)
    warning = small_strata_warning(sizes, kept, minimum)
    if warning is not None:
        warnings.warn(warning, stacklevel=3)
    codes = za[test]
    held = np.bincount(codes, minlength=len(sizes))
    scored = kept & (held >= k + 2)
    fits: dict[int, MIResult] = {}
    pmi = np.full(len(test), np.nan)
    for s in np.flatnonzero(scored):
        rows = np.flatnonzero(codes == s)
        if collapsed or not (zx[rows].std(axis=0) > 0).any() or not (zy[rows].std(axis=0) > 0).any():
            pmi[rows] = 0.0  # a code constant within the stratum carries no information there
            continue
        fits[int(s)] = _code_mi(zx[rows], zy[rows], k, base, seed + int(s))
        pmi[rows] = fits[int(s)].pmi
    weights = np.where(scored, held, 0) / max(held[scored].sum(), 1)
    extra["strata"] = {"n_samples": sizes.tolist(), "n_held_out": held.tolist(), "weight": weights.tolist()}
    extra["strata"]["kept"] = scored.tolist()
    extra.update(latent_z=codes, stratum_results=fits)
    return pmi


def _score_numeric(
    zx: np.ndarray, zy: np.ndarray, zc: np.ndarray, k: int, base: Any, seed: int, collapsed: bool, extra: dict
) -> np.ndarray:
    """Pointwise k-NN CMI of the held-out codes given the held-out ``zc`` (0 where a code collapsed)."""
    if collapsed:
        warnings.warn(
            "a latent representation collapsed to a constant on the estimation half; a constant carries no "
            "information, so the estimate is 0",
            UserWarning,
            stacklevel=3,
        )
        return np.zeros(len(zx))
    fit = _code_cmi(zx, zy, zc, k, base, seed)
    extra["code_estimator"] = fit.method
    extra["code_cmi"] = {key: v for key, v in fit.extra.items() if key != "conditional"}
    extra["n_twins"] = fit.params.get("n_twins")
    return fit.pmi


#: the latent CMI's correction of the k-NN CMI on its held-out codes (:func:`corrected_code_cmi`): local
#: permutations behind the null bias, the neighbours in z among which they shuffle (Runge 2018's default),
#: Gaussian twins behind the bias factor, the factor's bounds, and the twins' k-NN CMI (nats) below which no
#: factor is taken (too little dependence for a ratio)
CODE_NULL_SHUFFLES = 4
CODE_TWINS = 4
CODE_MAX_FACTOR = 4.0
CODE_MIN_TWIN_CMI = 0.05


def _z_features(zs: np.ndarray) -> np.ndarray:
    """Return the normal scores of ``z`` with nonlinear features of each column (square, sine and cosine of twice it),
    standardised: the conditioning set of the twins' target in :func:`corrected_code_cmi`.
    """
    feats = np.hstack([zs, zs**2, np.sin(2 * zs), np.cos(2 * zs)])
    sd = feats.std(axis=0)
    return (feats - feats.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _bias_factor(scores: list[np.ndarray], k: int, rng: np.random.Generator) -> dict[str, Any]:
    """Return the k-NN CMI's relative shortfall on Gaussian twins of the codes' normal scores, ``C_twin /
    mean KSG(twins)``, bounded to ``[1, CODE_MAX_FACTOR]``; 1 where the twins carry too little dependence for a
    ratio, the samples are too few for the Gaussian model, or its covariance is singular (module constants above).
    The twins' target conditions on ``z`` and its nonlinear features where they fit, else on ``z`` alone (a ``z``
    of a few distinct values makes the features collinear).
    """
    xs, ys, zs = scores
    d_x, d_y = xs.shape[1], ys.shape[1]
    n = len(xs)
    feats = _z_features(zs)
    targets = [feats, zs] if n > 2 * (d_x + d_y + feats.shape[1]) else [zs]
    model = None
    for target in targets if n > 2 * (d_x + d_y + zs.shape[1]) else []:
        try:  # target given the features (or z), the twins linear in z
            model = gaussian_cmi_twin_model(xs, ys, zs, z_target=target)
        except np.linalg.LinAlgError:
            continue
        feats = target
        break
    if model is None:
        nan = float("nan")
        return {"factor": 1.0, "gaussian": nan, "twin_cmi": nan, "twin_knn": nan, "z_features": False}
    twin_cmi = model["twin_cmi"]
    chol = np.linalg.cholesky(model["corr_twin"] + 1e-10 * np.eye(len(model["corr_twin"])))
    estimates = []
    for seed in rng.integers(0, 2**32 - 1, size=CODE_TWINS):
        twin = np.random.default_rng(int(seed)).standard_normal((n, len(chol))) @ chol.T
        parts = twin[:, :d_x], twin[:, d_x : d_x + d_y], twin[:, d_x + d_y :]
        estimates.append(ksg_cmi(*parts, k=k, base="nats", random_state=int(seed)).mi)
    twin_knn = float(np.mean(estimates))
    factor = twin_cmi / twin_knn if twin_knn >= CODE_MIN_TWIN_CMI else 1.0
    factor = float(np.clip(factor, 1.0, CODE_MAX_FACTOR))
    out = {"factor": factor, "gaussian": float(model["gaussian_cmi"]), "twin_cmi": float(twin_cmi)}
    return {**out, "twin_knn": twin_knn, "z_features": feats is not zs}


def corrected_code_cmi(
    zx: np.ndarray,
    zy: np.ndarray,
    zc: np.ndarray,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
) -> MIResult:
    """Estimate the CMI of the latent CMI's held-out codes: the k-NN CMI of their normal scores with its bias
    removed twice, for the null and for the size of the dependence (issue 31, session 23).

    1. ``C``: :func:`ksg_cmi` of the normal scores of ``zx``, ``zy`` and ``zc``;
    2. ``C_0``: its mean over :data:`CODE_NULL_SHUFFLES` local permutations of ``zx`` among the
       :data:`NULL_SHUFFLE_NEIGHBORS` nearest samples in ``zc`` (Runge 2018; the permutation test's null), the
       k-NN estimator's bias where the codes depend on ``z`` as they do but not on each other beyond it.
       Codes are smooth, often nearly deterministic functions of ``z``, and there the k-NN CMI of their normal
       scores reads 0.2-0.4 bits on conditionally independent data (``C_0`` takes it away);
    3. ``f``: the estimator's relative shortfall on :data:`CODE_TWINS` Gaussian twins of the normal scores,
       whose exact CMI is the bias-corrected Gaussian CMI given ``z`` and nonlinear features of it
       (:func:`gaussian_cmi_twin_model`'s ``z_target``): ``f = C_twin / mean KSG(twins)`` in ``[1, 4]``;
       1 where the twins' k-NN CMI is below :data:`CODE_MIN_TWIN_CMI` nats. At 8 + 8 code dimensions and
       1000 held-out pairs the k-NN CMI finds about half of a 1-bit CMI, and the twins measure that fraction;
    4. the estimate ``(C - C_0) f`` (the pointwise values ``(c_i - C_0) f``). Where the codes' ``C - C_0``
       reads above the twins' k-NN CMI (``r = (C - C_0) / KSG(twins) > 1``: codes that are not Gaussian given
       ``z`` in a way the k-NN resolves better, discrete states or clones) the twins' shortfall overstates
       theirs, and the estimate is ``max(C - C_0, min((C - C_0) f, C_twin) (2 - r))``: the full lift at
       ``r = 1``, none from ``r = 2`` on (``extra["knn_ratio"]``; ``f`` is then the factor this applies).
       Uncapped, the factor overshot there: 0.56-0.62 bits on the confounded lineage simulator for an upper
       bound of 0.34, and 3.8-4.7 bits on six shared, well-separated states (at most 2.58). A multiplicative
       correction keeps a null estimate near 0 whatever ``f`` is, which an additive one (as
       ``ksg-calibrated``) does not where the codes depend on ``z`` nonlinearly (up to +0.7 bits measured).

    Measured (``benchmarks/bench_cmi.py --parts latent``, docs/benchmarks.md "Conditional MI"): on the dense
    low-rank design at N = 2000 the latent CMI read about half of the truth with the plain k-NN CMI (0.33-0.59
    at 20-50 columns per side) and reads 0.76-0.85 of it with this one (0.48-0.59 at 200 columns); on three
    conditionally independent designs the means are -0.009 to 0.031 bits.

    Parameters
    ----------
    zx, zy
        Held-out codes ``(n, d_x)``, ``(n, d_y)``.
    zc
        The held-out conditioning sample ``(n, d_z)``.
    k
        Neighbours of the k-NN CMI.
    base
        ``"bits"`` or ``"nats"``.
    random_state
        Seed or Generator of the jitter, the permutations and the twins.

    Returns
    -------
    :class:`MIResult` with method ``"ksg-corrected"``; ``extra``: ``raw`` (``C``), ``null_bias`` (``C_0``),
    ``gaussian`` (the twins' target), ``factor`` (the ``f`` applied), ``twin_factor`` (``C_twin / KSG(twins)``),
    ``knn_ratio`` (``r``; 0 where no factor is taken), ``twin_cmi`` and ``twin_knn`` (the twins' exact and
    k-NN CMI, nats), ``z_features`` (whether the twins' target saw the nonlinear features of ``z``),
    ``n_null``, ``n_twins``.
    """
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**32 - 1))
    scores = [copula_transform(a[:, a.std(axis=0) > 0]) for a in (zx, zy, zc)]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*duplicated", category=UserWarning)
        raw = ksg_cmi(*scores, k=k, base="nats", random_state=seed)
        perms = local_permutations(scores[2], CODE_NULL_SHUFFLES, NULL_SHUFFLE_NEIGHBORS, rng)
        null = float(
            np.mean([ksg_cmi(scores[0][p], *scores[1:], k=k, base="nats", random_state=seed).mi for p in perms])
        )
        factor = _bias_factor(scores, k, rng)
    centred = raw.mi - null
    twin_factor = factor["factor"]
    # the codes' k-NN CMI reads above their Gaussian twins' (ratio > 1): the codes are not Gaussian in a way the
    # k-NN resolves better (states, clones), so the twins' shortfall overstates theirs; the lift tapers to none at 2
    ratio = centred / factor["twin_knn"] if twin_factor > 1.0 else 0.0
    if ratio > 1.0:
        lifted = max(centred, min(centred * twin_factor, factor["twin_cmi"]) * (2.0 - ratio))
        factor["factor"] = lifted / centred
    pmi = to_base((raw.pmi - null) * factor["factor"], base)
    extra = {"raw": float(to_base(raw.mi, base)), "null_bias": float(to_base(null, base)), **factor}
    extra["gaussian"] = float(to_base(factor["gaussian"], base))
    extra.update(twin_factor=twin_factor, knn_ratio=float(ratio))
    extra.update(n_null=CODE_NULL_SHUFFLES, n_twins=CODE_TWINS, conditional=True)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg-corrected",
        base=base,
        n_samples=len(pmi),
        params={"k": k, "n_null": CODE_NULL_SHUFFLES, "n_twins": CODE_TWINS},
        extra=extra,
    )


def _code_cmi(zx: np.ndarray, zy: np.ndarray, zc: np.ndarray, k: int, base: Any, seed: int) -> MIResult:
    """Return the CMI estimate of held-out codes given ``z``: :func:`corrected_code_cmi`.

    Not :func:`ksg_cmi_calibrated`: on the codes its additive correction removed more than the k-NN bias where
    x and y are independent given z (0.05-0.16 bits on the null of ``tests/test_conditional.py``), as the codes
    depend on z nonlinearly and the Gaussian model of their normal scores finds a conditional dependence that
    is not there. Not the plain :func:`ksg_cmi` (sessions 6-22): it read about half of a 1-bit truth on the
    latent design of ``benchmarks/bench_cmi.py``.
    """
    return corrected_code_cmi(zx, zy, zc, k=k, base=base, random_state=seed)


def _code_mi(zx: np.ndarray, zy: np.ndarray, k: int, base: Any, seed: int) -> MIResult:
    """Return the KSG MI of held-out codes within a stratum (as LMI scores its codes)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*duplicated", category=UserWarning)
        return ksg(zx, zy, k=k, base=base, random_state=seed)


def _stratified_sum(
    x: np.ndarray, y: np.ndarray, codes: np.ndarray, method: str, minimum: int, seed: int, options: dict[str, Any]
) -> MIResult:
    """``sum_z p(z) I(X; Y | Z = z)`` over the kept strata, each by ``method`` on its own samples, in this process."""
    sizes, kept, weights = stratum_weights(codes, minimum)
    warning = small_strata_warning(sizes, kept, minimum)
    if warning is not None:
        warnings.warn(warning, stacklevel=3)
    if not kept.any():
        raise ValueError(f"no stratum of z has {minimum} samples: nothing to estimate; lower min_stratum_samples")
    pmi = np.full(len(x), np.nan)
    estimates = np.full(len(sizes), np.nan)
    results = {}
    seeds = np.random.default_rng(seed).integers(0, 2**32 - 1, size=len(sizes))
    for s in np.flatnonzero(kept):
        rows = np.flatnonzero(codes == s)
        results[int(s)] = run_method(method, x[rows], y[rows], random_state=int(seeds[s]), stacklevel=4, **options)
        estimates[s] = results[int(s)].mi
        pmi[rows] = results[int(s)].pmi
    table = {"n_samples": sizes.tolist(), "estimate": estimates.tolist(), "weight": weights.tolist()}
    table["kept"] = kept.tolist()
    return MIResult(
        mi=float(np.sum(weights[kept] * estimates[kept])),
        pmi=pmi,
        method=method,
        base=options.get("base", "bits"),
        n_samples=len(x),
        params={"min_stratum_samples": minimum, **options},
        extra={"conditional": True, "stratified": table, "stratum_results": results, "codes": codes},
    )


def conditional_estimate(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    method: str,
    *,
    random_state: int,
    min_stratum_samples: int = MIN_STRATUM_SAMPLES,
    **options: Any,
) -> MIResult:
    """One conditional fit of the repeated-fit layer: ``I(X; Y | Z)`` by ``method`` (module docstring).

    Parameters
    ----------
    x, y
        Paired samples (arrays).
    z
        Integer stratum codes (one column: a categorical ``z``) or floats (a numeric ``z``).
    method
        ``"lmi"`` (latent CMI), ``"ksg"`` or ``"ksg-calibrated"`` (k-NN CMI, numeric ``z``), or any
        :func:`bioinfo_mi.mi` method for a categorical ``z`` (the stratified sum).
    random_state
        The fit's seed.
    min_stratum_samples
        Fewest samples of a stratum that is scored.
    **options
        The estimator's options.

    Returns
    -------
    The estimate, ``extra["conditional"] = True``.
    """
    z = np.asarray(z)
    categorical = z.dtype.kind in "iu"
    method = method.lower()
    if method == "lmi":
        return latent_cmi(
            x,
            y,
            z,
            categorical=categorical,
            min_stratum_samples=min_stratum_samples,
            random_state=random_state,
            **options,
        )
    if categorical:
        codes = _check_codes(z, len(x))
        return _stratified_sum(x, y, codes, method, min_stratum_samples, random_state, options)
    if method == "ksg":
        return ksg_cmi(x, y, z, random_state=random_state, **options)
    if method == "ksg-calibrated":
        return ksg_cmi_calibrated(x, y, z, random_state=random_state, **options)
    raise ValueError(
        f"method={method!r} has no conditional version for a numeric z; use 'lmi', 'ksg' or 'ksg-calibrated' "
        "(or a categorical z, estimated stratum by stratum)"
    )
