"""Plots of the clone-paired MI tools: ``pl.lmi`` and ``pl.markov_test`` (LMI paper, Section 4.2, Fig. 6)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._docs import shared_docs
from ._utils import PathLike, finish, new_axes, uns_result

__all__ = ["lmi", "markov_test"]

REAL_COLOR = "C0"
SHUFFLED_COLOR = "0.55"
_OFFSET = 0.18  # real points left of the group centre, shuffled points right of it
_SPREAD = 0.12  # width over which the points of one strip are spread


def _mean_sem(values: np.ndarray) -> tuple[float, float]:
    # a single estimate has no spread to show: draw the point without a bar rather than a NaN bar
    sem = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return float(values.mean()), sem


def _strips(ax: Axes, groups: Sequence[tuple[str, pd.DataFrame]], truth: Sequence[float | None] | None = None) -> None:
    """One group per comparison: estimates of real and shuffled pairings as points, mean ± SEM as bars.

    When the table has per-fit standard errors (column ``se``, from ``tl.lmi(error_bars=True)``), the
    points carry them as thin bars and the mean's bar is the combined standard error
    ``sqrt(SEM^2 + mean(se^2))`` (pairing spread and within-fit sampling error, as in the summary).
    The tick labels give the numbers of real and shuffled pairings (the ``n`` of the SEM); ``truth``
    draws a known value per group (simulations) as a dashed segment.
    """
    labelled: set[str] = set()
    ticks = []
    combined = False
    for position, (label, table) in enumerate(groups):
        shuffled = table["shuffled"].astype(bool).to_numpy()
        counts = {}
        for is_shuffled, sign, color, name in ((False, -1, REAL_COLOR, "real"), (True, 1, SHUFFLED_COLOR, "shuffled")):
            values = table["estimate"].to_numpy(dtype=float)[shuffled == is_shuffled]
            fit_se = (
                table["se"].to_numpy(dtype=float)[shuffled == is_shuffled]
                if "se" in table
                else np.full(len(values), np.nan)
            )
            keep = np.isfinite(values)
            values, fit_se = values[keep], fit_se[keep]
            counts[name] = len(values)
            if len(values) == 0:  # e.g. tl.lmi with n_shuffles=0
                continue
            centre = position + sign * _OFFSET
            # evenly spread, deterministic offsets (no random jitter: the figure is reproducible)
            xs = centre + (np.linspace(-_SPREAD / 2, _SPREAD / 2, len(values)) if len(values) > 1 else 0.0)
            ax.scatter(
                xs,
                values,
                s=18,
                color=color,
                alpha=0.6,
                linewidths=0,
                zorder=2,
                label=None if name in labelled else f"{name} pairings",
            )
            labelled.add(name)
            mean, sem = _mean_sem(values)
            if np.isfinite(fit_se).all() and len(fit_se):
                ax.errorbar(xs, values, yerr=fit_se, fmt="none", ecolor=color, alpha=0.5, elinewidth=0.8, zorder=2)
                sem = float(np.hypot(sem, np.sqrt(np.mean(fit_se**2))))
                combined = True
            ax.errorbar(
                [centre + sign * _SPREAD],
                [mean],
                yerr=[sem],
                fmt="_",
                markersize=12,
                color="k",
                capsize=3,
                elinewidth=1.2,
                zorder=3,
                label=None if "bar" in labelled else "mean ± SE",
            )
            labelled.add("bar")
        ticks.append(
            f"{label}\n(n = {counts['real']}" + (f" + {counts['shuffled']} shuffled)" if counts["shuffled"] else ")")
        )
        value = None if truth is None else truth[position]
        if value is not None and np.isfinite(value):
            ax.plot(
                [position - 0.4, position + 0.4],
                [value, value],
                color="C3",
                linestyle="--",
                linewidth=1.2,
                zorder=1,
                label=None if "truth" in labelled else "true value",
            )
            labelled.add("truth")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(ticks)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=1)
    ax.set_ylabel("MI (bits)")
    what = "SE = sqrt(SEM over pairings² + mean within-fit SE²)" if combined else "SE = SEM over the n pairings"
    # outside the axes, on the right: inside it covered the points of the last group
    ax.legend(
        frameon=False,
        fontsize="small",
        title=what,
        title_fontsize="x-small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )


def _check_truth(truth: float | Sequence[float | None] | None, n_groups: int) -> list[float | None] | None:
    if truth is None:
        return None
    values = [truth] if np.isscalar(truth) else list(truth)
    if len(values) != n_groups:
        raise ValueError(f"truth: {len(values)} values for {n_groups} groups (one per key / comparison, None to skip)")
    return [None if v is None else float(v) for v in values]


@shared_docs
def lmi(
    adata: AnnData,
    *,
    key: str | Sequence[str] = "lmi",
    tick_labels: Sequence[str] | None = None,
    truth: float | Sequence[float | None] | None = None,
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """Real vs shuffled MI estimates of one or several :func:`bioinfo_mi.tl.lmi` results (Section 4.2).

    Each result is a group on the x axis: the estimates of the real clone pairings (left, coloured)
    and of the shuffled controls (right, grey) as points, with their mean ± SEM as black bars. A
    result of ``tl.lmi(..., adjust_for=...)`` gets a second group beside it, labelled ``| <adjust_for>``:
    the conditional estimates ``I(X; Y | Z)`` and their conditional shuffles.

    Parameters
    ----------
    adata
        Annotated data holding the results in ``adata.uns[key]`` (``"table"`` with ``shuffled`` and
        ``estimate`` columns, as written by :func:`bioinfo_mi.tl.lmi`).
    key
        One ``uns`` key, or a list of keys drawn side by side, e.g. ``["lmi_d2_d6", "lmi_sisters"]``.
    tick_labels
        Tick labels of the groups; default the keys. The numbers of real and shuffled pairings are
        added below each label (the ``n`` behind the SEM).
    truth
        Known MI per group (bits; a simulation's value, e.g. ``adata.uns["simulation"]["I_early_late_bits"]``),
        drawn as a dashed segment; ``None`` (default) or ``None`` entries draw nothing.
    {plot}

    Returns
    -------
    The Axes drawn into.
    """
    keys = [key] if isinstance(key, str) else list(key)
    if not keys:
        raise ValueError("key: give at least one uns key")
    tick_labels = keys if tick_labels is None else list(tick_labels)
    if len(tick_labels) != len(keys):
        raise ValueError(f"tick_labels: {len(tick_labels)} labels for {len(keys)} keys")
    truth = _check_truth(truth, len(keys))
    groups, truths = [], []
    for i, (label, k) in enumerate(zip(tick_labels, keys, strict=True)):
        result = uns_result(adata, k, ("table",), "lmi")
        table = result["table"]
        if "adjusted" not in table or not table["adjusted"].astype(bool).any():
            groups.append((label, table))
            truths.append(None if truth is None else truth[i])
            continue
        adjusted = table["adjusted"].astype(bool)
        given = ", ".join(result.get("params", {}).get("adjust_for") or ["Z"])
        groups += [(label, table[~adjusted]), (f"{label}\n| {given}", table[adjusted])]
        truths += [None if truth is None else truth[i], None]  # a known truth is the unconditional one
    ax = new_axes(ax, figsize=(1.2 + 1.4 * len(groups), 3.5))
    _strips(ax, groups, truths if truth is not None else None)
    return finish(ax, show, save)


@shared_docs
def markov_test(
    adata: AnnData,
    *,
    key: str = "markov_test",
    truth: Sequence[float | None] | None = None,
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """Plot the DPI test of :func:`bioinfo_mi.tl.markov_test`: I(early; late) vs I(late; late') (Section 4.2).

    The two comparisons side by side, estimates of the real and shuffled pairings as points with
    mean ± SEM bars; the title gives the verdict and the one-sided p-value. Markovian dynamics need
    I(early; late) >= I(late; late'); sisters sharing significantly more reveal a hidden state.

    Parameters
    ----------
    adata
        Annotated data holding the result in ``adata.uns[key]``.
    key
        Key of the :func:`bioinfo_mi.tl.markov_test` result.
    truth
        Known MI of the two comparisons in the order drawn (I(early; late), then I(late; late')), e.g.
        ``adata.uns["simulation"]["I_early_late_bits"]`` and ``["I_sisters_bits"]`` of
        :func:`bioinfo_mi.datasets.simulate_lineage`; drawn as dashed segments. Default none.
    {plot}

    Returns
    -------
    The Axes drawn into.
    """
    result = uns_result(adata, key, ("table", "p_value", "markovian"), "markov_test")
    table = result["table"]
    comparisons = list(pd.unique(table["comparison"]))  # in the order tl.markov_test ran them
    groups = [(c, table[table["comparison"] == c]) for c in comparisons]
    truth = _check_truth(truth, len(groups))
    ax = new_axes(ax, figsize=(4.0, 3.5))
    _strips(ax, groups, truth)
    verdict = "consistent with Markovian dynamics" if result["markovian"] else "not Markovian (DPI violated)"
    ax.set_title(f"{verdict}\none-sided p = {float(result['p_value']):.3g}", fontsize="medium")
    return finish(ax, show, save)
