"""The single-cell-shaped suite (issue 30): ours beside bmi's estimators and latentmi, same samples, one run.

Tasks: ``bm.benchmark.sc_suite`` (shared discrete states, informative columns among noise up to 2000
per side, Poisson / negative-binomial counts with library-size variation, non-monotone and
heteroscedastic links), each with an exact truth (Monte Carlo on the generating densities to
< 0.005 bits SE, or numerical integration), and two pairings of the lineage simulator, whose
state-level MI only bounds the expression-level MI from above (shown, not scored). Every estimator sees the data sets of
``bm.benchmark.sample_task`` (the same as ``run_benchmark``'s). Errors in bits.

Estimators
    ours: ``auto`` (``bm.mi``'s default), ``ksg``, ``ksg-calibrated``, ``ksg-mixture`` (the copula KSG calibrated
    on Gaussian-mixture twins, session 15; it needs n > d_x + d_y + 2, and in 200 + 200 columns at N = 2000 each fit
    takes minutes: ``--max-d 23`` leaves those tasks out), ``lmi`` (also the tl tools'
    default estimator; its columns screened on the training half since session 13) and ``lmi`` with
    ``screen=False`` (every column: LMI's default before; session 9-12 CSVs name it "LMI (ours)" and the
    screened fit "LMI screen (ours)"), and ``lmi`` with ``precision="float32"`` / ``"bfloat16"`` (the training
    loop's arithmetic, issue 29, session 22: ``--estimators "LMI float32 (ours)" "LMI bfloat16 (ours)" --seeds 4
    --tag s22precision``); bmi
    0.1.3 at its defaults: KSG (``KSGEnsembleFirstEstimator``, k = 5), CCA,
    and with ``--full`` MINE and InfoNCE; latentmi 0.1.3 (the LMI paper's code); torch-mist 0.2.17's
    normalizing-flow estimator (``"torch-mist flow"``: a joint affine autoregressive flow, trained on half the pairs
    and evaluated on the other, on tasks of at most ``FLOW_MAX_D`` columns per side; ``pip install
    torch-mist==0.2.17``). Peers that are not installed are reported as skipped.

    python benchmarks/bench_sc_suite.py            # N = 2000, 2 data sets per task (latentmi: the first)
    python benchmarks/bench_sc_suite.py --full     # N = 2000 and 10 000, 3 data sets, bmi's neural estimators

Targets of issue 30: mean MSE of the default <= 0.05 bits^2 at N = 2000 and 10 000, and no task with
a truth >= 0.3 bits read below 80 % of it (``below_80`` in the summary). Results are cached per
(task, N, data set, estimator) under ``--cache-dir``, so an interrupted run resumes.

Count-aware inputs (issue 30, direction 4): ``--transform raw``, ``log1p`` or ``pearson`` runs only the
count tasks (``raw``: as they are, fitted afresh beside the transforms), each side transformed on its own
before any estimator sees it (``log1p``: every cell's counts scaled to the median total, then ``log1p``, as
``scanpy.pp.normalize_total`` + ``log1p``; ``pearson``: analytic Pearson residuals, Lause et al. 2021,
``theta`` 100, clipped at +-sqrt(N), as ``scanpy.experimental.pp.normalize_pearson_residuals``; ``log1p-only``:
``log1p`` of every count without the scaling, invertible per column, so the truth is exactly the raw one). A transform
of one side alone cannot add information (data processing inequality), so the raw counts' truth bounds the
transformed data's MI from above; the library size, which the normalisations remove, is independent of the
states.

    python benchmarks/bench_sc_suite.py --transform log1p --tag log1p    # also raw, pearson, log1p-only

Setup of the peers: ``pip install -e ".[bench]" && pip install --no-deps benchmark-mi==0.1.3``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    RESULTS,
    bmi_estimator,
    machine,
    ours_estimator,
    recorded_estimate,
    run_latentmi,
    run_torch_mist_flow,
    save_figure,
    write,
    write_json,
)
from tqdm.auto import tqdm

import bioinfo_mi as bm

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
DEFAULT = "auto (ours)"
NEURAL = {"bmi MINE", "bmi InfoNCE"}
#: the normalizing-flow peer (torch-mist's joint flow, ``_common.run_torch_mist_flow``)
FLOW = "torch-mist flow"
#: ... run on tasks of at most this many columns per side (a joint flow on hundreds of columns from 1000 training
#: pairs is neither meaningful nor fast)
FLOW_MAX_D = 50
#: slow peers: on the first data set of each task only, unless --full
SLOW = NEURAL | {"latentmi", FLOW}
#: a task whose truth is at least this many bits must be read at >= 80 % of it
TRUTH_FLOOR = 0.3


def log1p_normalized(counts: np.ndarray) -> np.ndarray:
    """Counts scaled per cell to the median total count, then ``log1p`` (scanpy's normalize_total + log1p)."""
    total = counts.sum(axis=1, keepdims=True)
    return np.log1p(counts * (np.median(total) / np.where(total > 0, total, 1.0)))


def pearson_residuals(counts: np.ndarray, theta: float = 100.0) -> np.ndarray:
    """Analytic Pearson residuals of a negative binomial with overdispersion ``theta`` (Lause et al. 2021), clipped
    at +-sqrt(N), as ``scanpy.experimental.pp.normalize_pearson_residuals``."""
    total = counts.sum()
    mu = counts.sum(axis=1, keepdims=True) @ counts.sum(axis=0, keepdims=True) / total
    residuals = (counts - mu) / np.sqrt(mu + mu**2 / theta)
    clip = np.sqrt(len(counts))
    return np.clip(np.nan_to_num(residuals), -clip, clip)


#: --transform name -> the transform applied to each side of a count task
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "raw": np.asarray,
    "log1p": log1p_normalized,
    "log1p-only": np.log1p,
    "pearson": pearson_residuals,
}


