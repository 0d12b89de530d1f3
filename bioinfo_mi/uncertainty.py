"""Standard errors and permutation tests for every estimator of :func:`bioinfo_mi.mi`.

``bm.mi(x, y, error_bars=True)`` fills ``res.se`` (and ``res.ci(level)``); ``n_shuffles=n`` fills
``res.null`` and ``res.p_value``. Neither changes ``res.mi``: the estimate is computed first, with
``random_state`` exactly as without them, and the extra fits get seeds spawned from it.

Standard errors
---------------
**Subsampling** (KSG, BI-KSG, KSG-Local / -Global / -Global-L∞; Holmes & Nemenman, "Estimation of
mutual information for real-valued data with error bars and controlled bias", Phys. Rev. E 100,
022404, 2019). For every ``m`` in ``partitions`` (default 2, ..., 6) the samples are split at random
into ``m`` disjoint parts of ``n_m = n // m``, twice (``REPEATS``), and the estimator runs on each
part. Each partition gives ``B_m = n_m s_m^2`` (``s_m^2``: the sample variance of its ``m``
estimates, ``m - 1`` degrees of freedom), the variance times the sample size at ``n_m`` samples. The
parts are disjoint, so no sample appears twice (a bootstrap with replacement would put duplicates at
distance 0 and bias KSG upward), and the ``m`` parts of a partition are independent samples of size
``n_m``.

*Extrapolation to n.* Holmes & Nemenman model the variance as ``B / n`` with ``B`` constant. For KSG
``n var`` is not constant: it grows with the sample size while the estimator still resolves more of
the dependence (while its bias still falls), the more so the larger the MI and the smaller ``n``,
and it levels off as ``n var`` approaches its asymptotic constant (the variance of the estimator's
influence function). Parts of ``n / 2`` to ``n / 6`` therefore under-represent the variance at
``n``: before the extrapolation, SD / mean SE was up to 1.5 (median 1.22) on the grid of
``benchmarks/bench_error_bars.py`` (docs/benchmarks.md, "Error bars"; column ``sd_over_se_parts``).
Every ``B_m`` is extrapolated from ``n_m`` to ``n`` with the model ``log B(n) = log B_inf - 2 kappa
/ sqrt(n)`` (:func:`growth_factor`: ``B(n) / B(n_m) = exp(2 kappa (1 / sqrt(n_m) - 1 / sqrt(n)))``):
its local growth ``d log B / d log n = kappa / sqrt(n)`` vanishes as ``n`` grows, so the correction
fades where the classical ``B / n`` holds (at 1 bit: 7.5 % in variance for parts of N / 6 at N = 10 000,
3 % at 50 000), and is largest for small parts. The growth is steeper the more MI there is to
resolve: ``kappa = GROWTH_BASE + GROWTH_PER_BIT * I = 1 + 1.5 I``, ``I`` the mean estimate on the
halves in bits (the MI the estimator resolves, not the unknown truth). ``B`` is the mean of the
extrapolated ``B_m`` weighted by ``m - 1`` and ``se = sqrt(B / n)``. The growth is pooled, not
fitted per data set: the ``B_m`` of one data set (30 degrees of freedom spread over part sizes
within a factor 3) cannot measure a slope of a few tenths per e-fold of ``n``; the two constants
were set on KSG at N = 500 (Gaussians, d = 1, 3, 8 per side, 0.5-4 bits; and d = 1 at N = 2000;
exploration runs with other seeds than the benchmark's) and checked on the benchmark's grid and its
named cases. Guards: the factor is bounded by ``MAX_GROWTH_FACTOR`` (3, in variance) and never below 1.
``extra["error_bars"]`` holds ``B``, ``B_parts`` (before the extrapolation) and
``growth_factor``. It adds no fits.

The partitions give 30 degrees of freedom, so ``se`` itself is uncertain by about ``1 / sqrt(2 * 30) = 13 %``
(``extra["error_bars"]["se_rel_uncertainty"]``). Cost: the estimator on 40 parts of ``n / 2``
to ``n / 6`` samples, run in this process with every thread (KSG's counts are exact, so threads
cannot change them): with neighbour searches of cost ``O(n_m^2)`` that would be ``2 sum(1 / m) =
2.9`` times the full estimate; the pruned searches are relatively cheaper on large samples, so it is
more: 4.3-4.5 times at N = 50 000, 8 + 8 dimensions. **From** ``LARGE_N`` **= 10 000 samples on**,
where one fit takes seconds, the design is ``LARGE_PARTITIONS`` (3, ..., 6) once each
(``LARGE_REPEATS``): 18 parts, 14 degrees of freedom (``se`` uncertain by about 19 %), about 1.7
times the estimate (the halves, the dearest level, are left out; the weighting by ``m - 1`` gave
them the least weight anyway). Error bars at N = 50 000, 8 + 8: 2.6-2.7 times the estimate alone
(5.3-5.5 with the small-sample design; benchmarks/bench_ksg_speed.py). Calibration: over 48 cells of
KSG on Gaussians (d = 1, 3, 8 per side; 0.5-4 bits; N = 500-50 000; 40 data sets each, 20 at 50 000)
the median SD / mean SE is 1.01 (1.09 before the extrapolation), 42 cells lie within 0.8-1.25 and none
significantly outside (two cells extended to 200 and 60 data sets), and pooled over the 1880 data sets
var(z) = 1.14 and the 95 % coverage of the estimator's own mean 0.936 (1.35 and 0.910 before): the SE is
still about 7 % small, most at 3 + 3 and 8 + 8 dimensions; issue 27's case (3 + 3, rho 0.8, N = 1000,
40 data sets) 0.93 and 0.975 (1.46 and about 0.80 before); 2 + 2 at rho 0.6 and 8 + 8 at rho 0.5
(N = 1000, 40 data sets) 1.08 and 1.08, coverage 0.95 and 0.93. The interval is about the sampling
noise: where KSG's bias exceeds it (high dimensions, high MI) it rarely covers the truth
(docs/benchmarks.md, "Error bars").

*Small samples* (never an exception). Below ``3 * MIN_PART = 60`` samples the parts go down to
``SMALL_MIN_PART = 10`` samples, with ``SMALL_REPEATS = 5`` random partitions per number of parts
(LMI's held-out half of 113 clones has 56 pairs: parts of 11-28); below ``2 * SMALL_MIN_PART = 20``
samples no partition has two such parts, and ``se`` is the SD of the estimator's pointwise values
over ``sqrt(n)`` (one more fit on all samples), which ignores how the neighbour counts depend on
each other; below ``MIN_SE_SAMPLES = 8`` samples, or when the estimator cannot run, ``se`` is NaN.
Each of these emits ``EstimateWarning(..., "small-sample-se")`` saying which was used.
Measured (KSG, 100 data sets per size; 2 + 2 at rho 0.6 and 8 + 8 at rho 0.5): SD / mean SE
1.21-1.46 at n = 30 and 56 with the small partitions (the pointwise SD would give 1.30-1.71 on the
same data), 1.32-1.97 with the pointwise SD at n = 16: at these sizes the standard error is too small
by a third or more, and the warning says so.

**Calibrated copula KSG** (``ksg-calibrated``, and ``auto`` where it runs it). The estimate is
``ksg + G - KSG_twins``: the data's copula KSG, plus the twins' Gaussian MI ``G`` (a function of the
data's correlations), minus the twins' mean KSG. The twins are drawn from the data's correlations, so
their KSG follows ``G`` from data set to data set with a slope of about ``c = KSG_twins / G`` (KSG
resolves that share of the MI; measured slopes 0.46-0.59 at 8 + 8, N = 2000, where ``c`` is
0.53-0.55), and the correction moves by ``(1 - c)`` per unit of ``G``. The standard error is therefore
the subsampling of ``ksg + (1 - c) G`` on the same parts (``G`` of each part by its closed form), plus
the twins' own KSG noise, ``B_ksg / n_twins``; without the extrapolation across part sizes: the
twins' correction removes most of the bias whose decline drives KSG's growth of ``n var``. Where KSG
resolves nearly all of the MI (``c`` near 1, low dimensions) this is the copula KSG's subsampling
widened by ``sqrt(1 + 1 / n_twins)``, the design before issue 27; in higher dimensions the correction's
own variance counts, which the copula KSG's subsampling missed (SD / mean SE 1.41-1.45 at 8 + 8,
N = 2000, 1 and 4 bits; 1.21-1.23 with this SE). Calibration: docs/benchmarks.md, "Error bars". The SE
covers the sampling noise of the branch taken, not a switch to the uncorrected copula KSG when the
guard rejects the Gaussian model. Where the parts are too small for ``G`` (fewer samples than
columns), the copula KSG's subsampling times ``sqrt(1 + 1 / n_twins)``. When the result was capped at
the Gaussian-copula MI, subsampling of that closed-form estimate instead (not extrapolated either: a
smooth function of the sample correlations has ``n var`` constant to first order).

**Mixture-calibrated copula KSG** (``ksg-mixture``, and ``auto`` where it runs it). Where the twins' error
was subtracted, ``ksg + I_model - KSG_twins``, the design above with the mixture twins' response
``c = KSG_twins / I_model`` (the Gaussian-copula MI ``G`` of each part stands in for the mixture's MI, which
a part is too small to refit). Where the mixture was blurred until its twins read the data's KSG
(``"matched"``), the estimate is the model's MI at that KSG and moves by ``1 / c`` per unit of the data's
KSG (``c = KSG / estimate``), whatever the model does: the copula KSG's subsampling and the twins' noise,
divided by ``c``. (Session 15 shipped the copula KSG's subsampling times ``sqrt(1 + 1 / n_twins)``, which
read SD / mean SE 1.52 and 2.13 at 8 + 8, 0.5 and 2 bits, N = 2000: docs/benchmarks.md, "Session 16".)

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
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from ._docs import shared_docs
from ._fits import FitJob, run_fits
from ._parallel import spawn_seeds
from ._validation import EstimateWarning, check_positive_int, to_base
from .estimators._calibrated import span_gaussian_mi
from .estimators._cmi import ksg_cmi
from .estimators._copula import copula_transform
from .estimators._registry import REGISTRY
from .estimators._result import MIResult
from .estimators._student import student_scores_mi

__all__ = [
    "PARTITIONS",
    "growth_factor",
    "subsampling_se",
    "sampling_se",
    "add_error_bars",
    "permutation_test",
    "parametric_p_value",
    "conditional_se",
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
#: smallest part the subsampling standard error uses from ``3 * MIN_PART`` samples on
MIN_PART = 20
#: below ``3 * MIN_PART`` samples: the smallest part (the floor) and the random partitions per number of parts
SMALL_MIN_PART = 10
SMALL_REPEATS = 5
#: below ``2 * SMALL_MIN_PART`` samples the variance of the pointwise values over ``n``; below this, no SE
MIN_SE_SAMPLES = 8
#: growth of ``n var`` with the sample size: ``log B(n) = log B_inf - 2 kappa / sqrt(n)`` with
#: ``kappa = GROWTH_BASE + GROWTH_PER_BIT * I`` (``I``: the mean estimate on the halves, in bits)
GROWTH_BASE = 1.0
GROWTH_PER_BIT = 1.5
#: bound of the extrapolation factor of a partition's ``B`` (variance ratio)
MAX_GROWTH_FACTOR = 3.0
#: the k-NN CMI's ``n var`` grows faster with ``n`` than KSG's, the more so the more columns its joint space
#: of ``(x, y, z)`` has: ``kappa = min(d - CMI_GROWTH_OFFSET, CMI_GROWTH_CAP) + GROWTH_PER_BIT * I``
#: (:func:`conditional_se`; measured on Gaussians, see there)
CMI_GROWTH_OFFSET = 1.0
CMI_GROWTH_CAP = 4.5
#: methods whose standard error comes from subsampling the estimator itself (from the method registry)
SUBSAMPLED = frozenset(name for name, entry in REGISTRY.items() if entry.se_design == "subsampling")
#: methods whose standard error adds the spread of refits (from the method registry)
REFITTED = frozenset(name for name, entry in REGISTRY.items() if entry.refits)


def _design(n: int, partitions: tuple[int, ...] | None) -> tuple[tuple[int, ...], int, str]:
    """Numbers of parts, random partitions per number and the design's name for ``n`` samples.

    Explicit ``partitions`` win (with ``REPEATS``; those with parts under ``MIN_PART`` samples are
    dropped and fewer than two left is an error, as the caller asked for them). By default:
    ``LARGE_PARTITIONS`` once from ``LARGE_N`` samples on; ``PARTITIONS`` twice with parts of at least
    ``MIN_PART`` from ``3 * MIN_PART`` on; below that ``PARTITIONS`` with parts of at least
    ``SMALL_MIN_PART``, ``SMALL_REPEATS`` times (``"small"``); with no such partition ``()``.
    """
    if partitions is not None:
        explicit = tuple(int(m) for m in partitions)
        usable = tuple(m for m in explicit if n // m >= MIN_PART)
        if len(usable) < 2:
            raise ValueError(
                f"partitions={explicit}: with {n} samples fewer than two of them give parts of >= {MIN_PART} "
                f"samples; pass fewer parts or leave partitions=None"
            )
        return usable, REPEATS, "explicit"
    if n >= LARGE_N:
        return LARGE_PARTITIONS, LARGE_REPEATS, "large"
    if n >= 3 * MIN_PART:
        return tuple(m for m in PARTITIONS if n // m >= MIN_PART), REPEATS, "standard"
    return tuple(m for m in PARTITIONS if n // m >= SMALL_MIN_PART), SMALL_REPEATS, "small"


def _partition_jobs(
    n: int, partitions: tuple[int, ...], repeats: int, random_state: int | np.random.Generator | None
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


def growth_factor(part_size: Any, n_samples: int, mi_bits: float) -> np.ndarray:
    """Ratio ``B(n_samples) / B(part_size)`` of the variance model ``log B(n) = log B_inf - 2 kappa / sqrt(n)``.

    ``kappa = GROWTH_BASE + GROWTH_PER_BIT * max(mi_bits, 0)``; the ratio is bounded by
    ``MAX_GROWTH_FACTOR``. See the module docstring for the evidence.

    Parameters
    ----------
    part_size
        Sample size(s) at which ``B`` was measured.
    n_samples
        Sample size to extrapolate to.
    mi_bits
        The MI the estimator resolves (bits): the mean estimate on the largest parts.

    Returns
    -------
    The factor(s), >= 1.
    """
    return _growth(part_size, n_samples, GROWTH_BASE + GROWTH_PER_BIT * max(float(mi_bits), 0.0))


def _growth(part_size: Any, n_samples: int, kappa: float) -> np.ndarray:
    """``B(n_samples) / B(part_size)`` of the growth model with this ``kappa`` (bounded, >= 1)."""
    size = np.asarray(part_size, dtype=float)
    return np.clip(np.exp(2 * kappa * (1 / np.sqrt(size) - 1 / np.sqrt(n_samples))), 1.0, MAX_GROWTH_FACTOR)


def _fit_b(
    estimates: np.ndarray,
    parts: np.ndarray,
    n: int,
    repeats: int,
    *,
    bits_per_unit: float | None,
    kappa_base: float = GROWTH_BASE,
) -> dict[str, Any]:
    """``B`` of ``var = B(n) / n`` from the estimates on the parts, and ``se = sqrt(B(n) / n)``.

    Every partition's ``B_m = n_m s_m^2`` is extrapolated from its part size ``n_m`` to ``n`` with
    :func:`growth_factor` (``bits_per_unit=None``: no extrapolation, for smooth closed-form estimates);
    ``B`` is their mean weighted by ``m - 1``; ``kappa_base`` replaces ``GROWTH_BASE`` (the k-NN CMI's).
    """
    labels = np.unique(parts)
    ms = labels // 1000
    sizes = n // ms
    b_part = np.array([size * np.var(estimates[parts == lab], ddof=1) for size, lab in zip(sizes, labels, strict=True)])
    dof = ms - 1
    mi_bits = float("nan")
    factor = np.ones(len(ms))
    if bits_per_unit is not None:
        mi_bits = float(np.mean(estimates[parts // 1000 == ms.min()])) * bits_per_unit
        factor = _growth(sizes, n, kappa_base + GROWTH_PER_BIT * max(mi_bits, 0.0))
    b_parts = float(np.sum(dof * b_part) / np.sum(dof))
    b = float(np.sum(dof * b_part * factor) / np.sum(dof))
    return {
        "partitions": sorted(set(ms.tolist())),
        "repeats": repeats,
        "b_per_partition": [float(np.mean(b_part[ms == m])) for m in sorted(set(ms.tolist()))],
        "B_parts": b_parts,
        "growth_mi_bits": mi_bits,
        "growth_factor": b / b_parts if b_parts > 0 else 1.0,
        "B": b,
        "se": float(np.sqrt(b / n)),
        "se_rel_uncertainty": float(np.sqrt(1 / (2 * dof.sum()))),
    }


def _small_sample_warning(n: int, what: str) -> None:
    warnings.warn(
        EstimateWarning(
            f"error bars from {n} samples: {what}. The subsampling standard error needs {3 * MIN_PART} samples "
            f"(parts of >= {MIN_PART}); below that it is less reliable and tends to be too small "
            f"(benchmarks/bench_error_bars.py --parts small).",
            "small-sample-se",
        ),
        stacklevel=3,
    )


def _pointwise_se(
    x: np.ndarray, y: np.ndarray, method: str, options: dict[str, Any], random_state: int | np.random.Generator | None
) -> dict[str, Any]:
    """Compute the SD of the estimator's pointwise values over ``sqrt(n)`` (too few samples to subsample);
    NaN below ``MIN_SE_SAMPLES`` samples or when the estimator cannot run on them.
    """
    n = len(x)
    out: dict[str, Any] = {"method": "variance of the pointwise values / n", "design": "pointwise", "n": n}
    se = float("nan")
    if n >= MIN_SE_SAMPLES:
        rows = np.arange(n)
        job = FitJob(0, False, rows, rows, spawn_seeds(random_state, 1)[0])
        try:
            (fit,) = run_fits(x, y, [job], method=method, options=options, n_jobs=1, progress=False)
            scored = fit.pmi[np.isfinite(fit.pmi)]
            if len(scored) >= MIN_SE_SAMPLES:
                se = float(np.std(scored, ddof=1) / np.sqrt(len(scored)))
        except ValueError as err:  # the estimator refuses this few samples: no standard error, said below
            out["error"] = str(err)
    if np.isfinite(se):
        _small_sample_warning(
            n,
            f"too few for parts of >= {SMALL_MIN_PART} samples in two parts, so the standard error is the SD of "
            f"the pointwise values over sqrt(n), which ignores how the kNN counts depend on each other",
        )
    else:
        out["design"] = "none"
        _small_sample_warning(n, f"no standard error can be computed (se = NaN; at least {MIN_SE_SAMPLES} needed)")
    out["se"] = se
    out["B"] = se**2 * n
    return out


@shared_docs
def subsampling_se(
    x: np.ndarray,
    y: np.ndarray,
    *,
    method: str,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None = 0,
    partitions: tuple[int, ...] | None = None,
    extrapolate: bool = True,
    n_jobs: int = -1,
    progress: bool = False,
) -> dict[str, Any]:
    """Subsampling standard error of ``bm.mi(x, y, method, **options)`` (Holmes & Nemenman 2019).

    The variance on parts of ``n_m`` samples is extrapolated to ``n`` samples with
    :func:`growth_factor` (module docstring). Below ``3 * MIN_PART`` samples the parts go down to
    ``SMALL_MIN_PART`` samples, below ``2 * SMALL_MIN_PART`` the standard error is the SD of the
    pointwise values over ``sqrt(n)``, below ``MIN_SE_SAMPLES`` it is NaN; each of these with an
    :class:`~bioinfo_mi.EstimateWarning` of kind ``"small-sample-se"``. Never raises on a small sample.

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
        each from there on. Explicit partitions whose parts would hold fewer than 20 samples are
        skipped, and fewer than two left raise ``ValueError``.
    extrapolate
        Extrapolate the parts' variance to ``n`` samples (:func:`growth_factor`); False: ``B`` constant.
    {n_jobs}
    {progress}

    Returns
    -------
    dict with ``se``, ``B`` (variance times sample size, extrapolated to ``n``), ``B_parts`` (before
    the extrapolation), ``growth_factor``, ``design``, ``partitions``, ``b_per_partition`` and
    ``se_rel_uncertainty``.
    """
    n = len(x)
    usable, repeats, design = _design(n, partitions)
    if not usable:
        return _pointwise_se(x, y, method, options, random_state)
    jobs, parts, est = _part_estimates(x, y, method, options, (usable, repeats, design), random_state, n_jobs, progress)
    base = options.get("base", "bits")
    bits_per_unit = float(to_base(1.0, "bits") / to_base(1.0, base)) if extrapolate else None
    out = _fit_b(est, parts, n, repeats, bits_per_unit=bits_per_unit)
    out["method"] = "subsampling (Holmes & Nemenman 2019)"
    out["design"] = design
    return out


def _part_estimates(
    x: np.ndarray,
    y: np.ndarray,
    method: str,
    options: dict[str, Any],
    design: tuple[tuple[int, ...], int, str],
    random_state: int | np.random.Generator | None,
    n_jobs: int,
    progress: bool,
) -> tuple[list[FitJob], np.ndarray, np.ndarray]:
    """Return the partitions' jobs, their labels and ``method``'s estimate on every part (:func:`subsampling_se`)."""
    (usable, repeats, name), n = design, x.shape[0]
    jobs, parts = _partition_jobs(n, usable, repeats, random_state)
    # a part on which a side is constant (sparse or discrete columns, collapsed codes) has MI 0 by definition;
    # the estimators raise for a constant side, which is right for the caller's data but not for a part of it
    constant = np.array([_constant_rows(x, job.x_rows) or _constant_rows(y, job.y_rows) for job in jobs], dtype=bool)
    fitted = [job for job, c in zip(jobs, constant, strict=True) if not c]
    results = run_fits(x, y, fitted, method=method, options=options, n_jobs=n_jobs, progress=progress)
    est = np.zeros(len(jobs))
    est[~constant] = [r.mi for r in results]
    if not np.isfinite(est).all():
        raise ValueError(f"{method} returned a non-finite estimate on a part of the subsampling standard error")
    if name == "small":
        _small_sample_warning(
            n,
            f"the subsampling standard error used parts of {n // max(usable)}-{n // min(usable)} samples "
            f"({repeats} random partitions per number of parts)",
        )
    return jobs, np.array(parts), est


def _constant_rows(features: Any, rows: np.ndarray) -> bool:
    """Whether every column of ``features`` (an array or a sparse matrix) is constant on ``rows``."""
    block = features[rows]
    block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
    return bool(block.shape[0] == 0 or not (block.max(axis=0) > block.min(axis=0)).any())


def _closed_form_se(
    x: np.ndarray, y: np.ndarray, func: Any, random_state: int | np.random.Generator | None
) -> dict[str, Any]:
    """Subsampling standard error of a cheap closed-form estimate ``func(x, y)``, in process (no
    extrapolation across part sizes: a smooth function of the sample moments has ``n var`` constant to
    first order); NaN with a warning when no partition fits.
    """
    # no pointwise values: below the smallest design the standard error is NaN, with the warning
    return _subsampled(len(x), lambda rows, _: func(x[rows], y[rows]), np.empty(0), random_state, bits_per_unit=None)


#: least twins' response (KSG per unit of MI) that the SE of a matched mixture divides by (KSG reads a tenth of
#: the MI only far beyond the sample's reach)
_MIN_RESPONSE = 0.1


def _base_factor(res: MIResult) -> float:
    """Multiply nats by this to get ``res.base`` units."""
    return float(to_base(1.0, res.base))


def _copula_se(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None,
    n_jobs: int,
    progress: bool,
) -> tuple[float, dict[str, Any]]:
    """Return the standard error of the calibrated copula KSG: subsampling of the copula KSG and the correction
    that follows the data, or of the Gaussian-copula MI when the estimate was capped at it (module docstring); of
    the mixture-calibrated one (``ksg-mixture``) the same with the mixture twins' response (:func:`_twin_response`).
    """
    xs = copula_transform(x[:, x.std(axis=0) > 0])
    ys = copula_transform(y[:, y.std(axis=0) > 0])
    extra = res.extra
    usable = _design(len(xs), None)[0]
    # the Gaussian-copula MI of a part needs more samples than columns (a singular correlation matrix
    # otherwise): with parts that small, the copula KSG's subsampling below stands in for it
    fits = bool(usable) and len(xs) // max(usable) > xs.shape[1] + ys.shape[1] + 2
    if fits and extra.get("capped") and extra.get("gaussian_mi", -np.inf) >= extra.get("ksg", np.inf):
        info = _closed_form_se(xs, ys, span_gaussian_mi, random_state)
        info["B"] *= _base_factor(res) ** 2
        info["B_parts"] *= _base_factor(res) ** 2
        info["se"] *= _base_factor(res)
        info["what"] = "Gaussian-copula MI (the estimate was capped at it)"
        return info["se"], info
    ksg_opts = {key: options[key] for key in ("k", "jitter", "workers", "base") if key in options}
    # not extrapolated across part sizes: the twins' correction cancels most of KSG's growth of n var
    # (see the module docstring)
    if fits and extra.get("calibrated"):
        try:
            return _calibrated_se(res, xs, ys, ksg_opts, random_state, n_jobs, progress)
        except np.linalg.LinAlgError:
            pass  # x and y linearly dependent on a part: the copula KSG's subsampling below, as for small parts
    info = subsampling_se(
        xs,
        ys,
        method="ksg",
        options=ksg_opts,
        random_state=random_state,
        extrapolate=False,
        n_jobs=n_jobs,
        progress=progress,
    )
    info["what"] = "copula KSG"
    if extra.get("calibrated"):  # the twins' noise as one more KSG's
        info["se"] *= float(np.sqrt(1 + 1 / res.params["n_twins"]))
        info["what"] += ", times sqrt(1 + 1 / n_twins) for the twins"
    return info["se"], info


def _twin_response(res: MIResult) -> tuple[float, float, float]:
    """Return ``(c, share, scale)`` of a calibrated copula KSG (module docstring): ``c``, how much the twins' KSG
    moves per unit of their MI; the share of the Gaussian-copula MI that the estimate follows beside the copula
    KSG; the factor on the standard error.

    ``ksg-calibrated`` and a mixture whose twins' error was subtracted, ``ksg + I_model - KSG_twins``: the model's
    MI follows the data's dependence and the twins' KSG follows it with slope ``c``, so the estimate moves by
    ``1 - c`` per unit of it (the Gaussian-copula MI stands in for a mixture's MI on the parts). A mixture blurred
    until its twins read the data's KSG (``"matched"``): the estimate is the model's MI where the twins' KSG equals
    the data's, which moves by ``1 / c`` per unit of the data's (and of the twins') KSG, whatever the model.
    """
    extra = res.extra
    if res.method == "ksg-calibrated":
        twin_mi = float(extra["twin_mi"])
        ratio = (twin_mi + np.mean(extra["twin_errors"])) / twin_mi if twin_mi > 0 else 1.0
        c = float(np.clip(ratio, 0.0, 1.0))
        return c, 1.0 - c, 1.0
    if extra["calibration"] == "matched":  # the twins read the data's KSG at the estimate
        c = float(np.clip(extra["ksg"] / res.mi, _MIN_RESPONSE, 1.0)) if res.mi > 0 else 1.0
        return c, 0.0, 1.0 / c
    model = float(extra["mixture_mi"])
    c = float(np.clip(extra["twin_ksg"] / model, 0.0, 1.0)) if model > 0 else 1.0
    return c, 1.0 - c, 1.0


def _inflation_se(res: MIResult, c: float) -> float:
    """Return the part of a subtracted mixture calibration's standard error that comes from its measured inflation
    (``ksg-mixture``'s ``inflation_se``, 0 for one component, whose inflation is exact): the blur ``sigma0`` takes it
    off the model's MI, and the twins' KSG follows with slope ``c``, so the estimate moves by ``(1 - c)`` per unit.
    """
    if res.method != "ksg-mixture" or res.extra.get("calibration") != "subtracted":
        return 0.0
    return (1.0 - c) * float(res.extra.get("inflation_se", 0.0))


def _part_model_mi(res: MIResult) -> Callable[[np.ndarray, np.ndarray], float]:
    """Return the model MI (nats) that a calibrated copula KSG follows, as a function of a part's normal scores: the
    t-copula's, fitted to the part, where ``ksg-mixture`` calibrated on Student-t twins, else the Gaussian-copula
    MI on each side's span (which stands in for a mixture's).
    """
    if res.extra.get("twin_model") == "student-t":
        return student_scores_mi
    return span_gaussian_mi


def _calibrated_se(
    res: MIResult,
    xs: np.ndarray,
    ys: np.ndarray,
    ksg_opts: dict[str, Any],
    random_state: int | np.random.Generator | None,
    n_jobs: int,
    progress: bool,
) -> tuple[float, dict[str, Any]]:
    """Return the standard error of the calibrated copula KSG ``ksg + G - KSG_twins`` (module docstring): subsampling of
    ``ksg + (1 - c) G`` on the same parts, ``c`` the twins' KSG over their MI, plus the twins' own noise.
    """
    n = len(xs)
    design = _design(n, None)
    jobs, parts, est = _part_estimates(xs, ys, "ksg", ksg_opts, design, random_state, n_jobs, progress)
    unit = _base_factor(res)
    # on the span of each side's correlations: low-rank inputs (e.g. a few factors behind many columns)
    model_mi = _part_model_mi(res)
    g_parts = np.array([model_mi(xs[job.x_rows], ys[job.x_rows]) for job in jobs]) * unit
    c, share, scale = _twin_response(res)
    info = _fit_b(est + share * g_parts, parts, n, design[1], bits_per_unit=None)
    ksg_b = _fit_b(est, parts, n, design[1], bits_per_unit=None)["B"]
    n_twins = int(res.params["n_twins"])
    info.update(
        method="subsampling (Holmes & Nemenman 2019)",
        design=design[2],
        twin_response=c,
        B_ksg=ksg_b,
        se=float(np.hypot(scale * np.sqrt((info["B"] + ksg_b / n_twins) / n), _inflation_se(res, c))),
        what=(
            "copula KSG over the twins' response c, and the twins' KSG noise"
            if scale != 1.0
            else "copula KSG plus (1 - c) x the Gaussian-copula MI on the same parts, the twins' KSG noise and a "
            "mixture's measured inflation"
        ),
    )
    return info["se"], info


@shared_docs
def sampling_se(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None,
    n_jobs: int = -1,
    progress: bool = False,
    z: np.ndarray | None = None,
) -> tuple[float, dict[str, Any]]:
    """Compute the standard error of ``res.mi`` from the sampling of the data alone, for a fixed fit.

    KSG family: subsampling of the estimator; ``ksg-calibrated``: subsampling of the copula KSG plus the
    share of the Gaussian-copula MI that the twins' correction follows, and the twins' noise (or of the
    Gaussian-copula MI when the estimate was capped at it); LMI:
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
    z
        The conditioning sample of a conditional estimate (``res.extra["conditional"]``):
        :func:`conditional_se`.

    Returns
    -------
    ``(se, details)``.
    """
    if z is not None:
        return conditional_se(res, x, y, z=z, options=options, random_state=random_state)
    method = res.method
    design = REGISTRY[method].se_design if method in REGISTRY else None
    if design == "subsampling":
        info = subsampling_se(
            x, y, method=method, options=options, random_state=random_state, n_jobs=n_jobs, progress=progress
        )
        return info["se"], info
    if design == "copula-subsampling":
        return _copula_se(res, x, y, options, random_state, n_jobs, progress)
    if design == "latent-subsampling":
        test = res.test_idx
        info = subsampling_se(
            res.zx[test],
            res.zy[test],
            method="ksg",
            options={"k": res.params.get("k", 3), "base": res.base},
            random_state=random_state,
        )
        info["what"] = "KSG on the held-out latents"
        n_queries, n_test = int(res.extra.get("n_queries", len(test))), len(test)
        if n_queries < n_test:  # a random subset of the held-out pairs was scored: its Monte Carlo error on top
            scored = res.pmi[np.isfinite(res.pmi)]
            query_se = float(np.std(scored, ddof=1) / np.sqrt(n_queries) * np.sqrt(1 - n_queries / n_test))
            info["query_se"] = query_se
            info["se"] = float(np.hypot(info["se"], query_se))
        return info["se"], info
    if design == "pointwise":
        scored = res.pmi[np.isfinite(res.pmi)]
        return float(np.std(scored, ddof=1) / np.sqrt(len(scored))), {"method": "variance of the pointwise values / n"}
    raise ValueError(f"no error bars for method {method!r}")  # pragma: no cover - every design is covered above


def _subsampled(
    n: int,
    estimate: Any,
    pmi: np.ndarray,
    random_state: int | np.random.Generator | None,
    *,
    bits_per_unit: float | None,
    kappa_base: float = GROWTH_BASE,
) -> dict[str, Any]:
    """Subsampling standard error of ``estimate(rows, seed)`` over the partitions of ``n`` samples, in this
    process (:func:`subsampling_se`'s design, ``kappa_base`` that of :func:`_fit_b`); with too few samples
    the SD of ``pmi`` over ``sqrt(n)``, or NaN.
    """
    usable, repeats, design = _design(n, None)
    if not usable:
        scored = pmi[np.isfinite(pmi)]
        if len(scored) >= MIN_SE_SAMPLES:
            _small_sample_warning(n, "the standard error is the SD of the pointwise values over sqrt(n)")
            se = float(np.std(scored, ddof=1) / np.sqrt(len(scored)))
            return {"method": "variance of the pointwise values / n", "design": "pointwise", "se": se, "B": se**2 * n}
        _small_sample_warning(n, f"no standard error can be computed (se = NaN; at least {MIN_SE_SAMPLES} needed)")
        return {"method": "none", "design": "none", "se": float("nan"), "B": float("nan")}
    jobs, parts = _partition_jobs(n, usable, repeats, random_state)
    est = np.array([estimate(job.x_rows, job.seed) for job in jobs])
    out = _fit_b(est, np.array(parts), n, repeats, bits_per_unit=bits_per_unit, kappa_base=kappa_base)
    out["method"] = "subsampling (Holmes & Nemenman 2019)"
    out["design"] = design
    if design == "small":
        _small_sample_warning(n, f"the subsampling standard error used parts of >= {SMALL_MIN_PART} samples")
    return out


def _strata_se(
    results: dict[int, MIResult], weights: np.ndarray, data: Any, random_state: int | np.random.Generator | None
) -> tuple[float, dict[str, Any]]:
    """``sqrt(sum_z w_z^2 se_z^2)`` over the strata of a stratified estimate (independent samples);
    ``data(s)`` returns stratum ``s``'s ``(x, y, options)``.
    """
    seeds = spawn_seeds(random_state, len(weights))
    ses = {}
    for s, r in results.items():
        xs, ys, opts = data(s)
        ses[s] = sampling_se(r, xs, ys, options=opts, random_state=seeds[s])[0]
    se = float(np.sqrt(sum((weights[s] * ses[s]) ** 2 for s in ses)))
    return se, {"method": "strata combined: sqrt(sum w_z^2 se_z^2)", "stratum_se": {int(s): v for s, v in ses.items()}}


def cmi_growth_base(width: int) -> float:
    """``kappa``'s base for the k-NN CMI of a ``width``-column joint space of ``(x, y, z)``: ``min(width -
    CMI_GROWTH_OFFSET, CMI_GROWTH_CAP)``, never below ``GROWTH_BASE`` (see :func:`conditional_se`).
    """
    return float(max(GROWTH_BASE, min(width - CMI_GROWTH_OFFSET, CMI_GROWTH_CAP)))


def conditional_se(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    z: np.ndarray,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None,
) -> tuple[float, dict[str, Any]]:
    """Return the sampling standard error of a conditional MI estimate (``bm.cmi``; the tools' ``adjust_for``).

    - k-NN CMI of a numeric ``z`` (``"ksg"``): subsampling of the estimator (the design and the
      extrapolation across part sizes of :func:`subsampling_se`), with the k-NN CMI's own growth of
      ``n var``: ``kappa = min(d - 1, 4.5) + 1.5 I`` (:func:`cmi_growth_base`), ``d`` the non-constant
      columns of ``(x, y, z)``, ``I`` the mean estimate on the halves in bits. Measured on Gaussians
      (random correlations; ``n var`` over 120-160 data sets at N = 125, 250, 500, 1000, 2000, ``log B``
      fitted against ``1 / sqrt(N)``): kappa 1.9 at 1 + 1 | 1, 2.8 at 1 + 1 | 2, 3.9-4.9 at 2 + 2 | 2
      (three correlations), 4.2 at 2 + 2 | 6, 4.7 at 3 + 3 | 3, 5.1 at 5 + 5 | 5; KSG's MI model
      (``1 + 1.5 I``) gave about 1.1 there, and the SE came out 25-30 % small below N = 2000;
    - ``"ksg-calibrated"``: subsampling of the k-NN CMI on the normal scores, times
      ``sqrt(1 + 1 / n_twins)`` (``+ 1 / n_null`` inside the root where the null check removed an excess),
      not extrapolated (the calibrated MI's design before issue 27, which missed the
      correction's own variance in higher dimensions; the calibration below is at 2 + 2 | 2 only);
    - latent CMI (``"lmi"``): subsampling of the k-NN CMI of the held-out codes' normal scores given the
      held-out ``z`` (extrapolated with the k-NN CMI's growth), times the estimate's bias factor ``f`` and
      ``sqrt(1 + 1 / n_null)`` for its null-bias term (``bm.estimators.corrected_code_cmi``), or for a
      categorical ``z`` the strata's KSG standard errors on their held-out
      codes, combined as below;
    - a stratified sum (categorical ``z``): ``sqrt(sum_z w_z^2 se_z^2)``, each stratum's
      :func:`sampling_se` (the strata are independent samples).

    Calibration (``benchmarks/bench_cmi.py --parts errorbars``; SD of the estimates over independent data
    sets / mean SE): 2 + 2 | 2 Gaussians (0.075 bits), 80 data sets per N: ``ksg-calibrated`` 0.95,
    1.12, 1.12, 0.87 at N = 500, 1000, 2000, 5000; ``ksg`` (120 data sets per cell) 0.99, 1.07, 1.05,
    0.96 there and 0.84, 0.86, 1.00 at 3 + 3 | 3 (0.22 bits; N = 500, 1000, 2000), pooled var(z) 0.994
    (with KSG's kappa: 1.19 and 1.21 at 2 + 2 | 2, N = 500 and 1000); the latent CMI on 50 + 50 | 2
    columns (N = 2000, 20 data sets of one distribution; session 23, the corrected code estimate) 0.53 against
    the first fits (conservative) and 0.88 against every fit (0.92 with the plain k-NN CMI before); the
    stratified one 1.09.

    Parameters
    ----------
    res
        The conditional estimate (``extra["conditional"]``).
    x, y, z
        The samples it was computed from (``z``: stratum codes or numbers).
    options
        The estimator options it was computed with.
    random_state
        Seed of the partitions.

    Returns
    -------
    ``(se, details)``.
    """
    extra = res.extra
    k = res.params.get("k", options.get("k", 3))
    knn = {"k": k, "base": res.base}
    if res.method == "lmi":  # the latent CMI: the k-NN estimate on its held-out codes
        test = res.test_idx
        zx, zy, zc = res.zx[test], res.zy[test], extra["latent_z"]
        if res.params.get("categorical"):
            weights = np.asarray(extra["strata"]["weight"])
            fits = extra["stratum_results"]
            se, info = _strata_se(fits, weights, lambda s: (zx[zc == s], zy[zc == s], knn), random_state)
            info["what"] = "the KSG MI of the held-out codes in each stratum"
            return se, info
        params = {**knn, "n_twins": extra["n_twins"]}
        code_fit = dataclasses.replace(res, method=extra["code_estimator"], params=params, pmi=res.pmi[test])
        se, info = conditional_se(code_fit, zx, zy, z=zc, options=knn, random_state=random_state)
        info["what"] = f"{info['what']} of the held-out codes"
        return se, info
    if "stratum_results" in extra:  # the stratified sum of any method
        codes = extra["codes"]
        weights = np.asarray(extra["stratified"]["weight"])
        opts = {key: v for key, v in options.items() if key != "min_stratum_samples"}
        return _strata_se(
            extra["stratum_results"], weights, lambda s: (x[codes == s], y[codes == s], opts), random_state
        )
    za = np.asarray(z, dtype=np.float64).reshape(len(x), -1)
    bits = float(to_base(1.0, "bits") / to_base(1.0, res.base))
    if res.method == "ksg-corrected":  # the latent CMI's codes (corrected_code_cmi): C - C_0 scaled by f
        scores = [copula_transform(a[:, a.std(axis=0) > 0]) for a in (x, y, za)]
        code = extra["code_cmi"]
        scale = float(code["factor"])
        info = _subsampled(
            len(x),
            lambda rows, seed: ksg_cmi(*(a[rows] for a in scores), random_state=seed, **knn).mi,
            res.pmi / scale,
            random_state,
            bits_per_unit=bits,
            kappa_base=cmi_growth_base(sum(a.shape[1] for a in scores)),
        )
        info["what"] = "k-NN CMI on the normal scores, times the bias factor and sqrt(1 + 1 / n_null)"
        return info["se"] * scale * float(np.sqrt(1 + 1 / code["n_null"])), info
    if res.method == "ksg-calibrated":
        scores = [copula_transform(a[:, a.std(axis=0) > 0]) for a in (x, y, za)]
        info = _subsampled(
            len(x),
            lambda rows, seed: ksg_cmi(*(a[rows] for a in scores), random_state=seed, **knn).mi,
            res.pmi,
            random_state,
            bits_per_unit=None,
        )
        # the null check's excess, where one was removed, is a mean over n_null permutations (issue 31, session 24)
        n_null = int(res.params.get("n_null", 0))
        extra_var = 1 / n_null if n_null and res.extra.get("null_excess", 0.0) > 0 else 0.0
        factor = float(np.sqrt(1 + 1 / res.params["n_twins"] + extra_var))
        info["what"] = (
            "k-NN CMI on the normal scores, times sqrt(1 + 1 / n_twins [+ 1 / n_null where a null excess was removed])"
        )
        return info["se"] * factor, info
    opts = {key: options[key] for key in ("k", "jitter", "workers") if key in options}
    width = sum(int((a.std(axis=0) > 0).sum()) for a in (x.reshape(len(x), -1), y.reshape(len(y), -1), za))
    info = _subsampled(
        len(x),
        lambda rows, seed: ksg_cmi(x[rows], y[rows], za[rows], random_state=seed, base=res.base, **opts).mi,
        res.pmi,
        random_state,
        bits_per_unit=bits,
        kappa_base=cmi_growth_base(width),
    )
    info["what"] = "k-NN CMI"
    return info["se"], info


@shared_docs
def add_error_bars(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    *,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None,
    n_refits: int = 4,
    n_jobs: int = -1,
    progress: bool = False,
    z: np.ndarray | None = None,
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
    z
        The conditioning sample of a conditional estimate (``bm.cmi``): the standard error of
        :func:`conditional_se`, and the refits (latent CMI) estimate the conditional MI too.

    Returns
    -------
    A copy of ``res`` (same ``mi``) with ``se`` set.
    """
    seeds = spawn_seeds(random_state, 2)
    se, info = sampling_se(res, x, y, options=options, random_state=seeds[0], n_jobs=n_jobs, progress=progress, z=z)
    if res.method in REFITTED:
        n_refits = check_positive_int(n_refits, name="n_refits")
        rows = np.arange(len(x))
        jobs = [FitJob(i, False, rows, rows, s, z) for i, s in enumerate(spawn_seeds(seeds[1], n_refits))]
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
    random_state: int | np.random.Generator | None,
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
    Calibration (``benchmarks/bench_error_bars.py --parts null``; KSG on independent 2 + 2 Gaussians,
    N = 500, 300 data sets; docs/benchmarks.md): with 2, 5 and 19 shuffles, 0.087, 0.077 and 0.067 of
    the p-values fell below 0.05 and 0.017, 0.020 and 0.007 below 0.01; a KS test did not reject
    uniformity (p = 0.25, 0.19, 0.69). The excess at 0.05 (binomial SD 0.013) goes with the right skew
    of KSG's estimates on independent data (skewness 0.28 over those data sets), which a normal-theory
    test cannot see: from 2-5 shuffles, read p < 0.05 as about p < 0.08.

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
