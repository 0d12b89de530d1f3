"""Pairing lineage-traced cells across two conditions (LMI paper, Section 4.2, Appendix A.4.2).

A *pairing* takes, for every clone observed under both conditions (two time points, two wells,
any two values of an obs column), one cell under each condition, drawn at random. LMI is then
run on the paired expression states. Clone identity comes from an obs column or, for data
prepared for CoSpar, from ``adata.obsm['X_clone']`` (cells x clones, binary).

Keys. ``clone_key=None`` (the default) reads ``obs['clone']``, else CoSpar's ``obsm['X_clone']``;
``condition_key=None`` reads ``obs['time']``, else CoSpar's ``obs['time_info']``. A key that is
given by name must exist: it is never replaced by a fallback.

Time order. Where an order is needed (which condition is early), the values follow an ordered
categorical's categories, numbers' order, or the numbers inside labels that share one pattern
("d2" < "d6" < "d10", "day 2" < "day 10"); text order is never used (:func:`sorted_values`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._docs import shared_docs
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


#: the clone annotation read when ``clone_key`` is None: this obs column, else :data:`COSPAR_CLONE_KEY`
DEFAULT_CLONE_KEY = "clone"
#: CoSpar's clone matrix in ``obsm`` (cells x clones, binary), read when there is no ``obs['clone']``
COSPAR_CLONE_KEY = "X_clone"
#: the time annotation read when ``condition_key`` / ``time_key`` is None: this obs column, else
#: :data:`COSPAR_TIME_KEY`
DEFAULT_TIME_KEY = "time"
#: CoSpar's time column (strings such as "2", "4", "6"), read when there is no ``obs['time']``
COSPAR_TIME_KEY = "time_info"


def check_adata(adata: Any, *, copy: bool = False) -> AnnData:
    """Return ``adata`` if the AnnData tools can use it, else raise naming what is wrong.

    Views and backed objects are accepted (see the tools' documentation); ``copy=True`` on a backed
    object is refused here, before any fit, because anndata cannot copy it without a file name.
    """
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an AnnData, got {type(adata).__name__}; for two arrays use bioinfo_mi.mi(x, y)")
    if copy and adata.isbacked:
        raise ValueError(
            f"adata is backed by the file {str(adata.filename)!r}, which anndata cannot copy in memory: use "
            "copy=False (results go to the object in memory, the file is not changed) or pass "
            "adata.to_memory()"
        )
    return adata


def _check_key_type(key: Any, what: str) -> None:
    if not isinstance(key, str):
        raise TypeError(f"{what} must be a column name (str) or None, got {key!r}")


def check_obs_key(adata: AnnData, key: str, what: str) -> pd.Series:
    """Return ``obs[key]``, or raise a ``KeyError`` naming the argument ``what``, the key and the columns."""
    _check_key_type(key, what)
    if key not in adata.obs.columns:
        raise KeyError(f"{what}: obs column {key!r} not found; available: {list(adata.obs.columns)}")
    return adata.obs[key]


def resolve_clone_key(adata: AnnData, clone_key: str | None) -> str:
    """Return the clone annotation to read: an obs column, or ``"X_clone"`` for CoSpar's ``obsm['X_clone']``.

    ``None`` reads ``obs['clone']``, else ``obsm['X_clone']``; a name must be an obs column (or
    ``"X_clone"`` with that obsm entry). Raises ``KeyError`` naming ``clone_key`` and what is available.
    """
    check_adata(adata)
    obsm_note = f"; obsm keys: {list(adata.obsm.keys())}"
    if clone_key is None:
        if DEFAULT_CLONE_KEY in adata.obs.columns:
            return DEFAULT_CLONE_KEY
        if COSPAR_CLONE_KEY in adata.obsm:
            return COSPAR_CLONE_KEY
        raise KeyError(
            f"clone_key: no obs column {DEFAULT_CLONE_KEY!r} (the default) and no CoSpar obsm[{COSPAR_CLONE_KEY!r}]; "
            f"pass clone_key= naming the obs column with clone ids; available: {list(adata.obs.columns)}{obsm_note}"
        )
    _check_key_type(clone_key, "clone_key")
    if clone_key in adata.obs.columns:
        return clone_key
    if clone_key == COSPAR_CLONE_KEY:
        if COSPAR_CLONE_KEY in adata.obsm:
            return COSPAR_CLONE_KEY
        raise KeyError(
            f"clone_key: obsm[{COSPAR_CLONE_KEY!r}] not found (nor an obs column of that name); "
            f"available obsm keys: {list(adata.obsm.keys())}"
        )
    hint = f" (CoSpar's clone matrix: clone_key={COSPAR_CLONE_KEY!r})" if COSPAR_CLONE_KEY in adata.obsm else ""
    raise KeyError(f"clone_key: obs column {clone_key!r} not found; available: {list(adata.obs.columns)}{hint}")


def resolve_time_key(adata: AnnData, key: str | None, what: str = "condition_key") -> str:
    """Return the obs column of the conditions: ``key`` when given (it must exist), else ``"time"``, else
    CoSpar's ``"time_info"``. Raises ``KeyError`` naming the argument ``what`` and the columns.
    """
    check_adata(adata)
    if key is None:
        for candidate in (DEFAULT_TIME_KEY, COSPAR_TIME_KEY):
            if candidate in adata.obs.columns:
                return candidate
        raise KeyError(
            f"{what}: no obs column {DEFAULT_TIME_KEY!r} (the default) and no CoSpar {COSPAR_TIME_KEY!r}; pass "
            f"{what}= naming the obs column to compare; available: {list(adata.obs.columns)}"
        )
    check_obs_key(adata, key, what)
    return key


#: clone labels that real tables use for cells without a clone; read as missing, never as one clone
MISSING_CLONE_LABELS = frozenset({"", "NA", "N/A", "na", "nan", "NaN", "None", "none", "null", "-1"})
#: a clone holding more than this share of the cells with a clone (among 10 or more clones) is reported
LARGE_CLONE_SHARE = 0.2


def clone_labels(adata: AnnData, clone_key: str | None = None) -> pd.Series:
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
        no clone). Default ``None``: ``obs['clone']``, else ``obsm['X_clone']``. A name that is
        neither raises ``KeyError`` (never replaced by the CoSpar matrix).

    Returns
    -------
    A Series indexed like ``adata.obs``.

    Raises
    ------
    KeyError
        Naming ``clone_key`` and the available keys.
    ValueError
        If no cell has a clone.
    """
    key = resolve_clone_key(adata, clone_key)
    if key not in adata.obs.columns:  # CoSpar's obsm['X_clone']
        mat = adata.obsm[key]
        mat = sp.csr_matrix(mat) if not sp.issparse(mat) else mat.tocsr()
        mat.eliminate_zeros()
        has = np.diff(mat.indptr) > 0
        if not has.any():
            raise ValueError(f"clone_key: obsm[{key!r}] assigns no clone to any cell (all rows empty)")
        first = np.full(adata.n_obs, -1)
        first[has] = mat.indices[mat.indptr[:-1][has]]  # column of the first stored entry
        labels = pd.Series(np.where(has, first.astype(str), None), index=adata.obs_names, dtype=object)
        labels[has] = "clone_" + labels[has]
        return labels
    col = adata.obs[key]
    labels = col.astype(object).where(col.notna(), None)
    labels = labels.map(lambda v: None if v is None else str(v).strip())
    placeholder = labels.isin(MISSING_CLONE_LABELS)
    labels[placeholder] = None
    if labels.isna().all():
        raise ValueError(
            f"clone_key: obs column {key!r} has no clone assigned to any cell (all missing; placeholders read as "
            f"missing: {sorted(MISSING_CLONE_LABELS)})"
        )
    counts = labels.value_counts()
    if len(counts) >= 10 and counts.iloc[0] > LARGE_CLONE_SHARE * counts.sum():
        warnings.warn(
            f"clone {counts.index[0]!r} of obs[{key!r}] holds {counts.iloc[0]} of the {counts.sum()} cells "
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


def show_values(values: Any) -> str:
    """Values as they are stored: numbers bare, strings quoted (so '2.0' and 2.0 never look alike)."""
    return "[" + ", ".join(repr(_plain_value(v)) for v in values) + "]"


def _present(col: pd.Series) -> list[Any]:
    """Distinct values of ``col`` that occur (an unused category is not one), in order of appearance."""
    return [_plain_value(v) for v in pd.unique(col.dropna())]


#: a number inside a label: "2", "10", "4.5", ".5"
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def _numbers_in_labels(values: Sequence[Any]) -> tuple[list[float] | None, str]:
    """Return the number every value holds, if each holds exactly one in one shared pattern; else None and why.

    A value is a number itself (``2``, ``"2"``, ``"10.0"``), or a label with one number in it and the
    same text around it as every other label (``"d2"``, ``"D4.5"``; ``"day 2"``, ``"Day10"``: case and
    spaces aside). Two values with the same number cannot be ordered.
    """
    numbers: list[float] = []
    patterns: dict[tuple[str, str], Any] = {}
    for value in values:
        if isinstance(value, bool):
            return None, f"{value!r} is not a number or a label with one"
        if isinstance(value, (int, float)):
            number, pattern = float(value), ("", "")
        else:
            text = str(value).strip()
            try:
                number, pattern = float(text), ("", "")
            except ValueError:
                found = _NUMBER.findall(text)
                if len(found) != 1:
                    return None, f"{value!r} holds " + (f"{len(found)} numbers" if found else "no number")
                prefix, _, suffix = text.partition(found[0])
                number, pattern = float(found[0]), (prefix.strip().lower(), suffix.strip().lower())
        if not math.isfinite(number):
            return None, f"{value!r} is not a finite number"
        numbers.append(number)
        patterns.setdefault(pattern, value)
    if len(patterns) > 1:
        examples = ", ".join(repr(v) for v in list(patterns.values())[:3])
        return None, f"the labels do not share one pattern around their numbers ({examples})"
    if len(set(numbers)) < len(numbers):
        return None, "two values hold the same number"
    return numbers, ""


#: what to pass when the values of a column cannot be put in time order
ORDER_HINT = "pass conditions=(early, late) to choose the two values and their order"


def sorted_values(col: pd.Series, *, hint: str = ORDER_HINT) -> list[Any]:
    """Distinct values of ``col`` that occur, in time order, as Python values.

    The order is, in turn: an ordered categorical's category order (the categories that occur); the
    numbers' order for a numeric or datetime column, or for an unordered categorical of numbers; the
    numbers inside the labels when every label holds exactly one number in one shared pattern
    (CoSpar's ``"2"`` < ``"4"`` < ``"10"``; ``"d2"`` < ``"d6"`` < ``"d10"``; ``"day 2"`` < ``"day 10"``;
    ``"D4.5"``). Text order is never used.

    Parameters
    ----------
    col
        The obs column.
    hint
        What the error message asks the user to pass instead.

    Returns
    -------
    The values that occur, earliest first.

    Raises
    ------
    ValueError
        If two or more values occur and none of these orders applies; the message says why and ``hint``.
    """
    present = _present(col)
    if len(present) <= 1:
        return present
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
        used = col.cat.remove_unused_categories().cat.categories
        return [_plain_value(v) for v in used]
    if (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)) or (
        pd.api.types.is_datetime64_any_dtype(col)
    ):
        return sorted(present)
    numbers, why = _numbers_in_labels(present)
    if numbers is None:
        shown = show_values(present[:10]) + (f" and {len(present) - 10} more" if len(present) > 10 else "")
        raise ValueError(
            f"the values of obs[{col.name!r}] {shown} could not be put in time order ({why}; labels are ordered "
            f"by an ordered categorical's categories or by the one number in each label, never as text): {hint}"
        )
    return [v for _, v in sorted(zip(numbers, present, strict=True), key=lambda t: t[0])]


def match_value(col: pd.Series, value: Any, what: str) -> Any:
    """Return the value of ``col`` that ``value`` names.

    In turn: ``value`` itself when it occurs; the same number as stored (``"2"`` or ``"2.0"`` on a
    float column; ``2`` on CoSpar's string ``time_info``); the label holding that number when every
    label holds one number in one pattern (``2`` or ``"2"`` names ``"d2"`` among ``"d2"``, ``"d6"``,
    ``"d10"``). Raises ``ValueError`` listing the stored values otherwise (an unused category does not
    occur).
    """
    value = _plain_value(value)
    present = _present(col)
    try:
        if (col == value).any():
            return value
    except (TypeError, ValueError):  # e.g. a list compared elementwise
        pass
    number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
    if pd.notna(number) and not isinstance(value, bool):
        if pd.api.types.is_numeric_dtype(col):
            if (col == number).any():
                return _plain_value(col[col == number].iloc[0])
        else:
            parsed = pd.to_numeric(pd.Series([str(v) for v in present], dtype=object), errors="coerce").to_numpy()
            hits = [v for v, p in zip(present, parsed, strict=True) if p == number]
            if not hits:
                numbers, _ = _numbers_in_labels(present)
                hits = [v for v, p in zip(present, numbers or [], strict=False) if p == number]
            if len(hits) == 1:
                return hits[0]
    try:
        shown = sorted_values(col)
    except ValueError:
        shown = present
    listed = show_values(shown[:50]) + (f" and {len(shown) - 50} more" if len(shown) > 50 else "")
    raise ValueError(f"{what} {value!r} does not occur in obs[{col.name!r}] (dtype {col.dtype}); values: {listed}")


def _check_restrict(restrict: Any) -> Mapping[str, Any]:
    if restrict is None:
        return {}
    if not isinstance(restrict, Mapping):
        raise TypeError(
            f"restrict must be a mapping {{obs column: value}}, e.g. restrict={{'time': 6}}, got {restrict!r}"
        )
    return restrict


def _condition_mask(adata: AnnData, condition_key: str, value: Any, restrict: Mapping[str, Any] | None) -> np.ndarray:
    col = check_obs_key(adata, condition_key, "condition_key")
    mask = (col == match_value(col, value, "conditions: value")).to_numpy()
    for key, val in _check_restrict(restrict).items():
        rcol = check_obs_key(adata, key, "restrict")
        mask &= (rcol == match_value(rcol, val, f"restrict: value of {key!r}")).to_numpy()
    return mask


def _check_conditions(conditions: Any) -> list[Any]:
    if isinstance(conditions, (str, bytes, Mapping, set, frozenset)) or not isinstance(
        conditions, (Sequence, np.ndarray, pd.Index, pd.Series)
    ):
        raise TypeError(f"conditions must be two values (a, b) in order, e.g. ('d2', 'd6'), got {conditions!r}")
    values = list(conditions)
    if len(values) != 2:
        raise ValueError(f"conditions must be two values (a, b), got {conditions!r}")
    return values


def resolve_conditions(adata: AnnData, condition_key: str | None, conditions: Sequence[Any] | None) -> tuple[Any, Any]:
    """Return the two condition values to compare, earliest first.

    ``conditions`` as given (each matched with :func:`match_value`), or, when None, the two values of
    ``obs[condition_key]`` in time order (:func:`sorted_values`; a ``ValueError`` asks for
    ``conditions=`` when they have no time order). ``condition_key=None`` is ``"time"``, else
    ``"time_info"`` (:func:`resolve_time_key`).
    """
    condition_key = resolve_time_key(adata, condition_key, "condition_key")
    col = adata.obs[condition_key]
    if conditions is None:
        present = _present(col)
        if len(present) != 2:
            try:
                shown = sorted_values(col)
            except ValueError:
                shown = present
            advice = "two are needed to compare" if len(present) < 2 else "pass conditions=(a, b) to choose two"
            raise ValueError(
                f"condition_key: obs[{condition_key!r}] has {len(present)} values {show_values(shown[:10])}"
                f"{' ...' if len(shown) > 10 else ''}; {advice}"
            )
        values = sorted_values(col, hint=f"pass conditions=(early, late), e.g. conditions={tuple(present)!r}")
        return values[0], values[1]
    a, b = (match_value(col, v, "conditions: value") for v in _check_conditions(conditions))
    if a == b:
        raise ValueError(f"conditions must be two different values, got {conditions!r} (both name {a!r})")
    return a, b


def shared_clones(
    adata: AnnData,
    *,
    clone_key: str | None = None,
    condition_key: str | None = None,
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Clones observed under both conditions, and each condition's cells grouped by clone.

    Parameters
    ----------
    adata
        Annotated data with a clone and a condition annotation (a view or a backed object is read as is).
    clone_key
        Obs column with clone ids, or ``"X_clone"`` for CoSpar's ``obsm['X_clone']``. Default ``None``:
        ``obs['clone']``, else ``obsm['X_clone']`` (:func:`clone_labels`). A given name must exist.
    condition_key
        Obs column whose two values are compared (``time``, ``well``, ...). Default ``None``:
        ``obs['time']``, else CoSpar's ``obs['time_info']``. A given name must exist.
    conditions
        The two values ``(a, b)``, ``a`` the early side. Each names a stored value as
        :func:`match_value` reads it: exactly as stored, or the same number (``2`` for ``"2"`` or
        ``2.0``; ``2`` for ``"d2"`` when every label holds one number in one pattern). Default: the two
        values that occur, in time order (:func:`sorted_values`: an ordered categorical's order, the
        numbers, or the number in each label, ``"d2"`` before ``"d10"``); values without such an order
        raise ``ValueError`` asking for ``conditions``.
    restrict
        Extra equality filters on obs, e.g. ``{"time": 6.0}`` for sisters across wells at day 6.

    Returns
    -------
    ``(clones, cells_a, cells_b)``: the shared clone ids (sorted), and for each condition a mapping
    clone -> integer row positions of its cells.

    Raises
    ------
    KeyError
        A key that does not exist, naming the argument and the available keys.
    ValueError
        A value that does not occur, conditions without a time order, no clone assigned.
    """
    check_adata(adata)
    labels = clone_labels(adata, resolve_clone_key(adata, clone_key)).to_numpy()
    condition_key = resolve_time_key(adata, condition_key, "condition_key")
    restrict = _check_restrict(restrict)
    a, b = resolve_conditions(adata, condition_key, conditions)
    groups = []
    for value in (a, b):
        mask = _condition_mask(adata, condition_key, value, restrict) & pd.notna(labels)
        rows = np.flatnonzero(mask)
        groups.append(pd.Series(rows, dtype=np.int64).groupby(labels[rows]).apply(np.asarray).to_dict())
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


@shared_docs
def draw_pairings(
    adata: AnnData,
    *,
    clone_key: str | None = None,
    condition_key: str | None = None,
    conditions: Sequence[Any] | None = None,
    restrict: Mapping[str, Any] | None = None,
    n_pairings: int = 1,
    min_clones: int = 10,
    random_state: int | np.random.Generator | None = 0,
) -> list[ClonePairing]:
    """Draw ``n_pairings`` random clone pairings between two conditions (one cell per clone and condition).

    Parameters
    ----------
    adata, clone_key, condition_key, conditions, restrict
        See :func:`shared_clones` (defaults: ``obs['clone']`` else ``obsm['X_clone']``; ``obs['time']``
        else ``obs['time_info']``; the two values in time order).
    n_pairings
        Number of independent random pairings (>= 1).
    min_clones
        Fewest shared clones accepted (>= 1; LMI needs enough pairs for its two halves).
    {random_state}

    Returns
    -------
    A list of :class:`ClonePairing`, each with one row per shared clone.

    Raises
    ------
    ValueError
        Fewer than ``min_clones`` shared clones: the message gives, for each condition, the cells with a
        clone and their clones, so that a wrong condition or restriction shows.
    """
    n_pairings = check_positive_int(n_pairings, name="n_pairings")
    min_clones = check_positive_int(min_clones, name="min_clones")
    condition_key = resolve_time_key(adata, condition_key, "condition_key")
    clones, cells_a, cells_b = shared_clones(
        adata, clone_key=clone_key, condition_key=condition_key, conditions=conditions, restrict=restrict
    )
    if len(clones) < min_clones:
        a, b = resolve_conditions(adata, condition_key, conditions)
        where = f" (restricted to {dict(restrict)})" if restrict else ""
        sides = "; ".join(
            f"under {condition_key}={value!r}{where}: {sum(len(r) for r in cells.values())} cells with a clone "
            f"from {len(cells)} clones"
            for value, cells in ((a, cells_a), (b, cells_b))
        )
        raise ValueError(
            f"found {len(clones)} clones observed under both {condition_key}={a!r} and {condition_key}={b!r}"
            f"{where}; at least {min_clones} are needed ({sides})"
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


@shared_docs
def get_features(adata: AnnData, *, use_rep: str | None = None, layer: str | None = None) -> np.ndarray | sp.spmatrix:
    """Return the cell x feature matrix to analyse: ``adata.obsm[use_rep]``, ``adata.layers[layer]`` or ``adata.X``.

    Parameters
    ----------
    adata
        The annotated data. Of a backed object (``read_h5ad(..., backed="r")``), ``.X`` is read into
        memory (the fits draw rows of it at random).
    {use_rep}
    {layer}

    Returns
    -------
    The matrix, dense or sparse as stored (no copy, except from a backed file).

    Raises
    ------
    KeyError
        Naming the missing key and listing the available ones.
    ValueError
        If both an ``obsm`` ``use_rep`` and ``layer`` are given.
    """
    x = feature_source(adata, use_rep=use_rep, layer=layer)
    if not isinstance(x, np.ndarray) and not sp.issparse(x):  # a backed file's dataset
        x = x.to_memory() if hasattr(x, "to_memory") else np.asarray(x[()])
    return x


def feature_source(adata: AnnData, *, use_rep: str | None = None, layer: str | None = None) -> Any:
    """:func:`get_features` without reading a backed ``.X`` into memory: the tools read only the rows their
    fits use (:func:`bioinfo_mi._rows.read_rows`). Same arguments and errors as :func:`get_features`.
    """
    check_adata(adata)
    if isinstance(use_rep, str) and use_rep == "X":  # scanpy's name for .X
        use_rep = None
    if use_rep is not None and layer is not None:
        raise ValueError("give use_rep or layer, not both")
    if use_rep is not None:
        _check_key_type(use_rep, "use_rep")
        if use_rep not in adata.obsm:
            raise KeyError(f"use_rep {use_rep!r} not found in obsm; available: {list(adata.obsm.keys())}")
        rep = adata.obsm[use_rep]
        return rep.to_numpy() if isinstance(rep, pd.DataFrame) else rep
    if layer is not None:
        _check_key_type(layer, "layer")
        if layer not in adata.layers:
            raise KeyError(f"layer {layer!r} not found; available layers: {list(adata.layers.keys())}")
        return adata.layers[layer]
    if adata.X is None:
        raise ValueError("adata.X is empty; pass layer= or use_rep=")
    return adata.X