def estimators() -> dict[str, Callable[[np.ndarray, np.ndarray, int], float]]:
    return {
        DEFAULT: ours_estimator("auto"),
        "KSG (ours)": ours_estimator("ksg"),
        "ksg-calibrated (ours)": ours_estimator("ksg-calibrated"),
        "ksg-mixture (ours)": ours_estimator("ksg-mixture"),
        "LMI (ours)": ours_estimator("lmi"),
        "LMI unscreened (ours)": ours_estimator("lmi", screen=False),
        "LMI float32 (ours)": ours_estimator("lmi", precision="float32"),
        "LMI bfloat16 (ours)": ours_estimator("lmi", precision="bfloat16"),
        "bmi KSG": bmi_estimator("KSGEnsembleFirstEstimator"),
        "bmi CCA": bmi_estimator("CCAMutualInformationEstimator"),
        "bmi MINE": bmi_estimator("MINEEstimator", verbose=False),
        "bmi InfoNCE": bmi_estimator("InfoNCEEstimator", verbose=False),
        "latentmi": lambda x, y, seed: run_latentmi(x, y, seed),
        FLOW: run_torch_mist_flow,
    }


def available(name: str) -> bool:
    """Whether the peer behind ``name`` is installed."""
    import importlib.util

    if name.startswith("bmi "):
        return importlib.util.find_spec("bmi") is not None
    if name == "latentmi":
        return importlib.util.find_spec("latentmi") is not None
    if name == FLOW:
        return importlib.util.find_spec("torch_mist") is not None
    return True


