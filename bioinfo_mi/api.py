"""``bm.mi``: one entry point for every estimator."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ._validation import check_pair
from .estimators import knn, normalization
from .estimators._result import MIResult
from .estimators.auto import auto
from .estimators.calibrated import ksg_calibrated
from .estimators.copula import apply_transform, check_transform

__all__ = ["mi", "METHODS"]


def _neural(name: str) -> Callable[..., MIResult]:
    def run(x: Any, y: Any, **kwargs: Any) -> MIResult:
        from .estimators import neural

        return getattr(neural, name)(x, y, **kwargs)

    return run


def _lmi(x: Any, y: Any, **kwargs: Any) -> MIResult:
    from .estimators import lmi

    return lmi.lmi(x, y, **kwargs)


#: method name -> estimator callable ``f(x, y, **options) -> MIResult``
METHODS: dict[str, Callable[..., MIResult]] = {
    "auto": auto,
    "lmi": _lmi,
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


def mi(
    x: Any, y: Any, method: str = "auto", *, transform: str | None = None, random_state: Any = 0, **options: Any
) -> MIResult:
    """Estimate the mutual information I(X;Y) between paired samples.

    Parameters
    ----------
    x, y
        Paired samples with the same number of rows: numpy arrays, pandas frames or scipy sparse
        matrices; 1-D inputs are one column. Never modified.
    method
        One of :data:`METHODS`. ``"auto"`` (default): the calibrated copula KSG
        (``"ksg-calibrated"``: KSG on normal scores minus its bias on Gaussian twins of the data) when
        there are at least 10 samples per input dimension, LMI otherwise
        (:mod:`bioinfo_mi.estimators.auto`); the lowest mean squared error of all estimators on the
        ``bmi`` benchmark suite (``benchmarks/bench_bmi_suite.py``). On weakly separated clustered
        data it can read high (see :mod:`bioinfo_mi.estimators.calibrated`); LMI or KSG suit data
        known to be clustered. ``"lmi"`` (latent MI, LMI paper Algorithm 1), ``"ksg"`` (Kraskov
        et al.), ``"bi-ksg"`` (Gao et al. 2017), ``"ksg-local"``, ``"ksg-global"``,
        ``"ksg-global-linf"``, ``"mine"``, ``"mine-local"``, ``"mine-global"``,
        ``"mine-global-corrected"`` (scale-invariance paper, Table 1), ``"infonce"``.
    transform
        Per-coordinate transform applied to ``x`` and ``y`` before the estimator: ``None`` (default),
        ``"rank"`` (uniform scores) or ``"copula"`` (normal scores). MI is invariant under invertible
        per-coordinate maps, and with a transform so is the estimate (exactly: the same ranks give
        the same input); it also removes heavy tails. ``"auto"`` and ``"ksg-calibrated"`` use normal
        scores internally whatever ``transform`` says.
    random_state
        Seed or ``numpy.random.Generator``; the same seed gives the same numbers on CPU.
    **options
        Passed to the estimator (e.g. ``k``, ``base``, ``preset``, ``latent_dim``, ``epochs``).

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` (``LMIResult`` for LMI) with ``mi`` (float, bits by default) and
    ``pmi`` (``(n_samples,)`` pointwise MI, NaN where a sample was not scored).
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {sorted(METHODS)}")
    if check_transform(transform) is not None:
        xa, ya = check_pair(x, y, min_samples=1)
        x, y = apply_transform(xa, transform), apply_transform(ya, transform)
    res = METHODS[method.lower()](x, y, random_state=random_state, **options)
    if transform is not None:
        res.params["transform"] = transform
    return res
