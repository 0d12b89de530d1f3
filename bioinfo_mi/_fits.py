"""The fit-job layer: many fits of one method on rows of the same data, through the method registry.

A :class:`FitJob` names the rows of the x features and of the y features one fit sees (a clone
pairing, a shuffled control, a part of a partition, a refit) and its seed. :func:`run_fits` runs a
list of them in the package's parallel loop (seeds by position, a fixed number of threads per fit:
the numbers do not depend on ``n_jobs``), each fit as ``bm.mi`` runs that method without error bars
(the method's entry in the package's method registry, ``transform`` included), and keeps
the :class:`~bioinfo_mi.EstimateWarning` diagnostics of each fit with its result (:func:`warn_fits`
reports them once). A fit may add its sampling standard error and a per-feature attribution: the
standard error is computed by the function the caller passes (``standard_error=``, normally
:func:`bioinfo_mi.uncertainty.sampling_se`), since the error bars sit above this layer and run their
own fits through it.

The disk cache. With a ``cache_dir`` each fit is stored as one file, so one analysis can be split
into independent jobs (``fits=[i]``, e.g. one Snakemake job per pairing, see ``workflows/``) and
assembled by a final call that finds every fit in the cache, or resumed after an interruption.
The file name is :func:`cache_key`, the one key of every cache of the package (the tl tools through
:func:`run_fits`, ``run_benchmark``, ``interaction_roc``): a hash of the package version
(``bioinfo_mi.__version__``), the cache format, the method, the options as passed, the defaults of
the method's implementation (:func:`method_defaults`: every signature default and the constants of
the modules behind the method, so that a changed default changes the key), the seed, the rows, a
fingerprint of the data, and whether the fit adds a standard error or an attribution. A fit of
another version, other options, defaults, data or seed is never read back; it is fitted anew. Each
file also holds the cache format and its own key, and is written to a temporary file that is then
renamed (parallel jobs never see half a file). A file that cannot be read as a result (a run
killed mid-write, a full disk, an interrupted copy, garbage, a missing field or a wrong shape) is
never used: it is refitted and overwritten, with a ``UserWarning`` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._cache import (
    CACHE_FORMAT,
    CacheError,
    canonical,
    digest,
    fingerprint,
    load_arrays,
    save_arrays,
    signature_defaults,
)
from ._parallel import run_parallel, spawn_seeds
from ._rows import is_lazy, read_rows
from ._validation import EstimateWarning
from ._version import __version__
from .estimators._attribution import attribution as attribute
from .estimators._cmi import conditional_estimate, latent_cmi
from .estimators._copula import apply_transform, check_transform
from .estimators._registry import get_method, run_method, transformed_pair
from .estimators._result import MIResult

#: the function that adds a fit's sampling standard error: ``standard_error(res, x, y, *, options,
#: random_state) -> (se, details)``, as :func:`bioinfo_mi.uncertainty.sampling_se`
StandardError = Callable[..., tuple[float, dict[str, Any]]]

#: from this many samples in all the fits of one loop on, repeated fits of the thread-exact methods
#: (the registry's ``thread_exact``: exact neighbour counts, no BLAS) go to worker processes after all
#: (one thread each, as every other method); below it they run in this process with every thread. The
#: loop then takes long enough to repay the workers' start-up (a few seconds: each imports the
#: package), and in worker processes the serial parts of one fit (sorting into cells, copies,
#: validation) overlap with another's search. On 2 cores, 99 KSG shuffles (8 + 8 dimensions) broke
#: even at N = 10 000 (1e6 samples in all) and were 13 % faster in processes at N = 20 000
#: (benchmarks/bench_ksg_speed.py at N = 50 000).
THREAD_EXACT_MAX_SAMPLES = 2_000_000


@dataclass(frozen=True)
class FitJob:
    """One MI fit: rows ``x_rows`` of the features paired with rows ``y_rows``; with ``z`` (one row per pair:
    integer stratum codes or floats) the fit estimates the conditional MI ``I(X; Y | Z)`` instead
    (:func:`bioinfo_mi.estimators._cmi.conditional_estimate`).
    """

    pairing: int
    shuffled: bool
    x_rows: np.ndarray
    y_rows: np.ndarray
    seed: int
    z: np.ndarray | None = None


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


def _estimate(
    x: np.ndarray, y: np.ndarray, method: str, seed: int, options: Mapping[str, Any], z: np.ndarray | None = None
) -> MIResult:
    """``bm.mi(x, y, method, random_state=seed, **options)`` without error bars (``transform`` may be an option);
    with ``z``, the conditional estimate of :func:`~bioinfo_mi.estimators._cmi.conditional_estimate`.
    """
    transform = options.get("transform")
    est_options = {key: v for key, v in options.items() if key != "transform"}
    get_method(method)
    if check_transform(transform) is not None:
        x, y = transformed_pair(x, y, transform)
    if z is not None:
        res = conditional_estimate(x, y, z, method, random_state=seed, **est_options)
    else:
        res = run_method(method, x, y, random_state=seed, **est_options)
    if transform is not None:
        res.params["transform"] = transform
    return res


def _fit(
    x_features: Any,
    y_features: Any,
    job: FitJob,
    method: str,
    options: dict[str, Any],
    with_se: bool = False,
    attribution: str | None = None,
    standard_error: StandardError | None = None,
) -> FitResult:
    x = _dense_rows(x_features, job.x_rows)
    y = _dense_rows(y_features, job.y_rows)
    # the EstimateWarnings of the fit, of its standard error (e.g. "small-sample-se") and of its attribution
    # are held and returned with it, so that a tool reports them once (warn_fits), also from workers
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimateWarning)
        res = _estimate(x, y, method, job.seed, options, job.z)
        se = float("nan")
        scores = None
        if (with_se or attribution is not None) and options.get("transform"):  # the data the estimator saw
            x, y = apply_transform(x, options["transform"]), apply_transform(y, options["transform"])
        if with_se and standard_error is not None:
            opts = {key: v for key, v in options.items() if key not in ("transform", "samples_per_dim")}
            given = {} if job.z is None else {"z": job.z}  # a conditional fit's standard error needs its z
            se = standard_error(res, x, y, options=opts, random_state=spawn_seeds(job.seed, 1)[0], **given)[0]
        if attribution is not None:
            # its own stream (spawned from the fit's seed), so that asking for it changes nothing else
            # a conditional fit is attributed beyond its z (the partial cross_r2)
            scored = attribute(res, x, y, z=job.z, score=attribution, random_state=spawn_seeds(job.seed, 2)[1])  # type: ignore[arg-type]
            scores = (scored.x, scored.y)
    return FitResult(job=job, mi=res.mi, pmi=res.pmi, se=se, warnings=held_warnings(caught), attribution=scores)


def held_warnings(caught: Sequence[warnings.WarningMessage]) -> tuple[tuple[str, str], ...]:
    """Return the :class:`~bioinfo_mi.EstimateWarning` diagnostics among ``caught`` (recorded during one fit) as
    ``(kind, message)`` pairs, held back for :func:`warn_held`; every other warning is passed on as raised.
    """
    held = []
    for w in caught:
        if isinstance(w.message, EstimateWarning):
            held.append((w.message.kind, str(w.message)))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return tuple(held)


def warn_held(held: Sequence[Sequence[tuple[str, str]]], what: str, *, stacklevel: int = 3) -> None:
    """Report the held diagnostics of several fits (:func:`held_warnings`, one sequence per fit) once per kind,
    with the count of ``what`` (e.g. ``"real fits"``) that raised it and the first one's message.
    """
    by_kind: dict[str, list[str]] = {}
    for fit in held:
        for kind, message in dict(reversed(fit)).items():  # a fit counts once per kind (its first message)
            by_kind.setdefault(kind, []).append(message)
    for kind, messages in by_kind.items():
        warnings.warn(
            EstimateWarning(f"{len(messages)} of {len(held)} {what}: {messages[0]}", kind), stacklevel=stacklevel
        )


def warn_fits(results: Sequence[FitResult], *, stacklevel: int = 3) -> None:
    """Report the :class:`~bioinfo_mi.EstimateWarning` diagnostics of the real (unshuffled) fits, once
    per kind with the count of fits that raised it (:func:`warn_held`). Shuffled fits are expected to show no
    dependence, so their diagnostics are not reported.
    """
    warn_held([r.warnings for r in results if not r.job.shuffled], "real fits", stacklevel=stacklevel + 1)


def method_defaults(
    method: str,
    *,
    standard_error: StandardError | None = None,
    attribution: str | None = None,
    conditional: bool = False,
) -> dict[str, Any]:
    """Return the defaults that decide a fit of ``method`` beside the options passed to it: those of the
    functions behind the method's registry entry (for ``"auto"``: its rule and every estimator it may
    choose), and with ``standard_error`` / ``attribution`` those of the standard-error function and of
    :func:`bioinfo_mi.estimators.attribution`.

    Parameters
    ----------
    method
        A :data:`bioinfo_mi.METHODS` entry.
    standard_error
        The function that adds the fit's standard error, if the fit adds one.
    attribution
        The attribution score, if the fit adds one.
    conditional
        The fit estimates a conditional MI (a job with ``z``): also the defaults of the conditional estimators.

    Returns
    -------
    :func:`signature_defaults` of those functions.
    """
    functions = list(get_method(method).defaults_from)
    if conditional:
        functions += [conditional_estimate, latent_cmi]
    if standard_error is not None:
        functions.append(standard_error)
    if attribution is not None:
        functions.append(attribute)
    return signature_defaults(*functions)


def cache_key(
    *,
    method: str,
    options: Mapping[str, Any],
    seed: int | None,
    data: str,
    rows: Sequence[Any] = (),
    standard_error: StandardError | None = None,
    attribution: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Return the key of one cached fit, the same in every process and on every machine: its file name.

    A hash of everything that decides the fit's numbers: the package version
    (``bioinfo_mi.__version__``) and the cache format, the method, the options as passed, the
    defaults behind them (``defaults``; by default :func:`method_defaults`, so that a changed default
    gives another key), the seed, the rows of the data the fit sees, the data's fingerprint, whether it
    adds a standard error or an attribution, and what else the caller's fit depends on (``extra``).
    Options and defaults are hashed in a canonical JSON form (sorted keys; callables by qualified name,
    arrays by content, never by memory address).

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
    standard_error
        The function that adds the fit's standard error (None: the fit adds none).
    attribution
        The attribution score the fit adds, if any.
    defaults
        The defaults to hash; ``None``: :func:`method_defaults` of ``method``.
    extra
        Further settings of the caller's fit (JSON-able after canonical conversion).

    Returns
    -------
    32 hexadecimal digits.
    """
    if defaults is None:
        defaults = method_defaults(method, standard_error=standard_error, attribution=attribution)
    spec = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "method": method.lower(),
        "options": canonical(dict(options)),
        "defaults": canonical(dict(defaults)),
        "seed": canonical(seed),
        "data": data,
        "rows": [digest(r) for r in rows],
        "with_se": standard_error is not None,
        "attribution": attribution,
        "extra": canonical(dict(extra or {})),
    }
    return hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(), digest_size=16).hexdigest()


