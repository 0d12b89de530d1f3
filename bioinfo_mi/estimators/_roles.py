"""k-NN estimates of the partners' role odds, the role part of the ``"log_odds"`` interaction score
(:func:`bioinfo_mi.tl.interaction_roc`, LMI paper Section 4.1).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int

__all__ = ["role_log_ratios"]


def role_log_ratios(
    train_embeddings: np.ndarray,
    source_degree: np.ndarray,
    target_degree: np.ndarray,
    query_embeddings: np.ndarray,
    *,
    n_neighbors: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """k-NN estimates of ``log p_s(a) / q(a)`` and ``log p_t(a) / q(a)`` for query proteins ``a``.

    ``p_s`` (``p_t``) is the distribution of the source (target) partner of an annotated pair and
    ``q`` that of a protein drawn uniformly from the proteins; on a training protein ``j`` the ratio
    is its source (target) degree over the mean degree. For a query it is the mean degree of its
    ``n_neighbors`` nearest training proteins (Euclidean, in the normalised embedding space), with
    one pseudo-neighbour of mean degree so that the log stays finite, over the mean degree. This
    is the role part of the ``"log_odds"`` score of :func:`bioinfo_mi.tl.interaction_roc`.

    Parameters
    ----------
    train_embeddings
        ``(n_train, d)`` embeddings of the training proteins (each once).
    source_degree, target_degree
        ``(n_train,)`` number of training pairs in which each protein is the source / the target.
    query_embeddings
        ``(n_query, d)`` embeddings of the proteins to score (normalised like the training ones).
    n_neighbors
        Neighbours averaged (capped at ``n_train``).

    Returns
    -------
    ``(log_source, log_target)``, two ``(n_query,)`` arrays in nats.
    """
    from sklearn.neighbors import NearestNeighbors

    n_neighbors = min(check_positive_int(n_neighbors, name="n_neighbors"), len(train_embeddings))
    index = NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(train_embeddings)
    neighbours = index.kneighbors(query_embeddings, return_distance=False)
    out = []
    for degree in (np.asarray(source_degree, dtype=np.float64), np.asarray(target_degree, dtype=np.float64)):
        mean = degree.mean()
        smoothed = (degree[neighbours].sum(axis=1) + mean) / (n_neighbors + 1)
        out.append(np.log(smoothed / mean))
    return out[0], out[1]
