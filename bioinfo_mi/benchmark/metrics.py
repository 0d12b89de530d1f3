"""Accuracy metrics of MI estimates against the truth (LMI paper Fig. 2-4; scale-invariance paper Section 6.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._docs import shared_docs

__all__ = ["mse", "bias", "normalized_rmse", "spearman", "kendall_tau", "summarize"]


def _pair(estimate: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    est, tru = np.asarray(estimate, dtype=np.float64).ravel(), np.asarray(truth, dtype=np.float64).ravel()
    if est.shape != tru.shape:
        raise ValueError(f"estimate and truth must have the same length, got {est.size} and {tru.size}")
    if est.size == 0:
        raise ValueError("estimate and truth are empty")
    if not np.isfinite(tru).all():
        raise ValueError("truth contains NaN or infinite values")
    return est, tru


@shared_docs
def mse(estimate: Any, truth: Any) -> float:
    """Mean squared error ``mean((estimate - truth)^2)`` (LMI paper, Fig. 2a-d and Fig. 4c).

    Parameters
    ----------
    {metric}

    Returns
    -------
    The MSE (bits squared).
    """
    est, tru = _pair(estimate, truth)
    return float(np.mean((est - tru) ** 2))


@shared_docs
def bias(estimate: Any, truth: Any) -> float:
    """Mean signed error ``mean(estimate - truth)`` (scale-invariance paper, Section 6.3: "Bias").

    Parameters
    ----------
    {metric}

    Returns
    -------
    The bias (bits); negative values are underestimates.
    """
    est, tru = _pair(estimate, truth)
    return float(np.mean(est - tru))


@shared_docs
def normalized_rmse(estimate: Any, truth: Any) -> float:
    """RMSE over the baseline RMSE of the truths (scale-invariance paper, Section 6.3).

    ``sqrt(mean_i (est_i - mu_i)^2) / sqrt(mean_{i,j} (mu_i - mu_j)^2)``: 0 is perfect, about 1
    is as bad as guessing another trial's truth.

    Parameters
    ----------
    {metric}

    Returns
    -------
    The normalised RMSE (unitless); NaN when every truth is equal.
    """
    est, tru = _pair(estimate, truth)
    base = np.sqrt(np.mean((tru[:, None] - tru[None, :]) ** 2))
    return float(np.sqrt(np.mean((est - tru) ** 2)) / base) if base > 0 else float("nan")


def _rank_corr(fn: Any, estimate: Any, truth: Any) -> float:
    est, tru = _pair(estimate, truth)
    if not np.isfinite(est).all() or np.ptp(tru) == 0 or np.ptp(est) == 0:
        return float("nan")
    return float(fn(est, tru)[0])


@shared_docs
def spearman(estimate: Any, truth: Any) -> float:
    """Spearman rank correlation of estimates with the truth (scale-invariance paper, Section 6.3; LMI Fig. 4c).

    Parameters
    ----------
    {metric}

    Returns
    -------
    Spearman's rho; NaN if either side is constant or an estimate is NaN.
    """
    return _rank_corr(stats.spearmanr, estimate, truth)


@shared_docs
def kendall_tau(estimate: Any, truth: Any) -> float:
    """Kendall tau-b rank correlation of estimates with the truth (LMI paper, Fig. 2f-j).

    Parameters
    ----------
    {metric}

    Returns
    -------
    Kendall's tau-b; NaN if either side is constant or an estimate is NaN.
    """
    return _rank_corr(stats.kendalltau, estimate, truth)


def summarize(results: pd.DataFrame, by: Sequence[str] = ("estimator",)) -> pd.DataFrame:
    """Per-group accuracy of a :func:`~bioinfo_mi.benchmark.run_benchmark` table.

    Parameters
    ----------
    results
        Table with ``estimate``, ``true_mi`` and (optionally) ``seconds`` columns.
    by
        Columns to group by (e.g. ``("estimator", "d", "k")``).

    Returns
    -------
    One row per group: ``n``, ``n_failed`` (NaN estimates), ``mse``, ``bias``,
    ``normalized_rmse``, ``spearman``, ``kendall_tau`` and ``seconds`` (median wall time per fit).
    """
    by = list(by)
    missing = [c for c in [*by, "estimate", "true_mi"] if c not in results.columns]
    if missing:
        raise KeyError(f"results has no columns {missing}; available: {list(results.columns)}")
    rows = []
    for key, group in results.groupby(by, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        est, tru = group["estimate"].to_numpy(float), group["true_mi"].to_numpy(float)
        row = dict(zip(by, key, strict=True))
        row.update(
            n=len(group),
            n_failed=int(np.isnan(est).sum()),
            mse=mse(est, tru),
            bias=bias(est, tru),
            normalized_rmse=normalized_rmse(est, tru),
            spearman=spearman(est, tru),
            kendall_tau=kendall_tau(est, tru),
        )
        if "seconds" in group:
            row["seconds"] = float(group["seconds"].median())
        rows.append(row)
    return pd.DataFrame(rows)
