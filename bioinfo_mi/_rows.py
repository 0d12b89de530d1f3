"""Samples read one block of rows at a time: the input layer of the estimators that stream (LMI).

:func:`check_rows` validates a 2-D sample without copying it whole and returns a :class:`Rows`, which
hands out dense float blocks of rows on demand:

- numpy arrays (float32 stays float32: the encoders compute in float32; other numbers become float64
  one block at a time), pandas frames (as numpy), scipy sparse matrices (CSR, CSC, COO; each block of
  rows is densified alone);
- lazy arrays read by row slices: a backed AnnData's ``X`` or layer (``h5py.Dataset``, anndata's
  sparse datasets), a Dask array (each block computed), or anything with ``shape``, ``dtype`` and row
  slicing.

Validation (numeric type, 2-D, non-empty, finite) runs block by block, before any fit. Memory stays at
a few blocks (:data:`BLOCK_BYTES`) whatever the number of rows. The column statistics
(:meth:`Rows.column_stats`) are float64 sums over the blocks; for an in-memory numpy array they are
computed column block by column block with numpy's own ``mean`` / ``std``, bit-identical to those of
the whole float64 array.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._validation import _align, check_array, check_dtype, check_finite

__all__ = ["Rows", "check_rows", "check_row_pair", "distinct_counts", "is_lazy", "read_rows", "BLOCK_BYTES"]

#: bytes of one dense block of rows (float64) read at a time (64 MiB)
BLOCK_BYTES = 64 * 2**20


def is_lazy(x: Any) -> bool:
    """Tell whether ``x`` is read by row slices (backed AnnData, h5py, Dask, zarr), not held as numpy or scipy."""
    return (
        not isinstance(x, (np.ndarray, pd.DataFrame, pd.Series))
        and not sp.issparse(x)
        and hasattr(x, "shape")
        and hasattr(x, "dtype")
        and hasattr(x, "__getitem__")
        and len(getattr(x, "shape", ())) in (1, 2)
    )


def _dense(block: Any) -> np.ndarray:
    """Return a row block of the source (numpy, scipy sparse, Dask, h5py) as a dense numpy array."""
    if hasattr(block, "compute"):  # Dask
        block = block.compute()
    if sp.issparse(block):
        block = block.toarray()
    return np.asarray(block)


class Rows:
    """A validated ``(n_samples, n_features)`` sample read block by block (see :func:`check_rows`).

    Attributes
    ----------
    data
        The source: a numpy array, a scipy CSR matrix or a lazy array.
    name
        Argument name used in messages.
    dtype
        The float dtype of the dense blocks (float32 for float32 sources, float64 otherwise).
    """

    def __init__(self, data: Any, name: str, dtype: np.dtype) -> None:
        self.data, self.name, self.dtype = data, name, np.dtype(dtype)
        self.shape: tuple[int, int] = (int(data.shape[0]), int(data.shape[1]))
        self._stats: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._counts: bool | None = None

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return self.shape[0]

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return self.shape[1]

    @property
    def in_memory(self) -> bool:
        """Whether the source is a numpy array (blocks are views, no copy)."""
        return isinstance(self.data, np.ndarray)

    def block_rows(self, n_columns: int | None = None) -> int:
        """Rows per block: :data:`BLOCK_BYTES` of float64 over ``n_columns`` (default all) columns."""
        return max(1, BLOCK_BYTES // (8 * (n_columns or self.n_features)))

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a dense array of :attr:`dtype` (a view for a numpy source of that dtype)."""
        return _dense(self.data[start:stop]).astype(self.dtype, copy=False)

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, dense block)`` over all rows, ``rows`` (default :meth:`block_rows`) at a time."""
        rows = rows or self.block_rows()
        for start in range(0, self.n_samples, rows):
            yield start, self.block(start, min(start + rows, self.n_samples))

    def take(self, index: np.ndarray) -> np.ndarray:
        """Return the rows at ``index`` (sorted, unique) as a new dense array of :attr:`dtype`, read by blocks."""
        index = np.asarray(index, dtype=np.int64)
        if self.in_memory:
            return self.data[index].astype(self.dtype, copy=False)
        out = np.empty((len(index), self.n_features), dtype=self.dtype)
        rows = self.block_rows()
        for start in range(0, self.n_samples, rows):
            lo, hi = np.searchsorted(index, [start, start + rows])
            if hi > lo:
                wanted = index[lo:hi]
                if sp.issparse(self.data):
                    out[lo:hi] = self.data[wanted].toarray()
                else:
                    out[lo:hi] = self.block(int(wanted[0]), int(wanted[-1]) + 1)[wanted - wanted[0]]
        return out

    def column_stats(self, log1p: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Float64 column means and (population) SDs, of ``log(1 + x)`` with ``log1p``.

        A numpy source: numpy's ``mean`` and ``std`` of a block of columns at a time in float64
        (identical to those of the whole array as float64). A scipy sparse source with ``log1p``: sums of the
        stored values (``log1p(0) = 0``). Other sources: sums over row blocks, two passes. Computed once per
        :class:`Rows` and ``log1p`` (``auto``'s checks and LMI share them); copies are returned.
        """
        if log1p not in self._stats:
            self._stats[log1p] = self._column_stats(log1p)
        mean, sd = self._stats[log1p]
        return mean.copy(), sd.copy()

    def _column_stats(self, log1p: bool = False) -> tuple[np.ndarray, np.ndarray]:
        d = self.n_features
        if self.in_memory:
            means, sds = np.empty(d), np.empty(d)
            step = max(1, BLOCK_BYTES // (8 * self.n_samples))
            for j in range(0, d, step):
                part = self.data[:, j : j + step].astype(np.float64)
                part = np.log1p(part, out=part) if log1p else part
                means[j : j + step], sds[j : j + step] = part.mean(axis=0), part.std(axis=0)
            return means, sds
        if log1p and self._sparse_blocks():
            return self._sparse_log1p_stats()
        total = np.zeros(d)
        for _, block in self._float_blocks(log1p):
            total += block.sum(axis=0, dtype=np.float64)
        means = total / self.n_samples
        squares = np.zeros(d)
        for _, block in self._float_blocks(log1p):
            centred = np.subtract(block, means)  # one float64 temporary per block
            squares += np.square(centred, out=centred).sum(axis=0)
        return means, np.sqrt(squares / self.n_samples)

    def _source_blocks(self) -> Iterator[Any]:
        """Yield the source's own row blocks, not densified.

        Blocks of :meth:`block_rows` rows: scipy sparse where the source hands out sparse rows, a Dask block
        computed.
        """
        rows = self.block_rows()
        for start in range(0, self.n_samples, rows):
            block = self.data[start : min(start + rows, self.n_samples)]
            yield block.compute() if hasattr(block, "compute") else block

    def _sparse_blocks(self) -> bool:
        """Tell whether the source hands out scipy sparse row blocks (a CSR matrix, a backed AnnData's sparse ``X``)."""
        return sp.issparse(self.data) or (not self.in_memory and sp.issparse(next(self._source_blocks())))

    def _sparse_log1p_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the column means and SDs of ``log(1 + x)`` from the stored values of sparse row blocks.

        ``log1p(0) = 0``, so one pass over the stored values suffices, never densified; the same sums, in the
        same order, for a matrix in memory and its backed file.
        """
        d = self.n_features
        total, squares = np.zeros(d), np.zeros(d)
        for block in self._source_blocks():
            block = sp.csr_matrix(block)
            values = np.log1p(block.data.astype(np.float64))
            total += np.bincount(block.indices, weights=values, minlength=d)
            squares += np.bincount(block.indices, weights=values * values, minlength=d)
        means = total / self.n_samples
        return means, np.sqrt(np.maximum(squares / self.n_samples - means * means, 0.0))

    def _float_blocks(self, log1p: bool) -> Iterator[tuple[int, np.ndarray]]:
        """:meth:`blocks`, each through ``log1p`` (a float64 copy) where asked."""
        for start, block in self.blocks():
            yield start, (np.log1p(block, dtype=np.float64) if log1p else block)

    def is_counts(self) -> bool:
        """Tell whether the sample is a count matrix: every value a non-negative integer, and some value above 1.

        Read block by block, stopping at the first block that fails (a scipy sparse source: its stored values
        only). Computed once per :class:`Rows`. A 0/1 matrix is not counted (``log(1 + x)`` is linear on it).
        """
        if self._counts is None:
            self._counts = self._is_counts()
        return self._counts

    def _is_counts(self) -> bool:
        if sp.issparse(self.data):
            return _count_block(self.data.data) == 2
        above_one = False
        for block in self._source_blocks():
            verdict = _count_block(sp.csr_matrix(block).data if sp.issparse(block) else np.asarray(block))
            if verdict == 0:
                return False
            above_one = above_one or verdict == 2
        return above_one


def _count_block(values: np.ndarray) -> int:
    """0: some value is negative or not an integer; 1: non-negative integers at most 1; 2: some above 1."""
    if values.size == 0:
        return 1
    if not np.issubdtype(values.dtype, np.integer) and not np.array_equal(values, np.round(values)):
        return 0
    if values.min() < 0:
        return 0
    return 2 if values.max() > 1 else 1


def distinct_counts(rows: Rows, columns: np.ndarray, cap: float) -> np.ndarray:
    """Distinct values of each of ``columns`` of ``rows``, exact below ``cap`` (``>= cap`` above it).

    A numpy source: 64 sorted columns at a time, first on the leading ``2 * cap`` rows only (a column with
    ``cap`` distinct values there needs no more). A scipy sparse source: the stored values of each
    column, plus the zero where a column has one. A lazy source: the union of each column's values
    over row blocks, a column dropped as soon as it reaches ``cap``.
    """
    columns = np.asarray(columns, dtype=np.int64)
    out = np.zeros(len(columns), dtype=np.int64)
    if rows.in_memory:

        def count(data: np.ndarray, cols: np.ndarray) -> np.ndarray:
            found = np.empty(len(cols), dtype=np.int64)
            for i in range(0, len(cols), 64):
                ordered = np.sort(data[:, cols[i : i + 64]], axis=0)
                found[i : i + 64] = 1 + (np.diff(ordered, axis=0) != 0).sum(axis=0)
            return found

        out[:] = count(rows.data[: int(2 * cap) + 1], columns)
        rest = np.flatnonzero(out < cap)
        if len(rest) and rows.n_samples > int(2 * cap) + 1:
            out[rest] = count(rows.data, columns[rest])
        return out
    if sp.issparse(rows.data):
        csc = rows.data[:, columns].tocsc()
        for i in range(len(columns)):
            stored = csc.data[csc.indptr[i] : csc.indptr[i + 1]]
            values = np.unique(stored[stored != 0])
            out[i] = len(values) + int(len(stored) - np.count_nonzero(stored) > 0 or len(stored) < rows.n_samples)
        return out
    seen: dict[int, np.ndarray] = {i: np.empty(0) for i in range(len(columns))}
    for _, block in rows.blocks():
        for i in list(seen):
            seen[i] = np.union1d(seen[i], block[:, columns[i]])
            if len(seen[i]) >= cap:
                out[i] = len(seen.pop(i))
        if not seen:
            break
    for i, values in seen.items():
        out[i] = len(values)
    return out


def check_rows(x: Any, *, name: str = "x") -> Rows:
    """Validate a 2-D sample without a dense copy of it; return it as :class:`Rows`.

    Parameters
    ----------
    x
        numpy array, pandas DataFrame/Series, scipy sparse matrix, a lazy array read by row slices
        (backed AnnData ``X``, ``h5py.Dataset``, anndata sparse dataset, Dask array), or anything
        ``np.asarray`` accepts. 1-D input is one column.
    name
        Argument name used in error messages.

    Returns
    -------
    :class:`Rows` over ``x`` (never modified; a numpy array is not copied).

    Raises
    ------
    TypeError
        For non-numeric data.
    ValueError
        For NaN/inf, empty input, or more than two dimensions.
    """
    if isinstance(x, Rows):
        return x
    if x is None:
        raise TypeError(f"{name} must be an array-like of numbers, got None")
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return Rows(check_array(x, name=name), name, np.float64)
    if sp.issparse(x):
        dtype = check_dtype(x.dtype, name)
        csr = x.tocsr() if x.format != "csr" else x
        if csr.ndim != 2 or 0 in csr.shape:
            raise ValueError(f"{name} is empty (shape {csr.shape})")
        check_finite(csr.data, name)
        return Rows(csr, name, dtype)
    if not isinstance(x, np.ndarray) and not is_lazy(x):
        try:
            x = np.asarray(x)
        except Exception as err:  # ragged lists and the like
            raise TypeError(f"{name} could not be converted to a numeric array: {err}") from err
    dtype = check_dtype(x.dtype, name)
    if len(x.shape) == 1:
        x = x.reshape(-1, 1) if isinstance(x, np.ndarray) else _Column(x)
    if len(x.shape) != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples x features), got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    rows = Rows(x, name, dtype)
    for _, block in rows.blocks():
        check_finite(block, name)
    return rows


def read_rows(x: Any, index: np.ndarray) -> np.ndarray | sp.csr_matrix:
    """Return the rows ``index`` (sorted, unique) of a matrix in memory, reading a lazy source a block at a time.

    Parameters
    ----------
    x
        numpy array, scipy sparse matrix, or a lazy array read by row indices (backed AnnData ``X``:
        ``h5py.Dataset`` or anndata's sparse dataset; a Dask array).
    index
        Sorted, unique row positions.

    Returns
    -------
    A numpy array (dtype kept) for a dense source, a scipy CSR matrix for a sparse one (backed or in
    memory). A lazy source is read :data:`BLOCK_BYTES` of rows at a time, so memory holds the rows
    asked for plus one block, never the whole source.
    """
    index = np.asarray(index, dtype=np.int64)
    if index.ndim != 1 or (len(index) > 1 and np.any(np.diff(index) <= 0)):
        raise ValueError("index must be sorted, unique row positions")
    if isinstance(x, np.ndarray) or sp.issparse(x):
        out = x[index]
        return out.tocsr() if sp.issparse(out) else out
    n_columns = int(x.shape[1]) if len(x.shape) == 2 else 1
    step = max(1, BLOCK_BYTES // (8 * n_columns))
    parts = []
    for lo in range(0, len(index), step):
        part = x[index[lo : lo + step]]
        if hasattr(part, "compute"):  # Dask
            part = part.compute()
        parts.append(part.tocsr() if sp.issparse(part) else np.asarray(part))
    if not parts:
        return np.empty((0, n_columns), dtype=x.dtype)
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class _Column:
    """A 1-D lazy array seen as one column."""

    def __init__(self, data: Any) -> None:
        self.data, self.dtype, self.shape = data, data.dtype, (int(data.shape[0]), 1)

    def __getitem__(self, rows: slice) -> np.ndarray:
        return _dense(self.data[rows]).reshape(-1, 1)


def check_row_pair(x: Any, y: Any, *, min_samples: int = 2, method: str = "") -> tuple[Rows, Rows]:
    """:func:`check_rows` of a paired sample: equal numbers of rows, at least ``min_samples``; two pandas
    objects are paired by index as in :func:`~bioinfo_mi._validation.check_pair`.

    Parameters
    ----------
    x, y
        The paired samples (any input :func:`check_rows` takes).
    min_samples
        Fewest rows accepted.
    method
        Estimator name for the message.

    Returns
    -------
    ``(Rows of x, Rows of y)``.
    """
    y = _align(x, y)
    xr, yr = check_rows(x, name="x"), check_rows(y, name="y")
    if xr.n_samples != yr.n_samples:
        raise ValueError(f"x and y must have the same number of samples (rows), got {xr.n_samples} and {yr.n_samples}")
    if xr.n_samples < min_samples:
        what = f"method {method!r}" if method else "this estimator"
        raise ValueError(f"{what} needs at least {min_samples} samples, got {xr.n_samples}")
    return xr, yr
