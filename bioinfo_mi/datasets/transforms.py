"""MI-preserving transformations of ``X`` (scale-invariance paper, Section 6.3).

Each transformation is an injective (or, for duplicate-noise, independent-noise-padding) map of
``X``, so ``I(f(X); T) = I(X; T)`` for any ``T``; they can be chained in any order
(paper, Remark 4) with :func:`apply_transforms`.

=====  =====================  ==================================================================
short  long name              map (rows are samples, ``X`` is ``(n, d)``)
=====  =====================  ==================================================================
rm     ``randmat``            ``X' = alpha * X @ W``, ``alpha ~ U(0, 1)``, ``W_ij ~ U(0, 1)``
cb     ``cube``               ``X' = X ** 3`` (element-wise)
sg     ``sigmoid``            ``X' = 1 / (1 + exp(-X))`` (element-wise)
ds     ``duplicate_self``     ``X' = [X, X, ..., X]`` (``n_copies = 20``, ``(n, n_copies d)``)
dn     ``duplicate_noise``    ``X' = [X, eps]``, ``eps ~ N(0, sigma'^2 I)``, ``sigma' = 0.2``,
                              ``n_noise = 20`` (``(n, d + n_noise)``)
=====  =====================  ==================================================================

Every function has the signature ``f(x, random_state=..., **params) -> np.ndarray``, accepts any
array-like (1-D input is one column), and returns a new float64 array; the input is never
modified. ``cube``, ``sigmoid`` and ``duplicate_self`` are deterministic and ignore
``random_state`` (it is accepted for a uniform signature).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from .._docs import shared_docs
from .._validation import check_array, check_positive_int, check_random_state, check_real

__all__ = [
    "TRANSFORMS",
    "TRANSFORM_ALIASES",
    "TRANSFORM_NAMES",
    "randmat",
    "cube",
    "sigmoid",
    "duplicate_self",
    "duplicate_noise",
    "apply_transforms",
]


@shared_docs
def randmat(
    x: Any,
    random_state: int | np.random.Generator | None = 0,
    *,
    max_cond: float = 1e8,
    max_tries: int = 100,
) -> np.ndarray:
    """Random linear map ``X' = alpha * X @ W`` (scale-invariance paper, Section 6.3, "randmat").

    ``alpha ~ U(0, 1)`` (redrawn if exactly 0) and ``W`` is ``d x d`` with i.i.d. ``U(0, 1)`` entries.
    ``W`` is redrawn until it is invertible and well conditioned (2-norm condition number below
    ``max_cond``), so the map is invertible in floating point too.

    Parameters
    ----------
    x
        ``(n, d)`` array-like (not modified).
    {random_state}
    max_cond
        Largest accepted condition number of ``W`` (> 1).
    max_tries
        Number of draws of ``W`` before giving up (>= 1).

    Returns
    -------
    A new ``(n, d)`` float64 array.

    Raises
    ------
    RuntimeError
        If no draw of ``W`` is well conditioned within ``max_tries`` (only plausible for very
        large ``d`` with a strict ``max_cond``).
    """
    xa = check_array(x, name="x")
    max_cond = check_real(max_cond, name="max_cond", low=1.0, low_inclusive=False)
    max_tries = check_positive_int(max_tries, name="max_tries")
    rng = check_random_state(random_state)
    alpha = 0.0
    while alpha == 0.0:
        alpha = float(rng.uniform(0.0, 1.0))
    d = xa.shape[1]
    for _ in range(max_tries):
        w = rng.uniform(0.0, 1.0, size=(d, d))
        if np.linalg.cond(w) < max_cond:
            return alpha * (xa @ w)
    raise RuntimeError(f"randmat: no {d}x{d} matrix with condition number < {max_cond:g} in {max_tries} draws")


@shared_docs
def cube(x: Any, random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Element-wise cube ``X' = X o X o X`` (Section 6.3, "cube"); inverse ``np.cbrt``.

    {transform}
    """
    xa = check_array(x, name="x")
    return xa * xa * xa


