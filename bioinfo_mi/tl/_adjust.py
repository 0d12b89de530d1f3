"""``adjust_for`` of the tl tools: the conditional MI ``I(X; Y | Z)`` of every pairing beside the unconditional one.

What ``Z`` is for a pair
    ``adjust_for`` names obs columns (cell type, batch, well, a covariate) or one obsm entry (e.g. a
    composition or a PCA of the covariates). Each pair of cells (an early and a late cell of one
    clone, two sisters, or the two sides of one row of paired data) gets the values of both of its
    cells: labels become the pair's label ``"a|b"``, numbers the two cells' columns side by side.
    Where every real pair's two cells carry the same value (a clone-level variable such as the well,
    and always on paired data, where one row is one pair), the pair gets that value once.

The conditional fits
    For every real pairing, one fit of :func:`bioinfo_mi.estimators._cmi.conditional_estimate` on the
    same cells, with its own seed: the latent CMI for ``method="lmi"`` (LMI's codes, the k-NN CMI of
    the held-out codes given ``Z``), the k-NN CMI for ``"ksg"`` and ``"ksg-calibrated"`` with a
    numeric ``Z``, and the stratified sum over the strata of a categorical ``Z`` for any other method.

Conditional shuffles
    The null of ``I(X; Y | Z) = 0`` keeps how X and Y each depend on Z: shuffle ``j`` takes real
    pairing ``j mod n_pairings`` and permutes its late cells within the strata of the pairs' ``Z``
    (categorical), or by the local permutation of Runge (2018) among the 5 nearest pairs in ``Z``
    (numeric; :func:`bioinfo_mi.conditional.local_permutations`). The pairs keep their ``Z``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .._fits import FitJob, FitResult, run_fits
from .._parallel import spawn_seeds
from ..conditional import local_permutations
from ..uncertainty import sampling_se
from ._utils import split_fits

__all__ = [
    "Adjustment",
    "check_adjust_for",
    "conditional_jobs",
    "tool_conditional_jobs",
    "run_tool_fits",
    "SHUFFLE_NEIGHBORS",
]

#: neighbours in Z among which the local permutation of a numeric Z draws (Runge 2018 uses 5-10)
SHUFFLE_NEIGHBORS = 5
#: the methods that estimate I(X; Y | Z) for a numeric Z in one fit
NUMERIC_METHODS = ("lmi", "ksg", "ksg-calibrated")


@dataclass(frozen=True)
class Adjustment:
    """The conditioning variable of every cell: ``codes`` (categorical, with ``labels``) or ``values`` (numeric)."""

    adjust_for: list[str]
    categorical: bool
    codes: np.ndarray | None
    labels: list[Any] | None
    values: np.ndarray | None


def check_adjust_for(
    adata: AnnData, adjust_for: str | Sequence[str] | None, method: str, *, attribution: str | None = None
) -> Adjustment | None:
    """Validate ``adjust_for`` before any fit and read the conditioning variable of every cell.

    Parameters
    ----------
    adata
        The tool's AnnData.
    adjust_for
        One obs column, several obs columns (all categorical, combined into one label, or all numeric),
        or one obsm key (numeric); None: no adjustment.
    method
        The tool's estimator.
    attribution
        The tool's attribution score: with an adjustment only ``"cross_r2"``, which the conditional fits
        compute beyond ``Z`` (:func:`bioinfo_mi.estimators.attribution`).

    Returns
    -------
    The :class:`Adjustment`, or None.
    """
    if adjust_for is None:
        return None
    if attribution is not None and attribution != "cross_r2":
        raise ValueError(
            f"attribution={attribution!r} has no conditional version; with adjust_for use attribution=True "
            "('cross_r2', computed beyond the adjustment)"
        )
    is_list = isinstance(adjust_for, Sequence) and not isinstance(adjust_for, bytes)
    names = [adjust_for] if isinstance(adjust_for, str) else list(adjust_for) if is_list else []
    if not names or not all(isinstance(n, str) for n in names):
        raise TypeError(f"adjust_for must be an obs column, a list of obs columns or an obsm key, got {adjust_for!r}")
    if len(names) == 1 and names[0] not in adata.obs.columns and names[0] in adata.obsm:
        values = np.asarray(adata.obsm[names[0]], dtype=np.float64).reshape(adata.n_obs, -1)
        return _numeric(names, values, method)
    missing = [n for n in names if n not in adata.obs.columns]
    if missing:
        raise KeyError(
            f"adjust_for {missing} not found in obs or obsm; obs columns: {list(adata.obs.columns)}, "
            f"obsm keys: {list(adata.obsm.keys())}"
        )
    frame = adata.obs[names]
    numeric = [pd.api.types.is_float_dtype(frame[n]) for n in names]
    if all(numeric):
        return _numeric(names, frame.to_numpy(dtype=np.float64), method)
    if any(numeric):
        raise ValueError(
            f"adjust_for mixes numeric {[n for n, f in zip(names, numeric, strict=True) if f]} and categorical "
            f"{[n for n, f in zip(names, numeric, strict=True) if not f]} obs columns; adjust for one kind at a time"
        )
    joined = frame.astype(str).agg("/".join, axis=1).where(frame.notna().all(axis=1)) if len(names) > 1 else None
    labels = frame[names[0]] if joined is None else joined
    codes, uniques = pd.factorize(labels, sort=True)  # a missing label is -1: refused where a fit would use it
    return Adjustment(names, True, codes.astype(np.int64), list(uniques), None)


def _numeric(names: list[str], values: np.ndarray, method: str) -> Adjustment:
    if method.lower() not in NUMERIC_METHODS:
        raise ValueError(
            f"adjust_for {names} is numeric: method={method!r} has no conditional version for it; use one of "
            f"{list(NUMERIC_METHODS)}, or a categorical adjust_for (estimated stratum by stratum)"
        )
    return Adjustment(names, False, None, None, values)


def _pair_z(adj: Adjustment, jobs: Sequence[FitJob]) -> tuple[list[np.ndarray], str]:
    """Return the z of every job's pairs and how it was formed: ``"shared"`` (both cells carry the same value in every
    job) or ``"both cells"``.
    """
    cell = adj.codes if adj.categorical else adj.values
    used = np.unique(np.concatenate([np.r_[j.x_rows, j.y_rows] for j in jobs]))
    bad = (cell[used] < 0) if adj.categorical else ~np.isfinite(cell[used]).all(axis=1)  # type: ignore[index]
    if bad.any():
        raise ValueError(
            f"adjust_for {adj.adjust_for}: {int(bad.sum())} of the {len(used)} cells the pairings use have missing "
            f"values; fill them or leave those cells out (restrict=)"
        )
    if not adj.categorical and not (cell[used].std(axis=0) > 0).any():  # type: ignore[index]
        raise ValueError(f"adjust_for {adj.adjust_for} is constant on the cells the pairings use: nothing to adjust")
    shared = all(np.array_equal(cell[j.x_rows], cell[j.y_rows]) for j in jobs)  # type: ignore[index]
    if shared:
        out = [cell[j.x_rows] for j in jobs]  # type: ignore[index]
    elif adj.categorical:
        n = len(adj.labels)  # type: ignore[arg-type]
        out = [cell[j.x_rows] * n + cell[j.y_rows] for j in jobs]  # type: ignore[index]
    else:
        out = [np.hstack([cell[j.x_rows], cell[j.y_rows]]) for j in jobs]  # type: ignore[index]
    if adj.categorical:  # consecutive codes for each job (the strata it has)
        out = [np.unique(z, return_inverse=True)[1].astype(np.int64) for z in out]
    return out, "shared" if shared else "both cells"


def conditional_jobs(
    adj: Adjustment, real: Sequence[FitJob], n_shuffles: int, random_state: int
) -> tuple[list[FitJob], str]:
    """Return the conditional fits of the real pairings and the conditional shuffles (module docstring).

    Parameters
    ----------
    adj
        From :func:`check_adjust_for`.
    real
        The real (unshuffled) jobs of the tool.
    n_shuffles
        Conditional shuffles.
    random_state
        Root seed of the conditional fits and shuffles.

    Returns
    -------
    ``(jobs, how)``: the real pairings' conditional jobs, then the shuffles; ``how`` says how a pair's Z
    was formed (``"shared"`` or ``"both cells"``).
    """
    zs, how = _pair_z(adj, real)
    seeds = spawn_seeds(random_state, len(real) + n_shuffles + 1)
    rng = np.random.default_rng(seeds[-1])
    jobs = [replace(job, seed=seeds[i], z=z) for i, (job, z) in enumerate(zip(real, zs, strict=True))]
    for j in range(n_shuffles):
        base, z = real[j % len(real)], zs[j % len(real)]
        if adj.categorical:
            perm = np.arange(len(z))
            for s in np.unique(z):
                rows = np.flatnonzero(z == s)
                perm[rows] = rng.permutation(rows)
        else:
            perm = local_permutations(z, 1, SHUFFLE_NEIGHBORS, rng)[0]
        jobs.append(FitJob(j, True, base.x_rows, np.asarray(base.y_rows)[perm], seeds[len(real) + j], z))
    return jobs, how


def tool_conditional_jobs(
    adj: Adjustment | None, parts: Sequence[Sequence[FitJob]], n_shuffles: int, random_state: int
) -> tuple[list[FitJob] | None, list[str], list[int]]:
    """Return the conditional jobs of a tool's comparisons (``parts``: the jobs of each), each built from its real
    pairings on its own seed stream (spawned from ``random_state`` after the one the tool's own fits use,
    so that those are unchanged), how each formed a pair's Z, and how many jobs each has;
    ``(None, [], [])`` without an adjustment.
    """
    if adj is None:
        return None, [], []
    jobs: list[FitJob] = []
    how, sizes = [], []
    for part, seed in zip(parts, spawn_seeds(random_state, len(parts) + 1)[1:], strict=True):
        made, formed = conditional_jobs(adj, [j for j in part if not j.shuffled], n_shuffles, seed)
        jobs += made
        how.append(formed)
        sizes.append(len(made))
    return jobs, how, sizes


def run_tool_fits(
    x_features: Any,
    y_features: Any,
    jobs: list[FitJob],
    cond_jobs: list[FitJob] | None,
    *,
    fits: Sequence[int] | None,
    error_bars: bool,
    attribution: str | None,
    **run: Any,
) -> tuple[list[FitResult], list[FitResult]]:
    """Run a tool's fits and, with ``cond_jobs``, its conditional fits (numbered after the others in ``fits``),
    each real fit with its sampling standard error when ``error_bars``.

    Parameters
    ----------
    x_features, y_features, jobs
        As for :func:`bioinfo_mi._fits.run_fits`.
    cond_jobs
        The conditional jobs of :func:`conditional_jobs`, or None.
    fits
        The tool's ``fits`` positions (over ``jobs``, then ``cond_jobs``).
    error_bars
        Add each real fit's :func:`bioinfo_mi.uncertainty.sampling_se`.
    attribution
        The attribution score of every fit, if any (the conditional fits' beyond their ``z``).
    **run
        ``method``, ``options``, ``n_jobs``, ``progress``, ``cache_dir`` of :func:`~bioinfo_mi._fits.run_fits`.

    Returns
    -------
    ``(results, adjusted)``: the fits of ``jobs`` and of ``cond_jobs`` (empty without them).
    """
    positions = split_fits(fits, len(jobs)) if cond_jobs is not None else (fits, None)
    run = dict(run, standard_error=sampling_se)
    results = run_fits(
        x_features,
        y_features,
        jobs,
        fits=positions[0],
        with_se=[error_bars and not job.shuffled for job in jobs],
        attribution=attribution,
        **run,
    )
    if cond_jobs is None:
        return results, []
    with_se = [error_bars and not job.shuffled for job in cond_jobs]
    adjusted = run_fits(
        x_features, y_features, cond_jobs, fits=positions[1], with_se=with_se, attribution=attribution, **run
    )
    return results, adjusted
