"""KSG speed at the size of a latent analysis (issue 12's cost targets), beside the peers.

Data: N = 50 000 pairs of 8 + 8 dimensions (the latent size LMI uses), two distributions:
``rho0.6`` Gaussians with correlation 0.6 between every x_i and y_i (the slowest case for the
KD-trees the package used before), and ``latent`` 4 dependent pairs (rho 0.8) + 4 independent
dimensions per side. On each:

- the neighbour counts of one KSG estimate (k = 3) with the package's search (exact, compiled
  with numba, :mod:`bioinfo_mi.estimators._knn_numba`) and with the KD-trees it used before
  (scipy joint k-NN query + scikit-learn count-only radius queries); then one ``bm.mi`` KSG
  estimate and
  latentmi 0.1.3's KSG (its NPEET adaptation) on the same data; the counts of the first two must be
  identical;
- ``bm.mi(x, y, method="ksg", n_shuffles=99)``: the permutation test (target: under 5 minutes
  on 2 cores);
- ``bm.mi(x, y, method="ksg", error_bars=True)``: the cost over the estimate alone (target: at
  most 3x).

A second, small case (2 + 2 Gaussians, rho 0.6, N = 1000: the calibration case of
bench_error_bars.py) gives the error-bar cost ratio where per-call overhead matters most.

    python benchmarks/bench_ksg_speed.py                 # everything (~11 min on 2 cores)
    python benchmarks/bench_ksg_speed.py --n 20000 --no-latentmi --no-shuffles
    python benchmarks/bench_ksg_speed.py --scaling 25000 50000 100000 200000 400000 800000 --cases latent

``--scaling``: instead, the neighbour counts of one KSG estimate at each N (ours, and the KD-trees up to
``--trees-max``), with the growth exponent between consecutive sizes and over the whole range (issue 29: the
kernel must stay far below quadratic at the 10^6 latent pairs of an atlas); ``ksg_scaling.csv``,
``docs/figures/ksg_scaling.png``.

``--scaling ... --blocks 25000 50000 100000``: also the KSG estimate on all N pairs and within random blocks of
at most each size (every pair's counts within its block: linear cost in N), beside the truth; ``ksg_blocks.csv``.
This is the direction "KSG within random blocks" for growth below quadratic, measured: what it costs in bits.

``--scaling ... --queries 200000``: also the counts of ``min(N, 200 000)`` random query pairs against all N (what
LMI does above ``LMIPreset.max_queries`` held-out pairs: ``ksg_pointwise(..., queries=...)``), with both estimates,
their difference and the Monte Carlo standard error the subset adds (``sd(pmi) / sqrt(m) * sqrt(1 - m / N)``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, timed, write
from bench_ksg_vs_latentmi import latent_like
from scipy.special import digamma

import bioinfo_mi as bm
from bioinfo_mi.estimators import _knn

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def rho_pairs(n: int, d: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))


def tree_counts(x: np.ndarray, y: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The package's search before commit 'numba KSG' (kept here as the baseline): scipy's KD-tree
    for the joint k-NN query, scikit-learn's count-only radius queries for the marginals."""
    from scipy.spatial import cKDTree
    from sklearn.neighbors import KDTree

    dist, _ = cKDTree(np.hstack([x, y])).query(np.hstack([x, y]), k=k + 1, p=np.inf, workers=-1)
    radius = np.nextafter(dist[:, -1], 0)  # "<= radius" is "< eps"
    nx = KDTree(x, metric="chebyshev").query_radius(x, radius, count_only=True) - 1
    ny = KDTree(y, metric="chebyshev").query_radius(y, radius, count_only=True) - 1
    return nx.astype(np.int64), ny.astype(np.int64)


