"""Gaussian grid (LMI paper, Fig. 2): MSE and Kendall tau per (k, d) cell, beside the paper's numbers.

Data: Algorithm 4 (``bm.benchmark.gaussian_task``), N = 2000, true MI at 10 values in 0-2 bits
per cell, one dataset per value (as the paper: ``MI_Gaussian_grids.csv`` holds one estimate per
value). Per (estimator, k, d) cell: MSE over the 10 values (Fig. 2a-d) and Kendall tau of the
estimates with the truth (Fig. 2f-i); the most accurate estimator per cell (Fig. 2e, 2j). The
paper's MSE and tau per cell are computed from its CSV in the same run, and the reference
implementation (latentmi 0.1.3) runs on a few cells of the same data.

    python benchmarks/bench_gaussian_grid.py            # reduced: k 1-3, d 10/100/1000
    python benchmarks/bench_gaussian_grid.py --full     # k 1-9, d 10..5000, all estimators (days on CPU)

Reduced default: LMI and KSG on every cell with k in {1, 2, 3} and d in {10, 100, 1000};
``method="auto"`` on the cells where it runs the calibrated copula KSG (N >= 10 (d_x + d_y):
d <= 100; at d = 1000 it runs LMI, the LMI row);
KSG-Global-Linf on k = 1; MINE and InfoNCE (500 training steps instead of 2000) on k = 1, d in
{10, 1000}; latentmi on 3 values of the cell k = 1, d = 100. Target: LMI's MSE no worse than
the paper's in every cell with k <= 3.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import THREADS_HELP, machine, run_latentmi, save_figure, timed, write

from bioinfo_mi.benchmark import Estimator, gaussian_task, kendall_tau, mse, run_benchmark, sample_task

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "MI_Gaussian_grids.csv"
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
MI_VALUES = np.linspace(0.0, 2.0, 10)  # the paper's grid: 0, 2/9, ..., 2 bits
#: our estimator name -> the paper's (MI_Gaussian_grids.csv "Estimator")
PAPER_NAMES = {"LMI": "LMI", "KSG": "KSG", "MINE": "MINE", "InfoNCE": "InfoNCE"}


def reference_path(arg: str | None) -> Path | None:
    for path in ([Path(arg)] if arg else []) + [
        REFERENCE,
        Path.cwd().parent / "shared" / "reference" / "MI_Gaussian_grids.csv",
    ]:
        if path.exists():
            return path
    return None


def paper_cells(path: Path | None) -> pd.DataFrame:
    """MSE and Kendall tau per (estimator, k, d) of the paper's Fig. 2 data."""
    if path is None:
        return pd.DataFrame(columns=["estimator", "k", "d", "paper_mse", "paper_tau"])
    ref = pd.read_csv(path, index_col=0).rename(columns={"Ambient dimensions": "d", "Intrinsic dimensions": "k"})
    rows = []
    for (name, k, d), g in ref.groupby(["Estimator", "k", "d"]):
        rows.append(
            {
                "estimator": name,
                "k": int(k),
                "d": int(d),
                "paper_mse": mse(g.Estimate, g["True MI"]),
                "paper_tau": kendall_tau(g.Estimate, g["True MI"]),
            }
        )
    return pd.DataFrame(rows)


