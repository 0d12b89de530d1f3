"""KSG, BI-KSG and the k-NN density ratio against brute force, analytic values and the
scale-invariance paper's propositions."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import digamma

import bioinfo_mi as bm
from bioinfo_mi.estimators import _knn as knn
from bioinfo_mi.estimators._knn import add_jitter, bi_ksg, density_ratio, ksg, ksg_pointwise
from bioinfo_mi.estimators._normalization import ksg_global, ksg_global_linf, ksg_local


def brute_force_ksg(x, y, k):
    """Algorithm 5 written out with full distance matrices."""
    n = len(x)
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(axis=2)
    dxy = np.maximum(dx, dy)
    np.fill_diagonal(dxy, np.inf)
    eps = np.sort(dxy, axis=1)[:, k - 1]
    nx = (dx < eps[:, None]).sum(axis=1)  # includes the point itself (distance 0)
    ny = (dy < eps[:, None]).sum(axis=1)
    return (digamma(k) + digamma(n) - digamma(nx) - digamma(ny)) / np.log(2)


def correlated(n, rho, seed, dims=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dims))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, dims))
    return x, y


@pytest.fixture(params=["compiled", "torch"])
def search_path(request, monkeypatch):
    """Run a test once with the compiled kernel and once with torch's distance matrices."""
    if request.param == "torch":
        monkeypatch.setattr(knn, "NUMBA_MAX_DIM", 0)
    return request.param


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("dims", [1, 4])
def test_ksg_equals_brute_force(k, dims, search_path):
    x, y = correlated(400, 0.7, seed=k + dims, dims=dims)
    y[:, 0] = np.round(y[:, 0], 1)  # add ties, resolved by the jitter
    got = ksg_pointwise(x, y, k=k, random_state=11)
    rng = np.random.default_rng(11)
    xj, yj = add_jitter(x, rng), add_jitter(y, rng)
    np.testing.assert_allclose(got, brute_force_ksg(xj, yj, k), atol=1e-10, rtol=0)


def full_counts(xq, yq, xr, yr, k, exclude_self):
    """Strict marginal counts below the k-th joint neighbour, from full distance matrices."""
    dx = np.abs(xq[:, None, :] - xr[None, :, :]).max(axis=2)
    dy = np.abs(yq[:, None, :] - yr[None, :, :]).max(axis=2)
    if exclude_self:
        np.fill_diagonal(dx, np.inf)
        np.fill_diagonal(dy, np.inf)
    eps = np.sort(np.maximum(dx, dy), axis=1)[:, k - 1]
    return (dx < eps[:, None]).sum(axis=1), (dy < eps[:, None]).sum(axis=1)


