"""``method="auto"``, the default of :func:`bioinfo_mi.mi`: the calibrated copula KSG where the
sample is large for the dimension, latent MI (LMI) where it is not.

Rule
----
With ``d = d_x + d_y`` non-constant columns and ``n`` samples:

- ``n >= samples_per_dim * d`` (default 10): :func:`~bioinfo_mi.estimators.ksg_calibrated`, KSG on
  the normal scores with its bias measured on Gaussian twins. Encoding cannot help here: KSG sees
  every coordinate, and the calibration removes the bias that makes plain KSG useless beyond a few
  dimensions. On the ``bmi`` benchmark suite (Czyz et al. 2023; all 40 tasks have ``d <= 100``)
  it has the lowest mean squared error of every estimator run (0.035 bits^2 on the 40 tasks at
  ``n = 2000``, next bmi's CCA at 0.194; 0.028 at ``n = 5000``, next CCA at 0.162;
  ``benchmarks/bench_bmi_suite.py``, docs/benchmarks.md). On clustered data (X and Y sharing a
  discrete state, as cell types do) its Gaussian model can overstate the MI; the guard of
  ``ksg-calibrated`` catches well-separated clusters, not weakly separated ones
  (``benchmarks/bench_clustered.py``: MSE 0.054 bits^2, up to 0.56 bits too high, against 0.007
  for LMI). The scanpy tools (``tl.lmi`` and friends) therefore keep LMI as their default.
  Exception: when most columns are discrete (fewer distinct values than 5 % of ``n`` or than 20,
  e.g. 8x8 digit pixels with values 0-16), plain :func:`~bioinfo_mi.estimators.ksg` (with its tie-breaking
  jitter) instead: normal scores of heavily tied columns lose the spacing between values and the
  Gaussian twins do not describe such data. On label-resampled digits, groups 0-4 vs 5-9, 1500
  pairs (8 data sets, truth 0-1 bit) the calibrated copula KSG had MSE 0.133 bits^2 and read
  -0.119 at independence; plain KSG 0.040 and -0.005.
- mostly discrete columns and ``DISCRETE_SAMPLES_PER_DIM * d <= n < samples_per_dim * d`` (2 to 10
  samples per dimension): plain KSG as well. An autoencoder trained on a few hundred tied samples
  learns little: on the same digits LMI had MSE 0.300 bits^2 at 300 pairs (2.3 samples per
  dimension) and 0.219 at 600, plain KSG 0.163 and 0.099. On discrete gene counts from
  :func:`~bioinfo_mi.datasets.simulate_lineage` (rounded counts and their log, 200-1000 genes per
  side) the two agreed within 0.04 bits at 2-3 samples per dimension, and below that LMI read
  0.02-0.2 bits closer to the truth (400 clones x 1000 genes: KSG 0.13, LMI 0.33, state-level truth
  0.34), so fewer than 2 samples per dimension stay with LMI.
- otherwise: :func:`~bioinfo_mi.estimators.lmi` with the default preset: with fewer than about
  ten samples per dimension the correlations behind the calibration are mostly sampling noise,
  while LMI's encoders compress the inputs to 8 + 8 dimensions first (LMI paper, Algorithm 1).

The result is the chosen estimator's (its ``method`` says which ran); ``extra["auto"]`` records
the choice and the rule. Options of either estimator may be passed; one that only the other
estimator takes raises, naming the estimator that ran (call it by name, ``method="lmi"`` or
``method="ksg-calibrated"``, to fix the choice).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from .._validation import check_options, check_pair, check_positive_int
from ._calibrated import ksg_calibrated
from ._knn import ksg
from ._result import MIResult

__all__ = ["auto", "choose_method"]


#: a column counts as discrete when it has fewer distinct values than this fraction of the samples
DISCRETE_FRACTION = 0.05
#: ... or fewer than this many (so that 0-16 pixels count as discrete in a few hundred samples)
DISCRETE_MIN_VALUES = 20
#: least samples per dimension for plain KSG (instead of LMI) on mostly discrete columns
DISCRETE_SAMPLES_PER_DIM = 2.0


def mostly_discrete(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether more than half of the non-constant columns of ``x`` and ``y`` are discrete (fewer
    distinct values than ``max(DISCRETE_FRACTION * n, DISCRETE_MIN_VALUES)``).
    """
    a = np.hstack([x, y])
    a = a[:, a.std(axis=0) > 0]
    if a.shape[1] == 0:
        return False
    ordered = np.sort(a, axis=0)
    distinct = 1 + (np.diff(ordered, axis=0) != 0).sum(axis=0)
    return bool(np.mean(distinct < max(DISCRETE_FRACTION * len(a), DISCRETE_MIN_VALUES)) > 0.5)


