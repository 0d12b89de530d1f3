"""``ksg-mixture`` (what ``method="auto"`` runs from 1000 samples in few dimensions) at and near independence: its
calibration only where the copula KSG resolves a dependence (issue 30, session 20).

The calibration multiplies the copula KSG by up to ``1 / c`` (the twins' KSG per unit of their MI) and, where the
twins read more than the data, returns the MI of the blurred model that reads as little, which is 0 for any
negative reading: at independence it kept the positive noise, amplified, and clipped the negative, a positive bias.
Since session 20 the copula KSG must exceed ``RESOLVE_Z`` (3) of its standard errors under independence,
``sd(pmi) / sqrt(n)``, before it is calibrated; below that it is returned as it is (``calibration="unresolved"``).

Cases, N = 2000, 20 data sets each (seeds 0-19): independent sides (Gaussian 3 + 3; each side a t with its own
scale, 3 + 3 with 2 degrees of freedom and 5 + 5 with 3; a normal 4 against an exponential 3) and weak dependence
with an exact truth (Gaussian 3 + 3 with one correlated pair at 0.05, 0.1 and 0.2 bits; a 3 + 3 t-copula of
identity correlation, its only dependence the scale both sides share, at 4 and 8 degrees of freedom, MI in closed
form). Estimators in the same run: ``auto`` (the package as it is, with ``error_bars=True``: its SD over the
mean SE and its 95 % coverage), the same mixture calibration without the
resolution check (``RESOLVE_Z`` set to minus infinity: the estimator before session 20) and the uncalibrated
copula KSG (``extra["ksg"]``).

    python benchmarks/bench_mixture_null.py            # about 10 min on 2 cores
    python benchmarks/bench_mixture_null.py --seeds 5

Then, for the single-cell-shaped suite's tasks of at most 23 columns per side (N = 2000 and 10 000, replicates 0 and
1), the copula KSG's resolution ``ksg / (sd(pmi) / sqrt(n))``: where it is at least ``RESOLVE_Z`` nothing changed.

Writes ``benchmarks/results/mixture_null.csv`` (per case and estimator), ``mixture_null_runs.csv``,
``mixture_null_sc.csv`` (the suite's resolutions), ``mixture_null_thresholds.csv`` (what each ``RESOLVE_Z`` among
minus infinity, 1, 2, 3 and 4 would read, from the same fits) and ``docs/figures/mixture_null.png``.
"""

from __future__ import annotations

import argparse
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi.estimators import _mixture, copula_transform, ksg_pointwise
from bioinfo_mi.estimators._student import draw_student_copula, student_copula_mi

LN2 = np.log(2.0)
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "mixture_null.png"


def _t_sides(d: int, df: float) -> Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = (rng.standard_normal((n, d)) / np.sqrt(rng.chisquare(df, size=(n, 1)) / df) for _ in range(2))
        return x, y

    return draw


def _gaussian(bits: float) -> tuple[Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]], float]:
    rho = np.sqrt(1.0 - 2.0 ** (-2.0 * bits))

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
        y[:, 0] = rho * x[:, 0] + np.sqrt(1.0 - rho**2) * y[:, 0]
        return x, y

    return draw, bits


def _shared_scale(df: float) -> tuple[Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]], float]:
    corr = np.eye(6)

    def draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = draw_student_copula(corr, df, n, rng)
        return z[:, :3], z[:, 3:]

    return draw, student_copula_mi(corr, 3, df) / LN2


def cases() -> dict[str, tuple[Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]], float]]:
    """Name -> (draw(n, rng) -> (x, y), truth in bits)."""
    return {
        "independent Gaussian 3+3": (_gaussian(0.0)[0], 0.0),
        "independent, t inside each side, 3+3 df 2": (_t_sides(3, 2.0), 0.0),
        "independent, t inside each side, 5+5 df 3": (_t_sides(5, 3.0), 0.0),
        "independent normal 4 vs exponential 3": (
            lambda n, rng: (rng.standard_normal((n, 4)), rng.exponential(size=(n, 3))),
            0.0,
        ),
        "Gaussian 3+3, 0.05 bit": _gaussian(0.05),
        "Gaussian 3+3, 0.1 bit": _gaussian(0.1),
        "Gaussian 3+3, 0.2 bit": _gaussian(0.2),
        "shared t scale 3+3, df 8": _shared_scale(8.0),
        "shared t scale 3+3, df 4": _shared_scale(4.0),
    }


