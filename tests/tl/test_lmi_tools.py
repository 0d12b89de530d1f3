"""tl.lmi / tl.pmi on AnnData: stored keys, shuffle controls, copy semantics, n_jobs invariance."""

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

import bioinfo_mi as bm


@pytest.fixture(scope="module")
def lineage_adata():
    """300 clones with a shared 2-D state; one early cell and 1-2 late cells per clone, 40 genes."""
    rng = np.random.default_rng(0)
    n_clones, n_genes = 300, 40
    state = rng.normal(size=(n_clones, 2))
    w_early, w_late = rng.normal(size=(2, n_genes)), rng.normal(size=(2, n_genes))
    rows, xs = [], []
    for c in range(n_clones):
        rows.append((f"c{c}", 2.0))
        xs.append(state[c] @ w_early + rng.normal(size=n_genes))
        for _ in range(rng.integers(1, 3)):
            rows.append((f"c{c}", 6.0))
            xs.append(state[c] @ w_late + rng.normal(size=n_genes))
    obs = pd.DataFrame(rows, columns=["clone", "time"], index=[f"cell{i}" for i in range(len(rows))])
    adata = ad.AnnData(X=np.array(xs, dtype=np.float32), obs=obs)
    adata.layers["sparse"] = sp.csr_matrix(adata.X)
    return adata


@pytest.mark.slow
def test_lmi_writes_documented_keys_and_controls(lineage_adata, tmp_path):
    adata = lineage_adata.copy()
    before_obs = adata.obs.copy()
    out = bm.tl.lmi(adata, method="ksg", n_pairings=3, n_shuffles=4, min_clones=10, progress=False)
    assert out is None
    res = adata.uns["lmi"]
    assert set(res) == {"table", "summary", "params"}
    table = res["table"]
    assert list(table.columns) == ["pairing", "shuffled", "estimate", "se", "n_clones"]
    assert (~table.shuffled).sum() == 3 and table.shuffled.sum() == 4
    # every real fit carries its sampling standard error (subsampling), the shuffles none
    assert (table.se[~table.shuffled] > 0).all() and table.se[table.shuffled].isna().all()
    summary = res["summary"].iloc[0]
    assert summary.mi_mean > 0.5 and abs(summary.shuffled_mean) < 0.15
    real = table[~table.shuffled]
    shared = np.mean(real.se**2) - np.var(real.estimate, ddof=1)
    assert summary.within_fit_se == pytest.approx(np.sqrt(max(shared, 0.0)))
    assert summary.mi_se == pytest.approx(np.hypot(summary.mi_sem, summary.within_fit_se))
    # 4 shuffles cannot give less than 1/5; the parametric test against the shuffles can, as far as an SD
    # estimated from 4 values allows (Student-t with 3 degrees of freedom, the prediction of one more draw)
    assert summary.p_value == pytest.approx(1 / 5) and summary.p_value_resolution == pytest.approx(1 / 5)
    shuffled = table.estimate[table.shuffled].to_numpy()
    t = (summary.mi_mean - shuffled.mean()) / (shuffled.std(ddof=1) * np.sqrt(1 + 1 / 4))
    assert summary.p_value_parametric == pytest.approx(stats.t.sf(t, 3))
    assert summary.p_value_parametric < 0.01
    assert summary.sem_measures.startswith("cell draws") and summary.n_pairings == 3
    assert res["params"]["conditions"] == [2.0, 6.0] and res["params"]["method"] == "ksg"
    assert res["params"]["version"] == bm.__version__  # which code produced the numbers
    pd.testing.assert_frame_equal(adata.obs, before_obs)  # only uns['lmi'] was added
    adata.write_h5ad(tmp_path / "lmi.h5ad")
    back = ad.read_h5ad(tmp_path / "lmi.h5ad")
    pd.testing.assert_frame_equal(
        back.uns["lmi"]["table"].reset_index(drop=True), table.reset_index(drop=True), check_dtype=False
    )


def test_copy_leaves_input_untouched(lineage_adata):
    adata = lineage_adata.copy()
    new = bm.tl.lmi(
        adata, method="ksg", n_pairings=1, n_shuffles=1, min_clones=10, copy=True, key_added="ksg_run", progress=False
    )
    assert "ksg_run" in new.uns and "ksg_run" not in adata.uns


