"""Scan LMI's latent size and pick one (LMI paper, Limitations; appendix latent-size scan).

Why a scan
----------
LMI estimates ``I(Z_x; Z_y)`` on learned ``latent_dim``-dimensional codes (8 per variable by
default, Appendix A.1.2). Two errors pull in opposite directions as the latent size changes:

- *Too small*: by the data processing inequality ``I(Z_x; Z_y) <= I(X; Y)`` (Theorem 2), and LMI
  "will fail to capture dependence structure with dimensionality larger than its learned
  representation" (Section 5, Limitations). In the appendix scan (Algorithm 4, d = 1000, k = 4,
  1 bit) two latent dimensions per side give 0.30 bits where four give 0.72.
- *Too large*: nothing more is captured once the codes span the dependence, while the KSG step
  needs more samples as its dimension grows (Section 1, the curse of dimensionality): the appendix
  estimates plateau or drift down (0.72, 0.67, 0.69 bits for 4, 6, 8 per side), and the rows
  shown of the authors' finer scan (notebook ``A_latent_dim_sensitivity``, d = 100, k = 4, latent
  1..15) rise to about 0.8 bits at 4-5 and fall to about 0.6 by 11-15.

The rule
--------
So the estimate, as a function of latent size, rises until the codes span the dependence and is
flat (or slowly falling) after; the right size is where the plateau starts. :func:`scan_latent_dim`
fits LMI ``n_repeats`` times per size (independent split, initialisation and batches per repeat) and
chooses **the smallest latent size whose mean estimate is within noise of the largest mean**::

    chosen = min{ s : mean(s) >= mean(best) - max(atol, n_se * sqrt(sem(s)^2 + sem(best)^2)) }

where ``best`` is the size with the largest mean and ``sem`` the standard error over repeats. A
size below the dependence dimension loses information well beyond the fit-to-fit noise and is
rejected; among the sizes on the plateau the smallest has the lowest KSG dimension, hence the least
sample-size bias and variance. When the chosen size is the largest scanned one the estimate was still
rising, the dependence may need more dimensions, and a warning says to scan larger sizes.

Measured (``benchmarks/bench_latent_dim.py``, Algorithm 4, d = 1000, 1 bit, N = 2000 and 5000):
the rule picks k for k = 1, 2 and 4, and the estimate at the pick is 0.04-0.07 bits closer to the
truth than at the default size 8.

Repeats are seeded from ``random_state`` by position through the package's repeated-fit layer
(one seed rule, a fixed number of threads per fit) and repeat ``r`` uses
the same seed for every latent size, so results are identical whatever ``n_jobs`` is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._docs import shared_docs
from .._parallel import check_n_jobs, root_seed, run_parallel, spawn_seeds
from .._validation import check_pair, check_positive_int
from ._lmi import lmi
from ._registry import REGISTRY

__all__ = ["LatentScan", "scan_latent_dim", "choose_latent_dim"]

#: options of :func:`~bioinfo_mi.estimators.lmi` that the scan sets itself
_RESERVED = ("latent_dim", "random_state", "progress")


@dataclass(frozen=True, repr=False)
class LatentScan:
    """Result of :func:`scan_latent_dim`.

    Attributes
    ----------
    table
        One row per latent size (ascending): ``latent_dim`` (per variable), ``estimate_0`` ..
        ``estimate_{R-1}`` (one column per repeat, in ``base`` units), ``mean``, ``sd`` (ddof 1; NaN
        with one repeat), ``sem``, ``threshold`` (the lowest mean that counts as within noise of the
        best size) and ``within_noise`` (bool).
    runs
        One row per fit: ``latent_dim``, ``repeat``, ``seed``, ``estimate``, ``n_epochs``, ``seconds``.
    chosen
        The latent size per variable picked by the rule (see the module docstring).
    best
        The latent size with the largest mean estimate.
    params
        The scan's settings (latent sizes, repeats, ``n_se``, ``atol``, the LMI options).
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    chosen: int
    best: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def estimate(self) -> float:
        """Mean estimate at the chosen latent size."""
        return float(self.table.set_index("latent_dim").loc[self.chosen, "mean"])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}: {m:.3f}" for s, m in zip(self.table.latent_dim, self.table["mean"], strict=True))
        return (
            f"LatentScan(chosen={self.chosen}, best={self.best}, n_repeats={self.params.get('n_repeats')}, "
            f"mean by latent_dim {{{sizes}}})"
        )