def heatmaps(cells: pd.DataFrame, value: str, path: Path, *, vmax: float | None, cmap: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(cells.estimator))
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        grid = cells[cells.estimator == name].pivot(index="k", columns="d", values=value)
        im = ax.imshow(
            grid.to_numpy(dtype=float),
            cmap=cmap,
            vmin=0 if value == "mse" else -1,
            vmax=vmax,
            aspect="auto",
            origin="lower",
        )
        ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns], fontsize="x-small", rotation=45)
        ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index], fontsize="x-small")
        for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if (value == "mse" and v > 0.5 * (vmax or 1)) else "black",
                )
        ax.set_title(name, fontsize="small")
        ax.set_xlabel("ambient d", fontsize="small")
        if ax is axes[0][0]:
            ax.set_ylabel("intrinsic k", fontsize="small")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="MSE (bits²)" if value == "mse" else "Kendall τ")
    save_figure(fig, path, dpi=130, tight=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the paper's grid: k 1-9, d 10..5000, all estimators")
    parser.add_argument("--k", type=int, nargs="+", help="intrinsic dimensions (default 1 2 3; --full 1..9)")
    parser.add_argument("--d", type=int, nargs="+", help="ambient dimensions (default 10 100 1000)")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (the estimates do not depend on it)")
    parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    parser.add_argument("--cache-dir", default=None, help="resume an interrupted run from this folder")
    parser.add_argument("--no-latentmi", action="store_true")
    parser.add_argument("--reference", default=None, help="path to MI_Gaussian_grids.csv")
    parser.add_argument(
        "--estimators",
        nargs="+",
        default=None,
        choices=["LMI", "KSG", "auto", "ksg-calibrated", "KSG-Global-Linf", "MINE", "InfoNCE"],
        help="only these (ksg-calibrated runs only when named, on auto's cells)",
    )
    parser.add_argument("--tag", default="", help="suffix of the output files (gaussian_grid{tag}.csv)")
    args = parser.parse_args()
    if not args.no_latentmi and (args.estimators is None or "LMI" in args.estimators):  # fail now, not after fits
        import latentmi  # noqa: F401 - needs pip install -e ".[bench]", or pass --no-latentmi
    if args.threads:
        torch.set_num_threads(args.threads)
    ks = args.k or (list(range(1, 10)) if args.full else [1, 2, 3])
    ds = args.d or ([10, 50, 100, 500, 1000, 5000] if args.full else [10, 100, 1000])
    neural_steps = 2000 if args.full else 500
    core = [Estimator("LMI", "lmi"), Estimator("KSG", "ksg")]
    # method="auto": the calibrated copula KSG where N >= 10 (d_x + d_y), LMI itself below (there
    # its fit is LMI's fit with the same seed, so the reduced run skips those cells)
    default = [Estimator("auto", "auto"), Estimator("ksg-calibrated", "ksg-calibrated")]
    others = [Estimator("KSG-Global-Linf", "ksg-global-linf")]
    neural = [
        Estimator("MINE", "mine", {"steps": neural_steps}),
        Estimator("InfoNCE", "infonce", {"steps": neural_steps}),
    ]
    tasks = [
        gaussian_task(d, k, float(m), n_samples=args.n_samples) for k in ks for d in ds if k <= d for m in MI_VALUES
    ]
    # reduced run: the baselines on the k = 1 row (the neural ones at the smallest and largest d)
    other_tasks = tasks if args.full else [t for t in tasks if t.params["rank"] == 1]
    neural_tasks = other_tasks if args.full else [t for t in other_tasks if t.params["d"] in (min(ds), max(ds))]
    default_tasks = tasks if args.full else [t for t in tasks if args.n_samples >= 10 * 2 * t.params["d"]]
    named = set(args.estimators or ["LMI", "KSG", "auto", "KSG-Global-Linf", "MINE", "InfoNCE"])
    groups = [(tasks, core), (default_tasks, default), (other_tasks, others), (neural_tasks, neural)]
    groups = [(t, [e for e in ests if e.name in named]) for t, ests in groups]
    opts = dict(random_state=0, n_jobs=args.n_jobs, cache_dir=args.cache_dir)
    parts, seconds = timed(
        lambda: [
            run_benchmark(t, e, **opts)
            for t, e in groups
            if t and e  # e.g. no cell with N >= 20 d for auto when only d = 1000 is asked for
        ]
    )
    runs = pd.concat(parts, ignore_index=True).rename(columns={"rank": "k"})  # the paper's k in the tables

    if not args.no_latentmi and "LMI" in named:  # the reference implementation on the same data as a few LMI fits
        cell = [t for t in tasks if t.params["rank"] == 1 and t.params["d"] == (100 if 100 in ds else ds[0])]
        for task in cell[3:9:2]:
            x, y = sample_task(task, 0, random_state=0)
            est, sec = timed(run_latentmi, x, y, 0)
            runs.loc[len(runs)] = {
                "task": task.name,
                "estimator": "latentmi",
                "seed": 0,
                "true_mi": task.true_mi,
                "estimate": est,
                "seconds": sec,
                "error": "",
                "n_samples": task.n_samples,
                "d": task.params["d"],
                "k": task.params["rank"],
            }
    write(runs, f"gaussian_grid_runs{args.tag}")

    cells = []
    for (name, k, d), g in runs.groupby(["estimator", "k", "d"], sort=False):
        cells.append(
            {
                "estimator": name,
                "k": int(k),
                "d": int(d),
                "n": len(g),
                "mse": mse(g.estimate, g.true_mi),
                "tau": kendall_tau(g.estimate, g.true_mi),
                "seconds": g.seconds.median(),
            }
        )
    cells = pd.DataFrame(cells)
    paper = paper_cells(reference_path(args.reference))
    paper_lookup = paper.assign(estimator=paper.estimator.map({v: k for k, v in PAPER_NAMES.items()}))
    cells = cells.merge(paper_lookup.dropna(subset=["estimator"]), on=["estimator", "k", "d"], how="left")
    full_cells = cells[cells.n == len(MI_VALUES)]
    best = full_cells.loc[full_cells.groupby(["k", "d"]).mse.idxmin(), ["k", "d", "estimator"]].rename(
        columns={"estimator": "best_mse"}
    )
    best_tau = full_cells.loc[full_cells.groupby(["k", "d"]).tau.idxmax(), ["k", "d", "estimator"]].rename(
        columns={"estimator": "best_tau"}
    )
    write(cells, f"gaussian_grid{args.tag}")

    lmi = cells[cells.estimator == "LMI"].copy()
    lmi["ours_minus_paper"] = lmi.mse - lmi.paper_mse
    lmi["target_met"] = np.where(lmi.k <= 3, lmi.mse <= lmi.paper_mse, pd.NA)
    lmi = lmi.merge(best, on=["k", "d"], how="left").merge(best_tau, on=["k", "d"], how="left")
    print(
        f"\nGaussian grid (Algorithm 4, N={args.n_samples}, {len(MI_VALUES)} MI values per cell); {machine()}; "
        f"{seconds:.0f} s for the bioinfo_mi fits"
    )
    print("\nLMI MSE per cell beside the paper's (target: ours <= paper for k <= 3)\n")
    print(
        lmi[
            [
                "k",
                "d",
                "mse",
                "paper_mse",
                "ours_minus_paper",
                "target_met",
                "tau",
                "paper_tau",
                "best_mse",
                "best_tau",
                "seconds",
            ]
        ].to_markdown(index=False, floatfmt=".3f")
    )
    print("\nAll estimators: MSE (paper's MSE) per cell\n")
    table = cells.assign(
        value=[
            f"{m:.3f}" + (f" ({p:.3f})" if np.isfinite(p) else "")
            for m, p in zip(cells.mse, cells.paper_mse.astype(float), strict=True)
        ]
    )
    print(table.pivot(index=["k", "d"], columns="estimator", values="value").to_markdown())
    if (runs.estimator == "latentmi").any():
        ref = runs[runs.estimator == "latentmi"].merge(runs[runs.estimator == "LMI"], on="task", suffixes=("", "_ours"))
        print("\nlatentmi 0.1.3 (reference implementation) on the same data\n")
        print(
            pd.DataFrame(
                {
                    "true_mi": ref.true_mi,
                    "latentmi": ref.estimate,
                    "ours": ref.estimate_ours,
                    "latentmi_s": ref.seconds,
                    "ours_s": ref.seconds_ours,
                    "speedup": ref.seconds / ref.seconds_ours,
                }
            ).to_markdown(index=False, floatfmt=".3f")
        )
    figures = FIGURES / f"gaussian_grid{args.tag}_mse.png", FIGURES / f"gaussian_grid{args.tag}_tau.png"
    heatmaps(cells[cells.n == len(MI_VALUES)], "mse", figures[0], vmax=1.0, cmap="viridis_r")
    heatmaps(cells[cells.n == len(MI_VALUES)], "tau", figures[1], vmax=1.0, cmap="RdBu")
    print(
        "\nfigures:",
        *figures,
        f"(threads {torch.get_num_threads()}, cpu {os.cpu_count()})",
    )


if __name__ == "__main__":
    main()
