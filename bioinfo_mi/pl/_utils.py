"""Shared plumbing of the plotting functions: axes creation, show/save, input look-ups."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from anndata import AnnData
from matplotlib.axes import Axes

PathLike = str | os.PathLike


def new_axes(ax: Axes | None, figsize: tuple[float, float] = (4.0, 3.5)) -> Axes:
    """``ax`` itself, or the Axes of a new figure (pyplot imported lazily: ``import bioinfo_mi`` stays light)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def finish(ax: Axes, show: bool | None, save: PathLike | None) -> Axes:
    """Save (``bbox_inches="tight"``) and show on request; ``show=None`` never shows (headless default)."""
    if save is not None:
        ax.figure.savefig(os.fspath(save), bbox_inches="tight")
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return ax


def uns_result(adata: AnnData, key: str, required: Iterable[str], tool: str) -> dict[str, Any]:
    """``adata.uns[key]`` as written by ``tool``, with a message saying how to produce it when absent."""
    if key not in adata.uns:
        raise KeyError(
            f"uns key {key!r} not found; available: {list(adata.uns.keys())}. "
            f"Run bioinfo_mi.tl.{tool}(adata, key_added={key!r}) first."
        )
    result = adata.uns[key]
    missing = [name for name in required if not isinstance(result, dict) or name not in result]
    if missing:
        raise KeyError(f"adata.uns[{key!r}] lacks {missing}; it does not look like a tl.{tool} result")
    return result


def obs_column(adata: AnnData, key: str, what: str) -> Any:
    """``adata.obs[key]`` or a KeyError listing the obs columns."""
    if key not in adata.obs.columns:
        raise KeyError(f"{what}: obs column {key!r} not found; available: {list(adata.obs.columns)}")
    return adata.obs[key]