@pytest.mark.parametrize(
    ("n", "dx", "dy", "layout"),
    [
        (1500, 8, 8, "gaussian"),
        (2500, 1, 1, "gaussian"),
        (2000, 3, 1, "gaussian"),
        (1200, 1, 5, "gaussian"),
        (1500, 2, 2, "clusters"),
        (1500, 2, 3, "sorted"),
        (800, 4, 4, "heavy-tailed"),
    ],
)
def test_compiled_counts_equal_full_distance_matrices(n, dx, dy, layout):
    """The cell-pruned kernel gives exactly the counts of the full distance matrices, whatever the
    layout of the data (clusters leave empty cells; sorted input; heavy tails stretch the grid),
    for the sample against itself and for separate queries, with one thread or two."""
    from bioinfo_mi.estimators import _knn_numba

    rng = np.random.default_rng(n + dx)
    x = rng.normal(size=(n, dx))
    y = 0.6 * x[:, :1] + rng.normal(size=(n, dy))
    if layout == "clusters":
        x += 20 * rng.integers(0, 3, size=(n, 1))
    elif layout == "sorted":
        order = np.argsort(x[:, 0])
        x, y = x[order], y[order]
    elif layout == "heavy-tailed":
        x, y = rng.standard_t(1, size=(n, dx)), rng.standard_t(1, size=(n, dy)) + x[:, :1]
    want = full_counts(x, y, x, y, 3, exclude_self=True)
    for threads in (1, 2):
        got = _knn_numba.counts(x, y, x, y, 3, exclude_self=True, threads=threads)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    rows = rng.choice(n, size=n // 7, replace=False)  # a random subset of the sample's own rows, against all
    got = _knn_numba.counts(x[rows], y[rows], x, y, 3, exclude_self=True, threads=2, self_rows=rows)
    np.testing.assert_array_equal(got[0], want[0][rows])
    np.testing.assert_array_equal(got[1], want[1][rows])
    xq, yq = 1.5 * rng.normal(size=(97, dx)), 1.5 * rng.normal(size=(97, dy))  # some outside the sample's range
    want = full_counts(xq, yq, x, y, 4, exclude_self=False)
    got = _knn_numba.counts(xq, yq, x, y, 4, exclude_self=False, threads=2)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("dims", [1, 6])
def test_queries_are_the_full_pointwise_values_at_those_rows(dims, search_path):
    """``queries`` scores the chosen rows against every sample: exactly the full pointwise values there (same
    jitter), in the order given; their mean is the Monte Carlo estimate that LMI uses above max_queries."""
    x, y = correlated(900, 0.7, seed=dims, dims=dims)
    full = ksg_pointwise(x, y, k=3, random_state=4)
    rows = np.random.default_rng(dims).permutation(900)[:150]
    np.testing.assert_array_equal(ksg_pointwise(x, y, k=3, random_state=4, queries=rows), full[rows])
    np.testing.assert_array_equal(ksg_pointwise(x, y, k=3, random_state=4, queries=np.arange(900)), full)


@pytest.mark.parametrize(
    ("queries", "match"),
    [
        (np.array([0, 5, 5]), "must not repeat"),
        (np.array([0, 900]), "must index rows 0..899"),
        (np.array([-1, 3]), "must index rows"),
        (np.array([0.0, 1.0]), "integer row indices"),
        (np.zeros((2, 2), dtype=int), "1-D array"),
        (np.array([], dtype=int), "non-empty"),
    ],
)
def test_bad_queries_raise(queries, match):
    x, y = correlated(900, 0.7, seed=0)
    with pytest.raises(ValueError, match=match):
        ksg_pointwise(x, y, queries=queries)


def test_compiled_kernel_matches_torch(monkeypatch):
    x, y = correlated(600, 0.6, seed=3, dims=6)
    compiled = ksg_pointwise(x, y, k=3)
    monkeypatch.setattr(knn, "NUMBA_MAX_DIM", 0)
    np.testing.assert_array_equal(compiled, ksg_pointwise(x, y, k=3))


def test_ksg_symmetric():
    x, y = correlated(1000, 0.5, seed=1, dims=2)
    a = ksg_pointwise(x, y, random_state=4, jitter=0)
    b = ksg_pointwise(y, x, random_state=4, jitter=0)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_ksg_bivariate_gaussian_analytic():
    rho = 0.8
    x, y = correlated(5000, rho, seed=7)
    truth = -0.5 * np.log2(1 - rho**2)
    res = ksg(x, y)
    assert abs(res.mi - truth) < 0.05
    assert res.pmi.shape == (5000,)
    assert np.isclose(res.mi, res.pmi.mean())
    nats = ksg(x, y, base="nats").mi
    assert np.isclose(nats, res.mi * np.log(2))


def test_proposition_2_common_scaling_and_3_one_sided():
    x, y = correlated(1000, 0.7, seed=2, dims=2)
    base = ksg(x, y).mi
    for a in [1e-2, 0.37, 10.0, 1e3]:
        assert abs(ksg(a * x, a * y).mi - base) < 1e-9
    # one-sided scaling changes plain KSG (Proposition 3: it drifts to -1/k at the extremes)
    assert abs(ksg(x, 1e3 * y).mi - base) > 0.05
    assert abs(ksg(x, 1e-2 * y).mi - base) > 0.05


@pytest.mark.parametrize("estimator", [ksg_local, ksg_global, ksg_global_linf])
def test_normalised_variants_one_sided_invariance(estimator):
    x, y = correlated(800, 0.7, seed=5, dims=3)
    base = estimator(x, y).mi
    for a in [1e-2, 1e-1, 3.3, 1e2, 1e3]:
        assert abs(estimator(x, a * y).mi - base) < 1e-9
        assert abs(estimator(a * x, y).mi - base) < 1e-9


def test_ksg_global_reports_scale():
    x, y = correlated(500, 0.7, seed=5, dims=2)
    res = ksg_global_linf(x, y)
    assert res.extra["scale"] in res.extra["scales"]
    assert np.isclose(res.mi, max(res.extra["mi_per_scale"]))


@pytest.mark.parametrize(("n", "dims", "path"), [(400, 12, "compiled"), (3100, 2, "compiled"), (400, 12, "torch")])
def test_scaled_counts_equal_one_search_per_scale(n, dims, path, monkeypatch):
    """KSG-Global's all-scales-at-once counts equal a separate neighbour search of (x, c y) per scale."""
    from bioinfo_mi.estimators._knn import _NeighbourIndex

    if path == "torch":
        monkeypatch.setattr(knn, "NUMBA_MAX_DIM", 0)
    x, y = correlated(n, 0.7, seed=3, dims=dims)
    scales = np.array([0.1, 0.7, 1.3, 2.0])
    nx, ny = _NeighbourIndex(x, y).scaled_self_counts(3, scales)
    for i, c in enumerate(scales):
        ax, ay = _NeighbourIndex(x, c * y).counts(x, c * y, 3, exclude_self=True)
        np.testing.assert_array_equal(nx[i], ax)
        np.testing.assert_array_equal(ny[i], ay)


def test_density_ratio_leave_one_out_matches_ksg(search_path):
    x, y = correlated(700, 0.6, seed=9, dims=2)
    pmi = ksg_pointwise(x, y, random_state=1)
    loo = density_ratio(x, y, random_state=1)
    np.testing.assert_allclose(loo, pmi, atol=1e-12)
    assert abs(loo.mean() - ksg(x, y, random_state=1).mi) < 1e-12


def test_density_ratio_out_of_sample(search_path):
    x, y = correlated(4000, 0.8, seed=10)
    ref, query = slice(0, 3000), slice(3000, 4000)
    scores = density_ratio(x[query], y[query], x[ref], y[ref], max_elements=128 * 3000)  # 128 queries at a time
    np.testing.assert_array_equal(scores, density_ratio(x[query], y[query], x[ref], y[ref]))  # chunks change nothing
    truth = -0.5 * np.log2(1 - 0.8**2)
    assert abs(scores.mean() - truth) < 0.1
    # shuffled query pairs score lower than true pairs
    shuffled = density_ratio(x[query], y[query][::-1], x[ref], y[ref])
    assert shuffled.mean() < scores.mean() - 0.5
    assert np.isfinite(density_ratio(x[query], y[query], x[ref], y[ref], k=1)).all()


def test_bi_ksg_gaussian():
    x, y = correlated(3000, 0.8, seed=12, dims=2)
    truth = -np.log2(1 - 0.8**2)
    assert abs(bi_ksg(x, y).mi - truth) < 0.1
    assert abs(bi_ksg(x, y, norm=np.inf).mi - truth) < 0.1


def test_ties_poisson_counts_independent():
    rng = np.random.default_rng(0)
    x = rng.poisson(0.3, size=(3000, 3)).astype(float)
    y = rng.poisson(0.5, size=(3000, 2)).astype(float)
    with pytest.warns(UserWarning, match="duplicated"):
        res = ksg(x, y)
    assert np.isfinite(res.pmi).all()
    assert abs(res.mi) < 0.05


def test_ties_poisson_counts_dependent_positive():
    rng = np.random.default_rng(1)
    lam = rng.gamma(2.0, 1.0, size=3000)
    x = rng.poisson(lam)[:, None].astype(float)
    y = rng.poisson(lam)[:, None].astype(float)
    with pytest.warns(UserWarning, match="duplicated"):
        assert ksg(x, y).mi > 0.2


def test_jitter_uses_spread_not_magnitude():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, size=(2000, 1)).astype(float) + 1e6  # ties far from zero
    y = rng.normal(size=(2000, 1))
    res = ksg(x, y)
    assert np.isfinite(res.pmi).all() and abs(res.mi) < 0.05


