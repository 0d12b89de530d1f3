"""Samples read block by block (``bioinfo_mi._rows``): what LMI takes at atlas scale (issue 29).

float32 stays float32 and a numpy array is not copied, sparse and lazy (backed AnnData) inputs are
never densified whole, bad input fails as in ``check_array``, and LMI gives the same numbers from a
sparse matrix and from its backed file, with memory far below the dense size of the input.
"""

import tracemalloc
import warnings

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

import bioinfo_mi as bm
from bioinfo_mi import _rows
from bioinfo_mi._rows import check_row_pair, check_rows, read_rows
from bioinfo_mi.estimators import LMIPreset
from bioinfo_mi.estimators._knn import _count_duplicate_rows


def test_float32_array_is_kept_without_copy():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    rows = check_rows(x)
    assert rows.dtype == np.float32 and rows.in_memory
    assert np.shares_memory(rows.block(0, 10), x)
    assert check_rows(x.astype(np.int64)).dtype == np.float64
    assert check_rows(np.ones(7, dtype=bool)).shape == (7, 1)


def test_sparse_stays_sparse_and_blocks_match_the_dense_rows():
    x = sp.random(300, 40, density=0.1, format="csc", random_state=0, dtype=np.float32)
    rows = check_rows(x)
    assert sp.issparse(rows.data) and rows.data.format == "csr" and rows.dtype == np.float32
    dense = x.toarray()
    assert np.array_equal(rows.block(10, 20), dense[10:20])
    index = np.array([0, 5, 150, 299])
    assert np.array_equal(rows.take(index), dense[index])
    mean, sd = rows.column_stats()
    np.testing.assert_allclose(mean, dense.astype(np.float64).mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sd, dense.astype(np.float64).std(axis=0), rtol=1e-10)


def test_column_stats_are_computed_once_and_handed_out_as_copies(monkeypatch):
    rows = check_rows(sp.random(50, 4, density=0.5, format="csr", random_state=1))
    mean, _ = rows.column_stats()
    mean[:] = 99.0  # the caller's copy
    monkeypatch.setattr(rows, "_column_stats", lambda: pytest.fail("computed twice"))
    assert not (rows.column_stats()[0] == 99.0).any()


def test_column_stats_of_an_array_equal_numpys_exactly():
    x = np.random.default_rng(1).normal(size=(500, 600)).astype(np.float32)
    mean, sd = check_rows(x).column_stats()
    assert np.array_equal(mean, x.astype(np.float64).mean(axis=0))
    assert np.array_equal(sd, x.astype(np.float64).std(axis=0))


def test_blocks_cover_every_row(monkeypatch):
    monkeypatch.setattr(_rows, "BLOCK_BYTES", 8 * 3 * 7)  # 7 rows of 3 columns per block
    x = np.arange(60.0).reshape(20, 3)
    rows = check_rows(x)
    starts = [start for start, _ in rows.blocks()]
    assert starts == [0, 7, 14]
    assert np.array_equal(np.vstack([b for _, b in rows.blocks()]), x)
    assert np.array_equal(check_rows(sp.csr_matrix(x)).take(np.array([1, 8, 19])), x[[1, 8, 19]])


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (None, TypeError, "x must be an array-like"),
        (np.array([["a", "b"]]), TypeError, "x must hold real numbers"),
        (np.zeros((3, 2, 2)), ValueError, "x must be 1-D or 2-D"),
        (np.zeros((0, 3)), ValueError, "x is empty"),
        (np.array([[1.0, np.nan]]), ValueError, "x contains 1 NaN"),
        (sp.csr_matrix(np.array([[1.0, np.inf], [0.0, 1.0]])), ValueError, "x contains 1 NaN or infinite"),
        (sp.csr_matrix((0, 4)), ValueError, "x is empty"),
    ],
)
def test_bad_input_names_the_argument(value, error, match):
    with pytest.raises(error, match=match):
        check_rows(value, name="x")


