"""Bad input to the AnnData tools (tl.lmi, tl.pmi, tl.markov_test; pp.draw_pairings, pp.shared_clones).

Every case gets a clear exception naming the argument before any fit (``run_fits`` is replaced by a
failure), or a documented result, checked on tiny data with KSG. The data are built the way users have
them: sparse integer counts, integer clone ids with -1 for missing, categorical time "d2"/"d6"/"d10".
"""

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import bioinfo_mi as bm
import bioinfo_mi.tl._adjust as adjust_module
import bioinfo_mi.tl._lmi as lmi_module

FAST = dict(method="ksg", n_pairings=2, n_shuffles=1, progress=False, n_jobs=1, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::bioinfo_mi.EstimateWarning")


def by_hand(
    n_clones: int = 80,
    times: tuple[str, ...] = ("d2", "d6", "d10"),
    sister_time: str = "d10",
    n_genes: int = 12,
    seed: int = 0,
) -> ad.AnnData:
    """Integer clone ids (-1: no barcode), categorical time, a well column (two wells at ``sister_time``,
    one elsewhere), sparse integer counts in .X and layers['counts'], one cell per clone, time and well."""
    rng = np.random.default_rng(seed)
    state = rng.normal(size=n_clones)
    loadings = rng.normal(size=n_genes)
    rows = []
    for c in range(n_clones):
        for t in times:
            for w in ("0", "1") if t == sister_time else ("0",):
                rows.append((c, t, w))
    rows += [(-1, times[0], "0"), (-1, times[-1], "0"), (-1, times[-1], "1")]  # unbarcoded cells
    obs = pd.DataFrame(rows, columns=["clone", "time", "well"])
    obs["time"] = pd.Categorical(obs["time"], categories=list(times))
    obs.index = [f"cell{i}" for i in range(len(obs))]
    clone_state = np.where(obs["clone"] >= 0, state[obs["clone"].clip(lower=0)], 0.0)
    rate = np.exp(0.5 + 0.6 * np.outer(clone_state, loadings) + 0.3 * rng.normal(size=(len(obs), n_genes)))
    counts = sp.csr_matrix(rng.poisson(rate).astype(np.int64))
    adata = ad.AnnData(X=counts.astype(np.float32), obs=obs)
    adata.layers["counts"] = counts
    adata.obsm["X_pca"] = rng.normal(size=(len(obs), 3))
    return adata


@pytest.fixture(scope="module")
def hand() -> ad.AnnData:
    return by_hand()


@pytest.fixture(scope="module")
def sim() -> ad.AnnData:
    return bm.datasets.simulate_lineage(n_clones=70, n_genes=20, random_state=0)


@pytest.fixture
def no_fit(monkeypatch):
    """Any fit started fails the test: bad input must be refused before."""

    def fail(*args, **kwargs):
        pytest.fail("a fit started before the bad input was refused")

    monkeypatch.setattr(lmi_module, "run_fits", fail)
    monkeypatch.setattr(adjust_module, "run_fits", fail)  # the tools' fits (tl.lmi, tl.markov_test) run there


def two_times(adata: ad.AnnData, early: str = "d2", late: str = "d10") -> ad.AnnData:
    keep = adata.obs["time"].isin([early, late]).to_numpy()
    out = adata[keep].copy()
    out.obs["time"] = out.obs["time"].cat.remove_unused_categories()
    return out


def tool(name: str):
    return {
        "lmi": bm.tl.lmi,
        "pmi": bm.tl.pmi,
        "markov_test": bm.tl.markov_test,
        "draw_pairings": bm.pp.draw_pairings,
        "shared_clones": bm.pp.shared_clones,
    }[name]


def options(name: str) -> dict:
    if name in ("draw_pairings", "shared_clones"):
        return {}
    return {k: v for k, v in FAST.items() if name == "lmi" or name == "markov_test" or k != "n_shuffles"}


# --- missing and misspelled keys and values -------------------------------------------------------------

HAND_CASES = [
    # (tool, arguments, exception, message)
    ("lmi", dict(condition_key="tiem"), KeyError, r"condition_key: obs column 'tiem' not found; available: \["),
    ("lmi", dict(clone_key="barcode"), KeyError, r"clone_key: obs column 'barcode' not found"),
    ("lmi", dict(use_rep="X_pcaa"), KeyError, r"use_rep 'X_pcaa' not found in obsm; available: \['X_pca'\]"),
    ("lmi", dict(layer="count"), KeyError, r"layer 'count' not found; available layers: \['counts'\]"),
    ("lmi", dict(use_rep="X_pca", layer="counts"), ValueError, "give use_rep or layer, not both"),
    ("lmi", dict(conditions=("d2", "d7")), ValueError, r"conditions: value 'd7' does not occur in obs\['time'\]"),
    ("lmi", dict(conditions="d2"), TypeError, "conditions must be two values"),
    ("lmi", dict(conditions=("d2",)), ValueError, "conditions must be two values"),
    ("lmi", dict(conditions=("d2", 2)), ValueError, "conditions must be two different values"),
    ("lmi", dict(conditions=("d2", "d10"), restrict={"wel": "0"}), KeyError, r"restrict: obs column 'wel' not found"),
    (
        "lmi",
        dict(conditions=("d2", "d10"), restrict={"well": "7"}),
        ValueError,
        r"restrict: value of 'well' '7' does not occur",
    ),
    ("lmi", dict(conditions=("d2", "d10"), restrict="well"), TypeError, "restrict must be a mapping"),
    ("lmi", dict(pair_keys=("X_pca", "X_umap")), KeyError, r"pair_keys \['X_umap'\] not found in obsm"),
    ("lmi", dict(pair_keys="X_pca"), ValueError, "pair_keys must name two obsm entries"),
    (
        "lmi",
        dict(pair_keys=("X_pca", "X_pca"), clone_key="clone"),
        ValueError,
        "pair_keys selects paired data .*clone_key apply to lineage data only",
    ),
    ("lmi", dict(), ValueError, r"condition_key: obs\['time'\] has 3 values \['d2', 'd6', 'd10'\]; pass conditions"),
    ("pmi", dict(clone_key="barcode"), KeyError, r"clone_key: obs column 'barcode' not found"),
    ("pmi", dict(condition_key="Time"), KeyError, r"condition_key: obs column 'Time' not found"),
    ("pmi", dict(conditions=("d2", "d3")), ValueError, r"conditions: value 'd3' does not occur"),
    ("markov_test", dict(well_key="wel"), KeyError, r"well_key: obs column 'wel' not found"),
    ("markov_test", dict(time_key="tiem"), KeyError, r"time_key: obs column 'tiem' not found"),
    ("markov_test", dict(clone_key="barcode"), KeyError, r"clone_key: obs column 'barcode' not found"),
    ("markov_test", dict(early="d3"), ValueError, r"early 'd3' does not occur in obs\['time'\]"),
    ("markov_test", dict(late="d11"), ValueError, r"late 'd11' does not occur in obs\['time'\]"),
    ("markov_test", dict(early="d10", late=10), ValueError, "early and late name the same time point 'd10'"),
    ("markov_test", dict(wells=("0", "7")), ValueError, r"wells: value '7' does not occur in obs\['well'\]"),
    ("markov_test", dict(wells="01"), ValueError, r"wells must be two values of obs\['well'\]"),
    ("markov_test", dict(use_rep="X_umap"), KeyError, r"use_rep 'X_umap' not found in obsm"),
    ("markov_test", dict(layer="raw"), KeyError, r"layer 'raw' not found"),
    ("draw_pairings", dict(condition_key="well", restrict={"time": "d3"}), ValueError, r"restrict: value of 'time'"),
    ("shared_clones", dict(clone_key="clones"), KeyError, r"clone_key: obs column 'clones' not found"),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "match"), HAND_CASES)
