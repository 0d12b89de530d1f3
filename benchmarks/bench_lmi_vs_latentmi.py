"""LMI: bioinfo_mi (default and paper presets) against latentmi 0.1.3, the LMI paper's own library,
in the same run on Algorithm 4 data (N=2000, d=1000, k in {1, 2}, 1 bit).

Reports per run the estimate, absolute error and wall time, then per (k, estimator) the mean
absolute error and mean time, and the speed-up of our default over latentmi's default.

    python benchmarks/bench_lmi_vs_latentmi.py            # 3 seeds, k = 1, 2 (about 25 min on 2 cores)
    python benchmarks/bench_lmi_vs_latentmi.py --seeds 1 --ks 1
    python benchmarks/bench_lmi_vs_latentmi.py --tag width \
        --estimators "bioinfo_mi default" "bioinfo_mi max256" latentmi
    python benchmarks/bench_lmi_vs_latentmi.py --tag screen \
        --estimators "bioinfo_mi unscreened" "bioinfo_mi default" latentmi

``bioinfo_mi max256``: the default preset before session 13 (unscreened) with the hidden width capped at 256
(``LMIPreset(max_width=256, screen=False)``; the default's cap is 512, so at d = 1000 the first hidden layer has
256 units instead of 512), a candidate for issue 29's speed target; ``bioinfo_mi max256_screen`` the same on
the screened columns, and ``bioinfo_mi max256_b256_screen`` with mini-batches of 256 as well (session 17: more
optimiser steps per epoch on 1000 training pairs), ``bioinfo_mi max256_b256_p5_screen`` with a patience of 5 epochs
as well (session 19). ``bioinfo_mi unscreened``: the default with ``screen=False``,
the default before session 13 (issue 30; its ``lmi_vs_latentmi_screen.csv`` of session 12 named it "bioinfo_mi
default" and the screened fit "bioinfo_mi screen"). ``bioinfo_mi bfloat16`` / ``bioinfo_mi float32``: the default
recipe with the training loop's products in bfloat16 / float32 (``LMIPreset(precision=...)``; session 22:
``--tag s22bf16 --estimators "bioinfo_mi float32" "bioinfo_mi bfloat16" latentmi``).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import machine, run_latentmi, timed, write

import bioinfo_mi as bm
from bioinfo_mi.estimators import PRESETS, LMIPreset

#: estimator name suffix -> options of ``bm.mi(method="lmi")``: the package's presets by name, and candidates
CANDIDATES: dict[str, dict] = {
    **{name: {"preset": name} for name in PRESETS},
    "max256": {"preset": LMIPreset(max_width=256, screen=False)},
    "max256_screen": {"preset": LMIPreset(max_width=256)},
    "max256_b256_screen": {"preset": LMIPreset(max_width=256, batch_size=256)},
    "max256_b256_p5_screen": {"preset": LMIPreset(max_width=256, batch_size=256, patience=5)},
    "unscreened": {"preset": "default", "screen": False},
    "bfloat16": {"preset": LMIPreset(precision="bfloat16")},
    "float32": {"preset": LMIPreset(precision="float32")},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--mi", type=float, default=1.0)
    parser.add_argument("--estimators", nargs="+", default=["bioinfo_mi default", "bioinfo_mi paper", "latentmi"])
    parser.add_argument("--tag", default="", help="suffix of the CSV names")
    args = parser.parse_args()
    tag = f"_{args.tag}" if args.tag else ""

    rows = []
    for k in args.ks:
        for seed in range(args.seeds):
            x, y = bm.datasets.gaussian_low_rank(d=args.d, rank=k, n_samples=args.n, mi_bits=args.mi, random_state=seed)
            for name in args.estimators:
                if name == "latentmi":
                    est, sec = timed(run_latentmi, x, y, seed)
                else:
                    options = CANDIDATES[name.split()[-1]]
                    res, sec = timed(bm.mi, x, y, method="lmi", random_state=seed, **options)
                    est = res.mi
                rows.append(
                    {
                        "k": k,
                        "seed": seed,
                        "estimator": name,
                        "estimate": est,
                        "abs_error": abs(est - args.mi),
                        "seconds": sec,
                    }
                )
                print(f"k={k} seed={seed} {name:20s} estimate={est:.3f} time={sec:.1f}s", flush=True)
    runs = pd.DataFrame(rows)
    summary = (
        runs.groupby(["k", "estimator"], sort=False)
        .agg(mean_abs_error=("abs_error", "mean"), mean_seconds=("seconds", "mean"), n_runs=("seed", "size"))
        .reset_index()
    )
    if "latentmi" in args.estimators:
        ref = summary[summary.estimator == "latentmi"].set_index("k")["mean_seconds"]
        summary["speedup_vs_latentmi"] = summary["latentmi_seconds"] = np.nan
        summary["latentmi_seconds"] = summary["k"].map(ref)
        summary["speedup_vs_latentmi"] = summary["latentmi_seconds"] / summary["mean_seconds"]
        summary = summary.drop(columns="latentmi_seconds")
    print(f"\nLMI vs latentmi 0.1.3 — Algorithm 4, N={args.n}, d={args.d}, {args.mi} bit; {machine()}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    write(runs, f"lmi_vs_latentmi{tag}_runs")
    print("wrote", write(summary, f"lmi_vs_latentmi{tag}"))


if __name__ == "__main__":
    main()