def test_pair_checks_lengths_and_sample_count():
    with pytest.raises(ValueError, match="same number of samples"):
        check_row_pair(np.zeros((5, 2)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="method 'lmi' needs at least 10 samples, got 5"):
        check_row_pair(np.zeros((5, 2)), np.zeros((5, 2)), min_samples=10, method="lmi")


def test_backed_anndata_is_read_by_row_blocks(tmp_path):
    x = sp.random(400, 30, density=0.2, format="csr", random_state=2, dtype=np.float32)
    ad.AnnData(X=x).write_h5ad(tmp_path / "a.h5ad")
    backed = ad.read_h5ad(tmp_path / "a.h5ad", backed="r")
    rows = check_rows(backed.X)
    assert not rows.in_memory and rows.shape == (400, 30) and rows.dtype == np.float32
    assert np.array_equal(rows.take(np.array([3, 200, 399])), x[[3, 200, 399]].toarray())
    mean_backed, sd_backed = rows.column_stats()
    mean_sparse, sd_sparse = check_rows(x).column_stats()
    assert np.array_equal(mean_backed, mean_sparse) and np.array_equal(sd_backed, sd_sparse)
    backed.file.close()


@pytest.mark.parametrize("kind", ["numpy", "sparse", "backed dense", "backed sparse", "dask"])
def test_read_rows_reads_the_rows_asked_for_by_blocks(kind, tmp_path, monkeypatch):
    import dask.array as da

    x = np.random.default_rng(4).poisson(0.4, size=(500, 12)).astype(np.float32)
    index = np.array([0, 7, 8, 250, 251, 499])
    monkeypatch.setattr(_rows, "BLOCK_BYTES", 8 * 12 * 2)  # two rows per block: several reads
    backed = None
    if kind.startswith("backed"):
        ad.AnnData(X=sp.csr_matrix(x) if kind == "backed sparse" else x).write_h5ad(tmp_path / "a.h5ad")
        backed = ad.read_h5ad(tmp_path / "a.h5ad", backed="r")
        source = backed.X
    else:
        source = {"numpy": x, "sparse": sp.csc_matrix(x), "dask": da.from_array(x, chunks=(64, 12))}[kind]
    try:
        out = read_rows(source, index)
        assert sp.issparse(out) == kind.endswith("sparse")
        dense = out.toarray() if sp.issparse(out) else out
        assert dense.dtype == np.float32 and np.array_equal(dense, x[index])
        with pytest.raises(ValueError, match="sorted, unique"):
            read_rows(source, index[::-1])
    finally:
        if backed is not None:
            backed.file.close()


def test_duplicate_count_is_the_same_from_blocks(monkeypatch):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6000, 5)), rng.normal(size=(6000, 3))
    x[10], y[10] = x[20], y[20]
    x[30], y[30] = x[40], y[40]
    x[50] = x[60]  # x alone duplicated: not a duplicated pair
    monkeypatch.setattr(_rows, "BLOCK_BYTES", 8 * 8 * 1000)
    assert _count_duplicate_rows(x, y) == 2
    assert _count_duplicate_rows(check_rows(x), check_rows(sp.csr_matrix(y))) == 2


