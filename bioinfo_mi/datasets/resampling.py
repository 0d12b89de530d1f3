"""Resampled real data with a known mutual information (LMI paper, Section 3.2, Appendix A.3.2-A.3.3).

Construction (Gowri et al. 2024, Section 3.2):

1. Draw label pairs ``L = (Lx, Ly)`` from a bivariate Bernoulli distribution with marginal
   ``P(L = 1) = p`` (paper: 1/2) and correlation ``Cor(Lx, Ly) = rho`` (:func:`label_pairs`). The joint
   table is ``(1 - rho) q q^T + rho diag(q)`` with ``q = (1 - p, p)``, so ``I(Lx; Ly)`` is known in
   closed form (:func:`bernoulli_mi`; ``1 - H_b((1 + rho) / 2)`` bits for ``p = 1/2``) and a target
   MI is reached by root finding (:func:`correlation_for_mi`).
2. Replace every label by a high-dimensional sample of the matching *class* (a digit, a group of
   digits, a species), drawn at random **without replacement** from the source, independently for
   ``X`` and for ``Y`` (:func:`resample_pairs`).

Given its label each sample is drawn independently of everything else, so ``Ly -> Lx -> X`` and
``Lx -> Ly -> Y``; if the class can be read off the sample (``H(Lx | X) = H(Ly | Y) = 0``),
Theorem 4 of the paper (Appendix A.3.2) gives ``I(X; Y) = I(Lx; Ly)``. In general
``I(Lx; Ly) - H(Lx | X) - H(Ly | Y) <= I(X; Y) <= I(Lx; Ly)``, so the truth is exact up to how well
the classes separate, which :func:`class_separability` checks as Appendix A.3.3 does (held-out
accuracy of a classifier over random 1:1 splits).

Why without replacement
    A k-NN estimator sees a repeated image as two points at distance 0, which inflates its counts
    (the estimators warn about duplicated rows). Each image therefore appears at most once in ``X``
    and at most once in ``Y`` (with ``disjoint=True``: at most once in the whole dataset). Exact
    duplicate rows of the source are removed before sampling, and a row that occurs in both classes
    (label not recoverable) is dropped from both. The price is a cap on the sample size:
    :func:`max_pairs`.

Sources
    - :func:`load_digits_source`: scikit-learn's bundled 8 x 8 handwritten digits (1797 images, no
      download). About 180 images per digit are too few for single-digit classes at useful sample
      sizes, so the default classes are two *pairs* of digits, :data:`DIGITS_CLASSES` (see its
      comment for why and how they were chosen).
    - :func:`read_mnist`: MNIST from local files (the four idx files, gzipped or not, or Keras'
      ``mnist.npz``), the paper's "binary MNIST" source with ``digits=(0, 1)``.
    - :func:`read_species_embeddings`: ProtT5 per-protein embeddings labelled by species (the paper's
      E. coli / A. thaliana source), from UniProt ``per-protein.h5`` files or any embedding table.

The MI returned is the *population* ``I(Lx; Ly)``, not the plug-in MI of the labels drawn.
"""

from __future__ import annotations

import gzip
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import normalize_embeddings
from .._docs import shared_docs
from .._validation import check_positive_int, check_random_state, check_real
from .clusters import clustered_mi, coupling_for_mi, label_joint

__all__ = [
    "DIGITS_CLASSES",
    "bernoulli_mi",
    "correlation_for_mi",
    "label_pairs",
    "max_pairs",
    "resample_pairs",
    "class_pools",
    "class_separability",
    "load_digits_source",
    "read_mnist",
    "read_species_embeddings",
]

