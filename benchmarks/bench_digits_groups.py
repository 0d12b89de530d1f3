"""Label-resampled digits with several classes per group (issue 11): the default beside plain KSG.

Data: ``bm.benchmark.resampling_tasks.digits_tasks`` with the groups 0-4 vs 5-9 (each label is a
mixture of five digit clusters), 1500 pairs, 8 data sets with true MI evenly spaced over 0-1 bit
(Theorem 4 of the LMI paper: I(X; Y) = I(Lx; Ly)). Pixels take the values 0-16, so every column is
heavily tied. Estimators on the same samples: the default (``auto``), plain KSG (k = 3), and the
calibrated copula KSG that ``auto`` ran on such data before it learned to detect discrete columns,
and LMI (what ``auto`` ran below 10 samples per dimension before it sent discrete data with at least 2
samples per dimension to plain KSG).

    python benchmarks/bench_digits_groups.py                          # 1500 pairs
    python benchmarks/bench_digits_groups.py --n-samples 300 600 1500  # a few hundred pairs too

MSE over the 8 data sets (seed 0); at independence also the mean and SD over 8 draws (seeds 0-7).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from _common import machine, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi.benchmark import sample_task
from bioinfo_mi.benchmark.resampling_tasks import digits_tasks

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
ESTIMATORS = {"auto (default)": "auto", "KSG": "ksg", "ksg-calibrated": "ksg-calibrated", "LMI": "lmi"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-samples", type=int, nargs="+", default=[1500], help="pairs per data set")
    args = parser.parse_args()
    rows = []
    for n in args.n_samples:
        tasks = digits_tasks(n_datasets=8, n_samples=n, classes=((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)))
        # the 8 data sets over 0-1 bit (seed 0), then 7 more draws of independent pairs (seeds 1-7)
        draws = [(i, task, 0) for i, task in enumerate(tasks)] + [(0, tasks[0], s) for s in range(1, 8)]
        for i, task, seed in draws:
            x, y = sample_task(task, replicate=seed)[:2]
            for name, method in ESTIMATORS.items():
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = bm.mi(x, y, method=method, random_state=0)
                rows.append(
                    {
                        "n_samples": n,
                        "dataset": i,
                        "seed": seed,
                        "true_mi": task.true_mi,
                        "estimator": name,
                        "ran": res.method,
                        "estimate": res.mi,
                        "seconds": time.perf_counter() - start,
                    }
                )
                print(rows[-1], flush=True)
    runs = pd.DataFrame(rows)
    runs["sq_error"] = (runs.estimate - runs.true_mi) ** 2
    grid = runs[runs.seed == 0]
    summary = (
        grid.groupby(["n_samples", "estimator"], sort=False)
        .agg(
            mse=("sq_error", "mean"),
            at_zero=("estimate", lambda s: s.iloc[0]),
            ran=("ran", "first"),
            seconds=("seconds", "mean"),
        )
        .reset_index()
    )
    null = runs[runs.true_mi == 0].groupby(["n_samples", "estimator"], sort=False).estimate
    summary = summary.merge(null.agg(null_mean="mean", null_sd="std").reset_index(), on=["n_samples", "estimator"])
    print(f"digits 0-4 vs 5-9, 8 data sets per size (truth 0-1 bit); {machine()}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    write(runs, "digits_groups_runs")
    print("wrote", write(summary, "digits_groups"))
    sizes = list(args.n_samples)
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.5 * len(sizes), 4), squeeze=False)
    for ax, n in zip(axes[0], sizes, strict=True):
        for name, part in grid[grid.n_samples == n].groupby("estimator", sort=False):
            ax.plot(part.true_mi, part.estimate, "o-", label=name)
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="truth")
        ax.set(xlabel="true MI (bits)", ylabel="estimate (bits)", title=f"digits 0-4 vs 5-9, {n} pairs")
    axes[0][0].legend(frameon=False)
    print("figure:", save_figure(fig, FIGURES / "digits_groups.png", tight=True))


if __name__ == "__main__":
    main()
