"""Benchmark tasks: a sampler with a known mutual information (``bmi``-style separation).

A :class:`Task` holds a picklable sampler ``sampler(n, rng) -> (x, y)`` (a module-level function,
optionally wrapped in :func:`functools.partial`, so tasks travel to worker processes), the number
of samples and the true MI in bits. Factories here build the LMI paper's Gaussian tasks; other
factories live next to the data they resample (:mod:`bioinfo_mi.benchmark.resampling_tasks`,
:mod:`bioinfo_mi.benchmark.scale_tasks`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from .._parallel import root_seed
from .._validation import check_positive_int
from ..datasets.gaussian import gaussian_low_rank

__all__ = ["Task", "gaussian_task"]

Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Task:
    """One benchmark task: ``n_samples`` draws of ``(x, y)`` with ``I(X; Y) = true_mi`` bits.

    Attributes
    ----------
    name
        Unique, human-readable identifier (used in tables and cache keys; :func:`run_benchmark`
        derives each dataset's seed from it, so a task's name never changes), e.g.
        ``"gaussian-d1000-k1-mi1.000-n2000"``.
    sampler
        ``sampler(n, rng) -> (x, y)``: ``n`` paired samples drawn with the Generator ``rng``.
        Must be picklable (a module-level function or a ``functools.partial`` of one).
    n_samples
        Samples per dataset.
    true_mi
        Ground-truth mutual information in bits.
    params
        Descriptive parameters copied into result tables (e.g. ``{"d": 1000, "rank": 1}``).
    """

    name: str
    sampler: Sampler
    n_samples: int
    true_mi: float
    params: Mapping[str, Any] = field(default_factory=dict)

    def sample(self, random_state: int | np.random.Generator | None = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw one dataset; the same seed gives the same data.

        Parameters
        ----------
        random_state
            Int seed, ``numpy.random.Generator`` (drawn from) or None (fresh entropy).

        Returns
        -------
        ``(x, y)``, two arrays with ``n_samples`` rows.
        """
        rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
        return self.sampler(self.n_samples, rng)


def base_seed(random_state: int | np.random.Generator | None) -> int:
    """Return the one integer a benchmark derives its seeds from.

    An int is used as given (modulo ``2**63``); a ``numpy.random.Generator`` gives one draw (it
    advances, so two Generators in the same state give the same integer); None gives fresh OS
    entropy. A Generator and None follow the rule of the package's repeated fits.
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state) % 2**63
    return root_seed(random_state)


def _gaussian_sampler(
    n: int, rng: np.random.Generator, *, d: int, rank: int, mi_bits: float
) -> tuple[np.ndarray, np.ndarray]:
    return gaussian_low_rank(d=d, rank=rank, n_samples=n, mi_bits=mi_bits, random_state=rng)


def gaussian_task(d: int, rank: int, mi_bits: float, n_samples: int = 2000) -> Task:
    """Gaussian task with a ``rank``-dimensional dependence in ``d`` ambient dimensions (LMI paper, Algorithm 4).

    The data of Fig. 2 (N = 2000, ``mi_bits`` in 0-2, ``rank`` = 1..9, ``d`` = 10..5000) and Fig. 3
    (``rank`` = 1, 1 bit, ``d`` = 1..50); see :func:`bioinfo_mi.datasets.gaussian_low_rank`.

    Parameters
    ----------
    d, rank
        Ambient and dependence dimensions (``1 <= rank <= d``).
    mi_bits
        True MI in bits (>= 0).
    n_samples
        Samples per dataset.

    Returns
    -------
    A :class:`Task` named ``"gaussian-d{d}-k{rank}-mi{mi_bits:.3f}-n{n_samples}"`` (the ``k`` of the
    name is the paper's symbol for the rank; the name seeds the task's data, so it never changes)
    with ``params`` ``{"d": d, "rank": rank}``.
    """
    d, rank = check_positive_int(d, name="d"), check_positive_int(rank, name="rank")
    n_samples = check_positive_int(n_samples, name="n_samples")
    if rank > d:
        raise ValueError(f"rank must be <= d, got rank={rank}, d={d}")
    if not np.isfinite(mi_bits) or mi_bits < 0:
        raise ValueError(f"mi_bits must be a finite number >= 0, got {mi_bits!r}")
    return Task(
        name=f"gaussian-d{d}-k{rank}-mi{mi_bits:.3f}-n{n_samples}",  # seeds the data: keep it
        sampler=partial(_gaussian_sampler, d=d, rank=rank, mi_bits=float(mi_bits)),
        n_samples=n_samples,
        true_mi=float(mi_bits),
        params={"d": d, "rank": rank},
    )
