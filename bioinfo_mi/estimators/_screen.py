"""Feature screening on the training half of LMI (issue 30, direction 2).

Single-cell inputs are thousands of genes of which few carry the partner's information. The
autoencoders keep the directions of most variance, which among hundreds of noise columns are
noise: on the single-cell-shaped suite (``bm.benchmark.sc_suite``) LMI read 0.02 of 1.2 bits with
190 noise columns per side. Screening keeps the columns of each side that the other side's leading
principal components predict beyond chance, measured on the training half only, so the held-out
half that KSG scores stays untouched (a column chosen on other data cannot bias the estimate on
it) and the MI of the kept columns is a lower bound of the MI of all of them (data processing).

The score of column ``j`` of ``a`` is the ``R^2`` of its centred training values on the ``m``
leading left singular vectors of the other side's centred training matrix (``m``:
:data:`SCREEN_COMPONENTS`, fewer where the other side has fewer columns or rows); a column is kept
when its score exceeds the largest score of any column of its side against :data:`SCREEN_PERMUTATIONS`
random row permutations of those vectors (a family-wise null: the largest noise column of a side
passes with probability about ``1 / (SCREEN_PERMUTATIONS + 1)``). The screen is linear: where a screened
side has no column that passes in the last pass (e.g. ``y = x^2``, where no column correlates with the other
side), neither side is screened: a dependence strong and linear enough to screen by shows from both sides,
and a pass on one side alone is then as likely chance (independent columns: the Gaussian grid's 0-bit cell)
or a nonlinear dependence that the kept columns would lose (label-resampled digits, 64 pixels: estimates
0.193 / 0.223 / 0.369 -> 0.067 / 0.111 / 0.156 bits with one-sided screens; session 12,
``benchmarks/bench_screen_default.py``).
A column whose values differ from its median in at most :data:`SCREEN_MIN_SUPPORT` of the screen's rows (a pixel
lit in two images) is not scored and is kept: its R^2 on ten components under permutations is mostly chance, and
as part of the family-wise null it set the threshold of its whole side (session 13). The family-wise threshold
keeps the strongest columns; where a signal is spread thinly over many columns (label-resampled digits, groups 0-4
vs 5-9: every pixel weakly tied to the class) it kept 14-17 of 64 pixels and LMI lost most of the MI (1500 pairs:
0.11 of 1 bit and 0.00 of 0.71, where LMI on every pixel read 0.40 and 0.22). So each pass ends with a completion
(:func:`_completed`, session 14): the left-out scored columns are taken back in decreasing order of their score's
excess over its permutation mean, as few as leave a summed score of the rest no larger than the largest sum of the
same columns under the permutations (the family-wise level, applied to the sum). Left-out noise columns sum to
chance and are left out (the sum beats its null with probability about ``1 / (SCREEN_PERMUTATIONS + 1)`` per side);
on those digits LMI then read 0.54 and 0.27. A side of at most
:data:`SCREEN_MIN_COLUMNS` columns is not screened (the encoders handle
a few noise columns, and one chance pass would drop columns that carry a nonlinear signal). After the
first pass each side is screened again against the components of the other side's kept columns,
whose leading directions are then less diluted by noise, until the kept columns no longer change (at
most :data:`SCREEN_ROUNDS` passes). Where the first pass finds no column on either side, it is tried once more
against :data:`SCREEN_WIDE_COMPONENTS` components (session 15): in wide noisy inputs a weak shared signal can lie
below the leading ten components of both sides, and one column found on one side is enough for the later passes
to find the rest (the single-cell-shaped suite's 6 states in 20 of 2000 columns per side at N = 2000: on data
set 0 no column passed, every column was kept and LMI read -0.03 of 1.67 bits, with the retry 1.26; the suite's
mean MSE at N = 2000: LMI 0.374 -> 0.262 bits^2, `auto` 0.334 -> 0.223; `sc_suite_s15*.csv`).
Above :data:`SCREEN_MAX_ROWS` training rows the screen reads a random
subset of that many, so its cost stays a few seconds at atlas sizes.
"""

from __future__ import annotations

import numpy as np
import torch

from .._rows import Rows
from .._validation import seed_from

__all__ = [
    "SCREEN_COMPONENTS",
    "SCREEN_MAX_ROWS",
    "SCREEN_MIN_COLUMNS",
    "SCREEN_MIN_SUPPORT",
    "SCREEN_PERMUTATIONS",
    "SCREEN_ROUNDS",
    "SCREEN_WIDE_COMPONENTS",
    "screen_columns",
    "screen_report",
    "screen_rows",
]