def test_bad_keys_and_values_fail_before_any_fit(hand, no_fit, name, kwargs, error, match):
    with pytest.raises(error, match=match):
        tool(name)(hand, **options(name), **kwargs)


def test_backed_anndata_reads_only_the_rows_the_fits_use(hand, tmp_path, monkeypatch):
    """A backed .X is not read whole: only the cells of the drawn pairings are read (a block at a time), and
    the fits are cached under the same keys as those of the same data in memory."""
    import bioinfo_mi._fits as fits_module

    data = hand.copy()  # d2, d6 and d10 cells; d2 against d10 reads neither the d6 cells nor the unlabelled ones
    unused = (data.obs["time"] == "d6").to_numpy() | (data.obs["clone"] < 0).to_numpy()
    assert unused.any()
    path = tmp_path / "hand.h5ad"
    data.write_h5ad(path)
    read = []
    real_read_rows = fits_module.read_rows

    def record(x, index):
        read.append(len(index))
        return real_read_rows(x, index)

    monkeypatch.setattr(fits_module, "read_rows", record)
    options = dict(FAST, condition_key="time", conditions=("d2", "d10"), cache_dir=tmp_path / "cache")
    backed = ad.read_h5ad(path, backed="r")
    try:
        bm.tl.lmi(backed, **options)
        table = backed.uns["lmi"]["table"]
    finally:
        backed.file.close()
    assert len(read) == 1 and read[0] <= data.n_obs - unused.sum()
    files = sorted((tmp_path / "cache").iterdir())
    mtimes = [f.stat().st_mtime_ns for f in files]
    monkeypatch.setattr(fits_module, "_estimate", lambda *a, **k: pytest.fail("refitted: the keys differ"))
    in_memory = bm.tl.lmi(data, copy=True, **options)  # every fit read back from the backed run's cache
    pd.testing.assert_frame_equal(in_memory.uns["lmi"]["table"], table)
    assert sorted((tmp_path / "cache").iterdir()) == files
    assert [f.stat().st_mtime_ns for f in files] == mtimes


