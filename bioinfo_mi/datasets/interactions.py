"""Simulated protein-interaction pairs with a known MI between partners (LMI paper, Section 4.1).

The paper estimates ``I(L; R)`` and ``I(K; T)`` between the ProtT5 embeddings (1024 dimensions) of
annotated OmniPath interaction partners and predicts held-out interactions from a density-ratio
score (Algorithm 2). :func:`simulate_interactions` builds data of that shape whose answer is known.

Construction
------------
1. Two disjoint sets of proteins, *sources* (ligands, kinases) and *targets* (receptors,
   substrates), each split into ``n_families`` families of (near) equal size.
2. A family-level affinity ``A(f_s, f_t)``: a mixture of a random "partner permutation" ``pi``
   and independence, ``A = (1 - c) / K^2 + c / K * [f_t == pi(f_s)]`` (uniform marginals,
   ``K = n_families``). ``I(F_s; F_t)`` increases with ``c`` on ``[0, 1]`` from 0 to ``log2 K``;
   ``c`` is solved for so that ``I(F_s; F_t) = mi_bits`` (:func:`family_affinity`).
3. Interactions are ordered ``(source, target)`` pairs: draw a family pair from ``A``, then a
   source uniformly within ``f_s`` and a target uniformly within ``f_t``; repeated pairs are
   discarded until ``n_pairs`` distinct pairs are collected (annotations list a pair once).
4. Embeddings: every family has a centre in a shared ``latent_dim``-dimensional latent space
   (sources and targets live in the same space, like proteins embedded by one language model);
   a protein is its family centre plus Gaussian spread (``family_spread``, in units of the median
   distance between nearest family centres). A fixed random 2-layer network
   ``tanh(z W1 + b1) W2`` maps the latent to ``d`` dimensions; columns are standardised and
   isotropic noise of relative size ``noise`` is added *once per protein* (a protein has one
   embedding, reused in every pair it belongs to), then columns have unit variance.

Why the MI is known
-------------------
Write ``n_f`` for the number of proteins of family ``f`` and ``a_s``, ``a_t`` for the marginals of
``A``. An interaction drawn from the model is the protein pair ``(s, t)`` with probability
``P(s, t) = A(f_s, f_t) / (n_{f_s} n_{f_t})``, so ``P(s) = a_s(f_s) / n_{f_s}``,
``P(t) = a_t(f_t) / n_{f_t}`` and

    ``P(s, t) / (P(s) P(t)) = A(f_s, f_t) / (a_s(f_s) a_t(f_t))``:

the density ratio depends on the proteins only through their families, and averaging its log
over ``P`` gives ``I(S; T) = I(F_s; F_t)`` exactly -- for any family sizes, because the choice
within a family is uniform and independent of the partner. The embedding of a protein is a fixed
vector, and distinct proteins have distinct embeddings (continuous random draws), so the
embedding determines the protein and ``I(X_s; X_t) = I(S; T) = I(F_s; F_t) = mi_bits``. Nothing
here requires the families to be separated in embedding space; an estimator that smooths over
nearby proteins only recovers the full value when they are (the defaults keep them separated).

Defaults
--------
Chosen to resemble the paper's data and to be recoverable by LMI (``bm.mi(pairs.obsm['source'],
pairs.obsm['target'], method='lmi')``, default preset, 4000 pairs): 16 families per role (so up to
4 bits), 800 proteins per role (5 partners per protein on average, Poisson-like degrees), families
tight in the latent (``family_spread=0.05``) and per-protein noise of half the signal's standard
deviation (``noise=0.5``). Measured on CPU over data seeds 0-4: LMI gives 0.97-1.08 bits at
``mi_bits=1`` and 2.39-2.51 bits at ``mi_bits=2.5``; permuted targets give -0.03 to 0.04. Harder
settings bias LMI down: ``noise=1`` stalled training on some seeds (0.58 bits at 1 bit, 2.16 and
2.25 at 2.5 bits), ``noise=3`` gave 0.66 at 1 bit, ``family_spread=0.15`` 0.88 and 2.34.

Sampling without replacement
----------------------------
Discarding repeated pairs makes the realised set a sample *without replacement*, which flattens
over-represented family cells slightly. The plug-in MI of the realised family labels is stored as
``uns['empirical_family_mi_bits']`` (it also carries the usual plug-in bias of about
``(K - 1)^2 / (2 n_pairs ln 2)`` bits, 0.04 at the defaults). At the defaults fewer than 10% of
the possible pairs of a partner cell are drawn; over 40 seeds the plug-in family MI of the distinct
pairs is 0.02-0.04 bits below that of as many i.i.d. draws (1.018 vs 1.041 at 1 bit, 2.505 vs
2.543 at 2.5 bits, standard deviation 0.035 across seeds): the flattening is a few hundredths of a
bit, smaller than the seed-to-seed spread. (The plug-in MI of the realised set over protein
*identities*, ``H(S) + H(T) - log2 n_pairs``, is much larger, about 7 bits at the defaults; it is
stored in ``uns['simulation']['empirical_protein_mi_bits']`` only to show what memorising
individual proteins could inflate an estimate towards.)

Oracle AUC
----------
:func:`oracle_auc` scores a held-out classification task with the true log density ratio
``log A(f_s, f_t) / (a_s a_t)``: every ordered pair of distinct held-out proteins is a candidate,
annotated pairs are positives, everything else negatives, and ordered pairs that cannot interact
(source with source, target with target, target before source) get ``-inf``. The AUC is the
Mann-Whitney statistic (ties count 1/2), computed per family cell without enumerating pairs.
Because roles are disjoint, the role-impossible candidates (about 3/4 of all ordered pairs when
half the held-out proteins are sources) are ranked last for free, so with ``candidates="all"``
the oracle AUC is at least about 0.75 even without any dependence; ``candidates="bipartite"``
scores only (source, target) candidates and is 0.5 at ``mi_bits=0``. At the defaults the two are
about 0.93 and 0.71 at 1 bit, 0.97 and 0.87 at 2.5 bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from .._docs import shared_docs
from .._validation import check_positive_int, check_random_state, check_real
from .clusters import coupling_for_mi, label_joint

if TYPE_CHECKING:
    from anndata import AnnData

__all__ = ["simulate_interactions", "family_affinity", "oracle_auc"]

_HIDDEN = 256  # width of the random embedding network
_GAIN = 1.5  # standard deviation of the pre-activations of its tanh layer
_MAX_FILL = 0.5  # n_pairs may use at most this fraction of all (source, target) pairs


def _table_mi_bits(joint: np.ndarray) -> float:
    """MI (bits) of a joint probability (or count) table."""
    joint = joint / joint.sum()
    nz = joint > 0
    ratio = joint[nz] / np.outer(joint.sum(axis=1), joint.sum(axis=0))[nz]
    return max(0.0, float((joint[nz] * np.log2(ratio)).sum()))


def _plugin_mi_bits(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in MI (bits) of two label arrays (the MI of their empirical joint distribution)."""
    _, a_code = np.unique(a, return_inverse=True)
    _, b_code = np.unique(b, return_inverse=True)
    n_a, n_b = int(a_code.max()) + 1, int(b_code.max()) + 1
    counts = np.bincount(a_code * n_b + b_code, minlength=n_a * n_b).reshape(n_a, n_b)
    return _table_mi_bits(counts.astype(np.float64))


