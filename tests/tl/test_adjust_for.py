"""tl.lmi / tl.markov_test with ``adjust_for``: the conditional MI of every pairing beside the unconditional one."""

import anndata as ad
import matplotlib
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.tl._adjust import check_adjust_for, conditional_jobs

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def confounded():
    """300 clones; a clone's cells share a cell type (3 types with their own mean expression) and, in half of
    the data's variance, nothing else: the early-late MI runs through the cell type alone (the ``type``
    columns), except in ``link`` genes, which add a clone state beyond it.
    """
    rng = np.random.default_rng(0)
    n_clones, n_genes = 300, 6
    ctype = rng.integers(0, 3, n_clones)
    means = rng.normal(scale=3.0, size=(3, n_genes))
    state = rng.normal(size=n_clones)
    w = rng.normal(size=n_genes)
    rows, xs = [], []
    for c in range(n_clones):
        for time in (2.0, 6.0):
            rows.append((f"c{c}", time, f"t{ctype[c]}", c % 2))
            xs.append(means[ctype[c]] + rng.normal(size=n_genes))
    obs = pd.DataFrame(rows, columns=["clone", "time", "cell_type", "well"], index=[f"cell{i}" for i in range(600)])
    obs["well"] = obs["well"].astype(int)
    obs["covariate"] = rng.normal(size=600)
    adata = ad.AnnData(X=np.array(xs, dtype=np.float32), obs=obs)
    linked = adata.copy()
    linked.X = adata.X + 1.5 * np.repeat(state, 2)[:, None] * w[None, :].astype(np.float32)
    return adata, linked


def test_adjusting_for_the_confounder_removes_the_mi_it_explains(confounded):
    adata, linked = (a.copy() for a in confounded)
    kw = dict(method="ksg-calibrated", n_pairings=2, n_shuffles=3, progress=False, min_clones=50, use_rep=None)
    bm.tl.lmi(adata, adjust_for="cell_type", **kw)
    summary = adata.uns["lmi"]["summary"].set_index("adjusted")
    assert summary.loc[False, "mi_mean"] > 0.8  # three cell types shared by a clone: log2(3) = 1.58 at most
    assert abs(summary.loc[True, "mi_mean"]) < 0.15
    table = adata.uns["lmi"]["table"]
    assert table.adjusted.sum() == 5 and (~table.adjusted).sum() == 5
    assert adata.uns["lmi"]["params"]["adjust_for"] == ["cell_type"]
    assert adata.uns["lmi"]["params"]["adjust_z"] == "shared"  # both cells of a pair carry the clone's type
    bm.tl.lmi(linked, adjust_for="cell_type", **kw)
    assert linked.uns["lmi"]["summary"].set_index("adjusted").loc[True, "mi_mean"] > 0.3  # a link beyond it


def test_unadjusted_numbers_do_not_change_and_numeric_z_works():
    rng = np.random.default_rng(1)
    u = rng.normal(size=300)  # a continuous clone-level confounder, shared by the clone's cells
    w = rng.normal(size=(2, 6))
    x = 2 * np.vstack([np.outer(u, w[0]), np.outer(u, w[1])]) + rng.normal(size=(600, 6))
    obs = pd.DataFrame({"clone": np.tile([f"c{c}" for c in range(300)], 2), "time": np.repeat([2.0, 6.0], 300)})
    obs["u"] = np.tile(u, 2)
    adata = ad.AnnData(X=x.astype(np.float32), obs=obs.set_axis([f"cell{i}" for i in range(600)]))
    kw = dict(method="ksg-calibrated", n_pairings=2, n_shuffles=2, progress=False, random_state=3)
    plain, adjusted = adata.copy(), adata.copy()
    bm.tl.lmi(plain, **kw)
    bm.tl.lmi(adjusted, adjust_for="u", **kw)
    table = adjusted.uns["lmi"]["table"]
    assert np.array_equal(table.loc[~table.adjusted, "estimate"], plain.uns["lmi"]["table"]["estimate"])
    summary = adjusted.uns["lmi"]["summary"]
    assert abs(summary.loc[1, "mi_mean"]) < 0.15 and plain.uns["lmi"]["summary"].loc[0, "mi_mean"] > 0.7
    assert adjusted.uns["lmi"]["params"]["adjust_z"] == "shared"


