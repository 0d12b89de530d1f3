"""pl: every plot returns its Axes with the expected artists, saves a PNG, and leaves AnnData untouched."""

import re

import anndata as ad
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer

import bioinfo_mi as bm
from bioinfo_mi.tl._markov import EARLY_LATE, SISTERS

matplotlib.use("Agg")  # headless: no window, even with show=True


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lmi_table(n_pairings: int, n_shuffles: int, level: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "pairing": list(range(n_pairings)) + list(range(n_shuffles)),
            "shuffled": [False] * n_pairings + [True] * n_shuffles,
            "estimate": np.r_[level + 0.05 * rng.normal(size=n_pairings), 0.01 * rng.normal(size=n_shuffles)],
            "n_clones": 100,
        }
    )


@pytest.fixture
def adata():
    """Cells with a SPRING embedding, a pseudotime (NaN off trajectory), pMI (NaN unscored) and MI results."""
    rng = np.random.default_rng(0)
    n = 400
    pseudotime = rng.uniform(0, 60e3, size=n)
    pseudotime[:40] = np.nan
    pmi = 1.0 - pseudotime / 60e3 + 0.1 * rng.normal(size=n)
    pmi[40:140] = np.nan  # 100 unscored cells with a pseudotime
    obs = pd.DataFrame({"neutrophil_pseudotime": pseudotime, "pmi": pmi}, index=[f"cell{i}" for i in range(n)])
    adata = ad.AnnData(X=np.zeros((n, 3), dtype=np.float32), obs=obs)
    adata.obsm["X_spring"] = rng.normal(size=(n, 2))
    adata.uns["lmi_d2_d6"] = {"table": lmi_table(5, 4, 1.5), "summary": pd.DataFrame([{"mi_mean": 1.5}])}
    adata.uns["lmi_sisters"] = {"table": lmi_table(3, 2, 2.0, seed=1)}
    el, sis = lmi_table(4, 2, 1.0), lmi_table(4, 2, 2.0, seed=1)
    table = pd.concat([el.assign(comparison=EARLY_LATE), sis.assign(comparison=SISTERS)], ignore_index=True)
    adata.uns["markov_test"] = {"table": table, "p_value": 0.0012, "markovian": False, "verdict": "..."}
    return adata


def scatter_sizes(ax: Axes) -> list[int]:
    return [len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]


def errorbars(ax: Axes) -> list[tuple[float, float]]:
    """(mean, half-length of the bar) of every errorbar."""
    out = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            mean = container.lines[0].get_ydata()[0]
            segment = container.lines[2][0].get_segments()[0]
            out.append((float(mean), float(segment[1, 1] - segment[0, 1]) / 2))
    return out


def snapshot(adata: ad.AnnData) -> tuple:
    return adata.obs.copy(), set(adata.obsm.keys()), {k: set(v) for k, v in adata.uns.items()}


def assert_unchanged(adata: ad.AnnData, before: tuple) -> None:
    obs, obsm, uns = before
    pd.testing.assert_frame_equal(adata.obs, obs)
    assert set(adata.obsm.keys()) == obsm and {k: set(v) for k, v in adata.uns.items()} == uns


def test_lmi_points_and_mean_sem(adata, tmp_path):
    before = snapshot(adata)
    path = tmp_path / "lmi.png"
    ax = bm.pl.lmi(adata, key="lmi_d2_d6", save=path)
    assert isinstance(ax, Axes) and ax.get_ylabel() == "MI (bits)"
    assert scatter_sizes(ax) == [5, 4]
    table = adata.uns["lmi_d2_d6"]["table"]
    real = table.loc[~table.shuffled, "estimate"]
    (mean, half), _ = errorbars(ax)
    assert mean == pytest.approx(real.mean()) and half == pytest.approx(real.sem())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lmi_d2_d6\n(n = 5 + 4 shuffled)"]  # n of the SEM
    assert ax.get_legend().get_title().get_text() == "SE = SEM over the n pairings"
    assert path.stat().st_size > 0 and path.read_bytes()[:4] == b"\x89PNG"
    assert_unchanged(adata, before)


def test_lmi_several_keys_side_by_side(adata):
    _, ax = plt.subplots()
    out = bm.pl.lmi(adata, key=["lmi_d2_d6", "lmi_sisters"], tick_labels=["d2-d6", "sisters"], ax=ax)
    assert out is ax
    assert scatter_sizes(ax) == [5, 4, 3, 2] and len(errorbars(ax)) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "d2-d6\n(n = 5 + 4 shuffled)",
        "sisters\n(n = 3 + 2 shuffled)",
    ]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["real pairings", "shuffled pairings", "mean ± SE"]


