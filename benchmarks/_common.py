"""Helpers shared by the benchmark scripts: timing, quiet third-party calls, table output."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

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
    import numpy as np
    from latentmi import lmi as latentmi_lmi

    if "NaN" not in np.__dict__:  # numpy 2 removed the alias that latentmi 0.1.3 uses (np.NaN)
        setattr(np, "NaN", np.nan)  # noqa: B010

    np.random.seed(seed)  # noqa: NPY002 - latentmi draws its split from numpy's global RNG
    torch.manual_seed(seed)
    with quiet():
        pmis, _, _ = latentmi_lmi.estimate(x, y, quiet=True)
    return float(np.nanmean(pmis))


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
