"""KSG calibrated against Gaussian twins: the copula KSG with its bias measured and removed.

KSG (Kraskov et al. 2004) is consistent, but at a few thousand samples it underestimates badly
once the joint dimension or the MI is large: on the ``bmi`` benchmark's sparse 25+25 Gaussian
(1.47 bits) it reads 0.17 bits. Its bias depends on the dimension, the sample size and the
correlation structure, all of which can be reproduced by a Gaussian with the data's correlations.
:func:`ksg_calibrated` therefore

1. replaces every column by its normal scores (the empirical Gaussian copula; MI is invariant under
   invertible per-coordinate maps, and heavy tails are gone);
2. computes pointwise KSG on them: ``I_KSG``;
3. fits the Gaussian model of the normal scores: canonical correlations ``rho_i`` and the
   bias-corrected Gaussian MI ``I_G`` (Ince et al. 2017);
4. draws ``n_twins`` Gaussian samples of the same size, in the same coordinates and with the same
   within-variable correlations, whose cross-correlations are the canonical correlations shrunk
   (``rho_i^2 -> max(rho_i^2 - tau, 0)``) until the twin's exact MI equals ``max(I_G, 0)``
   (the plug-in correlations are inflated by sampling noise, by ``d_x d_y / 2N`` nats on average);
5. measures KSG's error on each twin, ``I_KSG(twin) - I(twin)`` (the twin's MI is known exactly),
   and returns ``I_KSG - mean error``; the pointwise values are shifted by the same constant;
6. caps the result at ``max(I_G, I_KSG)`` (see "Cap" below);
7. before any of this is applied, checks the Gaussian model (see "Guard" below) and returns the
   uncorrected copula KSG, with a warning, when the data contradict it.

For Gaussian-copula data (any monotone transform of a multivariate normal) the twin and the data
share their distribution up to the estimated correlations, so the result is KSG with its bias
removed, close to ``I_G``. Dependence that correlations do not show (Student-t tails, a spiral)
is still measured by the KSG term, and its share of the bias is not corrected: the estimate is never
worse than the uncorrected KSG by more than the twin's noise when the data are not Gaussian. At
independence every term is ~0 (the twin is independent too).

Cap
---
The correction assumes that KSG misses as much on the data as on its twin. When the dependence is
more concentrated than a Gaussian's (clustered cell states, for example), KSG misses less on the
data and the correction overshoots: on 10-50 principal components per side of the lineage
simulator (1000 and 2500 clone pairs, state-level truth 0.34 bits) the corrected result was
0.44-0.69 bits, while the Gaussian-copula MI read 0.33-0.40 and the copula KSG 0.15-0.35. A correction that lifts the
estimate above both uncorrected readings (the Gaussian-copula MI, which sees every correlation,
and the copula KSG, which sees every neighbour) is not supported by either, so the result is
capped at the larger of the two; ``extra["capped"]`` says when. On the ``bmi`` suite the cap costs
little (mean MSE over the 40 tasks at N = 2000: 0.027 bits^2 without, 0.035 with it) and on the
simulator's principal components it gives 0.34-0.40 (probe).

Guard
-----
The Gaussian model can overstate the dependence. When X and Y share a discrete state (cell types,
clusters), the correlations are strong and the Gaussian MI grows without bound with the separation
of the clusters, while the true MI is at most the entropy of the shared state; the twin then looks
like the data to KSG in the full dimension, so the correction and the cap cannot tell. In the few
strongest canonical directions, though, KSG is reliable, and the guard makes two checks there:

- the joint KSG of the data's first ``m <= 3`` canonical variates against the twins' (the data
  carry at most the shared state's entropy there, the twins the Gaussian value);
- redundancy: over the (up to) five pairs that carry at least 0.05 nats each in the twin, the
  data's joint KSG against the sum of its pairs' 2-D KSGs, scaled by the same ratio in the twins
  (the twin's pairs are independent, so their joint is their sum up to KSG's bias; pairs that all
  reflect one shared state are redundant and their joint falls short).

The Gaussian model is rejected when the first shortfall exceeds ``max(0.1 nats, 0.16 sqrt(1000 / n) nats,
10 %)`` or the redundancy shortfall ``max(0.1 nats, 0.26 sqrt(1000 / n) nats, 10 %)``: on Gaussian data the
first has a standard deviation of about ``0.04 sqrt(1000 / n)`` nats (144 datasets, n = 300-2000, 3-10
dimensions per side) and the second, which sums up to five pairs' estimates, about
``0.06 sqrt(1000 / n)`` nats (200 datasets, 3 + 3 and 8 + 8 dimensions, 0.5-4 bits, n = 500 and 2000), so
each margin is about four of its standard deviations. (The redundancy margin was the first's until
issue 27's grid: 2-3 % of Gaussian data sets at n = 2000 were then rejected, e.g. one of 40 at 8 + 8,
1 bit, which returned 0.48 bits for 1.)

A third check tests the premise of the correction itself, that KSG misses as much on the data as
on the twins: KSG's bias shrinks with the sample size, so the gain of the full-sample KSG over the
mean KSG of random halves must be about the same on the data (two half-splits) and on the twins
(one each). Clustered data, on which KSG has nearly converged, gain little (-0.03 to 0.05 bits
where the twins gain 0.14-0.25 in ``bench_clustered.py``); on the ``bmi`` suite and the Gaussian
grid the two gains agree within 0.05 bits wherever the correction is large. The model is rejected
when the twins' gain exceeds the data's by more than ``max(0.05 nats, 0.12 sqrt(1000 / n) nats,
half the twins' gain)`` (the difference has an SD of about ``0.03 sqrt(1000 / n)`` nats on Gaussian
data).

A rejected model (``extra["guard"]["rejected"]``) returns the uncorrected copula KSG with a warning.

It catches well-separated clusters but not all clustered data: ``benchmarks/bench_clustered.py``
(4 or 8 shared states, 10-50 dimensions per side, 1000 pairs, truth 1.6-3 bits) gives an MSE of
0.054 bits^2 with the guard (0.56 with the first two checks only, 4.57 without any), against 0.007
for LMI and 0.010 for KSG. Weakly separated clusters pass it: 4 states in 20 dimensions at
separation 1 read 2.4-2.5 bits (truth 1.98; KSG's convergence on them matches the twins'), 4
states in 10 dimensions read 1.36 (truth 1.63). Use LMI or KSG for data known to be clustered. On
the ``bmi`` suite (N = 2000 and 5000) and the Gaussian grid (d <= 100) it rejected nothing.

Cost: ``1 + n_twins`` KSG estimates of the same size; for the guard, as many again in at most
5 + 5 dimensions (and up to 5 two-dimensional ones each) and ``4 + 2 n_twins`` on half-samples;
one ``(d_x + d_y)``-square eigen-decomposition. The Gaussian model needs ``n`` well above
``d_x + d_y``; ``method="auto"`` uses this estimator only there (see :func:`bioinfo_mi.estimators.auto`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import EstimateWarning, check_positive_int, check_random_state, seed_from, to_base
from ._copula import copula_transform, gaussian_mi
from ._knn import _ksg_pmi_prepared, _prepare, add_jitter
from ._result import MIResult

__all__ = ["ksg_calibrated", "gaussian_twin_model"]

#: relative eigenvalue below which a direction of a variable's correlation matrix counts as absent
_RANK_TOL = 1e-9
#: canonical correlation treated as a deterministic linear relation (calibration impossible)
_MAX_CORRELATION = 1 - 1e-9
#: strongest canonical pairs on which the data's joint KSG is compared with the twins' (the guard)
_GUARD_PAIRS = 3
#: the guard rejects the Gaussian model when the twins' KSG there exceeds the data's by more than
#: max(_GUARD_ABS nats, _GUARD_NOISE x sqrt(1000 / n) nats, _GUARD_REL x the twins' value); on
#: Gaussian data both shortfalls have an SD of about 0.04 x sqrt(1000 / n) nats (n = 300-2000)
_GUARD_ABS, _GUARD_NOISE, _GUARD_REL = 0.1, 0.16, 0.1
#: strongest canonical pairs whose joint KSG is compared with the sum of their 2-D KSGs (redundancy)
_RATIO_PAIRS = 5
#: only pairs carrying at least this much MI in the twin (nats) enter the redundancy check
_RATIO_MIN_PAIR_MI = 0.05
#: the redundancy check rejects when the shortfall exceeds max(_GUARD_ABS nats, _RATIO_NOISE x sqrt(1000 / n)
#: nats, _GUARD_REL x the expected joint): on Gaussian data the shortfall has a mean of 0.00-0.04 and an SD of
#: about 0.06 x sqrt(1000 / n) nats (200 data sets, 3 + 3 and 8 + 8, 0.5-4 bits, n = 500 and 2000), so the
#: margin is about four of them (it was _GUARD_NOISE, about two: 2-3 % false rejections at n = 2000)
_RATIO_NOISE = 0.26
#: convergence check: random half-splits of the data whose mean KSG is compared with the full-sample KSG
_HALF_SPLITS = 2
#: the convergence check rejects the Gaussian model when the twins' KSG gain from n/2 to n exceeds the
#: data's by more than max(_SLOPE_ABS nats, _SLOPE_NOISE x sqrt(1000 / n) nats, _SLOPE_REL x the twins'
#: gain); on Gaussian data the difference has an SD of about 0.03 x sqrt(1000 / n) nats
_SLOPE_ABS, _SLOPE_NOISE, _SLOPE_REL = 0.05, 0.12, 0.5


def _whitener(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Square root ``L`` (``d x r``, ``L L' = c``) and whitening ``W`` (``r x d``, ``W c W' = I``)
    on the span of a possibly singular correlation matrix.
    """
    w, q = np.linalg.eigh(c)
    keep = w > _RANK_TOL * max(w.max(), 1e-300)
    root = np.sqrt(w[keep])
    return q[:, keep] * root, (q[:, keep] / root).T


