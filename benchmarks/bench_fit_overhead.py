"""Fixed cost of one fit of the repeated-fit layer on small data: the thread-pool scan kept between fits (session 27)
against the scan on every fit (threadpoolctl's ``threadpool_limits``, sessions 1-26), in the same run.

Every fit of the layer (``bioinfo_mi._parallel.fit_threads``) caps the BLAS and OpenMP pools at its thread budget.
Finding those pools scans the process's loaded libraries, about 7 ms here; on small data a k-NN fit takes about as
long, so shuffles, pairings and error-bar refits paid it once each. The scan is now redone only after a module was
imported. This script times typical calls made of many small fits both ways and checks the numbers are identical.

    python benchmarks/bench_fit_overhead.py            # about 1 min
    python benchmarks/bench_fit_overhead.py --repeats 3

Writes ``benchmarks/results/fit_overhead.csv`` and ``docs/figures/fit_overhead.png``.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import machine, save_figure, timed, write  # noqa: E402

import bioinfo_mi as bm  # noqa: E402
from bioinfo_mi import _parallel  # noqa: E402

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "fit_overhead.png"


@contextmanager
def scan_every_fit():
    """The behaviour before session 27: a fresh scan of the loaded libraries for every fit."""
    from threadpoolctl import ThreadpoolController

    kept = _parallel._thread_pools
    _parallel._thread_pools = ThreadpoolController
    try:
        yield
    finally:
        _parallel._thread_pools = kept


def _gaussian(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, 0.6 * x + 0.8 * rng.normal(size=(n, d))


def calls() -> dict[str, tuple[int, Callable[[], Any]]]:
    """Name -> (fits per call, a call returning its numbers)."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 1))
    xc, yc = z**2 + 0.5 * rng.normal(size=(200, 1)), z + 0.5 * rng.normal(size=(200, 1))
    x5, y5 = _gaussian(500, 3, 1)
    x2, y2 = _gaussian(2000, 5, 2)
    lineage = bm.datasets.simulate_lineage(n_clones=300, n_genes=200, random_state=0)
    lineage = lineage[lineage.obs["clone"].notna()].copy()
    bm.pp.preprocess(lineage, n_top_genes=200)

    def tl_ksg() -> np.ndarray:
        data = lineage.copy()
        bm.tl.lmi(data, method="ksg", n_pairings=5, n_shuffles=20, random_state=0, progress=False, n_jobs=1)
        return data.uns["lmi"]["table"]["estimate"].to_numpy()

    return {
        "bm.cmi ksg, N 200, 1+1 | 1, 19 shuffles": (
            20,
            lambda: bm.cmi(xc, yc, z, method="ksg", n_shuffles=19, random_state=0, n_jobs=1).null,
        ),
        "bm.mi ksg, N 500, 3+3, 19 shuffles": (
            20,
            lambda: bm.mi(x5, y5, method="ksg", n_shuffles=19, random_state=0, n_jobs=1).null,
        ),
        "bm.mi ksg, N 2000, 5+5, 19 shuffles": (
            20,
            lambda: bm.mi(x2, y2, method="ksg", n_shuffles=19, random_state=0, n_jobs=1).null,
        ),
        "tl.lmi ksg, 300 clones x 200 genes, 5 pairings + 20 shuffles": (25, tl_ksg),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case and variant (median reported)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for name, (n_fits, call) in calls().items():
        call()  # compile and import everything once
        seconds, numbers = {}, {}
        for variant in ("kept", "every fit"):
            times = []
            for _ in range(args.repeats):
                if variant == "kept":
                    out, sec = timed(call)
                else:
                    with scan_every_fit():
                        out, sec = timed(call)
                times.append(sec)
            seconds[variant], numbers[variant] = float(np.median(times)), np.asarray(out, dtype=float)
        rows.append(
            {
                "call": name,
                "fits": n_fits,
                "seconds_scan_every_fit": seconds["every fit"],
                "seconds_scan_kept": seconds["kept"],
                "speedup": seconds["every fit"] / seconds["kept"],
                "ms_saved_per_fit": 1000 * (seconds["every fit"] - seconds["kept"]) / n_fits,
                "identical_numbers": bool(np.array_equal(numbers["kept"], numbers["every fit"], equal_nan=True)),
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\nFixed cost per fit, median of {args.repeats} calls each; {machine()}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("wrote", write(table, "fit_overhead"))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    pos = np.arange(len(table))
    ax.barh(pos + 0.2, table.seconds_scan_every_fit, height=0.4, label="scan on every fit (sessions 1-26)")
    ax.barh(pos - 0.2, table.seconds_scan_kept, height=0.4, label="scan kept between fits")
    ax.set_yticks(pos, table.call, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per call")
    ax.legend(fontsize=8)
    print("wrote", save_figure(fig, FIGURE, tight=True))


if __name__ == "__main__":
    main()
