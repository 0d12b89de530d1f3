"""LMI's latent size at small N: fixed sizes against adaptive rules, on data with a known truth.

LMI scores the held-out half (n_held_out = N / 2) with KSG in 2 * latent_dim dimensions. Below
about ``SAMPLES_PER_DIM`` (10) held-out samples per dimension, i.e. N < 320 at the default
latent_dim = 8, KSG is biased. This script measures, at N = 60 ... 1000, what a smaller latent
size does to the bias and the RMSE, and compares rules that pick the size from n_held_out:

- ``fixed 8``: the paper's size whatever N (the package's behaviour without a rule);
- ``n/20``: clip(n_held_out // 20, 1, 8): the largest size with 10 held-out samples per KSG
  dimension, the level of the "few-samples" warning;
- ``n/20, >=2``: the same with at least 2 per variable (the rule ``lmi`` applies with
  ``preset="default"`` and no ``latent_dim``);
- ``n/10``: clip(n_held_out // 10, 1, 8) (5 samples per dimension);
- ``n/40``: clip(n_held_out // 40, 1, 8) (20 per dimension; it changes N >= 320 too, so it is
  shown as evidence only: the package keeps every result at N >= 320);
- ``best fixed``: the fixed size with the smallest RMSE per task and N (an oracle, for scale).

Tasks
-----
- Algorithm 4 (``bm.datasets.gaussian_low_rank``), d = 100 and 1000, rank 1 and 2, 1 bit: the
  truth is exact.
- Lineage (``bm.datasets.simulate_lineage``, 200 genes of which 100 informative, no unbarcoded
  cells): one day-2 and one day-6 cell per clone, log1p of the normalised counts. The state-level
  truth I(early; late) (``uns['simulation']``) is an upper bound of the expression-level MI (data
  processing). A lower bound comes from the same simulator at 4000 clones: KSG between
  least-squares predictions of the clone state from each cell's expression (fitted on one half,
  scored on the other), I(f(x); g(y)) <= I(x; y). Bias and RMSE are against the state-level truth;
  the bracket is printed so the reader sees how tight it is.

Every (task, N, seed) draws a fresh dataset (seed 1000 * seed + N) and fits LMI (``preset="default"``,
``random_state=seed``, one torch thread) at every latent size, so sizes and rules are compared on
the same data. A rule's estimate at (task, N, seed) is the fit at the size it picks.

    nice -n 10 python benchmarks/bench_small_n_latent.py --cache fits.jsonl > small_n_latent.log 2>&1 &   # whole grid
    # the run in docs/benchmarks.md (cut short on a loaded machine; --time-budget stops starting new cells)
    nice -n 10 python benchmarks/bench_small_n_latent.py --tasks "gauss d=100 rank=1" "gauss d=100 rank=2" \
        "gauss d=1000 rank=1" lineage --ns 60 100 150 200 --dims 1 2 3 4 8 \
        --rules "fixed 8" "n/20" "n/20, >=2" --seeds 2 --cache fits.jsonl

Outputs: ``benchmarks/results/small_n_latent_runs.csv`` (one row per fit),
``small_n_latent.csv`` (bias, sd, RMSE per task, N and rule), ``small_n_latent_pooled.csv``
(pooled over the Gaussian tasks) and ``docs/figures/small_n_latent.png``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import machine, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi.estimators._lmi import SAMPLES_PER_DIM, lmi

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
NS = (60, 100, 150, 200, 320, 500, 1000)
DIMS = (1, 2, 3, 4, 6, 8)
LINEAGE = {"n_genes": 200, "n_informative": 100, "n_unbarcoded": 0}


def rule_dim(n: int, per_dim: int, lo: int = 1, hi: int = 8) -> int:
    """clip(n_held_out // (2 * per_dim), lo, hi) for N = n samples (n_held_out = round(N / 2), as in LMI)."""
    n_est = int(round(n * 0.5))
    return int(np.clip(n_est // (2 * per_dim), lo, hi))


RULES = {
    "fixed 8": lambda n: 8,
    "n/20": lambda n: rule_dim(n, SAMPLES_PER_DIM),
    "n/20, >=2": lambda n: rule_dim(n, SAMPLES_PER_DIM, lo=2),
    "n/10": lambda n: rule_dim(n, SAMPLES_PER_DIM // 2),
    "n/40": lambda n: rule_dim(n, 2 * SAMPLES_PER_DIM),
}


def lineage_pairs(n_clones: int, seed: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """One random day-2 and one random day-6 cell per clone: log1p expression (x early, y late), the
    state-level truth I(early; late) in bits, and each pair's clone state.
    """
    adata = bm.datasets.simulate_lineage(n_clones=n_clones, random_state=seed, **LINEAGE)
    rng = np.random.default_rng(seed + 1)
    clone = adata.obs["clone"].to_numpy()
    early = adata.obs["time"].to_numpy() == 2.0
    index = pd.Series(np.arange(adata.n_obs))
    pick = {}
    for is_early in (True, False):
        rows = index[early == is_early].to_numpy()
        groups = pd.Series(rows).groupby(clone[rows]).apply(lambda r: r.to_numpy()[rng.integers(len(r))])
        pick[is_early] = groups
    clones = pick[True].index.intersection(pick[False].index)
    matrix = adata.X.toarray()
    x = np.log1p(matrix[pick[True].loc[clones].to_numpy()])
    y = np.log1p(matrix[pick[False].loc[clones].to_numpy()])
    state = adata.obs.loc[adata.obs_names[pick[True].loc[clones].to_numpy()], "true_clone_state"].to_numpy()
    return x, y, float(adata.uns["simulation"]["I_early_late_bits"]), state


def lineage_lower_bound(n_clones: int = 4000, seed: int = 12345) -> float:
    """I(f(x); g(y)) with f, g least-squares predictions of the clone state (a lower bound of I(x; y))."""
    x, y, _, state = lineage_pairs(n_clones, seed)
    half = len(x) // 2
    preds = []
    for a in (x, y):
        design = np.column_stack([np.ones(len(a)), a])
        coef, *_ = np.linalg.lstsq(design[:half], state[:half], rcond=None)
        preds.append(design[half:] @ coef)
    return float(bm.mi(preds[0], preds[1], method="ksg", random_state=0).mi)


def tasks(names: list[str]) -> dict[str, dict]:
    out = {}
    for d in (100, 1000):
        for rank in (1, 2):
            out[f"gauss d={d} rank={rank}"] = {"kind": "gauss", "d": d, "rank": rank}
    out["lineage"] = {"kind": "lineage", "d": LINEAGE["n_genes"]}
    return {name: out[name] for name in (names or out)}


def make_data(spec: dict, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    data_seed = 1000 * seed + n
    if spec["kind"] == "gauss":
        x, y = bm.datasets.gaussian_low_rank(
            d=spec["d"], rank=spec["rank"], n_samples=n, mi_bits=1.0, random_state=data_seed
        )
        return x, y, 1.0
    x, y, truth, _ = lineage_pairs(n, data_seed)
    return x, y, truth


def dims_for(spec: dict, n: int, max_cost: float, dims: tuple[int, ...] = DIMS) -> list[int]:
    """Fixed sizes plus every size a rule picks at this N; the costliest cells keep the rules' sizes only."""
    needed = {rule(n) for rule in RULES.values()}
    if spec["d"] * n > max_cost:
        return sorted(needed)
    return sorted(set(dims) | needed)


def fit(x: np.ndarray, y: np.ndarray, latent_dim: int, seed: int) -> dict:
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = lmi(x, y, latent_dim=latent_dim, random_state=seed)
    kinds = sorted({w.message.kind for w in record if isinstance(w.message, bm.EstimateWarning)})
    return {
        "estimate": res.mi,
        "n_epochs": len(res.history),
        "seconds": time.perf_counter() - start,
        "warnings": ";".join(kinds),
    }


def summarise(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (task, N, rule): mean, bias, sd, RMSE over seeds; and the same pooled over the Gaussian tasks."""
    rows = []
    for (task, n, seed), group in runs.groupby(["task", "n", "seed"]):
        by_dim = group.set_index("latent_dim").estimate
        truth = group.truth.iloc[0]
        for name, rule in RULES.items():
            if rule(n) in by_dim.index:
                rows.append(
                    {
                        "task": task,
                        "n": n,
                        "seed": seed,
                        "rule": name,
                        "latent_dim": rule(n),
                        "truth": truth,
                        "estimate": by_dim.loc[rule(n)],
                    }
                )
        for dim, est in by_dim.items():
            rows.append(
                {
                    "task": task,
                    "n": n,
                    "seed": seed,
                    "rule": f"fixed {dim}",
                    "latent_dim": dim,
                    "truth": truth,
                    "estimate": est,
                }
            )
    picks = pd.DataFrame(rows).drop_duplicates(["task", "n", "seed", "rule"])
    picks["error"] = picks.estimate - picks.truth

    def agg(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return (
            frame.groupby(keys, sort=False)
            .agg(
                latent_dim=("latent_dim", lambda v: "/".join(str(s) for s in sorted(set(v)))),
                n_fits=("error", "size"),
                mean=("estimate", "mean"),
                bias=("error", "mean"),
                sd=("estimate", "std"),
                rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
            )
            .reset_index()
        )

    table = agg(picks, ["task", "n", "rule"])
    # the oracle: per task and N the fixed size with the smallest RMSE
    fixed = table[table.rule.str.match(r"fixed \d+$") & (table.rule != "fixed 8")]
    fixed = pd.concat([fixed, table[table.rule == "fixed 8"]])
    best = fixed.loc[fixed.groupby(["task", "n"]).rmse.idxmin()].assign(rule="best fixed")
    table = pd.concat([table, best], ignore_index=True)
    gauss = picks[picks.task.str.startswith("gauss")]
    pooled = agg(gauss[gauss.rule.isin(list(RULES))], ["n", "rule"])
    return table.sort_values(["task", "n", "rule"]), pooled.sort_values(["n", "rule"])


def figure(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table.task))
    shown = [*RULES, "best fixed"]
    fig, axes = plt.subplots(2, len(names), figsize=(3.6 * len(names), 6.4), squeeze=False, sharex=True)
    for col, task in enumerate(names):
        t = table[table.task == task]
        for rule in shown:
            r = t[t.rule == rule].sort_values("n")
            style = {"ls": ":", "color": "grey"} if rule == "best fixed" else {"marker": "o", "ms": 3}
            axes[0, col].plot(r.n, r.bias, label=rule, **style)
            axes[1, col].plot(r.n, r.rmse, label=rule, **style)
        axes[0, col].axhline(0, color="k", lw=0.6)
        axes[0, col].set_title(task, fontsize=9)
        axes[1, col].set_xscale("log")
        axes[1, col].set_xlabel("N (samples; held out N/2)")
        for ax in axes[:, col]:
            ax.axvline(2 * 2 * SAMPLES_PER_DIM * 8, color="r", lw=0.6, ls="--")
    axes[0, 0].set_ylabel("bias (bits)")
    axes[1, 0].set_ylabel("RMSE (bits)")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle("LMI latent size at small N (red: N = 320, where 8 per side has 10 held-out samples per dimension)")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int, nargs="+", default=list(NS))
    parser.add_argument("--seeds", type=int, default=4, help="datasets (= fit seeds) per task at N < 320")
    parser.add_argument("--large-seeds", type=int, default=2, help="datasets per task at N >= 320")
    parser.add_argument("--tasks", nargs="*", default=None, help="subset of task names (default all)")
    parser.add_argument(
        "--max-cost",
        type=float,
        default=200_000,
        help="d * N above which only the rules' sizes are fitted (default: d = 1000 at N >= 320)",
    )
    parser.add_argument(
        "--time-budget", type=float, default=float("inf"), help="seconds after which no new (task, N, seed) starts"
    )
    parser.add_argument("--dims", type=int, nargs="+", default=list(DIMS), help="fixed latent sizes per variable")
    parser.add_argument(
        "--rules", nargs="+", default=list(RULES), help=f"rules to evaluate, of {list(RULES)} (their sizes are fitted)"
    )
    parser.add_argument("--cache", default=None, help="JSON-lines file of finished fits (resume)")
    parser.add_argument("--tag", default="", help="suffix of the output names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    unknown = set(args.rules) - set(RULES)
    if unknown:
        parser.error(f"unknown rules {sorted(unknown)}; valid: {list(RULES)}")
    for name in set(RULES) - set(args.rules):
        del RULES[name]
    start = time.perf_counter()
    cache: dict[str, dict] = {}
    cache_path = Path(args.cache) if args.cache else None
    if cache_path is not None and cache_path.exists():
        for line in cache_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                cache[row["key"]] = row
    # cells in order of priority: two seeds at small N, one at large N, then the rest, so that a run
    # cut by --time-budget still covers every task and N evenly
    specs = tasks(args.tasks)
    cells = [
        (task, n, seed)
        for seed in range(max(args.seeds, args.large_seeds))
        for n in args.ns
        for task in specs
        if seed < (args.seeds if n < 320 else args.large_seeds)
    ]
    cells.sort(key=lambda c: ((c[2] >= 2) * 2 + (c[1] >= 320) if c[1] < 320 else 1 + 2 * (c[2] >= 1), c[2]))
    rows = []
    for task, n, seed in cells:
        cached = all(
            f"{task}|{n}|{seed}|{dim}" in cache for dim in dims_for(specs[task], n, args.max_cost, tuple(args.dims))
        )
        if not cached and time.perf_counter() - start > args.time_budget:
            print(f"time budget of {args.time_budget:.0f} s spent: {task} N={n} seed={seed} skipped")
            continue
        spec, data, done = specs[task], None, []
        for dim in dims_for(spec, n, args.max_cost, tuple(args.dims)):
            key = f"{task}|{n}|{seed}|{dim}"
            if key not in cache:
                if data is None:
                    data = make_data(spec, n, seed)
                x, y, truth = data
                out = {"key": key, "truth": truth, **fit(x, y, dim, seed)}
                cache[key] = out
                if cache_path is not None:
                    with cache_path.open("a") as fh:
                        fh.write(json.dumps(out) + "\n")
            done.append({"task": task, "n": n, "seed": seed, "latent_dim": dim, **cache[key]})
        rows += done
        print(
            f"{task} N={n} seed={seed}: "
            + ", ".join(f"{r['latent_dim']}: {r['estimate']:.3f}" for r in done)
            + f" ({sum(r['seconds'] for r in done):.0f} s)",
            flush=True,
        )
    runs = pd.DataFrame(rows).drop(columns="key")
    name = "small_n_latent" + (f"_{args.tag}" if args.tag else "")
    write(runs, f"{name}_runs")
    table, pooled = summarise(runs)
    write(table, name)
    write(pooled, f"{name}_pooled")
    elapsed = time.perf_counter() - start

    print(f"\nLMI latent size at small N; preset 'default', 1 torch thread; {machine()}; {elapsed:.0f} s wall")
    print(f"fits: {len(runs)}, {runs.seconds.sum():.0f} s of fitting\n")
    show = pooled.pivot(index="n", columns="rule", values=["bias", "rmse"])
    n_gauss = runs.task.str.startswith("gauss").groupby(runs.task).first().sum()
    print(f"Pooled over the {n_gauss} Gaussian tasks (truth 1 bit), bias / RMSE in bits:\n")
    cells = pd.DataFrame(
        {
            rule: [f"{b:+.3f} / {r:.3f}" for b, r in zip(show["bias"][rule], show["rmse"][rule], strict=True)]
            for rule in RULES
        },
        index=show.index,
    )
    sizes = pd.DataFrame({rule: [RULES[rule](n) for n in show.index] for rule in RULES}, index=show.index)
    print(cells.assign(**{"sizes (" + ", ".join(RULES) + ")": sizes.astype(str).agg("/".join, axis=1)}).to_markdown())
    if "lineage" in set(runs.task):
        low = lineage_lower_bound()
        truth = runs[runs.task == "lineage"].truth.iloc[0]
        lin = table[table.task == "lineage"]
        best = lin[lin.rule == "best fixed"].set_index("n")
        lin = lin[lin.rule.isin(list(RULES))]
        print(
            f"\nLineage (state-level truth {truth:.3f} bits, an upper bound; lower bound from the clone-state "
            f"predictions at 4000 clones {low:.3f}); bias vs the state-level truth / RMSE:\n"
        )
        lshow = lin.pivot(index="n", columns="rule", values=["bias", "rmse"])
        lcells = pd.DataFrame(
            {
                rule: [f"{b:+.3f} / {r:.3f}" for b, r in zip(lshow["bias"][rule], lshow["rmse"][rule], strict=True)]
                for rule in RULES
            },
            index=lshow.index,
        )
        lcells["best fixed (size)"] = [f"{best.rmse[n]:.3f} ({best.latent_dim[n]})" for n in lcells.index]
        print(lcells.to_markdown())
    print("\nPer task (RMSE; best fixed size in brackets):\n")
    per = table[table.rule.isin([*RULES, "best fixed"])]
    wide = per.pivot_table(index=["task", "n"], columns="rule", values="rmse").round(3)
    wide["best size"] = per[per.rule == "best fixed"].set_index(["task", "n"]).latent_dim
    print(wide.to_markdown())
    figure(table[table.rule.isin([*RULES, "best fixed"])], FIGURES / f"{name}.png")
    print(f"\nwrote benchmarks/results/{name}_runs.csv, {name}.csv, {name}_pooled.csv and docs/figures/{name}.png")


if __name__ == "__main__":
    main()
