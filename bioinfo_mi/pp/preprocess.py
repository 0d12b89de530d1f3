"""Expression preprocessing before LMI (LMI paper, Appendix A.4.2).

The paper preprocessed the LARRY lineage-tracing data "using the Scanpy best practices":
normalise total counts per cell to 1e4, ``log1p``, keep the 1000 most highly variable genes, then
scale every gene to unit variance and clip at ±10. :func:`preprocess` runs exactly these scanpy
calls, in that order, and records how it was called, so the steps are not re-implemented here.

Its input must be counts: it refuses data that are log-transformed, scaled or already preprocessed
(running the steps on them would transform them twice), and it never overwrites an existing layer.
"""

from __future__ import annotations

import importlib.util
import math
from importlib.metadata import version
from numbers import Real
from typing import Any

import numpy as np
import scanpy as sc
import scipy.sparse as sp
from anndata import AnnData

from .._docs import shared_docs
from .._validation import check_positive_int

__all__ = ["preprocess", "UNS_KEY", "X_CONTENT_KEY"]

#: highly variable genes kept by default (the paper's number; every gene of an object with fewer)
DEFAULT_N_TOP_GENES = 1000

#: Key of ``adata.uns`` under which :func:`preprocess` records its parameters.
UNS_KEY = "bioinfo_mi_preprocess"
#: Key of ``adata.uns`` saying what ``.X`` holds when it is not raw counts. The loaders of total-count
#: normalised data (:func:`bioinfo_mi.datasets.read_larry`, :func:`bioinfo_mi.datasets.simulate_lineage`)
#: set it to ``"normalized_counts"``; :func:`preprocess` reads it (``counts="auto"``) and removes it.
X_CONTENT_KEY = "bioinfo_mi_X"

_FLAVORS = ("seurat", "cell_ranger", "seurat_v3", "seurat_v3_paper")
# These flavors model raw counts, so scanpy must see the counts layer, not the log data.
_COUNT_FLAVORS = ("seurat_v3", "seurat_v3_paper")
_COUNT_KINDS = ("auto", "raw", "normalized")
# The integer check reads at most this many rows (evenly spaced) and values: cheap on 10^6 cells.
_SAMPLE_ROWS = 2000
_SAMPLE_VALUES = 200_000


