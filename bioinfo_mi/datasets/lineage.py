"""Simulated lineage-traced differentiation with known ground truth (for LMI paper Section 4.2).

Model
-----
Each clone has a progenitor state ``s ~ N(0, 1)`` and, with ``hidden_fate=True``, a clone-level
fate ``h ~ N(0, 1)`` that is *not* expressed at the early time point. Cells:

- early (day 2): state ``z = (s + sigma_early * e, 0)``;
- late (day 6, in one of two wells): ``z = (s + sigma_late * e1, h + sigma_fate * e2)`` with the
  hidden fate, or ``z = (s + sigma_late * e1, e2')`` with a cell-level (unshared) fate draw
  without it (Markovian: everything sisters share passed through the progenitor state).

Genes: ``n_informative`` genes have log-rates linear in ``z`` (random loadings); by default each
loads on both coordinates, with ``program_genes=(a, b)`` the first ``a`` load on the clone state
``z_0`` only and the next ``b`` on the late coordinate ``z_1`` only (the hidden fate). With
``n_cycle_genes`` > 0 the last genes follow a cell-level, non-heritable program (a cell-cycle-like
phase and level drawn per cell, sisters included): highly variable, but without clone information.
The remaining genes are noise. With ``stage_specific`` > 0 part of the clone-state genes read the
state at one time point only (progenitor-like or fate-like markers). ``adata.var`` records which
program drives each gene and when.
Counts are Poisson with a per-cell library size, then normalised to the median library size
(like the LARRY ``normed_counts``). The state-level mutual informations are Gaussian and known in
closed form (``adata.uns['simulation']``; the cell-cycle program is outside ``z`` and changes none):

- ``I(early; late) = -1/2 log2(1 - 1 / ((1 + sigma_early^2)(1 + sigma_late^2)))``
- ``I(late; late') = -1/2 log2(1 - 1/(1 + sigma_late^2)^2) [- 1/2 log2(1 - 1/(1 + sigma_fate^2)^2)]``

Defaults give about 0.3 and 1.0 bits (hidden fate), the magnitudes of the paper's real data
(0.31 and 0.98 bits); without the hidden fate the sister MI is about 0.11 bits, below
I(early; late), as the data processing inequality requires. Expression-level estimates are
somewhat lower than the state-level values (counting noise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._docs import shared_docs
from .._validation import check_positive_int, check_random_state, spawn_generator

if TYPE_CHECKING:
    from anndata import AnnData

__all__ = ["simulate_lineage", "lineage_state_mi"]


def lineage_state_mi(
    sigma_early: float, sigma_late: float, sigma_fate: float, hidden_fate: bool, confounder: float = 0.0
) -> dict[str, float]:
    """Closed-form state-level MIs (bits) of :func:`simulate_lineage` (Gaussian clone states).

    Parameters
    ----------
    sigma_early, sigma_late, sigma_fate
        Noise standard deviations of the early state, the late state and the late cells' fate
        coordinate around the clone's unit-variance state and hidden fate (module docstring).
    hidden_fate
        Whether the late cells of a clone share a hidden fate that the early cells do not see.
    confounder
        Strength ``gamma`` of the clone-level confounder ``c ~ N(0, 1)`` added to the state coordinate of
        every cell of the clone (``z_0 += gamma c``).

    Returns
    -------
    ``{"I_early_late_bits": I(early; late), "I_sisters_bits": I(late; sister late),
    "I_early_late_given_confounder_bits": I(early; late | c), "I_sisters_given_confounder_bits":
    I(late; sister late | c)}``; with ``confounder=0`` the conditional values equal the others.
    """
    v = 1 + confounder**2  # variance of the shared part of z_0: the clone state plus the confounder

    def pair(shared: float, noise_a: float, noise_b: float) -> float:
        return float(-0.5 * np.log2(1 - shared**2 / ((shared + noise_a) * (shared + noise_b))))

    fate = pair(1.0, sigma_fate**2, sigma_fate**2) if hidden_fate else 0.0
    return {
        "I_early_late_bits": pair(v, sigma_early**2, sigma_late**2),
        "I_sisters_bits": pair(v, sigma_late**2, sigma_late**2) + fate,
        # given c, z_0 keeps the clone state s alone (c is independent of s and of the noise)
        "I_early_late_given_confounder_bits": pair(1.0, sigma_early**2, sigma_late**2),
        "I_sisters_given_confounder_bits": pair(1.0, sigma_late**2, sigma_late**2) + fate,
    }


@shared_docs
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
    random_state: int | np.random.Generator | None = 0,
    program_genes: tuple[int, int] | None = None,
    n_cycle_genes: int = 0,
    cycle_scale: float = 2.0,
    stage_specific: float = 0.0,
    confounder: float = 0.0,
) -> AnnData:
    """Simulate lineage-traced scRNA-seq with an optional hidden clone fate (LMI paper, Section 4.2).

    Parameters
    ----------
    n_clones
        Clones; each is observed at day 2 and in wells 1 and 2 at day 6.
    n_genes, n_informative
        Genes, of which the first ``n_informative`` (default ``min(300, n_genes - n_cycle_genes)``, or
        ``a + b`` with ``program_genes=(a, b)``) depend on the cell state ``z``.
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
    {random_state}
    program_genes
        ``None`` (default): every informative gene loads on both coordinates of ``z`` (the clone
        state and the hidden fate: the shared layout). ``(a, b)``: the first ``a`` genes
        load only on the clone state ``z_0`` (heritable, readable at day 2), the next ``b`` only on
        ``z_1`` (the hidden fate; cell-level late noise with ``hidden_fate=False``). The loadings are
        the same random draws as in the shared layout with the other coordinate's entry set to 0.
        ``n_informative`` must equal ``a + b`` (it is set to that when not given).
    n_cycle_genes
        Genes, the last ``n_cycle_genes`` (after the informative ones), driven by a non-heritable
        cell-level program like the cell cycle: every cell, sisters of one clone included, draws its
        own position ``u ~ N(0, I_2)`` (a phase ``atan2(u_1, u_0)`` and a level ``|u|``), and gene ``g``
        adds ``cycle_scale * (cos(phi_g) u_0 + sin(phi_g) u_1)`` to its log-rate with a random
        angle ``phi_g``. These genes are highly variable but carry no clone information, so ranking
        genes by variance or by highly-variable-gene dispersion is a real baseline to beat.
    cycle_scale
        SD of the cell-cycle genes' log-rate program. For comparison, with ``loading_scale=1`` the
        informative genes' log-rates have a root-mean-square SD over all cells of about 1.7 in the
        shared layout, 1.4 on the clone state alone and 0.9 on the hidden fate alone.
    stage_specific
        Fraction (0 to 1) of the genes that load on the clone state ``z_0`` which read it at one time
        point only, like progenitor markers that are silent in the differentiated cells and fate
        markers that are not yet expressed in progenitors: the first ``round(stage_specific * n)``
        of those ``n`` genes alternate between day 2 only (their log-rate at day 6 has no ``z_0``
        term) and day 6 only (none at day 2). The default 0 reads the clone state through the same
        genes at both time points, which makes the per-gene correlation between a day-2 and a
        day-6 cell of a clone a near-sufficient ranking; with stage-specific genes it misses them.
        No random draw changes (the same loadings are switched off by time point).
    confounder
        Strength ``gamma`` of a clone-level confounder (a culture condition, a batch, a niche the clone
        grew in): every clone draws ``c ~ N(0, 1)``, added as ``gamma c`` to the state coordinate
        ``z_0`` of all its cells, early and late (unbarcoded cells draw their own). It raises
        I(early; late) and I(late; late') while I(early; late | c) and I(late; late' | c) stay those
        of ``confounder=0``; all four are in ``uns['simulation']`` (:func:`lineage_state_mi`), and ``c``
        is ``obs['confounder']`` (NaN for unbarcoded cells). Its draws come from a generator spawned
        from ``random_state`` before the cell-cycle one, so no clone, cell or loading draw moves (the
        cell-cycle draws do, when both are on).

    Returns
    -------
    AnnData in the layout of :func:`bioinfo_mi.datasets.read_larry`: ``X`` normalised counts (CSR),
    obs ``clone`` (``"clone_j"``, NaN when unbarcoded), ``time`` (2.0 / 6.0), ``time_info``,
    ``well`` (0 at day 2; 1 or 2 at day 6), ``cell_type``, ``neutrophil_pseudotime``, and the
    clone-level truth ``true_clone_state`` (``s``) and ``true_hidden_fate`` (``h``; NaN without the
    hidden fate and for unbarcoded cells); obsm
    ``X_spring`` and ``X_clone``; ``uns['simulation']`` with the parameters, the gene counts per
    program and the state-level MIs; ``uns['bioinfo_mi_X'] = "normalized_counts"`` (what ``X`` holds,
    read by :func:`bioinfo_mi.pp.preprocess`). The ground truth per gene in ``var``:

    - ``program`` (categorical): ``"clone_state"``, ``"hidden_fate"``, ``"clone_state+hidden_fate"``
      (the shared layout), ``"cell_cycle"`` or ``"none"``; with ``hidden_fate=False`` the ``z_1``
      program is cell-level noise and reads ``"late_noise"`` (``"clone_state+late_noise"``);
    - ``loading_clone_state``, ``loading_hidden_fate``: the loadings on ``z_0`` and ``z_1`` (0 where
      not loaded; ``z_1`` is the late noise with ``hidden_fate=False``), ``loading_cell_cycle``: the
      cell-cycle program's SD (``cycle_scale`` on those genes, else 0);
    - ``informative`` (bool): the gene depends on the clone, i.e. loads on the clone state, or on the
      hidden fate when ``hidden_fate=True`` (the late noise and the cell cycle are not heritable);
    - ``informative_early``, ``informative_late`` (bool): the gene depends on the clone in day-2
      cells (reads the clone state then) and in day-6 cells (reads the clone state then, or the
      hidden fate); both equal ``informative`` on clone-state genes unless ``stage_specific`` > 0;
    - ``clone_state_stage`` (categorical): when a gene reads the clone state, ``"day 2 and 6"``,
      ``"day 2 only"``, ``"day 6 only"``, or ``"never"``.

    Random draws: ``program_genes`` and ``stage_specific`` switch loadings off without changing a
    draw; the cell-cycle draws come from a generator spawned from ``random_state`` (drawing nothing
    from its stream), so adding the program moves no clone, cell or loading draw.
    """
    import anndata as ad

    n_clones, n_genes, n_informative, n_cycle_genes, n_state_genes = _check_lineage_args(
        n_clones,
        n_genes,
        n_informative=n_informative,
        n_cycle_genes=n_cycle_genes,
        cycle_scale=cycle_scale,
        stage_specific=stage_specific,
        program_genes=program_genes,
        cells_per_condition=cells_per_condition,
        positive={
            "sigma_early": sigma_early,
            "sigma_late": sigma_late,
            "sigma_fate": sigma_fate,
            "loading_scale": loading_scale,
            "mean_library": mean_library,
        },
        confounder=confounder,
    )
    rng = check_random_state(random_state)
    # the order of the steps is the order of the draws from rng
    cells = _draw_cells(
        rng, n_clones, cells_per_condition, sigma_early, sigma_late, sigma_fate, hidden_fate, n_unbarcoded
    )
    c = _add_confounder(rng, cells, n_clones, confounder) if confounder > 0 else None
    genes = _draw_genes(rng, n_genes, n_informative, loading_scale, n_state_genes, stage_specific)
    log_rate = _log_rates(cells, genes)
    cycle_loading = _add_cycle_program(rng, log_rate, n_cycle_genes, cycle_scale)
    normed = _draw_counts(rng, log_rate, mean_library)

    obs, maturation = _lineage_obs(cells, hidden_fate, c)
    n_total = len(cells.z)
    adata = ad.AnnData(X=sp.csr_matrix(normed.astype(np.float32)), obs=obs)
    adata.var_names = [f"gene_{g}" for g in range(n_genes)]
    program, late_program = _annotate_genes(
        adata, genes, cycle_loading, n_informative, n_state_genes, n_cycle_genes, hidden_fate
    )
    adata.obsm["X_clone"] = _clone_matrix(cells.clone_of, n_clones)
    # SPRING-like layout: maturation across, the fate coordinate up at day 6; day-2 cells (no fate yet)
    # spread in a band around 0 so that every time point stays readable
    jitter = rng.standard_normal((n_total, 2)) * np.where(cells.time == 6.0, 0.02, 0.25)[:, None]
    adata.obsm["X_spring"] = np.column_stack([maturation, cells.z[:, 1] * (cells.time == 6.0)]) + jitter
    adata.uns["simulation"] = {
        "hidden_fate": hidden_fate,
        "n_clones": n_clones,
        "n_informative": n_informative,
        **{"sigma_early": sigma_early, "sigma_late": sigma_late, "sigma_fate": sigma_fate},
        **{"loading_scale": loading_scale, "mean_library": mean_library, "confounder": float(confounder)},
        "program_layout": "shared" if program_genes is None else "separate",
        "n_clone_state_genes": int((program == "clone_state").sum()),
        "n_hidden_fate_genes": int((program == late_program).sum()),
        "n_shared_genes": int((program == f"clone_state+{late_program}").sum()),
        "n_cycle_genes": n_cycle_genes,
        "cycle_scale": float(cycle_scale),
        "stage_specific": float(stage_specific),
        "n_day2_only_genes": len(genes.early_only),
        "n_day6_only_genes": len(genes.late_only),
        **lineage_state_mi(sigma_early, sigma_late, sigma_fate, hidden_fate, confounder),
    }
    adata.uns["bioinfo_mi_X"] = "normalized_counts"  # what .X holds, read by pp.preprocess (counts="auto")
    return adata


def _check_lineage_args(
    n_clones: Any,
    n_genes: Any,
    *,
    n_informative: Any,
    n_cycle_genes: Any,
    cycle_scale: Any,
    stage_specific: Any,
    program_genes: Any,
    cells_per_condition: Any,
    positive: dict[str, Any],
    confounder: Any = 0.0,
) -> tuple[int, int, int, int, int | None]:
    """Validate :func:`simulate_lineage`'s arguments; return ``n_clones``, ``n_genes``,
    ``n_informative`` (its default filled in), ``n_cycle_genes`` and the number of clone-state genes of
    ``program_genes`` (None for the shared layout).
    """
    n_clones = check_positive_int(n_clones, name="n_clones")
    n_genes = check_positive_int(n_genes, name="n_genes")
    n_cycle_genes = check_positive_int(n_cycle_genes, name="n_cycle_genes", minimum=0)
    if n_cycle_genes >= n_genes:
        raise ValueError(
            f"n_cycle_genes must leave room for informative genes: got {n_cycle_genes} for n_genes={n_genes}"
        )
    if not (np.isscalar(cycle_scale) and np.isfinite(cycle_scale) and cycle_scale > 0):
        raise ValueError(f"cycle_scale must be a positive number, got {cycle_scale!r}")
    if not (np.isscalar(confounder) and np.isfinite(confounder) and confounder >= 0):
        raise ValueError(f"confounder must be a finite number >= 0, got {confounder!r}")
    if not (
        isinstance(stage_specific, (int, float, np.integer, np.floating))
        and not isinstance(stage_specific, bool)
        and 0 <= stage_specific <= 1  # False for NaN
    ):
        raise ValueError(f"stage_specific must be a fraction between 0 and 1, got {stage_specific!r}")
    n_state_genes = None
    if program_genes is not None:
        if not (isinstance(program_genes, (tuple, list)) and len(program_genes) == 2):
            raise ValueError(f"program_genes must be None or a pair (a, b) of gene counts, got {program_genes!r}")
        n_state_genes = check_positive_int(program_genes[0], name="program_genes[0]", minimum=0)
        n_fate_genes = check_positive_int(program_genes[1], name="program_genes[1]", minimum=0)
        if n_state_genes + n_fate_genes == 0:
            raise ValueError(f"program_genes must name at least one informative gene, got {program_genes!r}")
        if n_informative is not None and n_informative != n_state_genes + n_fate_genes:
            raise ValueError(
                f"n_informative ({n_informative}) must equal the sum of program_genes {tuple(program_genes)} "
                f"({n_state_genes + n_fate_genes}); leave n_informative unset to take it from program_genes"
            )
        n_informative = n_state_genes + n_fate_genes
    n_informative = (
        min(300, n_genes - n_cycle_genes)
        if n_informative is None
        else check_positive_int(n_informative, name="n_informative")
    )
    if n_informative > n_genes:
        raise ValueError(f"n_informative must be <= n_genes ({n_genes}), got {n_informative}")
    if n_informative + n_cycle_genes > n_genes:
        raise ValueError(
            f"n_informative ({n_informative}) + n_cycle_genes ({n_cycle_genes}) must be <= n_genes ({n_genes}): "
            "the cell-cycle genes follow the informative ones"
        )
    lo, hi = cells_per_condition
    if not (1 <= lo <= hi):
        raise ValueError(f"cells_per_condition must be (low, high) with 1 <= low <= high, got {cells_per_condition}")
    for name, value in positive.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    return n_clones, n_genes, n_informative, n_cycle_genes, n_state_genes


class _Cells(NamedTuple):
    """The simulated cells: clone states ``s``, hidden fates ``h`` (per clone), the cell states ``z``
    (``(n_cells, 2)``), day, well and clone index (-1 for unbarcoded cells) per cell.
    """

    s: np.ndarray
    h: np.ndarray
    z: np.ndarray
    time: np.ndarray
    well: np.ndarray
    clone_of: np.ndarray


def _draw_cells(
    rng: np.random.Generator,
    n_clones: int,
    cells_per_condition: tuple[int, int],
    sigma_early: float,
    sigma_late: float,
    sigma_fate: float,
    hidden_fate: bool,
    n_unbarcoded: int,
) -> _Cells:
    """Draw the clones, their cells (day 2; day 6 in wells 1 and 2) and the unbarcoded cells."""
    lo, hi = cells_per_condition
    s = rng.standard_normal(n_clones)
    h = rng.standard_normal(n_clones)
    # cells: (clone, time, well) rows, vectorised over clones
    counts = rng.integers(lo, hi + 1, size=(3, n_clones))
    clone_of = np.concatenate([np.repeat(np.arange(n_clones), counts[i]) for i in range(3)])
    well = np.concatenate([np.full(counts[i].sum(), w) for i, w in enumerate((0, 1, 2))])
    late = well > 0
    z = np.zeros((len(clone_of), 2))
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
    return _Cells(s, h, z, time, well, clone_of)


def _add_confounder(rng: np.random.Generator, cells: _Cells, n_clones: int, strength: float) -> np.ndarray:
    """Add ``strength * c`` to ``z_0`` of every cell (in place; ``c`` per clone, its own draw for unbarcoded
    cells), from a generator spawned from ``rng``; return the clones' ``c``.
    """
    c_rng = spawn_generator(rng)
    c = c_rng.standard_normal(n_clones)
    barcoded = cells.clone_of >= 0
    cells.z[barcoded, 0] += strength * c[cells.clone_of[barcoded]]
    cells.z[~barcoded, 0] += strength * c_rng.standard_normal(int((~barcoded).sum()))
    return c


class _Genes(NamedTuple):
    """Per-gene log-rate terms: ``base``, ``time_effect`` (day 6), ``loadings`` (``(2, n_genes)`` on
    ``z``), the clone-state genes and those of them read at day 2 or day 6 only.
    """

    base: np.ndarray
    time_effect: np.ndarray
    loadings: np.ndarray
    state_genes: np.ndarray
    early_only: np.ndarray
    late_only: np.ndarray


def _draw_genes(
    rng: np.random.Generator,
    n_genes: int,
    n_informative: int,
    loading_scale: float,
    n_state_genes: int | None,
    stage_specific: float,
) -> _Genes:
    """Draw the genes' base rates, time effects and loadings; switch loadings off by program and stage."""
    base = rng.normal(np.log(0.5), 1.0, size=n_genes)
    time_effect = np.zeros(n_genes)
    time_effect[:n_informative] = rng.normal(0, 0.5, size=n_informative)
    loadings = np.zeros((2, n_genes))
    loadings[:, :n_informative] = loading_scale * rng.standard_normal((2, n_informative))
    if n_state_genes is not None:  # program_genes: the same draws, each gene keeping one coordinate
        loadings[1, :n_state_genes] = 0.0
        loadings[0, n_state_genes:n_informative] = 0.0
    # genes reading the clone state, and those that read it at one time point only (stage_specific)
    state_genes = np.arange(n_state_genes if n_state_genes is not None else n_informative)
    specific = state_genes[: int(round(stage_specific * len(state_genes)))]
    return _Genes(base, time_effect, loadings, state_genes, specific[0::2], specific[1::2])