#: leading components of the other side that a column is scored against
SCREEN_COMPONENTS = 10
#: components of the first pass's second try, where the first found no column on either side
SCREEN_WIDE_COMPONENTS = 50
#: row permutations behind the null threshold of a screen
SCREEN_PERMUTATIONS = 20
#: a side with at most this many columns is not screened (every column kept)
SCREEN_MIN_COLUMNS = 20
#: most training rows the screen reads (a random subset above it: the cost stays bounded at atlas sizes)
SCREEN_MAX_ROWS = 10_000
#: most passes of the screen (each against the components of the other side's columns kept by the last)
SCREEN_ROUNDS = 4
#: a column whose values differ from its median in at most this many of the screen's rows is not scored, and kept:
#: the R^2 of a few rows on ``SCREEN_COMPONENTS`` components is mostly chance, and such a column set the null
#: of its whole side (label-resampled digits, 1 bit: a pixel non-zero in 2 of 290 rows raised the threshold
#: so that one of 61 pixels passed and LMI read 0.00 bits; session 13)
SCREEN_MIN_SUPPORT = 20
_POWER_ITERATIONS = 4
_BLOCK = 8192


def _column_means(a: torch.Tensor) -> torch.Tensor:
    return torch.stack([a[i : i + _BLOCK].double().sum(0) for i in range(0, len(a), _BLOCK)]).sum(0) / len(a)