def shrink_canonical(rho: np.ndarray, target: float) -> tuple[np.ndarray, float]:
    """Shrink canonical correlations, ``rho_i^2 -> max(rho_i^2 - tau, 0)``, with the smallest ``tau >= 0`` that
    brings the Gaussian information ``-1/2 sum log(1 - rho_i^2)`` (nats) down to ``target`` (bisection).

    Parameters
    ----------
    rho
        Canonical correlations (of x and y, or of x and y given z).
    target
        The information the shrunk correlations must carry (nats, >= 0).

    Returns
    -------
    ``(rho_shrunk, information)``.
    """
    r2 = rho**2

    def info(tau: float) -> float:
        return float(-0.5 * np.log1p(-np.clip(r2 - tau, 0.0, None)).sum())

    lo, hi = 0.0, float(r2.max()) if r2.size else 0.0
    if info(0.0) <= target:
        hi = 0.0
    else:
        for _ in range(100):  # bisection: info decreases in tau
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if info(mid) > target else (lo, mid)
    return np.sqrt(np.clip(r2 - hi, 0.0, None)), info(hi)


def _whitened_gaussian_mi(xs: np.ndarray, ys: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> float:
    """Bias-corrected Gaussian MI (nats) of the whitened scores (invariant to the linear map, full rank)."""
    return gaussian_mi((xs - xs.mean(0)) @ wx.T, (ys - ys.mean(0)) @ wy.T)


def span_gaussian_mi(xs: np.ndarray, ys: np.ndarray) -> float:
    """Return the bias-corrected Gaussian MI (nats) of normal scores on the span of each side's correlations
    (as :func:`gaussian_twin_model`; rank-deficient columns allowed), e.g. of one part of a sample.

    Parameters
    ----------
    xs, ys
        ``(n, d_x)``, ``(n, d_y)`` normal scores without constant columns.

    Returns
    -------
    The Gaussian MI in nats; ``LinAlgError`` when x and y are linearly dependent.
    """
    dx = xs.shape[1]
    c = np.atleast_2d(np.corrcoef(np.hstack([xs, ys]), rowvar=False))
    return _whitened_gaussian_mi(xs, ys, _whitener(c[:dx, :dx])[1], _whitener(c[dx:, dx:])[1])


def gaussian_twin_model(xs: np.ndarray, ys: np.ndarray) -> dict[str, Any]:
    """Gaussian model of normal scores: canonical correlations, the bias-corrected Gaussian MI and
    the shrunken correlations of the twin whose exact MI equals ``max(I_G, 0)``.

    Parameters
    ----------
    xs, ys
        ``(n, d_x)``, ``(n, d_y)`` normal scores without constant columns.

    Returns
    -------
    dict with ``lx``, ``ly`` (square roots of the within-variable correlations), ``u``, ``vt``
    (canonical directions in whitened coordinates), ``rho`` (sample canonical correlations),
    ``rho_twin`` (shrunken), ``gaussian_mi`` and ``twin_mi`` (nats).
    """
    n, dx = xs.shape
    z = np.hstack([xs, ys])
    c = np.atleast_2d(np.corrcoef(z, rowvar=False))
    lx, wx = _whitener(c[:dx, :dx])
    ly, wy = _whitener(c[dx:, dx:])
    rx, ry = len(wx), len(wy)
    if n <= rx + ry + 2:
        raise ValueError(
            f"the Gaussian calibration needs more samples than dimensions: {n} samples for {rx} + {ry} "
            "independent columns; use method='lmi' (latent MI) for inputs this wide"
        )
    u, rho, vt = np.linalg.svd(wx @ c[:dx, dx:] @ wy.T)
    if rho.size and rho.max() > _MAX_CORRELATION:
        raise np.linalg.LinAlgError("x and y are linearly dependent (a canonical correlation is 1)")
    i_g = _whitened_gaussian_mi(xs, ys, wx, wy)
    rho_twin, twin_value = shrink_canonical(rho, max(i_g, 0.0))
    return {
        "lx": lx,
        "ly": ly,
        "wx": wx,
        "wy": wy,
        "u": u,
        "vt": vt,
        "rho": rho,
        "rho_twin": rho_twin,
        "gaussian_mi": i_g,
        "twin_mi": twin_value,
    }


def _draw_twin(
    model: dict[str, Any], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw a Gaussian sample with the model's within-variable correlations and shrunken canonical ones:
    ``(x, y)`` in the data's coordinates and ``(a, b)``, its canonical variates.
    """
    rx, ry = model["lx"].shape[1], model["ly"].shape[1]
    r = len(model["rho_twin"])
    a = rng.standard_normal((n, rx))
    b = rng.standard_normal((n, ry))
    s = model["rho_twin"]
    b[:, :r] = s * a[:, :r] + np.sqrt(1.0 - s**2) * b[:, :r]
    return a @ model["u"].T @ model["lx"].T, b @ model["vt"] @ model["ly"].T, a, b


def _joint_over_sum(a: np.ndarray, b: np.ndarray, k: int, workers: int) -> tuple[float, float]:
    """Joint KSG (nats) of the canonical pairs ``(a[:, i], b[:, i])`` and the sum of their 2-D KSGs."""
    joint = float(_ksg_pmi_prepared(a, b, k, "nats", workers).mean())
    pairs = sum(
        float(_ksg_pmi_prepared(a[:, i : i + 1], b[:, i : i + 1], k, "nats", workers).mean()) for i in range(a.shape[1])
    )
    return joint, pairs


def _half_gain(
    x: np.ndarray, y: np.ndarray, full: float, k: int, rng: np.random.Generator, splits: int, workers: int
) -> float:
    """How much KSG gains from ``n / 2`` to ``n`` samples: the full-sample KSG (nats) minus the mean KSG
    of the two halves of ``splits`` random half-splits.
    """
    h = len(x) // 2
    halves = []
    for _ in range(splits):
        p = rng.permutation(len(x))
        halves += [float(_ksg_pmi_prepared(x[q], y[q], k, "nats", workers).mean()) for q in (p[:h], p[h : 2 * h])]
    return full - float(np.mean(halves))


def _canonical(model: dict[str, Any], xs: np.ndarray, ys: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the first ``m`` canonical variates of the data (whitened, rotated by the model's SVD)."""
    a = (xs - xs.mean(0)) @ model["wx"].T @ model["u"][:, :m]
    b = (ys - ys.mean(0)) @ model["wy"].T @ model["vt"][:m].T
    return a, b


def _run_twins(
    model: dict[str, Any],
    n: int,
    n_twins: int,
    rng: np.random.Generator,
    ksg_settings: tuple[int, float, int],
    m: int,
    mr: int,
) -> dict[str, list[Any]]:
    """Draw the Gaussian twins and return, per twin (nats): the KSG error on its normal scores
    (``errors``), the joint KSG along its ``m`` strongest canonical pairs (``guard``), the joint and
    summed KSG of its ``mr`` pairs (``ratio``) and KSG's gain from half to all samples (``gain``).
    """
    k, jitter, workers = ksg_settings
    out: dict[str, list[Any]] = {"errors": [], "guard": [], "ratio": [], "gain": []}
    for _ in range(n_twins):
        twin_rng = np.random.default_rng(seed_from(rng))
        tx, ty, ta, tb = _draw_twin(model, n, twin_rng)
        tx, ty = copula_transform(tx), copula_transform(ty)
        tx, ty = add_jitter(tx, twin_rng, jitter), add_jitter(ty, twin_rng, jitter)
        twin_ksg = float(_ksg_pmi_prepared(tx, ty, k, "nats", workers).mean())
        out["errors"].append(twin_ksg - model["twin_mi"])
        if m:
            out["guard"].append(float(_ksg_pmi_prepared(ta[:, :m], tb[:, :m], k, "nats", workers).mean()))
        if mr >= 2:
            out["ratio"].append(_joint_over_sum(ta[:, :mr], tb[:, :mr], k, workers))
        out["gain"].append(_half_gain(tx, ty, twin_ksg, k, twin_rng, 1, workers))
    return out


def _guard(
    model: dict[str, Any],
    scores: tuple[np.ndarray, np.ndarray],
    jittered: tuple[np.ndarray, np.ndarray],
    ksg_nats: float,
    twins: dict[str, list[Any]],
    rng: np.random.Generator,
    ksg_settings: tuple[int, float, int],
    pairs: tuple[int, int],
    base: str | float,
) -> dict[str, Any]:
    """Compare the data with its twins along the strongest canonical pairs, in the redundancy between pairs
    and in KSG's convergence (module docstring, "Guard"); ``rejected`` when the data falls short.
    """
    (xs, ys), (xj, yj), (k, jitter, workers), (m, mr) = scores, jittered, ksg_settings, pairs
    n = len(xs)
    guard: dict[str, Any] = {"pairs": m, "rejected": False}
    guard_abs = max(_GUARD_ABS, _GUARD_NOISE * np.sqrt(1000 / n))  # ~4 SD of the shortfalls on Gaussian data
    if m:  # does the data carry as much MI as the twins jointly along the strongest canonical pairs?
        ca, cb = _canonical(model, xs, ys, m)
        data_nats = float(
            _ksg_pmi_prepared(add_jitter(ca, rng, jitter), add_jitter(cb, rng, jitter), k, "nats", workers).mean()
        )
        twin_nats = float(np.mean(twins["guard"]))
        guard.update(
            ksg_data=to_base(data_nats, base),
            ksg_twin=to_base(twin_nats, base),
            rejected=twin_nats - data_nats > max(guard_abs, _GUARD_REL * twin_nats),
        )
    if mr >= 2:  # redundancy between pairs: the data's joint falls short of its pairs' sum
        ca, cb = _canonical(model, xs, ys, mr)
        ca, cb = add_jitter(ca, rng, jitter), add_jitter(cb, rng, jitter)
        joint_d, sum_d = _joint_over_sum(ca, cb, k, workers)
        ratio_twin = twins["ratio"]
        r_t = float(np.mean([j / s for j, s in ratio_twin])) if all(s > 0 for _, s in ratio_twin) else 1.0
        expected = r_t * sum_d
        guard.update(redundancy_pairs=mr, joint_data=to_base(joint_d, base), expected_joint=to_base(expected, base))
        ratio_abs = max(_GUARD_ABS, _RATIO_NOISE * np.sqrt(1000 / n))  # ~4 SD of its shortfall on Gaussian data
        if expected - joint_d > max(ratio_abs, _GUARD_REL * expected):
            guard["rejected"] = True
    # convergence: KSG's bias shrinks with n as fast on the data as on the twins if they share it
    gain_d = _half_gain(xj, yj, ksg_nats, k, np.random.default_rng(seed_from(rng)), _HALF_SPLITS, workers)
    gain_t = float(np.mean(twins["gain"]))
    guard.update(gain_data=to_base(gain_d, base), gain_twin=to_base(gain_t, base))
    if gain_t - gain_d > max(_SLOPE_ABS, _SLOPE_NOISE * np.sqrt(1000 / n), _SLOPE_REL * gain_t):
        guard["rejected"] = True
    return guard


def _corrected(
    pmi: np.ndarray, model: dict[str, Any], errors: list[float], ksg_nats: float, extra: dict[str, Any]
) -> np.ndarray:
    """Return the pointwise KSG (nats) minus the twins' mean error, capped (module docstring, "Cap"); sets
    ``extra["capped"]`` and ``extra["calibrated"]``.
    """
    # the twin's MI is max(I_G, 0); a negative I_G (sampling noise at independence) is kept, so
    # that the estimate stays unbiased there instead of being pushed up by the clipping
    pmi = pmi - float(np.mean(errors)) + min(model["gaussian_mi"], 0.0)
    # never above both uncorrected readings: see "Cap" in the module docstring
    cap = max(model["gaussian_mi"], ksg_nats)
    extra["capped"] = float(pmi.mean()) > cap
    if extra["capped"]:
        pmi = pmi - (float(pmi.mean()) - cap)
    extra["calibrated"] = True
    return pmi


def ksg_calibrated(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    n_twins: int = 2,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG on normal scores minus its bias on Gaussian twins of the data (see the module docstring).

    Parameters
    ----------
    x, y
        Paired samples ``(n, d_x)``, ``(n, d_y)``: arrays, frames or sparse matrices (not modified).
        Needs ``n > d_x + d_y + 2`` (non-constant columns); accuracy wants ``n`` of at least ten
        times ``d_x + d_y``.
    k
        Neighbours of every KSG estimate (3, as in the LMI paper).
    n_twins
        Gaussian twins whose KSG error is averaged (each costs one KSG estimate).
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        Seed or ``numpy.random.Generator`` for the KSG jitter and the twins.
    jitter, workers
        As in :func:`~bioinfo_mi.estimators.ksg_pointwise`.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` with method ``"ksg-calibrated"``: ``pmi`` is the pointwise KSG on
    the normal scores shifted by the twins' mean error, ``mi`` its mean. ``extra`` holds
    ``ksg`` (the uncorrected copula KSG), ``gaussian_mi`` (bias-corrected Gaussian-copula MI),
    ``twin_mi`` (the twins' exact MI), ``twin_errors`` (KSG minus truth per twin),
    ``canonical_correlations``, ``calibrated`` (False when the calibration was skipped or rejected),
    ``capped`` (True when the result was capped at ``max(gaussian_mi, ksg)``) and ``guard``
    (``pairs``, the joint KSG of the data and of the twins along them; ``redundancy_pairs``,
    ``joint_data`` and ``expected_joint`` of the redundancy check; ``rejected``), all in ``base``
    units.
    """
    n_twins = check_positive_int(n_twins, name="n_twins")
    xa, ya, k = _prepare(x, y, k, random_state, 0.0, "ksg-calibrated")  # validation only; no jitter yet
    rng = check_random_state(random_state)
    xs = copula_transform(xa[:, xa.std(axis=0) > 0])
    ys = copula_transform(ya[:, ya.std(axis=0) > 0])
    n = len(xs)
    xj, yj = add_jitter(xs, rng, jitter), add_jitter(ys, rng, jitter)
    pmi = _ksg_pmi_prepared(xj, yj, k, "nats", workers)
    ksg_nats = float(pmi.mean())
    extra: dict[str, Any] = {"ksg": to_base(ksg_nats, base), "calibrated": False}
    try:
        model = gaussian_twin_model(xs, ys)
    except np.linalg.LinAlgError as err:
        warnings.warn(
            EstimateWarning(
                f"Gaussian calibration skipped ({err}); returning the uncorrected copula KSG", "calibration-skipped"
            ),
            stacklevel=2,
        )
        model = None
    if model is not None:
        m = min(_GUARD_PAIRS, int((model["rho_twin"] > 0).sum()))
        pair_mi = -0.5 * np.log1p(-(model["rho_twin"] ** 2))  # the twin's MI per canonical pair (nats)
        mr = min(_RATIO_PAIRS, int((pair_mi >= _RATIO_MIN_PAIR_MI).sum()))
        twins = _run_twins(model, n, n_twins, rng, (k, jitter, workers), m, mr)
        errors = twins["errors"]
        guard = _guard(model, (xs, ys), (xj, yj), ksg_nats, twins, rng, (k, jitter, workers), (m, mr), base)
        extra["guard"] = guard
        extra.update(
            gaussian_mi=to_base(model["gaussian_mi"], base),
            twin_mi=to_base(model["twin_mi"], base),
            twin_errors=[to_base(e, base) for e in errors],
            canonical_correlations=model["rho"],
            capped=False,
        )
        if guard["rejected"]:
            warnings.warn(
                EstimateWarning(
                    "the Gaussian model overstates the dependence along the strongest canonical pairs (e.g. "
                    "clustered data); returning the uncorrected copula KSG. LMI (method='lmi') suits such data",
                    "guard-rejected",
                ),
                stacklevel=2,
            )
        else:
            pmi = _corrected(pmi, model, errors, ksg_nats, extra)
    pmi = to_base(pmi, base)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg-calibrated",
        base=base,
        n_samples=n,
        params={"k": k, "n_twins": n_twins, "jitter": jitter},
        extra=extra,
    )
