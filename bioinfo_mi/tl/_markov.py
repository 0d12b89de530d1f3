"""``tl.markov_test``: the data-processing-inequality test of Markovian dynamics (LMI paper, Section 4.2).

Sister cells are split between wells before the early sample is taken. If expression dynamics
are Markovian (X_early -> X_late and X_early -> X_late'), the data processing inequality gives
I(X_early; X_late) >= I(X_late; X_late'). A significantly larger sister MI means information
shared by sisters that is not readable from the early transcriptome: a hidden state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import stats

from .._docs import shared_docs
from .._fits import check_n_jobs, root_seed, run_fits, warn_fits
from .._validation import check_positive_int, renamed
from .._version import __version__
from ..pp.pairing import (
    _check_obs_key,
    check_adata,
    get_features,
    match_value,
    resolve_clone_key,
    resolve_time_key,
    show_values,
    sorted_values,
)
from ._lmi import (
    _check_split,
    _estimator_kwds,
    _jobs,
    _plain,
    attribution_table,
    check_attribution,
    feature_names,
    shared_variance,
    shared_within_se,
)

__all__ = ["markov_test"]

EARLY_LATE = "I(early; late)"
SISTERS = "I(late; late')"


def _check_wells(adata: AnnData, well_key: str) -> pd.Series:
    """Return the well annotation, or raise a KeyError that says what it is for and how to supply it."""
    if well_key not in adata.obs.columns:
        raise KeyError(
            f"well_key: obs column {well_key!r} not found (available: {list(adata.obs.columns)}). The test compares "
            "late sister cells split between two wells (or any two groups of sisters): pass well_key= naming the "
            "obs column that records it, and wells=(a, b) for its two values if there are more. Objects prepared "
            "for CoSpar do not keep the well: read the LARRY files with bm.datasets.read_larry (obs['well']) or "
            "copy the 'Well' column of the published metadata into obs."
        )
    return adata.obs[well_key]


def _default_wells(adata: AnnData, well_key: str, time_key: str, late: Any) -> tuple[Any, Any]:
    wells = _check_wells(adata, well_key)[(_check_obs_key(adata, time_key, "time_key") == late).to_numpy()].dropna()
    counts = wells.value_counts()
    counts = counts[counts > 0]  # a categorical lists its unused categories with count 0
    if len(counts) < 2:
        raise ValueError(
            f"need cells from two wells at {time_key}={late!r}; obs[{well_key!r}] there has "
            f"{show_values(counts.index)} ({int(counts.sum())} cells); pass late= or wells="
        )
    top = sorted(counts.index[:2].tolist(), key=lambda v: (str(type(v)), v))
    return top[0], top[1]


def _given_wells(adata: AnnData, well_key: str, wells: Any) -> tuple[Any, Any]:
    """Return ``wells`` matched to the stored values of ``obs[well_key]``, or raise naming ``wells``."""
    col = _check_wells(adata, well_key)
    if (
        isinstance(wells, (str, bytes, Mapping, set))
        or not isinstance(wells, (Sequence, np.ndarray))
        or len(wells) != 2
    ):
        raise ValueError(f"wells must be two values of obs[{well_key!r}], e.g. wells=(1, 2), got {wells!r}")
    a, b = (match_value(col, w, "wells: value") for w in wells)
    if a == b:
        raise ValueError(f"wells must be two different values, got {wells!r}")
    return a, b


def _early_late(time_col: pd.Series, time_key: str, early: Any, late: Any) -> tuple[Any, Any, str]:
    """Return ``(early, late, origin)``: the given time points matched to the stored values, else the first
    and the last in time order (:func:`bioinfo_mi.pp.pairing.sorted_values`); ``origin`` says how ``late``
    was chosen, for the messages of later failures.
    """
    times = None
    if early is None or late is None:
        times = sorted_values(time_col, hint="pass early= and late= (time points as stored)")
        if not times:
            raise ValueError(f"time_key: obs[{time_key!r}] holds no time point (all missing)")
    origin = "as given" if late is not None else f"the last of {show_values(times)} in time order"  # type: ignore[arg-type]
    early = times[0] if early is None else match_value(time_col, early, "early")  # type: ignore[index]
    late = times[-1] if late is None else match_value(time_col, late, "late")  # type: ignore[index]
    if early == late:
        raise ValueError(
            f"time_key: obs[{time_key!r}] has one time point {show_values(times)}; the test needs an early and a late"
            if times is not None and len(times) == 1
            else f"early and late name the same time point {early!r}; they must differ"
        )
    return early, late, f"{time_key}={late!r} ({origin})"


def _dpi_t_test(early_late: np.ndarray, sisters: np.ndarray, shared_var: float) -> tuple[float, float, float]:
    """One-sided test of ``mean(sisters) > mean(early_late)`` over pairings, with a shared variance.

    The SE of the difference is ``sqrt(sem_el^2 + sem_sis^2 + shared_var)``; the statistic is referred
    to Student's t with the Welch-Satterthwaite degrees of freedom ``se^4 / sum(sem^4 / (n - 1))``
    (``shared_var`` counted as known). Returns ``(p_value, se, dof)``; ``dof`` is infinite when the
    SEMs are 0 (the normal tail), and the p-value is 1 or 0 when the SE is 0.
    """
    sems = np.array([stats.sem(early_late), stats.sem(sisters)])
    dfs = np.array([len(early_late) - 1, len(sisters) - 1], dtype=float)
    var = float(np.sum(sems**2) + shared_var)
    se = float(np.sqrt(var))
    diff = float(np.mean(sisters) - np.mean(early_late))
    denom = float(np.sum(sems**4 / dfs))
    dof = var**2 / denom if denom > 0 else float("inf")
    if se == 0:
        return (1.0 if diff <= 0 else 0.0), se, dof
    return float(stats.t.sf(diff / se, dof)), se, dof


@renamed(alpha="significance_level")
@shared_docs
def markov_test(
    adata: AnnData,
    *,
    clone_key: str | None = None,
    time_key: str | None = None,
    well_key: str = "well",
    early: Any = None,
    late: Any = None,
    wells: tuple[Any, Any] | None = None,
    use_rep: str | None = None,
    layer: str | None = None,
    n_pairings: int = 5,
    n_shuffles: int = 2,
    error_bars: bool = True,
    significance_level: float = 0.05,
    method: str = "lmi",
    attribution: bool | str = False,
    min_clones: int = 50,
    key_added: str = "markov_test",
    copy: bool = False,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = True,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    estimator_kwds: Mapping[str, Any] | None = None,
    **estimator_options: Any,
) -> AnnData | None:
    """Compare I(X_early; X_late) with I(X_late; X_late') over clone pairings (DPI test, Section 4.2).

    The test. If the cell state evolves as a Markov chain, two late sisters X_late and X_late' are
    conditionally independent given their common early ancestor, so the data processing inequality
    gives I(X_late; X_late') <= I(X_early; X_late) (with X_early standing in for the ancestor: both
    are read from sampled cells). The null hypothesis is that inequality; a clone-level factor that
    shapes late states but is not readable early (a hidden fate) violates it. The statistic is the
    difference of the two comparisons' mean estimates over ``n_pairings`` clone pairings; its
    standard error adds, for each comparison, the spread over pairings (SEM) and the part of the
    fits' sampling error that all pairings share (the pairings re-draw cells of the same clones, so
    that part does not shrink with their number): ``mean(se^2) - s^2`` per comparison (the fits'
    sampling variance beyond what already varies between pairings,
    :func:`bioinfo_mi.tl._lmi.shared_variance`), the two summed and clipped at 0.
    The p-value is one-sided, ``P(T_df >= difference / SE)`` with Student's t and the
    Welch-Satterthwaite degrees of freedom of that SE: each SEM carries ``n_pairings - 1`` degrees
    of freedom, the shared part is taken as known (it pools the subsampling of every fit, ~30
    degrees of freedom each). With 5 pairings ``df`` is about 4-8, so a difference of a few SEs
    gives p ~ 1e-2-1e-3 rather than the normal tail's 1e-5 or less: the SEMs come from a handful
    of values and cannot support tiny p-values. A Welch t-test over the pairings alone treats them
    as independent replicates and is anti-conservative (3 vs 3 re-draws of one data set gave
    p = 0.001); it is kept as ``p_value_welch``. Calibration at the boundary of the null (equal
    state MIs) and power at the paper's scale: ``benchmarks/bench_markov_simulation.py`` (docs/benchmarks.md).

    Parameters
    ----------
    adata
        Lineage-traced cells with clone, time and well annotations.
    clone_key, time_key, well_key
        Obs columns. ``clone_key=None`` (the default) reads ``obs['clone']``, else CoSpar's
        ``obsm['X_clone']`` (also by name, ``clone_key="X_clone"``); ``time_key=None`` reads
        ``obs['time']``, else CoSpar's ``obs['time_info']``. A key given by name must exist (else
        ``KeyError``); ``params`` stores the keys used. Time values may be numbers, strings or
        categories (``"2"``, ``"d2"``, ``"day 2"``). Without the well column the test stops before any
        fit, naming it.
    early, late
        Time points, each named as :func:`bioinfo_mi.pp.shared_clones` reads ``conditions``; default the
        first and the last value of ``obs[time_key]`` in time order (an ordered categorical's order, the
        numbers, or the number in each label: ``"d2"`` before ``"d10"``); a ``ValueError`` asks for
        ``early=`` and ``late=`` when the values have no such order.
    wells
        The two wells holding the late sisters; default the two most populated wells at ``late``.
    use_rep, layer
        Features (see :func:`bioinfo_mi.tl.lmi`).
    n_pairings, n_shuffles
        Real and shuffled pairings per comparison.
    error_bars
        Sampling standard error of every real fit, as in :func:`bioinfo_mi.tl.lmi` (default True): it
        gives the shared part of the SE above. ``False`` skips it (slightly cheaper); the SE is then the
        spread over pairings alone, which misses the clone sample's own error, so the p-value is
        anti-conservative, and the verdict says so.
    significance_level
        Significance level of the one-sided test (``alpha`` is its old name, which now belongs to
        LMI's loss weight alone: ``estimator_kwds={"alpha": 2.0}``).
    attribution
        Per-gene attribution of both comparisons, as in :func:`bioinfo_mi.tl.lmi` (``True`` or a
        score name): which genes carry I(early; late) and which I(late; late'). Under a hidden fate,
        the genes it drives score high for the sisters and ~0 between early and late.
    method, min_clones, random_state, progress, estimator_kwds, **estimator_options
        As in :func:`bioinfo_mi.tl.lmi`.
    {n_jobs}
    fits, cache_dir
        Split the test into independent jobs, as in :func:`bioinfo_mi.tl.lmi`. The fits are numbered
        over both comparisons: I(early; late) real pairings, its shuffles, then the same for
        I(late; late'), i.e. ``2 * (n_pairings + n_shuffles)`` fits in all.
    key_added, copy
        Output key in ``adata.uns`` and scanpy's copy semantics.

    Returns
    -------
    ``None`` (or the copy). ``adata.uns[key_added]`` holds ``"table"`` (DataFrame: ``comparison``,
    ``pairing``, ``shuffled``, ``estimate``, ``se`` (each real fit's sampling standard error,
    :func:`bioinfo_mi.uncertainty.sampling_se`)), ``"summary"`` (per comparison and shuffled flag:
    ``mean``, ``sem`` over pairings, ``within_fit_se`` (the shared sampling error, see above),
    ``se = sqrt(sem^2 + within_fit_se^2)``,
    ``count``), ``"difference"`` (mean I(late; late') minus mean I(early; late)) and
    ``"difference_se"``, ``"difference_dof"``, ``"p_value"`` (one-sided t test of ``difference > 0`` with that SE
    and degrees of freedom (see above); the
    pairings re-draw cells of the same clones, so they are not independent replicates and a t-test
    over them overstates the evidence), ``"p_value_welch"`` (the Welch t-test over pairings, kept for
    comparison), ``"markovian"`` (``p_value >= significance_level``), ``"verdict"`` (a sentence) and ``"params"``
    (with ``version``, the package's).
    With ``attribution``, also ``"attribution"``: the table of :func:`bioinfo_mi.tl._lmi.attribution_table`
    for each comparison, stacked, with a ``comparison`` column (sides ``"x"``: early cells or well
    ``wells[0]``, ``"y"``: late cells or well ``wells[1]``; ranks within comparison and side).
    """
    check_adata(adata, copy=copy)
    check_positive_int(n_pairings, name="n_pairings", minimum=2)
    _check_split(fits, cache_dir, random_state)
    estimator_options = _estimator_kwds(use_rep, method, estimator_kwds, estimator_options, "tl.markov_test")
    score = check_attribution(attribution, method, estimator_options)
    if not 0 < significance_level < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level}")
    clone_key = resolve_clone_key(adata, clone_key)  # the keys actually read, stored in params
    time_key = resolve_time_key(adata, time_key, "time_key")
    early, late, late_origin = _early_late(adata.obs[time_key], time_key, early, late)
    _check_wells(adata, well_key)
    wells = _default_wells(adata, well_key, time_key, late) if wells is None else _given_wells(adata, well_key, wells)
    features = get_features(adata, use_rep=use_rep, layer=layer)
    common = dict(clone_key=clone_key, n_pairings=n_pairings, n_shuffles=n_shuffles, min_clones=min_clones)
    random_state = root_seed(random_state)  # one int (stored in params) from an int, a Generator or None
    seed_el, seed_sis = random_state, random_state + 1
    jobs_el, _, n_el = _jobs(
        adata, condition_key=time_key, conditions=(early, late), restrict=None, random_state=seed_el, **common
    )
    try:
        jobs_sis, _, n_sis = _jobs(
            adata, condition_key=well_key, conditions=wells, restrict={time_key: late}, random_state=seed_sis, **common
        )
    except ValueError as err:  # say which late time point the sisters were taken from, and why that one
        raise ValueError(f"{SISTERS} at late time {late_origin}: {err}; pass late= or wells= to choose others") from err
    jobs = jobs_el + jobs_sis
    results = run_fits(
        features,
        features,
        jobs,
        method=method,
        options=estimator_options,
        n_jobs=check_n_jobs(n_jobs),
        progress=progress,
        fits=fits,
        cache_dir=cache_dir,
        with_se=[bool(error_bars) and not job.shuffled for job in jobs],
        attribution=score,
    )
    if fits is not None:
        return None
    warn_fits(results)
    labels = [EARLY_LATE] * len(jobs_el) + [SISTERS] * len(jobs_sis)
    table = pd.DataFrame(
        {
            "comparison": labels,
            "pairing": [r.job.pairing for r in results],
            "shuffled": [r.job.shuffled for r in results],
            "estimate": [r.mi for r in results],
            "se": [r.se for r in results],
            "n_clones": [n_el] * len(jobs_el) + [n_sis] * len(jobs_sis),
        }
    )
    real = table[~table.shuffled]
    el = real.loc[real.comparison == EARLY_LATE, "estimate"].to_numpy()
    sis = real.loc[real.comparison == SISTERS, "estimate"].to_numpy()
    summary = table.groupby(["comparison", "shuffled"]).estimate.agg(["mean", "sem", "count"]).reset_index()
    # standard error of each comparison's mean: the spread over pairings plus the sampling error that
    # all pairings share (shared_variance: the clone sample itself); for the difference, the two shared
    # variances are added before clipping at 0 (each is a noisy difference of variances)
    real_fits = {
        c: [r for r, label in zip(results, labels, strict=True) if label == c and not r.job.shuffled]
        for c in (EARLY_LATE, SISTERS)
    }
    shared = {c: shared_variance(fits_c) if error_bars else 0.0 for c, fits_c in real_fits.items()}
    within = {c: shared_within_se(fits_c) if error_bars else 0.0 for c, fits_c in real_fits.items()}
    summary["within_fit_se"] = [
        within[c] if not sh else np.nan for c, sh in zip(summary.comparison, summary.shuffled, strict=True)
    ]
    summary["se"] = np.hypot(summary["sem"], summary["within_fit_se"])
    se_el = float(np.hypot(stats.sem(el), within[EARLY_LATE]))
    se_sis = float(np.hypot(stats.sem(sis), within[SISTERS]))
    diff = float(sis.mean() - el.mean())
    p_value, se_diff, dof = _dpi_t_test(el, sis, max(shared[EARLY_LATE] + shared[SISTERS], 0.0))
    p_welch = float(stats.ttest_ind(sis, el, equal_var=False, alternative="greater").pvalue)
    markovian = bool(p_value >= significance_level)
    verdict = (
        f"{SISTERS} = {sis.mean():.3f} ± {se_sis:.3f} bits vs {EARLY_LATE} = {el.mean():.3f} ± "
        f"{se_el:.3f} bits (mean ± SE, {n_pairings} pairings); one-sided p = {p_value:.2g} "
        f"(t test, {dof:.1f} degrees of freedom"
        + ("" if error_bars else "; error_bars=False: the SE misses the clone sample's own error, so p is too small")
        + "). "
        + (
            "No significant violation of the data processing inequality: consistent with Markovian dynamics."
            if markovian
            else "The sisters share more information than the early state carries about the late one: the data "
            "processing inequality is violated, so the dynamics are not Markovian in the measured state "
            "(a hidden variable shapes the late states)."
        )
    )
    params = {
        "clone_key": clone_key,
        "time_key": time_key,
        "well_key": well_key,
        "early": early,
        "late": late,
        "wells": list(wells),
        "use_rep": use_rep,
        "layer": layer,
        "n_pairings": n_pairings,
        "n_shuffles": n_shuffles,
        "error_bars": bool(error_bars),
        "significance_level": significance_level,
        "method": method,
        "attribution": score,
        "min_clones": min_clones,
        "random_state": random_state,
        "estimator_kwds": estimator_options,
        "version": __version__,
    }
    target = adata.copy() if copy else adata
    target.uns[key_added] = {
        "table": table,
        "summary": summary,
        "p_value": p_value,
        "p_value_welch": p_welch,
        "difference": diff,
        "difference_se": se_diff,
        "difference_dof": dof,
        "markovian": markovian,
        "verdict": verdict,
        "params": _plain(params),
    }
    if score is not None:
        names, column = feature_names(adata, results, use_rep, None)
        frames = []
        for comparison, sides, part in [
            (EARLY_LATE, (early, late), results[: len(jobs_el)]),
            (SISTERS, tuple(wells), results[len(jobs_el) :]),
        ]:
            frame = attribution_table(part, names, sides, feature_column=column)
            frames.append(frame.assign(comparison=comparison))
        frame = pd.concat(frames, ignore_index=True)
        target.uns[key_added]["attribution"] = frame[["comparison", *frame.columns[:-1]]]
    return target if copy else None
