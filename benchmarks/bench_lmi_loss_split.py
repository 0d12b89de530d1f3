"""Where LMI loses on the single-cell-shaped suite (issue 30): the encoders or the KSG on 1000 held-out codes?

LMI's estimate at N = 2000 is KSG on the codes of its 1000 held-out pairs. It reads below the truth for two reasons:
the trained encoders keep less than all the information (data processing), and KSG on 1000 pairs of 8 + 8-dimensional
codes underestimates what the codes carry. The generating densities of ``bm.benchmark.sc_suite`` do not change with
the sample, so fresh pairs of the same task (drawn with seeds no fit saw, from the task's N = 10 000 twin) pushed
through the trained encoders measure the two apart: KSG on 1000, 4000 and ``--fresh`` fresh code pairs (the largest
scored on 4000 random queries against all, ``ksg_pointwise(..., queries=...)``) converges towards the MI the codes
carry. ``encoder loss`` = truth - KSG on the most fresh codes (an upper bound on the encoders' loss: KSG still
underestimates there); ``KSG shortfall`` = KSG on the most fresh codes - KSG on 1000 fresh codes. The lineage tasks
are left out (their truth only bounds the MI, and the simulator's programs differ between seeds).

Prints the table, writes ``benchmarks/results/lmi_loss_split[_<tag>].csv`` and a figure in ``docs/figures``.
No peer appears: the question is about our estimator's own two stages (the suite's peers are in
``bench_sc_suite.py``).

    python benchmarks/bench_lmi_loss_split.py                 # 12 tasks x 2 data sets, N = 2000 (~5 min on 2 cores)
    python benchmarks/bench_lmi_loss_split.py --seeds 0 --fresh 10000 --tag quick
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi.estimators import ksg_pointwise

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
#: seeds of the fresh samples (no fit of the suite uses them)
FRESH_SEEDS = (1000, 1001, 1002, 1003)
QUERIES = 4000


def fresh_pairs(task: bm.benchmark.Task, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` pairs of ``task``'s generating density, from its N = 10 000 twin drawn with :data:`FRESH_SEEDS`."""
    twin = next(t for t in bm.benchmark.sc_suite(10_000) if t.name == task.name.replace("-n2000", "-n10000"))
    xs, ys = [], []
    for seed in FRESH_SEEDS:
        x, y = bm.benchmark.sample_task(twin, seed)
        xs.append(x)
        ys.append(y)
        if sum(len(a) for a in xs) >= m:
            break
    if sum(len(a) for a in xs) < m:
        raise SystemExit(f"--fresh {m}: at most {len(FRESH_SEEDS) * 10_000} fresh pairs")
    return np.vstack(xs)[:m], np.vstack(ys)[:m]


def split_one(task: bm.benchmark.Task, seed: int, fresh: int) -> dict:
    """LMI on one data set of ``task``, then KSG on growing sets of fresh codes of its encoders."""
    x, y = bm.benchmark.sample_task(task, seed)
    res = bm.mi(x, y, method="lmi", random_state=seed)
    zx, zy = res.model.encode(*fresh_pairs(task, fresh))
    rng = np.random.default_rng(seed)
    row = {"task": task.name, "family": task.params["family"], "seed": seed, "truth": task.true_mi, "lmi": res.mi}
    for m in (1000, 4000, fresh):
        idx = rng.choice(fresh, size=m, replace=False)
        queries = None if m <= QUERIES else np.sort(rng.choice(m, size=QUERIES, replace=False))
        row[f"fresh_ksg_{m}"] = float(np.mean(ksg_pointwise(zx[idx], zy[idx], queries=queries)))
    row["encoder_loss"] = row["truth"] - row[f"fresh_ksg_{fresh}"]
    row["ksg_shortfall"] = row[f"fresh_ksg_{fresh}"] - row["fresh_ksg_1000"]
    return row


def figure(summary: pd.DataFrame, fresh: int, tag: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    pos = np.arange(len(summary))
    for j, (col, label) in enumerate(
        [("truth", "truth"), (f"fresh_ksg_{fresh}", f"KSG, {fresh} fresh codes"), ("lmi", "LMI (1000 held-out)")]
    ):
        ax.bar(pos + (j - 1) * 0.27, summary[col], width=0.27, label=label)
    ax.set_xticks(pos)
    labels = [t.replace("sc-", "").replace("-n2000", "")[:34] for t in summary.index]
    ax.set_xticklabels(labels, rotation=60, ha="right")
    ax.set_ylabel("bits")
    ax.set_title("LMI at N = 2000: what its encoders keep and what KSG on 1000 codes reads")
    ax.legend()
    return save_figure(fig, FIGURES / f"lmi_loss_split{tag}.png", tight=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="data sets per task (the suite's seeds)")
    parser.add_argument("--fresh", type=int, default=20_000, help="most fresh pairs pushed through the encoders")
    parser.add_argument("--tag", default="", help="suffix of the output names")
    args = parser.parse_args()
    if args.fresh <= 4000:
        parser.error("--fresh must exceed 4000 (KSG on 1000 and 4000 fresh codes is always reported)")
    tag = f"_{args.tag}" if args.tag else ""
    tasks = [t for t in bm.benchmark.sc_suite(2000) if t.params["family"] != "lineage"]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)
        for task in tasks:
            for seed in args.seeds:
                rows.append(split_one(task, seed, args.fresh))
                r = rows[-1]
                print(
                    f"{task.name:70s} seed {seed}: truth {r['truth']:.3f}  LMI {r['lmi']:.3f}  fresh codes "
                    f"{r['fresh_ksg_1000']:.3f} / {r['fresh_ksg_4000']:.3f} / {r[f'fresh_ksg_{args.fresh}']:.3f}",
                    flush=True,
                )
    table = pd.DataFrame(rows)
    cols = ["truth", "lmi", "fresh_ksg_1000", "fresh_ksg_4000", f"fresh_ksg_{args.fresh}", "encoder_loss"]
    summary = table.groupby("task")[[*cols, "ksg_shortfall"]].mean()
    print(f"\nmean over data sets (bits); {machine()}")
    print(summary.round(3).to_string())
    print(
        f"\nover {len(summary)} tasks: truth - LMI {(summary.truth - summary.lmi).mean():.3f} bits, of which encoder "
        f"loss (at most) {summary.encoder_loss.mean():.3f} and KSG's shortfall on 1000 fresh codes "
        f"{summary.ksg_shortfall.mean():.3f}"
    )
    print(f"wrote {write(table, f'lmi_loss_split{tag}')} and {figure(summary, args.fresh, tag)}")


if __name__ == "__main__":
    main()
