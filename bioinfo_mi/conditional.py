"""``bm.cmi``: conditional mutual information I(X; Y | Z) and a conditional-independence permutation test.

Methods (:data:`CMI_METHODS`)
    ``"ksg"``: the k-NN estimator of Frenzel & Pompe (2007), exact neighbour counts with the package's
    kernel (:func:`bioinfo_mi.estimators.ksg_cmi`), for a numeric ``z``; ``"ksg-calibrated"``: the same
    on normal scores with its bias measured on Gaussian twins and removed, and the null bias that the
    twins miss (where x or y follow z nonlinearly) measured by local permutations and removed
    (:func:`bioinfo_mi.estimators.ksg_cmi_calibrated`; on Gaussian CMI 20 times lower MSE than
    ``"ksg"``, and close to 0 under a nonlinear conditional independence: ``benchmarks/bench_cmi.py``).
    ``"stratified"``: for a categorical ``z`` (cell type, batch, well) the exact decomposition
    ``I(X; Y | Z) = sum_z p(z) I(X; Y | Z = z)``, each stratum estimated by ``bm.mi`` with
    ``within_method``; strata under ``min_stratum_samples`` samples are left out with an
    :class:`~bioinfo_mi.EstimateWarning` (see :mod:`bioinfo_mi.estimators._cmi`). ``"auto"``:
    ``"lmi"`` (the latent CMI: LMI's codes of ``x`` and ``y``, trained on one half with decoders that
    see ``z``, and the corrected k-NN CMI of the held-out codes given ``z``;
    :func:`bioinfo_mi.estimators.latent_cmi`)
    where the samples are fewer than :data:`CMI_SAMPLES_PER_DIM` (3) per column of ``x``, ``y`` and
    ``z`` or the calibrated k-NN CMI is predicted to cost more than 3 times LMI and 5 minutes (the rule
    of ``bm.mi``'s ``auto``, :func:`bioinfo_mi.estimators.choose_method`; the k-NN CMI's own cost model,
    ``bioinfo_mi.estimators._cost.ksg_cmi_calibrated_seconds``: about 2 minutes at 10 000 samples of
    50 + 50 | 2 columns, LMI's 10 seconds), for a numeric and a categorical ``z`` alike; otherwise
    ``"stratified"`` when ``z`` is categorical (labels: strings, a pandas Categorical, booleans, or one
    integer column with at most ``n_samples / min_stratum_samples`` distinct values),
    ``"ksg-calibrated"`` otherwise (``"ksg"`` when the samples do not outnumber the columns of ``x``,
    ``y`` and ``z`` by 3, which the twins' correlation matrix needs), and ``"ksg"`` on the stratum
    codes when no stratum reaches ``min_stratum_samples``. A ``within_method`` the user gives (other
    than ``"auto"``) keeps a categorical ``z`` with ``"stratified"`` whatever the widths.

Conditional-independence test (``n_shuffles``)
    A permutation null that keeps the dependence of X on Z and of Y on Z: ``x`` is permuted within the
    strata of a categorical ``z``, and for a numeric ``z`` by the local permutation of Runge (2018):
    each sample takes the ``x`` of one of its ``shuffle_neighbors`` nearest neighbours in ``z`` (max
    norm), drawn without repeats where possible. ``p_value = (1 + #{null >= cmi}) / (1 + n_shuffles)``.
    Every shuffled estimate runs through the package's repeated-fit layer (seeds spawned from
    ``random_state``, a fixed thread budget per fit), so the numbers do not depend on ``n_jobs``.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._docs import shared_docs
from ._fits import FitJob, run_fits, warn_fits
from ._parallel import check_n_jobs, root_seed, spawn_seeds
from ._validation import EstimateWarning, check_array, check_options, check_positive_int
from .estimators._auto import choose_method
from .estimators._cmi import (
    MIN_STRATUM_SAMPLES,
    check_strata,
    conditional_estimate,
    local_permutations,
    small_strata_warning,
)
from .estimators._cost import ksg_cmi_calibrated_seconds, ksg_cmi_seconds
from .estimators._lmi import lmi_can_split
from .estimators._registry import get_method, predicted_seconds
from .estimators._result import MIResult
from .uncertainty import add_error_bars, sampling_se

__all__ = ["cmi", "CMI_METHODS"]

#: the methods of :func:`cmi`
CMI_METHODS = ("auto", "ksg", "ksg-calibrated", "lmi", "stratified")
#: the options of the k-NN CMI estimators
_KSG_OPTIONS = {"k", "base", "jitter", "workers"}
#: samples per column of x, y and z from which ``auto`` runs the calibrated k-NN CMI (or the strata) rather
#: than the latent CMI: on the low-rank Gaussian design of benchmarks/bench_cmi.py (part ``latent``, 1-bit
#: truth, N = 2000) the calibrated k-NN CMI read 0.97 at 200 + 200 | 2 columns (5 samples per column) where
#: the latent CMI read 0.21; it needs more samples than columns (the twins' correlation matrix), and 3
#: leaves room for the bias-corrected Gaussian CMI's variance, which grows as the two approach
#: (the level itself is not measured more finely than that)
CMI_SAMPLES_PER_DIM = 3.0
#: the options of the methods that estimate ``I(X; Y | Z)`` in one fit (:func:`conditional_estimate`)
_NUMERIC = {
    "ksg": _KSG_OPTIONS,
    "ksg-calibrated": _KSG_OPTIONS | {"n_twins", "n_null"},
    "lmi": set(get_method("lmi").options),
}


def is_categorical(z: Any, min_stratum_samples: int = MIN_STRATUM_SAMPLES) -> bool:
    """Tell whether ``auto`` treats ``z`` as labels: strings, objects, a pandas Categorical, booleans, or one
    integer column with at most ``len(z) / min_stratum_samples`` distinct values.
    """
    if isinstance(z, pd.DataFrame):
        if z.shape[1] != 1:
            return False
        z = z.iloc[:, 0]
    dtype = getattr(z, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    arr = np.asarray(z)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.dtype.kind in "OUSb":
        return arr.ndim == 1
    if arr.dtype.kind in "iu" and arr.ndim == 1:
        return len(np.unique(arr)) <= len(arr) / max(min_stratum_samples, 1)
    return False


def _check_common(method: Any, within_method: Any, min_stratum_samples: Any, options: dict) -> tuple[str, int]:
    if not isinstance(method, str) or method.lower() not in CMI_METHODS:
        raise ValueError(f"method must be one of {list(CMI_METHODS)}, got {method!r}")
    minimum = check_positive_int(min_stratum_samples, name="min_stratum_samples", minimum=2)
    method = method.lower()
    if method in _NUMERIC:
        check_options(options, _NUMERIC[method], where=f"method={method!r}")
    else:
        entry = get_method(within_method)  # raises naming the valid methods
        allowed = set(entry.options) | (_NUMERIC["ksg-calibrated"] | _NUMERIC["lmi"] if method == "auto" else set())
        check_options(options, allowed, where=f"within_method={entry.name!r}")
    return method, minimum


@shared_docs
def cmi(
    x: Any,
    y: Any,
    z: Any,
    method: str = "auto",
    *,
    within_method: str = "auto",
    min_stratum_samples: int = MIN_STRATUM_SAMPLES,
    error_bars: bool = False,
    n_shuffles: int = 0,
    shuffle_neighbors: int = 5,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = False,
    **options: Any,
) -> MIResult:
    """Estimate the conditional mutual information I(X; Y | Z): what X and Y share beyond what Z explains.

    Parameters
    ----------
    x, y
        Paired samples, ``(N, d_x)`` and ``(N, d_y)`` (1-D is one column); never modified.
    z
        The conditioning variable, paired row by row: numbers ``(N, d_z)`` (a state, a covariate), or one
        label per sample (cell type, batch, well: strings, a pandas Categorical, integers).
    method
        ``"auto"`` (default), ``"ksg"`` (Frenzel & Pompe 2007), ``"ksg-calibrated"`` (the same on normal
        scores with its bias measured on Gaussian twins and removed,
        :func:`bioinfo_mi.estimators.ksg_cmi_calibrated`), ``"lmi"`` (the latent CMI for
        high-dimensional ``x`` and ``y``, numeric or categorical ``z``,
        :func:`bioinfo_mi.estimators.latent_cmi`) or ``"stratified"``
        (``sum_z p(z) I(X; Y | Z = z)``); see :mod:`bioinfo_mi.conditional`.
    within_method
        The :func:`bioinfo_mi.mi` method of each stratum of ``"stratified"`` (default ``"auto"``).
    min_stratum_samples
        Fewest samples of a stratum that ``"stratified"`` estimates (default 20); smaller strata are left
        out with an :class:`~bioinfo_mi.EstimateWarning`.
    error_bars
        Fill ``res.se`` (and ``res.ci()``) of a stratified estimate: ``sqrt(sum_z w_z^2 se_z^2)``, the strata
        being independent samples, each ``se_z`` the standard error ``bm.mi`` gives that stratum's fit
        (:func:`bioinfo_mi.uncertainty.sampling_se`); of the k-NN CMI, subsampling of the estimator
        (:func:`bioinfo_mi.uncertainty.conditional_se`); of the latent CMI, the spread of 4 refits
        (other splits and training) plus the subsampling variance of the k-NN CMI on the held-out codes,
        as ``bm.mi`` does for LMI.
    n_shuffles
        Conditional-independence permutation test with this many shuffles (0: none): ``res.null`` and
        ``res.p_value``.
    shuffle_neighbors
        Neighbours in ``z`` among which the local permutation draws (numeric ``z``; Runge 2018 uses 5-10).
    random_state
        Seed or ``numpy.random.Generator``: the estimator's, the strata fits' and the shuffles' seeds are
        spawned from it.
    {n_jobs}
    {progress}
    **options
        Passed to the estimator: ``k``, ``base``, ``jitter``, ``workers`` of ``"ksg"`` (and ``n_twins``,
        ``n_null`` of ``"ksg-calibrated"``); those of :func:`bioinfo_mi.estimators.lmi` for ``"lmi"``; the options of
        ``within_method`` for ``"stratified"``.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult`: ``mi`` the estimate of ``I(X; Y | Z)`` (bits by default), ``pmi`` the
    pointwise terms (NaN for samples not scored, e.g. those of strata left out or the latent CMI's
    training half), ``method`` ``"ksg"``, ``"ksg-calibrated"``, ``"lmi"`` or ``"stratified"``,
    ``extra["conditional"] = True``, ``extra["stratified"]`` (per stratum: label, size, estimate, weight,
    kept) and ``extra["auto"]`` (the choice and its reason) where they apply,
    ``p_value`` and ``null`` with ``n_shuffles``.

    Notes
    -----
    Frenzel & Pompe, Phys. Rev. Lett. 99, 204101 (2007); Runge, AISTATS (2018) for the local
    permutation test.
    """
    method, minimum = _check_common(method, within_method, min_stratum_samples, options)
    n_shuffles = check_positive_int(n_shuffles, name="n_shuffles", minimum=0)
    if not isinstance(error_bars, bool | np.bool_):
        raise TypeError(f"error_bars must be True or False, got {error_bars!r}")
    shuffle_neighbors = check_positive_int(shuffle_neighbors, name="shuffle_neighbors", minimum=2)
    n_jobs = check_n_jobs(n_jobs)
    seed = root_seed(random_state)
    fit_seed, shuffle_seed, se_seed = spawn_seeds(seed, 3)
    xa, ya = check_array(x, name="x"), check_array(y, name="y")
    if len(xa) != len(ya):
        raise ValueError(f"x and y must have the same number of samples (rows), got {len(xa)} and {len(ya)}")
    auto: dict[str, Any] | None = None
    if method == "auto":
        method, auto = _choose(z, len(xa), minimum, xa.shape[1] + ya.shape[1], within_method)
        if method == "lmi" and not lmi_can_split(len(xa), options.get("k", 3), options):
            method, auto = _no_halves(z, len(xa), xa.shape[1] + ya.shape[1], minimum)
    if method == "stratified":
        codes, labels = check_strata(z, len(xa))
        res = _stratified(
            xa, ya, codes, labels, minimum, within_method, fit_seed, options, n_jobs, progress, error_bars
        )
        if n_shuffles:
            res = _stratified_test(
                res, xa, ya, codes, minimum, within_method, options, n_shuffles, shuffle_seed, n_jobs, progress
            )
    else:
        zf = _fit_z(z, method, auto)
        allowed = _NUMERIC[method]
        if auto is not None and set(options) - allowed:
            raise TypeError(f"method={method!r} (chosen by 'auto': {auto['reason']}) takes only {sorted(allowed)}")
        opts = dict(options, min_stratum_samples=minimum) if method == "lmi" else dict(options)
        res = conditional_estimate(xa, ya, zf, method, random_state=fit_seed, **opts)
        if error_bars:
            res = add_error_bars(
                res, xa, ya, options=opts, random_state=se_seed, z=zf, n_jobs=n_jobs, progress=progress
            )
        if n_shuffles:
            test = (n_shuffles, shuffle_neighbors, shuffle_seed, n_jobs, progress, method)
            res = _knn_test(res, xa, ya, zf, opts, *test)
    extra = {**res.extra, "conditional": True}
    if auto is not None:
        extra["auto"] = auto
    res.params["random_state"] = seed
    return dataclasses.replace(res, extra=extra)


def _choose(z: Any, n_samples: int, minimum: int, width: int, within_method: str) -> tuple[str, dict[str, Any]]:
    """``auto``'s choice for ``z``: ``(method, record)``; ``width`` is ``d_x + d_y`` (module docstring). A
    ``within_method`` other than ``"auto"`` was typed by the user: a categorical ``z`` then stays stratified.
    """
    categorical = is_categorical(z, minimum)
    if categorical:
        codes, _ = check_strata(z, n_samples)
        if within_method != "auto":
            reason = f"z is categorical; within_method={within_method!r}"
            return "stratified", {"method": "stratified", "reason": reason}
        if np.bincount(codes).max() < minimum:
            return "ksg", {
                "method": "ksg",
                "reason": f"z is categorical but no stratum has {minimum} samples: k-NN CMI on the stratum codes",
            }
    d = width + (1 if categorical else int(np.prod(np.shape(z)[1:])))
    # the k-NN CMI's cost grows with n^2 and d (its own model); LMI's is bm.mi's (x against y, z beside the decoders)
    d_x, d_y = width // 2, width - width // 2
    costs = {
        "lmi": predicted_seconds("lmi", n_samples, width // 2, d - width // 2),
        "ksg-calibrated": ksg_cmi_calibrated_seconds(n_samples, d_x, d_y, d - width),
        "ksg": ksg_cmi_seconds(n_samples, d_x, d_y, d - width),
    }
    # the latent route compresses x and y: taken where they are too wide for the samples (a wide z alone
    # is left to the k-NN CMI), or where the k-NN CMI would cost too much
    wide = choose_method(n_samples, width, CMI_SAMPLES_PER_DIM, mixture=False) == "lmi"
    costly = choose_method(n_samples, d, CMI_SAMPLES_PER_DIM, mixture=False) != "lmi" and (
        choose_method(n_samples, d, CMI_SAMPLES_PER_DIM, costs=costs, mixture=False) == "lmi"
    )
    if wide or costly:
        kind = "categorical" if categorical else "numeric"
        why = f"{n_samples} samples for {width} columns of x and y"
        if costly:
            cal, lmi = costs["ksg-calibrated"], costs["lmi"]
            why = f"the calibrated k-NN CMI is predicted to take {cal:.0f} s, LMI {lmi:.0f} s"
        return "lmi", {"method": "lmi", "reason": f"z is {kind}; {why}: latent CMI", "predicted_seconds": costs}
    if categorical:
        return "stratified", {"method": "stratified", "reason": "z is categorical"}
    if n_samples <= d + 2:  # the twins' correlation matrix needs more samples than columns
        return "ksg", {"method": "ksg", "reason": f"z is numeric; {n_samples} samples for {d} columns: no calibration"}
    return "ksg-calibrated", {"method": "ksg-calibrated", "reason": "z is numeric"}


def _no_halves(z: Any, n_samples: int, width: int, minimum: int) -> tuple[str, dict[str, Any]]:
    """``auto``'s choice where the latent CMI it chose cannot split ``n_samples`` into LMI's halves: the plain k-NN
    CMI on all samples (on the stratum codes for a categorical ``z``, warned by :func:`_fit_z`; a numeric ``z`` is
    warned here, kind ``"few-samples"``).
    """
    why = f"{n_samples} samples are too few for LMI's halves and for calibrating {width} columns of x and y"
    if is_categorical(z, minimum):
        return "ksg", {"method": "ksg", "reason": f"z is categorical but {why}: k-NN CMI on the stratum codes"}
    message = f"method='auto': {why}; the plain k-NN CMI runs on all samples"
    warnings.warn(EstimateWarning(message, "few-samples"), stacklevel=3)
    return "ksg", {"method": "ksg", "reason": f"z is numeric; {why}: k-NN CMI"}


def _fit_z(z: Any, method: str, auto: dict[str, Any] | None) -> np.ndarray:
    """``z`` as the one-fit methods take it: stratum codes (int) for a categorical ``z`` of the latent CMI,
    else floats; ``auto``'s fallback for labels uses their codes (strata apart by >= 1e6).
    """
    if auto is not None and auto["reason"].startswith("z is categorical but"):
        codes, _ = check_strata(z, len(np.asarray(z)))
        warnings.warn(EstimateWarning(auto["reason"], "small-strata"), stacklevel=4)
        return codes.astype(np.float64).reshape(-1, 1) * 1e6
    if method == "lmi" and is_categorical(z):
        return check_strata(z, len(np.asarray(z)))[0]
    try:
        return check_array(z, name="z")
    except TypeError as err:
        raise TypeError(f"{err}; a categorical z (labels) is estimated by method='stratified'") from err


def _strata_jobs(
    codes: np.ndarray, sizes: np.ndarray, kept: np.ndarray, seeds: list[int], x_rows: np.ndarray | None = None
) -> list[FitJob]:
    jobs = []
    for s in np.flatnonzero(kept):
        rows = np.flatnonzero(codes == s)
        jobs.append(FitJob(int(s), x_rows is not None, rows if x_rows is None else x_rows[rows], rows, seeds[s]))
    return jobs


def _stratified(
    x: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    labels: list[Any],
    minimum: int,
    within_method: str,
    seed: int,
    options: dict[str, Any],
    n_jobs: int,
    progress: bool,
    error_bars: bool = False,
) -> MIResult:
    """Return the stratified estimate (see :mod:`bioinfo_mi.estimators._cmi`), with its standard error if asked."""
    sizes = np.bincount(codes, minlength=len(labels))
    kept = sizes >= minimum
    warning = small_strata_warning(sizes, kept, minimum)
    if warning is not None:
        warnings.warn(warning, stacklevel=4)
    jobs = _strata_jobs(codes, sizes, kept, spawn_seeds(seed, len(labels)))
    fits = run_fits(
        x,
        y,
        jobs,
        method=within_method,
        options=options,
        n_jobs=n_jobs,
        progress=progress,
        with_se=[error_bars] * len(jobs),
        standard_error=sampling_se if error_bars else None,
    )
    warn_fits(fits, stacklevel=4)
    weights = np.where(kept, sizes, 0) / sizes[kept].sum()
    estimates, ses = np.full(len(labels), np.nan), np.full(len(labels), np.nan)
    pmi = np.full(len(x), np.nan)
    for job, fit in zip(jobs, fits, strict=True):
        estimates[job.pairing], ses[job.pairing] = fit.mi, fit.se
        pmi[job.y_rows] = fit.pmi
    columns = {"stratum": labels, "n_samples": sizes, "estimate": estimates, "weight": weights, "kept": kept}
    if error_bars:
        columns["se"] = ses
    table = pd.DataFrame(columns)
    return MIResult(
        se=float(np.sqrt(np.sum((weights[kept] * ses[kept]) ** 2))) if error_bars else float("nan"),
        mi=float(np.nansum(weights * np.nan_to_num(estimates))),
        pmi=pmi,
        method="stratified",
        base=options.get("base", "bits"),
        n_samples=len(x),
        params={"within_method": within_method, "min_stratum_samples": minimum, **options},
        extra={"stratified": table.to_dict("list")},
    )


def _stratified_test(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    codes: np.ndarray,
    minimum: int,
    within_method: str,
    options: dict[str, Any],
    n_shuffles: int,
    seed: int,
    n_jobs: int,
    progress: bool,
) -> MIResult:
    """``res`` with the null of ``x`` permuted within the strata of ``z``."""
    sizes = np.bincount(codes)
    kept = sizes >= minimum
    weights = np.where(kept, sizes, 0) / sizes[kept].sum()
    seeds = spawn_seeds(seed, n_shuffles + 1)
    rng = np.random.default_rng(seeds[-1])
    jobs = []
    for i in range(n_shuffles):
        perm = _within_strata(codes, rng, np.flatnonzero(kept))
        for job in _strata_jobs(codes, sizes, kept, spawn_seeds(seeds[i], len(sizes)), x_rows=perm):
            jobs.append(dataclasses.replace(job, pairing=i * len(sizes) + job.pairing))
    fits = run_fits(x, y, jobs, method=within_method, options=options, n_jobs=n_jobs, progress=progress)
    null = np.zeros(n_shuffles)
    for fit in fits:
        shuffle, stratum = divmod(fit.job.pairing, len(sizes))
        null[shuffle] += weights[stratum] * fit.mi
    return _with_null(res, null, "within the strata of z")


def _knn_test(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    options: dict[str, Any],
    n_shuffles: int,
    shuffle_neighbors: int,
    seed: int,
    n_jobs: int,
    progress: bool,
    method: str = "ksg",
) -> MIResult:
    """``res`` with the null of ``x`` permuted locally in a numeric ``z`` (Runge 2018) or within the strata of
    stratum codes, each shuffle one conditional fit of ``method`` through the repeated-fit layer.
    """
    seeds = spawn_seeds(seed, n_shuffles + 1)
    rng = np.random.default_rng(seeds[-1])
    if z.dtype.kind in "iu":  # stratum codes (the latent CMI of a categorical z)
        perms = np.stack([_within_strata(z, rng) for _ in range(n_shuffles)])
        scheme = "within the strata of z"
    else:
        perms = local_permutations(z, n_shuffles, shuffle_neighbors, rng)
        scheme = f"local permutation in z (Runge 2018), shuffle_neighbors={shuffle_neighbors}"
    rows = np.arange(len(x))
    jobs = [FitJob(i, True, perms[i], rows, seeds[i], z) for i in range(n_shuffles)]
    fits = run_fits(x, y, jobs, method=method, options=options, n_jobs=n_jobs, progress=progress)
    return _with_null(res, np.array([f.mi for f in fits]), scheme)


def _within_strata(codes: np.ndarray, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """Return a permutation of the rows that moves each row only within its stratum (of ``strata``; default all)."""
    perm = np.arange(len(codes))
    for s in np.unique(codes) if strata is None else strata:
        rows = np.flatnonzero(codes == s)
        perm[rows] = rng.permutation(rows)
    return perm


def _with_null(res: MIResult, null: np.ndarray, scheme: str) -> MIResult:
    n = len(null)
    p = (1 + int(np.sum(null >= res.mi))) / (1 + n)
    permutation = {"n_shuffles": n, "resolution": 1 / (1 + n), "scheme": scheme}
    return dataclasses.replace(res, null=null, p_value=float(p), extra={**res.extra, "permutation": permutation})