def _log_rates(cells: _Cells, genes: _Genes) -> np.ndarray:
    """Log expression rates ``base + time effect + loadings . z`` per cell and gene (no draws)."""
    late = cells.time == 6.0
    if len(genes.early_only) or len(genes.late_only):
        early_loadings, late_loadings = genes.loadings.copy(), genes.loadings.copy()
        early_loadings[0, genes.late_only] = 0.0
        late_loadings[0, genes.early_only] = 0.0
        programme = np.where(late[:, None], cells.z @ late_loadings, cells.z @ early_loadings)
        return genes.base + np.outer(late, genes.time_effect) + programme
    return genes.base + np.outer(late, genes.time_effect) + cells.z @ genes.loadings


def _add_cycle_program(
    rng: np.random.Generator, log_rate: np.ndarray, n_cycle_genes: int, cycle_scale: float
) -> np.ndarray:
    """Add the cell-cycle program to the last ``n_cycle_genes`` columns of ``log_rate`` (in place);
    return each gene's cell-cycle SD (``cycle_scale`` on those genes, else 0).
    """
    n_total, n_genes = log_rate.shape
    cycle_loading = np.zeros(n_genes)
    if n_cycle_genes:
        # a spawned generator: the main stream (and with it every other draw) stays as without the program
        cycle_rng = spawn_generator(rng)
        cycle_state = cycle_rng.standard_normal((n_total, 2))  # per cell: sisters draw independently
        angle = cycle_rng.uniform(0, 2 * np.pi, size=n_cycle_genes)
        cycle_loading[n_genes - n_cycle_genes :] = cycle_scale
        log_rate[:, n_genes - n_cycle_genes :] += cycle_scale * cycle_state @ np.vstack([np.cos(angle), np.sin(angle)])
    return cycle_loading