#: Default classes of the digits source: digits {2, 3} against {4, 6} (360 and 362 images).
#:
#: Why pairs of digits. Without repeating an image the pool of a class caps the sample size
#: (:func:`max_pairs`), and the class structure sets how hard the problem is. Measured with this
#: package (LMI default preset and KSG, 11 datasets at 0-1 bit, one seed each):
#:
#: - single digits (the paper's 0 vs 1; about 180 images each) allow at most about 273 pairs: LMI
#:   trains on about 135 samples and its MSE was 0.012 (KSG 0.005);
#: - groups of five digits (e.g. 0-4 vs 5-9; about 900 images each) allow about 1580 pairs, but each
#:   class is then a mixture of five distant digit clusters, so ``I(X; Y)`` must be read through 25
#:   sub-cluster cells per label pair: at 1 bit and N = 1500 LMI returned about 0.5 bit and KSG 0.66
#:   (the truth is still ~1 bit: a 5-NN classifier recovers the group with 99.5% accuracy);
#: - pairs of digits allow about 600 pairs with two sub-clusters per class (LMI MSE 0.0025, KSG
#:   0.0034 at N = 600), closest to the paper's two-cluster setting at a usable sample size.
#:
#: Which pairs: among all splits of four digits into two pairs, those with no cross-group error of a
#: 5-nearest-neighbour classifier (10-fold cross-validation on the 1797 images, i.e. ``H(L | X) ~ 0``),
#: the one with the largest ratio of between-class to within-class centroid distance (compact,
#: well-separated classes). ``benchmarks/bench_resampling.py`` also reports the other two choices.
DIGITS_CLASSES: tuple[tuple[int, ...], tuple[int, ...]] = ((2, 3), (4, 6))

_Z_CAPACITY = 5.0  # standard deviations of class-count margin in max_pairs


# ----------------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------------


