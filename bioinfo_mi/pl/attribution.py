"""``pl.attribution``: the input features that carry an LMI dependence, against their shuffle null
(LMI paper, Appendix A.2.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from .._docs import shared_docs
from .._validation import check_positive_int
from ._utils import PathLike, finish, new_axes, uns_result

__all__ = ["attribution"]

REAL_COLOR = "C0"
NULL_COLOR = "0.55"
#: figure height per feature row and for the title, axis label and margins (inches)
ROW_HEIGHT = 0.25
EXTRA_HEIGHT = 1.0


def _score_label(params: Mapping[str, Any]) -> str:
    """Name the score of a ``tl.lmi`` attribution and its unit for the x label (R² for ``cross_r2``, the MI unit for
    ``permutation``, see :func:`bioinfo_mi.estimators.attribution`).
    """
    score = params.get("attribution")
    if score == "cross_r2":
        return "held-out R² from the other side's latent (cross_r2)"
    if score == "permutation":
        options = params.get("estimator_kwds")
        base = options.get("base", "bits") if isinstance(options, Mapping) else "bits"
        unit = base if isinstance(base, str) else f"log{base:g}"
        return f"drop of held-out mean pMI ({unit})"
    return "attribution score"


def _table(adata: AnnData, key: str, adjusted: bool = False) -> tuple[pd.DataFrame, Mapping[str, Any]]:
    """Return the attribution table of ``adata.uns[key]`` (``tl.lmi`` or ``tl.markov_test``; with ``adjusted``,
    the conditional fits' table) and the result's params, or raise a KeyError saying how to get them.
    """
    result = uns_result(adata, key, (), "lmi")
    if not isinstance(result, Mapping) or "attribution" not in result:
        raise KeyError(
            f"adata.uns[{key!r}] has no 'attribution' table; run "
            f"bm.tl.lmi(adata, attribution=True, key_added={key!r}) first "
            f"(or bm.tl.markov_test(adata, attribution=True, key_added={key!r}))"
        )
    table = _adjusted_rows(result, key, adjusted)
    needed = ["side", "condition", "score", "null_mean", "null_sd", "rank"]
    missing = [c for c in needed if c not in table.columns]
    if not ({"gene", "feature"} & set(table.columns)):
        missing.insert(0, "gene (or feature)")
    if missing:
        raise KeyError(f"adata.uns[{key!r}]['attribution'] lacks the columns {missing}; it is not a tl.lmi attribution")
    params = result.get("params", {})
    return table, params if isinstance(params, Mapping) else {}


def _adjusted_rows(result: Mapping[str, Any], key: str, adjusted: bool) -> pd.DataFrame:
    """Return the unconditional (``adjusted=False``) or the conditional attribution of a result: ``tl.lmi`` keeps both
    in one table with an ``adjusted`` column, ``tl.markov_test`` the conditional one in ``["adjusted"]``.
    """
    table = result["attribution"]
    if "adjusted" in table.columns:
        return table[table["adjusted"].astype(bool) == adjusted]
    if not adjusted:
        return table
    entry = result.get("adjusted")
    if isinstance(entry, Mapping) and "attribution" in entry:
        return entry["attribution"]
    raise KeyError(
        f"adata.uns[{key!r}] has no attribution beyond an adjustment; run the tool with adjust_for= and "
        "attribution=True first"
    )


def _select_comparison(table: pd.DataFrame, key: str, comparison: str | None) -> tuple[pd.DataFrame, str | None]:
    """Return the rows of one comparison of a ``tl.markov_test`` table and its name, or the whole table of a
    ``tl.lmi`` result and ``None``; raise a ValueError naming the valid comparisons otherwise.
    """
    if "comparison" not in table.columns:
        if comparison is not None:
            raise ValueError(
                f"adata.uns[{key!r}]['attribution'] has no comparison column (a tl.lmi result); "
                f"leave comparison=None, got {comparison!r}"
            )
        return table, None
    comparisons = [str(c) for c in pd.unique(table["comparison"].astype(str))]
    if comparison is None:
        if len(comparisons) != 1:
            raise ValueError(
                f"adata.uns[{key!r}]['attribution'] holds the comparisons {comparisons}; choose one with comparison="
            )
        comparison = comparisons[0]
    if comparison not in comparisons:
        raise ValueError(f"comparison must be one of {comparisons}, got {comparison!r}")
    return table[table["comparison"].astype(str) == comparison], comparison


@shared_docs
def attribution(
    adata: AnnData,
    *,
    key: str = "lmi",
    n_top: int = 20,
    side: str = "x",
    comparison: str | None = None,
    adjusted: bool = False,
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """Plot the most informative features of one side of a :func:`bioinfo_mi.tl.lmi` (or
    :func:`bioinfo_mi.tl.markov_test`) result, each against its shuffle null (LMI paper, Appendix A.2.3).

    Appendix A.2.3 reads the element-wise reconstruction error of LMI's cross-decoders as a map of
    the features that carry the dependence. ``tl.lmi(attribution=True)`` scores every gene (or
    representation axis) in every fit, real and shuffled: by default as the held-out R² of the
    cross-decoder (``"cross_r2"``, that error normalised per feature), or as the drop of the
    held-out mean pMI when the feature is permuted (``"permutation"``); see
    :func:`bioinfo_mi.estimators.attribution`. The shuffled pairings give each feature a null. This
    plot shows the ``n_top`` features of ``side`` by rank (1, the most informative, at the top), one
    row each, labelled with its name: the mean score over the real pairings as a dot, and the
    shuffled pairings' mean ± 2 SD as a grey bar with a tick at the mean (no bar with fewer than two
    shuffles, nothing without shuffles). A feature whose dot lies right of its bar scores above what
    a broken clone link gives.

    Parameters
    ----------
    adata
        Annotated data holding the result in ``adata.uns[key]``, with its ``"attribution"`` table
        (from ``bm.tl.lmi(adata, attribution=True)`` or ``bm.tl.markov_test(adata, attribution=True)``).
    key
        Key of the :func:`bioinfo_mi.tl.lmi` or :func:`bioinfo_mi.tl.markov_test` result.
    n_top
        Number of features shown (>= 1); all of the side's features when it has fewer.
    side
        ``"x"``, the first condition's features (e.g. day 2), or ``"y"``, the second's. In a
        ``tl.markov_test`` table: for ``"I(early; late)"`` the early and the late cells, for
        ``"I(late; late')"`` the sisters in the first and in the second well.
    comparison
        The comparison shown when the table has a ``comparison`` column (``tl.markov_test``:
        ``"I(early; late)"`` or ``"I(late; late')"``; ranks are within comparison and side).
        Required when the table holds more than one; ``None`` takes the only one. Not accepted for
        a table without that column (``tl.lmi``).
    adjusted
        Show the attribution beyond the tool's ``adjust_for`` (the conditional fits' partial
        ``cross_r2``) instead of the unconditional one.
    {plot}

    Returns
    -------
    The Axes drawn into.

    Raises
    ------
    KeyError
        When ``adata.uns[key]`` is missing or holds no attribution table (with ``adjusted``, none of
        the conditional fits).
    ValueError
        When ``side`` is not a side of the table, ``n_top < 1``, or ``comparison`` is missing (a table
        with several comparisons), not one of the table's, or given for a table without comparisons.
    TypeError
        When ``n_top`` is not an integer.
    """
    n_top = check_positive_int(n_top, name="n_top")
    table, params = _table(adata, key, bool(adjusted))
    table, comparison = _select_comparison(table, key, comparison)
    sides = sorted(pd.unique(table["side"].astype(str)))
    if side not in sides:
        raise ValueError(f"side must be one of {sides}, got {side!r}")
    rows = table[table["side"].astype(str) == side].sort_values("rank", kind="stable")
    total = len(rows)
    rows = rows.head(n_top)
    n = len(rows)
    name_column = "gene" if "gene" in rows.columns else "feature"
    condition = rows["condition"].iloc[0]

    score = rows["score"].to_numpy(dtype=float)
    null_mean = rows["null_mean"].to_numpy(dtype=float)
    null_sd = rows["null_sd"].to_numpy(dtype=float)
    y = np.arange(n, dtype=float)

    ax = new_axes(ax, figsize=(5.0, ROW_HEIGHT * n + EXTRA_HEIGHT))
    ax.axvline(0.0, color="0.8", linewidth=0.8, zorder=1)
    with_null = np.isfinite(null_mean)
    with_bar = with_null & np.isfinite(null_sd)
    if with_bar.any():
        ax.hlines(
            y[with_bar],
            null_mean[with_bar] - 2 * null_sd[with_bar],
            null_mean[with_bar] + 2 * null_sd[with_bar],
            color=NULL_COLOR,
            linewidth=3,
            alpha=0.6,
            zorder=2,
            label="shuffled pairings, mean ± 2 SD",
        )
    if with_null.any():
        ax.scatter(
            null_mean[with_null],
            y[with_null],
            marker="|",
            s=60,
            color=NULL_COLOR,
            zorder=3,
            label=None if with_bar.any() else "shuffled pairings, mean",
        )
    ax.scatter(score, y, s=24, color=REAL_COLOR, zorder=4, label="real pairings, mean")
    ax.set_yticks(y)
    ax.set_yticklabels(rows[name_column].astype(str).tolist())
    ax.set_ylim(n - 0.5, -0.5)  # rank 1 at the top
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # scores like -0.025 crowd the axis otherwise
    ax.set_xlabel(_score_label(params) if not adjusted else "held-out partial R² beyond the adjustment (cross_r2)")
    label = key if comparison is None else f"{key}, {comparison}"
    if adjusted:
        label += f" | {', '.join(params.get('adjust_for') or [])}"
    ax.set_title(f"{label}: side {side} (condition {condition}), top {n} of {total}", fontsize="medium")
    # the real pairings' entry first, whatever the drawing order
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("real"))
    ax.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        frameon=False,
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    return finish(ax, show, save)
