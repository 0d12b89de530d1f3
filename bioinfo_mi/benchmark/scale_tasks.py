"""Benchmark tasks of the scale-invariance paper's evaluation (Sections 6.1-6.3).

The paper (Ghosh et al., "scale-invariant MI estimators") evaluates estimators on two *base
distributions* (Section 6.1), ``X`` optionally passed through MI-preserving transformations
(Section 6.3: randmat, cube, sigmoid, duplicate-self, duplicate-noise), 40 trials per table row
with a random parameter per trial (Tables 2-3), and on one-sided rescalings ``I(eta X; T)``
(Section 6.2.1, Fig. 6). The factories here build those datasets as :class:`~.tasks.Task` objects,
**one task per trial** (a task's ``true_mi`` is that trial's truth), so :func:`run_benchmark` with
``n_seeds=1`` followed by :func:`summarize` grouped by row gives the paper's normalised RMSE,
Spearman correlation and bias.

Trial design
------------
The paper says only that ``rho`` (correlated base) or the noise level (additive base) is "chosen
randomly from a specified range" per trial; it never gives the range. A trial's parameter is drawn
here either uniformly in the base's own parameter (``param_range``: ``rho`` or ``sigma``, the same
for every coordinate) or so that the *total* MI is uniform (``mi_range``, in bits, whatever ``d``).
:data:`DEFAULT_TRIAL_DRAW` holds the defaults used by ``benchmarks/bench_scale_study.py`` and why.

Every trial of a ``(base, d, n_samples, random_state)`` combination has a fixed parameter and a
fixed data seed that do not depend on the transformations or the scale factor: all rows of a table
block and all points of a Fig. 6 curve see the *same* base samples (a paired design; the paper's
Table 2 shows identical KSG values in rows that differ only by a KSG-invariant transformation, so it
did the same). Transformation randomness (randmat's matrix, duplicate-noise's columns) is drawn
from the same per-trial seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from .._docs import shared_docs
from .._validation import check_positive_int, check_real
from ..datasets.gaussian import additive_noise, additive_noise_mi, correlated_gaussian, correlated_gaussian_mi
from ..datasets.transforms import TRANSFORM_ALIASES, apply_transforms
from .tasks import Task, base_seed

__all__ = [
    "SCALE_BASES",
    "DEFAULT_TRIAL_DRAW",
    "base_parameter",
    "trial_parameters",
    "scale_task",
    "scale_row_tasks",
    "scale_curve_tasks",
]

#: the two base distributions of Section 6.1 (name -> the parameter drawn per trial)
SCALE_BASES: dict[str, str] = {"correlated": "rho", "additive": "sigma"}

#: Default per-trial draw, ``base -> (kind, (low, high))`` with kind ``"mi"`` (total MI uniform, bits)
#: or ``"param"`` (rho / sigma uniform). The paper gives no range; these are read off its tables:
#:
#: - additive (Table 2): in its bias-dominated cells ``|bias| / rmse-norm`` (a lower bound of the
#:   baseline RMSE of the truths, tight when the error is mostly bias) is about 0.9 bit for d = 4 and
#:   1.0 bit for d = 9, i.e. a spread of the truth that does not grow with ``d``; a total MI uniform
#:   on [0.1, 2.5] bits has baseline RMSE 2.4 / sqrt(6) = 0.98 bit at every ``d``.
#: - correlated (Table 3): plain KSG's bias is only -0.02 bit at d = 2, N = 200 and -0.15 bit at
#:   d = 5, N = 1000 (duplicate-noise row), which needs a mean truth of about 0.2-0.5 bit; the rows
#:   with d = 10 imply a baseline RMSE of about 1 bit. ``rho ~ U(0, 0.6)`` per trial gives mean
#:   truths of 0.19 (d = 2), 0.48 (d = 5) and 0.96 bit (d = 10) with baseline RMSEs 0.24, 0.6 and
#:   1.2 bits. (This range was chosen after looking at plain KSG's bias in those rows, so that column
#:   is no independent check of the matched rows.)
DEFAULT_TRIAL_DRAW: dict[str, tuple[str, tuple[float, float]]] = {
    "correlated": ("param", (0.0, 0.6)),
    "additive": ("mi", (0.1, 2.5)),
}

_LN2 = math.log(2.0)


def _check_base(distribution: Any) -> str:
    if not isinstance(distribution, str) or distribution.strip().lower() not in SCALE_BASES:
        raise ValueError(f"distribution must be one of {list(SCALE_BASES)}, got {distribution!r}")
    return distribution.strip().lower()


def _short_names(transforms: str | Sequence[str]) -> tuple[str, ...]:
    """Return the transformation names as the paper's short names (rm, cb, sg, ds, dn), validated."""
    seq = [transforms] if isinstance(transforms, str) else list(transforms)
    long_to_short = {v: k for k, v in TRANSFORM_ALIASES.items()}
    out = []
    for name in seq:
        if not isinstance(name, str):
            raise TypeError(f"transforms must hold transformation names (str), got {name!r}")
        key = name.strip().lower().replace("-", "_")
        key = long_to_short.get(key, key)
        if key not in TRANSFORM_ALIASES:
            raise ValueError(
                f"transforms: unknown transformation {name!r}; valid: "
                f"{list(TRANSFORM_ALIASES)} or {list(long_to_short)}"
            )
        out.append(key)
    return tuple(out)


