"""Calibration of ``bm.mi(..., error_bars=True)`` over independent data sets (issue 12).

For each case, ``n_datasets`` independent samples of one distribution; on each, the estimate and
its reported standard error. Reported per case: the observed SD of the estimates, the mean reported
SE and their ratio (target 0.8-1.25); the z-scores ``(estimate - mean of the estimates) / se``
(mean ~0, variance ~1); the coverage of the 95 % interval around the estimator's own mean (target
0.90-0.98); the cost of ``error_bars=True`` relative to the estimate alone. Beside them, latentmi's
published calibration (variance of z-scores 1.10-1.26 over 100 trials, its README).

Cases
    ``ksg``: KSG (k = 3) on 2 + 2 Gaussians with correlation 0.6 per pair, N = 1000 (subsampling SE).
    ``ksg-8d``: KSG on 8 + 8 Gaussians (LMI's latent size), correlation 0.5 per pair, N = 1000.
    ``ksg-student``: KSG on 2 + 2 Student-t (3 degrees of freedom, shared scale), N = 1000: non-Gaussian.
    ``ksg-large``, ``ksg-8d-large``: as ``ksg`` and ``ksg-8d`` with N = 20 000, where the subsampling
    SE uses its cheaper design (``uncertainty.LARGE_PARTITIONS`` once each, from ``LARGE_N`` samples).
    ``auto``: the default (the calibrated copula KSG here) on a 5 + 5 Gaussian with two correlated
    pairs (rho 0.8) under a half-cube map, N = 2000.
    ``lmi``: LMI on Algorithm 4 (d = 100, k = 1, 1 bit, N = 2000) with 4 refits (in 2 processes).

The estimate alone is timed on the first 5 data sets of each case (``cost_ratio``: the time with
error bars over the time without, there).

    python benchmarks/bench_error_bars.py            # reduced: 100 / 100 / 40 / 30 data sets
    python benchmarks/bench_error_bars.py --full     # 100 data sets for every case
    python benchmarks/bench_error_bars.py --cases ksg lmi --datasets 20 --tag small   # error_bars_small*.csv
    python benchmarks/bench_error_bars.py --cases ksg ksg-8d --partitions 3 4 5 6 --repeats 1 --tag r1
                                                   # another design of the subsampling SE
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, write
from scipy.stats import norm
from tqdm.auto import tqdm

import bioinfo_mi as bm
from bioinfo_mi import uncertainty

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


def half_cube_sparse(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, 5))
    y = rng.standard_normal((n, 5))
    y[:, :2] = 0.8 * x[:, :2] + 0.6 * y[:, :2]
    return np.abs(x) ** 1.5 * np.sign(x), np.abs(y) ** 1.5 * np.sign(y)


def algorithm4(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return bm.datasets.gaussian_low_rank(d=100, rank=1, n=n, mi_bits=1.0, random_state=int(rng.integers(2**31)))


def gaussian_8d(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return gaussian_pairs(n, rng, d=8, rho=0.5)


CASES = {
    "ksg": (gaussian_pairs, 1000, "ksg", {}),
    "ksg-8d": (gaussian_8d, 1000, "ksg", {}),  # LMI's latent size (8 + 8)
    "ksg-student": (student_pairs, 1000, "ksg", {}),
    # from bioinfo_mi.uncertainty.LARGE_N samples on the subsampling SE uses its cheaper design
    "ksg-large": (gaussian_pairs, 20_000, "ksg", {}),
    "ksg-8d-large": (gaussian_8d, 20_000, "ksg", {}),
    "auto": (half_cube_sparse, 2000, "auto", {}),
    "lmi": (algorithm4, 2000, "lmi", {"n_jobs": 2}),  # the 4 refits in 2 processes
}
#: data sets on which the estimate alone is timed too (the cost ratio; the estimate is the same)
TIMED = 5
REDUCED = {"ksg": 100, "ksg-8d": 100, "ksg-student": 100, "ksg-large": 60, "ksg-8d-large": 40, "auto": 40, "lmi": 30}


def run_case(name: str, n_datasets: int) -> pd.DataFrame:
    sampler, n, method, options = CASES[name]
    rows = []
    for i in tqdm(range(n_datasets), desc=name, unit="data set"):
        x, y = sampler(n, np.random.default_rng(10_000 + i))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            res = bm.mi(x, y, method=method, random_state=i, error_bars=True, **options)
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
    table["sd_over_se_ok"] = table.sd_over_se.between(0.8, 1.25)
    table["coverage_ok"] = table.coverage_95.between(0.90, 0.98)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--datasets", type=int, default=None, help="data sets per case (default: reduced)")
    parser.add_argument("--full", action="store_true", help="100 data sets for every case")
    parser.add_argument("--tag", default="", help="suffix of the output files")
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
    start = time.perf_counter()
    runs = pd.concat(
        [run_case(c, args.datasets or (100 if args.full else REDUCED[c])) for c in args.cases], ignore_index=True
    )
    table = summarize(runs)
    write(runs, f"error_bars{tag}_runs")
    write(table, f"error_bars{tag}")
    print(f"error-bar calibration; {machine()}; {time.perf_counter() - start:.0f} s\n")
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


if __name__ == "__main__":
    main()
