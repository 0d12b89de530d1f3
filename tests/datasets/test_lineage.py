"""simulate_lineage: loader layout, ground truth, and a reduced Markovianity check with LMI."""

import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.datasets import lineage_state_mi, simulate_lineage


def test_layout_matches_loader():
    adata = simulate_lineage(n_clones=50, n_genes=60, n_informative=20, n_unbarcoded=10, random_state=1)
    for col in ["clone", "time", "time_info", "well", "cell_type", "neutrophil_pseudotime"]:
        assert col in adata.obs
    assert set(adata.obs["time"]) == {2.0, 6.0}
    assert set(adata.obs.loc[adata.obs.time == 6.0, "well"]) == {1, 2}
    assert adata.obs["clone"].isna().sum() == 10
    assert adata.obsm["X_spring"].shape == (adata.n_obs, 2)
    # every time point readable in the layout: day-2 cells spread in a band, not on a line
    early = adata.obsm["X_spring"][(adata.obs.time == 2.0).to_numpy()]
    assert early[:, 1].std() > 0.15 and early[:, 0].std() > 0.05
    # X_clone agrees with the clone column (CoSpar layout)
    labels = bm.pp.clone_labels(adata[:, :].copy(), "X_clone")
    has = adata.obs["clone"].notna().to_numpy()
    assert (labels[has].to_numpy() == adata.obs["clone"][has].to_numpy()).all()
    sim = adata.uns["simulation"]
    assert sim["I_early_late_bits"] == pytest.approx(lineage_state_mi(0.3, 1.2, 0.35, True)["I_early_late_bits"])
    assert np.isfinite(adata.X.toarray()).all() and adata.X.min() >= 0


def test_h5ad_round_trip(tmp_path):
    adata = simulate_lineage(n_clones=20, n_genes=30, n_informative=10, n_unbarcoded=5, random_state=2)
    adata.write_h5ad(tmp_path / "sim.h5ad")
    import anndata as ad

    back = ad.read_h5ad(tmp_path / "sim.h5ad")
    assert back.obs["clone"].isna().sum() == 5
    assert back.uns["simulation"]["hidden_fate"]


def test_default_n_informative_fits_any_n_genes():
    adata = simulate_lineage(n_clones=30, n_genes=40, random_state=0)  # the default 300 shrinks to fit
    assert adata.var["informative"].all() and adata.uns["simulation"]["n_informative"] == 40
    assert simulate_lineage(n_clones=30, n_genes=500, random_state=0).uns["simulation"]["n_informative"] == 300


def test_deterministic_and_markov_truth():
    a = simulate_lineage(n_clones=30, n_genes=40, n_informative=10, random_state=3)
    b = simulate_lineage(n_clones=30, n_genes=40, n_informative=10, random_state=3)
    assert (a.X != b.X).nnz == 0
    truth = lineage_state_mi(0.3, 1.2, 0.35, hidden_fate=False)
    assert truth["I_sisters_bits"] < truth["I_early_late_bits"]  # DPI holds without the hidden fate
    hidden = lineage_state_mi(0.3, 1.2, 0.35, hidden_fate=True)
    assert hidden["I_sisters_bits"] > 1.0 and hidden["I_early_late_bits"] > 0.3


@pytest.mark.parametrize(
    "bad", [{"n_clones": 0}, {"n_informative": 5000}, {"sigma_late": -1.0}, {"cells_per_condition": (3, 1)}]
)
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        simulate_lineage(**bad)


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [True, False])
def test_reduced_markov_test_calls_the_truth(hidden):
    adata = simulate_lineage(n_clones=500, n_genes=200, n_informative=100, hidden_fate=hidden, random_state=0)
    bm.tl.markov_test(adata, n_pairings=3, n_shuffles=1, progress=False)
    res = adata.uns["markov_test"]
    assert res["markovian"] is (not hidden)
    shuffled = res["table"][res["table"].shuffled]
    # Bound from the null spread at this size: 32 shuffled fits (markov_test with n_shuffles=8 on the
    # Markovian simulator, random_state 0 and 1) had mean 0.018 and SD 0.058 bits, largest |value|
    # 0.149. 0.3 is about 5 SD: a control above it means a broken null, not floating-point noise
    # (the old bound 0.15 was 2.6 SD, and one CPU read 0.181).
    assert shuffled.estimate.abs().max() < 0.3


