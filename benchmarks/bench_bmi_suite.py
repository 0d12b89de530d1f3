"""The ``bmi`` benchmark suite (Czyz et al., "Beyond Normal", NeurIPS 2023): ours beside every
estimator that ``benchmark-mi`` ships and beside latentmi, on the same samples, in one run.

Data: the 40 tasks of ``bmi.benchmark.BENCHMARK_TASKS`` (multinormal dense/sparse, Student-t,
normal-CDF / half-cube / spiral / asinh transforms, additive noise, bimodal, swiss roll), sampled
with bmi's own ``task.sample(N, seed)``. Every estimator sees exactly those samples. Errors in bits.

Estimators
    ours: ``method="auto"`` (the calibrated copula KSG on every task of this suite, since all have
    ``d_x + d_y <= 100 <= N / 20``), the package default ``lmi`` (its columns screened since session 13;
    and ``lmi`` with ``screen=False``, only when named: issue 30), and plain ``ksg`` (k=3); when named,
    ``ksg-calibrated`` and ``ksg-mixture`` (the copula KSG calibrated on Gaussian-mixture twins, session 15);
    bmi 0.1.3 at its defaults: KSG (``KSGEnsembleFirstEstimator``, k=5), CCA (Gaussian), histogram
    (5 bins per axis; only where ``d_x + d_y <= 10``, beyond that the bins outnumber the samples by
    orders of magnitude and it takes minutes), KDE, MINE, InfoNCE, NWJ, Donsker-Varadhan;
    latentmi 0.1.3 (the LMI paper's code) at its defaults.

    python benchmarks/bench_bmi_suite.py           # reduced: N=2000, seed 0 (about 20 min on 2 cores)
    python benchmarks/bench_bmi_suite.py --full    # every estimator on all 40 tasks, N=2000 and 5000, 3 seeds
    python benchmarks/bench_bmi_suite.py --estimators "LMI unscreened (ours)" "LMI (ours)" --n 2000 5000 --seeds 3 \
        --tag screen --cache-dir /tmp/bmi_screen    # the screen on the ten core tasks, both fitted afresh
    (session 12 ran the last before the screen became LMI's default: its "LMI (ours)" is today's
    "LMI unscreened (ours)", its "LMI screen (ours)" today's "LMI (ours)")

Reduced default: the cheap estimators (ours, bmi's KSG, CCA, histogram, KDE) on all 40 tasks; the
slow ones (our LMI, bmi's four neural estimators, latentmi) on the ten tasks of issue 11 (``CORE``).
Mean MSE is reported on the tasks where every estimator in the comparison ran. Results are cached
per (task, N, seed, estimator) under ``--cache-dir``, so an interrupted run resumes.

Setup (``benchmark-mi`` pins pandas<2 and pydantic<2, which the package's own dependencies exclude,
so it is installed without its pins; it runs with pandas 2):

    pip install -e ".[bench]" && pip install --no-deps benchmark-mi==0.1.3
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
    save_figure,
    write,
    write_json,
)
from tqdm.auto import tqdm

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
LN2 = np.log(2.0)

#: the ten tasks named in issue 11 (dense, sparse, Student-t and the transformed sparse tasks)
CORE = [
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-sparse-25-25-2-2.0",
    "student-identity-3-3-2",
    "student-identity-5-5-2",
    "normal_cdf-multinormal-sparse-25-25-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
]

#: estimators that are slow enough to run only on CORE in the reduced default
SLOW = {"LMI (ours)", "LMI unscreened (ours)", "bmi MINE", "bmi InfoNCE", "bmi NWJ", "bmi DV", "latentmi"}
DEFAULT = "auto (ours)"
#: estimators that run only when named with --estimators
ONLY_NAMED = {"LMI unscreened (ours)", "ksg-calibrated (ours)", "ksg-mixture (ours)"}
HISTOGRAM_MAX_DIM = 10


def estimators() -> dict[str, Callable[[np.ndarray, np.ndarray, int], float]]:
    neural = {"verbose": False}  # bmi 0.1.3's own option (our estimators call it progress)
    return {
        DEFAULT: ours_estimator("auto"),
        "LMI (ours)": ours_estimator("lmi"),
        "LMI unscreened (ours)": ours_estimator("lmi", screen=False),
        "KSG (ours)": ours_estimator("ksg"),
        "ksg-calibrated (ours)": ours_estimator("ksg-calibrated"),
        "ksg-mixture (ours)": ours_estimator("ksg-mixture"),
        "bmi KSG": bmi_estimator("KSGEnsembleFirstEstimator"),
        "bmi CCA": bmi_estimator("CCAMutualInformationEstimator"),
        "bmi histogram": bmi_estimator("HistogramEstimator"),
        "bmi KDE": bmi_estimator("KDEMutualInformationEstimator"),
        "bmi MINE": bmi_estimator("MINEEstimator", **neural),
        "bmi InfoNCE": bmi_estimator("InfoNCEEstimator", **neural),
        "bmi NWJ": bmi_estimator("NWJEstimator", **neural),
        "bmi DV": bmi_estimator("DonskerVaradhanEstimator", **neural),
        "latentmi": lambda x, y, seed: run_latentmi(x, y, seed),
    }


def runs_for(task: str, n_features: int, name: str, full: bool) -> bool:
    if name == "bmi histogram" and n_features > HISTOGRAM_MAX_DIM:
        return False
    return full or name not in SLOW or task in CORE


def run(n_values: list[int], seeds: list[int], names: list[str], full: bool, cache: Path) -> pd.DataFrame:
    from bmi.benchmark import BENCHMARK_TASKS

    ests = estimators()
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [
        (t, n, s, e)
        for t in BENCHMARK_TASKS
        for n in n_values
        for s in seeds
        for e in names
        if runs_for(t, BENCHMARK_TASKS[t].dim_x + BENCHMARK_TASKS[t].dim_y, e, full)
    ]
    rows, samples = [], {}
    for task_name, n, seed, est in tqdm(jobs, desc="bmi suite", unit="fit"):
        task = BENCHMARK_TASKS[task_name]
        key = cache / f"{task_name}__n{n}__s{seed}__{est.replace(' ', '_')}.json"
        if key.exists():
            rows.append(json.loads(key.read_text()))
            continue
        if (task_name, n, seed) not in samples:
            samples.clear()
            x, y = task.sample(n, seed=seed)
            samples[(task_name, n, seed)] = (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        x, y = samples[(task_name, n, seed)]
        row = {
            "task": task_name,
            "n_samples": n,
            "seed": seed,
            "estimator": est,
            "dim_x": task.dim_x,
            "dim_y": task.dim_y,
            "true_mi": task.mutual_information / LN2,
            **recorded_estimate(ests[est], x, y, seed),
        }
        write_json(key, row)
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-task table (mean estimate and MSE per estimator) and the mean MSE per estimator on the
    tasks where every compared estimator ran (``common``) and on all the tasks it ran (``own``)."""
    r = runs.assign(sq=(runs.estimate - runs.true_mi) ** 2)
    per_task = (
        r.groupby(["n_samples", "task", "estimator"])
        .agg(
            true_mi=("true_mi", "first"), estimate=("estimate", "mean"), mse=("sq", "mean"), seconds=("seconds", "mean")
        )
        .reset_index()
    )
    rows = []
    for n, g in per_task.groupby("n_samples"):
        wide = g.pivot(index="task", columns="estimator", values="mse")
        for scope, tasks in (("core", [t for t in CORE if t in wide.index]), ("all", list(wide.index))):
            sub = wide.loc[tasks]
            complete = sub.columns[sub.notna().all()]  # estimators that ran on every task of the scope
            for est in complete:
                rows.append(
                    {
                        "n_samples": n,
                        "scope": scope,
                        "n_tasks": len(tasks),
                        "estimator": est,
                        "mean_mse": float(sub[est].mean()),
                        "worst_task_mse": float(sub[est].max()),
                        "seconds_per_task": float(g[g.estimator == est].seconds.mean()),
                    }
                )
    summary = pd.DataFrame(rows).sort_values(["n_samples", "scope", "mean_mse"])
    return per_task, summary


