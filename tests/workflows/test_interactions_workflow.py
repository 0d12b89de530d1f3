"""The Snakemake interaction workflow runs end to end at a tiny size (one job per fit and per split),
and its tables equal single bm.tl calls with the same configuration."""

import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SNAKEFILE = Path(__file__).resolve().parents[2] / "workflows" / "interactions" / "Snakefile"

TINY = """
simulate: {n_pairs: 500, mi_bits: 1.0, n_proteins: 200, d: 32, random_state: 0}
mi: {methods: [lmi, ksg], n_pairings: 1, n_shuffles: 1, random_state: 0}
roc: {n_holdout: 30, n_splits: 2, random_state: 0}
estimator_kwds: {epochs: 5}
"""


def test_interactions_workflow_end_to_end(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(SNAKEFILE),
        "--cores",
        "2",
        "--directory",
        str(tmp_path),
        "--configfile",
        str(config),
        "--quiet",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "results"
    assert sorted(p.name for p in (out / "fits" / "roc").iterdir()) == ["0.done", "1.done"]
    assert sorted(p.name for p in (out / "fits").iterdir()) == ["mi_ksg", "mi_lmi", "roc"]
    for name in ("mi.png", "roc.png"):
        assert (out / "figures" / name).stat().st_size > 1000
    mi_table = pd.read_csv(out / "mi_table.csv")
    assert set(mi_table.method) == {"lmi", "ksg"} and len(mi_table) == 4
    roc = pd.read_csv(out / "roc_table.csv")

    pairs = ad.read_h5ad(out / "pairs.h5ad")
    bm.tl.interaction_roc(pairs, n_holdout=30, n_splits=2, random_state=0, estimator_kwds={"epochs": 5}, progress=False)
    direct = pairs.uns["interaction_roc"]["table"]
    np.testing.assert_allclose(roc["auc"], direct["auc"], rtol=1e-12)
    bm.tl.lmi(pairs, n_pairings=1, n_shuffles=1, random_state=0, estimator_kwds={"epochs": 5}, progress=False)
    lmi_rows = mi_table[mi_table.method == "lmi"]
    np.testing.assert_allclose(lmi_rows["estimate"], pairs.uns["lmi"]["table"]["estimate"], rtol=1e-12)
