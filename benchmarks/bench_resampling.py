"""Resampling benchmark (LMI paper, Section 3.2 and Fig. 4): MSE, rank correlation and runtime per estimator.

Datasets: Bernoulli label pairs with the correlation that gives a target MI (evenly spaced over
0-1 bit), each label replaced by a sample of its class drawn without replacement, so
I(X; Y) = I(Lx; Ly) (Theorem 4; ``bm.datasets.resample_pairs``). Estimators: LMI (default preset),
KSG (k = 3), MINE, InfoNCE (package defaults), one fit per dataset. The paper's statistics of
``B_MNIST.csv`` (Fig. 4a) and ``B_species_mixing.csv`` (Fig. 4b) are computed in the same run;
latentmi 0.1.3 (the reference implementation) runs on a subset of the same datasets. The class
separability behind I(X; Y) = I(Lx; Ly) is checked as in Appendix A.3.3 (held-out accuracy of
logistic regression, lambda = 1, over random 1:1 splits; 5-NN as well).

    python benchmarks/bench_resampling.py                      # digits, 24 datasets (< 7 min on 2 cores)
    python benchmarks/bench_resampling.py --full               # digits, 200 datasets (46 min on 1 busy core)
    python benchmarks/bench_resampling.py --estimators LMI LMI-candidate KSG --latentmi 0 --tag s20cand
    python benchmarks/bench_resampling.py --source mnist --mnist-path ~/data/mnist --full
    python benchmarks/bench_resampling.py --source species --full \\
        --proteome "E. coli=UP000000625_83333/per-protein.h5" --proteome "A. thaliana=UP000006548_3702/per-protein.h5"
    python benchmarks/bench_resampling.py --source species --embeddings table.h5 --species-table species.csv

The digits source is scikit-learn's bundled 8x8 digits (no download); its classes default to the
digit pairs {2, 3} vs {4, 6} (``bm.datasets.DIGITS_CLASSES`` explains the choice) with 580 pairs per
dataset. With the digits source the run also reports two other class choices on a few datasets
(LMI and KSG only): single digits 0 vs 1 (250 pairs) and the groups 0-4 vs 5-9 (1500 pairs).
Target: LMI MSE <= 0.005 on the digits source. ``LMI-candidate`` (only when named): issue 29's candidate preset for
Algorithm 4's speed target, ``LMIPreset(max_width=256, batch_size=256, patience=5)``; ``LMI-bfloat16`` and
``LMI-float32`` (only when named): the default recipe trained in bfloat16 and in float32 (issue 29, session 22).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import THREADS_HELP, machine, run_latentmi, save_figure, timed, write

import bioinfo_mi as bm
from bioinfo_mi.benchmark import Estimator, run_benchmark, sample_task, summarize
from bioinfo_mi.estimators import LMIPreset

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
REFERENCE_DIRS = [ROOT.parent / "shared" / "reference", Path.cwd().parent / "shared" / "reference"]
PAPER_FILES = {"MNIST": "B_MNIST.csv", "species": "B_species_mixing.csv"}
#: our estimator name -> the paper's "Measure" in B_MNIST.csv / B_species_mixing.csv
PAPER_NAMES = {"LMI": ("LMI-Cross", "LMI"), "KSG": ("KSG",), "MINE": ("MINE",), "InfoNCE": ("InfoNCE",)}
ESTIMATORS = {
    "LMI": Estimator("LMI", "lmi"),
    "KSG": Estimator("KSG", "ksg", {"k": 3}),
    "MINE": Estimator("MINE", "mine"),
    "InfoNCE": Estimator("InfoNCE", "infonce"),
    # issue 29's candidate for Algorithm 4's speed target (not the default): width <= 256, batch 256, patience 5
    "LMI-candidate": Estimator(
        "LMI-candidate", "lmi", {"preset": LMIPreset(max_width=256, batch_size=256, patience=5)}
    ),
    # issue 29, session 22: the default recipe with the training loop's products in bfloat16, and in float32
    "LMI-bfloat16": Estimator("LMI-bfloat16", "lmi", {"preset": LMIPreset(precision="bfloat16")}),
    "LMI-float32": Estimator("LMI-float32", "lmi", {"preset": LMIPreset(precision="float32")}),
}
#: digits class choices reported beside the default: (label, classes, pairs per dataset)
DIGITS_ALTERNATIVES = [("0 vs 1", (0, 1), 250), ("0-4 vs 5-9", ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)), 1500)]
TARGET_MSE = 0.005


def parse_classes(text: str | None):
    """``"2,3|4,6"`` -> ``((2, 3), (4, 6))``; ``None`` -> ``None``."""
    if text is None:
        return None
    groups = text.split("|")
    if len(groups) != 2:
        raise SystemExit(f"--classes must look like '2,3|4,6' (two groups separated by '|'), got {text!r}")
    parsed = []
    for group in groups:
        items = [v.strip() for v in group.split(",") if v.strip()]
        parsed.append(tuple(int(v) if v.lstrip("-").isdigit() else v for v in items))
    return tuple(parsed)


def reference_dir(arg: str | None) -> Path | None:
    for path in ([Path(arg)] if arg else []) + REFERENCE_DIRS:
        if (path / PAPER_FILES["MNIST"]).exists():
            return path
    return None


def paper_tables(folder: Path | None) -> dict[str, pd.DataFrame]:
    """The paper's Fig. 4 runs as tidy tables (estimator, estimate, true_mi, seconds)."""
    out = {}
    if folder is None:
        return out
    for key, name in PAPER_FILES.items():
        path = folder / name
        if path.exists():
            ref = pd.read_csv(path, index_col=0)
            out[key] = pd.DataFrame(
                {
                    "estimator": ref.Measure.str.strip(),
                    "estimate": ref.Estimate,
                    "true_mi": ref["Label MI"],
                    "seconds": ref.Time,
                }
            )
    return out