@pytest.mark.slow
def test_sparse_layer_equals_dense(lineage_adata):
    a, b = lineage_adata.copy(), lineage_adata.copy()
    bm.tl.lmi(a, method="ksg", n_pairings=2, n_shuffles=1, min_clones=10, progress=False)
    bm.tl.lmi(b, method="ksg", layer="sparse", n_pairings=2, n_shuffles=1, min_clones=10, progress=False)
    np.testing.assert_allclose(a.uns["lmi"]["table"].estimate, b.uns["lmi"]["table"].estimate)


@pytest.mark.slow
def test_lmi_results_identical_whatever_n_jobs(lineage_adata):
    runs = []
    for n_jobs in (1, 2):
        adata = lineage_adata.copy()
        bm.tl.lmi(
            adata,
            n_pairings=2,
            n_shuffles=1,
            min_clones=10,
            n_jobs=n_jobs,
            estimator_kwds={"epochs": 5},
            progress=False,
        )
        runs.append(adata.uns["lmi"]["table"].estimate.to_numpy())
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.slow
def test_pmi_per_cell(lineage_adata):
    adata = lineage_adata.copy()
    bm.tl.pmi(adata, method="ksg", n_pairings=3, min_clones=10, progress=False)
    early = adata.obs["time"] == 2.0
    assert adata.obs.loc[early, "pmi"].notna().all()  # KSG scores every paired cell
    assert adata.obs.loc[~early, "pmi"].isna().all()  # side="early"
    assert (adata.obs.loc[early, "pmi_n"] == 3).all()
    assert adata.obs.loc[early, "pmi"].mean() > 0.5
    both = lineage_adata.copy()
    bm.tl.pmi(
        both, method="lmi", n_pairings=2, min_clones=10, side="both", estimator_kwds={"epochs": 3}, progress=False
    )
    scored = both.obs["pmi"].notna()
    assert scored[~early].any() and not scored.all()  # LMI leaves its training half unscored


def test_tool_errors(lineage_adata):
    with pytest.raises(KeyError, match="obs column 'barcode' not found"):
        bm.tl.lmi(lineage_adata, clone_key="barcode", progress=False)
    with pytest.raises(KeyError, match="use_rep 'X_pca' not found"):
        bm.tl.lmi(lineage_adata, use_rep="X_pca", progress=False)
    with pytest.raises(ValueError, match="n_pairings must be an integer >= 1"):
        bm.tl.lmi(lineage_adata, n_pairings=0, progress=False)
    with pytest.raises(ValueError, match="found 300 clones .* at least 1000"):
        bm.tl.lmi(lineage_adata, min_clones=1000, progress=False)
    with pytest.raises(ValueError, match="side must be"):
        bm.tl.pmi(lineage_adata, side="late", progress=False)


@pytest.mark.slow
def test_split_into_jobs_equals_one_call(lineage_adata, tmp_path):
    """fits=[i] runs one fit into the cache and writes nothing; the assembling call equals a single call."""
    # latent_dim given: 8 + 8 dimensions on 150 held-out pairs warn "few-samples" (the default would adapt)
    opts = dict(
        n_pairings=2, n_shuffles=2, min_clones=10, estimator_kwds={"epochs": 3, "latent_dim": 8}, progress=False
    )
    whole = lineage_adata.copy()
    bm.tl.lmi(whole, **opts)
    parts = lineage_adata.copy()
    for i in range(4):
        assert bm.tl.lmi(parts, fits=[i], cache_dir=tmp_path, **opts) is None
        assert "lmi" not in parts.uns
    assert len(list(tmp_path.glob("*.npz"))) == 4
    with pytest.warns(bm.EstimateWarning, match="2 of 2 real fits: LMI: KSG scores 150 held-out") as record:
        bm.tl.lmi(parts, cache_dir=tmp_path, n_jobs=2, **opts)  # everything cached: nothing left to fit
    # the fits' diagnostics survive the cache and are reported once per kind
    kinds = [w.message.kind for w in record if isinstance(w.message, bm.EstimateWarning)]
    assert kinds.count("few-samples") == 1
    pd.testing.assert_frame_equal(parts.uns["lmi"]["table"], whole.uns["lmi"]["table"])
    # the cache is keyed by the data: other features never reuse these fits
    other = lineage_adata.copy()
    other.X = other.X + 1.0
    bm.tl.lmi(other, cache_dir=tmp_path, **opts)
    assert len(list(tmp_path.glob("*.npz"))) == 8
    with pytest.raises(ValueError, match="give cache_dir"):
        bm.tl.lmi(parts, fits=[0], **opts)
    with pytest.raises(ValueError, match="fits must be positions in 0..3"):
        bm.tl.lmi(parts, fits=[4], cache_dir=tmp_path, **opts)


