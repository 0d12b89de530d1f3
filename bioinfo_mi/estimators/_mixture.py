"""KSG calibrated against Gaussian-mixture twins (issue 30, direction 3: a bias correction that does not assume a
Gaussian copula).

KSG (Kraskov et al. 2004, algorithm 1) reads low where the MI is high or the dependence is curved or clustered.
:func:`~bioinfo_mi.estimators.ksg_calibrated` measures that bias on Gaussian twins of the data, which carry neither
the curvature nor the clusters (their Gaussian MI is ~0 for ``y = x^2``, so its cap leaves the KSG reading): on the
single-cell-shaped suite (``bm.benchmark.sc_suite``, N = 2000) it read 2.39 of 3.47 bits on ``y = x^2 + noise``
and 0.24 of 0.45 on 8 weakly separated unequal states. :func:`ksg_mixture` measures the bias on twins drawn from
a Gaussian mixture fitted to the data (there 3.19 and 0.36 bits; docs/benchmarks.md, "Session 15"):

1. every column is replaced by its normal scores (as in :func:`~bioinfo_mi.estimators.ksg_calibrated`) and
   pointwise KSG runs on them: ``I_KSG``. Where ``I_KSG`` is below :data:`RESOLVE_Z` (3) of its standard errors
   under independence, ``sd(pmi) / sqrt(n)``, KSG resolves no dependence and ``I_KSG`` is returned as it is
   (``calibration="unresolved"``; no random numbers are drawn for the check): the steps below multiply the reading
   by up to ``1 / c`` and, matched, clip a negative one at 0, which at independence turned noise into a positive
   bias (session 20, ``benchmarks/bench_mixture_null.py``);
2. a Gaussian mixture with full covariances is fitted to the joint normal scores; its number of components is
   chosen among :data:`MIXTURE_COMPONENTS` by the held-out log-likelihood of a two-fold split (each half fitted,
   the other scored; the search stops after two sizes without a gain), then refitted on every sample (on a random
   :data:`MIXTURE_MAX_ROWS` of them above that many). Where both sides have full rank and at most 64 columns
   together, a Student-t copula is compared with that mixture on held-out rows (:mod:`~bioinfo_mi.estimators._student`;
   even and odd rows, no random numbers drawn) and replaces it as the twin model where it predicts them better by at
   least 5 standard errors than the mixture, than the Gaussian copula and than one t-copula per side: heavy tails
   shared by both sides, whose dependence no correlation shows (session 19). Its twins are the fitted copula itself,
   with its MI in closed form, not blurred (step 3); the calibration subtracts their error;
3. ``n_twins`` twins of ``n`` samples are drawn from the mixture. The mixture's own MI is computed by Monte Carlo
   (:data:`MC_SAMPLES` draws of ``log p(x, y) - log p(x) - log p(y)``, the marginals of a mixture being mixtures of
   the components' marginals; in closed form for one component). A mixture fitted to ``n`` samples is more
   dependent than the distribution behind them. For one component that inflation is known exactly (the plug-in
   Gaussian MI's expected excess, about ``d_x d_y / 2n`` nats); for more, the same number of components is fitted
   to :data:`INFLATION_REFITS` fresh draws of the mixture and their mean excess measures it (a parametric
   bootstrap). Every twin is blurred by independent Gaussian noise of the standard deviation ``sigma0`` that brings
   the mixture's MI down by it (the blurred mixture is a mixture with ``sigma0^2`` added to every covariance);
4. KSG runs on each twin. Where the twins' mean KSG exceeds the data's (the model is more dependent than the data,
   as KSG sees them), the blur is increased (bisection on ``log sigma``, the same noise draws for every
   ``sigma``) until the twins read as much as the data, and the estimate is the MI of that blurred mixture: the
   member of the model family that KSG cannot tell from the data at this sample size. Otherwise the twins'
   error is subtracted: ``I_KSG - (KSG(twins) - I(mixture at sigma0))``;
5. a guard with two checks. Support: ``K`` components fitted to ``n`` rows inflate the model's MI by about
   ``K d_x d_y / 2n`` nats, which the blur removes only roughly; above :data:`MAX_INFLATION` (0.1 nats) the
   mixture is not fitted at all. Convergence, as in :func:`~bioinfo_mi.estimators.ksg_calibrated`: KSG's gain
   from ``n / 2`` to ``n`` samples must be about the same on the data and on the twins (where the twins gain
   more, KSG misses more on them than on the data and the calibration would overshoot). Where either fails, the
   uncorrected copula KSG is returned with an :class:`~bioinfo_mi.EstimateWarning` (kind ``"guard-rejected"``);
   ``method="auto"`` then runs :func:`~bioinfo_mi.estimators.ksg_calibrated` instead.

The pointwise values are the copula KSG's, shifted by the same constant. For data that are a Gaussian mixture
(shared discrete states seen with Gaussian noise) the twins are the data's distribution up to the fit; for a
Gaussian copula the held-out likelihood usually chooses one component and the twins are Gaussian. Where the
sample cannot support a component's full covariance (well-separated states in 20 + 20 dimensions at N = 1000) it
also chooses one component, KSG misses far more on that Gaussian twin than on the clusters, and the estimate
overshoots (``benchmarks/bench_clustered.py`` before the support check: 2.8-6.1 bits for truths of 2-3 where the
convergence check let it through; it rejected 5 of 12 such fits): the support check rejects them (0.2 nats).

Evidence (``benchmarks/bench_sc_suite.py``, ``benchmarks/bench_bmi_suite.py``, ``benchmarks/mixture_rule.py``;
docs/benchmarks.md, "Session 15: the screen's retry and mixture twins"): on the suite's 7 tasks of at most 23
columns per side, mean MSE 0.101 / 0.053 bits^2 at N = 2000 / 10 000 against ``ksg_calibrated``'s 0.300 / 0.167;
on the bmi suite 0.049 against 0.035 (better on the Student-t tasks, worse on 25 + 25 and 50 + 50 Gaussians,
where the fitted model's inflation is large). ``method="auto"`` runs it from 1000 samples on where ``d_x d_y / 2n
<= 0.1`` nats (:func:`~bioinfo_mi.estimators.choose_method`; bmi suite 0.0346 -> 0.0190 bits^2 for ``auto``,
docs/benchmarks.md, "Session 16: the mixture in auto"). Cost: one mixture fit per
candidate size on each half, one on all samples and one on a twin; ``n_twins`` KSG estimates, and ``n_twins`` more
per bisection step (:data:`BISECTION_STEPS`) where the twins read more than the data; for the guard, four KSG
estimates on half the data and two per twin; Monte Carlo MI evaluations (one per step of the bisection for
``sigma0``). The mixture needs ``n`` well above ``d_x + d_y``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

from .._validation import EstimateWarning, check_positive_int, check_random_state, seed_from, to_base
from ._calibrated import _HALF_SPLITS, _RANK_TOL, _SLOPE_ABS, _SLOPE_NOISE, _SLOPE_REL
from ._copula import copula_transform, gaussian_mi_inflation
from ._knn import _ksg_pmi_prepared, _prepare, add_jitter
from ._result import MIResult
from ._student import STUDENT_MAX_DIM, draw_student_copula, fit_student_copula, student_choice, student_copula_mi

__all__ = [
    "ksg_mixture",
    "MAX_INFLATION",
    "RESOLVE_Z",
    "MIXTURE_COMPONENTS",
    "MIXTURE_MAX_ROWS",
    "MC_SAMPLES",
    "BISECTION_STEPS",
    "INFLATION_REFITS",
]

#: largest inflation of the fitted mixture's MI, ``K d_x d_y / 2n`` nats for ``K`` components fitted to ``n`` rows, that
#: the calibration is trusted to remove (the isotropic blur removes it only roughly): above it the estimate is
#: rejected. Measured (benchmarks/mixture_rule.py): on the bmi suite the mixture beat ksg-calibrated on the tasks
#: at or below 0.1 nats and lost on the 25 + 25 and 50 + 50 Gaussians (0.16 and 0.63 nats at n = 2000); on
#: clustered states in 20 + 20 dimensions at n = 2000 it chose 2-4 components (0.2-0.4 nats) and read 2.3-2.9 bits
#: for truths of 2.0
MAX_INFLATION = 0.1
#: the copula KSG must exceed RESOLVE_Z of its standard errors under independence, ``sd(pmi) / sqrt(n)``, before it is
#: calibrated (step 1 of the module docstring): a calibration multiplies the reading by up to ``1 / c`` and, matched,
#: clips a negative one at 0, which turns noise into a positive bias at independence (independent sides, each a 3-D
#: t with 2 degrees of freedom, N = 2000, 20 data sets: mean 0.019 bits, up to 0.080, where the copula KSG read
#: -0.002 on average, up to 0.042; ``benchmarks/bench_mixture_null.py``)
RESOLVE_Z = 3.0
#: candidate numbers of mixture components, tried in this order
MIXTURE_COMPONENTS = (1, 2, 4, 8, 16, 32)
#: Monte Carlo draws behind the mixture's MI (standard error about sd(pmi) / 256, < 0.01 bits at 2 bits of MI)
MC_SAMPLES = 2**16
#: most rows the mixture is fitted to (a random subset above; the twins and every KSG estimate keep all n)
MIXTURE_MAX_ROWS = 20_000
#: bisection steps on log(sigma) between SIGMA_RANGE's ends (each: n_twins KSG estimates)
BISECTION_STEPS = 8
#: refits of a mixture of more than one component whose mean MI measures the fitted mixture's inflation
INFLATION_REFITS = 4
#: the blur's standard deviations searched (normal-score units)
SIGMA_RANGE = (1e-3, 4.0)
#: added to the diagonal of every component's covariance (normal scores have unit variance)
_REG_COVAR = 1e-4
#: rows per block of the Monte Carlo densities
_MC_BLOCK = 8192


def _span(scores: np.ndarray) -> np.ndarray | None:
    """Orthonormal basis (``d x r``) of the span of one side's normal scores where its correlation matrix is rank
    deficient (eigenvalues below ``_RANK_TOL`` of the largest, as in ``ksg-calibrated``); ``None`` at full rank.
    """
    w, q = np.linalg.eigh(np.atleast_2d(np.corrcoef(scores, rowvar=False)))
    keep = w > _RANK_TOL * max(w.max(), 1e-300)
    return None if keep.all() else q[:, keep]


def _fit(z: np.ndarray, components: int, seed: int) -> GaussianMixture:
    return GaussianMixture(components, covariance_type="full", reg_covar=_REG_COVAR, random_state=seed).fit(z)


def _choose_components(z: np.ndarray, max_components: int, rng: np.random.Generator) -> tuple[int, dict[int, float]]:
    """Return the number of components with the best two-fold held-out log-likelihood per sample (search stops after two
    sizes without a gain, or where a half has fewer than 10 samples per component).
    """
    order = rng.permutation(len(z))
    halves = (order[: len(z) // 2], order[len(z) // 2 :])
    seed = seed_from(rng) % 2**32
    scores: dict[int, float] = {}
    best, declines = 1, 0
    for m in MIXTURE_COMPONENTS:
        if m > max_components or 10 * m > len(halves[0]):
            break
        scores[m] = float(np.mean([_fit(z[a], m, seed).score(z[b]) for a, b in (halves, halves[::-1])]))
        if scores[m] > scores[best]:
            best, declines = m, 0
        elif m > 1:
            declines += 1
            if declines == 2:
                break
    return best, scores


def _log_density(means: np.ndarray, covs: np.ndarray, weights: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Log density of the Gaussian mixture at the rows of ``z`` (vectorised over rows, one pass per component)."""
    terms = np.empty((len(weights), len(z)))
    for c, (mean, cov, w) in enumerate(zip(means, covs, weights, strict=True)):
        chol = np.linalg.cholesky(cov)
        white = np.linalg.solve(chol, (z - mean).T)
        logdet = 2.0 * np.log(np.diag(chol)).sum()
        terms[c] = np.log(w) - 0.5 * ((white**2).sum(0) + logdet + z.shape[1] * np.log(2 * np.pi))
    return logsumexp(terms, axis=0)


