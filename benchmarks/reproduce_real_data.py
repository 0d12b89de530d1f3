"""One command for the LMI paper's real-data results (Sections 4.1 and 4.2), beside the paper's numbers.

Lineage (Section 4.2, LARRY in vitro, Weinreb et al. 2020; preprocessing of Appendix A.4.2):
I(day 2; day 6) and I(day 6; sister day 6') with shuffled controls (``tl.lmi``), the Markov
verdict (``tl.markov_test``) and pMI along the neutrophil pseudotime (``tl.pmi``; cells with
pseudotime >= 1e4, rolling mean over 100 cells; the paper sees it rise around 35e3).
Proteins (Section 4.1, Appendix A.4.1): UniProt's ProtT5 embeddings of the human proteome,
OmniPath ligand-receptor and kinase-substrate pairs: I(ligand; receptor) and I(kinase; substrate)
with shuffles (``tl.lmi``) and the held-out ROC AUC over 20 splits of 170 proteins
(``tl.interaction_roc``). The paper's values come from ``../shared/reference/`` (its released
result tables) and its text.

Data (``--data-dir``, default ``~/.cache/bioinfo_mi/real_data``):
    larry/                                   the in-vitro LARRY files (bm.datasets.download_larry)
    prott5_UP000005640_9606_per-protein.h5   human ProtT5 embeddings (bm.datasets.download_prott5)
    interactions_ligrec.csv, interactions_kinase.csv
                                             the standard interaction frames (bm.datasets.load_interactions,
                                             saved on the first online run; read with read_interactions)
What is missing is downloaded, unless ``--offline``: then missing ligand-receptor pairs come from
the resource the ``liana`` package ships (``load_interactions(source="liana")``) and anything else
missing stops the run with the file it needs.

    python benchmarks/reproduce_real_data.py                        # paper settings (hours on 2 cores)
    python benchmarks/reproduce_real_data.py --data-dir /data/lmi --offline
    python benchmarks/reproduce_real_data.py --reduced --data-dir D --offline   # smoke run (CI, tiny files)

Writes ``real_data.csv`` (one row per quantity: ours, the paper's, the ratio) under ``--out``
(default benchmarks/results) and prints the table; with the lineage part also
``real_data_attribution.csv``, the per-gene attribution of I(day 2; day 6) and I(day 6; day 6')
(``tl.lmi(attribution=True)``; the top genes of each are in the table's last lineage row).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import bioinfo_mi as bm

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
H5_NAME = "prott5_UP000005640_9606_per-protein.h5"
#: the paper's figures that are not in its released tables (text of Sections 4.1-4.2)
PAPER_TEXT = {"I(day 2; day 6)": 0.31, "pMI onset pseudotime": 35e3, "ROC AUC ligrec": 0.87, "ROC AUC kinase": 0.74}


def paper_values() -> dict[str, float]:
    """The paper's numbers: from its released tables where they hold them, else from its text."""
    values = dict(PAPER_TEXT)
    markov = REFERENCE / "H_markov_test.csv"
    if markov.is_file():
        table = pd.read_csv(markov)
        real = table[(table["Shuffled?"] == "Real") & (table["Timepoints"] == "6-6")]
        values["I(day 6; day 6')"] = float(real["LMI"].mean())
    for kind, name in (("ligrec", "OP_LR_shuffle_test.csv"), ("kinase", "OP_kinase_shuffle.csv")):
        path = REFERENCE / name
        if path.is_file():
            table = pd.read_csv(path)
            lmi = table[table["Estimator"] == "LMI"]
            values[f"I({kind}) LMI"] = float(lmi.loc[~lmi["Shuffled"].astype(bool), "Estimate"].mean())
            values[f"I({kind}) LMI shuffled"] = float(lmi.loc[lmi["Shuffled"].astype(bool), "Estimate"].mean())
    return values


def settings(reduced: bool) -> dict[str, Any]:
    if reduced:  # a smoke run: every step on tiny files, KSG instead of trained networks
        return dict(
            n_top_genes=40,
            n_pairings=2,
            n_shuffles=2,
            min_clones=10,
            method="ksg",
            n_splits=2,
            n_holdout=20,
            window=10,
            min_pseudotime=0.0,
            roc_kwds={"epochs": 5},
        )
    return dict(
        n_top_genes=1000,
        n_pairings=20,
        n_shuffles=5,
        min_clones=50,
        method="lmi",
        n_splits=20,
        n_holdout=170,
        window=100,
        min_pseudotime=1e4,
        roc_kwds={},
    )


