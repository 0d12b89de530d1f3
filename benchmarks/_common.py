"""Helpers shared by the benchmark scripts: timing, quiet third-party calls, table output, the all-fits check of a
refitted estimator's standard error."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import chi2

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Run ``fn(*args, **kwargs)`` and return (result, wall seconds)."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


@contextlib.contextmanager
def quiet():
    """Silence stdout/stderr of chatty third-party code (latentmi prints every epoch)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def peak_rss(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, int, int]:
    """Run ``fn`` sampling this process's RSS every 50 ms; return (result, seconds, peak RSS, RSS at the start),
    the last two in bytes."""
    import threading

    import psutil

    proc, done = psutil.Process(), threading.Event()
    start_rss = proc.memory_info().rss
    peak = [start_rss]

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        thread.join()
    return out, seconds, max(peak[0], proc.memory_info().rss), start_rss


def machine() -> str:
    """One line describing where the benchmark ran."""
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {dev}"


def write(table: pd.DataFrame, name: str) -> Path:
    """Write ``table`` to ``benchmarks/results/<name>.csv`` and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.csv"
    table.to_csv(path, index=False)
    return path


def run_latentmi(x: Any, y: Any, seed: int) -> float:
    """MI (bits) from the reference implementation, latentmi 0.1.3, at its defaults (8 latent dims per side).

    latentmi draws its split from numpy's global RNG and initialises with torch's, so both are
    seeded; its per-epoch prints are silenced. Needs ``pip install -e ".[bench]"``.
    """
    from latentmi import lmi as latentmi_lmi

    if "NaN" not in np.__dict__:  # numpy 2 removed the alias that latentmi 0.1.3 uses (np.NaN)
        setattr(np, "NaN", np.nan)  # noqa: B010

    np.random.seed(seed)  # noqa: NPY002 - latentmi draws its split from numpy's global RNG
    torch.manual_seed(seed)
    with quiet():
        pmis, _, _ = latentmi_lmi.estimate(x, y, quiet=True)
    return float(np.nanmean(pmis))


#: the flow peer's settings (torch-mist 0.2.17 ``estimate_mi``): its joint-flow generative estimator ``gm``
#: (an affine autoregressive flow on the joint, linear flows on the marginals), trained on one half with early
#: stopping on a tenth of it, MI evaluated on the other half. Its ``doe`` (difference of entropies) read
#: -12.4 to 4.5 bits for truths of 0.45-3.47 on three of the suite's tasks (probe), so ``gm`` is the peer.
TORCH_MIST_SETTINGS = {"estimator": "gm", "hidden_dims": [128, 128], "max_epochs": 200, "patience": 10}


def run_torch_mist_flow(x: Any, y: Any, seed: int) -> float:
    """MI (bits) of torch-mist 0.2.17's normalizing-flow estimator (``gm``, :data:`TORCH_MIST_SETTINGS`) on
    standardised inputs: trained on a random half, evaluated on the other. Needs ``pip install torch-mist==0.2.17``
    (MIT; not a dependency of the package)."""
    import math

    from torch_mist import estimate_mi

    x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float32)
    y = np.asarray(y.toarray() if hasattr(y, "toarray") else y, dtype=np.float32)
    x, y = ((a - a.mean(0)) / np.where(a.std(0) > 0, a.std(0), 1.0) for a in (x, y))
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[: len(x) // 2], order[len(x) // 2 :]
    torch.manual_seed(seed)
    with quiet():
        value = estimate_mi(
            data=(x[train], y[train]),
            test_data=(x[test], y[test]),
            x_dim=x.shape[1],
            y_dim=y.shape[1],
            verbose=False,
            **TORCH_MIST_SETTINGS,
        )
    value = value[0] if isinstance(value, tuple) else value
    return float(value) / math.log(2.0)


def save_figure(fig: Any, path: Path, *, dpi: int = 130, tight: bool = False) -> Path:
    """Save a matplotlib figure to ``path`` (creating its folder), close it and return the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    plt.close(fig)
    return path


#: help text of the benchmarks' --threads option: it sets torch threads for the peers' fits only
THREADS_HELP = (
    "torch threads of fits outside bioinfo_mi's repeated-fit layer (latentmi); ours run with one "
    "thread per fit (bioinfo_mi._fits.FIT_THREADS) whatever this says"
)


def ours_estimator(method: str, **options: Any) -> Callable[[Any, Any, int], float]:
    """``run(x, y, seed) -> bits`` of ``bm.mi(x, y, method=method, random_state=seed, **options)``."""
    import bioinfo_mi as bm

    def run(x: Any, y: Any, seed: int) -> float:
        return bm.mi(x, y, method=method, random_state=seed, **options).mi

    return run


def bmi_estimator(name: str, **options: Any) -> Callable[[Any, Any, int], float]:
    """``run(x, y, seed) -> bits`` of the ``bmi`` package's estimator ``name`` (``benchmark-mi`` 0.1.3) at
    ``options``, its output in nats converted to bits and its prints silenced."""
    import math

    def run(x: Any, y: Any, seed: int) -> float:
        import bmi.estimators as be

        est = getattr(be, name)(**options)
        with quiet():
            return float(est.estimate(x, y)) / math.log(2.0)

    return run