def test_latent_cmi_in_the_tool_same_numbers_whatever_n_jobs_and_split_into_jobs(confounded, tmp_path):
    adata, _ = confounded
    kw = dict(adjust_for="cell_type", n_pairings=2, n_shuffles=1, progress=False, estimator_kwds={"epochs": 5})
    a, b = adata.copy(), adata.copy()
    bm.tl.lmi(a, n_jobs=1, **kw)
    bm.tl.lmi(b, n_jobs=2, cache_dir=tmp_path, **kw)
    pd.testing.assert_frame_equal(a.uns["lmi"]["table"], b.uns["lmi"]["table"])
    c = adata.copy()
    for i in range(6):  # 2 real + 1 shuffle, then their conditional fits: one job each, then the assembly
        assert bm.tl.lmi(c, n_jobs=1, cache_dir=tmp_path / "split", fits=[i], **kw) is None
    bm.tl.lmi(c, n_jobs=1, cache_dir=tmp_path / "split", **kw)
    pd.testing.assert_frame_equal(a.uns["lmi"]["table"], c.uns["lmi"]["table"])


def test_bad_adjust_for_is_named_before_any_fit(confounded):
    adata, _ = confounded
    kw = dict(n_pairings=2, n_shuffles=1, progress=False)
    with pytest.raises(KeyError, match="no_such.*obs columns"):
        bm.tl.lmi(adata, adjust_for="no_such", **kw)
    with pytest.raises(ValueError, match="mixes numeric"):
        bm.tl.lmi(adata, adjust_for=["covariate", "cell_type"], **kw)
    with pytest.raises(ValueError, match="no conditional version"):
        bm.tl.lmi(adata, adjust_for="covariate", method="mine", **kw)
    with pytest.raises(ValueError, match="no conditional version"):
        bm.tl.lmi(adata, adjust_for="cell_type", attribution="permutation", **kw)
    with pytest.raises(TypeError, match="adjust_for must be"):
        bm.tl.lmi(adata, adjust_for=3, **kw)
    holes = adata.copy()
    holes.obs.loc[holes.obs_names[:10], "cell_type"] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        bm.tl.lmi(holes, adjust_for="cell_type", **kw)
    assert "lmi" not in holes.uns


def test_pair_z_joins_both_cells_where_they_differ(confounded):
    adata, _ = confounded
    adj = check_adjust_for(adata, "well", "lmi")
    jobs = [bm._fits.FitJob(0, False, np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7]), 1)]
    made, how = conditional_jobs(adj, jobs, 2, 0)
    assert how == "shared" and len(made) == 3 and made[1].shuffled and np.array_equal(made[0].z, [0, 1, 0, 1])
    # a shuffle moves late cells only within the strata of the pairs' z
    assert np.array_equal(adj.codes[made[1].y_rows] % 2, adj.codes[made[0].y_rows] % 2)
    crossed = [bm._fits.FitJob(0, False, np.array([0, 2, 4, 6]), np.array([3, 1, 7, 5]), 1)]
    adj2 = check_adjust_for(adata.copy(), "well", "lmi")
    adj2.codes[:] = np.arange(600) % 4  # cells of one pair now differ
    made, how = conditional_jobs(adj2, crossed, 0, 0)
    assert how == "both cells" and np.array_equal(made[0].z, [0, 1, 0, 1])  # pairs (0|3), (2|1), (0|3), (2|1)


