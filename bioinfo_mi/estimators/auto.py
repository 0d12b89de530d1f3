"""``method="auto"``: the calibrated copula KSG where the sample is large for the dimension, latent
MI (LMI) where it is not. Opt-in: it is not the package default.

It has the lowest mean squared error of every estimator on the ``bmi`` benchmark suite, but the
Gaussian model behind its calibration overstates the MI of clustered data (X and Y sharing a
discrete state, as cell types do; see :mod:`bioinfo_mi.estimators.calibrated`). Until it detects
that case, ``bm.mi`` keeps LMI as its default.

Rule
----
With ``d = d_x + d_y`` non-constant columns and ``n`` samples:

- ``n >= samples_per_dim * d`` (default 10): :func:`~bioinfo_mi.estimators.ksg_calibrated`, KSG on
  the normal scores with its bias measured on Gaussian twins. Encoding cannot help here: KSG sees
  every coordinate, and the calibration removes the bias that makes plain KSG useless beyond a few
  dimensions. On the ``bmi`` benchmark suite (Czyz et al. 2023; all 40 tasks have ``d <= 100``)
  it has the lowest mean squared error of every estimator run (0.035 bits^2 on the 40 tasks at
  ``n = 2000``, next bmi's CCA at 0.194; ``benchmarks/bench_bmi_suite.py``, docs/benchmarks.md).
  On clustered data it fails (``benchmarks/bench_clustered.py``: MSE 0.56 bits^2 with the guard of
  ``ksg-calibrated``, 4.57 without, against 0.007 for LMI; up to 6.0 bits read where the truth is 3).
- otherwise: :func:`~bioinfo_mi.estimators.lmi.lmi` with the default preset: with fewer than about
  ten samples per dimension the correlations behind the calibration are mostly sampling noise,
  while LMI's encoders compress the inputs to 8 + 8 dimensions first (LMI paper, Algorithm 1).

The result is the chosen estimator's (its ``method`` says which ran); ``extra["auto"]`` records
the choice and the rule. To fix the estimator, or to pass estimator-specific options, call it by
name (``method="lmi"``, ``method="ksg-calibrated"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_pair, check_positive_int
from ._result import MIResult
from .calibrated import ksg_calibrated

__all__ = ["auto", "choose_method"]


def choose_method(n_samples: int, dim: int, samples_per_dim: float = 10.0) -> str:
    """The estimator that ``method="auto"`` runs for ``n_samples`` pairs of ``dim`` non-constant columns.

    Parameters
    ----------
    n_samples
        Number of paired samples.
    dim
        ``d_x + d_y`` (non-constant columns).
    samples_per_dim
        Least samples per dimension for the calibrated KSG.

    Returns
    -------
    ``"ksg-calibrated"`` or ``"lmi"``.
    """
    return "ksg-calibrated" if n_samples >= samples_per_dim * dim else "lmi"


def auto(
    x: Any,
    y: Any,
    *,
    samples_per_dim: float = 10.0,
    k: int = 3,
    base: str | float = "bits",
    random_state: Any = 0,
    device: Any = None,
    verbose: bool = False,
) -> MIResult:
    """MI estimate by the calibrated copula KSG with enough samples per dimension, else LMI.

    See the module docstring for the rule and the evidence behind it.

    Parameters
    ----------
    x, y
        Paired samples ``(n, d_x)``, ``(n, d_y)``: arrays, frames or sparse matrices (not modified).
    samples_per_dim
        The calibrated KSG runs when ``n >= samples_per_dim * (d_x + d_y)`` (non-constant columns).
    k
        Neighbours of the KSG estimate (on the inputs or on LMI's latents).
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        Seed or ``numpy.random.Generator``.
    device, verbose
        Passed to LMI when it runs (torch device; progress bar over epochs).

    Returns
    -------
    The chosen estimator's result (:class:`~bioinfo_mi.MIResult` or :class:`~bioinfo_mi.LMIResult`)
    with ``extra["auto"]`` = ``{"method": ..., "samples_per_dim": ..., "n_samples": ..., "dim": ...}``.
    """
    if not (np.isscalar(samples_per_dim) and np.isfinite(samples_per_dim) and samples_per_dim > 0):
        raise ValueError(f"samples_per_dim must be a positive number, got {samples_per_dim!r}")
    k = check_positive_int(k, name="k")
    xa, ya = check_pair(x, y, min_samples=k + 2, method="auto")
    dim = int((xa.std(axis=0) > 0).sum() + (ya.std(axis=0) > 0).sum())
    chosen = choose_method(len(xa), dim, samples_per_dim)
    if chosen == "ksg-calibrated":
        res = ksg_calibrated(xa, ya, k=k, base=base, random_state=random_state)
    else:
        from .lmi import lmi

        res = lmi(xa, ya, k=k, base=base, random_state=random_state, device=device, verbose=verbose)
    res.extra["auto"] = {"method": chosen, "samples_per_dim": float(samples_per_dim), "n_samples": len(xa),
                         "dim": dim}
    return res
