"""``bm.mi``: one entry point for every estimator."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ._docs import shared_docs
from ._fits import check_n_jobs
from ._validation import check_options, check_pair, check_positive_int
from .estimators import _knn as knn
from .estimators import _lmi
from .estimators import _neural as neural
from .estimators import _normalization as normalization
from .estimators._auto import MIN_SAMPLES, auto, warn_few_samples
from .estimators._calibrated import ksg_calibrated
from .estimators._copula import apply_transform, check_transform
from .estimators._result import MIResult

__all__ = ["mi", "METHODS", "DETERMINISTIC", "method_options"]


def _neural(name: str) -> Callable[..., MIResult]:
    def run(x: Any, y: Any, **kwargs: Any) -> MIResult:
        return getattr(neural, name)(x, y, **kwargs)

    return run


def _run_lmi(x: Any, y: Any, **kwargs: Any) -> MIResult:
    return _lmi.lmi(x, y, **kwargs)


#: method name -> estimator callable ``f(x, y, **options) -> MIResult``
METHODS: dict[str, Callable[..., MIResult]] = {
    "auto": auto,
    "lmi": _run_lmi,
    "ksg-calibrated": ksg_calibrated,
    "ksg": knn.ksg,
    "bi-ksg": knn.bi_ksg,
    "ksg-local": normalization.ksg_local,
    "ksg-global": normalization.ksg_global,
    "ksg-global-linf": normalization.ksg_global_linf,
    "mine": partial(_neural("mine"), normalization=None),
    "mine-local": partial(_neural("mine"), normalization="local"),
    "mine-global": partial(_neural("mine"), normalization="global"),
    "mine-global-corrected": partial(_neural("mine"), normalization="global-corrected"),
    "infonce": _neural("infonce"),
}


#: methods whose estimate on given rows does not depend on ``random_state`` beyond the tie-breaking jitter
#: (exact k-NN counts, no training, no random twins): fitting them again on the same rows repeats the same
#: number, so the repeated-fit tools fit them once per distinct set of rows
DETERMINISTIC = frozenset({"ksg", "bi-ksg", "ksg-local", "ksg-global", "ksg-global-linf"})


#: the function behind each method, whose signature lists the options the method takes
_IMPLEMENTATIONS: dict[str, Callable[..., MIResult]] = {
    "lmi": _lmi.lmi,
    "ksg-calibrated": ksg_calibrated,
    "ksg": knn.ksg,
    "bi-ksg": knn.bi_ksg,
    "ksg-local": normalization.ksg_local,
    "ksg-global": normalization.ksg_global,
    "ksg-global-linf": normalization.ksg_global_linf,
    "infonce": neural.infonce,
    **{name: neural.mine for name in ("mine", "mine-local", "mine-global", "mine-global-corrected")},
}


def method_options(method: str) -> set[str]:
    """Names of the options that ``bm.mi(x, y, method=method, **options)`` passes to the estimator.

    Parameters
    ----------
    method
        One of :data:`METHODS`.

    Returns
    -------
    The estimator's keyword parameters (for ``"auto"``: those of both estimators it chooses between,
    and ``samples_per_dim``), without ``random_state`` (set by the caller) and without what the
    method name fixes (MINE's ``normalization``).
    """
    method = method.lower()
    if method == "auto":
        names = set(inspect.signature(auto).parameters) | method_options("ksg-calibrated") | method_options("lmi")
    else:
        impl = _IMPLEMENTATIONS[method]
        names = set(inspect.signature(impl).parameters) | set(getattr(impl, "__renamed__", {}))
        if method.startswith("mine"):
            names.discard("normalization")
    return names - {"x", "y", "options", "random_state"}


@shared_docs
def mi(
    x: Any,
    y: Any,
    method: str = "auto",
    *,
    transform: str | None = None,
    random_state: Any = 0,
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
        Paired samples with the same number of rows: numpy arrays, pandas frames or scipy sparse
        matrices; 1-D inputs are one column. Never modified.
    method
        One of :data:`METHODS`. ``"auto"`` (default): the calibrated copula KSG (``"ksg-calibrated"``: KSG
        on normal scores minus its bias on Gaussian twins of the data) when there are at least 10 samples
        per input dimension, LMI otherwise, and plain KSG from 2 samples per dimension up where most columns
        are discrete (:func:`bioinfo_mi.estimators.auto`); the lowest mean squared error of all estimators
        on the ``bmi`` benchmark suite (``benchmarks/bench_bmi_suite.py``). On weakly separated clustered
        data it can read high (see :func:`bioinfo_mi.estimators.ksg_calibrated`); LMI or KSG suit data known
        to be clustered. ``"lmi"`` (latent MI, LMI paper Algorithm 1), ``"ksg"`` (Kraskov et al.),
        ``"bi-ksg"`` (Gao et al. 2017), ``"ksg-local"``, ``"ksg-global"``, ``"ksg-global-linf"``,
        ``"mine"``, ``"mine-local"``, ``"mine-global"``, ``"mine-global-corrected"`` (scale-invariance
        paper, Table 1), ``"infonce"``.
    transform
        Per-coordinate transform applied to ``x`` and ``y`` before the estimator: ``None`` (default),
        ``"rank"`` (uniform scores) or ``"copula"`` (normal scores). MI is invariant under invertible
        per-coordinate maps, and with a transform so is the estimate (exactly: the same ranks give
        the same input); it also removes heavy tails. ``"auto"`` and ``"ksg-calibrated"`` use normal
        scores internally whatever ``transform`` says.
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
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {sorted(METHODS)}")
    check_options(options, method_options(method), where=f"method={method.lower()!r}")
    if not isinstance(error_bars, bool | np.bool_):
        raise TypeError(f"error_bars must be True or False, got {error_bars!r}")
    n_shuffles = check_positive_int(n_shuffles, name="n_shuffles", minimum=0)
    n_refits = check_positive_int(n_refits, name="n_refits")
    n_jobs = check_n_jobs(n_jobs)
    repeated = error_bars or n_shuffles > 0
    if check_transform(transform) is not None or repeated:
        xa, ya = check_pair(x, y, min_samples=1)
        x, y = (apply_transform(xa, transform), apply_transform(ya, transform)) if transform else (xa, ya)
    trains = "progress" in method_options(method)  # the estimator has a training bar of its own
    main_options = {**options, "progress": True} if progress and trains and "progress" not in options else options
    res = METHODS[method.lower()](x, y, random_state=random_state, **main_options)
    if res.n_samples < MIN_SAMPLES:
        warn_few_samples(res, method.lower())
    if transform is not None:
        res.params["transform"] = transform
    if repeated:
        from ._fits import spawn_seeds
        from .uncertainty import add_error_bars, permutation_test

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
                res,
                x,
                y,
                options=opts,
                n_shuffles=n_shuffles,
                random_state=shuffle_seed,
                n_jobs=n_jobs,
                progress=progress,
            )
    return res
