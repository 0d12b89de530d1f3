"""The methods of :func:`bioinfo_mi.mi`: every method declared once, with all that the layers above need.

Each entry of :data:`REGISTRY` (a :class:`Method`) names the estimator and says

- ``run``: the function ``run(x, y, random_state=..., **options) -> MIResult``;
- ``options``: the keyword options it accepts (read from the implementation's signature, without
  ``random_state`` and without what the name fixes, such as MINE's ``normalization``);
- ``se_design`` and ``refits``: how its standard error is computed (``bm.uncertainty``):
  ``"subsampling"`` of the estimator itself (the KSG family), ``"copula-subsampling"`` (plain KSG on the
  normal scores, for the calibrated KSG and the mixture-calibrated one), ``"latent-subsampling"`` (KSG on LMI's
  held-out latents), ``"pointwise"`` (the variance of the pointwise values over their number), or ``"chosen"``
  (``auto``: the design of the estimator it ran); ``refits=True`` adds the spread of refits with other seeds;
- ``thread_exact``: its estimate does not depend on the number of threads (exact neighbour counts), so
  the repeated-fit layer may run its fits in this process with every thread;
- ``deterministic``: on given rows its estimate does not depend on ``random_state`` beyond the
  tie-breaking jitter (no training, no random twins), so repeated fits on the same rows repeat the
  same number;
- ``defaults_from``: the functions whose keyword defaults and module constants decide a fit beside
  the options passed (hashed into the keys of cached fits);
- ``cost``: its cost model, ``cost(n_samples, d_x, d_y, options) -> seconds`` of one estimate on the
  reference machine (:mod:`bioinfo_mi.estimators._cost`; :func:`predicted_seconds` reads it), which
  ``auto`` weighs against the accuracy of its candidates.

:func:`auto`, the default method, is defined here because it chooses among the entries of this table
(:func:`~bioinfo_mi.estimators.choose_method` is its rule) and checks the options against theirs.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np

from .._rows import check_row_pair
from .._validation import (
    check_options,
    check_pair,
    check_positive_int,
    check_random_state,
    seed_from,
    warn_estimate,
)
from ._auto import COST_RATIO, LMI_MIN_SAMPLES, MIN_SAMPLES, choose_method, mostly_discrete, warn_few_samples
from ._calibrated import ksg_calibrated
from ._copula import apply_transform
from ._cost import CostModel, critic_seconds, ksg_calibrated_seconds, ksg_mixture_seconds, ksg_seconds, lmi_seconds
from ._knn import bi_ksg, ksg
from ._lmi import lmi, lmi_can_split, lmi_screens
from ._mixture import ksg_mixture, mixture_estimate
from ._neural import infonce, mine
from ._normalization import ksg_global, ksg_global_linf, ksg_local
from ._result import MIResult
from ._screen import SCREEN_MAX_ROWS, SCREEN_MIN_COLUMNS, screen_rows

__all__ = ["Method", "REGISTRY", "auto", "get_method", "predicted_seconds", "run_method", "transformed_pair"]

SEDesign = Literal["subsampling", "copula-subsampling", "latent-subsampling", "pointwise", "chosen"]


@dataclass(frozen=True)
class Method:
    """One method of :func:`bioinfo_mi.mi` (see the module docstring for the meaning of each field)."""

    name: str
    run: Callable[..., MIResult]
    options: frozenset[str]
    se_design: SEDesign
    cost: CostModel
    refits: bool = False
    thread_exact: bool = False
    deterministic: bool = False
    defaults_from: tuple[Callable[..., Any], ...] = field(default=())


def accepted_options(func: Callable[..., Any], fixed: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Return the keyword options of estimator ``func``: its parameters without ``x``, ``y``,
    ``random_state``, a ``**options`` catch-all and the keywords ``fixed`` by the method's name.

    Parameters
    ----------
    func
        The estimator (a ``functools.partial`` counts with its fixed keywords).
    fixed
        Keywords the method's name sets.

    Returns
    -------
    The option names.
    """
    target = func.func if isinstance(func, partial) else func
    # ``condition`` is LMI's input for the latent conditional MI (bm.cmi), not an option of an MI estimate
    names = set(inspect.signature(target).parameters) - {"x", "y", "random_state", "options", "condition"}
    return frozenset(names - set(fixed or {}) - set(func.keywords if isinstance(func, partial) else {}))


