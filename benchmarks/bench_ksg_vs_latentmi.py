"""KSG: bioinfo_mi against latentmi 0.1.3's KSG (an NPEET adaptation) in the same run, on
continuous 8+8-dimensional data (the latent size LMI uses) at N = 2e3, 1e4, 5e4.

On continuous data the two implementations must agree (mean pMI to 1e-6; only the tie-breaking
jitter differs: latentmi adds 1e-10 absolute noise, we add 1e-10 times each column's spread).

    python benchmarks/bench_ksg_vs_latentmi.py
    python benchmarks/bench_ksg_vs_latentmi.py --ns 2000 10000
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import machine, timed, write

from bioinfo_mi.estimators import ksg_pointwise


def latent_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8+8 dims, 4 dependent pairs (rho 0.8) and 4 independent dims per side."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    y = rng.normal(size=(n, 8))
    y[:, :4] = 0.8 * x[:, :4] + 0.6 * y[:, :4]
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=[2000, 10000, 50000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from latentmi import ksg as latentmi_ksg

    rows = []
    for n in args.ns:
        x, y = latent_like(n, seed=n)
        ours_t, ref_t = [], []
        for rep in range(args.repeats):
            ours, t = timed(ksg_pointwise, x, y, random_state=rep)
            ours_t.append(t)
            np.random.seed(rep)  # noqa: NPY002 - latentmi jitters with the global RNG
            ref, t = timed(latentmi_ksg.mi, x, y)
            ref_t.append(t)
        rows.append(
            {
                "n": n,
                "mi_bioinfo_mi": ours.mean(),
                "mi_latentmi": ref.mean(),
                "abs_diff_mean_pmi": abs(ours.mean() - ref.mean()),
                "max_abs_diff_pmi": float(np.abs(ours - ref).max()),
                "seconds_bioinfo_mi": float(np.median(ours_t)),
                "seconds_latentmi": float(np.median(ref_t)),
            }
        )
        rows[-1]["speedup"] = rows[-1]["seconds_latentmi"] / rows[-1]["seconds_bioinfo_mi"]
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\nKSG (k=3, 8+8 dims) vs latentmi 0.1.3, median of {args.repeats} runs; {machine()}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print("wrote", write(table, "ksg_vs_latentmi"))


if __name__ == "__main__":
    main()
