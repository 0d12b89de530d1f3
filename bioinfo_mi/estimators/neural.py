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

Both return an :class:`~bioinfo_mi.MIResult` whose ``pmi`` (pointwise values, one per sample)
averages exactly to ``mi``. The critic is trained on the whole sample and the bound is then
evaluated on the whole sample (no held-out split), so with small samples and large critics the
estimate can be optimistic.

Reproducibility
---------------
All randomness (weight initialisation, mini-batch permutations, the marginal shuffles) is drawn
from one ``torch.Generator`` seeded from ``random_state``; the global torch RNG is neither used
nor reseeded. On CPU the same seed gives bit-identical results (for the same number of threads).
During a fit torch is limited to at most :data:`MAX_THREADS` intra-op threads; the previous
setting is restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._validation import check_pair, check_positive_int, check_random_state, seed_from, to_base
from ._result import MIResult
from .normalization import normalize

__all__ = ["mine", "infonce", "MINE_NORMALIZATIONS", "MAX_THREADS"]

MineNormalization = Literal["local", "global", "global-corrected"]

#: accepted values of ``normalization`` in :func:`mine` (``None`` = raw inputs, plain MINE)
MINE_NORMALIZATIONS: tuple[str | None, ...] = (None, "local", "global", "global-corrected")

#: most intra-op CPU threads torch may use during a fit (small MLPs gain nothing from more)
MAX_THREADS = 4

#: fewest samples accepted (a mini-batch needs a few distinct pairs to form marginal pairs)
_MIN_SAMPLES = 4

#: number of score-matrix / critic-input elements evaluated at once after training
_EVAL_CHUNK_ELEMENTS = 2**22