def recorded_estimate(estimator: Callable[..., float], *args: Any) -> dict[str, Any]:
    """Run ``estimator(*args)`` with warnings silenced; return ``{"estimate", "seconds", "error"}`` (a failure
    is recorded as NaN with its message, so that one failing fit does not stop a benchmark)."""
    import warnings

    start, error = time.perf_counter(), ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimate = float(estimator(*args))
        except Exception as exc:  # noqa: BLE001 - recorded in the table
            estimate, error = float("nan"), f"{type(exc).__name__}: {exc}"[:200]
    return {"estimate": estimate, "seconds": time.perf_counter() - start, "error": error}


def write_json(path: Path, row: dict[str, Any]) -> None:
    """Write one cached benchmark row to ``path`` atomically (a temporary file, then renamed)."""
    import json

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row))
    tmp.replace(path)


def log_sd_ratio(tables: list[np.ndarray]) -> float:
    """Sum over cells of log(SD over data sets of column 0 / root-mean-square SD of the other columns)."""
    return float(sum(np.log(t[:, 0].std(ddof=1) / np.sqrt(t[:, 1:].var(axis=0, ddof=1).mean())) for t in tables))


def relabel_p(tables: list[np.ndarray], n_perm: int = 10_000, seed: int = 0) -> float:
    """One-sided permutation p-value that column 0 (a data set's first fit, rows: data sets) varies less across data
    sets than the other columns (its refits), pooled over cells by :func:`log_sd_ratio`.

    If the first fit is one more draw of the same estimator, the fits of a data set are exchangeable, so the null
    relabels which of them is "first", independently per data set.
    """
    rng = np.random.default_rng(seed)
    observed = log_sd_ratio(tables)
    null = np.array(
        [
            log_sd_ratio([np.take_along_axis(t, np.argsort(rng.random(t.shape), axis=1), axis=1) for t in tables])
            for _ in range(n_perm)
        ]
    )
    return float((np.sum(null <= observed) + 1) / (n_perm + 1))


def fit_table(g: pd.DataFrame) -> np.ndarray | None:
    """Data sets x (first fit, its refits) of one cell's runs (``estimate`` and the ";"-joined ``refits``; as many
    refits as every data set has), or None where the runs hold no refits."""
    if "refits" not in g or g.refits.isna().any() or (g.refits.astype(str) == "").any():
        return None
    fits = [[e, *map(float, str(r).split(";"))] for e, r in zip(g.estimate, g.refits, strict=True)]
    m = min(len(f) for f in fits)
    return np.array([f[:m] for f in fits])


def all_fits(g: pd.DataFrame) -> dict[str, float]:
    """Variance of one fit of a refitted estimator (LMI) from every fit of the cell, not only the first.

    The first fit and the refits of a data set are draws of the same estimator (the same options, their own
    seeds), so a one-way analysis of variance over data sets x fits estimates the variance of one fit,
    ``sigma_w^2 + sigma_b^2`` (within a data set: split, initialisation and mini-batches; between data sets:
    the data), as ``MSW + (MSB - MSW) / m`` with ``m`` fits per data set: with 10 data sets of 5 fits about
    three times the degrees of freedom of the first fits' SD. Its 95 % interval uses Satterthwaite's degrees
    of freedom. Also the first fits' SD over data sets against the refits' (the same estimator: about 1) and the
    mean gap between a data set's first fit and its refits (about 0). NaN without refits in the runs file.
    """
    keys = ("sd_all_fits", "sd_all_fits_over_se", "all_fits_lo", "all_fits_hi", "sd_first_over_refits")
    nan = dict.fromkeys((*keys, "first_minus_refits", "first_minus_refits_se", "first_fits_vary_less_p"), np.nan)
    table = fit_table(g)
    if table is None or min(table.shape) < 2:
        return nan
    k, m = table.shape
    msw = float(table.var(axis=1, ddof=1).mean())
    msb = float(m * table.mean(axis=1).var(ddof=1))
    a, b = (m - 1) / m, 1 / m
    total = a * msw + b * msb
    df = total**2 / ((a * msw) ** 2 / (k * (m - 1)) + (b * msb) ** 2 / (k - 1))
    ratio = np.sqrt(total) / g.se.mean()
    gap = table[:, 0] - table[:, 1:].mean(axis=1)  # the first fit against its data set's refits
    out = {
        "sd_first_over_refits": float(table[:, 0].std(ddof=1) / np.sqrt(table[:, 1:].var(axis=0, ddof=1).mean())),
        "first_minus_refits": float(gap.mean()),
        "first_minus_refits_se": float(gap.std(ddof=1) / np.sqrt(k)),
        "first_fits_vary_less_p": relabel_p([table]) if k > 2 and m > 2 else np.nan,
        "sd_all_fits": float(np.sqrt(total)),
        "sd_all_fits_over_se": float(ratio),
        "all_fits_lo": float(ratio * np.sqrt(df / chi2.ppf(0.975, df))),
        "all_fits_hi": float(ratio * np.sqrt(df / chi2.ppf(0.025, df))),
    }
    return {key: out[key] for key in nan}  # one order on both paths (pandas stacks Series of unequal index)