def _check_parameter(base: str, value: Any, name: str = "parameter") -> float:
    if base == "correlated":
        return check_real(value, name=name, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return check_real(value, name=name, low=0.0, low_inclusive=False)


def _mi_of(base: str, d: int, parameter: float) -> float:
    return correlated_gaussian_mi(d, parameter) if base == "correlated" else additive_noise_mi(d, parameter)


def base_parameter(distribution: str, d: int, mi_bits: float) -> float:
    """Return the base distribution's parameter that gives ``I(X; T) = mi_bits`` (Section 6.1).

    Inverts ``-d/2 log2(1 - rho^2)`` (correlated) and ``d/2 log2(1 + 1/sigma^2)`` (additive).

    Parameters
    ----------
    distribution
        ``"correlated"`` (``rho``, per-coordinate correlation of ``X, T ~ N(0, I_d)``) or
        ``"additive"`` (``sigma``, noise standard deviation of ``T = X + eps``).
    d
        Dimension of ``X`` and ``T`` (>= 1).
    mi_bits
        Target MI in bits (>= 0 for correlated, > 0 for additive).

    Returns
    -------
    ``rho`` in ``[0, 1)`` or ``sigma > 0``.
    """
    base = _check_base(distribution)
    d = check_positive_int(d, name="d")
    if base == "correlated":
        mi_bits = check_real(mi_bits, name="mi_bits", low=0.0)
        return math.sqrt(-math.expm1(-2.0 * mi_bits / d * _LN2))
    mi_bits = check_real(mi_bits, name="mi_bits", low=0.0, low_inclusive=False)
    return 1.0 / math.sqrt(math.expm1(2.0 * mi_bits / d * _LN2))


def _check_range(value: Any, name: str) -> tuple[float, float]:
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}") from None
    low, high = check_real(low, name=f"{name}[0]"), check_real(high, name=f"{name}[1]")
    if high < low:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    return low, high