@pytest.mark.parametrize("name", ["lmi", "pmi", "markov_test", "draw_pairings"])
def test_typed_clone_key_is_never_replaced_by_x_clone(sim, no_fit, name):
    """simulate_lineage output holds obsm['X_clone']: a misspelled clone_key used to read it silently."""
    with pytest.raises(KeyError, match=r"clone_key: obs column 'no_such_key' not found.*clone_key='X_clone'"):
        tool(name)(sim, clone_key="no_such_key", **options(name))


def cospar_like(adata: ad.AnnData) -> ad.AnnData:
    """CoSpar's layout: time as strings in obs['time_info'], clones only in obsm['X_clone']."""
    out = adata.copy()
    del out.obs["time"], out.obs["clone"]
    return out


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("lmi", dict(condition_key="time"), r"condition_key: obs column 'time' not found"),
        ("lmi", dict(clone_key="clone"), r"clone_key: obs column 'clone' not found"),
        ("lmi", dict(condition_key="well", conditions=(1, 2), restrict={"time": 6}), r"restrict: obs column 'time'"),
        ("markov_test", dict(time_key="time"), r"time_key: obs column 'time' not found"),
        ("markov_test", dict(clone_key="clone"), r"clone_key: obs column 'clone' not found"),
        ("pmi", dict(condition_key="time"), r"condition_key: obs column 'time' not found"),
    ],
)
def test_typed_time_key_is_never_replaced_by_time_info(sim, no_fit, name, kwargs, match):
    """The CoSpar fallbacks serve the defaults only; a key typed by name must exist."""
    with pytest.raises(KeyError, match=match):
        tool(name)(cospar_like(sim), **options(name), **kwargs)


def test_cospar_defaults_resolve_and_are_stored(sim):
    """The defaults read obs['time_info'] and obsm['X_clone'] on a CoSpar object; params say so."""
    cospar = cospar_like(sim)
    bm.tl.lmi(cospar, min_clones=20, **FAST)
    params = cospar.uns["lmi"]["params"]
    assert params["clone_key"] == "X_clone" and params["condition_key"] == "time_info"
    assert params["conditions"] == ["2", "6"]
    reference = bm.tl.lmi(sim, min_clones=20, copy=True, **FAST).uns["lmi"]
    assert reference["params"]["clone_key"] == "clone" and reference["params"]["condition_key"] == "time"
    assert (cospar.uns["lmi"]["table"].n_clones == reference["table"].n_clones).all()