def _cache_path(folder: Path, job: FitJob, method: str, options: dict[str, Any], data_key: str, **key: Any) -> Path:
    """Return the file of one job of :func:`run_fits`, named by its :func:`cache_key`."""
    rows: tuple[np.ndarray, ...] = (np.asarray(job.x_rows, dtype=np.int64), np.asarray(job.y_rows, dtype=np.int64))
    if job.z is not None:  # a conditional fit: its z is part of what it sees
        rows = (*rows, np.asarray(job.z))
    return folder / f"{cache_key(method=method, options=options, seed=job.seed, data=data_key, rows=rows, **key)}.npz"


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
    standard_error: StandardError | None = None,
    attribution: str | None = None,
) -> list[FitResult]:
    """Run the jobs (in parallel processes when ``n_jobs != 1``), with a progress bar over fits.

    Parameters
    ----------
    x_features, y_features
        The data (arrays, sparse matrices or frames, or lazy arrays: a backed AnnData's ``X``, Dask); a
        job picks its rows. Of a lazy source only the rows some job uses are read (a block at a time).
        The cache keys hash the data of the used rows and the jobs' positions among them, so a lazy
        source and the same data in memory share their cached fits.
    jobs
        The fits.
    method, options
        The method (:data:`bioinfo_mi.METHODS`) and its options (``transform`` included), as for ``bm.mi``.
    n_jobs, progress
        Worker processes (-1: one per core) and the progress bar.
    fits
        Restrict the run to those positions of ``jobs`` (only the ones that ran are returned).
    cache_dir
        Read finished fits from and write them to this folder, one ``.npz`` file per fit named by
        :func:`cache_key`; a file that cannot be read as that fit's result (truncated, garbled) is
        refitted and overwritten with a warning.
    with_se
        One flag per job: add the sampling standard error of those fits, computed by ``standard_error``.
    standard_error
        ``standard_error(res, x, y, *, options, random_state) -> (se, details)``
        (:func:`bioinfo_mi.uncertainty.sampling_se`); needed when a flag of ``with_se`` is set.
    attribution
        A score of :func:`bioinfo_mi.estimators.attribution`: the per-feature attribution of every fit.

    Returns
    -------
    One :class:`FitResult` per job run, in the order of ``jobs``.
    """
    flags = [False] * len(jobs) if with_se is None else [bool(f) for f in with_se]
    if len(flags) != len(jobs):
        raise ValueError(f"with_se: {len(flags)} flags for {len(jobs)} jobs")
    if any(flags) and standard_error is None:
        raise ValueError("with_se asks for standard errors: pass standard_error= (bioinfo_mi.uncertainty.sampling_se)")
    entry = get_method(method)
    # the rows some job reads, over all jobs (also those ``fits`` leaves out, so that split runs share keys)
    used = _used_rows(jobs, x_features is y_features)
    lazy = is_lazy(x_features) or is_lazy(y_features)
    keyed = [_remap(job, used) for job in jobs]  # the jobs' rows as positions among the used rows
    if lazy:  # a backed or Dask source: read only the used rows, a block at a time
        x_features = read_rows(x_features, used[0])
        y_features = x_features if used[1] is used[0] else read_rows(y_features, used[1])
    originals = jobs
    jobs = keyed if lazy else jobs
    if fits is not None:
        fits = [int(i) for i in fits]
        bad = [i for i in fits if not 0 <= i < len(jobs)]
        if bad:
            raise ValueError(f"fits must be positions in 0..{len(jobs) - 1}, got {bad}")
        jobs, keyed, originals = ([seq[i] for i in fits] for seq in (jobs, keyed, originals))
        flags = [flags[i] for i in fits]
    paths: list[Path | None] = [None] * len(jobs)
    if cache_dir is not None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # the data of the used rows: the same key for a backed object and the same data in memory
        data_key = _used_fingerprint(x_features, used[0], lazy) + _used_fingerprint(y_features, used[1], lazy)
        se_of = {flag: standard_error if flag else None for flag in (False, True)}
        conditional = any(job.z is not None for job in jobs)
        defaults = {
            flag: method_defaults(method, standard_error=se_of[flag], attribution=attribution, conditional=conditional)
            for flag in (False, True)
            if flag in flags
        }
        paths = [
            _cache_path(
                folder,
                job,
                method,
                options,
                data_key,
                standard_error=se_of[flag],
                attribution=attribution,
                defaults=defaults[flag],
            )
            for job, flag in zip(keyed, flags, strict=True)
        ]
    by_path = {p: job for p, job in zip(paths, jobs, strict=True) if p is not None}
    n_features = (int(np.shape(x_features)[1]), int(np.shape(y_features)[1])) if attribution is not None else None
    calls = [
        (x_features, y_features, job, method, options, flag, attribution, standard_error)
        for job, flag in zip(jobs, flags, strict=True)
    ]
    results = run_parallel(
        _fit,
        calls,
        n_jobs=n_jobs,
        progress=progress,
        desc=f"{method} fits",
        cache=paths,
        load=lambda p: _load(p, by_path[p], n_features, attribution is not None),
        save=_save,
        thread_exact=entry.thread_exact and sum(len(job.x_rows) for job in jobs) < THREAD_EXACT_MAX_SAMPLES,
    )
    return [replace(r, job=job) for r, job in zip(results, originals, strict=True)]


