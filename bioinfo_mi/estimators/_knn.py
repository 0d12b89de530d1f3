"""k-nearest-neighbour MI estimators: pointwise KSG, the out-of-sample density ratio, BI-KSG.

Implements
- Kraskov, Stögbauer & Grassberger (2004), algorithm 1 with the max norm, returned pointwise
  as in Algorithm 5 of the LMI paper (Gowri et al. 2024, Appendix A.4.4);
- the k-NN log density ratio for query pairs against a reference sample (LMI paper, Algorithm 2);
- BI-KSG, the bias-improved KSG of Gao, Oh & Viswanath (2017), compared in the scale-invariance
  paper (Section 2.2, Table 2-3).

Tie breaking
------------
Count data has many exact ties; a k-th neighbour at distance 0 makes the strict marginal counts
degenerate. Before any neighbour search every column is centred and a uniform jitter of
``jitter * spread`` is added, where ``spread`` is the column's standard deviation (not its
magnitude, so columns far from zero are treated like centred ones, and constant columns stay
constant and add nothing to any distance). The jitter is drawn from ``random_state``, so results
are reproducible. ``jitter=0`` disables it.

Exactness
---------
Neighbour searches are exact brute force: up to ``NUMBA_MAX_DIM`` joint dimensions (the latent
8 + 8 case and every low-dimensional one) a compiled (numba) kernel, which visits
only the references that two or three coordinates do not already rule out; above, chunked
max-norm distance matrices in torch (per-coordinate pruning buys nothing there, and torch's
blocked ``cdist`` is faster). Both count marginal neighbours with a strict ``<`` as in Algorithm 5
and give the same integers; neither depends on the number of threads.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

from .._docs import shared_docs
from .._parallel import cpu_workers
from .._rows import Rows
from .._validation import (
    EstimateWarning,
    check_array,
    check_device,
    check_pair,
    check_positive_int,
    check_random_state,
    to_base,
)
from . import _knn_numba
from ._result import MIResult

__all__ = ["ksg", "ksg_pointwise", "bi_ksg", "density_ratio", "density_ratio_grid", "add_jitter", "NUMBA_MAX_DIM"]

#: joint dimension up to which neighbour searches use the compiled kernel (above: torch brute
#: force; on 2 cores the two are even at 100 + 100 dimensions, torch 2x faster at 1000 + 1000)
NUMBA_MAX_DIM = 200
#: rows per chunk of the brute-force distance matrix (chunk x n_reference floats at a time)
_BRUTE_CHUNK_ELEMENTS = 2**24


def add_jitter(x: np.ndarray, rng: np.random.Generator, jitter: float = 1e-10) -> np.ndarray:
    """Centre each column and add uniform noise of ``jitter`` times the column's standard deviation.

    Parameters
    ----------
    x
        ``(n, d)`` float array (not modified).
    rng
        Source of the noise.
    jitter
        Relative noise amplitude; 0 returns a centred copy.

    Returns
    -------
    A new array. Constant columns stay constant (zero spread, zero noise).
    """
    centred = x - x.mean(axis=0)
    if jitter == 0:
        return centred
    spread = centred.std(axis=0)
    return centred + jitter * spread * rng.random(x.shape)


#: elements of one slice of columns that :func:`_row_hashes` mixes at once (a few temporaries of 16 MiB each)
HASH_SLICE_ELEMENTS = 2**21


def _mix64(v: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping arithmetic; ``v`` is not modified)."""
    v = v + np.uint64(0x9E3779B97F4A7C15)
    v ^= v >> np.uint64(30)
    v *= np.uint64(0xBF58476D1CE4E5B9)
    v ^= v >> np.uint64(27)
    v *= np.uint64(0x94D049BB133111EB)
    v ^= v >> np.uint64(31)
    return v