def _draw_counts(rng: np.random.Generator, log_rate: np.ndarray, mean_library: float) -> np.ndarray:
    """Poisson counts with a per-cell library size, normalised to the median library size."""
    rate = np.exp(log_rate)
    rate /= rate.sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(mean_library), 0.3, size=len(log_rate))
    raw = rng.poisson(rate * library[:, None])
    return raw / np.maximum(raw.sum(axis=1, keepdims=True), 1) * np.median(raw.sum(axis=1))


def _lineage_obs(cells: _Cells, hidden_fate: bool, c: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the cells' ``obs`` table (LARRY's layout plus the clone-level truth, and the clones' confounder
    ``c`` when given) and their maturation.
    """
    time, z, clone_of = cells.time, cells.z, cells.clone_of
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
            "well": cells.well.astype(int),
            "cell_type": pd.Categorical(cell_type),
            "neutrophil_pseudotime": pseudotime,
        }
    )
    # the clone-level truth (NaN for unbarcoded cells): attribution benchmarks rank genes against it
    obs["true_clone_state"] = np.where(clone_of >= 0, cells.s[np.maximum(clone_of, 0)], np.nan)
    obs["true_hidden_fate"] = (
        np.where(clone_of >= 0, cells.h[np.maximum(clone_of, 0)], np.nan) if hidden_fate else np.nan
    )
    if c is not None:
        obs["confounder"] = np.where(clone_of >= 0, c[np.maximum(clone_of, 0)], np.nan)
    obs.index = [f"cell_{i}" for i in range(len(time))]
    return obs, maturation


def _clone_matrix(clone_of: np.ndarray, n_clones: int) -> sp.csr_matrix:
    """Cells x clones binary matrix (CoSpar's ``X_clone``); unbarcoded cells (-1) have an empty row."""
    has = clone_of >= 0
    return sp.csr_matrix(
        (np.ones(has.sum(), dtype=np.float32), (np.flatnonzero(has), clone_of[has])), shape=(len(clone_of), n_clones)
    )


def _annotate_genes(
    adata: AnnData,
    genes: _Genes,
    cycle_loading: np.ndarray,
    n_informative: int,
    n_state_genes: int | None,
    n_cycle_genes: int,
    hidden_fate: bool,
) -> tuple[np.ndarray, str]:
    """Write the per-gene truth into ``adata.var``; return each gene's program and the late program's name."""
    n_genes = adata.n_vars
    late_program = "hidden_fate" if hidden_fate else "late_noise"
    program = np.full(n_genes, "none", dtype=object)
    if n_state_genes is None:
        program[:n_informative] = f"clone_state+{late_program}"
    else:
        program[:n_state_genes] = "clone_state"
        program[n_state_genes:n_informative] = late_program
    program[n_genes - n_cycle_genes :] = "cell_cycle"
    categories = ["clone_state", late_program, f"clone_state+{late_program}", "cell_cycle", "none"]
    adata.var["program"] = pd.Categorical(program, categories=categories)
    adata.var["loading_clone_state"] = genes.loadings[0]
    adata.var["loading_hidden_fate"] = genes.loadings[1]
    adata.var["loading_cell_cycle"] = cycle_loading
    heritable = {"clone_state", f"clone_state+{late_program}"} | ({late_program} if hidden_fate else set())
    adata.var["informative"] = np.isin(program, sorted(heritable))
    stage = np.full(n_genes, "never", dtype=object)
    stage[genes.state_genes] = "day 2 and 6"
    stage[genes.early_only] = "day 2 only"
    stage[genes.late_only] = "day 6 only"
    adata.var["clone_state_stage"] = pd.Categorical(
        stage, categories=["day 2 and 6", "day 2 only", "day 6 only", "never"]
    )
    reads_late_fate = np.isin(program, [late_program, f"clone_state+{late_program}"]) & hidden_fate
    adata.var["informative_early"] = np.isin(stage, ["day 2 and 6", "day 2 only"])
    adata.var["informative_late"] = np.isin(stage, ["day 2 and 6", "day 6 only"]) | reads_late_fate
    return program, late_program
