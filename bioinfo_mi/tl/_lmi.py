"""``tl.lmi`` and ``tl.pmi``: LMI between clone-paired cells of two conditions (LMI paper, Section 4.2 and
Appendix A.4.2), or between the two sides of paired data such as interaction partners (Section 4.1),
with shuffle controls.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .._docs import shared_docs
from .._fits import FitJob, FitResult, run_fits, warn_fits
from .._parallel import check_n_jobs, root_seed, spawn_seeds
from .._validation import EstimateWarning, check_positive_int
from .._version import __version__
from ..api import DETERMINISTIC
from ..pp.pairing import (
    COSPAR_CLONE_KEY,
    DEFAULT_CLONE_KEY,
    check_adata,
    feature_source,
    resolve_clone_key,
    resolve_time_key,
)
from ..uncertainty import parametric_p_value
from ._adjust import check_adjust_for, run_tool_fits, tool_conditional_jobs
from ._utils import (
    check_enough_pairs,
    check_fits,
    pairing_jobs,
    plain,
    representation,
    shared_within_se,
    tool_method,
)

__all__ = ["lmi", "pmi"]

#: obsm keys of paired data (``bm.datasets.simulate_interactions``, ``bm.pp.pair_interactions``).
PAIR_KEYS = ("source", "target")


def _paired_jobs(n_rows: int, *, n_pairings: int, n_shuffles: int, random_state: Any) -> list[FitJob]:
    """Paired data: every fit sees all pairs (its own seed, hence its own train/test split); shuffles permute y."""
    seeds = spawn_seeds(random_state, n_pairings + n_shuffles + 1)
    rows = np.arange(n_rows)
    shuffle_rng = np.random.default_rng(seeds[-1])
    jobs = [FitJob(i, False, rows, rows, seeds[i]) for i in range(n_pairings)]
    jobs += [FitJob(j, True, rows, shuffle_rng.permutation(n_rows), seeds[n_pairings + j]) for j in range(n_shuffles)]
    return jobs


@dataclass
class _Plan:
    """What to fit: feature matrices of the two sides, the jobs, and how to describe them."""

    x_features: Any
    y_features: Any
    jobs: list[FitJob]
    size_column: str
    size: int
    describe: dict[str, Any]


def _check_plan_size(
    plan: _Plan, method: str, options: dict[str, Any], min_clones: int | None, may_fall_back: bool, tool: str
) -> tuple[str, dict[str, Any]]:
    """Return the method to run on the plan's pairs and its options (:func:`~bioinfo_mi.tl._utils.check_enough_pairs`):
    refuse too few before any fit, warn below 50 shared clones when ``min_clones`` is None.
    """
    d = plan.describe
    lineage = plan.size_column == "n_clones"
    what = "pairs"
    if lineage:
        key, (a, b) = d["condition_key"], d["conditions"]
        what = f"clones shared by {key}={a!r} and {key}={b!r}"
    warn = lineage and min_clones is None
    return check_enough_pairs(plan.size, method, options, what=what, warn=warn, may_fall_back=may_fall_back, tool=tool)


def _distinct_fits(plan: _Plan, method: str) -> tuple[_Plan, str]:
    """Drop the real fits that would repeat one computation, and say what varies between those kept.

    Lineage pairings re-draw one cell per clone, so every pairing is a different data set. Paired data
    give every real fit all the pairs; they differ only by seed (LMI: the train/test split and the
    training), so a :data:`bioinfo_mi.api.DETERMINISTIC` method (KSG family) would return the same
    number each time: one real fit is kept (the shuffles, each a different permutation, all run).
    """
    deterministic = method.lower() in DETERMINISTIC
    if "pair_keys" not in plan.describe:
        return plan, "cell draws" + ("" if deterministic else ", train/test splits and training") + " (pairings)"
    if deterministic:
        return replace(plan, jobs=[j for j in plan.jobs if j.shuffled or j.pairing == 0]), "nothing (one fit)"
    return plan, "train/test splits and training (seeds)"


def _resolve_pair_keys(
    adata: AnnData, pair_keys: Sequence[str] | None, lineage_args: Mapping[str, Any]
) -> tuple[str, str] | None:
    """Return the two obsm keys of paired data, or None for lineage data.

    Paired data: ``pair_keys`` as given, or, when no lineage argument is given (``lineage_args``, the
    ``clone_key``, ``condition_key``, ``conditions`` and ``restrict`` that are not None), ``("source",
    "target")`` when both are in obsm and there is no ``obs['clone']`` nor ``obsm['X_clone']``. A lineage
    argument given with ``pair_keys`` is refused (it would be ignored).
    """
    given = [name for name, value in lineage_args.items() if value is not None]
    if pair_keys is not None:
        if isinstance(pair_keys, (str, bytes)) or len(tuple(pair_keys)) != 2:
            raise ValueError(f"pair_keys must name two obsm entries, e.g. ('source', 'target'), got {pair_keys!r}")
        keys = tuple(pair_keys)
        missing = [k for k in keys if k not in adata.obsm]
        if missing:
            raise KeyError(f"pair_keys {missing} not found in obsm; available: {list(adata.obsm.keys())}")
        if given:
            raise ValueError(
                f"pair_keys selects paired data (obsm {list(keys)}); {', '.join(given)} apply to lineage data only"
            )
        return keys  # type: ignore[return-value]
    if given:
        return None
    has_clones = DEFAULT_CLONE_KEY in adata.obs.columns or COSPAR_CLONE_KEY in adata.obsm
    if not has_clones and all(k in adata.obsm for k in PAIR_KEYS):
        return PAIR_KEYS
    return None


def _plan(
    adata: AnnData,
    *,
    pair_keys: Sequence[str] | None,
    clone_key: str | None,
    condition_key: str | None,
    conditions: Sequence[Any] | None,
    restrict: Mapping[str, Any] | None,
    use_rep: str | None,
    layer: str | None,
    n_pairings: int,
    n_shuffles: int,
    random_state: Any,
    min_clones: int | None,
) -> _Plan:
    """Return what to fit: paired data (see :func:`_resolve_pair_keys`) or clone pairings of lineage data."""
    lineage = {"clone_key": clone_key, "condition_key": condition_key, "conditions": conditions, "restrict": restrict}
    keys = _resolve_pair_keys(adata, pair_keys, lineage)
    random_state = root_seed(random_state)  # an int from here on: pairings and fit seeds share one root
    if keys is not None:
        if use_rep is not None or layer is not None:
            raise ValueError(f"paired data (obsm {list(keys)}) is analysed as stored; use_rep and layer do not apply")
        x, y = (feature_source(adata, use_rep=k) for k in keys)
        jobs = _paired_jobs(adata.n_obs, n_pairings=n_pairings, n_shuffles=n_shuffles, random_state=random_state)
        return _Plan(x, y, jobs, "n_pairs", adata.n_obs, {"pair_keys": list(keys), "random_state": random_state})
    # the keys actually read (a default resolves to obs['clone'] / obsm['X_clone'], obs['time'] / obs['time_info'])
    clone_key = resolve_clone_key(adata, clone_key)
    condition_key = resolve_time_key(adata, condition_key, "condition_key")
    use_rep = representation(use_rep)
    features = feature_source(adata, use_rep=use_rep, layer=layer)
    jobs, (a, b), n_clones = pairing_jobs(
        adata,
        clone_key=clone_key,
        condition_key=condition_key,
        conditions=conditions,
        restrict=restrict,
        n_pairings=n_pairings,
        n_shuffles=n_shuffles,
        random_state=random_state,
        min_clones=min_clones,
    )
    describe = {
        "clone_key": clone_key,
        "condition_key": condition_key,
        "conditions": [a, b],
        "restrict": restrict,
        "use_rep": use_rep,
        "layer": layer,
        "min_clones": min_clones,
        "random_state": random_state,
    }
    return _Plan(features, features, jobs, "n_clones", n_clones, describe)


def _summary(results: list[FitResult], varies: str) -> pd.DataFrame:
    """One-row summary: mean estimate with its standard errors and the shuffle test (see ``tl.lmi``);
    ``varies`` says what differs between the real fits, i.e. what ``mi_sem`` measures.
    """
    real = np.array([r.mi for r in results if not r.job.shuffled])
    shuf = np.array([r.mi for r in results if r.job.shuffled])
    sem = float(real.std(ddof=1) / np.sqrt(len(real))) if len(real) > 1 else float("nan")
    # the pairings share the clones, so the sampling error of the clone sample does not average out
    within = shared_within_se([r for r in results if not r.job.shuffled])
    row = {
        "mi_mean": float(real.mean()),
        "mi_sem": sem,
        "sem_measures": varies if len(real) > 1 else "nothing (one fit)",
        "within_fit_se": within,
        "mi_se": float(np.hypot(0.0 if len(real) == 1 else sem, within)),
        "n_pairings": len(real),
        "shuffled_mean": float(shuf.mean()) if len(shuf) else float("nan"),
        "shuffled_sd": float(shuf.std(ddof=1)) if len(shuf) > 1 else float("nan"),
        "n_shuffles": len(shuf),
        # empirical p-value of the mean real estimate against the shuffled estimates; it cannot go
        # below its resolution 1 / (1 + n_shuffles)
        "p_value": float((1 + np.sum(shuf >= real.mean())) / (1 + len(shuf))) if len(shuf) else float("nan"),
        "p_value_resolution": 1 / (1 + len(shuf)) if len(shuf) else float("nan"),
        # Student-t test of the mean real estimate as one more draw from the shuffles' normal, its SD
        # estimated from the n_shuffles values (n_shuffles - 1 degrees of freedom)
        "p_value_parametric": parametric_p_value(float(real.mean()), shuf),
    }
    return pd.DataFrame([row])


#: prior degrees of freedom of the moderated null SD of an attribution score (see :func:`attribution_table`)
NULL_SD_PRIOR_DF = 10.0


def check_attribution(attribution: Any, method: str, options: Mapping[str, Any]) -> str | None:
    """Validate ``tl.lmi``'s ``attribution`` (False/None, True or a score name) before any fit; return the
    score of :func:`bioinfo_mi.estimators.attribution` to compute in every fit, or None.
    """
    from ..estimators._attribution import DEFAULT_SCORE, SCORES

    if attribution is None or attribution is False:
        return None
    score = DEFAULT_SCORE if attribution is True else attribution
    if score not in SCORES:
        raise ValueError(f"attribution must be True, False or one of {list(SCORES)}, got {attribution!r}")
    if method.lower() != "lmi":
        raise ValueError(
            f"attribution scores the input features through a trained LMI model; method={method!r} has none. "
            "Use method='lmi' (the default)."
        )
    if score == "cross_r2" and options.get("regularizer", "cross") != "cross":
        raise ValueError(
            f"attribution={score!r} reads the cross-decoders, which regularizer={options['regularizer']!r} does not "
            "train; use attribution='permutation'"
        )
    return score


def attribution_table(
    results: Sequence[FitResult],
    names: tuple[Sequence[str], Sequence[str]],
    conditions: Sequence[Any],
    feature_column: str = "gene",
) -> pd.DataFrame:
    """Per-feature attribution of an analysis: the fits' scores averaged over the real pairings, against the
    same statistic on the shuffled pairings.

    For each side (``"x"``, the first condition; ``"y"``, the second) and feature: ``score``, the mean
    over the real pairings (``score_sd`` their SD); ``null_mean`` and ``null_sd``, mean and SD over the
    shuffled pairings; ``z = (score - m) / s``, with the feature's null mean and SD moderated towards
    the side's pooled values: ``m = (d0 m0 + S null_mean) / (d0 + S)`` and
    ``s^2 = (d0 s0^2 + (S - 1) null_sd^2) / (d0 + S - 1)``, ``m0`` and ``s0^2`` the mean null mean
    and null variance of the side's scored features, ``d0`` = :data:`NULL_SD_PRIOR_DF`, ``S``
    shuffles. A handful of shuffles gives a noisy per-feature null: subtracting a raw mean of 3
    shuffles adds as much noise to ``z`` as the score has, and an SD that happens to be tiny
    inflates it (the null of an uninformative feature hardly differs between features of one side;
    on the lineage simulator ranking by this ``z`` matched or beat the raw score and the unmoderated
    ``z``, benchmarks/bench_attribution.py); ``p_value``, the empirical
    ``(1 + #{shuffled >= score}) / (1 + S)``;
    ``rank`` (1 = most informative) by ``z``, or by ``score`` with fewer than two shuffles. Features
    that are constant score 0 in every fit and get ``z = 0``. ``kept_fraction``: the share of the real
    pairings' fits whose model read the feature (LMI's column screen, ``screen``, the default since session 13,
    leaves out the features that the other side does not predict beyond chance, and constant ones are dropped;
    a left-out feature scores exactly 0). A feature no real fit read contributed nothing to the estimate: it
    gets ``z = 0`` and ``p_value = 1``, since the shuffled fits, which read it (the screen keeps every column
    where nothing passes), are no null for a score that was never computed (before this rule, a left-out noise
    gene's 0 sat above its shuffles' slightly negative held-out ``R^2`` and half of them got the smallest
    p-value).
    """
    real = [r.attribution for r in results if not r.job.shuffled]
    null = [r.attribution for r in results if r.job.shuffled]
    frames = []
    for i, (side, condition) in enumerate(zip(("x", "y"), conditions, strict=True)):
        scores = np.stack([a[i] for a in real])  # type: ignore[index]
        score = scores.mean(axis=0)
        score_sd = scores.std(axis=0, ddof=1) if len(scores) > 1 else np.full(len(score), np.nan)
        frame = {feature_column: list(names[i]), "side": side, "condition": str(condition), "score": score}
        read = scores != 0  # a feature the fit's model left out (screened or constant) scores exactly 0
        frame.update(score_sd=score_sd, kept_fraction=read.mean(axis=0))
        if null:
            shuffled = np.stack([a[i] for a in null])  # type: ignore[index]
            null_mean = shuffled.mean(axis=0)
            p_value = np.where(read.any(axis=0), (1 + (shuffled >= score).sum(axis=0)) / (1 + len(shuffled)), 1.0)
        else:
            shuffled, null_mean, p_value = None, np.full(len(score), np.nan), np.full(len(score), np.nan)
        if shuffled is not None and len(shuffled) > 1:
            null_var = shuffled.var(axis=0, ddof=1)
            scored = read.any(axis=0)
            pooled = float(null_var[scored].mean()) if scored.any() else 0.0
            pooled_mean = float(null_mean[scored].mean()) if scored.any() else 0.0
            n_null, d0 = len(shuffled), NULL_SD_PRIOR_DF
            moderated = np.sqrt((d0 * pooled + (n_null - 1) * null_var) / (d0 + n_null - 1))
            centre = np.where(scored, (d0 * pooled_mean + n_null * null_mean) / (d0 + n_null), 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(scored & (moderated > 0), (score - centre) / moderated, 0.0)
            null_sd, key = np.sqrt(null_var), z
        else:
            null_sd, z, key = np.full(len(score), np.nan), np.full(len(score), np.nan), score
        order = np.argsort(-key, kind="stable")
        rank = np.empty(len(score), dtype=int)
        rank[order] = np.arange(1, len(score) + 1)
        frame.update({"null_mean": null_mean, "null_sd": null_sd, "z": z, "p_value": p_value, "rank": rank})
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def feature_names(
    adata: AnnData, results: Sequence[FitResult], use_rep: str | None, pair_keys: Sequence[str] | None
) -> tuple[tuple[list[str], list[str]], str]:
    """Names of the x and y features of attributed fits and the table's column for them: the genes
    (``"gene"``) for ``.X`` or a layer, else ``"feature"`` with ``<use_rep>_<i>`` or ``<obsm key>_<i>``.
    """
    widths = [len(a) for a in results[0].attribution]  # type: ignore[union-attr]
    if pair_keys is None and use_rep is None:
        genes = adata.var_names.astype(str).tolist()
        return (genes, genes), "gene"
    labels = list(pair_keys) if pair_keys is not None else [use_rep, use_rep]
    names = [[f"{label}_{i}" for i in range(width)] for label, width in zip(labels, widths, strict=True)]
    return (names[0], names[1]), "feature"


def _warn_if_in_noise(row: pd.Series) -> None:
    """Warn when the mean estimate does not stand out of the shuffled controls."""
    if row.n_shuffles >= 2 and np.isfinite(row.shuffled_sd) and row.mi_mean < row.shuffled_mean + 2 * row.shuffled_sd:
        warnings.warn(
            EstimateWarning(
                f"the mean estimate ({row.mi_mean:.3f} bits) lies within two SDs of the shuffled controls "
                f"({row.shuffled_mean:.3f} +/- {row.shuffled_sd:.3f}): no dependence is resolved; more clones, "
                "a lower-dimensional representation (use_rep) or more shuffles can tell",
                "in-shuffle-noise",
            ),
            stacklevel=3,
        )


def _with_adjusted(
    table: pd.DataFrame, summary: pd.DataFrame, table_c: pd.DataFrame, summary_c: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the table and summary with the conditional fits' rows below the others, told apart by ``adjusted``."""
    frames = [(table, table_c), (summary, summary_c)]
    return tuple(  # type: ignore[return-value]
        pd.concat([a.assign(adjusted=False), b.assign(adjusted=True)], ignore_index=True) for a, b in frames
    )