@pytest.fixture(scope="module")
def paired_adata():
    """Paired data in the interaction layout: obsm['source'] / obsm['target'], one row per pair."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=(400, 2))
    source = np.hstack([z, rng.normal(size=(400, 6))]).astype(np.float32)
    target = np.hstack([z + 0.3 * rng.normal(size=(400, 2)), rng.normal(size=(400, 6))]).astype(np.float32)
    adata = ad.AnnData(
        X=np.zeros((400, 0), dtype=np.float32),
        obs=pd.DataFrame(
            {"source_id": [f"S{i}" for i in range(400)], "target_id": [f"T{i}" for i in range(400)]},
            index=[f"pair{i}" for i in range(400)],
        ),
    )
    adata.obsm["source"], adata.obsm["target"] = source, target
    return adata


def test_lmi_on_paired_data(paired_adata):
    adata = paired_adata.copy()
    bm.tl.lmi(adata, method="ksg", n_pairings=2, n_shuffles=3, progress=False)
    res = adata.uns["lmi"]
    assert list(res["table"].columns) == ["pairing", "shuffled", "estimate", "se", "n_pairs"]
    assert res["params"]["pair_keys"] == ["source", "target"]
    truth = bm.mi(adata.obsm["source"], adata.obsm["target"], method="ksg").mi
    real = res["table"][~res["table"].shuffled].estimate
    np.testing.assert_allclose(real, truth)  # KSG on all pairs, whatever the seed
    assert res["summary"].iloc[0].mi_mean > 0.4 and abs(res["summary"].iloc[0].shuffled_mean) < 0.15
    bm.tl.pmi(adata, method="ksg", n_pairings=1, progress=False)
    assert adata.obs["pmi"].notna().all() and adata.obs["pmi"].mean() == pytest.approx(truth)
    with pytest.raises(ValueError, match="use_rep and layer do not apply"):
        bm.tl.lmi(adata, use_rep="source", progress=False)
    with pytest.raises(KeyError, match=r"pair_keys \['partner'\] not found in obsm"):
        bm.tl.lmi(adata, pair_keys=("source", "partner"), progress=False)


@pytest.mark.slow
def test_pca_and_scvi_like_representations_agree_with_genes():
    # 50 PCs have very unequal variances; tl.lmi scales a representation as a whole
    # (normalization="global-corrected"), so LMI on X_pca reads what it reads on the genes. With per-axis
    # standardisation it read 0.01-0.11 here (inside the shuffle spread) against 0.19-0.33 on .X.
    # The same for an scVI-like latent (10-dim negative-binomial VAE on the counts, bm.benchmark.scvi_like_latent),
    # whose unused axes collapse towards 0 (SDs 0.05-1.2): measured 0.329 against 0.274 on the genes.
    import scanpy as sc

    adata = bm.datasets.simulate_lineage(n_clones=500, n_genes=200, n_informative=100, hidden_fate=True, random_state=0)
    adata.obsm["X_scvi_like"] = bm.benchmark.scvi_like_latent(adata.X, latent_dim=10, epochs=60, random_state=0)
    bm.pp.preprocess(adata, n_top_genes=200)
    sc.pp.pca(adata, n_comps=50)
    bm.tl.lmi(adata, n_pairings=5, n_shuffles=0, progress=False, key_added="genes")
    genes = adata.uns["genes"]["table"]
    assert "normalization" not in adata.uns["genes"]["params"]
    for rep in ("X_pca", "X_scvi_like"):
        bm.tl.lmi(adata, use_rep=rep, n_pairings=5, n_shuffles=2, progress=False, key_added=f"lmi_{rep}")
        table = adata.uns[f"lmi_{rep}"]["table"]
        assert adata.uns[f"lmi_{rep}"]["params"]["estimator_kwds"]["normalization"] == "global-corrected"
        # bound: one LMI fit here has an SD of about 0.06-0.09 bits over pairings (0.064 genes, 0.057 PCA,
        # 0.089 scVI-like), so a 5-pairing mean has an SE of about 0.03-0.04 and the difference of two
        # means about 0.05; 0.15 is about 3 SE (measured: 0.017 PCA, 0.055 scVI-like; the fits share
        # their pairings, so the real SE is smaller)
        assert abs(table[~table.shuffled].estimate.mean() - genes.estimate.mean()) < 0.15, rep
    bm.tl.lmi(
        adata,
        use_rep="X_pca",
        n_pairings=2,
        n_shuffles=0,
        progress=False,
        key_added="local",
        estimator_kwds={"normalization": "local"},
    )
    assert adata.uns["local"]["params"]["estimator_kwds"]["normalization"] == "local"  # an explicit choice wins


def test_lmi_warns_when_the_estimate_is_inside_the_shuffle_noise(lineage_adata):
    adata = lineage_adata.copy()
    adata.X = adata.X[np.random.default_rng(0).permutation(adata.n_obs)]  # expression no longer follows clones
    with pytest.warns(UserWarning, match="within two SDs of the shuffled controls"):
        bm.tl.lmi(adata, method="ksg", n_pairings=2, n_shuffles=4, min_clones=10, progress=False)


@pytest.mark.slow
def test_fit_diagnostics_reported_once_whatever_n_jobs(lineage_adata):
    """LMI's EstimateWarnings of the real fits come back from worker processes and are counted, not repeated."""
    for n_jobs in (1, 2):
        with pytest.warns(bm.EstimateWarning) as record:
            bm.tl.lmi(
                lineage_adata.copy(),
                n_pairings=2,
                n_shuffles=1,
                min_clones=10,
                n_jobs=n_jobs,
                estimator_kwds={"epochs": 3, "latent_dim": 8},  # given, so kept (and too large for 150 held out)
                progress=False,
            )
        few = [str(w.message) for w in record if getattr(w.message, "kind", None) == "few-samples"]
        assert len(few) == 1 and few[0].startswith("2 of 2 real fits: LMI: KSG scores 150 held-out samples in 16")