def test_lmi_and_markov_plots_draw_the_true_value(adata):
    ax = bm.pl.lmi(adata, key=["lmi_d2_d6", "lmi_sisters"], truth=[0.34, None])
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [0.34, 0.34]
    assert "true value" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = bm.pl.markov_test(adata, truth=[0.34, 1.27])
    assert sorted(line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--") == [0.34, 1.27]
    with pytest.raises(ValueError, match="truth: 1 values for 2 groups"):
        bm.pl.markov_test(adata, truth=[0.34])


def test_lmi_without_shuffles_and_single_pairing(adata):
    adata.uns["one"] = {"table": lmi_table(1, 0, 1.0)}
    ax = bm.pl.lmi(adata, key="one")
    assert scatter_sizes(ax) == [1] and errorbars(ax)[0][1] == 0.0


def test_markov_test_plot(adata, tmp_path):
    before = snapshot(adata)
    ax = bm.pl.markov_test(adata, save=str(tmp_path / "markov.png"))
    assert (tmp_path / "markov.png").exists()
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        f"{EARLY_LATE}\n(n = 4 + 2 shuffled)",
        f"{SISTERS}\n(n = 4 + 2 shuffled)",
    ]
    assert scatter_sizes(ax) == [4, 2, 4, 2] and len(errorbars(ax)) == 4
    assert "not Markovian" in ax.get_title() and "p = 0.0012" in ax.get_title()
    assert_unchanged(adata, before)


def test_plots_of_real_tool_results():
    """tl.lmi and tl.markov_test (fast KSG) feed pl.lmi and pl.markov_test directly."""
    rng = np.random.default_rng(0)
    n_clones = 60
    state = rng.normal(size=n_clones)
    rows, xs = [], []
    for c in range(n_clones):
        for time, wells in ((2.0, (0,)), (6.0, (1, 2))):
            for well in wells:
                for _ in range(2):  # two cells per clone and well, so pairings differ
                    rows.append((f"c{c}", time, well))
                    xs.append(state[c] * np.ones(3) + 0.3 * rng.normal(size=3))
    obs = pd.DataFrame(rows, columns=["clone", "time", "well"], index=[f"cell{i}" for i in range(len(rows))])
    adata = ad.AnnData(X=np.array(xs, dtype=np.float32), obs=obs)
    bm.tl.lmi(adata, method="ksg", n_pairings=2, n_shuffles=2, min_clones=20, progress=False)
    bm.tl.markov_test(adata, method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, progress=False)
    assert scatter_sizes(bm.pl.lmi(adata)) == [2, 2]
    ax = bm.pl.markov_test(adata)
    assert scatter_sizes(ax) == [2, 1, 2, 1] and "p = " in ax.get_title()


def test_pmi_trend(adata, tmp_path):
    before = snapshot(adata)
    ax = bm.pl.pmi_trend(adata, window=50, marker=35e3, save=tmp_path / "trend.png")
    assert (tmp_path / "trend.png").exists()
    scored = adata.obs.dropna(subset=["pmi", "neutrophil_pseudotime"]).sort_values("neutrophil_pseudotime")
    assert scatter_sizes(ax) == [len(scored)] == [260]
    smooth, marker = ax.get_lines()
    np.testing.assert_allclose(smooth.get_xdata(), scored.neutrophil_pseudotime)
    expected = scored.pmi.rolling(50, center=True).mean().to_numpy()
    np.testing.assert_allclose(smooth.get_ydata(), expected, equal_nan=True)
    assert np.isnan(smooth.get_ydata()[:25]).all() and np.isfinite(smooth.get_ydata()[25:-24]).all()
    assert list(marker.get_xdata()) == [35e3, 35e3]
    assert ax.get_xlabel() == "neutrophil_pseudotime" and ax.get_ylabel() == "pMI (bits)"
    assert_unchanged(adata, before)


def test_pmi_trend_min_pseudotime_no_marker(adata):
    ax = bm.pl.pmi_trend(adata, window=20, min_pseudotime=30e3)
    (offsets,) = [c.get_offsets() for c in ax.collections]
    assert offsets[:, 0].min() >= 30e3 and len(ax.get_lines()) == 1