def _run(x: np.ndarray, y: np.ndarray, seed: int, gated: bool) -> bm.MIResult:
    saved = _mixture.RESOLVE_Z
    _mixture.RESOLVE_Z = saved if gated else -np.inf
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bm.EstimateWarning)
            if gated:  # the package as it is, with its error bars
                return bm.mi(x, y, random_state=seed, error_bars=True)
            return bm.mi(x, y, method="ksg-mixture", random_state=seed)
    finally:
        _mixture.RESOLVE_Z = saved


def suite_resolution(n_values: tuple[int, ...] = (2000, 10_000)) -> pd.DataFrame:
    """The copula KSG's resolution ``ksg / (sd(pmi) / sqrt(n))`` on every task of the single-cell-shaped suite with at
    most 23 columns per side (the ones ``auto`` may send to ``ksg-mixture``), replicates 0 and 1: where it is at
    least ``RESOLVE_Z`` the check changes nothing (it draws no random numbers).
    """
    rows = []
    for n in n_values:
        for task in bm.benchmark.sc_suite(n, max_d=23):
            for replicate in (0, 1):
                x, y = (np.asarray(a, dtype=np.float64) for a in bm.benchmark.sample_task(task, replicate))
                xs, ys = copula_transform(x[:, x.std(0) > 0]), copula_transform(y[:, y.std(0) > 0])
                pmi = ksg_pointwise(xs, ys, k=3, base="nats", random_state=replicate)
                z = pmi.mean() / (pmi.std(ddof=1) / np.sqrt(n))
                rows.append({"task": task.name, "n_samples": n, "replicate": replicate, "ksg_bits": pmi.mean() / LN2})
                rows[-1] |= {"resolution_z": z, "resolved": bool(z >= _mixture.RESOLVE_Z)}
    return pd.DataFrame(rows)


def thresholds(runs: pd.DataFrame, values: tuple[float, ...] = (-np.inf, 1.0, 2.0, 3.0, 4.0)) -> pd.DataFrame:
    """Per case and threshold ``Z``: what the estimator would read with ``RESOLVE_Z = Z`` (the calibrated estimate
    where the copula KSG's resolution is at least ``Z``, the copula KSG elsewhere), from the same fits."""
    wide = runs.pivot_table(index=["case", "seed"], columns="estimator", values="estimate", sort=False)
    info = runs.groupby(["case", "seed"], sort=False)[["truth", "resolution_z"]].first()
    rows = []
    for value in values:
        est = np.where(info.resolution_z >= value, wide["ksg-mixture without the check"], wide["copula KSG"])
        frame = info.assign(estimate=est).reset_index()
        for case, g in frame.groupby("case", sort=False):
            err = g.estimate - g.truth
            row = {"case": case, "resolve_z": value, "mean": g.estimate.mean(), "max_abs": g.estimate.abs().max()}
            calibrated = float((g.resolution_z >= value).mean())
            rows.append(row | {"mse": float((err**2).mean()), "share_calibrated": calibrated})
    return pd.DataFrame(rows)


