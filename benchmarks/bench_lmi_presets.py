"""LMI presets side by side: our ``default`` preset against the ``paper`` preset (Appendix A.1.2
exactly) and plain KSG on the raw data, on the settings that decide the default:

- Algorithm 4, N=2000, d=1000, k in {1, 2}, 1 bit (the paper's regime);
- Algorithm 4, N=800, d=50, k=1, 1 bit (few hundred training pairs, tens of features);
- clustered non-Gaussian data (labels -> clusters through a random tanh map), N=800, d=50, 0.5 bit.

Prints mean absolute error, mean signed error and mean wall time per (setting, estimator) and
writes ``benchmarks/results/lmi_presets.csv`` (and ``lmi_presets_runs.csv``).

    python benchmarks/bench_lmi_presets.py             # 3 seeds (about 15 min on 2 cores)
    python benchmarks/bench_lmi_presets.py --seeds 1
"""

from __future__ import annotations

import argparse

import pandas as pd
from _common import machine, timed, write

import bioinfo_mi as bm

SETTINGS = {
    "alg4 N=2000 d=1000 k=1": lambda s: (
        *bm.datasets.gaussian_low_rank(d=1000, rank=1, n_samples=2000, random_state=s),
        1.0,
    ),
    "alg4 N=2000 d=1000 k=2": lambda s: (
        *bm.datasets.gaussian_low_rank(d=1000, rank=2, n_samples=2000, random_state=s),
        1.0,
    ),
    "alg4 N=800 d=50 k=1": lambda s: (*bm.datasets.gaussian_low_rank(d=50, rank=1, n_samples=800, random_state=s), 1.0),
    "clustered N=800 d=50": lambda s: bm.datasets.clustered(n_samples=800, d=50, mi_bits=0.5, random_state=s),
}

ESTIMATORS = {
    "lmi default": lambda x, y, s: bm.mi(x, y, method="lmi", preset="default", random_state=s).mi,
    "lmi paper": lambda x, y, s: bm.mi(x, y, method="lmi", preset="paper", random_state=s).mi,
    "ksg": lambda x, y, s: bm.mi(x, y, method="ksg", random_state=s).mi,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    args = parser.parse_args()
    rows = []
    for setting in args.settings:
        for seed in range(args.seeds):
            x, y, truth = SETTINGS[setting](seed)
            for name in args.estimators:
                est, sec = timed(ESTIMATORS[name], x, y, seed)
                rows.append(
                    {
                        "setting": setting,
                        "seed": seed,
                        "estimator": name,
                        "true_mi": truth,
                        "estimate": est,
                        "error": est - truth,
                        "seconds": sec,
                    }
                )
                print(f"{setting:24s} seed={seed} {name:12s} est={est:.3f} truth={truth:.3f} {sec:.1f}s", flush=True)
    runs = pd.DataFrame(rows)
    runs["abs_error"] = runs["error"].abs()
    summary = (
        runs.groupby(["setting", "estimator"], sort=False)
        .agg(
            mean_abs_error=("abs_error", "mean"),
            mean_error=("error", "mean"),
            mean_seconds=("seconds", "mean"),
            n_runs=("seed", "size"),
        )
        .reset_index()
    )
    print(f"\nLMI presets vs plain KSG; {machine()}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    write(runs, "lmi_presets_runs")
    print("wrote", write(summary, "lmi_presets"))


if __name__ == "__main__":
    main()