# ---- ground truth per gene: programs, loadings, the cell-cycle program (issue 16) ----

# Same seed, same data: compared call against call (not against stored numbers, which would depend on
# numpy's Generator streams and summation order rather than on this code).
SAME_SEED_CASES = [
    {"n_clones": 50, "n_genes": 60, "random_state": 0},
    {"n_clones": 40, "n_genes": 50, "n_informative": 20, "hidden_fate": False, "n_unbarcoded": 7, "random_state": 5},
    {"n_clones": 30, "n_genes": 40, "program_genes": (5, 6), "n_cycle_genes": 7, "stage_specific": 0.5},
]


def _dense(a):
    return a.toarray() if hasattr(a, "toarray") else np.asarray(a)


@pytest.mark.parametrize("kwargs", SAME_SEED_CASES)
def test_same_seed_same_data(kwargs):
    """Two calls with the same seed (an int, or Generators in the same state) give identical AnnData."""
    kwargs = {"random_state": 3, **kwargs}
    a = simulate_lineage(**kwargs)
    b = simulate_lineage(**kwargs)
    g = simulate_lineage(**{**kwargs, "random_state": np.random.default_rng(kwargs["random_state"])})
    h = simulate_lineage(**{**kwargs, "random_state": np.random.default_rng(kwargs["random_state"])})
    for one, two in ((a, b), (g, h)):
        assert (one.X != two.X).nnz == 0
        pd.testing.assert_frame_equal(one.obs, two.obs, check_exact=True)
        pd.testing.assert_frame_equal(one.var, two.var, check_exact=True)
        for key in ("X_spring", "X_clone"):
            assert np.array_equal(_dense(one.obsm[key]), _dense(two.obsm[key]))
        assert one.uns["simulation"] == two.uns["simulation"]
    other = simulate_lineage(**{**kwargs, "random_state": kwargs["random_state"] + 1})
    assert other.shape != a.shape or (other.X != a.X).nnz > 0


@pytest.mark.parametrize("hidden", [True, False])
def test_cells_follow_the_design(hidden):
    """Structure that holds for any random stream: cells per clone and condition, wells, labels,
    library-size normalisation; and statistics of the unit-variance clone draws."""
    n_clones, lo, hi, n_unbarcoded = 400, 2, 4, 25
    adata = simulate_lineage(
        n_clones=n_clones,
        n_genes=30,
        cells_per_condition=(lo, hi),
        n_unbarcoded=n_unbarcoded,
        hidden_fate=hidden,
        random_state=0,
    )
    obs = adata.obs
    assert adata.n_vars == 30 and adata.obsm["X_spring"].shape == (adata.n_obs, 2)
    assert obs["clone"].isna().sum() == n_unbarcoded
    assert adata.obsm["X_clone"].shape == (adata.n_obs, n_clones)
    barcoded = obs[obs["clone"].notna()]
    per_condition = barcoded.groupby(["clone", "time", "well"], observed=True).size()
    assert len(per_condition) == 3 * n_clones  # every clone: day 2 (well 0), day 6 wells 1 and 2
    assert per_condition.between(lo, hi).all()
    assert set(per_condition.index.droplevel("clone")) == {(2.0, 0), (6.0, 1), (6.0, 2)}
    assert (obs.loc[obs["clone"].isna(), "time"] == 6.0).all()
    assert set(obs.loc[obs["clone"].isna(), "well"]) <= {1, 2}
    assert (obs["time_info"] == obs["time"].map({2.0: "2", 6.0: "6"})).all()
    assert (obs.loc[obs["time"] == 2.0, "cell_type"] == "Undifferentiated").all()
    assert obs["neutrophil_pseudotime"].isna().to_numpy().tolist() == (obs["cell_type"] == "Monocyte").tolist()
    # normalised to the median library size: every cell with counts has the same total
    totals = np.asarray(adata.X.sum(axis=1)).ravel()
    totals = totals[totals > 0]
    np.testing.assert_allclose(totals, np.median(totals), rtol=1e-4)
    # clone states and hidden fates are N(0, 1) across clones (400 clones: SE of the mean 0.05)
    per_clone = barcoded.groupby("clone").first()
    assert abs(per_clone["true_clone_state"].mean()) < 0.2 and 0.85 < per_clone["true_clone_state"].std() < 1.15
    if hidden:
        assert abs(per_clone["true_hidden_fate"].mean()) < 0.2 and 0.85 < per_clone["true_hidden_fate"].std() < 1.15
    # the late fate coordinate is symmetric around 0: about half of the day-6 cells are neutrophils
    late = obs[obs["time"] == 6.0]
    assert 0.4 < (late["cell_type"] == "Neutrophil").mean() < 0.6
    # the state-level truth is the closed form
    assert adata.uns["simulation"]["I_sisters_bits"] == lineage_state_mi(0.3, 1.2, 0.35, hidden)["I_sisters_bits"]


