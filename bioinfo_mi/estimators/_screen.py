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
as part of the family-wise null it set the threshold of its whole side (session 13). A side of at most
:data:`SCREEN_MIN_COLUMNS` columns is not screened (the encoders handle
a few noise columns, and one chance pass would drop columns that carry a nonlinear signal). After the
first pass each side is screened again against the components of the other side's kept columns,
whose leading directions are then less diluted by noise, until the kept columns no longer change (at
most :data:`SCREEN_ROUNDS` passes). Above :data:`SCREEN_MAX_ROWS` training rows the screen reads a random
subset of that many, so its cost stays a few seconds at atlas sizes.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "SCREEN_COMPONENTS",
    "SCREEN_MAX_ROWS",
    "SCREEN_MIN_COLUMNS",
    "SCREEN_MIN_SUPPORT",
    "SCREEN_PERMUTATIONS",
    "SCREEN_ROUNDS",
    "screen_columns",
]

#: leading components of the other side that a column is scored against
SCREEN_COMPONENTS = 10
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
) -> np.ndarray | None:
    """Columns of ``a`` whose score on ``basis`` beats the largest score of a scored column under row permutations
    of it, and the columns too sparse to score (:data:`SCREEN_MIN_SUPPORT`); every column where ``a`` is too narrow
    to screen, ``None`` where no scored column passes.
    """
    if a.shape[1] <= SCREEN_MIN_COLUMNS:
        return np.arange(a.shape[1])
    mean, norms, scored = a_stats
    if not bool(scored.any()):
        return None
    observed = _scores(a, mean, norms, basis)
    null = max(
        float(_scores(a, mean, norms, basis[torch.as_tensor(rng.permutation(len(a)), device=a.device)])[scored].max())
        for _ in range(SCREEN_PERMUTATIONS)
    )
    passed = (observed > null) & scored
    if not bool(passed.any()):
        return None
    return np.flatnonzero((passed | ~scored).cpu().numpy())


def screen_columns(
    x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator, generator: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices of the columns of ``x`` and of ``y`` (training rows, standardised) that the other
    side's leading components predict beyond chance (passes until the kept columns settle; module
    docstring). Where, in the last pass, a screened side has no column above the null, both sides keep every
    column.
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
    for _ in range(SCREEN_ROUNDS):
        bases = []
        for side, mean, cols in zip((x, y), means, kept, strict=True):
            idx = torch.as_tensor(cols, device=side.device)
            sub = side if len(cols) == side.shape[1] else side.index_select(1, idx)
            bases.append(_leading_basis(sub, mean[idx], min(SCREEN_COMPONENTS, len(cols)), generator))
        passed = [_screen_side(x, stats[0], bases[1], rng), _screen_side(y, stats[1], bases[0], rng)]
        # a side with no column above the null keeps every column for the next pass
        new = [np.arange(side.shape[1]) if p is None else p for p, side in zip(passed, (x, y), strict=True)]
        if all(len(a) == len(b) and (a == b).all() for a, b in zip(new, kept, strict=True)):
            break
        kept = new
    if any(p is None for p in passed):
        # in the last pass no column of one side beat the null: a pass on the other side is then as likely
        # chance, or a dependence too weak or too nonlinear to screen by, so neither side is screened
        return np.arange(x.shape[1]), np.arange(y.shape[1])
    return kept[0], kept[1]