def _weights(p: float) -> tuple[float, float]:
    p = check_real(p, name="p", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return (1.0 - p, p)


def bernoulli_mi(correlation: float, p: float = 0.5) -> float:
    """Exact ``I(Lx; Ly)`` in bits of two Bernoulli(``p``) labels with ``Cor(Lx, Ly) = correlation``.

    Implements the analytic label MI of the LMI paper, Section 3.2 (``= I(X; Y)`` of
    :func:`resample_pairs` under Theorem 4, Appendix A.3.2).

    Parameters
    ----------
    correlation
        Pearson correlation ``rho`` of the labels, in ``[-min(p, 1-p) / max(p, 1-p), 1]`` (the range
        in which the joint table is a distribution; ``[-1, 1]`` for ``p = 1/2``).
    p
        ``P(Lx = 1) = P(Ly = 1)``, in ``(0, 1)``.

    Returns
    -------
    The MI in bits (``1 - H_b((1 + rho) / 2)`` for ``p = 1/2``).
    """
    return clustered_mi(correlation, 2, _weights(p))


def correlation_for_mi(mi_bits: float, p: float = 0.5) -> float:
    """Correlation ``rho`` in ``[0, 1]`` with ``bernoulli_mi(rho, p) == mi_bits`` (LMI paper, Section 3.2).

    Parameters
    ----------
    mi_bits
        Target label MI in bits, in ``[0, H_b(p)]`` (``[0, 1]`` for ``p = 1/2``).
    p
        ``P(Lx = 1) = P(Ly = 1)``, in ``(0, 1)``.

    Returns
    -------
    The correlation (found by root finding; MI increases with ``rho`` on ``[0, 1]``).
    """
    return coupling_for_mi(mi_bits, 2, _weights(p))


def _resolve_correlation(mi_bits: float | None, correlation: float | None, p: float) -> float:
    if mi_bits is not None and correlation is not None:
        raise ValueError("give mi_bits or correlation, not both")
    if mi_bits is None and correlation is None:
        raise ValueError("give the target mi_bits or the label correlation")
    if correlation is None:
        return correlation_for_mi(mi_bits, p)
    label_joint(correlation, 2, _weights(p))  # validates the range
    return float(correlation)


@shared_docs
def label_pairs(
    n_samples: int,
    mi_bits: float | None = None,
    *,
    correlation: float | None = None,
    p: float = 0.5,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` Bernoulli label pairs with a prescribed correlation (LMI paper, Section 3.2).

    Parameters
    ----------
    n_samples
        Number of pairs (>= 1).
    mi_bits
        Target ``I(Lx; Ly)`` in bits (the correlation is solved for); give this or ``correlation``.
    correlation
        ``Cor(Lx, Ly)``; see :func:`bernoulli_mi` for the valid range.
    p
        ``P(Lx = 1) = P(Ly = 1)`` (paper: 1/2).
    {random_state}

    Returns
    -------
    lx, ly
        Two int64 arrays of length ``n_samples`` with values in ``{0, 1}``.
    """
    n = check_positive_int(n_samples, name="n_samples")
    rho = _resolve_correlation(mi_bits, correlation, p)
    joint = label_joint(rho, 2, _weights(p))
    rng = check_random_state(random_state)
    cells = rng.choice(4, size=n, p=joint.ravel() / joint.sum())
    lx, ly = np.divmod(cells, 2)
    return lx.astype(np.int64), ly.astype(np.int64)


# ----------------------------------------------------------------------------------------------
# class pools and sampling without replacement
# ----------------------------------------------------------------------------------------------


def _as_group(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or np.isscalar(value):
        return [value]
    group = list(value)
    if not group:
        raise ValueError("classes: a class must name at least one label")
    return group


def _class_index(labels: np.ndarray, classes: Any) -> tuple[np.ndarray, tuple[list[Any], list[Any]]]:
    """Class index (0, 1, or -1 for rows in neither class) of every row, and the two label groups."""
    if classes is None:
        values = pd.unique(pd.Series(labels))
        if len(values) != 2:
            raise ValueError(
                f"classes: labels hold {len(values)} distinct values ({list(values[:10])}); pass "
                "classes=(label_or_labels_of_class_0, label_or_labels_of_class_1)"
            )
        groups = ([values[0]], [values[1]])
    else:
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) or len(classes) != 2:
            raise ValueError(f"classes must be a pair (class 0, class 1) of labels or label groups, got {classes!r}")
        groups = (_as_group(classes[0]), _as_group(classes[1]))
        overlap = set(groups[0]) & set(groups[1])
        if overlap:
            raise ValueError(f"classes: labels {sorted(map(str, overlap))} are in both classes")
    index = np.full(labels.shape[0], -1, dtype=np.int64)
    for c, group in enumerate(groups):
        hit = pd.Series(labels).isin(group).to_numpy()
        if not hit.any():
            raise ValueError(
                f"classes: class {c} ({group}) matches no label; labels hold e.g. "
                f"{list(pd.unique(pd.Series(labels))[:10])}"
            )
        index[hit] = c
    return index, groups


def _row_keys(x: np.ndarray) -> np.ndarray:
    """One hashable key per row (exact byte equality)."""
    x = np.ascontiguousarray(x)
    return x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()


def class_pools(data: Any, labels: Any, classes: Any = None, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return the two pools of distinct samples that :func:`resample_pairs` draws from (LMI paper, Section 3.2).

    Rows of ``data`` whose label is in neither class are ignored; exact duplicate rows within a
    class are kept once, and a row that occurs in both classes is dropped from both (its label could
    not be recovered from it, which Theorem 4 requires).

    Parameters
    ----------
    data
        ``(n_source, dim)`` array of samples (images, embeddings), finite numbers.
    labels
        Length ``n_source`` labels (ints or strings).
    classes
        ``(class_0, class_1)``, each a label or a sequence of labels (a group, e.g. several digits);
        ``None`` if ``labels`` hold exactly two values (class 0 is the first to occur).
    warn
        Warn when duplicate rows were dropped.

    Returns
    -------
    pool_0, pool_1
        The distinct samples of each class (same dtype as ``data``, float arrays kept as they are).
    """
    x = np.asarray(data)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"data must be a non-empty 2-D array (samples x features), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"data must hold real numbers, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError("data contains NaN or infinite values")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != x.shape[0]:
        raise ValueError(f"labels must be 1-D with one label per row of data ({x.shape[0]}), got shape {lab.shape}")
    index, groups = _class_index(lab, classes)
    keep = index >= 0
    x, index = x[keep], index[keep]
    keys = _row_keys(x)
    frame = pd.DataFrame({"key": keys, "c": index})
    in_both = frame.groupby("key", sort=False)["c"].transform("nunique").to_numpy() > 1
    first = ~frame.duplicated("key").to_numpy()
    ok = first & ~in_both
    n_dropped = int(x.shape[0] - ok.sum())
    if n_dropped and warn:
        warnings.warn(
            f"class_pools: dropped {n_dropped} duplicated row(s) of data ({int(in_both.sum())} in both "
            "classes); each remaining sample is distinct",
            stacklevel=2,
        )
    pools = (x[ok & (index == 0)], x[ok & (index == 1)])
    for c in (0, 1):
        if pools[c].shape[0] == 0:
            raise ValueError(f"classes: class {c} ({groups[c]}) has no distinct sample left")
    return pools


def max_pairs(class_sizes: Sequence[int], p: float = 0.5, *, disjoint: bool = False) -> int:
    """Largest sample size for which drawing without replacement almost never runs out of samples.

    The class counts of a dataset are random (binomial); ``n_samples`` is accepted when every class's
    expected need plus 5 standard deviations fits in its pool (failure probability below about
    1e-6 per dataset). Used by the task factories of :mod:`bioinfo_mi.benchmark.resampling_tasks`.

    Parameters
    ----------
    class_sizes
        Number of distinct samples of class 0 and class 1 (see :func:`class_pools`).
    p
        ``P(L = 1)``.
    disjoint
        As in :func:`resample_pairs`: ``False`` needs ``n_x(c)`` and ``n_y(c)`` each to fit in pool
        ``c``; ``True`` needs ``n_x(c) + n_y(c)`` to fit (checked at the worst case ``rho = 1``).

    Returns
    -------
    The largest admissible ``n_samples`` (0 if none).
    """
    sizes = [check_positive_int(int(s), name="class_sizes") for s in class_sizes]
    if len(sizes) != 2:
        raise ValueError(f"class_sizes must have two entries, got {len(sizes)}")
    weights = _weights(p)
    best = []
    for size, w in zip(sizes, weights, strict=True):
        # need(n) = a n + z sqrt(b n) <= size, solved for sqrt(n)
        a, b = (2.0 * w, 4.0 * w * (1.0 - w)) if disjoint else (w, w * (1.0 - w))
        root = (-_Z_CAPACITY * math.sqrt(b) + math.sqrt(_Z_CAPACITY**2 * b + 4.0 * a * size)) / (2.0 * a)
        best.append(int(math.floor(root**2)))
    return max(0, min(best))


def draw_from_pools(
    pools: tuple[np.ndarray, np.ndarray],
    n: int,
    correlation: float,
    p: float,
    disjoint: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` label pairs and replace each label by a sample of its class (shared with
    :mod:`bioinfo_mi.benchmark`; not part of the public API).

    ``pools`` are the two classes' samples (:func:`class_pools`); the labels come from
    :func:`label_pairs` with ``correlation`` and ``p``; every sample is used at most once per side
    (at most once in the whole draw with ``disjoint``). Returns ``(x, y, lx, ly)``.
    """
    lx, ly = label_pairs(n, correlation=correlation, p=p, random_state=rng)
    dtype = np.result_type(pools[0].dtype, pools[1].dtype)
    x = np.empty((n, pools[0].shape[1]), dtype=dtype)
    y = np.empty_like(x)
    for c, pool in enumerate(pools):
        rows_x, rows_y = np.flatnonzero(lx == c), np.flatnonzero(ly == c)
        need = rows_x.size + rows_y.size if disjoint else max(rows_x.size, rows_y.size)
        if need > pool.shape[0]:
            raise ValueError(
                f"n={n}: this draw needs {need} distinct samples of class {c} but the source has "
                f"{pool.shape[0]}; lower n (max_pairs gives a safe size)"
                + ("" if not disjoint else " or use disjoint=False")
            )
        if disjoint:
            pick = rng.choice(pool.shape[0], size=need, replace=False)
            x[rows_x], y[rows_y] = pool[pick[: rows_x.size]], pool[pick[rows_x.size :]]
        else:
            x[rows_x] = pool[rng.choice(pool.shape[0], size=rows_x.size, replace=False)]
            y[rows_y] = pool[rng.choice(pool.shape[0], size=rows_y.size, replace=False)]
    return x, y, lx, ly


@shared_docs
def resample_pairs(
    data: Any,
    labels: Any,
    n_samples: int,
    mi_bits: float | None = None,
    *,
    correlation: float | None = None,
    classes: Any = None,
    p: float = 0.5,
    disjoint: bool = False,
    return_labels: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, float] | tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """Resample real data into pairs ``(X, Y)`` with ``I(X; Y) = I(Lx; Ly)`` (LMI paper, Section 3.2).

    Draws ``n_samples`` Bernoulli label pairs (:func:`label_pairs`) and replaces each label by a sample of
    its class, drawn at random without replacement, independently for ``X`` and ``Y``. Under
    ``H(Lx | X) = H(Ly | Y) = 0`` (check with :func:`class_separability`) the true MI is
    ``I(Lx; Ly)`` (Theorem 4, Appendix A.3.2).

    Parameters
    ----------
    data
        ``(n_source, dim)`` source samples (images, embeddings).
    labels
        One label per row of ``data``.
    n_samples
        Number of pairs (>= 1); at most about :func:`max_pairs` of the class sizes.
    mi_bits
        Target ``I(Lx; Ly)`` in bits, in ``[0, H_b(p)]``; give this or ``correlation``.
    correlation
        Label correlation ``rho`` (the paper's parameter).
    classes
        ``(class_0, class_1)``, each a label or a group of labels (e.g. :data:`DIGITS_CLASSES`);
        ``None`` if ``labels`` hold exactly two values. See :func:`class_pools` (duplicates dropped).
    p
        ``P(L = 1)`` of both labels (paper: 1/2).
    disjoint
        ``False`` (default): a sample appears at most once in ``X`` and at most once in ``Y``
        (``X`` and ``Y`` draw independently, as the construction requires). ``True``: at most once
        in the whole dataset (about half the largest ``n_samples``).
    return_labels
        Also return ``lx, ly``.
    {random_state}

    Returns
    -------
    x, y, mi_bits
        Two ``(n_samples, dim)`` arrays (dtype of ``data``) and the exact ``I(Lx; Ly)`` in bits. With
        ``return_labels=True`` also the int label arrays ``lx, ly``.

    Raises
    ------
    ValueError
        If a class has fewer distinct samples than the draw needs (lower ``n_samples``), or on invalid
        ``mi_bits`` / ``correlation`` / ``classes``.
    """
    n = check_positive_int(n_samples, name="n_samples")
    rho = _resolve_correlation(mi_bits, correlation, p)
    pools = class_pools(data, labels, classes)
    x, y, lx, ly = draw_from_pools(pools, n, rho, p, bool(disjoint), check_random_state(random_state))
    true_mi = bernoulli_mi(rho, p)
    if return_labels:
        return x, y, true_mi, lx, ly
    return x, y, true_mi


@shared_docs
def class_separability(
    data: Any,
    labels: Any,
    classes: Any = None,
    *,
    classifier: str = "logistic",
    n_splits: int = 100,
    max_samples: int | None = 4000,
    random_state: int | np.random.Generator | None = 0,
) -> dict[str, float]:
    """Held-out accuracy of predicting the class from a sample (LMI paper, Appendix A.3.3).

    Evidence that ``H(L | X) ~ 0``, the assumption under which ``I(X; Y) = I(Lx; Ly)``: over
    ``n_splits`` random stratified 1:1 train/test splits a classifier is trained on one half and
    scored on the other. The paper uses L2-penalised logistic regression with ``lambda = 1`` and
    reports a mean accuracy > 0.98 (SEM < 1e-3) for binary MNIST and for the two proteomes. A
    linear classifier understates separability when a class is a group (e.g. five digits), so
    ``classifier="knn"`` (5 nearest neighbours) is offered as well.

    Parameters
    ----------
    data, labels, classes
        As in :func:`class_pools` (duplicates dropped, rows in neither class ignored).
    classifier
        ``"logistic"`` (scikit-learn ``LogisticRegression(C=1)``, the paper's) or ``"knn"``.
    n_splits
        Number of random 1:1 splits (paper: 100).
    max_samples
        Use a random subset of at most this many samples (``None``: all), to bound the time.
    {random_state}

    Returns
    -------
    ``{"accuracy": mean test accuracy, "sem": its standard error over splits, "n_splits",
    "n_samples"}``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit
    from sklearn.neighbors import KNeighborsClassifier

    if classifier not in ("logistic", "knn"):
        raise ValueError(f"classifier must be 'logistic' or 'knn', got {classifier!r}")
    n_splits = check_positive_int(n_splits, name="n_splits")
    rng = check_random_state(random_state)
    pools = class_pools(data, labels, classes, warn=False)
    x = np.vstack(pools).astype(np.float64)
    target = np.repeat([0, 1], [pools[0].shape[0], pools[1].shape[0]])
    if max_samples is not None and x.shape[0] > check_positive_int(max_samples, name="max_samples", minimum=4):
        pick = rng.choice(x.shape[0], size=max_samples, replace=False)
        x, target = x[pick], target[pick]
    splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=0.5, random_state=int(rng.integers(2**31)))
    accuracies = []
    for train, test in splitter.split(x, target):
        model = LogisticRegression(C=1.0, max_iter=2000) if classifier == "logistic" else KNeighborsClassifier(5)
        accuracies.append(model.fit(x[train], target[train]).score(x[test], target[test]))
    acc = np.asarray(accuracies)
    sem = float(acc.std(ddof=1) / math.sqrt(acc.size)) if acc.size > 1 else float("nan")
    return {"accuracy": float(acc.mean()), "sem": sem, "n_splits": float(acc.size), "n_samples": float(x.shape[0])}


# ----------------------------------------------------------------------------------------------
# sources
# ----------------------------------------------------------------------------------------------


def load_digits_source(*, unit_interval: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits as a resampling source (no download).

    1797 images of 8 x 8 pixels (about 180 per digit), all distinct. Use with
    ``classes=DIGITS_CLASSES`` (two pairs of digits, see :data:`DIGITS_CLASSES`) in
    :func:`resample_pairs`; the stand-in for the paper's binary MNIST source (Section 3.2).

    Parameters
    ----------
    unit_interval
        Divide the pixel values (0-16) by 16, so that they lie in ``[0, 1]``.

    Returns
    -------
    x, labels
        ``(1797, 64)`` float64 images and their int64 digit labels (0-9).
    """
    from sklearn.datasets import load_digits

    images, digits = load_digits(return_X_y=True)
    x = images.astype(np.float64) / (16.0 if unit_interval else 1.0)
    return x, digits.astype(np.int64)


_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_idx(path: Path) -> np.ndarray:
    """Array stored in LeCun's idx format (``.gz`` read transparently)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path: '{path}' is not an idx file (expected the magic bytes 00 00 <type> <ndim>)")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape)) if shape else 0
    offset = 4 + 4 * ndim
    if len(raw) - offset != count * dtype.itemsize:
        raise ValueError(f"path: idx file '{path}' declares shape {shape} but holds {len(raw) - offset} data bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape)


_MNIST_STEMS = {"train": ("train-images", "train-labels"), "test": ("t10k-images", "t10k-labels")}


def _find_idx(folder: Path, stem: str, kind: str) -> Path | None:
    for sep in ("-", "."):
        for suffix in ("", ".gz"):
            candidate = folder / f"{stem}{sep}{kind}-ubyte{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _labels_path_for(images: Path) -> Path:
    name = images.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1")):
        if a in name:
            candidate = images.with_name(name.replace(a, b))
            if candidate.is_file():
                return candidate
            raise FileNotFoundError(f"path: labels file '{candidate}' for images '{images}' not found")
    raise ValueError(f"path: cannot tell the labels file of '{images}'; name it like 'train-images-idx3-ubyte'")


def read_mnist(
    path: str | Path, *, digits: Sequence[int] | None = None, subset: str = "all"
) -> tuple[np.ndarray, np.ndarray]:
    """Read MNIST from local files as a resampling source (LMI paper, Section 3.2: binary MNIST).

    Parameters
    ----------
    path
        One of: a folder with the original idx files (``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
        optionally gzipped; ``train-images.idx3-ubyte`` spelling accepted); a single images idx file
        (the labels file next to it is found by name); or Keras' ``mnist.npz`` (arrays
        ``x_train``, ``y_train``, ``x_test``, ``y_test``).
    digits
        Keep only these digits (the paper: ``(0, 1)``); ``None`` keeps all.
    subset
        ``"train"``, ``"test"`` or ``"all"`` (both, train first). With a single idx file, ignored.

    Returns
    -------
    x, labels
        ``(n, 784)`` float32 images with pixel values scaled to ``[0, 1]`` and int64 digit labels.

    Raises
    ------
    FileNotFoundError
        If ``path`` or a needed file does not exist.
    ValueError
        If a file is not in the expected format, or image and label counts differ.
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    path = Path(path).expanduser()
    parts = ["train", "test"] if subset == "all" else [subset]
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if path.is_dir():
        for part in parts:
            img_stem, lab_stem = _MNIST_STEMS[part]
            img, lab = _find_idx(path, img_stem, "idx3"), _find_idx(path, lab_stem, "idx1")
            if img is None or lab is None:
                raise FileNotFoundError(
                    f"path: folder '{path}' has no {img_stem}-idx3-ubyte[.gz] / {lab_stem}-idx1-ubyte[.gz]; "
                    f"found {sorted(p.name for p in path.iterdir())[:10]}"
                )
            pairs.append((_read_idx(img), _read_idx(lab)))
    elif path.is_file() and path.suffix == ".npz":
        with np.load(path) as archive:
            needed = [f"{a}_{part}" for part in parts for a in ("x", "y")]
            missing = [k for k in needed if k not in archive.files]
            if missing:
                raise ValueError(
                    f"path: '{path}' lacks arrays {missing}; expected Keras' mnist.npz "
                    f"(x_train, y_train, x_test, y_test), found {archive.files}"
                )
            pairs = [(archive[f"x_{part}"], archive[f"y_{part}"]) for part in parts]
    elif path.is_file():
        pairs.append((_read_idx(path), _read_idx(_labels_path_for(path))))
    else:
        raise FileNotFoundError(f"path: MNIST file or folder '{path}' not found")
    images, labels = [], []
    for img, lab in pairs:
        if img.ndim not in (2, 3) or lab.ndim != 1 or img.shape[0] != lab.shape[0]:
            raise ValueError(f"path: MNIST images of shape {img.shape} do not match labels of shape {lab.shape}")
        flat = img.reshape(img.shape[0], -1)
        images.append(flat.astype(np.float32) / (255.0 if flat.dtype == np.uint8 else 1.0))
        labels.append(lab.astype(np.int64))
    x, lab = np.concatenate(images), np.concatenate(labels)
    if digits is not None:
        keep = np.isin(lab, np.asarray(list(digits), dtype=np.int64))
        if not keep.any():
            raise ValueError(f"digits: none of {list(digits)} occurs; labels hold {sorted(set(lab.tolist()))}")
        x, lab = x[keep], lab[keep]
    return x, lab


def _embedding_table(source: Any) -> pd.DataFrame:
    from .proteins import read_prott5_h5

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        return read_prott5_h5(source)
    raise TypeError(
        f"embeddings must be a DataFrame (accession index) or a per-protein.h5 path, got {type(source).__name__}"
    )


def _species_map(species: Any) -> pd.Series:
    if isinstance(species, pd.Series):
        return species.astype(str)
    if isinstance(species, Mapping):
        return pd.Series(species, dtype=object).astype(str)
    if isinstance(species, (str, Path)):
        path = Path(species).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"species: table '{path}' not found")
        table = pd.read_csv(path, sep=None, engine="python", dtype=str)
        if {"accession", "species"} <= set(table.columns):
            return table.set_index("accession")["species"]
        if table.shape[1] < 2:
            raise ValueError(f"species: '{path}' needs columns 'accession' and 'species', found {list(table.columns)}")
        return table.set_index(table.columns[0])[table.columns[1]]
    raise TypeError(f"species must be a Series, a mapping accession -> species, or a CSV/TSV path, got {species!r}")


def read_species_embeddings(
    embeddings: Any,
    species: Any = None,
    *,
    normalize: bool = True,
    clip: float | None = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Protein embeddings labelled by species, as a resampling source (LMI paper, Section 3.2 / A.4.1).

    The paper resamples ProtT5 embeddings of E. coli and A. thaliana proteins (1024 dimensions),
    unit-variance normalised and clipped at ±10 (Appendix A.4.1).

    Parameters
    ----------
    embeddings
        Either a mapping ``{species: table_or_path}`` with one proteome per species (UniProt
        ``per-protein.h5`` paths, read with :func:`bioinfo_mi.datasets.read_prott5_h5`, or tables as it
        returns), or a single table / path with ``species`` giving each accession's species.
    species
        With a single table: a Series or mapping ``accession -> species`` or a CSV/TSV file with
        columns ``accession`` and ``species`` (otherwise its first two columns). Proteins without a
        species are dropped (with a warning). Must be ``None`` with the mapping form.
    normalize
        Unit variance per dimension over all returned proteins, then clip at ``clip``
        (:func:`bioinfo_mi.pp.normalize_embeddings`).
    clip
        Clip value after normalisation (paper: 10; ``None``: no clipping).

    Returns
    -------
    x, labels
        ``(n_proteins, dim)`` float32 embeddings and the species of each (object array of str).
        An accession listed under two species is dropped (ambiguous label).

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        On missing files, tables of different widths, or no protein with a species.
    """
    if isinstance(embeddings, Mapping):
        if species is not None:
            raise ValueError("species: give species only with a single embedding table, not with a mapping")
        tables, names = [], []
        for name, source in embeddings.items():
            table = _embedding_table(source)
            tables.append(table)
            names.append(pd.Series(str(name), index=table.index))
        widths = {t.shape[1] for t in tables}
        if len(widths) != 1:
            raise ValueError(f"embeddings: the proteomes have different widths {sorted(widths)}")
        table = pd.concat(tables)
        label = pd.concat(names)
    else:
        if species is None:
            raise ValueError("species: give a species label per accession (or pass embeddings as {species: path})")
        table = _embedding_table(embeddings)
        mapping = _species_map(species)
        mapping = mapping[~mapping.index.duplicated(keep=False)]
        label = pd.Series(table.index.map(mapping), index=table.index)
        missing = int(label.isna().sum())
        if missing:
            warnings.warn(f"read_species_embeddings: dropped {missing} protein(s) without a species", stacklevel=2)
        table, label = table[label.notna().to_numpy()], label[label.notna()]
    ambiguous = table.index.duplicated(keep=False)
    if ambiguous.any():
        warnings.warn(
            f"read_species_embeddings: dropped {int(ambiguous.sum())} row(s) of accessions listed more than once",
            stacklevel=2,
        )
        table, label = table[~ambiguous], label[~ambiguous]
    if table.shape[0] == 0:
        raise ValueError("embeddings: no protein with a species label")
    values = table.to_numpy(dtype=np.float64)
    if normalize:
        values = normalize_embeddings(values, clip=clip)[0]
    return values.astype(np.float32), label.to_numpy(dtype=object)
