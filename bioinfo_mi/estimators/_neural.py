"""Variational (neural) MI estimators: MINE and InfoNCE.

- :func:`mine`: the Donsker-Varadhan lower bound of Belghazi et al. (2018), as written in eq. 8 of
  the scale-invariance paper (Section 2.2), with a joint critic ``T(x, y) = MLP([x, y])`` and the
  bias-corrected moving-average gradient of the MINE paper. The ``normalization`` argument gives the
  four MINE rows of Table 1 of the scale-invariance paper: plain MINE (raw inputs, scale dependent
  as Proposition 5 states), MINE-Local, MINE-Global and MINE-Global-Corrected (Section 5.3:
  ``X' = sqrt(d_X) X_Sigma``, ``T' = sqrt(d_T) T_Sigma``).
- :func:`infonce`: the InfoNCE bound (van den Oord et al. 2018; Poole et al. 2019) with a separable
  critic ``f(x, y) = g(x) . h(y)``, the second variational baseline of the LMI paper (Section 3.1,
  Appendix A.4.3).

Both return an :class:`~bioinfo_mi.MIResult` whose ``pmi`` (one pointwise value per sample)
averages exactly to ``mi``.

Cross-fitting
-------------
A critic that is trained and evaluated on the same few thousand samples memorises them: with
``N = 1000`` independent Gaussian samples the in-sample DV bound of a ``(128, 128)`` critic
reaches about 2 bits and the in-sample InfoNCE bound about 0.5 bits. By default (``folds=2``) the
samples are therefore split at random into ``folds`` parts; for each part a fresh critic is
trained on the other parts, its training is stopped early on the held-out bound of that part (the
weights with the best held-out bound are kept, as in ``bmi``'s implementations used by the LMI
paper, which also hold out half of the data), and that part is scored with it. Every sample is
scored exactly once, so ``pmi`` has no NaN. ``folds=None`` reproduces the original recipe: one
critic trained for a fixed number of steps on all samples, which then scores the same samples
(optimistic for small samples).

Reproducibility
---------------
All randomness (fold assignment, weight initialisation, mini-batch permutations, marginal
shuffles) is drawn from one CPU ``torch.Generator`` seeded from ``random_state``; the global torch
RNG is neither used nor reseeded. On CPU the same seed gives bit-identical results (for the same
number of threads). During a fit torch uses at most :data:`MAX_THREADS` intra-op threads; the
previous setting is restored afterwards.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._validation import check_device, check_pair, check_positive_int, check_random_state, seed_from, to_base
from ._normalization import normalize
from ._result import MIResult

__all__ = ["mine", "infonce", "MINE_NORMALIZATIONS", "MAX_THREADS"]

MineNormalization = Literal["local", "global", "global-corrected"]

#: accepted values of ``normalization`` in :func:`mine` (``None`` = raw inputs, plain MINE)
MINE_NORMALIZATIONS: tuple[str | None, ...] = (None, "local", "global", "global-corrected")

#: most intra-op CPU threads torch may use during a fit (small MLPs gain nothing from more)
MAX_THREADS = 4

#: fewest samples accepted (per training or scoring part)
_MIN_SAMPLES = 4

#: critic-input elements (rows x features, or score-matrix entries) evaluated at once when scoring
_EVAL_CHUNK_ELEMENTS = 2**22

#: initial scale of the InfoNCE embedding layers: the untrained critic's scores are ~0, so its bound
#: (the early-stopping baseline) is ~0 rather than the negative bound of random scores
_NCE_OUT_SCALE = 0.1

#: number of training-loss values kept per critic in ``extra["loss"]`` (at most)
_LOSS_POINTS = 200


# --------------------------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------------------------


def mine(
    x: Any,
    y: Any,
    *,
    normalization: MineNormalization | None = None,
    hidden: int | Sequence[int] = (128, 128),
    steps: int = 2000,
    epochs: int | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    ema: float | None = 0.01,
    folds: int | None = 2,
    eval_every: int = 100,
    patience: int | None = 10,
    n_marginal_perms: int = 10,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> MIResult:
    """MINE: the Donsker-Varadhan lower bound on I(X;Y), maximised over a neural critic.

    Implements eq. 8 of the scale-invariance paper (Section 2.2; Belghazi et al. 2018)::

        I_MINE = max_T  mean_i T(x_i, y_i) - log mean_j exp T(x_j, y~_j)

    where ``y~`` is ``y`` shuffled (samples of the product of the marginals) and ``T`` is a fully
    connected ReLU network on the concatenation ``[x, y]``. The critic is trained with Adam
    (cosine-annealed learning rate) on mini-batches of ``batch_size`` joint pairs and as many
    marginal pairs; with ``ema`` set, the gradient of the log-partition term uses the
    bias-corrected exponential moving average of ``mean exp T`` in its denominator (Belghazi et al.
    2018, Section 3.2), otherwise the plain DV loss is differentiated.

    ``normalization`` selects the MINE rows of Table 1 of the scale-invariance paper (Section 4):

    - ``None``: plain MINE on the raw inputs. Not scale invariant: as Proposition 5 states, the
      SGD-trained estimate collapses when one variable is scaled towards 0, and it degrades when one
      variable is scaled up by orders of magnitude;
    - ``"local"``: MINE-Local, every column centred and divided by its standard deviation
      (Definition 1);
    - ``"global"``: MINE-Global, each variable centred and divided by ``sqrt(E ||X - E X||_2^2)``
      (Definition 2);
    - ``"global-corrected"``: MINE-Global-Corrected (Section 5.3): the global normalisation times
      ``sqrt(d)`` for each variable, so that the average squared feature is one whatever ``d``.

    Normalisation statistics are taken over the whole sample. See the module docstring for the
    cross-fitting scheme (``folds``).

    Parameters
    ----------
    x, y
        Paired samples, ``(n_samples, d_x)`` and ``(n_samples, d_y)`` (1-D = one column); numpy
        arrays, pandas objects or scipy sparse matrices. Never modified.
    normalization
        ``None``, ``"local"``, ``"global"`` or ``"global-corrected"`` (see above).
    hidden
        Width(s) of the critic's hidden layers; an int is one hidden layer. Default ``(128, 128)``.
    steps
        Most gradient steps per critic. Default 2000. Ignored when ``epochs`` is given.
    epochs
        If given, train each critic for at most ``epochs`` passes over its training samples
        (``epochs * (n_train // batch_size)`` steps).
    batch_size
        Pairs per mini-batch, clipped to the number of training samples. Default 256.
    lr
        Initial Adam learning rate (annealed to 0 over ``steps`` with a cosine). Default ``1e-3``.
    ema
        Rate of the moving average for the bias-corrected gradient (Belghazi et al. use 0.01), in
        ``(0, 1]``; ``None`` trains on the plain DV loss.
    folds
        Number of cross-fitting parts (>= 2), default 2; ``None`` trains one critic on all samples
        for exactly ``steps`` steps and scores the same samples (no early stopping).
    eval_every
        Steps between two evaluations of the held-out bound (early stopping). Default 100.
    patience
        Stop a critic after this many evaluations without improvement of the held-out bound
        (default 10); ``None`` always trains for ``steps`` steps (the best weights are still kept).
    n_marginal_perms
        Random permutations of ``y`` whose marginal pairs are pooled for the log-partition term on
        the scored samples. Default 10. (Not ``n_shuffles``: in :func:`bioinfo_mi.mi` that is the
        permutation test of independence.)
    base
        Unit of the result: ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        ``None``, an int or a ``numpy.random.Generator``; seeds the one ``torch.Generator`` used
        for all randomness. Same seed, same result (bit-identical on CPU).
    device
        Torch device; default CUDA when available, else CPU.
    progress
        Show a tqdm progress bar per critic.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` with ``method`` ``"mine"``, ``"mine-local"``, ``"mine-global"``
    or ``"mine-global-corrected"``. For a sample ``i`` scored by critic ``T``,
    ``pmi[i] = T(x_i, y_i) - log mean exp T(marginal pairs of its part)``, so the mean of ``pmi``
    over a part is that part's DV bound and ``mi == pmi.mean()`` (their size-weighted average).
    ``extra`` holds, per critic, ``loss`` (training loss, the negative mini-batch DV bound in nats,
    averaged over ``loss_every`` steps), ``val_bound`` (held-out bound in nats at every evaluation),
    ``best_step`` and ``n_steps`` (steps actually run); plus ``loss_every``, ``eval_every``,
    ``log_partition`` (marginal term per part, nats), ``fold`` (the part of each sample, or None)
    and ``device``.
    """
    if normalization not in MINE_NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {list(MINE_NORMALIZATIONS)}, got {normalization!r}")
    method = "mine" if normalization is None else f"mine-{normalization}"
    hidden_t = _check_hidden(hidden)
    batch_size = check_positive_int(batch_size, name="batch_size")
    n_marginal_perms = check_positive_int(n_marginal_perms, name="n_marginal_perms")
    lr = _check_positive_float(lr, name="lr")
    if ema is not None:
        ema = _check_positive_float(ema, name="ema")
        if ema > 1:
            raise ValueError(f"ema must be in (0, 1] or None, got {ema}")
    common = _check_common(steps, epochs, folds, eval_every, patience, base)
    xa, ya = check_pair(x, y, min_samples=_MIN_SAMPLES, method=method)
    xa = _mine_normalize(xa, normalization, name="x")
    ya = _mine_normalize(ya, normalization, name="y")
    width = xa.shape[1] + ya.shape[1]

    def make(gen: torch.Generator) -> _Objective:
        return _MineObjective(_mlp(width, hidden_t, 1, gen), ema=ema, n_marginal_perms=n_marginal_perms)

    fit = _cross_fit(
        xa,
        ya,
        make,
        batch_size=batch_size,
        lr=lr,
        random_state=random_state,
        device=device,
        progress=progress,
        desc=method,
        **common,
    )
    params = {
        "normalization": normalization,
        "hidden": list(hidden_t),
        "steps": steps,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "ema": ema,
        "folds": folds,
        "eval_every": eval_every,
        "patience": patience,
        "n_marginal_perms": n_marginal_perms,
    }
    return _result(fit, method=method, base=base, params=params, summary_key="log_partition")


def infonce(
    x: Any,
    y: Any,
    *,
    hidden: int | Sequence[int] = (256,),
    embed_dim: int = 32,
    steps: int = 2000,
    epochs: int | None = None,
    batch_size: int = 512,
    lr: float = 2e-4,
    folds: int | None = 2,
    eval_every: int = 25,
    patience: int | None = 10,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> MIResult:
    """InfoNCE lower bound on I(X;Y) with a separable critic.

    Implements the InfoNCE / contrastive predictive coding bound (van den Oord et al. 2018; Poole
    et al. 2019, eq. 10), a baseline of the LMI paper (Section 3.1, Appendix A.4.3)::

        I_NCE = mean_i [ f(x_i, y_i) - log mean_j exp f(x_i, y_j) ]

    with the separable critic ``f(x, y) = g(x) . h(y)``, where ``g`` and ``h`` are ReLU MLPs with
    ``embed_dim`` outputs, so all ``N x N`` scores are one matrix product. Inputs are centred and
    scaled to unit variance per column (Definition 1 of the scale-invariance paper), so the estimate
    does not depend on the units of either variable. The critic is trained with Adam
    (cosine-annealed learning rate) on mini-batches of ``batch_size`` pairs, every other pair of a
    batch serving as a negative; see the module docstring for the cross-fitting scheme (``folds``).

    The bound can never exceed ``log M``, where ``M`` is the number of candidates ``j`` (the size of
    the scored part: ``n_samples / folds``, or ``n_samples`` with ``folds=None``), and during
    training ``log batch_size``. InfoNCE therefore underestimates any MI comparable to or above
    ``log2(M)`` bits.

    Parameters
    ----------
    x, y
        Paired samples, ``(n_samples, d_x)`` and ``(n_samples, d_y)``; never modified.
    hidden
        Width(s) of the hidden layers of ``g`` and ``h``. Default ``(256,)``.
    embed_dim
        Output dimension of ``g`` and ``h``. Default 32.
    steps
        Most gradient steps per critic. Default 2000 (early stopping usually ends far sooner).
        Ignored when ``epochs`` is given.
    epochs
        If given, train each critic for at most ``epochs`` passes over its training samples.
    batch_size
        Pairs per mini-batch, clipped to the number of training samples. Default 512.
    lr
        Initial Adam learning rate (cosine-annealed to 0 over ``steps``). Default ``2e-4``.
    folds
        Number of cross-fitting parts (>= 2), default 2; ``None`` trains one critic on all samples
        for exactly ``steps`` steps and scores the same samples (overfits with small samples).
    eval_every
        Steps between two evaluations of the held-out bound. Default 25 (the separable critic
        learns, and starts to overfit, within a few hundred steps).
    patience
        Stop a critic after this many evaluations without improvement (default 10); ``None``
        trains for ``steps`` steps.
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        ``None``, an int or a ``numpy.random.Generator`` (seeds one ``torch.Generator``).
    device
        Torch device; default CUDA when available, else CPU.
    progress
        Show a tqdm progress bar per critic.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` (``method="infonce"``) with
    ``pmi[i] = f(x_i, y_i) - log mean_j exp f(x_i, y_j)``, ``j`` over the samples of ``i``'s part
    (computed in row chunks), and ``mi = pmi.mean()``. ``extra`` holds per critic ``loss``
    (negative mini-batch InfoNCE bound, nats), ``val_bound``, ``best_step``, ``n_steps``, plus
    ``log_m`` (the ceiling ``log M`` of each part, in ``base`` units), ``loss_every``,
    ``eval_every``, ``fold`` and ``device``.
    """
    hidden_t = _check_hidden(hidden)
    embed_dim = check_positive_int(embed_dim, name="embed_dim")
    batch_size = check_positive_int(batch_size, name="batch_size")
    lr = _check_positive_float(lr, name="lr")
    common = _check_common(steps, epochs, folds, eval_every, patience, base)
    xa, ya = check_pair(x, y, min_samples=_MIN_SAMPLES, method="infonce")
    xa = normalize(xa, "local")
    ya = normalize(ya, "local")
    dx, dy = xa.shape[1], ya.shape[1]

    def make(gen: torch.Generator) -> _Objective:
        return _InfoNCEObjective(
            _mlp(dx, hidden_t, embed_dim, gen, out_scale=_NCE_OUT_SCALE),
            _mlp(dy, hidden_t, embed_dim, gen, out_scale=_NCE_OUT_SCALE),
        )

    fit = _cross_fit(
        xa,
        ya,
        make,
        batch_size=batch_size,
        lr=lr,
        random_state=random_state,
        device=device,
        progress=progress,
        desc="infonce",
        **common,
    )
    params = {
        "hidden": list(hidden_t),
        "embed_dim": embed_dim,
        "steps": steps,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "folds": folds,
        "eval_every": eval_every,
        "patience": patience,
    }
    res = _result(fit, method="infonce", base=base, params=params, summary_key=None)
    res.extra["log_m"] = [float(to_base(math.log(len(idx)), base)) for idx in fit["scored"]]
    return res


# --------------------------------------------------------------------------------------------
# networks and objectives
# --------------------------------------------------------------------------------------------


def _linear(d_in: int, d_out: int, gen: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default initialisation drawn from ``gen`` (not the global RNG)."""
    layer = nn.utils.skip_init(nn.Linear, d_in, d_out)
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
    bound = 1.0 / math.sqrt(d_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=gen)
    return layer


def _mlp(
    d_in: int, hidden: tuple[int, ...], d_out: int, gen: torch.Generator, *, out_scale: float = 1.0
) -> nn.Sequential:
    """ReLU MLP; the output layer's initial weights and bias are multiplied by ``out_scale``."""
    layers: list[nn.Module] = []
    width = d_in
    for h in hidden:
        layers += [_linear(width, h, gen), nn.ReLU()]
        width = h
    last = _linear(width, d_out, gen)
    if out_scale != 1.0:
        with torch.no_grad():
            last.weight.mul_(out_scale)
            last.bias.mul_(out_scale)
    layers.append(last)
    return nn.Sequential(*layers)


def _chunked(fn: Any, n: int, width: int) -> torch.Tensor:
    """Concatenate ``fn(i, j)`` over row blocks ``[i, j)`` of at most ``_EVAL_CHUNK_ELEMENTS / width`` rows."""
    rows = max(1, _EVAL_CHUNK_ELEMENTS // max(1, width))
    return torch.cat([fn(i, min(i + rows, n)) for i in range(0, n, rows)])


class _Objective(nn.Module):
    """A critic with its training loss and its pointwise bound on a scoring set."""

    def prepare(self, m: int, gen: torch.Generator, device: torch.device) -> None:
        """Draw whatever randomness scoring a set of ``m`` samples needs (fixed for all evaluations)."""

    def train_loss(
        self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, midx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to differentiate, mini-batch bound in nats) for joint rows ``idx``."""
        raise NotImplementedError

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """(pointwise bound in nats as float64, a scalar summary) on the scoring set."""
        raise NotImplementedError


class _MineObjective(_Objective):
    def __init__(self, net: nn.Module, *, ema: float | None, n_marginal_perms: int) -> None:
        super().__init__()
        self.net = net
        self.ema = ema
        self.n_marginal_perms = n_marginal_perms
        self._log_ema: torch.Tensor | None = None
        self._perms: list[torch.Tensor] = []

    def critic(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=1)).squeeze(1)

    def prepare(self, m: int, gen: torch.Generator, device: torch.device) -> None:
        self._perms = [torch.randperm(m, generator=gen).to(device) for _ in range(self.n_marginal_perms)]

    def train_loss(
        self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, midx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b = len(idx)
        xb = x[idx]
        t = self.critic(torch.cat([xb, xb]), torch.cat([y[idx], y[midx]]))
        t_joint, t_marg = t[:b], t[b:]
        log_mean_exp = torch.logsumexp(t_marg, 0) - math.log(b)
        bound = t_joint.mean() - log_mean_exp
        if self.ema is None:
            return -bound, bound.detach()
        # bias-corrected gradient (Belghazi et al. 2018, Sec. 3.2): the gradient of log E[e^T] is
        # estimated by E[e^T dT] / EMA(E[e^T]); the moving average is kept in the log domain
        with torch.no_grad():
            lme = log_mean_exp.detach()
            if self._log_ema is None or self.ema == 1:
                self._log_ema = lme
            else:
                self._log_ema = torch.logaddexp(self._log_ema + math.log1p(-self.ema), lme + math.log(self.ema))
        surrogate = t_joint.mean() - torch.exp(t_marg - self._log_ema).mean()
        return -surrogate, bound.detach()

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        m, width = x.shape[0], x.shape[1] + y.shape[1]
        t_joint = _chunked(lambda i, j: self.critic(x[i:j], y[i:j]), m, width).double()
        marg = []
        for perm in self._perms:
            ys = y[perm]
            marg.append(_chunked(lambda i, j, ys=ys: self.critic(x[i:j], ys[i:j]), m, width))
        t_marg = torch.cat(marg).double()
        log_partition = torch.logsumexp(t_marg, 0) - math.log(t_marg.numel())
        return t_joint - log_partition, float(log_partition)


class _InfoNCEObjective(_Objective):
    def __init__(self, g: nn.Module, h: nn.Module) -> None:
        super().__init__()
        self.g = g
        self.h = h

    def train_loss(
        self, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, midx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.g(x[idx]) @ self.h(y[idx]).T
        target = torch.arange(len(idx), device=x.device)
        # cross-entropy of picking the true partner among the batch = log B - InfoNCE bound
        loss = nn.functional.cross_entropy(scores, target)
        return loss, math.log(len(idx)) - loss.detach()

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        m = x.shape[0]
        gx, hy = self.g(x), self.h(y)
        rows = max(1, _EVAL_CHUNK_ELEMENTS // m)
        parts = []
        for i in range(0, m, rows):
            scores = (gx[i : i + rows] @ hy.T).double()
            r = torch.arange(scores.shape[0], device=x.device)
            parts.append(scores[r, r + i] - torch.logsumexp(scores, dim=1))
        return torch.cat(parts) + math.log(m), None


# --------------------------------------------------------------------------------------------
# training: cross-fitting, early stopping
# --------------------------------------------------------------------------------------------


def _folds(n: int, folds: int | None, gen: torch.Generator) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Return the parts the critics score (all samples when ``folds`` is None) and each sample's part."""
    if folds is None:
        return [np.arange(n)], None
    if n // folds < _MIN_SAMPLES:
        raise ValueError(
            f"folds={folds} leaves parts of {n // folds} samples; each needs at least {_MIN_SAMPLES} "
            f"(use fewer folds, folds=None, or more samples)"
        )
    order = torch.randperm(n, generator=gen).numpy()
    parts = [np.sort(p) for p in np.array_split(order, folds)]
    fold_of = np.empty(n, dtype=np.int64)
    for k, p in enumerate(parts):
        fold_of[p] = k
    return parts, fold_of


def _cross_fit(
    xa: np.ndarray,
    ya: np.ndarray,
    make: Any,
    *,
    steps: int,
    epochs: int | None,
    folds: int | None,
    eval_every: int,
    patience: int | None,
    batch_size: int,
    lr: float,
    random_state: int | np.random.Generator | None,
    device: Any,
    progress: bool,
    desc: str,
) -> dict[str, Any]:
    """Train one critic per part and score each part with the critic that did not see it."""
    n = xa.shape[0]
    dev = check_device(device)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed_from(check_random_state(random_state)))
    parts, fold_of = _folds(n, folds, gen)
    pmi_nats = np.full(n, np.nan)
    out: dict[str, Any] = {
        "loss": [],
        "loss_every": [],
        "val_bound": [],
        "best_step": [],
        "n_steps": [],
        "summary": [],
        "scored": parts,
        "fold": fold_of,
        "device": str(dev),
    }
    with _limited_threads():
        xt = torch.as_tensor(xa, dtype=torch.float32).to(dev)
        yt = torch.as_tensor(ya, dtype=torch.float32).to(dev)
        for k, score_idx in enumerate(parts):
            train_idx = score_idx if folds is None else np.sort(np.concatenate(parts[:k] + parts[k + 1 :]))
            tr = torch.as_tensor(train_idx, device=dev)
            sc = torch.as_tensor(score_idx, device=dev)
            bs = min(batch_size, len(train_idx))
            max_steps = steps if epochs is None else epochs * max(1, len(train_idx) // bs)
            objective = make(gen).to(dev)
            objective.prepare(len(score_idx), gen, dev)
            label = desc if folds is None else f"{desc} [{k + 1}/{folds}]"
            log = _train(
                objective,
                xt[tr],
                yt[tr],
                xt[sc] if folds else None,
                yt[sc] if folds else None,
                steps=max_steps,
                batch_size=bs,
                lr=lr,
                eval_every=eval_every,
                patience=patience,
                gen=gen,
                progress=progress,
                desc=label,
            )
            objective.eval()
            with torch.no_grad():
                values, summary = objective.pointwise(xt[sc], yt[sc])
            pmi_nats[score_idx] = values.cpu().numpy()
            for key in ("loss", "loss_every", "val_bound", "best_step", "n_steps"):
                out[key].append(log[key])
            out["summary"].append(summary)
    out["pmi_nats"] = pmi_nats
    return out


def _train(
    objective: _Objective,
    x: torch.Tensor,
    y: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    eval_every: int,
    patience: int | None,
    gen: torch.Generator,
    progress: bool,
    desc: str,
) -> dict[str, Any]:
    """Adam with a cosine-annealed learning rate; with validation data, keeps the weights with the best
    held-out bound (checked at step 0 and every ``eval_every`` steps) and stops after ``patience``
    checks without improvement.
    """
    opt = torch.optim.Adam(objective.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    tracker = _LossTracker(steps)
    validate = x_val is not None and y_val is not None
    val_bounds: list[float] = []
    best, best_step, best_state, stale = -math.inf, 0, None, 0

    def check(step: int) -> bool:
        """Evaluate the held-out bound; return True to stop."""
        nonlocal best, best_step, best_state, stale
        objective.eval()
        with torch.no_grad():
            value = float(objective.pointwise(x_val, y_val)[0].mean())
        objective.train()
        val_bounds.append(value)
        if value > best:
            best, best_step, stale = value, step, 0
            best_state = copy.deepcopy(objective.state_dict())
        else:
            stale += 1
        return patience is not None and stale >= patience

    objective.train()
    if validate:
        check(0)
    n_done = 0
    pbar = _progress(steps, progress, desc)
    for step, (idx, midx) in enumerate(_batches(x.shape[0], batch_size, steps, gen, x.device), start=1):
        loss, bound = objective.train_loss(x, y, idx, midx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        tracker.add(-bound)
        n_done = step
        if pbar is not None:
            pbar.update(1)
        if validate and (step % eval_every == 0 or step == steps):
            stop = check(step)
            if pbar is not None:
                pbar.set_postfix(val_bound=f"{val_bounds[-1]:.3f}", best=f"{best:.3f}")
            if stop:
                break
    if pbar is not None:
        pbar.close()
    if best_state is not None:
        objective.load_state_dict(best_state)
    return {
        "loss": tracker.values(),
        "loss_every": tracker.every,
        "val_bound": val_bounds,
        "best_step": best_step if validate else n_done,
        "n_steps": n_done,
    }


def _batches(
    n: int, bs: int, steps: int, gen: torch.Generator, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``steps`` pairs (joint row indices, marginal row indices) of ``bs`` rows each.

    Each epoch draws two fresh permutations (the last incomplete batch of an epoch is dropped);
    marginal pairs combine ``x`` of the joint batch with ``y`` of the independent permutation.
    """
    pos = n
    order = marg = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        if pos + bs > n:
            order = torch.randperm(n, generator=gen).to(device)
            marg = torch.randperm(n, generator=gen).to(device)
            pos = 0
        yield order[pos : pos + bs], marg[pos : pos + bs]
        pos += bs


class _LossTracker:
    """Averages the per-step loss over blocks of ``every`` steps (at most ``_LOSS_POINTS`` values)."""

    def __init__(self, steps: int) -> None:
        self.every = max(1, math.ceil(steps / _LOSS_POINTS))
        self._blocks: list[torch.Tensor] = []
        self._current: list[torch.Tensor] = []

    def add(self, value: torch.Tensor) -> None:
        self._current.append(value)
        if len(self._current) == self.every:
            self._blocks.append(torch.stack(self._current).mean())
            self._current = []

    def values(self) -> list[float]:
        if self._current:
            self._blocks.append(torch.stack(self._current).mean())
            self._current = []
        if not self._blocks:
            return []
        return [float(v) for v in torch.stack(self._blocks).cpu().tolist()]


def _progress(total: int, show: bool, desc: str) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _result(
    fit: dict[str, Any], *, method: str, base: str | float, params: dict[str, Any], summary_key: str | None
) -> MIResult:
    pmi = np.asarray(to_base(fit["pmi_nats"], base), dtype=np.float64)
    extra: dict[str, Any] = {
        "loss": fit["loss"],
        "loss_every": fit["loss_every"],
        "val_bound": fit["val_bound"],
        "eval_every": params["eval_every"],
        "best_step": fit["best_step"],
        "n_steps": fit["n_steps"],
        "fold": fit["fold"],
        "device": fit["device"],
    }
    if summary_key is not None:
        extra[summary_key] = fit["summary"]
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method=method,
        base=base,
        n_samples=len(pmi),
        params=params,
        extra=extra,
    )


def _mine_normalize(a: np.ndarray, normalization: str | None, *, name: str) -> np.ndarray:
    if normalization is None:
        return a
    if normalization == "local":
        return normalize(a, "local")
    if not (a.std(axis=0) > 0).any():
        raise ValueError(f"{name} is constant; it cannot be globally normalised (and carries no information)")
    out = normalize(a, "global")
    if normalization == "global-corrected":
        out = out * math.sqrt(a.shape[1])
    return out


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a positive int or a non-empty sequence of positive ints, got {hidden!r}")
    if len(hidden) == 0:
        raise ValueError("hidden must contain at least one layer width, got an empty sequence")
    return tuple(check_positive_int(h, name=f"hidden[{i}]") for i, h in enumerate(hidden))


def _check_positive_float(value: Any, *, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _check_common(steps: Any, epochs: Any, folds: Any, eval_every: Any, patience: Any, base: Any) -> dict[str, Any]:
    """Validate the training-schedule arguments shared by both estimators (before any work)."""
    to_base(1.0, base)  # raises for an invalid base
    return {
        "steps": check_positive_int(steps, name="steps"),
        "epochs": None if epochs is None else check_positive_int(epochs, name="epochs"),
        "folds": None if folds is None else check_positive_int(folds, name="folds", minimum=2),
        "eval_every": check_positive_int(eval_every, name="eval_every"),
        "patience": None if patience is None else check_positive_int(patience, name="patience"),
    }


@contextmanager
def _limited_threads(max_threads: int = MAX_THREADS) -> Iterator[None]:
    """Cap torch's intra-op CPU threads at ``max_threads`` for the duration of the block."""
    previous = torch.get_num_threads()
    wanted = max(1, min(previous, max_threads))
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