def test_defaults_have_the_shared_layout():
    adata = simulate_lineage(n_clones=50, n_genes=60, random_state=0)
    assert (adata.var["program"] == "clone_state+hidden_fate").all()
    assert adata.var["informative"].all() and (adata.var["loading_cell_cycle"] == 0).all()
    assert (adata.var["loading_clone_state"] != 0).all() and (adata.var["loading_hidden_fate"] != 0).all()


def test_cell_cycle_program_moves_no_other_draw():
    """The cell-cycle draws come from a spawned generator: the clones, cells and loadings stay put."""
    kwargs = {"n_clones": 60, "n_genes": 50, "n_informative": 20, "random_state": 4}
    plain = simulate_lineage(**kwargs)
    cycle = simulate_lineage(n_cycle_genes=10, **kwargs)
    columns = ["clone", "time", "well", "true_clone_state", "true_hidden_fate"]
    pd.testing.assert_frame_equal(plain.obs[columns], cycle.obs[columns], check_exact=True)
    for key in ("loading_clone_state", "loading_hidden_fate"):
        assert np.array_equal(plain.var[key], cycle.var[key])
    assert (cycle.var["program"].astype(str).to_numpy()[-10:] == "cell_cycle").all()


@pytest.mark.parametrize("hidden", [True, False])
def test_program_genes_record_the_truth(hidden):
    adata = simulate_lineage(
        n_clones=60, n_genes=50, program_genes=(10, 8), n_cycle_genes=12, hidden_fate=hidden, random_state=1
    )
    var = adata.var
    late = "hidden_fate" if hidden else "late_noise"
    expected = ["clone_state"] * 10 + [late] * 8 + ["none"] * 20 + ["cell_cycle"] * 12
    assert var["program"].tolist() == expected
    assert isinstance(var["program"].dtype, pd.CategoricalDtype)
    state, fate = var["loading_clone_state"].to_numpy(), var["loading_hidden_fate"].to_numpy()
    assert (state[:10] != 0).all() and (state[10:] == 0).all()
    assert (fate[10:18] != 0).all() and (fate[:10] == 0).all() and (fate[18:] == 0).all()
    assert (var["loading_cell_cycle"].to_numpy() == np.r_[np.zeros(38), np.full(12, 2.0)]).all()
    assert var["informative"].tolist() == [True] * 10 + [hidden] * 8 + [False] * 32
    sim = adata.uns["simulation"]
    assert sim["n_informative"] == 18 and sim["program_layout"] == "separate"
    assert (sim["n_clone_state_genes"], sim["n_hidden_fate_genes"], sim["n_shared_genes"]) == (10, 8, 0)
    assert sim["n_cycle_genes"] == 12 and sim["cycle_scale"] == 2.0
    # the state-level MIs do not depend on the gene programs
    truth = lineage_state_mi(0.3, 1.2, 0.35, hidden)
    assert sim["I_early_late_bits"] == truth["I_early_late_bits"] and sim["I_sisters_bits"] == truth["I_sisters_bits"]


def test_program_loadings_are_the_shared_draws_with_one_coordinate_kept():
    shared = simulate_lineage(n_clones=30, n_genes=40, n_informative=15, random_state=2).var
    split = simulate_lineage(n_clones=30, n_genes=40, program_genes=(9, 6), random_state=2).var
    assert np.array_equal(split["loading_clone_state"][:9], shared["loading_clone_state"][:9])
    assert np.array_equal(split["loading_hidden_fate"][9:15], shared["loading_hidden_fate"][9:15])


