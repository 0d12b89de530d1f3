"""``tl.interaction_roc``: predict held-out protein interactions with the latent k-NN log density ratio
(LMI paper, Section 4.1, Fig. 5c-d, Algorithm 2).

For each split, ``n_holdout`` proteins are drawn without replacement; LMI is trained only on the
pairs that involve no held-out protein, with embeddings normalised by the statistics of the
training proteins alone; every ordered pair of held-out proteins is encoded with the trained
networks and scored by the k-NN log density ratio against the training latents; the label is
whether the ordered pair is an annotated interaction. A baseline score, the cosine similarity of
the raw embeddings, is evaluated on the same candidates. The default score adds k-NN estimates of
the partners' role odds to the density ratio (``score="log_odds"``, see :func:`interaction_roc`).

:func:`interaction_roc` runs the section's four steps, each a function of this module: plan the
splits (:func:`bioinfo_mi.pp.holdout_splits`), fit and score every split through the repeated-fit
layer (:func:`bioinfo_mi.pp.split_arrays`, LMI, Algorithm 2,
:func:`bioinfo_mi.estimators.role_log_ratios`), evaluate the candidates (AUC and ROC), and tabulate.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.metrics import roc_auc_score, roc_curve

from .._cache import fingerprint, load_arrays, save_arrays, signature_defaults
from .._docs import shared_docs
from .._fits import cache_key, held_warnings, method_defaults, warn_held
from .._parallel import check_n_jobs, root_seed, run_parallel
from .._validation import EstimateWarning, check_positive_int
from .._version import __version__
from ..api import mi
from ..estimators import density_ratio_grid, role_log_ratios
from ..estimators._lmi import lmi_can_split
from ..pp.interactions import (
    HoldoutSplit,
    holdout_splits,
    interaction_proteins,
    normalize_embeddings,
    pair_ids,
    split_arrays,
)
from ._utils import check_estimator_kwds, check_fits, plain

__all__ = ["interaction_roc"]

#: fewest held-out positive pairs below which interaction_roc warns that the AUC is anecdotal
MIN_POSITIVES = 20
#: False-positive rates at which every split's ROC curve is stored (for averaging and plotting).
FPR_GRID = np.linspace(0.0, 1.0, 201)


def _cosine(a: np.ndarray) -> np.ndarray:
    unit = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def _roc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray]:
    if labels.all() or not labels.any():
        return float("nan"), np.full(len(FPR_GRID), np.nan)
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(roc_auc_score(labels, scores)), np.interp(FPR_GRID, fpr, tpr)


def _fit_split(
    embeddings: pd.DataFrame,
    sources: np.ndarray,
    targets: np.ndarray,
    split: HoldoutSplit,
    options: dict[str, Any],
    k: int,
    role_neighbors: int,
    normalize: bool,
    clip: float | None,
    max_elements: int,
) -> dict[str, Any]:
    """Train on one split and score every ordered held-out pair (all scores, before choosing candidates); the
    fit's :class:`~bioinfo_mi.EstimateWarning` diagnostics are held (``warn_kinds``, ``warn_messages``) so that the
    tool reports them once (:func:`~bioinfo_mi._fits.warn_held`), also from workers and the cache.
    """
    x_train, y_train, held, mean, std = split_arrays(
        embeddings, sources, targets, split, normalize=normalize, clip=clip
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimateWarning)
        fit = mi(x_train, y_train, method="lmi", random_state=split.seed, **options)
    diagnostics = held_warnings(caught)
    zx_held, zy_held = fit.model.encode(held, held)
    ratio = density_ratio_grid(
        zx_held, zy_held, fit.zx, fit.zy, k=k, random_state=split.seed, max_elements=max_elements
    )
    train_sources, train_targets = sources[split.train_rows], targets[split.train_rows]
    proteins, inverse = np.unique(np.concatenate([train_sources, train_targets]), return_inverse=True)
    n_rows = len(train_sources)
    source_degree = np.bincount(inverse[:n_rows], minlength=len(proteins))
    target_degree = np.bincount(inverse[n_rows:], minlength=len(proteins))
    values = embeddings.to_numpy(dtype=np.float32)[pd.Index(embeddings.index.astype(str)).get_indexer(proteins)]
    if normalize:
        values = normalize_embeddings(values, mean=mean, std=std, clip=clip)[0]
    log_source, log_target = role_log_ratios(values, source_degree, target_degree, held, n_neighbors=role_neighbors)
    position = pd.Index(split.held_out)
    si, ti = position.get_indexer(sources), position.get_indexer(targets)
    both = (si >= 0) & (ti >= 0)
    labels = np.zeros((len(position), len(position)), dtype=bool)
    labels[si[both], ti[both]] = True  # annotated ordered pairs among the held-out proteins
    raw = embeddings.to_numpy(dtype=np.float64)[pd.Index(embeddings.index.astype(str)).get_indexer(split.held_out)]
    return {
        "split": split.split,
        "density_ratio": ratio,
        "log_source": log_source,
        "log_target": log_target,
        "cosine": _cosine(raw),
        "labels": labels,
        "n_train_pairs": len(split.train_rows),
        "mi_train": float(fit.mi),
        "warn_kinds": np.array([kind for kind, _ in diagnostics], dtype=str),
        "warn_messages": np.array([message for _, message in diagnostics], dtype=str),
    }


def _evaluate(result: dict[str, Any], held_out: np.ndarray, roles: pd.Series | None, score: str) -> dict[str, Any]:
    """AUCs and ROC curves of one split's scores on the chosen candidates."""
    scores = {
        "log_odds": result["density_ratio"] + result["log_source"][:, None] + result["log_target"][None, :],
        "density_ratio": result["density_ratio"],
        "cosine": result["cosine"],
    }
    labels = result["labels"]
    if roles is not None:  # bipartite: rows that can be sources, columns that can be targets
        role = roles.reindex(held_out).to_numpy()
        rows, cols = np.isin(role, ("source", "both")), np.isin(role, ("target", "both"))
        scores = {name: m[rows][:, cols] for name, m in scores.items()}
        labels = labels[rows][:, cols]
    row: dict[str, Any] = {"split": int(result["split"])}
    curves = {}
    for name in ("selected", "density_ratio", "cosine"):
        auc, curves[name] = _roc(labels.ravel(), scores[score if name == "selected" else name].ravel())
        row["auc" if name == "selected" else f"auc_{name}"] = auc
    row.update(
        n_holdout=len(held_out),
        n_candidates=labels.size,
        n_positive=int(labels.sum()),
        n_train_pairs=int(result["n_train_pairs"]),
        mi_train=float(result["mi_train"]),
    )
    return {"row": row, "curves": curves}