def test_constant_column_carries_no_information():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.full(2000, 5.0), rng.normal(size=2000)])
    y = rng.normal(size=(2000, 2))
    assert abs(ksg(x, y).mi) < 0.05
    x_big = np.column_stack([np.full(2000, 1e9), rng.normal(size=2000)])
    assert abs(ksg(x_big, y).mi) < 0.05


def test_input_types_and_no_mutation():
    import pandas as pd

    x, y = correlated(500, 0.7, seed=4, dims=2)
    x0, y0 = x.copy(), y.copy()
    a = ksg(x, y).mi
    assert ksg(pd.DataFrame(x), pd.DataFrame(y)).mi == a
    assert ksg(sp.csr_matrix(x), sp.csr_matrix(y)).mi == a
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    one_d = ksg(x[:, 0], y[:, 0]).mi
    assert one_d == ksg(x[:, :1], y[:, :1]).mi


def test_same_seed_same_numbers():
    x, y = correlated(500, 0.7, seed=4, dims=2)
    np.testing.assert_array_equal(ksg_pointwise(x, y, random_state=3), ksg_pointwise(x, y, random_state=3))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"x": np.zeros((10, 2)) + np.arange(2), "y": np.ones((11, 1))}, ValueError, "same number of samples"),
        ({"x": np.r_[np.nan, np.arange(9.0)], "y": np.arange(10.0)}, ValueError, "x contains 1 NaN"),
        ({"x": np.arange(10.0), "y": np.r_[np.inf, np.arange(9.0)]}, ValueError, "y contains"),
        ({"x": np.array(list("abcdefghij")), "y": np.arange(10.0)}, TypeError, "x must hold real numbers"),
        ({"x": np.arange(10.0), "y": np.arange(10.0), "k": 0}, ValueError, "k must be an integer >= 1"),
        ({"x": np.arange(4.0), "y": np.arange(4.0), "k": 3}, ValueError, "at least 5 samples"),
        ({"x": np.ones((20, 3)), "y": np.arange(20.0)}, ValueError, "x is constant"),
    ],
)
def test_bad_input_raises(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ksg(**kwargs)


def test_non_numeric_frame_raises():
    import pandas as pd

    frame = pd.DataFrame({"a": np.arange(10.0), "b": list("abcdefghij")})
    with pytest.raises(TypeError, match="non-numeric columns"):
        bm.mi(frame, np.arange(10.0), method="ksg")


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="valid methods: .*ksg-global-linf"):
        bm.mi(np.arange(10.0), np.arange(10.0), method="histogram")


