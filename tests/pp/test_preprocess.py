"""Expression preprocessing of Appendix A.4.2 (normalise, log1p, HVG, scale) through scanpy."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.io
import scipy.sparse as sp

import bioinfo_mi as bm
from bioinfo_mi.pp import preprocess
from bioinfo_mi.pp.preprocess import UNS_KEY, X_CONTENT_KEY

N_CELLS, N_GENES, N_TOP = 300, 200, 50


def _counts(sparse=True, seed=0):
    rng = np.random.default_rng(seed)
    # gene-specific rates and a few overdispersed genes so that dispersions differ
    rates = rng.gamma(2.0, 2.0, size=N_GENES)
    rates = rates * rng.gamma(1.0, 1.0, size=(N_CELLS, N_GENES)) ** (np.arange(N_GENES) % 3 == 0)
    x = rng.poisson(rates).astype(np.float32)
    obs = pd.DataFrame({"clone": [f"c{i % 40}" for i in range(N_CELLS)]}, index=[f"cell{i}" for i in range(N_CELLS)])
    var = pd.DataFrame(index=[f"g{j}" for j in range(N_GENES)])
    return ad.AnnData(X=sp.csr_matrix(x) if sparse else x, obs=obs, var=var)


@pytest.fixture
def adata():
    return _counts()


def _dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


@pytest.mark.parametrize("sparse", [True, False])
def test_output_shape_scaling_and_clipping(sparse):
    adata = _counts(sparse=sparse)
    out = preprocess(adata, n_top_genes=N_TOP, max_value=1.5, copy=True)
    assert out.shape == (N_CELLS, N_TOP)
    x = _dense(out.X)
    assert np.all(np.isfinite(x))
    assert np.abs(x).max() <= 1.5 + 1e-6
    assert np.isclose(np.abs(x).max(), 1.5, atol=1e-6)  # clipping actually happened
    assert out.var["highly_variable"].all()


def test_per_gene_mean_zero_unit_variance_without_clipping(adata):
    out = preprocess(adata, n_top_genes=N_TOP, max_value=None, copy=True)
    x = _dense(out.X)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=0, ddof=1), 1.0, atol=1e-3)


def test_matches_the_scanpy_pipeline(adata):
    """Same result as calling the four scanpy steps by hand (nothing re-implemented)."""
    out = preprocess(adata, n_top_genes=N_TOP, copy=True)
    ref = adata.copy()
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, n_top_genes=N_TOP, flavor="seurat", subset=True)
    sc.pp.scale(ref, max_value=10)
    assert list(out.var_names) == list(ref.var_names)
    np.testing.assert_allclose(_dense(out.X), _dense(ref.X), rtol=1e-5, atol=1e-6)


def test_counts_layer_is_the_input_on_selected_genes(adata):
    out = preprocess(adata, n_top_genes=N_TOP, layer_counts="raw", copy=True)
    assert "raw" in out.layers
    expected = _dense(adata[:, out.var_names].X)
    np.testing.assert_array_equal(_dense(out.layers["raw"]), expected)
    assert sp.issparse(out.layers["raw"])


def test_uns_params_survive_h5ad(adata, tmp_path):
    out = preprocess(adata, target_sum=5e3, n_top_genes=N_TOP, max_value=10.0, copy=True)
    params = out.uns[UNS_KEY]
    assert params["target_sum"] == 5e3
    assert params["n_top_genes"] == N_TOP
    assert params["max_value"] == 10.0
    assert params["flavor"] == "seurat"
    assert params["layer_counts"] == "counts"
    assert params["n_vars_input"] == N_GENES
    assert params["n_vars_output"] == N_TOP
    assert params["paper_section"] == "A.4.2"
    path = tmp_path / "pp.h5ad"
    out.write_h5ad(path)
    back = ad.read_h5ad(path)
    assert back.uns[UNS_KEY]["n_top_genes"] == N_TOP
    assert back.uns[UNS_KEY]["flavor"] == "seurat"
    np.testing.assert_array_equal(_dense(back.layers["counts"]), _dense(out.layers["counts"]))


def test_copy_true_leaves_input_untouched(adata):
    before = adata.X.copy()
    out = preprocess(adata, n_top_genes=N_TOP, copy=True)
    assert out is not adata
    assert adata.shape == (N_CELLS, N_GENES)
    np.testing.assert_array_equal(_dense(adata.X), _dense(before))
    assert "counts" not in adata.layers
    assert UNS_KEY not in adata.uns and "log1p" not in adata.uns


def test_copy_false_modifies_in_place_and_subsets_genes(adata):
    ref = preprocess(adata, n_top_genes=N_TOP, copy=True)
    result = preprocess(adata, n_top_genes=N_TOP)
    assert result is None
    assert adata.shape == (N_CELLS, N_TOP)
    assert list(adata.var_names) == list(ref.var_names)
    np.testing.assert_allclose(_dense(adata.X), _dense(ref.X))
    assert UNS_KEY in adata.uns and "counts" in adata.layers


def test_integer_counts(adata):
    adata.X = adata.X.astype(np.int64)
    out = preprocess(adata, n_top_genes=N_TOP, copy=True)
    assert np.issubdtype(out.X.dtype, np.floating)
    assert out.layers["counts"].dtype == np.int64


def test_cell_ranger_flavor(adata):
    out = preprocess(adata, n_top_genes=N_TOP, flavor="cell_ranger", copy=True)
    assert out.n_vars == N_TOP
    assert out.uns[UNS_KEY]["flavor"] == "cell_ranger"


@pytest.mark.parametrize("n_top", [0, -3, N_GENES + 1])
def test_bad_n_top_genes(adata, n_top):
    with pytest.raises(ValueError, match="n_top_genes"):
        preprocess(adata, n_top_genes=n_top)
    assert adata.shape == (N_CELLS, N_GENES)


def test_n_top_genes_not_integer(adata):
    with pytest.raises(TypeError, match="n_top_genes"):
        preprocess(adata, n_top_genes=10.5)


def test_already_scaled_data_raise(adata):
    sc.pp.log1p(adata)
    sc.pp.scale(adata)
    del adata.uns["log1p"]  # scaled values without scanpy's mark: caught by their negative values
    with pytest.raises(ValueError, match="already scaled/log-transformed"):
        preprocess(adata, n_top_genes=N_TOP)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_raise(bad):
    adata = _counts(sparse=False)
    adata.X[3, 4] = bad
    with pytest.raises(ValueError, match="NaN"):
        preprocess(adata, n_top_genes=N_TOP)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_sum": 0}, "target_sum"),
        ({"max_value": -1.0}, "max_value"),
        ({"flavor": "bogus"}, "flavor"),
        ({"layer_counts": ""}, "layer_counts"),
    ],
)
def test_bad_arguments(adata, kwargs, match):
    with pytest.raises(ValueError, match=match):
        preprocess(adata, n_top_genes=N_TOP, **kwargs)


def test_view_in_place_becomes_actual(adata):
    view = adata[:100]
    preprocess(view, n_top_genes=N_TOP)
    assert not view.is_view
    assert view.shape == (100, N_TOP)
    assert adata.shape == (N_CELLS, N_GENES)


# ---------------------------------------------------------------------------------------------
# input that is not raw counts; layers never overwritten (issue 27, item 6)
# ---------------------------------------------------------------------------------------------


def _scanpy_state(adata):
    """The usual scanpy object: raw counts in layers['counts'], log-normalised values in .X."""
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


def _snapshot(adata):
    return {
        "shape": adata.shape,
        "X": _dense(adata.X).copy(),
        "layers": {key: _dense(value).copy() for key, value in adata.layers.items()},
        "uns": sorted(adata.uns),
        "var_names": list(adata.var_names),
    }


def _assert_unchanged(adata, before):
    assert adata.shape == before["shape"]
    np.testing.assert_array_equal(_dense(adata.X), before["X"])
    assert sorted(adata.layers) == sorted(before["layers"])
    for key, value in before["layers"].items():
        np.testing.assert_array_equal(_dense(adata.layers[key]), value)
    assert sorted(adata.uns) == before["uns"]
    assert list(adata.var_names) == before["var_names"]


def test_log_transformed_x_raises_before_any_change(adata):
    """Log values in .X (uns['log1p']) are not logged a second time and layers['counts'] keeps the counts."""
    adata = _scanpy_state(adata)
    before = _snapshot(adata)
    with pytest.raises(ValueError, match=r"uns\['log1p'\] is present.*layer='counts'"):
        preprocess(adata, n_top_genes=N_TOP)
    _assert_unchanged(adata, before)


def test_log_values_without_scanpy_mark_caught_as_non_integer(adata):
    adata = _scanpy_state(adata)
    del adata.uns["log1p"], adata.layers["counts"]
    before = _snapshot(adata)
    with pytest.raises(ValueError, match="non-integer values.*typical of log-transformed data"):
        preprocess(adata, n_top_genes=N_TOP)
    _assert_unchanged(adata, before)


def test_layer_preprocesses_the_counts_of_the_usual_scanpy_object(adata):
    ref = preprocess(adata, n_top_genes=N_TOP, copy=True)
    state = _scanpy_state(adata.copy())
    out = preprocess(state, layer="counts", n_top_genes=N_TOP, copy=True)
    assert list(out.var_names) == list(ref.var_names)
    np.testing.assert_allclose(_dense(out.X), _dense(ref.X), rtol=1e-5, atol=1e-6)
    # the counts layer still holds the raw counts (on the selected genes), not log values
    np.testing.assert_array_equal(_dense(out.layers["counts"]), _dense(adata[:, out.var_names].X))
    params = out.uns[UNS_KEY]
    assert (params["layer"], params["layer_counts"], params["counts"]) == ("counts", "counts", "raw")
    assert out.uns["log1p"] == ref.uns["log1p"]


def test_layer_in_place_on_a_view(adata):
    state = _scanpy_state(adata.copy())
    view = state[:150]
    ref = preprocess(adata[:150].copy(), n_top_genes=N_TOP, copy=True)
    preprocess(view, layer="counts", n_top_genes=N_TOP)
    assert not view.is_view and list(view.var_names) == list(ref.var_names)
    np.testing.assert_allclose(view.X, ref.X, rtol=1e-5, atol=1e-6)
    assert state.shape == (N_CELLS, N_GENES) and "log1p" in state.uns and UNS_KEY not in state.uns


def test_existing_counts_layer_is_never_overwritten(adata):
    other = adata.X.copy() * 2
    adata.layers["counts"] = other
    before = _snapshot(adata)
    with pytest.raises(ValueError, match=r"adata.layers\['counts'\] already exists.*never overwrites"):
        preprocess(adata, n_top_genes=N_TOP)
    _assert_unchanged(adata, before)
    out = preprocess(adata, n_top_genes=N_TOP, layer_counts="input", copy=True)
    np.testing.assert_array_equal(
        _dense(out.layers["counts"]), _dense(other[:, adata.var_names.get_indexer(out.var_names)])
    )
    np.testing.assert_array_equal(_dense(out.layers["input"]), _dense(adata[:, out.var_names].X))


def test_explicit_layer_counts_other_than_layer_is_not_overwritten(adata):
    adata.layers["raw"] = adata.X.copy()
    adata.layers["spliced"] = adata.X.copy() * 3
    with pytest.raises(ValueError, match=r"adata.layers\['spliced'\] already exists"):
        preprocess(adata, layer="raw", layer_counts="spliced", n_top_genes=N_TOP)
    out = preprocess(adata, layer="raw", layer_counts="kept", n_top_genes=N_TOP, copy=True)
    np.testing.assert_array_equal(_dense(out.layers["kept"]), _dense(out.layers["raw"]))


def test_preprocessing_twice_raises(adata):
    preprocess(adata, n_top_genes=N_TOP)
    before = _snapshot(adata)
    with pytest.raises(ValueError, match="already preprocessed"):
        preprocess(adata, n_top_genes=N_TOP)
    with pytest.raises(ValueError, match="already preprocessed"):
        preprocess(adata, layer="counts", n_top_genes=N_TOP)
    _assert_unchanged(adata, before)


def _normalised(adata):
    x = _dense(adata.X).astype(np.float64)
    adata.X = sp.csr_matrix((x / np.maximum(x.sum(axis=1, keepdims=True), 1) * 1000).astype(np.float32))
    return adata


def test_normalised_counts_need_the_opt_in(adata):
    adata = _normalised(adata)
    before = _snapshot(adata)
    with pytest.raises(ValueError, match="non-integer values.*counts='normalized'"):
        preprocess(adata, n_top_genes=N_TOP)
    with pytest.raises(ValueError, match="non-integer"):
        preprocess(adata, counts="raw", n_top_genes=N_TOP)
    _assert_unchanged(adata, before)
    out = preprocess(adata, counts="normalized", n_top_genes=N_TOP, copy=True)
    ref = adata.copy()
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, n_top_genes=N_TOP, flavor="seurat", subset=True)
    sc.pp.scale(ref, max_value=10)
    np.testing.assert_allclose(_dense(out.X), _dense(ref.X), rtol=1e-5, atol=1e-6)
    assert out.uns[UNS_KEY]["counts"] == "normalized"


def test_loader_flag_declares_normalised_counts(adata):
    adata = _normalised(adata)
    adata.uns[X_CONTENT_KEY] = "normalized_counts"
    out = preprocess(adata, n_top_genes=N_TOP, copy=True)
    assert out.uns[UNS_KEY]["counts"] == "normalized"
    assert X_CONTENT_KEY not in out.uns  # .X holds scaled values now
    assert adata.uns[X_CONTENT_KEY] == "normalized_counts"  # copy=True: input untouched
    with pytest.raises(ValueError, match="non-integer"):  # a typed counts='raw' is not replaced by the flag
        preprocess(adata, counts="raw", n_top_genes=N_TOP)


def test_non_integer_value_found_in_the_last_row():
    adata = _counts(sparse=False)
    adata.X[-1, 5] = 2.5
    with pytest.raises(ValueError, match=r"non-integer values \(e.g. 2.5"):
        preprocess(adata, n_top_genes=N_TOP)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer": "nope"}, KeyError, r"layer 'nope' not found in adata.layers; available: \['counts'\]"),
        ({"layer": 3}, TypeError, "layer must be"),
        ({"counts": "log"}, ValueError, "counts must be one of"),
    ],
)
def test_bad_layer_and_counts_arguments(adata, kwargs, error, match):
    adata.layers["counts"] = adata.X.copy()
    with pytest.raises(error, match=match):
        preprocess(adata, n_top_genes=N_TOP, **kwargs)


def test_simulate_lineage_output_is_preprocessed():
    adata = bm.datasets.simulate_lineage(n_clones=40, n_genes=80, random_state=0)
    assert adata.uns[X_CONTENT_KEY] == "normalized_counts"
    preprocess(adata, n_top_genes=40)
    assert adata.uns[UNS_KEY]["counts"] == "normalized" and "counts" in adata.layers


def _write_larry(folder: Path, adata) -> None:
    """The four required in-vitro LARRY files, from simulated normalised counts."""
    folder.mkdir()
    prefix = "stateFate_inVitro_"
    scipy.io.mmwrite(str(folder / f"{prefix}normed_counts.mtx"), sp.coo_matrix(adata.X))
    scipy.io.mmwrite(str(folder / f"{prefix}clone_matrix.mtx"), sp.coo_matrix(adata.obsm["X_clone"]))
    (folder / f"{prefix}gene_names.txt").write_text("\n".join(adata.var_names) + "\n")
    meta = pd.DataFrame(
        {
            "Library": "d2",
            "Cell barcode": [f"AC-{i}" for i in range(adata.n_obs)],
            "Time point": adata.obs["time"].to_numpy(),
            "Starting population": "Lin-Kit+",
            "Cell type annotation": adata.obs["cell_type"].astype(str).to_numpy(),
            "Well": adata.obs["well"].to_numpy(),
            "SPRING-x": 0.0,
            "SPRING-y": 0.0,
        }
    )
    meta.to_csv(folder / f"{prefix}metadata.txt", sep="\t", index=False)


def test_read_larry_output_is_preprocessed(tmp_path):
    """LARRY's published counts are normalised (non-integer); the paper normalised them again."""
    sim = bm.datasets.simulate_lineage(n_clones=40, n_genes=80, random_state=0)
    _write_larry(tmp_path / "larry", sim)
    larry = bm.datasets.read_larry(tmp_path / "larry")
    assert larry.uns[X_CONTENT_KEY] == "normalized_counts"
    larry = larry[larry.obs["clone"].notna()].copy()
    out = preprocess(larry, n_top_genes=40, copy=True)
    assert out.uns[UNS_KEY]["counts"] == "normalized"
    np.testing.assert_array_equal(_dense(out.layers["counts"]), _dense(larry[:, out.var_names].X))


