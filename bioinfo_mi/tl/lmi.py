"""``tl.lmi`` and ``tl.pmi``: LMI between clone-paired cells of two conditions, with shuffle controls
(LMI paper, Section 4.2 and Appendix A.4.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validation import check_positive_int
from ..pp.pairing import draw_pairings, get_features, resolve_conditions
from ._fits import FitJob, FitResult, run_fits, spawn_seeds

__all__ = ["lmi", "pmi"]


def _plain(value: Any) -> Any:
    """A value h5ad can store (None -> 'None', tuples -> lists, numpy scalars -> Python)."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jobs(adata: AnnData, *, clone_key: str, condition_key: str, conditions: Sequence[Any] | None,
          restrict: Mapping[str, Any] | None, n_pairings: int, n_shuffles: int, random_state: Any,
          min_clones: int) -> tuple[list[FitJob], tuple[Any, Any], int]:
    pairings = draw_pairings(adata, clone_key=clone_key, condition_key=condition_key, conditions=conditions,
                             restrict=restrict, n_pairings=n_pairings + n_shuffles, min_clones=min_clones,
                             random_state=random_state)
    seeds = spawn_seeds(random_state if not isinstance(random_state, np.random.Generator) else None,
                        n_pairings + 2 * n_shuffles)
    shuffle_rng = np.random.default_rng(seeds[-1])
    jobs = [FitJob(i, False, p.cells_a, p.cells_b, seeds[i]) for i, p in enumerate(pairings[:n_pairings])]
    for j, p in enumerate(pairings[n_pairings:]):
        # a shuffled control: the clone link is broken by permuting the late cells
        jobs.append(FitJob(j, True, p.cells_a, p.cells_b[shuffle_rng.permutation(len(p))], seeds[n_pairings + j]))
    return jobs, resolve_conditions(adata, condition_key, conditions), len(pairings[0])


def _summary(results: list[FitResult]) -> pd.DataFrame:
    real = np.array([r.mi for r in results if not r.job.shuffled])
    shuf = np.array([r.mi for r in results if r.job.shuffled])

    def sem(a: np.ndarray) -> float:
        return float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")

    row = {
        "mi_mean": float(real.mean()), "mi_sem": sem(real), "n_pairings": len(real),
        "shuffled_mean": float(shuf.mean()) if len(shuf) else float("nan"),
        "shuffled_sd": float(shuf.std(ddof=1)) if len(shuf) > 1 else float("nan"),
        "n_shuffles": len(shuf),
        # empirical p-value of the mean real estimate against the shuffled estimates
        "p_value": float((1 + np.sum(shuf >= real.mean())) / (1 + len(shuf))) if len(shuf) else float("nan"),
    }
    return pd.DataFrame([row])


def lmi(
    adata: AnnData,
    *,
    clone_key: str = "clone",
    condition_key: str = "time",
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    use_rep: str | None = None,
    layer: str | None = None,
    n_pairings: int = 5,
    n_shuffles: int = 5,
    method: str = "lmi",
    min_clones: int = 50,
    key_added: str = "lmi",
    copy: bool = False,
    random_state: int | None = 0,
    n_jobs: int = 1,
    progress: bool = True,
    **estimator_options: Any,
) -> AnnData | None:
    """MI between clone-paired cells of two conditions, with shuffled controls (Section 4.2).

    For each of ``n_pairings`` random pairings (one cell per shared clone and condition, see
    :func:`bioinfo_mi.pp.draw_pairings`) the estimator ``method`` (LMI by default) is run on the
    paired expression states; ``n_shuffles`` further pairings with the clone link broken (late
    cells permuted) give the null distribution.

    Parameters
    ----------
    adata
        Lineage-traced cells.
    clone_key, condition_key, conditions, restrict
        Which cells to pair: see :func:`bioinfo_mi.pp.shared_clones`. E.g. early vs late time
        (``condition_key="time", conditions=(2, 6)``) or sisters across wells at day 6
        (``condition_key="well", conditions=(1, 2), restrict={"time": 6}``).
    use_rep, layer
        Features: ``adata.obsm[use_rep]``, ``adata.layers[layer]`` or ``adata.X`` (dense or sparse).
    n_pairings, n_shuffles
        Numbers of real and shuffled pairings (each one fit).
    method
        Any :data:`bioinfo_mi.METHODS` entry.
    min_clones
        Fewest shared clones accepted.
    key_added
        Key in ``adata.uns``.
    copy
        Return a modified copy instead of writing into ``adata``.
    random_state
        Seed of the pairings, shuffles and fits; results are identical for a given seed whatever ``n_jobs``.
    n_jobs
        Fits run in parallel processes (-1: all cores).
    progress
        Progress bar over fits.
    **estimator_options
        Passed to the estimator (e.g. ``preset``, ``epochs``).

    Returns
    -------
    ``None`` (or the copy when ``copy=True``). Writes ``adata.uns[key_added]`` with
    ``"table"`` (DataFrame: ``pairing``, ``shuffled``, ``estimate``, ``n_clones``), ``"summary"``
    (one-row DataFrame: ``mi_mean``, ``mi_sem``, ``shuffled_mean``, ``shuffled_sd``, ``p_value``,
    counts) and ``"params"`` (every parameter used).
    """
    check_positive_int(n_pairings, name="n_pairings")
    check_positive_int(n_shuffles, name="n_shuffles", minimum=0)
    n_jobs = int(n_jobs)
    features = get_features(adata, use_rep=use_rep, layer=layer)
    jobs, (a, b), n_clones = _jobs(adata, clone_key=clone_key, condition_key=condition_key, conditions=conditions,
                                   restrict=restrict, n_pairings=n_pairings, n_shuffles=n_shuffles,
                                   random_state=random_state, min_clones=min_clones)
    results = run_fits(features, features, jobs, method=method, options=estimator_options, n_jobs=n_jobs,
                       progress=progress)
    table = pd.DataFrame({
        "pairing": [r.job.pairing for r in results],
        "shuffled": [r.job.shuffled for r in results],
        "estimate": [r.mi for r in results],
        "n_clones": n_clones,
    })
    params = {
        "clone_key": clone_key, "condition_key": condition_key, "conditions": [a, b], "restrict": restrict,
        "use_rep": use_rep, "layer": layer, "n_pairings": n_pairings, "n_shuffles": n_shuffles, "method": method,
        "min_clones": min_clones, "random_state": random_state, **estimator_options,
    }
    target = adata.copy() if copy else adata
    target.uns[key_added] = {"table": table, "summary": _summary(results), "params": _plain(params)}
    return target if copy else None


