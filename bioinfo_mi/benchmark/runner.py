"""Run estimators on benchmark tasks over seeds: parallel, deterministic, resumable."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._cache import load_json, save_json
from .._docs import shared_docs
from .._fits import cache_key
from .._parallel import check_n_jobs, run_parallel
from .._validation import check_positive_int
from ..api import METHODS, mi
from .tasks import Task, base_seed

__all__ = ["Estimator", "run_benchmark", "sample_task"]


@dataclass(frozen=True)
class Estimator:
    """An estimator configuration: a :data:`bioinfo_mi.METHODS` entry plus options.

    Attributes
    ----------
    name
        Label in result tables (e.g. ``"LMI"``, ``"KSG-Global-Linf"``).
    method
        Key of :data:`bioinfo_mi.METHODS` (``"lmi"``, ``"ksg"``, ``"mine-global-corrected"``, ...).
    options
        Keyword options passed to :func:`bioinfo_mi.mi` (e.g. ``{"k": 3}``, ``{"steps": 500}``).
    """

    name: str
    method: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check that ``method`` names a known estimator (``bioinfo_mi.METHODS``)."""
        if self.method.lower() not in METHODS:
            raise ValueError(f"unknown method {self.method!r} for estimator {self.name!r}; valid: {sorted(METHODS)}")


def _int_of(*parts: Any) -> int:
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def _seeds(root: int, task: Task, seed: int, estimator: Estimator) -> tuple[int, int]:
    """Return the data seed (shared by every estimator on this task and seed) and the estimator seed."""
    base = [int(root) % 2**63, _int_of(task.name) % 2**63, int(seed)]
    data = np.random.SeedSequence(base).generate_state(1, np.uint64)[0]
    est = np.random.SeedSequence([*base, _int_of(estimator.name) % 2**63]).generate_state(1, np.uint64)[0]
    return int(data % 2**63), int(est % 2**32)