def _error_bars(g: pd.DataFrame, est: np.ndarray, truth: float) -> dict[str, float]:
    """Mean reported SE, SD of the estimates over it, and the share of data sets within 1.96 SE of the truth (NaN
    for the estimators run without error bars)."""
    if "se" not in g or g["se"].isna().all():
        return {"mean_se": np.nan, "sd_over_se": np.nan, "coverage_95": np.nan}
    se = g["se"].to_numpy()
    coverage = float((np.abs(est - truth) <= 1.96 * se).mean())
    return {"mean_se": se.mean(), "sd_over_se": est.std(ddof=1) / se.mean(), "coverage_95": coverage}


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per case and estimator: mean, SD, largest |estimate|, share above 0.05 bits in size, MSE, share calibrated."""
    rows = []
    for (case, name), g in runs.groupby(["case", "estimator"], sort=False):
        est, truth = g["estimate"].to_numpy(), float(g["truth"].iloc[0])
        rows.append(
            {
                "case": case,
                "estimator": name,
                "truth": truth,
                "mean": est.mean(),
                "sd": est.std(ddof=1),
                "max_abs": np.abs(est).max(),
                "share_abs_above_0.05": float((np.abs(est) > 0.05).mean()) if truth == 0 else np.nan,
                "mse": float(((est - truth) ** 2).mean()),
                "share_calibrated": float(g["calibrated"].mean()),
                **_error_bars(g, est, truth),
                "n_runs": len(g),
            }
        )
    return pd.DataFrame(rows)


def figure(runs: pd.DataFrame) -> Path:
    """Estimates minus truth per case, one column of points per estimator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(runs["case"]))
    estimators = list(dict.fromkeys(runs["estimator"]))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for j, name in enumerate(estimators):
        for i, case in enumerate(names):
            g = runs[(runs["case"] == case) & (runs["estimator"] == name)]
            xs = i + (j - (len(estimators) - 1) / 2) * 0.22 + np.linspace(-0.05, 0.05, len(g))
            ax.plot(xs, g["estimate"] - g["truth"], "o", ms=3, color=f"C{j}", label=name if i == 0 else None)
    ax.axhline(0, color="k", lw=0.8)
    ax.axhspan(-0.05, 0.05, color="0.9", zorder=0)
    ax.set_xticks(range(len(names)), [textwrap.fill(c, 16) for c in names], fontsize=6)
    ax.set_ylabel("estimate - truth (bits)")
    ax.set_title("ksg-mixture near independence, N = 2000 (grey: +/- 0.05 bits)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, FIGURE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-suite", action="store_true", help="skip the single-cell-shaped suite's resolution check")
    args = parser.parse_args()
    print(machine())
    rows = []
    for case, (draw, truth) in cases().items():
        for seed in range(args.seeds):
            x, y = draw(args.n, np.random.default_rng([seed, 20]))
            gated, ungated = _run(x, y, seed, True), _run(x, y, seed, False)
            z = float(ungated.extra["ksg"]) / float(ungated.extra["null_se"])
            base = {"case": case, "truth": truth, "seed": seed, "resolution_z": z}
            rows += [
                base | {"estimator": "auto", "method": gated.method, "estimate": gated.mi, "se": gated.se},
                base | {"estimator": "ksg-mixture without the check", "method": ungated.method, "estimate": ungated.mi},
                base | {"estimator": "copula KSG", "method": "ksg", "estimate": float(ungated.extra["ksg"])},
            ]
            for row, res in zip(rows[-3:], (gated, ungated, None), strict=True):
                row["calibrated"] = bool(res.extra.get("calibrated")) if res is not None else False
                row["calibration"] = res.extra.get("calibration") if res is not None else "none"
        print(f"{case}: done", flush=True)
    runs = pd.DataFrame(rows)
    table = summarise(runs)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(4).to_string(index=False))
    write(runs, "mixture_null_runs")
    sweep = thresholds(runs)
    print(sweep.pivot_table(index="case", columns="resolve_z", values=["mean", "mse"], sort=False).round(4).to_string())
    write(sweep, "mixture_null_thresholds")
    print("wrote", write(table, "mixture_null"), figure(runs))
    if not args.no_suite:
        suite = suite_resolution()
        print(suite.round(3).to_string(index=False))
        smallest = round(float(suite.resolution_z.min()), 2)
        print("smallest resolution z:", smallest, "wrote", write(suite, "mixture_null_sc"))


if __name__ == "__main__":
    main()