def test_markov_test_adjusted_and_pl_lmi_shows_both(confounded):
    adata = confounded[0].copy()
    sim = bm.datasets.simulate_lineage(n_clones=150, n_genes=30, random_state=1)
    kw = dict(method="ksg", n_pairings=2, n_shuffles=1, progress=False, min_clones=20)
    bm.tl.markov_test(sim, adjust_for="well", **kw)
    result = sim.uns["markov_test"]
    assert {"table", "summary", "p_value", "verdict", "markovian"} <= set(result["adjusted"])
    assert result["adjusted"]["verdict"].startswith("Given well")
    assert set(result["params"]["adjust_z"]) == {"I(early; late)", "I(late; late')"}
    bm.tl.lmi(adata, adjust_for="cell_type", method="ksg", n_pairings=2, n_shuffles=2, progress=False)
    ax = bm.pl.lmi(adata, show=False)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 2 and "| cell_type" in labels[1]


def test_attribution_beyond_the_adjustment(confounded):
    """Genes 0-2 follow the cell type only, 3-5 also a clone state beyond it: adjusted for the cell type, the
    attribution puts 3-5 first, where the unconditional one scores the type genes as high.
    """
    adata, _ = confounded
    adata = adata.copy()
    state = np.random.default_rng(5).normal(size=300)
    adata.X[:, 3:] += 2.0 * np.repeat(state, 2)[:, None].astype(np.float32)
    kw = dict(n_pairings=2, n_shuffles=2, progress=False, attribution=True, estimator_kwds={"epochs": 40})
    bm.tl.lmi(adata, adjust_for="cell_type", **kw)
    frame = adata.uns["lmi"]["attribution"]
    assert set(frame["adjusted"]) == {False, True} and len(frame) == 2 * 2 * 6
    for adjusted, type_genes in [(False, "high"), (True, "low")]:
        part = frame[frame.adjusted == adjusted]
        for side in ("x", "y"):
            score = part.loc[part.side == side, "score"].to_numpy()
            assert score[3:].min() > 0.1
            # measured: type genes 0.35-0.71 unadjusted, at most 0.009 adjusted; link genes 0.22-0.68
            assert (score[:3].max() < 0.1) if type_genes == "low" else (score[:3].min() > 0.2)
    adjusted_x = adata.var["lmi_attribution_adjusted_x"].to_numpy()
    assert np.array_equal(adjusted_x, frame.loc[frame.adjusted & (frame.side == "x"), "score"].to_numpy())
    assert "lmi_attribution_x" in adata.var
    ax = bm.pl.attribution(adata, side="y", n_top=3, adjusted=True, show=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(
        frame[frame.adjusted & (frame.side == "y")].sort_values("rank")["gene"].head(3)
    )
    assert "| cell_type" in ax.get_title() and "partial" in ax.get_xlabel()
    plain_ax = bm.pl.attribution(adata, side="y", n_top=6, show=False)  # the unconditional rows only
    assert len(plain_ax.get_yticklabels()) == 6


def test_markov_test_attribution_with_adjust_for():
    sim = bm.datasets.simulate_lineage(n_clones=150, n_genes=30, confounder=1.0, random_state=2)
    kw = dict(n_pairings=2, n_shuffles=1, progress=False, min_clones=20, estimator_kwds={"epochs": 5})
    bm.tl.markov_test(sim, adjust_for="confounder", attribution=True, **kw)
    result = sim.uns["markov_test"]
    plain, adjusted = result["attribution"], result["adjusted"]["attribution"]
    assert list(plain.columns) == list(adjusted.columns) and len(plain) == len(adjusted)
    assert set(adjusted["comparison"]) == {"I(early; late)", "I(late; late')"}
    assert np.isfinite(adjusted["score"]).all() and not np.array_equal(plain["score"], adjusted["score"])
    ax = bm.pl.attribution(sim, key="markov_test", comparison="I(late; late')", adjusted=True, show=False)
    assert "| confounder" in ax.get_title()
    with pytest.raises(KeyError, match="no attribution beyond an adjustment"):
        other = sim.copy()
        del other.uns["markov_test"]["adjusted"]
        bm.pl.attribution(other, key="markov_test", comparison="I(late; late')", adjusted=True, show=False)
