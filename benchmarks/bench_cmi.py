"""Conditional MI (issue 31): ``bm.cmi`` beside tigramite's CMIknn and a difference of MIs, and the calibration
and power of its conditional-independence test, in one run.

Part ``gaussian``: jointly Gaussian (x, y, z) with a random correlation matrix, whose CMI has a closed form
``1/2 log2(det S_xz det S_yz / (det S_z det S_xyz))``; dimensions (d_x, d_y, d_z) from (1, 1, 1) to
(5, 5, 20) (``--full``: to (10, 10, 50)), N = 2000 (``--full``: 1000, 2000, 10 000). Estimators:
``bm.cmi`` (``auto`` = Frenzel-Pompe k-NN with the package's exact kernel, k = 3) and its
``ksg-calibrated`` (the same on normal scores, bias measured on 4 Gaussian twins); the difference
``I(X; [Y, Z]) - I(X; Z)`` of two ``bm.mi`` estimates (``ksg`` and ``auto``); tigramite's CMIknn
(GPL, benchmark only; ``pip install tigramite``) at its defaults (k = 0.2 N on ranks) and at k = 3 on
the raw data.

Part ``null``: X and Y independent given a 2-D z that enters x nonlinearly (truth 0), N = 300 and 2000,
10 data sets: the estimators' bias where the answer must be 0 (the Gaussian part favours estimators
calibrated on Gaussians); and the latent part's wide nonlinear-z design (20 + 20 columns) at N = 1000
(``--null-wide`` data sets, default 20) with the latent part's estimators.

Part ``test``: p-values of ``bm.cmi(..., n_shuffles=19)`` on data sets where X and Y share only Z
(``--null`` of them, default 200): a numeric z entering x nonlinearly (local permutation) and a categorical
z (within-strata permutation); the rejection rates at 0.05 and 0.10 must be near the level. Power: the
same data with a direct link ``y += c x`` for c in 0.1, 0.2, 0.4 (50 data sets each).

Part ``latent``: high-dimensional Gaussian CMI with a low-rank structure, as genes have it: a 2-D state
``s`` shared by x and y beyond z, and a ``d_z``-dimensional z driving both (stronger than ``s``), each seen
through ``d`` noisy columns per side (d = 20, 50, 200; d_z = 2 and 10; N = 2000, ``--full`` also 10 000;
3 data sets per cell). Truth in closed form from the joint covariance. Since session 23 also three
conditionally independent cells (truth 0; ``--no-latent-nulls`` leaves them out): the design without its link
(20 + 20 | 2, 50 + 50 | 10) and wide x, y given a 2-D z that enters x nonlinearly (20 + 20 | 2).
``bm.cmi`` with ``auto``, ``ksg``, ``ksg-calibrated`` and ``lmi`` (the latent CMI), the MI difference of
``auto``, and tigramite's CMIknn (k = 3) where it runs in the time budget (d <= 50).

Part ``errorbars``: calibration of ``bm.cmi(..., error_bars=True)``: over independent data sets of one
distribution, the SD of the estimates against the mean reported SE, and the 95 % coverage of the
estimator's own mean and of the truth: the k-NN CMI (``ksg``, ``ksg-calibrated``) on 2 + 2 | 2 Gaussians
(random correlation, N = 500, 1000, 2000 and 5000, 80 data sets) and the latent CMI on the latent part's
50 + 50 | 2 design (N = 2000, 20 data sets; one draw of its loadings, a fresh sample per data set). For the
latent CMI, whose SE comes from refits, also the SD of one fit from every fit of every data set over the mean
SE (``sd_all_fits_over_se``, as in ``bench_error_bars.py``).

Part ``latent-test`` (only when named): the level of the latent CMI's permutation test, each shuffle a
refit (``bm.cmi(method="lmi", n_shuffles=19)``, ``--latent-shuffles``), on the latent design at N = 400,
20 + 20 columns, d_z = 2, with no link beyond z (``--latent-null`` data sets, default 100) and with a weak one
(``--latent-power``, 20 data sets); a new draw of the loadings per data set.

Part ``lineage``: ``bm.datasets.simulate_lineage(confounder=gamma)`` (a clone-level confounder ``c`` added
to every cell's clone-state coordinate; gamma = 0.5, 1, 2; Markovian, no hidden fate; 600 clones, 300
genes), ``tl.lmi(adjust_for="confounder")`` and ``tl.markov_test(adjust_for="confounder")`` with their
defaults (LMI on the genes): I(early; late) and I(early; late | c) beside the state-level truths, and
the Markov test's verdict with and without the adjustment.

    python benchmarks/bench_cmi.py                 # about 10 min on 2 cores, plus the null part's wide cells
    python benchmarks/bench_cmi.py --full
    python benchmarks/bench_cmi.py --parts test --null 200
    python benchmarks/bench_cmi.py --parts latent-test --latent-null 100
    python benchmarks/bench_cmi.py --parts latent-test --latent-null 100 --tag a     # in two processes:
    python benchmarks/bench_cmi.py --parts latent-test --latent-null 100 --latent-first 100 --latent-power 0 --tag b
    python benchmarks/bench_cmi.py --parts latent-test --latent-join a b   # the shares as one runs file

Writes ``benchmarks/results/cmi_gaussian{,_runs}.csv``, ``cmi_test.csv``, ``cmi_latent{,_runs}.csv``,
``cmi_error_bars{,_runs}.csv``, ``cmi_latent_test{,_runs}.csv`` and ``docs/figures/cmi.png``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, all_fits, machine, save_figure, write
from scipy.stats import chisquare
from tqdm.auto import tqdm

import bioinfo_mi as bm

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
LN2 = np.log(2.0)
REDUCED = [(1, 1, 1), (1, 1, 5), (3, 3, 3), (2, 2, 10), (5, 5, 5), (5, 5, 20)]
FULL = REDUCED + [(10, 10, 10), (10, 10, 50), (1, 1, 50)]


def random_correlation(dim: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(dim, dim + 2))
    cov = a @ a.T + 0.5 * dim * np.eye(dim)
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def gaussian_cmi(cov: np.ndarray, sizes: tuple[int, int, int]) -> float:
    a, b, c = sizes
    ix, iy, iz = np.arange(a), np.arange(a, a + b), np.arange(a + b, a + b + c)

    def logdet(idx: np.ndarray) -> float:
        return float(np.linalg.slogdet(cov[np.ix_(idx, idx)])[1])

    return 0.5 * (logdet(np.r_[ix, iz]) + logdet(np.r_[iy, iz]) - logdet(iz) - logdet(np.r_[ix, iy, iz])) / LN2


def tigramite(x: np.ndarray, y: np.ndarray, z: np.ndarray, defaults: bool) -> float:
    from tigramite.independence_tests.cmiknn import CMIknn

    test = (
        CMIknn(significance="fixed_thres") if defaults else CMIknn(knn=3, transform="none", significance="fixed_thres")
    )
    array = np.hstack([x, y, z]).T
    xyz = np.array([0] * x.shape[1] + [1] * y.shape[1] + [2] * z.shape[1])
    return float(test.get_dependence_measure(array, xyz)) / LN2


def estimators(with_tigramite: bool) -> dict:
    out = {
        "bm.cmi (ours)": lambda x, y, z, s: bm.cmi(x, y, z, random_state=s, n_jobs=1).mi,
        "bm.cmi ksg-calibrated (ours)": lambda x, y, z, s: (
            bm.cmi(x, y, z, method="ksg-calibrated", random_state=s, n_jobs=1).mi
        ),
        "MI difference, ksg (ours)": lambda x, y, z, s: (
            bm.mi(x, np.hstack([y, z]), method="ksg", random_state=s).mi - bm.mi(x, z, method="ksg", random_state=s).mi
        ),
        "MI difference, auto (ours)": lambda x, y, z, s: (
            bm.mi(x, np.hstack([y, z]), random_state=s, n_jobs=1).mi - bm.mi(x, z, random_state=s, n_jobs=1).mi
        ),
    }
    if with_tigramite:
        out["tigramite CMIknn (defaults)"] = lambda x, y, z, s: tigramite(x, y, z, True)
        out["tigramite CMIknn (k=3, raw)"] = lambda x, y, z, s: tigramite(x, y, z, False)
    return out


def run_gaussian(configs: list, n_values: list[int], n_seeds: int, only: list[str] | None = None) -> pd.DataFrame:
    """The Gaussian part's runs; ``only``: run just these estimators (names of :func:`estimators`)."""
    ests = estimators(importlib.util.find_spec("tigramite") is not None)
    ests = {k: v for k, v in ests.items() if only is None or k in only}
    rows = []
    jobs = [(c, n, s) for c in configs for n in n_values for s in range(n_seeds)]
    for sizes, n, seed in tqdm(jobs, desc="gaussian CMI", unit="data set"):
        rng = np.random.default_rng([seed, *sizes])
        cov = random_correlation(sum(sizes), rng)
        data = rng.multivariate_normal(np.zeros(sum(sizes)), cov, size=n)
        a, b = sizes[0], sizes[0] + sizes[1]
        x, y, z = data[:, :a], data[:, a:b], data[:, b:]
        truth = gaussian_cmi(cov, sizes)
        cell = {"d_x": sizes[0], "d_y": sizes[1], "d_z": sizes[2], "n_samples": n, "seed": seed, "truth": truth}
        rows += score(ests, x, y, z, seed, cell)
    return pd.DataFrame(rows)


