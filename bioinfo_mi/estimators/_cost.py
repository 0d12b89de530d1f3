"""Predicted run time of one estimate, per method: the cost model behind ``method="auto"``.

The model counts the work each estimator does and converts it to seconds with a few constants
measured on the reference machine (2 CPU cores, float64, the package's default thread budget):
``benchmarks/bench_cost_model.py`` times every method over a grid of sample sizes and dimensions and
prints measured against predicted time (docs/performance.md, "Cost model"). Other machines scale
all methods by about the same factor, and ``auto`` compares methods with each other, so the model
needs to be right in ratio, to within a factor of about two, not in absolute seconds.

The work:

- **k-NN estimators** (the KSG family): exact max-norm neighbour searches of every query against
  every reference, ``n_query * n_reference * n_features`` coordinate comparisons. Above
  ``NUMBA_MAX_DIM`` joint dimensions they run as chunked torch distance matrices
  (``KNN_TORCH_SECONDS`` per comparison), below in the compiled kernel, whose pruning makes each
  query visit only ``n_reference ** e`` references, ``e`` growing with the dimension
  (``KNN_COMPILED_TABLE``).
- **The calibrated copula KSG**: ``1 + n_twins`` full-size KSG estimates (the data and its Gaussian
  twins), ``4 + 2 n_twins`` on half-samples (the guard's gain from half to all samples), and for
  each of the ``1 + n_twins`` samples the guard's KSG on at most 5 + 5 canonical dimensions, jointly
  and one pair at a time.
- **The k-NN CMI** (``bm.cmi``): three neighbour counts in the joint space of ``(x, y, z)`` per
  estimate, measured at :data:`CMI_KNN_FACTOR` times one KSG search there; the calibrated one runs
  ``1 + n_null + 2 n_twins`` of them (the data, its local permutations, each twin and one permutation
  of it; ``1 + n_twins`` without the null check).
- **LMI**: per epoch, forward and backward passes of the training pairs (half the samples, at most
  the default preset's ``max_train``) through the six networks (``NET_PARAM_SECONDS`` per
  parameter and sample, about 6 floating-point operations), a cost per optimiser step
  (``NET_STEP_SECONDS``) and a forward pass of the validation pairs (at most ``max_validation``),
  over ``LMI_EPOCHS`` epochs (where early stopping typically ends it; the budget is
  ``max_epochs``), or, where the patience is bounded in pairs (more than 10 000 training pairs),
  the epochs of ``LMI_BEST_PAIRS`` pairs plus the bounded patience; then every row through its
  encoder and the KSG on the held-out latents (8 + 8 dimensions).
- **MINE / InfoNCE**: ``steps`` mini-batches of ``batch_size`` pairs through the critic, once per
  cross-fitting fold (``CRITIC_STEP_SECONDS`` per step: small critics are step-bound).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._docs import shared_docs
from ._lmi import PRESETS
from ._mixture import BISECTION_STEPS, MIXTURE_MAX_ROWS

__all__ = [
    "knn_seconds",
    "ksg_seconds",
    "ksg_calibrated_seconds",
    "ksg_cmi_seconds",
    "ksg_cmi_calibrated_seconds",
    "CMI_KNN_FACTOR",
    "ksg_mixture_seconds",
    "mixture_fit_seconds",
    "lmi_seconds",
    "critic_seconds",
    "training_seconds",
    "KNN_TORCH_SECONDS",
    "KNN_COMPILED_TABLE",
    "NET_PARAM_SECONDS",
    "NET_STEP_SECONDS",
    "CRITIC_STEP_SECONDS",
    "LMI_EPOCHS",
]

#: seconds per coordinate comparison of the torch neighbour search (above ``NUMBA_MAX_DIM`` dimensions)
KNN_TORCH_SECONDS = 0.33e-9
#: the compiled neighbour kernel (up to ``NUMBA_MAX_DIM`` joint dimensions): rows ``(d, c, e)``, one KSG
#: estimate of ``n`` pairs in ``d`` joint dimensions takes ``c * d * n * n ** e`` seconds (fitted over three
#: sample sizes per dimension by ``benchmarks/bench_cost_model.py --parts kernel``)
KNN_COMPILED_TABLE: tuple[tuple[int, float, float], ...] = (
    (2, 4.935e-06, -0.160),
    (4, 5.060e-07, 0.085),
    (8, 1.133e-07, 0.228),
    (16, 1.060e-08, 0.483),
    (32, 8.889e-10, 0.766),
    (64, 5.841e-10, 0.827),
    (128, 3.454e-10, 0.902),
    (200, 1.082e-09, 0.787),
)
#: neural training (LMI, MINE, InfoNCE), fitted by ``benchmarks/bench_cost_model.py --parts methods``:
#: seconds per network parameter and training sample (forward and backward; a forward pass alone,
#: as in validation, costs a third of it) ...
NET_PARAM_SECONDS = 3.6e-11
#: ... per optimiser step of LMI's six networks (launching the layers' kernels, the losses, Adam) ...
NET_STEP_SECONDS = 1.1e-2
#: ... and per optimiser step of a MINE / InfoNCE critic (fitted on those runs)
CRITIC_STEP_SECONDS = 0.6e-3
#: epochs an LMI fit typically trains before early stopping ends it (``benchmarks/bench_cost_model.py``)
LMI_EPOCHS = 42
#: training pairs LMI passes before its best epoch at large N, where the default preset bounds its
#: patience in pairs (``LMIPreset.patience_pairs``): 6 epochs of 50 000 pairs at N = 10^5, 1000 + 1000
#: (benchmarks/bench_scale.py; best epoch 5; at 10^6 x 2000 + 2000 counts it was 2 epochs)
LMI_BEST_PAIRS = 300_000
#: fixed seconds of one neural fit (model set-up, standardisation, the estimate)
NET_OVERHEAD_SECONDS = 0.5
#: joint dimensions up to which the compiled kernel runs (``estimators._knn.NUMBA_MAX_DIM``)
_NUMBA_MAX_DIM = 200
#: the guard of the calibrated KSG works in at most this many dimensions
_GUARD_DIM = 10


def _compiled_constants(n_features: int) -> tuple[float, float]:
    """``(c, exponent)`` of the compiled kernel at ``n_features`` joint dimensions, interpolated in
    ``log d`` between the rows of :data:`KNN_COMPILED_TABLE` (held constant beyond its ends).
    """
    dims = np.log([row[0] for row in KNN_COMPILED_TABLE])
    log_c = np.interp(np.log(max(n_features, 1)), dims, np.log([row[1] for row in KNN_COMPILED_TABLE]))
    exponent = np.interp(np.log(max(n_features, 1)), dims, [row[2] for row in KNN_COMPILED_TABLE])
    return float(np.exp(log_c)), float(exponent)


def knn_seconds(n_query: int, n_reference: int, n_features: int) -> float:
    """Predicted seconds of one exact max-norm neighbour count of ``n_query`` queries in ``n_reference`` pairs.

    Above ``NUMBA_MAX_DIM`` (200) joint dimensions the torch search compares every query with every
    reference in every coordinate: ``KNN_TORCH_SECONDS * n_query * n_reference * d``. Up to there the
    compiled kernel skips the references that a few coordinates rule out, so each query visits about
    ``n_reference ** e`` of them, with ``e`` from near 0 in a few dimensions to near 1 at 200
    (:data:`KNN_COMPILED_TABLE`, measured): ``c * d * n_query * n_reference ** e``.

    Parameters
    ----------
    n_query, n_reference
        Numbers of query and reference pairs.
    n_features
        Joint dimension ``d_x + d_y``.

    Returns
    -------
    Seconds on the reference machine (2 cores).
    """
    d = max(int(n_features), 1)
    if d > _NUMBA_MAX_DIM:
        work = KNN_TORCH_SECONDS * float(n_query) * float(n_reference) * d
    else:
        c, exponent = _compiled_constants(d)
        work = c * d * float(n_query) * float(max(n_reference, 1)) ** exponent
    return work


@shared_docs
def ksg_seconds(n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None) -> float:
    """Predicted seconds of one KSG estimate (the KSG family: ``ksg``, ``bi-ksg``, ``ksg-local``, ...).

    Parameters
    ----------
    {sizes}
    options
        The estimator's options (none changes the cost).

    Returns
    -------
    Seconds on the reference machine.
    """
    return knn_seconds(n_samples, n_samples, d_x + d_y)


@shared_docs
def ksg_calibrated_seconds(n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None) -> float:
    """Predicted seconds of one calibrated copula KSG estimate: ``1 + n_twins`` KSG estimates plus the guard.

    Parameters
    ----------
    {sizes}
    options
        The estimator's options (``n_twins``, default 2).

    Returns
    -------
    Seconds on the reference machine.
    """
    n_twins = int((options or {}).get("n_twins", 2))
    full = (1 + n_twins) * knn_seconds(n_samples, n_samples, d_x + d_y)
    halves = (4 + 2 * n_twins) * knn_seconds(n_samples // 2, n_samples // 2, d_x + d_y)
    pairs = min(d_x, d_y, _GUARD_DIM // 2)  # the guard: canonical pairs, jointly and one pair at a time
    joint, one_pair = knn_seconds(n_samples, n_samples, 2 * pairs), knn_seconds(n_samples, n_samples, 2)
    guard = (1 + n_twins) * (joint + pairs * one_pair)
    return full + halves + guard


#: one k-NN CMI estimate (:func:`~bioinfo_mi.estimators.ksg_cmi`) over one KSG neighbour search of the same
#: joint width and samples (:func:`knn_seconds`): measured 3.0-4.1 at 20-102 columns (N = 2000-10 000: 0.8 s at
#: 2000 x (50 + 50 | 2), 12.9 s at 10 000) and 1.9-2.2 at 5 + 5 | 5 (issue 31, session 24; the calibrated CMI was
#: priced with the calibrated MI's model before, 15 times too cheap at 10 000 x (50 + 50 | 2))
CMI_KNN_FACTOR = 9.6


@shared_docs
def ksg_cmi_seconds(n_samples: int, d_x: int, d_y: int, d_z: int) -> float:
    """Predicted seconds of one k-NN CMI estimate (:func:`~bioinfo_mi.estimators.ksg_cmi`).

    Parameters
    ----------
    {cmi_sizes}

    Returns
    -------
    Seconds on the reference machine.
    """
    return CMI_KNN_FACTOR * knn_seconds(n_samples, n_samples, d_x + d_y + d_z)


@shared_docs
def ksg_cmi_calibrated_seconds(
    n_samples: int, d_x: int, d_y: int, d_z: int, options: Mapping[str, Any] | None = None
) -> float:
    """Predicted seconds of one calibrated k-NN CMI (:func:`~bioinfo_mi.estimators.ksg_cmi_calibrated`):
    ``1 + n_null + 2 n_twins`` k-NN CMI estimates (``1 + n_twins`` with ``n_null = 0``).

    Parameters
    ----------
    {cmi_sizes}
    options
        The estimator's options (``n_twins``, default 4; ``n_null``, default 2).

    Returns
    -------
    Seconds on the reference machine.
    """
    n_twins, n_null = int((options or {}).get("n_twins", 4)), int((options or {}).get("n_null", 2))
    estimates = 1 + n_null + (2 if n_null else 1) * n_twins
    return estimates * ksg_cmi_seconds(n_samples, d_x, d_y, d_z)


#: seconds of one EM iteration of a full-covariance Gaussian mixture per ``n K (d^2 + d)`` and per component
#: (scikit-learn, 2 cores; session 15: 10 ns at d = 20-40, more per unit at d = 6 where the per-component overhead
#: dominates, less at d = 100 where BLAS does)
MIXTURE_UNIT_SECONDS, MIXTURE_COMPONENT_SECONDS = 1e-8, 2e-3
#: EM iterations assumed per mixture fit (31-52 measured)
MIXTURE_ITERATIONS = 50


def mixture_fit_seconds(n_samples: int, d: int, components: int) -> float:
    """Return the predicted seconds of one Gaussian-mixture fit (full covariances) to ``n_samples`` rows of ``d``
    columns with ``components`` components.
    """
    unit = MIXTURE_UNIT_SECONDS * n_samples * components * (d * d + d)
    return MIXTURE_ITERATIONS * (unit + MIXTURE_COMPONENT_SECONDS * components)


@shared_docs
def ksg_mixture_seconds(n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None) -> float:
    """Predicted seconds of one mixture-calibrated copula KSG estimate (:func:`~bioinfo_mi.estimators.ksg_mixture`):
    the component search (1, 2, 4 and 8 components on each half), the final fit and the refit on a twin, the KSG
    estimates of the data and of the twins at every bisection step (the matched case, the dearer one), and the
    guard's half-sample estimates.

    Parameters
    ----------
    {sizes}
    options
        The estimator's options (``n_twins``, default 2; ``max_components``, default 32).

    Returns
    -------
    Seconds on the reference machine.
    """
    options = options or {}
    n_twins, top = int(options.get("n_twins", 2)), int(options.get("max_components", 32))
    d, rows = d_x + d_y, min(n_samples, MIXTURE_MAX_ROWS)
    sizes = [m for m in (1, 2, 4, 8) if m <= top]
    search = sum(2 * mixture_fit_seconds(rows // 2, d, m) for m in sizes)
    fits = search + 2 * mixture_fit_seconds(rows, d, max(sizes))
    guard = (4 + 2 * n_twins) * knn_seconds(n_samples // 2, n_samples // 2, d)
    return fits + guard + (1 + n_twins * (2 + BISECTION_STEPS)) * knn_seconds(n_samples, n_samples, d)


def _lmi_width(d: int, options: Mapping[str, Any]) -> int:
    """Return the first hidden width of LMI's networks for ``d`` inputs (the preset's width rule)."""
    if options.get("preset", "default") == "paper":
        return max(2 ** int(np.floor(np.log2(max(d, 1)))), 1024)
    return int(np.clip(2 ** int(np.ceil(np.log2(max(d, 1)))), 256, 512))


def lmi_parameters(d: int, latent_dim: int, options: Mapping[str, Any]) -> int:
    """Weights of one side of LMI (encoder, auto-decoder and cross-decoder) for ``d`` inputs."""
    width = _lmi_width(d, options)
    sizes = [d, width, width // 2, width // 4, latent_dim]
    encoder = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    decoder = sum(a * b + b for a, b in zip(sizes[:0:-1], sizes[-2::-1], strict=True))
    return encoder + 2 * decoder


@shared_docs
def lmi_seconds(n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None) -> float:
    """Predicted seconds of one LMI estimate: encoder training, then the KSG on the held-out latents.

    Parameters
    ----------
    {sizes}
    options
        The estimator's options (``epochs`` caps the epochs, ``latent_dim``, ``preset``).

    Returns
    -------
    Seconds on the reference machine.
    """
    options = options or {}
    preset = PRESETS["default"]
    latent = int(options.get("latent_dim") or 8)
    batch = int(options.get("batch_size") or 512)
    params = lmi_parameters(d_x, latent, options) + lmi_parameters(d_y, latent, options)
    # the training pairs (half the samples, at most max_train); the rest validates (at most
    # max_validation per epoch) and is scored by KSG after every row is encoded
    n_train = min(n_samples - n_samples // 2, preset.max_train)
    n_est = n_samples - n_train
    epochs = LMI_EPOCHS
    if n_train * preset.patience > preset.patience_pairs:  # the patience is bounded in pairs
        epochs = min(LMI_EPOCHS, -(-LMI_BEST_PAIRS // n_train) + -(-preset.patience_pairs // n_train))
    epochs = min(epochs, int(options.get("epochs") or epochs))
    epoch = training_seconds(params, n_train, -(-n_train // batch), min(n_est, preset.max_validation))
    encode = NET_PARAM_SECONDS / 3 * params / 3 * n_samples  # every row through its encoder (a third of a side)
    # above max_queries held-out pairs, that many random ones are scored against all of them
    n_query = n_est if preset.max_queries is None else min(n_est, preset.max_queries)
    return NET_OVERHEAD_SECONDS + epochs * epoch + encode + knn_seconds(n_query, n_est, 2 * latent)


def training_seconds(params: int, n_train: int, steps: int, n_eval: int, step_seconds: float | None = None) -> float:
    """Predicted seconds of ``steps`` optimiser steps over ``n_train`` samples of a network with ``params``
    weights, plus a forward pass over ``n_eval`` samples (one epoch of LMI, or all of MINE's training).

    Parameters
    ----------
    params
        Weights of the networks trained together.
    n_train
        Training samples passed forward and backward (all steps together).
    steps
        Optimiser steps.
    n_eval
        Samples passed forward only (validation, scoring).
    step_seconds
        Fixed seconds per step (default ``NET_STEP_SECONDS``, LMI's).

    Returns
    -------
    Seconds on the reference machine.
    """
    per_sample = NET_PARAM_SECONDS * params * (float(n_train) + float(n_eval) / 3)
    return per_sample + steps * (NET_STEP_SECONDS if step_seconds is None else step_seconds)


def _critic_parameters(d: int, hidden: int | Sequence[int]) -> int:
    sizes = [d, *([hidden] if isinstance(hidden, int) else list(hidden)), 1]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


@shared_docs
def critic_seconds(
    n_samples: int, d_x: int, d_y: int, options: Mapping[str, Any] | None = None, *, contrastive: bool = False
) -> float:
    """Predicted seconds of one MINE (or, with ``contrastive``, InfoNCE) estimate.

    Parameters
    ----------
    {sizes}
    options
        The estimator's options (``steps``, ``batch_size``, ``hidden``, ``folds``).
    contrastive
        InfoNCE (its separable critic passes each pair of a batch once, its default batch is 512 pairs);
        else MINE (a joint and a shuffled batch).

    Returns
    -------
    Seconds on the reference machine.
    """
    options = options or {}
    steps = int(options.get("steps", 2000))
    batch = min(int(options.get("batch_size", 512 if contrastive else 256)), n_samples)
    hidden = options.get("hidden", (256,) if contrastive else (128, 128))
    folds = max(1, int(options.get("folds") or 1))
    params = _critic_parameters(d_x + d_y, hidden)
    pairs = batch if contrastive else 2 * batch
    return NET_OVERHEAD_SECONDS + folds * training_seconds(params, pairs * steps, steps, n_samples, CRITIC_STEP_SECONDS)


#: the cost function of each kind of estimator: ``(n_samples, d_x, d_y, options) -> seconds``
CostModel = Callable[[int, int, int, "Mapping[str, Any] | None"], float]