@shared_docs
def preprocess(
    adata: AnnData,
    *,
    layer: str | None = None,
    counts: str = "auto",
    target_sum: float = 1e4,
    n_top_genes: int | None = None,
    max_value: float | None = 10.0,
    flavor: str = "seurat",
    layer_counts: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Normalise, log-transform, select highly variable genes and scale (LMI paper, Appendix A.4.2).

    Runs, in order, :func:`scanpy.pp.normalize_total` (``target_sum``), :func:`scanpy.pp.log1p`,
    :func:`scanpy.pp.highly_variable_genes` (``n_top_genes``, ``flavor``, ``subset=True``) and
    :func:`scanpy.pp.scale` (``max_value``) on the counts in ``.X`` or in ``layers[layer]``, and
    writes the result to ``.X``. With the defaults this is the paper's preprocessing of the LARRY
    data. The paper also kept only cells with a clone; that is a cell filter this function does not
    apply, e.g. ``adata = adata[adata.obs["clone"].notna()].copy()`` beforehand.

    Everything is checked before anything is changed, so an error leaves ``adata`` as it was. The
    input must be counts: data with ``uns['log1p']`` (scanpy's mark of log-transformed ``.X``),
    with ``uns['bioinfo_mi_preprocess']`` (already preprocessed), with negative or non-finite values,
    or, unless declared normalised (``counts``), with non-integer values raise ``ValueError``. The
    usual scanpy object (raw counts in ``layers['counts']``, log values in ``.X``) is preprocessed
    with ``preprocess(adata, layer="counts")``.

    Parameters
    ----------
    adata
        Cells × genes (dense or sparse).
    layer
        Layer holding the counts to preprocess; ``None`` (default): ``.X``. With a layer, ``.X`` is
        replaced by the preprocessed values of that layer's counts and the layer is kept (on the
        selected genes), so ``preprocess(adata, layer="counts")`` works on data whose ``.X`` is
        already log-transformed.
    counts
        What the input holds. ``"raw"``: integer counts; non-integer values raise (checked on at
        most 2000 evenly spaced rows and 200 000 values, so the check stays cheap on 10^6 cells).
        ``"normalized"``: total-count-normalised counts, not log-transformed, e.g. LARRY's published
        ``normed_counts``, which the paper normalised again to ``target_sum``; non-integer values
        are accepted. ``"auto"`` (default): ``"normalized"`` when the input is ``.X`` and
        ``adata.uns['bioinfo_mi_X'] == 'normalized_counts'`` (set by
        :func:`~bioinfo_mi.datasets.read_larry` and :func:`~bioinfo_mi.datasets.simulate_lineage`),
        ``"raw"`` otherwise.
    target_sum
        Total counts per cell after normalisation (paper: 1e4). Must be positive and finite.
    n_top_genes
        Number of highly variable genes kept, between 1 and ``adata.n_vars``. ``None`` (default): the
        paper's 1000, or every gene of an object with fewer (a given number above ``adata.n_vars``
        raises).
        As in scanpy, ties at the cut-off can keep a few more genes and genes with undefined
        dispersion (constant genes) are never selected, so fewer can be kept.
    max_value
        Scaled values are clipped to ``[-max_value, max_value]`` (paper: 10). ``None``: no clipping.
    flavor
        Flavor of :func:`scanpy.pp.highly_variable_genes`: ``'seurat'`` (default, on the log
        data), ``'cell_ranger'``, or ``'seurat_v3'`` / ``'seurat_v3_paper'`` (computed on the
        counts in ``layers[layer_counts]``; they need the ``scikit-misc`` package).
    layer_counts
        Layer that keeps the input counts. ``None`` (default): ``layer`` when one is given (nothing
        is copied), else ``'counts'``, which receives a copy of ``.X`` before normalisation. A layer
        that already exists is never overwritten: naming one other than ``layer`` raises.
    {copy}
        In place means **genes included**: ``highly_variable_genes(subset=True)`` drops the
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
    - ``.layers[layer_counts]``: the input counts (before normalisation), restricted to the
      selected genes, in their original type and dtype. Other layers are kept, on the selected genes.
    - ``.uns['bioinfo_mi_preprocess']``: dict of plain values, saved by ``write_h5ad``:
      ``target_sum``, ``n_top_genes``, ``max_value`` (``None`` stored as ``'none'``), ``flavor``,
      ``layer`` (``'X'`` for ``.X``), ``counts`` (``'raw'`` or ``'normalized'``, as resolved),
      ``layer_counts``, ``n_vars_input``, ``n_vars_output``, ``scanpy_version``,
      ``paper_section`` (``'A.4.2'``).
    - scanpy's own entries: ``.uns['log1p']``, ``.uns['hvg']``. ``uns['bioinfo_mi_X']`` is removed
      (``.X`` no longer holds counts).

    Raises
    ------
    ValueError
        ``n_top_genes`` < 1 or > ``adata.n_vars``; ``target_sum`` or ``max_value`` not positive;
        unknown ``flavor`` or ``counts``; input that is not counts (see above: the message says what
        was found and what to pass); ``layer_counts`` naming an existing layer other than ``layer``; fewer
        than 2 cells, or no gene that varies across cells once each is scaled to the same total (every count 0,
        or counts that differ by library size only: nothing to select).
    KeyError
        ``layer`` not in ``adata.layers`` (the message lists the layers).
    TypeError
        ``adata`` not an AnnData, ``n_top_genes`` not an integer, ``layer`` not a string.
    ImportError
        A ``seurat_v3`` flavor without ``scikit-misc``.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an AnnData, got {type(adata).__name__}")
    if n_top_genes is None:
        n_top_genes = min(DEFAULT_N_TOP_GENES, adata.n_vars)
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
    if flavor in _COUNT_FLAVORS and importlib.util.find_spec("skmisc") is None:
        raise ImportError(f"flavor={flavor!r} needs the scikit-misc package: pip install scikit-misc")
    if counts not in _COUNT_KINDS:
        raise ValueError(f"counts must be one of {list(_COUNT_KINDS)}, got {counts!r}")
    if layer is not None:
        if not isinstance(layer, str):
            raise TypeError(f"layer must be a layer name (str) or None for .X, got {layer!r}")
        if layer not in adata.layers:
            raise KeyError(f"layer {layer!r} not found in adata.layers; available: {list(adata.layers)}")
    if layer_counts is None:
        layer_counts = "counts" if layer is None else layer
    if not isinstance(layer_counts, str) or not layer_counts:
        raise ValueError(f"layer_counts must be a non-empty string, got {layer_counts!r}")
    kind = _check_input(adata, layer=layer, counts=counts, layer_counts=layer_counts)

    if copy:
        adata = adata.copy()
    n_vars_input = adata.n_vars
    if layer is None:
        # normalize_total writes into .X (in place for sparse data), so the layer needs its own copy.
        counts_matrix = adata.X.copy()
        sc.pp.normalize_total(adata, target_sum=target_sum)  # also turns a view into an actual object
    else:
        if adata.is_view:  # an actual AnnData first, as scanpy's own in-place functions do
            adata._init_as_actual(adata.copy())
        counts_matrix = adata.layers[layer]
        adata.X = counts_matrix.copy()
        adata.uns.pop("log1p", None)  # it described the .X just replaced by counts
        sc.pp.normalize_total(adata, target_sum=target_sum)
    if layer_counts != layer:
        adata.layers[layer_counts] = counts_matrix if layer is None else counts_matrix.copy()
    sc.pp.log1p(adata)
    hvg_layer = layer_counts if flavor in _COUNT_FLAVORS else None
    # subset=True removes the other genes from adata itself (and from all its layers).
    sc.pp.highly_variable_genes(adata, n_top_genes=n_top_genes, flavor=flavor, layer=hvg_layer, subset=True)
    if sp.issparse(adata.X):
        # scaling zero-centres and so densifies anyway; doing it here avoids scanpy's warning
        adata.X = adata.X.toarray()
    sc.pp.scale(adata, max_value=max_value)

    adata.uns.pop(X_CONTENT_KEY, None)  # .X holds scaled values now, not what the loader wrote
    adata.uns[UNS_KEY] = {
        "target_sum": target_sum,
        "n_top_genes": n_top_genes,
        "max_value": "none" if max_value is None else max_value,  # h5ad cannot store None
        "flavor": flavor,
        "layer": "X" if layer is None else layer,
        "counts": kind,
        "layer_counts": layer_counts,
        "n_vars_input": int(n_vars_input),
        "n_vars_output": int(adata.n_vars),
        "scanpy_version": version("scanpy"),
        "paper_section": "A.4.2",
    }
    return adata if copy else None