@pytest.mark.parametrize("n", [40, 6000])  # the byte-wise path (n <= 5000) and the hashed one
def test_duplicate_rows_are_counted_like_pandas(n):
    from bioinfo_mi.estimators._knn import _count_duplicate_rows

    z = np.random.default_rng(n).integers(0, 3, size=(n, 3)).astype(float)
    z[0, 0] = -0.0  # equal to 0.0
    assert _count_duplicate_rows(z) == int(pd.DataFrame(z).duplicated().sum())
    assert _count_duplicate_rows(z[:, :1], z[:, 1:]) == int(pd.DataFrame(z).duplicated().sum())  # blocks side by side
    assert _count_duplicate_rows(np.array([[0.0, 1.0], [-0.0, 1.0], [2.0, 1.0]])) == 1


def test_duplicate_rows_of_a_large_continuous_sample_are_exact():
    from bioinfo_mi.estimators._knn import _count_duplicate_rows

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8000, 70)), rng.normal(size=(8000, 5))
    assert _count_duplicate_rows(x, y) == 0
    x[10], y[10] = x[20], y[20]  # a duplicated pair
    x[30] = x[40]  # equal x only: not a duplicated (x, y) row
    x[50], y[50] = -0.0 * x[60] + x[60], y[60]  # the same values
    assert _count_duplicate_rows(x, y) == 2 == int(pd.DataFrame(np.hstack([x, y])).duplicated().sum())


def test_row_hashes_do_not_depend_on_the_column_slices(monkeypatch):
    """The hashes fold the columns a slice at a time (vectorised); slices of 1, 3 and all columns, and a block of
    fewer rows (wider slices), give the same hashes, equal rows equal hashes, and the hashed count stays exact on a
    float32 sample with duplicates."""
    from bioinfo_mi.estimators import _knn

    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=(7000, 9)).astype(np.float32)  # 512 distinct rows: many duplicates
    start = np.zeros(len(x), dtype=np.uint64)
    hashes = []
    for elements in (7000, 3 * 7000, 2**21):
        monkeypatch.setattr(_knn, "HASH_SLICE_ELEMENTS", elements)
        hashes.append(_knn._row_hashes(x, start))
    assert all(np.array_equal(h, hashes[0]) for h in hashes)
    assert len(np.unique(hashes[0])) == len(np.unique(x, axis=0))  # equal rows, equal hashes; no collision here
    monkeypatch.setattr(_knn, "HASH_SLICE_ELEMENTS", 7000)
    assert np.array_equal(_knn._row_hashes(x[:100], start[:100]), hashes[0][:100])  # a short block: other slices
    assert _knn._count_duplicate_rows(x[:, :4], x[:, 4:]) == int(pd.DataFrame(x).duplicated().sum())


def test_a_knn_estimate_keeps_the_callers_torch_threads():
    """numba's OpenMP layer sets the process's OpenMP thread count to its own when it starts, and torch reads the
    same count: a first KSG call turned a caller's ``torch.set_num_threads(1)`` into every core (two processes
    training afterwards oversubscribed the CPU). Fresh interpreter, so the layer starts inside the call; torch's
    count read once before it (as the package's fit code does), which is when torch picks the change up."""
    code = (
        "import torch; torch.set_num_threads(1); torch.get_num_threads()\n"
        "import numpy as np, bioinfo_mi as bm\n"
        "rng = np.random.default_rng(0); x = rng.normal(size=(300, 2))\n"
        "bm.mi(x, x + rng.normal(size=(300, 2)), method='ksg')\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "1"