def test_cell_cycle_genes_are_highly_variable_but_carry_no_clone_information():
    adata = simulate_lineage(n_clones=300, n_genes=300, program_genes=(40, 40), n_cycle_genes=40, random_state=0)
    program = adata.var["program"].to_numpy()
    logged = np.log1p(adata.X.toarray())
    top_by_variance = np.argsort(-logged.var(axis=0))[:40]
    assert (program[top_by_variance] == "cell_cycle").sum() >= 20  # variance ranking is fooled
    # correlation between two sisters (day 6) per gene: ~0 for the cell cycle, clearly > 0 for the clone programs
    obs = adata.obs.reset_index(drop=True)
    late = obs[(obs["time"] == 6.0) & obs["clone"].notna()]
    pairs = np.array([rows[:2] for rows in late.groupby("clone").groups.values() if len(rows) >= 2])

    def sister_correlation(name):
        columns = np.flatnonzero(program == name)
        a, b = logged[pairs[:, 0]][:, columns], logged[pairs[:, 1]][:, columns]
        return np.mean([np.corrcoef(a[:, g], b[:, g])[0, 1] for g in range(len(columns))])

    assert abs(sister_correlation("cell_cycle")) < 0.06
    assert sister_correlation("clone_state") > 0.15 and sister_correlation("hidden_fate") > 0.15


@pytest.mark.parametrize(
    ("bad", "argument"),
    [
        ({"program_genes": (10, 5), "n_informative": 12}, "n_informative"),
        ({"program_genes": (0, 0)}, "program_genes"),
        ({"program_genes": (5,)}, "program_genes"),
        ({"program_genes": (-1, 5)}, r"program_genes\[0\]"),
        ({"n_cycle_genes": 40}, "n_cycle_genes"),
        ({"n_cycle_genes": 10, "n_informative": 35}, "n_cycle_genes"),
        ({"program_genes": (20, 15), "n_cycle_genes": 10}, "n_cycle_genes"),
        ({"n_cycle_genes": 5, "cycle_scale": 0.0}, "cycle_scale"),
    ],
)
def test_bad_program_parameters(bad, argument):
    with pytest.raises(ValueError, match=argument):
        simulate_lineage(n_clones=10, n_genes=40, **bad)


def test_program_columns_survive_h5ad(tmp_path):
    import anndata as ad

    adata = simulate_lineage(n_clones=20, n_genes=30, program_genes=(5, 5), n_cycle_genes=5, random_state=0)
    adata.write_h5ad(tmp_path / "sim.h5ad")
    back = ad.read_h5ad(tmp_path / "sim.h5ad")
    assert back.var["program"].tolist() == adata.var["program"].tolist()
    assert back.uns["simulation"]["n_cycle_genes"] == 5


@pytest.mark.parametrize("hidden", [True, False])
def test_clone_level_truth_in_obs(hidden):
    adata = simulate_lineage(n_clones=300, n_genes=40, n_unbarcoded=10, hidden_fate=hidden, random_state=2)
    barcoded = adata.obs["clone"].notna().to_numpy()
    state = adata.obs["true_clone_state"]
    assert state[~barcoded].isna().all() and state[barcoded].notna().all()
    # one value per clone, unit-variance draws across clones
    per_clone = adata.obs[barcoded].groupby("clone")["true_clone_state"]
    assert (per_clone.nunique() == 1).all() and 0.8 < per_clone.first().std() < 1.2
    fate = adata.obs["true_hidden_fate"]
    if hidden:
        assert (
            fate[barcoded].notna().all()
            and (adata.obs[barcoded].groupby("clone")["true_hidden_fate"].nunique() == 1).all()
        )
        # the late cells' fate coordinate follows the clone's hidden fate: neutrophils have the larger one
        late = (adata.obs["time"] == 6.0).to_numpy() & barcoded
        neutrophil = (adata.obs["cell_type"] == "Neutrophil").to_numpy()
        assert fate[late & neutrophil].mean() > fate[late & ~neutrophil].mean() + 1
    else:
        assert fate.isna().all()


