"""The one layer for repeated fits: seeds, threads, the parallel loop, progress and the disk cache.

Every driver of many fits (clone pairings and shuffled controls in the tl tools, refits and
partitions of the error bars, ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``) runs its
fits through :func:`run_parallel`. Each fit gets its own seed spawned from ``random_state`` by
position in the job list (:func:`spawn_seeds`, one rule for an int, None or a Generator), and runs
with :data:`FIT_THREADS` torch and BLAS threads whether it runs in this process or in a worker, with
no nested pools inside it (:func:`cpu_workers`). The numbers are therefore identical whatever
``n_jobs`` is, on one machine. With a ``cache_dir`` each fit is stored on disk under
a key made of its inputs (the feature rows, seed, method and options), so one analysis can be split
into independent jobs (``fits=[i]``, e.g. one Snakemake job per pairing, see ``workflows/``) and
assembled by a final call that finds every fit in the cache, or resumed after an interruption.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._validation import EstimateWarning

T = TypeVar("T")

#: torch (and BLAS) threads each fit of this layer runs with, whatever ``n_jobs`` is: a CPU fit is
#: bit-reproducible only at a fixed thread count, so the count cannot follow the number of workers.
#: One thread per fit and one fit per core is also the fastest way to run many small fits
#: (benchmarks/bench_tl_lmi_timing.py). Override with the environment variable
#: ``BIOINFO_MI_FIT_THREADS`` (read at import).
FIT_THREADS: int = max(1, int(os.environ.get("BIOINFO_MI_FIT_THREADS", "1")))

#: methods whose estimates do not depend on the number of threads (exact neighbour counts, no BLAS):
#: their repeated fits run in this process with every thread instead of in worker processes
THREAD_EXACT = frozenset({"ksg", "bi-ksg", "ksg-local", "ksg-global", "ksg-global-linf"})
#: from this many samples in all the fits of one loop on, repeated fits of the :data:`THREAD_EXACT`
#: methods go to worker processes after all (one thread each, as every other method): the loop then
#: takes long enough to repay the workers' start-up (a few seconds: each imports the package), and in
#: worker processes the serial parts of one fit (sorting into cells, copies, validation) overlap with
#: another's search. On 2 cores, 99 KSG shuffles (8 + 8 dimensions) broke even at N = 10 000 (1e6
#: samples in all) and were 13 % faster in processes at N = 20 000 (benchmarks/bench_ksg_speed.py
#: at N = 50 000).
THREAD_EXACT_MAX_SAMPLES = 2_000_000
_budget: int | None = None  # the thread budget of the fit running in this process, if any


@contextmanager
def fit_threads(n: int | None = None) -> Iterator[None]:
    """Run the block with ``n`` (default :data:`FIT_THREADS`) torch and BLAS threads, and make
    :func:`cpu_workers` cap scipy's ``workers`` and the k-NN count pools at ``n``; the previous
    settings are restored afterwards. Every fit of the layer runs inside it, in the calling process
    (``n_jobs=1``) as in a worker, so its numbers do not depend on ``n_jobs``.
    """
    global _budget
    import torch
    from threadpoolctl import threadpool_limits

    n = FIT_THREADS if n is None else max(1, int(n))
    previous, previous_budget = torch.get_num_threads(), _budget
    torch.set_num_threads(n)
    _budget = n
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(previous)
        _budget = previous_budget


def cpu_workers(workers: int = -1) -> int:
    """Return the number of threads or processes a k-NN search may use: ``workers`` (``-1``: all cores)
    outside a fit of this layer, at most the fit's thread budget inside one (no nested pools).
    """
    if _budget is None:
        return int(workers)
    return _budget if workers == -1 else max(1, min(int(workers), _budget))


def check_n_jobs(n_jobs: Any) -> int:
    """Validate ``n_jobs`` (a positive int, or -1 for all cores)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    return int(n_jobs)


def _in_budget(func: Callable[..., T], args: tuple, threads: int) -> T:
    with fit_threads(threads):
        return func(*args)