def _table(results: Sequence[FitResult], plan: _Plan) -> pd.DataFrame:
    """One row per fit: its pairing, whether it is a shuffled control, its estimate and standard error."""
    return pd.DataFrame(
        {
            "pairing": [r.job.pairing for r in results],
            "shuffled": [r.job.shuffled for r in results],
            "estimate": [r.mi for r in results],
            "se": [r.se for r in results],
            plan.size_column: plan.size,
        }
    )


def _store_attribution(
    target: AnnData, results: Sequence[FitResult], plan: _Plan, key_added: str, adjusted: Sequence[FitResult] = ()
) -> None:
    """Write the attribution table to ``target.uns[key_added]`` and, for genes, the scores to ``target.var``;
    with conditional fits (``adjusted``) their table below, told apart by an ``adjusted`` column.
    """
    pair_keys = plan.describe.get("pair_keys")
    use_rep = plan.describe.get("use_rep")
    sides = pair_keys if pair_keys is not None else plan.describe["conditions"]
    names, column = feature_names(target, results, use_rep, pair_keys)
    frame = attribution_table(results, names, sides, feature_column=column)
    parts = [("", frame)]
    if adjusted:
        parts.append(("adjusted_", attribution_table(adjusted, names, sides, feature_column=column)))
        frame = pd.concat([frame.assign(adjusted=False), parts[1][1].assign(adjusted=True)], ignore_index=True)
    target.uns[key_added]["attribution"] = frame
    if pair_keys is None and use_rep is None:  # genes: .X or a layer
        for tag, part in parts:
            for side in ("x", "y"):
                scores = part.loc[part["side"] == side, "score"].to_numpy()
                target.var[f"{key_added}_attribution_{tag}{side}"] = scores