def _draw(mixture: GaussianMixture, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of the fitted mixture, in a random order."""
    comp = rng.choice(len(mixture.weights_), size=n, p=mixture.weights_ / mixture.weights_.sum())
    out = np.empty((n, mixture.means_.shape[1]))
    for c in range(len(mixture.weights_)):
        rows = np.flatnonzero(comp == c)
        chol = np.linalg.cholesky(mixture.covariances_[c])
        out[rows] = mixture.means_[c] + rng.standard_normal((len(rows), out.shape[1])) @ chol.T
    return out


def _mixture_mi(mixture: GaussianMixture, d_x: int, sigma: float, draws: tuple[np.ndarray, np.ndarray]) -> float:
    """Return the MI (nats) of the mixture blurred by ``sigma`` on every coordinate, by Monte Carlo on ``draws``
    (component draws and standard normal rows, shared by every ``sigma``); exact for one component.
    """
    comp, normal = draws
    covs = mixture.covariances_ + sigma**2 * np.eye(mixture.means_.shape[1])
    if len(covs) == 1:  # one Gaussian: in closed form, without Monte Carlo error
        logdet = [np.linalg.slogdet(m)[1] for m in (covs[0, :d_x, :d_x], covs[0, d_x:, d_x:], covs[0])]
        return 0.5 * float(logdet[0] + logdet[1] - logdet[2])
    weights = mixture.weights_ / mixture.weights_.sum()
    chols = np.linalg.cholesky(covs)
    total = 0.0
    for start in range(0, len(comp), _MC_BLOCK):
        c, e = comp[start : start + _MC_BLOCK], normal[start : start + _MC_BLOCK]
        z = mixture.means_[c] + np.einsum("nij,nj->ni", chols[c], e)
        joint = _log_density(mixture.means_, covs, weights, z)
        px = _log_density(mixture.means_[:, :d_x], covs[:, :d_x, :d_x], weights, z[:, :d_x])
        py = _log_density(mixture.means_[:, d_x:], covs[:, d_x:, d_x:], weights, z[:, d_x:])
        total += float((joint - px - py).sum())
    return total / len(comp)


class _Twins:
    """The twins of one fit: base draws and blur noise (common to every ``sigma``), their KSG at a given blur."""

    def __init__(
        self,
        draws: list[np.ndarray],
        rng: np.random.Generator,
        ksg_args: tuple,
        bases: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    ):
        self.d_x, (self.k, self.jitter, self.workers) = ksg_args[0], ksg_args[1:]
        self.bases = bases  # the data's span per side (None: every direction); twins are mapped back through them
        self.base = draws  # the twins' samples of the model, in the normal scores' space
        self.noise = [rng.standard_normal(b.shape) for b in self.base]
        self.jitter_seeds = [seed_from(rng) for _ in self.base]
        self.cache: dict[float, float] = {}

    def _ksg_nats(self, z: np.ndarray, jrng: np.random.Generator) -> float:
        """Return KSG (nats) of one twin sample ``z``, each side jittered from ``jrng``."""
        a, b = z[:, : self.d_x], z[:, self.d_x :]
        a, b = (side if basis is None else side @ basis.T for side, basis in zip((a, b), self.bases, strict=True))
        a, b = add_jitter(a, jrng, self.jitter), add_jitter(b, jrng, self.jitter)
        return float(_ksg_pmi_prepared(a, b, self.k, "nats", self.workers).mean())

    def ksg(self, sigma: float) -> float:
        """Mean KSG (nats) of the twins blurred by ``sigma``."""
        if sigma not in self.cache:
            pairs = zip(self.base, self.noise, self.jitter_seeds, strict=True)
            values = [self._ksg_nats(b + sigma * e, np.random.default_rng(seed)) for b, e, seed in pairs]
            self.cache[sigma] = float(np.mean(values))
        return self.cache[sigma]

    def half_ksg(self, sigma: float) -> float:
        """Mean KSG (nats) of the two halves of every twin blurred by ``sigma`` (the twins' rows are in random
        order, so the halves are random).
        """
        values = []
        for base, noise, seed in zip(self.base, self.noise, self.jitter_seeds, strict=True):
            z, jrng = base + sigma * noise, np.random.default_rng([seed, 1])
            values += [self._ksg_nats(part, jrng) for part in (z[: len(z) // 2], z[len(z) // 2 :])]
        return float(np.mean(values))


def _convergence(
    scores: tuple[np.ndarray, np.ndarray],
    ksg_nats: float,
    twins: _Twins,
    sigma: float,
    rng: np.random.Generator,
    ksg_args: tuple[int, float, int],
) -> dict[str, Any]:
    """Return the guard: KSG's gain from ``n / 2`` to ``n`` samples on the data (two random half-splits) and on
    the twins at the blur used (nats). Where the twins gain more than the data by more than the margin of
    :func:`~bioinfo_mi.estimators.ksg_calibrated`'s convergence check, KSG misses more on the twins than on the
    data and the calibration would overshoot: it is rejected.
    """
    xs, ys = scores
    k, jitter, workers = ksg_args
    n = len(xs)
    halves = []
    for _ in range(_HALF_SPLITS):
        order = rng.permutation(n)
        for rows in (order[: n // 2], order[n // 2 :]):
            a, b = add_jitter(xs[rows], rng, jitter), add_jitter(ys[rows], rng, jitter)
            halves.append(float(_ksg_pmi_prepared(a, b, k, "nats", workers).mean()))
    gain_data = ksg_nats - float(np.mean(halves))
    gain_twins = twins.ksg(sigma) - twins.half_ksg(sigma)
    margin = max(_SLOPE_ABS, _SLOPE_NOISE * np.sqrt(1000.0 / n), _SLOPE_REL * gain_twins)
    return {"gain_data": gain_data, "gain_twins": gain_twins, "rejected": bool(gain_twins - gain_data > margin)}


def _matched_sigma(twins: _Twins, target: float, start: float) -> float:
    """Return the blur at which the twins' mean KSG equals ``target`` (bisection on ``log sigma``; the largest blur
    searched where even it reads more).
    """
    lo, hi = np.log(max(start, SIGMA_RANGE[0])), np.log(SIGMA_RANGE[1])
    if twins.ksg(float(np.exp(hi))) > target:
        return float(np.exp(hi))
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if twins.ksg(float(np.exp(mid))) > target else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def _mc_draws(mixture: GaussianMixture, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Component indices and standard normal rows of :data:`MC_SAMPLES` Monte Carlo draws of ``mixture``."""
    weights = mixture.weights_ / mixture.weights_.sum()
    return rng.choice(len(weights), size=MC_SAMPLES, p=weights), rng.standard_normal(
        (MC_SAMPLES, len(mixture.means_[0]))
    )


