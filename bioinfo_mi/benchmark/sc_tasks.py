"""Single-cell-shaped benchmark tasks with exact truths: shared cell states, noise genes, counts, nonlinear links.

The ``bmi`` suite is almost entirely Gaussian copulas. Single-cell data look different: cells share
discrete states (cell types, clone fates), most genes carry no signal, counts are Poisson or
negative-binomial noisy with varying library sizes, and links are non-monotone. Each factory here
returns a :class:`~bioinfo_mi.benchmark.Task` whose ``true_mi`` is computed from the generating
densities, never from a fitted model; :func:`sc_suite` collects the suite that
``benchmarks/bench_sc_suite.py`` runs.

Models
------
States (:func:`states_task`)
    A state ``S`` with probabilities ``w`` (``n_states`` of them, equal or unequal); given ``S = s``
    the ``n_informative`` coordinates of each side are ``mu_s + e`` with ``e`` standard normal, the
    state means drawn once per task (``N(0, effect^2)`` per coordinate, separately for ``x`` and ``y``).
    ``X`` and ``Y`` are independent given ``S``. Optional: ``n_noise`` pure-noise columns per side
    (standard normal, independent of everything), the columns shuffled so that the informative ones are
    not first; and a random invertible nonlinear map of each side (``tanh`` of a random rotation and
    scaling of all its columns), under which the MI does not change.
Counts (:func:`counts_task`)
    The same state model on gene expression: gene ``g`` of a cell in state ``s`` has mean
    ``L exp(b_g + delta_sg)`` counts, ``delta_sg ~ N(0, effect^2)`` on the informative genes
    (``n_informative`` of ``n_genes``, each side its own) and 0 on the others, base rates
    ``b_g`` drawn once, library size ``log L ~ N(0, library_sd^2)`` drawn per cell and per side; the
    counts are Poisson, or negative binomial with ``dispersion`` ``r`` (variance ``m + m^2 / r``).
Links (:func:`link_task`)
    ``d`` independent coordinates, ``x ~ N(0, 1)`` and ``y = f(x) + s(x) e``: ``"square"``
    (``f = x^2``, ``s = sigma``: not monotone) or ``"heteroscedastic"`` (``f = x``,
    ``s = sigma (0.2 + |x|)``).

How the truths are computed
---------------------------
States and counts: ``X`` and ``Y`` are independent given the discrete ``S``, so
``p(x, y) / (p(x) p(y)) = sum_s P(s | x) P(s | y) / w_s`` with the exact posteriors, and
``I(X; Y)`` is the mean of its log over ``n_truth`` joint draws (Monte Carlo over the generating
model; its standard error is stored in ``params["true_mi_se"]``, below 0.005 bits for every task of
:func:`sc_suite`). For counts with a random library size, ``P(x | s)`` integrates ``L`` out by
adaptive Gauss-Hermite quadrature on ``log L``, centred and scaled per draw and state on the
integrand's peak (:data:`QUADRATURE_NODES` nodes; doubling them moves a truth by less than 1e-4
bits, and one gene per side matches exact sums over every count value:
tests/benchmark/test_sc_tasks.py). Pure-noise columns and invertible maps of one side leave the MI
unchanged, so the truth is computed on the informative coordinates. Links: the coordinates are
independent pairs, so ``I = d * I_1``, with ``I_1 = h(Y) - h(Y | X)``,
``h(Y | X) = h(e) + E log s(X)`` and ``h(Y)`` integrated numerically from
``p(y) = int phi(x) N(y; f(x), s(x)^2) dx`` on fine grids (deterministic; ``true_mi_se`` is the
change from halving the grids).
"""

from __future__ import annotations

import functools
import math
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy.special import logsumexp

from .._validation import check_positive_int, check_real
from ..datasets.lineage import lineage_state_mi, simulate_lineage
from .tasks import Task, base_seed

__all__ = ["states_task", "counts_task", "link_task", "lineage_task", "sc_suite", "QUADRATURE_NODES"]

