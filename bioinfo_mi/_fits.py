"""The one layer for repeated fits: seeds, threads, the parallel loop, progress and the disk cache.

Every driver of many fits (clone pairings and shuffled controls in the tl tools, refits and
partitions of the error bars, ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``) runs its
fits through :func:`run_parallel`. Each fit gets its own seed spawned from ``random_state`` by
position in the job list (:func:`spawn_seeds`, one rule for an int, None or a Generator), and runs
with :data:`FIT_THREADS` torch and BLAS threads whether it runs in this process or in a worker, with
no nested pools inside it (:func:`cpu_workers`). The numbers are therefore identical whatever
``n_jobs`` is, on one machine. Every way out of the loop, an error or a ``KeyboardInterrupt``
included, stops and releases its worker processes.

The disk cache. With a ``cache_dir`` each fit is stored as one file, so one analysis can be split
into independent jobs (``fits=[i]``, e.g. one Snakemake job per pairing, see ``workflows/``) and
assembled by a final call that finds every fit in the cache, or resumed after an interruption.
The file name is :func:`cache_key`, the one key of every cache of the package (the tl tools through
:func:`run_fits`, ``run_benchmark``, ``interaction_roc``): a hash of the package version
(``bioinfo_mi.__version__``), the cache format (:data:`CACHE_FORMAT`), the method, the options as
passed, the defaults of the method's implementation (:func:`method_defaults`: every signature
default and the LMI presets, so that a changed default changes the key), the seed, the rows, a
fingerprint of the data, and whether the fit adds a standard error or an attribution. A fit of
another version, other options, defaults, data or seed is never read back; it is fitted anew. Each
file also holds :data:`CACHE_FORMAT` and its own key, and is written to a temporary file that is
then renamed (parallel jobs never see half a file). A file that cannot be read as a result (a run
killed mid-write, a full disk, an interrupted copy, garbage, a missing field or a wrong shape) is
never used: it is refitted and overwritten, with a ``UserWarning`` naming it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import re
import struct
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ._validation import EstimateWarning
from ._version import __version__

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
    core), or in this process when that is one or when the loop runs inside a fit of this layer.
    ``thread_exact=True`` declares that a call's result does not depend on its number of threads
    (exact k-NN counts): the calls then run one after the other in this process, each with the
    ``n_jobs`` threads (no worker start-up, which costs more than a KSG fit on a few thousand
    samples). :func:`run_fits` sets it for the :data:`THREAD_EXACT` methods when the loop holds
    fewer than :data:`THREAD_EXACT_MAX_SAMPLES` samples in all.

    This is the one loop every repeated-fit driver uses (the tl tools, :func:`run_fits`,
    ``run_benchmark``, ``scan_latent_dim``, ``interaction_roc``, the error bars). ``cache`` holds one
    path (or None) per call, named by :func:`cache_key`: an existing file is read with ``load``
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
    # nested pool when this loop runs inside a fit (e.g. the error bars of one fit of a tool)
    cores = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    workers = min(len(todo), cores)
    bar = tqdm(total=len(calls), initial=len(calls) - len(todo), desc=desc, unit=unit, disable=not progress)
    try:
        if thread_exact and _budget is None:
            # one after the other in this process, each call with all the threads (not in Python threads:
            # a fit records its warnings with warnings.catch_warnings, which is not thread-safe)
            for i in todo:
                done(i, _in_budget(func, tuple(calls[i]), cores))
        elif workers <= 1 or _budget is not None:
            for i in todo:
                done(i, _in_budget(func, tuple(calls[i]), FIT_THREADS))
        else:
            _run_in_workers(func, calls, todo, workers, done)
    finally:
        bar.close()
    return results


def _run_in_workers(
    func: Callable[..., T], calls: Sequence[tuple], todo: list[int], workers: int, done: Callable[[int, T], None]
) -> None:
    """Run the calls ``todo`` in loky worker processes, each result handed to ``done`` as it arrives. On any
    exception (in a call, in ``done``, ``KeyboardInterrupt``) the result generator is closed, which makes joblib
    cancel the pending calls and kill the workers, before the exception propagates.
    """
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
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

    # the EstimateWarnings of the fit, of its standard error (e.g. "small-sample-se") and of its attribution
    # are held and returned with it, so that a tool reports them once (warn_fits), also from workers
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimateWarning)
        res = mi(x, y, method=method, random_state=job.seed, **options)
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
    held = []
    for w in caught:
        if isinstance(w.message, EstimateWarning):
            held.append((w.message.kind, str(w.message)))
        else:  # everything else is passed on as raised
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
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


#: layout of the cache files, stored in each file and part of every key: change it when the layout changes
CACHE_FORMAT = "bioinfo_mi-cache/1"


def _plain(value: Any) -> Any:
    """JSON form of an option or a default that is the same in every process (no memory addresses, no set order)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"ndarray": value.dtype.str, "shape": list(value.shape), "blake2b": _digest(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {type(value).__qualname__: fields}
    if isinstance(value, functools.partial):
        return {"partial": _plain(value.func), "args": _plain(value.args), "keywords": _plain(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _digest(*arrays: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        _update(h, arr)
    return h.hexdigest()


def _update(h: Any, values: Any) -> None:
    """Feed an array (numbers or strings), a sparse matrix or a DataFrame to a hash, shape and type included."""
    if isinstance(values, pd.DataFrame):
        _update(h, values.to_numpy())
        _update(h, values.index.astype(str).to_numpy())
        _update(h, values.columns.astype(str).to_numpy())
        return
    if sp.issparse(values):
        csr = sp.csr_matrix(values)
        for part in (csr.data, csr.indices, csr.indptr):
            _update(h, part)
        h.update(f"sparse{csr.shape}".encode())
        return
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":  # ids: the text of each one
        h.update("\x1f".join(map(str, arr.ravel().tolist())).encode())
        h.update(f"|text{arr.shape}|".encode())
        return
    arr = np.ascontiguousarray(arr)
    h.update(arr.tobytes())
    h.update(f"|{arr.shape}{arr.dtype.str}|".encode())


def fingerprint(features: Any) -> str:
    """Hash a feature matrix (dense, sparse, or a DataFrame with its labels), so cached fits are never reused
    for other data.

    Parameters
    ----------
    features
        Array, sparse matrix or DataFrame.

    Returns
    -------
    32 hexadecimal digits.
    """
    return _digest(features)


_fingerprint = fingerprint


def module_constants(module: Any) -> dict[str, Any]:
    """Return the module-level constants of ``module`` (upper-case names bound to numbers, strings, tuples,
    sets, mappings or dataclass instances) by name: the settings a function of the module may resolve
    its defaults from.
    """
    if module is None:
        return {}
    kinds = (bool, int, float, str, tuple, frozenset, set, Mapping)
    return {
        name: value
        for name, value in sorted(vars(module).items())
        if name.isupper()
        and not name.startswith("_")
        and (isinstance(value, kinds) or (dataclasses.is_dataclass(value) and not isinstance(value, type)))
    }


def signature_defaults(*functions: Callable[..., Any]) -> dict[str, Any]:
    """Return the keyword defaults of ``functions`` (through ``functools.partial`` and decorators), by name.

    A partial's fixed keywords count as defaults. The constants of each function's module
    (:func:`module_constants`: LMI's ``PRESETS``, the error bars' partitions and growth constants, the
    small-sample thresholds) are included too, so a changed constant changes the result as a changed
    signature default does.

    Parameters
    ----------
    *functions
        Callables.

    Returns
    -------
    ``{"module.qualname": {parameter: default, ...}}``.
    """
    out: dict[str, Any] = {}
    for func in functions:
        fixed: dict[str, Any] = {}
        while isinstance(func, functools.partial):
            fixed = {**func.keywords, **fixed}
            func = func.func
        params = inspect.signature(func).parameters.values()
        found = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        found.update(fixed)
        target = inspect.unwrap(func)
        found.update(module_constants(inspect.getmodule(target)))
        out[f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}"] = found
    return out


def method_defaults(method: str, *, with_se: bool = False, attribution: str | None = None) -> dict[str, Any]:
    """Return the defaults that decide a fit of ``method`` beside the options passed to it: those of the
    method's entry and implementation in the registry (:data:`bioinfo_mi.METHODS`; for ``"auto"``, of every
    implementation it may choose), and with ``with_se`` / ``attribution`` those of
    :func:`bioinfo_mi.uncertainty.sampling_se` / :func:`bioinfo_mi.estimators.attribution`.

    Parameters
    ----------
    method
        A :data:`bioinfo_mi.METHODS` entry.
    with_se, attribution
        Whether the fit adds a sampling standard error, and which attribution score.

    Returns
    -------
    :func:`signature_defaults` of those functions.
    """
    # the registry of methods lives in api, which imports this module: a function-local import
    from . import api

    method = method.lower()
    impls = api._IMPLEMENTATIONS
    functions = [
        api.METHODS[method],
        *(impls.values() if method == "auto" else [impls[method]] if method in impls else []),
    ]
    if with_se:
        from .uncertainty import sampling_se

        functions.append(sampling_se)
    if attribution is not None:
        from .estimators._attribution import attribution as attribute

        functions.append(attribute)
    return signature_defaults(*functions)


def cache_key(
    *,
    method: str,
    options: Mapping[str, Any],
    seed: int | None,
    data: str,
    rows: Sequence[Any] = (),
    with_se: bool = False,
    attribution: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Return the key of one cached fit, the same in every process and on every machine: its file name.

    A hash of everything that decides the fit's numbers: the package version
    (``bioinfo_mi.__version__``) and :data:`CACHE_FORMAT`, the method, the options as passed, the
    defaults behind them (``defaults``; by default :func:`method_defaults`, so that a changed default
    gives another key), the seed, the rows of the data the fit sees, the data's fingerprint, whether it
    adds a standard error (``with_se``) or an attribution, and what else the caller's fit depends on
    (``extra``). Options and defaults are hashed in a canonical JSON form (sorted keys; callables by
    qualified name, arrays by content, never by memory address).

    Parameters
    ----------
    method
        The estimator (:data:`bioinfo_mi.METHODS` entry).
    options
        The estimator's options as passed.
    seed
        The fit's seed.
    data
        Fingerprint of the data (e.g. of the feature matrices, :func:`fingerprint`), or a description that
        determines them (a benchmark task and its data seed).
    rows
        Arrays of row positions or ids that select the fit's samples from ``data``.
    with_se, attribution
        Whether the fit adds its sampling standard error, and which attribution score.
    defaults
        The defaults to hash; ``None``: :func:`method_defaults` of ``method``.
    extra
        Further settings of the caller's fit (JSON-able after canonical conversion).

    Returns
    -------
    32 hexadecimal digits.
    """
    if defaults is None:
        defaults = method_defaults(method, with_se=with_se, attribution=attribution)
    spec = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "method": method.lower(),
        "options": _plain(dict(options)),
        "defaults": _plain(dict(defaults)),
        "seed": _plain(seed),
        "data": data,
        "rows": [_digest(r) for r in rows],
        "with_se": bool(with_se),
        "attribution": attribution,
        "extra": _plain(dict(extra or {})),
    }
    return hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(), digest_size=16).hexdigest()


def _cache_key(
    job: FitJob,
    method: str,
    options: dict[str, Any],
    data_key: str,
    with_se: bool = False,
    attribution: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> str:
    """:func:`cache_key` of one job of :func:`run_fits`."""
    return cache_key(
        method=method,
        options=options,
        seed=job.seed,
        data=data_key,
        rows=(np.asarray(job.x_rows, dtype=np.int64), np.asarray(job.y_rows, dtype=np.int64)),
        with_se=with_se,
        attribution=attribution,
        defaults=defaults,
    )


def _key_of(path: Path) -> str:
    """Return the key a cache file is named by (its temporary name during the write included)."""
    return path.name.split(".", 1)[0]


def _check_marker(form: Any, key: Any, path: Path) -> None:
    if form != CACHE_FORMAT:
        raise CacheError(f"format {form!r}, expected {CACHE_FORMAT!r}")
    if key != _key_of(path):
        raise CacheError(f"holds the fit of key {key!r}, not of its name")


def save_arrays(path: Path, arrays: Mapping[str, Any]) -> None:
    """Write ``arrays`` to the ``.npz`` file ``path`` with :data:`CACHE_FORMAT` and the file's key.

    Parameters
    ----------
    path
        The file (its name starts with the key).
    arrays
        Name -> array or scalar.

    Returns
    -------
    None.
    """
    np.savez(path, __format__=np.array(CACHE_FORMAT), __key__=np.array(_key_of(path)), **arrays)


def load_arrays(path: Path, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Read a file of :func:`save_arrays`, checking that it is whole (every member is read, so zip's CRC is
    checked), of :data:`CACHE_FORMAT`, of the key it is named by, and that it holds every field of ``shapes``
    with that shape (``-1``: any length).

    Parameters
    ----------
    path
        The file.
    shapes
        Field -> expected shape.

    Returns
    -------
    Field -> array, every field of the file.

    Raises
    ------
    One of :data:`CACHE_ERRORS` when the file is not such a result.
    """
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    marker = {
        name: arrays[name].item() if name in arrays and arrays[name].shape == () else None
        for name in ("__format__", "__key__")
    }
    _check_marker(marker["__format__"], marker["__key__"], path)
    for name, shape in shapes.items():
        if name not in arrays:
            raise CacheError(f"field {name!r} missing")
        got = arrays[name].shape
        if len(got) != len(shape) or any(want not in (-1, n) for want, n in zip(shape, got, strict=True)):
            raise CacheError(f"field {name!r} has shape {got}, expected {shape}")
    return arrays


def save_json(path: Path, result: Mapping[str, Any]) -> None:
    """Write ``result`` as JSON to ``path`` with :data:`CACHE_FORMAT` and the file's key.

    Parameters
    ----------
    path
        The file (its name starts with the key).
    result
        A JSON-able mapping.

    Returns
    -------
    None.
    """
    path.write_text(json.dumps({"format": CACHE_FORMAT, "key": _key_of(path), "result": dict(result)}))


def load_json(path: Path, fields: Iterable[str]) -> dict[str, Any]:
    """Read a file of :func:`save_json`, checking its format, key and that it holds ``fields``.

    Parameters
    ----------
    path
        The file.
    fields
        Names the result must hold.

    Returns
    -------
    The stored mapping.

    Raises
    ------
    One of :data:`CACHE_ERRORS` when the file is not such a result.
    """
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise CacheError(f"holds a {type(data).__name__}, not a cached result")
    _check_marker(data.get("format"), data.get("key"), path)
    result = data.get("result")
    if not isinstance(result, dict):
        raise CacheError("no result")
    missing = [name for name in fields if name not in result]
    if missing:
        raise CacheError(f"fields {missing} missing")
    return result


def _load(
    path: Path, job: FitJob, n_features: tuple[int, int] | None = None, attribution: bool | None = None
) -> FitResult:
    """Read the :class:`FitResult` of ``job`` stored in ``path``, checked: ``pmi`` aligned with the job's rows, and
    with ``attribution=True`` both attributions (of ``n_features`` x and y features, when given); ``None``:
    the attribution the file holds, if any.
    """
    shapes: dict[str, tuple[int, ...]] = {
        "mi": (),
        "pmi": (len(job.x_rows),),
        "se": (),
        "warn_kinds": (-1,),
        "warn_messages": (-1,),
    }
    if attribution:
        dx, dy = n_features if n_features is not None else (-1, -1)
        shapes.update(attribution_x=(dx,), attribution_y=(dy,))
    f = load_arrays(path, shapes)
    if len(f["warn_kinds"]) != len(f["warn_messages"]):
        raise CacheError("warning kinds and messages differ in number")
    has = attribution if attribution is not None else "attribution_x" in f and "attribution_y" in f
    return FitResult(
        job=job,
        mi=float(f["mi"]),
        pmi=f["pmi"],
        se=float(f["se"]),
        warnings=tuple(zip(f["warn_kinds"].tolist(), f["warn_messages"].tolist(), strict=True)),
        attribution=(f["attribution_x"], f["attribution_y"]) if has else None,
    )


def _save(path: Path, result: FitResult) -> None:
    save_arrays(
        path,
        {
            "mi": result.mi,
            "pmi": result.pmi,
            "se": result.se,
            "warn_kinds": np.array([k for k, _ in result.warnings], dtype=str),
            "warn_messages": np.array([m for _, m in result.warnings], dtype=str),
            **(
                {"attribution_x": result.attribution[0], "attribution_y": result.attribution[1]}
                if result.attribution is not None
                else {}
            ),
        },
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
    with ``cache_dir`` finished fits are read from and written to that folder, one ``.npz`` file per
    fit named by :func:`cache_key` (package version, method, options, the method's defaults, seed,
    rows, data, ``with_se``, ``attribution``); a file that cannot be read as that fit's result
    (truncated, garbled) is refitted and overwritten with a warning (:func:`run_parallel`).
    ``with_se`` (one flag per job) adds the sampling standard error of those fits; ``attribution`` (a
    score of :func:`bioinfo_mi.estimators.attribution`) the per-feature attribution of every fit.
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
        data_key = fingerprint(x_features) + fingerprint(y_features)
        defaults = {
            flag: method_defaults(method, with_se=flag, attribution=attribution)
            for flag in (False, True)
            if flag in flags
        }
        paths = [
            folder / f"{_cache_key(job, method, options, data_key, flag, attribution, defaults[flag])}.npz"
            for job, flag in zip(jobs, flags, strict=True)
        ]
    by_path = {p: job for p, job in zip(paths, jobs, strict=True) if p is not None}
    n_features = (int(np.shape(x_features)[1]), int(np.shape(y_features)[1])) if attribution is not None else None
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
        load=lambda p: _load(p, by_path[p], n_features, attribution is not None),
        save=_save,
        thread_exact=method in THREAD_EXACT and sum(len(job.x_rows) for job in jobs) < THREAD_EXACT_MAX_SAMPLES,
    )
