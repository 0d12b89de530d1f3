"""Clone pairing across conditions (obs column and CoSpar layouts)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from bioinfo_mi.pp import clone_labels, draw_pairings, get_features, shared_clones


@pytest.fixture
def lineage():
    rng = np.random.default_rng(0)
    rows = []
    for c in range(40):
        for _ in range(rng.integers(1, 4)):
            rows.append((f"c{c}", 2.0, 1))
        if c < 30:  # clones 30..39 only seen early
            for _ in range(rng.integers(1, 4)):
                rows.append((f"c{c}", 6.0, int(rng.integers(1, 3))))
    rows.append((None, 6.0, 1))  # a cell without a clone
    obs = pd.DataFrame(rows, columns=["clone", "time", "well"])
    obs.index = [f"cell{i}" for i in range(len(obs))]
    adata = ad.AnnData(X=rng.normal(size=(len(obs), 5)).astype(np.float32), obs=obs)
    adata.layers["counts"] = sp.csr_matrix(np.abs(adata.X))
    adata.obsm["X_pca"] = rng.normal(size=(len(obs), 3))
    return adata


def test_shared_clones_and_pairings(lineage):
    clones, cells_a, cells_b = shared_clones(lineage, clone_key="clone", condition_key="time")
    assert list(clones) == sorted(f"c{c}" for c in range(30))
    pairings = draw_pairings(lineage, n_pairings=5, random_state=1)
    labels = lineage.obs["clone"].to_numpy()
    times = lineage.obs["time"].to_numpy()
    for p in pairings:
        assert len(p) == 30
        assert (labels[p.cells_a] == p.clones).all() and (labels[p.cells_b] == p.clones).all()
        assert (times[p.cells_a] == 2.0).all() and (times[p.cells_b] == 6.0).all()
    assert any(not np.array_equal(pairings[0].cells_a, p.cells_a) for p in pairings[1:])
    again = draw_pairings(lineage, n_pairings=5, random_state=1)
    assert all(
        np.array_equal(p.cells_a, q.cells_a) and np.array_equal(p.cells_b, q.cells_b)
        for p, q in zip(pairings, again, strict=True)
    )


def test_draw_is_uniform_within_clone(lineage):
    _, cells_a, _ = shared_clones(lineage)
    clone = next(c for c, rows in cells_a.items() if len(rows) == 3 and c in set(shared_clones(lineage)[0]))
    draws = np.array([p.cells_a[list(p.clones).index(clone)] for p in draw_pairings(lineage, n_pairings=600)])
    counts = np.array([(draws == r).sum() for r in cells_a[clone]])
    assert counts.min() > 150  # each of 3 cells drawn about 200 times


def test_restrict_sisters_across_wells(lineage):
    pairings = draw_pairings(lineage, condition_key="well", conditions=(1, 2), restrict={"time": 6.0}, min_clones=2)
    p = pairings[0]
    assert (lineage.obs["time"].to_numpy()[np.r_[p.cells_a, p.cells_b]] == 6.0).all()
    assert (lineage.obs["well"].to_numpy()[p.cells_a] == 1).all()


def test_cospar_layout_matches_obs_column(lineage):
    cospar = lineage.copy()
    names = sorted(cospar.obs["clone"].dropna().unique())
    mat = np.zeros((cospar.n_obs, len(names)))
    for i, c in enumerate(cospar.obs["clone"]):
        if c is not None and not pd.isna(c):
            mat[i, names.index(c)] = 1
    cospar.obsm["X_clone"] = sp.csr_matrix(mat)
    del cospar.obs["clone"]
    labels = clone_labels(cospar, "clone")
    assert labels.isna().sum() == 1
    a = shared_clones(lineage)[0]
    b = shared_clones(cospar)[0]
    assert len(a) == len(b) == 30


def test_get_features(lineage):
    assert get_features(lineage) is lineage.X
    assert sp.issparse(get_features(lineage, layer="counts"))
    assert get_features(lineage, use_rep="X_pca").shape == (lineage.n_obs, 3)
    with pytest.raises(KeyError, match="use_rep 'X_umap' not found in obsm; available: \\['X_pca'\\]"):
        get_features(lineage, use_rep="X_umap")
    with pytest.raises(KeyError, match="layer 'raw' not found; available layers: \\['counts'\\]"):
        get_features(lineage, layer="raw")


def test_errors(lineage):
    with pytest.raises(KeyError, match="obs column 'lineage' not found; available: \\['clone', 'time', 'well'\\]"):
        draw_pairings(lineage, clone_key="lineage")
    with pytest.raises(ValueError, match="condition 4.0 does not occur"):
        draw_pairings(lineage, conditions=(2.0, 4.0))
    with pytest.raises(ValueError, match="found 30 clones .* at least 100 are needed"):
        draw_pairings(lineage, min_clones=100)
    with pytest.raises(ValueError, match="n_pairings must be an integer >= 1"):
        draw_pairings(lineage, n_pairings=0)
    empty = lineage.copy()
    empty.obs["clone"] = None
    with pytest.raises(ValueError, match="all missing"):
        draw_pairings(empty)
    with pytest.raises(ValueError, match="obs\\['clone'\\] has 40 values .*pass conditions"):
        draw_pairings(lineage, condition_key="clone")  # not two values: lists them


def test_input_untouched(lineage):
    before = lineage.copy()
    draw_pairings(lineage, n_pairings=3)
    pd.testing.assert_frame_equal(lineage.obs, before.obs)
    np.testing.assert_array_equal(lineage.X, before.X)
    assert list(lineage.uns.keys()) == list(before.uns.keys())


@pytest.mark.parametrize("storage", ["float", "string", "category"])
def test_time_stored_as_numbers_strings_or_categories(lineage, storage):
    """Conditions name a time however it is stored (CoSpar keeps "2" / "6" strings or categories):
    2, 2.0, "2" and "2.0" all select day 2, and the default pairing compares the same cells."""
    adata = lineage.copy()
    if storage != "float":
        adata.obs["time"] = adata.obs["time"].map(lambda t: f"{t:g}")
        if storage == "category":
            adata.obs["time"] = adata.obs["time"].astype("category")
    reference = shared_clones(lineage, conditions=(2.0, 6.0))
    for conditions in [(2, 6), (2.0, 6.0), ("2", "6"), ("2.0", "6.0"), None]:
        clones, a, b = shared_clones(adata, conditions=conditions)
        assert list(clones) == list(reference[0])
        assert all(np.array_equal(a[c], reference[1][c]) for c in clones)


def test_condition_messages_show_stored_values(lineage):
    """A missing condition lists the stored values as stored: numbers bare, strings quoted."""
    with pytest.raises(
        ValueError,
        match=r"condition '3' does not occur in obs\['time'\] \(dtype float64\); "
        r"values: \[2.0, 6.0\]",
    ):
        draw_pairings(lineage, conditions=("3", "6"))
    strings = lineage.copy()
    strings.obs["time"] = strings.obs["time"].map(lambda t: f"{t:g}")
    with pytest.raises(ValueError, match=r"values: \['2', '6'\]"):
        draw_pairings(strings, conditions=(3, 6))


@pytest.mark.parametrize("placeholder", ["", "NA", "nan", "-1", "None"])
def test_missing_clone_placeholders_are_not_one_clone(lineage, placeholder):
    """Unbarcoded cells labelled with a placeholder at both time points must not become one shared clone."""
    adata = lineage.copy()
    clone = adata.obs["clone"].astype(object)
    clone[clone.isna()] = placeholder
    unbarcoded = pd.DataFrame(
        {"clone": [placeholder] * 4, "time": [2.0, 2.0, 6.0, 6.0], "well": [1] * 4},
        index=[f"extra{i}" for i in range(4)],
    )
    obs = pd.concat([adata.obs.assign(clone=clone), unbarcoded])
    adata = ad.AnnData(X=np.zeros((len(obs), 2), dtype=np.float32), obs=obs)
    labels = clone_labels(adata, "clone")
    assert labels[obs["clone"] == placeholder].isna().all()
    clones, _, _ = shared_clones(adata, clone_key="clone", condition_key="time")
    assert placeholder not in set(clones) and len(clones) == 30


def test_a_giant_clone_is_reported(lineage):
    adata = lineage.copy()
    clone = adata.obs["clone"].astype(object).copy()
    clone[: len(clone) // 2] = "0"  # e.g. 0 used for "no barcode" without saying so
    adata.obs["clone"] = clone
    with pytest.warns(UserWarning, match="clone '0' of obs\\['clone'\\] holds .* placeholder"):
        clone_labels(adata, "clone")
