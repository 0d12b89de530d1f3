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
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .._validation import check_array

__all__ = ["pair_interactions", "normalize_embeddings", "interaction_proteins"]


def normalize_embeddings(
    values: Any,
    *,
    mean: Any = None,
    std: Any = None,
    clip: float | None = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-variance normalisation per dimension, then clipping (LMI paper, Appendix A.4.1).

    ``(values - mean) / std``, clipped to ``[-clip, clip]``. Without ``mean`` / ``std`` the
    statistics are those of ``values`` itself (one row per protein, each protein once); pass the
    statistics of a training set to normalise held-out proteins without leakage.

    Parameters
    ----------
    values
        ``(n_proteins, dim)`` array-like (array, DataFrame, ...) of finite numbers.
    mean, std
        Per-dimension statistics (length ``dim``) to use instead of those of ``values``; give both
        or neither. ``std`` must be positive.
    clip
        Clip the normalised values at ``±clip`` (paper: 10); ``None`` does not clip.

    Returns
    -------
    ``(normalized, mean, std)``: the normalised values as a float32 ``(n_proteins, dim)`` array,
    and the float64 statistics used. Computed statistics use ``ddof=1``, as :func:`scanpy.pp.scale`
    (the paper's preprocessing); a dimension with zero variance (or a single protein) gets
    ``std = 1``, so it is centred but not scaled.

    Raises
    ------
    ValueError
        On non-finite or empty ``values``, only one of ``mean`` / ``std`` given, statistics of the
        wrong length, a non-positive ``std``, or ``clip <= 0``.
    """
    data = check_array(values, name="values")
    if clip is not None and not (np.isscalar(clip) and float(clip) > 0):
        raise ValueError(f"clip must be a positive number or None, got {clip!r}")
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (statistics of a training set) or neither")
    if mean is None:
        mean = data.mean(axis=0)
        std = data.std(axis=0, ddof=1) if data.shape[0] > 1 else np.zeros(data.shape[1])
        std[~(std > 0)] = 1.0
    else:
        mean = np.asarray(mean, dtype=np.float64).ravel()
        std = np.asarray(std, dtype=np.float64).ravel()
        for name, stat in (("mean", mean), ("std", std)):
            if stat.shape != (data.shape[1],):
                raise ValueError(f"{name} must have one value per dimension ({data.shape[1]}), got {stat.shape[0]}")
            if not np.isfinite(stat).all():
                raise ValueError(f"{name} contains NaN or infinite values")
        if not (std > 0).all():
            raise ValueError("std must be positive in every dimension")
    data -= mean
    data /= std
    if clip is not None:
        np.clip(data, -clip, clip, out=data)
    return data.astype(np.float32), mean, std


def _scalar_obs_columns(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The columns of ``table`` that can live in ``.obs`` and survive ``write_h5ad``, and the names dropped.

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
            stacklevel=2,
        )

    kept_sources, kept_targets = sources[keep], targets[keep]
    proteins = np.array(sorted(set(kept_sources) | set(kept_targets)), dtype=object)
    raw = check_array(embeddings.iloc[protein_ids.get_indexer(proteins)], name="embeddings")
    if normalize:
        values, mean, std = normalize_embeddings(raw, clip=clip)
    else:
        values = raw.astype(np.float32)
    row = pd.Index(proteins)
    source_rows, target_rows = row.get_indexer(kept_sources), row.get_indexer(kept_targets)

    extra = interactions.loc[keep, [c for c in interactions.columns if c not in (source_col, target_col)]]
    extra = extra.drop(columns=[c for c in extra.columns if str(c) in ("source_id", "target_id")])
    extra, dropped_columns = _scalar_obs_columns(extra.reset_index(drop=True))
    obs = pd.concat([pd.DataFrame({"source_id": kept_sources, "target_id": kept_targets}, dtype=object), extra], axis=1)
    obs.index = pd.Index([f"{s}_{t}" for s, t in zip(kept_sources, kept_targets, strict=True)])

    protein_index = pd.Index(proteins.astype(str), name="protein_id", dtype=object)
    n_as_source = np.bincount(source_rows, minlength=len(proteins))
    n_as_target = np.bincount(target_rows, minlength=len(proteins))
    n_self = np.bincount(source_rows[source_rows == target_rows], minlength=len(proteins))
    degree = (n_as_source + n_as_target - n_self).astype(np.int64)
    role = np.where(n_as_source > 0, np.where(n_as_target > 0, "both", "source"), "target").astype(object)
    clip_value = float(np.inf) if clip is None else float(clip)
    uns: dict[str, Any] = {
        "pairing": {
            "n_input": n_input,
            "n_duplicates": n_duplicates,
            "n_missing_embedding": n_missing,
            "n_pairs": n_pairs,
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
        X=np.zeros((n_pairs, 0), dtype=np.float32),
        obs=obs,
        obsm={"source": values[source_rows], "target": values[target_rows]},
        uns=uns,
    )


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