def _check_latent_dims(latent_dims: Any) -> list[int]:
    if isinstance(latent_dims, (str, bytes)) or not isinstance(latent_dims, (Sequence, np.ndarray)):
        raise TypeError(f"latent_dims must be a sequence of positive integers, got {latent_dims!r}")
    dims = [check_positive_int(v, name="latent_dims entries") for v in latent_dims]
    if not dims:
        raise ValueError("latent_dims is empty; give at least one latent size, e.g. (2, 4, 6, 8)")
    repeated = sorted({v for v in dims if dims.count(v) > 1})
    if repeated:
        raise ValueError(f"latent_dims must not repeat a size, repeated: {repeated}")
    return sorted(dims)


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    reserved = [k for k in _RESERVED if k in options]
    if reserved:
        raise TypeError(
            f"scan_latent_dim sets {reserved} itself; use latent_dims= for the sizes and random_state= for the seed"
        )
    accepted = set(REGISTRY["lmi"].options) - set(_RESERVED)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"unknown LMI option(s) {unknown}; valid options: {sorted(accepted)}")
    return dict(options)


def choose_latent_dim(table: pd.DataFrame, *, n_se: float = 2.0, atol: float = 0.0) -> tuple[int, int, pd.Series]:
    """Apply the choice rule of :func:`scan_latent_dim` to a scan table (LMI paper, Section 5
    Limitations and Theorem 2; the module docstring explains the rule).

    Parameters
    ----------
    table
        One row per latent size with columns ``latent_dim``, ``mean`` and ``sem`` (NaN or 0 sem
        counts as no noise, e.g. with one repeat).
    n_se
        Width of the noise band in standard errors of the difference between two sizes (>= 0).
    atol
        Smallest noise band in the estimate's units (>= 0); with one repeat it is the whole band.

    Returns
    -------
    chosen, best, threshold
        The smallest latent size within noise of the best one, the size with the largest mean,
        and for each row of ``table`` (same index) the lowest mean that counts as within noise of
        the best.
    """
    for col in ("latent_dim", "mean", "sem"):
        if col not in table.columns:
            raise KeyError(f"table column {col!r} not found; available: {list(table.columns)}")
    if not (np.isfinite(n_se) and n_se >= 0):
        raise ValueError(f"n_se must be a finite number >= 0, got {n_se!r}")
    if not (np.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    ordered = table.sort_values("latent_dim")
    means = ordered["mean"].to_numpy(dtype=float)
    if not np.isfinite(means).any():
        raise ValueError("no latent size has a finite mean estimate")
    sem = np.nan_to_num(ordered["sem"].to_numpy(dtype=float), nan=0.0)
    i_best = int(np.nanargmax(means))
    band = np.maximum(atol, n_se * np.sqrt(sem**2 + sem[i_best] ** 2))
    within = np.isfinite(means) & (means >= means[i_best] - band)
    chosen = int(ordered.latent_dim.to_numpy()[np.flatnonzero(within)[0]])
    threshold = pd.Series(means[i_best] - band, index=ordered.index, name="threshold").reindex(table.index)
    return chosen, int(ordered.latent_dim.iloc[i_best]), threshold


def _fit(x: np.ndarray, y: np.ndarray, latent_dim: int, seed: int, options: dict[str, Any]) -> tuple[float, int, float]:
    start = time.perf_counter()
    res = lmi(x, y, latent_dim=latent_dim, random_state=seed, **options)
    return res.mi, int(res.extra.get("n_epochs", len(res.history))), time.perf_counter() - start


@shared_docs
def scan_latent_dim(
    x: Any,
    y: Any,
    *,
    latent_dims: Sequence[int] = (2, 4, 6, 8),
    n_repeats: int = 3,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    n_se: float = 2.0,
    atol: float = 0.0,
    progress: bool = True,
    **lmi_options: Any,
) -> LatentScan:
    """Estimate LMI at several latent sizes and pick one (LMI paper, Section 5 Limitations,
    Theorem 2 and the appendix latent-size scan).

    Each size in ``latent_dims`` (per variable, as LMI's ``latent_dim``) is fitted ``n_repeats``
    times with :func:`~bioinfo_mi.estimators.lmi`. The chosen size is the smallest whose mean
    estimate is within ``max(atol, n_se * sqrt(sem(s)^2 + sem(best)^2))`` of the largest mean:
    smaller codes lose dependence (data processing inequality), larger ones add KSG dimensions
    without adding information. See the module docstring for the evidence behind the rule.

    Parameters
    ----------
    x, y
        Paired samples ``(N, d_x)``, ``(N, d_y)`` (arrays, frames or sparse matrices).
    latent_dims
        Latent sizes per variable to try (distinct positive integers; scanned in ascending order).
        The paper's default is 8; its appendix scans 2, 4, 6, 8.
    n_repeats
        Fits per latent size, each with its own split, initialisation and batches (>= 1). With one
        repeat there is no noise estimate and the band is ``atol`` alone.
    random_state
        Int, None or Generator; repeat ``r`` gets the ``r``-th seed spawned from it and uses it for
        every latent size.
    {n_jobs}
    n_se
        Width of the noise band in standard errors of a difference of two means (default 2).
    atol
        Minimum width of the noise band, in the units of the estimate (default 0).
    progress
        Show a tqdm progress bar over fits.
    **lmi_options
        Passed to :func:`~bioinfo_mi.estimators.lmi` (``preset``, ``epochs``, ``base``,
        ``device``, ...); ``latent_dim``, ``random_state`` and ``progress`` are set by the scan.

    Returns
    -------
    :class:`LatentScan` with ``table`` (one row per size: per-repeat estimates, mean, sd, sem,
    threshold, within_noise), ``runs`` (one row per fit), ``chosen``, ``best`` and ``params``.

    Raises
    ------
    TypeError, ValueError
        For bad inputs (mismatched or non-numeric x/y, empty or repeated ``latent_dims``, a
        non-integer ``n_repeats``, negative ``n_se``/``atol``, unknown or reserved LMI options).
    """
    dims = _check_latent_dims(latent_dims)
    n_repeats = check_positive_int(n_repeats, name="n_repeats")
    n_jobs = check_n_jobs(n_jobs)
    for name, value in (("n_se", n_se), ("atol", atol)):
        if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    options = _check_options(lmi_options)
    xa, ya = check_pair(x, y, min_samples=2, method="lmi")
    root = root_seed(random_state)
    seeds = spawn_seeds(root, n_repeats)

    jobs = [(dim, r) for r in range(n_repeats) for dim in dims]
    outputs = run_parallel(
        _fit,
        [(xa, ya, dim, seeds[r], options) for dim, r in jobs],
        n_jobs=n_jobs,
        progress=progress,
        desc="latent size scan",
    )

    runs = pd.DataFrame(
        [
            {"latent_dim": dim, "repeat": r, "seed": seeds[r], "estimate": est, "n_epochs": epochs, "seconds": sec}
            for (dim, r), (est, epochs, sec) in zip(jobs, outputs, strict=True)
        ]
    )
    wide = runs.pivot(index="latent_dim", columns="repeat", values="estimate").sort_index()
    wide.columns = [f"estimate_{r}" for r in wide.columns]
    values = wide.to_numpy()
    table = wide.reset_index()
    table["mean"] = values.mean(axis=1)
    table["sd"] = values.std(axis=1, ddof=1) if n_repeats > 1 else np.nan
    table["sem"] = table["sd"] / np.sqrt(n_repeats)
    chosen, best, threshold = choose_latent_dim(table, n_se=n_se, atol=atol)
    table["threshold"] = threshold.to_numpy()
    table["within_noise"] = table["mean"] >= table["threshold"]
    if len(dims) > 1 and chosen == dims[-1]:
        warnings.warn(
            f"the chosen latent size is the largest one scanned ({chosen}): the estimate was still rising, so the "
            "dependence may need more latent dimensions (LMI paper, Limitations); scan larger sizes",
            UserWarning,
            stacklevel=2,
        )
    params = {
        "latent_dims": dims,
        "n_repeats": n_repeats,
        "random_state": root,
        "seeds": seeds,
        "n_se": float(n_se),
        "atol": float(atol),
        "lmi_options": options,
    }
    return LatentScan(table=table, runs=runs, chosen=chosen, best=best, params=params)
