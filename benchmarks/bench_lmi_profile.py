"""Where an LMI fit's time goes on Algorithm 4 (N = 2000, d = 1000, 1 bit), and what Adam's implementations change.

Issue 29 asks for the default LMI at >= 20x latentmi's speed there. Part ``profile``: one default fit under
cProfile, the time of the functions that dominate (matrix products forward, backward, Adam, dropout masks).
Part ``adam``: the default fit with torch's Adam as the package builds it (single-tensor on CPU), with
``foreach=True`` and with ``fused=True``, on k = 1, 2 x seeds 0, 1: time and estimate (``same`` says whether
the estimate equals the default's bit for bit).

    python benchmarks/bench_lmi_profile.py            # about 1.5 min on 2 cores

Writes ``benchmarks/results/lmi_profile.csv``, ``lmi_adam.csv`` and ``docs/figures/lmi_adam.png``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import warnings
from pathlib import Path

import pandas as pd
import torch
from _common import machine, save_figure, timed, write

import bioinfo_mi as bm
from bioinfo_mi.estimators import _lmi

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
#: profiled functions reported, by the name cProfile gives them
PROFILED = {
    "linear": "torch._C._nn.linear",
    "backward": "run_backward",
    "adam": "_single_tensor_adam",
    "dropout masks": "torch.rand",
    "mse loss": "mse_loss",
}


def data(k: int, seed: int, n: int, d: int) -> tuple:
    return bm.datasets.gaussian_low_rank(d=d, rank=k, n_samples=n, mi_bits=1.0, random_state=seed)


def profile(n: int, d: int) -> pd.DataFrame:
    x, y = data(1, 0, n, d)
    bm.mi(x[:300], y[:300], method="lmi", random_state=0)  # compile and warm up outside the profile
    prof = cProfile.Profile()
    prof.enable()
    res, total = timed(bm.mi, x, y, method="lmi", random_state=0)
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    rows = [{"part": "total", "seconds": total, "calls": 1}]
    for part, needle in PROFILED.items():
        hits = [(v[1], v[2] if part != "adam" else v[3]) for key, v in stats.items() if needle in f"{key[0]}{key[2]}"]
        rows.append({"part": part, "seconds": sum(h[1] for h in hits), "calls": sum(h[0] for h in hits)})
    print(f"estimate {res.mi:.4f} bits")
    return pd.DataFrame(rows)


def adam_variants(n: int, d: int) -> pd.DataFrame:
    rows = []
    original = torch.optim.Adam
    for variant, options in [("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True})]:
        _lmi.torch.optim.Adam = functools.partial(original, **options) if options else original
        try:
            for k in (1, 2):
                for seed in (0, 1):
                    x, y = data(k, seed, n, d)
                    res, sec = timed(bm.mi, x, y, method="lmi", random_state=seed)
                    rows.append({"adam": variant, "k": k, "seed": seed, "estimate": res.mi, "seconds": sec})
        finally:
            _lmi.torch.optim.Adam = original
    table = pd.DataFrame(rows)
    base = table[table.adam == "default"].set_index(["k", "seed"]).estimate
    table["same"] = [e == base[(k, s)] for e, k, s in zip(table.estimate, table.k, table.seed, strict=True)]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    prof = profile(args.n, args.d)
    adam = adam_variants(args.n, args.d)
    print(f"\nOne default LMI fit (Algorithm 4, N={args.n}, d={args.d}, k=1, seed 0) under cProfile; {machine()}")
    print(prof.to_markdown(index=False, floatfmt=".3f"))
    print("\nAdam implementations (time in s; same: the estimate equals the default's bit for bit)")
    print(adam.to_markdown(index=False, floatfmt=".4f"))
    print("wrote", write(prof, "lmi_profile"), write(adam, "lmi_adam"))

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, (variant, g) in enumerate(adam.groupby("adam", sort=False)):
        ax.bar([j + 0.27 * i for j in range(len(g))], g.seconds, width=0.27, label=variant)
    ax.set_xticks(range(len(g)), [f"k={k}, seed {s}" for k, s in zip(g.k, g.seed, strict=True)])
    ax.set_ylabel("seconds per fit")
    ax.set_title(f"LMI on Algorithm 4 (N={args.n}, d={args.d}): Adam implementations")
    ax.legend()
    print("figure:", save_figure(fig, FIGURES / "lmi_adam.png", tight=True))


if __name__ == "__main__":
    main()