def _cache_path(
    folder: Path,
    embeddings: pd.DataFrame,
    sources: np.ndarray,
    targets: np.ndarray,
    split: HoldoutSplit,
    settings: dict[str, Any],
    defaults: dict[str, Any],
) -> Path:
    """Return the split's file, named by the fit-cache key that every tool uses (see ``cache_dir``)."""
    key = cache_key(
        method="lmi",
        options=settings["options"],
        seed=split.seed,
        data=fingerprint(embeddings),
        rows=(sources, targets, split.held_out),
        defaults=defaults,
        extra={name: settings[name] for name in ("k", "role_neighbors", "normalize", "clip")},
    )
    return folder / f"{key}.npz"


def _load_split(path: Path, split: HoldoutSplit) -> dict[str, Any]:
    """Read one split's scores from the cache, checked against the split (every field, every shape)."""
    h = len(split.held_out)
    shapes = {
        "split": (),
        "density_ratio": (h, h),
        "log_source": (h,),
        "log_target": (h,),
        "cosine": (h, h),
        "labels": (h, h),
        "n_train_pairs": (),
        "mi_train": (),
        "warn_kinds": (-1,),
        "warn_messages": (-1,),
    }
    arrays = load_arrays(path, shapes)
    if int(arrays["split"]) != split.split:
        raise ValueError(f"holds split {int(arrays['split'])}, not {split.split}")
    return {name: arrays[name] if len(shape) else arrays[name].item() for name, shape in shapes.items()}


def _check_training_pairs(plan: list[HoldoutSplit], options: Mapping[str, Any]) -> int:
    """Refuse, before any fit, splits that leave LMI too few training pairs for its two halves; return the number
    of held-out proteins per split.
    """
    fewest = min(plan, key=lambda split: len(split.train_rows))
    if not lmi_can_split(len(fewest.train_rows), options.get("k", 3), options):
        raise ValueError(
            f"split {fewest.split} leaves {len(fewest.train_rows)} training pairs (pairs with neither partner among "
            f"its {len(fewest.held_out)} held-out proteins): too few for LMI's two halves; lower n_holdout or add pairs"
        )
    return len(plan[0].held_out)


