"""LMI with and without ``screen=True`` where the suites do not look (issue 30): should the screen be LMI's default?

The screen (``bioinfo_mi/estimators/_screen.py``) keeps, on the training half, the columns each side's partner
predicts linearly beyond a permutation null. The suites (``bench_sc_suite.py``, ``bench_bmi_suite.py``,
``bench_lmi_width.py``) show what it gains where columns are noise; this script looks where it could lose:

- ``digits``: label-resampled digits, groups 0-4 vs 5-9 (64 pixel columns, nonlinear, heavily tied; 1500
  pairs, 8 data sets over 0-1 bit, as ``bench_digits_groups.py``);
- ``interactions``: the protein-interaction simulator's partners (1024-dimensional embeddings, 4000 pairs,
  1 and 2.5 bits, ``bm.datasets.simulate_interactions(random_state=0)``);
- ``independent``: independent Gaussians, d = 100 and 1000 per side, N = 2000 (3 seeds): must stay near 0;
- ``latent CMI``: ``bm.cmi(method="lmi")`` (its encoders are LMI's) on ``bench_cmi.py``'s low-rank design,
  50 + 50 | 2 and 200 + 200 | 2, N = 2000, and its null (no link beyond z), 3 seeds each.

Every case is fitted with ``random_state`` = its seed, once without and once with the screen, same data.

    python benchmarks/bench_screen_default.py          # about 10 min on 2 cores

Writes ``benchmarks/results/screen_default{,_runs}.csv`` and ``docs/figures/screen_default.png``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, write
from bench_cmi import latent_design

import bioinfo_mi as bm
from bioinfo_mi.benchmark import sample_task
from bioinfo_mi.benchmark.resampling_tasks import digits_tasks

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
Case = tuple[str, str, int, float, Callable[[bool], float]]


def _fit(x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[bool], float]:
    return lambda screen: bm.mi(x, y, method="lmi", screen=screen, random_state=seed).mi


def _cmi(x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int) -> Callable[[bool], float]:
    return lambda screen: bm.cmi(x, y, z, method="lmi", screen=screen, random_state=seed, n_jobs=1).mi


def cases() -> Iterator[Case]:
    """(family, case, seed, truth, fit(screen) -> estimate), data drawn lazily."""
    for i, task in enumerate(digits_tasks(n_datasets=8, n_samples=1500, classes=((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)))):
        x, y = sample_task(task, replicate=0)[:2]
        yield "digits", "groups 0-4 / 5-9, 64 pixels", i, task.true_mi, _fit(x, y, 0)
    for mi_bits in (1.0, 2.5):
        pairs = bm.datasets.simulate_interactions(n_pairs=4000, mi_bits=mi_bits, random_state=0)
        x, y = pairs.obsm["source"], pairs.obsm["target"]
        yield "interactions", f"{mi_bits:g} bit, 1024 dims", 0, pairs.uns["true_mi_bits"], _fit(x, y, 0)
    for d in (100, 1000):
        for seed in range(3):
            rng = np.random.default_rng([seed, d])
            x, y = rng.normal(size=(2000, d)), rng.normal(size=(2000, d))
            yield "independent", f"d = {d}", seed, 0.0, _fit(x, y, seed)
    for d, link in ((50, 1.0), (200, 1.0), (50, 0.0)):
        for seed in range(3):
            x, y, z, truth = latent_design(d, 2, 2000, 1000 + seed, link=link)
            label = f"{d} + {d} | 2" + (", null" if link == 0 else "")
            yield "latent CMI", label, seed, truth, _cmi(x, y, z, seed)


def main() -> None:
    start = time.perf_counter()
    rows = []
    for family, case, seed, truth, fit in cases():
        row = {"family": family, "case": case, "seed": seed, "truth": truth}
        for screen in (False, True):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row["screen" if screen else "plain"] = fit(screen)
            row[f"{'screen' if screen else 'plain'}_seconds"] = time.perf_counter() - t
        rows.append(row)
        print(
            f"{family:13s} {case:30s} {seed} truth {truth:.3f}  plain {row['plain']:.3f}  screen {row['screen']:.3f}",
            flush=True,
        )
    runs = pd.DataFrame(rows)
    runs["plain_sq"] = (runs.plain - runs.truth) ** 2
    runs["screen_sq"] = (runs.screen - runs.truth) ** 2
    summary = (
        runs.groupby(["family", "case"], sort=False)
        .agg(
            n=("seed", "size"),
            truth=("truth", "mean"),
            plain=("plain", "mean"),
            screen=("screen", "mean"),
            plain_mse=("plain_sq", "mean"),
            screen_mse=("screen_sq", "mean"),
            plain_seconds=("plain_seconds", "mean"),
            screen_seconds=("screen_seconds", "mean"),
        )
        .reset_index()
    )
    print(
        f"\nLMI without / with screen=True (mean over data sets, bits); {machine()}; "
        f"wall {time.perf_counter() - start:.0f} s"
    )
    print(summary.to_markdown(index=False, floatfmt=".3f"))
    print("wrote", write(runs, "screen_default_runs"), write(summary, "screen_default"))

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    for family, g in runs.groupby("family", sort=False):
        ax.scatter(g.plain - g.truth, g.screen - g.truth, label=family, s=20)
    lim = float(np.nanmax(np.abs(runs[["plain", "screen"]].to_numpy() - runs[["truth"]].to_numpy()))) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color="k", lw=0.8)
    ax.set_xlabel("error without the screen (bits)")
    ax.set_ylabel("error with screen=True (bits)")
    ax.legend(fontsize=8)
    print("figure:", save_figure(fig, FIGURES / "screen_default.png", tight=True))


if __name__ == "__main__":
    main()
