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