def _check_input(adata: AnnData, *, layer: str | None, counts: str, layer_counts: str) -> str:
    """Raise unless the input of :func:`preprocess` holds counts and no layer would be overwritten.

    Returns the resolved kind of counts, ``"raw"`` or ``"normalized"``.
    """
    source = "adata.X" if layer is None else f"adata.layers[{layer!r}]"
    layers = list(adata.layers)
    if UNS_KEY in adata.uns:
        raise ValueError(
            f"adata was already preprocessed by bioinfo_mi.pp.preprocess (adata.uns[{UNS_KEY!r}] is present): "
            "its .X holds scaled log-normalised values of the selected genes, and preprocessing them again would "
            "transform them twice. Start again from the unprocessed data (the input counts of the selected genes "
            f"are in adata.layers[{adata.uns[UNS_KEY].get('layer_counts', 'counts')!r}])."
        )
    if layer is None and "log1p" in adata.uns:
        raise ValueError(
            "adata.X looks log-transformed: adata.uns['log1p'] is present (written by scanpy.pp.log1p). "
            "preprocess normalises and log-transforms the counts itself, so it would log them a second time. "
            f"Pass the layer that holds the raw counts, e.g. preprocess(adata, layer='counts') (layers: {layers}), "
            "or put the counts back in .X and delete adata.uns['log1p']."
        )
    if layer_counts != layer and layer_counts in adata.layers:
        raise ValueError(
            f"adata.layers[{layer_counts!r}] already exists, and preprocess never overwrites a layer. If it holds "
            f"the raw counts, preprocess them with layer={layer_counts!r}; otherwise pass layer_counts='<new name>' "
            f"to keep the input counts of {source} under another name."
        )
    x = adata.X if layer is None else adata.layers[layer]
    _check_counts(x, source=source)
    _check_some_gene_varies(x, source=source)
    kind = counts
    if kind == "auto":
        kind = "normalized" if layer is None and adata.uns.get(X_CONTENT_KEY) == "normalized_counts" else "raw"
    if kind == "raw":
        found = _first_non_integer(x)
        if found is not None:
            value, largest, n_sampled = found
            hint = ", typical of log-transformed data" if largest < 20 else ""
            raise ValueError(
                f"{source} holds non-integer values (e.g. {value:.6g}; the largest of {n_sampled} values sampled is "
                f"{largest:.6g}{hint}), so it does not hold raw counts: it looks normalised or log-transformed, and "
                "preprocess would normalise and log-transform it again. Pass the raw counts: "
                f"preprocess(adata, layer='<layer with the counts>') (layers: {layers}), or put them in .X. If these "
                "values are total-count-normalised counts that are not log-transformed (as LARRY's published "
                "normed_counts, which the paper normalised again), pass counts='normalized'."
            )
    return kind