def keep_stored(runs: pd.DataFrame, name: str, column: str, rerun: list[str] | None) -> pd.DataFrame:
    """``runs`` with the stored runs of ``name`` whose ``column`` is not in ``rerun`` (all new when ``rerun`` is None).

    The data sets are seeded by cell, so a rerun of some estimators (or cases) scores the same data as the stored
    runs of the others.
    """
    stored = RESULTS / f"{name}.csv"
    if rerun is None or not stored.exists():
        return runs
    kept = pd.read_csv(stored)
    return pd.concat([kept[~kept[column].isin(rerun)], runs], ignore_index=True)


def score(ests: dict, x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int, cell: dict) -> list[dict]:
    """One row per estimator: ``cell`` with the estimator's name, estimate and seconds."""
    rows = []
    for name, est in ests.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = est(x, y, z, seed)
        rows.append({**cell, "estimator": name, "estimate": value, "seconds": time.perf_counter() - start})
    return rows


def _null_numeric(n: int, seed: int, link: float) -> tuple:
    rng = np.random.default_rng([seed, 1])
    z = rng.normal(size=(n, 1))
    x = z**2 + 0.5 * rng.normal(size=(n, 1))
    y = z + link * x + 0.5 * rng.normal(size=(n, 1))
    return x, y, z


