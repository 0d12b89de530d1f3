"""Helpers shared by the tools of :mod:`bioinfo_mi.tl`: checks of their common arguments, the fit jobs of
clone pairings, parameters that h5ad can store, and the sampling error that the pairings of one
analysis share.

The names are public within the package (the tool modules import them); they are not part of
``bm.tl``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from .._fits import FitJob, FitResult
from .._parallel import spawn_seeds
from .._validation import check_options, check_positive_int, warn_estimate
from ..api import METHODS, method_options
from ..estimators._lmi import lmi_can_split
from ..pp.pairing import draw_pairings, resolve_conditions

__all__ = [
    "DEFAULT_METHOD",
    "FALLBACK_METHOD",
    "RECOMMENDED_CLONES",
    "check_enough_pairs",
    "check_estimator_kwds",
    "check_min_clones",
    "check_fits",
    "pairing_jobs",
    "plain",
    "representation",
    "shared_variance",
    "shared_within_se",
    "tool_method",
]


#: shared clones (pairs) below which a tool run with ``min_clones=None`` warns: LMI then holds out fewer than 25
#: pairs for its KSG step (latent size 2 and small-sample error bars, each warned by the fits too)
RECOMMENDED_CLONES = 50

#: the tools' estimator when ``method`` is not given (the LMI paper's), and what runs instead where there are too
#: few pairs for its two halves (:func:`check_enough_pairs`)
DEFAULT_METHOD, FALLBACK_METHOD = "lmi", "ksg"

#: shared clones below which a tool run with ``min_clones=None`` refuses to pair cells (its error lists each
#: condition's cells and clones): the fewest pairs KSG estimates from at the default ``k=3`` (``k + 2``)
MIN_PAIRS = 5


def plain(value: Any) -> Any:
    """Convert a value to one h5ad can store (None -> 'None', tuples -> lists, numpy scalars -> Python)."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def representation(use_rep: str | None) -> str | None:
    """Return the ``obsm`` key that ``use_rep`` names, or None for ``.X`` (``use_rep`` None or ``"X"``, as in
    scanpy).
    """
    return None if isinstance(use_rep, str) and use_rep == "X" else use_rep


def check_fits(fits: Sequence[int] | None, cache_dir: Any, random_state: Any) -> None:
    """Refuse ``fits`` without a ``cache_dir`` to run into, or with a ``random_state`` that is not an int
    (every call of a split analysis must draw the same pairings and seeds).
    """
    if fits is not None and cache_dir is None:
        raise ValueError("fits runs part of an analysis into a cache; give cache_dir as well")
    if fits is not None and (isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer))):
        raise ValueError(
            "fits splits one analysis over several calls, which must draw the same pairings and "
            f"seeds: give random_state as an int, got {type(random_state).__name__}"
        )


