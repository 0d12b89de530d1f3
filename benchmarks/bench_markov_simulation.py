"""Markovianity test on simulated lineages at the paper's scale (issue: Scanpy tools for lineage tracing).

For each seed, simulate 1200 clones x 1000 genes with and without the hidden fate
(``bm.datasets.simulate_lineage``), preprocess as in Appendix A.4.2 (``bm.pp.preprocess``) and run
``bm.tl.markov_test``. Acceptance: the hidden-fate simulation is called non-Markovian in >= 9 of 10
seeds, the Markovian one in <= 1 of 10, and shuffled controls average |MI| < 0.03 bits.

    python benchmarks/bench_markov_simulation.py              # 10 seeds (about 40 min on 2 cores)
    python benchmarks/bench_markov_simulation.py --seeds 2
    python benchmarks/bench_markov_simulation.py --resume   # keep finished runs of an interrupted job

Each finished run is appended to ``results/markov_simulation_runs.csv`` at once, so an interrupted
job loses at most the run in progress; ``--resume`` skips the (seed, simulation) runs already there.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, machine, timed, write

import bioinfo_mi as bm


def run(hidden: bool, seed: int, n_clones: int, n_genes: int, n_pairings: int, n_shuffles: int) -> dict:
    adata = bm.datasets.simulate_lineage(n_clones=n_clones, n_genes=n_genes, hidden_fate=hidden, random_state=seed)
    adata = adata[adata.obs["clone"].notna()].copy()
    bm.pp.preprocess(adata, n_top_genes=min(1000, n_genes))
    bm.tl.markov_test(adata, n_pairings=n_pairings, n_shuffles=n_shuffles, random_state=seed, progress=False)
    res = adata.uns["markov_test"]
    table = res["table"]
    real = table[~table.shuffled].groupby("comparison").estimate.mean()
    return {
        "hidden_fate": hidden, "seed": seed, "I_early_late": real["I(early; late)"],
        "I_sisters": real["I(late; late')"], "p_value": res["p_value"], "called_markovian": res["markovian"],
        "p_value_welch": res.get("p_value_welch", np.nan), "difference_se": res.get("difference_se", np.nan),
        "shuffled_mean": table[table.shuffled].estimate.mean(),
        "truth_early_late": adata.uns["simulation"]["I_early_late_bits"],
        "truth_sisters": adata.uns["simulation"]["I_sisters_bits"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-clones", type=int, default=1200)
    parser.add_argument("--n-genes", type=int, default=1000)
    parser.add_argument("--n-pairings", type=int, default=5)
    parser.add_argument("--n-shuffles", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the runs CSV")
    args = parser.parse_args()
    runs_csv = RESULTS / "markov_simulation_runs.csv"
    rows = pd.read_csv(runs_csv).to_dict("records") if args.resume and runs_csv.exists() else []
    finished = {(int(r["seed"]), bool(r["hidden_fate"])) for r in rows}
    for seed in range(args.seeds):
        for hidden in (True, False):
            if (seed, hidden) in finished:
                continue
            row, sec = timed(run, hidden, seed, args.n_clones, args.n_genes, args.n_pairings, args.n_shuffles)
            rows.append({**row, "seconds": sec, "torch_threads": torch.get_num_threads()})
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
            write(pd.DataFrame(rows), "markov_simulation_runs")
    runs = pd.DataFrame(rows)
    runs = runs[runs.seed < args.seeds]
    summary = runs.groupby("hidden_fate").agg(
        n_seeds=("seed", "size"), n_called_markovian=("called_markovian", "sum"),
        I_early_late=("I_early_late", "mean"), I_sisters=("I_sisters", "mean"),
        mean_shuffled=("shuffled_mean", "mean"), mean_abs_shuffled=("shuffled_mean", lambda s: np.abs(s).mean()),
        median_seconds=("seconds", "median"),
    ).reset_index()
    print(f"\nMarkov test on simulate_lineage ({args.n_clones} clones x {args.n_genes} genes); {machine()}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("wrote", write(summary, "markov_simulation"))


if __name__ == "__main__":
    main()