def pmi(
    adata: AnnData,
    *,
    clone_key: str = "clone",
    condition_key: str = "time",
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    use_rep: str | None = None,
    layer: str | None = None,
    n_pairings: int = 5,
    side: str = "early",
    method: str = "lmi",
    min_clones: int = 50,
    key_added: str = "pmi",
    copy: bool = False,
    random_state: int | None = 0,
    n_jobs: int = 1,
    progress: bool = True,
    **estimator_options: Any,
) -> AnnData | None:
    """Pointwise MI per cell, averaged over the pairings that scored it (LMI paper, Section 4.2, Fig. 6).

    Parameters are those of :func:`lmi` (no shuffles), plus ``side``: ``"early"`` scores the cells
    of the first condition (as the paper shows them), ``"both"`` also the second condition's cells.

    Returns
    -------
    ``None`` (or the copy). Writes ``adata.obs[key_added]`` (float; NaN for cells never scored, e.g.
    LMI's training half or cells of unshared clones), ``adata.obs[key_added + "_n"]`` (number of
    pairings that scored the cell) and ``adata.uns[key_added]["params"]``.
    """
    if side not in ("early", "both"):
        raise ValueError(f"side must be 'early' or 'both', got {side!r}")
    check_positive_int(n_pairings, name="n_pairings")
    features = get_features(adata, use_rep=use_rep, layer=layer)
    jobs, (a, b), _ = _jobs(adata, clone_key=clone_key, condition_key=condition_key, conditions=conditions,
                            restrict=restrict, n_pairings=n_pairings, n_shuffles=0, random_state=random_state,
                            min_clones=min_clones)
    results = run_fits(features, features, jobs, method=method, options=estimator_options, n_jobs=int(n_jobs),
                       progress=progress)
    total = np.zeros(adata.n_obs)
    count = np.zeros(adata.n_obs, dtype=int)
    for r in results:
        scored = np.isfinite(r.pmi)
        sides = [r.job.x_rows] + ([r.job.y_rows] if side == "both" else [])
        for rows in sides:
            np.add.at(total, rows[scored], r.pmi[scored])
            np.add.at(count, rows[scored], 1)
    values = np.full(adata.n_obs, np.nan)
    values[count > 0] = total[count > 0] / count[count > 0]
    target = adata.copy() if copy else adata
    target.obs[key_added] = values
    target.obs[f"{key_added}_n"] = count
    params = {
        "clone_key": clone_key, "condition_key": condition_key, "conditions": [a, b], "restrict": restrict,
        "use_rep": use_rep, "layer": layer, "n_pairings": n_pairings, "side": side, "method": method,
        "min_clones": min_clones, "random_state": random_state, **estimator_options,
    }
    target.uns[key_added] = {"params": _plain(params)}
    return target if copy else None