def _counts(n, d, seed):
    """A sparse count-like pair: a shared factor raises the Poisson rates of the first 5 genes of both sides; every
    other entry is 1 with probability 0.002 and 0 otherwise (drawn by geometric gaps, never as a dense matrix)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)

    def side(shared):
        head = sp.coo_matrix(rng.poisson(np.exp(0.8 * shared)[:, None], size=(n, 5)).astype(np.float32))
        size = n * (d - 5)
        gaps = rng.geometric(0.002, size=int(1.1 * 0.002 * size) + 1000)  # 45 SD beyond the expected count
        pos = np.cumsum(gaps) - 1
        rows, cols = np.divmod(pos[pos < size], d - 5)
        data = np.concatenate([head.data, np.ones(len(rows), np.float32)])
        ij = (np.concatenate([head.row, rows]), np.concatenate([head.col, cols + 5]))
        return sp.csr_matrix((data, ij), shape=(n, d))

    x = side(z)
    y = side(z + 0.5 * rng.normal(size=n))
    return x, y


def test_lmi_on_a_backed_anndata_equals_lmi_on_its_sparse_matrix(tmp_path):
    x, y = _counts(3000, 200, 4)
    ad.AnnData(X=x).write_h5ad(tmp_path / "x.h5ad")
    ad.AnnData(X=y).write_h5ad(tmp_path / "y.h5ad")
    bx = ad.read_h5ad(tmp_path / "x.h5ad", backed="r")
    by = ad.read_h5ad(tmp_path / "y.h5ad", backed="r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = bm.mi(x, y, method="lmi", epochs=5, random_state=0)
        backed = bm.mi(bx.X, by.X, method="lmi", epochs=5, random_state=0)
        dense = bm.mi(x.toarray(), y.toarray(), method="lmi", epochs=5, random_state=0)
    assert backed.mi == in_memory.mi
    assert np.array_equal(backed.pmi, in_memory.pmi, equal_nan=True)
    assert in_memory.mi > 0.2
    # the same data dense: standardisation statistics summed in another order, float32 training
    assert abs(dense.mi - in_memory.mi) < 0.05
    bx.file.close()
    by.file.close()


@pytest.mark.slow
def test_lmi_never_densifies_a_large_sparse_input(monkeypatch):
    """100 000 x 1000 sparse counts per side: 0.75 GiB each as dense float64; LMI with a capped training
    sample, reading 4 MiB blocks (every row encoded), must allocate (numpy, traced) less than a tenth of what both
    take. 5000 of the 96 000 held-out pairs are scored (max_queries), which leaves the reading as it is."""
    x, y = _counts(100_000, 1000, 5)
    monkeypatch.setattr(_rows, "BLOCK_BYTES", 4 * 2**20)
    preset = LMIPreset(max_train=4000, max_validation=2000, max_queries=5000)
    with warnings.catch_warnings():  # the first fit imports modules (traced Python objects): do that first
        warnings.simplefilter("ignore")
        bm.mi(x[:3000], y[:3000], method="lmi", preset=preset, epochs=1, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.mi(x, y, method="lmi", preset=preset, epochs=3, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense_bytes = 2 * 100_000 * 1000 * 8
    assert peak < 0.1 * dense_bytes, f"numpy peak {peak / 2**20:.0f} MiB"
    assert np.isfinite(res.mi) and np.isnan(res.pmi).sum() == 100_000 - 5000


def test_dask_array_is_read_by_blocks_and_lmi_matches_numpy():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 12)).astype(np.float32)
    y = (x[:, :3] @ rng.normal(size=(3, 6)) + rng.normal(size=(2000, 6))).astype(np.float32)
    dx, dy = da.from_array(x, chunks=(300, 12)), da.from_array(y, chunks=(500, 6))
    rows = check_rows(dx)
    assert not rows.in_memory and rows.dtype == np.float32
    assert np.array_equal(rows.take(np.array([1, 299, 300, 1999])), x[[1, 299, 300, 1999]])
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        check_rows(da.from_array(np.where(np.arange(24).reshape(12, 2) == 5, np.nan, 1.0), chunks=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = bm.mi(dx, dy, method="lmi", epochs=5, random_state=0)
        eager = bm.mi(x, y, method="lmi", epochs=5, random_state=0)
    # the column statistics are summed block by block instead of by numpy over the array: same up to rounding
    assert abs(lazy.mi - eager.mi) < 0.02 and lazy.mi > 0.5


def test_lmi_caps_training_pairs_and_bounds_its_patience_in_pairs():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    y = x[:, :2] @ rng.normal(size=(2, 4)) + rng.normal(size=(3000, 4))
    preset = LMIPreset(max_train=1000, max_validation=500, patience_pairs=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.mi(x, y, method="lmi", preset=preset, epochs=60, random_state=0)
        given = bm.mi(x, y, method="lmi", preset=preset, epochs=60, patience=5, random_state=0)
        small = bm.mi(x[:1500], y[:1500], method="lmi", epochs=3, random_state=0)
    assert len(res.train_idx) == 1000 and len(res.test_idx) == 2000 and np.isnan(res.pmi).sum() == 1000
    assert res.params["patience"] == 2 and res.params["patience_rule"] == "adapted"  # 2000 pairs / 1000
    assert len(res.history) <= res.best_epoch + 1 + 2
    assert given.params["patience"] == 5 and given.params["patience_rule"] == "given"
    assert small.params["patience"] == 10 and small.params["patience_rule"] == "preset"
    assert len(small.train_idx) == 750  # below max_train: the paper's 1:1 split
    for field, bad in (("max_train", 1), ("max_validation", 0), ("patience_pairs", 2.5)):
        with pytest.raises((TypeError, ValueError), match=field):
            bm.mi(x, y, method="lmi", preset=LMIPreset(**{field: bad}))


@pytest.mark.parametrize("kind", ["numpy", "int", "sparse", "backed sparse", "backed dense", "dask"])
def test_count_matrices_are_recognised_and_their_log1p_statistics_match_numpy(kind, tmp_path, monkeypatch):
    import dask.array as da

    rng = np.random.default_rng(8)
    x = rng.poisson(rng.gamma(0.5, 2.0, size=(600, 15))).astype(np.float32)
    monkeypatch.setattr(_rows, "BLOCK_BYTES", 8 * 15 * 100)  # 100 rows per block: several blocks

    def rows_of(a):
        if kind.startswith("backed"):
            path = tmp_path / f"{len(list(tmp_path.iterdir()))}.h5ad"
            ad.AnnData(X=sp.csr_matrix(a) if kind == "backed sparse" else a).write_h5ad(path)
            return check_rows(ad.read_h5ad(path, backed="r").X)
        return check_rows(
            {
                "numpy": lambda: a,
                "int": lambda: a.astype(np.int64),
                "sparse": lambda: sp.csr_matrix(a),
                "dask": lambda: da.from_array(a, chunks=(128, 15)),
            }[kind]()
        )

    rows = rows_of(x)
    assert rows.is_counts()
    mean, sd = rows.column_stats(log1p=True)
    logged = np.log1p(x.astype(np.float64))
    np.testing.assert_allclose(mean, logged.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sd, logged.std(axis=0), rtol=1e-9)
    assert not np.array_equal(rows.column_stats()[0], mean)  # the raw statistics are kept apart
    if kind != "int":
        x_frac, x_binary, x_negative = x.copy(), (x > 0).astype(np.float32), x.copy()
        x_frac[599, 14] += 0.5  # one fractional value, in the last block
        x_negative[0, 0] = -1
        assert not rows_of(x_frac).is_counts()
        assert not rows_of(x_binary).is_counts()  # 0/1: log1p is linear on it
        assert not rows_of(x_negative).is_counts()


def test_a_sparse_matrix_and_its_backed_file_give_identical_log1p_statistics(tmp_path):
    x = sp.random(500, 40, density=0.2, format="csr", random_state=9, data_rvs=lambda k: np.arange(k) % 7 + 1)
    ad.AnnData(X=x.astype(np.float32)).write_h5ad(tmp_path / "a.h5ad")
    backed = ad.read_h5ad(tmp_path / "a.h5ad", backed="r")
    try:
        in_memory, from_disk = check_rows(x.astype(np.float32)), check_rows(backed.X)
        assert in_memory.is_counts() and from_disk.is_counts()
        for a, b in zip(in_memory.column_stats(log1p=True), from_disk.column_stats(log1p=True), strict=True):
            assert np.array_equal(a, b)
    finally:
        backed.file.close()
