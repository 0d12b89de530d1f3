"""Snakemake step: load (simulate_lineage or read_larry), keep cells with a clone, preprocess (Appendix A.4.2)."""

import logging
import sys
from pathlib import Path

import bioinfo_mi as bm

sm = snakemake  # noqa: F821 -- injected by Snakemake's script directive
sys.stderr = sys.stdout = open(sm.log[0], "w")  # noqa: SIM115 -- the log lives as long as the job
logging.basicConfig(stream=sys.stdout, level=logging.INFO)

source = sm.params.source
if source == "simulate":
    adata = bm.datasets.simulate_lineage(**sm.params.simulate)
else:
    adata = bm.datasets.read_larry(Path(source))
adata = adata[adata.obs["clone"].notna()].copy()
bm.pp.preprocess(adata, **sm.params.preprocess)
print(adata)
adata.write_h5ad(sm.output[0])