def paper_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for key, table in tables.items():
        summ = summarize(table, by=["estimator"])
        for ours, names in PAPER_NAMES.items():
            hit = summ[summ.estimator.isin(names)]
            if len(hit):
                row = hit.iloc[0]
                rows.append(
                    {
                        "paper_source": key,
                        "estimator": ours,
                        "paper_name": row.estimator,
                        "mse": row.mse,
                        "bias": row.bias,
                        "spearman": row.spearman,
                        "kendall_tau": row.kendall_tau,
                        "seconds": row.seconds,
                        "n": row.n,
                    }
                )
    return pd.DataFrame(rows)


def build_tasks(args: argparse.Namespace) -> tuple[list, dict]:
    """Tasks of the chosen source and a description (source, classes, n_samples, d, pools)."""
    n_datasets = args.n_datasets or (200 if args.full else 24)
    if args.source == "digits":
        classes = parse_classes(args.classes) or bm.datasets.DIGITS_CLASSES
        n_samples = args.n_samples or 580
        data, labels = bm.datasets.load_digits_source()
        tasks = bm.benchmark.digits_tasks(n_datasets, n_samples, classes=classes)
    elif args.source == "mnist":
        if not args.mnist_path:
            raise SystemExit("--source mnist needs --mnist-path (idx folder, idx file or mnist.npz)")
        classes = parse_classes(args.classes) or (0, 1)
        digits = [d for group in classes for d in (group if isinstance(group, tuple) else (group,))]
        n_samples = args.n_samples or 5000
        data, labels = bm.datasets.read_mnist(args.mnist_path, digits=digits, subset=args.mnist_subset)
        tasks = bm.benchmark.resampling_tasks(
            data, labels, n_samples=n_samples, n_datasets=n_datasets, classes=classes, source="mnist"
        )
    else:
        if args.proteome:
            mapping = {}
            for item in args.proteome:
                if "=" not in item:
                    raise SystemExit(f"--proteome must look like 'NAME=path/per-protein.h5', got {item!r}")
                name, path = item.split("=", 1)
                mapping[name.strip()] = path.strip()
            data, labels = bm.datasets.read_species_embeddings(mapping)
        elif args.embeddings and args.species_table:
            data, labels = bm.datasets.read_species_embeddings(args.embeddings, args.species_table)
        else:
            raise SystemExit("--source species needs --proteome NAME=h5 (twice) or --embeddings and --species-table")
        classes = parse_classes(args.classes)
        n_samples = args.n_samples or 4402
        tasks = bm.benchmark.resampling_tasks(
            data, labels, n_samples=n_samples, n_datasets=n_datasets, classes=classes, source="species"
        )
    pools = bm.datasets.class_pools(data, labels, classes, warn=False)
    info = {
        "source": args.source,
        "classes": tasks[0].params["classes"].replace("|", " vs "),
        "n_samples": n_samples,
        "d": int(data.shape[1]),
        "pool_sizes": [p.shape[0] for p in pools],
        "data": data,
        "labels": labels,
        "class_arg": classes,
    }
    return tasks, info


