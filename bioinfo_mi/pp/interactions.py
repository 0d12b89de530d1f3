"""Pairing protein embeddings along annotated interactions (LMI paper, Section 4.1, Appendix A.4.1).

The paper treats every annotated interaction (ligand-receptor, kinase-target) as one joint sample
of the two partners' ProtT5 embeddings and estimates ``I(source; target)`` from these samples.
:func:`pair_interactions` builds that paired sample as an AnnData (one row per pair, partners in
``obsm['source']`` / ``obsm['target']``) and applies the paper's preprocessing: unit-variance
normalisation of every embedding dimension, then clipping at ±10.

The normalisation statistics are computed over *proteins*, each protein once, not over pair
rows: a hub protein in many pairs would otherwise weigh on the statistics once per pair. The raw
embeddings of all proteins are kept (``uns['embeddings']``, read back with
:func:`interaction_proteins`), so a held-out evaluation can re-normalise with training-protein
statistics only, through :func:`normalize_embeddings`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from anndata import AnnData

from .._arrays import normalize_embeddings
from .._docs import shared_docs
from .._parallel import spawn_seeds
from .._validation import check_array, check_positive_int, warn_estimate

__all__ = [
    "pair_interactions",
    "normalize_embeddings",
    "interaction_proteins",
    "holdout_splits",
    "split_arrays",
    "HoldoutSplit",
]


def _scalar_obs_columns(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Return the columns of ``table`` that can live in ``.obs`` and survive ``write_h5ad``, and the names dropped.

    Numbers, booleans and categoricals are kept as they are; columns of strings too (strings with
    missing values become categoricals). Columns holding lists, sets, dicts, or mixed types are
    dropped: they are not per-pair scalars.
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name in table.columns:
        col = table[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            kept[str(name)] = col.cat.remove_unused_categories()
        elif pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            kept[str(name)] = col
        else:
            present = col.dropna()
            if all(isinstance(v, str) for v in present):
                kept[str(name)] = col.astype("category") if len(present) < len(col) else col.astype(object)
                continue
            # numbers or booleans stored as objects (possibly with None): pandas' nullable dtypes
            try:
                converted = pd.Series(pd.array(col.tolist()), index=col.index)
            except (TypeError, ValueError):
                converted = col
            if pd.api.types.is_numeric_dtype(converted.dtype) or pd.api.types.is_bool_dtype(converted.dtype):
                kept[str(name)] = converted
            else:
                dropped.append(str(name))
    return pd.DataFrame(kept, index=table.index), dropped


def _examples(values: Any, n: int = 3) -> list[str]:
    return [str(v) for v in pd.unique(pd.Series(list(values), dtype=object))[:n]]


def pair_interactions(
    embeddings: pd.DataFrame,
    interactions: pd.DataFrame,
    *,
    source_col: str = "source",
    target_col: str = "target",
    normalize: bool = True,
    clip: float | None = 10.0,
) -> AnnData:
    """Paired AnnData of interaction partners' embeddings (LMI paper, Section 4.1, Appendix A.4.1).

    Every interaction becomes one row (one joint sample of the two partners) with the source's
    embedding in ``obsm['source']`` and the target's in ``obsm['target']``, ready for MI
    estimation between the two. Exact duplicate ``(source, target)`` pairs are dropped first (the
    first row is kept; ``(A, B)`` and ``(B, A)`` are different pairs), then pairs with a partner
    that has no embedding or a missing ID (counted in a warning and in ``uns['pairing']``; the
    counts add up: ``n_input = n_duplicates + n_missing_embedding + n_pairs``).

    Preprocessing, as in the paper: each embedding dimension is centred and scaled to unit
    variance, then clipped at ``±clip``. The statistics are those of the *proteins* of the kept
    pairs, each protein counted once however many pairs it is in (no weighting by degree).

    Parameters
    ----------
    embeddings
        One row per protein, indexed by accession (e.g. :func:`bioinfo_mi.datasets.read_prott5_h5`),
        one numeric column per dimension. The index must be unique.
    interactions
        One row per interaction with partner accessions in ``source_col`` / ``target_col`` (e.g.
        :func:`bioinfo_mi.datasets.load_interactions` or :func:`~bioinfo_mi.datasets.read_interactions`).
        Other columns whose values are scalars (gene symbols, flags, scores) are carried to ``.obs``.
    source_col, target_col
        Columns of ``interactions`` with the partners' accessions.
    normalize
        Apply the unit-variance normalisation and clipping. ``False``: ``obsm`` holds the raw
        embeddings (as float32) and ``uns['normalization']`` is not written.
    clip
        Clip normalised values at ``±clip`` (paper: 10); ``None``: no clipping.

    Returns
    -------
    :class:`anndata.AnnData` with one row per kept pair (input order), named ``"<source>_<target>"``:

    - ``X``: empty ``(n_pairs, 0)`` float32 matrix (the data are in ``obsm``);
    - ``obsm['source']``, ``obsm['target']``: ``(n_pairs, dim)`` float32, normalised and clipped
      (raw if ``normalize=False``);
    - ``obs['source_id']``, ``obs['target_id']``: the accessions (str), then the scalar extra
      columns of ``interactions`` (a column named ``source_id`` / ``target_id`` is not copied);
    - ``uns['pairing']``: ``n_input`` (rows of ``interactions``), ``n_duplicates``,
      ``n_missing_embedding``, ``n_pairs``, ``n_proteins``, ``dropped_columns`` (non-scalar
      columns not copied), ``params`` (``source_col``, ``target_col``, ``normalize``, ``clip``;
      ``clip`` is ``inf`` for no clipping);
    - ``uns['normalization']`` (when ``normalize``): ``mean`` and ``std`` (float64, length
      ``dim``), ``clip`` (``inf`` for none) and ``n_proteins``: the statistics behind ``obsm``;
    - ``uns['embeddings']``: DataFrame of the raw (unnormalised) float32 embeddings of every
      protein in a kept pair, once (index ``protein_id``, sorted; columns: the embedding table's
      column names as str, e.g. ``"0"`` … ``"1023"``). :func:`interaction_proteins` returns it, to
      re-normalise held-out splits with :func:`normalize_embeddings` and training statistics;
    - ``uns['proteins']``: DataFrame (same index) with ``role`` (``"source"``, ``"target"`` or
      ``"both"``: the sides the protein appears on) and ``degree`` (int64, number of kept pairs
      it is in).

    ``obsm``, ``obs['source_id']`` / ``['target_id']``, ``uns['embeddings']`` and ``uns['proteins']``
    follow the layout of :func:`bioinfo_mi.datasets.simulate_interactions`, so tools accept both.

    All of it survives ``write_h5ad`` / ``read_h5ad``.

    Raises
    ------
    KeyError
        If ``source_col`` / ``target_col`` is missing (the message lists the columns).
    ValueError
        If no interaction ID matches an embedding ID (the message shows three of each, to spot a
        gene symbol vs accession mix-up), if no pair has embeddings for both partners, if the
        embedding index is not unique, or on non-finite embeddings.
    """
    protein_ids = _check_pairing_args(embeddings, interactions, source_col, target_col, clip)
    sel = _select_pairs(interactions, source_col, target_col, protein_ids)
    kept_sources, kept_targets = sel.sources[sel.keep], sel.targets[sel.keep]
    proteins = np.array(sorted(set(kept_sources) | set(kept_targets)), dtype=object)
    raw = check_array(embeddings.iloc[protein_ids.get_indexer(proteins)], name="embeddings")
    if normalize:
        values, mean, std = normalize_embeddings(raw, clip=clip)
    else:
        values = raw.astype(np.float32)
    row = pd.Index(proteins)
    source_rows, target_rows = row.get_indexer(kept_sources), row.get_indexer(kept_targets)
    obs, dropped_columns = _pair_obs(interactions, sel.keep, source_col, target_col, kept_sources, kept_targets)

    protein_index = pd.Index(proteins.astype(str), name="protein_id", dtype=object)
    role, degree = _roles_and_degrees(source_rows, target_rows, len(proteins))
    clip_value = float(np.inf) if clip is None else float(clip)
    uns: dict[str, Any] = {
        "pairing": {
            "n_input": len(interactions),
            "n_duplicates": sel.n_duplicates,
            "n_missing_embedding": sel.n_missing,
            "n_pairs": sel.n_pairs,
            "n_proteins": len(proteins),
            "dropped_columns": np.array(dropped_columns, dtype=object),
            "params": {
                "source_col": str(source_col),
                "target_col": str(target_col),
                "normalize": bool(normalize),
                "clip": clip_value,
            },
        },
        # str column names: anndata refuses to write int column names of a DataFrame in uns
        "embeddings": pd.DataFrame(
            raw.astype(np.float32), index=protein_index, columns=[str(c) for c in embeddings.columns]
        ),
        "proteins": pd.DataFrame({"role": role, "degree": degree}, index=protein_index.copy()),
    }
    if normalize:
        uns["normalization"] = {"mean": mean, "std": std, "clip": clip_value, "n_proteins": len(proteins)}

    return AnnData(
        X=np.zeros((sel.n_pairs, 0), dtype=np.float32),
        obs=obs,
        obsm={"source": values[source_rows], "target": values[target_rows]},
        uns=uns,
    )


def _check_pairing_args(
    embeddings: Any, interactions: Any, source_col: str, target_col: str, clip: float | None
) -> pd.Index:
    """Validate the arguments of :func:`pair_interactions`; return the embedding IDs as str."""
    if not isinstance(embeddings, pd.DataFrame):
        raise TypeError(f"embeddings must be a DataFrame indexed by protein ID, got {type(embeddings).__name__}")
    if not isinstance(interactions, pd.DataFrame):
        raise TypeError(f"interactions must be a DataFrame, got {type(interactions).__name__}")
    missing = [c for c in (source_col, target_col) if c not in interactions.columns]
    if missing:
        raise KeyError(
            f"interactions: column(s) {missing} not found; available: {[str(c) for c in interactions.columns]}"
        )
    if source_col == target_col:
        raise ValueError(f"source_col and target_col must differ, both are {source_col!r}")
    if clip is not None and not (np.isscalar(clip) and float(clip) > 0):
        raise ValueError(f"clip must be a positive number or None, got {clip!r}")
    protein_ids = embeddings.index.astype(str)
    if not protein_ids.is_unique:
        dup = _examples(protein_ids[protein_ids.duplicated()], 5)
        raise ValueError(f"embeddings: the index must be unique (one row per protein); repeated IDs: {dup}")
    return protein_ids


class _Selection(NamedTuple):
    """Partner IDs of every input row ("" where missing), the rows kept and the counts of the others."""

    sources: np.ndarray
    targets: np.ndarray
    keep: np.ndarray
    n_duplicates: int
    n_missing: int
    n_pairs: int


def _select_pairs(interactions: pd.DataFrame, source_col: str, target_col: str, protein_ids: pd.Index) -> _Selection:
    """Drop exact duplicate pairs, then pairs with a partner without embedding or ID (with a warning)."""
    n_input = len(interactions)
    ids = interactions[[source_col, target_col]].astype(object)
    valid = ids.notna().all(axis=1).to_numpy()
    sources = np.where(valid, ids[source_col].astype(str).to_numpy(), "")
    targets = np.where(valid, ids[target_col].astype(str).to_numpy(), "")

    known = set(protein_ids)
    interaction_ids = set(sources[valid]) | set(targets[valid])
    if not interaction_ids & known:
        raise ValueError(
            "no overlap between interaction IDs and embedding IDs: interactions use e.g. "
            f"{_examples(np.concatenate([sources[valid], targets[valid]]))}, embeddings e.g. "
            f"{_examples(protein_ids)}. Both must use the same identifiers (UniProt accessions)"
        )

    duplicated = pd.DataFrame({"s": sources, "t": targets}).duplicated().to_numpy() & valid
    has_embedding = valid & pd.Series(sources).isin(known).to_numpy() & pd.Series(targets).isin(known).to_numpy()
    keep = ~duplicated & has_embedding
    n_duplicates = int(duplicated.sum())
    n_missing = int((~duplicated & ~has_embedding).sum())
    n_pairs = int(keep.sum())
    if n_pairs == 0:
        raise ValueError(
            f"none of the {n_input} interactions has embeddings for both partners; "
            f"{len(interaction_ids & known)} of their {len(interaction_ids)} proteins have an embedding"
        )
    if n_missing:
        lost = valid & ~has_embedding
        absent = [p for p in np.concatenate([sources[lost], targets[lost]]) if p not in known]
        warnings.warn(
            f"dropped {n_missing} of {n_input} interactions with a partner that has no embedding (or no ID) "
            f"(e.g. {_examples(absent)}); {n_pairs} pairs remain",
            UserWarning,
            stacklevel=3,  # the caller of pair_interactions
        )
    return _Selection(sources, targets, keep, n_duplicates, n_missing, n_pairs)


def _pair_obs(
    interactions: pd.DataFrame,
    keep: np.ndarray,
    source_col: str,
    target_col: str,
    kept_sources: np.ndarray,
    kept_targets: np.ndarray,
) -> tuple[pd.DataFrame, list[str]]:
    """``obs`` of the kept pairs (partner IDs, then the scalar extra columns) and the columns dropped."""
    extra = interactions.loc[keep, [c for c in interactions.columns if c not in (source_col, target_col)]]
    extra = extra.drop(columns=[c for c in extra.columns if str(c) in ("source_id", "target_id")])
    extra, dropped_columns = _scalar_obs_columns(extra.reset_index(drop=True))
    obs = pd.concat([pd.DataFrame({"source_id": kept_sources, "target_id": kept_targets}, dtype=object), extra], axis=1)
    obs.index = pd.Index([f"{s}_{t}" for s, t in zip(kept_sources, kept_targets, strict=True)])
    return obs, dropped_columns


def _roles_and_degrees(
    source_rows: np.ndarray, target_rows: np.ndarray, n_proteins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each protein's role (``"source"``, ``"target"`` or ``"both"``) and degree (pairs it is in, once per pair)."""
    n_as_source = np.bincount(source_rows, minlength=n_proteins)
    n_as_target = np.bincount(target_rows, minlength=n_proteins)
    n_self = np.bincount(source_rows[source_rows == target_rows], minlength=n_proteins)
    degree = (n_as_source + n_as_target - n_self).astype(np.int64)
    role = np.where(n_as_source > 0, np.where(n_as_target > 0, "both", "source"), "target").astype(object)
    return role, degree