def run_parallel(
    func: Callable[..., T],
    calls: Sequence[tuple],
    *,
    n_jobs: int,
    progress: bool,
    desc: str,
    unit: str = "fit",
    cache: Sequence[Path | None] | None = None,
    load: Callable[[Path], T] | None = None,
    save: Callable[[Path, T], None] | None = None,
    keep: Callable[[T], bool] | None = None,
    thread_exact: bool = False,
) -> list[T]:
    """``[func(*args) for args in calls]``, each call a fit with :data:`FIT_THREADS` threads, with a
    tqdm bar: in ``min(n_jobs, number of calls)`` loky worker processes (``n_jobs=-1``: one per
    core), or in this process when that is one or when the loop runs inside a fit of this layer.
    ``thread_exact=True`` declares that a call's result does not depend on its number of threads
    (exact k-NN counts): the calls then run one after the other in this process, each with the
    ``n_jobs`` threads (no worker start-up, which costs more than a KSG fit on a few thousand
    samples). :func:`run_fits` sets it for the :data:`THREAD_EXACT` methods when the loop holds
    fewer than :data:`THREAD_EXACT_MAX_SAMPLES` samples in all.

    This is the one loop every repeated-fit driver uses (the tl tools, :func:`run_fits`,
    ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``, the error bars). ``cache`` holds one
    path (or None) per call: an existing file is read with ``load`` instead of running the call, and
    a finished call is written with ``save(tmp_path, result)`` to a temporary file that is then
    renamed (atomic: parallel jobs never see half a file), unless ``keep(result)`` is false.
    """
    n_jobs = check_n_jobs(n_jobs)
    results: list[Any] = [None] * len(calls)
    done_flags = [False] * len(calls)
    paths: list[Path | None] = list(cache) if cache is not None else [None] * len(calls)
    if len(paths) != len(calls):
        raise ValueError(f"cache: {len(paths)} paths for {len(calls)} calls")
    for i, path in enumerate(paths):
        if path is not None and path.exists():
            results[i], done_flags[i] = load(path), True  # type: ignore[misc]
    todo = [i for i, flag in enumerate(done_flags) if not flag]
    bar = tqdm(total=len(calls), initial=len(calls) - len(todo), desc=desc, unit=unit, disable=not progress)

    def done(i: int, res: T) -> None:
        results[i] = res
        path = paths[i]
        if path is not None and save is not None and (keep is None or keep(res)):
            tmp = path.with_suffix(f".{os.getpid()}.tmp{path.suffix}")
            save(tmp, res)
            os.replace(tmp, path)
        bar.update()

    # one worker per core (n_jobs=-1) or n_jobs workers, never more than there are fits, and no
    # nested pool when this loop runs inside a fit (e.g. the error bars of one fit of a tool)
    cores = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    workers = min(len(todo), cores)
    if thread_exact and _budget is None:
        # one after the other in this process, each call with all the threads (not in Python threads:
        # a fit records its warnings with warnings.catch_warnings, which is not thread-safe)
        for i in todo:
            done(i, _in_budget(func, tuple(calls[i]), cores))
    elif workers <= 1 or _budget is not None:
        for i in todo:
            done(i, _in_budget(func, tuple(calls[i]), FIT_THREADS))
    else:
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
        with warnings.catch_warnings():
            # loky replaces a worker whose memory grew by 300 MB (a trained network) and says so; the
            # pending fits run on the new worker with their own seeds, so nothing is lost or changed
            warnings.filterwarnings(
                "ignore", message="A worker stopped while some jobs were given to the executor", category=UserWarning
            )
            outputs = parallel(delayed(_in_budget)(func, tuple(calls[i]), FIT_THREADS) for i in todo)
            for i, res in zip(todo, outputs, strict=True):
                done(i, res)
    bar.close()
    return results


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
    back so that a tool can report them once: :func:`warn_fits`).
    """

    job: FitJob
    mi: float
    pmi: np.ndarray
    se: float = float("nan")
    warnings: tuple[tuple[str, str], ...] = ()
    #: per-feature attribution of the fit (:func:`bioinfo_mi.estimators.attribution`) of the x and the
    #: y features, or None when not asked
    attribution: tuple[np.ndarray, np.ndarray] | None = None


def _dense_rows(features: Any, rows: np.ndarray) -> np.ndarray:
    block = features[rows]
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def _fit(
    x_features: Any,
    y_features: Any,
    job: FitJob,
    method: str,
    options: dict[str, Any],
    with_se: bool = False,
    attribution: str | None = None,
) -> FitResult:
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
    scores = None
    if with_se or attribution is not None:
        from .estimators._copula import apply_transform

        if options.get("transform"):  # the data the estimator saw
            x, y = apply_transform(x, options["transform"]), apply_transform(y, options["transform"])
    if with_se:
        from .uncertainty import sampling_se

        opts = {key: v for key, v in options.items() if key not in ("transform", "samples_per_dim")}
        se = sampling_se(res, x, y, options=opts, random_state=spawn_seeds(job.seed, 1)[0])[0]
    if attribution is not None:
        from .estimators._attribution import attribution as attribute

        # its own stream (spawned from the fit's seed), so that asking for it changes nothing else
        scored = attribute(res, x, y, score=attribution, random_state=spawn_seeds(job.seed, 2)[1])  # type: ignore[arg-type]
        scores = (scored.x, scored.y)
    return FitResult(job=job, mi=res.mi, pmi=res.pmi, se=se, warnings=tuple(held), attribution=scores)


def warn_fits(results: Sequence[FitResult], *, stacklevel: int = 3) -> None:
    """Report the :class:`~bioinfo_mi.EstimateWarning` diagnostics of the real (unshuffled) fits, once
    per kind with the count of fits that raised it. Shuffled fits are expected to show no dependence,
    so their diagnostics are not reported.
    """
    real = [r for r in results if not r.job.shuffled]
    by_kind: dict[str, list[str]] = {}
    for r in real:
        for kind, message in r.warnings:
            by_kind.setdefault(kind, []).append(message)
    for kind, messages in by_kind.items():
        warnings.warn(
            EstimateWarning(f"{len(messages)} of {len(real)} real fits: {messages[0]}", kind), stacklevel=stacklevel
        )


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


def _cache_key(
    job: FitJob,
    method: str,
    options: dict[str, Any],
    data_key: str,
    with_se: bool = False,
    attribution: str | None = None,
) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(data_key.encode())
    h.update(np.asarray(job.x_rows, dtype=np.int64).tobytes())
    h.update(b"|")
    h.update(np.asarray(job.y_rows, dtype=np.int64).tobytes())
    h.update(json.dumps([job.seed, method, sorted(options.items())], default=repr).encode())
    if with_se:
        h.update(b"|se")
    if attribution is not None:
        h.update(f"|attribution={attribution}".encode())
    return h.hexdigest()


def _load(path: Path, job: FitJob) -> FitResult:
    with np.load(path) as f:
        held = (
            tuple(zip(f["warn_kinds"].tolist(), f["warn_messages"].tolist(), strict=True)) if "warn_kinds" in f else ()
        )
        scores = (f["attribution_x"], f["attribution_y"]) if "attribution_x" in f else None
        return FitResult(
            job=job,
            mi=float(f["mi"]),
            pmi=f["pmi"],
            se=float(f["se"]) if "se" in f else float("nan"),
            warnings=held,
            attribution=scores,
        )


def _save(path: Path, result: FitResult) -> None:
    np.savez(
        path,
        mi=result.mi,
        pmi=result.pmi,
        se=result.se,
        warn_kinds=np.array([k for k, _ in result.warnings], dtype=str),
        warn_messages=np.array([m for _, m in result.warnings], dtype=str),
        **(
            {"attribution_x": result.attribution[0], "attribution_y": result.attribution[1]}
            if result.attribution is not None
            else {}
        ),
    )


def root_seed(random_state: Any) -> int:
    """Return the one integer a run of repeated fits derives every seed from: ``random_state`` itself when it
    is an int, one draw from it when it is a ``numpy.random.Generator`` (which advances it, as in
    scikit-learn), fresh OS entropy when it is None. Tools store it with their results, so any run
    can be repeated from its stored parameters.
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**32 - 1))
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}")
    if random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
    return int(random_state)