def check_estimator_kwds(
    use_rep: str | None, method: str, estimator_kwds: Mapping[str, Any] | None, tool: str
) -> dict[str, Any]:
    """Return the estimator's options, validated before any fit, with LMI's default for a representation.

    ``estimator_kwds`` is checked against the options of ``method`` (and ``transform``): an unknown
    name raises ``TypeError`` naming the closest valid one. With ``method="lmi"`` and a representation
    (``use_rep``, an ``obsm`` key), ``normalization`` defaults to ``"global-corrected"``: one scale for
    the whole representation, so that its axes keep their relative variances (a PCA's explained
    variance, the near-zero unused axes of a VAE latent); standardising each axis, as LMI does with
    genes, would give the noise axes the weight of the signal (docs/benchmarks.md, "``tl.lmi`` on PCA
    and scVI-like representations"). An ``normalization`` given in ``estimator_kwds`` wins.
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods: {sorted(METHODS)}")
    if estimator_kwds is not None and not isinstance(estimator_kwds, Mapping):
        raise TypeError(f"estimator_kwds must be a dict of estimator options, got {type(estimator_kwds).__name__}")
    out = dict(estimator_kwds or {})
    check_options(
        out, method_options(method) | {"transform"}, where=f"{tool}(method={method.lower()!r}) estimator_kwds"
    )
    if use_rep is not None and method.lower() == "lmi":
        out.setdefault("normalization", "global-corrected")
    return out


def check_min_clones(min_clones: Any) -> int | None:
    """Return ``min_clones`` checked: None (the default: no floor of the tool's own, a warning below
    :data:`RECOMMENDED_CLONES`) or an int >= 1 (a floor: ``ValueError`` below it).
    """
    return None if min_clones is None else check_positive_int(min_clones, name="min_clones")


def tool_method(
    method: str | None, use_rep: str | None, estimator_kwds: Mapping[str, Any] | None, tool: str, *, asks_for_lmi: bool
) -> tuple[str, dict[str, Any], bool]:
    """Return a tool's method (:data:`DEFAULT_METHOD` for None), its options checked (:func:`check_estimator_kwds`),
    and whether the default may fall back to :data:`FALLBACK_METHOD` on too few pairs: only where ``method`` and
    ``estimator_kwds`` were not given and nothing else asks for LMI (``asks_for_lmi``: an attribution, which reads
    LMI's decoders).
    """
    may_fall_back = method is None and estimator_kwds is None and not asks_for_lmi
    method = DEFAULT_METHOD if method is None else method
    return method, check_estimator_kwds(use_rep, method, estimator_kwds, tool), may_fall_back


def check_enough_pairs(
    n: int,
    method: str,
    options: dict[str, Any],
    *,
    what: str,
    warn: bool,
    may_fall_back: bool,
    tool: str,
) -> tuple[str, dict[str, Any]]:
    """Return the method to run on ``n`` pairs and its options: ``method``, or, where LMI cannot split them and
    ``may_fall_back`` (:func:`tool_method`), plain KSG at its defaults with an :class:`~bioinfo_mi.EstimateWarning`.
    Refuse before any fit what cannot be estimated; warn below :data:`RECOMMENDED_CLONES` pairs if ``warn``.

    LMI's floor is its two halves: at least 2 training pairs and ``k + 2`` held out, 10 pairs at the defaults;
    the KSG family needs ``k + 2`` pairs (5). ``what`` names the pairs in the messages (e.g. ``"clones shared
    by time=2.0 and time=6.0"``).
    """
    k = options.get("k", 3)
    if method.lower() == "lmi" and not lmi_can_split(n, k, options):
        least = next(m for m in range(n + 1, 10 * k + 100) if lmi_can_split(m, k, options))
        if not may_fall_back:
            raise ValueError(
                f"{n} {what}: too few for method='lmi', which needs {least} (2 training pairs and k + 2 = {k + 2} "
                f"held out for its KSG step); method='auto' or 'ksg' estimate from {k + 2}"
            )
        method, options = FALLBACK_METHOD, check_estimator_kwds(None, FALLBACK_METHOD, None, tool)
        if n >= k + 2:
            warn_estimate(
                f"{n} {what}: too few for LMI, the default estimator, which needs {least} (2 training pairs and "
                f"k + 2 = {k + 2} held out); plain KSG (k={k}) runs on all {n} pairs instead. Read the estimates "
                "as a rough indication.",
                "few-samples",
            )
    if n < k + 2:
        raise ValueError(f"{n} {what}: too few for any estimate (a KSG estimate with k={k} needs {k + 2})")
    if warn and n < RECOMMENDED_CLONES:
        warn_estimate(
            f"{n} {what}, fewer than {RECOMMENDED_CLONES}: the estimates are returned, but at this size each "
            "rests on few pairs (LMI holds out half of them for its KSG step) and the shuffle test has little "
            "power; read them as a rough indication (pass min_clones to refuse such runs instead)",
            "few-samples",
        )
    return method, options


def pairing_jobs(
    adata: AnnData,
    *,
    clone_key: str,
    condition_key: str,
    conditions: Sequence[Any] | None,
    restrict: Mapping[str, Any] | None,
    n_pairings: int,
    n_shuffles: int,
    random_state: Any,
    min_clones: int | None,
) -> tuple[list[FitJob], tuple[Any, Any], int]:
    """Return the fit jobs of ``n_pairings`` real and ``n_shuffles`` shuffled clone pairings, the two
    conditions paired and the number of shared clones (at least ``min_clones``; None: :data:`MIN_PAIRS`).

    Every pairing draws one cell per shared clone and condition (:func:`bioinfo_mi.pp.draw_pairings`);
    a shuffled control then permutes the second condition's cells, which breaks the clone link.
    Each job gets its own seed, derived from ``random_state``.
    """
    min_clones = check_min_clones(min_clones)
    pairings = draw_pairings(
        adata,
        clone_key=clone_key,
        condition_key=condition_key,
        conditions=conditions,
        restrict=restrict,
        n_pairings=n_pairings + n_shuffles,
        min_clones=MIN_PAIRS if min_clones is None else min_clones,
        random_state=random_state,
    )
    seeds = spawn_seeds(random_state, n_pairings + 2 * n_shuffles)
    shuffle_rng = np.random.default_rng(seeds[-1])
    jobs = [FitJob(i, False, p.cells_a, p.cells_b, seeds[i]) for i, p in enumerate(pairings[:n_pairings])]
    for j, p in enumerate(pairings[n_pairings:]):
        jobs.append(FitJob(j, True, p.cells_a, p.cells_b[shuffle_rng.permutation(len(p))], seeds[n_pairings + j]))
    return jobs, resolve_conditions(adata, condition_key, conditions), len(pairings[0])


def shared_variance(results: Sequence[FitResult]) -> float:
    """Estimate of the variance that every pairing's estimate shares, ``mean(se_p^2) - s^2`` (may be
    negative; :func:`shared_within_se` clips it at 0).

    A pairing's estimate is truth + D + e_p. D, the error of the clone sample itself, is common to
    all pairings (they re-draw cells of the same clones); e_p varies between them: which clones a
    fit scores (LMI: its held-out half), which cells represent each clone, the network's training.
    A fit's own sampling variance ``se_p^2`` (:func:`bioinfo_mi.uncertainty.sampling_se`, on the
    samples it scores) contains D and the sampling parts of e_p, but not the training noise; the
    variance ``s^2`` of the estimates over the pairings contains all of e_p and not D. So
    ``mean(se_p^2) - s^2`` estimates ``var(D)`` minus the training variance: exact for KSG (no
    training), a lower bound for LMI, where ``s^2 / n_pairings`` (the SEM term) carries the training
    noise instead (calibration: docs/benchmarks.md, ``tl.markov_test``). With one pairing nothing
    varies between pairings and the whole ``se^2`` is its error. NaN when a fit has no standard error.
    """
    se = np.array([r.se for r in results], dtype=float)
    if not len(se) or not np.isfinite(se).all():
        return float("nan")
    est = np.array([r.mi for r in results], dtype=float)
    return float(np.mean(se**2) - (np.var(est, ddof=1) if len(est) > 1 else 0.0))


def shared_within_se(results: Sequence[FitResult]) -> float:
    """Return the part of the fits' sampling error that every pairing shares: ``sqrt(max(0, v))`` with ``v``
    from :func:`shared_variance`. The standard error of the mean over pairings is
    ``sqrt(SEM^2 + shared_within_se^2)``.
    """
    v = shared_variance(results)
    return float(np.sqrt(max(v, 0.0))) if np.isfinite(v) else v


def split_fits(fits: Sequence[int] | None, n_first: int) -> tuple[list[int] | None, list[int] | None]:
    """``fits`` positions split between the tool's own jobs (the first ``n_first``) and the conditional ones."""
    if fits is None:
        return None, None
    given = [int(i) for i in fits]
    return [i for i in given if i < n_first], [i - n_first for i in given if i >= n_first]
