"""tl.markov_test: the DPI comparison calls hidden-fate dynamics non-Markovian and Markovian ones not."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bioinfo_mi as bm


def lineage(hidden: bool, seed: int = 0, n_clones: int = 400, n_genes: int = 6) -> ad.AnnData:
    """Clone state s (readable early) and, if ``hidden``, a clone-level fate h shaping only late states."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n_clones)
    h = rng.normal(size=n_clones) if hidden else np.zeros(n_clones)
    w_early, w_late = rng.normal(size=(1, n_genes)), rng.normal(size=(2, n_genes))
    rows, xs = [], []
    for c in range(n_clones):
        for _ in range(2):  # two cells per clone and condition, so pairings differ
            rows.append((f"c{c}", 2.0, 0))
            xs.append(s[c] * w_early[0] + 0.1 * rng.normal(size=n_genes))
            for well in (1, 2):
                rows.append((f"c{c}", 6.0, well))
                xs.append(np.array([s[c], 2 * h[c]]) @ w_late + 0.5 * rng.normal(size=n_genes))
    obs = pd.DataFrame(rows, columns=["clone", "time", "well"], index=[f"cell{i}" for i in range(len(rows))])
    return ad.AnnData(X=np.array(xs, dtype=np.float32), obs=obs)


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [True, False])
def test_markov_verdict(hidden):
    adata = lineage(hidden)
    before = adata.obs.copy()
    bm.tl.markov_test(adata, method="ksg", n_pairings=4, n_shuffles=2, progress=False)
    res = adata.uns["markov_test"]
    assert set(res) == {
        "table",
        "summary",
        "p_value",
        "p_value_welch",
        "difference",
        "difference_se",
        "difference_dof",
        "markovian",
        "verdict",
        "params",
    }
    # the t test uses the combined SE of both means (pairing spread and the fits' sampling error), with
    # the Welch-Satterthwaite degrees of freedom of the two SEMs (3 each here) and the shared part as known
    real = res["table"][~res["table"].shuffled]
    assert (real.se > 0).all()
    assert res["difference_se"] > 0
    sems = real.groupby("comparison").estimate.sem().to_numpy()
    assert res["difference_dof"] == pytest.approx(res["difference_se"] ** 4 / np.sum(sems**4 / 3))
    assert res["p_value"] == pytest.approx(
        stats.t.sf(res["difference"] / res["difference_se"], res["difference_dof"]), rel=1e-9, abs=1e-300
    )
    assert f"{res['difference_dof']:.1f} degrees of freedom" in res["verdict"]
    assert res["markovian"] is (not hidden)
    assert (res["p_value"] < 0.05) is hidden
    assert res["params"]["wells"] == [1, 2] and res["params"]["early"] == 2.0
    assert res["params"]["version"] == bm.__version__
    shuffled = res["table"][res["table"].shuffled]
    assert shuffled.estimate.abs().mean() < 0.1
    # the summary has tl.lmi's columns: mi_mean, mi_sem, within_fit_se, mi_se = hypot(mi_sem, within_fit_se)
    summary = res["summary"]
    columns = ["comparison", "shuffled", "mi_mean", "mi_sem", "within_fit_se", "mi_se", "n_pairings"]
    assert list(summary.columns) == columns
    grouped = res["table"].groupby(["comparison", "shuffled"]).estimate
    np.testing.assert_allclose(summary.mi_mean, grouped.mean().to_numpy())
    np.testing.assert_allclose(summary.mi_sem, grouped.sem().to_numpy())
    assert summary.n_pairings.tolist() == grouped.count().tolist() == [4, 2, 4, 2]
    np.testing.assert_allclose(summary.mi_se, np.hypot(summary.mi_sem, summary.within_fit_se))
    assert ("not Markovian" in res["verdict"]) is hidden
    pd.testing.assert_frame_equal(adata.obs, before)


def test_markov_copy_and_errors():
    adata = lineage(True, n_clones=120)
    out = bm.tl.markov_test(adata, method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, copy=True, progress=False)
    assert "markov_test" in out.uns and "markov_test" not in adata.uns
    with pytest.raises(KeyError, match="obs column 'plate' not found"):
        bm.tl.markov_test(adata, well_key="plate", progress=False)
    with pytest.raises(ValueError, match="n_pairings must be an integer >= 2"):
        bm.tl.markov_test(adata, n_pairings=1, progress=False)


def test_markov_without_error_bars():
    """error_bars=False is accepted (it raised TypeError): the SE is the spread over pairings alone, and the
    verdict says what that misses."""
    adata = lineage(True, n_clones=120)
    bm.tl.markov_test(adata, method="ksg", n_pairings=3, n_shuffles=1, min_clones=20, error_bars=False, progress=False)
    res = adata.uns["markov_test"]
    real = res["table"][~res["table"].shuffled]
    assert real.se.isna().all() and res["params"]["error_bars"] is False
    sems = real.groupby("comparison").estimate.sem().to_numpy()
    assert res["difference_se"] == pytest.approx(np.hypot(*sems))
    assert "error_bars=False" in res["verdict"]


