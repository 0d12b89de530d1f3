"""The single-cell-shaped tasks (issue 30): their truths checked against independent computations.

Each truth is compared with a computation that shares no code with it: a 2-D grid integral for two
states in one dimension, exact sums over every count value for one gene per side (scipy's Poisson and
negative-binomial pmfs, the library size integrated on a fine grid instead of by Gauss-Hermite), a
Monte Carlo over the link tasks' own samples with ``p(y)`` by another quadrature, and the limits
(indistinguishable states: 0 bits; disjoint states: the state entropy).
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import bioinfo_mi as bm
from bioinfo_mi.benchmark import sc_tasks as sc

LN2 = math.log(2.0)


def _grid_mi_two_states(weights, mx, my):
    """I(X; Y) in bits of 1-D unit-variance Gaussians around per-state means, by a 2-D grid integral."""
    g = np.linspace(-12, 12, 2401)
    d = g[1] - g[0]
    px_s = stats.norm.pdf(g[None, :], loc=np.asarray(mx)[:, None])  # (states, grid)
    py_s = stats.norm.pdf(g[None, :], loc=np.asarray(my)[:, None])
    w = np.asarray(weights)[:, None, None]
    joint = (w * px_s[:, :, None] * py_s[:, None, :]).sum(axis=0)
    px, py = joint.sum(axis=1) * d, joint.sum(axis=0) * d
    nz = joint > 1e-300
    return float((joint[nz] * np.log2(joint[nz] / np.outer(px, py)[nz])).sum() * d * d)


def test_states_truth_equals_a_grid_integral():
    task = sc.states_task(2, 1, 1.5, state_weights="unequal", n_truth=200_000)
    geometry = task.sampler.keywords["geometry"]
    expected = _grid_mi_two_states(geometry["weights"], geometry["means_x"][:, 0], geometry["means_y"][:, 0])
    se = task.params["true_mi_se"]
    assert 0 < se < 0.005
    assert abs(task.true_mi - expected) < 4 * se + 1e-3


def test_states_limits():
    far = sc.states_task(4, 3, 30.0, n_truth=20_000)  # disjoint states: I = H(S) = 2 bits
    assert far.true_mi == pytest.approx(2.0, abs=1e-3)
    near = sc.states_task(4, 3, 0.01, n_truth=20_000)
    assert abs(near.true_mi) < 0.01


def test_noise_columns_and_the_map_keep_the_truth_and_the_signal():
    base = sc.states_task(6, 3, 1.2, n_truth=20_000)
    noisy = sc.states_task(6, 3, 1.2, n_noise=20, n_truth=20_000)
    mapped = sc.states_task(6, 3, 1.2, nonlinear=True, n_truth=20_000)
    assert base.true_mi == noisy.true_mi == mapped.true_mi
    assert len({base.name, noisy.name, mapped.name}) == 3
    x, y = noisy.sample(0)
    assert x.shape == y.shape == (2000, 23)
    # column j of x is column argsort(order)[j] of [informative | noise]: the informative ones carry the state
    source = np.argsort(noisy.sampler.keywords["geometry"]["order_x"])
    signal, noise = np.flatnonzero(source < 3), np.flatnonzero(source >= 3)
    var = x.var(axis=0)  # the state means add variance to the informative columns only
    assert var[signal].min() > 1.3 and np.all(np.abs(var[noise] - 1) < 0.15)
    xm, _ = mapped.sample(0)
    assert np.all(np.abs(xm) < 1) and xm.shape == (2000, 3)


def _exact_counts_mi(weights, rate_x, rate_y, library_sd, dispersion):
    """I(X; Y) in bits for one gene per side, by sums over all counts 0..max and a fine grid over log L."""
    t = np.linspace(-8, 8, 801)
    wt = stats.norm.pdf(t)
    wt /= wt.sum()
    log_l = library_sd * t if library_sd > 0 else np.zeros(1)
    wt = wt if library_sd > 0 else np.ones(1)
    counts = np.arange(0, 200)

    def pmf(rates):  # (states, counts): P(x | s) with L integrated out
        m = np.exp(log_l)[None, :, None] * np.asarray(rates)[:, None, None]  # (states, nodes, 1)
        if dispersion is None:
            p = stats.poisson.pmf(counts[None, None, :], m)
        else:
            p = stats.nbinom.pmf(counts[None, None, :], dispersion, dispersion / (dispersion + m))
        return (p * wt[None, :, None]).sum(axis=1)

    px_s, py_s = pmf(rate_x), pmf(rate_y)
    joint = (np.asarray(weights)[:, None, None] * px_s[:, :, None] * py_s[:, None, :]).sum(axis=0)
    px, py = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / np.outer(px, py)[nz])).sum())


@pytest.mark.parametrize("dispersion", [None, 3.0])
@pytest.mark.parametrize("library_sd", [0.0, 0.5])
def test_counts_truth_equals_exact_sums(dispersion, library_sd):
    task = sc.counts_task(
        3, 1, 1, 1.5, library_sd=library_sd, dispersion=dispersion, state_weights="unequal", n_truth=100_000
    )
    geometry = task.sampler.keywords["geometry"]
    rx, ry = np.exp(geometry["log_rate_x"][:, 0]), np.exp(geometry["log_rate_y"][:, 0])
    expected = _exact_counts_mi(geometry["weights"], rx, ry, library_sd, dispersion)
    assert abs(task.true_mi - expected) < 4 * task.params["true_mi_se"] + 1e-3


def test_counts_quadrature_has_converged(monkeypatch):
    """Twice the nodes, the same draws: the truth moves by less than 1e-4 bits."""
    kw = dict(library_sd=0.5, dispersion=2.0, n_truth=4000)
    a = sc.counts_task(4, 50, 5, 1.0, **kw).true_mi
    monkeypatch.setattr(sc, "QUADRATURE_NODES", 2 * sc.QUADRATURE_NODES)
    b = sc.counts_task(4, 50, 5, 1.0, **kw).true_mi
    assert a != b and abs(a - b) < 1e-4


def test_counts_samples_are_counts_with_library_variation():
    task = sc.counts_task(4, 100, 5, 1.0, dispersion=2.0, n_truth=2000)
    x, y = task.sample(1)
    assert x.shape == y.shape == (2000, 100)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0
    assert task.params["n_informative"] == 5 and task.params["informative_fraction"] == 0.05
    totals = x.sum(axis=1)
    assert totals.var() > 1.5 * totals.mean()  # overdispersed totals (library size, NB)


@pytest.mark.parametrize("link,sigma", [("square", 0.5), ("heteroscedastic", 1.0)])
def test_link_truth_against_monte_carlo(link, sigma):
    task = sc.link_task(link, 1, sigma, n_samples=20_000)
    assert task.params["true_mi_se"] < 1e-3
    x, y = task.sample(5)
    x, y = x[:, 0], y[:, 0]
    f, s = sc._link_parts(link, x, sigma)
    log_cond = stats.norm.logpdf(y, f, s)
    t, q = np.polynomial.hermite_e.hermegauss(160)  # p(y) = E_x N(y; f(x), s(x)) by Gauss-Hermite
    q = q / q.sum()
    fg, sg = sc._link_parts(link, t, sigma)
    log_py = logsumexp(stats.norm.logpdf(y[:, None], fg[None, :], sg[None, :]) + np.log(q)[None, :], axis=1)
    pointwise = (log_cond - log_py) / LN2
    estimate, se = pointwise.mean(), pointwise.std(ddof=1) / math.sqrt(len(pointwise))
    assert abs(task.true_mi - estimate) < 4 * se


def test_link_truths_add_over_coordinates():
    assert sc.link_task("square", 3, 0.5).true_mi == pytest.approx(3 * sc.link_task("square", 1, 0.5).true_mi)
    assert sc.link_task("square", 3, 0.5).true_mi == pytest.approx(3.47, abs=0.01)


def test_lineage_tasks_pair_the_cells_of_a_clone_under_the_state_level_bound():
    early_late = sc.lineage_task("early_late", 40, n_samples=400)
    sisters = sc.lineage_task("sisters", 40, n_samples=400)
    bounds = bm.datasets.lineage_state_mi(0.3, 1.2, 0.35, True)
    assert early_late.true_mi == bounds["I_early_late_bits"] and sisters.true_mi == bounds["I_sisters_bits"]
    assert early_late.params["truth"] == sisters.params["truth"] == "upper bound"
    x, y = sisters.sample(0)
    assert x.shape == y.shape == (400, 40)
    # row i of x and of y are cells of one clone: the sisters share their clone's state, shuffled rows do not
    paired = np.corrcoef(x[:, :10].sum(axis=1), y[:, :10].sum(axis=1))[0, 1]
    shuffled = np.corrcoef(x[:, :10].sum(axis=1), np.roll(y[:, :10].sum(axis=1), 1))[0, 1]
    assert paired > 0.3 and abs(shuffled) < 0.15
    with pytest.raises(ValueError, match="pair"):
        sc.lineage_task("cousins")


def test_tasks_are_reproducible_and_picklable():
    tasks = (
        sc.states_task(3, 2, 1.0, n_truth=2000),
        sc.counts_task(3, 20, 2, n_truth=2000),
        sc.link_task(),
        sc.lineage_task(n_genes=20, n_samples=100),
    )
    for task in tasks:
        a = task.sample(3)
        again = pickle.loads(pickle.dumps(task))
        b = again.sample(3)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert not np.array_equal(a[0], task.sample(4)[0])


def test_suite_is_run_by_the_benchmark_runner():
    tasks = sc.sc_suite(300, max_d=5)
    assert [t.params["family"] for t in tasks] == ["states", "states", "link", "link"]
    assert len({t.name for t in tasks}) == len(tasks)
    table = bm.benchmark.run_benchmark(tasks[:1], [bm.benchmark.Estimator("KSG", "ksg")], n_jobs=1, progress=False)
    assert len(table) == 1 and np.isfinite(table["estimate"]).all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: sc.states_task(1), "n_states"),
        (lambda: sc.states_task(effect=0.0), "effect"),
        (lambda: sc.states_task(state_weights="zipf"), "state_weights"),
        (lambda: sc.states_task(n_noise=-1), "n_noise"),
        (lambda: sc.counts_task(n_genes=5, n_informative=6), "n_informative"),
        (lambda: sc.counts_task(dispersion=0.0), "dispersion"),
        (lambda: sc.counts_task(library_sd=-0.1), "library_sd"),
        (lambda: sc.link_task("cube"), "link"),
        (lambda: sc.link_task(sigma=0.0), "sigma"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