def sample_task(
    task: Task, replicate: int = 0, *, random_state: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return the dataset :func:`run_benchmark` draws for ``task`` and replicate ``replicate``.

    Lets a script run an estimator that is not in :data:`bioinfo_mi.METHODS` (e.g. the reference
    implementation ``latentmi``) on exactly the data the benchmark's estimators saw.

    Parameters
    ----------
    task
        The task.
    replicate
        Which of the ``n_seeds`` datasets per task (``0 .. n_seeds - 1``; the ``seed`` column of
        :func:`run_benchmark`'s table).
    random_state
        The ``random_state`` given to :func:`run_benchmark`; a Generator is drawn from as there
        (pass one in the state :func:`run_benchmark` got it in).

    Returns
    -------
    ``(x, y)``.
    """
    data_seed, _ = _seeds(base_seed(random_state), task, int(replicate), Estimator("-", "ksg"))
    return task.sample(data_seed)


def _cache_file(folder: Path, root: int, task: Task, seed: int, estimator: Estimator) -> Path:
    """Return the fit's file, named by the package's one cache key: package version, method, options, the
    method's defaults, the estimator's seed and the data, here the task (name, sampler, size, truth,
    parameters) and the seed it is drawn with.
    """
    data_seed, est_seed = _seeds(root, task, seed, estimator)
    data = {
        "sampler": task.sampler,
        "n_samples": task.n_samples,
        "true_mi": task.true_mi,
        "params": dict(task.params),
        "data_seed": data_seed,
    }
    key = cache_key(
        method=estimator.method, options=estimator.options, seed=est_seed, data=f"task {task.name}", extra=data
    )
    return folder / f"{key}.json"


def _load_fit(path: Path) -> dict[str, Any]:
    res = load_json(path, ("estimate", "seconds", "error"))
    if not isinstance(res["estimate"], float) or not isinstance(res["error"], str):
        raise ValueError(f"estimate {res['estimate']!r} or error {res['error']!r} of the wrong type")
    return res


def _run_one(task: Task, seed: int, estimator: Estimator, root: int, on_error: str) -> dict[str, Any]:
    data_seed, est_seed = _seeds(root, task, seed, estimator)
    x, y = task.sample(data_seed)
    start = time.perf_counter()
    error = ""
    try:
        estimate = float(mi(x, y, method=estimator.method, random_state=est_seed, **dict(estimator.options)).mi)
    except Exception as exc:  # noqa: BLE001 - recorded in the table when on_error="record"
        if on_error == "raise":
            raise
        estimate, error = float("nan"), f"{type(exc).__name__}: {exc}"
    return {"estimate": estimate, "seconds": time.perf_counter() - start, "error": error}


@shared_docs
def run_benchmark(
    tasks: Sequence[Task],
    estimators: Sequence[Estimator],
    *,
    n_seeds: int = 1,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    cache_dir: str | os.PathLike | None = None,
    on_error: str = "record",
    progress: bool = True,
) -> pd.DataFrame:
    """Estimate MI with every estimator on every task, ``n_seeds`` datasets per task.

    Every (task, seed) dataset is drawn once from a seed derived from ``random_state``, the task
    name and the seed index, so all estimators see the same data and adding tasks or estimators
    changes no other row. Fits run through the package's repeated-fit layer, each with the same
    fixed number of threads, so the table does not depend on ``n_jobs``.

    Parameters
    ----------
    tasks
        :class:`~bioinfo_mi.benchmark.Task` objects (unique names).
    estimators
        :class:`~bioinfo_mi.benchmark.Estimator` configurations (unique names).
    n_seeds
        Independent datasets per task.
    random_state
        Base seed: an int, a ``numpy.random.Generator`` or None (fresh entropy). Every seed of the run
        derives from one integer: the int itself, or one draw from the Generator (which advances it).
    {n_jobs}
    {cache_dir}
        Here each file is a small JSON file, and the data are the task and the seed of its dataset;
        failed fits are not stored.
    on_error
        ``"record"``: a failing fit gets estimate NaN, its message in the ``error`` column and a
        warning; ``"raise"``: the exception propagates.
    {progress}

    Returns
    -------
    Tidy DataFrame, one row per fit: ``task``, ``estimator``, ``seed``, ``true_mi``,
    ``estimate`` (bits), ``seconds`` (wall time of the fit alone), ``error`` (empty when it
    worked), ``n_samples`` and the task's ``params`` as columns.
    """
    tasks, estimators = list(tasks), list(estimators)
    if not tasks or not all(isinstance(t, Task) for t in tasks):
        raise TypeError("tasks must be a non-empty sequence of bioinfo_mi.benchmark.Task")
    if not estimators or not all(isinstance(e, Estimator) for e in estimators):
        raise TypeError("estimators must be a non-empty sequence of bioinfo_mi.benchmark.Estimator")
    for what, names in (("task", [t.name for t in tasks]), ("estimator", [e.name for e in estimators])):
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"{what} names must be unique, repeated: {dup[:5]}")
    n_seeds = check_positive_int(n_seeds, name="n_seeds")
    if on_error not in ("record", "raise"):
        raise ValueError(f"on_error must be 'record' or 'raise', got {on_error!r}")
    root = base_seed(random_state)
    n_jobs = check_n_jobs(n_jobs)
    jobs = [(t, s, e) for t in tasks for s in range(n_seeds) for e in estimators]
    paths: list[Path | None] = [None] * len(jobs)
    if cache_dir is not None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [_cache_file(folder, root, t, s, e) for t, s, e in jobs]
    results = run_parallel(
        _run_one,
        [(*job, root, on_error) for job in jobs],
        n_jobs=n_jobs,
        progress=progress,
        desc="benchmark fits",
        cache=paths,
        load=_load_fit,
        save=save_json,
        keep=lambda res: not res["error"],
    )
    rows = []
    for (t, s, e), res in zip(jobs, results, strict=True):
        rows.append(
            {
                "task": t.name,
                "estimator": e.name,
                "seed": s,
                "true_mi": t.true_mi,
                **res,
                "n_samples": t.n_samples,
                **dict(t.params),
            }
        )
    table = pd.DataFrame(rows)
    failed = table[table.error != ""]
    if len(failed):
        warnings.warn(
            f"{len(failed)} of {len(table)} fits failed (estimate NaN), e.g. "
            f"{failed.estimator.iloc[0]} on {failed.task.iloc[0]}: {failed.error.iloc[0]}",
            stacklevel=2,
        )
    return table
