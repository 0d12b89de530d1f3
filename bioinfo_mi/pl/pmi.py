"""Plots of per-cell pointwise MI from :func:`bioinfo_mi.tl.pmi` (LMI paper, Section 4.2, Fig. 6b-c)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.colors import CenteredNorm

from .._docs import shared_docs
from .._validation import check_positive_int
from ._utils import PathLike, finish, new_axes, obs_column

__all__ = ["pmi_trend", "pmi_embedding"]

UNSCORED_COLOR = "lightgrey"

#: cells in the rolling mean of :func:`pmi_trend` (LMI paper, Fig. 6c), from 5 times as many scored cells
PAPER_WINDOW = 100


def _numeric(column: pd.Series, key: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(column):
        raise TypeError(f"obs column {key!r} must be numeric, got dtype {column.dtype}")
    return column.to_numpy(dtype=float, na_value=np.nan)


@shared_docs
def pmi_trend(
    adata: AnnData,
    *,
    key: str = "pmi",
    pseudotime_key: str = "neutrophil_pseudotime",
    window: int | None = None,
    min_pseudotime: float | None = None,
    marker: float | None = None,
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """Pointwise MI along a pseudotime, raw and smoothed by a rolling mean (LMI paper, Fig. 6c).

    Scored cells (pMI and pseudotime not NaN, pseudotime >= ``min_pseudotime``) are sorted by
    pseudotime; their pMI is drawn as light points and its centred rolling mean over ``window``
    consecutive cells as a line (undefined, so not drawn, within ``window // 2`` cells of either end).
    The paper uses ``window=100`` and marks the pseudotime 35e3 where pMI drops (Section 4.2); the legend gives the
    window drawn.

    Parameters
    ----------
    adata
        Annotated data with ``obs[key]`` (from :func:`bioinfo_mi.tl.pmi`) and ``obs[pseudotime_key]``.
    key
        Obs column of pointwise MI (bits; NaN for unscored cells): the ``key_added`` of
        :func:`bioinfo_mi.tl.pmi`.
    pseudotime_key
        Obs column of pseudotime (NaN for cells off the trajectory).
    window
        Number of cells in the rolling mean (at most the number of scored cells: a ``ValueError`` otherwise).
        ``None`` (the default): the paper's 100 from 500 scored cells on, a fifth of the scored cells below (at
        least 1, no smoothing), so that a small object's trend is drawn over most of its cells.
    min_pseudotime
        Drop cells with a smaller pseudotime; default keep all.
    marker
        Pseudotime at which to draw a dashed vertical line; default none. It must lie within the
        scored cells' pseudotime range (a line where there are no data would mislead); otherwise a
        ``ValueError`` names the range, before anything is drawn.
    {plot}

    Returns
    -------
    The Axes drawn into.
    """
    pmi = _numeric(obs_column(adata, key, "key"), key)
    pseudotime = _numeric(obs_column(adata, pseudotime_key, "pseudotime_key"), pseudotime_key)
    if window is not None:
        window = check_positive_int(window, name="window")
    keep = np.isfinite(pmi) & np.isfinite(pseudotime)
    if min_pseudotime is not None:
        keep &= pseudotime >= min_pseudotime
    n_scored = int(keep.sum())
    if window is None and n_scored > 0:
        window = min(PAPER_WINDOW, max(1, n_scored // 5))
    if window is None or n_scored < window:
        short = f"fewer than window={window}. Lower the window or score more cells" if window else "nothing to draw"
        raise ValueError(
            f"only {n_scored} cells have finite {key!r} and {pseudotime_key!r}"
            + (f" with pseudotime >= {min_pseudotime}" if min_pseudotime is not None else "")
            + f"; {short}."
        )
    order = np.argsort(pseudotime[keep], kind="stable")
    x, y = pseudotime[keep][order], pmi[keep][order]
    if marker is not None:  # checked before anything is drawn: a bad call leaves no half-drawn figure
        if isinstance(marker, bool) or not isinstance(marker, Real):
            raise TypeError(f"marker must be a pseudotime (a real number) or None, got {marker!r}")
        if not (x[0] <= marker <= x[-1]):
            raise ValueError(
                f"marker={marker!r} lies outside the scored cells' pseudotime "
                f"[{x[0]:.4g}, {x[-1]:.4g}] ({pseudotime_key!r}); give a pseudotime within the data or None"
            )
    smooth = pd.Series(y).rolling(window, center=True).mean().to_numpy()

    ax = new_axes(ax, figsize=(5.0, 3.5))
    ax.scatter(x, y, s=4, color="C0", alpha=0.15, linewidths=0, rasterized=True, label="cells")
    ax.plot(x, smooth, color="C0", linewidth=2, label=f"rolling mean ({window} cells)")
    if marker is not None:
        ax.axvline(marker, color="k", linestyle="--", linewidth=1)
    ax.set_xlabel(pseudotime_key)
    ax.set_ylabel("pMI (bits)")
    ax.legend(frameon=False, fontsize="small")
    return finish(ax, show, save)


def _embedding(adata: AnnData, basis: str) -> tuple[str, np.ndarray]:
    """``obsm[basis]`` or, scanpy style, ``obsm["X_" + basis]``; returns the name without ``X_`` and 2 columns."""
    for name in (basis, f"X_{basis}"):
        if name in adata.obsm:
            coords = np.asarray(adata.obsm[name])
            if coords.ndim != 2 or coords.shape[1] < 2:
                raise ValueError(f"obsm[{name!r}] must have at least 2 columns, got shape {coords.shape}")
            return name.removeprefix("X_"), coords[:, :2].astype(float)
    raise KeyError(f"basis: obsm key {basis!r} (or 'X_{basis}') not found; available: {list(adata.obsm.keys())}")


@shared_docs
def pmi_embedding(
    adata: AnnData,
    *,
    key: str = "pmi",
    basis: str = "X_spring",
    cmap: str = "RdBu_r",
    ax: Axes | None = None,
    show: bool | None = None,
    save: PathLike | None = None,
) -> Axes:
    """Cells on a 2-D embedding coloured by pointwise MI (LMI paper, Fig. 6b).

    Unscored cells (pMI NaN) are drawn light grey underneath; scored cells on top, coloured by pMI with
    a colour bar, the highest values drawn last so they stay visible (as scanpy does).

    Parameters
    ----------
    adata
        Annotated data with ``obs[key]`` (from :func:`bioinfo_mi.tl.pmi`) and an embedding.
    key
        Obs column of pointwise MI (bits; NaN for unscored cells): the ``key_added`` of
        :func:`bioinfo_mi.tl.pmi`.
    basis
        ``obsm`` key of the embedding; ``"spring"`` and ``"X_spring"`` both work. The first two
        columns are drawn.
    cmap
        Matplotlib colormap of pMI. pMI is signed (negative where the pair is less likely than
        under independence), so the default is a diverging map with its centre, white, at 0 bits
        and limits symmetric about 0.
    {plot}

    Returns
    -------
    The Axes drawn into (the colour bar lives in its own Axes of the same figure).
    """
    pmi = _numeric(obs_column(adata, key, "key"), key)
    name, coords = _embedding(adata, basis)
    scored = np.isfinite(pmi)
    if not scored.any():
        raise ValueError(f"obs column {key!r} has no scored cell (all NaN); run bioinfo_mi.tl.pmi first")
    order = np.flatnonzero(scored)[np.argsort(pmi[scored], kind="stable")]

    ax = new_axes(ax, figsize=(4.5, 4.0))
    size = min(20.0, 12000.0 / max(adata.n_obs, 1))
    ax.scatter(
        coords[~scored, 0], coords[~scored, 1], s=size, color=UNSCORED_COLOR, linewidths=0, rasterized=True, zorder=1
    )
    points = ax.scatter(
        coords[order, 0],
        coords[order, 1],
        c=pmi[order],
        cmap=cmap,
        norm=CenteredNorm(vcenter=0.0),
        s=size,
        linewidths=0,
        rasterized=True,
        zorder=2,
    )
    ax.figure.colorbar(points, ax=ax, label="pMI (bits)")
    ax.set_xlabel(f"{name}1")
    ax.set_ylabel(f"{name}2")
    ax.set_xticks([])
    ax.set_yticks([])
    return finish(ax, show, save)