def _sigma_for_mi(mixture: GaussianMixture, d_x: int, target: float, draws: tuple[np.ndarray, np.ndarray]) -> float:
    """Return the blur at which the mixture's MI (nats) falls to ``target`` (bisection on ``log sigma``)."""
    lo, hi = np.log(SIGMA_RANGE[0]), np.log(SIGMA_RANGE[1])
    if _mixture_mi(mixture, d_x, float(np.exp(lo)), draws) <= target:
        return 0.0
    for _ in range(2 * BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _mixture_mi(mixture, d_x, float(np.exp(mid)), draws) > target else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def _inflation(
    mixture: GaussianMixture, fitted: float, d_x: int, rows: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Return the excess (nats) of the MI of a mixture fitted to ``rows`` samples over the MI of the distribution
    behind them, for ``mixture`` (MI ``fitted``) as that distribution.

    One component: the exact expected excess of the plug-in Gaussian MI
    (:func:`~bioinfo_mi.estimators._copula.gaussian_mi_inflation`, about ``d_x d_y / 2n``). More: the mean over
    :data:`INFLATION_REFITS` refits, each of as many components to ``rows`` fresh draws of ``mixture`` (a parametric
    bootstrap; one refit alone varied by about as much as the estimate's own sampling error, session 16), and the
    standard error of that mean (0 for one component).
    """
    components, d = len(mixture.weights_), mixture.means_.shape[1]
    if components == 1:
        return gaussian_mi_inflation(rows, d_x, d - d_x), 0.0
    excess = []
    for _ in range(INFLATION_REFITS):
        refit = _fit(_draw(mixture, rows, rng), components, seed_from(rng) % 2**32)
        excess.append(_mixture_mi(refit, d_x, 0.0, _mc_draws(refit, rng)) - fitted)
    return float(np.mean(excess)), float(np.std(excess, ddof=1) / np.sqrt(len(excess)))


def _calibrate(
    mixture: GaussianMixture, twins: _Twins, ksg_nats: float, d_x: int, rng: np.random.Generator, fit_rows: int
) -> dict[str, Any]:
    """Return the calibrated estimate (nats) and its parts (module docstring, steps 3-4).

    A mixture fitted to ``n`` samples is more dependent than the distribution behind them (the plug-in Gaussian
    MI exceeds the truth by about ``d_x d_y / 2n`` nats; :func:`_inflation`), and the twins start from the blur
    ``sigma0`` that removes that inflation.
    """
    draws = _mc_draws(mixture, rng)
    fitted = _mixture_mi(mixture, d_x, 0.0, draws)
    inflation, inflation_se = _inflation(mixture, fitted, d_x, fit_rows, rng)
    sigma0 = _sigma_for_mi(mixture, d_x, fitted - inflation, draws) if inflation > 0 else 0.0
    model_nats = _mixture_mi(mixture, d_x, sigma0, draws) if sigma0 > 0 else fitted
    twin_nats = twins.ksg(sigma0)
    out = {"mixture_mi": model_nats, "inflation": inflation, "inflation_se": inflation_se, "sigma0": sigma0}
    out["twin_ksg"] = twin_nats
    if twin_nats > ksg_nats:
        sigma = _matched_sigma(twins, ksg_nats, sigma0)
        return out | {"sigma": sigma, "estimate": _mixture_mi(mixture, d_x, sigma, draws), "calibration": "matched"}
    return out | {"sigma": sigma0, "estimate": ksg_nats + model_nats - twin_nats, "calibration": "subtracted"}


def _student_check(
    z: np.ndarray, d_x: int, components: int, bases: tuple[np.ndarray | None, np.ndarray | None], enabled: bool
) -> dict[str, Any] | None:
    """Return :func:`~bioinfo_mi.estimators._student.student_choice` between the t-copula and the ``components``
    mixture, or None where the t-copula is not considered (``student_t=False``, a side of linearly dependent
    columns, or more than :data:`~bioinfo_mi.estimators._student.STUDENT_MAX_DIM` columns).
    """
    if not enabled or any(b is not None for b in bases) or z.shape[1] > STUDENT_MAX_DIM:
        return None

    def mixture_log_density(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        return _fit(train, components, 0).score_samples(test)

    return student_choice(z, d_x, mixture_log_density)


def _student_calibration(
    z: np.ndarray, n: int, n_twins: int, rng: np.random.Generator, twin_args: tuple, ksg_nats: float
) -> tuple[dict[str, Any], _Twins]:
    """Return the calibration on t-copula twins (``I_KSG - (KSG(twins) - I(t-copula))``; the twins are the fitted
    copula itself, so no blur) and the twins.
    """
    corr, df = fit_student_copula(z)
    model_nats = student_copula_mi(corr, twin_args[0], df)
    twins = _Twins([draw_student_copula(corr, df, n, rng) for _ in range(n_twins)], rng, twin_args)
    twin_nats = twins.ksg(0.0)
    cal = {"mixture_mi": model_nats, "inflation": 0.0, "inflation_se": 0.0, "sigma0": 0.0, "sigma": 0.0, "df": df}
    cal |= {"twin_ksg": twin_nats, "estimate": ksg_nats + model_nats - twin_nats, "calibration": "subtracted"}
    return cal, twins


def _rejection(guard: dict[str, Any], components: int, widths: tuple[int, int], rows: int) -> str:
    """Return the warning that the copula KSG is returned uncorrected, saying which check of the guard failed."""
    if not guard["supported"]:
        why = (
            f"the {components}-component mixture that the held-out likelihood chooses is not supported by {rows} "
            f"samples of {widths[0]} + {widths[1]} dimensions: its fitted MI would exceed the truth by about "
            f"{components} d_x d_y / 2n = {guard['expected_inflation']:.2f} nats (more than {MAX_INFLATION})"
        )
    else:
        why = (
            "KSG gains more from n/2 to n samples on the mixture's twins than on the data, so the mixture does "
            "not reproduce KSG's bias here (e.g. many dimensions for the samples, or tied counts)"
        )
    return f"{why}; returning the uncorrected copula KSG. method='ksg-calibrated' or 'lmi' suit such data"


def _unresolved(pmi: np.ndarray, extra: dict[str, Any], base: str | float, params: dict[str, Any]) -> MIResult:
    """Return the uncalibrated copula KSG (``pmi`` in nats) where it does not resolve any dependence (step 1)."""
    extra = {key: to_base(v, base) if key in ("ksg", "null_se") else v for key, v in extra.items()}
    pmi = to_base(pmi, base)
    return MIResult(
        mi=float(pmi.mean()), pmi=pmi, method="ksg-mixture", base=base, n_samples=len(pmi), params=params, extra=extra
    )


def ksg_mixture(
    x: Any,
    y: Any,
    *,
    k: int = 3,
    n_twins: int = 2,
    max_components: int = 32,
    student_t: bool = True,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    jitter: float = 1e-10,
    workers: int = -1,
) -> MIResult:
    """KSG on normal scores, calibrated on twins drawn from a Gaussian mixture fitted to them (module docstring).

    Implements KSG (Kraskov et al. 2004, algorithm 1, max norm; pointwise as in the LMI paper's Algorithm 5)
    with a calibration of its bias that extends :func:`~bioinfo_mi.estimators.ksg_calibrated` from Gaussian to
    Gaussian-mixture twins (issue 30, direction 3).

    Parameters
    ----------
    x, y
        Paired samples ``(n, d_x)``, ``(n, d_y)``: arrays, frames or sparse matrices (not modified). Needs
        ``n > d_x + d_y + 2`` (non-constant columns); the mixture wants ``n`` of at least ten times ``d_x + d_y``.
    k
        Neighbours of every KSG estimate (3, as in the LMI paper).
    n_twins
        Mixture twins whose KSG is averaged (each costs one KSG estimate, and one per bisection step).
    max_components
        Most mixture components tried (:data:`MIXTURE_COMPONENTS` up to it; 1: Gaussian twins).
    student_t
        Also consider a Student-t copula as the twin model (:mod:`~bioinfo_mi.estimators._student`): it replaces the
        mixture where it predicts held-out normal scores better by at least
        :data:`~bioinfo_mi.estimators._student.STUDENT_MIN_Z` standard errors, and better than the Gaussian copula and
        than one t-copula per side (heavy tails shared by both sides, e.g. the ``bmi`` suite's Student-t tasks).
        ``False``: mixtures only (the estimator before session 19).
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        Seed or ``numpy.random.Generator`` for the jitter, the split, the mixture fits, the twins and the Monte
        Carlo draws.
    jitter, workers
        As in :func:`~bioinfo_mi.estimators.ksg_pointwise`.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` with method ``"ksg-mixture"``: ``pmi`` the pointwise copula KSG shifted by the
    calibration, ``mi`` its mean. ``extra``: ``ksg`` (the copula KSG), ``components`` (chosen), ``heldout``
    (held-out log-likelihood per sample for each size tried), ``mixture_mi`` (the fitted mixture's MI),
    ``inflation`` (the fitted mixture's excess MI: exact for one component, a mean over refits for more),
    ``inflation_se`` (the standard error of that mean; 0 for one component), ``sigma0`` (the blur that removes it),
    ``twin_ksg`` (the twins' mean KSG at ``sigma0``), ``sigma`` (the blur of the estimate: matched, or ``sigma0``
    where the error was subtracted), ``calibration`` (``"matched"``, ``"subtracted"``, ``"rejected"`` or
    ``"unresolved"``), ``null_se`` (the copula KSG's standard error under independence, ``sd(pmi) / sqrt(n)``),
    ``calibrated`` (False where rejected or unresolved) and ``guard`` (``expected_inflation``, ``K d_x d_y / 2n``;
    ``supported``, whether it is at most :data:`MAX_INFLATION` nats; ``gain_data``, ``gain_twins``;
    ``rejected``), in ``base`` units where they are MI. Where the mixture is not supported it is not fitted, and
    ``mixture_mi``, ``inflation``, ``twin_ksg``, ``sigma0``, ``sigma`` and the gains are absent. ``twin_model``:
    ``"mixture"`` or ``"student-t"``; ``student`` (where the t-copula was considered): ``z``, ``gain`` (held-out
    nats per row over the mixture), ``df_halves``, ``selected`` and, where used, ``df``; the t-copula's twins are
    not blurred (``sigma0 = sigma = 0``, ``inflation = 0``) and ``mixture_mi`` is then the t-copula's MI. Where the
    copula KSG is below :data:`RESOLVE_Z` of ``null_se`` (``"unresolved"``) it is the estimate, nothing is fitted and
    ``extra`` holds only ``ksg``, ``null_se``, ``calibration`` and ``calibrated``.
    """
    res, rejection = mixture_estimate(
        x,
        y,
        k=k,
        n_twins=n_twins,
        max_components=max_components,
        student_t=student_t,
        base=base,
        random_state=random_state,
        jitter=jitter,
        workers=workers,
    )
    if rejection is not None:
        warnings.warn(EstimateWarning(rejection, "guard-rejected"), stacklevel=2)
    return res


def mixture_estimate(
    x: Any,
    y: Any,
    *,
    k: int,
    n_twins: int,
    max_components: int,
    base: str | float,
    student_t: bool = True,
    random_state: int | np.random.Generator | None,
    jitter: float,
    workers: int,
) -> tuple[MIResult, str | None]:
    """Return :func:`ksg_mixture`'s result and, where its guard rejected the mixture, the warning it gives
    (``None`` otherwise); ``method="auto"`` runs ``ksg-calibrated`` instead of warning.
    """
    n_twins = check_positive_int(n_twins, name="n_twins")
    max_components = check_positive_int(max_components, name="max_components")
    if not isinstance(student_t, bool | np.bool_):
        raise TypeError(f"student_t must be True or False, got {student_t!r}")
    xa, ya, k = _prepare(x, y, k, random_state, 0.0, "ksg-mixture")  # validation only; no jitter yet
    rng = check_random_state(random_state)
    xs = copula_transform(xa[:, xa.std(axis=0) > 0])
    ys = copula_transform(ya[:, ya.std(axis=0) > 0])
    n, d_x = len(xs), xs.shape[1]
    if n <= d_x + ys.shape[1] + 2:
        raise ValueError(
            f"the mixture calibration needs more samples than dimensions: {n} samples for {d_x} + {ys.shape[1]} "
            "non-constant columns (method='lmi' or 'auto' suit fewer samples per dimension)"
        )
    pmi = _ksg_pmi_prepared(add_jitter(xs, rng, jitter), add_jitter(ys, rng, jitter), k, "nats", workers)
    ksg_nats = float(pmi.mean())
    params = {"k": k, "n_twins": n_twins, "max_components": max_components, "student_t": student_t, "jitter": jitter}
    null_se = float(pmi.std(ddof=1)) / np.sqrt(n)
    if ksg_nats < RESOLVE_Z * null_se:  # no dependence that KSG resolves: nothing to calibrate (step 1)
        extra = {"ksg": ksg_nats, "null_se": null_se, "calibration": "unresolved", "calibrated": False}
        return _unresolved(pmi, extra, base, params), None
    # a side whose columns are linearly dependent is modelled on its span, so that neither the fit's regularisation
    # nor the blur gives the twins directions the data do not have
    bases = (_span(xs), _span(ys))
    sides = [s if basis is None else s @ basis for s, basis in zip((xs, ys), bases, strict=True)]
    (r_x, r_y), z = (side.shape[1] for side in sides), np.hstack(sides)
    if n > MIXTURE_MAX_ROWS:  # the mixture is fitted to a random subset: its cost stays bounded at atlas sizes
        z = z[np.sort(rng.choice(n, MIXTURE_MAX_ROWS, replace=False))]
    components, heldout = _choose_components(z, max_components, rng)
    extra: dict[str, Any] = {"ksg": to_base(ksg_nats, base), "null_se": to_base(null_se, base)}
    extra |= {"components": components, "heldout": heldout}
    student = _student_check(z, r_x, components, bases, student_t)
    use_t = student is not None and student["selected"]
    extra["twin_model"] = "student-t" if use_t else "mixture"
    # the fitted model's inflation (nats): K components', or one correlation matrix's for the t-copula
    expected = (1 if use_t else components) * r_x * r_y / (2.0 * len(z))
    guard: dict[str, Any] = {"expected_inflation": expected, "supported": expected <= MAX_INFLATION}
    estimate = ksg_nats
    if guard["supported"]:
        twin_args = (r_x, k, jitter, workers)
        if use_t:
            cal, twins = _student_calibration(z, n, n_twins, rng, twin_args, ksg_nats)
            student["df"] = cal["df"]
        else:
            mixture = _fit(z, components, seed_from(rng) % 2**32)
            twins = _Twins([_draw(mixture, n, rng) for _ in range(n_twins)], rng, twin_args, bases)
            cal = _calibrate(mixture, twins, ksg_nats, r_x, rng, len(z))
        guard |= _convergence((xs, ys), ksg_nats, twins, cal["sigma"], rng, (k, jitter, workers))
        estimate = ksg_nats if guard["rejected"] else cal["estimate"]
        extra |= {key: to_base(cal[key], base) for key in ("mixture_mi", "inflation", "inflation_se", "twin_ksg")}
        extra |= {"sigma0": cal["sigma0"], "sigma": cal["sigma"]}
        calibration = "rejected" if guard["rejected"] else cal["calibration"]
    else:
        guard["rejected"], calibration = True, "rejected"
    rejection = _rejection(guard, components, (r_x, r_y), len(z)) if guard["rejected"] else None
    pmi = to_base(pmi + (estimate - ksg_nats), base)
    extra |= {
        "calibration": calibration,
        "calibrated": calibration != "rejected",
        "guard": {key: to_base(v, base) if key.startswith(("gain", "expected")) else v for key, v in guard.items()},
    }
    if student is not None:
        extra["student"] = dict(student)
    res = MIResult(
        mi=float(pmi.mean()), pmi=pmi, method="ksg-mixture", base=base, n_samples=n, params=params, extra=extra
    )
    return res, rejection
