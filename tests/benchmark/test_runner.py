"""bm.benchmark: tasks, the runner (determinism across n_jobs, shared data, cache, errors) and metrics."""

import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.benchmark import Estimator, Task, gaussian_task, run_benchmark, sample_task, summarize


@pytest.fixture(scope="module")
def tasks():
    return [gaussian_task(d=5, rank=1, mi_bits=m, n_samples=300) for m in (0.0, 0.5, 1.0)]


ESTIMATORS = [Estimator("KSG", "ksg", {"k": 3}), Estimator("KSG-Global-Linf", "ksg-global-linf")]


def test_gaussian_task_matches_algorithm_4():
    task = gaussian_task(d=20, rank=2, mi_bits=1.5, n_samples=50)
    assert task.true_mi == 1.5 and task.params == {"d": 20, "rank": 2} and task.n_samples == 50
    # the name seeds the data of every benchmark table: it keeps the paper's k for the rank
    assert task.name == "gaussian-d20-k2-mi1.500-n50"
    x, y = task.sample(3)
    x2, y2 = bm.datasets.gaussian_low_rank(
        d=20, rank=2, n_samples=50, mi_bits=1.5, random_state=np.random.default_rng(3)
    )
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="k must be <= d"):
        gaussian_task(d=2, rank=3, mi_bits=1.0)
    with pytest.raises(ValueError, match="mi_bits"):
        gaussian_task(d=2, rank=1, mi_bits=-1.0)


