"""Snakemake step: one fit of bm.tl.markov_test / bm.tl.pmi into the cache (rule fit), or the assembly of
all cached fits into tables and figures (rule report). The bm.tl calls are the same in both, so the
report equals a single-process run with the same configuration."""

import json
import sys
from pathlib import Path

import anndata as ad
import matplotlib.pyplot as plt
import torch

import bioinfo_mi as bm

sm = snakemake  # noqa: F821 -- injected by Snakemake's script directive
sys.stderr = sys.stdout = open(sm.log[0], "w")  # noqa: SIM115 -- the log lives as long as the job
torch.set_num_threads(sm.threads)

cfg = sm.params.config
cache = Path(sm.params.cache)
adata = ad.read_h5ad(sm.input[0])
estimator = {"method": cfg["estimator"]["method"], "estimator_kwds": cfg["estimator"]["options"] or {}}
mt, pm = cfg["markov_test"], cfg["pmi"]
ATTRIBUTION_TOP = 20  # genes per panel of figures/attribution.png
times = sorted(adata.obs["time"].dropna().unique())
early = times[0] if mt["early"] is None else mt["early"]
late = times[-1] if mt["late"] is None else mt["late"]
markov_kwargs = dict(
    early=early,
    late=late,
    wells=mt["wells"],
    n_pairings=mt["n_pairings"],
    n_shuffles=mt["n_shuffles"],
    min_clones=mt["min_clones"],
    random_state=mt["random_state"],
    attribution=mt.get("attribution", False),  # part of each fit's cache key: fits and report agree
    cache_dir=cache / "markov_test",
    progress=False,
    **estimator,
)
pmi_kwargs = dict(
    condition_key="time",
    conditions=(early, late),
    n_pairings=pm["n_pairings"],
    min_clones=pm["min_clones"],
    random_state=pm["random_state"],
    cache_dir=cache / "pmi",
    progress=False,
    **estimator,
)

if sm.rule == "fit":
    tool = {"markov_test": bm.tl.markov_test, "pmi": bm.tl.pmi}[sm.wildcards.tool]
    kwargs = markov_kwargs if sm.wildcards.tool == "markov_test" else pmi_kwargs
    tool(adata, fits=[int(sm.wildcards.fit)], **kwargs)
    print(f"fit {sm.wildcards.tool} #{sm.wildcards.fit} done")
else:
    bm.tl.markov_test(adata, **markov_kwargs)
    bm.tl.pmi(adata, **pmi_kwargs)
    res = adata.uns["markov_test"]
    res["table"].to_csv(sm.output.table, index=False)
    with open(sm.output.summary, "w") as f:
        summary = json.loads(res["summary"].to_json(orient="records"))  # NaN -> null
        json.dump(
            {
                "markovian": bool(res["markovian"]),
                "p_value": float(res["p_value"]),
                "verdict": res["verdict"],
                "summary": summary,
                "params": res["params"],
            },
            f,
            indent=2,
            default=str,
        )
    columns = [c for c in ("clone", "time", "well", pm["pseudotime_key"], "pmi", "pmi_n") if c in adata.obs]
    adata.obs[columns].to_csv(sm.output.pmi, index_label="cell")
    Path(sm.output.markov_fig).parent.mkdir(parents=True, exist_ok=True)
    bm.pl.markov_test(adata, save=sm.output.markov_fig)
    bm.pl.pmi_trend(
        adata,
        pseudotime_key=pm["pseudotime_key"],
        window=pm["window"],
        min_pseudotime=pm["min_pseudotime"],
        save=sm.output.trend_fig,
    )
    bm.pl.pmi_embedding(adata, basis=pm["embedding"], save=sm.output.embedding_fig)
    if "attribution" in res:
        res["attribution"].to_csv(sm.output.attribution, index=False)
        # top genes of each comparison: the early cells' (side x) of I(early; late), the second well's (side y) of
        # I(late; late')
        panels = [("I(early; late)", "x"), ("I(late; late')", "y")]
        n_top = min(ATTRIBUTION_TOP, adata.n_vars)
        fig, axes = plt.subplots(len(panels), 1, figsize=(5.0, len(panels) * (0.25 * n_top + 1.2)))
        for i, (ax, (comparison, side)) in enumerate(zip(axes, panels, strict=True)):
            save = sm.output.attribution_fig if i == len(panels) - 1 else None
            bm.pl.attribution(adata, key="markov_test", comparison=comparison, side=side, n_top=n_top, ax=ax, save=save)
        plt.close(fig)
    adata.write_h5ad(sm.output.h5ad)
    print(res["verdict"])
