"""The rule of ``method="auto"``, the default of :func:`bioinfo_mi.mi`: the calibrated copula KSG where the
sample is large for the dimension (calibrated on Gaussian-mixture twins where the sample supports the mixture),
latent MI (LMI) where it is not. :func:`choose_method` applies it; :func:`~bioinfo_mi.estimators.auto` runs the
estimator it names.

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
  but never half of ``n`` or more, so that ties and not a small sample make a column discrete;
  e.g. 8x8 digit pixels with values 0-16), plain :func:`~bioinfo_mi.estimators.ksg` (with its tie-breaking
  jitter) instead: normal scores of heavily tied columns lose the spacing between values and the
  Gaussian twins do not describe such data. On label-resampled digits, groups 0-4 vs 5-9, 1500
  pairs (8 data sets, truth 0-1 bit) the calibrated copula KSG had MSE 0.133 bits^2 and read
  -0.119 at independence; plain KSG 0.040 and -0.005.
- where the rule above chooses ``ksg-calibrated``, from :data:`MIXTURE_MIN_SAMPLES` (1000) samples on and where
  one Gaussian fitted to the normal scores would be more dependent than the truth by at most
  :data:`~bioinfo_mi.estimators._mixture.MAX_INFLATION` (``d_x d_y / 2n <= 0.1`` nats; e.g. up to 20 + 20 columns
  at 2000 samples): :func:`~bioinfo_mi.estimators.ksg_mixture`, the copula KSG calibrated on twins drawn from a
  Gaussian mixture fitted to the normal scores, whose curvature and clusters a single Gaussian twin lacks. Where
  its guard rejects the mixture (the components the held-out likelihood chooses inflate the model's MI by
  ``K d_x d_y / 2n`` nats, more than 0.1; or KSG converges faster on the data than on the twins),
  ``ksg-calibrated`` runs instead with the same seed (reason ``"mixture-rejected"``; the mixture's guard in
  ``extra["auto"]["mixture"]``). Measured (issue 30; docs/benchmarks.md, "Session 16: the mixture in auto"):
  on the bmi suite (40 tasks, N = 2000) mean MSE 0.0346 -> 0.0190 bits^2; on the single-cell-shaped suite
  ``bench_sc_suite.py`` and on ``bench_clustered.py`` see there. Its cost is 5-20 times ``ksg-calibrated``'s
  (seconds at N = 2000-10 000), and a mixture predicted :func:`too_costly` beside LMI gives way to
  ``ksg-calibrated`` before LMI is considered.
- mostly discrete columns and ``DISCRETE_SAMPLES_PER_DIM * d <= n < samples_per_dim * d`` (2 to 10
  samples per dimension): plain KSG as well. An autoencoder trained on a few hundred tied samples
  learns little: on the same digits LMI had MSE 0.300 bits^2 at 300 pairs (2.3 samples per
  dimension) and 0.219 at 600, plain KSG 0.163 and 0.099. On discrete gene counts from
  :func:`~bioinfo_mi.datasets.simulate_lineage` (rounded counts and their log, 200-1000 genes per
  side) the two agreed within 0.04 bits at 2-3 samples per dimension, and below that LMI read
  0.02-0.2 bits closer to the truth (400 clones x 1000 genes: KSG 0.13, LMI 0.33, state-level truth
  0.34), so fewer than 2 samples per dimension stay with LMI.
- where the two rules above choose a KSG estimator and a side has more than 20 non-constant columns (and
  LMI would screen: not with ``screen=False`` or ``preset="paper"``), ``auto`` first runs LMI's column screen
  (``bioinfo_mi/estimators/_screen.py``) on a random half of the rows (at most 10 000). Where it leaves
  columns out, plain KSG on the other half (as many rows) compares every column with the kept ones; where it
  reads more on the kept ones, the left-out columns cost the KSG estimator more than the MI they hold (by data
  processing the kept columns hold less MI, never more), and :func:`~bioinfo_mi.estimators.lmi` runs instead,
  which screens on its own training half so that the half it scores was not used to choose the columns
  (reason ``"screen"``; ``extra["auto"]["screen_check"]`` holds the kept counts and both KSG readings). On
  the single-cell-shaped suite (``benchmarks/bench_sc_suite.py``, N = 2000, 2 data sets per task; session 14)
  this moved 6 states in 3 of 23 columns per side from 0.38 to 0.98 bits (truth 1.02) and Poisson and NB
  counts of 200 genes (10 informative) from 0.59 / 0.14 (plain KSG by the discrete rule) to 1.31 / 0.61
  (truths 1.77 / 1.15); the suite's mean MSE 0.529 -> 0.334 bits^2 (LMI alone 0.374). On the bmi suite it
  moves the sparse 25 + 25 Gaussians (2 informative columns per side) to LMI: 1.34-1.40 against the
  calibrated KSG's 1.42 (truth 1.47), 1.14 / 1.30 against 1.11 / 1.30 on the spiral versions; mean MSE
  0.0346 -> 0.0347 on all 40 tasks, 0.0332 -> 0.0338 on the core 10. On label-resampled digits (64 pixels,
  each weakly tied to the class) the screen keeps some pixels at 1500 pairs, and KSG on them reads less than
  on all 64, so plain KSG stays (its MSE unchanged at 300, 600 and 1500 pairs). Dense dependence and
  independence keep every column, so the check changes nothing there; its cost is two plain KSG estimates on
  at most 10 000 rows and the screen, where a KSG estimator on all rows runs anyway.
- otherwise: :func:`~bioinfo_mi.estimators.lmi` with the default preset: with fewer than about
  ten samples per dimension the correlations behind the calibration are mostly sampling noise,
  while LMI's encoders compress the inputs to 8 + 8 dimensions first (LMI paper, Algorithm 1).

Cost
----
The exact neighbour search of the KSG estimators grows as ``n^2 d`` in hundreds of dimensions, and
the calibrated KSG runs it about five times (full and half samples, data and twins); LMI's training
grows as ``n d``. So the sample-size rule alone sends large samples of wide inputs (20 000 cells x
1000 + 1000 genes: ``n >= 10 d``) to an estimator predicted to take 20 minutes on 2 cores. Where the
rule above chooses a KSG estimator, ``auto`` predicts the run time of it and of LMI
(:func:`~bioinfo_mi.estimators.predicted_seconds`, a cost model checked against measured times by
``benchmarks/bench_cost_model.py``) and runs LMI instead when the KSG estimator is
:func:`too_costly`: more than ``cost_ratio`` (default :data:`COST_RATIO` = 3) times LMI's time and
more than :data:`COST_FLOOR_SECONDS` (5 minutes). The switch trades accuracy for time, and
``auto`` says so with an :class:`~bioinfo_mi.EstimateWarning` (kind ``"cost"``): with one shared
direction of 1 bit in 200 + 200 dimensions (N = 5000) the calibrated KSG read 0.973 bits in 17 s
and LMI 0.831 in 5.5 s; with the 1 bit carried by one column among 200 + 200 that has no more
variance than the noise columns, 0.955 against -0.018 (LMI's encoders keep the high-variance
directions; docs/performance.md, "Cost model"). Below 5 minutes the calibrated KSG always runs.
``extra["auto"]["reason"]`` says whether the samples or the cost decided and
``extra["auto"]["predicted_seconds"]`` holds the predictions; ``cost_ratio=np.inf`` turns the
cost rule off.

Small samples
-------------
Below ``MIN_SAMPLES = 50`` samples no k-NN estimate is meaningful, and every estimator here ends
in one. ``auto`` then still returns its estimate, with an :class:`~bioinfo_mi.EstimateWarning` of
kind ``"few-samples"``. Below ``LMI_MIN_SAMPLES = 80`` it runs a KSG estimator on all samples
where the rule above would run LMI (which trains on half of the samples and scores the other half,
here fewer than 40, short of 10 per dimension of its smallest latents, 2 + 2): the calibrated
copula KSG, plain KSG on discrete columns, wherever the Gaussian calibration can run
(``n > d + 2``; wider inputs stay with LMI, and where LMI cannot form its halves either, fewer than 10
samples at ``k = 3``, plain KSG runs on all samples with a warning). Evidence
(``benchmarks/bench_small_samples.py``, results in ``benchmarks/results/small_samples*.csv``): correlated
Gaussians of 1+1 and 3+3 dimensions with 0.5 and 2 bits, 40 data sets per cell, root mean squared error in bits:

=========  ==========  ====  ====  ====  ====  ====  ====
dims       MI (bits)   n=10  15    20    30    50    100
=========  ==========  ====  ====  ====  ====  ====  ====
1+1        0.5         0.35  0.34  0.24  0.29  0.17  0.16
1+1        2           0.72  0.64  0.50  0.39  0.25  0.15
3+3        0.5         0.69  0.42  0.34  0.23  0.19  0.15
3+3        2           0.88  0.66  0.58  0.41  0.31  0.27
=========  ==========  ====  ====  ====  ====  ====  ====

(the calibrated KSG, which ``auto`` runs in every cell; before the LMI floor of 80 samples it ran
LMI at 3+3 and ``n = 50``: 0.30 and 1.60 bits on 4 data sets). Plain KSG: 0.23-0.42 and 0.41-1.45
bits at ``n = 15-30``, as large or larger. ``MIN_SAMPLES`` is the smallest tested ``n`` from which
the error stays below half the truth at 0.5 bits and below a quarter of it at 2 bits in all four
cells, for the calibrated or the plain KSG: ``n = 30`` misses it at 1+1 and 0.5 bits (0.29 and
0.26). Below 50 samples LMI was worse still: 0.37-0.54 bits at 0.5 bits and 1.46-1.94 at 2 bits
(mean readings 0.07-0.55 bits) on 1+1 at ``n = 10-15`` and 3+3 at ``n = 10-30``, 4 data sets per
cell. For continuous data from 80 samples up the rule, and so the estimate, is that of the sections
above.

The result is the chosen estimator's (its ``method`` says which ran); ``extra["auto"]`` records
the choice and the rule. Options of either estimator may be passed; one that only the other
estimator takes raises, naming the estimator that ran (call it by name, ``method="lmi"`` or
``method="ksg-calibrated"``, to fix the choice).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from .._rows import Rows, check_rows, distinct_counts
from .._validation import EstimateWarning, check_positive_int
from ._mixture import MAX_INFLATION
from ._result import MIResult

__all__ = [
    "choose_method",
    "mostly_discrete",
    "too_costly",
    "warn_few_samples",
    "MIN_SAMPLES",
    "MIXTURE_MIN_SAMPLES",
    "COST_RATIO",
]


#: a column counts as discrete when it has fewer distinct values than this fraction of the samples
DISCRETE_FRACTION = 0.05
#: ... or fewer than this many (so that 0-16 pixels count as discrete in a few hundred samples)
DISCRETE_MIN_VALUES = 20
#: ... but never with at least this fraction of the samples distinct: ties, not a small n, make a column discrete
DISCRETE_MAX_FRACTION = 0.5
#: least samples per dimension for plain KSG (instead of LMI) on mostly discrete columns
DISCRETE_SAMPLES_PER_DIM = 2.0
#: fewer samples than this: no k-NN estimate is meaningful (benchmarks/bench_small_samples.py); ``auto``
#: warns (``EstimateWarning``, kind ``"few-samples"``) and prefers KSG on all samples to LMI on half of them
MIN_SAMPLES = 50
#: fewer samples than this: LMI's held-out half (N / 2) falls short of its own least level, 10 samples
#: per latent dimension at its smallest latent size 2 + 2 (``_lmi.MIN_ADAPTED_LATENT``), so ``auto``
#: prefers a KSG estimator on all samples wherever the Gaussian calibration can run. On 3+3
#: Gaussians at n = 50 (benchmarks/bench_small_samples.py, 40 data sets) the calibrated KSG read
#: RMSE 0.19 and 0.31 bits (0.5 and 2 bits) where LMI read 0.30 and 1.60
LMI_MIN_SAMPLES = 80
#: fewer samples than this: ``auto`` runs ``ksg-calibrated`` rather than ``ksg-mixture`` (no smaller sample was
#: measured: bench_clustered.py runs N = 1000, the bmi and single-cell-shaped suites N = 2000 and more)
MIXTURE_MIN_SAMPLES = 1000
#: ``auto`` runs LMI instead of a KSG estimator predicted to take more than this many times as long ...
COST_RATIO = 3.0
#: ... and more than this many seconds (a wait of minutes buys the more accurate estimator)
COST_FLOOR_SECONDS = 300.0


def discrete_threshold(n_samples: int) -> float:
    """Distinct values below which a column of ``n_samples`` values counts as discrete.

    ``max(DISCRETE_FRACTION * n, min(DISCRETE_MIN_VALUES, DISCRETE_MAX_FRACTION * n))``: 5 % of the
    samples, or 20 values, but never half of the samples or more, so a continuous column (all values
    distinct) is never discrete however small the sample. From 40 samples up this is
    ``max(0.05 n, 20)``.

    Parameters
    ----------
    n_samples
        Number of values in the column.

    Returns
    -------
    The threshold (a column with fewer distinct values is discrete).
    """
    return max(DISCRETE_FRACTION * n_samples, min(DISCRETE_MIN_VALUES, DISCRETE_MAX_FRACTION * n_samples))


def mostly_discrete(x: np.ndarray | Rows, y: np.ndarray | Rows) -> bool:
    """Whether more than half of the non-constant columns of ``x`` and ``y`` are discrete (fewer
    distinct values than :func:`discrete_threshold` of the number of samples), counted column block by
    column block (:func:`~bioinfo_mi._rows.distinct_counts`; sparse and lazy inputs are never densified).
    """
    counts = []
    for rows in (check_rows(x, name="x"), check_rows(y, name="y")):
        _, sd = rows.column_stats()
        threshold = discrete_threshold(rows.n_samples)
        counts.append(distinct_counts(rows, np.flatnonzero(sd > 0), threshold) < threshold)
    discrete = np.concatenate(counts)
    return bool(len(discrete) and np.mean(discrete) > 0.5)


def too_costly(seconds: float, lmi_seconds: float, cost_ratio: float = COST_RATIO) -> bool:
    """Whether a KSG estimator predicted to take ``seconds`` costs too much beside LMI's ``lmi_seconds``:
    more than ``cost_ratio`` times as long, and more than :data:`COST_FLOOR_SECONDS`.

    Parameters
    ----------
    seconds, lmi_seconds
        Predicted seconds of the KSG estimator and of LMI (``bm.estimators.predicted_seconds``).
    cost_ratio
        The largest ratio tolerated.

    Returns
    -------
    True when ``auto`` should run LMI instead.
    """
    return seconds > max(COST_FLOOR_SECONDS, cost_ratio * lmi_seconds)


def choose_method(
    n_samples: int,
    n_features: int,
    samples_per_dim: float = 10.0,
    discrete: bool = False,
    *,
    costs: Mapping[str, float] | None = None,
    cost_ratio: float = COST_RATIO,
    screened: bool = False,
    widths: tuple[int, int] | None = None,
    mixture: bool = True,
) -> str:
    """Return the estimator that ``method="auto"`` runs for ``n_samples`` pairs of ``n_features`` columns.

    Parameters
    ----------
    n_samples
        Number of paired samples.
    n_features
        Number of non-constant columns of ``x`` and ``y`` together (``d_x + d_y`` less the constant ones).
    samples_per_dim
        Least samples per dimension for the calibrated KSG.
    discrete
        Most columns are discrete (:func:`mostly_discrete`): plain KSG instead of the calibrated one,
        and down to ``min(samples_per_dim, DISCRETE_SAMPLES_PER_DIM)`` samples per dimension
        instead of LMI.
    costs
        Predicted seconds of the candidates (``"ksg-calibrated"``, ``"ksg"``, ``"lmi"``;
        ``bm.estimators.predicted_seconds``). Where given, a KSG estimator that the samples would
        choose gives way to LMI when it is :func:`too_costly` (from :data:`LMI_MIN_SAMPLES` samples on).
    cost_ratio
        The largest ratio of predicted times tolerated before LMI runs instead (see :func:`too_costly`).
    screened
        LMI's column screen leaves columns out of a side (``auto`` checks on a random half of the rows,
        ``bioinfo_mi/estimators/_screen.py``, :func:`screen_rows`): most columns carry nothing about the other
        side, and a KSG estimator that the samples would choose gives way to LMI, which screens them out on
        its training half (from :data:`LMI_MIN_SAMPLES` samples on; ``auto`` sets it where plain KSG on the rows
        the screen did not see reads more on the kept columns than on every column; module docstring, "Rule").
    widths
        ``(d_x, d_y)``, the non-constant columns of each side (summing to ``n_features``); ``None``: an even
        split, the widest ``d_x d_y`` for ``n_features``.
    mixture
        Whether ``"ksg-mixture"`` is a candidate (module docstring, "Rule"); with ``costs``, only where they hold
        its prediction.

    Returns
    -------
    ``"ksg-mixture"``, ``"ksg-calibrated"``, ``"ksg"`` or ``"lmi"``. Below :data:`LMI_MIN_SAMPLES` samples, a
    KSG estimator on all samples rather than LMI (whose KSG step sees only its held-out half) wherever the
    Gaussian calibration can run (``n_samples > n_features + 2``).
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    n_features = check_positive_int(n_features, name="n_features")
    chosen = "lmi"
    small = n_samples < LMI_MIN_SAMPLES and n_samples > n_features + 2
    if n_samples >= samples_per_dim * n_features or small:
        chosen = "ksg" if discrete else "ksg-calibrated"
    elif discrete and n_samples >= min(samples_per_dim, DISCRETE_SAMPLES_PER_DIM) * n_features:
        chosen = "ksg"
    d_x, d_y = widths if widths is not None else (n_features / 2, n_features / 2)
    # one Gaussian's inflation; ksg_mixture rejects a chosen mixture of K components above K times it
    mixture = mixture and (costs is None or "ksg-mixture" in costs)
    if chosen == "ksg-calibrated" and mixture and n_samples >= MIXTURE_MIN_SAMPLES:
        if d_x * d_y / (2.0 * n_samples) <= MAX_INFLATION:
            chosen = "ksg-mixture"
    if chosen != "lmi" and n_samples >= LMI_MIN_SAMPLES:
        if screened:
            return "lmi"
        if costs is not None and chosen == "ksg-mixture" and too_costly(costs[chosen], costs["lmi"], cost_ratio):
            chosen = "ksg-calibrated"
        if costs is not None and too_costly(costs[chosen], costs["lmi"], cost_ratio):
            return "lmi"
    return chosen