def test_pair_keys_default_only_without_lineage_arguments(no_fit):
    """Paired data are detected only when no lineage argument is given; one given with pair_keys is refused."""
    rng = np.random.default_rng(0)
    pairs = ad.AnnData(X=np.zeros((80, 0), dtype=np.float32))
    pairs.obsm["source"], pairs.obsm["target"] = rng.normal(size=(80, 2)), rng.normal(size=(80, 2))
    with pytest.raises(ValueError, match="pair_keys selects paired data .*conditions apply to lineage data only"):
        bm.tl.lmi(pairs, pair_keys=("source", "target"), conditions=(2, 6), **FAST)
    with pytest.raises(KeyError, match="clone_key: no obs column 'clone' \\(the default\\)"):
        bm.tl.lmi(pairs, conditions=(2, 6), **FAST)  # a lineage argument: lineage data, which these are not


# --- one clone, one time point, no clone at all -----------------------------------------------------------


@pytest.mark.parametrize("name", ["lmi", "pmi", "markov_test"])
def test_one_clone(hand, no_fit, name):
    one = hand[hand.obs["clone"].isin([0, -1]).to_numpy()].copy()
    kwargs = {} if name == "markov_test" else dict(conditions=("d2", "d10"))
    with pytest.raises(ValueError, match=r"found 1 clones observed under both time='d2' and time='d10'; at least 5 "):
        tool(name)(one, **options(name), **kwargs)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("lmi", r"condition_key: obs\['time'\] has 1 values \['d2'\]; two are needed"),
        ("pmi", r"condition_key: obs\['time'\] has 1 values \['d2'\]; two are needed"),
        ("markov_test", r"time_key: obs\['time'\] has one time point \['d2'\]; the test needs an early and a late"),
    ],
)
def test_one_time_point(hand, no_fit, name, match):
    one = hand[(hand.obs["time"] == "d2").to_numpy()].copy()  # the categories d6 and d10 stay, unused
    with pytest.raises(ValueError, match=match):
        tool(name)(one, **options(name))


@pytest.mark.parametrize("name", ["lmi", "pmi", "markov_test", "shared_clones"])
@pytest.mark.parametrize("missing", [-1, np.nan, "NA"])
def test_no_clone_assigned(hand, no_fit, name, missing):
    adata = hand.copy()
    adata.obs["clone"] = pd.Series([missing] * adata.n_obs, index=adata.obs_names, dtype=object)
    with pytest.raises(ValueError, match=r"clone_key: obs column 'clone' has no clone assigned to any cell"):
        tool(name)(adata, **options(name), **({"conditions": ("d2", "d10")} if name != "markov_test" else {}))


# --- time order ---------------------------------------------------------------------------------------------


def test_lmi_and_pmi_take_day_2_as_early_not_day_10(hand):
    """Labels "d2" and "d10": the early side is d2 (text order made it d10)."""
    adata = two_times(hand)
    bm.tl.lmi(adata, **FAST)
    assert adata.uns["lmi"]["params"]["conditions"] == ["d2", "d10"]
    bm.tl.pmi(adata, **options("pmi"))  # side="early" scores the early cells only
    scored = adata.obs["pmi"].notna().to_numpy()
    assert scored.any() and (adata.obs["time"].to_numpy()[scored] == "d2").all()


def test_markov_takes_the_first_and_last_time_point(hand):
    """d2 < d6 < d10: early d2, late d10, where the sisters are (text order picked early d10, late d6)."""
    adata = hand.copy()
    bm.tl.markov_test(adata, min_clones=20, **FAST)
    params = adata.uns["markov_test"]["params"]
    assert (params["early"], params["late"], params["wells"]) == ("d2", "d10", ["0", "1"])
    assert params["clone_key"] == "clone" and params["time_key"] == "time"


def test_markov_says_which_late_time_has_no_sisters(hand, no_fit):
    """When the late time point holds too few clones in both wells, the message names the late time point,
    how it was chosen, and the cells there."""
    adata = hand.copy()
    clone = adata.obs["clone"].to_numpy().copy()
    clone[((adata.obs["time"] == "d10") & (adata.obs["well"] == "1")).to_numpy()] = -1  # no barcode read there
    adata.obs["clone"] = clone
    with pytest.raises(
        ValueError,
        match=r"I\(late; late'\) at late time time='d10' \(the last of \['d2', 'd6', 'd10'\] in time order\): "
        r"found 0 clones observed under both well='0' and well='1' \(restricted to \{'time': 'd10'\}\); at least 5 "
        r"are needed \(under well='0' .*: 80 cells with a clone from 80 clones; under well='1' .*: 0 cells",
    ):
        bm.tl.markov_test(adata, **FAST)
    only_one_well = hand[~((hand.obs["time"] == "d10") & (hand.obs["well"] == "1")).to_numpy()].copy()
    with pytest.raises(ValueError, match=r"need cells from two wells at time='d10'; obs\['well'\] there has \['0'\]"):
        bm.tl.markov_test(only_one_well, **FAST)