@pytest.mark.slow
def test_generator_random_state_is_honoured(lineage_adata):
    """Two Generators in the same state give identical tables (a Generator used to be replaced by None,
    seeding the fits from OS entropy); the stored root seed repeats the run."""
    opts = dict(method="ksg", n_pairings=2, n_shuffles=2, min_clones=10, progress=False)
    a, b, c = (lineage_adata.copy() for _ in range(3))
    bm.tl.lmi(a, random_state=np.random.default_rng(3), **opts)
    bm.tl.lmi(b, random_state=np.random.default_rng(3), **opts)
    pd.testing.assert_frame_equal(a.uns["lmi"]["table"], b.uns["lmi"]["table"])
    bm.tl.lmi(c, random_state=a.uns["lmi"]["params"]["random_state"], **opts)
    pd.testing.assert_frame_equal(a.uns["lmi"]["table"], c.uns["lmi"]["table"])


@pytest.mark.slow
def test_estimator_kwds_checked_before_any_fit(lineage_adata):
    """Estimator options go in estimator_kwds; a typo fails at once naming the closest option (it used
    to fail inside a worker)."""
    adata = lineage_adata.copy()
    with pytest.raises(TypeError, match="unexpected option 'epoch'; did you mean 'epochs'"):
        bm.tl.lmi(adata, estimator_kwds={"epoch": 3}, progress=False)
    with pytest.raises(TypeError, match="unexpected option 'latent_dim'.*Valid options: \\['base', 'jitter', 'k'"):
        bm.tl.lmi(adata, method="ksg", estimator_kwds={"latent_dim": 4}, progress=False)
    with pytest.raises(ValueError, match="unknown method 'lmii'"):
        bm.tl.lmi(adata, method="lmii", progress=False)
    with pytest.raises(TypeError, match="estimator_kwds must be a dict"):
        bm.tl.pmi(adata, estimator_kwds=["k", 3], progress=False)
    opts = dict(method="ksg", n_pairings=2, n_shuffles=1, min_clones=10, progress=False)
    new = bm.tl.lmi(adata, estimator_kwds={"k": 5}, copy=True, **opts).uns["lmi"]
    assert new["params"]["estimator_kwds"] == {"k": 5}
    with pytest.raises(TypeError, match="did you mean 'k'"):
        bm.tl.markov_test(adata, estimator_kwds={"kk": 5}, well_key="time", progress=False)


