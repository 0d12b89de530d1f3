"""Resampling benchmark tasks: real data with ``I(X; Y) = I(Lx; Ly)`` (LMI paper, Section 3.2, Fig. 4).

Each task draws Bernoulli label pairs with the correlation that gives its target MI and replaces
every label by a sample of its class, without replacement (:func:`bioinfo_mi.datasets.resample_pairs`);
the paper builds 200 such datasets with true MI from 0 to 1 bit per source. The class pools are
built once (duplicates dropped, see :func:`bioinfo_mi.datasets.class_pools`) and shared by the tasks of
one source; task names carry a digest of the pools, so a result cache never mixes sources or classes.

Sources: :func:`digits_tasks` (scikit-learn's digits, bundled), :func:`mnist_tasks` (local MNIST files,
the paper's binary MNIST), :func:`species_tasks` (local ProtT5 embeddings labelled by species, the
paper's E. coli / A. thaliana source); :func:`resampling_tasks` for any ``(data, labels)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_positive_int, check_real
from ..datasets.resampling import (
    DIGITS_CLASSES,
    bernoulli_mi,
    class_pools,
    correlation_for_mi,
    draw_from_pools,
    load_digits_source,
    max_pairs,
    read_mnist,
    read_species_embeddings,
)
from .tasks import Task

__all__ = ["resampling_tasks", "digits_tasks", "mnist_tasks", "species_tasks"]

#: Samples per dataset of the paper's sources (Section 3.2): binary MNIST and the two proteomes.
PAPER_N_SAMPLES = {"mnist": 5000, "species": 4402}


def _resampling_sampler(
    n: int,
    rng: np.random.Generator,
    *,
    pools: tuple[np.ndarray, np.ndarray],
    correlation: float,
    p: float,
    disjoint: bool,
) -> tuple[np.ndarray, np.ndarray]:
    x, y, _, _ = draw_from_pools(pools, n, correlation, p, disjoint, rng)
    return x, y


def _digest(pools: tuple[np.ndarray, np.ndarray]) -> str:
    h = hashlib.blake2b(digest_size=4)
    for pool in pools:
        h.update(str((pool.shape, pool.dtype.str)).encode())
        h.update(np.ascontiguousarray(pool).tobytes())
    return h.hexdigest()


def _classes_label(classes: Any) -> str:
    if classes is None:
        return ""
    groups = [list(c) if isinstance(c, (list, tuple)) else [c] for c in classes]
    return "|".join(",".join(map(str, g)) for g in groups)


def resampling_tasks(
    data: Any,
    labels: Any,
    *,
    n_samples: int,
    n_datasets: int = 200,
    classes: Any = None,
    mi_range: tuple[float, float] = (0.0, 1.0),
    p: float = 0.5,
    disjoint: bool = False,
    source: str = "custom",
) -> list[Task]:
    """``n_datasets`` resampling tasks with true MI evenly spaced over ``mi_range`` (LMI paper, Section 3.2).

    Parameters
    ----------
    data, labels, classes
        The source samples, their labels and the two classes (a label or a group of labels each),
        as in :func:`bioinfo_mi.datasets.resample_pairs`.
    n_samples
        Pairs per dataset; must not exceed :func:`bioinfo_mi.datasets.max_pairs` of the class sizes
        (samples are drawn without replacement).
    n_datasets
        Number of tasks (paper: 200).
    mi_range
        Smallest and largest true MI in bits (paper: 0 to 1), within ``[0, H_b(p)]``.
    p
        ``P(L = 1)`` (paper: 1/2).
    disjoint
        See :func:`bioinfo_mi.datasets.resample_pairs`.
    source
        Short name of the source, used in task names and the ``source`` column.

    Returns
    -------
    Tasks named ``"resample-{source}-{digest}-{i:03d}-n{n_samples}-mi{mi:.4f}"`` with ``true_mi`` the
    exact ``I(Lx; Ly)`` and params ``source``, ``classes``, ``dataset`` (index), ``correlation``,
    ``d`` (columns of each variable).

    Raises
    ------
    ValueError
        If ``n_samples`` exceeds what the class pools allow, or ``mi_range`` is invalid.
    """
    n_samples = check_positive_int(n_samples, name="n_samples")
    n_datasets = check_positive_int(n_datasets, name="n_datasets")
    if not isinstance(source, str) or not source:
        raise ValueError(f"source must be a non-empty string, got {source!r}")
    if len(mi_range) != 2:
        raise ValueError(f"mi_range must be (low, high), got {mi_range!r}")
    low = check_real(mi_range[0], name="mi_range[0]", low=0.0)
    high = check_real(mi_range[1], name="mi_range[1]", low=low)
    pools = class_pools(data, labels, classes)
    sizes = [pool.shape[0] for pool in pools]
    limit = max_pairs(sizes, p, disjoint=bool(disjoint))
    if n_samples > limit:
        raise ValueError(
            f"n_samples={n_samples} is too many for the {source} classes ({sizes[0]} and {sizes[1]} distinct "
            f"samples): drawing without replacement allows at most {limit} pairs"
            + (" (disjoint=False allows more)" if disjoint else "")
        )
    digest, label = _digest(pools), _classes_label(classes)
    targets = np.linspace(low, high, n_datasets) if n_datasets > 1 else np.array([low])
    tasks = []
    for i, target in enumerate(targets):
        rho = correlation_for_mi(float(target), p)
        true_mi = bernoulli_mi(rho, p)
        tasks.append(
            Task(
                name=f"resample-{source}-{digest}-{i:03d}-n{n_samples}-mi{true_mi:.4f}",
                sampler=partial(_resampling_sampler, pools=pools, correlation=rho, p=float(p), disjoint=bool(disjoint)),
                n_samples=n_samples,
                true_mi=true_mi,
                params={"source": source, "classes": label, "dataset": i, "correlation": rho, "d": pools[0].shape[1]},
            )
        )
    return tasks


def digits_tasks(
    n_datasets: int = 200,
    n_samples: int = 580,
    *,
    classes: Any = DIGITS_CLASSES,
    mi_range: tuple[float, float] = (0.0, 1.0),
    disjoint: bool = False,
) -> list[Task]:
    """Resampling tasks on scikit-learn's bundled digits (no download; stand-in for Fig. 4a's MNIST).

    Parameters
    ----------
    n_datasets
        Number of datasets (paper: 200).
    n_samples
        Pairs per dataset. The default classes (two pairs of digits, about 360 images each) allow
        at most 597; single digits about 273, groups of five about 1580
        (:func:`bioinfo_mi.datasets.max_pairs`).
    classes
        Two digits or digit groups (default :data:`bioinfo_mi.datasets.DIGITS_CLASSES`, which
        explains the choice).
    mi_range, disjoint
        See :func:`resampling_tasks`.

    Returns
    -------
    Tasks with ``source="digits"``, 64 dimensions (pixel values scaled to [0, 1]).
    """
    data, labels = load_digits_source()
    return resampling_tasks(
        data,
        labels,
        n_samples=n_samples,
        n_datasets=n_datasets,
        classes=classes,
        mi_range=mi_range,
        disjoint=disjoint,
        source="digits",
    )


def mnist_tasks(
    path: str | Path,
    n_datasets: int = 200,
    n_samples: int = PAPER_N_SAMPLES["mnist"],
    *,
    digits: Sequence[int] = (0, 1),
    subset: str = "all",
    mi_range: tuple[float, float] = (0.0, 1.0),
    disjoint: bool = False,
) -> list[Task]:
    """Resampling tasks on local MNIST files: the paper's binary MNIST benchmark (Fig. 4a).

    Parameters
    ----------
    path
        MNIST files as :func:`bioinfo_mi.datasets.read_mnist` accepts (idx folder, idx file or
        ``mnist.npz``).
    n_datasets, n_samples
        Paper: 200 datasets of 5000 pairs (784 dimensions).
    digits
        The two digits, class 0 first (paper: 0 and 1).
    subset
        ``"train"``, ``"test"`` or ``"all"`` images.
    mi_range, disjoint
        See :func:`resampling_tasks`.

    Returns
    -------
    Tasks with ``source="mnist"``.
    """
    digits = tuple(int(d) for d in digits)
    if len(digits) != 2:
        raise ValueError(f"digits must name two digits, got {digits}")
    data, labels = read_mnist(path, digits=digits, subset=subset)
    return resampling_tasks(
        data,
        labels,
        n_samples=n_samples,
        n_datasets=n_datasets,
        classes=digits,
        mi_range=mi_range,
        disjoint=disjoint,
        source="mnist",
    )


def species_tasks(
    embeddings: Any,
    species: Any = None,
    n_datasets: int = 200,
    n_samples: int = PAPER_N_SAMPLES["species"],
    *,
    classes: Any = None,
    normalize: bool = True,
    mi_range: tuple[float, float] = (0.0, 1.0),
    disjoint: bool = False,
) -> list[Task]:
    """Resampling tasks on local ProtT5 embeddings labelled by species (the paper's Fig. 4b).

    Parameters
    ----------
    embeddings, species, normalize
        As :func:`bioinfo_mi.datasets.read_species_embeddings`: ``{species: per-protein.h5}`` or one
        table plus a species label per accession; unit variance and clipping at ±10 by default.
    n_datasets, n_samples
        Paper: 200 datasets of 4402 pairs (1024 dimensions).
    classes
        The two species (or groups of species); ``None`` if exactly two are loaded.
    mi_range, disjoint
        See :func:`resampling_tasks`.

    Returns
    -------
    Tasks with ``source="species"``.
    """
    data, labels = read_species_embeddings(embeddings, species, normalize=normalize)
    return resampling_tasks(
        data,
        labels,
        n_samples=n_samples,
        n_datasets=n_datasets,
        classes=classes,
        mi_range=mi_range,
        disjoint=disjoint,
        source="species",
    )
