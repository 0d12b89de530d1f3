"""Expression preprocessing of Appendix A.4.2 (normalise, log1p, HVG, scale) through scanpy."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp

from bioinfo_mi.pp import preprocess
from bioinfo_mi.pp.preprocess import UNS_KEY

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