def _used_rows(jobs: Sequence[FitJob], same: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique rows of the x and of the y features that the jobs read (one array, twice, when the two
    sides are the same matrix).
    """
    xs = [np.asarray(job.x_rows, dtype=np.int64) for job in jobs]
    ys = [np.asarray(job.y_rows, dtype=np.int64) for job in jobs]
    if same:
        both = np.unique(np.concatenate(xs + ys)) if jobs else np.empty(0, dtype=np.int64)
        return both, both
    return tuple(np.unique(np.concatenate(r)) if jobs else np.empty(0, dtype=np.int64) for r in (xs, ys))  # type: ignore[return-value]


def _remap(job: FitJob, used: tuple[np.ndarray, np.ndarray]) -> FitJob:
    """``job`` with its rows as positions among the used rows (:func:`_used_rows`)."""
    return replace(job, x_rows=np.searchsorted(used[0], job.x_rows), y_rows=np.searchsorted(used[1], job.y_rows))


def _used_fingerprint(features: Any, used: np.ndarray, read: bool) -> str:
    """:func:`fingerprint` of the used rows of ``features`` (``read``: ``features`` holds only those rows)."""
    if read or len(used) == np.shape(features)[0]:
        return fingerprint(features)
    return fingerprint(features.iloc[used] if isinstance(features, pd.DataFrame) else features[used])