def larry_folder(data_dir: Path, offline: bool) -> Path:
    folder = data_dir / "larry"
    if (
        not (folder / "stateFate_inVitro_metadata.txt.gz").exists()
        and not (folder / "stateFate_inVitro_metadata.txt").exists()
    ):
        if offline:
            raise FileNotFoundError(
                f"--offline: no LARRY files in {folder}; put the in-vitro files there "
                "(bm.datasets.larry_files('in_vitro')) or run once without --offline"
            )
        bm.datasets.download_larry(folder, progress=True)
    return folder


def interactions(data_dir: Path, kind: str, offline: bool) -> pd.DataFrame:
    saved = data_dir / f"interactions_{kind}.csv"
    if saved.is_file():
        return bm.datasets.read_interactions(saved)
    if offline:
        if kind == "ligrec":
            return bm.datasets.load_interactions("ligrec", source="liana")
        raise FileNotFoundError(
            f"--offline: no {saved}; kinase-substrate pairs come from OmniPath only "
            "(run once online, which saves them there)"
        )
    frame = bm.datasets.load_interactions(kind)
    frame.to_csv(saved, index=False)
    return frame


def pmi_onset(obs: pd.DataFrame, window: int, min_pseudotime: float) -> tuple[float, float, float]:
    """Pseudotime where the rolling mean of pMI (over ``window`` cells ordered by pseudotime) rises
    fastest, and the mean pMI before and after 35e3 (the paper's mark)."""
    cells = obs.loc[
        obs["pmi"].notna() & (obs["neutrophil_pseudotime"] >= min_pseudotime), ["neutrophil_pseudotime", "pmi"]
    ].sort_values("neutrophil_pseudotime")
    if len(cells) < 2 * window:
        return float("nan"), float("nan"), float("nan")
    smooth = cells["pmi"].rolling(window, center=True).mean().to_numpy()
    rise = smooth[window:] - smooth[:-window]
    at = int(np.nanargmax(rise)) + window // 2
    mark = cells["neutrophil_pseudotime"] < PAPER_TEXT["pMI onset pseudotime"]
    return (
        float(cells["neutrophil_pseudotime"].iloc[at]),
        float(cells.loc[mark, "pmi"].mean()),
        float(cells.loc[~mark, "pmi"].mean()),
    )


def lineage(
    data_dir: Path, cfg: dict[str, Any], offline: bool, seed: int, genes: list[pd.DataFrame] | None = None
) -> list[dict[str, Any]]:
    adata = bm.datasets.read_larry(larry_folder(data_dir, offline), uppercase_genes=True)
    # read_larry keeps only cells with a clone (as the paper did); Appendix A.4.2 preprocessing
    bm.pp.preprocess(adata, n_top_genes=min(cfg["n_top_genes"], adata.n_vars))
    common = dict(
        method=cfg["method"],
        n_pairings=cfg["n_pairings"],
        min_clones=cfg["min_clones"],
        random_state=seed,
        progress=True,
    )
    rows = []
    comparisons = {
        "d2_d6": dict(condition_key="time", conditions=(2, 6)),
        "d6_d6": dict(condition_key="well", conditions=(1, 2), restrict={"time": 6}),
    }
    # per-gene attribution (no anchor: the paper reads its decoders on MNIST only); it reads LMI's
    # trained decoders, so a KSG smoke run adds small LMI fits for it
    lmi_run = cfg["method"] == "lmi"
    for key, where in comparisons.items():
        bm.tl.lmi(adata, n_shuffles=cfg["n_shuffles"], key_added=key, attribution=lmi_run, **where, **common)
        if not lmi_run:
            bm.tl.lmi(
                adata,
                n_shuffles=cfg["n_shuffles"],
                key_added=f"{key}_attribution",
                attribution=True,
                error_bars=False,
                **where,
                **{**common, "method": "lmi", "estimator_kwds": cfg["roc_kwds"]},
            )
    top = []
    for key, name in (("d2_d6", "I(day 2; day 6)"), ("d6_d6", "I(day 6; day 6')")):
        table = adata.uns[key if lmi_run else f"{key}_attribution"]["attribution"]
        if genes is not None:
            genes.append(table.assign(comparison=name)[["comparison", *table.columns]])
        top.append(f"{name}: " + ", ".join(table[table.side == "x"].nsmallest(5, "rank").gene))
    for key, name in (("d2_d6", "I(day 2; day 6)"), ("d6_d6", "I(day 6; day 6')")):
        s = adata.uns[key]["summary"].iloc[0]
        rows.append(
            {
                "quantity": name,
                "ours": s.mi_mean,
                "ours_se": s.mi_se,
                "shuffles": s.shuffled_mean,
                "detail": f"{int(s.n_pairings)} pairings, p = {s.p_value:.3g}",
            }
        )
    bm.tl.markov_test(adata, n_shuffles=cfg["n_shuffles"], **common)
    res = adata.uns["markov_test"]
    rows.append(
        {
            "quantity": "Markov test p-value",
            "ours": res["p_value"],
            "paper": np.nan,
            "detail": "Markovian" if res["markovian"] else "not Markovian (paper: not Markovian)",
        }
    )
    rows.append({"quantity": "top genes by attribution (first side)", "detail": "; ".join(top)})
    bm.tl.pmi(adata, condition_key="time", conditions=(2, 6), **common)
    onset, before, after = pmi_onset(adata.obs, cfg["window"], cfg["min_pseudotime"])
    rows.append(
        {
            "quantity": "pMI onset pseudotime",
            "ours": onset,
            "detail": f"mean pMI below / above 35e3: {before:.3f} / {after:.3f}",
        }
    )
    return rows


