"""Snakemake step: simulate interaction pairs, or read ProtT5 embeddings and interactions and pair them
(LMI paper, Appendix A.4.1)."""

import sys

import bioinfo_mi as bm

sm = snakemake  # noqa: F821 -- injected by Snakemake's script directive
sys.stderr = sys.stdout = open(sm.log[0], "w")  # noqa: SIM115 -- the log lives as long as the job
cfg = sm.params.config

if cfg["source"] == "simulate":
    pairs = bm.datasets.simulate_interactions(**cfg["simulate"])
else:
    embeddings = bm.datasets.read_prott5_h5(cfg["embeddings"], fasta=cfg["fasta"], max_length=cfg["max_length"])
    source = cfg["interactions"]
    interactions = (
        bm.datasets.load_interactions(source)
        if source in ("ligrec", "kinase")
        else bm.datasets.read_interactions(source)
    )
    pairs = bm.pp.pair_interactions(embeddings, interactions)
print(pairs)
pairs.write_h5ad(sm.output[0])