def interaction_proteins(pairs: AnnData) -> pd.DataFrame:
    """Raw (unnormalised) embeddings of the proteins of a paired AnnData, as a DataFrame.

    Reads ``pairs.uns['embeddings']`` written by :func:`pair_interactions` (every protein in a kept
    pair, once) or by :func:`bioinfo_mi.datasets.simulate_interactions`. With
    ``pairs.obs['source_id']`` / ``['target_id']`` this is what a held-out evaluation needs to split
    proteins and normalise each split with training statistics (:func:`normalize_embeddings`).

    Parameters
    ----------
    pairs
        Output of :func:`pair_interactions` (also after ``write_h5ad`` / ``read_h5ad``).

    Returns
    -------
    A copy of ``uns['embeddings']``: indexed by protein ID (``protein_id``), float32 values. Column
    names ``"0"`` … ``"dim-1"`` (stored as strings for h5ad) come back as a ``RangeIndex``, as
    :func:`bioinfo_mi.datasets.read_prott5_h5` returns them; other names are kept.

    Raises
    ------
    KeyError
        If ``pairs.uns['embeddings']`` is missing or not a DataFrame.
    """
    stored = pairs.uns.get("embeddings")
    if not isinstance(stored, pd.DataFrame):
        raise KeyError(
            "uns['embeddings'] (a DataFrame of per-protein embeddings) not found; make the pairs with "
            f"bioinfo_mi.pp.pair_interactions (available uns keys: {list(pairs.uns.keys())})"
        )
    frame = stored.copy()
    if [str(c) for c in frame.columns] == [str(i) for i in range(frame.shape[1])]:
        frame.columns = pd.RangeIndex(frame.shape[1])
    return frame