@shared_docs
def interaction_roc(
    pairs: AnnData,
    *,
    n_holdout: int | None = None,
    n_splits: int = 20,
    k: int = 3,
    score: str = "log_odds",
    role_neighbors: int = 10,
    candidates: str = "all",
    normalize: bool = True,
    clip: float | None = 10.0,
    key_added: str = "interaction_roc",
    copy: bool = False,
    random_state: int | np.random.Generator | None = 0,
    n_jobs: int = -1,
    progress: bool = True,
    max_elements: int = 2**24,
    fits: Sequence[int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    estimator_kwds: Mapping[str, Any] | None = None,
) -> AnnData | None:
    """Held-out interaction prediction with the latent k-NN log density ratio (Section 4.1, Fig. 5c-d).

    For each of ``n_splits`` splits (:func:`bioinfo_mi.pp.holdout_splits`): LMI is trained on the pairs with no
    held-out protein, on embeddings normalised (unit variance, clipped at ``±clip``, Appendix
    A.4.1) with the training proteins' statistics; every ordered pair of held-out proteins
    (``n_holdout**2`` candidates, self-pairs included) is encoded and scored by the k-NN log
    density ratio (Algorithm 2) against the latents of all training pairs; the label is whether
    the ordered pair is annotated in ``pairs``. The cosine similarity of the raw embeddings is the
    baseline score on the same candidates.

    Scores. Algorithm 2's ratio ``log p(a, b) / (p_s(a) p_t(b))`` compares a candidate with the
    *partners'* marginals; it says nothing about whether ``a`` is the kind of protein that appears
    as a source at all (a receptor, say). On the paper's candidate set, every ordered pair of
    held-out proteins, most candidates are role-impossible (receptor-receptor, receptor->ligand),
    and Algorithm 2 scores them as out-of-distribution queries, not low. ``score="log_odds"``
    (default) ranks by the log odds of being annotated among candidates drawn uniformly from the
    proteins, ``log p(a, b) / (q(a) q(b)) = log p(a, b) / (p_s(a) p_t(b)) + log p_s(a) / q(a) +
    log p_t(b) / q(b)``: Algorithm 2 plus two role terms estimated by k-NN regression of the
    training proteins' source and target degrees (:func:`bioinfo_mi.estimators.role_log_ratios`,
    training proteins only). ``score="density_ratio"`` is Algorithm 2 alone, the paper's score; its
    AUC is always reported as ``auc_density_ratio``.

    Parameters
    ----------
    pairs
        Paired AnnData from :func:`bioinfo_mi.pp.pair_interactions` or
        :func:`bioinfo_mi.datasets.simulate_interactions`: ``obs['source_id']``,
        ``obs['target_id']`` and the raw per-protein embeddings in ``uns['embeddings']``.
    n_holdout, n_splits
        Held-out proteins per split (paper: 170, i.e. 28 900 candidates) and number of splits (20). ``n_holdout=None``
        (the default): 170 where the pairs hold at least 1700 proteins, else a tenth of the proteins, with an
        :class:`~bioinfo_mi.EstimateWarning` (:func:`bioinfo_mi.pp.holdout_splits`); ``params["n_holdout"]`` holds
        the number used. A split must leave LMI enough training pairs for its two halves (``ValueError`` before any
        fit otherwise).
    k
        Neighbours of the density-ratio estimator.
    score
        ``"log_odds"`` (Algorithm 2 plus the role terms, see above) or ``"density_ratio"``
        (Algorithm 2 alone); the score of the ``auc`` column.
    role_neighbors
        Neighbours of the role terms (:func:`bioinfo_mi.estimators.role_log_ratios`).
    candidates
        ``"all"`` (the paper's set): every ordered pair of held-out proteins, ``n_holdout**2``.
        ``"bipartite"``: only (source-role, target-role) pairs, with roles from
        ``pairs.uns['proteins']['role']`` (``source`` / ``target`` / ``both``), e.g. ligands x
        receptors; role-impossible pairs then do not inflate the AUC. Note that
        :func:`bioinfo_mi.pp.pair_interactions` derives roles from the annotated pairs themselves.
    normalize, clip
        Per-split normalisation with training statistics, and the clipping bound.
    {key_added}
    {copy}
    {random_state}
        It seeds the splits (held-out proteins) and the fits; the root seed every seed derives from is
        stored as ``params["random_state"]``, so any run can be repeated.
    {n_jobs}
    {progress}
    max_elements
        Joint distances held in memory at a time (candidates x training pairs; 2^24 doubles =
        128 MiB): memory stays bounded for 10^6 candidates (1000 held out), see
        :func:`bioinfo_mi.estimators.density_ratio_grid`.
    {fits}
        Fit ``i`` is split ``i`` (positions ``0..n_splits-1``).
    {cache_dir}
        A split's key also holds the options and defaults of the scoring steps, ``k``,
        ``role_neighbors``, ``normalize``, ``clip`` and the split's held-out proteins; its file holds
        the scores of every ordered held-out pair, so one cache serves any ``candidates`` and ``score``.
    estimator_kwds
        Options of LMI (e.g. ``{"preset": "paper", "epochs": 50}``), checked before any fit as in
        :func:`bioinfo_mi.tl.lmi`. Stored as ``params["estimator_kwds"]``.

    Returns
    -------
    ``None``, or with ``copy=True`` a modified copy of ``pairs`` (the input untouched). Writes
    ``pairs.uns[key_added]``: ``"table"``, one row per split: ``split``, ``auc`` (the ``score``),
    ``auc_density_ratio`` (Algorithm 2 alone), ``auc_cosine`` (baseline), ``n_holdout``,
    ``n_candidates``, ``n_positive``, ``n_train_pairs``, ``mi_train`` (LMI estimate on the
    training pairs, bits), with ``n_candidates`` equal to ``n_holdout**2`` for ``candidates="all"``;
    ``"curves"`` (DataFrame ``split``, ``score`` in {``score``, ``"density_ratio"``, ``"cosine"``},
    ``fpr``, ``tpr``: each ROC curve on a fixed FPR grid); ``"holdout"`` (DataFrame ``split``,
    ``protein_id``); ``"params"`` (every parameter used, and ``version``, the package version). A
    split whose candidates hold no annotated pair (or only annotated pairs) gets AUC NaN. With ``fits``
    nothing is written and ``None`` is returned.
    """
    k = check_positive_int(k, name="k")
    max_elements = check_positive_int(max_elements, name="max_elements")
    role_neighbors = check_positive_int(role_neighbors, name="role_neighbors")
    n_jobs = check_n_jobs(n_jobs)
    check_fits(fits, cache_dir, random_state)
    options = check_estimator_kwds(None, "lmi", estimator_kwds, "tl.interaction_roc")
    if candidates not in ("all", "bipartite"):
        raise ValueError(f"candidates must be 'all' or 'bipartite', got {candidates!r}")
    if score not in ("log_odds", "density_ratio"):
        raise ValueError(f"score must be 'log_odds' or 'density_ratio', got {score!r}")
    roles = _candidate_roles(pairs) if candidates == "bipartite" else None
    embeddings = interaction_proteins(pairs)
    sources, targets = pair_ids(pairs)
    unknown = sorted((set(sources) | set(targets)) - set(embeddings.index.astype(str)))
    if unknown:
        raise ValueError(f"{len(unknown)} proteins of the pairs have no row in uns['embeddings'], e.g. {unknown[:3]}")
    random_state = root_seed(random_state)  # stored with the results: the run can be repeated

    # 1. plan the splits: held-out proteins, the pairs left for training (Section 4.1)
    plan = holdout_splits(pairs, n_holdout=n_holdout, n_splits=n_splits, random_state=random_state)
    n_holdout = _check_training_pairs(plan, options)
    if fits is not None:
        bad = [i for i in fits if not 0 <= int(i) < n_splits]
        if bad:
            raise ValueError(f"fits must be positions in 0..{n_splits - 1}, got {bad}")
    todo = plan if fits is None else [plan[int(i)] for i in fits]
    # 2. fit LMI on each split's training pairs and score every ordered held-out pair (Algorithm 2)
    settings = {
        "options": options,
        "k": k,
        "role_neighbors": role_neighbors,
        "normalize": normalize,
        "clip": clip,
        "max_elements": max_elements,
    }
    results = _fit_splits(
        embeddings, sources, targets, todo, settings, n_jobs=n_jobs, progress=progress, cache_dir=cache_dir
    )
    if fits is not None:
        return None
    held = [tuple(zip(r["warn_kinds"].tolist(), r["warn_messages"].tolist(), strict=True)) for r in results]
    warn_held(held, "splits' LMI fits")
    # 3. evaluate the chosen score on the candidates: AUC and ROC curve per split
    evaluated = [_evaluate(r, split.held_out, roles, score) for r, split in zip(results, plan, strict=True)]
    # 4. tabulate
    params = {
        "n_holdout": n_holdout,
        "n_splits": n_splits,
        "k": k,
        "score": score,
        "role_neighbors": role_neighbors,
        "candidates": candidates,
        "normalize": normalize,
        "clip": float("inf") if clip is None else clip,
        "random_state": random_state,
        "estimator_kwds": options,
        "version": __version__,
    }
    result = _tabulate(evaluated, plan, score, params)
    adata = pairs.copy() if copy else pairs
    adata.uns[key_added] = result
    return adata if copy else None


def _candidate_roles(pairs: AnnData) -> pd.Series:
    proteins = pairs.uns.get("proteins")
    if not isinstance(proteins, pd.DataFrame) or "role" not in proteins.columns:
        raise KeyError(
            "candidates='bipartite' needs pairs.uns['proteins'] with a 'role' column "
            "(written by pp.pair_interactions and datasets.simulate_interactions)"
        )
    return proteins["role"].astype(str).set_axis(proteins.index.astype(str))


def _fit_splits(
    embeddings: pd.DataFrame,
    sources: np.ndarray,
    targets: np.ndarray,
    todo: list[HoldoutSplit],
    settings: dict[str, Any],
    *,
    n_jobs: int,
    progress: bool,
    cache_dir: str | os.PathLike | None,
) -> list[dict[str, Any]]:
    """Step 2 for every split in ``todo``, through the repeated-fit layer (parallel, cached)."""
    paths: list[Path | None] = [None] * len(todo)
    if cache_dir is not None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # besides LMI's, the defaults of the steps that score a split
        defaults = {
            **method_defaults("lmi"),
            **signature_defaults(split_arrays, normalize_embeddings, density_ratio_grid, role_log_ratios),
        }
        paths = [_cache_path(folder, embeddings, sources, targets, split, settings, defaults) for split in todo]
    by_path = {path: split for path, split in zip(paths, todo, strict=True) if path is not None}

    calls = [
        (
            embeddings,
            sources,
            targets,
            split,
            settings["options"],
            settings["k"],
            settings["role_neighbors"],
            settings["normalize"],
            settings["clip"],
            settings["max_elements"],
        )
        for split in todo
    ]
    return run_parallel(
        _fit_split,
        calls,
        n_jobs=n_jobs,
        progress=progress,
        desc="interaction splits",
        unit="split",
        cache=paths,
        load=lambda path: _load_split(path, by_path[path]),
        save=save_arrays,
    )


def _tabulate(
    evaluated: list[dict[str, Any]], plan: list[HoldoutSplit], score: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Step 4: the per-split table, the ROC curves on :data:`FPR_GRID`, the held-out proteins, the parameters."""
    table = pd.DataFrame([e["row"] for e in evaluated])
    few = int(table.n_positive.min())
    if few < MIN_POSITIVES:
        warnings.warn(
            EstimateWarning(
                f"a held-out AUC rests on only {few} positive pair(s) (fewest over the splits; {MIN_POSITIVES} or "
                f"more give an AUC uncertain by about +/-0.1 or less): read the AUC as anecdotal, or raise n_holdout",
                "few-positives",
            ),
            stacklevel=3,
        )
    names = {"selected": score, "density_ratio": "density_ratio", "cosine": "cosine"}
    curves = pd.concat(
        [
            pd.DataFrame({"split": e["row"]["split"], "score": names[name], "fpr": FPR_GRID, "tpr": tpr})
            for e in evaluated
            for name, tpr in e["curves"].items()
            if not (name == "density_ratio" and score == name)
        ],
        ignore_index=True,
    )
    holdout = pd.DataFrame(
        {
            "split": np.repeat([s.split for s in plan], [len(s.held_out) for s in plan]),
            "protein_id": np.concatenate([s.held_out for s in plan]).astype(object),
        }
    )
    return {"table": table, "curves": curves, "holdout": holdout, "params": plain(params)}
