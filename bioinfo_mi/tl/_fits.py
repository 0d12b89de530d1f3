"""Repeated MI fits over clone pairings and shuffled controls, run in parallel with joblib.

Every fit gets its own seed spawned from ``random_state`` by position in the job list, so the
numbers are identical whatever ``n_jobs`` is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ..api import mi


@dataclass(frozen=True)
class FitJob:
    """One MI fit: rows ``x_rows`` of the features paired with rows ``y_rows``."""

    pairing: int
    shuffled: bool
    x_rows: np.ndarray
    y_rows: np.ndarray
    seed: int


@dataclass(frozen=True)
class FitResult:
    """Estimate and pointwise MI (aligned with the job's rows; NaN where not scored) of one fit."""

    job: FitJob
    mi: float
    pmi: np.ndarray


def _dense_rows(features: Any, rows: np.ndarray) -> np.ndarray:
    block = features[rows]
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def _fit(
    x_features: Any, y_features: Any, job: FitJob, method: str, options: dict[str, Any], threads: int | None = None
) -> FitResult:
    if threads is not None:  # inside a worker process: share the cores between workers
        import torch

        torch.set_num_threads(threads)
    x = _dense_rows(x_features, job.x_rows)
    y = _dense_rows(y_features, job.y_rows)
    res = mi(x, y, method=method, random_state=job.seed, **options)
    return FitResult(job=job, mi=res.mi, pmi=res.pmi)


def spawn_seeds(random_state: Any, n: int) -> list[int]:
    """``n`` independent 32-bit seeds derived from ``random_state`` (an int or None)."""
    if isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(0, 2**32 - 1))
    children = np.random.SeedSequence(random_state).spawn(n)
    return [int(c.generate_state(1)[0]) for c in children]


def run_fits(
    x_features: Any,
    y_features: Any,
    jobs: list[FitJob],
    *,
    method: str,
    options: dict[str, Any],
    n_jobs: int,
    progress: bool,
) -> list[FitResult]:
    """Run every job (in parallel processes when ``n_jobs != 1``), with a progress bar over fits."""
    bar = tqdm(total=len(jobs), desc=f"{method} fits", unit="fit", disable=not progress)
    if n_jobs == 1:
        results = []
        for job in jobs:
            results.append(_fit(x_features, y_features, job, method, options))
            bar.update()
    else:
        results = []
        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
        threads = max(1, (os.cpu_count() or 1) // n_jobs) if n_jobs > 0 else 1
        for res in parallel(delayed(_fit)(x_features, y_features, job, method, options, threads) for job in jobs):
            results.append(res)
            bar.update()
    bar.close()
    return results
