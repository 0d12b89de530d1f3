"""``bm.mi``: one entry point for every estimator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._docs import shared_docs
from ._parallel import check_n_jobs, spawn_seeds
from ._validation import check_options, check_positive_int
from .estimators._copula import check_transform
from .estimators._registry import REGISTRY, get_method, run_method, transformed_pair
from .estimators._result import MIResult
from .uncertainty import add_error_bars, permutation_test

__all__ = ["mi", "METHODS", "DETERMINISTIC", "method_options"]


#: method name -> estimator callable ``f(x, y, random_state=..., **options) -> MIResult``, for every method of
#: :func:`mi` (a view of the package's method registry, which also records each method's options, error-bar
#: design and threading)
METHODS: dict[str, Callable[..., MIResult]] = {name: entry.run for name, entry in REGISTRY.items()}

#: methods whose estimate on given rows does not depend on ``random_state`` beyond the tie-breaking jitter
#: (exact k-NN counts, no training, no random twins): fitting them again on the same rows repeats the same
#: number, so the repeated-fit tools fit them once per distinct set of rows
DETERMINISTIC = frozenset(name for name, entry in REGISTRY.items() if entry.deterministic)


def method_options(method: str) -> set[str]:
    """Names of the options that ``bm.mi(x, y, method=method, **options)`` passes to the estimator.

    Parameters
    ----------
    method
        One of :data:`METHODS`.

    Returns
    -------
    The estimator's keyword parameters (for ``"auto"``: those of the estimators it chooses between,
    and ``samples_per_dim``), without ``random_state`` (set by the caller) and without what the
    method name fixes (MINE's ``normalization``).
    """
    return set(get_method(method).options)


@shared_docs
def mi(
    x: Any,
    y: Any,
    method: str = "auto",
    *,
    transform: str | None = None,
    random_state: int | np.random.Generator | None = 0,
    error_bars: bool = False,
    n_shuffles: int = 0,
    n_refits: int = 4,
    n_jobs: int = -1,
    progress: bool = False,
    **options: Any,
) -> MIResult:
    """Estimate the mutual information I(X;Y) between paired samples.

    Parameters
    ----------
    x, y
        Paired samples with the same number of rows: numpy arrays, pandas frames, scipy sparse
        matrices, or lazy arrays read by row slices (a backed AnnData's ``X``, Dask arrays); 1-D
        inputs are one column. Never modified. LMI (and ``auto`` where it runs LMI) reads them one
        block of rows at a time, never densifying a sparse or lazy input whole; the KSG estimators,
        MINE and InfoNCE work on dense float64 copies.
    method
        One of :data:`METHODS`. ``"auto"`` (default): the calibrated copula KSG (``"ksg-calibrated"``: KSG
        on normal scores minus its bias on Gaussian twins of the data) when there are at least 10 samples
        per input dimension, calibrated instead on twins from a Gaussian mixture fitted to the normal scores
        (``"ksg-mixture"``: curved links and shared states; :func:`bioinfo_mi.estimators.ksg_mixture`) from
        1000 samples on where ``d_x d_y / 2n <= 0.1`` nats and the sample supports the mixture; LMI with fewer
        than 10 samples per dimension, and plain KSG from 2 samples per dimension up where most columns are
        discrete (:func:`bioinfo_mi.estimators.auto`); the lowest mean squared error of all estimators on the
        ``bmi`` benchmark suite (``benchmarks/bench_bmi_suite.py``). On weakly separated clustered data it
        can read high (see :func:`bioinfo_mi.estimators.ksg_calibrated`); LMI or KSG suit data known to be
        clustered.
        ``"lmi"`` (latent MI, LMI paper Algorithm 1), ``"ksg"`` (Kraskov et al.),
        ``"bi-ksg"`` (Gao et al. 2017), ``"ksg-local"``, ``"ksg-global"``, ``"ksg-global-linf"``,
        ``"mine"``, ``"mine-local"``, ``"mine-global"``, ``"mine-global-corrected"`` (scale-invariance
        paper, Table 1), ``"infonce"``.
    transform
        Per-coordinate transform applied to ``x`` and ``y`` before the estimator: ``None`` (default),
        ``"rank"`` (uniform scores) or ``"copula"`` (normal scores). MI is invariant under invertible
        per-coordinate maps, and with a transform so is the estimate (exactly: the same ranks give
        the same input); it also removes heavy tails. ``"auto"``, ``"ksg-calibrated"`` and
        ``"ksg-mixture"`` use normal scores internally whatever ``transform`` says.
    random_state
        Seed or ``numpy.random.Generator``; the same seed gives the same numbers on CPU. The extra
        fits of ``error_bars`` and ``n_shuffles`` get seeds spawned from it.
    error_bars
        Fill ``res.se`` (standard error, ``base`` units) and so ``res.ci(level)``: subsampling
        (Holmes & Nemenman 2019) for the KSG family, refits plus held-out sampling variance for
        LMI, MINE and InfoNCE (:mod:`bioinfo_mi.uncertainty`). Never changes ``res.mi``.
    n_shuffles
        Permutation test of independence with this many shuffled pairings: ``res.null`` and
        ``res.p_value = (1 + #{null >= mi}) / (1 + n_shuffles)``. 0 (default): no test.
    n_refits
        Extra fits behind the standard error of LMI, MINE and InfoNCE (default 4).
    {n_jobs}
    progress
        Progress bars: over the extra fits, and the estimator's own training bar (LMI, MINE,
        InfoNCE, and ``auto`` where it runs LMI); one meaning of ``progress`` across the package.
    **options
        Passed to the estimator (e.g. ``k``, ``base``, ``preset``, ``latent_dim``, ``epochs``).

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` (``LMIResult`` for LMI) with ``mi`` (float, bits by default),
    ``pmi`` (``(n_samples,)`` pointwise MI, NaN where a sample was not scored), and ``se``,
    ``ci()``, ``p_value``, ``null`` as requested.
    """
    entry = get_method(method)
    check_options(options, set(entry.options), where=f"method={entry.name!r}")
    if not isinstance(error_bars, bool | np.bool_):
        raise TypeError(f"error_bars must be True or False, got {error_bars!r}")
    n_shuffles = check_positive_int(n_shuffles, name="n_shuffles", minimum=0)
    n_refits = check_positive_int(n_refits, name="n_refits")
    n_jobs = check_n_jobs(n_jobs)
    repeated = error_bars or n_shuffles > 0
    if check_transform(transform) is not None or repeated:
        x, y = transformed_pair(x, y, transform)
    trains = "progress" in entry.options  # the estimator has a training bar of its own
    main_options = {**options, "progress": True} if progress and trains and "progress" not in options else options
    res = run_method(entry.name, x, y, random_state=random_state, stacklevel=3, **main_options)
    if transform is not None:
        res.params["transform"] = transform
    if repeated:
        res = _repeated_fits(res, x, y, options, random_state, error_bars, n_shuffles, n_refits, n_jobs, progress)
    return res


def _repeated_fits(
    res: MIResult,
    x: np.ndarray,
    y: np.ndarray,
    options: dict[str, Any],
    random_state: int | np.random.Generator | None,
    error_bars: bool,
    n_shuffles: int,
    n_refits: int,
    n_jobs: int,
    progress: bool,
) -> MIResult:
    """Return ``res`` with the error bars and the permutation test that :func:`mi` was asked for."""
    # seeds of the extra fits: spawned from random_state (after the estimate, for a Generator)
    bars_seed, shuffle_seed = spawn_seeds(random_state, 2)
    # the extra fits run the estimator that produced res (the one "auto" chose), with its options
    opts = {key: v for key, v in options.items() if key != "samples_per_dim"}
    if error_bars:
        res = add_error_bars(
            res, x, y, options=opts, random_state=bars_seed, n_refits=n_refits, n_jobs=n_jobs, progress=progress
        )
    if n_shuffles:
        res = permutation_test(
            res, x, y, options=opts, n_shuffles=n_shuffles, random_state=shuffle_seed, n_jobs=n_jobs, progress=progress
        )
    return res