def checked_estimator(
    adata: AnnData,
    method: str | None,
    use_rep: str | None,
    estimator_kwds: Mapping[str, Any] | None,
    attribution: Any,
    adjust_for: Any,
    tool: str,
) -> tuple[str, dict[str, Any], bool, str | None, Any]:
    """Check a tool's estimator arguments before any fit: return the method (the default's for None) and its options
    (:func:`~bioinfo_mi.tl._utils.tool_method`), whether the default may fall back on too few pairs, the
    attribution score (:func:`check_attribution`) and the adjustment (:func:`~bioinfo_mi.tl._adjust.check_adjust_for`).
    """
    method, options, may_fall_back = tool_method(method, use_rep, estimator_kwds, tool, asks_for_lmi=bool(attribution))
    score = check_attribution(attribution, method, options)
    return method, options, may_fall_back, score, check_adjust_for(adata, adjust_for, method, attribution=score)


@shared_docs
def lmi(
    adata: AnnData,
    *,
    clone_key: str | None = None,
    condition_key: str | None = None,
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    use_rep: str | None = None,
    layer: str | None = None,
    n_pairings: int = 5,
    n_shuffles: int = 5,
    method: str | None = None,
    error_bars: bool = True,
    attribution: bool | str = False,
    min_clones: int | None = None,
    key_added: str = "lmi",
    copy: bool = False,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = True,
    pair_keys: Sequence[str] | None = None,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    estimator_kwds: Mapping[str, Any] | None = None,
    adjust_for: str | Sequence[str] | None = None,
) -> AnnData | None:
    """MI between clone-paired cells of two conditions, or between the two sides of paired data, with
    shuffled controls (LMI paper, Sections 4.1 and 4.2).

    Lineage data: for each of ``n_pairings`` random pairings (one cell per shared clone and condition,
    see :func:`bioinfo_mi.pp.draw_pairings`) the estimator ``method`` (LMI by default) is run on the
    paired expression states; ``n_shuffles`` further pairings with the clone link broken (late
    cells permuted) give the null distribution.

    Paired data (one row per pair, the two sides in ``obsm``, e.g. interaction partners from
    :func:`bioinfo_mi.datasets.simulate_interactions` or :func:`bioinfo_mi.pp.pair_interactions`):
    ``n_pairings`` fits on all pairs with different seeds (so different train/test splits), and
    ``n_shuffles`` fits with the targets permuted.

    Parameters
    ----------
    adata
        Lineage-traced cells, or paired data. A view is read as is and the results are written to it
        (anndata then makes it an AnnData of its own; the parent is not changed). A backed object
        (``read_h5ad(..., backed="r")``) has only the rows of ``.X`` its fits use read into memory (the
        cells of the pairings, a block at a time) and gets the results in memory (the file is not
        changed); ``copy=True`` is refused for it.
    clone_key, condition_key, conditions, restrict
        Which cells to pair: see :func:`bioinfo_mi.pp.shared_clones`. E.g. early vs late time
        (``condition_key="time", conditions=(2, 6)``) or sisters across wells at day 6
        (``condition_key="well", conditions=(1, 2), restrict={"time": 6}``). ``clone_key=None`` (the
        default) reads ``obs['clone']``, else CoSpar's ``obsm['X_clone']``; ``condition_key=None`` reads
        ``obs['time']``, else CoSpar's ``obs['time_info']``; a key given by name must exist (else
        ``KeyError``). Without ``conditions``, the two values in time order (an ordered categorical's
        order, the numbers, or the number in each label: ``"d2"`` before ``"d10"``), or a
        ``ValueError`` asking for ``conditions`` when they have none. ``params`` stores the keys and
        values used.
    {use_rep}
        With LMI, a representation is scaled as a whole, so that its axes keep their relative
        variances (``normalization="global-corrected"``; ``estimator_kwds={"normalization": "local"}``
        standardises each axis), while genes (``.X``, a layer) are standardised one by one (the
        paper's recipe): standardising each of 50 PCs puts the noise components on a par with the
        signal.
    {layer}
    n_pairings, n_shuffles
        Numbers of real and shuffled pairings (each one fit). On paired data the real fits differ only by
        seed, so a method without randomness (the KSG family) is fitted once whatever ``n_pairings``.
    method
        Any :data:`bioinfo_mi.METHODS` entry. ``None`` (the default): ``"lmi"``, the paper's estimator (stored
        as ``params["method"]``); where there are too few pairs for LMI's two halves (fewer than 10 at ``k=3``)
        and neither ``estimator_kwds`` nor ``attribution`` asks for LMI, plain ``"ksg"`` on all of them instead
        (with ``adjust_for``: the k-NN CMI), with an :class:`~bioinfo_mi.EstimateWarning` (kind
        ``"few-samples"``). A method you give is always run (``"lmi"`` on too few pairs: a ``ValueError`` before
        any fit).
    error_bars
        Sampling standard error of every real fit (:func:`bioinfo_mi.uncertainty.sampling_se`; for
        LMI, subsampling of KSG on its held-out latents, a small cost beside the training), stored in
        the table's ``se`` column and combined in the summary.
    attribution
        Which input features carry the dependence (method ``"lmi"`` only): ``True`` (the default
        score, ``"cross_r2"``) or a score of :func:`bioinfo_mi.estimators.attribution`
        (``"cross_r2"``, ``"permutation"``), computed in every fit, real and shuffled, on its held-out
        samples. The real pairings' mean is each feature's score; the shuffled pairings give its null
        (see Returns). Costs one decoder pass per fit (``"cross_r2"``) or one KSG per
        feature and fit (``"permutation"``). With ``adjust_for``, the conditional fits' scores too: the
        partial ``cross_r2`` beyond ``Z``.
    min_clones
        Fewest shared clones accepted (a ``ValueError`` listing each condition's cells and clones below it).
        ``None`` (the default): no floor of the tool's own; below 50 shared clones the estimates are returned
        with an :class:`~bioinfo_mi.EstimateWarning` (kind ``"few-samples"``), and only the method's own
        minimum is refused before any fit (LMI: 10 pairs for its two halves at ``k=3``; ``method="auto"``
        estimates from 5).
    {key_added}
    {copy}
    {random_state}
        It seeds the pairings, the shuffles and the fits. The root seed that every seed derives from
        (the int given, one draw from a Generator, or fresh entropy for None) is stored as
        ``params["random_state"]``, so any run can be repeated.
    {n_jobs}
    {progress}
    pair_keys
        Paired data: the two ``obsm`` entries to relate. Default: ``("source", "target")`` when both
        exist, the data have no clone annotation (``obs['clone']``, ``obsm['X_clone']``) and none of
        ``clone_key``, ``condition_key``, ``conditions``, ``restrict`` is given; else lineage mode.
        Given together with any of those four: ``ValueError``.
    {fits}
        Positions ``0..n_pairings-1`` are the real pairings, then the shuffles; with ``adjust_for``,
        then the real pairings' conditional fits and the conditional shuffles.
    {cache_dir}
    {estimator_kwds}
    adjust_for
        Also estimate the conditional MI ``I(X; Y | Z)`` of every pairing, ``Z`` what the cells share
        beyond the clone: obs column(s) (cell type, batch, well; labels, or float covariates) or one
        obsm key (numbers). Each pair gets the values of both its cells (one value when the two cells
        always agree, e.g. the well). ``method="lmi"`` runs the latent CMI, ``"ksg"`` and
        ``"ksg-calibrated"`` the k-NN CMI; any other method takes a categorical ``adjust_for`` only
        (the stratified sum). As many conditional shuffles as ``n_shuffles`` (late cells permuted
        within the strata of ``Z``, or locally in a numeric ``Z``, Runge 2018) give its null: twice the
        fits of the call without it. See :mod:`bioinfo_mi.tl._adjust` and :func:`bioinfo_mi.cmi`. With
        ``attribution`` (``"cross_r2"`` only), the conditional fits are attributed beyond ``Z`` too.

    Returns
    -------
    ``None`` (or the copy when ``copy=True``). Writes ``adata.uns[key_added]`` with
    ``"table"`` (DataFrame: ``pairing``, ``shuffled``, ``estimate``, ``se`` (NaN for the shuffles or
    without ``error_bars``), and ``n_clones`` or, for paired data, ``n_pairs``; with ``adjust_for``
    also ``adjusted``, True for the conditional fits), ``"summary"``
    (one-row DataFrame: ``mi_mean``; ``mi_sem``, the spread over pairings; ``within_fit_se``, the
    part of the fits' sampling error that all pairings share (the clone sample itself, which does not
    shrink with the number of pairings: ``sqrt(max(0, mean(se^2) - s^2))``, ``s^2`` the variance of
    the estimates over the pairings, which already holds the cell draws, the train/test splits and
    the training; with one pairing, its ``se``); ``mi_se = sqrt(mi_sem^2 + within_fit_se^2)``, the
    standard error of ``mi_mean``;
    ``shuffled_mean``, ``shuffled_sd``; ``p_value``, the empirical
    ``(1 + #{shuffled >= mi_mean}) / (1 + n_shuffles)``, never below ``p_value_resolution``
    ``= 1 / (1 + n_shuffles)``; ``p_value_parametric``, a one-sided Student-t test of ``mi_mean`` as
    one more draw from the shuffles' normal distribution, its SD estimated from the ``n_shuffles``
    values (:func:`bioinfo_mi.uncertainty.parametric_p_value`; NaN below 2 shuffles; read it with
    ``n_shuffles``, which it rests on); ``sem_measures``, what varies between the real fits and so
    what ``mi_sem`` measures; ``n_pairings``, the number of real fits, which is 1 on paired data with a
    method of :data:`bioinfo_mi.api.DETERMINISTIC` (the KSG family: every fit would see the same pairs
    and return the same number); with ``adjust_for`` a second row, ``adjusted`` True, of the same
    columns for the conditional fits and their conditional shuffles) and ``"params"`` (every parameter
    used, and ``version``, the package's; with ``adjust_for``, ``adjust_z``: how a pair's ``Z`` was
    formed, ``"shared"`` or ``"both cells"``).

    With ``attribution``: ``adata.uns[key_added]["attribution"]``, a DataFrame with one row per side
    and feature (``gene``, or ``feature`` for a representation or paired data; ``side``
    ``"x"``/``"y"``; ``condition``; ``score``, the mean over the real pairings, and ``score_sd``;
    ``kept_fraction``, the share of the real pairings' fits whose model read the feature, which LMI's
    column screen can leave out; ``null_mean``, ``null_sd``, over the shuffled pairings; ``z``, the score
    against that null with its mean and SD moderated towards the side's pooled values; ``p_value``, the
    empirical ``(1 + #{shuffled >= score}) / (1 + n_shuffles)``; a feature no real fit read gets ``z = 0``
    and ``p_value = 1``; ``rank``, 1 the most informative), and for
    genes (``.X`` or a layer, not ``use_rep`` or paired data)
    ``adata.var[key_added + "_attribution_x"]`` and ``[key_added + "_attribution_y"]``, the scores
    of the first and the second condition's cells. With ``adjust_for`` as well, the conditional fits'
    table follows in the same DataFrame, told apart by an ``adjusted`` column: ``score`` is then the
    partial ``cross_r2`` beyond the adjustment (:func:`bioinfo_mi.estimators.attribution`: what a gene
    shares with the partner cell that ``adjust_for`` does not explain), and for genes
    ``adata.var[key_added + "_attribution_adjusted_x"]`` and ``[... "_attribution_adjusted_y"]``.
    """
    check_adata(adata, copy=copy)
    check_positive_int(n_pairings, name="n_pairings")
    check_positive_int(n_shuffles, name="n_shuffles", minimum=0)
    check_fits(fits, cache_dir, random_state)
    method, options, may_fall_back, score, adjustment = checked_estimator(
        adata, method, representation(use_rep), estimator_kwds, attribution, adjust_for, "tl.lmi"
    )
    plan = _plan(
        adata,
        pair_keys=pair_keys,
        clone_key=clone_key,
        condition_key=condition_key,
        conditions=conditions,
        restrict=restrict,
        use_rep=use_rep,
        layer=layer,
        n_pairings=n_pairings,
        n_shuffles=n_shuffles,
        random_state=random_state,
        min_clones=min_clones,
    )
    method, options = _check_plan_size(plan, method, options, min_clones, may_fall_back, "tl.lmi")
    plan, varies = _distinct_fits(plan, method)
    # the conditional jobs are built (and checked against the cells used) before any fit, on their own seeds
    cond = tool_conditional_jobs(adjustment, [plan.jobs], n_shuffles, plan.describe["random_state"])
    run = {"method": method, "options": options, "n_jobs": check_n_jobs(n_jobs), "progress": progress}
    results, adjusted = run_tool_fits(
        plan.x_features,
        plan.y_features,
        plan.jobs,
        cond[0],
        fits=fits,
        error_bars=bool(error_bars),
        attribution=score,
        cache_dir=cache_dir,
        **run,
    )
    if fits is not None:
        return None
    warn_fits(results + adjusted)
    summary = _summary(results, varies)
    _warn_if_in_noise(summary.iloc[0])
    table = _table(results, plan)
    params = dict(plan.describe, n_pairings=n_pairings, n_shuffles=n_shuffles, method=method)
    params.update(error_bars=bool(error_bars), attribution=score, estimator_kwds=options, version=__version__)
    params["adjust_for"] = None if adjustment is None else adjustment.adjust_for
    if adjustment is not None:
        table, summary = _with_adjusted(table, summary, _table(adjusted, plan), _summary(adjusted, varies))
        params["adjust_z"] = cond[1][0]
    target = adata.copy() if copy else adata
    target.uns[key_added] = {"table": table, "summary": summary, "params": plain(params)}
    if score is not None:
        _store_attribution(target, results, plan, key_added, adjusted)
    return target if copy else None


