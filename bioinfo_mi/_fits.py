"""Repeated MI fits (clone pairings, shuffled controls, refits, partitions), in parallel with joblib.

Every fit gets its own seed spawned from ``random_state`` by position in the job list, so the
numbers are identical whatever ``n_jobs`` is at a fixed number of torch threads per fit
(``n_jobs > 1`` gives each worker ``cpu_count // n_jobs`` threads; LMI fits at small d can differ
between thread counts: docs/benchmarks.md, known defect). With a ``cache_dir`` each fit is stored on disk under
a key made of its inputs (the feature rows, seed, method and options), so one analysis can be split
into independent jobs (``fits=[i]``, e.g. one Snakemake job per pairing, see ``workflows/``) and
assembled by a final call that finds every fit in the cache, or resumed after an interruption.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._validation import EstimateWarning


@dataclass(frozen=True)
class FitJob:
    """One MI fit: rows ``x_rows`` of the features paired with rows ``y_rows``."""

    pairing: int
    shuffled: bool
    x_rows: np.ndarray
    y_rows: np.ndarray
    seed: int


@dataclass(frozen=True)
class FitResult:
    """Estimate and pointwise MI (aligned with the job's rows; NaN where not scored) of one fit, and
    its sampling standard error (:func:`bioinfo_mi.uncertainty.sampling_se`; NaN when not asked) and the
    :class:`~bioinfo_mi.EstimateWarning` diagnostics the fit raised, as ``(kind, message)`` pairs (held
    back so that a tool can report them once: :func:`warn_fits`)."""

    job: FitJob
    mi: float
    pmi: np.ndarray
    se: float = float("nan")
    warnings: tuple[tuple[str, str], ...] = ()


def _dense_rows(features: Any, rows: np.ndarray) -> np.ndarray:
    block = features[rows]
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def _fit(
    x_features: Any, y_features: Any, job: FitJob, method: str, options: dict[str, Any], threads: int | None = None,
    with_se: bool = False,
) -> FitResult:
    if threads is not None:  # inside a worker process: share the cores between workers
        import torch

        torch.set_num_threads(threads)
    x = _dense_rows(x_features, job.x_rows)
    y = _dense_rows(y_features, job.y_rows)
    from .api import mi  # the repeated-fit layer sits below the API that uses it

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimateWarning)
        res = mi(x, y, method=method, random_state=job.seed, **options)
    held = []
    for w in caught:
        if isinstance(w.message, EstimateWarning):
            held.append((w.message.kind, str(w.message)))
        else:  # everything else is passed on as raised
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    se = float("nan")
    if with_se:
        from .estimators._copula import apply_transform
        from .uncertainty import sampling_se

        opts = {key: v for key, v in options.items() if key not in ("transform", "samples_per_dim")}
        if options.get("transform"):
            x, y = apply_transform(x, options["transform"]), apply_transform(y, options["transform"])
        se = sampling_se(res, x, y, options=opts, random_state=spawn_seeds(job.seed, 1)[0])[0]
    return FitResult(job=job, mi=res.mi, pmi=res.pmi, se=se, warnings=tuple(held))


def warn_fits(results: Sequence[FitResult], *, stacklevel: int = 3) -> None:
    """Report the :class:`~bioinfo_mi.EstimateWarning` diagnostics of the real (unshuffled) fits, once
    per kind with the count of fits that raised it. Shuffled fits are expected to show no dependence,
    so their diagnostics are not reported."""
    real = [r for r in results if not r.job.shuffled]
    by_kind: dict[str, list[str]] = {}
    for r in real:
        for kind, message in r.warnings:
            by_kind.setdefault(kind, []).append(message)
    for kind, messages in by_kind.items():
        warnings.warn(EstimateWarning(f"{len(messages)} of {len(real)} real fits: {messages[0]}", kind),
                      stacklevel=stacklevel)


def _fingerprint(features: Any) -> str:
    """Hash of a feature matrix (dense or sparse), so cached fits are never reused for other data."""
    h = hashlib.blake2b(digest_size=16)
    if sp.issparse(features):
        csr = sp.csr_matrix(features)
        for part in (csr.data, csr.indices, csr.indptr):
            h.update(np.ascontiguousarray(part).tobytes())
        h.update(str(csr.shape).encode())
    else:
        arr = np.ascontiguousarray(features)
        h.update(arr.tobytes())
        h.update(f"{arr.shape}{arr.dtype}".encode())
    return h.hexdigest()


def _cache_key(job: FitJob, method: str, options: dict[str, Any], data_key: str, with_se: bool = False) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(data_key.encode())
    h.update(np.asarray(job.x_rows, dtype=np.int64).tobytes())
    h.update(b"|")
    h.update(np.asarray(job.y_rows, dtype=np.int64).tobytes())
    h.update(json.dumps([job.seed, method, sorted(options.items())], default=repr).encode())
    if with_se:
        h.update(b"|se")
    return h.hexdigest()


def _load(path: Path, job: FitJob) -> FitResult:
    with np.load(path) as f:
        held = (tuple(zip(f["warn_kinds"].tolist(), f["warn_messages"].tolist(), strict=True))
                if "warn_kinds" in f else ())
        return FitResult(job=job, mi=float(f["mi"]), pmi=f["pmi"], se=float(f["se"]) if "se" in f else float("nan"),
                         warnings=held)


def _save(path: Path, result: FitResult) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # atomic: parallel jobs never see half a file
    np.savez(tmp, mi=result.mi, pmi=result.pmi, se=result.se,
             warn_kinds=np.array([k for k, _ in result.warnings], dtype=str),
             warn_messages=np.array([m for _, m in result.warnings], dtype=str))
    os.replace(tmp, path)


def root_seed(random_state: Any) -> int:
    """The one integer a run of repeated fits derives every seed from: ``random_state`` itself when it
    is an int, one draw from it when it is a ``numpy.random.Generator`` (which advances it, as in
    scikit-learn), fresh OS entropy when it is None. Tools store it with their results, so any run
    can be repeated from its stored parameters."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**32 - 1))
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}")
    return int(random_state)