def run(
    n_values: list[int],
    n_seeds: int,
    names: list[str],
    cache: Path,
    max_d: int,
    full: bool,
    cached_only: bool = False,
    transform: str = "none",
) -> pd.DataFrame:
    cache.mkdir(parents=True, exist_ok=True)
    ests = estimators()
    rows = []
    for n in n_values:
        tasks = bm.benchmark.sc_suite(n, max_d=max_d)
        if transform != "none":
            tasks = [t for t in tasks if t.params["family"] == "counts"]
        jobs = [(t, s, e) for t in tasks for s in range(n_seeds) for e in names if full or s == 0 or e not in SLOW]
        jobs = [(t, s, e) for t, s, e in jobs if e != FLOW or t.params["d"] <= FLOW_MAX_D]
        data: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        for task, seed, est in tqdm(jobs, desc=f"sc suite N={n}", unit="fit"):
            suffix = "" if transform == "none" else f"__{transform}"
            key = cache / f"{task.name}__s{seed}__{est.replace(' ', '_')}{suffix}.json"
            if key.exists():
                rows.append(json.loads(key.read_text()))
                continue
            if cached_only:
                continue
            if (task.name, seed) not in data:
                data.clear()
                data[(task.name, seed)] = bm.benchmark.sample_task(task, seed)
                if transform != "none":
                    data[(task.name, seed)] = tuple(TRANSFORMS[transform](side) for side in data[(task.name, seed)])
            x, y = data[(task.name, seed)]
            row = {
                "task": task.name,
                "family": task.params["family"],
                "d": task.params["d"],
                "informative_fraction": task.params["informative_fraction"],
                "n_samples": n,
                "seed": seed,
                "estimator": est,
                "true_mi": task.true_mi,
                "true_mi_se": task.params["true_mi_se"],
                "truth": task.params["truth"],
                "transform": transform,
                **recorded_estimate(ests[est], x, y, seed),
            }
            write_json(key, row)
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per task (mean estimate, its ratio to the truth, MSE) and per estimator (mean MSE over the tasks,
    worst task, tasks with truth >= 0.3 bits read below 80 %). Tasks whose truth is only an upper bound
    (the lineage simulator) are in the per-task table, not in the scores; tasks on which an estimator
    failed (e.g. the Gaussian calibration on inputs wider than the samples) are counted in ``n_failed``,
    so its mean MSE is over fewer tasks: compare estimators on equal ``n_tasks``."""
    r = runs.assign(sq=(runs.estimate - runs.true_mi) ** 2)
    per_task = (
        r.groupby(["n_samples", "task", "estimator"])
        .agg(
            family=("family", "first"),
            truth=("truth", "first"),
            d=("d", "first"),
            true_mi=("true_mi", "first"),
            estimate=("estimate", "mean"),
            mse=("sq", "mean"),
            seconds=("seconds", "mean"),
            n_runs=("estimate", "size"),
        )
        .reset_index()
    )
    per_task["ratio"] = per_task.estimate / per_task.true_mi
    rows = []
    for (n, est), all_tasks in per_task[per_task.truth != "upper bound"].groupby(["n_samples", "estimator"]):
        g = all_tasks[all_tasks.estimate.notna()]  # a task where every fit failed is counted apart
        graded = g[g.true_mi >= TRUTH_FLOOR]
        rows.append(
            {
                "n_samples": n,
                "estimator": est,
                "n_tasks": len(g),
                "n_failed": len(all_tasks) - len(g),
                "mean_mse": float(g.mse.mean()),
                "worst_task_mse": float(g.mse.max()),
                "lowest_ratio": float(graded.ratio.min()),
                "below_80": int((graded.ratio < 0.8).sum()),
                "seconds_per_fit": float(g.seconds.mean()),
            }
        )
    summary = pd.DataFrame(rows).sort_values(["n_samples", "mean_mse"])
    return per_task, summary


def figure(per_task: pd.DataFrame, summary: pd.DataFrame, n: int, path: Path) -> Path:
    import matplotlib.pyplot as plt

    g = per_task[per_task.n_samples == n]
    order = list(summary[summary.n_samples == n].estimator)
    wide = g.pivot(index="task", columns="estimator", values="ratio")[order]
    truth = g.groupby("task").true_mi.first().loc[wide.index]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(wide) + 2))
    for i, est in enumerate(order):
        ax.scatter(
            wide[est], np.arange(len(wide)) + (i - len(order) / 2) * 0.07, s=22, label=est, marker="o" if i < 4 else "x"
        )
    ax.axvline(1.0, color="k", lw=1)
    ax.axvspan(0.8, 1.25, color="0.9", zorder=0)
    labels = [f"{t.removeprefix('sc-').rsplit('-g', 1)[0]}  ({v:.2f} bits)" for t, v in truth.items()]
    ax.set_yticks(range(len(wide)), labels, fontsize=7)
    ax.set_xlabel("estimate / truth (mean over data sets)")
    ax.set_title(f"Single-cell-shaped suite, N = {n}")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="N 2000 and 10000, 3 data sets, bmi's neural estimators")
    parser.add_argument("--n", type=int, nargs="+", default=None, help="sample sizes (default 2000; --full 2000 10000)")
    parser.add_argument("--seeds", type=int, default=None, help="data sets per task (default 2; --full 3)")
    parser.add_argument("--estimators", nargs="+", default=None, help="subset of estimator names")
    parser.add_argument("--max-d", type=int, default=2000, help="leave out tasks with more columns per side")
    parser.add_argument("--cache-dir", default=str(RESULTS / "sc_suite_cache"))
    parser.add_argument("--tag", default="", help="suffix of the output files")
    parser.add_argument(
        "--transform", default="none", choices=["none", *TRANSFORMS], help="count tasks only, transformed"
    )
    parser.add_argument("--cached-only", action="store_true", help="summarise the cached fits, run none")
    args = parser.parse_args()
    n_values = args.n or ([2000, 10000] if args.full else [2000])
    n_seeds = args.seeds or (3 if args.full else 2)
    names = args.estimators or [e for e in estimators() if args.full or e not in NEURAL]
    skipped = [e for e in names if not available(e)]
    names = [e for e in names if e not in skipped]
    start = time.perf_counter()
    runs = run(n_values, n_seeds, names, Path(args.cache_dir), args.max_d, args.full, args.cached_only, args.transform)
    per_task, summary = summarize(runs)
    tag = f"_{args.tag}" if args.tag else ""
    write(runs, f"sc_suite{tag}_runs")
    write(per_task, f"sc_suite{tag}")
    write(summary, f"sc_suite{tag}_summary")
    print(f"machine: {machine()}; wall {time.perf_counter() - start:.0f} s")
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_columns", 30):
        for n in n_values:
            g = per_task[per_task.n_samples == n]
            wide = g.pivot(index="task", columns="estimator", values="estimate")
            wide.insert(0, "truth", g.groupby("task").true_mi.first())
            wide.insert(1, "kind", g.groupby("task").truth.first())
            print(f"\nestimates (bits), N={n}; kind 'upper bound': not scored\n{wide.round(3).to_string()}")
        print(f"\nper estimator (MSE in bits^2; below_80: tasks with truth >= {TRUTH_FLOOR} read below 80 %)")
        print(summary.round(4).to_string(index=False))
    for n in n_values:
        print("figure:", figure(per_task, summary, n, FIGURES / f"sc_suite{tag}_n{n}.png"))


if __name__ == "__main__":
    main()