def family_affinity(
    mi_bits: float, n_families: int, random_state: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, float]:
    """Family-level interaction distribution ``A(f_s, f_t)`` with ``I(F_s; F_t) = mi_bits``.

    ``A = (1 - c) / K^2 + c / K * [f_t == pi(f_s)]`` with a random permutation ``pi`` of the ``K``
    target families (the "partner" of each source family) and ``c`` solved for by root finding
    (:func:`bioinfo_mi.datasets.coupling_for_mi`; MI is increasing in ``c``).

    Parameters
    ----------
    mi_bits
        Target ``I(F_s; F_t)`` in bits, ``0 <= mi_bits < log2(n_families)``.
    n_families
        Families per role ``K`` (>= 2).
    random_state
        Seed or Generator for the partner permutation.

    Returns
    -------
    affinity, coupling
        ``(K, K)`` array (rows source families, columns target families) summing to 1, and ``c``.
    """
    n_families = check_positive_int(n_families, name="n_families", minimum=2)
    mi_bits = check_real(mi_bits, name="mi_bits", low=0.0, high=math.log2(n_families), high_inclusive=False)
    coupling = coupling_for_mi(mi_bits, n_families)
    joint = label_joint(coupling, n_families)
    perm = check_random_state(random_state).permutation(n_families)
    return joint[:, perm], coupling