def proteins(data_dir: Path, cfg: dict[str, Any], offline: bool, seed: int) -> list[dict[str, Any]]:
    h5 = data_dir / H5_NAME
    if not h5.is_file():
        if offline:
            raise FileNotFoundError(f"--offline: no {h5}; download it with bm.datasets.download_prott5")
        h5 = bm.datasets.download_prott5(data_dir, progress=True)
    embeddings = bm.datasets.read_prott5_h5(h5)
    rows = []
    for kind in ("ligrec", "kinase"):
        pairs = bm.pp.pair_interactions(embeddings, interactions(data_dir, kind, offline))
        label = "LMI" if cfg["method"] == "lmi" else cfg["method"]
        bm.tl.lmi(
            pairs,
            method=cfg["method"],
            n_pairings=min(cfg["n_pairings"], 3),
            n_shuffles=cfg["n_shuffles"],
            random_state=seed,
            progress=True,
        )
        s = pairs.uns["lmi"]["summary"].iloc[0]
        rows.append(
            {
                "quantity": f"I({kind}) {label}",
                "ours": s.mi_mean,
                "ours_se": s.mi_se,
                "shuffles": s.shuffled_mean,
                "detail": f"{pairs.n_obs} pairs",
            }
        )
        rows.append({"quantity": f"I({kind}) {label} shuffled", "ours": s.shuffled_mean})
        # the density-ratio score needs LMI's latents whatever method measured the MI
        bm.tl.interaction_roc(
            pairs,
            n_holdout=cfg["n_holdout"],
            n_splits=cfg["n_splits"],
            random_state=seed,
            progress=True,
            estimator_kwds=cfg["roc_kwds"],
        )
        table = pairs.uns["interaction_roc"]["table"]
        rows.append(
            {
                "quantity": f"ROC AUC {kind}",
                "ours": float(table["auc"].mean()),
                "ours_se": float(table["auc"].std(ddof=1) / np.sqrt(len(table))),
                "detail": f"{len(table)} splits of {cfg['n_holdout']} held-out proteins",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "bioinfo_mi" / "real_data")
    parser.add_argument("--offline", action="store_true", help="never download; use what --data-dir holds")
    parser.add_argument("--reduced", action="store_true", help="tiny settings (smoke run on small files)")
    parser.add_argument("--parts", nargs="+", default=["lineage", "proteins"], choices=["lineage", "proteins"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    cfg = settings(args.reduced)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    genes: list[pd.DataFrame] = []
    if "lineage" in args.parts:
        rows += lineage(args.data_dir, cfg, args.offline, args.seed, genes)
    if "proteins" in args.parts:
        rows += proteins(args.data_dir, cfg, args.offline, args.seed)
    paper = paper_values()
    table = pd.DataFrame(rows)
    table["paper"] = [paper.get(q, np.nan) for q in table["quantity"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table["ours"] / table["paper"]
    columns = ["quantity", "ours", "ours_se", "shuffles", "paper", "ratio", "detail"]
    table = table.reindex(columns=columns)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "real_data_reduced.csv" if args.reduced else "real_data.csv"
    table.to_csv(args.out / name, index=False)
    if genes:  # tl.lmi's attribution tables: every kept gene, both comparisons and sides
        pd.concat(genes, ignore_index=True).to_csv(
            args.out / name.replace("real_data", "real_data_attribution"), index=False
        )
    (args.out / name).with_suffix(".json").write_text(
        json.dumps(
            {
                "settings": cfg,
                "seed": args.seed,
                "data_dir": str(args.data_dir),
                "offline": args.offline,
                "seconds": time.perf_counter() - start,
            },
            indent=2,
        )
    )
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {args.out / name}; {time.perf_counter() - start:.0f} s")
    return table


if __name__ == "__main__":
    main()