def _entry(
    name: str,
    run: Callable[..., MIResult],
    se_design: SEDesign,
    *,
    cost: CostModel,
    refits: bool = False,
    exact_counts: bool = False,
) -> Method:
    """Return the entry of an estimator whose options are its signature's.

    ``exact_counts``: thread-exact and deterministic (the KSG family).
    """
    return Method(
        name=name,
        run=run,
        options=accepted_options(run),
        se_design=se_design,
        refits=refits,
        thread_exact=exact_counts,
        deterministic=exact_counts,
        defaults_from=(run,),
        cost=cost,
    )


#: the estimators ``auto`` chooses among, by the name :func:`~bioinfo_mi.estimators.choose_method` returns
_CANDIDATES: dict[str, Method] = {
    "lmi": _entry("lmi", lmi, "latent-subsampling", refits=True, cost=lmi_seconds),
    "ksg-calibrated": _entry("ksg-calibrated", ksg_calibrated, "copula-subsampling", cost=ksg_calibrated_seconds),
    "ksg": _entry("ksg", ksg, "subsampling", exact_counts=True, cost=ksg_seconds),
    "ksg-mixture": _entry("ksg-mixture", ksg_mixture, "copula-subsampling", cost=ksg_mixture_seconds),
}


def auto(
    x: Any,
    y: Any,
    *,
    samples_per_dim: float = 10.0,
    cost_ratio: float = COST_RATIO,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    **options: Any,
) -> MIResult:
    """MI estimate by the calibrated copula KSG with enough samples per dimension, else LMI.

    The rule (:func:`~bioinfo_mi.estimators.choose_method`): the calibrated copula KSG from
    ``samples_per_dim`` samples per non-constant input dimension on, plain KSG where most columns are
    discrete, LMI below; under 80 samples a KSG estimator on all samples wherever its calibration can
    run. From 1000 samples on, where one Gaussian fitted to the normal scores would overstate the MI by at most
    0.1 nats (``d_x d_y / 2n``), the copula KSG is calibrated on Gaussian-mixture twins instead
    (:func:`~bioinfo_mi.estimators.ksg_mixture`), and where the mixture's guard rejects it, on Gaussian twins
    (:func:`~bioinfo_mi.estimators.ksg_calibrated`, same seed). A KSG estimator predicted
    (:func:`~bioinfo_mi.estimators.predicted_seconds`) to take more
    than ``cost_ratio`` times as long as LMI, and more than 5 minutes, gives way to LMI, with an
    :class:`~bioinfo_mi.EstimateWarning` (kind ``"cost"``): large samples in hundreds of dimensions,
    where the exact neighbour search grows as ``n^2 d``. Where a KSG estimator is still chosen and a side has
    more than 20 non-constant columns, LMI's column screen runs on a random half of the rows (at most 10 000);
    where it leaves columns out (columns the other side does not predict beyond chance) and plain KSG on the
    other half reads more on the kept columns than on every column, LMI, which screens them out on its training
    half, runs instead (issue 30; not with ``screen=False`` or ``preset="paper"``, whose LMI reads every
    column). The evidence behind the rule is in docs/choosing_estimator.md, the cost model's in
    docs/performance.md.

    Parameters
    ----------
    x, y
        Paired samples ``(n, d_x)``, ``(n, d_y)`` (not modified): arrays, frames, sparse matrices, or
        lazy arrays (backed AnnData, Dask). The rule's checks read them one block at a time; LMI
        streams them, a KSG estimator gets dense float64 copies.
    samples_per_dim
        The calibrated KSG runs when ``n >= samples_per_dim * (d_x + d_y)`` (non-constant columns),
        and below 80 samples wherever it can; ``method="lmi"`` runs LMI whatever the sample.
    cost_ratio
        The largest ratio of predicted times (KSG estimator over LMI) tolerated beyond 5 minutes;
        ``np.inf`` chooses by the samples alone.
    k
        Neighbours of the KSG estimate (on the inputs or on LMI's latents).
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        Seed or ``numpy.random.Generator``.
    **options
        Options of :func:`~bioinfo_mi.estimators.ksg_calibrated` (``n_twins``, ``jitter``,
        ``workers``), of :func:`~bioinfo_mi.estimators.ksg_mixture` (also ``max_components``, left out where
        ``ksg-calibrated`` replaces a rejected mixture) or of :func:`~bioinfo_mi.estimators.lmi` (``preset``,
        ``epochs``,
        ``device``, ...). An option that only the estimator not chosen takes raises ``ValueError``,
        except ``progress`` (LMI's training bar), which is ignored where KSG runs.

    Returns
    -------
    The chosen estimator's result (:class:`~bioinfo_mi.MIResult` or :class:`~bioinfo_mi.LMIResult`)
    with ``extra["auto"]`` = ``{"method": ..., "reason": ..., "mixture": ..., "samples_per_dim": ...,
    "cost_ratio": ...,
    "n_samples": ..., "n_features": ..., "discrete": ..., "screen_check": ..., "predicted_seconds":
    {candidate: seconds}}``; ``reason`` is ``"samples"`` (the samples per dimension decided), ``"cost"`` (LMI
    because the KSG estimator was too costly, or ``ksg-calibrated`` because the mixture was), ``"screen"`` (LMI
    because the screen's left-out columns cost KSG more than they hold), ``"no-halves"`` (plain KSG on all samples,
    with an ``EstimateWarning`` of kind ``"few-samples"``: too few samples for LMI's two halves, fewer than 10 at
    ``k = 3``, and too many columns for the calibrated KSG, ``n <= d + 2``) or ``"mixture-rejected"``
    (``ksg-calibrated`` because ``ksg-mixture``'s guard rejected the mixture; ``mixture`` then holds its
    ``components``, ``ksg`` and ``guard``, else ``None``); ``screen_check`` is ``None`` where the check did
    not run, else ``{"kept": (columns of x, columns of y), "rows": rows screened, "ksg_all": ..., "ksg_kept":
    ...}`` (the two plain KSG readings on the other rows, ``None`` where nothing was left out).

    Notes
    -----
    ``bm.mi`` warns (``EstimateWarning``, kind ``"few-samples"``) below 50 samples, for this method as
    for every other.
    """
    if not (np.isscalar(samples_per_dim) and np.isfinite(samples_per_dim) and samples_per_dim > 0):
        raise ValueError(f"samples_per_dim must be a positive number, got {samples_per_dim!r}")
    real = isinstance(cost_ratio, (int, float, np.integer, np.floating)) and not isinstance(cost_ratio, bool)
    if not (real and cost_ratio >= 1):  # NaN fails the comparison
        raise ValueError(f"cost_ratio must be a number >= 1 (np.inf: no cost rule), got {cost_ratio!r}")
    accepted = {name: entry.options for name, entry in _CANDIDATES.items()}
    check_options(options, set().union(*accepted.values()) | {"samples_per_dim", "cost_ratio"}, where="method='auto'")
    k = check_positive_int(k, name="k")
    # read block by block: LMI streams sparse and lazy inputs, the KSG estimators get dense copies
    xr, yr = check_row_pair(x, y, min_samples=k + 2, method="auto")
    n = xr.n_samples
    d_x, d_y = (int((rows.column_stats()[1] > 0).sum()) for rows in (xr, yr))
    n_features, discrete = d_x + d_y, mostly_discrete(xr, yr)
    costs = {name: entry.cost(n, d_x, d_y, options) for name, entry in _CANDIDATES.items()}
    rule = partial(choose_method, n, n_features, samples_per_dim, discrete, widths=(d_x, d_y))
    by_samples, by_cost = rule(), rule(costs=costs, cost_ratio=cost_ratio)
    check = _screen_check(by_cost, xr, yr, (d_x, d_y), options, random_state)
    screened = check is not None and check["ksg_all"] is not None and check["ksg_kept"] > check["ksg_all"]
    chosen = rule(costs=costs, cost_ratio=cost_ratio, screened=screened)
    halves = chosen != "lmi" or lmi_can_split(n, k, options)
    if not halves:  # too few samples for LMI's halves and too many columns to calibrate: plain KSG on all samples
        chosen = "ksg"
        _warn_no_halves(n, n_features, k)
    if "progress" in options and "progress" not in accepted[chosen]:  # a display option: only where it applies
        options = {key: v for key, v in options.items() if key != "progress"}
    foreign = sorted(set(options) - accepted[chosen])
    if foreign:
        # the estimator that does take them (LMI for the training options)
        other = next((n for n in _CANDIDATES if n != chosen and set(foreign) <= accepted[n]), "lmi")
        raise ValueError(
            f"method='auto' chose {chosen!r} for {n} samples of {n_features} non-constant columns "
            f"(samples_per_dim={samples_per_dim:g}), which does not take {', '.join(map(repr, foreign))}; "
            f"pass method={chosen!r} without them, or method={other!r}"
        )
    if by_cost == "lmi" != by_samples:
        _warn_cost(by_samples, costs)
    reason = "samples" if chosen == by_samples else "cost" if chosen == by_cost else "screen"
    reason = reason if halves else "no-halves"
    if chosen == "lmi":
        xa, ya = xr, yr
    else:
        xa, ya = check_pair(x, y, min_samples=k + 2, method="auto")
    res, mixture = _run_chosen(chosen, xa, ya, dict(k=k, base=base, random_state=random_state, **options))
    if mixture is not None:
        chosen, reason = "ksg-calibrated", "mixture-rejected"
    res.extra["auto"] = {
        "method": chosen,
        "reason": reason,
        "mixture": mixture,
        "samples_per_dim": float(samples_per_dim),
        "cost_ratio": float(cost_ratio),
        "n_samples": n,
        "n_features": n_features,
        "discrete": discrete,
        "screen_check": check,
        "predicted_seconds": costs,
    }
    return res


