"""Numbers that never depend on n_jobs: every repeated fit runs with the same fixed thread count.

A CPU fit of a small network is bit-reproducible only at a fixed torch thread count, and at
d = 10 one thread and two threads give different LMI estimates (docs/benchmarks.md measured 1.443
vs 1.454 bits on one dataset). Before the repeated-fit layer fixed the thread count per fit,
``n_jobs=1`` ran fits with all cores' threads and ``n_jobs=2`` with ``cpu_count // 2``, and this
test failed there.
"""

import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi import _parallel


@pytest.fixture(scope="module")
def small_d_lineage():
    """1000 clones, 10 genes, one early and one late cell per clone sharing a 2-D clone state."""
    rng = np.random.default_rng(3)
    n_clones, n_genes = 1000, 10
    state = rng.normal(size=(n_clones, 2))
    w_early, w_late = rng.normal(size=(2, n_genes)), rng.normal(size=(2, n_genes))
    early = state @ w_early + rng.normal(size=(n_clones, n_genes))
    late = state @ w_late + rng.normal(size=(n_clones, n_genes))
    obs = pd.DataFrame(
        {"clone": np.tile([f"c{c}" for c in range(n_clones)], 2), "time": np.repeat([2.0, 6.0], n_clones)}
    )
    obs.index = [f"cell{i}" for i in range(len(obs))]
    return ad.AnnData(X=np.vstack([early, late]).astype(np.float32), obs=obs)


def _lmi_table(adata, n_jobs, random_state=0, **kwds):
    a = adata.copy()
    bm.tl.lmi(a, n_pairings=1, n_shuffles=1, n_jobs=n_jobs, random_state=random_state, progress=False, **kwds)
    return a.uns["lmi"]["table"]


@pytest.mark.slow
def test_lmi_at_d10_identical_for_n_jobs_1_2_4(small_d_lineage):
    tables = {n_jobs: _lmi_table(small_d_lineage, n_jobs) for n_jobs in (1, 2, 4)}
    assert tables[1].estimate[~tables[1].shuffled].gt(0.3).all()  # real fits, not a degenerate case
    for n_jobs in (2, 4):
        pd.testing.assert_frame_equal(tables[n_jobs], tables[1])


@pytest.mark.slow
def test_two_generators_with_one_seed_give_identical_results(small_d_lineage):
    fast = {"estimator_kwds": {"epochs": 5}}
    a = _lmi_table(small_d_lineage, 1, random_state=np.random.default_rng(7), **fast)
    b = _lmi_table(small_d_lineage, 2, random_state=np.random.default_rng(7), **fast)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(_lmi_table(small_d_lineage, 1, random_state=np.random.default_rng(8), **fast))


def test_fit_threads_restores_settings_and_caps_knn_workers():
    import torch

    before = torch.get_num_threads()
    assert _parallel.cpu_workers(-1) == -1  # outside a fit: scipy may use every core
    with _parallel.fit_threads(1):
        assert torch.get_num_threads() == 1
        assert _parallel.cpu_workers(-1) == 1 and _parallel.cpu_workers(8) == 1
    assert torch.get_num_threads() == before and _parallel.cpu_workers(-1) == -1


def test_fit_threads_caps_every_blas_and_openmp_pool_and_rescans_after_an_import(monkeypatch):
    """The scan of the loaded pools is kept between fits (7 ms each) and redone after an import."""
    from threadpoolctl import threadpool_info

    with _parallel.fit_threads(1):
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    kept = _parallel._pools
    with _parallel.fit_threads(1):
        assert _parallel._pools is kept  # nothing imported in between: the same scan
    monkeypatch.setitem(sys.modules, "_a_module_imported_since", object())
    with _parallel.fit_threads(1):
        assert _parallel._pools is not kept and {pool["num_threads"] for pool in threadpool_info()} == {1}


@pytest.mark.slow
def test_scan_and_benchmark_identical_whatever_n_jobs():
    x, y = bm.datasets.gaussian_low_rank(d=10, rank=2, n_samples=1000, mi_bits=1.0, random_state=0)
    scans = [
        bm.estimators.scan_latent_dim(
            x, y, latent_dims=(2,), n_repeats=2, random_state=1, n_jobs=n_jobs, epochs=10, progress=False
        ).runs.estimate.to_numpy()
        for n_jobs in (1, 2)
    ]
    np.testing.assert_array_equal(scans[0], scans[1])


@pytest.mark.slow
def test_fits_on_a_dask_cluster_equal_the_fits_in_this_process(small_d_lineage):
    """Inside ``joblib.parallel_config(backend="dask")`` the repeated fits run on the cluster's workers, with
    the same seeds and thread budget: the same table as ``n_jobs=1``."""
    joblib = pytest.importorskip("joblib")
    distributed = pytest.importorskip("dask.distributed")
    fast = {"estimator_kwds": {"epochs": 3}}
    here = _lmi_table(small_d_lineage, 1, **fast)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
        distributed.get_task_stream(client) as stream,
    ):
        assert _parallel.dask_backend_active()
        on_cluster = _lmi_table(small_d_lineage, -1, **fast)
    pd.testing.assert_frame_equal(on_cluster, here)
    assert len({task["worker"] for task in stream.data}) == 2  # the fits ran on both workers
    assert not _parallel.dask_backend_active()
