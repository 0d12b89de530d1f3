"""Per-feature attribution of a latent MI (LMI) fit: which input features carry the dependence.

The LMI paper (Appendix A.2.3) reads the element-wise reconstruction error of the cross-decoders
(MNIST pixels) as a map of where the information lies, and names its flaw: a feature with no
variation has a low error and looks informative although it contributes nothing. Both scores here
are computed on the held-out (estimation) half of the fit only and give constant features exactly 0:

- ``"cross_r2"``: the fraction of each feature's held-out variance that the cross-decoder explains
  from the *other* variable's latent, ``R^2_g = 1 - SSE_g / SST_g``. Dividing the A.2.3 error by
  the feature's own held-out variance is what removes the caveat.
- ``"permutation"``: the drop of the held-out mean pMI (KSG on the latents, as :func:`lmi` computes
  it) when one feature is permuted across the held-out rows (permutation importance).

``"cross_r2"`` is the default. On the lineage simulator at the paper's scale (1200 clones, 1000
genes kept; benchmarks/bench_attribution.py, docs/benchmarks.md) its top-K genes held 84-90 % truly
informative ones in both comparisons and on both sides, against 24-35 % for ``"permutation"``:
permuting one gene of a thousand hardly moves the held-out pMI of a model that reads them all, so
the drop is mostly KSG noise. ``"permutation"`` also took 4 times as long (one KSG per gene and fit).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from scipy.spatial import cKDTree

from .._validation import check_pair, check_positive_int, check_random_state, seed_from
from ._cmi import latent_condition
from ._knn import ksg_pointwise
from ._lmi import scaled_condition
from ._result import LMIResult

__all__ = ["Attribution", "attribution"]

Score = Literal["cross_r2", "permutation"]
#: the scores :func:`attribution` computes, and the one ``tl.lmi(attribution=True)`` uses
SCORES: tuple[str, ...] = ("cross_r2", "permutation")
DEFAULT_SCORE = "cross_r2"

#: float32 elements of one permuted batch (chunk of features x held-out rows x widest layer)
_CHUNK_ELEMENTS = 2**24
#: rows per forward pass of a decoder (bounded memory on large held-out sets)
_ROW_BATCH = 4096
#: held-out neighbours in a numeric ``z`` whose codes give a row's prediction from ``z`` alone (conditional
#: ``cross_r2``)
Z_NEIGHBORS = 10


@dataclass(frozen=True, repr=False)
class Attribution:
    """Per-feature attribution of an LMI estimate (:func:`attribution`).

    Attributes
    ----------
    x, y
        ``(d_x,)`` and ``(d_y,)`` float64 scores of the input features of ``x`` and ``y``, in the
        order of the input columns; exactly 0 for features that are constant on the held-out rows
        or were dropped as constant by :func:`lmi`.
    score
        ``"cross_r2"`` or ``"permutation"``.
    unit
        ``"R^2"`` for ``"cross_r2"``; the result's MI unit (``"bits"``, ``"nats"``) for ``"permutation"``.
    n_scored
        Number of held-out samples the scores were computed on (``len(res.test_idx)``).
    params
        Settings used (plain values): ``k``, ``n_repeats`` and the recomputed held-out MI
        ``mi_heldout`` for ``"permutation"``.
    """

    x: np.ndarray
    y: np.ndarray
    score: str
    unit: str
    n_scored: int
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        def top(values: np.ndarray) -> str:
            order = np.argsort(-values, kind="stable")[:3]
            return ", ".join(f"{int(i)}: {values[i]:.3g}" for i in order)

        return (
            f"Attribution(score={self.score!r}, unit={self.unit!r}, n_scored={self.n_scored}, "
            f"d_x={len(self.x)} (top {top(self.x)}), d_y={len(self.y)} (top {top(self.y)}))"
        )


def _check_result(res: Any, score: str) -> Any:
    if not isinstance(res, LMIResult):
        what = f"an MIResult of method {res.method!r}" if hasattr(res, "method") else type(res).__name__
        raise TypeError(
            f"res must be an LMIResult, the result of bm.estimators.lmi(x, y) or bm.mi(x, y, method='lmi'), got {what}"
        )
    if res.model is None or res.test_idx is None:
        raise ValueError("res has no trained model or held-out indices (res.model / res.test_idx is None)")
    if score not in ("cross_r2", "permutation"):
        raise ValueError(f"score must be 'cross_r2' or 'permutation', got {score!r}")
    model = res.model
    if score == "cross_r2" and model.regularizer != "cross":
        raise ValueError(
            f"score='cross_r2' needs the cross-decoders of an LMI fit with regularizer='cross'; this model was "
            f"trained with regularizer={model.regularizer!r}. Use score='permutation' (any regularizer)."
        )
    return model


def _held_out(res: LMIResult, model: Any, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised held-out rows of ``x`` and ``y``, after checking they are the data ``res`` was fitted on."""
    xa, ya = check_pair(x, y, min_samples=1)
    if len(xa) != res.n_samples:
        raise ValueError(
            f"x and y must be the data res was fitted on: res has {res.n_samples} samples, x and y have {len(xa)} rows"
        )
    if (xa.shape[1], ya.shape[1]) != tuple(model.n_features_in):
        raise ValueError(
            f"x and y must have the features the model was trained on: {model.n_features_in[0]} x and "
            f"{model.n_features_in[1]} y features, got {xa.shape[1]} and {ya.shape[1]}"
        )
    test = np.asarray(res.test_idx)
    tx, ty = model.standardize(xa[test], ya[test])
    if res.zx is not None and res.zy is not None:
        zx, zy = model._encode_tensors(tx, ty)
        for name, z, ref in [("x", zx, res.zx[test]), ("y", zy, res.zy[test])]:
            tolerance = 1e-3 * (1.0 + float(np.abs(ref).max()))
            deviation = float(np.abs(z - ref).max())
            if deviation > tolerance:
                raise ValueError(
                    f"x and y do not look like the data res was fitted on: the held-out rows of {name} encode to "
                    f"latents {deviation:.3g} away from res.z{name} (tolerance {tolerance:.3g}); pass the same "
                    "x and y, rows in the same order"
                )
    return tx, ty


