"""Small samples: bias and RMSE of ``bm.mi`` at n = 10-100, and what ``method="auto"`` does there.

Data: correlated Gaussians (``bm.datasets.correlated_gaussian``), 1+1 and 3+3 dimensions, the MI
split equally over the coordinate pairs, MI 0.5 and 2 bits; n = 10, 15, 20, 30, 50, 100; 40 data
sets per cell (seeds 0-39). Estimators: ``auto`` (the default of ``bm.mi``; the CSV records which
estimator it chose and whether it warned ``kind="few-samples"``) and plain ``ksg`` (k = 3), with
their defaults; ``--methods`` runs others (``ksg-calibrated``, ``lmi``, any ``bm.mi`` method).
Where LMI runs (``--methods lmi``; ``auto`` runs it from 80 samples on below 10 samples per
dimension, none of the default cells) a fit takes seconds, so only the first ``--lmi-sets`` data
sets are run there (the ``n_sets`` column says how many).

Per cell: mean estimate, bias (mean - truth), SD over the data sets and RMSE, in bits. Writes
``benchmarks/results/<out>.csv`` (the table) and ``<out>_runs.csv`` (one row per fit).

    python benchmarks/bench_small_samples.py       # auto and ksg: small_samples.csv, 4-5 min on one core
    # where auto does not run the calibrated KSG: that estimator itself, and LMI on 4 data sets per cell
    python benchmarks/bench_small_samples.py --methods ksg-calibrated --dims 3 --ns 50 --out small_samples_calibrated
    python benchmarks/bench_small_samples.py --methods lmi --dims 3 --ns 10 15 20 30 --out small_samples_lmi_3x3
    python benchmarks/bench_small_samples.py --methods lmi --dims 1 --ns 10 15 --out small_samples_lmi_1x1
    # the LMI floor of auto (80 samples): both estimators at n = 60-70 and 100-150 in 5+5 and 10+10
    python benchmarks/bench_small_samples.py --methods ksg-calibrated lmi --dims 5 10 --ns 60 70 --sets 20 \
        --lmi-sets 10 --out small_samples_floor
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd
import torch
from _common import machine, write

import bioinfo_mi as bm
from bioinfo_mi import EstimateWarning

DIMS = (1, 3)
MIS = (0.5, 2.0)
NS = (10, 15, 20, 30, 50, 100)
METHODS = ("auto", "ksg")


def rho_for(mi_bits: float, d: int) -> float:
    """Per-coordinate correlation giving ``mi_bits`` in total over ``d`` independent coordinate pairs."""
    return math.sqrt(1.0 - 2.0 ** (-2.0 * mi_bits / d))


def run_one(method: str, x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        res = bm.mi(x, y, method=method, random_state=seed, n_jobs=1)
        seconds = time.perf_counter() - start
    kinds = sorted({getattr(w.message, "kind", "") for w in caught if issubclass(w.category, EstimateWarning)})
    chosen = res.extra.get("auto", {}).get("method", res.method) if method == "auto" else res.method
    return {"estimate": res.mi, "chosen": chosen, "few_samples_warning": "few-samples" in kinds, "seconds": seconds}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help="bm.mi methods (default: %(default)s)")
    parser.add_argument("--sets", type=int, default=40, help="data sets per cell (default: %(default)s)")
    parser.add_argument(
        "--lmi-sets", type=int, default=4, help="data sets per cell where LMI runs (default: %(default)s)"
    )
    parser.add_argument("--ns", type=int, nargs="+", default=list(NS), help="sample sizes (default: %(default)s)")
    parser.add_argument(
        "--dims", type=int, nargs="+", default=list(DIMS), help="dimensions per side (default: %(default)s)"
    )
    parser.add_argument("--out", default="small_samples", help="CSV name under benchmarks/results/")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one core, as in the fits layer

    rows = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for d in args.dims:
        for mi_true in MIS:
            rho = rho_for(mi_true, d)
            for n in args.ns:
                for seed in range(args.sets):
                    x, y, truth = bm.datasets.correlated_gaussian(n_samples=n, d=d, rho=rho, random_state=seed)
                    for method in args.methods:
                        if seed >= args.lmi_sets:
                            if method == "lmi":
                                continue
                            if method == "auto" and bm.estimators.choose_method(n, 2 * d) == "lmi":
                                continue
                        row = run_one(method, x, y, seed)
                        rows.append(
                            {"dims": f"{d}+{d}", "mi_true": truth, "n": n, "seed": seed, "method": method, **row}
                        )
    runs = pd.DataFrame(rows)
    runs["error"] = runs["estimate"] - runs["mi_true"]
    write(runs, f"{args.out}_runs")

    def summarise(g: pd.DataFrame) -> pd.Series:
        err = g["error"]
        return pd.Series(
            {
                "n_sets": len(g),
                "chosen": "/".join(sorted(g["chosen"].unique())),
                "mean": g["estimate"].mean(),
                "bias": err.mean(),
                "sd": g["estimate"].std(ddof=1),
                "rmse": float(np.sqrt((err**2).mean())),
                "warned": g["few_samples_warning"].mean(),
                "seconds_per_fit": g["seconds"].mean(),
            }
        )

    keys = ["dims", "mi_true", "n", "method"]
    table = runs.groupby(keys, sort=False)[list(runs.columns.drop(keys))].apply(summarise).reset_index()
    table["mi_true"] = table["mi_true"].round(6)
    path = write(table, args.out)

    shown = table.pivot_table(index=["dims", "mi_true", "n"], columns="method", values=["bias", "rmse"], sort=False)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(
            f"\nbm.mi on small correlated-Gaussian samples ({args.sets} data sets per cell, "
            f"{min(args.sets, args.lmi_sets)} where LMI runs; bits)"
        )
        print(shown)
        if "auto" in args.methods:
            auto = table[table["method"] == "auto"].set_index(["dims", "mi_true", "n"])
            print("\nauto: estimator chosen, share of fits with a few-samples warning, data sets")
            print(auto[["chosen", "warned", "n_sets"]])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"\n{machine()}; {wall:.0f} s wall, {cpu:.0f} s CPU; wrote {path}")
    return table


if __name__ == "__main__":
    main()