def brute_counts(x: np.ndarray, y: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The package's search (exact, compiled; :mod:`bioinfo_mi.estimators._knn_numba`)."""
    return _knn._NeighbourIndex(x, y).counts(x, y, k, exclude_self=True)


def case_data(case: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The case's pairs, jittered as a KSG estimate jitters them."""
    x, y = rho_pairs(n, 8, 0.6, seed=1) if case == "rho0.6" else latent_like(n, seed=2)
    return _knn.add_jitter(x, np.random.default_rng(0)), _knn.add_jitter(y, np.random.default_rng(1))


#: MI in bits of the two cases (Gaussian closed form)
TRUTH = {"rho0.6": -8 * 0.5 * np.log2(1 - 0.6**2), "latent": -4 * 0.5 * np.log2(1 - 0.8**2)}


def query_counts(x: np.ndarray, y: np.ndarray, queries: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The package's search for the rows ``queries`` only, each against all N (``ksg_pointwise``'s ``queries``)."""
    return _knn._NeighbourIndex(x, y).counts(x[queries], y[queries], k, exclude_self=True, self_rows=queries)


def pmi_bits(nx: np.ndarray, ny: np.ndarray, n: int) -> np.ndarray:
    """Pointwise KSG values (k = 3, bits) of counts among ``n`` pairs."""
    return (digamma(3) + digamma(n) - digamma(nx + 1) - digamma(ny + 1)) / np.log(2)


def ksg_bits(xa: np.ndarray, ya: np.ndarray) -> float:
    """KSG estimate (k = 3, bits) from the package's counts on jittered pairs."""
    nx, ny = brute_counts(xa, ya)
    return float(np.mean(digamma(3) + digamma(len(xa)) - digamma(nx + 1) - digamma(ny + 1)) / np.log(2))


def blocks(sizes: list[int], cases: list[str], block_sizes: list[int]) -> None:
    """KSG on all pairs and within random blocks of at most each of ``block_sizes`` (module docstring)."""
    rows = []
    for case in cases:
        for n in sorted(sizes):
            xa, ya = case_data(case, n)
            est, sec = timed(ksg_bits, xa, ya)
            rows.append({"case": case, "n": n, "block": n, "truth_bits": TRUTH[case], "mi_bits": est, "seconds": sec})
            order = np.random.default_rng(0).permutation(n)
            for b in sorted(bb for bb in block_sizes if bb < n):
                parts = np.array_split(order, int(np.ceil(n / b)))
                start = time.perf_counter()
                est = sum(ksg_bits(xa[p], ya[p]) * len(p) for p in parts) / n
                rows.append(
                    {
                        "case": case,
                        "n": n,
                        "block": b,
                        "truth_bits": TRUTH[case],
                        "mi_bits": est,
                        "seconds": time.perf_counter() - start,
                    }
                )
            mine = [r for r in rows if r["case"] == case and r["n"] == n]
            print(pd.DataFrame(mine).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    table["minus_all_pairs_bits"] = table.mi_bits - table.groupby(["case", "n"]).mi_bits.transform("first")
    print(f"\nKSG (k = 3, 8 + 8 dims) on all pairs and within random blocks; {machine()}")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print("wrote", write(table, "ksg_blocks"))


def scaling(sizes: list[int], cases: list[str], trees_max: int, queries: int | None = None, tag: str = "") -> None:
    """Time the neighbour counts at each size; growth exponents between sizes (module docstring)."""
    rows = []
    brute_counts(*case_data(cases[0], 500))  # compile / load the kernel outside the timing
    for case in cases:
        for n in sorted(sizes):
            xa, ya = case_data(case, n)
            searches = [("ours", brute_counts)] + ([("KD-trees", tree_counts)] if n <= trees_max else [])
            if queries is not None:
                m = min(n, queries)
                chosen = np.sort(np.random.default_rng(n).choice(n, size=m, replace=False))
                searches.append((f"ours, {queries} queries", lambda a, b, q=chosen: query_counts(a, b, q)))
            for search, fn in searches:
                (nx, ny), sec = timed(fn, xa, ya)
                row = {"case": case, "search": search, "n": n, "seconds": sec}
                if search.startswith("ours"):
                    pmi = pmi_bits(nx, ny, n)
                    row.update(truth_bits=TRUTH[case], mi_bits=float(pmi.mean()), n_queries=len(pmi))
                    row["query_se_bits"] = float(pmi.std(ddof=1) / np.sqrt(len(pmi)) * np.sqrt(1 - len(pmi) / n))
                rows.append(row)
                print(f"{case} {search} N={n}: {sec:.2f} s", flush=True)
    table = pd.DataFrame(rows)
    if queries is not None:
        full = table[table.search == "ours"].set_index(["case", "n"]).mi_bits
        keys = pd.MultiIndex.from_frame(table[["case", "n"]])
        table["minus_all_queries_bits"] = table.mi_bits - full.reindex(keys).to_numpy()
    parts = []
    for _, g in table.groupby(["case", "search"], sort=False):
        g = g.sort_values("n").copy()
        g["exponent_from_previous"] = np.log(g.seconds / g.seconds.shift()) / np.log(g.n / g.n.shift())
        g["exponent_whole_range"] = np.polyfit(np.log(g.n), np.log(g.seconds), 1)[0] if len(g) > 1 else np.nan
        parts.append(g)
    table = pd.concat(parts, ignore_index=True)
    print(f"\nKSG neighbour counts (k = 3, 8 + 8 dims) against N; {machine()}")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    name = "ksg_scaling" + (f"_{tag}" if tag else "")
    print("wrote", write(table, name))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for (case, search), g in table.groupby(["case", "search"], sort=False):
        ax.loglog(g.n, g.seconds, "o-", label=f"{search}, {case}")
    ref = table[table.search == "ours"]
    n0, t0 = ref.n.min(), ref[ref.n == ref.n.min()].seconds.max()
    grid = np.array([n0, ref.n.max()])
    ax.loglog(grid, t0 * (grid / n0) ** 2, "k:", label="quadratic")
    ax.set_xlabel("pairs N")
    ax.set_ylabel("seconds (one KSG's neighbour counts)")
    ax.legend(fontsize=7)
    print("figure:", save_figure(fig, FIGURES / f"{name}.png", tight=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scaling", type=int, nargs="+", help="instead: the counts' time at these N")
    parser.add_argument("--blocks", type=int, nargs="+", help="with --scaling: KSG within blocks instead")
    parser.add_argument("--trees-max", type=int, default=100_000, help="largest N of the KD-trees in --scaling")
    parser.add_argument("--queries", type=int, help="with --scaling: also this many random queries against all N")
    parser.add_argument("--tag", default="", help="with --scaling: suffix of the CSV and figure names")
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--cases", nargs="+", default=["rho0.6", "latent"], choices=["rho0.6", "latent"])
    parser.add_argument("--no-latentmi", action="store_true")
    parser.add_argument("--no-shuffles", action="store_true", help="skip the 99-shuffle test")
    parser.add_argument("--no-trees", action="store_true", help="skip the KD-tree timing")
    args = parser.parse_args()
    start = time.perf_counter()
    warnings.simplefilter("ignore")
    if args.scaling and args.blocks:
        brute_counts(*case_data(args.cases[0], 500))  # compile / load the kernel outside the timing
        blocks(args.scaling, args.cases, args.blocks)
        return
    if args.scaling:
        scaling(args.scaling, args.cases, args.trees_max, args.queries, args.tag)
        return
    rows = []
    for case in args.cases:
        x, y = rho_pairs(args.n, 8, 0.6, seed=1) if case == "rho0.6" else latent_like(args.n, seed=2)
        xa, ya = case_data(case, args.n)
        row: dict = {"case": case, "n": args.n, "dims": "8+8"}
        brute_counts(xa[:500], ya[:500])  # compile / load the kernel outside the timing
        (bx, by), row["seconds_counts_brute"] = timed(brute_counts, xa, ya)
        if not args.no_trees:
            (tx, ty), row["seconds_counts_trees"] = timed(tree_counts, xa, ya)
            row["counts_identical"] = bool(np.array_equal(bx, tx) and np.array_equal(by, ty))
            row["speedup_vs_trees"] = row["seconds_counts_trees"] / row["seconds_counts_brute"]
        res, row["seconds_estimate"] = timed(bm.mi, x, y, method="ksg", random_state=0)
        row["mi_bits"] = res.mi
        if not args.no_latentmi:
            from latentmi import ksg as latentmi_ksg

            np.random.seed(0)  # noqa: NPY002 - latentmi jitters with the global RNG
            ref, row["seconds_latentmi"] = timed(latentmi_ksg.mi, x, y)
            row["mi_latentmi_bits"] = float(np.mean(ref))
            row["speedup_vs_latentmi"] = row["seconds_latentmi"] / row["seconds_estimate"]
        bars, row["seconds_error_bars"] = timed(bm.mi, x, y, method="ksg", random_state=0, error_bars=True)
        assert bars.mi == res.mi
        row["se_bits"] = bars.se
        row["error_bar_cost_ratio"] = row["seconds_error_bars"] / row["seconds_estimate"]
        if not args.no_shuffles:
            test, row["seconds_99_shuffles"] = timed(bm.mi, x, y, method="ksg", random_state=0, n_shuffles=99)
            row["p_value"] = test.p_value
            row["null_mean_bits"] = float(np.mean(test.null))
        rows.append(row)
        print(row, flush=True)
    x, y = rho_pairs(1000, 2, 0.6, seed=3)
    small = {"case": "2+2 rho0.6 (calibration case)", "n": 1000, "dims": "2+2"}
    t_plain = [timed(bm.mi, x, y, method="ksg", random_state=i)[1] for i in range(5)]
    t_bars = [timed(bm.mi, x, y, method="ksg", random_state=i, error_bars=True)[1] for i in range(5)]
    small.update(seconds_estimate=float(np.median(t_plain)), seconds_error_bars=float(np.median(t_bars)))
    small["error_bar_cost_ratio"] = small["seconds_error_bars"] / small["seconds_estimate"]
    rows.append(small)
    table = pd.DataFrame(rows)
    path = write(table, "ksg_speed")
    print(f"\nKSG speed (k = 3); {machine()}; {time.perf_counter() - start:.0f} s")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print("targets: seconds_99_shuffles < 300; error_bar_cost_ratio <= 3")
    print(f"wrote {path}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    big = table[table.n == args.n]
    cols = [
        c
        for c in (
            "seconds_counts_trees",
            "seconds_counts_brute",
            "seconds_latentmi",
            "seconds_estimate",
            "seconds_error_bars",
            "seconds_99_shuffles",
        )
        if c in big
    ]
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(len(big), 1)
    for i, (_, row) in enumerate(big.iterrows()):
        ax.barh(np.arange(len(cols)) + i * width, [row[c] for c in cols], height=width, label=row["case"])
    ax.set_yticks(np.arange(len(cols)) + 0.4 - width / 2, [c.replace("seconds_", "") for c in cols])
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds (N = {args.n}, 8 + 8 dims, 2 cores)")
    ax.axvline(300, color="grey", ls=":", lw=1)
    ax.legend(fontsize="small")
    print(f"wrote {save_figure(fig, FIGURES / 'ksg_speed.png', tight=True)}")


if __name__ == "__main__":
    main()
