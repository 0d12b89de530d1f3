"""Wall time of one ``bm.tl.lmi`` call with 20 pairings and 20 shuffles on a 1200-clone x 1000-gene
simulated lineage (target: under 10 minutes on 2 CPU cores).

    python benchmarks/bench_tl_lmi_timing.py
    python benchmarks/bench_tl_lmi_timing.py --n-jobs 1 2
"""

from __future__ import annotations

import argparse

import pandas as pd
from _common import machine, timed, write

import bioinfo_mi as bm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1])
    parser.add_argument("--n-pairings", type=int, default=20)
    parser.add_argument("--n-shuffles", type=int, default=20)
    args = parser.parse_args()
    adata = bm.datasets.simulate_lineage(n_clones=1200, n_genes=1000, random_state=0)
    adata = adata[adata.obs["clone"].notna()].copy()
    bm.pp.preprocess(adata, n_top_genes=1000)
    rows = []
    for n_jobs in args.n_jobs:
        _, sec = timed(
            bm.tl.lmi, adata, n_pairings=args.n_pairings, n_shuffles=args.n_shuffles, n_jobs=n_jobs, progress=False
        )
        summary = adata.uns["lmi"]["summary"].iloc[0]
        rows.append(
            {
                "n_jobs": n_jobs,
                "n_fits": args.n_pairings + args.n_shuffles,
                "seconds": sec,
                "mi_mean": summary.mi_mean,
                "mi_sem": summary.mi_sem,
                "shuffled_mean": summary.shuffled_mean,
                "shuffled_sd": summary.shuffled_sd,
                "p_value": summary.p_value,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\ntl.lmi, 1200 clones x 1000 genes, day 2 vs day 6; {machine()}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("wrote", write(table, "tl_lmi_timing"))


if __name__ == "__main__":
    main()