@dataclass(frozen=True)
class HoldoutSplit:
    """One hold-out split: the held-out protein IDs and the pair rows left for training."""

    split: int
    held_out: np.ndarray
    train_rows: np.ndarray
    seed: int


def pair_ids(pairs: AnnData) -> tuple[np.ndarray, np.ndarray]:
    """Return the source and target IDs of every pair (``obs['source_id']``, ``obs['target_id']``) as str
    arrays, or raise a ``KeyError`` saying how to build the pairs (shared with :mod:`bioinfo_mi.tl`).
    """
    missing = [c for c in ("source_id", "target_id") if c not in pairs.obs.columns]
    if missing:
        raise KeyError(
            f"obs columns {missing} not found; available: {list(pairs.obs.columns)}. Build the pairs with "
            "bioinfo_mi.pp.pair_interactions or bioinfo_mi.datasets.simulate_interactions"
        )
    return pairs.obs["source_id"].astype(str).to_numpy(), pairs.obs["target_id"].astype(str).to_numpy()


#: held-out proteins per split in the LMI paper (Section 4.1: 170, i.e. 28 900 candidate pairs), and the share of
#: the proteins that ``n_holdout=None`` holds out where there are fewer than ``PAPER_HOLDOUT / HOLDOUT_SHARE``
PAPER_HOLDOUT, HOLDOUT_SHARE = 170, 0.1


