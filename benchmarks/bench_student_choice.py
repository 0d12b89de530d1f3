"""Where ``ksg-mixture`` calibrates on Student-t copula twins instead of Gaussian mixtures (issue 30, session 19).

For every task of the ``bmi`` suite (N = 2000, bmi's ``task.sample(N, seed=0)``) and of the single-cell-shaped
suite (``bm.benchmark.sc_suite``, N = 2000 and 10 000, replicate 0): the number of mixture components the held-out
likelihood chooses (``_choose_components``, as ``ksg_mixture`` does, generator seeded 0), then the held-out
comparison of the t-copula with that mixture (:func:`~bioinfo_mi.estimators._student.student_choice`: even and odd
rows, each half fitted and the other scored): its ``z`` (mean gain per row over its standard error), ``z_tails``
(the same over the Gaussian copula of the same correlation) and ``z_shared`` (over one t-copula per side), the gain
over the mixture in nats per row, the ``df`` fitted to each half, and whether the t-copula is chosen (all three at
least ``STUDENT_MIN_Z``, 5).
Tasks with more than ``STUDENT_MAX_DIM`` (64) joint columns, or a side of linearly dependent columns, are not
considered by the estimator and are listed as such. No truth enters the rule; the truth and the t-copula's MI at
the fitted ``df`` on all rows are printed beside it.

    python benchmarks/bench_student_choice.py            # about 3 min on 2 cores

Writes ``benchmarks/results/student_choice.csv``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _common import machine, write

import bioinfo_mi as bm
from bioinfo_mi.benchmark import sc_tasks
from bioinfo_mi.estimators._copula import copula_transform
from bioinfo_mi.estimators._mixture import MIXTURE_MAX_ROWS, _choose_components, _fit, _span
from bioinfo_mi.estimators._student import STUDENT_MAX_DIM, fit_student_copula, student_choice, student_copula_mi

LN2 = np.log(2.0)


def choice_row(suite: str, name: str, n: int, x: np.ndarray, y: np.ndarray, truth: float) -> dict:
    """The t-copula's held-out comparison on one data set (module docstring)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xs, ys = copula_transform(x[:, x.std(0) > 0]), copula_transform(y[:, y.std(0) > 0])
    row = {"suite": suite, "task": name, "n_samples": n, "d": xs.shape[1] + ys.shape[1], "truth_bits": truth}
    if row["d"] > STUDENT_MAX_DIM or _span(xs) is not None or _span(ys) is not None:
        return row | {"considered": False}
    z = np.hstack([xs, ys])[:MIXTURE_MAX_ROWS]
    components, _ = _choose_components(z, 32, np.random.default_rng(0))
    choice = student_choice(z, xs.shape[1], lambda train, test: _fit(train, components, 0).score_samples(test))
    corr, df = fit_student_copula(z)
    return row | {
        "considered": True,
        "components": components,
        "z": choice["z"],
        "z_tails": choice["z_tails"],
        "z_shared": choice["z_shared"],
        "gain_nats_per_row": choice["gain"],
        "df_halves": "/".join(f"{v:g}" for v in choice["df_halves"]),
        "selected": choice["selected"],
        "df": df,
        "t_copula_mi_bits": student_copula_mi(corr, xs.shape[1], df) / LN2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-sc", action="store_true", help="the bmi suite only")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from bmi.benchmark import BENCHMARK_TASKS

    rows = []
    for name, task in BENCHMARK_TASKS.items():
        x, y = task.sample(2000, seed=0)
        rows.append(choice_row("bmi", name, 2000, x, y, task.mutual_information / LN2))
        print(rows[-1], flush=True)
    for n in [] if args.no_sc else [2000, 10_000]:
        for task in sc_tasks.sc_suite(n):
            x, y = bm.benchmark.sample_task(task, 0)
            rows.append(choice_row("sc", task.name, n, x, y, task.true_mi))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(f"\nthe t-copula against the chosen mixture, held out; {machine()}")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    considered = table[table.considered].astype({"selected": bool})
    for suite, g in considered.groupby("suite"):
        chosen = g[g.selected]
        print(f"{suite}: considered {len(g)}, chosen {len(chosen)}: {', '.join(chosen.task)}")
        rest, keys = g[~g.selected], ["z", "z_tails", "z_shared"]
        low = chosen[keys].min(axis=1)
        print(f"  the smallest of the three z of the chosen: {low.min():.2f}-{low.max():.2f}")
        print(f"  of the others: largest {', '.join(f'{key} {rest[key].max():.2f}' for key in keys)}")
        print(f"  of the others, the largest smallest of the three: {rest[keys].min(axis=1).max():.2f}")
    print("wrote", write(table, "student_choice"))


if __name__ == "__main__":
    main()
