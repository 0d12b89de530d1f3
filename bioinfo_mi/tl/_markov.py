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
from .._fits import FitJob, FitResult, warn_fits
from .._parallel import check_n_jobs, root_seed
from .._validation import check_positive_int
from .._version import __version__
from ..pp.pairing import (
    check_adata,
    check_obs_key,
    feature_source,
    match_value,
    resolve_clone_key,
    resolve_time_key,
    show_values,
    sorted_values,
)
from ._adjust import run_tool_fits, tool_conditional_jobs
from ._lmi import attribution_table, checked_estimator, feature_names
from ._utils import (
    check_enough_pairs,
    check_fits,
    pairing_jobs,
    plain,
    representation,
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
    wells = _check_wells(adata, well_key)[(check_obs_key(adata, time_key, "time_key") == late).to_numpy()].dropna()
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


def _design(
    adata: AnnData,
    clone_key: str | None,
    time_key: str | None,
    well_key: str,
    early: Any,
    late: Any,
    wells: tuple[Any, Any] | None,
) -> dict[str, Any]:
    """Resolve the keys, time points and wells of the test (all checked before any fit).

    Returns ``clone_key``, ``time_key`` (the keys actually read), ``early``, ``late``, ``late_origin``
    (how ``late`` was chosen, for later messages) and ``wells``.
    """
    clone_key = resolve_clone_key(adata, clone_key)
    time_key = resolve_time_key(adata, time_key, "time_key")
    early, late, late_origin = _early_late(adata.obs[time_key], time_key, early, late)
    _check_wells(adata, well_key)
    wells = _default_wells(adata, well_key, time_key, late) if wells is None else _given_wells(adata, well_key, wells)
    return {
        "clone_key": clone_key,
        "time_key": time_key,
        "early": early,
        "late": late,
        "late_origin": late_origin,
        "wells": wells,
    }


def _comparison_jobs(
    adata: AnnData,
    design: Mapping[str, Any],
    *,
    well_key: str,
    n_pairings: int,
    n_shuffles: int,
    min_clones: int | None,
    random_state: int,
) -> tuple[list[FitJob], list[FitJob], int, int]:
    """Fit jobs and numbers of shared clones of the two comparisons: I(early; late) seeded by
    ``random_state``, I(late; late') (sisters in the two wells at the late time) by ``random_state + 1``.
    """
    common = dict(clone_key=design["clone_key"], n_pairings=n_pairings, n_shuffles=n_shuffles, min_clones=min_clones)
    time_key, late = design["time_key"], design["late"]
    jobs_el, _, n_el = pairing_jobs(
        adata,
        condition_key=time_key,
        conditions=(design["early"], late),
        restrict=None,
        random_state=random_state,
        **common,
    )
    try:
        jobs_sis, _, n_sis = pairing_jobs(
            adata,
            condition_key=well_key,
            conditions=design["wells"],
            restrict={time_key: late},
            random_state=random_state + 1,
            **common,
        )
    except ValueError as err:  # say which late time point the sisters were taken from, and why that one
        raise ValueError(
            f"{SISTERS} at late time {design['late_origin']}: {err}; pass late= or wells= to choose others"
        ) from err
    return jobs_el, jobs_sis, n_el, n_sis


def _check_sizes(
    design: Mapping[str, Any],
    well_key: str,
    sizes: tuple[int, int],
    run: tuple[str, dict[str, Any]],
    min_clones: int | None,
    may_fall_back: bool,
) -> tuple[str, dict[str, Any]]:
    """Return the method to run on both comparisons and its options (one for both, so that their difference
    compares like with like; :func:`~bioinfo_mi.tl._utils.check_enough_pairs`): refuse too few shared clones
    before any fit, warn below 50 when ``min_clones`` is None.
    """
    method, options = run
    t, (w1, w2) = design["time_key"], design["wells"]
    for n, what in (
        (sizes[0], f"clones shared by {t}={design['early']!r} and {t}={design['late']!r} ({EARLY_LATE})"),
        (sizes[1], f"clones shared by {well_key}={w1!r} and {well_key}={w2!r} at {t}={design['late']!r} ({SISTERS})"),
    ):
        ran, options = check_enough_pairs(
            n,
            method,
            options,
            what=what,
            warn=min_clones is None,
            may_fall_back=may_fall_back,
            tool="tl.markov_test",
        )
        method, may_fall_back = ran, may_fall_back and ran == method
    return method, options


def _design_params(design: Mapping[str, Any], well_key: str) -> dict[str, Any]:
    """Return the design as stored in ``params``: clone and time keys, well key, early, late, wells."""
    params = {name: design[name] for name in ("clone_key", "time_key")}
    params.update(well_key=well_key, early=design["early"], late=design["late"], wells=list(design["wells"]))
    return params


def _fit_table(results: Sequence[FitResult], n_el_jobs: int, n_clones: tuple[int, int]) -> pd.DataFrame:
    """One row per fit: the first ``n_el_jobs`` fits are I(early; late), the others I(late; late')."""
    n_sis_jobs = len(results) - n_el_jobs
    return pd.DataFrame(
        {
            "comparison": [EARLY_LATE] * n_el_jobs + [SISTERS] * n_sis_jobs,
            "pairing": [r.job.pairing for r in results],
            "shuffled": [r.job.shuffled for r in results],
            "estimate": [r.mi for r in results],
            "se": [r.se for r in results],
            "n_clones": [n_clones[0]] * n_el_jobs + [n_clones[1]] * n_sis_jobs,
        }
    )


def _comparison_summary(
    table: pd.DataFrame, results: Sequence[FitResult], error_bars: bool
) -> tuple[pd.DataFrame, dict[str, float], dict[str, float]]:
    """Per comparison and shuffled flag: ``mi_mean``, ``mi_sem``, ``within_fit_se``, ``mi_se``, ``n_pairings``.

    Also returns, per comparison, the shared variance and the shared standard error of its real fits
    (:func:`~bioinfo_mi.tl.lmi`'s ``within_fit_se``; 0 without ``error_bars``).
    """
    summary = table.groupby(["comparison", "shuffled"]).estimate.agg(["mean", "sem", "count"]).reset_index()
    summary = summary.rename(columns={"mean": "mi_mean", "sem": "mi_sem", "count": "n_pairings"})
    # standard error of each comparison's mean: the spread over pairings plus the sampling error that
    # all pairings share (the clone sample itself)
    labels = table["comparison"].to_numpy()
    real_fits = {
        c: [r for r, label in zip(results, labels, strict=True) if label == c and not r.job.shuffled]
        for c in (EARLY_LATE, SISTERS)
    }
    shared = {c: shared_variance(fits_c) if error_bars else 0.0 for c, fits_c in real_fits.items()}
    within = {c: shared_within_se(fits_c) if error_bars else 0.0 for c, fits_c in real_fits.items()}
    summary["within_fit_se"] = [
        within[c] if not sh else np.nan for c, sh in zip(summary.comparison, summary.shuffled, strict=True)
    ]
    summary["mi_se"] = np.hypot(summary["mi_sem"], summary["within_fit_se"])
    columns = ["comparison", "shuffled", "mi_mean", "mi_sem", "within_fit_se", "mi_se", "n_pairings"]
    return summary[columns], shared, within


def _dpi_test(
    table: pd.DataFrame,
    shared: Mapping[str, float],
    within: Mapping[str, float],
    n_pairings: int,
    error_bars: bool,
    significance_level: float,
) -> dict[str, Any]:
    """Run the test of the data processing inequality on the real fits; return its results and verdict."""
    real = table[~table.shuffled]
    el = real.loc[real.comparison == EARLY_LATE, "estimate"].to_numpy()
    sis = real.loc[real.comparison == SISTERS, "estimate"].to_numpy()
    se_el = float(np.hypot(stats.sem(el), within[EARLY_LATE]))
    se_sis = float(np.hypot(stats.sem(sis), within[SISTERS]))
    # the two shared variances are added before clipping at 0 (each is a noisy difference of variances)
    p_value, se_diff, dof = _dpi_t_test(el, sis, max(shared[EARLY_LATE] + shared[SISTERS], 0.0))
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
    return {
        "p_value": p_value,
        "p_value_welch": float(stats.ttest_ind(sis, el, equal_var=False, alternative="greater").pvalue),
        "difference": float(sis.mean() - el.mean()),
        "difference_se": se_diff,
        "difference_dof": dof,
        "markovian": markovian,
        "verdict": verdict,
    }


def _attribution_frame(
    adata: AnnData,
    results: Sequence[FitResult],
    n_el_jobs: int,
    design: Mapping[str, Any],
    use_rep: str | None,
) -> pd.DataFrame:
    """Stack the attribution tables of the two comparisons, with a leading ``comparison`` column."""
    names, column = feature_names(adata, results, use_rep, None)
    frames = []
    for comparison, sides, part in [
        (EARLY_LATE, (design["early"], design["late"]), results[:n_el_jobs]),
        (SISTERS, tuple(design["wells"]), results[n_el_jobs:]),
    ]:
        frame = attribution_table(part, names, sides, feature_column=column)
        frames.append(frame.assign(comparison=comparison))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["comparison", *frame.columns[:-1]]]


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
    method: str | None = None,
    attribution: bool | str = False,
    min_clones: int | None = None,
    key_added: str = "markov_test",
    copy: bool = False,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = True,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    estimator_kwds: Mapping[str, Any] | None = None,
    adjust_for: str | Sequence[str] | None = None,
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
    sampling variance beyond what already varies between pairings, as for ``within_fit_se`` in
    :func:`bioinfo_mi.tl.lmi`), the two summed and clipped at 0.
    The p-value is one-sided, ``P(T_df >= difference / SE)`` with Student's t and the
    Welch-Satterthwaite degrees of freedom of that SE: each SEM carries ``n_pairings - 1`` degrees
    of freedom, the shared part is taken as known (it pools the subsampling of every fit, ~30
    degrees of freedom each). With 5 pairings ``df`` is about 4-8, so a difference of a few SEs
    gives p ~ 1e-2-1e-3 rather than the normal tail's 1e-5 or less: the SEMs come from a handful
    of values and cannot support tiny p-values. A Welch t-test over the pairings alone treats them
    as independent replicates and is anti-conservative; it is reported as ``p_value_welch`` for
    comparison. Calibration at the boundary of the null (equal state MIs) and power at the paper's
    scale: ``benchmarks/bench_markov_simulation.py`` (docs/benchmarks.md).

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
    {use_rep}
        Scaled as in :func:`bioinfo_mi.tl.lmi`.
    {layer}
    n_pairings, n_shuffles
        Real and shuffled pairings per comparison.
    error_bars
        Sampling standard error of every real fit, as in :func:`bioinfo_mi.tl.lmi` (default True): it
        gives the shared part of the SE above. ``False`` skips it (slightly cheaper); the SE is then the
        spread over pairings alone, which misses the clone sample's own error, so the p-value is
        anti-conservative, and the verdict says so.
    significance_level
        Significance level of the one-sided test, in (0, 1). (LMI's loss weights are estimator
        options: ``estimator_kwds={"reconstruction_weight": 2.0}``.)
    method, min_clones
        As in :func:`bioinfo_mi.tl.lmi`.
    attribution
        Per-gene attribution of both comparisons, as in :func:`bioinfo_mi.tl.lmi` (``True`` or a
        score name): which genes carry I(early; late) and which I(late; late'). Under a hidden fate,
        the genes it drives score high for the sisters and ~0 between early and late.
    {key_added}
    {copy}
    {random_state}
        It seeds the pairings, the shuffles and the fits of both comparisons; the root seed is stored
        as ``params["random_state"]``, as in :func:`bioinfo_mi.tl.lmi`.
    {n_jobs}
    {progress}
    {fits}
        The fits are numbered over both comparisons: I(early; late) real pairings, its shuffles, then
        the same for I(late; late'), i.e. ``2 * (n_pairings + n_shuffles)`` fits in all; with
        ``adjust_for``, then the conditional fits of both comparisons (real pairings, then conditional
        shuffles; I(early; late) first).
    {cache_dir}
    {estimator_kwds}
    adjust_for
        Also run the test on the conditional MI given ``Z`` (obs column(s) or an obsm key, as in
        :func:`bioinfo_mi.tl.lmi`): ``I(late; late' | Z) <= I(early; late | Z)`` holds when the chain
        is Markov given ``Z``, which needs ``Z`` fixed before the early time point (culture well,
        batch, a clone-level covariate), not a readout of the late cells such as their cell type
        (conditioning on a function of the late states can open a dependence between the sisters).

    Returns
    -------
    ``None`` (or the copy). ``adata.uns[key_added]`` holds ``"table"`` (DataFrame: ``comparison``,
    ``pairing``, ``shuffled``, ``estimate``, ``se`` (each real fit's sampling standard error,
    :func:`bioinfo_mi.uncertainty.sampling_se`), ``n_clones``), ``"summary"`` (per comparison and
    shuffled flag, with the columns of :func:`bioinfo_mi.tl.lmi`'s summary: ``mi_mean``, ``mi_sem``
    over pairings, ``within_fit_se`` (the shared sampling error, see above),
    ``mi_se = sqrt(mi_sem^2 + within_fit_se^2)``, ``n_pairings`` (the number of fits in the row)),
    ``"difference"`` (mean I(late; late') minus mean I(early; late)) and ``"difference_se"``,
    ``"difference_dof"``, ``"p_value"`` (one-sided t test of ``difference > 0`` with that SE and
    degrees of freedom (see above); the pairings re-draw cells of the same clones, so they are not
    independent replicates and a t-test over them overstates the evidence), ``"p_value_welch"`` (the
    Welch t-test over pairings, for comparison), ``"markovian"`` (``p_value >= significance_level``),
    ``"verdict"`` (a sentence) and ``"params"`` (with ``version``, the package's).
    With ``adjust_for``, also ``"adjusted"``: the same ``"table"``, ``"summary"`` and test entries
    (``"difference"``, ``"p_value"``, ``"markovian"``, ``"verdict"``, ...) for the conditional
    estimates, and ``params["adjust_z"]`` per comparison.
    With ``attribution``, also ``"attribution"``: the table of :func:`bioinfo_mi.tl.lmi`'s attribution
    for each comparison, stacked, with a ``comparison`` column (sides ``"x"``: early cells or well
    ``wells[0]``, ``"y"``: late cells or well ``wells[1]``; ranks within comparison and side); with
    ``adjust_for`` as well, ``["adjusted"]["attribution"]``, the same table of the conditional fits, whose
    ``score`` is the partial ``cross_r2`` beyond the adjustment.
    """
    check_adata(adata, copy=copy)
    check_positive_int(n_pairings, name="n_pairings", minimum=2)
    check_fits(fits, cache_dir, random_state)
    use_rep = representation(use_rep)
    method, options, may_fall_back, score, adjustment = checked_estimator(
        adata, method, use_rep, estimator_kwds, attribution, adjust_for, "tl.markov_test"
    )
    if not 0 < significance_level < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level}")
    design = _design(adata, clone_key, time_key, well_key, early, late, wells)
    features = feature_source(adata, use_rep=use_rep, layer=layer)
    random_state = root_seed(random_state)  # one int (stored in params) from an int, a Generator or None
    jobs_el, jobs_sis, n_el, n_sis = _comparison_jobs(
        adata,
        design,
        well_key=well_key,
        n_pairings=n_pairings,
        n_shuffles=n_shuffles,
        min_clones=min_clones,
        random_state=random_state,
    )
    method, options = _check_sizes(design, well_key, (n_el, n_sis), (method, options), min_clones, may_fall_back)
    jobs = jobs_el + jobs_sis
    cond_jobs, how, sizes = tool_conditional_jobs(adjustment, [jobs_el, jobs_sis], n_shuffles, random_state)
    run = dict(method=method, options=options, n_jobs=check_n_jobs(n_jobs), progress=progress, cache_dir=cache_dir)
    results, adjusted = run_tool_fits(
        features, features, jobs, cond_jobs, fits=fits, error_bars=bool(error_bars), attribution=score, **run
    )
    if fits is not None:
        return None
    warn_fits(results + adjusted)
    table = _fit_table(results, len(jobs_el), (n_el, n_sis))
    summary, shared, within = _comparison_summary(table, results, error_bars)
    test = _dpi_test(table, shared, within, n_pairings, error_bars, significance_level)
    params = _design_params(design, well_key)
    params.update(use_rep=use_rep, layer=layer, n_pairings=n_pairings, n_shuffles=n_shuffles)
    params.update(error_bars=bool(error_bars), significance_level=significance_level, method=method, attribution=score)
    params.update(min_clones=min_clones, random_state=random_state, estimator_kwds=options, version=__version__)
    params["adjust_for"] = None if adjustment is None else adjustment.adjust_for
    target = adata.copy() if copy else adata
    target.uns[key_added] = {"table": table, "summary": summary, **test, "params": plain(params)}
    if score is not None:
        target.uns[key_added]["attribution"] = _attribution_frame(adata, results, len(jobs_el), design, use_rep)
    if adjustment is not None:
        params["adjust_z"] = {EARLY_LATE: how[0], SISTERS: how[1]}
        target.uns[key_added]["params"] = plain(params)
        test_args = (n_pairings, error_bars, significance_level)
        entry = _adjusted_entry(adjusted, sizes[0], (n_el, n_sis), adjustment.adjust_for, test_args)
        if score is not None:  # beyond the adjustment: the partial cross_r2 of the conditional fits
            entry["attribution"] = _attribution_frame(adata, adjusted, sizes[0], design, use_rep)
        target.uns[key_added]["adjusted"] = entry
    return target if copy else None


def _adjusted_entry(
    adjusted: Sequence[FitResult],
    n_el_jobs: int,
    n_clones: tuple[int, int],
    adjust_for: Sequence[str],
    test_args: tuple[int, bool, float],
) -> dict[str, Any]:
    """``uns[key]["adjusted"]``: the table, summary and test of the conditional fits."""
    n_pairings, error_bars, significance_level = test_args
    table_c = _fit_table(adjusted, n_el_jobs, n_clones)
    summary_c, shared_c, within_c = _comparison_summary(table_c, adjusted, error_bars)
    test_c = _dpi_test(table_c, shared_c, within_c, n_pairings, error_bars, significance_level)
    test_c["verdict"] = f"Given {', '.join(adjust_for)}: {test_c['verdict']}"
    return {"table": table_c, "summary": summary_c, **test_c}