def _centered_sq_norms(a: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    parts = [((a[i : i + _BLOCK].double() - mean) ** 2).sum(0) for i in range(0, len(a), _BLOCK)]
    return torch.stack(parts).sum(0)


def _leading_basis(a: torch.Tensor, mean: torch.Tensor, m: int, generator: torch.Generator) -> torch.Tensor:
    """Orthonormal ``(n, m)`` basis of the leading left singular subspace of the centred ``a`` (randomised
    subspace iteration, seeded by ``generator``; the centring is applied to the products, never to ``a``).
    """
    n, d = a.shape
    q = min(m + 10, d, n - 1)
    mu = mean.to(a.dtype)
    omega = torch.randn(d, q, generator=generator, dtype=a.dtype).to(a.device)
    basis = torch.linalg.qr(a @ omega - mu @ omega).Q
    for _ in range(_POWER_ITERATIONS):
        back = a.T @ basis - mu[:, None] * basis.sum(0)[None, :]
        basis = torch.linalg.qr(a @ back - mu @ back).Q
    small = basis.T @ a - basis.sum(0)[:, None] * mu[None, :]
    u, _, _ = torch.linalg.svd(small.double(), full_matrices=False)
    return basis @ u[:, : min(m, q)].to(a.dtype)


def _scores(a: torch.Tensor, mean: torch.Tensor, norms: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``R^2`` of every centred column of ``a`` on the orthonormal ``basis`` (float64)."""
    proj = (a.T @ basis).double() - mean[:, None] * basis.sum(0).double()[None, :]
    return (proj**2).sum(1) / norms.clamp_min(1e-300)


def _support(a: torch.Tensor) -> torch.Tensor:
    """Rows in which each column of ``a`` differs from its median (blocks of 512 columns)."""
    return torch.cat(
        [(a[:, j : j + 512] != a[:, j : j + 512].median(0).values).sum(0) for j in range(0, a.shape[1], 512)]
    )


def _screen_side(
    a: torch.Tensor, a_stats: tuple[torch.Tensor, ...], basis: torch.Tensor, rng: np.random.Generator
) -> tuple[np.ndarray | None, int]:
    """Columns of ``a`` whose score on ``basis`` beats the largest score of a scored column under row permutations
    of it, the columns too sparse to score (:data:`SCREEN_MIN_SUPPORT`), and the left-out columns that the
    completion takes back (:func:`_completed`); every column where ``a`` is too narrow to screen, ``None`` where
    no scored column passes. Also the number of columns the completion took back.
    """
    if a.shape[1] <= SCREEN_MIN_COLUMNS:
        return np.arange(a.shape[1]), 0
    mean, norms, scored = a_stats
    if not bool(scored.any()):
        return None, 0
    observed = _scores(a, mean, norms, basis)
    nulls = torch.stack(
        [
            _scores(a, mean, norms, basis[torch.as_tensor(rng.permutation(len(a)), device=a.device)])
            for _ in range(SCREEN_PERMUTATIONS)
        ]
    )
    passed = (observed > float(nulls[:, scored].max())) & scored
    if not bool(passed.any()):
        return None, 0
    added = _completed(observed, nulls, scored & ~passed)
    passed[added] = True
    return np.flatnonzero((passed | ~scored).cpu().numpy()), len(added)


def _completed(observed: torch.Tensor, nulls: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
    """Left-out columns taken back until the rest carries no more than chance: the left-out columns in decreasing
    order of their score's excess over its permutation mean, as few as leave a summed score of the rest no larger
    than the largest sum of the same columns under any of the permutations (the family-wise level of the screen,
    applied to the sum; ``nulls``: one row of scores per permutation).
    """
    index = torch.nonzero(left).flatten()
    if len(index) == 0:
        return index
    excess = observed[index] - nulls[:, index].mean(0)
    order = index[torch.argsort(excess, descending=True)]
    zero = observed.new_zeros(1)
    # sums of the rest after taking back the first t columns of ``order``, t = 0 .. len(order)
    rest = observed[order].sum() - torch.cat([zero, torch.cumsum(observed[order], 0)])
    rest_null = nulls[:, order].sum(1, keepdim=True) - torch.cat(
        [zero.expand(len(nulls), 1), torch.cumsum(nulls[:, order], 1)], dim=1
    )
    beyond = rest > rest_null.max(0).values
    return order[: int(torch.argmin(beyond.to(torch.int8)))] if bool(beyond[0]) else order[:0]


def screen_columns(
    x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices of the columns of ``x`` and of ``y`` (training rows, standardised) that the other
    side's leading components predict beyond chance (passes until the kept columns settle; module
    docstring). Where, in the last pass, a screened side has no column above the null, both sides keep every
    column.
    """
    kx, ky, _ = screen_report(x, y, rng, generator)
    return kx, ky


def screen_report(
    x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """:func:`screen_columns`, and the number of columns of each side that the completion took back in the last
    pass (:func:`_completed`; 0 where the kept columns leave no more than chance behind).
    """
    if len(x) > SCREEN_MAX_ROWS:
        rows = torch.as_tensor(np.sort(rng.choice(len(x), SCREEN_MAX_ROWS, replace=False)), device=x.device)
        x, y = x.index_select(0, rows), y.index_select(0, rows)
    means = (_column_means(x), _column_means(y))
    stats = [
        (mean, _centered_sq_norms(side, mean), _support(side) > SCREEN_MIN_SUPPORT)
        for side, mean in zip((x, y), means, strict=True)
    ]
    kept = [np.arange(x.shape[1]), np.arange(y.shape[1])]
    for round_ in range(SCREEN_ROUNDS):
        (px, ax), (py, ay) = _pass((x, y), means, stats, kept, SCREEN_COMPONENTS, rng, generator)
        if round_ == 0 and px is None and py is None:
            # nothing passed on either side: the leading components of a wide noisy side can miss a weak shared
            # signal; one more first pass against more of them (the sc suite's 2000-column states)
            (px, ax), (py, ay) = _pass((x, y), means, stats, kept, SCREEN_WIDE_COMPONENTS, rng, generator)
        # a side with no column above the null keeps every column for the next pass
        new = [np.arange(side.shape[1]) if p is None else p for p, side in zip((px, py), (x, y), strict=True)]
        if all(len(a) == len(b) and (a == b).all() for a, b in zip(new, kept, strict=True)):
            break
        kept = new
    if px is None or py is None:
        # in the last pass no column of one side beat the null: a pass on the other side is then as likely
        # chance, or a dependence too weak or too nonlinear to screen by, so neither side is screened
        return np.arange(x.shape[1]), np.arange(y.shape[1]), (0, 0)
    return kept[0], kept[1], (ax, ay)


def _pass(
    sides: tuple[torch.Tensor, torch.Tensor],
    means: tuple[torch.Tensor, torch.Tensor],
    stats: list[tuple[torch.Tensor, ...]],
    kept: list[np.ndarray],
    components: int,
    rng: np.random.Generator,
    generator: torch.Generator,
) -> tuple[tuple[np.ndarray | None, int], tuple[np.ndarray | None, int]]:
    """One pass of :func:`screen_report`: each side screened against the ``components`` leading components of the
    other side's ``kept`` columns (:func:`_screen_side` for each side).
    """
    bases = []
    for side, mean, cols in zip(sides, means, kept, strict=True):
        idx = torch.as_tensor(cols, device=side.device)
        sub = side if len(cols) == side.shape[1] else side.index_select(1, idx)
        bases.append(_leading_basis(sub, mean[idx], min(components, len(cols)), generator))
    return _screen_side(sides[0], stats[0], bases[1], rng), _screen_side(sides[1], stats[1], bases[0], rng)


def screen_rows(xr: Rows, yr: Rows, index: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return the columns of ``xr`` and ``yr`` that the screen keeps on the rows ``index``, each side standardised
    on those rows: the check of ``method="auto"`` for a KSG estimator on every column of sides that are mostly
    noise (:func:`~bioinfo_mi.estimators.choose_method`).

    Parameters
    ----------
    xr, yr
        The paired inputs, read by blocks (only the rows ``index`` are densified, as float32).
    index
        Sorted row indices (beyond :data:`SCREEN_MAX_ROWS` of them, a random subset is screened).
    rng
        Generator of the permutations (and of the subset).

    Returns
    -------
    The indices of the kept columns of ``x`` and of ``y`` (every column where nothing is left out).
    """
    sides = []
    for rows in (xr, yr):
        a = rows.take(index).astype(np.float32)
        a -= a.mean(0)
        sd = a.std(0)
        a /= np.where(sd > 0, sd, 1.0)
        sides.append(torch.from_numpy(a))
    return screen_columns(sides[0], sides[1], rng, torch.Generator().manual_seed(seed_from(rng)))
