"""The Snakemake lineage workflow runs end to end at a tiny size, one job per fit, and its table equals
a single bm.tl.markov_test call with the same configuration (attribution table included)."""

import json
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SNAKEFILE = Path(__file__).resolve().parents[2] / "workflows" / "lineage" / "Snakefile"

TINY = """
simulate: {n_clones: 150, n_genes: 80, n_informative: 40, hidden_fate: true, random_state: 1}
preprocess: {n_top_genes: 60}
markov_test: {early: null, late: null, wells: null, n_pairings: 2, n_shuffles: 1, min_clones: 20, random_state: 0,
              attribution: true}
pmi: {n_pairings: 1, min_clones: 20, random_state: 0, pseudotime_key: neutrophil_pseudotime,
      min_pseudotime: null, window: 20, embedding: X_spring}
estimator: {method: lmi, options: {epochs: 3}}
"""


def test_lineage_workflow_end_to_end(tmp_path):
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
    fits = sorted(p.name for p in (out / "fits" / "markov_test").iterdir())
    assert fits == [f"{i}.done" for i in range(6)]  # one job per fit: 2 comparisons x (2 real + 1 shuffled)
    for name in ("markov_test.png", "pmi_trend.png", "pmi_embedding.png", "attribution.png"):
        assert (out / "figures" / name).stat().st_size > 1000
    table = pd.read_csv(out / "markov_test_table.csv")
    result = json.loads((out / "markov_test.json").read_text())
    assert set(result) >= {"markovian", "p_value", "verdict", "summary", "params"}

    # the same analysis in one process gives the same numbers
    adata = ad.read_h5ad(out / "prepared.h5ad")
    bm.tl.markov_test(
        adata,
        n_pairings=2,
        n_shuffles=1,
        min_clones=20,
        random_state=0,
        method="lmi",
        estimator_kwds={"epochs": 3},
        attribution=True,
        progress=False,
    )
    direct = adata.uns["markov_test"]
    np.testing.assert_allclose(table["estimate"].to_numpy(), direct["table"]["estimate"].to_numpy(), rtol=1e-12)
    attribution = pd.read_csv(out / "attribution.csv")
    assert list(attribution.columns) == [
        "comparison",
        "gene",
        "side",
        "condition",
        "score",
        "score_sd",
        "kept_fraction",
        "null_mean",
        "null_sd",
        "z",
        "p_value",
        "rank",
    ]
    assert set(attribution["comparison"]) == {"I(early; late)", "I(late; late')"}
    assert len(attribution) == 4 * adata.n_vars  # 2 comparisons x 2 sides x genes
    assert attribution.groupby(["comparison", "side"]).size().eq(adata.n_vars).all()
    assert list(attribution["gene"]) == direct["attribution"]["gene"].astype(str).tolist()
    np.testing.assert_allclose(
        attribution["score"].to_numpy(), direct["attribution"]["score"].to_numpy(dtype=float), rtol=1e-12
    )
    assert result["p_value"] == direct["p_value"] and result["markovian"] == direct["markovian"]
    pmi = pd.read_csv(out / "pmi.csv", index_col="cell")
    assert pmi["pmi"].notna().sum() > 0 and (pmi.loc[pmi["time"] == 6.0, "pmi"].isna()).all()
