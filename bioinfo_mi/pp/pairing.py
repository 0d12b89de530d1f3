"""Pairing lineage-traced cells across two conditions (LMI paper, Section 4.2, Appendix A.4.2).

A *pairing* takes, for every clone observed under both conditions (two time points, two wells,
any two values of an obs column), one cell under each condition, drawn at random. LMI is then
run on the paired expression states. Clone identity comes from an obs column or, for data
prepared for CoSpar, from ``adata.obsm['X_clone']`` (cells x clones, binary).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._validation import check_positive_int, check_random_state

__all__ = ["ClonePairing", "clone_labels", "shared_clones", "draw_pairings", "get_features"]


@dataclass(frozen=True)
class ClonePairing:
    """One random pairing: row ``i`` pairs cell ``cells_a[i]`` with cell ``cells_b[i]`` of clone ``clones[i]``.

    ``cells_a`` / ``cells_b`` are integer row positions in the AnnData (``adata.obs_names[cells_a]``
    gives the names).
    """

    clones: np.ndarray
    cells_a: np.ndarray
    cells_b: np.ndarray

    def __len__(self) -> int:
        """Return the number of pairs."""
        return len(self.clones)


#: obs columns read in their place when the named one is absent: CoSpar keeps the time point as
#: ``obs['time_info']`` (strings such as "2", "4", "6"), so objects prepared for CoSpar work as they come
_COSPAR_KEYS = {"time": "time_info"}


def _check_obs_key(adata: AnnData, key: str, what: str) -> pd.Series:
    if key not in adata.obs.columns:
        if _COSPAR_KEYS.get(key) in adata.obs.columns:
            return adata.obs[_COSPAR_KEYS[key]]
        raise KeyError(f"{what}: obs column {key!r} not found; available: {list(adata.obs.columns)}")
    return adata.obs[key]


#: clone labels that real tables use for cells without a clone; read as missing, never as one clone
MISSING_CLONE_LABELS = frozenset({"", "NA", "N/A", "na", "nan", "NaN", "None", "none", "null", "-1"})
#: a clone holding more than this share of the cells with a clone (among 10 or more clones) is reported
LARGE_CLONE_SHARE = 0.2


def clone_labels(adata: AnnData, clone_key: str = "clone") -> pd.Series:
    """Clone identity of every cell as strings (NaN for cells without a clone).

    The placeholders real tables use for unbarcoded cells (:data:`MISSING_CLONE_LABELS`: ``""``,
    ``"NA"``, ``"nan"``, ``"None"``, ``"-1"``, ...) count as missing, so they never pair up as one
    giant clone; a clone holding more than 20 % of the cells with a clone (among 10 or more clones)
    raises a warning naming it.

    Parameters
    ----------
    adata
        Annotated data.
    clone_key
        An obs column with clone ids, or ``"X_clone"`` to read CoSpar's ``adata.obsm['X_clone']``
        (cells x clones, binary; a cell with several barcodes takes the first, one with none has
        no clone). If ``clone_key`` is not an obs column but ``obsm['X_clone']`` exists, that is used.

    Returns
    -------
    A Series indexed like ``adata.obs``.
    """
    if clone_key not in adata.obs.columns and (clone_key == "X_clone" or "X_clone" in adata.obsm):
        if "X_clone" not in adata.obsm:
            raise KeyError(f"obsm['X_clone'] not found; available obsm keys: {list(adata.obsm.keys())}")
        mat = adata.obsm["X_clone"]
        mat = sp.csr_matrix(mat) if not sp.issparse(mat) else mat.tocsr()
        has = np.diff(mat.indptr) > 0
        first = np.full(adata.n_obs, -1)
        first[has] = mat.indices[mat.indptr[:-1][has]]  # column of the first stored entry
        labels = pd.Series(np.where(has, first.astype(str), None), index=adata.obs_names, dtype=object)
        labels[has] = "clone_" + labels[has]
        return labels
    col = _check_obs_key(adata, clone_key, "clone_key")
    labels = col.astype(object).where(col.notna(), None)
    labels = labels.map(lambda v: None if v is None else str(v).strip())
    placeholder = labels.isin(MISSING_CLONE_LABELS)
    labels[placeholder] = None
    if labels.isna().all():
        raise ValueError(f"obs column {clone_key!r} has no clone assigned to any cell (all missing)")
    counts = labels.value_counts()
    if len(counts) >= 10 and counts.iloc[0] > LARGE_CLONE_SHARE * counts.sum():
        warnings.warn(
            f"clone {counts.index[0]!r} of obs[{clone_key!r}] holds {counts.iloc[0]} of the {counts.sum()} cells "
            f"with a clone ({counts.iloc[0] / counts.sum():.0%}; the next largest {counts.iloc[1]}): is it a "
            f"placeholder for cells without a barcode? Set those cells to NaN (already treated as missing: "
            f"{sorted(MISSING_CLONE_LABELS)})",
            UserWarning,
            stacklevel=3,
        )
    return labels


def _plain_value(value: Any) -> Any:
    """Convert numpy scalars to Python values, so messages and parameters read ``2.0``, not ``np.float64(2.0)``."""
    return value.item() if isinstance(value, np.generic) else value


def _show(values: Any) -> str:
    """Values as they are stored: numbers bare, strings quoted (so '2.0' and 2.0 never look alike)."""
    return "[" + ", ".join(repr(_plain_value(v)) for v in values) + "]"


def sorted_values(col: pd.Series) -> list[Any]:
    """Distinct values of ``col`` in order, numerically when they are numbers stored as strings or
    categories (CoSpar's ``time_info``: "2" < "4" < "10"), as Python values.
    """
    present = [_plain_value(v) for v in pd.unique(col.dropna())]
    parsed = pd.to_numeric(pd.Series([str(v) for v in present], dtype=object), errors="coerce")
    if len(present) and parsed.notna().all():
        return [v for _, v in sorted(zip(parsed.tolist(), present, strict=True), key=lambda t: t[0])]
    return sorted(present, key=lambda v: (str(type(v)), v))


def match_value(col: pd.Series, value: Any, what: str) -> Any:
    """Return the value of ``col`` that ``value`` names: itself when present, else the same number written as
    a string or stored as one (``"2"`` or ``"2.0"`` on a float time column; ``2`` on CoSpar's string
    ``time_info``). Raises ``ValueError`` listing the stored values otherwise.
    """
    value = _plain_value(value)
    present = pd.unique(col.dropna())
    if (col == value).any():
        return value
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.notna(number) and not isinstance(value, bool):
        if pd.api.types.is_numeric_dtype(col):
            if (col == number).any():
                return _plain_value(col[col == number].iloc[0])
        else:
            parsed = pd.to_numeric(pd.Series([str(v) for v in present]), errors="coerce").to_numpy()
            hits = [v for v, p in zip(present, parsed, strict=True) if p == number]
            if len(hits) == 1:
                return _plain_value(hits[0])
    shown = sorted(present, key=lambda v: (str(type(v)), v)) if len(present) < 50 else list(present[:50])
    raise ValueError(
        f"{what} {value!r} does not occur in obs[{col.name!r}] (dtype {col.dtype}); values: {_show(shown)}"
    )


def _condition_mask(adata: AnnData, condition_key: str, value: Any, restrict: Mapping[str, Any] | None) -> np.ndarray:
    col = _check_obs_key(adata, condition_key, "condition_key")
    mask = (col == match_value(col, value, "condition")).to_numpy()
    for key, val in (restrict or {}).items():
        rcol = _check_obs_key(adata, key, "restrict")
        mask &= (rcol == match_value(rcol, val, "restrict: value")).to_numpy()
    return mask


def resolve_conditions(adata: AnnData, condition_key: str, conditions: Sequence[Any] | None) -> tuple[Any, Any]:
    """Return the two condition values to compare: as given, or the two values of ``obs[condition_key]``."""
    col = _check_obs_key(adata, condition_key, "condition_key")
    if conditions is None:
        values = sorted_values(col)
        if len(values) != 2:
            raise ValueError(
                f"obs[{condition_key!r}] has {len(values)} values {_show(values[:10])}; pass conditions=(a, b) "
                "to choose two"
            )
        return values[0], values[1]
    if len(conditions) != 2:
        raise ValueError(f"conditions must be two values, got {conditions!r}")
    a, b = (match_value(col, v, "condition") for v in conditions)
    if a == b:
        raise ValueError(f"conditions must be two different values, got {conditions!r}")
    return a, b


def shared_clones(
    adata: AnnData,
    *,
    clone_key: str = "clone",
    condition_key: str = "time",
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Clones observed under both conditions, and each condition's cells grouped by clone.

    Parameters
    ----------
    adata
        Annotated data with a clone and a condition annotation.
    clone_key
        See :func:`clone_labels`.
    condition_key
        Obs column whose two values are compared (``time``, ``well``, ...).
    conditions
        The two values ``(a, b)``; default: the two values present.
    restrict
        Extra equality filters on obs, e.g. ``{"time": 6.0}`` for sisters across wells at day 6.

    Returns
    -------
    ``(clones, cells_a, cells_b)``: the shared clone ids (sorted), and for each condition a mapping
    clone -> integer row positions of its cells.
    """
    labels = clone_labels(adata, clone_key).to_numpy()
    a, b = resolve_conditions(adata, condition_key, conditions)
    groups = []
    for value in (a, b):
        mask = _condition_mask(adata, condition_key, value, restrict) & pd.notna(labels)
        rows = np.flatnonzero(mask)
        groups.append(pd.Series(rows).groupby(labels[rows]).apply(np.asarray).to_dict())
    clones = np.array(sorted(set(groups[0]) & set(groups[1])), dtype=object)
    return clones, groups[0], groups[1]


def _draw_one_per_clone(cells: dict[str, np.ndarray], clones: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # concatenated candidate cells with their clone's position; a random key per cell, keep the
    # smallest key within each clone: a uniform draw, vectorised over clones
    sizes = np.array([len(cells[c]) for c in clones])
    rows = np.concatenate([cells[c] for c in clones])
    owner = np.repeat(np.arange(len(clones)), sizes)
    order = np.lexsort((rng.random(len(rows)), owner))
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    return rows[order[first]]


def draw_pairings(
    adata: AnnData,
    *,
    clone_key: str = "clone",
    condition_key: str = "time",
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    n_pairings: int = 1,
    min_clones: int = 10,
    random_state: Any = 0,
) -> list[ClonePairing]:
    """Draw ``n_pairings`` random clone pairings between two conditions (one cell per clone and condition).

    Parameters
    ----------
    adata, clone_key, condition_key, conditions, restrict
        See :func:`shared_clones`.
    n_pairings
        Number of independent random pairings (>= 1).
    min_clones
        Fewest shared clones accepted (LMI needs enough pairs for its two halves).
    random_state
        Seed or Generator; the same seed gives the same pairings.

    Returns
    -------
    A list of :class:`ClonePairing`, each with one row per shared clone.
    """
    n_pairings = check_positive_int(n_pairings, name="n_pairings")
    clones, cells_a, cells_b = shared_clones(
        adata, clone_key=clone_key, condition_key=condition_key, conditions=conditions, restrict=restrict
    )
    if len(clones) < min_clones:
        a, b = resolve_conditions(adata, condition_key, conditions)
        raise ValueError(
            f"found {len(clones)} clones observed under both {condition_key}={a!r} and {condition_key}={b!r}"
            f"{f' (restricted to {dict(restrict)})' if restrict else ''}; at least {min_clones} are needed"
        )
    rng = check_random_state(random_state)
    return [
        ClonePairing(
            clones=clones,
            cells_a=_draw_one_per_clone(cells_a, clones, rng),
            cells_b=_draw_one_per_clone(cells_b, clones, rng),
        )
        for _ in range(n_pairings)
    ]


def get_features(adata: AnnData, *, use_rep: str | None = None, layer: str | None = None) -> np.ndarray | sp.spmatrix:
    """Return the cell x feature matrix to analyse: ``adata.obsm[use_rep]``, ``adata.layers[layer]`` or ``adata.X``.

    Parameters
    ----------
    adata
        The annotated data.
    use_rep
        Key in ``adata.obsm`` (e.g. ``"X_pca"``).
    layer
        Key in ``adata.layers``; neither: ``adata.X``.

    Returns
    -------
    The matrix, dense or sparse as stored (no copy).

    Raises
    ------
    KeyError
        Naming the missing key and listing the available ones.
    ValueError
        If both ``use_rep`` and ``layer`` are given.
    """
    if use_rep is not None and layer is not None:
        raise ValueError("give use_rep or layer, not both")
    if use_rep is not None:
        if use_rep not in adata.obsm:
            raise KeyError(f"use_rep {use_rep!r} not found in obsm; available: {list(adata.obsm.keys())}")
        rep = adata.obsm[use_rep]
        return rep.to_numpy() if isinstance(rep, pd.DataFrame) else rep
    if layer is not None:
        if layer not in adata.layers:
            raise KeyError(f"layer {layer!r} not found; available layers: {list(adata.layers.keys())}")
        return adata.layers[layer]
    if adata.X is None:
        raise ValueError("adata.X is empty; pass layer= or use_rep=")
    return adata.X
