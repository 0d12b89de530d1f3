"""Clustered data: X and Y share a discrete state (as cell types are shared), truth by Monte Carlo.

Each pair draws a state ``L`` uniformly from ``n_states``; ``X = cx[L] + e``, ``Y = cy[L] + e'``
with unit Gaussian noise and state centres drawn once per task with spread ``separation``. The MI
is at most ``log2(n_states)`` bits and approaches it as the clusters separate. Its exact value is
computed from the known mixture densities, ``E log p(x, y) / (p(x) p(y))``, over 200 000 fresh
draws (Monte-Carlo SE printed). This is the case where the Gaussian model behind
``ksg-calibrated`` / ``method="auto"`` overstates the MI (the correlations are strong, the
dependence is at most ``log2(n_states)`` bits) and what the guard of ``ksg-calibrated`` must catch
for ``auto`` to be the package default.

    python benchmarks/bench_clustered.py     # 6 tasks x 3 seeds, N = 1000 (about 3 min on 2 cores)
    python benchmarks/bench_clustered.py --methods ksg-calibrated ksg-mixture --tag _mixture   # session 15
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, write
from scipy.special import logsumexp

import bioinfo_mi as bm
from bioinfo_mi.estimators import copula_transform, gaussian_mi

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
TASKS = [(4, 10, 1.0), (4, 10, 3.0), (4, 20, 1.0), (4, 20, 2.0), (8, 20, 2.0), (4, 50, 2.0)]
METHODS = ["auto", "ksg-calibrated", "lmi", "ksg"]


def centres(n_states: int, d: int, separation: float, task_seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(task_seed)
    return rng.normal(size=(n_states, d)) * separation, rng.normal(size=(n_states, d)) * separation


def sample(cx: np.ndarray, cy: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lab = rng.integers(0, len(cx), n)
    return cx[lab] + rng.normal(size=(n, cx.shape[1])), cy[lab] + rng.normal(size=(n, cy.shape[1]))


def true_mi(cx: np.ndarray, cy: np.ndarray, n_mc: int = 200_000, seed: int = 12345) -> tuple[float, float]:
    """Monte-Carlo MI (bits) and its SE from the exact mixture densities (unit-variance components)."""
    x, y = sample(cx, cy, n_mc, np.random.default_rng(seed))
    # log N(x; c, I) up to a constant that cancels in the ratio: -|x - c|^2 / 2
    lx = -0.5 * ((x[:, None, :] - cx[None]) ** 2).sum(-1)  # (n, states)
    ly = -0.5 * ((y[:, None, :] - cy[None]) ** 2).sum(-1)
    log_pi = -np.log(len(cx))
    joint = logsumexp(lx + ly + log_pi, axis=1)
    px, py = logsumexp(lx + log_pi, axis=1), logsumexp(ly + log_pi, axis=1)
    pmi = (joint - px - py) / np.log(2)
    return float(pmi.mean()), float(pmi.std() / np.sqrt(n_mc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=METHODS, help="estimators run (bm.mi method names)")
    parser.add_argument("--tag", default="", help="suffix of the output files (clustered{tag}.csv)")
    args = parser.parse_args()
    methods = args.methods
    rows = []
    start = time.perf_counter()
    for t, (n_states, d, sep) in enumerate(TASKS):
        cx, cy = centres(n_states, d, sep, task_seed=100 + t)
        truth, se = true_mi(cx, cy)
        for seed in range(args.seeds):
            x, y = sample(cx, cy, args.n, np.random.default_rng(seed))
            row = {
                "states": n_states,
                "d": d,
                "separation": sep,
                "seed": seed,
                "true_mi": truth,
                "truth_se": se,
                "gaussian_copula_mi": gaussian_mi(copula_transform(x), copula_transform(y)) / np.log(2),
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for m in methods:
                    row[m] = bm.mi(x, y, method=m, random_state=seed).mi
            rows.append(row)
    runs = pd.DataFrame(rows)
    write(runs, f"clustered{args.tag}_runs")
    cols = ["gaussian_copula_mi", *methods]
    table = (
        runs.groupby(["states", "d", "separation"])
        .agg(true_mi=("true_mi", "first"), **{c: (c, "mean") for c in cols})
        .reset_index()
    )
    mse = {c: float(((runs[c] - runs.true_mi) ** 2).mean()) for c in cols}
    write(table, f"clustered{args.tag}")
    print(f"clustered tasks, N={args.n}, {args.seeds} seeds; {machine()}; {time.perf_counter() - start:.0f} s")
    print(f"max Monte-Carlo SE of the truth: {runs.truth_se.max():.4f} bits\n")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print("\nMSE (bits^2) over all runs: " + ", ".join(f"{k} {v:.3f}" for k, v in mse.items()))

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for c, mk in zip(cols, "os^vD", strict=False):
        ax.scatter(runs.true_mi, runs[c], marker=mk, label=c, alpha=0.7)
    lim = [0, max(runs[cols].max().max(), runs.true_mi.max()) * 1.05]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("true MI (bits)")
    ax.set_ylabel("estimate (bits)")
    ax.set_title(f"shared discrete state, N={args.n}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    print("figure:", save_figure(fig, FIGURES / f"clustered{args.tag}.png"))


if __name__ == "__main__":
    main()
