"""Tests of the scale-invariance paper's benchmark tasks (bioinfo_mi.benchmark.scale_tasks)."""

from __future__ import annotations

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.benchmark import (
    Estimator,
    base_parameter,
    run_benchmark,
    scale_curve_tasks,
    scale_row_tasks,
    scale_task,
    summarize,
    trial_parameters,
)
from bioinfo_mi.datasets import additive_noise_mi, correlated_gaussian_mi


@pytest.mark.parametrize("base", ["correlated", "additive"])
@pytest.mark.parametrize("d", [1, 4, 9])
def test_base_parameter_inverts_the_analytic_mi(base: str, d: int) -> None:
    for mi_bits in (0.1, 1.0, 2.5):
        p = base_parameter(base, d, mi_bits)
        truth = correlated_gaussian_mi(d, p) if base == "correlated" else additive_noise_mi(d, p)
        assert truth == pytest.approx(mi_bits, rel=1e-12)
        assert scale_task(base, d, mi_bits=mi_bits).true_mi == pytest.approx(mi_bits, rel=1e-12)


def test_sample_statistics_match_the_base_distributions() -> None:
    x, t = scale_task("correlated", 3, 0.6, n_samples=20000).sample(0)
    c = np.corrcoef(x.T, t.T)[:3, 3:]
    np.testing.assert_allclose(np.diag(c), 0.6, atol=0.03)
    assert np.abs(c - np.diag(np.diag(c))).max() < 0.05
    x, t = scale_task("additive", 2, 0.5, n_samples=20000).sample(0)
    np.testing.assert_allclose((t - x).std(axis=0), 0.5, rtol=0.05)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=0.05)


@pytest.mark.parametrize(
    ("transforms", "width"),
    [((), 4), (["ds"], 80), (["dn"], 24), (["rm", "cb", "sg"], 4), (["randmat", "duplicate-noise"], 24)],
)
def test_transforms_change_x_only(transforms: list[str], width: int) -> None:
    plain = scale_task("additive", 4, 0.7, n_samples=50, random_state=3)
    task = scale_task("additive", 4, 0.7, transforms=transforms, n_samples=50, random_state=3)
    (_, t0), (x, t) = plain.sample(0), task.sample(0)
    assert x.shape == (50, width)
    np.testing.assert_array_equal(t, t0)  # T untouched, same base sample
    assert task.true_mi == plain.true_mi


def test_duplicate_self_and_sigmoid_are_what_the_paper_says() -> None:
    x0, _ = scale_task("correlated", 2, 0.3, n_samples=30, random_state=1).sample()
    xds, _ = scale_task("correlated", 2, 0.3, transforms="ds", n_samples=30, random_state=1).sample()
    np.testing.assert_array_equal(xds, np.tile(x0, (1, 20)))
    xsg, _ = scale_task("correlated", 2, 0.3, transforms=["sg"], n_samples=30, random_state=1).sample()
    np.testing.assert_allclose(xsg, 1 / (1 + np.exp(-x0)))


def test_scale_is_one_sided_and_exact() -> None:
    a = scale_task("correlated", 2, 0.5, scale=1.0, random_state=7, n_samples=100).sample()
    b = scale_task("correlated", 2, 0.5, scale=1e3, random_state=7, n_samples=100).sample()
    np.testing.assert_allclose(b[0], 1e3 * a[0])
    np.testing.assert_array_equal(b[1], a[1])


def test_scale_changes_ksg_but_not_normalised_ksg() -> None:
    """Proposition 3 / Table 1 on the tasks: plain KSG is not one-sided scale invariant, KSG-Local is."""
    tasks = [scale_task("correlated", 1, 0.8, scale=s, random_state=2, n_samples=400) for s in (1.0, 1e3)]
    (x1, t1), (x2, t2) = (task.sample() for task in tasks)
    ksg = [bm.mi(x, t, method="ksg", workers=1).mi for x, t in ((x1, t1), (x2, t2))]
    loc = [bm.mi(x, t, method="ksg-local", workers=1).mi for x, t in ((x1, t1), (x2, t2))]
    assert ksg[0] > 0.5 and ksg[1] < 0.1  # the truth is 0.74 bit
    assert loc[0] == pytest.approx(loc[1], abs=1e-9)


