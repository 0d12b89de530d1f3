"""LMI's encoder width and training recipe on the Gaussian grid's small-d cells (why the default
preset's minimum hidden width is 256).

Same data and seeds as ``bench_gaussian_grid.py`` (Algorithm 4, N = 2000, 10 MI values 0-2 bits
per cell, ``random_state=0``, estimator label "LMI"); one LMI configuration per run over the cells
k x d. Prints MSE, mean error and Kendall tau per (configuration, k, d) beside the paper's MSE, and
writes ``benchmarks/results/lmi_width.csv``.

    python benchmarks/bench_lmi_width.py                        # k 2, 3 at d = 10, six configurations
    python benchmarks/bench_lmi_width.py --k 1 2 3 --d 10 100 --configs w64 w256
    python benchmarks/bench_lmi_width.py --k 1 2 3 --d 1000 --configs w256 max256 --tag d1000
    python benchmarks/bench_lmi_width.py --k 1 2 3 --d 100 1000 --configs w256 w256_screen --tag screen

Every configuration but ``w256_screen`` trains on every column (``screen=False``), as every LMI did when these
tables were made: ``w256`` was the default preset until session 13; ``w256_screen`` is the default since
(``screen=True``, issue 30). ``max256`` caps the width at 256 (issue 29's speed target). ``default`` is the default
preset as it is; ``max256_b256_p5_screen`` issue 29's closest candidate for Algorithm 4's speed target (width at
most 256, mini-batches of 256, patience 5; ``bench_lmi_vs_latentmi.py``), session 20:

    python benchmarks/bench_lmi_width.py --k 1 2 3 --d 10 100 1000 --configs default max256_b256_p5_screen --tag s20

``--seeds``: more data sets per MI value (seed ``s`` draws the data and the fits with ``random_state=s``; the default,
0, is the grid's own), so that two configurations are compared beyond one draw: session 21,

    python benchmarks/bench_lmi_width.py --k 2 3 --d 10 100 1000 --configs default max256_b256_p5_screen --seeds 1 2 \
        --tag s21seeds

``bf16`` trains the default recipe with its products in bfloat16 (``LMIPreset(precision="bfloat16")``; at the grid's
1000 held-out pairs the latent size is 8 as in ``default``), ``fp32`` in float32 (the default's arithmetic), session 22:

    python benchmarks/bench_lmi_width.py --k 2 3 --d 10 100 1000 --configs bf16 --seeds 0 1 2 --tag s22bf16

The CSV has one row per configuration, cell and seed (``seed``), and ``lmi_width_<tag>_runs.csv`` every estimate.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import machine, timed, write
from bench_gaussian_grid import paper_cells, reference_path

from bioinfo_mi.benchmark import Estimator, gaussian_task, kendall_tau, mse, run_benchmark
from bioinfo_mi.estimators import LMIPreset

#: configuration name -> options of ``lmi`` (the preset; everything else as the default)
CONFIGS: dict[str, dict] = {
    "w64": {"preset": LMIPreset(min_width=64, screen=False)},
    "w64_b128": {"preset": LMIPreset(min_width=64, batch_size=128, screen=False)},
    "w256": {"preset": LMIPreset(min_width=256, screen=False)},
    "w256_b128": {"preset": LMIPreset(min_width=256, batch_size=128, screen=False)},
    "w256_p30": {"preset": LMIPreset(min_width=256, patience=30, screen=False)},
    "w512": {"preset": LMIPreset(min_width=512, screen=False)},
    "max256": {"preset": LMIPreset(max_width=256, screen=False)},
    "w256_screen": {"preset": LMIPreset(min_width=256), "screen": True},
    "default": {"preset": "default"},
    "max256_b256_p5_screen": {"preset": LMIPreset(max_width=256, batch_size=256, patience=5)},
    "bf16": {"preset": LMIPreset(precision="bfloat16")},
    "fp32": {"preset": LMIPreset(precision="float32")},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--d", type=int, nargs="+", default=[10])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS)[:6], choices=list(CONFIGS))
    parser.add_argument("--n-jobs", type=int, default=-1, help="worker processes (the estimates do not depend on it)")
    parser.add_argument("--tag", default="", help="suffix of the CSV name (lmi_width_<tag>.csv)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="random_state per replicate (0: the grid)")
    args = parser.parse_args()
    tasks = [
        gaussian_task(d, k, float(m), n_samples=2000)
        for k in args.k
        for d in args.d
        if k <= d
        for m in np.linspace(0.0, 2.0, 10)
    ]
    paper = paper_cells(reference_path(None))
    paper = paper[paper.estimator == "LMI"][["k", "d", "paper_mse"]]
    rows, every = [], []
    for name, seed in ((name, seed) for name in args.configs for seed in args.seeds):
        runs, seconds = timed(
            run_benchmark,
            tasks,
            [Estimator("LMI", "lmi", CONFIGS[name])],
            random_state=seed,
            n_jobs=args.n_jobs,
        )
        runs = runs.rename(columns={"rank": "k"})
        every.append(runs.assign(config=name, seed=seed))
        for (k, d), g in runs.groupby(["k", "d"]):
            rows.append(
                {
                    "config": name,
                    "seed": seed,
                    "k": int(k),
                    "d": int(d),
                    "mse": mse(g.estimate, g.true_mi),
                    "mean_error": float(np.mean(g.estimate - g.true_mi)),
                    "tau": kendall_tau(g.estimate, g.true_mi),
                    "s_per_fit": g.seconds.median(),
                }
            )
        print(f"{name}, seed {seed}: {seconds:.0f} s", flush=True)
    table = pd.DataFrame(rows).merge(paper, on=["k", "d"], how="left")
    print(f"\nLMI configurations on the Gaussian grid (N=2000, 10 MI values per cell); {machine()}\n")
    print(table.to_markdown(index=False, floatfmt=".4f"))
    name = "lmi_width" + (f"_{args.tag}" if args.tag else "")
    write(pd.concat(every, ignore_index=True), name + "_runs")
    print("wrote", write(table, name))


if __name__ == "__main__":
    main()