def choose_method(n_samples: int, dim: int, samples_per_dim: float = 10.0, discrete: bool = False) -> str:
    """Return the estimator that ``method="auto"`` runs for ``n_samples`` pairs of ``dim`` non-constant columns.

    Parameters
    ----------
    n_samples
        Number of paired samples.
    dim
        ``d_x + d_y`` (non-constant columns).
    samples_per_dim
        Least samples per dimension for the calibrated KSG.
    discrete
        Most columns are discrete (:func:`mostly_discrete`): plain KSG instead of the calibrated one,
        and down to ``min(samples_per_dim, DISCRETE_SAMPLES_PER_DIM)`` samples per dimension
        instead of LMI.

    Returns
    -------
    ``"ksg-calibrated"``, ``"ksg"`` or ``"lmi"``.
    """
    if n_samples >= samples_per_dim * dim:
        return "ksg" if discrete else "ksg-calibrated"
    if discrete and n_samples >= min(samples_per_dim, DISCRETE_SAMPLES_PER_DIM) * dim:
        return "ksg"
    return "lmi"


def _parameters(func: Any) -> set[str]:
    return set(inspect.signature(func).parameters) - {"x", "y"}


def auto(
    x: Any,
    y: Any,
    *,
    samples_per_dim: float = 10.0,
    k: int = 3,
    base: str | float = "bits",
    random_state: Any = 0,
    **options: Any,
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
    **options
        Options of :func:`~bioinfo_mi.estimators.ksg_calibrated` (``n_twins``, ``jitter``,
        ``workers``) or of :func:`~bioinfo_mi.estimators.lmi` (``preset``, ``epochs``,
        ``device``, ...). An option that only the estimator not chosen takes raises ``ValueError``,
        except ``progress`` (LMI's training bar), which is ignored where KSG runs.

    Returns
    -------
    The chosen estimator's result (:class:`~bioinfo_mi.MIResult` or :class:`~bioinfo_mi.LMIResult`)
    with ``extra["auto"]`` = ``{"method": ..., "samples_per_dim": ..., "n_samples": ..., "dim": ...,
    "discrete": ...}``.
    """
    from ._lmi import lmi

    if not (np.isscalar(samples_per_dim) and np.isfinite(samples_per_dim) and samples_per_dim > 0):
        raise ValueError(f"samples_per_dim must be a positive number, got {samples_per_dim!r}")
    estimators = {"ksg-calibrated": ksg_calibrated, "ksg": ksg, "lmi": lmi}
    accepted = {name: _parameters(f) for name, f in estimators.items()}
    check_options(options, set().union(*accepted.values()) | {"samples_per_dim"}, where="method='auto'")
    k = check_positive_int(k, name="k")
    xa, ya = check_pair(x, y, min_samples=k + 2, method="auto")
    dim = int((xa.std(axis=0) > 0).sum() + (ya.std(axis=0) > 0).sum())
    discrete = mostly_discrete(xa, ya)
    chosen = choose_method(len(xa), dim, samples_per_dim, discrete)
    if "progress" in options and "progress" not in accepted[chosen]:  # a display option: only where it applies
        options = {key: v for key, v in options.items() if key != "progress"}
    foreign = sorted(set(options) - accepted[chosen])
    if foreign:
        # the estimator that does take them (LMI for the training options)
        other = next((n for n in ("lmi", "ksg-calibrated") if n != chosen and set(foreign) <= accepted[n]), "lmi")
        raise ValueError(
            f"method='auto' chose {chosen!r} for {len(xa)} samples of {dim} non-constant columns "
            f"(samples_per_dim={samples_per_dim:g}), which does not take {', '.join(map(repr, foreign))}; "
            f"pass method={chosen!r} without them, or method={other!r}"
        )
    res = estimators[chosen](xa, ya, k=k, base=base, random_state=random_state, **options)
    res.extra["auto"] = {
        "method": chosen,
        "samples_per_dim": float(samples_per_dim),
        "n_samples": len(xa),
        "dim": dim,
        "discrete": discrete,
    }
    return res