def spawn_seeds(random_state: Any, n: int) -> list[int]:
    """``n`` independent 32-bit seeds derived from ``random_state`` (int, Generator or None; see
    :func:`root_seed`).
    """
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
    attribution: str | None = None,
) -> list[FitResult]:
    """Run the jobs (in parallel processes when ``n_jobs != 1``), with a progress bar over fits.

    ``fits`` restricts the run to those positions of ``jobs`` (only the ones that ran are returned);
    with ``cache_dir`` finished fits are read from and written to that folder; ``with_se`` (one flag
    per job) adds the sampling standard error of those fits; ``attribution`` (a score of
    :func:`bioinfo_mi.estimators.attribution`) the per-feature attribution of every fit.
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
    paths: list[Path | None] = [None] * len(jobs)
    if cache_dir is not None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        data_key = _fingerprint(x_features) + _fingerprint(y_features)
        paths = [
            folder / f"{_cache_key(job, method, options, data_key, flag, attribution)}.npz"
            for job, flag in zip(jobs, flags, strict=True)
        ]
    by_path = {p: job for p, job in zip(paths, jobs, strict=True) if p is not None}
    calls = [
        (x_features, y_features, job, method, options, flag, attribution) for job, flag in zip(jobs, flags, strict=True)
    ]
    return run_parallel(
        _fit,
        calls,
        n_jobs=n_jobs,
        progress=progress,
        desc=f"{method} fits",
        cache=paths,
        load=lambda p: _load(p, by_path[p]),
        save=_save,
        thread_exact=method in THREAD_EXACT and sum(len(job.x_rows) for job in jobs) < THREAD_EXACT_MAX_SAMPLES,
    )
