"""Protein-interaction benchmark on the simulator (issue: protein interactions; LMI paper, Section 4.1).

For a 1-bit and a 2.5-bit configuration of ``bm.datasets.simulate_interactions`` (4000 pairs,
1024-dimensional embeddings): ``bm.tl.lmi`` on the partners with shuffled controls, latentmi 0.1.3
(the paper's library) on the same pairs in the same run, and ``bm.tl.interaction_roc`` (170
held-out proteins per split) against the per-split oracle AUC (true density ratio) and the cosine
baseline (``auc``: the default ``score="log_odds"``; ``density_ratio_auc``: Algorithm 2 alone).
The fits of each split are cached and reused for the second candidate set. Acceptance: LMI within
0.3 bits of the truth, |shuffle mean| < 0.05 bits, held-out AUC within 0.05 of the oracle and above
the cosine baseline.

    python benchmarks/bench_interactions.py                      # 20 splits (about 30 min on 2 cores)
    python benchmarks/bench_interactions.py --splits 5 --no-latentmi
"""

from __future__ import annotations

import argparse
import tempfile

import pandas as pd
from _common import machine, run_latentmi, timed, write

import bioinfo_mi as bm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mi", type=float, nargs="+", default=[1.0, 2.5])
    parser.add_argument("--n-pairs", type=int, default=4000)
    parser.add_argument("--n-pairings", type=int, default=3)
    parser.add_argument("--n-shuffles", type=int, default=5)
    parser.add_argument("--holdout", type=int, default=170)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--no-latentmi", action="store_true")
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=["all", "bipartite"],
        help="'all': every ordered held-out pair (the paper's 170^2); 'bipartite': sources x targets",
    )
    args = parser.parse_args()
    rows, split_rows = [], []
    for mi_bits in args.mi:
        pairs = bm.datasets.simulate_interactions(n_pairs=args.n_pairs, mi_bits=mi_bits, random_state=0)
        _, sec_lmi = timed(
            bm.tl.lmi,
            pairs,
            n_pairings=args.n_pairings,
            n_shuffles=args.n_shuffles,
            random_state=0,
            n_jobs=args.n_jobs,
            progress=False,
        )
        table = pairs.uns["lmi"]["table"]
        real, shuf = table[~table.shuffled].estimate, table[table.shuffled].estimate
        row = {
            "true_mi": pairs.uns["true_mi_bits"],
            "lmi": real.mean(),
            "lmi_sd": real.std(ddof=1),
            "lmi_error": real.mean() - pairs.uns["true_mi_bits"],
            "shuffle_mean": shuf.mean(),
            "shuffle_sd": shuf.std(ddof=1),
            "lmi_seconds_per_fit": sec_lmi / len(table),
        }
        if not args.no_latentmi:
            est, sec = timed(run_latentmi, pairs.obsm["source"], pairs.obsm["target"], 0)
            row.update(
                latentmi=est,
                latentmi_error=est - pairs.uns["true_mi_bits"],
                latentmi_seconds=sec,
                speedup_vs_latentmi=sec / row["lmi_seconds_per_fit"],
            )
        cache = tempfile.mkdtemp(prefix="bench_interactions_")  # one fit per split serves every candidate set
        for candidates in args.candidates:
            roc, sec_roc = timed(
                bm.tl.interaction_roc,
                pairs,
                n_holdout=args.holdout,
                n_splits=args.splits,
                candidates=candidates,
                random_state=0,
                n_jobs=args.n_jobs,
                progress=False,
                cache_dir=cache,
            )
            holdout = pairs.uns["interaction_roc"]["holdout"]
            roc["oracle_auc"] = [
                bm.datasets.oracle_auc(
                    pairs,
                    holdout.loc[holdout.split == s, "protein_id"].tolist(),
                    candidates=candidates,
                    include_self=True,
                )
                for s in roc.split
            ]
            split_rows.append(roc.assign(mi_bits=mi_bits, candidates=candidates))
            tag = "" if candidates == "all" else f"_{candidates}"
            row.update(
                {
                    f"auc{tag}": roc.auc.mean(),
                    f"auc_sd{tag}": roc.auc.std(ddof=1),
                    f"oracle_auc{tag}": roc.oracle_auc.mean(),
                    f"auc_gap_to_oracle{tag}": roc.oracle_auc.mean() - roc.auc.mean(),
                    f"density_ratio_auc{tag}": roc.auc_density_ratio.mean(),
                    f"density_ratio_gap{tag}": roc.oracle_auc.mean() - roc.auc_density_ratio.mean(),
                    f"cosine_auc{tag}": roc.auc_cosine.mean(),
                    f"roc_seconds_per_split{tag}": sec_roc / args.splits,
                }
            )
        rows.append({"mi_bits": mi_bits, **row})
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    summary = pd.DataFrame(rows)
    print(f"\nsimulate_interactions, {args.n_pairs} pairs, {args.splits} splits of {args.holdout}; {machine()}")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    write(pd.concat(split_rows, ignore_index=True), "interactions_splits")
    print("wrote", write(summary, "interactions"))


if __name__ == "__main__":
    main()