def test_pmi_trend_errors(adata):
    with pytest.raises(KeyError, match=r"obs column 'pseudotime' not found; available: \['neutrophil_pseudotime'"):
        bm.pl.pmi_trend(adata, pseudotime_key="pseudotime")
    with pytest.raises(KeyError, match="obs column 'pmi2' not found"):
        bm.pl.pmi_trend(adata, key="pmi2")
    with pytest.raises(ValueError, match="only 260 cells .* fewer than window=300"):
        bm.pl.pmi_trend(adata, window=300)
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        bm.pl.pmi_trend(adata, window=0)
    with pytest.raises(ValueError, match=r"marker=90000.0 lies outside the scored cells' pseudotime"):
        bm.pl.pmi_trend(adata, window=20, marker=9e4)  # no line where there are no data


def test_pmi_trend_default_window_is_the_papers_100_from_500_cells_else_a_fifth(adata):
    """260 scored cells: a window of 52 (a fifth), shown in the legend; 12 cells: 2; 3 cells: 1 (no smoothing)."""
    scored = adata.obs.dropna(subset=["pmi", "neutrophil_pseudotime"]).sort_values("neutrophil_pseudotime")
    ax = bm.pl.pmi_trend(adata)
    (smooth,) = ax.get_lines()
    expected = scored.pmi.rolling(52, center=True).mean().to_numpy()
    np.testing.assert_allclose(smooth.get_ydata(), expected, equal_nan=True)
    assert "rolling mean (52 cells)" in [t.get_text() for t in ax.get_legend().get_texts()]
    for n, window in ((12, 2), (3, 1)):
        few = adata[adata.obs.index.isin(scored.index[:n]) | adata.obs.pmi.isna().to_numpy()].copy()
        (line,) = bm.pl.pmi_trend(few).get_lines()
        expected = scored.pmi[:n].rolling(window, center=True).mean().to_numpy()
        np.testing.assert_allclose(line.get_ydata(), expected, equal_nan=True)
    none = adata.copy()
    none.obs["pmi"] = np.nan
    with pytest.raises(ValueError, match="only 0 cells have finite 'pmi' .*; nothing to draw"):
        bm.pl.pmi_trend(none)
    plt.close("all")


def test_pmi_trend_checks_marker_before_drawing(adata):
    plt.close("all")
    with pytest.raises(ValueError, match=r"marker=90000.0 .* \[.*\] \('neutrophil_pseudotime'\)"):
        bm.pl.pmi_trend(adata, window=20, marker=9e4)
    with pytest.raises(TypeError, match="marker must be a pseudotime"):
        bm.pl.pmi_trend(adata, window=20, marker="35e3")
    assert plt.get_fignums() == []  # no half-drawn figure left behind


def test_pmi_embedding(adata, tmp_path):
    before = snapshot(adata)
    ax = bm.pl.pmi_embedding(adata, basis="spring", save=tmp_path / "emb.png")
    assert (tmp_path / "emb.png").exists()
    grey, coloured = [c for c in ax.collections if isinstance(c, PathCollection)]
    n_unscored = int(adata.obs.pmi.isna().sum())
    assert len(grey.get_offsets()) == n_unscored == 140
    assert len(coloured.get_offsets()) == adata.n_obs - n_unscored
    assert coloured.colorbar is not None and coloured.colorbar.ax in ax.figure.axes
    values = coloured.get_array()
    assert np.all(np.diff(values) >= 0)  # highest pMI drawn last
    np.testing.assert_allclose(np.sort(values), np.sort(adata.obs.pmi.dropna()))
    assert ax.get_xlabel() == "spring1"
    norm = coloured.norm  # signed pMI: diverging map centred at 0 bits, symmetric limits
    assert coloured.get_cmap().name == "RdBu_r" and norm.vmin == pytest.approx(-norm.vmax)
    assert_unchanged(adata, before)
    assert bm.pl.pmi_embedding(adata, basis="X_spring").get_xlabel() == "spring1"


def test_missing_keys(adata):
    with pytest.raises(KeyError, match="uns key 'lmi' not found.*tl.lmi"):
        bm.pl.lmi(adata)
    with pytest.raises(KeyError, match="uns key 'nope' not found"):
        bm.pl.lmi(adata, key=["lmi_d2_d6", "nope"])
    del adata.uns["markov_test"]
    with pytest.raises(KeyError, match="uns key 'markov_test' not found.*tl.markov_test"):
        bm.pl.markov_test(adata)
    with pytest.raises(KeyError, match=r"obsm key 'umap' \(or 'X_umap'\) not found; available: \['X_spring'\]"):
        bm.pl.pmi_embedding(adata, basis="umap")
    with pytest.raises(KeyError, match="obs column 'score' not found"):
        bm.pl.pmi_embedding(adata, key="score")


