"""Where should ``auto`` run the mixture-calibrated KSG? A rule measured on fits already made (issue 30).

``ksg-mixture`` (:func:`bioinfo_mi.estimators.ksg_mixture`) calibrates the copula KSG on twins drawn from a Gaussian
mixture fitted to the data; a fitted model is more dependent than the truth by about ``d_x d_y / 2n`` nats for one
Gaussian (sampling noise in every cross-correlation), which the Gaussian calibration of ``ksg-calibrated`` removes
by shrinking canonical correlations and the mixture's blur does less well. The rule probed here: where ``auto``
runs ``ksg-calibrated``, run ``ksg-mixture`` instead when ``d_x d_y / 2n <= threshold`` nats.

Reads the per-fit CSVs of ``bench_bmi_suite.py`` and ``bench_sc_suite.py`` (the same data sets and seeds for every
estimator) and prints, per suite and threshold, the mean MSE of ``ksg-calibrated``, ``ksg-mixture`` and the rule;
on the single-cell-shaped suite also ``auto`` as run and ``auto`` with the rule on every scored task of the ``auto``
runs (``auto`` ran ``ksg-calibrated`` on a data set where its estimate equals ``ksg-calibrated``'s, same seed and
machine; at N = 10 000 the wide tasks' ``auto`` fits are session 14's, on another machine, before the screen's
retry). Writes ``mixture_rule.csv``.

    python benchmarks/bench_bmi_suite.py --tag s15mix --estimators "ksg-mixture (ours)" "ksg-calibrated (ours)"
    python benchmarks/bench_sc_suite.py --max-d 23 --tag s15mix \
        --estimators "ksg-mixture (ours)" "ksg-calibrated (ours)"
    python benchmarks/bench_sc_suite.py --n 10000 --max-d 23 --tag s15mix_10k \
        --estimators "ksg-mixture (ours)" "ksg-calibrated (ours)"
    python benchmarks/bench_sc_suite.py --n 10000 --max-d 23 --tag s15auto_10k --estimators "auto (ours)"
    python benchmarks/bench_clustered.py --methods ksg-calibrated ksg-mixture --tag _mixture
    python benchmarks/mixture_rule.py --bmi bmi_suite_s15mix --sc sc_suite_s15mix sc_suite_s15mix_10k \
        --auto sc_suite_s15 sc_suite_s15auto_10k+sc_suite_s14_10k
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import RESULTS, write

CAL, MIX, AUTO = "ksg-calibrated (ours)", "ksg-mixture (ours)", "auto (ours)"
THRESHOLDS = (0.05, 0.1, 0.2, 0.5)


def task_mse(frame: pd.DataFrame, column: str) -> float:
    """Mean over tasks of the mean squared error over a task's data sets (the suites' own summary)."""
    err = (frame[column] - frame.true_mi) ** 2
    return float(err.groupby(frame.task).mean().mean())


def bmi_rows(tag: str) -> list[dict]:
    runs = pd.read_csv(RESULTS / f"{tag}_runs.csv")
    wide = runs.pivot_table(
        index=["task", "n_samples", "seed", "dim_x", "dim_y", "true_mi"], columns="estimator", values="estimate"
    ).reset_index()
    return [rule_row(tag, thr, wide, wide.dim_x * wide.dim_y / (2 * wide.n_samples) <= thr) for thr in THRESHOLDS]


def rule_row(tag: str, thr: float, wide: pd.DataFrame, use: pd.Series) -> dict:
    """One row: the two estimators and the rule (``use``: the data sets switched to the mixture) on ``wide``."""
    wide["rule"] = np.where(use, wide[MIX], wide[CAL])
    return {
        "suite": tag,
        "threshold_nats": thr,
        "n_tasks": wide.task.nunique(),
        "mixture_tasks": int(wide[use].task.nunique()),
        "ksg_calibrated": task_mse(wide, CAL),
        "ksg_mixture": task_mse(wide, MIX),
        "rule": task_mse(wide, "rule"),
    }


def sc_rows(tag: str, auto_tags: str | None) -> list[dict]:
    """Rows of the single-cell-shaped suite: the estimators on the tasks both ran, and ``auto`` as run and with
    the rule on every scored task of its runs (``auto_tags``: tags joined by ``+``, the first run of a data set
    counting)."""
    runs = pd.read_csv(RESULTS / f"{tag}_runs.csv")
    runs = runs[runs.truth != "upper bound"]
    wide = runs.pivot_table(
        index=["task", "n_samples", "seed", "d", "true_mi"], columns="estimator", values="estimate"
    ).reset_index()
    wide = wide.dropna(subset=[MIX, CAL])  # the mixture needs n > d_x + d_y + 2
    auto = None
    if auto_tags:
        parts = [pd.read_csv(RESULTS / f"{t}_runs.csv") for t in auto_tags.split("+")]
        auto = pd.concat(parts).query("estimator == @AUTO and truth != 'upper bound'")
        auto = auto.drop_duplicates(["task", "seed"]).set_index(["task", "seed"])
    rows = []
    for thr in THRESHOLDS:
        row = rule_row(tag, thr, wide, wide.d * wide.d / (2 * wide.n_samples) <= thr)
        if auto is not None:
            full = auto[["true_mi", "estimate"]].rename(columns={"estimate": AUTO}).reset_index()
            full = full.merge(wide[["task", "seed", CAL, MIX, "d", "n_samples"]], on=["task", "seed"], how="left")
            ran_cal = np.isclose(full[AUTO], full[CAL], rtol=0, atol=1e-9)
            use_full = (full.d * full.d / (2 * full.n_samples) <= thr) & ran_cal
            full["auto_rule"] = np.where(use_full, full[MIX], full[AUTO])
            row.update(
                auto_tasks=full.task.nunique(),
                auto=task_mse(full, AUTO),
                auto_rule=task_mse(full, "auto_rule"),
                auto_switched=int(use_full.sum()),
            )
        rows.append(row)
    return rows


def clustered_rows(tag: str, n: int) -> list[dict]:
    """Rows of ``bench_clustered.py --methods ksg-calibrated ksg-mixture --tag _mixture`` (N = ``n``, MSE over
    every run as that benchmark reports it)."""
    runs = pd.read_csv(RESULTS / f"{tag}_runs.csv")
    rows = []
    for thr in THRESHOLDS:
        use = runs.d * runs.d / (2 * n) <= thr
        rule = np.where(use, runs["ksg-mixture"], runs["ksg-calibrated"])
        rows.append(
            {
                "suite": tag,
                "threshold_nats": thr,
                "n_tasks": len(runs.groupby(["states", "d", "separation"])),
                "mixture_tasks": len(runs[use].groupby(["states", "d", "separation"])),
                "ksg_calibrated": float(((runs["ksg-calibrated"] - runs.true_mi) ** 2).mean()),
                "ksg_mixture": float(((runs["ksg-mixture"] - runs.true_mi) ** 2).mean()),
                "rule": float(((rule - runs.true_mi) ** 2).mean()),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bmi", nargs="*", default=["bmi_suite_s15mix"], help="tags of bench_bmi_suite runs")
    parser.add_argument("--sc", nargs="*", default=["sc_suite_s15mix", "sc_suite_s15mix_10k"])
    parser.add_argument(
        "--auto",
        nargs="*",
        default=["sc_suite_s15", "sc_suite_s15auto_10k+sc_suite_s14_10k"],
        help="for each --sc tag, the runs (joined by +) whose auto (ours) fits to compare (same data sets)",
    )
    parser.add_argument(
        "--clustered", nargs="*", default=["clustered_mixture"], help="bench_clustered.py runs (N 1000)"
    )
    args = parser.parse_args()
    rows = [r for tag in args.bmi for r in bmi_rows(tag)]
    rows += [r for tag in args.clustered for r in clustered_rows(tag, 1000)]
    autos = list(args.auto) + [None] * (len(args.sc) - len(args.auto))
    rows += [r for tag, auto in zip(args.sc, autos, strict=True) for r in sc_rows(tag, auto)]
    table = pd.DataFrame(rows)
    print("mean MSE (bits^2): ksg-mixture where d_x d_y / 2n <= threshold, else ksg-calibrated")
    print(table.to_markdown(index=False, floatfmt=".4f"))
    print("wrote", write(table, "mixture_rule"))


if __name__ == "__main__":
    main()