def test_run_benchmark_is_deterministic_and_shares_data(tasks, tmp_path):
    table = run_benchmark(tasks, ESTIMATORS, n_seeds=2, random_state=0, progress=False)
    assert len(table) == 3 * 2 * 2
    assert list(table.columns[:7]) == ["task", "estimator", "seed", "true_mi", "estimate", "seconds", "error"]
    assert {"n_samples", "d", "rank"} <= set(table.columns)
    assert (table.error == "").all() and np.isfinite(table.estimate).all()
    parallel = run_benchmark(tasks, ESTIMATORS, n_seeds=2, random_state=0, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(table.drop(columns="seconds"), parallel.drop(columns="seconds"))
    # every estimator saw the dataset sample_task returns
    x, y = sample_task(tasks[2], replicate=1, random_state=0)
    row = table[(table.task == tasks[2].name) & (table.seed == 1) & (table.estimator == "KSG")]
    assert row.estimate.iloc[0] == pytest.approx(bm.mi(x, y, method="ksg", k=3).mi)
    # adding a task changes no other row; another base seed changes the data
    more = run_benchmark([*tasks, gaussian_task(3, 1, 0.3, 200)], ESTIMATORS, n_seeds=2, progress=False)
    pd.testing.assert_frame_equal(more.iloc[: len(table)].drop(columns="seconds"), table.drop(columns="seconds"))
    other = run_benchmark(tasks, ESTIMATORS, n_seeds=2, random_state=1, progress=False)
    assert not np.allclose(other.estimate, table.estimate)
    # the cache resumes: a second call finds every fit and returns the same table
    cached = run_benchmark(tasks, ESTIMATORS, n_seeds=2, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == len(table)
    again = run_benchmark(tasks, ESTIMATORS, n_seeds=2, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(cached, again)


def test_run_benchmark_honours_a_generator(tasks):
    """A Generator is drawn from once (it advances); the same state gives the same table and data."""
    one = run_benchmark(tasks[:2], ESTIMATORS[:1], random_state=np.random.default_rng(5), n_jobs=1, progress=False)
    rng = np.random.default_rng(5)
    two = run_benchmark(tasks[:2], ESTIMATORS[:1], random_state=rng, n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(one.drop(columns="seconds"), two.drop(columns="seconds"))
    assert rng.bit_generator.state != np.random.default_rng(5).bit_generator.state  # advanced
    x, y = sample_task(tasks[1], 0, random_state=np.random.default_rng(5))
    row = one[one.task == tasks[1].name]
    assert row.estimate.iloc[0] == pytest.approx(bm.mi(x, y, method="ksg", k=3).mi)
    other = run_benchmark(tasks[:2], ESTIMATORS[:1], random_state=np.random.default_rng(6), n_jobs=1, progress=False)
    assert not np.allclose(other.estimate, one.estimate)
    # an int and the same int as a numpy integer give the same table
    ints = [
        run_benchmark(tasks[:1], ESTIMATORS[:1], random_state=r, n_jobs=1, progress=False) for r in (3, np.int64(3))
    ]
    pd.testing.assert_frame_equal(ints[0].drop(columns="seconds"), ints[1].drop(columns="seconds"))


def test_old_argument_names_are_plain_type_errors(tasks):
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        gaussian_task(d=5, k=1, mi_bits=1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        sample_task(tasks[0], seed=1)


def _broken_sampler(n, rng):
    return rng.normal(size=(n, 2)), np.zeros((n, 2))  # constant y: the KSG estimators refuse it


def test_failures_are_recorded_or_raised():
    task = Task("constant-y", _broken_sampler, 100, 0.0)
    with pytest.warns(UserWarning, match="1 of 1 fits failed"):
        table = run_benchmark([task], ESTIMATORS[:1], progress=False)
    assert np.isnan(table.estimate[0]) and "ValueError" in table.error[0]
    with pytest.raises(ValueError):
        run_benchmark([task], ESTIMATORS[:1], on_error="raise", progress=False)


def test_run_benchmark_input_errors(tasks):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        Estimator("x", "nope")
    with pytest.raises(ValueError, match="estimator names must be unique"):
        run_benchmark(tasks, [ESTIMATORS[0], ESTIMATORS[0]], progress=False)
    with pytest.raises(ValueError, match="task names must be unique"):
        run_benchmark([tasks[0], tasks[0]], ESTIMATORS, progress=False)
    with pytest.raises(TypeError, match="tasks must be"):
        run_benchmark([], ESTIMATORS, progress=False)
    with pytest.raises(ValueError, match="on_error"):
        run_benchmark(tasks, ESTIMATORS, on_error="ignore", progress=False)


def test_metrics_by_hand():
    est, truth = np.array([0.0, 1.5, 1.0]), np.array([0.0, 1.0, 2.0])
    assert bm.benchmark.mse(est, truth) == pytest.approx((0 + 0.25 + 1) / 3)
    assert bm.benchmark.bias(est, truth) == pytest.approx(-0.5 / 3)
    base = np.sqrt(np.mean((truth[:, None] - truth[None, :]) ** 2))
    assert bm.benchmark.normalized_rmse(est, truth) == pytest.approx(np.sqrt((0.25 + 1) / 3) / base)
    assert bm.benchmark.spearman(est, truth) == pytest.approx(0.5)
    assert bm.benchmark.kendall_tau(est, truth) == pytest.approx(1 / 3)
    assert np.isnan(bm.benchmark.normalized_rmse(est, np.ones(3)))
    assert np.isnan(bm.benchmark.spearman(np.array([np.nan, 1.0, 2.0]), truth))
    with pytest.raises(ValueError, match="same length"):
        bm.benchmark.mse([1.0], [1.0, 2.0])


def test_summarize(tasks):
    table = run_benchmark(tasks, ESTIMATORS, n_seeds=2, progress=False)
    summary = summarize(table, by=["estimator"])
    assert list(summary.estimator) == sorted(e.name for e in ESTIMATORS)
    assert {"n", "n_failed", "mse", "bias", "normalized_rmse", "spearman", "kendall_tau", "seconds"} <= set(summary)
    ksg = table[table.estimator == "KSG"]
    assert summary.set_index("estimator").loc["KSG", "mse"] == pytest.approx(np.mean((ksg.estimate - ksg.true_mi) ** 2))
    with pytest.raises(KeyError, match="no columns"):
        summarize(table, by=["nope"])