def vs_ksg(per_task: pd.DataFrame) -> pd.DataFrame:
    """Per task and N: |error| of ``auto`` minus |error| of bmi's KSG (positive = auto worse), bits."""
    g = per_task.assign(abs_err=(per_task.estimate - per_task.true_mi).abs())
    wide = g.pivot_table(index=["n_samples", "task"], columns="estimator", values="abs_err")
    return (wide[DEFAULT] - wide["bmi KSG"]).rename("auto_minus_bmi_ksg").reset_index()


def figure(per_task: pd.DataFrame, summary: pd.DataFrame, n: int, path: Path) -> Path:
    import matplotlib.pyplot as plt

    g = per_task[per_task.n_samples == n]
    err = g.assign(err=g.estimate - g.true_mi).pivot(index="task", columns="estimator", values="err")
    s = summary[(summary.n_samples == n) & (summary.scope == "core")]
    order = list(s.estimator) + [c for c in err.columns if c not in set(s.estimator)]
    err = err[order]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(16, 11), gridspec_kw={"width_ratios": [1, 2.4]})
    ax0.barh(s.estimator, s.mean_mse, color=["tab:red" if e == DEFAULT else "tab:gray" for e in s.estimator])
    ax0.invert_yaxis()
    ax0.set_xscale("log")
    ax0.set_xlabel(f"mean MSE (bits$^2$), {len(CORE)} core tasks, N={n}")
    im = ax1.imshow(err.to_numpy(), cmap="RdBu", vmin=-1.5, vmax=1.5, aspect="auto")
    ax1.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize=8)
    ax1.set_yticks(range(len(err.index)), err.index, fontsize=7)
    fig.colorbar(im, ax=ax1, label="estimate - truth (bits); white: not run")
    ax1.set_title("bmi benchmark suite: error per task")
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="all estimators on all tasks, N 2000 and 5000, 3 seeds")
    parser.add_argument("--n", type=int, nargs="+", default=None, help="sample sizes (default 2000; --full 2000 5000)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per task (default 1; --full 3)")
    parser.add_argument("--estimators", nargs="+", default=None, help="subset of estimator names")
    parser.add_argument("--cache-dir", default=str(RESULTS / "bmi_suite_cache"))
    parser.add_argument("--tag", default="", help="suffix of the output files")
    args = parser.parse_args()
    n_values = args.n or ([2000, 5000] if args.full else [2000])
    seeds = list(range(args.seeds or (3 if args.full else 1)))
    names = args.estimators or [e for e in estimators() if e not in ONLY_NAMED]
    start = time.perf_counter()
    runs = run(n_values, seeds, names, args.full, Path(args.cache_dir))
    per_task, summary = summarize(runs)
    tag = f"_{args.tag}" if args.tag else ""
    write(runs, f"bmi_suite{tag}_runs")
    write(per_task, f"bmi_suite{tag}")
    write(summary, f"bmi_suite{tag}_summary")
    print(f"machine: {machine()}; wall {time.perf_counter() - start:.0f} s (cached fits count 0)")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        for n in n_values:
            wide = per_task[per_task.n_samples == n].pivot(index="task", columns="estimator", values="estimate")
            wide.insert(0, "truth", per_task[per_task.n_samples == n].groupby("task").true_mi.first())
            print(f"\nestimates (bits), N={n}\n{wide.round(3).to_string()}")
        print(f"\nmean MSE (bits^2)\n{summary.round(4).to_string(index=False)}")
        if DEFAULT in names and "bmi KSG" in names:
            d = vs_ksg(per_task)
            worst = d.loc[d.groupby("n_samples").auto_minus_bmi_ksg.idxmax()]
            print("\nworst task, |error| of auto minus |error| of bmi's KSG (bits):")
            print(worst.round(3).to_string())
            write(d, f"bmi_suite{tag}_vs_ksg")
    for n in n_values:
        print("figure:", figure(per_task, summary, n, FIGURES / f"bmi_suite{tag}_n{n}.png"))


if __name__ == "__main__":
    main()
