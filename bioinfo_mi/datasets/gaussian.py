"""Gaussian datasets with analytically known mutual information.

- :func:`gaussian_low_rank`: Algorithm 4 of the LMI paper (Gowri et al. 2024, Section 3.1 and
  Appendix A.3.1): high ambient dimension ``d``, low-rank (``rank``-dimensional; the paper's ``k``) dependence.
- :func:`correlated_gaussian` and :func:`additive_noise`: the two *base distributions* of the
  scale-invariance paper (Section 6.1), returned together with their analytic MI; the analytic
  values alone are available from :func:`correlated_gaussian_mi` and :func:`additive_noise_mi`.

All MI values are in bits. Every generator is seeded only through ``random_state`` (an int, ``None``
or a ``numpy.random.Generator``); the same int seed gives identical arrays.
"""

from __future__ import annotations

import math

import numpy as np

from .._docs import shared_docs
from .._validation import check_positive_int, check_random_state, check_real

__all__ = [
    "LOW_RANK_VAR_X",
    "LOW_RANK_VAR_Y",
    "low_rank_rho",
    "gaussian_low_rank",
    "correlated_gaussian",
    "correlated_gaussian_mi",
    "additive_noise",
    "additive_noise_mi",
]

#: variance of the X component of each dependent bivariate pair in Algorithm 4
LOW_RANK_VAR_X = 6.0
#: variance of the Y component (the paper's printed "3/5" is an extraction error for 3.5)
LOW_RANK_VAR_Y = 3.5


def low_rank_rho(mi_bits: float, rank: int) -> float:
    """Covariance ``rho`` of each dependent pair in Algorithm 4 (LMI paper, Appendix A.3.1).

    ``rho = sqrt(6 * 3.5) * sqrt(1 - 2^(-2 b / rank))``, so that each of the ``rank`` pairs, with
    covariance ``[[6, rho], [rho, 3.5]]`` and hence correlation ``r = sqrt(1 - 2^(-2b/rank))``,
    carries ``-0.5 log2(1 - r^2) = b / rank`` bits.

    Parameters
    ----------
    mi_bits
        Total MI ``b`` (bits, >= 0).
    rank
        Number of dependent pairs (>= 1).

    Returns
    -------
    The covariance ``rho`` (not the correlation).
    """
    b = check_real(mi_bits, name="mi_bits", low=0.0)
    rank = check_positive_int(rank, name="rank")
    return math.sqrt(LOW_RANK_VAR_X * LOW_RANK_VAR_Y) * math.sqrt(-math.expm1(-2.0 * b / rank * math.log(2.0)))


