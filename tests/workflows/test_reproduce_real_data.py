"""benchmarks/reproduce_real_data.py in its reduced mode, offline, on tiny files in the real formats.

The script runs as a user runs it (``python benchmarks/reproduce_real_data.py ...`` in a subprocess): tests
never import code from ``benchmarks/`` (tests/test_structure.py).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

import bioinfo_mi as bm

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "reproduce_real_data.py"
#: where the script reads the paper's released tables (its ``REFERENCE``), when they are there
REFERENCE = SCRIPT.resolve().parents[2] / "shared" / "reference"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run_script(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=900
    )


def _gz_text(path: Path, text: str) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text)


def _gz_mtx(path: Path, matrix: sp.spmatrix) -> None:
    plain = path.with_suffix("")  # .mtx
    scipy.io.mmwrite(str(plain), sp.coo_matrix(matrix))
    with open(plain, "rb") as src, gzip.open(path, "wb") as dst:
        dst.write(src.read())
    plain.unlink()


def write_larry_in_vitro(folder: Path) -> None:
    """The five published in-vitro files (gzipped, as served), from the lineage simulator."""
    adata = bm.datasets.simulate_lineage(n_clones=90, n_genes=60, random_state=0)
    folder.mkdir(parents=True)
    prefix = "stateFate_inVitro_"
    _gz_mtx(folder / f"{prefix}normed_counts.mtx.gz", sp.csr_matrix(adata.X, dtype=float))
    _gz_mtx(folder / f"{prefix}clone_matrix.mtx.gz", sp.csr_matrix(adata.obsm["X_clone"]))
    _gz_text(folder / f"{prefix}gene_names.txt.gz", "\n".join(adata.var_names) + "\n")
    meta = pd.DataFrame(
        {
            "Library": [f"d{int(t)}_1" for t in adata.obs["time"]],
            "Cell barcode": [f"AAAC-{i:05d}" for i in range(adata.n_obs)],
            "Time point": adata.obs["time"].to_numpy(),
            "Starting population": "Lin-Kit+",
            "Cell type annotation": adata.obs["cell_type"].astype(str).to_numpy(),
            "Well": adata.obs["well"].to_numpy(),
            "SPRING-x": adata.obsm["X_spring"][:, 0],
            "SPRING-y": adata.obsm["X_spring"][:, 1],
        }
    )
    _gz_text(folder / f"{prefix}metadata.txt.gz", meta.to_csv(sep="\t", index=False))
    pt = adata.obs["neutrophil_pseudotime"].to_numpy()
    rows = np.flatnonzero(np.isfinite(pt))
    _gz_text(
        folder / f"{prefix}neutrophil_pseudotime.txt.gz",
        "Cell index\tpseudotime\n" + "".join(f"{i}\t{pt[i]:g}\n" for i in rows),
    )


def write_proteins(folder: Path) -> None:
    """A per-protein h5 (UniProt layout, float16) and saved standard interaction frames."""
    rng = np.random.default_rng(0)
    accessions = [f"P{i:05d}" for i in range(60)]
    emb = rng.normal(size=(60, 12))
    with h5py.File(folder / "prott5_UP000005640_9606_per-protein.h5", "w") as handle:
        for acc, vec in zip(accessions, emb, strict=True):
            handle.create_dataset(acc, data=vec.astype(np.float16))
    for kind, shift in (("ligrec", 0), ("kinase", 7)):
        src = rng.integers(0, 60, size=90)
        tgt = (src + shift + rng.integers(1, 4, size=90)) % 60
        frame = pd.DataFrame(
            {
                "source": [accessions[i] for i in src],
                "target": [accessions[i] for i in tgt],
                "source_genesymbol": [f"G{i}" for i in src],
                "target_genesymbol": [f"G{i}" for i in tgt],
            }
        )
        frame.drop_duplicates(["source", "target"]).to_csv(folder / f"interactions_{kind}.csv", index=False)


def test_reduced_reproduction_runs_offline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_larry_in_vitro(data / "larry")
    write_proteins(data)
    done = _run_script("--reduced", "--offline", "--data-dir", data, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out" / "real_data_reduced.csv")
    quantities = table["quantity"].tolist()
    for q in (
        "I(day 2; day 6)",
        "I(day 6; day 6')",
        "Markov test p-value",
        "pMI onset pseudotime",
        "ROC AUC ligrec",
        "ROC AUC kinase",
    ):
        assert q in quantities
    assert np.isfinite(table.set_index("quantity").loc["I(day 2; day 6)", "ours"])
    # the paper's values come from the released tables where they hold them
    if REFERENCE.is_dir():
        assert table.set_index("quantity").loc["I(day 6; day 6')", "paper"] == pytest.approx(0.98, abs=0.02)
    auc = table.set_index("quantity").loc[["ROC AUC ligrec", "ROC AUC kinase"], "ours"]
    assert ((auc >= 0) & (auc <= 1)).all()
    # the per-gene attribution of both Markov-test comparisons, named by gene, with its top genes in the detail
    genes = pd.read_csv(tmp_path / "out" / "real_data_attribution_reduced.csv")
    assert set(genes.comparison) == {"I(day 2; day 6)", "I(day 6; day 6')"} and set(genes.side) == {"x", "y"}
    assert len(genes) % 4 == 0 and genes.gene.notna().all() and np.isfinite(genes.z).all()
    assert "I(day 6; day 6'): " in table.set_index("quantity").loc["top genes by attribution (first side)", "detail"]


def test_offline_without_files_names_what_is_missing(tmp_path: Path) -> None:
    done = _run_script("--reduced", "--offline", "--data-dir", tmp_path, "--parts", "lineage", cwd=tmp_path)
    assert done.returncode != 0
    assert "FileNotFoundError" in done.stderr and "no LARRY files in" in done.stderr, done.stderr[-3000:]
