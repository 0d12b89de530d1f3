"""Standard errors and permutation tests for every estimator of :func:`bioinfo_mi.mi`.

``bm.mi(x, y, error_bars=True)`` fills ``res.se`` (and ``res.ci(level)``); ``n_shuffles=n`` fills
``res.null`` and ``res.p_value``. Neither changes ``res.mi``: the estimate is computed first, with
``random_state`` exactly as without them, and the extra fits get seeds spawned from it.

Standard errors
---------------
**Subsampling** (KSG, BI-KSG, KSG-Local / -Global / -Global-L∞; Holmes & Nemenman, "Estimation of
mutual information for real-valued data with error bars and controlled bias", Phys. Rev. E 100,
022404, 2019). For every ``m`` in ``partitions`` (default 2, ..., 6) the samples are split at random
into ``m`` disjoint parts of ``n // m``, twice (``REPEATS``), and the estimator runs on each part. The
variance of an estimate from ``n_m = n // m`` samples is modelled as ``B / n_m``: each partition
gives ``B_m = n_m s_m^2`` (``s_m^2``: the sample variance of its ``m`` estimates, ``m - 1`` degrees of
freedom), ``B`` is their mean weighted by ``m - 1`` and ``se = sqrt(B / n)``. The parts are disjoint,
so no sample appears twice (a bootstrap with replacement would put duplicates at distance 0 and bias
KSG upward). The partitions give 30 degrees of freedom, so ``se`` itself is uncertain by about
``1 / sqrt(2 * 30) = 13 %`` (``extra["error_bars"]["se_rel_uncertainty"]``). Parts stop at ``n / 6``:
KSG's ``n_m s_m^2`` still grows with ``n_m`` there (on 2 + 2 Gaussians, N = 500-2000, parts of
``n / 10`` gave 15-20 % less than the variance at ``N``), and the larger the parts, the smaller that
bias. Cost: the estimator on 40 parts of ``n / 2`` to ``n / 6`` samples, run in this process with
every thread (KSG's counts are exact, so threads cannot change them): with neighbour searches of
cost ``O(n_m^2)`` that would be ``2 sum(1 / m) = 2.9`` times the full estimate; the pruned searches
are relatively cheaper on large samples, so it is more: 4.3-4.5 times at N = 50 000, 8 + 8
dimensions. **From** ``LARGE_N`` **= 10 000 samples on**, where one fit takes seconds, the design is
``LARGE_PARTITIONS`` (3, ..., 6) once each (``LARGE_REPEATS``): 18 parts, 14 degrees of freedom
(``se`` uncertain by about 19 %), about 1.7 times the estimate (the halves, the dearest level,
are left out; the weighting by ``m - 1`` gave them the least weight anyway). Calibration over 60
data sets of 2 + 2 Gaussians (rho 0.6, N = 20 000): SD / mean SE 0.91, coverage 0.97; 40 data sets
of 8 + 8 (rho 0.5): 1.19, 0.88 (benchmarks/bench_error_bars.py, cases ``ksg-large`` and
``ksg-8d-large``). Error bars at N = 50 000, 8 + 8: 2.6-2.7 times the estimate alone (5.3-5.5 with the small-sample
design; benchmarks/bench_ksg_speed.py).

**Calibrated copula KSG** (``ksg-calibrated``, and ``auto`` where it runs it): subsampling of plain
KSG on the normal scores, times ``sqrt(1 + 1 / n_twins)`` for the noise of the twins' correction
(each twin's KSG is as noisy as the data's). When the result was capped at the Gaussian-copula MI,
subsampling of that closed-form estimate instead.

**Refits** (LMI, MINE, InfoNCE; also ``auto`` where it runs LMI): ``n_refits`` (default 4) more fits
on the same data with their own seeds, hence their own train/test split, initialisation and
mini-batches. ``se^2`` is the variance over the ``1 + n_refits`` fits (training and split
variability, including which samples are held out) plus the variability of the data set itself:
the sampling variance of the held-out part (for LMI the subsampling variance of KSG on the held-out
latents, as latentmi computes its error bars; for MINE / InfoNCE the variance of the pointwise
values over their number) scaled from the ``n_scored`` held-out samples to all ``n`` (the mean
over splits uses every sample). Adding that variance unscaled counted the held-out sampling noise
twice: LMI on Algorithm 4 (d = 100, 1 bit, N = 2000, 30 data sets) had SD / mean SE = 0.73.
Cost: ``n_refits`` fits (plus KSG partitions on the ``n / 2`` held-out latent pairs for LMI).

Permutation test
----------------
``n_shuffles`` fits of the same estimator (the one ``auto`` chose) on ``(x, y[perm])`` with fresh
permutations and seeds; ``p_value = (1 + #{null >= mi}) / (1 + n_shuffles)``, so the smallest
possible value is ``1 / (1 + n_shuffles)``. Shuffles, refits and partitions run through the
package's repeated-fit layer (parallel with ``n_jobs``, seeds by position: the numbers do not depend
on ``n_jobs``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import stats

from ._docs import shared_docs
from ._fits import FitJob, run_fits, spawn_seeds
from ._validation import check_positive_int
from .estimators._copula import copula_transform, gaussian_mi
from .estimators._result import MIResult

__all__ = [
    "PARTITIONS",
    "subsampling_se",
    "sampling_se",
    "add_error_bars",
    "permutation_test",
    "parametric_p_value",
    "SUBSAMPLED",
    "REFITTED",
]

#: numbers of disjoint parts of the subsampling standard error
PARTITIONS: tuple[int, ...] = (2, 3, 4, 5, 6)
#: independent random partitions per number of parts
REPEATS = 2
#: from this many samples on, the cheaper design below (the fits cost seconds there)
LARGE_N = 10_000
#: numbers of parts and random partitions per number from ``LARGE_N`` samples on (14 degrees of freedom)
LARGE_PARTITIONS: tuple[int, ...] = (3, 4, 5, 6)
LARGE_REPEATS = 1
#: smallest part the subsampling standard error uses
MIN_PART = 20
#: methods whose standard error comes from subsampling the estimator itself
SUBSAMPLED = frozenset({"ksg", "bi-ksg", "ksg-local", "ksg-global", "ksg-global-linf"})
#: methods whose standard error comes from refits
REFITTED = frozenset({"lmi", "mine", "mine-local", "mine-global", "mine-global-corrected", "infonce"})


def _design(n: int, partitions: tuple[int, ...] | None) -> tuple[tuple[int, ...], int]:
    """Numbers of parts and random partitions per number for ``n`` samples (explicit ``partitions``
    win, with ``REPEATS``).
    """
    if partitions is not None:
        return tuple(int(m) for m in partitions), REPEATS
    if n >= LARGE_N:
        return LARGE_PARTITIONS, LARGE_REPEATS
    return PARTITIONS, REPEATS


def _partition_jobs(
    n: int, partitions: tuple[int, ...], repeats: int, random_state: Any
) -> tuple[list[FitJob], list[int]]:
    """``repeats`` random partitions into ``m`` disjoint parts for every ``m``: one job per part;
    ``parts`` labels each job with its partition (``(m, repeat)``, encoded ``m * 1000 + repeat``).
    """
    seeds = spawn_seeds(random_state, repeats * sum(partitions) + 1)
    rng = np.random.default_rng(seeds[-1])
    jobs, parts = [], []
    for m in partitions:
        for r in range(repeats):
            order = rng.permutation(n)[: (n // m) * m].reshape(m, n // m)
            for rows in order:
                jobs.append(FitJob(m, False, np.sort(rows), np.sort(rows), seeds[len(jobs)]))
                parts.append(m * 1000 + r)
    return jobs, parts


def _usable_partitions(n: int, partitions: tuple[int, ...]) -> tuple[int, ...]:
    usable = tuple(m for m in partitions if n // m >= MIN_PART)
    if len(usable) < 2:
        raise ValueError(
            f"error_bars needs at least {3 * MIN_PART} samples for the subsampling standard error (parts of "
            f">= {MIN_PART} samples in at least two partitions); got {n}"
        )
    return usable


def _fit_b(estimates: np.ndarray, parts: np.ndarray, n: int, repeats: int) -> dict[str, Any]:
    """``B`` of ``var = B / n_m`` from the estimates on the parts, and ``se = sqrt(B / n)``."""
    labels = np.unique(parts)
    ms = labels // 1000
    b_part = np.array([(n // m) * np.var(estimates[parts == lab], ddof=1) for m, lab in zip(ms, labels, strict=True)])
    dof = ms - 1
    b = float(np.sum(dof * b_part) / np.sum(dof))
    return {
        "partitions": sorted(set(ms.tolist())),
        "repeats": repeats,
        "b_per_partition": [float(np.mean(b_part[ms == m])) for m in sorted(set(ms.tolist()))],
        "B": b,
        "se": float(np.sqrt(b / n)),
        "se_rel_uncertainty": float(np.sqrt(1 / (2 * dof.sum()))),
    }


@shared_docs
def subsampling_se(
    x: np.ndarray,
    y: np.ndarray,
    *,
    method: str,
    options: dict[str, Any],
    random_state: Any = 0,
    partitions: tuple[int, ...] | None = None,
    n_jobs: int = -1,
    progress: bool = False,
) -> dict[str, Any]:
    """Subsampling standard error of ``bm.mi(x, y, method, **options)`` (Holmes & Nemenman 2019).

    Parameters
    ----------
    x, y
        Paired samples (validated arrays).
    method, options
        The estimator and its options, as for :func:`bioinfo_mi.mi`.
    random_state
        Seed of the partitions and of the fits on the parts.
    partitions
        Numbers of disjoint parts (each >= 2), each used :data:`REPEATS` times; default
        :data:`PARTITIONS` twice each below :data:`LARGE_N` samples, :data:`LARGE_PARTITIONS` once
        each from there on. Partitions whose parts would hold fewer than 20 samples are skipped.
    {n_jobs}
    {progress}

    Returns
    -------
    dict with ``se``, ``B`` (variance times sample size), ``partitions``, ``b_per_partition`` and
    ``se_rel_uncertainty``.
    """
    n = len(x)
    partitions, repeats = _design(n, partitions)
    usable = _usable_partitions(n, partitions)
    jobs, parts = _partition_jobs(n, usable, repeats, random_state)
    results = run_fits(x, y, jobs, method=method, options=options, n_jobs=n_jobs, progress=progress)
    est = np.array([r.mi for r in results])
    if not np.isfinite(est).all():
        raise ValueError(f"{method} returned a non-finite estimate on a part of the subsampling standard error")
    out = _fit_b(est, np.array(parts), n, repeats)
    out["method"] = "subsampling (Holmes & Nemenman 2019)"
    return out


def _closed_form_se(x: np.ndarray, y: np.ndarray, func: Any, random_state: Any) -> dict[str, Any]:
    """Subsampling standard error of a cheap closed-form estimate ``func(x, y)``, in process."""
    n = len(x)
    partitions, repeats = _design(n, None)
    usable = _usable_partitions(n, partitions)
    jobs, parts = _partition_jobs(n, usable, repeats, random_state)
    est = np.array([func(x[j.x_rows], y[j.y_rows]) for j in jobs])
    out = _fit_b(est, np.array(parts), n, repeats)
    out["method"] = "subsampling (Holmes & Nemenman 2019)"
    return out


def _base_factor(res: MIResult) -> float:
    """Multiply nats by this to get ``res.base`` units."""
    from ._validation import to_base

    return float(to_base(1.0, res.base))


@shared_docs
def sampling_se(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: dict[str, Any],
    random_state: Any,
    n_jobs: int = -1,
    progress: bool = False,
) -> tuple[float, dict[str, Any]]:
    """Compute the standard error of ``res.mi`` from the sampling of the data alone, for a fixed fit.

    KSG family: subsampling of the estimator; ``ksg-calibrated``: subsampling of the copula KSG (or
    of the Gaussian-copula MI when the estimate was capped at it), widened for the twins; LMI:
    subsampling of KSG on the held-out latents; MINE / InfoNCE: the variance of the pointwise values
    over ``n``. See the module docstring.

    Parameters
    ----------
    res
        The estimate.
    x, y
        The (transformed) inputs it was computed from.
    options
        The estimator options it was computed with.
    random_state
        Seed of the partitions.
    {n_jobs}
    {progress}

    Returns
    -------
    ``(se, details)``.
    """
    method = res.method
    if method in SUBSAMPLED:
        info = subsampling_se(
            x, y, method=method, options=options, random_state=random_state, n_jobs=n_jobs, progress=progress
        )
        return info["se"], info
    if method == "ksg-calibrated":
        xs = copula_transform(x[:, x.std(axis=0) > 0])
        ys = copula_transform(y[:, y.std(axis=0) > 0])
        extra = res.extra
        if extra.get("capped") and extra.get("gaussian_mi", -np.inf) >= extra.get("ksg", np.inf):
            info = _closed_form_se(xs, ys, gaussian_mi, random_state)
            info["B"] *= _base_factor(res) ** 2
            info["se"] *= _base_factor(res)
            info["what"] = "Gaussian-copula MI (the estimate was capped at it)"
            return info["se"], info
        ksg_opts = {key: options[key] for key in ("k", "jitter", "workers", "base") if key in options}
        info = subsampling_se(
            xs, ys, method="ksg", options=ksg_opts, random_state=random_state, n_jobs=n_jobs, progress=progress
        )
        factor = float(np.sqrt(1 + 1 / res.params["n_twins"])) if extra.get("calibrated") else 1.0
        info["what"] = "copula KSG" + (", times sqrt(1 + 1 / n_twins) for the twins" if factor != 1 else "")
        return info["se"] * factor, info
    if method == "lmi":
        test = res.test_idx
        info = subsampling_se(
            res.zx[test],
            res.zy[test],
            method="ksg",
            options={"k": res.params.get("k", 3), "base": res.base},
            random_state=random_state,
        )
        info["what"] = "KSG on the held-out latents"
        return info["se"], info
    if method in REFITTED:
        scored = res.pmi[np.isfinite(res.pmi)]
        return float(np.std(scored, ddof=1) / np.sqrt(len(scored))), {"method": "variance of the pointwise values / n"}
    raise ValueError(f"no error bars for method {method!r}")  # pragma: no cover - METHODS are covered above


@shared_docs
def add_error_bars(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: dict[str, Any],
    random_state: Any,
    n_refits: int = 4,
    n_jobs: int = -1,
    progress: bool = False,
) -> MIResult:
    """``res`` with ``se`` filled in and the details in ``extra["error_bars"]`` (see the module docstring).

    Parameters
    ----------
    res
        The estimate, from ``bm.mi(x, y, method=res.method, random_state=random_state, **options)``.
    x, y
        The (transformed) inputs it was computed from.
    options
        The estimator options it was computed with.
    random_state
        Seed from which the partitions' and refits' seeds are spawned.
    n_refits
        Extra fits of the refitted methods (LMI, MINE, InfoNCE).
    {n_jobs}
    {progress}

    Returns
    -------
    A copy of ``res`` (same ``mi``) with ``se`` set.
    """
    seeds = spawn_seeds(random_state, 2)
    se, info = sampling_se(res, x, y, options=options, random_state=seeds[0], n_jobs=n_jobs, progress=progress)
    if res.method in REFITTED:
        n_refits = check_positive_int(n_refits, name="n_refits")
        rows = np.arange(len(x))
        jobs = [FitJob(i, False, rows, rows, s) for i, s in enumerate(spawn_seeds(seeds[1], n_refits))]
        fits = run_fits(x, y, jobs, method=res.method, options=options, n_jobs=n_jobs, progress=progress)
        values = np.array([res.mi] + [f.mi for f in fits])
        var_fit = float(np.var(values, ddof=1))
        # the refits already vary which samples are held out; what they cannot show is the variability of
        # the data set itself, i.e. of the mean over all splits, which uses every sample: the held-out
        # sampling variance (n_scored samples) scaled to all n samples
        scale = res.n_scored / res.n_samples
        info = {
            "method": "refits",
            "n_refits": n_refits,
            "refit_estimates": values[1:].tolist(),
            "fit_sd": float(np.sqrt(var_fit)),
            "sampling_se": float(se),
            "sampling_scale": scale,
            "sampling": info,
        }
        se = float(np.sqrt(var_fit + scale * se**2))
    return dataclasses.replace(res, se=float(se), extra={**res.extra, "error_bars": info})


@shared_docs
def permutation_test(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: dict[str, Any],
    n_shuffles: int,
    random_state: Any,
    n_jobs: int = -1,
    progress: bool = False,
) -> MIResult:
    """``res`` with the shuffled estimates (``null``) and the permutation ``p_value``.

    Parameters
    ----------
    res
        The estimate on the real pairing.
    x, y
        Its (transformed) inputs.
    options
        The estimator options it was computed with.
    n_shuffles
        Number of shuffled pairings.
    random_state
        Seed from which the permutations and the fits' seeds are spawned.
    {n_jobs}
    {progress}

    Returns
    -------
    A copy of ``res`` (same ``mi``) with ``null`` (``(n_shuffles,)``) and ``p_value`` set.
    """
    n_shuffles = check_positive_int(n_shuffles, name="n_shuffles")
    seeds = spawn_seeds(random_state, n_shuffles + 1)
    rng = np.random.default_rng(seeds[-1])
    rows = np.arange(len(x))
    jobs = [FitJob(i, True, rows, rng.permutation(len(y)), seeds[i]) for i in range(n_shuffles)]
    fits = run_fits(x, y, jobs, method=res.method, options=options, n_jobs=n_jobs, progress=progress)
    null = np.array([f.mi for f in fits])
    p = (1 + int(np.sum(null >= res.mi))) / (1 + n_shuffles)
    return dataclasses.replace(
        res,
        null=null,
        p_value=float(p),
        extra={**res.extra, "permutation": {"n_shuffles": n_shuffles, "resolution": 1 / (1 + n_shuffles)}},
    )


def parametric_p_value(estimate: float, null: Any) -> float:
    """One-sided parametric p-value of ``estimate`` against shuffled estimates, with the null's SD estimated.

    The shuffled estimates ``null`` (``n`` values) are taken as draws from a normal distribution
    whose mean and SD are unknown; ``estimate`` is tested as one more draw from it. Under that
    null, ``t = (estimate - mean(null)) / (sd(null) * sqrt(1 + 1 / n))`` follows Student's t with
    ``n - 1`` degrees of freedom (the prediction interval of a normal sample), so the p-value is
    ``P(T_{n-1} >= t)``. A z-test with the plug-in SD treats ``sd(null)`` as exact: from 2-5
    shuffles it reported p-values of 1e-21 to 1e-270 where the empirical p-value could only say
    0.17-0.33. With 2 shuffles (1 degree of freedom, a Cauchy tail) the test is weak by design.
    Assumptions: the shuffled estimates are independent and roughly normal (true of KSG / LMI
    estimates on independent data away from tiny samples); an estimate that averages several
    real fits has a smaller variance than one draw, so for such a mean the test is conservative.
    Calibration: ``benchmarks/bench_error_bars.py`` (uniform under the null).

    Parameters
    ----------
    estimate
        The estimate on the real pairing (or the mean over real pairings).
    null
        The estimates on shuffled pairings.

    Returns
    -------
    The p-value; NaN with fewer than 2 shuffles or when they are all equal (no spread to test against).
    """
    null = np.asarray(null, dtype=float)
    n = len(null)
    if n < 2 or not np.isfinite(null).all() or not np.isfinite(estimate):
        return float("nan")
    sd = float(np.std(null, ddof=1))
    if sd <= 0:
        return float("nan")
    t = (float(estimate) - float(np.mean(null))) / (sd * np.sqrt(1 + 1 / n))
    return float(stats.t.sf(t, df=n - 1))