def spawn_seeds(random_state: Any, n: int) -> list[int]:
    """``n`` independent 32-bit seeds derived from ``random_state`` (int, Generator or None; see
    :func:`root_seed`)."""
    children = np.random.SeedSequence(root_seed(random_state)).spawn(n)
    return [int(c.generate_state(1)[0]) for c in children]


def run_fits(
    x_features: Any,
    y_features: Any,
    jobs: list[FitJob],
    *,
    method: str,
    options: dict[str, Any],
    n_jobs: int,
    progress: bool,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    with_se: Sequence[bool] | None = None,
) -> list[FitResult]:
    """Run the jobs (in parallel processes when ``n_jobs != 1``), with a progress bar over fits.

    ``fits`` restricts the run to those positions of ``jobs`` (only the ones that ran are returned);
    with ``cache_dir`` finished fits are read from and written to that folder; ``with_se`` (one flag
    per job) adds the sampling standard error of those fits.
    """
    flags = [False] * len(jobs) if with_se is None else [bool(f) for f in with_se]
    if len(flags) != len(jobs):
        raise ValueError(f"with_se: {len(flags)} flags for {len(jobs)} jobs")
    if fits is not None:
        fits = [int(i) for i in fits]
        bad = [i for i in fits if not 0 <= i < len(jobs)]
        if bad:
            raise ValueError(f"fits must be positions in 0..{len(jobs) - 1}, got {bad}")
        jobs = [jobs[i] for i in fits]
        flags = [flags[i] for i in fits]
    results: list[FitResult | None] = [None] * len(jobs)
    paths: list[Path | None] = [None] * len(jobs)
    if cache_dir is not None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        data_key = _fingerprint(x_features) + _fingerprint(y_features)
        for i, job in enumerate(jobs):
            paths[i] = folder / f"{_cache_key(job, method, options, data_key, flags[i])}.npz"
            if paths[i].exists():
                results[i] = _load(paths[i], job)
    todo = [i for i, r in enumerate(results) if r is None]
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=f"{method} fits", unit="fit",
               disable=not progress)

    def done(i: int, res: FitResult) -> None:
        results[i] = res
        if paths[i] is not None:
            _save(paths[i], res)
        bar.update()

    if n_jobs == 1 or len(todo) <= 1:
        for i in todo:
            done(i, _fit(x_features, y_features, jobs[i], method, options, with_se=flags[i]))
    else:
        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
        threads = max(1, (os.cpu_count() or 1) // n_jobs) if n_jobs > 0 else 1
        outputs = parallel(delayed(_fit)(x_features, y_features, jobs[i], method, options, threads, flags[i])
                           for i in todo)
        for i, res in zip(todo, outputs, strict=True):
            done(i, res)
    bar.close()
    return results  # type: ignore[return-value]