def _row_hashes(block: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """``hashes`` (one uint64 per row) folded with ``block``: each value's float64 bits (-0.0 as 0.0) xor its
    column's key, times an odd constant, xor-shifted, summed over the columns (wrapping) and the sum mixed once;
    vectorised over rows and a slice of columns at a time. The sum does not depend on the slices, so a row hashes
    alike in every block of rows.
    """
    n, d = block.shape
    width = max(1, min(d, HASH_SLICE_ELEMENTS // max(n, 1)))
    total = np.zeros(n, dtype=np.uint64)
    for start in range(0, d, width):
        values = np.asarray(block[:, start : start + width], dtype=np.float64) + 0.0  # + 0.0: -0.0 -> 0.0
        bits = values.view(np.uint64)  # a new array: mixed in place
        bits ^= _mix64(np.arange(start, start + values.shape[1], dtype=np.uint64))
        bits *= np.uint64(0x9E3779B97F4A7C15)
        bits ^= bits >> np.uint64(29)
        total += bits.sum(axis=1, dtype=np.uint64)
    return _mix64(hashes ^ total)


def _count_duplicate_rows(*blocks: np.ndarray | Rows) -> int:
    """Rows of the blocks side by side (e.g. ``x`` and ``y``) equal to an earlier row (exact float equality;
    -0.0 == 0.0), without putting the blocks side by side for large samples.

    Up to 5000 rows: byte-wise unique of whole rows. Above: a 64-bit hash per row, built column by
    column (vectorised over the rows, memory of a few columns; a :class:`~bioinfo_mi._rows.Rows` source
    is read one block of rows at a time), marks the candidate rows (a hash seen twice); only those are
    compared exactly, so the count is exact whatever the hash collisions.
    """
    sources = [b if isinstance(b, Rows) else None for b in blocks]
    n = len(blocks[0]) if sources[0] is None else sources[0].n_samples
    if n > 5000:
        hashes = np.zeros(n, dtype=np.uint64)
        if all(s is None for s in sources):
            for block in blocks:
                hashes = _row_hashes(block, hashes)
        else:
            rows = min(b.block_rows() if isinstance(b, Rows) else n for b in blocks)
            for start in range(0, n, rows):
                stop = min(start + rows, n)
                for b in blocks:
                    part = b.block(start, stop) if isinstance(b, Rows) else b[start:stop]
                    hashes[start:stop] = _row_hashes(part, hashes[start:stop])
        _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
        candidates = np.flatnonzero(counts[inverse] > 1)
        if len(candidates) == 0:
            return 0
        blocks = tuple(b.take(candidates) if isinstance(b, Rows) else b[candidates] for b in blocks)
    else:
        blocks = tuple(b.take(np.arange(n)) if isinstance(b, Rows) else b for b in blocks)
    rows = np.ascontiguousarray(np.hstack(blocks) + 0.0)  # + 0.0 turns -0.0 into 0.0
    return len(rows) - len(np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()))


def _warn_duplicates(x: np.ndarray | Rows, y: np.ndarray | Rows) -> None:
    n_dup = _count_duplicate_rows(x, y)
    if n_dup:
        warnings.warn(
            EstimateWarning(
                f"{n_dup} duplicated (x, y) rows: duplicates sit at distance ~0 from each other and inflate "
                "their pointwise MI; remove them unless they are genuine repeated measurements",
                "duplicates",
            ),
            stacklevel=3,
        )


def _check_not_constant(x: np.ndarray, name: str) -> None:
    if not (x.std(axis=0) > 0).any():
        raise ValueError(f"{name} is constant (every column has zero variance); MI with a constant is 0 by definition")


class _NeighbourIndex:
    """Exact max-norm neighbour searches against a fixed reference joint sample (see the module
    docstring: the compiled kernel up to ``NUMBA_MAX_DIM`` joint dimensions, torch above).
    """

    def __init__(self, xr: np.ndarray, yr: np.ndarray, workers: int = -1) -> None:
        self.xr, self.yr, self.workers = xr, yr, cpu_workers(workers)
        self.compiled = xr.shape[1] + yr.shape[1] <= NUMBA_MAX_DIM

    def _threads(self) -> int:
        return (os.cpu_count() or 1) if self.workers == -1 else max(1, self.workers)

    def counts(
        self, xq: np.ndarray, yq: np.ndarray, k: int, *, exclude_self: bool, self_rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Numbers of reference points strictly closer (in x, in y) than each query's k-th
        joint neighbour. With ``exclude_self`` the queries are reference rows themselves (all of them in
        order, or the rows ``self_rows``) and neither the neighbour search nor the counts include the
        query's own row.
        """
        if self.compiled:
            return _knn_numba.counts(
                xq, yq, self.xr, self.yr, k, exclude_self=exclude_self, threads=self._threads(), self_rows=self_rows
            )
        return self._brute_force(xq, yq, k, exclude_self=exclude_self, self_rows=self_rows)

    def scaled_self_counts(self, k: int, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out counts of the reference sample against itself for ``(x, c * y)`` at every
        ``c`` in ``scales``: two ``(len(scales), n)`` arrays. The marginal distances of a pair are
        computed once and reused for every scale (``|c y_i - c y_j| = c |y_i - y_j|`` in the max
        norm), instead of one neighbour search per scale.
        """
        scales = np.asarray(scales, dtype=np.float64)
        if self.compiled:
            return _knn_numba.counts(
                self.xr, self.yr, self.xr, self.yr, k, scales=scales, exclude_self=True, threads=self._threads()
            )
        n = len(self.xr)
        txr, tyr = torch.from_numpy(self.xr), torch.from_numpy(self.yr)
        chunk = max(1, _BRUTE_CHUNK_ELEMENTS // max(n, 1))
        nx = np.empty((len(scales), n), dtype=np.int64)
        ny = np.empty((len(scales), n), dtype=np.int64)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = torch.arange(stop - start)
            dx = torch.cdist(txr[start:stop], txr, p=float("inf"))
            dy = torch.cdist(tyr[start:stop], tyr, p=float("inf"))
            dx[rows, rows + start] = float("inf")  # the query itself is never its own neighbour or counted
            for i, c in enumerate(scales):
                dyc = dy * float(c)
                eps = torch.topk(torch.maximum(dx, dyc), k, dim=1, largest=False, sorted=True).values[:, -1:]
                nx[i, start:stop] = (dx < eps).sum(dim=1).numpy()
                ny[i, start:stop] = ((dyc < eps).sum(dim=1) - 1).numpy()  # dy's diagonal (0) is not excluded
        return nx, ny

    def _brute_force(
        self, xq: np.ndarray, yq: np.ndarray, k: int, *, exclude_self: bool, self_rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n_q, n_r = len(xq), len(self.xr)
        own = torch.from_numpy(np.arange(n_q) if self_rows is None else np.asarray(self_rows, dtype=np.int64))
        txr, tyr = torch.from_numpy(self.xr), torch.from_numpy(self.yr)
        chunk = max(1, _BRUTE_CHUNK_ELEMENTS // max(n_r, 1))
        nx = np.empty(n_q, dtype=np.int64)
        ny = np.empty(n_q, dtype=np.int64)
        for start in range(0, n_q, chunk):
            stop = min(start + chunk, n_q)
            dx = torch.cdist(torch.from_numpy(xq[start:stop]), txr, p=float("inf"))
            dy = torch.cdist(torch.from_numpy(yq[start:stop]), tyr, p=float("inf"))
            dxy = torch.maximum(dx, dy)
            if exclude_self:
                rows = torch.arange(stop - start)
                dxy[rows, own[start:stop]] = float("inf")
            eps = torch.topk(dxy, k, dim=1, largest=False, sorted=True).values[:, -1:]  # faster than kthvalue
            cx = (dx < eps).sum(dim=1)
            cy = (dy < eps).sum(dim=1)
            if exclude_self:
                cx -= 1
                cy -= 1
            nx[start:stop] = cx.numpy()
            ny[start:stop] = cy.numpy()
        return nx, ny


def _prepare(
    x: Any, y: Any, k: int, random_state: int | np.random.Generator | None, jitter: float, method: str
) -> tuple[np.ndarray, np.ndarray, int]:
    k = check_positive_int(k, name="k")
    xa, ya = check_pair(x, y, min_samples=k + 2, method=method)
    _check_not_constant(xa, "x")
    _check_not_constant(ya, "y")
    if not np.isfinite(jitter) or jitter < 0:
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter!r}")
    _warn_duplicates(xa, ya)
    rng = check_random_state(random_state)
    return add_jitter(xa, rng, jitter), add_jitter(ya, rng, jitter), k


@shared_docs
def ksg_pointwise(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
    queries: Any = None,
) -> np.ndarray:
    """Pointwise KSG mutual information (Kraskov algorithm 1, max norm; LMI paper Algorithm 5).

    ``pmi_i = psi(k) + psi(N) - psi(n_x,i) - psi(n_y,i)`` where ``n_x,i`` counts the samples
    (including ``i``) strictly closer to ``x_i`` than ``i``'s k-th neighbour in the joint space.

    Parameters
    ----------
    {ksg}
    queries
        Rows whose pointwise values are computed (distinct integer indices), each against all ``N`` samples:
        ``ksg_pointwise(x, y, queries=q)`` equals ``ksg_pointwise(x, y)[q]``. The mean over ``m`` rows drawn at
        random is an unbiased estimate of the KSG estimate of all ``N`` (the same neighbourhoods, so the same
        bias in ``N``) at about ``m / N`` of its cost, with a Monte Carlo standard error
        ``sd(pmi) / sqrt(m) * sqrt(1 - m / N)`` on top; LMI does this above ``LMIPreset.max_queries``
        held-out pairs. Default: every row.

    Returns
    -------
    ``(N,)`` array of pointwise MI (``(len(queries),)`` with ``queries``); its mean is the KSG estimate.
    """
    xa, ya, k = _prepare(x, y, k, random_state, jitter, "ksg")
    return _ksg_pmi_prepared(xa, ya, k, base, workers, _check_queries(queries, len(xa)))


def _check_queries(queries: Any, n: int) -> np.ndarray | None:
    """Return ``queries`` as an int64 array of distinct row indices in ``[0, n)``, or None (every row)."""
    if queries is None:
        return None
    q = np.asarray(queries)
    if q.ndim != 1 or q.size == 0 or not np.issubdtype(q.dtype, np.integer):
        raise ValueError(f"queries must be a non-empty 1-D array of integer row indices, got shape {q.shape} {q.dtype}")
    if q.min() < 0 or q.max() >= n:
        raise ValueError(f"queries must index rows 0..{n - 1}, got values from {q.min()} to {q.max()}")
    if len(np.unique(q)) != len(q):
        raise ValueError("queries must not repeat a row")
    return q.astype(np.int64)


def _ksg_pmi_prepared(
    xa: np.ndarray, ya: np.ndarray, k: int, base: str | float, workers: int, queries: np.ndarray | None = None
) -> np.ndarray:
    n = len(xa)
    index = _NeighbourIndex(xa, ya, workers)
    if queries is None:
        nx, ny = index.counts(xa, ya, k, exclude_self=True)
    else:
        nx, ny = index.counts(xa[queries], ya[queries], k, exclude_self=True, self_rows=queries)
    # Algorithm 5 counts the point itself: n_x(incl. self) = nx + 1
    pmi = digamma(k) + digamma(n) - digamma(nx + 1) - digamma(ny + 1)
    return to_base(pmi, base)


@shared_docs
def ksg(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG estimate of I(X;Y) (Kraskov et al. 2004, algorithm 1) with its pointwise terms.

    Parameters
    ----------
    {ksg}

    Returns
    -------
    :class:`MIResult` with method ``"ksg"`` whose ``mi`` is the mean of ``pmi``
    (:func:`ksg_pointwise`).
    """
    pmi = ksg_pointwise(x, y, k=k, base=base, random_state=random_state, jitter=jitter, workers=workers)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="ksg",
        base=base,
        n_samples=len(pmi),
        params={"k": k, "jitter": jitter},
    )


def _log_unit_ball_volume(d: int, norm: float) -> float:
    if np.isinf(norm):
        return d * np.log(2.0)
    return d * np.log(2.0 * np.exp(gammaln(1.0 + 1.0 / norm))) - gammaln(1.0 + d / norm)


@shared_docs
def bi_ksg(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    norm: float = 2.0,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """Bias-improved KSG (Gao, Oh & Viswanath 2017, eq. 4), pointwise.

    ``pmi_i = psi(k) + log N + log(c_dx c_dy / c_{dx+dy}) - log n_x,i - log n_y,i`` with
    ``rho_i`` the k-NN distance in the joint space under the ``norm``-norm, ``n_x,i`` the number of
    other samples with ``||x_j - x_i|| <= rho_i`` and ``c_d`` the volume of the unit ball.

    Parameters
    ----------
    {ksg}
    norm
        The l_q norm for all distances; 2 as in Gao et al. (default), ``np.inf`` for the max norm.

    Returns
    -------
    :class:`MIResult` with method ``"bi-ksg"``.
    """
    xa, ya, k = _prepare(x, y, k, random_state, jitter, "bi-ksg")
    norm = float(norm)
    if not norm >= 1:
        raise ValueError(f"norm must be >= 1 (or np.inf), got {norm}")
    n, dx, dy = len(xa), xa.shape[1], ya.shape[1]
    joint = np.hstack([xa, ya])
    workers = cpu_workers(workers)
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=norm, workers=workers)
    rho = dist[:, k]
    nx = np.asarray(cKDTree(xa).query_ball_point(xa, rho, p=norm, return_length=True, workers=workers)) - 1
    ny = np.asarray(cKDTree(ya).query_ball_point(ya, rho, p=norm, return_length=True, workers=workers)) - 1
    log_vol = _log_unit_ball_volume(dx, norm) + _log_unit_ball_volume(dy, norm) - _log_unit_ball_volume(dx + dy, norm)
    pmi = to_base(digamma(k) + np.log(n) + log_vol - np.log(nx) - np.log(ny), base)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="bi-ksg",
        base=base,
        n_samples=n,
        params={"k": k, "norm": norm, "jitter": jitter},
    )


def _reference_frame(
    xq: np.ndarray,
    yq: np.ndarray,
    xr: np.ndarray,
    yr: np.ndarray,
    *,
    jitter: float,
    rng: np.random.Generator,
    loo: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check a density-ratio reference and its queries; centre and jitter both with the reference statistics
    (so queries and reference stay comparable). With ``loo`` the queries are the reference itself.
    """
    if not loo and (xq.shape[1] != xr.shape[1] or yq.shape[1] != yr.shape[1]):
        raise ValueError(
            f"query and reference feature counts differ: x {xq.shape[1]} vs {xr.shape[1]}, "
            f"y {yq.shape[1]} vs {yr.shape[1]}"
        )
    _check_not_constant(xr, "x_ref")
    _check_not_constant(yr, "y_ref")
    x_mean, y_mean = xr.mean(axis=0), yr.mean(axis=0)
    x_sd, y_sd = xr.std(axis=0), yr.std(axis=0)
    xr_j = xr - x_mean + jitter * x_sd * rng.random(xr.shape)
    yr_j = yr - y_mean + jitter * y_sd * rng.random(yr.shape)
    if loo:
        return xr_j, yr_j, xr_j, yr_j
    xq_j = xq - x_mean + jitter * x_sd * rng.random(xq.shape)
    yq_j = yq - y_mean + jitter * y_sd * rng.random(yq.shape)
    return xr_j, yr_j, xq_j, yq_j


def density_ratio(
    x_query: Any,
    y_query: Any,
    x_ref: Any | None = None,
    y_ref: Any | None = None,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    max_elements: int = 2**24,
    workers: int = -1,
) -> np.ndarray:
    """k-NN estimate of the log density ratio ``log p(x,y) / (p(x) p(y))`` of query pairs
    against a reference joint sample (LMI paper, Algorithm 2).

    For each query ``(qx, qy)``: ``d`` is the max-norm distance to its k-th nearest reference
    pair; ``n_x`` (``n_y``) counts reference points strictly closer than ``d`` in x (y). The
    returned value is ``psi(k) + psi(N + 1) - psi(n_x + 1) - psi(n_y + 1)``: the query is counted
    as one more sample, exactly as Algorithm 5 counts the point itself. (Algorithm 2 as printed
    uses ``psi(N) - psi(n_x) - psi(n_y)``; the two differ by O(1/n), and ours stays finite for
    ``k = 1`` where ``n_x`` can be 0.) Consequently, scoring the reference sample against itself
    with ``x_ref=None`` (each query leaving out its own row) reproduces the KSG pointwise values.

    Parameters
    ----------
    x_query, y_query
        Query pairs, ``(M, d_x)`` and ``(M, d_y)``.
    x_ref, y_ref
        Reference joint sample ``(N, d_x)``, ``(N, d_y)``. Both ``None``: the queries are the
        reference and each query excludes its own row (leave-one-out).
    k
        Number of neighbours.
    base, random_state, jitter, workers
        As in :func:`ksg_pointwise`. The jitter amplitude is scaled by the reference's spread.
    max_elements
        Query-reference pairs per chunk: ``max_elements // N`` queries (at least one) are scored at a
        time, bounding memory for millions of pairs. The scores do not depend on it.

    Returns
    -------
    ``(M,)`` array of pointwise log density ratios (pMI).
    """
    k = check_positive_int(k, name="k")
    max_elements = check_positive_int(max_elements, name="max_elements")
    rng = check_random_state(random_state)
    if (x_ref is None) != (y_ref is None):
        raise ValueError("give both x_ref and y_ref, or neither (leave-one-out on the queries)")
    loo = x_ref is None
    xq, yq = check_pair(x_query, y_query, min_samples=1)
    if loo:
        xr, yr = check_pair(xq, yq, min_samples=k + 2, method="density_ratio")
    else:
        xr, yr = check_pair(x_ref, y_ref, min_samples=k + 1, method="density_ratio")
    xr_j, yr_j, xq_j, yq_j = _reference_frame(xq, yq, xr, yr, jitter=jitter, rng=rng, loo=loo)
    n_ref = len(xr_j) - 1 if loo else len(xr_j)
    index = _NeighbourIndex(xr_j, yr_j, workers)
    if loo:
        nx, ny = index.counts(xq_j, yq_j, k, exclude_self=True)
    else:
        nx = np.empty(len(xq_j), dtype=np.int64)
        ny = np.empty(len(xq_j), dtype=np.int64)
        chunk = max(1, max_elements // n_ref)
        for start in range(0, len(xq_j), chunk):
            sl = slice(start, start + chunk)
            nx[sl], ny[sl] = index.counts(xq_j[sl], yq_j[sl], k, exclude_self=False)
    ratio = digamma(k) + digamma(n_ref + 1) - digamma(nx + 1) - digamma(ny + 1)
    return to_base(ratio, base)


def density_ratio_grid(
    x_query: Any,
    y_query: Any,
    x_ref: Any,
    y_ref: Any,
    *,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    max_elements: int = 2**24,
    device: Any = None,
) -> np.ndarray:
    """k-NN log density ratio of every combination ``(x_query[i], y_query[j])`` (LMI paper, Algorithm 2).

    The same estimate as :func:`density_ratio` on the ``M_x * M_y`` query pairs, computed from
    their grid structure: the max-norm joint distance to reference pair ``n`` is
    ``max(dx[i, n], dy[j, n])``, so the marginal distances are computed once per query row and
    the marginal counts come from sorted distance rows. This is how held-out interaction
    prediction scores every ordered pair of held-out proteins (Section 4.1): 10^6 candidates
    against a few thousand training latents in bounded memory.

    Parameters
    ----------
    x_query, y_query
        ``(M_x, d_x)`` and ``(M_y, d_y)``: the two sides of the candidate pairs.
    x_ref, y_ref
        Reference joint sample ``(N, d_x)``, ``(N, d_y)``.
    k, base, random_state, jitter
        As in :func:`density_ratio` (the reference is centred and jittered the same way).
    max_elements
        Joint distances held at a time (``rows * M_y * N``); bounds memory (2^24 doubles = 128 MiB).
    device
        Torch device; default CUDA when available, else CPU.

    Returns
    -------
    ``(M_x, M_y)`` array; entry ``[i, j]`` is the log density ratio of ``(x_query[i], y_query[j])``.
    """
    k = check_positive_int(k, name="k")
    max_elements = check_positive_int(max_elements, name="max_elements")
    rng = check_random_state(random_state)
    xr, yr = check_pair(x_ref, y_ref, min_samples=k + 1, method="density_ratio")
    xq = check_array(x_query, name="x_query")
    yq = check_array(y_query, name="y_query")
    xr_j, yr_j, xq_j, yq_j = _reference_frame(xq, yq, xr, yr, jitter=jitter, rng=rng, loo=False)
    dev = check_device(device)

    def cheb(a: np.ndarray, b: np.ndarray) -> torch.Tensor:
        return torch.cdist(torch.as_tensor(a, device=dev), torch.as_tensor(b, device=dev), p=float("inf"))

    dx, dy = cheb(xq_j, xr_j), cheb(yq_j, yr_j)  # (M_x, N), (M_y, N)
    sorted_x, sorted_y = dx.sort(dim=1).values, dy.sort(dim=1).values
    n_ref, m_y = len(xr_j), len(yq_j)
    nx = torch.empty((len(xq_j), m_y), dtype=torch.int64, device=dev)
    ny = torch.empty_like(nx)
    rows = max(1, max_elements // (m_y * n_ref))
    for start in range(0, len(xq_j), rows):
        block = slice(start, start + rows)
        joint = torch.maximum(dx[block, None, :], dy[None, :, :])  # (rows, M_y, N)
        # k-th nearest reference pair in max norm (topk: much faster than kthvalue on CPU)
        eps = joint.topk(k, dim=2, largest=False, sorted=True).values[..., k - 1]
        del joint
        # strictly closer in each marginal: left insertion points in the sorted distance rows
        nx[block] = torch.searchsorted(sorted_x[block], eps.contiguous(), side="left")
        ny[block] = torch.searchsorted(sorted_y, eps.T.contiguous(), side="left").T
    nx_np, ny_np = nx.cpu().numpy(), ny.cpu().numpy()
    ratio = digamma(k) + digamma(n_ref + 1) - digamma(nx_np + 1) - digamma(ny_np + 1)
    return to_base(ratio, base)