def _check_positive_float(value: Any, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return value


def _check_counts(x: Any, *, source: str = "adata.X") -> None:
    """Raise unless ``x`` holds finite, non-negative numbers (counts, not log/scaled data)."""
    values = x.data if sp.issparse(x) else np.asarray(x)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise ValueError(f"{source} must be numeric counts, got dtype {values.dtype}")
    if values.size == 0:
        return
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{source} contains NaN or infinite values; preprocess expects finite counts")
    if values.min() < 0:
        raise ValueError(
            f"{source} contains negative values: the data look already scaled/log-transformed. "
            "preprocess expects non-negative counts (e.g. preprocess(adata, layer='counts'), or the counts moved "
            "back to .X)"
        )


def _check_some_gene_varies(x: Any, *, source: str) -> None:
    """Raise unless some gene varies across cells once every cell is scaled to the same total count (what the
    highly variable genes are selected from): one cell, every count 0, or counts proportional from cell to cell
    (library size only) leave nothing to select. Checked on evenly spaced sample rows first (as
    :func:`_first_non_integer`), and on every row, a block at a time, only when those show no variation.
    """
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"preprocess needs at least 2 cells to select variable genes and scale them; {source} has {n}")
    sample = np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_ROWS)).astype(np.int64))
    if _spread(x[sample]) or _spread(x):
        return
    raise ValueError(
        f"no gene of {source} varies across cells once each cell is scaled to the same total count (every count 0, "
        "or counts that differ between cells by library size only): there are no variable genes to select"
    )


def _spread(x: Any) -> bool:
    """Whether some column of ``x``, every row scaled to sum 1, spans more than 1e-6 of its largest value (less is
    rounding); column minima and maxima a block of rows at a time (sparse rows stay sparse, no copy of ``x``).
    """
    n, d = x.shape
    lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
    block = 65536 if sp.issparse(x) else max(1, 2**22 // max(d, 1))
    for start in range(0, n, block):
        rows = x[start : start + block]
        totals = np.asarray(rows.sum(axis=1), dtype=np.float64).ravel()
        inverse = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        if sp.issparse(rows):
            scaled = sp.diags(inverse) @ sp.csr_matrix(rows, dtype=np.float64)
            low, high = scaled.min(axis=0).toarray().ravel(), scaled.max(axis=0).toarray().ravel()
        else:
            scaled = np.asarray(rows, dtype=np.float64) * inverse[:, None]
            low, high = scaled.min(axis=0), scaled.max(axis=0)
        lo, hi = np.minimum(lo, low), np.maximum(hi, high)
    return bool(np.any(hi - lo > 1e-6 * hi))


def _first_non_integer(x: Any) -> tuple[float, float, int] | None:
    """Find a non-integer value in a bounded sample of ``x``.

    Returns the value, the largest sampled value and the sample size; ``None`` when every sampled
    value is an integer.

    The sample is at most ``_SAMPLE_ROWS`` evenly spaced rows and ``_SAMPLE_VALUES`` of their values
    (stored values of a sparse matrix), so the cost does not grow with the number of cells.
    """
    n_rows = x.shape[0]
    rows = np.unique(np.linspace(0, n_rows - 1, min(n_rows, _SAMPLE_ROWS)).astype(np.int64))
    sample = x[rows]
    values = sample.data if sp.issparse(sample) else np.asarray(sample).ravel()
    values = values[:_SAMPLE_VALUES]
    if values.size == 0 or not np.issubdtype(values.dtype, np.floating):
        return None
    off = np.flatnonzero(values != np.round(values))
    if off.size == 0:
        return None
    return float(values[off[0]]), float(values.max()), int(values.size)
