"""Simulated lineage-traced differentiation with known ground truth (for LMI paper Section 4.2).

Model
-----
Each clone has a progenitor state ``s ~ N(0, 1)`` and, with ``hidden_fate=True``, a clone-level
fate ``h ~ N(0, 1)`` that is *not* expressed at the early time point. Cells:

- early (day 2): state ``z = (s + sigma_early * e, 0)``;
- late (day 6, in one of two wells): ``z = (s + sigma_late * e1, h + sigma_fate * e2)`` with the
  hidden fate, or ``z = (s + sigma_late * e1, e2')`` with a cell-level (unshared) fate draw
  without it (Markovian: everything sisters share passed through the progenitor state).

Genes: ``n_informative`` genes have log-rates linear in ``z`` (random loadings); the remaining
genes are noise. Counts are Poisson with a per-cell library size, then normalised to the median
library size (like the LARRY ``normed_counts``). The state-level mutual informations are
Gaussian and known in closed form (``adata.uns['simulation']``):

- ``I(early; late) = -1/2 log2(1 - 1 / ((1 + sigma_early^2)(1 + sigma_late^2)))``
- ``I(late; late') = -1/2 log2(1 - 1/(1 + sigma_late^2)^2) [- 1/2 log2(1 - 1/(1 + sigma_fate^2)^2)]``

Defaults give about 0.3 and 1.0 bits (hidden fate), the magnitudes of the paper's real data
(0.31 and 0.98 bits); without the hidden fate the sister MI is about 0.11 bits, below
I(early; late), as the data processing inequality requires. Expression-level estimates are
somewhat lower than the state-level values (counting noise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_positive_int, check_random_state

__all__ = ["simulate_lineage", "lineage_state_mi"]


def lineage_state_mi(sigma_early: float, sigma_late: float, sigma_fate: float, hidden_fate: bool) -> dict[str, float]:
    """Closed-form state-level MIs (bits) of :func:`simulate_lineage` (Gaussian clone states).

    Parameters
    ----------
    sigma_early, sigma_late, sigma_fate
        Noise standard deviations of the early state, the late state and the late cells' fate
        coordinate around the clone's unit-variance state and hidden fate (module docstring).
    hidden_fate
        Whether the late cells of a clone share a hidden fate that the early cells do not see.

    Returns
    -------
    ``{"I_early_late_bits": I(early; late), "I_sisters_bits": I(late; sister late)}``.
    """
    early_late = -0.5 * np.log2(1 - 1 / ((1 + sigma_early**2) * (1 + sigma_late**2)))
    sisters = -0.5 * np.log2(1 - 1 / (1 + sigma_late**2) ** 2)
    if hidden_fate:
        sisters += -0.5 * np.log2(1 - 1 / (1 + sigma_fate**2) ** 2)
    return {"I_early_late_bits": float(early_late), "I_sisters_bits": float(sisters)}


def simulate_lineage(
    n_clones: int = 1200,
    n_genes: int = 1000,
    *,
    hidden_fate: bool = True,
    cells_per_condition: tuple[int, int] = (1, 3),
    n_informative: int | None = None,
    sigma_early: float = 0.3,
    sigma_late: float = 1.2,
    sigma_fate: float = 0.35,
    loading_scale: float = 1.0,
    mean_library: float = 3000.0,
    n_unbarcoded: int = 200,
    random_state: Any = 0,
):
    """Simulate lineage-traced scRNA-seq with an optional hidden clone fate (LMI paper, Section 4.2).

    Parameters
    ----------
    n_clones
        Clones; each is observed at day 2 and in wells 1 and 2 at day 6.
    n_genes, n_informative
        Genes, of which ``n_informative`` (default ``min(300, n_genes)``) depend on the cell state.
    hidden_fate
        Add a clone-level fate that shapes the late states but is not readable early (non-Markovian).
    cells_per_condition
        Inclusive range of cells per clone and condition (day 2; day 6 well 1; day 6 well 2).
    sigma_early, sigma_late, sigma_fate
        Cell-level noise of the early state, the late progenitor coordinate and the late fate.
    loading_scale
        Scale of the gene loadings (signal strength per gene).
    mean_library
        Mean total counts per cell.
    n_unbarcoded
        Extra cells without a clone (dropped by ``clone`` analyses, kept like the loader's NaN clones).
    random_state
        Seed or Generator.

    Returns
    -------
    AnnData in the layout of :func:`bioinfo_mi.datasets.read_larry`: ``X`` normalised counts (CSR),
    obs ``clone`` (``"clone_j"``, NaN when unbarcoded), ``time`` (2.0 / 6.0), ``time_info``,
    ``well`` (0 at day 2; 1 or 2 at day 6), ``cell_type``, ``neutrophil_pseudotime``; obsm
    ``X_spring`` and ``X_clone``; ``uns['simulation']`` with the parameters and the state-level MIs.
    """
    import anndata as ad

    n_clones = check_positive_int(n_clones, name="n_clones")
    n_genes = check_positive_int(n_genes, name="n_genes")
    n_informative = (
        min(300, n_genes) if n_informative is None else check_positive_int(n_informative, name="n_informative")
    )
    if n_informative > n_genes:
        raise ValueError(f"n_informative must be <= n_genes ({n_genes}), got {n_informative}")
    lo, hi = cells_per_condition
    if not (1 <= lo <= hi):
        raise ValueError(f"cells_per_condition must be (low, high) with 1 <= low <= high, got {cells_per_condition}")
    for name, value in [
        ("sigma_early", sigma_early),
        ("sigma_late", sigma_late),
        ("sigma_fate", sigma_fate),
        ("loading_scale", loading_scale),
        ("mean_library", mean_library),
    ]:
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    rng = check_random_state(random_state)

    s = rng.standard_normal(n_clones)
    h = rng.standard_normal(n_clones)
    # cells: (clone, time, well) rows, vectorised over clones
    counts = rng.integers(lo, hi + 1, size=(3, n_clones))
    clone_of = np.concatenate([np.repeat(np.arange(n_clones), counts[i]) for i in range(3)])
    well = np.concatenate([np.full(counts[i].sum(), w) for i, w in enumerate((0, 1, 2))])
    late = well > 0
    n_cells = len(clone_of)
    z = np.zeros((n_cells, 2))
    z[~late, 0] = s[clone_of[~late]] + sigma_early * rng.standard_normal((~late).sum())
    z[late, 0] = s[clone_of[late]] + sigma_late * rng.standard_normal(late.sum())
    fate_noise = rng.standard_normal(late.sum())
    z[late, 1] = (h[clone_of[late]] + sigma_fate * fate_noise) if hidden_fate else fate_noise
    # unbarcoded cells: late-like states, no clone
    z_free = np.column_stack([rng.standard_normal(n_unbarcoded), rng.standard_normal(n_unbarcoded)])
    z = np.vstack([z, z_free])
    time = np.r_[np.where(late, 6.0, 2.0), np.full(n_unbarcoded, 6.0)]
    well = np.r_[well, rng.integers(1, 3, size=n_unbarcoded)]
    clone_of = np.r_[clone_of, np.full(n_unbarcoded, -1)]
    n_total = len(z)

    # expression: log-rate = base + time effect + loadings . z on informative genes
    base = rng.normal(np.log(0.5), 1.0, size=n_genes)
    time_effect = np.zeros(n_genes)
    time_effect[:n_informative] = rng.normal(0, 0.5, size=n_informative)
    loadings = np.zeros((2, n_genes))
    loadings[:, :n_informative] = loading_scale * rng.standard_normal((2, n_informative))
    log_rate = base + np.outer(time == 6.0, time_effect) + z @ loadings
    rate = np.exp(log_rate)
    rate /= rate.sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(mean_library), 0.3, size=n_total)
    raw = rng.poisson(rate * library[:, None])
    normed = raw / np.maximum(raw.sum(axis=1, keepdims=True), 1) * np.median(raw.sum(axis=1))

    # pseudotime along a neutrophil-like trajectory: maturation grows with the fate coordinate
    maturation = np.where(time == 6.0, 0.5 + 0.5 / (1 + np.exp(-z[:, 1])), 0.5 / (1 + np.exp(-z[:, 0])))
    pseudotime = np.round(maturation * 6e4)
    cell_type = np.where(time == 2.0, "Undifferentiated", np.where(z[:, 1] > 0, "Neutrophil", "Monocyte"))
    pseudotime = np.where(cell_type == "Monocyte", np.nan, pseudotime)

    clone_labels = np.where(clone_of >= 0, np.char.add("clone_", clone_of.astype(str)), None)
    obs = pd.DataFrame(
        {
            "clone": pd.Series(clone_labels, dtype=object),
            "time": time,
            "time_info": np.where(time == 2.0, "2", "6"),
            "well": well.astype(int),
            "cell_type": pd.Categorical(cell_type),
            "neutrophil_pseudotime": pseudotime,
        }
    )
    obs.index = [f"cell_{i}" for i in range(n_total)]
    has = clone_of >= 0
    x_clone = sp.csr_matrix(
        (np.ones(has.sum(), dtype=np.float32), (np.flatnonzero(has), clone_of[has])), shape=(n_total, n_clones)
    )
    adata = ad.AnnData(X=sp.csr_matrix(normed.astype(np.float32)), obs=obs)
    adata.var_names = [f"gene_{g}" for g in range(n_genes)]
    adata.var["informative"] = np.arange(n_genes) < n_informative
    adata.obsm["X_clone"] = x_clone
    # SPRING-like layout: maturation across, the fate coordinate up at day 6; day-2 cells (no fate yet)
    # spread in a band around 0 so that every time point stays readable (the same random draws as before)
    jitter = rng.standard_normal((n_total, 2)) * np.where(time == 6.0, 0.02, 0.25)[:, None]
    adata.obsm["X_spring"] = np.column_stack([maturation, z[:, 1] * (time == 6.0)]) + jitter
    adata.uns["simulation"] = {
        "hidden_fate": hidden_fate,
        "n_clones": n_clones,
        "n_informative": n_informative,
        "sigma_early": sigma_early,
        "sigma_late": sigma_late,
        "sigma_fate": sigma_fate,
        "loading_scale": loading_scale,
        "mean_library": mean_library,
        **lineage_state_mi(sigma_early, sigma_late, sigma_fate, hidden_fate),
    }
    return adata