def _pmi_per_row(results: Sequence[FitResult], n_obs: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean pMI of every row over the fits that scored it (NaN where none did), and the number of those fits."""
    total = np.zeros(n_obs)
    count = np.zeros(n_obs, dtype=int)
    for r in results:
        scored = np.isfinite(r.pmi)
        sides = [r.job.x_rows] + ([r.job.y_rows] if side == "both" else [])
        for rows in sides:
            np.add.at(total, rows[scored], r.pmi[scored])
            np.add.at(count, rows[scored], 1)
    values = np.full(n_obs, np.nan)
    values[count > 0] = total[count > 0] / count[count > 0]
    return values, count


@shared_docs
def pmi(
    adata: AnnData,
    *,
    clone_key: str | None = None,
    condition_key: str | None = None,
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    use_rep: str | None = None,
    layer: str | None = None,
    n_pairings: int = 5,
    side: str = "early",
    method: str | None = None,
    min_clones: int | None = None,
    key_added: str = "pmi",
    copy: bool = False,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = True,
    pair_keys: Sequence[str] | None = None,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    estimator_kwds: Mapping[str, Any] | None = None,
) -> AnnData | None:
    """Pointwise MI per cell, averaged over the pairings that scored it (LMI paper, Section 4.2, Fig. 6).

    On paired data (see :func:`lmi`) each row is one pair and gets the pair's pMI.

    Parameters
    ----------
    adata, clone_key, condition_key, conditions, restrict, n_pairings, method, min_clones, pair_keys
        As in :func:`lmi` (there are no shuffles here).
    {use_rep}
        Scaled as in :func:`lmi`.
    {layer}
    side
        ``"early"`` scores the cells of the first condition (as the paper shows them), ``"both"``
        also the second condition's cells.
    {key_added}
    {copy}
    {random_state}
        It seeds the pairings and the fits; the root seed is stored as ``params["random_state"]``, as
        in :func:`lmi`.
    {n_jobs}
    {progress}
    {fits}
        Positions ``0..n_pairings-1``, one per pairing.
    {cache_dir}
    {estimator_kwds}

    Returns
    -------
    ``None`` (or the copy). Writes ``adata.obs[key_added]`` (float; NaN for cells never scored, e.g.
    LMI's training half or cells of unshared clones), ``adata.obs[key_added + "_n"]`` (number of
    pairings that scored the cell) and ``adata.uns[key_added]["params"]`` (with ``version``, the package's).
    """
    if side not in ("early", "both"):
        raise ValueError(f"side must be 'early' or 'both', got {side!r}")
    check_adata(adata, copy=copy)
    check_positive_int(n_pairings, name="n_pairings")
    check_fits(fits, cache_dir, random_state)
    method, options, may_fall_back = tool_method(
        method, representation(use_rep), estimator_kwds, "tl.pmi", asks_for_lmi=False
    )
    plan = _plan(
        adata,
        pair_keys=pair_keys,
        clone_key=clone_key,
        condition_key=condition_key,
        conditions=conditions,
        restrict=restrict,
        use_rep=use_rep,
        layer=layer,
        n_pairings=n_pairings,
        n_shuffles=0,
        random_state=random_state,
        min_clones=min_clones,
    )
    if "pair_keys" in plan.describe and side != "early":
        raise ValueError(
            f"side={side!r} also scores the second condition's cells of lineage data; paired data (obsm "
            f"{plan.describe['pair_keys']}) has one row per pair, which gets the pair's pMI: use side='early' "
            "(the default)"
        )
    method, options = _check_plan_size(plan, method, options, min_clones, may_fall_back, "tl.pmi")
    plan, _ = _distinct_fits(plan, method)
    results = run_fits(
        plan.x_features,
        plan.y_features,
        plan.jobs,
        method=method,
        options=options,
        n_jobs=check_n_jobs(n_jobs),
        progress=progress,
        fits=fits,
        cache_dir=cache_dir,
    )
    if fits is not None:
        return None
    warn_fits(results)
    values, count = _pmi_per_row(results, adata.n_obs, side)
    target = adata.copy() if copy else adata
    target.obs[key_added] = values
    target.obs[f"{key_added}_n"] = count
    params = dict(plan.describe, n_pairings=n_pairings, side=side, method=method, estimator_kwds=options)
    params["version"] = __version__
    target.uns[key_added] = {"params": plain(params)}
    return target if copy else None
