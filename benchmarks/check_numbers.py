"""Every kind of number the package produces, on small inputs, written to JSON at full precision.

A refactor must not move a number (issue 28): run this before the change with ``--write`` and after it
with ``--compare``; the comparison is exact (same machine, same thread settings). It covers each
method of ``bm.mi`` (estimate, standard error, permutation p-value, pointwise values), the simulators
and benchmark tasks, ``pp.preprocess`` and the four ``tl`` tools (their summaries and per-cell or
per-pair scores). About two minutes on two cores.

    python benchmarks/check_numbers.py --write benchmarks/results/numbers_before.json
    python benchmarks/check_numbers.py --compare benchmarks/results/numbers_before.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import bioinfo_mi as bm


def _numbers(value: Any) -> Any:
    """JSON-able copy with every float kept at full precision (repr)."""
    if isinstance(value, dict):
        return {str(k): _numbers(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, pd.DataFrame):
        return {str(c): _numbers(value[c].tolist()) for c in value.columns}
    if isinstance(value, pd.Series):
        return _numbers(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    if isinstance(value, np.ndarray):
        return _numbers(value.tolist())
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if value is None or isinstance(value, str):
        return value
    return repr(value)


def _digest(a: Any) -> dict[str, Any]:
    """Sum, sum of squares and a few entries of an array (the whole array would bloat the file)."""
    arr = np.asarray(a, dtype=float).ravel()
    finite = arr[np.isfinite(arr)]
    return {"n": arr.size, "finite": finite.size, "sum": finite.sum(), "sumsq": (finite**2).sum(), "head": arr[:5]}


def _result(res: Any) -> dict[str, Any]:
    out = {"mi": res.mi, "method": res.method, "se": res.se, "p_value": res.p_value}
    if res.pmi is not None:
        out["pmi"] = _digest(res.pmi)
    if res.null is not None:
        out["null"] = np.asarray(res.null)
    return out


def _gaussian(n: int = 400, d: int = 3, rho: float = 0.7, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))


def estimators() -> dict[str, Any]:
    x, y = _gaussian()
    out = {}
    fast = {"lmi": {"epochs": 20}, "mine": {"epochs": 20}, "infonce": {"epochs": 20}}
    for method in bm.METHODS:
        opts = dict(fast.get(method.split("-")[0], {}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bm.mi(x, y, method=method, random_state=1, error_bars=True, n_shuffles=2, n_jobs=1, **opts)
        out[method] = _result(res)
    return out


def auto_cases() -> dict[str, Any]:
    out = {}
    cases = {
        "gauss_2000_3d": _gaussian(2000, 3, 0.6, 1),
        "small_30": _gaussian(30, 2, 0.6, 2),
        "wide_300x40": bm.datasets.gaussian_low_rank(d=40, rank=1, n_samples=300, mi_bits=1.0, random_state=0),
    }
    for name, (x, y) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[name] = _result(bm.mi(x, y, random_state=0, error_bars=True, n_jobs=1))
    return out


def simulators() -> dict[str, Any]:
    lineage = bm.datasets.simulate_lineage(n_clones=60, n_genes=20, random_state=0)
    inter = bm.datasets.simulate_interactions(random_state=0)
    x, y = bm.datasets.gaussian_low_rank(d=6, rank=2, n_samples=200, mi_bits=1.0, random_state=0)
    return {
        "lineage_X": _digest(lineage.X.toarray() if hasattr(lineage.X, "toarray") else lineage.X),
        "lineage_obs": {c: str(lineage.obs[c].astype(str).tolist()[:20]) for c in lineage.obs.columns},
        "lineage_uns_truth": _numbers({k: v for k, v in lineage.uns.items() if isinstance(v, (float, int))}),
        "interactions_X": _digest(np.asarray(inter.X)),
        "interactions_n": inter.n_obs,
        "gaussian_low_rank": [_digest(x), _digest(y)],
    }


def preprocess() -> dict[str, Any]:
    adata = bm.datasets.simulate_lineage(n_clones=60, n_genes=30, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bm.pp.preprocess(adata, copy=True)
    return {"X": _digest(out.X.toarray() if hasattr(out.X, "toarray") else out.X), "obsm": sorted(out.obsm)}


def tools() -> dict[str, Any]:
    adata = bm.datasets.simulate_lineage(n_clones=150, n_genes=30, random_state=3)
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.tl.lmi(adata, method="ksg", n_pairings=2, n_shuffles=2, min_clones=20, copy=True, progress=False)
        out["lmi_ksg"] = res.uns["lmi"]["summary"]
        res = bm.tl.lmi(
            adata, n_pairings=1, n_shuffles=1, min_clones=20, copy=True, progress=False, estimator_kwds={"epochs": 10}
        )
        out["lmi_lmi"] = res.uns["lmi"]["summary"]
        res = bm.tl.pmi(adata, method="ksg", n_pairings=2, min_clones=20, copy=True, progress=False)
        out["pmi"] = _digest(res.obs["pmi"].to_numpy())
        res = bm.tl.markov_test(
            adata, method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, copy=True, progress=False
        )
        out["markov"] = {k: v for k, v in res.uns["markov_test"].items() if k != "params"}
        pairs = bm.datasets.simulate_interactions(random_state=0)
        res = bm.tl.interaction_roc(
            pairs, n_holdout=30, n_splits=2, random_state=0, copy=True, progress=False, estimator_kwds={"epochs": 5}
        )
        out["interaction_roc"] = {k: v for k, v in res.uns["interaction_roc"].items() if k != "params"}
    return out


def benchmark_tasks() -> dict[str, Any]:
    task = bm.benchmark.gaussian_task(10, 2, 1.0, n_samples=200)
    x, y = task.sample(0)
    return {"name": task.name, "true_mi": task.true_mi, "x": _digest(x), "y": _digest(y)}


SECTIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "estimators": estimators,
    "auto": auto_cases,
    "simulators": simulators,
    "preprocess": preprocess,
    "tools": tools,
    "benchmark_tasks": benchmark_tasks,
}


def snapshot() -> dict[str, Any]:
    out = {}
    for name, func in SECTIONS.items():
        start = time.perf_counter()
        out[name] = _numbers(func())
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    return out


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [line for k in keys for line in _diff(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [line for i, (u, v) in enumerate(zip(a, b, strict=True)) for line in _diff(u, v, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the snapshot here")
    group.add_argument("--compare", type=Path, help="compare with this snapshot (exit 1 on any difference)")
    args = parser.parse_args()
    now = snapshot()
    if args.write:
        args.write.write_text(json.dumps(now, indent=1))
        print("written:", args.write)
        return
    before = json.loads(args.compare.read_text())
    diffs = _diff(before, now)
    for line in diffs[:200]:
        print(line)
    print(f"{len(diffs)} differences" if diffs else "identical")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