def _default_holdout(n_proteins: int) -> int:
    """Return ``n_holdout=None``'s value: the paper's 170 from 1700 proteins, else a tenth of them (at least 2),
    with an :class:`~bioinfo_mi.EstimateWarning` that says so.
    """
    if n_proteins * HOLDOUT_SHARE >= PAPER_HOLDOUT:
        return PAPER_HOLDOUT
    n_holdout = max(2, int(n_proteins * HOLDOUT_SHARE))
    warn_estimate(
        f"the pairs hold {n_proteins} proteins, fewer than the {int(PAPER_HOLDOUT / HOLDOUT_SHARE)} from which the "
        f"paper's {PAPER_HOLDOUT} held-out proteins per split are a tenth: holding out {n_holdout} (a tenth) instead, "
        f"{n_holdout**2} candidate pairs per split; pass n_holdout to choose",
        "few-proteins",
    )
    return n_holdout


@shared_docs
def holdout_splits(
    pairs: AnnData,
    *,
    n_holdout: int | None = None,
    n_splits: int = 20,
    random_state: int | np.random.Generator | None = 0,
) -> list[HoldoutSplit]:
    """Draw the hold-out splits of :func:`bioinfo_mi.tl.interaction_roc` (LMI paper, Section 4.1).

    Each split holds out ``n_holdout`` distinct proteins, drawn without replacement from the
    proteins that occur in ``pairs``; its training pairs are those with neither partner held out.

    Parameters
    ----------
    pairs
        Paired AnnData with ``obs['source_id']`` and ``obs['target_id']``.
    n_holdout
        Held-out proteins per split (at least 2, fewer than the proteins). ``None`` (the default): the paper's 170
        where the pairs hold at least 1700 proteins (a tenth of them), else a tenth of the proteins (at least 2),
        with an :class:`~bioinfo_mi.EstimateWarning` (kind ``"few-proteins"``).
    n_splits
        Number of splits.
    {random_state}
        It also seeds the per-split fits (:attr:`HoldoutSplit.seed`).

    Returns
    -------
    A list of :class:`HoldoutSplit`.
    """
    if n_holdout is not None:
        n_holdout = check_positive_int(n_holdout, name="n_holdout", minimum=2)
    n_splits = check_positive_int(n_splits, name="n_splits")
    sources, targets = pair_ids(pairs)
    proteins = np.unique(np.concatenate([sources, targets]))
    if n_holdout is None:
        n_holdout = _default_holdout(len(proteins))
    if n_holdout >= len(proteins):
        raise ValueError(
            f"n_holdout={n_holdout} needs more proteins than the {len(proteins)} in the pairs "
            "(some must stay for training); lower n_holdout"
        )
    seeds = spawn_seeds(random_state, n_splits + 1)
    rng = np.random.default_rng(seeds[-1])
    splits = []
    for i in range(n_splits):
        held = np.sort(rng.choice(proteins, size=n_holdout, replace=False))
        involved = np.isin(sources, held) | np.isin(targets, held)
        splits.append(HoldoutSplit(i, held, np.flatnonzero(~involved), seeds[i]))
    return splits


