"""Calibration of ``bm.mi(..., error_bars=True)`` over independent data sets (issues 12 and 27).

For each cell, ``n_datasets`` independent samples of one distribution; on each, the estimate and
its reported standard error. Reported per cell: the observed SD of the estimates, the mean reported
SE and their ratio (target 0.8-1.25); the z-scores ``(estimate - mean of the estimates) / se``
(mean ~0, variance ~1); the coverage of the 95 % interval around the estimator's own mean (target
0.90-0.98) and, separately, of the true MI (bias and variance together); for the subsampled KSG
also the ratio with the SE before the extrapolation across part sizes (``sd_over_se_parts``).
For LMI, whose standard error comes from refits, the runs file also holds every refit's estimate and the two
terms of the SE (``fit_sd``, ``sampling_se``), and each cell gets ``sd_all_fits_over_se``: the SD of one fit
estimated from all fits of all its data sets (one-way analysis of variance: data sets x fits) over the mean
SE, with its 95 % interval (``all_fits_lo``/``_hi``): three to four times the degrees of freedom of the first
fits' SD at the same cost.

Sections (``--parts``; all of them by default)
    ``grid``: Gaussians with ``d`` dimensions per side and the same correlation in every pair
    ``(x_i, y_i)``, chosen so that the total MI is ``mi`` bits: ``rho = sqrt(1 - 2^(-2 mi / d))``.
    Full grid (``--full``): d 1, 3, 8; MI 0.5, 1, 2, 4 bits; N 500, 2000, 10 000, 50 000; the
    estimators ksg, ksg-calibrated, auto and lmi (lmi at d 3 and 8; ksg-mixture when named in ``--estimators``),
    40 data sets (lmi 20, 10 at N = 50 000). Reduced grid (default): ksg over every d and MI at N 500 and 2000
    (30 data sets) and a few cells of ksg-calibrated, auto and lmi (:data:`REDUCED_GRID`).
    ``null``: the Student-t p-value of :func:`bioinfo_mi.uncertainty.parametric_p_value` under
    independence (2 + 2 Gaussians, N = 500, KSG, 300 data sets) from the first 2, 5 and 19 of 19
    shuffles: the fractions below 0.05 and 0.01 (uniform: 0.05, 0.01) and a KS test of uniformity.
    ``small``: the standard error at n = 16, 30 and 56 samples (2 + 2, rho 0.6 and 8 + 8, rho 0.5, KSG, 100
    data sets): the reported SE (the small-sample designs of ``uncertainty.subsampling_se``) and, beside
    it, the SD of the pointwise values over sqrt(n), both against the observed SD.
    ``cases``: the named cases of issue 12 (:data:`CASES`, ``--cases``).
    ``lmi-terms``: the sampling term of LMI's SE checked on its own: one LMI fit, then ``--datasets`` (default
    40) fresh samples of the held-out size from the same distribution encoded by that fit's encoders, KSG on
    each; their SD against the subsampling SE of KSG on the fit's held-out latents (the term
    ``uncertainty.sampling_se`` adds), for the grid cells of ``--dims``/``--mis``/``--ns`` (default 3 + 3 at
    0.5 bits, N = 10 000, and 8 + 8 at 1 bit, N = 50 000).
    ``lmi-seeds``: whether the seeds of the grid's first fits (``random_state=i``) make them vary less than the
    refits: ``--datasets`` (default 24) fresh data sets of 3 + 3 at 0.5 bits, N = 10 000 (from data set 200, or
    ``--first-dataset``), each fitted once with seed i, i + 1000, the first refit's spawned seed and i + 1; per
    kind the SD over data sets against seed i's (F interval) and the paired mean difference.

Cases (``--parts cases``)
    ``ksg``: KSG (k = 3) on 2 + 2 Gaussians with correlation 0.6 per pair, N = 1000 (subsampling SE).
    ``ksg-8d``: KSG on 8 + 8 Gaussians (LMI's latent size), correlation 0.5 per pair, N = 1000.
    ``ksg-3d-08``: KSG on 3 + 3 Gaussians, correlation 0.8 per pair (2.2 bits), N = 1000 (issue 27).
    ``ksg-student``: KSG on 2 + 2 Student-t (3 degrees of freedom, shared scale), N = 1000: non-Gaussian.
    ``ksg-large``, ``ksg-8d-large``: as ``ksg`` and ``ksg-8d`` with N = 20 000, where the subsampling
    SE uses its cheaper design (``uncertainty.LARGE_PARTITIONS`` once each, from ``LARGE_N`` samples).
    ``auto``: the default (the calibrated copula KSG here) on a 5 + 5 Gaussian with two correlated
    pairs (rho 0.8) under a half-cube map, N = 2000.
    ``lmi``: LMI on Algorithm 4 (d = 100, k = 1, 1 bit, N = 2000) with 4 refits (in 2 processes).
    ``auto-student``, ``auto-student-5d``: the default on 3 + 3 Student-t (2 degrees of freedom) and 5 + 5 (3), identity
    scale, N = 2000, where it runs ``ksg-mixture`` on Student-t copula twins (session 19).

The estimate alone is timed on the first 5 data sets of each case (``cost_ratio``: the time with
error bars over the time without, there).

    python benchmarks/bench_error_bars.py                       # reduced grid, null, small n
    python benchmarks/bench_error_bars.py --full                # full grid
    python benchmarks/bench_error_bars.py --parts grid --estimators ksg --ns 500 --tag ksg500
    python benchmarks/bench_error_bars.py --parts cases --cases ksg lmi --datasets 20 --tag small
    python benchmarks/bench_error_bars.py --parts cases --cases ksg ksg-8d --partitions 3 4 5 6 --repeats 1 --tag r1
                                                   # another design of the subsampling SE
    python benchmarks/bench_error_bars.py --full --parts grid --estimators lmi --ns 2000 --datasets 10 \
        --first-dataset 10 --tag lmi_b                   # data sets 10-19 of those cells, in another process
    python benchmarks/bench_error_bars.py --from-runs --join lmi_a lmi_b --tag lmi   # one table of both
    python benchmarks/bench_error_bars.py --parts lmi-seeds    # first fits' seeds against spawned ones
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import RESULTS, all_fits, fit_table, log_sd_ratio, machine, relabel_p, save_figure, write
from scipy.stats import chi2, kstest, norm
from scipy.stats import f as f_dist
from tqdm.auto import tqdm

import bioinfo_mi as bm
from bioinfo_mi import uncertainty
from bioinfo_mi._parallel import spawn_seeds

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
#: latentmi's README: variance of z-scores over 100 trials, per setting
LATENTMI_Z_VARIANCE = "1.10-1.26"


def gaussian_pairs(n: int, rng: np.random.Generator, d: int = 2, rho: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, d))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))


def student_pairs(n: int, rng: np.random.Generator, dof: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    x, y = gaussian_pairs(n, rng, rho=0.0)
    w = np.sqrt(dof / rng.chisquare(dof, size=(n, 1)))  # shared scale: dependence only in the tails
    return x * w, y * w


def student_3d(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """3 + 3 Student-t, 2 degrees of freedom, identity scale (bmi's student-identity-3-3-2, 0.420 bits)."""
    x, y = gaussian_pairs(n, rng, d=3, rho=0.0)
    w = np.sqrt(2.0 / rng.chisquare(2.0, size=(n, 1)))
    return x * w, y * w


def student_5d(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """5 + 5 Student-t, 3 degrees of freedom, identity scale (bmi's student-identity-5-5-3, 0.431 bits)."""
    x, y = gaussian_pairs(n, rng, d=5, rho=0.0)
    w = np.sqrt(3.0 / rng.chisquare(3.0, size=(n, 1)))
    return x * w, y * w


def half_cube_sparse(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, 5))
    y = rng.standard_normal((n, 5))
    y[:, :2] = 0.8 * x[:, :2] + 0.6 * y[:, :2]
    return np.abs(x) ** 1.5 * np.sign(x), np.abs(y) ** 1.5 * np.sign(y)


def algorithm4(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return bm.datasets.gaussian_low_rank(d=100, rank=1, n_samples=n, mi_bits=1.0, random_state=int(rng.integers(2**31)))


def gaussian_8d(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return gaussian_pairs(n, rng, d=8, rho=0.5)


def gaussian_3d_08(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return gaussian_pairs(n, rng, d=3, rho=0.8)


CASES = {
    "ksg": (gaussian_pairs, 1000, "ksg", {}),
    "ksg-8d": (gaussian_8d, 1000, "ksg", {}),  # LMI's latent size (8 + 8)
    "ksg-3d-08": (gaussian_3d_08, 1000, "ksg", {}),  # issue 27: 2.2 bits
    "ksg-student": (student_pairs, 1000, "ksg", {}),
    # from bioinfo_mi.uncertainty.LARGE_N samples on the subsampling SE uses its cheaper design
    "ksg-large": (gaussian_pairs, 20_000, "ksg", {}),
    "ksg-8d-large": (gaussian_8d, 20_000, "ksg", {}),
    "auto": (half_cube_sparse, 2000, "auto", {}),
    "lmi": (algorithm4, 2000, "lmi", {"n_jobs": 2}),  # the 4 refits in 2 processes
    # session 19: auto runs ksg-mixture on Student-t copula twins there
    "auto-student": (student_3d, 2000, "auto", {}),
    "auto-student-5d": (student_5d, 2000, "auto", {}),
}
#: data sets on which the estimate alone is timed too (the cost ratio; the estimate is the same)
TIMED = 5
REDUCED = {
    "ksg": 100,
    "ksg-8d": 100,
    "ksg-3d-08": 100,
    "ksg-student": 100,
    "ksg-large": 60,
    "ksg-8d-large": 40,
    "auto": 40,
    "lmi": 30,
    "auto-student": 40,
    "auto-student-5d": 40,
}


# ---------------------------------------------------------------------------------------------- grid
GRID_DIMS = (1, 3, 8)
GRID_MI = (0.5, 1.0, 2.0, 4.0)
GRID_N = (500, 2000, 10_000, 50_000)
GRID_ESTIMATORS = ("ksg", "ksg-calibrated", "ksg-mixture", "auto", "lmi")
#: the estimators of ``--full`` unless ``--estimators`` names others (``ksg-mixture``: only when named)
FULL_GRID_ESTIMATORS = ("ksg", "ksg-calibrated", "auto", "lmi")
#: data sets per cell of the full grid (LMI: 20)
FULL_DATASETS = 40
#: the default run: (estimator, d, MI bits, N, data sets)
REDUCED_GRID = [
    *[("ksg", d, mi, n, 30) for n in (500, 2000) for d in GRID_DIMS for mi in GRID_MI],
    *[("ksg-calibrated", 3, mi, 2000, 20) for mi in (1.0, 4.0)],
    ("auto", 8, 2.0, 2000, 20),
    ("lmi", 8, 1.0, 2000, 10),
]


def rho_for(mi_bits: float, d: int) -> float:
    """Correlation per pair that gives ``d`` independent pairs a total MI of ``mi_bits``."""
    return float(np.sqrt(1 - 2.0 ** (-2 * mi_bits / d)))


def full_grid(estimators: tuple[str, ...] = FULL_GRID_ESTIMATORS) -> list[tuple[str, int, float, int, int]]:
    cells = []
    for est in estimators:
        for n in GRID_N:
            for d in GRID_DIMS:
                if est == "lmi" and d == 1:
                    continue  # LMI compresses many features; at 1 + 1 it is not the tool (auto never runs it there)
                for mi in GRID_MI:
                    cells.append((est, d, mi, n, (10 if n > 10_000 else 20) if est == "lmi" else FULL_DATASETS))
    return cells


def _uncorrected_se(res: Any) -> float:
    """SE from the parts before the extrapolation across part sizes (subsampled KSG and copula KSG)."""
    info = res.extra.get("error_bars", {})
    if "sampling" in info:
        return float("nan")
    if "B_parts" not in info:
        return float("nan")
    factor = res.se / info["se"] if info.get("se") else 1.0  # ksg-calibrated: times the twins' factor
    return float(np.sqrt(info["B_parts"] / res.n_samples) * factor)


def run_cell(estimator: str, d: int, mi_bits: float, n: int, n_datasets: int, first: int = 0) -> pd.DataFrame:
    rho = rho_for(mi_bits, d)
    options: dict[str, Any] = {"n_jobs": 1}
    rows = []
    label = f"{estimator} d={d} mi={mi_bits} n={n}"
    for i in tqdm(range(first, first + n_datasets), desc=label, unit="data set", leave=False):
        rng = np.random.default_rng([27, d, int(mi_bits * 10), n, i])
        x, y = gaussian_pairs(n, rng, d=d, rho=rho)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            res = bm.mi(x, y, method=estimator, random_state=i, error_bars=True, **options)
            seconds = time.perf_counter() - start
        info = res.extra["error_bars"]
        rows.append(
            {
                "estimator": estimator,
                "method": res.method,
                "d": d,
                "mi_true": mi_bits,
                "rho": rho,
                "n": n,
                "dataset": i,
                "estimate": res.mi,
                "se": res.se,
                "se_parts": _uncorrected_se(res),
                "growth_factor": info.get("growth_factor", info.get("sampling", {}).get("growth_factor", np.nan)),
                "seconds_with_error_bars": seconds,
                # refitted estimators (LMI): the other fits' estimates and the two terms of the SE
                "refits": ";".join(repr(float(v)) for v in info.get("refit_estimates", [])),
                "fit_sd": info.get("fit_sd", np.nan),
                "sampling_se": info.get("sampling_se", np.nan),
            }
        )
    return pd.DataFrame(rows)


def summarize_grid(runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    z95 = norm.ppf(0.975)
    for (est, d, mi, n), g in runs.groupby(["estimator", "d", "mi_true", "n"], sort=False):
        centre = g.estimate.mean()
        sd = g.estimate.std(ddof=1)
        half = z95 * g.se
        out.append(
            {
                "estimator": est,
                "method": g.method.iloc[0],
                "d": d,
                "mi_true": mi,
                "n": n,
                "datasets": len(g),
                "mean_estimate": centre,
                "bias": centre - mi,
                "sd_estimates": sd,
                "mean_se": g.se.mean(),
                "sd_over_se": sd / g.se.mean(),
                "sd_over_se_parts": sd / g.se_parts.mean() if g.se_parts.notna().all() else np.nan,
                "z_variance": ((g.estimate - centre) / g.se).var(ddof=1),
                "coverage_95": float(((g.estimate - half <= centre) & (centre <= g.estimate + half)).mean()),
                "coverage_truth_95": float(((g.estimate - half <= mi) & (mi <= g.estimate + half)).mean()),
                "seconds_per_dataset": g.seconds_with_error_bars.mean(),
                **all_fits(g),
            }
        )
    table = pd.DataFrame(out)
    table["sd_over_se_ok"] = table.sd_over_se.between(*RATIO_BAND)
    table["coverage_ok"] = table.coverage_95.between(*COVERAGE_BAND)
    return add_sampling_intervals(table, runs, ["estimator", "d", "mi_true", "n"])


def grid_figure(table: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    ests = list(dict.fromkeys(table.estimator))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    markers = {1: "o", 3: "s", 8: "^"}
    for est_i, est in enumerate(ests):
        t = table[table.estimator == est]
        for d, g in t.groupby("d"):
            jitter = 1 + 0.04 * (est_i - len(ests) / 2)
            for ax, col in zip(axes, ("sd_over_se", "coverage_95"), strict=True):
                ax.scatter(
                    g.mi_true * jitter,
                    g[col],
                    marker=markers.get(d, "x"),
                    c=np.log10(g.n),
                    cmap="viridis",
                    vmin=2.5,
                    vmax=4.8,
                    label=f"{est}, d={d}",
                    alpha=0.8,
                )
    axes[0].axhspan(0.8, 1.25, color="grey", alpha=0.15)
    axes[1].axhspan(0.90, 0.98, color="grey", alpha=0.15)
    if "sd_over_se_parts" in table and table.sd_over_se_parts.notna().any():
        t = table[table.sd_over_se_parts.notna()]
        axes[0].scatter(
            t.mi_true * 0.9, t.sd_over_se_parts, marker=".", c="red", alpha=0.5, label="before extrapolation"
        )
    for ax, lab in zip(axes, ("observed SD / mean SE", "coverage of the 95 % interval (own mean)"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("true MI (bits); colour: log10 N")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize="x-small", ncol=2)
    return save_figure(fig, path, tight=True)


LMI_TERM_CELLS = ((3, 0.5, 10_000), (8, 1.0, 50_000))


def lmi_terms(cells: list[tuple[int, float, int]], n_fresh: int) -> pd.DataFrame:
    """Per cell: the SD of KSG on ``n_fresh`` fresh held-out-sized samples through one fit's encoders, against
    the subsampling SE on that fit's held-out latents (``--parts lmi-terms``).
    """
    rows = []
    for d, mi, n in cells:
        rho = rho_for(mi, d)
        x, y = gaussian_pairs(n, np.random.default_rng([27, d, int(mi * 10), n, 0]), d=d, rho=rho)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.mi(x, y, method="lmi", random_state=0, n_jobs=1)
            test, k = res.test_idx, res.params["k"]
            info = uncertainty.subsampling_se(
                res.zx[test], res.zy[test], method="ksg", options={"k": k, "base": res.base}, random_state=1, n_jobs=1
            )
            fresh_rng = np.random.default_rng([27, 99, d, n])
            fresh = []
            for _ in tqdm(range(n_fresh), desc=f"lmi-terms d={d} mi={mi} n={n}", leave=False):
                zx, zy = res.model.encode(*gaussian_pairs(len(test), fresh_rng, d=d, rho=rho))
                fresh.append(bm.mi(zx, zy, method="ksg", k=k).mi)
        sd = float(np.std(fresh, ddof=1))
        rows.append(
            {
                "d": d,
                "mi_true": mi,
                "n": n,
                "n_scored": len(test),
                "fit": res.mi,
                "fresh_mean": float(np.mean(fresh)),
                "fresh_sd": sd,
                "subsampling_se": info["se"],
                "fresh_sd_over_se": sd / info["se"],
                "lo": sd / info["se"] * np.sqrt((n_fresh - 1) / chi2.ppf(0.975, n_fresh - 1)),
                "hi": sd / info["se"] * np.sqrt((n_fresh - 1) / chi2.ppf(0.025, n_fresh - 1)),
                "fresh_samples": n_fresh,
            }
        )
    return pd.DataFrame(rows)


LMI_SEED_CELL = (3, 0.5, 10_000)  # the grid's lowest LMI cell at N = 10 000 (SD/SE 0.56 from its first fits)
LMI_SEED_FIRST = 200  # fresh data sets: not the grid's (0-19) nor any earlier probe's
SEED_KINDS = ("i", "i + 1000", "first refit", "i + 1")


def _seed_of(kind: str, i: int) -> int:
    """The seed of one fit of data set ``i``: the benchmark's first fit (``random_state=i``), an offset seed, the
    seed of the first refit of ``bm.mi(random_state=i, error_bars=True)`` (spawned as in ``api`` and
    ``uncertainty.add_error_bars``) or the next data set's seed.
    """
    if kind == "first refit":
        bars_seed = spawn_seeds(i, 2)[0]
        return spawn_seeds(spawn_seeds(bars_seed, 2)[1], 1)[0]
    return {"i": i, "i + 1000": i + 1000, "i + 1": i + 1}[kind]


def lmi_seeds(cell: tuple[int, float, int], n_datasets: int, first: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One LMI fit per seed kind on each of ``n_datasets`` fresh data sets (``--parts lmi-seeds``).

    The grid's first fits (seeds ``i``) varied less across data sets than its refits (spawned seeds) in 6 of 7
    cells at N = 50 000. If the seeds ``i`` themselves caused it, their SD over fresh data sets would be smaller
    than that of the other kinds here; the same data sets under every kind make the comparison paired.
    """
    d, mi, n = cell
    rho = rho_for(mi, d)
    rows = []
    for i in tqdm(range(first, first + n_datasets), desc=f"lmi-seeds d={d} mi={mi} n={n}", unit="data set"):
        x, y = gaussian_pairs(n, np.random.default_rng([27, d, int(mi * 10), n, i]), d=d, rho=rho)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = {k: bm.mi(x, y, method="lmi", random_state=_seed_of(k, i), n_jobs=1).mi for k in SEED_KINDS}
        rows.append({"d": d, "mi_true": mi, "n": n, "dataset": i, **fits})
    runs = pd.DataFrame(rows)
    return runs, summarize_seeds(runs)


def summarize_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """Per seed kind of :func:`lmi_seeds`: mean, SD over data sets, SD against seed i's (F interval), paired
    difference from seed i and the permutation p-value that seed i's fits vary less."""
    table = []
    base = runs[SEED_KINDS[0]]
    k = len(runs)
    for kind in SEED_KINDS:
        ratio = runs[kind].std(ddof=1) / base.std(ddof=1)
        diff = runs[kind] - base
        table.append(
            {
                "seed": kind,
                "datasets": k,
                "mean": runs[kind].mean(),
                "sd": runs[kind].std(ddof=1),
                "sd_over_sd_i": ratio,
                # F interval of a ratio of two SDs over the same data sets (treated as independent: conservative)
                "lo": ratio / np.sqrt(f_dist.ppf(0.975, k - 1, k - 1)),
                "hi": ratio * np.sqrt(f_dist.ppf(0.975, k - 1, k - 1)),
                "minus_i": diff.mean(),
                "minus_i_se": diff.std(ddof=1) / np.sqrt(k) if kind != SEED_KINDS[0] else 0.0,
                # one-sided: seed i's fits vary less than this kind's (labels swapped within data sets)
                "p_i_varies_less": relabel_p([runs[[SEED_KINDS[0], kind]].to_numpy()]) if kind != base.name else 1.0,
            }
        )
    return pd.DataFrame(table)


# ---------------------------------------------------------------------------------------------- null
NULL_SHUFFLES = (2, 5, 19)


def auto_identity(ns: list[int]) -> pd.DataFrame:
    """``auto`` against ``ksg-calibrated`` on the first data set of the grid's corner cells (d = 1, 3, 8; 0.5 and
    4 bits): the method ``auto`` ran, and whether estimate and standard error are identical, so that the
    ``ksg-calibrated`` cells stand for ``auto`` at these N (``--parts auto-identity --ns 10000``).
    """
    rows = []
    for n in ns:
        for d in GRID_DIMS:
            for mi in (0.5, 4.0):
                a, c = run_cell("auto", d, mi, n, 1), run_cell("ksg-calibrated", d, mi, n, 1)
                rows.append(
                    {
                        "n": n,
                        "d": d,
                        "mi_true": mi,
                        "auto_ran": a.method[0],
                        "same_estimate": bool(a.estimate[0] == c.estimate[0]),
                        "same_se": bool(a.se[0] == c.se[0]),
                        "estimate": a.estimate[0],
                        "se": a.se[0],
                    }
                )
    return pd.DataFrame(rows)


def run_null(n_datasets: int, n: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parametric p-values (Student-t against the shuffles) on independent 2 + 2 Gaussians, KSG."""
    rows = []
    for i in tqdm(range(n_datasets), desc="null", unit="data set", leave=False):
        rng = np.random.default_rng([27, 0, n, i])
        x, y = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.mi(x, y, method="ksg", n_shuffles=max(NULL_SHUFFLES), random_state=i, n_jobs=1)
        row = {"dataset": i, "estimate": res.mi, "p_empirical_19": res.p_value}
        for k in NULL_SHUFFLES:
            row[f"p_parametric_{k}"] = uncertainty.parametric_p_value(res.mi, res.null[:k])
        rows.append(row)
    runs = pd.DataFrame(rows)
    out = []
    for col in [f"p_parametric_{k}" for k in NULL_SHUFFLES] + ["p_empirical_19"]:
        p = runs[col].dropna()
        out.append(
            {
                "p_value": col,
                "datasets": len(p),
                "below_0.05": float((p < 0.05).mean()),
                "below_0.01": float((p < 0.01).mean()),
                "below_0.10": float((p < 0.10).mean()),
                "mean": float(p.mean()),
                "ks_uniform_p": float(kstest(p, "uniform").pvalue) if col != "p_empirical_19" else np.nan,
            }
        )
    return runs, pd.DataFrame(out)


# --------------------------------------------------------------------------------------------- small
SMALL_N = (16, 30, 56)
SMALL_CASES = {"2+2, rho 0.6": (2, 0.6), "8+8, rho 0.5": (8, 0.5)}


def run_small(n_datasets: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reported SE and the pointwise alternative against the observed SD at n = 12-80."""
    rows = []
    for case, (d, rho) in SMALL_CASES.items():
        for n in SMALL_N:
            for i in tqdm(range(n_datasets), desc=f"small {case} n={n}", unit="data set", leave=False):
                x, y = gaussian_pairs(n, np.random.default_rng([27, 1, d, n, i]), d=d, rho=rho)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    res = bm.mi(x, y, method="ksg", random_state=i, error_bars=True, n_jobs=1)
                warned = any(getattr(w.message, "kind", "") == "small-sample-se" for w in caught)
                pmi = res.pmi[np.isfinite(res.pmi)]
                rows.append(
                    {
                        "case": case,
                        "n": n,
                        "dataset": i,
                        "estimate": res.mi,
                        "se": res.se,
                        "se_pointwise": float(np.std(pmi, ddof=1) / np.sqrt(len(pmi))),
                        "design": res.extra["error_bars"].get("design", ""),
                        "warned": warned,
                    }
                )
    runs = pd.DataFrame(rows)
    out = []
    for (case, n), g in runs.groupby(["case", "n"], sort=False):
        sd = g.estimate.std(ddof=1)
        out.append(
            {
                "case": case,
                "n": n,
                "datasets": len(g),
                "design": g.design.iloc[0],
                "warned": float(g.warned.mean()),
                "mean_estimate": g.estimate.mean(),
                "sd_estimates": sd,
                "sd_over_se": sd / g.se.mean(),
                "sd_over_se_pointwise": sd / g.se_pointwise.mean(),
                "coverage_95": float((np.abs(g.estimate - g.estimate.mean()) <= norm.ppf(0.975) * g.se).mean()),
            }
        )
    return runs, pd.DataFrame(out)


def run_case(name: str, n_datasets: int) -> pd.DataFrame:
    sampler, n, method, options = CASES[name]
    rows = []
    for i in tqdm(range(n_datasets), desc=name, unit="data set"):
        x, y = sampler(n, np.random.default_rng(10_000 + i))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            # KSG's partitions run in this process whatever n_jobs says; n_jobs=1 keeps them off worker pools
            opts = {"n_jobs": 1, **options} if method == "ksg" else options
            res = bm.mi(x, y, method=method, random_state=i, error_bars=True, **opts)
            t_bars = time.perf_counter() - start
            t_plain = float("nan")
            if i < TIMED:
                start = time.perf_counter()
                plain = bm.mi(
                    x, y, method=method, random_state=i, **{k: v for k, v in options.items() if k != "n_jobs"}
                )
                t_plain = time.perf_counter() - start
                assert res.mi == plain.mi  # error bars never change the estimate
        info = res.extra["error_bars"]
        rows.append(
            {
                "case": name,
                "dataset": i,
                "n": n,
                "method": res.method,
                "estimate": res.mi,
                "se": res.se,
                "fit_sd": info.get("fit_sd", np.nan),
                "sampling_se": info.get("sampling_se", np.nan),
                "seconds_estimate": t_plain,
                "seconds_with_error_bars": t_bars,
            }
        )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for name, g in runs.groupby("case", sort=False):
        centre = g.estimate.mean()
        z = (g.estimate - centre) / g.se
        half = norm.ppf(0.975) * g.se
        sd = g.estimate.std(ddof=1)
        out.append(
            {
                "case": name,
                "method": g.method.iloc[0],
                "n": int(g.n.iloc[0]),
                "datasets": len(g),
                "mean_estimate": centre,
                "sd_estimates": sd,
                "mean_se": g.se.mean(),
                "sd_over_se": sd / g.se.mean(),
                "z_mean": z.mean(),
                "z_variance": z.var(ddof=1),
                "coverage_95": float(((g.estimate - half <= centre) & (centre <= g.estimate + half)).mean()),
                "cost_ratio": (g.seconds_with_error_bars[g.seconds_estimate.notna()].sum() / g.seconds_estimate.sum()),
            }
        )
    table = pd.DataFrame(out)
    table["sd_over_se_ok"] = table.sd_over_se.between(*RATIO_BAND)
    table["coverage_ok"] = table.coverage_95.between(*COVERAGE_BAND)
    return add_sampling_intervals(table, runs, ["case"])


#: targets of issue 27: observed SD / mean SE, and the coverage of the 95 % interval around the cell's mean
RATIO_BAND = (0.8, 1.25)
COVERAGE_BAND = (0.90, 0.98)


def add_sampling_intervals(table: pd.DataFrame, runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """95 % intervals of each cell's SD / SE and coverage from its finite number of data sets.

    With ``k`` data sets the observed SD is itself uncertain, by ``1 / sqrt(2 (k - 1))`` relative (11 % at
    k = 40), and the mean SE by ``CV(se) / sqrt(k)``: a perfectly calibrated SE lands outside 0.8-1.25 in
    about 5 % of the cells at k = 40, and a perfect 95 % interval covers all 40 data sets (coverage 1.00,
    above 0.98) with probability 0.95^40 = 13 %. So every cell also gets the 95 % sampling interval of its
    ratio (log-normal, both terms) and of its coverage (Wilson), and two verdicts: ``*_consistent`` (the
    interval meets the band: the data cannot tell the cell from a calibrated one) and ``*_miss`` (the
    whole interval lies outside the band: a significant miss).
    """
    z95 = norm.ppf(0.975)
    groups = runs.groupby(keys, sort=False)
    cv_se = groups.se.agg(lambda s: s.std(ddof=1) / s.mean()).to_numpy()
    k = table.datasets.to_numpy(dtype=float)
    log_sd = np.sqrt(1 / (2 * (k - 1)) + cv_se**2 / k)
    table["sd_over_se_lo"] = table.sd_over_se * np.exp(-z95 * log_sd)
    table["sd_over_se_hi"] = table.sd_over_se * np.exp(z95 * log_sd)
    p = table.coverage_95.to_numpy()
    centre = (p + z95**2 / (2 * k)) / (1 + z95**2 / k)
    half = z95 * np.sqrt(p * (1 - p) / k + z95**2 / (4 * k**2)) / (1 + z95**2 / k)
    table["coverage_lo"], table["coverage_hi"] = centre - half, centre + half
    table["sd_over_se_consistent"] = (table.sd_over_se_hi >= RATIO_BAND[0]) & (table.sd_over_se_lo <= RATIO_BAND[1])
    table["sd_over_se_miss"] = ~table.sd_over_se_consistent
    table["coverage_consistent"] = (table.coverage_hi >= COVERAGE_BAND[0]) & (table.coverage_lo <= COVERAGE_BAND[1])
    table["coverage_miss"] = ~table.coverage_consistent
    return table


def run_cases(cases: list[str], datasets: int | None, full: bool, tag: str) -> None:
    start = time.perf_counter()
    runs = pd.concat([run_case(c, datasets or (100 if full else REDUCED[c])) for c in cases], ignore_index=True)
    table = summarize(runs)
    write(runs, f"error_bars{tag}_runs")
    write(table, f"error_bars{tag}")
    print(f"error-bar calibration, cases; {machine()}; {time.perf_counter() - start:.0f} s\n")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(f"\nlatentmi (published, its README): variance of z-scores {LATENTMI_Z_VARIANCE} over 100 trials")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(table), figsize=(3.2 * len(table), 3), squeeze=False)
    for ax, (name, g) in zip(axes[0], runs.groupby("case", sort=False), strict=True):
        z = (g.estimate - g.estimate.mean()) / g.se
        ax.hist(z, bins=15, density=True, alpha=0.7)
        grid = np.linspace(-4, 4, 200)
        ax.plot(grid, norm.pdf(grid), "k--", lw=1)
        ax.set_title(f"{name}: var(z) = {z.var(ddof=1):.2f}", fontsize="small")
        ax.set_xlabel("z = (estimate - mean) / se")
    print("figure:", save_figure(fig, FIGURES / f"error_bars{tag}.png", tight=True))


def _fit_tables(g: pd.DataFrame) -> list[np.ndarray]:
    """Per cell with refits in the runs file: data sets x (first fit, refits)."""
    tables = [fit_table(c) for _, c in g.groupby(["d", "mi_true", "n"])]
    return [t for t in tables if t is not None and min(t.shape) > 2]


def pool_grid(runs: pd.DataFrame) -> pd.DataFrame:
    """Per estimator, over all its cells: z-scores around each cell's mean, with the SE as reported and before
    the extrapolation across part sizes; coverage of the 95 % interval; cells with SD/SE in 0.8-1.25."""
    out = []
    z95 = norm.ppf(0.975)
    for est, g in runs.groupby("estimator", sort=False):
        centre = g.groupby(["d", "mi_true", "n"]).estimate.transform("mean")
        row = {"estimator": est, "cells": g.groupby(["d", "mi_true", "n"]).ngroups, "datasets": len(g)}
        for label, se in (("", g.se), ("_parts", g.se_parts)):
            z = (g.estimate - centre) / se
            row[f"z_variance{label}"] = float((z**2).mean())
            row[f"coverage_95{label}"] = float((z.abs() <= z95).mean())
        table = summarize_grid(g)
        row["cells_ratio_in_band"] = int(table.sd_over_se.between(*RATIO_BAND).sum())
        row["cells_ratio_significant_miss"] = int(table.sd_over_se_miss.sum())
        row["cells_coverage_in_band"] = int(table.coverage_95.between(*COVERAGE_BAND).sum())
        row["cells_coverage_significant_miss"] = int(table.coverage_miss.sum())
        row["cells_ratio_in_band_parts"] = int(table.sd_over_se_parts.between(*RATIO_BAND).sum())
        row["median_sd_over_se"] = float(table.sd_over_se.median())
        row["median_sd_over_se_parts"] = float(table.sd_over_se_parts.median())
        fitted = table[table.sd_all_fits_over_se.notna()]  # cells whose runs hold the refits (LMI)
        row["cells_all_fits"] = len(fitted)
        row["cells_all_fits_in_band"] = int(fitted.sd_all_fits_over_se.between(*RATIO_BAND).sum())
        row["median_sd_all_fits_over_se"] = float(fitted.sd_all_fits_over_se.median()) if len(fitted) else np.nan
        tables = _fit_tables(g)
        row["cells_first_below_refits"] = int(sum(log_sd_ratio([t]) < 0 for t in tables)) if tables else np.nan
        row["first_fits_vary_less_p"] = relabel_p(tables) if tables else np.nan
        out.append(row)
    return pd.DataFrame(out)


def report_grid(runs: pd.DataFrame, tag: str, seconds: float) -> None:
    table = summarize_grid(runs)
    write(table, f"error_bars_grid{tag}")
    pooled = pool_grid(runs)
    write(pooled, f"error_bars_grid{tag}_pooled")
    print("\npooled over the cells (z around each cell's mean):\n")
    print(pooled.to_markdown(index=False, floatfmt=".3f"))
    print(f"\nerror-bar calibration, grid; {machine()}; {seconds:.0f} s\n")
    shown = table.drop(columns=["sd_over_se_ok", "coverage_ok", "sd_over_se_consistent", "coverage_consistent"])
    print(shown.to_markdown(index=False, floatfmt=".3f"))
    print("figure:", grid_figure(table, FIGURES / f"error_bars_grid{tag}.png"))


def run_grid(cells: list[tuple[str, int, float, int, int]], datasets: int | None, tag: str, first: int = 0) -> None:
    start = time.perf_counter()
    runs_list = []
    for est, d, mi, n, k in cells:
        t0 = time.perf_counter()
        runs_list.append(run_cell(est, d, mi, n, datasets or k, first))
        runs = pd.concat(runs_list, ignore_index=True)
        write(runs, f"error_bars_grid{tag}_runs")  # after every cell: a long run can be read while it goes
        row = summarize_grid(runs_list[-1]).iloc[0]
        print(
            f"{est} d={d} mi={mi} n={n}: SD/SE {row.sd_over_se:.2f} (parts {row.sd_over_se_parts:.2f}), "
            f"coverage {row.coverage_95:.2f}, truth {row.coverage_truth_95:.2f}; {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    report_grid(runs, tag, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["grid", "null", "small", "cases", "auto-identity", "lmi-terms", "lmi-seeds"],
        default=["grid", "null", "small"],
    )
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--datasets", type=int, default=None, help="data sets per case or cell (default: reduced)")
    parser.add_argument("--full", action="store_true", help="the full grid; 100 data sets for every case")
    parser.add_argument("--estimators", nargs="+", choices=GRID_ESTIMATORS, default=None, help="grid: only these")
    parser.add_argument("--dims", nargs="+", type=int, default=None, help="grid: only these d")
    parser.add_argument("--ns", nargs="+", type=int, default=None, help="grid: only these N")
    parser.add_argument("--mis", nargs="+", type=float, default=None, help="grid: only these MI (bits)")
    parser.add_argument("--null-datasets", type=int, default=300)
    parser.add_argument("--small-datasets", type=int, default=100)
    parser.add_argument("--tag", default="", help="suffix of the output files")
    parser.add_argument("--from-runs", action="store_true", help="grid: summarise the runs file of --tag, run nothing")
    parser.add_argument(
        "--first-dataset", type=int, default=0, help="grid: index of the first data set (to extend a cell's runs)"
    )
    parser.add_argument(
        "--join",
        nargs="+",
        default=None,
        help="grid: with --from-runs, first join the runs files of these tags into the runs file of --tag",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        nargs="+",
        default=None,
        help="numbers of parts of the subsampling SE (default bioinfo_mi.uncertainty.PARTITIONS)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="random partitions per number of parts (default bioinfo_mi.uncertainty.REPEATS)",
    )
    args = parser.parse_args()
    # other designs of the subsampling standard error, to compare calibration and cost before changing them
    # (set in this process: the partitions of these sizes run here, not in worker processes)
    if args.partitions:
        uncertainty.PARTITIONS = tuple(args.partitions)
    if args.repeats:
        uncertainty.REPEATS = args.repeats
    print(f"subsampling SE: partitions {uncertainty.PARTITIONS}, repeats {uncertainty.REPEATS}")
    tag = f"_{args.tag}" if args.tag else ""
    if args.from_runs and "grid" in args.parts:  # the table and figure of the cells finished so far (per cell)
        if args.join:  # runs of one design split over processes or data-set ranges; a data set is counted once
            parts = [pd.read_csv(RESULTS / f"error_bars_grid_{t}_runs.csv") for t in args.join]
            joined = pd.concat(parts, ignore_index=True)
            joined = joined.drop_duplicates(["estimator", "d", "mi_true", "n", "dataset"], keep="last")
            write(joined, f"error_bars_grid{tag}_runs")
        report_grid(pd.read_csv(RESULTS / f"error_bars_grid{tag}_runs.csv"), tag, float("nan"))
        return
    if "grid" in args.parts:
        cells = [
            c
            for c in (full_grid(tuple(args.estimators or FULL_GRID_ESTIMATORS)) if args.full else REDUCED_GRID)
            if (args.estimators is None or c[0] in args.estimators)
            and (args.dims is None or c[1] in args.dims)
            and (args.mis is None or c[2] in args.mis)
            and (args.ns is None or c[3] in args.ns)
        ]
        if not cells:
            parser.error("no grid cell matches --estimators/--dims/--mis/--ns (LMI's cells: d 3 and 8)")
        run_grid(cells, args.datasets, tag, args.first_dataset)
    if "lmi-terms" in args.parts:
        start = time.perf_counter()
        cells = [
            c
            for c in ((d, mi, n) for d in GRID_DIMS for mi in GRID_MI for n in GRID_N)
            if (args.dims is not None and c[0] in args.dims)
            and (args.mis is not None and c[1] in args.mis)
            and (args.ns is not None and c[2] in args.ns)
        ] or list(LMI_TERM_CELLS)
        table = lmi_terms(cells, args.datasets or 40)
        write(table, f"error_bars_lmi_terms{tag}")
        print(
            f"\nLMI's sampling term against fresh held-out samples; {machine()}; {time.perf_counter() - start:.0f} s\n"
        )
        print(table.to_markdown(index=False, floatfmt=".4f"))
    if "lmi-seeds" in args.parts:
        start = time.perf_counter()
        if args.from_runs:  # the table again from the stored fits
            runs = pd.read_csv(RESULTS / f"error_bars_lmi_seeds{tag}_runs.csv")
            table = summarize_seeds(runs)
        else:
            runs, table = lmi_seeds(LMI_SEED_CELL, args.datasets or 24, args.first_dataset or LMI_SEED_FIRST)
        write(runs, f"error_bars_lmi_seeds{tag}_runs")
        write(table, f"error_bars_lmi_seeds{tag}")
        print(f"\nLMI's first fits by seed kind, fresh data sets; {machine()}; {time.perf_counter() - start:.0f} s\n")
        print(table.to_markdown(index=False, floatfmt=".4f"))
    if "auto-identity" in args.parts:
        table = auto_identity(args.ns or [10_000])
        write(table, "error_bars_auto_identity")
        print("auto against ksg-calibrated, first data set of the grid's corner cells\n", table.to_string(index=False))
    if "null" in args.parts:
        start = time.perf_counter()
        runs, table = run_null(args.null_datasets)
        write(runs, f"error_bars_null{tag}_runs")
        write(table, f"error_bars_null{tag}")
        print(f"\nparametric p-value under independence (2 + 2, N = 500, KSG); {time.perf_counter() - start:.0f} s\n")
        print(table.to_markdown(index=False, floatfmt=".3f"))
    if "small" in args.parts:
        start = time.perf_counter()
        runs, table = run_small(args.small_datasets)
        write(runs, f"error_bars_small{tag}_runs")
        write(table, f"error_bars_small{tag}")
        print(f"\nstandard error at small n (KSG); {time.perf_counter() - start:.0f} s\n")
        print(table.to_markdown(index=False, floatfmt=".3f"))
    if "cases" in args.parts:
        run_cases(args.cases, args.datasets, args.full, tag)


if __name__ == "__main__":
    main()