def _constant(t: torch.Tensor) -> np.ndarray:
    """Columns with a single value on these rows (exact test, no variance threshold)."""
    return (t.max(dim=0).values == t.min(dim=0).values).cpu().numpy()


@torch.no_grad()
def _cross_r2_per_feature(
    target: torch.Tensor, source: torch.Tensor, encoder: torch.nn.Module, decoder: torch.nn.Module
) -> np.ndarray:
    """Held-out ``1 - SSE_g / SST_g`` per column of ``target`` predicted from the latent of ``source``."""
    target64 = target.double()
    sst = ((target64 - target64.mean(dim=0)) ** 2).sum(dim=0)
    sse = torch.zeros_like(sst)
    for start in range(0, len(target), _ROW_BATCH):
        prediction = decoder(encoder(source[start : start + _ROW_BATCH])).double()
        sse += ((prediction - target64[start : start + _ROW_BATCH]) ** 2).sum(dim=0)
    r2 = np.zeros(target.shape[1])
    scored = ~_constant(target)
    r2[scored] = 1.0 - (sse / sst).cpu().numpy()[scored]
    return r2


def _conditioning(
    res: LMIResult, model: Any, z: Any, score: str
) -> tuple[torch.Tensor, np.ndarray | None, np.ndarray | None] | None:
    """For a conditional fit (decoders that see ``z``): the held-out rows of ``z`` as the decoders see them,
    and the comparison rows of each held-out row, its stratum (``strata``, a categorical ``z``) or its
    :data:`Z_NEIGHBORS` nearest other held-out rows in ``z`` (``neighbors``); None for a plain fit.
    """
    d_condition = int(getattr(model, "d_condition", 0))
    if d_condition == 0:
        if z is not None:
            raise ValueError(
                "z is only for a conditional fit (bm.cmi(..., method='lmi'), latent_cmi or lmi(..., condition=z)); "
                "res was fitted without one"
            )
        return None
    if z is None:
        raise ValueError(f"res is a conditional fit (its decoders see {d_condition} columns of z): pass z=, as fitted")
    if score != "cross_r2":
        raise ValueError(
            "score='permutation' is not defined for a conditional fit; use score='cross_r2' (R^2 beyond z)"
        )
    cond = latent_condition(res, z)
    test = np.asarray(res.test_idx)
    scaled = scaled_condition(cond, np.asarray(res.train_idx))[test]
    c = torch.tensor(scaled, dtype=torch.float32, device=model.x_mean.device)
    if res.params.get("categorical"):
        return c, cond[test].argmax(axis=1), None
    n = len(test)
    m = min(Z_NEIGHBORS, n - 1)
    _, found = cKDTree(scaled).query(scaled, k=m + 1)
    found = np.asarray(found, dtype=np.int64).reshape(n, m + 1)
    own = found == np.arange(n)[:, None]
    own[~own.any(axis=1), -1] = True  # a row not found among its duplicates: drop the farthest instead
    own[np.cumsum(own, axis=1) > 1] = False  # one column per row
    return c, None, found[~own].reshape(n, m)