def test_time_without_order_asks_for_conditions(hand, no_fit):
    adata = hand.copy()
    adata.obs["time"] = adata.obs["time"].map({"d2": "early", "d6": "mid", "d10": "late"}).astype(object)
    with pytest.raises(ValueError, match=r"could not be put in time order .*pass early= and late="):
        bm.tl.markov_test(adata, **FAST)
    pair = two_times(hand)
    pair.obs["time"] = pair.obs["time"].map({"d2": "early", "d10": "late"}).astype(object)
    with pytest.raises(ValueError, match=r"could not be put in time order .*pass conditions=\(early, late\)"):
        bm.tl.lmi(pair, **FAST)


def test_unused_categories_are_not_time_points(hand):
    """A categorical time with unused categories: the defaults use the values present."""
    adata = two_times(hand, "d2", "d6")
    adata.obs["time"] = adata.obs["time"].cat.set_categories(["d2", "d6", "d10", "d14"])
    bm.tl.lmi(adata, **FAST)
    assert adata.uns["lmi"]["params"]["conditions"] == ["d2", "d6"]
    full = hand.copy()
    full.obs["time"] = full.obs["time"].cat.set_categories(["d2", "d6", "d10", "d14"])
    full.obs["well"] = pd.Categorical(full.obs["well"], categories=["0", "1", "2"])  # well '2' unused
    bm.tl.markov_test(full, min_clones=20, **FAST)
    params = full.uns["markov_test"]["params"]
    assert (params["late"], params["wells"]) == ("d10", ["0", "1"])


def test_unused_well_category_is_not_a_well(hand):
    """A categorical well column whose other categories are unused at the late time has one well there
    (value_counts listed the unused ones with count 0 and the test went on to find 0 clones)."""
    adata = hand.copy()
    adata.obs["well"] = pd.Categorical(adata.obs["well"].map({"0": "A", "1": "B"}), categories=["A", "B", "C"])
    one_well = adata[~((adata.obs["time"] == "d10") & (adata.obs["well"] == "B")).to_numpy()].copy()
    with pytest.raises(ValueError, match=r"need cells from two wells at time='d10'; obs\['well'\] there has \['A'\]"):
        bm.tl.markov_test(one_well, **FAST)


@pytest.mark.slow
@pytest.mark.parametrize("stored", ["int", "str", "category"])
def test_integer_and_string_time_values(hand, stored):
    """Time stored as 2/10 or "2"/"10" (or categories of them): 2 and "2" name the same time point, the
    default order is numeric, and the results are the same; params keep the value as stored."""
    adata = two_times(hand)
    numbers = adata.obs["time"].map({"d2": 2, "d10": 10}).astype(int)
    adata.obs["time"] = {
        "int": numbers,
        "str": numbers.astype(str),
        "category": numbers.astype(str).astype("category"),
    }[stored]
    reference = bm.tl.lmi(two_times(hand), copy=True, **FAST).uns["lmi"]["table"]
    for conditions in [None, (2, 10), ("2", "10"), ("2.0", "10.0")]:
        out = bm.tl.lmi(adata, conditions=conditions, copy=True, **FAST).uns["lmi"]
        pd.testing.assert_frame_equal(out["table"], reference)
        assert out["params"]["conditions"] == ([2, 10] if stored == "int" else ["2", "10"])


def test_integer_and_string_labels_mixed_in_one_column(hand, no_fit):
    """An object column holding both 2 and "2" has no time order (two values, one number)."""
    adata = two_times(hand)
    values = adata.obs["time"].map({"d2": 2, "d10": "2"}).astype(object)
    adata.obs["time"] = values
    with pytest.raises(ValueError, match="could not be put in time order .*two values hold the same number"):
        bm.tl.lmi(adata, **FAST)


