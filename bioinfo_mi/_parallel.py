"""Threads, seeds and the parallel loop of every repeated fit: the bottom layer of the package.

Every driver of many fits (clone pairings and shuffled controls in the tl tools, refits and
partitions of the error bars, ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``) runs its
fits through :func:`run_parallel`. Each fit gets its own seed spawned from ``random_state`` by
position in the job list (:func:`spawn_seeds`, one rule for an int, None or a Generator), and runs
with :data:`FIT_THREADS` torch and BLAS threads whether it runs in this process or in a worker, with
no nested pools inside it (:func:`cpu_workers`). The numbers are therefore identical whatever
``n_jobs`` is, on one machine. Inside ``joblib.parallel_config(backend="dask")`` (with a
``dask.distributed.Client``) the fits run on the workers of the Dask cluster instead of local
processes, with the same seeds and thread budget. Every way out of the loop, an error or a
``KeyboardInterrupt`` included, stops and releases its worker processes.

The loop reads and writes one cache file per call when its caller names them (``cache=``): a file
that cannot be read back as a result (it raises one of :data:`CACHE_ERRORS`) is refitted and
overwritten with a ``UserWarning``, and a new file is written to a temporary name and then renamed,
so that parallel jobs never see half a file. What the files hold and how they are named is the
caller's (the cache module and the fit-job layer above this one).

This module imports nothing from the package: the estimators use it for their thread budget
(:func:`cpu_workers`) and their own loops.
"""

from __future__ import annotations

import os
import struct
import sys
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

T = TypeVar("T")

#: torch (and BLAS) threads each fit of the loop runs with, whatever ``n_jobs`` is: a CPU fit is
#: bit-reproducible only at a fixed thread count, so the count cannot follow the number of workers.
#: One thread per fit and one fit per core is also the fastest way to run many small fits
#: (benchmarks/bench_tl_lmi_timing.py). Override with the environment variable
#: ``BIOINFO_MI_FIT_THREADS`` (read at import).
FIT_THREADS: int = max(1, int(os.environ.get("BIOINFO_MI_FIT_THREADS", "1")))

_budget: int | None = None  # the thread budget of the fit running in this process, if any
_pools: tuple[int, Any] | None = None  # (len(sys.modules) when scanned, threadpoolctl.ThreadpoolController)


def _thread_pools() -> Any:
    """Return the BLAS / OpenMP thread pools loaded in this process (a ``threadpoolctl.ThreadpoolController``).

    Scanning the loaded libraries costs about 7 ms, which on small data was a third of a k-NN fit
    (``bm.cmi`` with 19 shuffles at N = 200: 0.34 s per call). The scan is therefore kept and redone only
    after a module was imported since, the way a new pool library gets loaded (torch, numba's threading
    layer and scipy's BLAS all load with an extension module).
    """
    global _pools
    from threadpoolctl import ThreadpoolController

    loaded = len(sys.modules)
    if _pools is None or _pools[0] != loaded:
        _pools = (loaded, ThreadpoolController())
    return _pools[1]


@contextmanager
def fit_threads(n: int | None = None) -> Iterator[None]:
    """Run the block with ``n`` (default :data:`FIT_THREADS`) torch and BLAS threads, and make
    :func:`cpu_workers` cap scipy's ``workers`` and the k-NN count pools at ``n``; the previous
    settings are restored afterwards. Every fit of the layer runs inside it, in the calling process
    (``n_jobs=1``) as in a worker, so its numbers do not depend on ``n_jobs``.
    """
    global _budget
    import torch

    n = FIT_THREADS if n is None else max(1, int(n))
    previous, previous_budget = torch.get_num_threads(), _budget
    torch.set_num_threads(n)
    _budget = n
    try:
        with _thread_pools().limit(limits=n):
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


def _in_worker(func: Callable[..., T], args: tuple, threads: int) -> T:
    """:func:`_in_budget` in a worker process. tqdm's default lock holds a multiprocessing semaphore, which a
    worker killed on the error path (joblib kills the pool when a loop stops early) never unregisters: the
    interpreter then exits with "leaked semaphore objects". A worker's bars need no lock shared across
    processes (loky workers are spawned, not forked, so they never shared one), so they get a thread lock.
    """
    from tqdm.std import tqdm as std_tqdm

    if not hasattr(std_tqdm, "_lock"):
        std_tqdm.set_lock(threading.RLock())
    return _in_budget(func, args, threads)


class CacheError(ValueError):
    """A cache file that is not a result of the fit it is named after (wrong format, key, fields or shapes)."""


#: what reading a damaged cache file can raise (truncated or garbled zip or JSON, missing fields, wrong types)
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    CacheError,
    zipfile.BadZipFile,
    EOFError,
    ValueError,
    KeyError,
    OSError,
    TypeError,
    IndexError,
    struct.error,
)


def _load_cached(paths: Sequence[Path | None], load: Callable[[Path], T] | None) -> tuple[dict[int, T], list[str]]:
    """Read the existing cache files; a file that cannot be read as a result is reported and left for refitting."""
    found: dict[int, T] = {}
    bad: list[str] = []
    for i, path in enumerate(paths):
        if path is None or load is None or not path.exists():
            continue
        try:
            found[i] = load(path)
        except CACHE_ERRORS as exc:
            bad.append(f"{path} ({type(exc).__name__}: {exc})")
    return found, bad


