"""Snakemake step: one bm.tl.lmi fit (rule mi_fit) or one bm.tl.interaction_roc split (rule roc_split) into
the cache, or the assembly of everything from the cache into tables and figures (rule report)."""

import sys
from pathlib import Path

import anndata as ad
import pandas as pd
import torch

import bioinfo_mi as bm

sm = snakemake  # noqa: F821 -- injected by Snakemake's script directive
sys.stderr = sys.stdout = open(sm.log[0], "w")  # noqa: SIM115 -- the log lives as long as the job
torch.set_num_threads(sm.threads)

cfg = sm.params.config
cache = Path(sm.params.cache)
pairs = ad.read_h5ad(sm.input[0])
options = cfg["estimator_kwds"] or {}
mi_cfg, roc_cfg = cfg["mi"], cfg["roc"]


def mi_kwargs(method: str) -> dict:
    extra = options if method == "lmi" else {}
    return dict(
        method=method,
        n_pairings=mi_cfg["n_pairings"],
        n_shuffles=mi_cfg["n_shuffles"],
        random_state=mi_cfg["random_state"],
        key_added=method,
        cache_dir=cache / f"mi_{method}",
        progress=False,
        estimator_kwds=extra,
    )


roc_kwargs = dict(
    n_holdout=roc_cfg["n_holdout"],
    n_splits=roc_cfg["n_splits"],
    random_state=roc_cfg["random_state"],
    score=roc_cfg.get("score", "log_odds"),
    candidates=roc_cfg.get("candidates", "all"),
    cache_dir=cache / "roc",
    progress=False,
    estimator_kwds=options,
)

if sm.rule == "mi_fit":
    bm.tl.lmi(pairs, fits=[int(sm.wildcards.fit)], **mi_kwargs(sm.wildcards.method))
elif sm.rule == "roc_split":
    bm.tl.interaction_roc(pairs, fits=[int(sm.wildcards.fit)], **roc_kwargs)
else:
    methods = list(mi_cfg["methods"])
    for method in methods:
        bm.tl.lmi(pairs, **mi_kwargs(method))
    pd.concat([pairs.uns[m]["table"].assign(method=m) for m in methods]).to_csv(sm.output.mi_table, index=False)
    pd.concat([pairs.uns[m]["summary"].assign(method=m) for m in methods]).to_csv(sm.output.mi_summary, index=False)
    bm.tl.interaction_roc(pairs, **roc_kwargs)
    table = pairs.uns["interaction_roc"]["table"]
    table.to_csv(sm.output.roc_table, index=False)
    Path(sm.output.mi_fig).parent.mkdir(parents=True, exist_ok=True)
    bm.pl.lmi(pairs, key=methods, save=sm.output.mi_fig)
    bm.pl.interaction_roc(pairs, save=sm.output.roc_fig)
    print(table.describe())