def test_rows_share_trials_across_transforms_and_scales() -> None:
    none = scale_row_tasks("additive", 4, n_trials=5, n_samples=40, random_state=1)
    dn = scale_row_tasks("additive", 4, ["dn"], n_trials=5, n_samples=40, random_state=1)
    scaled = scale_row_tasks("additive", 4, n_trials=5, n_samples=40, random_state=1, scale=10.0)
    assert [t.true_mi for t in none] == [t.true_mi for t in dn] == [t.true_mi for t in scaled]
    assert len({t.true_mi for t in none}) == 5  # a random truth per trial
    for a, b in zip(none, dn, strict=True):
        (xa, ta), (xb, tb) = a.sample(0), b.sample(99)  # the runner's seed is ignored with a data seed
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(xb[:, :4], xa)
    other = scale_row_tasks("additive", 4, n_trials=5, n_samples=40, random_state=2)
    assert [t.true_mi for t in other] != [t.true_mi for t in none]
    assert none[0].params["row"] == "additive d=4 n=40 none" and dn[3].params["trial"] == 3
    assert len({t.name for t in none + dn + scaled}) == 15


def test_trial_draws_follow_the_requested_range() -> None:
    p = trial_parameters("correlated", 5, 200, param_range=(0.1, 0.4), random_state=0)
    assert p.min() >= 0.1 and p.max() <= 0.4 and p.std() > 0.05
    s = trial_parameters("additive", 9, 200, mi_range=(0.5, 1.5), random_state=0)
    mi = np.array([additive_noise_mi(9, v) for v in s])
    assert mi.min() >= 0.5 - 1e-12 and mi.max() <= 1.5 + 1e-12
    assert abs(mi.mean() - 1.0) < 0.1
    # the default additive draw has a truth spread that does not grow with d
    spread = [np.std([additive_noise_mi(d, v) for v in trial_parameters("additive", d, 400)]) for d in (2, 9)]
    assert spread[0] == pytest.approx(spread[1], rel=1e-9)


def test_curve_tasks_reuse_the_datasets() -> None:
    tasks = scale_curve_tasks("correlated", 2, [0.1, 1.0, 10.0], n_trials=3, n_samples=30)
    assert len(tasks) == 9
    by = {(t.params["scale"], t.params["trial"]): t for t in tasks}
    x1, _ = by[(1.0, 2)].sample()
    x10, _ = by[(10.0, 2)].sample()
    np.testing.assert_allclose(x10, 10 * x1)


def test_runs_in_the_benchmark_runner() -> None:
    tasks = scale_row_tasks("correlated", 2, ["rm"], n_trials=6, n_samples=150)
    res = run_benchmark(tasks, [Estimator("KSG-Global-Linf", "ksg-global-linf", {"workers": 1})], progress=False)
    summary = summarize(res, by=["row", "estimator"])
    assert summary.n.tolist() == [6] and summary.n_failed.tolist() == [0]
    assert np.isfinite(summary[["normalized_rmse", "spearman", "bias"]].to_numpy()).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: scale_task("gaussian", 2, 0.5), "distribution must be one of"),
        (lambda: scale_task("correlated", 0, 0.5), "d"),
        (lambda: scale_task("correlated", 2, 1.0), "parameter"),
        (lambda: scale_task("additive", 2, -1.0), "parameter"),
        (lambda: scale_task("additive", 2), "exactly one"),
        (lambda: scale_task("additive", 2, 0.5, mi_bits=1.0), "exactly one"),
        (lambda: scale_task("additive", 2, mi_bits=0.0), "mi_bits"),
        (lambda: scale_task("additive", 2, 0.5, transforms=["flip"]), "transforms: unknown"),
        (lambda: scale_task("additive", 2, 0.5, scale=0.0), "scale"),
        (lambda: scale_task("additive", 2, 0.5, random_state=-1), "random_state"),
        (lambda: trial_parameters("correlated", 2, 3, mi_range=(0, 1), param_range=(0, 0.5)), "at most one"),
        (lambda: trial_parameters("correlated", 2, 3, param_range=(0.2, 1.5)), "param_range"),
        (lambda: trial_parameters("additive", 2, 3, mi_range=(2.0, 1.0)), "low <= high"),
        (lambda: trial_parameters("additive", 2, 3, mi_range=3.0), "pair"),
        (lambda: scale_row_tasks("additive", 2, n_trials=0), "n_trials"),
        (lambda: scale_curve_tasks("additive", 2, [1.0, -1.0]), "scales"),
        (lambda: scale_curve_tasks("additive", 2, [1.0, 1.0]), "repeat"),
    ],
)
def test_bad_input_names_the_argument(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, TypeError), match=match):
        call()
