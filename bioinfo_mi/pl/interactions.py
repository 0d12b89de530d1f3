"""``pl.interaction_roc``: ROC curves of held-out interaction prediction (LMI paper, Section 4.1, Fig. 5c-d)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes

from .._docs import shared_docs
from ._utils import PathLike, finish, new_axes, uns_result

__all__ = ["interaction_roc"]

_STYLE = {
    "log_odds": ("C0", "LMI log odds", "auc"),
    "density_ratio": ("C1", "LMI density ratio", "auc_density_ratio"),
    "cosine": ("0.5", "cosine similarity", "auc_cosine"),
}


@shared_docs
def interaction_roc(
    pairs: AnnData,
    *,
    key: str = "interaction_roc",
    baseline: bool = True,
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """ROC curves of every hold-out split of :func:`bioinfo_mi.tl.interaction_roc`, with the mean AUC.

    Each split's curve is drawn thin and translucent, the mean curve (over the splits, on a common
    false-positive-rate grid) bold; the legend gives the mean ± sd AUC over splits. The baselines
    are drawn the same way: the cosine similarity in grey and, when the result's score is
    ``"log_odds"``, Algorithm 2's density ratio alone in orange.

    Parameters
    ----------
    pairs
        Paired AnnData holding the result in ``pairs.uns[key]``.
    key
        Key of the :func:`bioinfo_mi.tl.interaction_roc` result.
    baseline
        Also draw the baselines (cosine similarity; the density ratio alone).
    {plot}

    Returns
    -------
    The Axes drawn into.
    """
    result = uns_result(pairs, key, ("table", "curves"), "interaction_roc")
    table, curves = result["table"], result["curves"]
    ax = new_axes(ax, figsize=(4.0, 4.0))
    chosen = str(result.get("params", {}).get("score", "density_ratio"))
    scores = [chosen] + ([s for s in ("density_ratio", "cosine") if s != chosen] if baseline else [])
    for score in scores:
        color, name, column = _STYLE[score]
        column = "auc" if score == chosen else column
        part = curves[curves["score"] == score]
        for _, curve in part.groupby("split"):
            ax.plot(curve["fpr"], curve["tpr"], color=color, alpha=0.25, linewidth=0.7)
        mean = part.groupby("fpr")["tpr"].mean()
        auc = pd.to_numeric(table[column]).to_numpy(dtype=float)
        auc = auc[np.isfinite(auc)]
        spread = f" ± {auc.std(ddof=1):.2f}" if len(auc) > 1 else ""
        label = f"{name}: AUC {auc.mean():.2f}{spread}" if len(auc) else f"{name}: AUC n/a"
        ax.plot(mean.index, mean.to_numpy(), color=color, linewidth=2.0, label=label)
    ax.plot([0, 1], [0, 1], color="0.8", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"held-out interactions ({len(table)} splits)", fontsize="medium")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return finish(ax, show, save)