@shared_docs
def sigmoid(x: Any, random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Element-wise logistic sigmoid ``X' = 1 / (1 + exp(-X))`` (Section 6.3, "sigmoid").

    Mathematically invertible (``logit``); in float64 values with ``|x| > ~36`` saturate to 1 (or
    round below ~1e-300 for ``x < -700``), so very large inputs lose precision.

    {transform}
    """
    xa = check_array(x, name="x")
    return expit(xa)


def duplicate_self(x: Any, random_state: int | np.random.Generator | None = None, *, n_copies: int = 20) -> np.ndarray:
    """Concatenate ``n_copies`` copies of ``X``: ``X' = [X, X, ..., X]`` (Section 6.3, "duplicate-self").

    Parameters
    ----------
    x
        ``(n, d)`` array-like (not modified).
    random_state
        Ignored.
    n_copies
        Number of copies (>= 1; the paper's ``K``, 20).

    Returns
    -------
    A new ``(n, n_copies * d)`` array; ``X`` is its first ``d`` columns.
    """
    xa = check_array(x, name="x")
    n_copies = check_positive_int(n_copies, name="n_copies")
    return np.tile(xa, (1, n_copies))


@shared_docs
def duplicate_noise(
    x: Any, random_state: int | np.random.Generator | None = 0, *, n_noise: int = 20, sigma: float = 0.2
) -> np.ndarray:
    """Append ``n_noise`` independent noise columns: ``X' = [X, eps]`` (Section 6.3, "duplicate-noise").

    ``eps ~ N(0, sigma^2 I)`` (``n_noise`` columns) is independent of ``X`` and ``T``, so ``I(X'; T) = I(X; T)``.

    Parameters
    ----------
    x
        ``(n, d)`` array-like (not modified).
    {random_state}
    n_noise
        Number of noise columns (>= 1; the paper's ``k``, 20).
    sigma
        Noise standard deviation ``sigma'`` (> 0; the paper uses 0.2).

    Returns
    -------
    A new ``(n, d + n_noise)`` array; ``X`` is its first ``d`` columns.
    """
    xa = check_array(x, name="x")
    n_noise = check_positive_int(n_noise, name="n_noise")
    sigma = check_real(sigma, name="sigma", low=0.0, low_inclusive=False)
    rng = check_random_state(random_state)
    return np.hstack([xa, sigma * rng.standard_normal((xa.shape[0], n_noise))])


#: canonical (long) name -> transformation
TRANSFORMS: dict[str, Callable[..., np.ndarray]] = {
    "randmat": randmat,
    "cube": cube,
    "sigmoid": sigmoid,
    "duplicate_self": duplicate_self,
    "duplicate_noise": duplicate_noise,
}
#: short name (as in the paper's tables) -> canonical name
TRANSFORM_ALIASES: dict[str, str] = {
    "rm": "randmat",
    "cb": "cube",
    "sg": "sigmoid",
    "ds": "duplicate_self",
    "dn": "duplicate_noise",
}
#: every name accepted by :func:`apply_transforms` (short names first, then long names)
TRANSFORM_NAMES: tuple[str, ...] = tuple(TRANSFORM_ALIASES) + tuple(TRANSFORMS)


def _canonical(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"names must hold transformation names (str), got {name!r}")
    key = name.strip().lower().replace("-", "_")
    key = TRANSFORM_ALIASES.get(key, key)
    if key not in TRANSFORMS:
        raise ValueError(f"names: unknown transformation {name!r}; valid names are {list(TRANSFORM_NAMES)}")
    return key


def apply_transforms(
    x: Any, names: str | Sequence[str], random_state: int | np.random.Generator | None = 0
) -> np.ndarray:
    """Apply MI-preserving transformations to ``x`` in order (scale-invariance paper, Section 6.3).

    Parameters
    ----------
    x
        ``(n, d)`` array-like (not modified).
    names
        One name or a sequence of names from :data:`TRANSFORM_NAMES` (``"rm"``, ``"cb"``, ``"sg"``,
        ``"ds"``, ``"dn"`` or ``"randmat"``, ``"cube"``, ``"sigmoid"``, ``"duplicate_self"``,
        ``"duplicate_noise"``; case-insensitive, ``-`` and ``_`` interchangeable). Applied left to
        right with the paper's parameters (``n_copies = 20``, ``n_noise = 20``, ``sigma' = 0.2``). An empty
        sequence returns a copy of ``x``.
    random_state
        ``None``, an int seed or a ``numpy.random.Generator``; one generator is created and passed
        through the chain, so the result is reproducible.

    Returns
    -------
    The transformed float64 array (a new array). If ``x`` and ``T`` have MI ``I``, so do the
    result and ``T``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    """
    seq = [names] if isinstance(names, str) else list(names)
    canonical = [_canonical(name) for name in seq]  # validate all names before any work
    rng = check_random_state(random_state)
    out = check_array(x, name="x")
    for key in canonical:
        out = TRANSFORMS[key](out, rng)
    return out