def separability(info: dict, n_splits: int) -> pd.DataFrame:
    rows = []
    for clf in ("logistic", "knn"):
        res, sec = timed(
            bm.datasets.class_separability,
            info["data"],
            info["labels"],
            info["class_arg"],
            classifier=clf,
            n_splits=n_splits,
            random_state=0,
        )
        rows.append({"classifier": clf, **res, "seconds": sec})
    return pd.DataFrame(rows)


def figure(runs: pd.DataFrame, paper: dict[str, pd.DataFrame], source: str, estimators: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_key = "species" if source == "species" else "MNIST"
    ref = paper.get(ref_key)
    nrows = 2 if ref is not None else 1
    fig, axes = plt.subplots(
        nrows, len(estimators), figsize=(3.0 * len(estimators), 3.0 * nrows), squeeze=False, sharex=True, sharey=True
    )
    main = runs[runs.setting == "main"]
    for j, name in enumerate(estimators):
        ax = axes[0, j]
        sub = main[main.estimator == name]
        ax.scatter(sub.true_mi, sub.estimate, s=10, alpha=0.7, color="C0")
        ax.set_title(f"{name} (ours, {source})\nMSE {bm.benchmark.mse(sub.estimate, sub.true_mi):.4f}", fontsize=9)
        if ref is not None:
            rsub = ref[ref.estimator.isin(PAPER_NAMES.get(name, ()))]
            axr = axes[1, j]
            if rsub.empty:  # a candidate preset has no counterpart in the paper
                axr.set_title(f"{name}: not in the paper", fontsize=9)
                continue
            axr.scatter(rsub.true_mi, rsub.estimate, s=10, alpha=0.7, color="C1")
            axr.set_title(
                f"{name} (paper, {ref_key})\nMSE {bm.benchmark.mse(rsub.estimate, rsub.true_mi):.4f}", fontsize=9
            )
    for ax in axes.ravel():
        ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.3, 1.3)
    for ax in axes[-1]:
        ax.set_xlabel("true MI (bits)")
    for ax in axes[:, 0]:
        ax.set_ylabel("estimate (bits)")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def fmt(v: float) -> str:
    return "nan" if v is None or not np.isfinite(v) else f"{v:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=["digits", "mnist", "species"], default="digits")
    parser.add_argument("--full", action="store_true", help="200 datasets, more latentmi and sensitivity datasets")
    parser.add_argument("--n-datasets", type=int, default=None, help="default 24 (200 with --full)")
    parser.add_argument(
        "--n-samples", type=int, default=None, help="pairs per dataset (digits 580, mnist 5000, species 4402)"
    )
    parser.add_argument("--classes", default=None, help="two groups of labels, e.g. '2,3|4,6' or 'E. coli|A. thaliana'")
    parser.add_argument("--mnist-path", default=None)
    parser.add_argument("--mnist-subset", choices=["train", "test", "all"], default="all")
    parser.add_argument("--proteome", action="append", default=None, help="NAME=per-protein.h5, once per species")
    parser.add_argument("--embeddings", default=None, help="one per-protein.h5 with all proteins")
    parser.add_argument("--species-table", default=None, help="CSV/TSV with columns accession, species")
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS))
    parser.add_argument("--latentmi", type=int, default=None, help="datasets for latentmi (default 2, 10 with --full)")
    parser.add_argument(
        "--alternatives",
        type=int,
        default=None,
        help="datasets per alternative digits class choice (default 8, 40 with --full; 0 skips)",
    )
    parser.add_argument("--splits", type=int, default=None, help="separability splits (default 20, 100 with --full)")
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel fits (default 2: the 2-core budget)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help=THREADS_HELP)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-dir", default=None, help="folder with B_MNIST.csv and B_species_mixing.csv")
    parser.add_argument("--tag", default="", help="suffix for the CSV and figure names (keeps the default run's)")
    args = parser.parse_args()

    start = time.perf_counter()
    torch.set_num_threads(max(1, args.threads))
    # digits have constant pixels (LMI drops them with a warning); workers inherit the filter
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning:bioinfo_mi.estimators._registry"
    warnings.filterwarnings("ignore", message=r".*constant column", category=UserWarning)
    n_latentmi = args.latentmi if args.latentmi is not None else (10 if args.full else 2)
    n_alt = args.alternatives if args.alternatives is not None else (40 if args.full else 8)
    n_splits = args.splits or (100 if args.full else 20)

    tasks, info = build_tasks(args)
    estimators = [ESTIMATORS[name] for name in args.estimators]
    print(
        f"Resampling benchmark: source {info['source']}, classes {info['classes'] or 'the two labels'} "
        f"({info['pool_sizes'][0]} / {info['pool_sizes'][1]} distinct samples), {len(tasks)} datasets of "
        f"{info['n_samples']} pairs, {info['d']} dims; {machine()}",
        flush=True,
    )

    sep = separability(info, n_splits)
    print("\nClass separability (Appendix A.3.3; paper: logistic accuracy > 0.98):")
    print(sep.to_string(index=False, float_format=lambda v: f"{v:.4f}"), flush=True)

    runs = run_benchmark(
        tasks, estimators, n_seeds=1, random_state=args.seed, n_jobs=args.n_jobs, cache_dir=args.cache_dir
    )
    runs["setting"] = "main"
    all_runs = [runs]

    # other digits class choices, LMI and KSG only (why the default is pairs of digits)
    if args.source == "digits" and n_alt > 0:
        alt_est = [e for e in estimators if e.name in ("LMI", "KSG")]
        for label, classes, n in DIGITS_ALTERNATIVES:
            alt_tasks = bm.benchmark.digits_tasks(n_alt, n, classes=classes)
            alt = run_benchmark(
                alt_tasks, alt_est, n_seeds=1, random_state=args.seed, n_jobs=args.n_jobs, cache_dir=args.cache_dir
            )
            alt["setting"] = f"classes {label}"
            all_runs.append(alt)

    # latentmi on evenly spaced datasets of the main run, same data
    if n_latentmi > 0:
        picks = np.unique(np.linspace(0, len(tasks) - 1, n_latentmi).round().astype(int))
        rows = []
        for i in picks:
            task = tasks[i]
            x, y = sample_task(task, 0, random_state=args.seed)
            est, sec = timed(run_latentmi, x, y, int(i))
            rows.append(
                {
                    "task": task.name,
                    "estimator": "latentmi",
                    "seed": 0,
                    "true_mi": task.true_mi,
                    "estimate": est,
                    "seconds": sec,
                    "error": "",
                    "n_samples": task.n_samples,
                    **dict(task.params),
                    "setting": "latentmi subset",
                }
            )
            print(f"latentmi on {task.name}: {est:.3f} (truth {task.true_mi:.3f}) in {sec:.1f}s", flush=True)
        all_runs.append(pd.DataFrame(rows))
    runs_all = pd.concat(all_runs, ignore_index=True)

    # summaries
    summary = summarize(runs_all, by=["setting", "estimator"])
    paper = paper_tables(reference_dir(args.reference_dir))
    psum = paper_summary(paper)
    main_sum = summary[summary.setting == "main"].set_index("estimator")
    table = []
    for name in args.estimators:
        row = {"estimator": name}
        ours = main_sum.loc[name]
        row.update(
            mse=ours.mse, bias=ours.bias, spearman=ours.spearman, kendall_tau=ours.kendall_tau, seconds=ours.seconds
        )
        for key in ("MNIST", "species"):
            hit = psum[(psum.paper_source == key) & (psum.estimator == name)] if len(psum) else psum
            if len(hit):
                row[f"paper_{key}_mse"] = hit.mse.iloc[0]
                row[f"paper_{key}_spearman"] = hit.spearman.iloc[0]
                row[f"paper_{key}_seconds"] = hit.seconds.iloc[0]
                row[f"mse_minus_paper_{key}"] = ours.mse - hit.mse.iloc[0]
        table.append(row)
    table = pd.DataFrame(table)

    src = info["source"]
    print(
        f"\n## Resampling ({src}, classes {info['classes']}, {len(tasks)} datasets x {info['n_samples']} pairs) "
        "vs the paper's Fig. 4c (MNIST 0/1: 5000 pairs, 784 dims; ProtT5 species: 4402 pairs, 1024 dims)"
    )
    print("Times: median seconds per fit; ours on this CPU (indicative, shared machine), the paper's on an RTX 3090.\n")
    has_paper = "paper_MNIST_mse" in table
    head = "| estimator | MSE | bias | Spearman | Kendall | s/fit |"
    sep_line = "|---|---|---|---|---|---|"
    if has_paper:
        head += (
            " paper MNIST MSE | diff | paper species MSE | diff | paper Spearman MNIST / species | paper s/fit MNIST |"
        )
        sep_line += "---|---|---|---|---|---|"
    print(head)
    print(sep_line)
    for r in table.itertuples():
        line = (
            f"| {r.estimator} | {fmt(r.mse)} | {fmt(r.bias)} | {fmt(r.spearman)} | {fmt(r.kendall_tau)} | "
            f"{r.seconds:.2f} |"
        )
        if has_paper:
            line += (
                f" {fmt(r.paper_MNIST_mse)} | {r.mse_minus_paper_MNIST:+.4f} | {fmt(r.paper_species_mse)} | "
                f"{r.mse_minus_paper_species:+.4f} | {fmt(r.paper_MNIST_spearman)} / "
                f"{fmt(r.paper_species_spearman)} | {r.paper_MNIST_seconds:.1f} |"
            )
        print(line)

    other = summary[summary.setting != "main"]
    if len(other):
        print("\n## Other settings (alternative digits classes; latentmi subset)\n")
        print("| setting | estimator | n | MSE | bias | Spearman | s/fit |")
        print("|---|---|---|---|---|---|---|")
        for r in other.itertuples():
            print(
                f"| {r.setting} | {r.estimator} | {r.n} | {fmt(r.mse)} | {fmt(r.bias)} | {fmt(r.spearman)} | "
                f"{r.seconds:.2f} |"
            )
    if n_latentmi > 0 and "LMI" in args.estimators:
        lat = runs_all[runs_all.setting == "latentmi subset"]
        ours = runs[(runs.estimator == "LMI") & runs.task.isin(lat.task)].set_index("task").loc[lat.task]
        ratio = lat.seconds.mean() / ours.seconds.mean()
        print(
            f"\nSame {len(lat)} datasets: LMI MSE {bm.benchmark.mse(ours.estimate, ours.true_mi):.4f} in "
            f"{ours.seconds.mean():.1f} s/fit; latentmi MSE {bm.benchmark.mse(lat.estimate, lat.true_mi):.4f} in "
            f"{lat.seconds.mean():.1f} s/fit (latentmi / ours time ratio {ratio:.1f}x)"
        )
        summary.loc[summary.setting == "latentmi subset", "time_ratio_vs_lmi"] = ratio
    if src == "digits" and "LMI" in main_sum.index:
        value = main_sum.loc["LMI", "mse"]
        verdict = "met" if value <= TARGET_MSE else f"MISSED by {value - TARGET_MSE:.4f}"
        print(f"\nTarget LMI MSE <= {TARGET_MSE} on digits: {value:.4f} -> {verdict}")

    tag = f"_{args.tag}" if args.tag else ""
    suffix = ("" if src == "digits" else f"_{src}") + tag
    fig_path = FIGURES / f"resampling_{src}{tag}.png"
    figure(runs_all, paper, src, args.estimators, fig_path)
    sep.insert(0, "classes", info["classes"])
    write(sep, f"resampling{suffix}_separability")
    write(runs_all, f"resampling{suffix}_runs")
    write(pd.concat([summary, psum.assign(setting="paper")], ignore_index=True), f"resampling{suffix}")
    print(
        f"\nwrote benchmarks/results/resampling{suffix}*.csv and {fig_path.relative_to(ROOT)}; "
        f"total {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
