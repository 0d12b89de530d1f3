"""Clustered, non-Gaussian data whose MI equals a known discrete label MI.

Construction (after the resampling benchmark of the LMI paper, Gowri et al. 2024, Section 3.2 and
Appendix A.3.2, Theorem 4, with synthetic clusters in place of MNIST digits / protein embeddings):

1. Draw label pairs ``(Lx, Ly)`` from a known joint distribution on ``{0..m-1}^2``,

   ``P = (1 - c) p p^T + c diag(p)``,

   with shared marginal ``p`` (uniform by default) and *coupling* ``c``: ``c = 0`` gives independent
   labels, ``c = 1`` gives ``Ly = Lx``. For two uniform classes ``c`` is exactly the correlation
   ``Cor(Lx, Ly)`` used in the paper. ``I(Lx; Ly)`` is computed exactly from ``P``
   (:func:`clustered_mi`) and is increasing in ``c`` on ``[0, 1]`` (MI is convex in the channel),
   so a target MI is reached by root finding.
2. Map each label to a cluster, independently for ``X`` and for ``Y`` (each side has its own random
   geometry): a latent point ``z = mu_L + A_L u`` in ``R^q`` (``q = latent_dim``), with ``u`` a
   standard Gaussian *truncated* to the ball ``||u|| <= R`` (``R^2`` the 95% quantile of
   ``chi^2_q``), ``A_L = Q_L diag(s_L)`` a random rotation times random scales in ``[0.25, 1]``
   (anisotropic blobs), and centres ``mu`` rescaled so that the smallest distance between two centres
   is ``2 R * separation``. Then ``x = tanh(z W + b)`` with a fixed random ``q x d`` matrix ``W``
   (full column rank) and bias ``b``.

Why the MI is known
-------------------
With ``separation > 1`` the cluster supports (balls of radius ``R * max(s) <= R`` around the centres)
are disjoint, and ``z -> tanh(z W + b)`` is injective (``tanh`` is strictly monotone per unit and
``W`` has full column rank), so ``X`` determines ``Lx`` exactly: ``H(Lx | X) = H(Ly | Y) = 0``. Given
its label, each sample is drawn independently of everything else, so ``Ly -> Lx -> X`` and
``Lx -> Ly -> Y``, and Theorem 4 of the LMI paper gives ``I(X; Y) = I(Lx; Ly)``. (In floating point
the clusters are separated by a wide margin, so the labels are recoverable from ``X`` by nearest
centre; note ``X`` lies on a ``q``-dimensional manifold in ``R^d`` -- low intrinsic dimension,
the regime latent MI targets.)

The returned MI is the *population* value ``I(Lx; Ly)``, not the plug-in MI of the drawn labels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.spatial.distance import pdist
from scipy.stats import chi2

from .._docs import shared_docs
from .._validation import check_positive_int, check_random_state, check_real

__all__ = ["clustered", "clustered_mi", "label_joint", "coupling_for_mi"]

_MIN_SCALE = 0.25  # smallest axis scale of an anisotropic blob (largest is 1)
_TANH_GAIN = 1.5  # standard deviation of the pre-activations of the random tanh layer


def _class_weights(class_weights: Any, n_clusters: int) -> np.ndarray:
    if class_weights is None:
        return np.full(n_clusters, 1.0 / n_clusters)
    try:
        p = np.asarray(class_weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"class_weights must be {n_clusters} positive numbers, got {class_weights!r}") from err
    if p.shape != (n_clusters,):
        raise ValueError(f"class_weights must have length n_clusters={n_clusters}, got shape {p.shape}")
    if not np.isfinite(p).all() or (p <= 0).any():
        raise ValueError(f"class_weights must be finite and > 0, got {p.tolist()}")
    return p / p.sum()


def _coupling_bounds(p: np.ndarray) -> tuple[float, float]:
    """Range of ``c`` for which ``(1 - c) p p^T + c diag(p)`` is a probability table."""
    return float(np.max(-p / (1.0 - p))), 1.0


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _mi_from_joint(joint: np.ndarray) -> float:
    px = joint.sum(axis=1)
    py = joint.sum(axis=0)
    nz = joint > 0
    ratio = joint[nz] / np.outer(px, py)[nz]
    return max(0.0, float((joint[nz] * np.log2(ratio)).sum()))


def label_joint(coupling: float, n_clusters: int = 2, class_weights: Any = None) -> np.ndarray:
    """Joint label distribution ``P = (1 - c) p p^T + c diag(p)`` used by :func:`clustered`.

    Parameters
    ----------
    coupling
        ``c``; must keep every entry of ``P`` non-negative: ``max_i(-p_i / (1 - p_i)) <= c <= 1``
        (``[-1/(m-1), 1]`` for uniform ``p``).
    n_clusters
        Number of classes ``m`` per variable (>= 2).
    class_weights
        Marginal ``p`` of both ``Lx`` and ``Ly`` (``m`` positive numbers, normalised); uniform if
        ``None``.

    Returns
    -------
    ``(m, m)`` array, rows indexed by ``Lx`` and columns by ``Ly``, summing to 1.
    """
    n_clusters = check_positive_int(n_clusters, name="n_clusters", minimum=2)
    p = _class_weights(class_weights, n_clusters)
    low, high = _coupling_bounds(p)
    c = check_real(coupling, name="coupling", low=low, high=high)
    joint = (1.0 - c) * np.outer(p, p) + c * np.diag(p)
    return np.clip(joint, 0.0, None)


@shared_docs
def clustered_mi(coupling: float, n_clusters: int = 2, class_weights: Any = None) -> float:
    """Exact ``I(Lx; Ly)`` in bits for the joint of :func:`label_joint` (= ``I(X; Y)`` of :func:`clustered`).

    For two uniform classes this is ``1 - H_b((1 + c) / 2)`` with ``H_b`` the binary entropy.

    Parameters
    ----------
    coupling
        The coupling ``c`` in ``[0, 1]`` of :func:`label_joint`.
    {label_classes}

    Returns
    -------
    The mutual information in bits.
    """
    return _mi_from_joint(label_joint(coupling, n_clusters, class_weights))


@shared_docs
def coupling_for_mi(mi_bits: float, n_clusters: int = 2, class_weights: Any = None) -> float:
    """Coupling ``c`` in ``[0, 1]`` with ``clustered_mi(c, n_clusters, class_weights) == mi_bits``.

    Parameters
    ----------
    mi_bits
        Target MI, in ``[0, H(p)]`` (``log2(n_clusters)`` for uniform classes).
    {label_classes}

    Returns
    -------
    The coupling ``c``.
    """
    n_clusters = check_positive_int(n_clusters, name="n_clusters", minimum=2)
    p = _class_weights(class_weights, n_clusters)
    h = _entropy_bits(p)
    b = check_real(mi_bits, name="mi_bits", low=0.0, high=h)
    if b == 0.0:
        return 0.0
    if b >= h:
        return 1.0
    return float(brentq(lambda c: _mi_from_joint(label_joint(c, n_clusters, p)) - b, 0.0, 1.0, xtol=1e-14))


def _truncated_normal(rng: np.random.Generator, n: int, q: int, radius: float) -> np.ndarray:
    """``n`` standard normal vectors in ``R^q`` conditioned on ``||u|| <= radius`` (rejection)."""
    u = rng.standard_normal((n, q))
    bad = np.flatnonzero(np.einsum("ij,ij->i", u, u) > radius * radius)
    while bad.size:
        u[bad] = rng.standard_normal((bad.size, q))
        bad = bad[np.einsum("ij,ij->i", u[bad], u[bad]) > radius * radius]
    return u


def _embed(labels: np.ndarray, n_clusters: int, d: int, q: int, separation: float, rng: np.random.Generator):
    """Sample the clusters of one variable: anisotropic truncated blobs in ``R^q`` -> random tanh layer."""
    radius = math.sqrt(chi2.ppf(0.95, q))
    # random, well-separated centres: min pairwise distance = 2 * radius * separation
    centres = rng.standard_normal((n_clusters, q))
    min_dist = pdist(centres).min()
    while min_dist <= 1e-8:  # coincident centres: astronomically unlikely, redraw
        centres = rng.standard_normal((n_clusters, q))
        min_dist = pdist(centres).min()
    centres *= 2.0 * radius * separation / min_dist
    centres -= centres.mean(axis=0)
    # anisotropic shapes A_c = Q_c diag(s_c), ||A_c||_2 <= 1
    shapes = np.empty((n_clusters, q, q))
    for c in range(n_clusters):
        qmat, rmat = np.linalg.qr(rng.standard_normal((q, q)))
        qmat *= np.sign(np.diag(rmat))  # Haar-distributed rotation
        shapes[c] = qmat * rng.uniform(_MIN_SCALE, 1.0, size=q)
    # fixed random tanh layer, scaled so pre-activations have standard deviation ~ _TANH_GAIN
    spread = math.sqrt(float((centres**2).sum(axis=1).mean()) + q)
    w = rng.standard_normal((q, d)) * (_TANH_GAIN / spread)
    b = rng.uniform(-0.5, 0.5, size=d)

    u = _truncated_normal(rng, labels.size, q, radius)
    z = centres[labels] + np.einsum("nij,nj->ni", shapes[labels], u)
    return np.tanh(z @ w + b)


@shared_docs
def clustered(
    n_samples: int = 800,
    d: int = 50,
    n_clusters: int = 2,
    mi_bits: float | None = None,
    *,
    coupling: float | None = None,
    class_weights: Any = None,
    latent_dim: int | None = None,
    separation: float = 3.0,
    return_labels: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, float] | tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """Clustered non-Gaussian ``(X, Y)`` with ``I(X; Y) = I(Lx; Ly)`` known exactly (LMI paper, Section 3.2).

    See the module docstring for the construction and the argument that ``H(Lx | X) = 0`` and hence
    ``I(X; Y) = I(Lx; Ly)`` (LMI paper, Appendix A.3.2, Theorem 4).

    Parameters
    ----------
    n_samples
        Number of samples (>= 1).
    d
        Ambient dimension of ``X`` and of ``Y`` (>= latent_dim).
    n_clusters
        Number of label classes / clusters per variable (>= 2).
    mi_bits
        Target ``I(Lx; Ly)`` in bits, in ``[0, H(p)]`` (``log2(n_clusters)`` for uniform classes);
        the coupling is solved for (:func:`coupling_for_mi`). Give ``mi_bits`` or ``coupling``, not
        both; if neither, ``mi_bits = 0.5``.
    coupling
        Label coupling ``c`` of :func:`label_joint` (for two uniform classes, ``Cor(Lx, Ly)``).
    class_weights
        Marginal class probabilities shared by ``Lx`` and ``Ly`` (uniform if ``None``).
    latent_dim
        Dimension ``q`` of the latent blobs (1 <= q <= d); default ``min(d, 4)``.
    separation
        Smallest distance between two cluster centres divided by the largest possible sum of two
        cluster radii (> 1 makes the cluster supports disjoint; default 3).
    return_labels
        Also return the integer labels ``Lx`` and ``Ly``.
    {random_state}

    Returns
    -------
    x, y, mi_bits
        Two float64 ``(n_samples, d)`` arrays (values in ``(-1, 1)``) and the exact ``I(Lx; Ly) = I(X; Y)`` in
        bits. With ``return_labels=True``, additionally ``labels_x, labels_y`` (int arrays of
        length ``n_samples``).
    """
    n = check_positive_int(n_samples, name="n_samples")
    d = check_positive_int(d, name="d")
    n_clusters = check_positive_int(n_clusters, name="n_clusters", minimum=2)
    q = min(d, 4) if latent_dim is None else check_positive_int(latent_dim, name="latent_dim")
    if q > d:
        raise ValueError(f"latent_dim must be <= d={d}, got {q}")
    separation = check_real(separation, name="separation", low=1.0, low_inclusive=False)
    if mi_bits is not None and coupling is not None:
        raise ValueError("give mi_bits or coupling, not both")
    p = _class_weights(class_weights, n_clusters)
    if coupling is None:
        coupling = coupling_for_mi(0.5 if mi_bits is None else mi_bits, n_clusters, p)
    joint = label_joint(coupling, n_clusters, p)
    true_mi = _mi_from_joint(joint)
    rng = check_random_state(random_state)

    cells = rng.choice(n_clusters * n_clusters, size=n, p=joint.ravel() / joint.sum())
    labels_x, labels_y = np.divmod(cells, n_clusters)
    x = _embed(labels_x, n_clusters, d, q, separation, rng)
    y = _embed(labels_y, n_clusters, d, q, separation, rng)
    if return_labels:
        return x, y, true_mi, labels_x, labels_y
    return x, y, true_mi
