"""Exact brute-force max-norm neighbour counts for KSG, compiled with numba.

One kernel answers every KSG-type question: for each query ``(x_q, y_q)`` and each scale ``c``
of a grid, the distance ``eps`` to its k-th nearest reference in the joint max norm
``max(|x_q - x_j|, c |y_q - y_j|)``, and the numbers of references strictly closer than ``eps``
in x and in ``c y``. Plain KSG and the density ratio are the grid ``(1.0,)``; the global
normalisations of the scale-invariance paper scan a grid of ``c`` on the same distances.

Why brute force: at the sizes where KSG is slow (N >= 10^4, 8 + 8 latent dimensions) a KD-tree
in the 16-dimensional joint space prunes little (the k-th neighbour's ball spans about half of
each coordinate's range) and walks its nodes one point at a time. Here each pass puts the
references in the cells of a regular grid on two coordinates, sorted by a third inside each cell
(:class:`_Layout`); a query visits only the cells, and the runs inside them, where those three
coordinates alone do not already exceed its current k-th distance, and computes the distances
over a run dimension by dimension (contiguous, vectorised), the y part only for the references
whose x part is still below the bound. Two passes: the k-th joint distances (cells on x_0, y_0),
then the strict counts of each marginal (cells on its own first coordinates). About 30 % of the
pairs are visited at N = 50 000, 8 + 8 dimensions; 11-15x faster than the KD-trees there
(benchmarks/bench_ksg_speed.py).

Exactness: distances are ``max |a - b|`` in float64, the same operations as the trees' and
torch's, so the counts are the same integers; the answer does not depend on the number of
threads (each query's work is sequential; threads split queries).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

#: references per tile (d * TILE float64 per tile stay in L1/L2)
_TILE = 256
#: queries per parallel block (every query of a block reuses the tile while it is in cache)
_QBLOCK = 32
#: relative widening of the sorted-coordinate windows: a reference outside a window provably
#: cannot change a result, one inside is checked exactly, so a slightly wider window is always safe
_MARGIN = 1e-9
_FASTMATH = {"nnan", "nsz"}  # finite inputs; abs, max and comparisons are exact either way


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _tile_distances(q: np.ndarray, r_t: np.ndarray, j0: int, size: int, out: np.ndarray) -> None:
    """``out[m] = max_d |q[d] - r_t[d, j0 + m]|`` for ``m < size`` (vectorised over ``m``)."""
    row = r_t[0, j0 : j0 + size]
    v = q[0]
    for m in range(size):
        out[m] = abs(row[m] - v)
    for d in range(1, q.shape[0]):
        row = r_t[d, j0 : j0 + size]
        v = q[d]
        for m in range(size):
            out[m] = max(out[m], abs(row[m] - v))


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _insert(kb: np.ndarray, v: float) -> None:
    """Insert ``v`` into the sorted k smallest ``kb`` if it is smaller than the largest."""
    k = kb.shape[0]
    if v < kb[k - 1]:
        p = k - 1
        while p > 0 and kb[p - 1] > v:
            kb[p] = kb[p - 1]
            p -= 1
        kb[p] = v


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _insert_tile(joint: np.ndarray, size: int, kb: np.ndarray) -> None:
    """Merge the ``size`` distances of ``joint`` into the sorted k smallest ``kb``."""
    k = kb.shape[0]
    bound = kb[k - 1]
    below = 0
    for m in range(size):
        below += joint[m] < bound
    if below == 0:
        return
    for m in range(size):
        _insert(kb, joint[m])


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _visit_joint(xq, yq, xr_t, yr_t, yr_rows, qi, j0, size, own, scales, kb, dxt, dyt, joint, idx):  # noqa: ANN001, ANN202
    """Merge references ``j0:j0 + size`` into the k smallest joint distances of query ``qi``."""
    o = own[qi] - j0
    if scales.shape[0] == 1 and scales[0] == 1.0:
        # two stages: x distances for the whole run (vectorised), y only for the references whose x
        # distance is still below the current k-th distance (a few per cent once the bound is
        # tight), read from the row-major copy of y
        _tile_distances(xq[qi], xr_t, j0, size, dxt)
        if 0 <= o < size:
            dxt[o] = np.inf
        kbt = kb[0]
        k = kbt.shape[0]
        bound = kbt[k - 1]
        n_in = 0
        for m in range(size):
            idx[n_in] = m
            n_in += dxt[m] < bound
        qy = yq[qi]
        for i in range(n_in):
            m = idx[i]
            v = dxt[m]
            row = yr_rows[j0 + m]
            for d in range(qy.shape[0]):
                v = max(v, abs(row[d] - qy[d]))
            _insert(kbt, v)
        return
    _tile_distances(xq[qi], xr_t, j0, size, dxt)
    _tile_distances(yq[qi], yr_t, j0, size, dyt)
    for t in range(scales.shape[0]):
        c = scales[t]
        for m in range(size):
            joint[m] = max(dxt[m], c * dyt[m])
        if 0 <= o < size:
            joint[o] = np.inf
        _insert_tile(joint, size, kb[t])


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _cell_range(cells, c, vr, v, width):  # noqa: ANN001, ANN202
    """Return the references of cell ``c`` whose sort coordinate lies within ``width`` of ``v``."""
    a, b = cells[c], cells[c + 1]
    return (a + np.searchsorted(vr[a:b], v - width), a + np.searchsorted(vr[a:b], v + width, side="right"))


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _outside(box, c, u0, u1, w0, w1):  # noqa: ANN001, ANN202
    """Whether every reference of cell ``c`` is at least ``w0`` from ``u0`` or ``w1`` from ``u1``."""
    return box[c, 0] - u0 >= w0 or u0 - box[c, 1] >= w0 or box[c, 2] - u1 >= w1 or u1 - box[c, 3] >= w1


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _seed_bounds(data, q0, q1, a0, a1, vr, v_is_y, v_col, own, scales, best, seed, work):  # noqa: ANN001, ANN202
    """Seed each query's bound (``seed``) with the references nearest in the sort coordinate inside its
    own cell (``a0:a1``), so that its windows are narrow from the start; the seed tile is visited again
    later and only the bound it proved is kept (``best`` is reset). ``data``: the query and reference arrays of
    :func:`_kth_distances`; ``work``: its tile buffers.
    """
    xq, yq, xr_t, yr_t, yr_rows = data
    dxt, dyt, joint, idx = work
    k = best.shape[2]
    for qi in range(q0, q1):
        vq = yq[qi, v_col] if v_is_y else xq[qi, v_col]
        mid = a0 + np.searchsorted(vr[a0:a1], vq)
        lo = max(a0, min(mid - _TILE // 2, a1 - _TILE))
        size = min(a1, lo + _TILE) - lo
        kb = best[qi - q0]
        _visit_joint(xq, yq, xr_t, yr_t, yr_rows, qi, lo, size, own, scales, kb, dxt, dyt, joint, idx)
        bound = 0.0
        for t in range(scales.shape[0]):
            bound = max(bound, kb[t, k - 1] / min(scales[t], 1.0))
            kb[t, :] = np.inf
        seed[qi - q0] = bound


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _beyond_reach(best, seed, scales, ring, steps):  # noqa: ANN001, ANN202
    """Whether no cell of ring ``ring`` or a later one can hold a neighbour of the block's queries: such a
    cell lies at least ``ring - 1`` whole bins from the query's in x_0 or in y_0.
    """
    k = best.shape[2]
    reach_u = 0.0
    reach_v = 0.0
    for i in range(best.shape[0]):
        for t in range(scales.shape[0]):
            reach_u = max(reach_u, min(best[i, t, k - 1], seed[i]))
            reach_v = max(reach_v, min(best[i, t, k - 1] / scales[t], seed[i]))
    return (ring - 1) * steps[0] >= reach_u * (1 + _MARGIN) and (ring - 1) * steps[1] >= reach_v * (1 + _MARGIN)


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _visit_cell(data, q0, q1, c, cells, box, vr, v_is_y, v_col, own, scales, best, seed, work):  # noqa: ANN001, ANN202
    """Visit cell ``c`` for the queries ``q0:q1``: the run of its references within each query's bound
    (arguments as for :func:`_seed_bounds`).
    """
    xq, yq, xr_t, yr_t, yr_rows = data
    dxt, dyt, joint, idx = work
    k = best.shape[2]
    for qi in range(q0, q1):
        kb = best[qi - q0]
        bound_u = 0.0
        bound_v = 0.0
        for t in range(scales.shape[0]):
            bound_u = max(bound_u, kb[t, k - 1])
            bound_v = max(bound_v, kb[t, k - 1] / scales[t])
        bound_u = min(bound_u, seed[qi - q0]) * (1 + _MARGIN)
        bound_v = min(bound_v, seed[qi - q0]) * (1 + _MARGIN)
        if _outside(box, c, xq[qi, 0], yq[qi, 0], bound_u, bound_v):
            continue
        vq = yq[qi, v_col] if v_is_y else xq[qi, v_col]
        lo, hi = _cell_range(cells, c, vr, vq, bound_v if v_is_y else bound_u)
        for j0 in range(lo, hi, _TILE):
            _visit_joint(
                xq, yq, xr_t, yr_t, yr_rows, qi, j0, min(_TILE, hi - j0), own, scales, kb, dxt, dyt, joint, idx
            )


@nb.njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)
def _kth_distances(  # noqa: ANN202 - numba kernel
    xq,
    yq,
    xr_t,
    yr_t,
    yr_rows,
    k,
    scales,
    own,
    blocks,
    block_cell,
    cells,
    box,
    n1,
    steps,
    v_is_y,
    v_col,  # noqa: ANN001
):
    """Pass 1: ``(S, n_q)`` k-th joint distances. Queries and references are in the cell layout of
    (x_0, y_0) sorted by coordinate ``v_col`` of y (``v_is_y``) or x (see :class:`_Layout`);
    ``own[i]``: reference index of query ``i`` or -1.
    """
    n_q, n_s = xq.shape[0], scales.shape[0]
    n0 = (cells.shape[0] - 1) // n1
    vr = yr_t[v_col] if v_is_y else xr_t[v_col]
    eps = np.empty((n_s, n_q))
    for b in nb.prange(blocks.shape[0] - 1):
        q0, q1 = blocks[b], blocks[b + 1]
        best = np.full((q1 - q0, n_s, k), np.inf)
        seed = np.full(q1 - q0, np.inf)
        dxt = np.empty(_TILE)
        dyt = np.empty(_TILE)
        joint = np.empty(_TILE)
        idx = np.empty(_TILE, dtype=np.int64)
        c0 = block_cell[b]
        data, work = (xq, yq, xr_t, yr_t, yr_rows), (dxt, dyt, joint, idx)
        _seed_bounds(data, q0, q1, cells[c0], cells[c0 + 1], vr, v_is_y, v_col, own, scales, best, seed, work)
        i0, i1 = c0 // n1, c0 % n1
        for ring in range(max(n0, n1)):  # cells in rings around the block's cell
            if ring > 1 and _beyond_reach(best, seed, scales, ring, steps):
                break
            for d0 in range(-ring, ring + 1):
                for d1 in range(-ring, ring + 1):
                    if max(abs(d0), abs(d1)) != ring:
                        continue
                    j0c, j1c = i0 + d0, i1 + d1
                    if j0c < 0 or j0c >= n0 or j1c < 0 or j1c >= n1:
                        continue
                    c = j0c * n1 + j1c
                    if cells[c] == cells[c + 1]:
                        continue
                    _visit_cell(data, q0, q1, c, cells, box, vr, v_is_y, v_col, own, scales, best, seed, work)
        for qi in range(q0, q1):
            for t in range(n_s):
                eps[t, qi] = best[qi - q0, t, k - 1]
    return eps


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _bin_range(u, width, origin, step, n):  # noqa: ANN001, ANN202
    """Bins of a regular grid that can hold values within ``width`` of ``u`` (inclusive bounds)."""
    if n == 1:
        return 0, 0
    lo = int(np.floor((u - width - origin) / step)) - 1
    hi = int(np.floor((u + width - origin) / step)) + 1
    return max(lo, 0), min(hi, n - 1)


@nb.njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)
def _strict_counts(q, r_t, radius, scales, own, blocks, cells, box, n1, origin, steps, v_col):  # noqa: ANN001, ANN202
    """Pass 2, one marginal, in the cell layout of its first two coordinates sorted by coordinate
    ``v_col``. Counts of references ``j != own[i]`` with ``scales[s] * |q_i - r_j| < radius[s, i]``:
    ``(S, n_q)``.
    """
    n_s = scales.shape[0]
    n0 = (cells.shape[0] - 1) // n1
    u1_col = 1 if r_t.shape[0] > 1 else 0
    vr = r_t[v_col]
    counts = np.zeros((n_s, q.shape[0]), dtype=np.int64)
    for b in nb.prange(blocks.shape[0] - 1):
        dist = np.empty(_TILE)
        for qi in range(blocks[b], blocks[b + 1]):
            width = 0.0  # the query's widest window, in units of the coordinates
            for s in range(n_s):
                width = max(width, radius[s, qi] / scales[s])
            width *= 1 + _MARGIN
            u0, u1 = q[qi, 0], q[qi, u1_col]
            a0, b0 = _bin_range(u0, width, origin[0], steps[0], n0)
            a1, b1 = _bin_range(u1, width, origin[1], steps[1], n1)
            for i0 in range(a0, b0 + 1):
                for i1 in range(a1, b1 + 1):
                    c = i0 * n1 + i1
                    if cells[c] == cells[c + 1] or _outside(box, c, u0, u1, width, width):
                        continue
                    lo, hi = _cell_range(cells, c, vr, q[qi, v_col], width)
                    for j0 in range(lo, hi, _TILE):
                        size = min(_TILE, hi - j0)
                        _tile_distances(q[qi], r_t, j0, size, dist)
                        o = own[qi] - j0
                        if 0 <= o < size:
                            dist[o] = np.inf
                        for s in range(n_s):
                            e = radius[s, qi]
                            c_s = scales[s]
                            n = 0
                            for m in range(size):
                                n += c_s * dist[m] < e
                            counts[s, qi] += n
    return counts


class _Layout:
    """References (and queries) in the cells of a regular grid on two coordinates ``(u0, u1)``,
    sorted by a third coordinate ``v`` inside each cell; query blocks never cross a cell.
    ``box[c]``: the exact range of ``u0`` and ``u1`` over the references of cell ``c``.
    """

    def __init__(
        self,
        ur: tuple[np.ndarray, np.ndarray, np.ndarray],
        uq: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        widths: tuple[float, float],
    ) -> None:
        grids = [self._grid(u, w) for u, w in zip(ur[:2], widths, strict=True)]
        self.n1 = grids[1][2]
        self.steps = np.array([grids[0][1], grids[1][1]])
        self.origin = np.array([grids[0][0], grids[1][0]])
        cell_r = self._bin(ur[0], *grids[0]) * self.n1 + self._bin(ur[1], *grids[1])
        n_cells = grids[0][2] * self.n1
        self.ref_order = np.lexsort((ur[2], cell_r))
        self.cells = np.searchsorted(cell_r[self.ref_order], np.arange(n_cells + 1)).astype(np.int64)
        self.box = np.empty((n_cells, 4))
        self.box[:, [0, 2]] = np.inf
        self.box[:, [1, 3]] = -np.inf
        nonempty = np.diff(self.cells) > 0
        starts = self.cells[:-1][nonempty]
        for j, u in enumerate(ur[:2]):
            self.box[nonempty, 2 * j] = np.minimum.reduceat(u[self.ref_order], starts)
            self.box[nonempty, 2 * j + 1] = np.maximum.reduceat(u[self.ref_order], starts)
        if uq is None:  # the queries are the references
            self.query_order, cq = self.ref_order, cell_r[self.ref_order]
        else:
            cq_all = self._bin(uq[0], *grids[0]) * self.n1 + self._bin(uq[1], *grids[1])
            self.query_order = np.lexsort((uq[2], cq_all))
            cq = cq_all[self.query_order]
        cuts = np.flatnonzero(np.diff(cq)) + 1
        bounds = [0]
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(cq)], strict=True):
            bounds.extend(range(a + _QBLOCK, b, _QBLOCK))
            bounds.append(b)
        self.blocks = np.array(bounds, dtype=np.int64)
        self.block_cell = cq[self.blocks[:-1]].astype(np.int64) if len(cq) else np.zeros(0, dtype=np.int64)

    @staticmethod
    def _grid(u: np.ndarray, width: float) -> tuple[float, float, int]:
        lo, span = float(u.min()), float(u.max() - u.min())
        n = int(min(max(1, np.ceil(span / width)) if width > 0 and np.isfinite(width) else 1, _MAX_BINS))
        return lo, (span / n if n > 1 else np.inf), n

    @staticmethod
    def _bin(u: np.ndarray, lo: float, step: float, n: int) -> np.ndarray:
        if n == 1:
            return np.zeros(len(u), dtype=np.int64)
        return np.clip(np.floor((u - lo) / step), 0, n - 1).astype(np.int64)


#: most bins per grid coordinate
_MAX_BINS = 256


def _cell_width(radius: float) -> float:
    """Cells about half as wide as the typical search radius: narrow enough to prune, wide enough
    that the runs inside a cell are long.
    """
    return 0.5 * float(radius)


def counts(
    xq: np.ndarray,
    yq: np.ndarray,
    xr: np.ndarray,
    yr: np.ndarray,
    k: int,
    *,
    scales: np.ndarray | None = None,
    exclude_self: bool,
    threads: int,
    self_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Strict marginal counts below each query's k-th joint neighbour, with ``threads`` threads.

    The k-th joint distance ``eps`` of every query in the max norm ``max(|dx|, c |dy|)``, then
    the numbers of references with ``|dx| < eps`` and with ``c |dy| < eps``. Each pass orders the
    references in the cells of a grid on two coordinates, sorted by a third inside each cell, and
    visits, for each query, only the cells and the runs inside them where those three coordinates
    alone do not already rule a reference out (the max norm is at least any one coordinate's
    difference).

    Parameters
    ----------
    xq, yq, xr, yr
        Query and reference samples (float arrays, rows are samples; with ``exclude_self`` the
        queries are the references).
    k
        Neighbour rank.
    scales
        Factors ``c`` of ``y`` (default ``(1.0,)``).
    exclude_self
        Queries are the references: a query is never its own neighbour nor counted.
    threads
        Threads for the query blocks (the results do not depend on it).
    self_rows
        With ``exclude_self``: the reference row that each query is (the queries are ``xr[self_rows]``, a subset
        of the references searched against all of them); default every reference row in order.

    Returns
    -------
    ``(n_x, n_y)``: ``(n_q,)`` int64 arrays, or ``(S, n_q)`` when ``scales`` is given.
    """
    grid = np.array([1.0]) if scales is None else np.ascontiguousarray(scales, dtype=np.float64)
    xq, yq = np.asarray(xq, dtype=np.float64), np.asarray(yq, dtype=np.float64)
    xr, yr = np.asarray(xr, dtype=np.float64), np.asarray(yr, dtype=np.float64)
    n_q = len(xq)
    v_is_y = xr.shape[1] < 2 <= yr.shape[1]
    v_col = 1 if (xr.shape[1] >= 2 or yr.shape[1] >= 2) else 0

    def joint_cols(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return a[:, 0], b[:, 0], (b if v_is_y else a)[:, v_col]

    # numba's OpenMP layer, when it starts (the first call in a process), sets the OpenMP thread count to its own
    # (every core); torch shares that runtime and reads the same count, so a caller's torch.set_num_threads(1)
    # silently became every core, and later training oversubscribed the CPU (two such processes: many times slower)
    torch_threads = torch.get_num_threads()
    previous = nb.get_num_threads()
    nb.set_num_threads(max(1, min(int(threads), nb.config.NUMBA_NUM_THREADS)))
    # the reference row of each query, excluded from its search and counts (None: no query is a reference)
    own_rows = None
    if exclude_self:
        own_rows = np.arange(n_q) if self_rows is None else np.asarray(self_rows, dtype=np.int64)
    same = exclude_self and self_rows is None  # the queries are the references, in order: one shared layout
    try:
        pair = (xq, yq, xr, yr)
        # a rough radius from a few queries sets the cell width of pass 1
        sample = np.linspace(0, n_q - 1, min(n_q, 64)).astype(np.int64)
        layout = _Layout(joint_cols(xr, yr), joint_cols(xq[sample], yq[sample]), (np.inf, np.inf))
        rough = _first_pass(pair, k, grid, own_rows, v_is_y, v_col, layout, sample)
        width = _cell_width(np.median(rough.max(axis=0)))
        layout = _Layout(joint_cols(xr, yr), None if same else joint_cols(xq, yq), (width, width))
        eps = _first_pass(pair, k, grid, own_rows, v_is_y, v_col, layout, None)
        nx, ny = _marginal_counts(pair, eps, grid, own_rows, same)
    finally:
        nb.set_num_threads(previous)
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
    return (nx[0], ny[0]) if scales is None else (nx, ny)


def _first_pass(
    pair: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    k: int,
    grid: np.ndarray,
    own_rows: np.ndarray | None,
    v_is_y: bool,
    v_col: int,
    layout: _Layout,
    rows: np.ndarray | None,
) -> np.ndarray:
    """Pass 1 of :func:`counts`: the ``(S, n_q)`` k-th joint distances of the queries ``rows`` (all: None);
    ``own_rows``: each query's own reference row, or None.
    """
    xq, yq, xr, yr = pair
    xs, ys = (xq, yq) if rows is None else (xq[rows], yq[rows])
    qo = layout.query_order
    if own_rows is not None:
        own = _rank(layout.ref_order)[(own_rows if rows is None else own_rows[rows])[qo]]
    else:
        own = np.full(len(qo), -1)
    out = np.empty((len(grid), len(qo)))
    out[:, qo] = _kth_distances(
        np.ascontiguousarray(xs[qo]),
        np.ascontiguousarray(ys[qo]),
        np.ascontiguousarray(xr[layout.ref_order].T),
        np.ascontiguousarray(yr[layout.ref_order].T),
        np.ascontiguousarray(yr[layout.ref_order]),
        int(k),
        grid,
        own,
        layout.blocks,
        layout.block_cell,
        layout.cells,
        layout.box,
        layout.n1,
        layout.steps,
        v_is_y,
        v_col,
    )
    return out


def _marginal_counts(
    pair: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    eps: np.ndarray,
    grid: np.ndarray,
    own_rows: np.ndarray | None,
    same: bool,
) -> list[np.ndarray]:
    """Pass 2 of :func:`counts`: the ``(S, n_q)`` strict counts below ``eps`` in x and in (scaled) y
    (``own_rows``: each query's own reference row, or None; ``same``: the queries are the references in order).
    """
    xq, yq, xr, yr = pair
    n_q = len(xq)
    width = _cell_width(np.median(eps.max(axis=0)))
    out = []
    for q, r, sc in ((xq, xr, np.ones(len(grid))), (yq, yr, grid)):
        u1, v = min(1, r.shape[1] - 1), min(2, r.shape[1] - 1)
        cols_r = (r[:, 0], r[:, u1], r[:, v])
        w = width / float(sc.min())
        lay = _Layout(cols_r, None if same else (q[:, 0], q[:, u1], q[:, v]), (w, w))
        qo = lay.query_order
        own = _rank(lay.ref_order)[own_rows[qo]] if own_rows is not None else np.full(n_q, -1)
        c = np.empty((len(grid), n_q), dtype=np.int64)
        c[:, qo] = _strict_counts(
            np.ascontiguousarray(q[qo]),
            np.ascontiguousarray(r[lay.ref_order].T),
            np.ascontiguousarray(eps[:, qo]),
            sc,
            own,
            lay.blocks,
            lay.cells,
            lay.box,
            lay.n1,
            lay.origin,
            lay.steps,
            v,
        )
        out.append(c)
    return out


def _rank(order: np.ndarray) -> np.ndarray:
    """Position of every original row in ``order``."""
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank
