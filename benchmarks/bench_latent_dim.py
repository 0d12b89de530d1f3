"""Latent-size scan (LMI paper, appendix table ``A_latent_dim_scan.csv``) and what
``bm.estimators.scan_latent_dim`` picks.

Data: Algorithm 4 (``bm.benchmark.gaussian_task``), d = 1000, k = 4, 1 bit. The paper's scan
(authors' notebook ``A_latent_dim_scan.ipynb``) used N = 5000, one dataset, one fit per latent
size 2, 4, 6, 8 per variable, and reports LMI-2 0.296, LMI-4 0.720, LMI-6 0.671, LMI-8 0.687 bits
(MINE and InfoNCE about 0). Here every dataset is scanned by ``scan_latent_dim`` (``--repeats``
fits per size, each with its own split and initialisation); the table gives the mean and sd over
all fits per size beside the paper's value, latentmi 0.1.3 (the reference implementation, latent
size 8 = its default) on the same data in the same run, and the size the helper picks per dataset.
With ``--n-jobs 2`` (default) the scan's fits run in two worker processes and latentmi in a third.

    python benchmarks/bench_latent_dim.py              # reduced: N=2000, 1 dataset x 2 seeds (<= 3 min, 2 cores)
    python benchmarks/bench_latent_dim.py --full       # paper size: N=5000, 3 datasets x 3 repeats, latentmi on all
    python benchmarks/bench_latent_dim.py --ks 1 2 --latent-dims 1 2 4 6 8 --repeats 3 --latentmi-datasets 0 --tag ks

Targets: the scan reproduces the paper's shape (2 per side far below 4; 4, 6, 8 on one plateau,
each within 0.1 bit of the paper's value at the paper's N) and the helper picks 4 = k.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import THREADS_HELP, machine, run_latentmi, save_figure, timed, write

from bioinfo_mi.benchmark import gaussian_task, sample_task
from bioinfo_mi.estimators import scan_latent_dim

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "A_latent_dim_scan.csv"
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
D, TRUE_MI, PAPER_K, PAPER_N = 1000, 1.0, 4, 5000


def paper_values(arg: str | None) -> pd.DataFrame:
    """The paper's table: estimator, latent_dim (NaN for MINE/InfoNCE), estimate."""
    for path in ([Path(arg)] if arg else []) + [
        REFERENCE,
        Path.cwd().parent / "shared" / "reference" / "A_latent_dim_scan.csv",
    ]:
        if path.exists():
            ref = pd.read_csv(path, index_col=0)
            dims = ref.Estimator.str.extract(r"LMI-(\d+)")[0].astype(float)
            return pd.DataFrame({"estimator": ref.Estimator, "latent_dim": dims, "estimate": ref.Estimate})
    print("paper table A_latent_dim_scan.csv not found; pass --reference")
    return pd.DataFrame(columns=["estimator", "latent_dim", "estimate"])


def latentmi_job(x: np.ndarray, y: np.ndarray, seed: int, threads: int) -> dict:
    """One latentmi fit with its wall time (run in its own process next to the scan's workers)."""
    torch.set_num_threads(threads)
    est, sec = timed(run_latentmi, x, y, seed)
    return {"estimate": est, "seconds": sec}


def cache_path(cache_dir: str | None, key: dict) -> Path | None:
    if cache_dir is None:
        return None
    digest = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=12).hexdigest()
    return Path(cache_dir) / f"latent_dim_{digest}.json"


def cache_get(path: Path | None) -> dict | None:
    return json.loads(path.read_text()) if path is not None and path.exists() else None


