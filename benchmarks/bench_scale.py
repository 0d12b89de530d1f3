"""Time and peak memory at atlas size (issue 29): where an LMI estimate spends them, stage by stage.

Data: N pairs of ``d + d`` float32 columns (default 100 000 x 1000 + 1000, 0.75 GiB of input), one
shared factor spread over the first 10 columns of each side (about 1 bit), the rest noise. Stages,
each timed with this process's peak RSS sampled every 50 ms (``_common.peak_rss``):

1. ``check_pair``: validation (a float64 copy of each input);
2. the duplicated-row check of the KSG family and LMI (``_warn_duplicates``), beside the pandas
   ``duplicated()`` of the side-by-side copy as a reference;
3. LMI's standardisation statistics of one side;
4. the whole ``bm.mi(x, y, method="lmi", epochs=EPOCHS)`` (``--epochs``, default 2: the peak is set
   before training; a full fit trains 11-129 epochs, see ``bench_cost_model.py``).

    python benchmarks/bench_scale.py                         # N = 100 000, d = 1000 + 1000 (~2 min)
    python benchmarks/bench_scale.py --n 20000 --d 1000 --epochs 0   # stages only

Run it from a worktree of an older commit (``PYTHONPATH=<worktree>``) to compare versions: it uses
only functions present in both. Results: ``benchmarks/results/scale_<n>_<d>.csv``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _common import machine, peak_rss, write

import bioinfo_mi as bm
from bioinfo_mi._validation import check_pair
from bioinfo_mi.estimators._knn import _warn_duplicates
from bioinfo_mi.estimators._lmi import _standardization


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``d + d`` float32 columns; a shared factor over the first 10 columns of each side."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n).astype(np.float32)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.normal(size=(n, d)).astype(np.float32)
    m = min(10, d)
    x[:, :m] += 2.5 * z[:, None] / np.sqrt(m)
    y[:, :m] += 2.5 * z[:, None] / np.sqrt(m)
    return x, y


def pandas_duplicates(a: np.ndarray, b: np.ndarray) -> int:
    """Duplicated rows of the side-by-side copy by pandas (the reference for the package's check)."""
    return int(pd.DataFrame(np.hstack([a, b])).duplicated().sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=1000, help="columns per side")
    parser.add_argument("--epochs", type=int, default=2, help="LMI epochs (0: skip the whole fit)")
    args = parser.parse_args()
    x, y = data(args.n, args.d)
    print(f"N = {args.n}, d = {args.d} + {args.d} float32 ({2 * x.nbytes / 2**30:.2f} GiB); {machine()}", flush=True)
    rows = []

    def stage(name: str, fn, *a, **kw):
        out, seconds, peak, start = peak_rss(fn, *a, **kw)
        rows.append({"stage": name, "seconds": seconds, "peak_gib": peak / 2**30, "added_gib": (peak - start) / 2**30})
        print(f"{name:45s} {seconds:7.1f} s  peak {peak / 2**30:5.2f} GiB (+{(peak - start) / 2**30:.2f})", flush=True)
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xa, ya = stage("check_pair (validation)", check_pair, x, y, min_samples=2, method="lmi")
        stage("duplicated-row check (_warn_duplicates)", _warn_duplicates, xa, ya)
        stage("reference: pandas duplicated() of [x, y]", pandas_duplicates, xa, ya)
        stage("LMI standardisation statistics (x)", _standardization, xa, "x")
        del xa, ya
        if args.epochs:
            res = stage(f"bm.mi(method='lmi', epochs={args.epochs})", bm.mi, x, y, method="lmi", epochs=args.epochs)
            print(f"estimate {res.mi:.6f} bits", flush=True)
            rows[-1]["estimate_bits"] = res.mi
    table = pd.DataFrame(rows).assign(n_samples=args.n, d=args.d, package=bm.__file__)
    print(f"-> {write(table, f'scale_{args.n}_{args.d}')}")


if __name__ == "__main__":
    main()
