"""The Student-t copula: a twin model for heavy-tailed dependence that correlations do not show (issue 30).

A multivariate Student-t with identity scale has uncorrelated coordinates and yet dependent ones: they share one
random scale. The ``bmi`` suite's Student-t tasks (and their ``asinh`` transforms, which have the same copula) read
about half their MI with KSG; the Gaussian twins of :func:`~bioinfo_mi.estimators.ksg_calibrated` have no MI there,
and the Gaussian mixtures of :func:`~bioinfo_mi.estimators.ksg_mixture` reproduce only part of the shared scale.

The t-copula of correlation ``R`` and ``df`` degrees of freedom is the copula of ``t = g / sqrt(w / df)`` with
``g ~ N(0, R)`` and ``w ~ chi^2(df)``; it is the same for every monotone map of the coordinates, so it is fitted to
the normal scores the copula KSG uses (``u = Phi(z)``):

- ``R`` from Kendall's tau, ``R_ij = sin(pi tau_ij / 2)``, which holds for every elliptical copula whatever ``df``
  (on at most :data:`TAU_MAX_ROWS` evenly spaced rows; the nearest positive definite correlation matrix);
- ``df`` by maximum likelihood over :data:`STUDENT_DF` with ``R`` fixed (the t-copula density
  ``f_t(t; R, df) / prod_j f_t(t_j; df)`` at ``t_j = T_df^-1(u_j)``);
- its MI in closed form: the Gaussian MI of ``R`` plus ``e(d_x) + e(d_y) - e(d_x + d_y)``, where
  ``e(d) = log Gamma(df / 2) - log Gamma((df + d) / 2) + (df + d) / 2 (psi((df + d) / 2) - psi(df / 2))`` is the
  shared scale's part of a ``d``-dimensional t's entropy (the other terms cancel between the marginals and the
  joint).

:func:`student_choice` decides by held-out likelihood, never by a truth: the rows are split into their even and
odd halves (no random numbers are drawn, so wherever the t-copula is not chosen nothing else changes), the t-copula
and the Gaussian mixture that :func:`~bioinfo_mi.estimators.ksg_mixture` chose are each fitted to one half and score
the other (densities of the normal scores, the t-copula's with standard normal margins), and the t-copula is chosen
where its mean gain per row is at least :data:`STUDENT_MIN_Z` standard errors above 0 over each of three
alternatives: the mixture; the Gaussian copula of the same correlation (heavy tails at all: the mixture's means and
variances, which normal scores do not need, cost it a little held-out likelihood in a few dimensions at small N);
and one t-copula per side, independent of each other (tails shared across the sides: two independent variables,
each heavy-tailed inside, fit one joint t-copula better than a Gaussian mixture, and its MI would then be read as
dependence).
Measured on the ``bmi`` suite and the single-cell-shaped suite by ``benchmarks/bench_student_choice.py``
(docs/benchmarks.md, "Session 19").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import digamma, gammaln

__all__ = [
    "STUDENT_DF",
    "STUDENT_MIN_Z",
    "STUDENT_MAX_DIM",
    "STUDENT_MAX_ROWS",
    "TAU_MAX_ROWS",
    "kendall_correlation",
    "copula_log_density",
    "fit_student_copula",
    "student_copula_mi",
    "student_scores_mi",
    "draw_student_copula",
    "student_choice",
]

#: degrees of freedom searched (30 stands for every lighter tail: the t-copula there is nearly Gaussian)
STUDENT_DF = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 30.0)
#: least held-out gain, in standard errors, for the t-copula to replace the Gaussian mixture
STUDENT_MIN_Z = 5.0
#: most joint columns for which the t-copula is considered (Kendall's tau costs rows^2 columns^2)
STUDENT_MAX_DIM = 64
#: most rows behind the choice and the fit (evenly spaced)
STUDENT_MAX_ROWS = 4000
#: most rows behind Kendall's tau
TAU_MAX_ROWS = 2000
#: elements of one block of pairwise signs in :func:`kendall_correlation`
_TAU_BLOCK = 2**22


def _spaced(n: int, most: int) -> np.ndarray:
    """Return at most ``most`` evenly spaced indices of ``n`` rows (all of them when ``n <= most``)."""
    return np.arange(n) if n <= most else np.linspace(0, n - 1, most).astype(np.int64)


def kendall_correlation(z: np.ndarray) -> np.ndarray:
    """Return the elliptical copula's correlation ``sin(pi tau / 2)`` from Kendall's tau of the columns of ``z``.

    Parameters
    ----------
    z
        ``(n, d)`` sample (at most :data:`TAU_MAX_ROWS` evenly spaced rows are used).

    Returns
    -------
    ``(d, d)`` positive definite correlation matrix (eigenvalues clipped at 1e-3 and rescaled to a unit diagonal).
    """
    a = np.asarray(z, dtype=np.float64)[_spaced(len(z), TAU_MAX_ROWS)]
    m, d = a.shape
    rows = max(1, _TAU_BLOCK // max(m * d, 1))
    total = np.zeros((d, d))
    for start in range(0, m, rows):
        signs = np.sign(a[start : start + rows, None, :] - a[None, :, :]).reshape(-1, d).astype(np.float32)
        total += (signs.T @ signs).astype(np.float64)
    corr = np.sin(np.pi / 2 * total / (m * (m - 1)))
    np.fill_diagonal(corr, 1.0)
    w, v = np.linalg.eigh(corr)
    corr = (v * np.clip(w, 1e-3, None)) @ v.T
    scale = np.sqrt(np.diag(corr))
    return corr / np.outer(scale, scale)


def copula_log_density(z: np.ndarray, corr: np.ndarray, df: float) -> np.ndarray:
    """Return the log density of the normal scores ``z`` under the t-copula with standard normal margins.

    Parameters
    ----------
    z
        ``(n, d)`` normal scores.
    corr, df
        The copula's correlation and degrees of freedom (``inf``: the Gaussian copula).

    Returns
    -------
    ``(n,)`` log densities (nats): the t-copula's log density at ``Phi(z)`` plus the standard normal margins'.
    """
    d = z.shape[1]
    chol = np.linalg.cholesky(corr)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    if np.isinf(df):  # the Gaussian copula: N(0, R) itself
        return -0.5 * ((np.linalg.solve(chol, z.T) ** 2).sum(0) + logdet + d * np.log(2 * np.pi))
    t = stats.t.ppf(stats.norm.cdf(z), df)
    q = (np.linalg.solve(chol, t.T) ** 2).sum(0)
    joint = gammaln((df + d) / 2) - gammaln(df / 2) - d / 2 * np.log(df * np.pi) - 0.5 * logdet
    joint = joint - (df + d) / 2 * np.log1p(q / df)
    return joint - stats.t.logpdf(t, df).sum(1) + stats.norm.logpdf(z).sum(1)


def fit_student_copula(z: np.ndarray) -> tuple[np.ndarray, float]:
    """Fit the t-copula to normal scores: ``R`` from Kendall's tau, ``df`` by likelihood over :data:`STUDENT_DF`.

    Parameters
    ----------
    z
        ``(n, d)`` normal scores (at most :data:`STUDENT_MAX_ROWS` evenly spaced rows are used).

    Returns
    -------
    ``(corr, df)``.
    """
    rows = np.asarray(z, dtype=np.float64)[_spaced(len(z), STUDENT_MAX_ROWS)]
    corr = kendall_correlation(rows)
    scores = [copula_log_density(rows, corr, df).sum() for df in STUDENT_DF]
    return corr, float(STUDENT_DF[int(np.argmax(scores))])


def _scale_entropy(df: float, d: int) -> float:
    """Return the shared scale's part of a ``d``-dimensional t's entropy (module docstring, ``e(d)``)."""
    half = (df + d) / 2
    return float(gammaln(df / 2) - gammaln(half) + half * (digamma(half) - digamma(df / 2)))


def student_copula_mi(corr: np.ndarray, d_x: int, df: float) -> float:
    """Return the mutual information (nats) between the first ``d_x`` coordinates and the rest of a t-copula.

    Parameters
    ----------
    corr
        ``(d, d)`` correlation matrix.
    d_x
        Columns of the first variable.
    df
        Degrees of freedom.

    Returns
    -------
    The Gaussian MI of ``corr`` plus the shared scale's part (module docstring).
    """
    d = len(corr)
    gaussian = 0.5 * (
        np.linalg.slogdet(corr[:d_x, :d_x])[1] + np.linalg.slogdet(corr[d_x:, d_x:])[1] - np.linalg.slogdet(corr)[1]
    )
    return float(gaussian + _scale_entropy(df, d_x) + _scale_entropy(df, d - d_x) - _scale_entropy(df, d))


def student_scores_mi(xs: np.ndarray, ys: np.ndarray) -> float:
    """Return the MI (nats) of the t-copula fitted to normal scores ``xs``, ``ys`` (:func:`fit_student_copula`: the
    model's MI on a part of the data, for the error bars; its correlation and degrees of freedom both vary).
    """
    corr, df = fit_student_copula(np.hstack([xs, ys]))
    return student_copula_mi(corr, xs.shape[1], df)


def draw_student_copula(corr: np.ndarray, df: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` rows of the t-copula with standard normal margins (the normal scores' space).

    Parameters
    ----------
    corr, df
        The copula's correlation and degrees of freedom.
    n
        Rows.
    rng
        Generator.

    Returns
    -------
    ``(n, d)`` draws: ``Phi^-1(T_df(t))`` per coordinate of a multivariate t.
    """
    g = rng.standard_normal((n, len(corr))) @ np.linalg.cholesky(corr).T
    t = g / np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
    # the upper tail through the survival function: 1 - cdf rounds to 0 long before sf does
    return np.where(t > 0, -stats.norm.ppf(stats.t.sf(t, df)), stats.norm.ppf(stats.t.cdf(t, df)))


def student_choice(
    z: np.ndarray, d_x: int, mixture_log_density: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> dict[str, Any]:
    """Compare the t-copula with the chosen Gaussian mixture by held-out likelihood (module docstring).

    Parameters
    ----------
    z
        ``(n, d)`` joint normal scores (at most :data:`STUDENT_MAX_ROWS` evenly spaced rows are used).
    d_x
        Columns of the first variable (the first ``d_x`` of ``z``).
    mixture_log_density
        ``(train, test) -> log densities of the test rows`` of the mixture fitted to ``train``.

    Returns
    -------
    dict with ``z`` (the t-copula's mean held-out gain per row over the mixture, over its standard error),
    ``z_tails`` (the same over the Gaussian copula of the same correlation: the evidence for heavy tails alone,
    free of the mixture's extra parameters), ``z_shared`` (the same over one t-copula per side, independent of each
    other: the evidence that the two sides share their tails, so that heavy tails within each side alone are never
    read as dependence), ``gain`` (the mean gain over the mixture, nats per row), ``df_halves`` (fitted to each
    half) and ``selected`` (all three at least :data:`STUDENT_MIN_Z`).
    """
    rows = np.asarray(z, dtype=np.float64)[_spaced(len(z), STUDENT_MAX_ROWS)]
    halves = (rows[0::2], rows[1::2])
    over_mixture, over_gaussian, over_sides, dfs = [], [], [], []
    for train, test in (halves, halves[::-1]):
        corr, df = fit_student_copula(train)
        t_density = copula_log_density(test, corr, df)
        over_mixture.append(t_density - mixture_log_density(train, test))
        over_gaussian.append(t_density - copula_log_density(test, corr, np.inf))
        sides = (slice(0, d_x), slice(d_x, None))
        apart = sum(copula_log_density(test[:, c], *fit_student_copula(train[:, c])) for c in sides)
        over_sides.append(t_density - apart)
        dfs.append(df)
    scores = {name: _z(np.concatenate(g)) for name, g in (("z", over_mixture), ("z_tails", over_gaussian))}
    scores["z_shared"] = _z(np.concatenate(over_sides))
    return scores | {
        "gain": float(np.concatenate(over_mixture).mean()),
        "df_halves": dfs,
        "selected": bool(min(scores.values()) >= STUDENT_MIN_Z),
    }


def _z(gain: np.ndarray) -> float:
    """Return the mean of ``gain`` over its standard error (0 where it does not vary)."""
    spread = float(gain.std(ddof=1)) if len(gain) > 1 else 0.0
    return float(gain.mean() / (spread / np.sqrt(len(gain)))) if spread > 0 else 0.0