def _null_strata(n: int, seed: int, link: float) -> tuple:
    rng = np.random.default_rng([seed, 2])
    labels = rng.choice(np.array(["t0", "t1", "t2", "t3"]), size=n)
    shift = pd.factorize(labels, sort=True)[0].astype(float)
    x = shift + rng.normal(size=n)
    y = -shift + link * x + rng.normal(size=n)
    return x, y, labels


def run_test(n_null: int, n_power: int, n: int, names: list[str] | None = None) -> pd.DataFrame:
    """The CI test's runs; ``names``: only these cases (``"numeric z"``, ``"categorical z"``)."""
    rows = []
    cases = [("numeric z", _null_numeric, {}), ("categorical z", _null_strata, {"within_method": "ksg"})]
    cases = [c for c in cases if names is None or c[0] in names]
    jobs = [
        (case, link, seed)
        for case in cases
        for link in (0.0, 0.1, 0.2, 0.4)
        for seed in range(n_null if link == 0 else n_power)
    ]
    for (name, make, options), link, seed in tqdm(jobs, desc="CI test", unit="data set"):
        x, y, z = make(n, seed, link)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.cmi(x, y, z, n_shuffles=19, random_state=seed, n_jobs=1, **options)
        rows.append({"case": name, "link": link, "seed": seed, "n_samples": n, "cmi": res.mi, "p_value": res.p_value})
    return pd.DataFrame(rows)


def run_null_bias(n_values: list[int], n_seeds: int, wide_n: int, wide_seeds: int) -> pd.DataFrame:
    """Estimates where X and Y are independent given a 2-D z that enters x nonlinearly (truth 0): 2 columns of x
    and 1 of y (``n_seeds`` data sets per N in ``n_values``), and ``wide_seeds`` data sets of the latent part's
    wide design (:func:`nonlinear_null_design`, 20 + 20 columns) at ``wide_n`` samples with the latent part's
    estimators (session 25: the calibrated CMI's null check between the latent part's N = 2000 and the test's 300).
    """
    has_tigramite = importlib.util.find_spec("tigramite") is not None
    ests = estimators(has_tigramite)
    rows = []
    jobs = [("2 + 1 | 2", n, s) for n in n_values for s in range(n_seeds)]
    jobs += [("20 + 20 | 2", wide_n, s) for s in range(100, 100 + wide_seeds)]
    for design, n, seed in tqdm(jobs, desc="nonlinear null", unit="data set"):
        if design == "20 + 20 | 2":
            x, y, z, _ = nonlinear_null_design(20, n, seed)
            cell = {"design": design, "n_samples": n, "seed": seed, "truth": 0.0}
            rows += score(latent_estimators(has_tigramite, 20), x, y, z, seed, cell)
            continue
        rng = np.random.default_rng([seed, 3])
        z = rng.normal(size=(n, 2))
        x = np.hstack([z[:, :1] ** 2, np.sin(2 * z[:, 1:])]) + 0.5 * rng.normal(size=(n, 2))
        y = z @ np.ones((2, 1)) + 0.5 * rng.normal(size=(n, 1))
        rows += score(ests, x, y, z, seed, {"design": design, "n_samples": n, "seed": seed, "truth": 0.0})
    return pd.DataFrame(rows)