@shared_docs
def trial_parameters(
    distribution: str,
    d: int,
    n_trials: int,
    *,
    mi_range: tuple[float, float] | None = None,
    param_range: tuple[float, float] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Per-trial parameters (``rho`` or ``sigma``) of a table row (Section 6.3.2: "40 trials").

    At most one of ``mi_range`` / ``param_range`` may be given; with neither, the base's entry of
    :data:`DEFAULT_TRIAL_DRAW` is used.

    Parameters
    ----------
    distribution
        ``"correlated"`` or ``"additive"``.
    d
        Dimension of ``X`` and ``T`` (>= 1).
    n_trials
        Number of trials (>= 1).
    mi_range
        ``(low, high)``: total MI uniform on this interval (bits; ``low > 0`` for additive).
    param_range
        ``(low, high)``: ``rho`` (inside ``(-1, 1)``) or ``sigma`` (> 0) uniform on this interval.
    {random_state}

    Returns
    -------
    ``(n_trials,)`` float array of ``rho`` (correlated) or ``sigma`` (additive) values.
    """
    base = _check_base(distribution)
    d = check_positive_int(d, name="d")
    n_trials = check_positive_int(n_trials, name="n_trials")
    if mi_range is not None and param_range is not None:
        raise ValueError("give at most one of mi_range and param_range")
    if mi_range is None and param_range is None:
        kind, rng_ = DEFAULT_TRIAL_DRAW[base]
        mi_range, param_range = (rng_, None) if kind == "mi" else (None, rng_)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    if mi_range is not None:
        low, high = _check_range(mi_range, "mi_range")
        base_parameter(base, d, low)  # validates the low end (additive needs MI > 0)
        return np.array([base_parameter(base, d, m) for m in rng.uniform(low, high, n_trials)])
    low, high = _check_range(param_range, "param_range")
    _check_parameter(base, low, "param_range[0]")
    _check_parameter(base, high, "param_range[1]")
    return rng.uniform(low, high, n_trials)


def _scale_sampler(
    n: int,
    rng: np.random.Generator,
    *,
    base: str,
    d: int,
    parameter: float,
    transforms: tuple[str, ...],
    scale: float,
    data_seed: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    if data_seed is not None:  # fixed dataset: shared by every row / scale of the same trial
        rng = np.random.default_rng(data_seed)
    if base == "correlated":
        x, t, _ = correlated_gaussian(n_samples=n, d=d, rho=parameter, random_state=rng)
    else:
        x, t, _ = additive_noise(n_samples=n, d=d, sigma=parameter, random_state=rng)
    if transforms:
        x = apply_transforms(x, transforms, random_state=rng)
    if scale != 1.0:
        x = scale * x
    return x, t


def scale_task(
    distribution: str,
    d: int,
    parameter: float | None = None,
    *,
    mi_bits: float | None = None,
    transforms: str | Sequence[str] = (),
    scale: float = 1.0,
    n_samples: int = 1000,
    random_state: int | np.random.Generator | None = None,
    name: str | None = None,
) -> Task:
    """One dataset of the scale-invariance paper: a base distribution, transformed, one-sidedly scaled.

    ``X, T`` are drawn from the base distribution (Section 6.1), ``X`` is passed through
    ``transforms`` in order (Section 6.3; :func:`bioinfo_mi.datasets.apply_transforms`) and then
    multiplied by ``scale`` (``I(eta X; T)``, Section 6.2.1 / Fig. 6). ``T`` is never changed, so
    the true MI is the base's analytic value.

    Parameters
    ----------
    distribution
        ``"correlated"`` (``X, T ~ N(0, I_d)``, ``E[X_i T_i] = rho``) or ``"additive"``
        (``T = X + eps``, ``eps ~ N(0, sigma^2 I_d)``).
    d
        Dimension of the base ``X`` and ``T`` (>= 1).
    parameter
        ``rho`` in ``(-1, 1)`` (correlated) or ``sigma > 0`` (additive). Give this or ``mi_bits``.
    mi_bits
        True MI in bits; the parameter is then :func:`base_parameter`.
    transforms
        Names from :data:`bioinfo_mi.datasets.TRANSFORM_NAMES` (``"rm"``, ``"cb"``, ``"sg"``,
        ``"ds"``, ``"dn"`` or long names), applied left to right.
    scale
        One-sided scale factor ``eta > 0`` applied to ``X`` after the transformations.
    n_samples
        Samples per dataset (the paper: 1000; 200 in some rows of Table 3).
    random_state
        None (default): every seed of :func:`run_benchmark` draws its own dataset. An int (or a
        Generator, which gives one integer by the rule of :func:`base_seed`) fixes the dataset: the
        runner's generator is ignored, so tasks that differ only in ``transforms`` or ``scale`` share
        their base samples, and every seed of :func:`run_benchmark` gets the *same* data (use
        ``n_seeds=1``).
    name
        Task name; default ``"scale-{base}-d{d}-n{n}-{transforms or 'none'}-s{scale:.10g}-p{parameter:.4f}"``
        (plus ``-seed{seed}`` with the integer seed when ``random_state`` is given).

    Returns
    -------
    A :class:`Task` with ``true_mi`` the analytic MI (bits) and params ``base`` (the distribution), ``d``,
    ``transforms`` (``"rm+dn"``, ``"none"``), ``scale``, ``parameter``.
    """
    base = _check_base(distribution)
    d = check_positive_int(d, name="d")
    n_samples = check_positive_int(n_samples, name="n_samples")
    if (parameter is None) == (mi_bits is None):
        raise ValueError("give exactly one of parameter (rho or sigma) and mi_bits")
    parameter = base_parameter(base, d, mi_bits) if parameter is None else _check_parameter(base, parameter)
    short = _short_names(transforms)
    scale = check_real(scale, name="scale", low=0.0, low_inclusive=False)
    data_seed = None
    if random_state is not None:
        if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
            if random_state < 0:
                raise ValueError(f"random_state must be a non-negative int, a Generator or None, got {random_state!r}")
            data_seed = int(random_state)
        elif isinstance(random_state, np.random.Generator):
            data_seed = base_seed(random_state)
        else:
            raise ValueError(f"random_state must be a non-negative int, a Generator or None, got {random_state!r}")
    label = "+".join(short) or "none"
    if name is None:
        name = f"scale-{base}-d{d}-n{n_samples}-{label}-s{scale:.10g}-p{parameter:.4f}"
        if data_seed is not None:
            name += f"-seed{data_seed}"
    return Task(
        name=name,
        sampler=partial(
            _scale_sampler, base=base, d=d, parameter=parameter, transforms=short, scale=scale, data_seed=data_seed
        ),
        n_samples=n_samples,
        true_mi=_mi_of(base, d, parameter),
        params={"base": base, "d": d, "transforms": label, "scale": scale, "parameter": parameter},
    )


def _trial_design(
    base: str, d: int, n_trials: int, n_samples: int, mi_range: Any, param_range: Any, root: int
) -> tuple[np.ndarray, list[int]]:
    """Per-trial parameters and data seeds of a (base, d, n_samples) block, independent of the row."""
    seq = np.random.SeedSequence([int(root) % 2**63, list(SCALE_BASES).index(base), d, n_samples])
    param_seq, data_seq = seq.spawn(2)
    params = trial_parameters(
        base, d, n_trials, mi_range=mi_range, param_range=param_range, random_state=np.random.default_rng(param_seq)
    )
    seeds = [int(s) for s in data_seq.generate_state(n_trials, np.uint64) % 2**63]
    return params, seeds


def scale_row_tasks(
    distribution: str,
    d: int,
    transforms: str | Sequence[str] = (),
    *,
    n_trials: int = 40,
    n_samples: int = 1000,
    mi_range: tuple[float, float] | None = None,
    param_range: tuple[float, float] | None = None,
    scale: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
) -> list[Task]:
    """Return the trials of one row of Tables 2-3 (Section 6.3.2): one task per trial.

    Trial ``i`` has a random parameter (:func:`trial_parameters`) and a fixed data seed, both
    derived from ``(random_state, base, d, n_samples)`` only, so every row (and every ``scale``)
    with the same base, ``d`` and ``n_samples`` reuses the same trials and base samples.

    Parameters
    ----------
    distribution, d, transforms, scale, n_samples
        As in :func:`scale_task`.
    n_trials
        Trials in the row (the paper: 40).
    mi_range, param_range
        Per-trial draw, as in :func:`trial_parameters` (default :data:`DEFAULT_TRIAL_DRAW`).
    random_state
        Seed of the trial design: an int, a ``numpy.random.Generator`` (one draw, which advances it,
        gives the integer the design derives from) or None (fresh entropy). Rows share their trials
        when built from the same int.

    Returns
    -------
    ``n_trials`` :class:`Task` objects named ``"scale-{base}-d{d}-n{n}-{transforms}-s{scale:.10g}-t{i:02d}"``;
    their params add ``trial`` (0-based) and ``row`` (``"{base} d={d} n={n} {transforms}"``).
    """
    base = _check_base(distribution)
    d = check_positive_int(d, name="d")
    n_trials = check_positive_int(n_trials, name="n_trials")
    n_samples = check_positive_int(n_samples, name="n_samples")
    short = _short_names(transforms)
    label = "+".join(short) or "none"
    scale = check_real(scale, name="scale", low=0.0, low_inclusive=False)
    params, seeds = _trial_design(base, d, n_trials, n_samples, mi_range, param_range, base_seed(random_state))
    tasks = []
    for i, (p, s) in enumerate(zip(params, seeds, strict=True)):
        task = scale_task(
            base,
            d,
            float(p),
            transforms=short,
            scale=scale,
            n_samples=n_samples,
            random_state=s,
            name=f"scale-{base}-d{d}-n{n_samples}-{label}-s{scale:.10g}-t{i:02d}",
        )
        tasks.append(
            Task(
                task.name,
                task.sampler,
                task.n_samples,
                task.true_mi,
                {**task.params, "trial": i, "row": f"{base} d={d} n={n_samples} {label}"},
            )
        )
    return tasks


def scale_curve_tasks(
    distribution: str,
    d: int,
    scales: Sequence[float],
    *,
    n_trials: int = 20,
    n_samples: int = 1000,
    mi_range: tuple[float, float] | None = None,
    param_range: tuple[float, float] | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> list[Task]:
    """Fig. 6 datasets: the same ``n_trials`` datasets with ``X`` rescaled by each factor in ``scales``.

    Section 6.2.1: ``X' = eta X`` for 20 factors ``eta`` log-spaced in ``[1e-2, 1e3]``, 20 trials
    of ``N = 1000`` samples from the correlated base (``rho`` random per trial for Fig. 6c-d).

    Parameters
    ----------
    distribution, d, n_samples, mi_range, param_range, random_state
        As in :func:`scale_row_tasks` (no transformations).
    scales
        Positive one-sided scale factors (e.g. ``np.logspace(-2, 3, 20)``).
    n_trials
        Datasets per scale factor (the paper: 20); the same datasets for every factor.

    Returns
    -------
    ``len(scales) * n_trials`` tasks (params include ``scale`` and ``trial``).
    """
    scales = np.asarray(scales, dtype=float)
    if scales.ndim != 1 or scales.size == 0 or not np.isfinite(scales).all() or (scales <= 0).any():
        raise ValueError(f"scales must be a non-empty 1-D sequence of positive finite numbers, got {scales!r}")
    if len(np.unique(scales)) != len(scales):
        raise ValueError("scales must not repeat a value")
    root = base_seed(random_state)  # one integer: a Generator must give every scale the same datasets
    return [
        task
        for s in scales
        for task in scale_row_tasks(
            distribution,
            d,
            (),
            n_trials=n_trials,
            n_samples=n_samples,
            mi_range=mi_range,
            param_range=param_range,
            scale=float(s),
            random_state=root,
        )
    ]