LN2 = math.log(2.0)
#: Gauss-Hermite nodes over log library size in the exact likelihood of the count tasks
QUADRATURE_NODES = 16
#: joint draws behind the Monte Carlo truth of the state and count tasks
N_TRUTH = 200_000
#: draws behind the truth of the count tasks of :func:`sc_suite` (each draw samples every gene)
N_TRUTH_COUNTS = 100_000
_CHUNK = 8192  # draws per block of the truth's computation


# --- shared state model ------------------------------------------------------------------------


def _state_weights(n_states: int, weights: str) -> np.ndarray:
    if weights == "equal":
        w = np.ones(n_states)
    elif weights == "unequal":  # geometric, ratio 0.6: e.g. 8 states from 0.40 down to 0.011
        w = 0.6 ** np.arange(n_states)
    else:
        raise ValueError(f"state_weights must be 'equal' or 'unequal', got {weights!r}")
    return w / w.sum()


def _draw_states(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=weights)


def _log_posterior(loglik: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """``log P(s | x)`` from ``log P(x | s)`` (rows: draws, columns: states)."""
    joint = loglik + log_w
    return joint - logsumexp(joint, axis=1, keepdims=True)


def _pointwise_bits(log_post_x: np.ndarray, log_post_y: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    """``log2 sum_s P(s | x) P(s | y) / w_s`` per draw: the pointwise MI of a conditionally independent pair."""
    return logsumexp(log_post_x + log_post_y - log_w, axis=1) / LN2


def _monte_carlo(pointwise: Any, n_truth: int, seed: int) -> tuple[float, float]:
    """Mean and standard error (bits) of ``pointwise(n, rng)`` over ``n_truth`` draws, a block at a time."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([pointwise(min(_CHUNK, n_truth - i), rng) for i in range(0, n_truth, _CHUNK)])
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


# --- states ----------------------------------------------------------------------------------------


def _states_geometry(
    n_states: int, n_informative: int, effect: float, state_weights: str, n_noise: int, nonlinear: bool, seed: int
) -> dict[str, Any]:
    """Return the fixed parameters of a states task. The state means depend on ``(n_states, n_informative, effect,
    seed)`` only, so tasks that differ in noise columns or in the map share their truth.
    """
    means = np.random.default_rng([seed, n_states, n_informative, 7_301])
    other = np.random.default_rng([seed, n_states, n_informative, n_noise, int(nonlinear), 7_302])
    total = n_informative + n_noise
    geometry: dict[str, Any] = {"weights": _state_weights(n_states, state_weights)}
    for side in ("x", "y"):
        geometry[f"means_{side}"] = effect * means.normal(size=(n_states, n_informative))
        geometry[f"order_{side}"] = other.permutation(total)  # where the informative columns end up
        if nonlinear:  # x -> tanh(x Q diag(a) + b): invertible (Q orthogonal, a > 0, tanh monotone)
            q, r = np.linalg.qr(other.normal(size=(total, total)))
            geometry[f"map_{side}"] = (
                q * np.sign(np.diag(r)),
                other.uniform(0.3, 0.8, size=total),
                other.normal(size=total),
            )
    return geometry


def _states_side(
    states: np.ndarray, means: np.ndarray, n_noise: int, order: np.ndarray, mapping: Any, rng: np.random.Generator
) -> np.ndarray:
    z = means[states] + rng.normal(size=(len(states), means.shape[1]))
    if n_noise:
        z = np.hstack([z, rng.normal(size=(len(states), n_noise))])[:, np.argsort(order)]
    if mapping is not None:
        rotation, scale, shift = mapping
        z = np.tanh((z @ rotation) * scale + shift)
    return z


def _states_sampler(
    n: int, rng: np.random.Generator, *, geometry: dict[str, Any], n_noise: int
) -> tuple[np.ndarray, np.ndarray]:
    states = _draw_states(n, geometry["weights"], rng)
    x = _states_side(states, geometry["means_x"], n_noise, geometry["order_x"], geometry.get("map_x"), rng)
    y = _states_side(states, geometry["means_y"], n_noise, geometry["order_y"], geometry.get("map_y"), rng)
    return x, y


def _gaussian_loglik(z: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``log N(z; mu_s, I)`` up to a constant shared by all states (it cancels in the posterior)."""
    return z @ means.T - 0.5 * (means**2).sum(axis=1)


def _states_pointwise(n: int, rng: np.random.Generator, *, geometry: dict[str, Any]) -> np.ndarray:
    w, mx, my = geometry["weights"], geometry["means_x"], geometry["means_y"]
    states = _draw_states(n, w, rng)
    zx = mx[states] + rng.normal(size=(n, mx.shape[1]))
    zy = my[states] + rng.normal(size=(n, my.shape[1]))
    log_w = np.log(w)
    return _pointwise_bits(
        _log_posterior(_gaussian_loglik(zx, mx), log_w), _log_posterior(_gaussian_loglik(zy, my), log_w), log_w
    )


@functools.lru_cache(maxsize=64)
def _states_truth(
    n_states: int, n_informative: int, effect: float, state_weights: str, seed: int, n_truth: int
) -> tuple[float, float]:
    """Truth of the informative coordinates (noise columns and the invertible map do not change it)."""
    geometry = _states_geometry(n_states, n_informative, effect, state_weights, 0, False, seed)
    return _monte_carlo(partial(_states_pointwise, geometry=geometry), n_truth, seed=seed + 1)


def states_task(
    n_states: int = 4,
    n_informative: int = 10,
    effect: float = 1.0,
    *,
    state_weights: Literal["equal", "unequal"] = "equal",
    n_noise: int = 0,
    nonlinear: bool = False,
    n_samples: int = 2000,
    random_state: int | np.random.Generator | None = 0,
    n_truth: int = N_TRUTH,
) -> Task:
    """Cells sharing a discrete state: ``X`` and ``Y`` are independent given the state (see the module).

    Parameters
    ----------
    n_states
        Number of states (>= 2).
    n_informative
        Informative coordinates per side (>= 1).
    effect
        SD of the state effects: of the state means on each informative column, in units of the
        within-state SD (> 0); about 1 is weakly separated, 3 nearly disjoint.
    state_weights
        ``"equal"`` or ``"unequal"`` (geometric, ratio 0.6) state probabilities.
    n_noise
        Pure-noise columns per side (>= 0), shuffled among the informative ones.
    nonlinear
        Send each side through a random invertible ``tanh`` map of all its columns.
    n_samples
        Samples per data set.
    random_state
        Seed of the task's fixed parameters (state means, column order, map): an int is used as given
        and is part of the name; a Generator gives one draw. The data sets are seeded by the runner.
    n_truth
        Monte Carlo draws behind ``true_mi``.

    Returns
    -------
    A :class:`~bioinfo_mi.benchmark.Task` with ``params``: ``family="states"``, the arguments,
    ``d`` (columns per side), ``informative_fraction``, ``true_mi_se`` (Monte Carlo SE, bits) and
    ``truth="monte carlo"``.
    """
    n_states = check_positive_int(n_states, name="n_states", minimum=2)
    n_informative = check_positive_int(n_informative, name="n_informative")
    effect = check_real(effect, name="effect", low=0.0, low_inclusive=False)
    n_noise = check_positive_int(n_noise, name="n_noise", minimum=0)
    n_samples = check_positive_int(n_samples, name="n_samples")
    n_truth = check_positive_int(n_truth, name="n_truth", minimum=1000)
    _state_weights(n_states, state_weights)  # validates state_weights
    seed = base_seed(random_state)
    geometry = _states_geometry(n_states, n_informative, effect, state_weights, n_noise, bool(nonlinear), seed)
    mi, se = _states_truth(n_states, n_informative, effect, state_weights, seed, n_truth)
    shape = f"{'tanh' if nonlinear else 'linear'}"
    name = f"sc-states-K{n_states}-q{n_informative}-eff{effect:.2f}-{state_weights}-noise{n_noise}-{shape}"
    name += f"-g{seed}-n{n_samples}"
    return Task(
        name=name,
        sampler=partial(_states_sampler, geometry=geometry, n_noise=n_noise),
        n_samples=n_samples,
        true_mi=mi,
        params={
            "family": "states",
            "n_states": n_states,
            "n_informative": n_informative,
            "effect": effect,
            "state_weights": state_weights,
            "n_noise": n_noise,
            "nonlinear": bool(nonlinear),
            "d": n_informative + n_noise,
            "informative_fraction": n_informative / (n_informative + n_noise),
            "true_mi_se": se,
            "truth": "monte carlo",
        },
    )


# --- counts ----------------------------------------------------------------------------------------


def _counts_geometry(
    n_states: int, n_genes: int, n_informative: int, effect: float, state_weights: str, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng([seed, n_states, n_genes, n_informative, 9_127])
    geometry: dict[str, Any] = {"weights": _state_weights(n_states, state_weights)}
    for side in ("x", "y"):
        log_rate = np.tile(rng.normal(np.log(0.5), 1.0, size=n_genes), (n_states, 1))  # base: mean 0.5 counts
        genes = rng.choice(n_genes, size=n_informative, replace=False)
        log_rate[:, genes] += effect * rng.normal(size=(n_states, n_informative))
        geometry[f"log_rate_{side}"] = log_rate
    return geometry


def _counts_side(
    states: np.ndarray, log_rate: np.ndarray, library_sd: float, dispersion: float | None, rng: np.random.Generator
) -> np.ndarray:
    log_library = library_sd * rng.normal(size=(len(states), 1))
    mean = np.exp(log_rate[states] + log_library)
    if dispersion is not None:  # negative binomial as a gamma-Poisson mixture, variance m + m^2 / r
        mean = rng.gamma(dispersion, mean / dispersion)
    return rng.poisson(mean).astype(np.float64)


def _counts_sampler(
    n: int, rng: np.random.Generator, *, geometry: dict[str, Any], library_sd: float, dispersion: float | None
) -> tuple[np.ndarray, np.ndarray]:
    states = _draw_states(n, geometry["weights"], rng)
    x = _counts_side(states, geometry["log_rate_x"], library_sd, dispersion, rng)
    y = _counts_side(states, geometry["log_rate_y"], library_sd, dispersion, rng)
    return x, y


def _library_nodes(
    total: np.ndarray, rate_sum: np.ndarray, library_sd: float, nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``log L`` and log weights of adaptive Gauss-Hermite quadrature of the library-size integral.

    For each draw and state the nodes are centred on the mode of ``T l - e^l R_s - l^2 / (2 sd^2)`` (the
    Poisson log-integrand: ``T`` the draw's total count, ``R_s`` the state's summed rates; found by
    bisection) and scaled by its curvature, so that the quadrature follows the integrand however
    sharply the counts pin the library size down (``T`` in the thousands for 2000 genes).
    Returns ``(log_l, log_weight)``, each ``(draws, states, nodes)``.
    """
    s2 = library_sd**2
    lo = np.full((len(total), len(rate_sum)), -20.0 - 20.0 * s2)
    hi = np.maximum(np.log((total[:, None] + 1.0) / rate_sum[None, :]), 0.0) + 1.0 + np.zeros_like(lo)
    for _ in range(60):  # the derivative T - e^l R - l / sd^2 decreases in l
        mid = 0.5 * (lo + hi)
        up = total[:, None] - np.exp(mid) * rate_sum[None, :] - mid / s2 > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    mode = 0.5 * (lo + hi)
    scale = 1.0 / np.sqrt(np.exp(mode) * rate_sum[None, :] + 1.0 / s2)
    t, q = np.polynomial.hermite_e.hermegauss(nodes)  # E over N(0, 1): weights q / sum(q)
    log_l = mode[..., None] + scale[..., None] * t
    prior = -0.5 * (log_l / library_sd) ** 2 - math.log(library_sd)  # log N(l; 0, sd^2) + log sqrt(2 pi)
    log_weight = np.log(q / q.sum()) + np.log(scale)[..., None] + prior + 0.5 * t**2  # / phi(t), sqrt(2 pi) cancels
    return log_l, log_weight


def _counts_loglik(
    counts: np.ndarray, log_rate: np.ndarray, library_sd: float, dispersion: float | None, nodes: int
) -> np.ndarray:
    """``log P(counts | s)`` up to terms shared by all states, the library size integrated out by adaptive
    Gauss-Hermite quadrature on ``log L ~ N(0, library_sd^2)`` (:func:`_library_nodes`; exact for
    ``library_sd = 0``).
    """
    rate = np.exp(log_rate)  # (states, genes)
    total = counts.sum(axis=1)  # (n,)
    a = counts @ log_rate.T  # sum_g x_g log r_sg, (n, states)
    if library_sd > 0:
        log_l, log_weight = _library_nodes(total, rate.sum(axis=1), library_sd, nodes)
    else:
        log_l, log_weight = np.zeros((len(counts), len(rate), 1)), np.zeros((len(counts), len(rate), 1))
    if dispersion is None:  # Poisson: sum_g x_g log(L r_sg) - L r_sg, the sums factor over genes
        per_node = total[:, None, None] * log_l - np.exp(log_l) * rate.sum(axis=1)[None, :, None]
    else:  # NB with mean m = L r_sg: sum_g x_g log m - (r + x_g) log(r + m)
        r = dispersion
        per_node = total[:, None, None] * log_l
        for s in range(len(rate)):
            for j in range(log_l.shape[2]):
                m = np.exp(log_l[:, s, j])[:, None] * rate[s][None, :]
                per_node[:, s, j] -= ((r + counts) * np.log(r + m)).sum(axis=1)
    return a + logsumexp(per_node + log_weight, axis=2)


def _counts_pointwise(
    n: int,
    rng: np.random.Generator,
    *,
    geometry: dict[str, Any],
    library_sd: float,
    dispersion: float | None,
    nodes: int,
) -> np.ndarray:
    x, y = _counts_sampler(n, rng, geometry=geometry, library_sd=library_sd, dispersion=dispersion)
    log_w = np.log(geometry["weights"])
    post_x = _log_posterior(_counts_loglik(x, geometry["log_rate_x"], library_sd, dispersion, nodes), log_w)
    post_y = _log_posterior(_counts_loglik(y, geometry["log_rate_y"], library_sd, dispersion, nodes), log_w)
    return _pointwise_bits(post_x, post_y, log_w)


@functools.lru_cache(maxsize=64)
def _counts_truth(
    n_states: int,
    n_genes: int,
    n_informative: int,
    effect: float,
    state_weights: str,
    library_sd: float,
    dispersion: float | None,
    seed: int,
    n_truth: int,
    nodes: int,
) -> tuple[float, float]:
    geometry = _counts_geometry(n_states, n_genes, n_informative, effect, state_weights, seed)
    pointwise = partial(_counts_pointwise, geometry=geometry, library_sd=library_sd, dispersion=dispersion, nodes=nodes)
    return _monte_carlo(pointwise, n_truth, seed=seed + 2)


def counts_task(
    n_states: int = 4,
    n_genes: int = 200,
    n_informative: int = 10,
    effect: float = 1.0,
    *,
    state_weights: Literal["equal", "unequal"] = "equal",
    library_sd: float = 0.3,
    dispersion: float | None = None,
    n_samples: int = 2000,
    random_state: int | np.random.Generator | None = 0,
    n_truth: int = N_TRUTH,
) -> Task:
    """Gene counts of cells sharing a discrete state: Poisson or negative-binomial noise, varying library size.

    Parameters
    ----------
    n_states
        Number of states (>= 2).
    n_genes
        Genes per side (>= 1).
    n_informative
        Genes per side whose rate depends on the state (1 to ``n_genes``), drawn at random.
    effect
        SD of the state effects on the informative genes' log rates (> 0).
    state_weights
        ``"equal"`` or ``"unequal"`` state probabilities.
    library_sd
        SD of the log library size (>= 0), drawn per cell and per side.
    dispersion
        Negative-binomial ``r`` (> 0; variance ``m + m^2 / r``), or None for Poisson counts.
    n_samples, random_state, n_truth
        As for :func:`states_task`.

    Returns
    -------
    A :class:`~bioinfo_mi.benchmark.Task` (``params["family"] = "counts"``, ``true_mi_se`` the Monte Carlo
    SE in bits).
    """
    n_states = check_positive_int(n_states, name="n_states", minimum=2)
    n_genes = check_positive_int(n_genes, name="n_genes")
    n_informative = check_positive_int(n_informative, name="n_informative")
    if n_informative > n_genes:
        raise ValueError(f"n_informative must be <= n_genes={n_genes}, got {n_informative}")
    effect = check_real(effect, name="effect", low=0.0, low_inclusive=False)
    library_sd = check_real(library_sd, name="library_sd", low=0.0)
    if dispersion is not None:
        dispersion = check_real(dispersion, name="dispersion", low=0.0, low_inclusive=False)
    n_samples = check_positive_int(n_samples, name="n_samples")
    n_truth = check_positive_int(n_truth, name="n_truth", minimum=1000)
    _state_weights(n_states, state_weights)
    seed = base_seed(random_state)
    geometry = _counts_geometry(n_states, n_genes, n_informative, effect, state_weights, seed)
    mi, se = _counts_truth(
        n_states,
        n_genes,
        n_informative,
        effect,
        state_weights,
        library_sd,
        dispersion,
        seed,
        n_truth,
        QUADRATURE_NODES,
    )
    noise = "poisson" if dispersion is None else f"nb{dispersion:g}"
    return Task(
        name=(
            f"sc-counts-K{n_states}-g{n_genes}-inf{n_informative}-eff{effect:.2f}-{state_weights}"
            f"-lib{library_sd:.2f}-{noise}-g{seed}-n{n_samples}"
        ),
        sampler=partial(_counts_sampler, geometry=geometry, library_sd=library_sd, dispersion=dispersion),
        n_samples=n_samples,
        true_mi=mi,
        params={
            "family": "counts",
            "n_states": n_states,
            "n_genes": n_genes,
            "n_informative": n_informative,
            "effect": effect,
            "state_weights": state_weights,
            "library_sd": library_sd,
            "dispersion": dispersion,
            "d": n_genes,
            "informative_fraction": n_informative / n_genes,
            "true_mi_se": se,
            "truth": "monte carlo",
        },
    )


# --- links -----------------------------------------------------------------------------------------

_LINKS = ("square", "heteroscedastic")


def _link_parts(link: str, x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    if link == "square":
        return x**2, np.full_like(x, sigma)
    return x, sigma * (0.2 + np.abs(x))


def _link_sampler(
    n: int, rng: np.random.Generator, *, link: str, d: int, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, d))
    f, s = _link_parts(link, x, sigma)
    return x, f + s * rng.normal(size=(n, d))


def _link_mi_1d(link: str, sigma: float, x_points: int) -> float:
    """``I(X; Y)`` in bits of one coordinate pair by numerical integration (``x_points`` grid points)."""
    x = np.linspace(-9.0, 9.0, x_points)
    dx = x[1] - x[0]
    px = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi) * dx
    f, s = _link_parts(link, x, sigma)
    h_cond = 0.5 * math.log(2 * math.pi * math.e) + float(np.sum(px * np.log(s)))  # h(Y | X), nats
    lo, hi = float(np.min(f - 9 * s)), float(np.max(f + 9 * s))
    dy = float(np.min(s)) / 8.0  # resolves the narrowest conditional density
    y = np.arange(lo, hi + dy, dy)
    keep = px > 1e-300
    f, s, w = f[keep], s[keep], px[keep]
    py = np.zeros_like(y)
    for start in range(0, len(y), 2048):  # p(y) = sum_x p(x) N(y; f(x), s(x)^2), a block of y at a time
        yy = y[start : start + 2048, None]
        py[start : start + 2048] = (w * np.exp(-0.5 * ((yy - f) / s) ** 2) / (math.sqrt(2 * math.pi) * s)).sum(axis=1)
    mass = py * dy
    nz = mass > 0
    h_y = float(-(mass[nz] * np.log(py[nz])).sum() / mass.sum())
    return (h_y - h_cond) / LN2


@functools.lru_cache(maxsize=32)
def _link_truth(link: str, sigma: float) -> tuple[float, float]:
    fine, coarse = _link_mi_1d(link, sigma, 24_001), _link_mi_1d(link, sigma, 12_001)
    return fine, abs(fine - coarse)


def link_task(
    link: Literal["square", "heteroscedastic"] = "square",
    d: int = 3,
    sigma: float = 0.5,
    *,
    n_samples: int = 2000,
) -> Task:
    """Non-monotone or heteroscedastic links: ``d`` independent pairs ``y = f(x) + s(x) e`` (see the module).

    Parameters
    ----------
    link
        ``"square"`` (``y = x^2 + sigma e``) or ``"heteroscedastic"`` (``y = x + sigma (0.2 + |x|) e``).
    d
        Coordinates per side (>= 1).
    sigma
        SD of the added noise (> 0; times ``0.2 + |x|`` for ``"heteroscedastic"``).
    n_samples
        Samples per data set.

    Returns
    -------
    A :class:`~bioinfo_mi.benchmark.Task` (``params["family"] = "link"``; ``true_mi_se`` the change of the
    truth when the integration grids are halved, bits).
    """
    if link not in _LINKS:
        raise ValueError(f"link must be one of {list(_LINKS)}, got {link!r}")
    d = check_positive_int(d, name="d")
    sigma = check_real(sigma, name="sigma", low=0.0, low_inclusive=False)
    n_samples = check_positive_int(n_samples, name="n_samples")
    mi_1d, err = _link_truth(link, sigma)
    return Task(
        name=f"sc-link-{link}-d{d}-sigma{sigma:.3f}-n{n_samples}",
        sampler=partial(_link_sampler, link=link, d=d, sigma=sigma),
        n_samples=n_samples,
        true_mi=d * mi_1d,
        params={
            "family": "link",
            "link": link,
            "d": d,
            "sigma": sigma,
            "informative_fraction": 1.0,
            "true_mi_se": d * err,
            "truth": "numerical integration",
        },
    )


# --- the lineage simulator ---------------------------------------------------------------------

_LINEAGE_PAIRS = ("early_late", "sisters")


def _lineage_sampler(n: int, rng: np.random.Generator, *, pair: str, n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    adata = simulate_lineage(n_clones=n, n_genes=n_genes, cells_per_condition=(1, 1), n_unbarcoded=0, random_state=rng)
    obs = adata.obs
    groups = (
        [(obs["time"] == 2.0), (obs["well"] == 1)] if pair == "early_late" else [obs["well"] == 1, obs["well"] == 2]
    )
    out = []
    for mask in groups:  # one cell per clone, rows in clone order
        rows = np.flatnonzero(mask.to_numpy())
        rows = rows[np.argsort(obs["clone"].to_numpy()[rows], kind="stable")]
        out.append(adata.X[rows].toarray().astype(np.float64))
    return out[0], out[1]


def lineage_task(
    pair: Literal["early_late", "sisters"] = "early_late", n_genes: int = 200, *, n_samples: int = 2000
) -> Task:
    """Clones of :func:`bioinfo_mi.datasets.simulate_lineage` (defaults): one cell per clone on each side.

    The state-level MI of the simulator is known in closed form
    (:func:`bioinfo_mi.datasets.lineage_state_mi`), but the expression is a noisy function of the state
    (Poisson counts, library size, normalisation), so by the data processing inequality it is only an
    **upper bound** of ``I(X; Y)``: ``params["truth"] = "upper bound"``, and the benchmark reports the
    estimate against it without scoring it.

    Parameters
    ----------
    pair
        ``"early_late"`` (a day-2 cell and a day-6 cell of well 1) or ``"sisters"`` (day-6 cells of wells 1
        and 2).
    n_genes
        Genes per cell (the first ``min(300, n_genes)`` informative, the simulator's default).
    n_samples
        Clones per data set.

    Returns
    -------
    A :class:`~bioinfo_mi.benchmark.Task` whose ``true_mi`` is the state-level bound.
    """
    if pair not in _LINEAGE_PAIRS:
        raise ValueError(f"pair must be one of {list(_LINEAGE_PAIRS)}, got {pair!r}")
    n_genes = check_positive_int(n_genes, name="n_genes")
    n_samples = check_positive_int(n_samples, name="n_samples")
    bounds = lineage_state_mi(0.3, 1.2, 0.35, True)  # simulate_lineage's defaults
    bound = bounds["I_early_late_bits"] if pair == "early_late" else bounds["I_sisters_bits"]
    return Task(
        name=f"sc-lineage-{pair}-g{n_genes}-n{n_samples}",
        sampler=partial(_lineage_sampler, pair=pair, n_genes=n_genes),
        n_samples=n_samples,
        true_mi=bound,
        params={
            "family": "lineage",
            "pair": pair,
            "n_genes": n_genes,
            "d": n_genes,
            "informative_fraction": min(300, n_genes) / n_genes,
            "true_mi_se": 0.0,
            "truth": "upper bound",
        },
    )


# --- the suite -------------------------------------------------------------------------------------


def sc_suite(
    n_samples: int = 2000, *, random_state: int | np.random.Generator | None = 0, max_d: int = 2000
) -> list[Task]:
    """Return the single-cell-shaped suite of ``benchmarks/bench_sc_suite.py`` (issue 30), ``n_samples`` per data set.

    Shared states (4-8 states, 5-20 informative dimensions, weakly separated, equal and unequal weights,
    seen linearly and through a nonlinear map), informative dimensions among noise (1-15 %
    informative, up to ``max_d`` columns per side), Poisson and negative-binomial counts with
    library-size variation (200 and 2000 genes, 2-5 % informative), and the two nonlinear links at
    2.2 and 3.5 bits in 3 + 3 dimensions; and two pairings of the lineage simulator, whose state-level MI
    is only an upper bound (``params["truth"] = "upper bound"``: reported, not scored).

    Parameters
    ----------
    n_samples
        Samples per data set.
    random_state
        Seed of the tasks' fixed parameters (see :func:`states_task`).
    max_d
        Most columns per side: wider tasks are left out (and their truths not computed).

    Returns
    -------
    The tasks, each with its exact truth (see the module) or, for the lineage tasks, its bound.
    """
    g = {"n_samples": n_samples, "random_state": base_seed(random_state)}
    c = dict(g, n_truth=N_TRUTH_COUNTS)
    specs: list[tuple[int, Any]] = [  # (columns per side, factory): a task is built (its truth computed) if kept
        (5, partial(states_task, 4, 5, 1.0, **g)),
        (10, partial(states_task, 8, 10, 0.6, state_weights="unequal", **g)),
        (20, partial(states_task, 6, 20, 0.5, **g)),
        (5, partial(states_task, 6, 5, 1.0, nonlinear=True, **g)),
        (23, partial(states_task, 6, 3, 1.2, n_noise=20, **g)),
        (200, partial(states_task, 6, 10, 0.8, n_noise=190, **g)),
        (2000, partial(states_task, 6, 20, 0.6, n_noise=1980, **g)),
        (200, partial(counts_task, 6, 200, 10, 1.0, **c)),
        (200, partial(counts_task, 6, 200, 10, 1.0, dispersion=2.0, **c)),
        (2000, partial(counts_task, 8, 2000, 40, 0.8, state_weights="unequal", **c)),
        (3, partial(link_task, "square", 3, 0.5, n_samples=n_samples)),
        (3, partial(link_task, "heteroscedastic", 3, 1.0, n_samples=n_samples)),
        (200, partial(lineage_task, "early_late", 200, n_samples=n_samples)),
        (200, partial(lineage_task, "sisters", 200, n_samples=n_samples)),
    ]
    return [factory() for d, factory in specs if d <= max_d]