def latent_design(
    d: int, d_z: int, n: int, seed: int, link: float = 1.0, sample_seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Low-rank Gaussian CMI (module docstring): x = s A_x + z B_x + e, y = s A_y + z B_y + e; the truth from the
    joint covariance of (x, y, z). ``link`` scales the loadings of ``s`` (0: x and y independent given z).
    ``seed`` draws the loadings and, without ``sample_seed``, the samples too (a new distribution per seed: its
    truth varies, SD about 0.08 bits at 50 + 50 | 2); with ``sample_seed`` the samples come from their own stream,
    so that data sets of one distribution differ only by sampling (the error-bar calibration).
    """
    rng = np.random.default_rng([seed, d, d_z, 31])
    # the loadings shrink with d, so that the truth is about 1 bit of CMI (and 3-4 bits of MI) at every d
    a_x, a_y = (rng.normal(size=(2, d)) * 1.6 * link / np.sqrt(d) for _ in range(2))
    b_x, b_y = (rng.normal(size=(d_z, d)) * 2.5 / np.sqrt(d * d_z) for _ in range(2))
    if sample_seed is not None:
        rng = np.random.default_rng([sample_seed, d, d_z, 32])
    s, z = rng.normal(size=(n, 2)), rng.normal(size=(n, d_z))
    x = s @ a_x + z @ b_x + rng.normal(size=(n, d))
    y = s @ a_y + z @ b_y + rng.normal(size=(n, d))
    # joint covariance of (x, y, z): loadings L on the sources (s, z) plus the noise
    lx, ly = np.vstack([a_x, b_x]).T, np.vstack([a_y, b_y]).T
    lz = np.hstack([np.zeros((d_z, 2)), np.eye(d_z)])
    loads = np.vstack([lx, ly, lz])
    cov = loads @ loads.T + np.diag(np.r_[np.ones(2 * d), np.zeros(d_z)])
    return x, y, z, gaussian_cmi(cov, (d, d, d_z))


def run_latent_test(n_null: int, n_power: int, n: int, n_shuffles: int, first: int = 0) -> pd.DataFrame:
    """p-values of the latent CMI's permutation test (``bm.cmi(method="lmi", n_shuffles=...)``; each shuffle a
    refit) on the latent design with no link beyond z (``link`` 0: x and y independent given z; data sets
    ``first`` to ``first + n_null - 1``) and with a weak one (``link`` 0.6 of the design's loadings).
    """
    rows = []
    jobs = [(0.0, s) for s in range(first, first + n_null)] + [(0.6, s) for s in range(n_power)]
    for link, seed in tqdm(jobs, desc="latent CMI test", unit="data set"):
        x, y, z, truth = latent_design(20, 2, n, 5000 + seed, link=link)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.cmi(x, y, z, method="lmi", n_shuffles=n_shuffles, random_state=seed, n_jobs=1)
        row = {"link": link, "seed": seed, "truth": truth, "estimate": res.mi, "p_value": res.p_value}
        rows.append({**row, "n_shuffles": n_shuffles, "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def _uniformity_p(p: pd.Series, n_shuffles: int) -> float:
    """Chi-square p-value that permutation p-values (values j / (n_shuffles + 1), j = 1 ... n_shuffles + 1) are
    uniform over their possible values."""
    counts = np.bincount(np.rint(np.asarray(p) * (n_shuffles + 1)).astype(int), minlength=n_shuffles + 2)[1:]
    return float(chisquare(counts).pvalue)


def latent_estimators(with_tigramite: bool, d: int) -> dict:
    out = {f"bm.cmi {m} (ours)": _method(m) for m in ("auto", "ksg", "ksg-calibrated", "lmi")}
    out["MI difference, auto (ours)"] = lambda x, y, z, s: (
        bm.mi(x, np.hstack([y, z]), random_state=s, n_jobs=1).mi - bm.mi(x, z, random_state=s, n_jobs=1).mi
    )
    if with_tigramite and d <= 50:
        out["tigramite CMIknn (k=3, raw)"] = lambda x, y, z, s: tigramite(x, y, z, False)
    return out


def _method(method: str):
    return lambda x, y, z, s: bm.cmi(x, y, z, method=method, random_state=s, n_jobs=1).mi


def nonlinear_null_design(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Wide x and y independent given a 2-D z that enters x nonlinearly (``z_1^2``, ``sin 2 z_2``, each loading
    on all ``d`` columns) and y linearly: truth 0, the latent part's nonlinear null."""
    rng = np.random.default_rng([seed, d, 77])
    z = rng.normal(size=(n, 2))
    f = np.hstack([z[:, :1] ** 2 - 1, np.sin(2 * z[:, 1:])])
    x = f @ rng.normal(size=(2, d)) + rng.normal(size=(n, d))
    y = z @ rng.normal(size=(2, d)) + rng.normal(size=(n, d))
    return x, y, z, 0.0


#: the latent part's conditionally independent cells (session 23): (design, d, d_z); "no link" is the low-rank
#: design with the link beyond z removed, "nonlinear z" :func:`nonlinear_null_design`
LATENT_NULLS = [("no link", 20, 2), ("no link", 50, 10), ("nonlinear z", 20, 2)]


def run_latent(
    dims: list[int], dzs: list[int], n_values: list[int], n_seeds: int, nulls: bool, only: list[str] | None = None
) -> pd.DataFrame:
    """The latent part's runs; ``only``: run just these estimators (names of :func:`latent_estimators`)."""
    has_tigramite = importlib.util.find_spec("tigramite") is not None
    jobs = [("low-rank", d, dz, n, s) for d in dims for dz in dzs for n in n_values for s in range(n_seeds)]
    if nulls:
        jobs += [(name, d, dz, n, s) for name, d, dz in LATENT_NULLS for n in n_values for s in range(n_seeds)]
    rows = []
    for design, d, dz, n, seed in tqdm(jobs, desc="latent CMI", unit="data set"):
        if design == "nonlinear z":
            x, y, z, truth = nonlinear_null_design(d, n, seed)
        else:
            x, y, z, truth = latent_design(d, dz, n, seed, link=0.0 if design == "no link" else 1.0)
        cell = {"design": design, "d_x": d, "d_y": d, "d_z": dz, "n_samples": n, "seed": seed, "truth": truth}
        ests = latent_estimators(has_tigramite, d)
        rows += score({k: v for k, v in ests.items() if only is None or k in only}, x, y, z, seed, cell)
    return pd.DataFrame(rows)


#: the k-NN error-bar designs: (d_x, d_y, d_z) and the seed of their random correlation
ERROR_DESIGNS = {"2+2|2": ((2, 2, 2), 31), "3+3|3": ((3, 3, 3), 7)}


def run_error_bars(n_sets: int, n_sets_latent: int, methods: list[str], designs: list[str]) -> pd.DataFrame:
    rows = []
    knn = [m for m in methods if m != "lmi"]
    cells = [(m, d, n) for d in designs for m in knn for n in (500, 1000, 2000, 5000) if d == "2+2|2" or n < 5000]
    jobs = [(m, d, n, s) for m, d, n in cells for s in range(n_sets)]
    jobs += [("lmi", "50+50|2", 2000, s) for s in range(n_sets_latent) if "lmi" in methods]
    for method, design, n, seed in tqdm(jobs, desc="CMI error bars", unit="data set"):
        if method == "lmi":
            # one distribution (the loadings of design seed 1000), a fresh sample per data set: the SD over data
            # sets is then sampling alone (with the loadings drawn per data set too, the truth itself varied by
            # 0.08 bits SD and SD/SE read 1.62-1.68)
            x, y, z, truth = latent_design(50, 2, n, 1000, sample_seed=seed)
        else:
            sizes, cov_seed = ERROR_DESIGNS[design]
            cov = random_correlation(sum(sizes), np.random.default_rng(cov_seed))
            data = np.random.default_rng([seed, n, cov_seed]).multivariate_normal(np.zeros(sum(sizes)), cov, size=n)
            a, b = sizes[0], sizes[0] + sizes[1]
            x, y, z, truth = data[:, :a], data[:, a:b], data[:, b:], gaussian_cmi(cov, sizes)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.cmi(x, y, z, method=method, error_bars=True, random_state=seed, n_jobs=1)
        rows.append(
            {
                "method": method,
                "design": design,
                "n_samples": n,
                "seed": seed,
                "truth": truth,
                "estimate": res.mi,
                "se": res.se,
                "seconds": time.perf_counter() - start,
                # the latent CMI's SE comes from refits: every refit and the two terms, for the all-fits check
                "refits": ";".join(repr(float(v)) for v in res.extra["error_bars"].get("refit_estimates", [])),
                "fit_sd": res.extra["error_bars"].get("fit_sd", np.nan),
                "sampling_se": res.extra["error_bars"].get("sampling_se", np.nan),
            }
        )
    return pd.DataFrame(rows)


def summarize_error_bars(runs: pd.DataFrame) -> pd.DataFrame:
    def one(g: pd.DataFrame) -> pd.Series:
        z_own = (g.estimate - g.estimate.mean()) / g.se
        z_truth = (g.estimate - g.truth) / g.se
        return pd.Series(
            {
                "data_sets": len(g),
                "truth": g.truth.mean(),
                "mean_estimate": g.estimate.mean(),
                "sd": g.estimate.std(ddof=1),
                "mean_se": g.se.mean(),
                "sd_over_se": g.estimate.std(ddof=1) / g.se.mean(),
                "coverage_95": float(np.mean(np.abs(z_own) <= 1.96)),
                "coverage_truth_95": float(np.mean(np.abs(z_truth) <= 1.96)),
                "seconds": g.seconds.mean(),
                # refitted (latent CMI): the SD of one fit from every fit of every data set, over the mean SE
                **all_fits(g),
            }
        )

    runs = runs.assign(design=runs["design"].fillna("2+2|2")) if "design" in runs else runs.assign(design="2+2|2")
    runs.loc[runs.method == "lmi", "design"] = "50+50|2"
    return runs.groupby(["method", "design", "n_samples"]).apply(one, include_groups=False).reset_index()


def run_lineage(gammas: list[float], n_clones: int, n_genes: int, seed: int) -> pd.DataFrame:
    rows = []
    for gamma in tqdm(gammas, desc="confounded lineage", unit="simulation"):
        adata = bm.datasets.simulate_lineage(
            n_clones=n_clones, n_genes=n_genes, hidden_fate=False, confounder=gamma, random_state=seed
        )
        sim = adata.uns["simulation"]
        opts = dict(adjust_for="confounder", n_jobs=1, progress=False, random_state=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bm.tl.lmi(adata, conditions=(2.0, 6.0), **opts)
            bm.tl.markov_test(adata, **opts)
        seconds = time.perf_counter() - start
        summary = adata.uns["lmi"]["summary"].set_index("adjusted")
        markov = adata.uns["markov_test"]
        for adjusted in (False, True):
            test = markov["adjusted"] if adjusted else markov
            rows.append(
                {
                    "confounder": gamma,
                    "adjusted": adjusted,
                    "truth_early_late": sim["I_early_late_given_confounder_bits" if adjusted else "I_early_late_bits"],
                    "lmi_early_late": summary.loc[adjusted, "mi_mean"],
                    "lmi_se": summary.loc[adjusted, "mi_se"],
                    "shuffled_mean": summary.loc[adjusted, "shuffled_mean"],
                    "p_value": summary.loc[adjusted, "p_value"],
                    "truth_sisters": sim["I_sisters_given_confounder_bits" if adjusted else "I_sisters_bits"],
                    "markov_difference": test["difference"],
                    "markov_p_value": test["p_value"],
                    "markovian": test["markovian"],
                    "seconds_both_tools": seconds,
                }
            )
    return pd.DataFrame(rows)


def summarize_gaussian(runs: pd.DataFrame) -> pd.DataFrame:
    r = runs.assign(sq=(runs.estimate - runs.truth) ** 2, err=runs.estimate - runs.truth)
    keys = (["design"] if "design" in r else []) + ["d_x", "d_y", "d_z", "n_samples", "estimator"]
    return (
        r.groupby(keys)
        .agg(
            truth=("truth", "mean"),
            mean_estimate=("estimate", "mean"),
            bias=("err", "mean"),
            mse=("sq", "mean"),
            seconds=("seconds", "mean"),
        )
        .reset_index()
    )


def summarize_test(runs: pd.DataFrame) -> pd.DataFrame:
    return (
        runs.groupby(["case", "link"])
        .agg(
            n_data_sets=("p_value", "size"),
            reject_005=("p_value", lambda p: float(np.mean(p <= 0.05))),
            reject_010=("p_value", lambda p: float(np.mean(p <= 0.10))),
            mean_p=("p_value", "mean"),
            mean_cmi=("cmi", "mean"),
        )
        .reset_index()
    )


def figure(gauss: pd.DataFrame | None, test: pd.DataFrame | None, path: Path) -> Path:
    import matplotlib.pyplot as plt

    many = gauss is not None and len(gauss.groupby(["d_x", "d_y", "d_z", "n_samples"])) > 8
    fig, axes = plt.subplots(
        1, 2, figsize=(20 if many else 13, 5.5 if many else 4.5), gridspec_kw={"width_ratios": [2.2 if many else 1, 1]}
    )
    if gauss is not None:
        g = gauss.sort_values(["d_x", "d_z", "n_samples"])
        sep = " " if many else "\n"  # many cells: one rotated line each
        g = g.assign(config=g.apply(lambda r: f"{r.d_x}+{r.d_y} | {r.d_z}{sep}N={r.n_samples}", axis=1))
        order = list(dict.fromkeys(g.config))
        wide = g.pivot(index="config", columns="estimator", values="mse").loc[order]
        wide.plot.bar(ax=axes[0], logy=True, rot=90 if many else 0, fontsize=7)
        axes[0].set_ylabel("MSE (bits$^2$)")
        axes[0].set_title("Gaussian CMI (closed form): d_x + d_y | d_z")
        axes[0].legend(fontsize=7)
    if test is not None:
        for case, g in test.groupby("case"):
            axes[1].plot(g.link, g.reject_005, marker="o", label=case)
        axes[1].axhline(0.05, color="k", lw=0.8, ls="--")
        axes[1].set_xlabel("direct link c (y += c x)")
        axes[1].set_ylabel("rejection rate at 0.05")
        axes[1].set_title("conditional-independence test: level (c = 0) and power")
        axes[1].legend()
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["gaussian", "null", "test", "latent", "errorbars", "lineage"],
        choices=["gaussian", "null", "test", "latent", "errorbars", "lineage", "latent-test"],
        help="parts to run; latent-test (the latent CMI's permutation test, about 30 min) only when named",
    )
    parser.add_argument("--latent-null", type=int, default=100, help="null data sets of the latent-test part")
    parser.add_argument(
        "--latent-estimators",
        nargs="+",
        default=None,
        help="latent: rerun only these estimators (e.g. 'bm.cmi auto (ours)'); the others keep their stored runs",
    )
    parser.add_argument(
        "--gaussian-estimators",
        nargs="+",
        default=None,
        help="gaussian: rerun only these estimators (e.g. 'bm.cmi (ours)'); the others keep their stored runs",
    )
    parser.add_argument(
        "--no-latent-nulls", action="store_true", help="latent: only the low-rank design (no conditionally null cells)"
    )
    parser.add_argument("--error-sets", type=int, default=80, help="data sets per k-NN error-bar cell")
    parser.add_argument("--latent-error-sets", type=int, default=20, help="data sets of the latent error-bar cell")
    parser.add_argument("--from-runs", action="store_true", help="errorbars: summarise the stored runs, run nothing")
    parser.add_argument("--latent-first", type=int, default=0, help="latent-test: seed of the first null data set")
    parser.add_argument("--latent-power", type=int, default=20, help="latent-test: data sets with a link")
    parser.add_argument("--latent-shuffles", type=int, default=19, help="latent-test: shuffles (refits) per data set")
    parser.add_argument("--tag", default="", help="latent-test: write this process's runs to cmi_latent_test_runs_TAG")
    parser.add_argument(
        "--latent-join", nargs="+", default=None, help="latent-test: join these tags' runs into the runs file, run none"
    )
    parser.add_argument(
        "--error-methods",
        nargs="+",
        default=["ksg", "ksg-calibrated", "lmi"],
        help="bm.cmi methods of the errorbars part; the stored runs of the others are kept",
    )
    parser.add_argument("--error-designs", nargs="+", default=list(ERROR_DESIGNS), choices=list(ERROR_DESIGNS))
    parser.add_argument("--seeds", type=int, default=None, help="data sets per Gaussian cell (default 3; --full 5)")
    parser.add_argument(
        "--null-wide", type=int, default=20, help="null: data sets of the wide (20 + 20 | 2) design at N = 1000"
    )
    parser.add_argument("--null", type=int, default=200, help="null data sets per case of the test")
    parser.add_argument("--power", type=int, default=50, help="data sets per link strength")
    parser.add_argument("--test-n", type=int, default=300, help="samples per data set of the test")
    parser.add_argument(
        "--test-cases",
        nargs="+",
        default=None,
        choices=["numeric z", "categorical z"],
        help="test: rerun only these cases; the others keep their stored runs",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    gauss = test = None
    if "gaussian" in args.parts:
        runs = run_gaussian(
            FULL if args.full else REDUCED,
            [1000, 2000, 10000] if args.full else [2000],
            args.seeds or (5 if args.full else 3),
            args.gaussian_estimators,
        )
        runs = keep_stored(runs, "cmi_gaussian_runs", "estimator", args.gaussian_estimators)
        gauss = summarize_gaussian(runs)
        write(runs, "cmi_gaussian_runs")
        write(gauss, "cmi_gaussian")
        wide = gauss.pivot_table(index=["d_x", "d_y", "d_z", "n_samples"], columns="estimator", values="mse")
        print("MSE (bits^2) per cell\n", wide.round(4).to_string())
        print("\nmean MSE over cells\n", gauss.groupby("estimator").mse.mean().sort_values().round(4).to_string())
        bias = gauss.pivot_table(index=["d_x", "d_y", "d_z", "n_samples"], columns="estimator", values="bias")
        print("\nbias (bits)\n", bias.round(3).to_string())
    if "null" in args.parts:
        runs = run_null_bias([300, 2000], 10, 1000, args.null_wide)
        write(runs, "cmi_null_bias")
        table = runs.groupby(["design", "n_samples", "estimator"]).estimate.agg(
            mean="mean", sd="std", above_005=lambda e: float(np.mean(np.abs(e) >= 0.05)), data_sets="size"
        )
        print("\nnonlinear conditional independence (truth 0)\n", table.round(3).reset_index().to_string(index=False))
    if "test" in args.parts:
        runs = run_test(args.null, args.power, args.test_n, args.test_cases)
        runs = keep_stored(runs, "cmi_test_runs", "case", args.test_cases)
        test = summarize_test(runs)
        write(runs, "cmi_test_runs")
        write(test, "cmi_test")
        print(
            "\nconditional-independence test (19 shuffles; level at link 0, power above)\n",
            test.round(3).to_string(index=False),
        )
    if "latent" in args.parts:
        only = args.latent_estimators
        runs = run_latent(
            [20, 50, 200], [2, 10], [2000, 10000] if args.full else [2000], 3, not args.no_latent_nulls, only
        )
        runs = keep_stored(runs, "cmi_latent_runs", "estimator", only)
        latent = summarize_gaussian(runs)
        write(runs, "cmi_latent_runs")
        write(latent, "cmi_latent")
        keys = ["design", "d_x", "d_z", "n_samples"]
        print(
            "\nlatent design: MSE (bits^2)\n",
            latent.pivot_table(index=keys, columns="estimator", values="mse").round(4),
        )
        print(
            "\nmean estimate (bits)\n",
            latent.pivot_table(index=keys, columns="estimator", values="mean_estimate").round(3),
        )
        print("\ntruth\n", latent.groupby(keys).truth.mean().round(3).to_string())
        print("\nseconds\n", latent.pivot_table(index=keys, columns="estimator", values="seconds").round(1))
    if "errorbars" in args.parts:
        methods = [] if args.from_runs else args.error_methods
        runs = run_error_bars(args.error_sets, args.latent_error_sets, methods, args.error_designs)
        runs = keep_stored(runs, "cmi_error_bars_runs", "method", methods)
        table = summarize_error_bars(runs)
        write(runs, "cmi_error_bars_runs")
        write(table, "cmi_error_bars")
        print("\nerror bars of bm.cmi\n", table.round(3).to_string(index=False))
    if "latent-test" in args.parts:
        if args.latent_join:  # one run split over processes: its shares replace the runs file, a data set once
            parts = [pd.read_csv(RESULTS / f"cmi_latent_test_runs_{t}.csv") for t in args.latent_join]
            runs = pd.concat(parts, ignore_index=True).drop_duplicates(["link", "seed"], keep="last")
            runs = runs.sort_values(["link", "seed"]).reset_index(drop=True)
        else:
            runs = run_latent_test(args.latent_null, args.latent_power, 400, args.latent_shuffles, args.latent_first)
        write(runs, f"cmi_latent_test_runs{'_' + args.tag if args.tag and not args.latent_join else ''}")
        if args.tag and not args.latent_join:  # one process's share: joined later with --latent-join
            return
        levels = runs.groupby("link").agg(
            data_sets=("p_value", "size"),
            reject_005=("p_value", lambda p: float(np.mean(p <= 0.05))),
            reject_010=("p_value", lambda p: float(np.mean(p <= 0.1))),
            reject_020=("p_value", lambda p: float(np.mean(p <= 0.2))),
            mean_p=("p_value", "mean"),
            # chi-square of the p-values' counts over their n_shuffles + 1 possible values (uniform: under the null)
            uniformity_p=("p_value", lambda p: _uniformity_p(p, int(runs.n_shuffles.max()))),
            mean_estimate=("estimate", "mean"),
            truth=("truth", "mean"),
            seconds=("seconds", "mean"),
        )
        write(levels.reset_index(), "cmi_latent_test")
        shuffles = "/".join(str(v) for v in sorted(runs.n_shuffles.unique()))
        title = f"latent CMI permutation test ({shuffles} shuffles, N = 400, 20 + 20 | 2)"
        print(f"\n{title}\n", levels.round(3).to_string())
    if "lineage" in args.parts:
        runs = run_lineage([0.5, 1.0, 2.0], 600, 300, 0)
        write(runs, "cmi_lineage")
        print("\nconfounded lineage simulator (tl.lmi / tl.markov_test, adjust_for='confounder')\n", runs.round(3))
    print(f"\nmachine: {machine()}; wall {time.perf_counter() - start:.0f} s")
    # the figure shows the latest results of both parts (a part not run this time: its stored table)
    if gauss is None and (RESULTS / "cmi_gaussian.csv").exists():
        gauss = pd.read_csv(RESULTS / "cmi_gaussian.csv")
    if test is None and (RESULTS / "cmi_test.csv").exists():
        test = pd.read_csv(RESULTS / "cmi_test.csv")
    print("figure:", figure(gauss, test, FIGURES / "cmi.png"))


if __name__ == "__main__":
    main()
