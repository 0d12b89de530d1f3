"""Preprocessing and pairing on AnnData: expression preprocessing, clone pairings across conditions.

Protein interactions (:mod:`.interactions`): :func:`pair_interactions` pairs partner embeddings
(LMI paper, Section 4.1 / Appendix A.4.1), :func:`normalize_embeddings`, :func:`interaction_proteins`,
and the hold-out splits of ``tl.interaction_roc``: :func:`holdout_splits`, :func:`split_arrays`.
"""

from .interactions import (
    HoldoutSplit,
    holdout_splits,
    interaction_proteins,
    normalize_embeddings,
    pair_interactions,
    split_arrays,
)
from .pairing import ClonePairing, clone_labels, draw_pairings, get_features, shared_clones
from .preprocess import preprocess

__all__ = ["ClonePairing", "clone_labels", "draw_pairings", "get_features", "preprocess", "shared_clones"]
__all__ += [
    "interaction_proteins",
    "normalize_embeddings",
    "pair_interactions",
    "holdout_splits",
    "split_arrays",
    "HoldoutSplit",
]