def _run_chosen(chosen: str, x: Any, y: Any, options: dict[str, Any]) -> tuple[MIResult, dict[str, Any] | None]:
    """Run ``chosen``; where it is ``ksg-mixture`` and its guard rejects the mixture, run ``ksg-calibrated``
    instead, with the same seed (the mixture's warning is not given; the calibrated KSG's own are), and return
    the mixture's ``components``, ``ksg`` and ``guard`` beside it (``None`` where nothing was rejected).
    """
    if chosen != "ksg-mixture":
        return _CANDIDATES[chosen].run(x, y, **options), None
    defaults = {
        name: p.default for name, p in inspect.signature(ksg_mixture).parameters.items() if name not in ("x", "y")
    }
    res, rejection = mixture_estimate(x, y, **(defaults | options))
    if rejection is None:
        return res, None
    mixture = {key: res.extra[key] for key in ("components", "ksg", "guard")}
    fallback = {key: v for key, v in options.items() if key in _CANDIDATES["ksg-calibrated"].options | {"k"}}
    return _CANDIDATES["ksg-calibrated"].run(x, y, random_state=options["random_state"], **fallback), mixture


def _screen_check(
    chosen: str, xr: Any, yr: Any, widths: tuple[int, int], options: Mapping[str, Any], random_state: Any
) -> dict[str, Any] | None:
    """Where ``auto`` is about to run a KSG estimator on sides one of which has more than ``SCREEN_MIN_COLUMNS``
    non-constant columns, and LMI with ``options`` would screen: LMI's screen on a random half of the rows (at
    most ``SCREEN_MAX_ROWS``), and plain KSG on the other half (as many at most) on every column and on the kept
    ones (``None`` where the check does not apply). The rows and permutations come from :func:`_check_stream`:
    the estimator then run draws what it would have drawn without the check.
    """
    if chosen == "lmi" or xr.n_samples < LMI_MIN_SAMPLES or max(widths) <= SCREEN_MIN_COLUMNS:
        return None
    if not lmi_screens(options):
        return None
    rng = _check_stream(random_state)
    order = rng.permutation(xr.n_samples)
    half = min(xr.n_samples // 2, SCREEN_MAX_ROWS)
    kx, ky = screen_rows(xr, yr, np.sort(order[:half]), rng)
    record: dict[str, Any] = {"kept": (len(kx), len(ky)), "rows": half, "ksg_all": None, "ksg_kept": None}
    if len(kx) == xr.n_features and len(ky) == yr.n_features:
        return record
    test = np.sort(order[half : 2 * half])
    x_test, y_test = xr.take(test), yr.take(test)
    seed = seed_from(rng)
    record["ksg_all"] = ksg(x_test, y_test, random_state=seed).mi
    record["ksg_kept"] = ksg(x_test[:, kx], y_test[:, ky], random_state=seed).mi
    return record


#: mixed into the seed of the stream of ``auto``'s screen check, so that it differs from every stream seeded by
#: the same integer alone
_CHECK_TAG = 0x5C2EE7


def _check_stream(random_state: Any) -> np.random.Generator:
    """Return the generator of ``auto``'s screen check, seeded from ``random_state`` without drawing from it (a
    generator's first integer is read from a copy; ``Generator.spawn`` would change the children its estimator
    spawns).
    """
    is_generator = isinstance(random_state, np.random.Generator)
    source = copy.deepcopy(random_state) if is_generator else check_random_state(random_state)
    return np.random.default_rng([int(source.integers(2**63 - 1)), _CHECK_TAG])


def _warn_no_halves(n: int, n_features: int, k: int) -> None:
    """Warn (kind ``"few-samples"``) that ``auto`` runs plain KSG because LMI cannot split ``n`` samples and the
    calibrated KSG cannot run on ``n_features`` columns.
    """
    warn_estimate(
        f"method='auto' runs plain KSG (k={k}) on all {n} samples: LMI needs k + 2 = {k + 2} held-out and 2 "
        f"training samples, and the calibrated KSG more samples than columns + 2 ({n_features} + 2). In "
        f"{n_features} dimensions {n} samples bound little: read the estimate as a rough indication.",
        "few-samples",
    )


def _warn_cost(by_samples: str, costs: Mapping[str, float]) -> None:
    """Warn (kind ``"cost"``) that ``auto`` runs LMI instead of the slower, more accurate ``by_samples``."""
    warn_estimate(
        f"method='auto' runs LMI instead of {by_samples!r}, which is predicted to take "
        f"{costs[by_samples] / 60:.0f} min on 2 cores against {costs['lmi'] / 60:.1f} min for LMI "
        "(bm.estimators.predicted_seconds). LMI can read lower where the dependence is carried by "
        "low-variance columns among many (see docs/choosing_estimator.md, 'Cost'); "
        f"pass cost_ratio=np.inf (or method={by_samples!r}) to wait for {by_samples!r}.",
        "cost",
    )


def _mine(normalization: str | None) -> Method:
    """Return the entry of MINE with the ``normalization`` its name fixes."""
    run = partial(mine, normalization=normalization)
    return Method(
        name="mine" if normalization is None else f"mine-{normalization}",
        run=run,
        options=accepted_options(run),
        se_design="pointwise",
        refits=True,
        defaults_from=(run,),
        cost=critic_seconds,
    )


def _auto_seconds(n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None) -> float:
    """Predicted seconds of ``auto``: those of the candidate its rule chooses (continuous columns assumed)."""
    options = dict(options or {})
    costs = {name: entry.cost(n_samples, d_x, d_y, options) for name, entry in _CANDIDATES.items()}
    chosen = choose_method(
        n_samples,
        d_x + d_y,
        options.get("samples_per_dim", 10.0),
        costs=costs,
        cost_ratio=options.get("cost_ratio", COST_RATIO),
    )
    return costs[chosen]


#: method name -> :class:`Method`, in the order the documentation lists them
REGISTRY: dict[str, Method] = {
    "auto": Method(
        name="auto",
        run=auto,
        options=accepted_options(auto).union(*(entry.options for entry in _CANDIDATES.values())),
        se_design="chosen",
        cost=_auto_seconds,
        defaults_from=(auto, choose_method, *(entry.run for entry in _CANDIDATES.values())),
    ),
    "lmi": _CANDIDATES["lmi"],
    "ksg-calibrated": _CANDIDATES["ksg-calibrated"],
    "ksg": _CANDIDATES["ksg"],
    "ksg-mixture": _CANDIDATES["ksg-mixture"],
    "bi-ksg": _entry("bi-ksg", bi_ksg, "subsampling", exact_counts=True, cost=ksg_seconds),
    "ksg-local": _entry("ksg-local", ksg_local, "subsampling", exact_counts=True, cost=ksg_seconds),
    "ksg-global": _entry("ksg-global", ksg_global, "subsampling", exact_counts=True, cost=ksg_seconds),
    "ksg-global-linf": _entry("ksg-global-linf", ksg_global_linf, "subsampling", exact_counts=True, cost=ksg_seconds),
    "mine": _mine(None),
    "mine-local": _mine("local"),
    "mine-global": _mine("global"),
    "mine-global-corrected": _mine("global-corrected"),
    "infonce": _entry("infonce", infonce, "pointwise", refits=True, cost=partial(critic_seconds, contrastive=True)),
}


def get_method(method: Any) -> Method:
    """Return the :data:`REGISTRY` entry of ``method`` (any case), or raise ``ValueError`` naming the valid ones.

    Parameters
    ----------
    method
        A method name.

    Returns
    -------
    The entry.
    """
    if not isinstance(method, str) or method.lower() not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; valid methods: {sorted(REGISTRY)}")
    return REGISTRY[method.lower()]


def predicted_seconds(method: str, n_samples: int, d_x: int, d_y: int, **options: Any) -> float:
    """Predicted seconds of one estimate by ``method`` on the reference machine (2 CPU cores).

    The cost model of the method's :data:`REGISTRY` entry (:mod:`bioinfo_mi.estimators._cost`): the
    work the estimator does (neighbour comparisons, network parameters times samples times epochs)
    times constants measured by ``benchmarks/bench_cost_model.py``, where measured and predicted
    times are compared (docs/performance.md, "Cost model"). ``auto`` uses it to avoid an estimator
    much slower than the alternative. Error bars and shuffles multiply it by their number of fits.

    Parameters
    ----------
    method
        A method name of :func:`bioinfo_mi.mi` (any case).
    n_samples
        Number of paired samples.
    d_x, d_y
        Dimensions (non-constant columns) of ``x`` and ``y``.
    **options
        The estimator's options that change the work (``n_twins``, ``epochs``, ``steps``, ...).

    Returns
    -------
    Seconds; on another machine all methods scale by about the same factor.
    """
    entry = get_method(method)
    n_samples = check_positive_int(n_samples, name="n_samples")
    d_x, d_y = check_positive_int(d_x, name="d_x"), check_positive_int(d_y, name="d_y")
    check_options(options, set(entry.options), where=f"method={entry.name!r}")
    return float(entry.cost(n_samples, d_x, d_y, options))


def transformed_pair(x: Any, y: Any, transform: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of inputs and apply the per-coordinate ``transform`` (``None``, ``"rank"``, ``"copula"``).

    Parameters
    ----------
    x, y
        Paired samples (not modified).
    transform
        The transform, or None for the validated arrays as they are.

    Returns
    -------
    ``(x, y)`` as new float arrays.
    """
    xa, ya = check_pair(x, y, min_samples=1)
    return (apply_transform(xa, transform), apply_transform(ya, transform)) if transform else (xa, ya)


def run_method(
    method: str, x: Any, y: Any, *, random_state: int | np.random.Generator | None, stacklevel: int = 2, **options: Any
) -> MIResult:
    """Run one estimate of ``method`` with ``options`` (checked against the entry's), warning below 50 samples.

    Parameters
    ----------
    method
        A :data:`REGISTRY` name (any case).
    x, y
        Paired samples.
    random_state
        Seed or ``numpy.random.Generator`` of the estimator.
    stacklevel
        The frame the small-sample warning points to, counted as ``warnings.warn`` does from this function
        (2: its caller).
    **options
        The estimator's options.

    Returns
    -------
    The estimator's result.
    """
    entry = get_method(method)
    check_options(options, set(entry.options), where=f"method={entry.name!r}")
    res = entry.run(x, y, random_state=random_state, **options)
    if res.n_samples < MIN_SAMPLES:
        warn_few_samples(res, entry.name, stacklevel=stacklevel + 1)
    return res