def warn_few_samples(res: MIResult, method: str, *, stacklevel: int = 3) -> None:
    """Warn (:class:`~bioinfo_mi.EstimateWarning`, kind ``"few-samples"``) that ``res`` rests on fewer than
    :data:`MIN_SAMPLES` samples; ``bm.mi`` calls it for every method.

    Parameters
    ----------
    res
        The estimate.
    method
        The method asked for (``res.method`` is the one that ran, e.g. the one ``auto`` chose).
    stacklevel
        The frame the warning points to, as for ``warnings.warn``.
    """
    unit = res.base if isinstance(res.base, str) else f"log-{res.base} units"
    ran = "" if res.method == method else f", which ran {res.method!r}"
    warnings.warn(
        EstimateWarning(
            f"bm.mi(method={method!r}{ran}) got {res.n_samples} samples, fewer than the {MIN_SAMPLES} that a k-NN "
            "estimate of MI needs to be meaningful: below that, its error on Gaussian test data is of the order of "
            "the MI itself (root mean squared error 0.23-0.42 bits for a truth of 0.5 bits, and 0.39-0.66 bits for "
            f"2 bits, at n = 15-30 for method='auto'; benchmarks/bench_small_samples.py). The estimate "
            f"({res.mi:.3f} {unit}) is returned, but read it as a rough indication; more samples are what it needs "
            "(n_shuffles= tests independence even at this size).",
            "few-samples",
        ),
        stacklevel=stacklevel,
    )