def cache_put(path: Path | None, value: dict) -> dict:
    """Store ``value`` (atomic write) so an interrupted --full run resumes; return it."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
    return value


def figure(runs: pd.DataFrame, summary: pd.DataFrame, paper: pd.DataFrame, picks: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = sorted(runs.k.unique())
    fig, axes = plt.subplots(1, len(ks), figsize=(5.2 * len(ks), 4.0), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, k in zip(axes[0], ks, strict=True):
        ours = runs[(runs.k == k) & (runs.estimator == "LMI (bioinfo_mi)")]
        ax.scatter(
            ours.latent_dim + rng.uniform(-0.15, 0.15, len(ours)),
            ours.estimate,
            s=12,
            color="tab:blue",
            alpha=0.5,
            label="bioinfo_mi, each fit",
        )
        s = summary[(summary.k == k) & (summary.estimator == "LMI (bioinfo_mi)")]
        ax.errorbar(
            s.latent_dim,
            s["mean"],
            yerr=s["sd"],
            color="tab:blue",
            marker="o",
            capsize=3,
            label="bioinfo_mi, mean ± sd",
        )
        ref = runs[(runs.k == k) & (runs.estimator == "latentmi 0.1.3")]
        if len(ref):
            ax.scatter(
                ref.latent_dim + 0.3,
                ref.estimate,
                marker="s",
                facecolor="none",
                edgecolor="tab:green",
                s=40,
                label="latentmi 0.1.3 (default 8)",
            )
        if k == PAPER_K and int(runs.d.iloc[0]) == D and len(paper):
            lmi = paper.dropna(subset=["latent_dim"])
            ax.plot(lmi.latent_dim, lmi.estimate, "r*--", ms=11, lw=1, label=f"paper (N={PAPER_N}, one fit)")
        chosen = picks[picks.k == k].chosen.value_counts()
        for size, count in chosen.items():
            ax.axvspan(size - 0.45, size + 0.45, color="orange", alpha=0.15 + 0.1 * count)
        ax.axhline(TRUE_MI, color="k", ls=":", lw=1, label="true MI")
        ax.set(
            xlabel="latent size per variable",
            ylabel="estimate (bits)",
            ylim=(-0.4, 1.15),
            title=f"Algorithm 4, d={int(runs.d.iloc[0])}, k={k}, N={int(runs.n_samples.iloc[0])}\n"
            f"orange: scan_latent_dim's pick, "
            + ", ".join(f"{v} ({c} of {chosen.sum()} datasets)" for v, c in chosen.items()),
        )
        ax.set_xticks(sorted(runs.latent_dim.unique()))
        ax.legend(fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    save_figure(fig, path, dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help=f"paper size: N={PAPER_N}, 3 datasets x 3 repeats")
    parser.add_argument("--n", type=int, default=None, help="samples per dataset (default 2000, --full 5000)")
    parser.add_argument("--datasets", type=int, default=None, help="datasets per k (default 1, --full 3)")
    parser.add_argument("--repeats", type=int, default=None, help="fits (seeds) per size per dataset (2; --full 3)")
    parser.add_argument("--d", type=int, default=D, help="ambient dimension (paper: 1000)")
    parser.add_argument("--ks", type=int, nargs="+", default=[PAPER_K], help="dependence dimensions (paper: 4)")
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 4, 6, 8])
    parser.add_argument("--preset", default="default", help="LMI preset of bioinfo_mi (default or paper)")
    parser.add_argument(
        "--latentmi-datasets",
        type=int,
        default=None,
        help="datasets per k on which latentmi also runs (default 1, --full all)",
    )
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel LMI fits of the scan (default 2 cores)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help=THREADS_HELP)
    parser.add_argument("--cache-dir", default=None, help="resume: finished scans and latentmi fits are kept here")
    parser.add_argument("--reference", default=None, help="path to A_latent_dim_scan.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="suffix of the CSV and figure names (keeps other runs' files)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n = args.n or (PAPER_N if args.full else 2000)
    n_datasets = args.datasets or (3 if args.full else 1)
    n_repeats = args.repeats or (3 if args.full else 2)
    n_latentmi = args.latentmi_datasets if args.latentmi_datasets is not None else (n_datasets if args.full else 1)

    start = time.perf_counter()
    tasks = {k: gaussian_task(args.d, k, TRUE_MI, n_samples=n) for k in args.ks}

    # latentmi fits: with worker processes for the scan (n_jobs != 1) they run meanwhile in one more
    # single-threaded process, so both cores stay busy; with n_jobs=1 they run after the scans.
    ref_jobs = [(k, dataset) for k in args.ks for dataset in range(min(n_latentmi, n_datasets))]
    ref_paths = {
        job: cache_path(args.cache_dir, {"latentmi": tasks[job[0]].name, "dataset": job[1], "seed": args.seed})
        for job in ref_jobs
    }
    refs = {job: cache_get(path) for job, path in ref_paths.items()}
    todo = [job for job, value in refs.items() if value is None]
    pool = (
        ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        if args.n_jobs != 1 and todo
        else None
    )
    futures = {}
    for job in todo if pool else []:
        x, y = sample_task(tasks[job[0]], job[1], random_state=args.seed)
        futures[job] = pool.submit(latentmi_job, x, y, args.seed * 1000 + job[1], 1)
    rows, picks = [], []
    for k, task in tasks.items():
        for dataset in range(n_datasets):
            x, y = sample_task(task, dataset, random_state=args.seed)
            path = cache_path(
                args.cache_dir,
                {
                    "task": task.name,
                    "dataset": dataset,
                    "seed": args.seed,
                    "repeats": n_repeats,
                    "dims": args.latent_dims,
                    "preset": args.preset,
                },
            )
            out = cache_get(path)
            if out is None:
                res = scan_latent_dim(
                    x,
                    y,
                    latent_dims=args.latent_dims,
                    n_repeats=n_repeats,
                    random_state=args.seed * 1000 + dataset,
                    n_jobs=args.n_jobs,
                    preset=args.preset,
                    progress=False,
                )
                out = cache_put(path, {"runs": res.runs.to_dict("list"), "chosen": res.chosen, "best": res.best})
            sec = sum(out["runs"]["seconds"])  # fit time, also right when the scan came from the cache
            scan_runs = pd.DataFrame(out["runs"])
            for r in scan_runs.itertuples():
                rows.append(
                    {
                        "k": k,
                        "dataset": dataset,
                        "estimator": "LMI (bioinfo_mi)",
                        "latent_dim": r.latent_dim,
                        "repeat": r.repeat,
                        "estimate": r.estimate,
                        "seconds": r.seconds,
                        "n_samples": n,
                        "d": args.d,
                    }
                )
            picks.append({"k": k, "dataset": dataset, "chosen": out["chosen"], "best": out["best"]})
            print(
                f"k={k} dataset={dataset}: "
                + ", ".join(f"{d}: {g.estimate.mean():.3f}" for d, g in scan_runs.groupby("latent_dim"))
                + f" -> chosen {out['chosen']} (best {out['best']}), {sec:.0f} s of fits",
                flush=True,
            )
    for job in ref_jobs:
        if refs[job] is None:
            if job in futures:
                refs[job] = cache_put(ref_paths[job], futures[job].result())
            else:
                x, y = sample_task(tasks[job[0]], job[1], random_state=args.seed)
                refs[job] = cache_put(ref_paths[job], latentmi_job(x, y, args.seed * 1000 + job[1], args.threads))
        ref = refs[job]
        rows.append(
            {
                "k": job[0],
                "dataset": job[1],
                "estimator": "latentmi 0.1.3",
                "latent_dim": 8,
                "repeat": 0,
                "estimate": ref["estimate"],
                "seconds": ref["seconds"],
                "n_samples": n,
                "d": args.d,
            }
        )
        print(
            f"k={job[0]} dataset={job[1]}: latentmi 0.1.3 (latent 8) {ref['estimate']:.3f}, {ref['seconds']:.0f} s",
            flush=True,
        )
    if pool:
        pool.shutdown()
    elapsed = time.perf_counter() - start
    runs = pd.DataFrame(rows)
    picks = pd.DataFrame(picks)
    runs = runs.merge(picks, on=["k", "dataset"], how="left").rename(
        columns={"chosen": "chosen_by_helper", "best": "best_by_helper"}
    )
    name = "latent_dim_scan" + (f"_{args.tag}" if args.tag else "")
    write(runs, f"{name}_runs")

    summary = (
        runs.groupby(["k", "estimator", "latent_dim"], sort=True)
        .agg(
            n_fits=("estimate", "size"),
            mean=("estimate", "mean"),
            sd=("estimate", "std"),
            median_seconds=("seconds", "median"),
        )
        .reset_index()
    )
    paper = paper_values(args.reference)
    lmi_paper = paper.dropna(subset=["latent_dim"]).set_index("latent_dim").estimate
    summary["paper"] = np.where((summary.k == PAPER_K) & (args.d == D), summary.latent_dim.map(lmi_paper), np.nan)
    summary["ours_minus_paper"] = summary["mean"] - summary["paper"]
    summary["error_vs_truth"] = summary["mean"] - TRUE_MI
    pick_counts = picks.groupby("k").chosen.agg(lambda c: ", ".join(f"{v} ({n}x)" for v, n in c.value_counts().items()))
    summary["helper_picks"] = summary.k.map(pick_counts)
    path = write(summary, name)

    print(
        f"\nLatent-size scan: Algorithm 4, d={args.d}, 1 bit, N={n}, {n_datasets} dataset(s) x {n_repeats} "
        f"fit(s) per size, preset {args.preset!r}; {machine()}; threads {torch.get_num_threads()}, "
        f"n_jobs {args.n_jobs}; {elapsed:.0f} s in all"
    )
    print(f"(paper: N={PAPER_N}, one dataset, one fit per size)\n")
    print(
        summary[
            [
                "k",
                "estimator",
                "latent_dim",
                "n_fits",
                "mean",
                "sd",
                "paper",
                "ours_minus_paper",
                "error_vs_truth",
                "median_seconds",
            ]
        ].to_markdown(index=False, floatfmt=".3f")
    )
    paper_setting = PAPER_K in args.ks and args.d == D
    others = paper[paper.latent_dim.isna()]
    if len(others) and paper_setting:
        print(
            "\npaper, other estimators on the same task: "
            + ", ".join(f"{r.estimator} {r.estimate:.3f}" for r in others.itertuples())
        )
    print("\nscan_latent_dim picks (smallest size within 2 SE of the best mean)\n")
    print(picks.to_markdown(index=False))
    if len(lmi_paper) and paper_setting:
        print(
            f"\nthe paper's single-fit scan has its maximum at {int(lmi_paper.idxmax())} per side; "
            f"LMI-2 is {lmi_paper.max() - lmi_paper.min():.2f} bits below it"
        )
    figure(runs, summary, paper, picks, FIGURES / f"{name}.png")
    print("\nwrote", path, "and", FIGURES / f"{name}.png")


if __name__ == "__main__":
    main()