def split_arrays(
    embeddings: pd.DataFrame,
    sources: np.ndarray,
    targets: np.ndarray,
    split: HoldoutSplit,
    *,
    normalize: bool = True,
    clip: float | None = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training pairs and held-out proteins of one split, normalised with training statistics only
    (LMI paper, Section 4.1 and Appendix A.4.1).

    Parameters
    ----------
    embeddings
        Raw per-protein embeddings, one row per protein ID (:func:`interaction_proteins`).
    sources, targets
        Source and target protein IDs of every pair (``pairs.obs['source_id']``, ``['target_id']``).
    split
        One split of :func:`holdout_splits`.
    normalize
        Unit-variance normalisation with the training proteins' statistics (each protein once).
    clip
        Clip the normalised values at ``±clip``; ``None`` does not clip.

    Returns
    -------
    ``(x_train, y_train, held_out, mean, std)``: the source and target embeddings of the
    training pairs, the held-out proteins' embeddings (rows in ``split.held_out`` order), and the
    per-dimension statistics used.
    """
    train_sources, train_targets = sources[split.train_rows], targets[split.train_rows]
    train_proteins = np.unique(np.concatenate([train_sources, train_targets]))
    values = embeddings.to_numpy(dtype=np.float32)
    row = pd.Index(embeddings.index.astype(str))
    if normalize:
        _, mean, std = normalize_embeddings(values[row.get_indexer(train_proteins)], clip=clip)
    else:
        mean, std = np.zeros(values.shape[1]), np.ones(values.shape[1])

    def norm(ids: np.ndarray) -> np.ndarray:
        block = values[row.get_indexer(ids)]
        return normalize_embeddings(block, mean=mean, std=std, clip=clip)[0] if normalize else block

    return norm(train_sources), norm(train_targets), norm(split.held_out), mean, std