@pytest.mark.slow
def test_markov_split_into_jobs(tmp_path):
    adata = bm.datasets.simulate_lineage(n_clones=150, n_genes=60, n_informative=40, hidden_fate=True, random_state=3)
    opts = dict(method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, progress=False)
    whole = bm.tl.markov_test(adata, copy=True, **opts)
    for i in range(6):  # 2 comparisons x (2 real + 1 shuffled)
        bm.tl.markov_test(adata, fits=[i], cache_dir=tmp_path, **opts)
    assert "markov_test" not in adata.uns
    bm.tl.markov_test(adata, cache_dir=tmp_path, **opts)
    pd.testing.assert_frame_equal(adata.uns["markov_test"]["table"], whole.uns["markov_test"]["table"])
    assert adata.uns["markov_test"]["p_value"] == whole.uns["markov_test"]["p_value"]


@pytest.mark.slow
def test_markov_generator_random_state():
    """A Generator gives the same test as another Generator in the same state (it used to fail on
    ``random_state + 1``); the root seed drawn from it is stored and repeats the run as an int."""
    adata = lineage(True, n_clones=120)
    opts = dict(method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, progress=False)
    a = bm.tl.markov_test(adata, random_state=np.random.default_rng(7), copy=True, **opts).uns["markov_test"]
    b = bm.tl.markov_test(adata, random_state=np.random.default_rng(7), copy=True, **opts).uns["markov_test"]
    pd.testing.assert_frame_equal(a["table"], b["table"])
    root = a["params"]["random_state"]
    assert isinstance(root, int)
    c = bm.tl.markov_test(adata, random_state=root, copy=True, **opts).uns["markov_test"]
    pd.testing.assert_frame_equal(a["table"], c["table"])
    with pytest.raises(ValueError, match="give random_state as an int"):
        bm.tl.markov_test(adata, fits=[0], cache_dir="unused", random_state=None, **opts)


def cospar_like(adata: ad.AnnData, *, keep_well: bool) -> ad.AnnData:
    """The object as CoSpar stores it (cs.pp.initialize_adata_object): time as a categorical of strings
    in obs['time_info'], obs['state_info'], the clones only as a binary CSR obsm['X_clone'], and the
    representations X_pca / X_emb; no 'clone' or 'time' column, and no well unless kept."""
    import scipy.sparse as sp

    clones = pd.Categorical(adata.obs["clone"])
    x_clone = sp.csr_matrix(
        (np.ones(adata.n_obs), (np.arange(adata.n_obs), clones.codes)), shape=(adata.n_obs, len(clones.categories))
    )
    obs = pd.DataFrame(
        {
            "time_info": pd.Categorical(adata.obs["time"].map(lambda t: str(int(t)))),
            "state_info": pd.Categorical(np.where(adata.X[:, 0] > 0, "Neu", "Mono")),
        },
        index=adata.obs_names,
    )
    if keep_well:
        obs["well"] = adata.obs["well"].to_numpy()
    out = ad.AnnData(X=adata.X.copy(), obs=obs)
    out.obsm["X_clone"] = x_clone
    out.obsm["X_pca"] = adata.X - adata.X.mean(axis=0)
    out.obsm["X_emb"] = adata.X[:, :2].copy()
    out.uns["time_ordering"] = np.array(["2", "6"])
    return out


@pytest.mark.slow
def test_cospar_objects_work_as_they_come(tmp_path, monkeypatch):
    """Clones from obsm['X_clone'], time from the string categories of obs['time_info'] (after an h5ad
    round trip); without a well column the test stops before any fit and says how to supply one."""
    adata = lineage(True, n_clones=150)
    opts = dict(method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, progress=False, random_state=0)
    reference = bm.tl.markov_test(adata, copy=True, **opts).uns["markov_test"]
    path = tmp_path / "cospar.h5ad"
    cospar_like(adata, keep_well=True).write_h5ad(path)
    cospar = ad.read_h5ad(path)
    assert isinstance(cospar.obs["time_info"].dtype, pd.CategoricalDtype) and "clone" not in cospar.obs
    bm.tl.markov_test(cospar, **opts)
    res = cospar.uns["markov_test"]
    assert res["params"]["early"] == "2" and res["params"]["late"] == "6"
    # the same clones as with the plain columns (their names, hence the drawn pairings, differ) and the verdict
    assert (res["table"].n_clones == reference["table"].n_clones).all()
    assert res["markovian"] is reference["markovian"] is False
    bm.tl.lmi(cospar, use_rep="X_pca", conditions=("2", "6"), **opts)
    bm.tl.lmi(cospar, use_rep="X_emb", conditions=(2, 6), key_added="lmi_emb", **opts)
    assert cospar.uns["lmi_emb"]["params"]["conditions"] == ["2", "6"]

    no_well = cospar_like(adata, keep_well=False)
    import bioinfo_mi.tl._adjust as tool_fits

    monkeypatch.setattr(tool_fits, "run_fits", lambda *a, **k: pytest.fail("fits started without a well column"))
    with pytest.raises(KeyError, match=r"obs column 'well' not found.*pass well_key=.*read_larry"):
        bm.tl.markov_test(no_well, **opts)