@torch.no_grad()
def _partial_cross_r2(
    target: torch.Tensor,
    source: torch.Tensor,
    c: torch.Tensor,
    encoder: torch.nn.Module,
    decoder: torch.nn.Module,
    strata: np.ndarray | None,
    neighbors: np.ndarray | None,
) -> np.ndarray:
    """Held-out ``1 - SSE_g / SSE_g(z)`` per column of ``target``: the decoder's error from the partner's code
    and ``z`` against its error from ``z`` alone, the decoder averaged over the codes of the row's stratum
    (leaving the row out) or of its nearest other rows in ``z``.
    """
    n, d = target.shape
    code = torch.cat([encoder(source[i : i + _ROW_BATCH]) for i in range(0, n, _ROW_BATCH)])

    def predict(rows: Any, cs: torch.Tensor) -> torch.Tensor:
        return decoder(torch.cat([code[rows], cs], dim=1)).double()

    if strata is not None and not (np.bincount(strata)[strata] >= 2).any():
        return np.zeros(d)  # no stratum with two held-out rows: nothing to compare
    target64 = target.double()
    sse, sse_z = torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
    usable = np.ones(n, dtype=bool)
    if strata is not None:
        counts = np.bincount(strata)
        usable = counts[strata] >= 2
        ids = torch.as_tensor(strata, device=target.device)
        sums = torch.zeros(len(counts), d, dtype=torch.float64, device=target.device)
        for i in range(0, n, _ROW_BATCH):
            sums.index_add_(0, ids[i : i + _ROW_BATCH], predict(slice(i, i + _ROW_BATCH), c[i : i + _ROW_BATCH]))
    step = _ROW_BATCH if neighbors is None else max(1, _ROW_BATCH // neighbors.shape[1])
    for i in range(0, n, step):
        rows = np.flatnonzero(usable[i : i + step]) + i
        prediction = predict(rows, c[rows])
        if strata is not None:
            left = torch.as_tensor(counts[strata[rows]] - 1, dtype=torch.float64, device=target.device)
            from_z = (sums[ids[rows]] - prediction) / left[:, None]
        else:
            m = neighbors.shape[1]  # type: ignore[union-attr]
            from_z = predict(neighbors[rows].reshape(-1), c[rows].repeat_interleave(m, dim=0))
            from_z = from_z.reshape(len(rows), m, d).mean(dim=1)
        sse += ((prediction - target64[rows]) ** 2).sum(dim=0).cpu()
        sse_z += ((from_z - target64[rows]) ** 2).sum(dim=0).cpu()
    r2 = np.zeros(d)
    scored = ~_constant(target[torch.as_tensor(usable, device=target.device)]) & (sse_z > 0).numpy()
    r2[scored] = 1.0 - (sse / sse_z).numpy()[scored]
    return r2


def _mean_pmi(zx: np.ndarray, zy: np.ndarray, k: int, base: str | float, jitter_seed: int) -> float:
    """Held-out mean pointwise KSG as :func:`lmi` computes it, with a fixed jitter stream."""
    if not (zx.std(axis=0) > 0).any() or not (zy.std(axis=0) > 0).any():
        return 0.0  # a collapsed latent carries no information (lmi's convention)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*duplicated", category=UserWarning)
        pmi = ksg_pointwise(zx, zy, k=k, base=base, random_state=np.random.default_rng(jitter_seed))
    return float(pmi.mean())


@torch.no_grad()
def _permuted_mi(
    t: torch.Tensor,
    encoder: torch.nn.Module,
    other_latent: np.ndarray,
    side: str,
    columns: np.ndarray,
    rng: np.random.Generator,
    mean_pmi: Any,
) -> np.ndarray:
    """Held-out mean pMI with each of ``columns`` of ``t`` permuted across rows (one column at a time)."""
    n, d = t.shape
    widest = max(d, max(m.out_features for m in encoder.modules() if isinstance(m, torch.nn.Linear)))
    chunk = max(1, _CHUNK_ELEMENTS // (n * widest))
    out = np.empty(len(columns))
    rows = torch.arange(n, device=t.device)
    for start in range(0, len(columns), chunk):
        cols = torch.as_tensor(columns[start : start + chunk], device=t.device)
        perms = torch.as_tensor(np.stack([rng.permutation(n) for _ in range(len(cols))]), device=t.device)
        batch = t.unsqueeze(0).repeat(len(cols), 1, 1)
        batch[torch.arange(len(cols), device=t.device)[:, None], rows[None, :], cols[:, None]] = t[perms, cols[:, None]]
        latents = encoder(batch.reshape(-1, d)).reshape(len(cols), n, -1).double().cpu().numpy()
        for i, z in enumerate(latents):
            pair = (z, other_latent) if side == "x" else (other_latent, z)
            out[start + i] = mean_pmi(*pair)
    return out


def attribution(
    res: LMIResult,
    x: Any,
    y: Any,
    *,
    z: Any = None,
    score: Score = "cross_r2",
    n_repeats: int = 1,
    random_state: int | np.random.Generator | None = 0,
) -> Attribution:
    """Attribute an LMI estimate to the input features of ``x`` and ``y``, on held-out samples only.

    Implements the decoder reading of the LMI paper (Appendix A.2.3: element-wise reconstruction
    error of the cross-decoders) with the correction its caveat calls for, and a permutation
    alternative:

    - ``score="cross_r2"`` (default): for each feature ``g`` of ``y``, the fraction of its held-out
      variance that the cross-decoder ``D_XY`` explains from ``x``'s latent,
      ``R^2_g = 1 - SSE_g / SST_g``, with ``SST_g`` the sum of squares around the held-out mean, in
      the model's standardised (and clipped) units; for each feature of ``x`` the same with ``D_YX``
      from ``y``'s latent. A.2.3 reads ``SSE_g`` alone, which makes features without variation look
      informative; dividing by ``SST_g`` removes that. Negative values are kept as computed (the
      decoder predicts that feature worse than its held-out mean does): uninformative features
      then scatter around 0 (slightly below, from overfitting) rather than piling up at a clip,
      so the same statistic on shuffled pairings is a usable null. ``np.clip(scores, 0, None)``
      for display. Needs ``regularizer="cross"``. (``res.extra["cross_r2"]`` is the pooled
      counterpart, with the training mean as the reference predictor.)
    - ``score="permutation"``: ``mi_heldout - mi_heldout_permuted``: the held-out mean pMI (KSG on
      the latents with :func:`lmi`'s ``k``) minus the same after permuting one feature across the
      held-out rows and re-encoding (features of ``x`` permute columns of ``x``, those of ``y``
      columns of ``y``), averaged over ``n_repeats`` permutations, in the result's unit. Every
      KSG call uses one jitter seed, so differences compare like with like. Any regularizer.
      Costs one KSG per feature and repeat; encodings are batched over chunks of features.

    Both scores give exactly 0 to features that are constant on the held-out rows or that
    :func:`lmi` dropped as constant (they are not computed).

    A conditional fit (:func:`~bioinfo_mi.estimators.latent_cmi`, ``bm.cmi(..., method="lmi")``, or
    :func:`lmi` with ``condition``), whose decoders see ``z`` beside the code, is attributed beyond
    ``z``: ``score="cross_r2"`` becomes the partial ``R^2_g = 1 - SSE_g / SSE_g(z)``, the share of a
    feature's held-out error from ``z`` alone that the partner's code removes. ``SSE_g(z)`` is the
    same decoder's error when the row's own partner code is replaced by the average prediction over
    the codes of the other held-out rows of its stratum (a categorical ``z``; rows alone in their
    stratum are not scored) or of its :data:`Z_NEIGHBORS` nearest other held-out rows in ``z``
    (numeric), each with the row's own ``z``: the decoder's prediction from ``z`` alone. A feature that
    the pair shares only through ``z`` (a cell-type marker, given the cell type) then scores near 0.
    ``"permutation"`` is not defined there (``ValueError``).

    Parameters
    ----------
    res
        Result of :func:`bioinfo_mi.estimators.lmi` (or ``bm.mi(x, y, method="lmi")``), with its model.
    x, y
        The data ``res`` was fitted on: ``(N, d_x)``, ``(N, d_y)``, rows in the same order (arrays,
        frames or sparse matrices; not modified). Only the held-out rows ``res.test_idx`` are used.
    z
        A conditional fit's ``z`` (or ``condition``), as it was fitted: ``N`` rows in the same order
        (the stratum codes of a categorical ``z``); required for such a fit, refused for any other.
    score
        ``"cross_r2"`` or ``"permutation"``.
    n_repeats
        Permutations per feature (``"permutation"`` only); the score is the mean drop.
    random_state
        Seed or Generator for the permutations and the KSG jitter (``"permutation"`` only). The same
        seed gives the same scores.

    Returns
    -------
    :class:`Attribution` with ``x`` (``(d_x,)``) and ``y`` (``(d_y,)``) numpy scores, ``score``,
    ``unit``, ``n_scored`` (held-out samples) and ``params``.
    """
    model = _check_result(res, score)
    n_repeats = check_positive_int(n_repeats, name="n_repeats")
    rng = check_random_state(random_state)
    conditioning = _conditioning(res, model, z, score)
    tx, ty = _held_out(res, model, x, y)
    n_test = len(tx)
    dx, dy = model.n_features_in
    was_training = model.training
    model.eval()
    try:
        if score == "cross_r2" and conditioning is not None:
            kept_x = _partial_cross_r2(tx, ty, *conditioning[:1], model.y_encoder, model.yx_decoder, *conditioning[1:])
            kept_y = _partial_cross_r2(ty, tx, *conditioning[:1], model.x_encoder, model.xy_decoder, *conditioning[1:])
            strata, neighbors = conditioning[1:]
            baseline = "stratum" if strata is not None else f"{neighbors.shape[1]} nearest in z"  # type: ignore[union-attr]
            unit, params = "R^2", {"conditional": True, "baseline": baseline}
        elif score == "cross_r2":
            kept_x = _cross_r2_per_feature(tx, ty, model.y_encoder, model.yx_decoder)
            kept_y = _cross_r2_per_feature(ty, tx, model.x_encoder, model.xy_decoder)
            unit, params = "R^2", {}
        else:
            k = int(res.params.get("k", 3))
            if n_test < k + 2:
                raise ValueError(f"score='permutation' needs at least k + 2 = {k + 2} held-out samples, got {n_test}")
            jitter_seed = seed_from(rng)

            def mean_pmi(zx: np.ndarray, zy: np.ndarray) -> float:
                return _mean_pmi(zx, zy, k, res.base, jitter_seed)

            zx, zy = model._encode_tensors(tx, ty)
            reference = mean_pmi(zx, zy)
            kept_x, kept_y = np.zeros(tx.shape[1]), np.zeros(ty.shape[1])
            for kept, t, encoder, other, side in [
                (kept_x, tx, model.x_encoder, zy, "x"),
                (kept_y, ty, model.y_encoder, zx, "y"),
            ]:
                columns = np.flatnonzero(~_constant(t))
                drops = np.zeros(len(columns))
                for _ in range(n_repeats):
                    drops += reference - _permuted_mi(t, encoder, other, side, columns, rng, mean_pmi)
                kept[columns] = drops / n_repeats
            unit = res.base if isinstance(res.base, str) else f"log{res.base:g}"
            params = {"k": k, "n_repeats": n_repeats, "mi_heldout": reference}
    finally:
        model.train(was_training)
    scores_x, scores_y = np.zeros(dx), np.zeros(dy)
    scores_x[model.x_keep if model.x_keep is not None else slice(None)] = kept_x
    scores_y[model.y_keep if model.y_keep is not None else slice(None)] = kept_y
    return Attribution(x=scores_x, y=scores_y, score=score, unit=unit, n_scored=n_test, params=params)
