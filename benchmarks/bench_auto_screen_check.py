"""Cost and effect of ``auto``'s screen check (issue 30, session 14), beside the estimators it chooses between.

Where ``auto``'s rule picks a KSG estimator and a side has more than 20 columns, it screens a random half of the
rows (at most 10 000) and, where columns are left out, compares plain KSG on the other half on every column and
on the kept ones (``bioinfo_mi/estimators/_registry.py::_screen_check``). This script measures the check alone,
then ``bm.mi(x, y)`` (the default), the calibrated KSG and LMI on the same float32 data: one column of 1 bit
among ``d`` per side (the rest independent noise), and ``y = x + noise`` in every column (0.5 bit each).

    python benchmarks/bench_auto_screen_check.py        # about 5 min on 2 cores

Writes ``benchmarks/results/auto_screen_check.csv`` and ``docs/figures/auto_screen_check.png``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, peak_rss, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi._rows import check_row_pair
from bioinfo_mi.estimators import _registry

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
#: (N, columns per side, signal)
CASES = [(5000, 200, "one column"), (20000, 50, "one column"), (100000, 25, "one column"), (20000, 50, "dense")]
GIB = 2**30


def sample(n: int, d: int, signal: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Float32 pairs with ``signal`` (``"one column"``: 1 bit in column 0; ``"dense"``: 0.5 bit in every column)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    if signal == "dense":
        return x, (x + rng.standard_normal((n, d))).astype(np.float32), 0.5 * d
    y = rng.standard_normal((n, d)).astype(np.float32)
    rho = np.sqrt(1 - 2**-2.0)  # 1 bit: -0.5 log2(1 - rho^2)
    y[:, 0] = rho * x[:, 0] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return x, y, 1.0


def run_case(n: int, d: int, signal: str) -> list[dict]:
    x, y, truth = sample(n, d, signal)
    xr, yr = check_row_pair(x, y, min_samples=5, method="auto")
    check, check_seconds, _, _ = peak_rss(_registry._screen_check, "ksg-calibrated", xr, yr, (d, d), {}, 0)
    rows = []
    for call, options in (
        ("bm.mi(x, y)", {}),
        ("ksg-calibrated", {"method": "ksg-calibrated"}),
        ("lmi", {"method": "lmi"}),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res, seconds, peak, start = peak_rss(bm.mi, x, y, random_state=0, **options)
        auto = res.extra.get("auto", {})
        rows.append(
            {
                "n_samples": n,
                "d_per_side": d,
                "signal": signal,
                "truth": truth,
                "call": call,
                "ran": res.method,
                "reason": auto.get("reason", ""),
                "estimate": res.mi,
                "seconds": seconds,
                "peak_rss_gib": peak / GIB,
                "check_seconds": check_seconds,
                "kept": None if check is None else f"{check['kept'][0]} + {check['kept'][1]}",
                "ksg_all": None if check is None else check["ksg_all"],
                "ksg_kept": None if check is None else check["ksg_kept"],
            }
        )
        print({k: rows[-1][k] for k in ("n_samples", "d_per_side", "signal", "call", "ran", "estimate", "seconds")})
    return rows


def figure(table: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    labels = [
        f"{r.signal}\nN={r.n_samples}, d={r.d_per_side}"
        for r in table.drop_duplicates("signal n_samples d_per_side".split()).itertuples()
    ]
    calls = list(dict.fromkeys(table["call"]))
    width = 0.8 / len(calls)
    for i, call in enumerate(calls):
        part = table[table["call"] == call]
        pos = np.arange(len(part)) + i * width
        axes[0].bar(pos, part["estimate"] / part["truth"], width, label=call)
        axes[1].bar(pos, part["seconds"], width, label=call)
    for ax, title in zip(axes, ("estimate / truth", "seconds (2 cores)"), strict=True):
        ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels, fontsize=7)
        ax.set_title(title)
    axes[0].axhline(1, color="k", lw=0.8)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"auto's screen check; {machine()}", fontsize=8)
    return save_figure(fig, path, tight=True)


def main() -> None:
    rows = [row for case in CASES for row in run_case(*case)]
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    print(f"wrote {write(table, 'auto_screen_check')}")
    print(f"figure: {figure(table, FIGURES / 'auto_screen_check.png')}")


if __name__ == "__main__":
    main()