@pytest.mark.parametrize("tool", ["lmi", "pmi", "markov_test", "interaction_roc"])
def test_misspelled_argument_is_a_plain_type_error(lineage_adata, tool):
    """A typo in a tool's argument is Python's own "unexpected keyword argument", before any work (estimator
    options travel only in estimator_kwds; a catch-all used to take the typo for an estimator option)."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_pairing'"):
        getattr(bm.tl, tool)(lineage_adata, n_pairing=3, progress=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epochs'"):
        getattr(bm.tl, tool)(lineage_adata, epochs=3, progress=False)


def test_use_rep_x_reads_x(lineage_adata):
    """use_rep="X" means .X, as use_rep=None does (as in scanpy); it raised a KeyError (no obsm 'X')."""
    adata = lineage_adata.copy()
    opts = dict(method="ksg", n_pairings=2, n_shuffles=1, min_clones=10, progress=False)
    bm.tl.lmi(adata, **opts)
    bm.tl.lmi(adata, use_rep="X", key_added="lmi_x", **opts)
    pd.testing.assert_frame_equal(adata.uns["lmi_x"]["table"], adata.uns["lmi"]["table"])
    assert adata.uns["lmi_x"]["params"]["use_rep"] == "None"  # .X, as for the default
    bm.tl.pmi(adata, method="ksg", n_pairings=2, min_clones=10, progress=False)
    bm.tl.pmi(adata, method="ksg", n_pairings=2, min_clones=10, use_rep="X", key_added="pmi_x", progress=False)
    np.testing.assert_array_equal(adata.obs["pmi_x"], adata.obs["pmi"])
    # with LMI, .X is standardised gene by gene: no representation default is added
    opts_lmi = dict(n_pairings=1, n_shuffles=0, min_clones=10, estimator_kwds={"epochs": 2}, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)  # 2 epochs: the fit says it learnt little
        bm.tl.lmi(adata, use_rep="X", key_added="lmi_lmi", **opts_lmi)
    assert adata.uns["lmi_lmi"]["params"]["estimator_kwds"] == {"epochs": 2}


def test_shared_within_se_is_the_sampling_variance_beyond_the_pairing_spread():
    """The pairings share the clone sample: its variance is the fits' sampling variance minus what
    already varies between pairings (clipped at 0); one pairing keeps its whole se."""
    from bioinfo_mi._fits import FitJob, FitResult
    from bioinfo_mi.tl._utils import shared_variance, shared_within_se

    job = FitJob(0, False, np.arange(4), np.arange(4), 0)
    fits = [FitResult(job, mi, np.ones(4), se=se) for mi, se in ((0.30, 0.08), (0.34, 0.06), (0.26, 0.07))]
    expected = np.mean([0.08**2, 0.06**2, 0.07**2]) - np.var([0.30, 0.34, 0.26], ddof=1)
    assert shared_variance(fits) == pytest.approx(expected)
    assert shared_within_se(fits) == pytest.approx(np.sqrt(expected))
    spread = [FitResult(job, mi, np.ones(4), se=0.02) for mi in (0.1, 0.3, 0.5)]  # spread beyond the se
    assert shared_variance(spread) < 0 and shared_within_se(spread) == 0.0
    assert shared_within_se([fits[0]]) == pytest.approx(0.08)
    assert np.isnan(shared_within_se([FitResult(job, 0.3, np.ones(4))]))  # no error bars asked


def test_parametric_p_value_rests_on_the_shuffles_it_has():
    """2 to 5 shuffles cannot support z-test tails: 1e-21 and 1e-270 were reported from such nulls."""
    from bioinfo_mi.uncertainty import parametric_p_value

    null2, null5 = np.array([0.010, 0.012]), np.array([0.010, 0.012, 0.009, 0.011, 0.010])
    z2 = (0.3 - null2.mean()) / null2.std(ddof=1)
    assert stats.norm.sf(z2) < 1e-20  # what the z-test said
    p2, p5 = parametric_p_value(0.3, null2), parametric_p_value(0.3, null5)
    assert p2 == pytest.approx(stats.t.sf(z2 / np.sqrt(1.5), 1)) and p2 > 1e-3  # 1 degree of freedom
    z5 = (0.3 - null5.mean()) / null5.std(ddof=1)
    assert stats.norm.sf(z5) == 0.0 and p5 == pytest.approx(stats.t.sf(z5 / np.sqrt(1.2), 4)) and p5 > 1e-11
    assert np.isnan(parametric_p_value(0.3, [0.01])) and np.isnan(parametric_p_value(0.3, [0.01, 0.01]))


def test_paired_data_deterministic_method_fits_once():
    """Paired data: every real fit sees all pairs, so KSG (no randomness) is fitted once, the shuffles all."""
    pairs = bm.datasets.simulate_interactions(n_pairs=300, n_proteins=200, d=16, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.tl.lmi(pairs, method="ksg", n_pairings=5, n_shuffles=3, progress=False)
    # shuffled targets repeat (source, target) rows that the data do not have: not the user's problem
    x = np.hstack([pairs.obsm["source"], pairs.obsm["target"]])
    assert len(np.unique(x, axis=0)) == len(x)
    assert not [w for w in caught if "duplicated" in str(w.message)]
    res = pairs.uns["lmi"]
    table, summary = res["table"], res["summary"].iloc[0]
    assert (~table.shuffled).sum() == 1 and table.shuffled.sum() == 3
    assert summary.n_pairings == 1 and summary.sem_measures == "nothing (one fit)" and np.isnan(summary.mi_sem)
    assert res["params"]["n_pairings"] == 5  # as asked; the summary says how many distinct fits ran


@pytest.mark.slow
def test_default_run_on_a_small_real_sized_data_set():
    """The CoSpar LARRY object has 113 clones at days 4 and 6: the default tl.lmi (LMI, error bars on 56
    held-out pairs) raised 'error_bars needs at least 60 samples'. A default never turns valid input into an
    exception: the result is written, with the SE the data allow and one warning saying what is missing."""
    adata = bm.datasets.simulate_lineage(n_clones=113, n_genes=30, random_state=0)
    adata = adata[adata.obs["time"].isin([2.0, 6.0]).to_numpy()].copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.tl.lmi(adata, progress=False)
    summary = adata.uns["lmi"]["summary"].iloc[0]
    table = adata.uns["lmi"]["table"]
    assert np.isfinite(summary.mi_mean) and np.isfinite(summary.mi_se) and summary.mi_se > 0
    assert np.isfinite(table.se[~table.shuffled]).all()
    small = [w for w in caught if getattr(w.message, "kind", None) == "small-sample-se"]
    assert len(small) == 1 and "5 of 5 real fits" in str(small[0].message)


def test_lmi_tool_passes_screen_to_every_fit(lineage_adata):
    # 40 genes of which every one carries the shared state: the screen runs (more than 20 columns) on each
    # real and shuffled pairing; the option is stored with the parameters
    adata = lineage_adata.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)
        bm.tl.lmi(
            adata,
            n_pairings=1,
            n_shuffles=1,
            min_clones=10,
            progress=False,
            error_bars=False,
            estimator_kwds={"screen": True, "epochs": 3},
        )
    res = adata.uns["lmi"]
    assert res["params"]["estimator_kwds"]["screen"] is True
    assert len(res["table"]) == 2 and np.isfinite(res["table"].estimate).all()