@pytest.mark.parametrize("layout", [{"program_genes": (10, 8)}, {"n_informative": 18}])
def test_stage_specific_genes_read_the_clone_state_at_one_time_point(layout):
    base = simulate_lineage(n_clones=400, n_genes=300, random_state=4, **layout)
    adata = simulate_lineage(n_clones=400, n_genes=300, stage_specific=0.6, random_state=4, **layout)
    n_state = 10 if "program_genes" in layout else 18
    n_specific = round(0.6 * n_state)
    stage = adata.var["clone_state_stage"].astype(str).to_numpy()
    assert (stage[:n_specific:2] == "day 2 only").all() and (stage[1:n_specific:2] == "day 6 only").all()
    assert (stage[n_specific:n_state] == "day 2 and 6").all() and (stage[n_state:] == "never").all()
    sim = adata.uns["simulation"]
    assert sim["n_day2_only_genes"] + sim["n_day6_only_genes"] == n_specific and sim["stage_specific"] == 0.6
    # same loadings, same truth per gene; the per-time truth follows the stage
    assert np.array_equal(adata.var["loading_clone_state"], base.var["loading_clone_state"])
    assert np.array_equal(adata.var["informative"], base.var["informative"])
    early, late = adata.var["informative_early"].to_numpy(), adata.var["informative_late"].to_numpy()
    assert not early[1:n_specific:2].any() and early[:n_specific:2].all() and early[n_specific:n_state].all()
    fate_read = adata.var["loading_hidden_fate"].to_numpy() != 0
    assert np.array_equal(late, np.isin(stage, ["day 2 and 6", "day 6 only"]) | fate_read)
    assert np.array_equal(base.var["informative_early"], np.isin(np.arange(300), np.arange(n_state)))
    # the data: a day-2-only gene follows the clone state at day 2 and not at day 6, and vice versa
    obs = adata.obs
    logged = np.log1p(adata.X.toarray())
    state = obs["true_clone_state"].to_numpy()

    def corr(gene, day):
        rows = (obs["time"].to_numpy() == day) & np.isfinite(state)
        return abs(np.corrcoef(logged[rows, gene], state[rows])[0, 1])

    strong = np.argsort(-np.abs(adata.var["loading_clone_state"].to_numpy()[:n_specific]))
    day2_gene = next(g for g in strong if stage[g] == "day 2 only")
    day6_gene = next(g for g in strong if stage[g] == "day 6 only")
    # (not 0 at the silent time point: library-size normalisation couples every gene to the strong ones)
    assert corr(day2_gene, 2.0) > 0.3 and corr(day2_gene, 6.0) < corr(day2_gene, 2.0) / 3
    assert corr(day6_gene, 6.0) > 0.3 and corr(day6_gene, 2.0) < corr(day6_gene, 6.0) / 3
    # the default reads the state at both time points and moves no draw
    assert (base.var["clone_state_stage"].astype(str).to_numpy()[:n_state] == "day 2 and 6").all()
    assert np.array_equal(
        simulate_lineage(n_clones=400, n_genes=300, stage_specific=0.0, random_state=4, **layout).X.toarray(),
        base.X.toarray(),
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "half"])
def test_bad_stage_specific(bad):
    with pytest.raises(ValueError, match="stage_specific"):
        simulate_lineage(n_clones=10, n_genes=40, stage_specific=bad)


def test_confounder_raises_the_mi_and_leaves_the_conditional_truth_and_the_draws():
    plain = simulate_lineage(n_clones=200, n_genes=30, random_state=4)
    conf = simulate_lineage(n_clones=200, n_genes=30, random_state=4, confounder=1.0)
    sim = conf.uns["simulation"]
    assert sim["confounder"] == 1.0 and "confounder" not in plain.obs
    assert (
        sim["I_early_late_bits"]
        > sim["I_early_late_given_confounder_bits"]
        == pytest.approx(plain.uns["simulation"]["I_early_late_bits"])
    )
    assert sim["I_sisters_bits"] > sim["I_sisters_given_confounder_bits"]
    # v = 1 + gamma^2 = 2: I(early; late) = -1/2 log2(1 - v^2 / ((v + 0.09)(v + 1.44)))
    assert sim["I_early_late_bits"] == pytest.approx(-0.5 * np.log2(1 - 4 / (2.09 * 3.44)))
    # the clones, cells and loadings are the same draws; only z_0 (hence the counts) moves
    pd.testing.assert_series_equal(plain.obs["true_clone_state"], conf.obs["true_clone_state"])
    assert plain.obs["well"].equals(conf.obs["well"])
    c = conf.obs["confounder"]
    assert c.isna().sum() == 200 and c.groupby(conf.obs["clone"]).nunique().max() == 1
    with pytest.raises(ValueError, match="confounder"):
        simulate_lineage(n_clones=60, n_genes=10, confounder=-1.0)
