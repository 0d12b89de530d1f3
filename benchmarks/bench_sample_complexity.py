"""Sample complexity (LMI paper, Section 3.1.1 and Fig. 3): samples needed for |error| < eps.

Data: Algorithm 4 Gaussians (``bm.benchmark.gaussian_task``), 1 bit, ambient dimension d and
dependence rank k per panel: low rank k = 1 (eps = 0.1, Fig. 3a), medium rank k = floor(0.1 d)
(at least 1; eps = 0.2, Fig. 3b), high rank k = d (eps = 0.4, Fig. 3c). Sample numbers N from
1000 to 10 000, several datasets per (d, N). Estimators: LMI (default preset), KSG (k = 3), MINE,
InfoNCE (package defaults).

The statistic (computed in the same way from the paper's ``B_Gaussian_sample_complexity_*.csv``
and from our runs): per (estimator, d), the mean absolute error over the datasets at each tested
N; the number of samples needed is the N from which this error stays below eps at every larger
tested N, interpolated linearly between the last tested N above eps and the next one ("<=N" when
the error is already below eps at the smallest N, "+" when it is not below eps at the largest).
The paper's numbers are reported twice: on its full N grid and restricted to the N (and number
of datasets) of this run, since the statistic depends on the grid.

    python benchmarks/bench_sample_complexity.py         # low rank, d 1/25/50, N 1-4k, 2 datasets (< 5 min, 2 cores)
    python benchmarks/bench_sample_complexity.py --full  # 3 panels, d 1-50 (5), N 1k..10k, 10 datasets (~8 h, 1 core)
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import THREADS_HELP, machine, save_figure, write

from bioinfo_mi.benchmark import Estimator, gaussian_task, run_benchmark

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
REFERENCE_DIRS = [ROOT.parent / "shared" / "reference", Path.cwd().parent / "shared" / "reference"]
#: panel -> (reference file, eps, rank rule)
PANELS = {
    "low": ("B_Gaussian_sample_complexity_low_rank.csv", 0.1),
    "medium": ("B_Gaussian_sample_complexity_medium_rank.csv", 0.2),
    "high": ("B_Gaussian_sample_complexity_high_rank.csv", 0.4),
}
ESTIMATORS = {
    "LMI": Estimator("LMI", "lmi"),
    "KSG": Estimator("KSG", "ksg", {"k": 3}),
    "MINE": Estimator("MINE", "mine"),
    "InfoNCE": Estimator("InfoNCE", "infonce"),
}
PAPER_DIMS = [1, 13, 25, 37, 50]
PAPER_NS = list(range(1000, 10001, 1000))
TRUE_MI = 1.0


def rank(panel: str, d: int) -> int:
    """Dependence rank k of a panel at ambient dimension d (Fig. 3a-c)."""
    if panel == "low":
        return 1
    if panel == "medium":
        return max(1, math.floor(0.1 * d))
    return d


def samples_needed(ns: np.ndarray, errors: np.ndarray, eps: float) -> tuple[float, str]:
    """Samples from which ``errors`` stays below ``eps``, linearly interpolated (Fig. 3 statistic).

    Returns ``(value, flag)``: flag ``"<="`` if the error is below eps at the smallest N (value =
    smallest N), ``"+"`` if it is not below eps at the largest N (value = inf), else ``""``.
    """
    order = np.argsort(ns)
    ns, errors = np.asarray(ns, float)[order], np.asarray(errors, float)[order]
    above = np.flatnonzero(~(errors < eps))  # NaN counts as above
    if above.size == 0:
        return float(ns[0]), "<="
    i = above[-1]
    if i == ns.size - 1:
        return math.inf, "+"
    n0, n1, e0, e1 = ns[i], ns[i + 1], errors[i], errors[i + 1]
    if not np.isfinite(e0):
        return float(n1), ""
    return float(n0 + (e0 - eps) / (e0 - e1) * (n1 - n0)), ""


def needed_table(runs: pd.DataFrame, eps: float) -> pd.DataFrame:
    """Mean |error| per (estimator, d, N) -> samples needed per (estimator, d)."""
    runs = runs.assign(abs_error=(runs.estimate - runs.true_mi).abs())
    curves = runs.groupby(["estimator", "d", "n_samples"], as_index=False).agg(
        mean_abs_error=("abs_error", "mean"), n=("abs_error", "size")
    )
    rows = []
    for (name, d), g in curves.groupby(["estimator", "d"]):
        value, flag = samples_needed(g.n_samples.to_numpy(), g.mean_abs_error.to_numpy(), eps)
        rows.append({"estimator": name, "d": int(d), "samples_needed": value, "flag": flag})
    return pd.DataFrame(rows), curves


def reference_runs(folder: Path | None, panel: str) -> pd.DataFrame | None:
    if folder is None or not (folder / PANELS[panel][0]).exists():
        return None
    ref = pd.read_csv(folder / PANELS[panel][0], index_col=0)
    return pd.DataFrame(
        {
            "estimator": ref.Estimator.str.strip(),
            "d": ref["Ambient dimensions"],
            "k": ref["Intrinsic dimensions"],
            "n_samples": ref["Sample number"],
            "true_mi": ref["True MI"],
            "estimate": ref.Estimate,
        }
    )


def label(value: float, flag: str) -> str:
    if flag == "+":
        return "+"
    return f"{flag}{value:.0f}"


def figure(results: dict[str, pd.DataFrame], path: Path, ours_max: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(results)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    colors = {name: f"C{i}" for i, name in enumerate(ESTIMATORS)}
    for ax, panel in zip(axes[0], panels, strict=True):
        table = results[panel]
        for (name, who), g in table.groupby(["estimator", "who"]):
            g = g.sort_values("d")
            top = 1.1 * (ours_max if who == "ours" else max(PAPER_NS))  # where "not reached" is drawn
            y = np.where(np.isfinite(g.samples_needed), g.samples_needed, top)
            style = "-" if who == "ours" else ":"
            ax.plot(
                g.d,
                y,
                style,
                color=colors.get(name, "k"),
                marker="o" if who == "ours" else "s",
                ms=4,
                label=f"{name} ({who})",
                alpha=0.9 if who == "ours" else 0.6,
            )
            plus = ~np.isfinite(g.samples_needed)
            ax.scatter(g.d[plus], np.full(plus.sum(), top), marker="+", s=80, color=colors.get(name, "k"), zorder=5)
        ax.set_title(f"{panel} rank, eps = {PANELS[panel][1]}")
        ax.set_xlabel("ambient dimension d")
        ax.set_ylabel("samples needed")
        ax.axhline(max(PAPER_NS), color="grey", lw=0.5, ls=":")
        ax.axhline(ours_max, color="grey", lw=0.5)
    axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.text(0.01, 0.01, "+: not below eps at the largest N tested (grey lines)", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="three panels on the paper's grid, 10 datasets each")
    parser.add_argument("--panels", nargs="+", choices=list(PANELS), default=None)
    parser.add_argument("--dims", type=int, nargs="+", default=None)
    parser.add_argument("--ns", type=int, nargs="+", default=None)
    parser.add_argument("--reps", type=int, default=None, help="datasets per (d, N) (default 2, 10 with --full)")
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS))
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel fits (default 2: the 2-core budget)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help=THREADS_HELP)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-dir", default=None)
    parser.add_argument("--tag", default="", help="suffix for the CSV names (keeps the default run's CSVs)")
    args = parser.parse_args()

    start = time.perf_counter()
    torch.set_num_threads(max(1, args.threads))
    panels = args.panels or (list(PANELS) if args.full else ["low"])
    dims = args.dims or (PAPER_DIMS if args.full else [1, 25, 50])
    ns = sorted(args.ns or (PAPER_NS if args.full else [1000, 2000, 4000]))
    reps = args.reps or (10 if args.full else 2)
    folder = next(
        (
            p
            for p in ([Path(args.reference_dir)] if args.reference_dir else []) + REFERENCE_DIRS
            if (p / PANELS["low"][0]).exists()
        ),
        None,
    )
    estimators = [ESTIMATORS[name] for name in args.estimators]
    print(
        f"Sample complexity (Fig. 3): panels {panels}, d {dims}, N {ns}, {reps} datasets per (d, N), "
        f"{TRUE_MI} bit; {machine()}",
        flush=True,
    )

    all_runs, all_needed, all_curves, plot = [], [], [], {}
    for panel in panels:
        eps = PANELS[panel][1]
        tasks = [gaussian_task(d, rank(panel, d), TRUE_MI, n) for d in dims for n in ns]
        runs = run_benchmark(
            tasks, estimators, n_seeds=reps, random_state=args.seed, n_jobs=args.n_jobs, cache_dir=args.cache_dir
        )
        runs["panel"] = panel
        all_runs.append(runs)
        ours, curves = needed_table(runs, eps)
        ours["who"] = "ours"
        curves["who"] = "ours"
        parts, curve_parts = [ours], [curves]
        ref = reference_runs(folder, panel)
        if ref is not None:
            full, full_curves = needed_table(ref, eps)
            full["who"], full_curves["who"] = "paper", "paper"
            # the paper restricted to this run's grid: same N, same number of datasets, same d
            same = ref[ref.n_samples.isin(ns) & ref.d.isin(dims)]
            same = same.groupby(["estimator", "d", "n_samples"], group_keys=False).head(reps)
            grid, _ = needed_table(same, eps)
            grid["who"] = "paper, this grid"
            parts += [full, grid]
            curve_parts.append(full_curves)
        needed = pd.concat(parts, ignore_index=True)
        needed["panel"], needed["eps"] = panel, eps
        all_needed.append(needed)
        curve = pd.concat(curve_parts, ignore_index=True)
        curve["panel"] = panel
        all_curves.append(curve)
        plot[panel] = needed[needed.who.isin(["ours", "paper"])]

        print(
            f"\n## {panel} rank (k = {'1' if panel == 'low' else 'floor(0.1 d)' if panel == 'medium' else 'd'}), "
            f"eps = {eps}: samples needed for mean |error| < eps\n"
        )
        wide = needed.assign(text=[label(v, f) for v, f in zip(needed.samples_needed, needed.flag, strict=True)])
        wide = wide.pivot_table(index=["estimator", "d"], columns="who", values="text", aggfunc="first")
        cols = [c for c in ["ours", "paper, this grid", "paper"] if c in wide.columns]
        print("| estimator | d | " + " | ".join("paper (full grid)" if c == "paper" else c for c in cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for (name, d), row in wide.iterrows():
            if name in args.estimators and int(d) in dims:
                cells = [row.get(c) if isinstance(row.get(c), str) else "" for c in cols]
                print(f"| {name} | {int(d)} | " + " | ".join(cells) + " |")
        mean_err = curves.pivot_table(index=["estimator", "d"], columns="n_samples", values="mean_abs_error")
        print(f"\nOur mean |error| (bits) per N ({reps} datasets each):\n")
        print(mean_err.to_string(float_format=lambda v: f"{v:.3f}"))

    runs = pd.concat(all_runs, ignore_index=True)
    needed = pd.concat(all_needed, ignore_index=True)
    curves = pd.concat(all_curves, ignore_index=True)
    name = "sample_complexity" if set(panels) == set(PANELS) else "sample_complexity_" + "_".join(panels)
    fig_path = FIGURES / f"{name}.png"
    figure(plot, fig_path, max(ns))
    tag = f"_{args.tag}" if args.tag else ""
    write(runs, f"sample_complexity{tag}_runs")
    write(curves, f"sample_complexity{tag}_curves")
    write(needed, f"sample_complexity{tag}")
    print(
        f"\nwrote benchmarks/results/sample_complexity{tag}*.csv and {fig_path.relative_to(ROOT)}; "
        f"total {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
