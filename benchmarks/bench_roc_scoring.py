"""Scoring cost of held-out interaction prediction (LMI paper, Algorithm 2 on every ordered held-out pair).

``bm.tl.interaction_roc`` scores ``n_holdout**2`` candidate pairs with the k-NN log density ratio
against the training latents (8 + 8 dimensions). This script times that step alone, for the
paper's 170 held-out proteins (28 900 candidates) and for 1000 (10^6 candidates), and reports the
peak memory the scoring added (the candidates are scored in chunks of ``chunk_size``).

    python benchmarks/bench_roc_scoring.py
"""

from __future__ import annotations

import argparse
import resource

import numpy as np
import pandas as pd
from _common import machine, peak_rss, write

from bioinfo_mi.estimators import density_ratio_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-ref", type=int, default=3500, help="training pairs (reference latents)")
    parser.add_argument("--holdout", type=int, nargs="+", default=[170, 1000])
    parser.add_argument("--chunk-size", type=int, default=2**24)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    zx_ref, zy_ref = rng.normal(size=(args.n_ref, 8)), rng.normal(size=(args.n_ref, 8))
    rows = []
    for n in args.holdout:
        zx, zy = rng.normal(size=(n, 8)), rng.normal(size=(n, 8))
        scores, sec, peak, start = peak_rss(
            density_ratio_grid, zx, zy, zx_ref, zy_ref, k=3, random_state=0, max_elements=args.chunk_size
        )
        mib = (peak - start) / 2**20
        assert np.isfinite(scores).all()
        rows.append(
            {
                "n_holdout": n,
                "candidates": n * n,
                "n_ref": args.n_ref,
                "seconds": sec,
                "peak_extra_mib": mib,
                "scores_mib": scores.nbytes / 2**20,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(
        f"\nheld-out scoring, max_elements={args.chunk_size}; {machine()}; "
        f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("wrote", write(table, "roc_scoring"))


if __name__ == "__main__":
    main()