def test_default_n_top_genes_on_fewer_genes_keeps_them_all():
    """The default (the paper's 1000) raised on a 100-gene object; a number the user gives still does."""
    adata = bm.datasets.simulate_lineage(n_clones=60, n_genes=100, random_state=0)
    out = bm.pp.preprocess(adata, copy=True)
    assert out.uns["bioinfo_mi_preprocess"]["n_top_genes"] == 100 and out.n_vars <= 100
    with pytest.raises(ValueError, match="n_top_genes=1000 exceeds"):
        bm.pp.preprocess(adata, n_top_genes=1000, copy=True)


@pytest.mark.parametrize(
    "counts, what",
    [
        (np.zeros((10, 4)), "every count 0"),
        (sp.csr_matrix((10, 4)), "every count 0, sparse"),
        (np.full((20, 5), 3.0), "the same counts in every cell"),
        (np.outer(np.arange(1, 21), np.arange(1, 6)), "counts proportional between cells (library size only)"),
    ],
)
def test_nothing_to_select_raises_before_any_change(counts, what):
    """No gene varies once cells are scaled to one total: a clear error, the object as it was (was IndexError)."""
    adata = ad.AnnData(counts.astype(np.float32))
    before = adata.copy()
    with pytest.raises(ValueError, match="no gene of adata.X varies across cells once each cell is scaled"):
        bm.pp.preprocess(adata)
    assert adata.n_vars == before.n_vars and not adata.layers and not adata.uns
    assert (abs(adata.X - before.X)).max() == 0


def test_one_cell_raises_and_a_varying_gene_found_beyond_the_sampled_rows_passes():
    with pytest.raises(ValueError, match="at least 2 cells .* adata.X has 1"):
        bm.pp.preprocess(ad.AnnData(np.ones((1, 4), dtype=np.float32)))
    counts = np.ones((5000, 3), dtype=np.float32)  # identical cells but one, which no evenly spaced sample row hits
    counts[4002] = (1, 2, 3)
    adata = ad.AnnData(counts)
    bm.pp.preprocess(adata, n_top_genes=3)
    assert adata.n_vars >= 1 and np.isfinite(adata.X).all()  # what scanpy selects among 3 genes