# --- duplicated names, views, backed objects, not an AnnData ------------------------------------------------


@pytest.mark.filterwarnings("ignore:Observation names are not unique")
def test_duplicated_obs_names_pair_by_position(hand):
    """Cells are paired by row position, so duplicated names change nothing (anndata warns about them)."""
    adata = two_times(hand)
    with pytest.warns(UserWarning, match="not unique"):
        dup = ad.AnnData(X=adata.X, obs=adata.obs.set_axis(["cell"] * adata.n_obs))
    a = bm.tl.lmi(adata, copy=True, **FAST).uns["lmi"]["table"]
    b = bm.tl.lmi(dup, copy=True, **FAST).uns["lmi"]["table"]
    pd.testing.assert_frame_equal(a, b)
    bm.tl.pmi(adata, **options("pmi"))
    bm.tl.pmi(dup, **options("pmi"))
    np.testing.assert_array_equal(adata.obs["pmi"].to_numpy(), dup.obs["pmi"].to_numpy())


def test_view_is_read_as_is_and_parent_unchanged(hand):
    """A view: results equal those on its copy; written to the view (which anndata makes an AnnData of its
    own), never to the parent."""
    parent = hand.copy()
    view = parent[(parent.obs["time"] != "d6").to_numpy()]
    assert view.is_view
    expected = bm.tl.lmi(view.copy(), copy=True, **FAST).uns["lmi"]["table"]
    copied = bm.tl.lmi(view, copy=True, **FAST)
    pd.testing.assert_frame_equal(copied.uns["lmi"]["table"], expected)
    with pytest.warns(UserWarning):  # anndata's ImplicitModificationWarning: the view becomes an AnnData
        bm.tl.lmi(view, **FAST)
    pd.testing.assert_frame_equal(view.uns["lmi"]["table"], expected)
    assert "lmi" not in parent.uns
    pmi_view = parent[(parent.obs["time"] != "d6").to_numpy()]
    with pytest.warns(UserWarning):
        bm.tl.pmi(pmi_view, **options("pmi"))
    assert "pmi" in pmi_view.obs and "pmi" not in parent.obs


def test_backed_anndata(hand, tmp_path, no_fit):
    """A backed object: .X is read into memory, results go to the object in memory, the file is unchanged;
    copy=True is refused before any fit."""
    path = tmp_path / "hand.h5ad"
    two_times(hand).write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    try:
        for name in ("lmi", "pmi", "markov_test"):
            with pytest.raises(ValueError, match="adata is backed by the file .* use copy=False"):
                tool(name)(backed, copy=True, **options(name))
    finally:
        backed.file.close()


def test_backed_anndata_results(hand, tmp_path):
    path = tmp_path / "hand.h5ad"
    in_memory = two_times(hand)
    in_memory.write_h5ad(path)
    before = path.read_bytes()
    expected = bm.tl.lmi(in_memory, copy=True, **FAST).uns["lmi"]["table"]
    backed = ad.read_h5ad(path, backed="r")
    try:
        bm.tl.lmi(backed, **FAST)
        pd.testing.assert_frame_equal(backed.uns["lmi"]["table"], expected)
        bm.tl.lmi(backed, layer="counts", key_added="lmi_counts", **FAST)
        bm.tl.pmi(backed, **options("pmi"))
        assert backed.obs["pmi"].notna().any()
    finally:
        backed.file.close()
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["lmi", "pmi", "markov_test", "draw_pairings"])
def test_not_an_anndata(hand, no_fit, name):
    with pytest.raises(TypeError, match="adata must be an AnnData, got ndarray"):
        tool(name)(hand.X.toarray(), **options(name))


def test_pmi_side_both_on_paired_data_is_refused(no_fit):
    """side='both' was silently replaced by 'early' on paired data: an argument the user typed."""
    pairs = bm.datasets.simulate_interactions(n_pairs=120, n_proteins=80, d=8, random_state=0)
    with pytest.raises(ValueError, match="side='both'.*one row per pair"):
        bm.tl.pmi(pairs, side="both", **{k: v for k, v in FAST.items() if k != "n_shuffles"})


# --- few shared clones (small real objects): the defaults estimate what the clones allow, with a warning; a ------
# --- min_clones or method you give is honoured -----------------------------------------------------------------