@shared_docs
def gaussian_low_rank(
    d: int = 1000,
    rank: int = 1,
    n_samples: int = 2000,
    mi_bits: float = 1.0,
    n_nuisance: int | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Multivariate Gaussians with a ``rank``-dimensional dependence structure (LMI paper, Algorithm 4).

    Column layout of both ``x`` and ``y`` (0-based, as in the algorithm):

    - ``[0, rank)``: the dependent dimensions; column ``i`` of ``x`` and ``y`` is one draw of a bivariate
      Gaussian ``N(0, [[6, rho], [rho, 3.5]])`` with ``rho`` from :func:`low_rank_rho`, independent
      across ``i``, so each pair carries ``mi_bits / rank`` bits;
    - ``[rank, d - n_nuisance)``: "redundant" dimensions; column ``rank + j`` is an exact copy of
      dependent column ``r_j``, with ``r_j`` uniform on ``0..rank-1`` and the *same* ``r_j`` for ``x`` and ``y``;
    - ``[d - n_nuisance, d)``: "nuisance" dimensions, independent ``N(0, 1)`` in ``x`` and in ``y``.

    Redundant columns are functions of the dependent ones and nuisance columns are independent of
    everything else, so ``I(X; Y) = mi_bits`` exactly.

    Parameters
    ----------
    d
        Ambient dimension of each variable (>= rank).
    rank
        Dimension of the dependence structure (>= 1; the paper's ``k``; in this package ``k`` is
        always a number of neighbours).
    n_samples
        Number of samples (>= 1).
    mi_bits
        Ground-truth ``I(X; Y)`` in bits (>= 0).
    n_nuisance
        Number of nuisance dimensions, ``0 <= n_nuisance <= d - rank``; default ``(d - rank) // 2``.
        The remaining ``d - rank - n_nuisance`` dimensions are redundant copies.
    {random_state}

    Returns
    -------
    x, y
        Two float64 arrays of shape ``(n_samples, d)``. The true MI is ``mi_bits``.

    Raises
    ------
    ValueError
        If ``d < rank``, ``rank < 1``, ``n_samples < 1``, ``mi_bits < 0`` (or not finite) or ``n_nuisance`` is
        outside ``[0, d - rank]``.
    """
    rank = check_positive_int(rank, name="rank")
    d = check_positive_int(d, name="d")
    if d < rank:
        raise ValueError(
            f"d must be >= rank (ambient dimension at least the dependence dimension), got d={d}, rank={rank}"
        )
    n = check_positive_int(n_samples, name="n_samples")
    rho = low_rank_rho(mi_bits, rank)
    if n_nuisance is None:
        n_nuisance = (d - rank) // 2
    n_nuisance = check_positive_int(n_nuisance, name="n_nuisance", minimum=0)
    if n_nuisance > d - rank:
        raise ValueError(f"n_nuisance must be <= d - rank = {d - rank}, got {n_nuisance}")
    rng = check_random_state(random_state)

    sx, sy = math.sqrt(LOW_RANK_VAR_X), math.sqrt(LOW_RANK_VAR_Y)
    r = rho / (sx * sy)  # correlation of each dependent pair
    x = np.empty((n, d), dtype=np.float64)
    y = np.empty((n, d), dtype=np.float64)

    # rank dependent bivariate pairs, via the Cholesky factor of [[6, rho], [rho, 3.5]]
    z1 = rng.standard_normal((n, rank))
    z2 = rng.standard_normal((n, rank))
    x[:, :rank] = sx * z1
    y[:, :rank] = sy * (r * z1 + math.sqrt(max(0.0, 1.0 - r * r)) * z2)

    # redundant copies: the same source index for x and y
    n_redundant = d - rank - n_nuisance
    if n_redundant:
        source = rng.integers(0, rank, size=n_redundant)
        x[:, rank : rank + n_redundant] = x[:, source]
        y[:, rank : rank + n_redundant] = y[:, source]

    # independent nuisance dimensions at the end
    if n_nuisance:
        x[:, d - n_nuisance :] = rng.standard_normal((n, n_nuisance))
        y[:, d - n_nuisance :] = rng.standard_normal((n, n_nuisance))
    return x, y


def correlated_gaussian_mi(d: int, rho: float) -> float:
    """Analytic ``I(X; T)`` (bits) of the correlated Gaussian base: ``-d/2 * log2(1 - rho^2)``.

    Parameters
    ----------
    d
        Dimension (>= 1).
    rho
        Per-coordinate correlation, ``-1 < rho < 1``.

    Returns
    -------
    The mutual information in bits.
    """
    d = check_positive_int(d, name="d")
    rho = check_real(rho, name="rho", low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return -0.5 * d * math.log1p(-rho * rho) / math.log(2.0)


@shared_docs
def correlated_gaussian(
    n_samples: int = 1000,
    d: int = 1,
    rho: float = 0.5,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Correlated Gaussian base distribution (scale-invariance paper, Section 6.1).

    ``X, T ~ N(0, I_d)`` with ``E[X_i T_i] = rho`` and ``E[X_i T_j] = 0`` for ``i != j``; generated as
    ``T = rho X + sqrt(1 - rho^2) Z`` with ``Z ~ N(0, I_d)`` independent of ``X``.

    Parameters
    ----------
    n_samples
        Number of samples (>= 1).
    d
        Dimension of ``X`` and ``T`` (>= 1).
    rho
        Per-coordinate correlation, ``-1 < rho < 1``.
    {random_state}

    Returns
    -------
    x, t, mi_bits
        Two float64 arrays of shape ``(n_samples, d)`` and the analytic MI
        ``-d/2 * log2(1 - rho^2)`` (see :func:`correlated_gaussian_mi`).
    """
    n = check_positive_int(n_samples, name="n_samples")
    mi_bits = correlated_gaussian_mi(d, rho)
    d, rho = int(d), float(rho)
    rng = check_random_state(random_state)
    x = rng.standard_normal((n, d))
    t = rho * x + math.sqrt(1.0 - rho * rho) * rng.standard_normal((n, d))
    return x, t, mi_bits


def additive_noise_mi(d: int, sigma: float) -> float:
    """Analytic ``I(X; T)`` (bits) of the additive-noise base: ``d/2 * log2(1 + 1 / sigma^2)``.

    Parameters
    ----------
    d
        Dimension (>= 1).
    sigma
        Noise standard deviation (> 0).

    Returns
    -------
    The mutual information in bits.
    """
    d = check_positive_int(d, name="d")
    sigma = check_real(sigma, name="sigma", low=0.0, low_inclusive=False)
    return 0.5 * d * math.log1p(1.0 / (sigma * sigma)) / math.log(2.0)


@shared_docs
def additive_noise(
    n_samples: int = 1000,
    d: int = 1,
    sigma: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Additive Gaussian noise base distribution (scale-invariance paper, Section 6.1).

    ``X ~ N(0, I_d)`` and ``T = X + eps`` with ``eps ~ N(0, sigma^2 I_d)`` independent of ``X``.

    Parameters
    ----------
    n_samples
        Number of samples (>= 1).
    d
        Dimension of ``X`` and ``T`` (>= 1).
    sigma
        Noise standard deviation (> 0); the signal-to-noise ratio is ``1 / sigma^2``.
    {random_state}

    Returns
    -------
    x, t, mi_bits
        Two float64 arrays of shape ``(n_samples, d)`` and the analytic MI
        ``d/2 * log2(1 + 1 / sigma^2)`` (see :func:`additive_noise_mi`).
    """
    n = check_positive_int(n_samples, name="n_samples")
    mi_bits = additive_noise_mi(d, sigma)
    d, sigma = int(d), float(sigma)
    rng = check_random_state(random_state)
    x = rng.standard_normal((n, d))
    t = x + sigma * rng.standard_normal((n, d))
    return x, t, mi_bits