#: number of training-loss values kept in ``extra["loss"]`` (at most)
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
    steps: int = 3000,
    epochs: int | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    ema: float | None = 0.01,
    n_shuffles: int = 10,
    base: str | float = "bits",
    random_state: Any = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> MIResult:
    """MINE: the Donsker-Varadhan lower bound on I(X;Y) maximised over a neural critic.

    Implements eq. 8 of the scale-invariance paper (Section 2.2; Belghazi et al. 2018)::

        I_MINE = max_T  mean_i T(x_i, y_i) - log mean_j exp T(x_j, y~_j)

    where ``y~`` is ``y`` shuffled (samples of the product of marginals) and ``T`` is a fully
    connected ReLU network on the concatenation ``[x, y]``. The critic is trained with Adam on
    mini-batches; with ``ema`` set, the gradient of the log-partition term uses the bias-corrected
    exponential moving average of ``mean exp T`` in its denominator (Belghazi et al. 2018,
    Section 3.2), otherwise the plain DV loss is differentiated.

    ``normalization`` selects the rows of Table 1 of the scale-invariance paper (Section 4):

    - ``None``: plain MINE on the raw inputs. Not scale invariant: by Proposition 5 the SGD-trained
      estimate collapses as one variable is scaled towards 0, and it degrades (becomes unstable or
      strongly negative) when one variable is scaled up by orders of magnitude;
    - ``"local"``: MINE-Local, every column centred and divided by its standard deviation
      (Definition 1);
    - ``"global"``: MINE-Global, each variable centred and divided by
      ``sqrt(E ||X - E X||_2^2)`` (Definition 2);
    - ``"global-corrected"``: MINE-Global-Corrected (Section 5.3), the global normalisation times
      ``sqrt(d)`` for each variable, so that the average squared feature stays of order one
      whatever the dimension.

    After training, the bound is evaluated on the full sample; the marginal term is averaged over
    ``n_shuffles`` random permutations of ``y`` for stability.

    Parameters
    ----------
    x, y
        Paired samples, ``(n_samples, d_x)`` and ``(n_samples, d_y)`` (1-D = one column); numpy
        arrays, pandas objects or scipy sparse matrices. Never modified. At least 4 samples.
    normalization
        ``None``, ``"local"``, ``"global"`` or ``"global-corrected"`` (see above).
    hidden
        Width(s) of the hidden layers of the critic; an int is one hidden layer.
        Default ``(128, 128)``.
    steps
        Number of gradient steps (mini-batches). Default 3000, which takes roughly 10 s for
        ``n_samples=2000, d=10`` on two CPU cores. Ignored when ``epochs`` is given.
    epochs
        If given, train for ``epochs`` passes over the data instead (``epochs * (n // batch_size)``
        steps).
    batch_size
        Pairs per mini-batch (the same number of marginal pairs is drawn). Clipped to
        ``n_samples``. Default 256.
    lr
        Adam learning rate. Default ``1e-3``.
    ema
        Rate of the moving average of ``mean exp T`` for the bias-corrected gradient (Belghazi et
        al. use 0.01), in ``(0, 1]``; ``None`` trains on the plain (biased-gradient) DV loss.
    n_shuffles
        Random permutations of ``y`` whose marginal pairs are pooled for the final log-partition
        term. Default 10.
    base
        Unit of the result: ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        ``None``, an int or a ``numpy.random.Generator``; seeds one ``torch.Generator`` used for
        all randomness. Same seed, same result (bit-identical on CPU).
    device
        Torch device; default CUDA when available, else CPU.
    verbose
        Show a tqdm progress bar with the running bound.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` with ``method`` ``"mine"``, ``"mine-local"``, ``"mine-global"``
    or ``"mine-global-corrected"``. ``pmi[i] = T(x_i, y_i) - log mean exp T(marginal pairs)``,
    so ``pmi.mean() == mi``, the DV bound on the full sample. ``extra`` holds ``loss`` (training
    loss, the negative DV bound of the mini-batches in nats, averaged over ``loss_every`` steps),
    ``loss_every``, ``log_partition`` (the marginal term, nats), ``mi_nats`` and ``device``.
    """
    if normalization not in MINE_NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {list(MINE_NORMALIZATIONS)}, got {normalization!r}"
        )
    method = "mine" if normalization is None else f"mine-{normalization}"
    hidden_t = _check_hidden(hidden)
    batch_size = check_positive_int(batch_size, name="batch_size")
    n_shuffles = check_positive_int(n_shuffles, name="n_shuffles")
    lr = _check_positive_float(lr, name="lr")
    if ema is not None:
        ema = _check_positive_float(ema, name="ema")
        if ema > 1:
            raise ValueError(f"ema must be in (0, 1] or None, got {ema}")
    to_base(1.0, base)  # validates base before any training
    xa, ya = check_pair(x, y, min_samples=_MIN_SAMPLES, method=method)
    n = xa.shape[0]
    bs = min(batch_size, n)
    n_steps = _resolve_steps(steps, epochs, n, bs)
    xa = _mine_normalize(xa, normalization, name="x")
    ya = _mine_normalize(ya, normalization, name="y")
    dev = _resolve_device(device)
    gen = _make_generator(random_state)

    with _limited_threads():
        xt = torch.as_tensor(xa, dtype=torch.float32).to(dev)
        yt = torch.as_tensor(ya, dtype=torch.float32).to(dev)
        critic = _JointCritic(xt.shape[1] + yt.shape[1], hidden_t, gen).to(dev)
        losses, every = _train_mine(critic, xt, yt, steps=n_steps, batch_size=bs, lr=lr, ema=ema, gen=gen,
                                    verbose=verbose, desc=method)
        critic.eval()
        with torch.no_grad():
            t_joint = _chunked(lambda i, j: critic(xt[i:j], yt[i:j]), n, xt.shape[1] + yt.shape[1])
            marg = []
            for _ in range(n_shuffles):
                perm = torch.randperm(n, generator=gen).to(dev)
                ys = yt[perm]
                marg.append(_chunked(lambda i, j, ys=ys: critic(xt[i:j], ys[i:j]), n, xt.shape[1] + yt.shape[1]))
            t_marg = torch.cat(marg)
            log_partition = float(torch.logsumexp(t_marg.double(), 0) - math.log(t_marg.numel()))
        pmi_nats = t_joint.double().cpu().numpy() - log_partition

    mi_nats = float(pmi_nats.mean())
    pmi = np.asarray(to_base(pmi_nats, base), dtype=np.float64)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method=method,
        base=base,
        n_samples=n,
        params={
            "normalization": normalization,
            "hidden": list(hidden_t),
            "steps": n_steps,
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "ema": ema,
            "n_shuffles": n_shuffles,
        },
        extra={
            "loss": losses,
            "loss_every": every,
            "log_partition": log_partition,
            "mi_nats": mi_nats,
            "device": str(dev),
        },
    )