def attribution_frame(n_features: int = 30, seed: int = 0, null: bool = True) -> pd.DataFrame:
    """An attribution table of the documented shape (``tl.lmi(attribution=True)``), ranks shuffled."""
    rng = np.random.default_rng(seed)
    frames = []
    for side, condition in (("x", "2"), ("y", "6")):
        score = rng.uniform(-0.02, 0.3, size=n_features)
        null_mean = rng.normal(0.0, 0.01, size=n_features) if null else np.full(n_features, np.nan)
        null_sd = rng.uniform(0.005, 0.02, size=n_features) if null else np.full(n_features, np.nan)
        rank = np.empty(n_features, dtype=int)
        rank[np.argsort(-score, kind="stable")] = np.arange(1, n_features + 1)
        frames.append(
            pd.DataFrame(
                {
                    "gene": [f"g{side}{i}" for i in range(n_features)],
                    "side": side,
                    "condition": condition,
                    "score": score,
                    "score_sd": 0.01,
                    "null_mean": null_mean,
                    "null_sd": null_sd,
                    "z": (score - null_mean) / null_sd,
                    "p_value": 0.2,
                    "rank": rank,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def with_attribution(adata: ad.AnnData, frame: pd.DataFrame, score: str = "cross_r2", key: str = "lmi") -> None:
    adata.uns[key] = {
        "table": lmi_table(2, 2, 1.0),
        "summary": pd.DataFrame([{"mi_mean": 1.0}]),
        "params": {"attribution": score, "estimator_kwds": {}},
        "attribution": frame,
    }


def attribution_rows(ax: Axes) -> tuple[list[str], np.ndarray]:
    """Tick labels top to bottom and the real scores (the C0 dots) in the same order."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    (dots,) = [c for c in ax.collections if isinstance(c, PathCollection) and c.get_label().startswith("real")]
    offsets = np.asarray(dots.get_offsets())
    return labels, offsets[np.argsort(offsets[:, 1]), 0]


def test_attribution_top_features_with_null(adata, tmp_path):
    frame = attribution_frame()
    with_attribution(adata, frame)
    before = snapshot(adata)
    ax = bm.pl.attribution(adata, n_top=5, side="y", save=tmp_path / "attr.png")
    assert isinstance(ax, Axes) and (tmp_path / "attr.png").read_bytes()[:4] == b"\x89PNG"
    top = frame[frame.side == "y"].sort_values("rank").head(5)
    labels, scores = attribution_rows(ax)
    assert labels == top.gene.tolist()  # rank 1 first (at the top: the y axis runs downwards)
    np.testing.assert_allclose(scores, top.score)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    (bars,) = [c for c in ax.collections if c.get_label() == "shuffled pairings, mean ± 2 SD"]
    segments = np.array(bars.get_segments())  # one per row: null_mean ± 2 null_sd
    np.testing.assert_allclose(segments[:, 0, 0], top.null_mean - 2 * top.null_sd)
    np.testing.assert_allclose(segments[:, 1, 0], top.null_mean + 2 * top.null_sd)
    assert ax.get_title() == "lmi: side y (condition 6), top 5 of 30"
    assert ax.get_xlabel() == "held-out R² from the other side's latent (cross_r2)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "real pairings, mean",
        "shuffled pairings, mean ± 2 SD",
    ]
    assert ax.figure.get_figheight() == pytest.approx(0.25 * 5 + 1)
    assert_unchanged(adata, before)


def test_attribution_n_top_beyond_the_features_and_without_null(adata):
    with_attribution(adata, attribution_frame(n_features=4, null=False), score="permutation", key="attr")
    _, ax = plt.subplots()
    out = bm.pl.attribution(adata, key="attr", n_top=50, ax=ax)
    assert out is ax
    labels, _ = attribution_rows(ax)
    assert len(labels) == 4 and ax.get_title() == "attr: side x (condition 2), top 4 of 4"
    assert ax.get_xlabel() == "drop of held-out mean pMI (bits)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["real pairings, mean"]  # no null drawn


def test_attribution_errors(adata):
    with pytest.raises(KeyError, match="uns key 'lmi' not found.*tl.lmi"):
        bm.pl.attribution(adata)
    with pytest.raises(KeyError, match=r"run bm.tl.lmi\(adata, attribution=True, key_added='lmi_d2_d6'\)"):
        bm.pl.attribution(adata, key="lmi_d2_d6")
    with_attribution(adata, attribution_frame(n_features=3))
    with pytest.raises(ValueError, match=r"side must be one of \['x', 'y'\], got 'z'"):
        bm.pl.attribution(adata, side="z")
    with pytest.raises(ValueError, match="n_top must be an integer >= 1, got 0"):
        bm.pl.attribution(adata, n_top=0)
    with pytest.raises(TypeError, match="n_top must be an integer >= 1"):
        bm.pl.attribution(adata, n_top=2.5)
    assert not plt.get_fignums()  # nothing drawn before the checks


def test_attribution_of_a_markov_test_table_by_comparison(adata):
    # tl.markov_test stacks one table per comparison under a leading comparison column
    early_late = attribution_frame(seed=1).assign(comparison=EARLY_LATE)
    sisters = attribution_frame(seed=2).assign(comparison=SISTERS, condition=lambda f: f.side.map({"x": "1", "y": "2"}))
    frame = pd.concat([early_late, sisters], ignore_index=True)
    frame = frame[["comparison", *frame.columns[:-1]]]
    with_attribution(adata, frame, key="markov_test")
    before = snapshot(adata)
    for comparison, part, side, condition in [(EARLY_LATE, early_late, "y", "6"), (SISTERS, sisters, "x", "1")]:
        ax = bm.pl.attribution(adata, key="markov_test", comparison=comparison, side=side, n_top=6)
        top = part[part.side == side].sort_values("rank").head(6)
        labels, scores = attribution_rows(ax)
        assert labels == top.gene.tolist()  # that comparison's ranks only
        np.testing.assert_allclose(scores, top.score)
        assert ax.get_title() == f"markov_test, {comparison}: side {side} (condition {condition}), top 6 of 30"
    plt.close("all")
    valid = re.escape(str([EARLY_LATE, SISTERS]))
    with pytest.raises(ValueError, match=rf"holds the comparisons {valid}; choose one with comparison="):
        bm.pl.attribution(adata, key="markov_test")
    with pytest.raises(ValueError, match=rf"comparison must be one of {valid}, got 'I\(x; y\)'"):
        bm.pl.attribution(adata, key="markov_test", comparison="I(x; y)")
    assert not plt.get_fignums()  # nothing drawn before the checks
    assert_unchanged(adata, before)
    # a table holding one comparison needs no choice
    with_attribution(adata, sisters[["comparison", *sisters.columns[:-1]]], key="one")
    ax = bm.pl.attribution(adata, key="one", n_top=3)
    assert ax.get_title() == f"one, {SISTERS}: side x (condition 1), top 3 of 30"
    # a tl.lmi table has no comparisons to choose from
    with_attribution(adata, attribution_frame())
    with pytest.raises(ValueError, match="has no comparison column.*leave comparison=None"):
        bm.pl.attribution(adata, comparison=EARLY_LATE)


@pytest.mark.filterwarnings("ignore::bioinfo_mi.EstimateWarning")  # a few epochs on 200 clones: weak fits
def test_attribution_of_a_real_lmi_result(tmp_path):
    adata = bm.datasets.simulate_lineage(n_clones=200, n_genes=40, random_state=0)
    bm.tl.lmi(
        adata,
        conditions=(2, 6),
        n_pairings=2,
        n_shuffles=2,
        attribution=True,
        min_clones=20,
        estimator_kwds={"epochs": 5},
        progress=False,
        n_jobs=1,
    )
    ax = bm.pl.attribution(adata, n_top=8, save=tmp_path / "attr.png")
    assert isinstance(ax, Axes) and (tmp_path / "attr.png").stat().st_size > 0
    frame = adata.uns["lmi"]["attribution"]
    top = frame[frame.side == "x"].sort_values("rank").head(8)
    labels, scores = attribution_rows(ax)
    assert labels == top.gene.tolist() and set(labels) <= set(adata.var_names)
    np.testing.assert_allclose(scores, top.score)
    assert ax.get_title() == "lmi: side x (condition 2), top 8 of 40"
    assert "cross_r2" in ax.get_xlabel()
