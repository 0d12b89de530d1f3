"""Clone pairing across conditions (obs column and CoSpar layouts)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from bioinfo_mi.pp import clone_labels, draw_pairings, get_features, shared_clones
from bioinfo_mi.pp.pairing import match_value, resolve_conditions, sorted_values


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
    labels = clone_labels(cospar)  # the default: obs['clone'], else obsm['X_clone']
    assert labels.isna().sum() == 1
    pd.testing.assert_series_equal(clone_labels(cospar, "X_clone"), labels)
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
    # use_rep="X" is .X, as in scanpy (with a layer: that layer)
    assert get_features(lineage, use_rep="X") is lineage.X
    assert get_features(lineage, use_rep="X", layer="counts") is get_features(lineage, layer="counts")
    with pytest.raises(ValueError, match="not both"):
        get_features(lineage, use_rep="X_pca", layer="counts")


def test_errors(lineage):
    with pytest.raises(KeyError, match="obs column 'lineage' not found; available: \\['clone', 'time', 'well'\\]"):
        draw_pairings(lineage, clone_key="lineage")
    with pytest.raises(ValueError, match="conditions: value 4.0 does not occur"):
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
        match=r"conditions: value '3' does not occur in obs\['time'\] \(dtype float64\); "
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


# --- keys given by name are never replaced by the CoSpar fallbacks (issue 27, item 2) ---------------------


def test_explicit_clone_key_is_not_replaced_by_x_clone(lineage):
    """A typed clone key that does not exist raises, naming the argument, the key and what exists; it used to
    read obsm['X_clone'] instead without a word."""
    adata = lineage.copy()
    names = sorted(adata.obs["clone"].dropna().unique())
    adata.obsm["X_clone"] = sp.csr_matrix(
        np.array([[c == name for name in names] for c in adata.obs["clone"]], dtype=float)
    )
    with pytest.raises(
        KeyError, match=r"clone_key: obs column 'no_such_key' not found; available: \['clone', 'time', 'well'\]"
    ):
        shared_clones(adata, clone_key="no_such_key")
    with pytest.raises(KeyError, match="clone_key: obs column 'no_such_key'"):
        clone_labels(adata, "no_such_key")
    del adata.obs["clone"]
    with pytest.raises(KeyError, match=r"clone_key: obs column 'clone' not found.*clone_key='X_clone'"):
        draw_pairings(adata, clone_key="clone")
    assert len(shared_clones(adata)[0]) == 30  # the default still reads CoSpar's matrix
    with pytest.raises(KeyError, match=r"clone_key: no obs column 'clone' \(the default\) and no CoSpar"):
        shared_clones(ad.AnnData(X=adata.X, obs=adata.obs))  # neither obs['clone'] nor obsm['X_clone']


def test_explicit_time_key_is_not_replaced_by_time_info(lineage):
    """``condition_key="time"`` typed on an object with only CoSpar's 'time_info' raises (it used to read
    'time_info'); the default reads it, and restrict keys are never replaced either."""
    cospar = lineage.copy()
    cospar.obs["time_info"] = cospar.obs.pop("time").map(lambda t: f"{t:g}")
    clones, _, _ = shared_clones(cospar)
    assert len(clones) == 30
    assert resolve_conditions(cospar, None, None) == ("2", "6")
    with pytest.raises(KeyError, match=r"condition_key: obs column 'time' not found; available: \['clone', 'well'"):
        shared_clones(cospar, condition_key="time")
    with pytest.raises(KeyError, match=r"restrict: obs column 'time' not found"):
        draw_pairings(cospar, condition_key="well", conditions=(1, 2), restrict={"time": 6}, min_clones=2)
    draw_pairings(cospar, condition_key="well", conditions=(1, 2), restrict={"time_info": 6}, min_clones=2)
    del cospar.obs["time_info"]
    with pytest.raises(
        KeyError, match=r"condition_key: no obs column 'time' \(the default\) and no CoSpar 'time_info'"
    ):
        shared_clones(cospar)


def test_empty_x_clone_raises(lineage):
    adata = lineage.copy()
    del adata.obs["clone"]
    adata.obsm["X_clone"] = sp.csr_matrix((adata.n_obs, 5))
    with pytest.raises(ValueError, match=r"clone_key: obsm\['X_clone'\] assigns no clone to any cell"):
        draw_pairings(adata)


# --- time points in time order (issue 27, item 5) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["d10", "d2", "d6"], ["d2", "d6", "d10"]),
        (["day 10", "Day 2", "day4.5"], ["Day 2", "day4.5", "day 10"]),
        (["D4.5", "d2", "d10"], ["d2", "D4.5", "d10"]),
        (["10.0", "2", "4"], ["2", "4", "10.0"]),
        (["10h", "2h", "6h"], ["2h", "6h", "10h"]),
        ([10, 2, 6], [2, 6, 10]),
        ([10.0, 2.5, 6.0], [2.5, 6.0, 10.0]),
    ],
)
def test_sorted_values_in_time_order(values, expected):
    col = pd.Series(values * 2, name="time")
    assert sorted_values(col) == expected
    assert sorted_values(col.astype("category")) == expected  # an unordered categorical alike


def test_sorted_values_categoricals():
    """An ordered categorical's order wins (only the categories that occur); an unordered one's unused
    categories are not values."""
    ordered = pd.Series(
        pd.Categorical(["late", "early", "late"], categories=["none", "early", "mid", "late"], ordered=True)
    )
    assert sorted_values(ordered) == ["early", "late"]
    against_numbers = pd.Series(pd.Categorical(["d10", "d2"], categories=["d10", "d2"], ordered=True))
    assert sorted_values(against_numbers) == ["d10", "d2"]  # the user's order, not the numbers'
    unused = pd.Series(pd.Categorical(["d6", "d2", "d6"], categories=["d2", "d6", "d10", "d14"]))
    assert sorted_values(unused) == ["d2", "d6"]
    numbers = pd.Series(pd.Categorical([10, 2, 6]))
    assert sorted_values(numbers) == [2, 6, 10]


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (["early", "late"], "'early' holds no number"),
        (["pre", "post"], "holds no number"),
        (["d2", "w6"], "do not share one pattern"),
        (["2", "d6"], "do not share one pattern"),
        (["d2r1", "d6r1"], "holds 2 numbers"),
        (["d2", "D2", "d6"], "two values hold the same number"),
    ],
)
def test_sorted_values_refuses_to_guess(values, why):
    col = pd.Series(values, name="time")
    with pytest.raises(ValueError, match=rf"obs\['time'\] .* could not be put in time order \(.*{why}.*conditions="):
        sorted_values(col)
    assert sorted_values(col.iloc[:1]) == values[:1]  # one value needs no order


def _labelled(lineage, labels, *, ordered=None):
    adata = lineage.copy()
    adata.obs["time"] = adata.obs["time"].map(labels)
    if ordered is not None:
        adata.obs["time"] = pd.Categorical(adata.obs["time"], categories=ordered, ordered=True)
    return adata


def test_default_conditions_follow_time_not_text(lineage):
    """ "d10" is later than "d2": the default early side is day 2 (text order put "d10" first)."""
    adata = _labelled(lineage, {2.0: "d2", 6.0: "d10"})
    assert resolve_conditions(adata, "time", None) == ("d2", "d10")
    clones, cells_a, _ = shared_clones(adata)
    assert (adata.obs["time"].to_numpy()[np.concatenate([cells_a[c] for c in clones])] == "d2").all()
    reverse = _labelled(lineage, {2.0: "after", 6.0: "before"}, ordered=["before", "after"])
    assert resolve_conditions(reverse, "time", None) == ("before", "after")
    words = _labelled(lineage, {2.0: "pre", 6.0: "post"})
    with pytest.raises(ValueError, match=r"could not be put in time order.*pass conditions=\(early, late\)"):
        draw_pairings(words)
    assert resolve_conditions(words, "time", ("pre", "post")) == ("pre", "post")


def test_numbers_name_labels(lineage):
    """Exact labels work; a number names the label holding it when all labels share one pattern."""
    adata = _labelled(lineage, {2.0: "d2", 6.0: "d10"})
    col = adata.obs["time"]
    assert match_value(col, "d10", "conditions") == "d10"
    assert match_value(col, 2, "conditions") == "d2" and match_value(col, "10", "conditions") == "d10"
    assert resolve_conditions(adata, "time", (2, 10)) == ("d2", "d10")
    with pytest.raises(ValueError, match=r"conditions: value 6 does not occur.*values: \['d2', 'd10'\]"):
        resolve_conditions(adata, "time", (2, 6))
    mixed = _labelled(lineage, {2.0: "d2", 6.0: "w6"})
    with pytest.raises(ValueError, match="conditions: value 6 does not occur"):
        resolve_conditions(mixed, "time", ("d2", 6))  # no shared pattern: no number names a label


def test_unused_categories_are_not_values(lineage):
    """A categorical time with unused categories compares the two values present; naming an unused one raises."""
    adata = lineage.copy()
    adata.obs["time"] = pd.Categorical(adata.obs["time"].map({2.0: "d2", 6.0: "d6"}), categories=["d2", "d4", "d6"])
    assert resolve_conditions(adata, "time", None) == ("d2", "d6")
    with pytest.raises(ValueError, match=r"conditions: value 'd4' does not occur"):
        resolve_conditions(adata, "time", ("d2", "d4"))


def test_bad_arguments_name_themselves(lineage):
    with pytest.raises(TypeError, match="conditions must be two values"):
        draw_pairings(lineage, conditions="26")  # used to read as ("2", "6")
    with pytest.raises(ValueError, match=r"conditions must be two values \(a, b\), got \(2.0,\)"):
        draw_pairings(lineage, conditions=(2.0,))
    with pytest.raises(ValueError, match="conditions must be two different values"):
        draw_pairings(lineage, conditions=(2, 2.0))
    with pytest.raises(TypeError, match=r"restrict must be a mapping"):
        draw_pairings(lineage, condition_key="well", conditions=(1, 2), restrict=["time"])
    with pytest.raises(ValueError, match=r"restrict: value of 'time' 4 does not occur"):
        draw_pairings(lineage, condition_key="well", conditions=(1, 2), restrict={"time": 4})
    with pytest.raises(ValueError, match="min_clones must be an integer >= 1"):
        draw_pairings(lineage, min_clones=0)
    with pytest.raises(TypeError, match="clone_key must be a column name"):
        draw_pairings(lineage, clone_key=["clone"])
    with pytest.raises(TypeError, match="adata must be an AnnData, got DataFrame"):
        draw_pairings(lineage.obs)


def test_too_few_clones_says_where_the_cells_are(lineage):
    with pytest.raises(ValueError, match=r"found 0 clones .*under well=1 \(restricted to \{'time': 2.0\}\): \d+ cells"):
        draw_pairings(lineage, condition_key="well", conditions=(1, 2), restrict={"time": 2.0})


def test_duplicated_obs_names_pair_by_position(lineage):
    dup = lineage.copy()
    dup.obs_names = ["same"] * dup.n_obs
    a, b = draw_pairings(lineage, n_pairings=2), draw_pairings(dup, n_pairings=2)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p.cells_a, q.cells_a)
        np.testing.assert_array_equal(p.cells_b, q.cells_b)


def test_backed_features_are_read_into_memory(lineage, tmp_path):
    path = tmp_path / "lineage.h5ad"
    for name, x in [("dense", lineage.X), ("sparse", sp.csr_matrix(lineage.X))]:
        ad.AnnData(X=x, obs=lineage.obs).write_h5ad(path)
        backed = ad.read_h5ad(path, backed="r")
        features = get_features(backed)
        assert isinstance(features, np.ndarray) or sp.issparse(features), name
        np.testing.assert_array_equal(sp.csr_matrix(features).toarray(), lineage.X)
        backed.file.close()