def infonce(
    x: Any,
    y: Any,
    *,
    hidden: int | Sequence[int] = (256,),
    embed_dim: int = 32,
    steps: int = 1000,
    epochs: int | None = None,
    batch_size: int = 512,
    lr: float = 5e-4,
    base: str | float = "bits",
    random_state: Any = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> MIResult:
    """InfoNCE lower bound on I(X;Y) with a separable critic.

    Implements the InfoNCE / contrastive predictive coding bound (van den Oord et al. 2018; Poole
    et al. 2019, eq. 10), used as a baseline in the LMI paper (Section 3.1, Appendix A.4.3)::

        I_NCE = mean_i [ f(x_i, y_i) - log mean_j exp f(x_i, y_j) ]

    with the separable critic ``f(x, y) = g(x) . h(y)``, where ``g`` and ``h`` are ReLU MLPs
    ending in ``embed_dim`` outputs, so all ``N x N`` scores are one matrix product. Inputs are
    centred and scaled to unit variance per column (Definition 1 of the scale-invariance paper), so
    the estimate does not depend on the units of either variable. The critic is trained with Adam
    on mini-batches of ``batch_size`` pairs (every other pair of the batch is a negative); the
    bound is then evaluated on the full sample.

    The bound can never exceed ``log N`` (``log batch_size`` during training): InfoNCE
    underestimates any MI comparable to or above ``log2(n_samples)`` bits.

    Parameters
    ----------
    x, y
        Paired samples, ``(n_samples, d_x)`` and ``(n_samples, d_y)``; never modified. At least 4
        samples.
    hidden
        Width(s) of the hidden layers of ``g`` and ``h``. Default ``(256,)``.
    embed_dim
        Output dimension of ``g`` and ``h``. Default 32.
    steps
        Number of gradient steps. Default 1000 (a few seconds for ``n_samples=2000, d=10`` on two
        CPU cores). Ignored when ``epochs`` is given.
    epochs
        If given, train for ``epochs`` passes over the data (``epochs * (n // batch_size)`` steps).
    batch_size
        Pairs per mini-batch, clipped to ``n_samples``. Default 512.
    lr
        Adam learning rate. Default ``5e-4``.
    base
        ``"bits"`` (default), ``"nats"`` or a number > 1.
    random_state
        ``None``, an int or a ``numpy.random.Generator`` (seeds one ``torch.Generator``).
    device
        Torch device; default CUDA when available, else CPU.
    verbose
        Show a tqdm progress bar.

    Returns
    -------
    :class:`~bioinfo_mi.MIResult` (``method="infonce"``) with
    ``pmi[i] = f(x_i, y_i) - log mean_j exp f(x_i, y_j)`` over all ``n_samples`` candidates ``j``
    (computed in row chunks), ``mi = pmi.mean() <= log N``. ``extra`` holds ``loss`` (training
    loss, the negative InfoNCE bound of the mini-batches in nats), ``loss_every``, ``log_n``
    (the ceiling ``log N`` in ``base`` units), ``mi_nats`` and ``device``.
    """
    hidden_t = _check_hidden(hidden)
    embed_dim = check_positive_int(embed_dim, name="embed_dim")
    batch_size = check_positive_int(batch_size, name="batch_size")
    lr = _check_positive_float(lr, name="lr")
    to_base(1.0, base)
    xa, ya = check_pair(x, y, min_samples=_MIN_SAMPLES, method="infonce")
    n = xa.shape[0]
    bs = min(batch_size, n)
    n_steps = _resolve_steps(steps, epochs, n, bs)
    xa = normalize(xa, "local")
    ya = normalize(ya, "local")
    dev = _resolve_device(device)
    gen = _make_generator(random_state)

    with _limited_threads():
        xt = torch.as_tensor(xa, dtype=torch.float32).to(dev)
        yt = torch.as_tensor(ya, dtype=torch.float32).to(dev)
        g = _mlp(xt.shape[1], hidden_t, embed_dim, gen).to(dev)
        h = _mlp(yt.shape[1], hidden_t, embed_dim, gen).to(dev)
        losses, every = _train_infonce(g, h, xt, yt, steps=n_steps, batch_size=bs, lr=lr, gen=gen, verbose=verbose)
        g.eval()
        h.eval()
        with torch.no_grad():
            gx = g(xt)
            hy = h(yt)
            rows = max(1, _EVAL_CHUNK_ELEMENTS // n)
            parts = []
            for i in range(0, n, rows):
                scores = gx[i : i + rows] @ hy.T
                diag = scores[torch.arange(scores.shape[0], device=dev), torch.arange(i, i + scores.shape[0], device=dev)]
                parts.append(diag.double() - torch.logsumexp(scores.double(), dim=1))
            pmi_nats = (torch.cat(parts) + math.log(n)).cpu().numpy()

    mi_nats = float(pmi_nats.mean())
    pmi = np.asarray(to_base(pmi_nats, base), dtype=np.float64)
    return MIResult(
        mi=float(pmi.mean()),
        pmi=pmi,
        method="infonce",
        base=base,
        n_samples=n,
        params={
            "hidden": list(hidden_t),
            "embed_dim": embed_dim,
            "steps": n_steps,
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
        },
        extra={
            "loss": losses,
            "loss_every": every,
            "log_n": float(to_base(math.log(n), base)),
            "mi_nats": mi_nats,
            "device": str(dev),
        },
    )


# --------------------------------------------------------------------------------------------
# networks
# --------------------------------------------------------------------------------------------


def _linear(d_in: int, d_out: int, gen: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default initialisation drawn from ``gen`` (not the global RNG)."""
    layer = nn.utils.skip_init(nn.Linear, d_in, d_out)
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
    bound = 1.0 / math.sqrt(d_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=gen)
    return layer


def _mlp(d_in: int, hidden: tuple[int, ...], d_out: int, gen: torch.Generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = d_in
    for h in hidden:
        layers += [_linear(width, h, gen), nn.ReLU()]
        width = h
    layers.append(_linear(width, d_out, gen))
    return nn.Sequential(*layers)


class _JointCritic(nn.Module):
    """``T(x, y) = MLP([x, y])`` with one scalar output per pair."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], gen: torch.Generator) -> None:
        super().__init__()
        self.net = _mlp(d_in, hidden, 1, gen)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=1)).squeeze(1)


# --------------------------------------------------------------------------------------------
# training loops
# --------------------------------------------------------------------------------------------


def _batches(n: int, bs: int, steps: int, gen: torch.Generator, device: torch.device) -> Iterator[tuple[
        torch.Tensor, torch.Tensor]]:
    """Yield ``steps`` pairs (joint indices, marginal indices) of ``bs`` rows each.

    Each epoch draws two fresh permutations; the last incomplete batch of an epoch is dropped.
    Marginal pairs combine ``x`` of the joint batch with ``y`` of an independent permutation.
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


def _train_mine(
    critic: _JointCritic,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    ema: float | None,
    gen: torch.Generator,
    verbose: bool,
    desc: str,
) -> tuple[list[float], int]:
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    log_bs = math.log(batch_size)
    log_ema: torch.Tensor | None = None
    tracker = _LossTracker(steps)
    critic.train()
    for idx, midx in _progress(_batches(x.shape[0], batch_size, steps, gen, x.device), steps, verbose, desc):
        xb = x[idx]
        t = critic(torch.cat([xb, xb]), torch.cat([y[idx], y[midx]]))
        t_joint, t_marg = t[:batch_size], t[batch_size:]
        log_mean_exp = torch.logsumexp(t_marg, 0) - log_bs
        bound = t_joint.mean() - log_mean_exp
        if ema is None:
            loss = -bound
        else:
            # bias-corrected gradient (Belghazi et al. 2018, Sec. 3.2): d log E[e^T] is estimated by
            # E[e^T dT] / EMA(E[e^T]); the moving average is kept in the log domain
            with torch.no_grad():
                lme = log_mean_exp.detach()
                if log_ema is None:
                    log_ema = lme
                else:
                    log_ema = torch.logaddexp(log_ema + math.log1p(-ema), lme + math.log(ema)) if ema < 1 else lme
            loss = -(t_joint.mean() - torch.exp(t_marg - log_ema).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tracker.add(-bound.detach())
    return tracker.values(), tracker.every


def _train_infonce(
    g: nn.Module,
    h: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    gen: torch.Generator,
    verbose: bool,
) -> tuple[list[float], int]:
    opt = torch.optim.Adam([*g.parameters(), *h.parameters()], lr=lr)
    log_bs = math.log(batch_size)
    target = torch.arange(batch_size, device=x.device)
    tracker = _LossTracker(steps)
    g.train()
    h.train()
    for idx, _ in _progress(_batches(x.shape[0], batch_size, steps, gen, x.device), steps, verbose, "infonce"):
        scores = g(x[idx]) @ h(y[idx]).T
        # cross-entropy of picking the true partner among the batch = log B - InfoNCE bound
        loss = nn.functional.cross_entropy(scores, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tracker.add(loss.detach() - log_bs)
    return tracker.values(), tracker.every


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


def _progress(it: Iterator[Any], total: int, verbose: bool, desc: str) -> Iterator[Any]:
    if not verbose:
        return it
    from tqdm.auto import tqdm

    return iter(tqdm(it, total=total, desc=desc, leave=False))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _chunked(fn: Any, n: int, width: int) -> torch.Tensor:
    """Evaluate ``fn(i, j)`` on row blocks ``[i, j)`` of at most ``_EVAL_CHUNK_ELEMENTS / width`` rows."""
    rows = max(1, _EVAL_CHUNK_ELEMENTS // max(1, width))
    return torch.cat([fn(i, min(i + rows, n)) for i in range(0, n, rows)])


def _mine_normalize(a: np.ndarray, normalization: str | None, *, name: str) -> np.ndarray:
    if normalization is None:
        return a
    if normalization != "local" and not (a.std(axis=0) > 0).any():
        raise ValueError(f"{name} is constant; it cannot be globally normalised (and carries no information)")
    if normalization == "local":
        return normalize(a, "local")
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


def _resolve_steps(steps: Any, epochs: Any, n: int, bs: int) -> int:
    if epochs is None:
        return check_positive_int(steps, name="steps")
    epochs = check_positive_int(epochs, name="epochs")
    return epochs * max(1, n // bs)


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be None, a device string or a torch.device, got {device!r}") from err


def _make_generator(random_state: Any) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``random_state`` (indices are moved to the device)."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed_from(check_random_state(random_state)))
    return gen


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