def _family_sizes(n: int, n_families: int) -> np.ndarray:
    return np.full(n_families, n // n_families) + (np.arange(n_families) < n % n_families)


def _sample_pairs(
    affinity: np.ndarray, src_sizes: np.ndarray, tgt_sizes: np.ndarray, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` distinct (source, target) protein indices: i.i.d. draws, repeats discarded in order."""
    n_src_fam, n_tgt_fam = affinity.shape
    src_start = np.r_[0, np.cumsum(src_sizes)[:-1]]
    tgt_start = np.r_[0, np.cumsum(tgt_sizes)[:-1]]
    n_targets = int(tgt_sizes.sum())
    cell_p = affinity.ravel() / affinity.sum()
    codes = np.empty(0, dtype=np.int64)
    for _ in range(200):  # a handful of rounds unless the likely pairs are nearly exhausted
        if codes.size >= n_pairs:
            break
        m = 2 * (n_pairs - codes.size) + 64
        fs, ft = np.divmod(rng.choice(cell_p.size, size=m, p=cell_p), n_tgt_fam)
        s = src_start[fs] + rng.integers(0, src_sizes[fs])
        t = tgt_start[ft] + rng.integers(0, tgt_sizes[ft])
        merged = np.concatenate([codes, s.astype(np.int64) * n_targets + t])
        _, first = np.unique(merged, return_index=True)
        codes = merged[np.sort(first)]
    if codes.size < n_pairs:
        raise ValueError(
            f"could not draw {n_pairs} distinct pairs: the likely family pairs are exhausted; "
            "lower n_pairs or mi_bits, or raise n_proteins"
        )
    codes = codes[:n_pairs]
    return codes // n_targets, codes % n_targets


def _embeddings(
    family: np.ndarray,
    n_families_total: int,
    d: int,
    latent_dim: int,
    family_spread: float,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per-protein embeddings: family centre + spread in the latent, random tanh network, noise."""
    centres = rng.standard_normal((n_families_total, latent_dim))
    dist = cdist(centres, centres)
    np.fill_diagonal(dist, np.inf)
    centres /= np.median(dist.min(axis=1))  # median nearest-centre distance = 1
    z = centres[family] + family_spread * rng.standard_normal((len(family), latent_dim))
    z = (z - z.mean(axis=0)) / z.std()
    w1 = rng.standard_normal((latent_dim, _HIDDEN)) * (_GAIN / math.sqrt(latent_dim))
    b1 = rng.uniform(-1.0, 1.0, size=_HIDDEN)
    w2 = rng.standard_normal((_HIDDEN, d)) / math.sqrt(_HIDDEN)
    signal = np.tanh(z @ w1 + b1) @ w2
    signal = (signal - signal.mean(axis=0)) / signal.std(axis=0)
    emb = signal + noise * rng.standard_normal(signal.shape)
    emb = (emb - emb.mean(axis=0)) / emb.std(axis=0)
    return emb.astype(np.float32)


def _state_for_storage(random_state: int | np.random.Generator | None) -> int | str:
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return "None" if random_state is None else type(random_state).__name__


@shared_docs
def simulate_interactions(
    n_pairs: int = 4000,
    mi_bits: float = 1.0,
    *,
    n_families: int = 16,
    n_proteins: int | tuple[int, int] = 800,
    d: int = 1024,
    latent_dim: int = 4,
    family_spread: float = 0.05,
    noise: float = 0.5,
    random_state: int | np.random.Generator | None = 0,
) -> AnnData:
    """Simulate annotated interaction pairs with a known ``I(source; target)`` (LMI paper, Section 4.1).

    Stand-in for the OmniPath ligand-receptor / kinase-target pairs with ProtT5 embeddings of the
    paper (Section 4.1, Appendix A.4.1). See the module docstring for the construction and the
    argument that the MI between the partners' embeddings equals ``mi_bits`` exactly.

    Parameters
    ----------
    n_pairs
        Number of distinct annotated (source, target) pairs (rows); at most half of all
        source-target combinations.
    mi_bits
        ``I(F_s; F_t) = I(X_s; X_t)`` in bits, ``0 <= mi_bits < log2(n_families)``.
    n_families
        Families per role (>= 2); ``log2(n_families)`` bounds ``mi_bits``.
    n_proteins
        Proteins per role, or ``(n_sources, n_targets)``; each at least ``n_families``. The default
        gives every protein about ``n_pairs / n_proteins = 5`` partners, as in the real data.
    d
        Embedding dimension of each protein, the number of columns of ``obsm['source']`` and
        ``obsm['target']`` (ProtT5: 1024).
    latent_dim
        Dimension of the latent space the families live in (1 <= latent_dim <= d).
    family_spread
        Standard deviation of proteins around their family centre in the latent space, in units of
        the median distance between nearest family centres (> 0). Larger values blur families
        together, which lowers what estimators recover (the truth stays ``mi_bits``).
    noise
        Standard deviation of the per-protein isotropic noise relative to the (unit) standard
        deviation of each signal column (>= 0). Values around 1 and above make LMI underestimate
        on some seeds (module docstring, Defaults).
    {random_state}

    Returns
    -------
    AnnData with one row per pair (index ``"<source_id>_<target_id>"``) and ``X`` an empty
    ``(n_pairs, 0)`` float32 matrix:

    - ``obsm['source']``, ``obsm['target']``: ``(n_pairs, d)`` float32 partner embeddings;
    - ``obs['source_id']``, ``obs['target_id']``: protein ids (``"S0001"``, ``"T0001"``, ...);
      ``obs['source_family']``, ``obs['target_family']``: family names (``"SF01"``, ``"TF01"``, ...);
    - ``uns['embeddings']``: DataFrame of all proteins' embeddings (index protein id, ``d``
      float32 columns ``"0"`` ... ``"<d-1>"``), including proteins in no pair;
    - ``uns['proteins']``: DataFrame (index protein id) with ``role`` (``"source"``/``"target"``),
      ``family`` and ``degree`` (number of pairs);
    - ``uns['family_affinity']``: DataFrame ``A(f_s, f_t)`` (index source, columns target families);
    - ``uns['true_mi_bits']``: ``I(X_s; X_t)`` (= ``mi_bits``, recomputed from ``A``);
    - ``uns['empirical_family_mi_bits']``: plug-in ``I(F_s; F_t)`` of the realised pairs;
    - ``uns['oracle_auc']``: :func:`oracle_auc` over every protein in a pair (an estimate of the
      expected held-out AUC of the true density ratio, ordered pairs of distinct proteins of any
      roles as candidates); ``uns['oracle_auc_bipartite']`` the same with only (source, target)
      candidates;
    - ``uns['simulation']``: every parameter and derived constant (``coupling``, family counts,
      ``empirical_protein_mi_bits``).

    The layout matches :func:`bioinfo_mi.pp.pair_interactions` on real data.
    """
    import anndata as ad

    n_pairs, mi_bits, n_families, n_sources, n_targets = _check_pair_counts(n_pairs, mi_bits, n_families, n_proteins)
    d = check_positive_int(d, name="d")
    latent_dim = check_positive_int(latent_dim, name="latent_dim")
    if latent_dim > d:
        raise ValueError(f"latent_dim must be <= d={d}, got {latent_dim}")
    family_spread = check_real(family_spread, name="family_spread", low=0.0, low_inclusive=False)
    noise = check_real(noise, name="noise", low=0.0)
    rng = check_random_state(random_state)

    # the order of the steps is the order of the draws from rng
    affinity, coupling = family_affinity(mi_bits, n_families, rng)
    src_sizes = _family_sizes(n_sources, n_families)
    tgt_sizes = _family_sizes(n_targets, n_families)
    src, tgt = _sample_pairs(affinity, src_sizes, tgt_sizes, n_pairs, rng)
    src_family = np.repeat(np.arange(n_families), src_sizes)
    tgt_family = np.repeat(np.arange(n_families), tgt_sizes)
    # one latent space for both roles: target families are latent families K..2K-1
    emb = _embeddings(
        np.r_[src_family, tgt_family + n_families], 2 * n_families, d, latent_dim, family_spread, noise, rng
    )

    names = _Names.make(n_sources, n_targets, n_families)
    degree = np.r_[np.bincount(src, minlength=n_sources), np.bincount(tgt, minlength=n_targets)]
    obs = pd.DataFrame(
        {
            "source_id": names.sources[src],
            "target_id": names.targets[tgt],
            "source_family": pd.Categorical(names.source_families[src_family[src]], categories=names.source_families),
            "target_family": pd.Categorical(names.target_families[tgt_family[tgt]], categories=names.target_families),
        },
        index=pd.Index([f"{a}_{b}" for a, b in zip(names.sources[src], names.targets[tgt], strict=True)]),
    )
    pairs = ad.AnnData(X=np.zeros((n_pairs, 0), dtype=np.float32), obs=obs)
    pairs.obsm["source"] = emb[src]
    pairs.obsm["target"] = emb[n_sources + tgt]

    true_mi = _table_mi_bits(affinity)
    empirical_family_mi = _plugin_mi_bits(src_family[src], tgt_family[tgt])
    pairs.uns["embeddings"] = pd.DataFrame(emb, index=names.proteins.copy(), columns=[str(j) for j in range(d)])
    pairs.uns["proteins"] = _protein_table(names, src_family, tgt_family, degree)
    pairs.uns["family_affinity"] = pd.DataFrame(affinity, index=names.source_families, columns=names.target_families)
    pairs.uns["true_mi_bits"] = true_mi
    pairs.uns["empirical_family_mi_bits"] = empirical_family_mi
    pairs.uns["oracle_auc"] = oracle_auc(pairs)
    pairs.uns["oracle_auc_bipartite"] = oracle_auc(pairs, candidates="bipartite")
    pairs.uns["simulation"] = {
        "n_pairs": n_pairs,
        "mi_bits": mi_bits,
        "n_families": n_families,
        "n_sources": n_sources,
        "n_targets": n_targets,
        "d": d,
        "latent_dim": latent_dim,
        "family_spread": family_spread,
        "noise": noise,
        "random_state": _state_for_storage(random_state),
        "coupling": coupling,
        "hidden_width": _HIDDEN,
        "true_mi_bits": true_mi,
        "empirical_family_mi_bits": empirical_family_mi,
        "empirical_protein_mi_bits": _plugin_mi_bits(src, tgt),
        "mean_degree": float(degree.mean()),
    }
    return pairs


def _check_pair_counts(
    n_pairs: Any, mi_bits: Any, n_families: Any, n_proteins: Any
) -> tuple[int, float, int, int, int]:
    """Validate the counts of :func:`simulate_interactions`; return ``n_pairs``, ``mi_bits``,
    ``n_families``, ``n_sources`` and ``n_targets``.
    """
    n_pairs = check_positive_int(n_pairs, name="n_pairs")
    n_families = check_positive_int(n_families, name="n_families", minimum=2)
    mi_bits = check_real(mi_bits, name="mi_bits", low=0.0, high=math.log2(n_families), high_inclusive=False)
    if isinstance(n_proteins, (tuple, list)):
        if len(n_proteins) != 2:
            raise ValueError(f"n_proteins must be an int or (n_sources, n_targets), got {n_proteins!r}")
        n_sources = check_positive_int(n_proteins[0], name="n_proteins[0]", minimum=n_families)
        n_targets = check_positive_int(n_proteins[1], name="n_proteins[1]", minimum=n_families)
    else:
        n_sources = n_targets = check_positive_int(n_proteins, name="n_proteins", minimum=n_families)
    max_pairs = int(_MAX_FILL * n_sources * n_targets)
    if n_pairs > max_pairs:
        raise ValueError(
            f"n_pairs must be <= {max_pairs} (half of the {n_sources} x {n_targets} source-target pairs), "
            f"got {n_pairs}; raise n_proteins"
        )
    return n_pairs, mi_bits, n_families, n_sources, n_targets


class _Names(NamedTuple):
    """Protein ids (``"S0001"``, ``"T0001"``, ...) and family names (``"SF01"``, ``"TF01"``, ...)."""

    sources: np.ndarray
    targets: np.ndarray
    source_families: np.ndarray
    target_families: np.ndarray
    proteins: pd.Index

    @classmethod
    def make(cls, n_sources: int, n_targets: int, n_families: int) -> _Names:
        """Zero-padded names: ids of at least 4 digits, family names of at least 2."""
        width = max(4, len(str(max(n_sources, n_targets))))
        fam_width = max(2, len(str(n_families)))
        sources = np.array([f"S{i + 1:0{width}d}" for i in range(n_sources)], dtype=object)
        targets = np.array([f"T{i + 1:0{width}d}" for i in range(n_targets)], dtype=object)
        source_families = np.array([f"SF{f + 1:0{fam_width}d}" for f in range(n_families)], dtype=object)
        target_families = np.array([f"TF{f + 1:0{fam_width}d}" for f in range(n_families)], dtype=object)
        proteins = pd.Index(np.r_[sources, targets], name="protein_id")
        return cls(sources, targets, source_families, target_families, proteins)


def _protein_table(names: _Names, src_family: np.ndarray, tgt_family: np.ndarray, degree: np.ndarray) -> pd.DataFrame:
    """``uns['proteins']``: role, family and degree of every protein."""
    n_sources, n_targets = len(names.sources), len(names.targets)
    return pd.DataFrame(
        {
            "role": np.r_[np.full(n_sources, "source", dtype=object), np.full(n_targets, "target", dtype=object)],
            "family": np.r_[names.source_families[src_family], names.target_families[tgt_family]],
            "degree": degree.astype(np.int64),
        },
        index=names.proteins,
    )


def _mann_whitney_auc(scores: np.ndarray, n_pos: np.ndarray, n_neg: np.ndarray) -> float:
    """AUC of grouped scores: ``P(score_pos > score_neg) + 1/2 P(tie)`` from per-group counts."""
    levels, inverse = np.unique(scores, return_inverse=True)
    pos = np.bincount(inverse, weights=n_pos, minlength=len(levels))
    neg = np.bincount(inverse, weights=n_neg, minlength=len(levels))
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg))


def oracle_auc(
    pairs: AnnData,
    holdout: Sequence[str] | int | None = None,
    *,
    candidates: Literal["all", "bipartite"] = "all",
    include_self: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> float:
    """ROC AUC of the true log density ratio on a held-out protein set (LMI paper, Section 4.1).

    The score of an ordered candidate pair ``(s, t)`` is ``log P(s, t) / (P(s) P(t)) =
    log A(f_s, f_t) / (a_s(f_s) a_t(f_t))``, the best possible score for telling annotated pairs
    from the rest; pairs that cannot interact get ``-inf``. The labels are the annotated pairs of
    ``pairs`` (its rows). The Mann-Whitney AUC (ties count 1/2) is computed from per-family-cell
    counts of positives and negatives, so memory is ``O(n_families^2)`` whatever the holdout size.

    Parameters
    ----------
    pairs
        Output of :func:`simulate_interactions` (possibly with rows removed: the remaining rows are
        the positives); uses ``obs['source_id']``, ``obs['target_id']``, ``uns['proteins']`` and
        ``uns['family_affinity']``.
    holdout
        Held-out protein ids (of either role, no repeats), e.g. one split of
        :func:`bioinfo_mi.tl.interaction_roc`; an int draws that many of the proteins that occur
        in ``pairs`` at random (the paper holds out 170); ``None`` uses every protein that occurs
        in ``pairs``, which estimates the expected AUC over random hold-outs.
    candidates
        ``"all"``: every ordered pair of distinct held-out proteins (source-source, target-target
        and target-source pairs are negatives scored ``-inf``); ``"bipartite"``: only (held-out
        source, held-out target) pairs.
    include_self
        With ``candidates="all"``, also count the self-pairs ``(i, i)`` as (impossible) negatives,
        as :func:`bioinfo_mi.tl.interaction_roc` does (``n_holdout**2`` candidates).
    random_state
        Seed or Generator for drawing ``holdout`` when it is an int.

    Returns
    -------
    The AUC, or NaN when the held-out set contains no annotated pair (or nothing but them).
    """
    for key in ("proteins", "family_affinity"):
        if key not in pairs.uns:
            raise KeyError(f"uns[{key!r}] not found; oracle_auc needs the output of simulate_interactions")
    for key in ("source_id", "target_id"):
        if key not in pairs.obs:
            raise KeyError(f"obs column {key!r} not found; available: {list(pairs.obs.columns)}")
    if candidates not in ("all", "bipartite"):
        raise ValueError(f"candidates must be 'all' or 'bipartite', got {candidates!r}")
    proteins: pd.DataFrame = pairs.uns["proteins"]
    affinity: pd.DataFrame = pairs.uns["family_affinity"]
    ids = pd.Index(proteins.index.astype(str))
    is_source = proteins["role"].to_numpy() == "source"
    family = proteins["family"].astype(str).to_numpy()
    family_code = np.where(
        is_source,
        pd.Index(affinity.index.astype(str)).get_indexer(family),
        pd.Index(affinity.columns.astype(str)).get_indexer(family),
    )
    n_src_fam, n_tgt_fam = affinity.shape

    s_idx = ids.get_indexer(pairs.obs["source_id"].astype(str))
    t_idx = ids.get_indexer(pairs.obs["target_id"].astype(str))
    if (s_idx < 0).any() or (t_idx < 0).any():
        raise KeyError("obs source_id / target_id contain ids missing from uns['proteins']")
    if not (is_source[s_idx].all() and not is_source[t_idx].any()):
        raise ValueError("every pair must be (source-role protein, target-role protein)")
    codes = np.unique(s_idx.astype(np.int64) * len(ids) + t_idx)  # a pair is one positive however often listed
    s_idx, t_idx = np.divmod(codes, len(ids))
    paired = np.zeros(len(ids), dtype=bool)
    paired[s_idx] = paired[t_idx] = True

    if holdout is None:
        in_holdout = paired
    elif isinstance(holdout, (int, np.integer)) and not isinstance(holdout, bool):
        n_holdout = check_positive_int(holdout, name="holdout", minimum=2)
        if n_holdout > paired.sum():
            raise ValueError(f"holdout must be <= the number of proteins in pairs ({paired.sum()}), got {n_holdout}")
        in_holdout = np.zeros(len(ids), dtype=bool)
        in_holdout[check_random_state(random_state).choice(np.flatnonzero(paired), size=n_holdout, replace=False)] = 1
    elif isinstance(holdout, str):
        raise TypeError(f"holdout must be a sequence of protein ids, an int or None, got the string {holdout!r}")
    else:
        held = pd.Index(np.asarray(list(holdout), dtype=object).astype(str))
        if held.has_duplicates:
            raise ValueError(f"holdout repeats protein ids: {held[held.duplicated()].unique()[:5].tolist()}")
        where = ids.get_indexer(held)
        if (where < 0).any():
            raise KeyError(f"holdout ids not among the proteins: {held[where < 0][:5].tolist()}")
        in_holdout = np.zeros(len(ids), dtype=bool)
        in_holdout[where] = True

    keep = in_holdout[s_idx] & in_holdout[t_idx]
    n_cells = n_src_fam * n_tgt_fam
    pos = np.bincount(family_code[s_idx[keep]] * n_tgt_fam + family_code[t_idx[keep]], minlength=n_cells)
    held_src = np.bincount(family_code[is_source & in_holdout], minlength=n_src_fam)
    held_tgt = np.bincount(family_code[~is_source & in_holdout], minlength=n_tgt_fam)
    neg = np.outer(held_src, held_tgt).ravel() - pos

    table = affinity.to_numpy(dtype=np.float64)
    table = table / table.sum()
    with np.errstate(divide="ignore"):
        score = np.log(table) - np.log(table.sum(axis=1))[:, None] - np.log(table.sum(axis=0))[None, :]
    # rounding merges cells whose ratios are equal up to float noise into one tie group
    score = np.round(score, 9).ravel()
    if candidates == "all":
        n_held = int(in_holdout.sum())
        impossible = n_held * (n_held - 1) - int(held_src.sum()) * int(held_tgt.sum())
        if include_self:
            impossible += n_held
        score, pos, neg = np.r_[score, -np.inf], np.r_[pos, 0], np.r_[neg, impossible]
    return _mann_whitney_auc(score, pos.astype(np.float64), neg.astype(np.float64))
