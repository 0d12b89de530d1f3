"""Expression preprocessing before LMI (LMI paper, Appendix A.4.2).

The paper preprocessed the LARRY lineage-tracing data "using the Scanpy best practices":
normalise total counts per cell to 1e4, ``log1p``, keep the 1000 most highly variable genes, then
scale every gene to unit variance and clip at ±10. :func:`preprocess` runs exactly these scanpy
calls, in that order, and records how it was called, so the steps are not re-implemented here.
"""

from __future__ import annotations

import math
from importlib.metadata import version
from numbers import Real
from typing import Any

import numpy as np
import scanpy as sc
import scipy.sparse as sp
from anndata import AnnData

from .._validation import check_positive_int

__all__ = ["preprocess", "UNS_KEY"]

#: Key of ``adata.uns`` under which :func:`preprocess` records its parameters.
UNS_KEY = "bioinfo_mi_preprocess"

_FLAVORS = ("seurat", "cell_ranger", "seurat_v3", "seurat_v3_paper")
# These flavors model raw counts, so scanpy must see the counts layer, not the log data.
_COUNT_FLAVORS = ("seurat_v3", "seurat_v3_paper")


def preprocess(
    adata: AnnData,
    *,
    target_sum: float = 1e4,
    n_top_genes: int = 1000,
    max_value: float | None = 10.0,
    flavor: str = "seurat",
    layer_counts: str = "counts",
    copy: bool = False,
) -> AnnData | None:
    """Normalise, log-transform, select highly variable genes and scale (LMI paper, Appendix A.4.2).

    Runs, in order, :func:`scanpy.pp.normalize_total` (``target_sum``), :func:`scanpy.pp.log1p`,
    :func:`scanpy.pp.highly_variable_genes` (``n_top_genes``, ``flavor``, ``subset=True``) and
    :func:`scanpy.pp.scale` (``max_value``). With the defaults this is the paper's preprocessing of
    the LARRY data. The paper also kept only cells with a clone; that is a cell filter this function
    does not apply, e.g. ``adata = adata[adata.obs["clone"].notna()].copy()`` beforehand.

    Parameters
    ----------
    adata
        Cells × genes with non-negative, non-log-transformed counts in ``.X`` (dense or sparse).
        For LARRY (:func:`bioinfo_mi.datasets.read_larry`) these are the published normalised
        counts; normalising them again to ``target_sum`` is what the paper did.
    target_sum
        Total counts per cell after normalisation (paper: 1e4). Must be positive and finite.
    n_top_genes
        Number of highly variable genes kept (paper: 1000); between 1 and ``adata.n_vars``.
        As in scanpy, ties at the cut-off can keep a few more genes and genes with undefined
        dispersion (constant genes) are never selected, so fewer can be kept.
    max_value
        Scaled values are clipped to ``[-max_value, max_value]`` (paper: 10). ``None``: no clipping.
    flavor
        Flavor of :func:`scanpy.pp.highly_variable_genes`: ``'seurat'`` (default, on the log
        data), ``'cell_ranger'``, or ``'seurat_v3'`` / ``'seurat_v3_paper'`` (computed on the
        counts in ``layers[layer_counts]``; they need the ``scikit-misc`` package).
    layer_counts
        Layer that receives a copy of the input ``.X`` before normalisation. An existing layer of
        that name is overwritten.
    copy
        Return a preprocessed copy and leave ``adata`` untouched. Otherwise ``adata`` itself is
        modified **in place, genes included**: ``highly_variable_genes(subset=True)`` drops the
        unselected genes from ``adata`` (``adata.n_vars`` shrinks to about ``n_top_genes``), so
        keep a copy if you need the full matrix. A view is turned into an actual AnnData first,
        as scanpy does.

    Returns
    -------
    ``None`` if ``copy=False``, else the preprocessed AnnData. In it (or in ``adata``):

    - ``.X``: dense float, scaled log-normalised expression of the selected genes, per-gene mean
      0 and variance 1 before clipping at ``±max_value``.
    - ``.var``: only the selected genes, with scanpy's columns (``highly_variable``, ``means``,
      ``dispersions``, ``dispersions_norm``, ``mean``, ``std``, ...).
    - ``.layers[layer_counts]``: the input ``.X`` (before normalisation), restricted to the
      selected genes, in its original type and dtype.
    - ``.uns['bioinfo_mi_preprocess']``: dict of plain values, saved by ``write_h5ad``:
      ``target_sum``, ``n_top_genes``, ``max_value`` (``None`` stored as ``'none'``), ``flavor``,
      ``layer_counts``, ``n_vars_input``, ``n_vars_output``, ``scanpy_version``,
      ``paper_section`` (``'A.4.2'``).
    - scanpy's own entries: ``.uns['log1p']``, ``.uns['hvg']``.

    Raises
    ------
    ValueError
        ``n_top_genes`` < 1 or > ``adata.n_vars``; ``target_sum`` or ``max_value`` not positive;
        unknown ``flavor``; ``.X`` containing NaN/inf or negative values (data that look already
        scaled or log-transformed).
    TypeError
        ``adata`` not an AnnData, ``n_top_genes`` not an integer.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an AnnData, got {type(adata).__name__}")
    n_top_genes = check_positive_int(n_top_genes, name="n_top_genes")
    if n_top_genes > adata.n_vars:
        raise ValueError(
            f"n_top_genes={n_top_genes} exceeds the number of genes (adata.n_vars={adata.n_vars}); "
            "pass n_top_genes <= adata.n_vars"
        )
    target_sum = _check_positive_float(target_sum, name="target_sum")
    if max_value is not None:
        max_value = _check_positive_float(max_value, name="max_value")
    if flavor not in _FLAVORS:
        raise ValueError(f"flavor must be one of {list(_FLAVORS)}, got {flavor!r}")
    if not isinstance(layer_counts, str) or not layer_counts:
        raise ValueError(f"layer_counts must be a non-empty string, got {layer_counts!r}")
    _check_counts(adata.X)

    if copy:
        adata = adata.copy()
    n_vars_input = adata.n_vars
    # normalize_total writes into .X (in place for sparse data), so the layer needs its own copy.
    counts = adata.X.copy()

    sc.pp.normalize_total(adata, target_sum=target_sum)  # also turns a view into an actual object
    adata.layers[layer_counts] = counts
    sc.pp.log1p(adata)
    hvg_layer = layer_counts if flavor in _COUNT_FLAVORS else None
    # subset=True removes the other genes from adata itself (and from all its layers).
    sc.pp.highly_variable_genes(adata, n_top_genes=n_top_genes, flavor=flavor, layer=hvg_layer, subset=True)
    if sp.issparse(adata.X):
        # scaling zero-centres and so densifies anyway; doing it here avoids scanpy's warning
        adata.X = adata.X.toarray()
    sc.pp.scale(adata, max_value=max_value)

    adata.uns[UNS_KEY] = {
        "target_sum": target_sum,
        "n_top_genes": n_top_genes,
        "max_value": "none" if max_value is None else max_value,  # h5ad cannot store None
        "flavor": flavor,
        "layer_counts": layer_counts,
        "n_vars_input": int(n_vars_input),
        "n_vars_output": int(adata.n_vars),
        "scanpy_version": version("scanpy"),
        "paper_section": "A.4.2",
    }
    return adata if copy else None


def _check_positive_float(value: Any, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _check_counts(x: Any) -> None:
    """Raise unless ``x`` holds finite, non-negative numbers (counts, not log/scaled data)."""
    values = x.data if sp.issparse(x) else np.asarray(x)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise ValueError(f"adata.X must be numeric counts, got dtype {values.dtype}")
    if values.size == 0:
        return
    if not np.all(np.isfinite(values)):
        raise ValueError("adata.X contains NaN or infinite values; preprocess expects finite counts")
    if values.min() < 0:
        raise ValueError(
            "adata.X contains negative values: the data look already scaled/log-transformed. "
            "preprocess expects non-negative counts (e.g. adata.layers['counts'] moved back to .X)"
        )
