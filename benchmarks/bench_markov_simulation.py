"""Markovianity test on simulated lineages: power at the paper's scale, calibration at the DPI boundary.

Power (default): for each seed, simulate 1200 clones x 1000 genes with and without the hidden fate
(``bm.datasets.simulate_lineage``), preprocess as in Appendix A.4.2 (``bm.pp.preprocess``) and run
``bm.tl.markov_test``. Acceptance: the hidden-fate simulation is called non-Markovian in >= 9 of 10
seeds, the Markovian one in <= 1 of 10, and shuffled controls average |MI| < 0.03 bits.

Calibration (``--boundary``): the default Markovian simulator lies strictly inside the null
(state MIs 0.340 vs 0.133 bits), where any consistent test gives p near 1. With
``sigma_early = sigma_late`` the two state MIs are equal (0.133 bits each): the boundary of the
null hypothesis I(late; late') <= I(early; late), where a calibrated test's p-values are uniform
over seeds. Reported: the fraction of p below 0.05 / 0.10, a Kolmogorov-Smirnov test of uniformity,
and the mean and variance of z = difference / difference_se (0 and 1 when calibrated), for the
z-test (``p_value``) beside the Welch t-test over pairings (``p_value_welch``) it replaced.

    python benchmarks/bench_markov_simulation.py              # 10 seeds (about 40 min on 2 cores)
    python benchmarks/bench_markov_simulation.py --seeds 2
    python benchmarks/bench_markov_simulation.py --boundary   # 20 seeds, 600 clones x 500 genes (about 20 min)
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
from scipy import stats

import bioinfo_mi as bm


def run(
    hidden: bool, seed: int, n_clones: int, n_genes: int, n_pairings: int, n_shuffles: int, sigma_early: float
) -> dict:
    adata = bm.datasets.simulate_lineage(
        n_clones=n_clones, n_genes=n_genes, hidden_fate=hidden, sigma_early=sigma_early, random_state=seed
    )
    adata = adata[adata.obs["clone"].notna()].copy()
    bm.pp.preprocess(adata, n_top_genes=min(1000, n_genes))
    bm.tl.markov_test(adata, n_pairings=n_pairings, n_shuffles=n_shuffles, random_state=seed, progress=False)
    res = adata.uns["markov_test"]
    table = res["table"]
    real = table[~table.shuffled].groupby("comparison").estimate.mean()
    summary = res["summary"][~res["summary"].shuffled].set_index("comparison")
    parts = {
        f"{name}_{tag}": float(summary.loc[comparison, column])
        for comparison, tag in [("I(early; late)", "el"), ("I(late; late')", "sis")]
        for name, column in [("sem", "mi_sem"), ("within", "within_fit_se")]
    }
    return {
        "hidden_fate": hidden,
        "seed": seed,
        "I_early_late": real["I(early; late)"],
        "I_sisters": real["I(late; late')"],
        "p_value": res["p_value"],
        "called_markovian": res["markovian"],
        "p_value_welch": res.get("p_value_welch", np.nan),
        "difference_se": res.get("difference_se", np.nan),
        "difference_dof": res.get("difference_dof", np.nan),
        **parts,
        "shuffled_mean": table[table.shuffled].estimate.mean(),
        "truth_early_late": adata.uns["simulation"]["I_early_late_bits"],
        "truth_sisters": adata.uns["simulation"]["I_sisters_bits"],
    }


def t_test_from_parts(runs: pd.DataFrame, n_pairings: int) -> tuple[np.ndarray, np.ndarray]:
    """The tool's t test (``tl.markov_test``: Welch-Satterthwaite degrees of freedom of the SE) from the
    SE parts stored per run, so that runs stored by an earlier version are scored by today's test.
    """
    diff = (runs.I_sisters - runs.I_early_late).to_numpy(float)
    se = runs.difference_se.to_numpy(float)
    denom = (runs.sem_el.to_numpy(float) ** 4 + runs.sem_sis.to_numpy(float) ** 4) / (n_pairings - 1)
    dof = np.where(denom > 0, se**4 / np.where(denom > 0, denom, 1), np.inf)
    return stats.t.sf(diff / se, dof), dof


def calibration(runs: pd.DataFrame, n_pairings: int) -> pd.DataFrame:
    """Uniformity of the p-values and moments of the z-scores over seeds (boundary simulation)."""
    z = (runs.I_sisters - runs.I_early_late) / runs.difference_se
    p_t, dof = t_test_from_parts(runs, n_pairings)
    tests = [
        ("t test (p_value)", p_t),
        ("z-test, same SE", stats.norm.sf(z.to_numpy(float))),
        ("Welch over pairings (p_value_welch)", runs["p_value_welch"].to_numpy(float)),
    ]
    rows = []
    for test, p in tests:
        rows.append(
            {
                "test": test,
                "n_seeds": len(p),
                "frac_p_below_0.05": float(np.mean(p < 0.05)),
                "frac_p_below_0.10": float(np.mean(p < 0.10)),
                "median_p": float(np.median(p)),
                "ks_uniform_p": float(stats.kstest(p, "uniform").pvalue),
                "z_mean": float(z.mean()) if test != tests[-1][0] else np.nan,
                "z_var": float(z.var(ddof=1)) if test != tests[-1][0] else np.nan,
                "median_dof": float(np.median(dof)) if test == tests[0][0] else np.nan,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 10; --boundary 20)")
    parser.add_argument("--n-clones", type=int, default=None, help="clones (default 1200; --boundary 600)")
    parser.add_argument("--n-genes", type=int, default=None, help="genes (default 1000; --boundary 500)")
    parser.add_argument("--n-pairings", type=int, default=5)
    parser.add_argument("--n-shuffles", type=int, default=2)
    parser.add_argument(
        "--boundary",
        action="store_true",
        help="calibration: Markovian simulator with sigma_early = sigma_late (equal state MIs)",
    )
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the runs CSV")
    args = parser.parse_args()
    seeds = args.seeds or (20 if args.boundary else 10)
    n_clones = args.n_clones or (600 if args.boundary else 1200)
    n_genes = args.n_genes or (500 if args.boundary else 1000)
    name = "markov_boundary" if args.boundary else "markov_simulation"
    simulations = (False,) if args.boundary else (True, False)
    sigma_early = 1.2 if args.boundary else 0.3
    runs_csv = RESULTS / f"{name}_runs.csv"
    rows = pd.read_csv(runs_csv).to_dict("records") if args.resume and runs_csv.exists() else []
    finished = {(int(r["seed"]), bool(r["hidden_fate"])) for r in rows}
    for seed in range(seeds):
        for hidden in simulations:
            if (seed, hidden) in finished:
                continue
            row, sec = timed(run, hidden, seed, n_clones, n_genes, args.n_pairings, args.n_shuffles, sigma_early)
            rows.append({**row, "seconds": sec, "torch_threads": torch.get_num_threads()})
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
            write(pd.DataFrame(rows), f"{name}_runs")
    runs = pd.DataFrame(rows)
    runs = runs[runs.seed < seeds]
    print(
        f"\nMarkov test on simulate_lineage ({n_clones} clones x {n_genes} genes, sigma_early {sigma_early}); "
        f"{machine()}"
    )
    if args.boundary:
        summary = calibration(runs, args.n_pairings)
    else:
        summary = (
            runs.groupby("hidden_fate")
            .agg(
                n_seeds=("seed", "size"),
                n_called_markovian=("called_markovian", "sum"),
                I_early_late=("I_early_late", "mean"),
                I_sisters=("I_sisters", "mean"),
                mean_shuffled=("shuffled_mean", "mean"),
                mean_abs_shuffled=("shuffled_mean", lambda s: np.abs(s).mean()),
                max_p=("p_value", "max"),
                min_p=("p_value", "min"),
                median_seconds=("seconds", "median"),
            )
            .reset_index()
        )
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("wrote", write(summary, name))


if __name__ == "__main__":
    main()