def _write_atomic(path: Path, result: T, save: Callable[[Path, T], None]) -> None:
    """``save`` to a temporary file in the same folder, flush it to disk, then rename it onto ``path``: a reader
    never sees half a file, and a run killed mid-write leaves at most a temporary file no key points to.
    """
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        save(tmp, result)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    core), on the workers of a Dask cluster inside ``joblib.parallel_config(backend="dask")`` (unless
    ``n_jobs=1``), or in this process when that is one or when the loop runs inside a fit of this layer.
    ``thread_exact=True`` declares that a call's result does not depend on its number of threads
    (exact k-NN counts): the calls then run one after the other in this process, each with the
    ``n_jobs`` threads (no worker start-up, which costs more than a KSG fit on a few thousand
    samples). The fit-job layer sets it for the methods the registry marks thread-exact when the
    loop holds few samples in all.

    This is the one loop every repeated-fit driver uses (the tl tools and the error bars through the
    fit-job layer, ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``). ``cache`` holds one
    path (or None) per call, named by the package's cache key: an existing file is read with ``load``
    instead of running the call; a file ``load`` cannot read (it raises one of :data:`CACHE_ERRORS`:
    truncated, garbled, another format or key, a missing field, a wrong shape) is never used as a
    result: the call runs again, the file is overwritten, and one ``UserWarning`` names the files. A
    finished call is written with ``save(tmp_path, result)`` to a temporary file that is then renamed
    (atomic: parallel jobs never see half a file), unless ``keep(result)`` is false. Each result is
    written as soon as it arrives, so an interrupted loop leaves every finished fit in the cache.

    An error in a call, in ``save`` or a ``KeyboardInterrupt`` stops the loop: the pending calls are
    cancelled and the worker processes stopped before the exception propagates.
    """
    n_jobs = check_n_jobs(n_jobs)
    results: list[Any] = [None] * len(calls)
    paths: list[Path | None] = list(cache) if cache is not None else [None] * len(calls)
    if len(paths) != len(calls):
        raise ValueError(f"cache: {len(paths)} paths for {len(calls)} calls")
    found, bad = _load_cached(paths, load)
    if bad:
        warnings.warn(
            f"{len(bad)} cache file(s) could not be read as results and are refitted and overwritten: "
            + "; ".join(bad[:5])
            + (f"; and {len(bad) - 5} more" if len(bad) > 5 else ""),
            UserWarning,
            stacklevel=3,
        )
    for i, res in found.items():
        results[i] = res
    todo = [i for i in range(len(calls)) if i not in found]

    def done(i: int, res: T) -> None:
        results[i] = res
        path = paths[i]
        if path is not None and save is not None and (keep is None or keep(res)):
            _write_atomic(path, res, save)
        bar.update()

    # one worker per core (n_jobs=-1) or n_jobs workers, never more than there are fits, and no
    # nested pool when this loop runs inside a fit (e.g. the error bars of one fit of a tool); inside
    # joblib.parallel_config(backend="dask"), the workers of the Dask cluster
    cores = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    workers = min(len(todo), cores)
    cluster = dask_backend_active() and n_jobs != 1 and len(todo) > 1
    bar = tqdm(total=len(calls), initial=len(calls) - len(todo), desc=desc, unit=unit, disable=not progress)
    try:
        if thread_exact and _budget is None:
            # one after the other in this process, each call with all the threads (not in Python threads:
            # a fit records its warnings with warnings.catch_warnings, which is not thread-safe)
            for i in todo:
                done(i, _in_budget(func, tuple(calls[i]), cores))
        elif (workers <= 1 and not cluster) or _budget is not None:
            for i in todo:
                done(i, _in_budget(func, tuple(calls[i]), FIT_THREADS))
        else:
            _run_in_workers(func, calls, todo, n_jobs if cluster else workers, done, None if cluster else "loky")
    finally:
        bar.close()
    return results


def dask_backend_active() -> bool:
    """Whether the calling code runs inside ``joblib.parallel_config(backend="dask")`` (with a
    ``dask.distributed.Client``): :func:`run_parallel` then sends its fits to the cluster's workers.
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return type(backend).__name__ == "DaskDistributedBackend"


def _run_in_workers(
    func: Callable[..., T],
    calls: Sequence[tuple],
    todo: list[int],
    workers: int,
    done: Callable[[int, T], None],
    backend: str | None = "loky",
) -> None:
    """Run the calls ``todo`` in loky worker processes (or on the workers of a Dask cluster), each result
    handed to ``done`` as it arrives. On any exception (in a call, in ``done``, ``KeyboardInterrupt``) the
    result generator is closed, which makes joblib cancel the pending calls and kill the workers, before the
    exception propagates. ``backend=None``: the active joblib backend (Dask's, inherited from
    ``parallel_config``; naming it again here fails in joblib 1.6 with distributed 2026.8).
    """
    parallel = Parallel(n_jobs=workers, backend=backend, return_as="generator")
    with warnings.catch_warnings():
        # loky replaces a worker whose memory grew by 300 MB (a trained network) and says so; the
        # pending fits run on the new worker with their own seeds, so nothing is lost or changed
        warnings.filterwarnings(
            "ignore", message="A worker stopped while some jobs were given to the executor", category=UserWarning
        )
        # stopping early on an error is what this loop means to do; joblib's advice about it is not for the user
        warnings.filterwarnings(
            "ignore", message=r"\d+ tasks (have been successfully executed|which were still being processed)"
        )
        outputs = parallel(delayed(_in_worker)(func, tuple(calls[i]), FIT_THREADS) for i in todo)
        try:
            for i, res in zip(todo, outputs, strict=True):
                done(i, res)
        except BaseException:
            outputs.close()  # GeneratorExit in joblib: abort the pending calls, kill and release the workers
            raise


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