QUIET = dict(n_pairings=2, progress=False, n_jobs=1, random_state=0)
TOOLS = {
    "lmi": (bm.tl.lmi, dict(conditions=("d2", "d10"), n_shuffles=2)),
    "pmi": (bm.tl.pmi, dict(conditions=("d2", "d10"))),
    "markov_test": (bm.tl.markov_test, dict(n_shuffles=1)),
}


def few(n_clones: int):
    return by_hand(n_clones=n_clones, seed=1)


def run(name: str, adata, **kwargs):
    """Run tool ``name`` on ``adata``; return its uns entry and the messages of the EstimateWarnings it gave."""
    func, defaults = TOOLS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func(adata, **QUIET, **defaults, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, bm.EstimateWarning)]
    return adata.uns["markov_test" if name == "markov_test" else name], messages


@pytest.mark.parametrize("name", list(TOOLS))
def test_fewer_than_50_clones_estimate_with_a_warning_and_a_typed_min_clones_refuses(name):
    adata = few(20)
    entry, messages = run(name, adata, method="ksg")
    assert entry["params"]["method"] == "ksg" and entry["params"]["min_clones"] == "None"
    assert any("20 clones shared by time='d2' and time='d10'" in m and "fewer than 50" in m for m in messages)
    if name == "markov_test":  # both comparisons are named
        assert any("20 clones shared by well='0' and well='1' at time='d10'" in m for m in messages)
    with pytest.raises(ValueError, match=r"found 20 clones observed under both .*; at least 30 are needed \(under"):
        run(name, few(20), method="ksg", min_clones=30)
    _, quiet = run(name, few(20), method="ksg", min_clones=20)  # a floor you give: no warning of the tool's own
    assert not any("fewer than 50" in m for m in quiet)


@pytest.mark.parametrize("name", list(TOOLS))
def test_too_few_clones_for_lmi_run_ksg_by_default_and_refuse_a_typed_lmi(name, no_fit):
    with pytest.raises(ValueError, match=r"7 clones shared by time='d2' and time='d10'.*too few for method='lmi', "):
        run(name, few(7), method="lmi")  # typed: never replaced, refused before any fit (no_fit)


@pytest.mark.parametrize("name", list(TOOLS))
def test_the_default_method_falls_back_to_ksg_below_lmis_halves(name):
    entry, messages = run(name, few(7))
    assert entry["params"]["method"] == "ksg"
    assert any(
        "7 clones shared by time='d2' and time='d10'" in m and "too few for LMI, the default" in m for m in messages
    )
    reference, _ = run(name, few(7), method="ksg")  # the same fits as KSG asked for by name
    if name == "pmi":
        return
    assert reference["table"]["estimate"].tolist() == entry["table"]["estimate"].tolist()


def test_the_fallback_adjusts_with_the_k_nn_cmi():
    adata = few(7)
    adata.obs["score"] = np.random.default_rng(0).normal(size=adata.n_obs)
    entry, messages = run("lmi", adata, adjust_for="score")
    assert entry["params"]["method"] == "ksg" and entry["summary"]["adjusted"].tolist() == [False, True]
    assert any("too few for LMI, the default" in m for m in messages)


def test_the_fallback_serves_the_default_only(no_fit):
    """Options of LMI (estimator_kwds) or an attribution (LMI's decoders) ask for LMI: no fallback, a clear error."""
    with pytest.raises(ValueError, match="too few for method='lmi'"):
        run("lmi", few(7), estimator_kwds={"epochs": 3})
    with pytest.raises(ValueError, match="too few for method='lmi'"):
        run("lmi", few(7), attribution=True)


@pytest.mark.parametrize("name", list(TOOLS))
def test_fewer_clones_than_any_estimate_needs_are_refused_with_the_cells_listed(name, no_fit):
    with pytest.raises(ValueError, match=r"found 4 clones observed under both .*; at least 5 are needed \(under"):
        run(name, few(4))


def test_min_clones_must_be_none_or_a_positive_int(no_fit):
    for bad in (0, -3, 2.5, "50"):
        with pytest.raises((ValueError, TypeError), match="min_clones"):
            run("lmi", few(20), min_clones=bad)
