"""``tl.lmi`` on genes and on a PCA representation of the same cells (lineage simulator, issue 11).

Data: ``bm.datasets.simulate_lineage`` (hidden fate, state-level truth I(day 2; day 6) = 0.34 bits),
``bm.pp.preprocess`` (Appendix A.4.2), ``sc.pp.pca(n_comps=50)``. ``tl.lmi`` (LMI, default preset)
with 5 pairings and 3 shuffles on: ``.X`` (genes standardised one by one and, by default since session 13,
screened on each fit's training half, issue 30; also with ``screen=False``, every gene, the default before),
``obsm["X_pca"]`` as
``tl.lmi`` treats it by default (``normalization="global-corrected"``: one scale for the whole
representation) and ``obsm["X_pca"]`` with every PC standardised (``normalization="local"``, what
``tl.lmi`` did before). Also plain KSG on ``X_pca`` for reference. The same three on an scVI-like
latent (``obsm["X_scvi_like"]``: posterior means of the 10-dimensional negative-binomial VAE of
``bioinfo_mi.benchmark.scvi_like_latent``, trained on the counts before preprocessing, as scVI is; scvi-tools itself is
not a dependency).

    python benchmarks/bench_tl_representations.py               # 1200 clones (about 5 min on 2 cores)
    python benchmarks/bench_tl_representations.py --clones 500  # quick
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import scanpy as sc
from _common import machine, write

import bioinfo_mi as bm

RUNS = [
    (".X (genes)", None, "lmi", {}),
    (".X (genes), screen=False", None, "lmi", {"screen": False}),
    ("X_pca, default (global-corrected)", "X_pca", "lmi", {}),
    ("X_pca, per-PC standardised (local)", "X_pca", "lmi", {"normalization": "local"}),
    ("X_pca, KSG", "X_pca", "ksg", {}),
    ("X_scvi_like, default (global-corrected)", "X_scvi_like", "lmi", {}),
    ("X_scvi_like, per-axis standardised (local)", "X_scvi_like", "lmi", {"normalization": "local"}),
    ("X_scvi_like, KSG", "X_scvi_like", "ksg", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clones", type=int, default=1200)
    parser.add_argument("--pairings", type=int, default=5)
    parser.add_argument("--shuffles", type=int, default=3)
    args = parser.parse_args()
    adata = bm.datasets.simulate_lineage(n_clones=args.clones, hidden_fate=True, random_state=0)
    truth = adata.uns["simulation"]["I_early_late_bits"]
    start = time.perf_counter()
    adata.obsm["X_scvi_like"] = bm.benchmark.scvi_like_latent(adata.X, latent_dim=10, random_state=0)
    print(
        f"scVI-like VAE: {time.perf_counter() - start:.0f} s; SD per axis",
        np.round(adata.obsm["X_scvi_like"].std(axis=0), 3),
    )
    bm.pp.preprocess(adata, n_top_genes=min(1000, adata.n_vars))
    sc.pp.pca(adata, n_comps=50)
    rows, summary = [], []
    for label, rep, method, opts in RUNS:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bm.tl.lmi(
                adata,
                use_rep=rep,
                method=method,
                n_pairings=args.pairings,
                n_shuffles=args.shuffles,
                progress=False,
                key_added="run",
                random_state=0,
                estimator_kwds=opts,
            )
        t = adata.uns["run"]["table"].assign(features=label)
        rows.append(t)
        real, shuf = t[~t.shuffled].estimate, t[t.shuffled].estimate
        summary.append(
            {
                "features": label,
                "mi_mean": real.mean(),
                "mi_sd": real.std(),
                "shuffled_mean": shuf.mean(),
                "shuffled_sd": shuf.std(),
                "seconds": time.perf_counter() - start,
            }
        )
    summary = pd.DataFrame(summary)
    genes = summary.mi_mean.iloc[0]
    summary["minus_genes"] = summary.mi_mean - genes
    write(pd.concat(rows, ignore_index=True), "tl_representations_runs")
    write(summary, "tl_representations")
    print(f"lineage simulator, {args.clones} clones, truth {truth:.3f} bits; {machine()}\n")
    print(summary.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
