"""Latent mutual information (LMI): paired autoencoders regularised by cross-prediction, then KSG
on the held-out half (LMI paper, Algorithm 1, Section 2, Appendix A.1.2 and A.2.1).

Pipeline
--------
1. Standardise each variable per column with statistics of the whole sample, clip at +-10
   (Appendix A.1.2); constant columns are dropped with a warning instead of becoming NaN. In
   ``"default"`` a count matrix (non-negative integers) first passes through ``log(1 + x)``
   (:class:`LMIPreset` field ``log_counts``; issue 30, session 18).
2. Split the samples 1:1 at random into a training half and an estimation half.
3. Train encoders E_X, E_Y and decoders D_XX, D_YY (self) and D_YX, D_XY (cross) to minimise
   L_AE + L_C (eqs. 4-5); the estimation half is the validation set of early stopping
   (Algorithm 3, best weights restored).
4. Encode the estimation half and return pointwise KSG (Algorithm 5) on the latents; the training
   half gets NaN.

Presets
-------
``"paper"`` reproduces Appendix A.1.2 exactly (hidden widths L, L/2, L/4 with
L = max(2^floor(log2 d), 1024), Adam lr 1e-4, eps 1e-7, batch 512, <= 300 epochs, patience 30).
``"default"`` keeps the architecture's shape and the training recipe but sizes the hidden
layers to the input (L = clip(2^ceil(log2 d), 256, 512)) and uses lr 1e-3 with patience 10, which
``benchmarks/bench_lmi_presets.py`` shows to be at least as accurate and several times faster, and
better behaved with a few hundred samples and tens of features. The lower bound 256 keeps the
encoder's narrowest hidden layer (L/4 = 64) well above the 8 latent units: with L = 64 (bound 64,
used before) LMI underestimated by 0.36 bit on average at d = 10, k = 3 on the Gaussian grid (MSE
0.190, against 0.113 with 256; ``benchmarks/bench_lmi_width.py``, docs/benchmarks.md).
Below 10 held-out samples per KSG dimension (N < 320 at 8 per variable) ``"default"`` also
shrinks the latent size unless the user gives one (``lmi``, parameter ``latent_dim``), and it screens
the columns of sides with more than 20 on the training half (``lmi``, parameter ``screen``; issue 30);
``"paper"`` trains on every column.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .._rows import Rows, check_row_pair
from .._validation import (
    EstimateWarning,
    check_device,
    check_pair,
    check_positive_int,
    check_random_state,
    seed_from,
    spawn_generator,
    to_base,
)
from ._knn import _warn_duplicates, ksg_pointwise
from ._result import LMIResult
from ._screen import screen_columns

__all__ = ["LMIPreset", "PRESETS", "LMIModel", "lmi", "hidden_width"]

Regularizer = Literal["cross", "mine", "infonce"]


@dataclass(frozen=True)
class LMIPreset:
    """Hyper-parameters of LMI training.

    Attributes
    ----------
    width_rule
        ``"paper"``: L = max(2^floor(log2 d), 1024); ``"adaptive"``: L = clip(2^ceil(log2 d),
        ``min_width``, ``max_width``).
    min_width, max_width
        Bounds of the adaptive rule.
    latent_dim
        Latent size per variable (8 in the paper).
    lr, adam_eps
        Adam learning rate and epsilon (betas 0.9, 0.999).
    batch_size
        Mini-batch size.
    max_epochs, patience
        Epoch budget and early-stopping patience (Algorithm 3).
    patience_pairs
        At large N the patience is also bounded in training pairs: training stops after
        ``min(patience, ceil(patience_pairs / n_train))`` epochs without improvement (unless
        ``patience`` is given to :func:`lmi`), so that a sample of 50 000 training pairs waits 2
        epochs (100 000 pairs, 200 optimiser steps) instead of 10. Up to ``patience_pairs /
        patience`` training pairs (N = 20 000 at the defaults) nothing changes. ``None``: epochs only.
    dropout
        Dropout probability in the cross decoders.
    clip
        Clip value after standardisation.
    estimate_fraction
        Fraction of samples held out for the KSG estimate (0.5: the paper's 1:1 split).
    max_train
        Most training pairs: above ``max_train / (1 - estimate_fraction)`` samples (100 000 at the
        defaults) the encoders train on ``max_train`` pairs and every other pair is held out and
        scored by KSG, so memory stays bounded whatever N (benchmarks/bench_scale.py: at N = 10^5,
        d = 1000, 10 000 training pairs overfit after ~200 steps and read 0.81 of 0.98 bits, 50 000
        read 0.90 after 400 steps and still improved).
    max_validation
        Most held-out pairs behind the validation loss of early stopping and the cross-prediction
        R^2 (a random subset of the held-out pairs above it; KSG still scores all of them).
    screen
        Screen the columns on the training half before training (:func:`lmi`, parameter ``screen``;
        ``bioinfo_mi/estimators/_screen.py``). ``True`` in ``"default"`` (issue 30, session 13: the evidence is
        docs/benchmarks.md, "The screen is LMI's default"), ``False`` in ``"paper"`` (Appendix A.1.2: every
        column). Sides of at most 20 columns are never screened, so it changes nothing there.
    max_queries
        Most held-out pairs whose pointwise KSG values are computed (``None``: all). Above it, ``max_queries``
        held-out pairs drawn at random are each scored against every held-out pair
        (:func:`~bioinfo_mi.estimators.ksg_pointwise`, parameter ``queries``): the estimate has the same
        expectation as KSG on all of them (the same neighbourhoods) and costs ``max_queries / n_held_out`` of it,
        so the neighbour search grows about as N^0.8 instead of N^1.8 above it (issue 29); the Monte Carlo
        error it adds, ``sd(pmi) / sqrt(max_queries)``, is about 0.004 bits at the default (docs/performance.md,
        "The neighbour kernel's growth"), and the error bars include it. ``pmi`` is NaN on the pairs not scored.
        ``200_000`` in ``"default"``, ``None`` in ``"paper"`` (Algorithm 5 scores every held-out pair).
    log_counts
        Pass a side that is a count matrix (every value a non-negative integer, some above 1:
        :meth:`~bioinfo_mi._rows.Rows.is_counts`) through ``log(1 + x)`` before the standardisation
        (:func:`lmi`, parameter ``log_counts``). ``True`` in ``"default"`` (issue 30, session 18; evidence in
        docs/benchmarks.md, "Session 18: counts through log(1 + x) inside LMI"), ``False`` in ``"paper"``
        (Appendix A.1.2 standardises the values as given).
    precision
        Arithmetic of the training loop's matrix products (:func:`lmi`, parameter ``precision``): ``"float32"``,
        ``"bfloat16"`` mixed precision (``torch.autocast``: the products in bfloat16; the weights, the optimiser
        and the losses in float32), or ``"auto"``: bfloat16 on a CPU that multiplies it natively (AVX-512 BF16 or
        AMX), float32 elsewhere (CUDA included: not measured on a GPU yet). The held-out codes that KSG scores are
        always computed in float32. ``"float32"`` in both presets: bfloat16 trains 1.3-1.6x faster here but reads
        the single-cell-shaped suite's high-MI tasks about 0.02 bits lower (issue 29, session 22; docs/performance.md,
        "Training in bfloat16").
    """

    width_rule: Literal["paper", "adaptive"] = "adaptive"
    min_width: int = 256
    max_width: int = 512
    latent_dim: int = 8
    lr: float = 1e-3
    adam_eps: float = 1e-7
    batch_size: int = 512
    max_epochs: int = 300
    patience: int = 10
    dropout: float = 0.5
    clip: float = 10.0
    estimate_fraction: float = 0.5
    max_train: int = 50_000
    max_validation: int = 16_384
    patience_pairs: int | None = 100_000
    screen: bool = True
    log_counts: bool = True
    max_queries: int | None = 200_000
    precision: Literal["float32", "bfloat16", "auto"] = "float32"


#: name -> :class:`LMIPreset` for ``lmi(..., preset=name)``: ``"default"`` and ``"paper"`` (Appendix A.1.2)
PRESETS: dict[str, LMIPreset] = {
    "paper": LMIPreset(
        width_rule="paper",
        lr=1e-4,
        max_epochs=300,
        patience=30,
        screen=False,
        log_counts=False,
        max_queries=None,
        precision="float32",
    ),
    "default": LMIPreset(),
}


def hidden_width(d: int, preset: LMIPreset) -> int:
    """First hidden width L for an input of dimension ``d`` (the encoder is L, L/2, L/4)."""
    if preset.width_rule == "paper":
        return max(2 ** int(np.floor(np.log2(d))), 1024)
    return int(np.clip(2 ** int(np.ceil(np.log2(max(d, 1)))), preset.min_width, preset.max_width))


class _Dropout(nn.Module):
    """Dropout drawing its mask from an explicit generator (reproducible without global seeding)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1 - self.p)


def _leaky() -> nn.Module:
    return nn.LeakyReLU(negative_slope=0.2)


def _encoder(d: int, width: int, latent: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d, width),
        _leaky(),
        nn.Linear(width, width // 2),
        _leaky(),
        nn.Linear(width // 2, width // 4),
        _leaky(),
        nn.Linear(width // 4, latent),
        _leaky(),
    )


def _decoder(latent: int, width: int, d: int, dropout: float) -> nn.Sequential:
    sizes = [latent, width // 4, width // 2, width]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        if dropout:
            layers.append(_Dropout(dropout))
        layers += [nn.Linear(a, b), _leaky()]
    if dropout:
        layers.append(_Dropout(dropout))
    layers.append(nn.Linear(width, d))  # no activation on the output
    return nn.Sequential(*layers)


class LMIModel(nn.Module):
    """Paired autoencoders with cross-predictive (or MINE / InfoNCE) regularisation (Fig. 1, eqs. 4-5,
    Appendix A.1.2, A.2.1).

    Besides the networks, the model stores the standardisation it was trained with, so
    :meth:`encode` takes raw features of new samples.
    """

    def __init__(
        self,
        dx: int,
        dy: int,
        *,
        preset: LMIPreset,
        regularizer: Regularizer = "cross",
        reconstruction_weight: float = 1.0,
        regularizer_weight: float = 1.0,
        d_condition: int = 0,
    ) -> None:
        super().__init__()
        latent = preset.latent_dim
        self.latent_dim = latent
        # a conditioning variable (the latent CMI's z) that every decoder sees beside the code, so that the
        # codes need not carry what it explains (0: none, the paper's model)
        self.d_condition = d_condition
        inp = latent + d_condition
        self.regularizer = regularizer
        self.reconstruction_weight, self.regularizer_weight = reconstruction_weight, regularizer_weight
        self.clip = preset.clip
        wx, wy = hidden_width(dx, preset), hidden_width(dy, preset)
        self.x_encoder = _encoder(dx, wx, latent)
        self.y_encoder = _encoder(dy, wy, latent)
        self.xx_decoder = _decoder(inp, wx, dx, 0.0)
        self.yy_decoder = _decoder(inp, wy, dy, 0.0)
        if regularizer == "cross":
            self.yx_decoder = _decoder(inp, wx, dx, preset.dropout)
            self.xy_decoder = _decoder(inp, wy, dy, preset.dropout)
        elif regularizer == "mine":
            self.critic = nn.Sequential(nn.Linear(2 * latent, latent), nn.ReLU(), nn.Linear(latent, 1))
        elif regularizer == "infonce":
            self.critic = nn.Sequential(nn.Linear(2 * latent, latent), nn.ReLU(), nn.Linear(latent, 1), nn.Softplus())
        else:
            raise ValueError(f"regularizer must be 'cross', 'mine' or 'infonce', got {regularizer!r}")
        # standardisation of the raw inputs (set by lmi(); identity by default)
        self.register_buffer("x_mean", torch.zeros(dx))
        self.register_buffer("x_scale", torch.ones(dx))
        self.register_buffer("y_mean", torch.zeros(dy))
        self.register_buffer("y_scale", torch.ones(dy))
        # clip bounds per standardised column: clip x (column SD / scale), i.e. `clip` column SDs
        self.register_buffer("x_bound", torch.full((dx,), float(preset.clip)))
        self.register_buffer("y_bound", torch.full((dy,), float(preset.clip)))
        # whether each side's raw values pass through log(1 + x) before the standardisation (count matrices)
        self.x_log1p, self.y_log1p = False, False
        # columns of the raw input kept after dropping constant ones, and the raw widths
        self.x_keep: np.ndarray | None = None
        self.y_keep: np.ndarray | None = None
        self.n_features_in: tuple[int, int] | None = None
        self.generator: torch.Generator | None = None

    def init_weights(self, generator: torch.Generator) -> None:
        """Xavier-uniform weights and zero biases (Appendix A.1.2), drawn from ``generator``."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                nn.init.zeros_(module.bias)

    def set_generator(self, generator: torch.Generator) -> None:
        """Route every source of training randomness (dropout masks, critic shuffles) to ``generator``."""
        self.generator = generator
        for module in self.modules():
            if isinstance(module, _Dropout):
                module.generator = generator

    def _loss_terms(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        zx, zy = self.x_encoder(x), self.y_encoder(y)
        hx, hy = (zx, zy) if c is None else (torch.cat([zx, c], dim=1), torch.cat([zy, c], dim=1))
        auto = nn.functional.mse_loss(self.xx_decoder(hx), x) + nn.functional.mse_loss(self.yy_decoder(hy), y)
        if self.regularizer == "cross":
            reg = nn.functional.mse_loss(self.yx_decoder(hy), x) + nn.functional.mse_loss(self.xy_decoder(hx), y)
        elif self.regularizer == "mine":
            perm = torch.randperm(len(zy), generator=self.generator, device=self.generator.device).to(zy.device)
            joint = self.critic(torch.cat([zx, zy], dim=1))
            marginal = self.critic(torch.cat([zx, zy[perm]], dim=1))
            reg = -(joint.mean() - (torch.logsumexp(marginal, dim=0) - np.log(len(zy))).squeeze())
        else:  # infonce, all pairs in the batch
            n = len(zx)
            pairs = torch.cat([zx.unsqueeze(0).expand(n, n, -1), zy.unsqueeze(1).expand(n, n, -1)], dim=2)
            scores = self.critic(pairs).squeeze(-1)  # scores[i, j] = f(x_j, y_i)
            reg = -(scores.diagonal().mean() - (torch.logsumexp(scores, dim=1) - np.log(n)).mean())
        return self.regularizer_weight * reg + self.reconstruction_weight * auto

    def loss(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Training objective ``reconstruction_weight * L_AE + regularizer_weight * L_reg`` on a batch of standardised
        inputs (with ``c``, the conditioning variable that the decoders see beside the codes).
        """
        return self._loss_terms(x, y, c)

    def standardize(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw features -> clipped standardised tensors on the model's device (training statistics).

        A side the model was trained on as counts (``log(1 + x)``, :class:`LMIPreset` field ``log_counts``)
        must hold no negative value (``ValueError``).
        """
        xa, ya = check_pair(x, y, min_samples=1)
        for name, a, logged in (("x", xa, self.x_log1p), ("y", ya, self.y_log1p)):
            if logged and a.size and a.min() < 0:
                raise ValueError(
                    f"{name} has negative values, but the model was trained on {name} as counts "
                    f"(log(1 + {name}) before standardisation): pass non-negative values"
                )
        return self._standardize_arrays(xa, ya)

    def _standardize_arrays(self, xa: np.ndarray, ya: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`standardize` of arrays already validated by ``check_pair``: no second copy of the inputs
        (constant columns are dropped only where there are any; the tensors are standardised in place).
        """
        if self.x_keep is not None:
            if (xa.shape[1], ya.shape[1]) != self.n_features_in:
                raise ValueError(
                    f"model was trained on {self.n_features_in[0]} x and {self.n_features_in[1]} y features, "
                    f"got {xa.shape[1]} and {ya.shape[1]}"
                )
            xa = xa if len(self.x_keep) == xa.shape[1] else xa[:, self.x_keep]
            ya = ya if len(self.y_keep) == ya.shape[1] else ya[:, self.y_keep]
        # log(1 + x) in the input's own precision, as np.log1p of the input would give
        xa, ya = (np.log1p(xa) if self.x_log1p else xa), (np.log1p(ya) if self.y_log1p else ya)
        device = self.x_mean.device
        tx = torch.tensor(xa, dtype=torch.float32, device=device)  # always a copy: the in-place steps are safe
        ty = torch.tensor(ya, dtype=torch.float32, device=device)
        tx.sub_(self.x_mean).div_(self.x_scale).clamp_(-self.x_bound, self.x_bound)
        ty.sub_(self.y_mean).div_(self.y_scale).clamp_(-self.y_bound, self.y_bound)
        return tx, ty

    @torch.no_grad()
    def encode(self, x: Any, y: Any, *, batch_size: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """Latent embeddings ``(Z_x, Z_y)`` of raw samples (numpy in, numpy out)."""
        tx, ty = self.standardize(x, y)
        return self._encode_tensors(tx, ty, batch_size)

    @torch.no_grad()
    def _encode_tensors(
        self, tx: torch.Tensor, ty: torch.Tensor, batch_size: int = 8192
    ) -> tuple[np.ndarray, np.ndarray]:
        was_training = self.training
        self.eval()
        zx = torch.cat([self.x_encoder(tx[i : i + batch_size]) for i in range(0, len(tx), batch_size)])
        zy = torch.cat([self.y_encoder(ty[i : i + batch_size]) for i in range(0, len(ty), batch_size)])
        self.train(was_training)
        return zx.double().cpu().numpy(), zy.double().cpu().numpy()


def _standardization(
    a: np.ndarray | Rows, name: str, normalization: str = "local", log1p: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kept (non-constant) columns, their means, the divisor of each kept column and its SD (of ``log(1 + a)``
    with ``log1p``).

    ``"local"``: each column by its own SD (Appendix A.1.2). ``"global-corrected"``: every column by
    one scale, the root mean column variance, so that relative variances survive (scale-invariance
    paper, Section 5.3). The statistics are float64, read one block at a time
    (:meth:`~bioinfo_mi._rows.Rows.column_stats`).
    """
    rows = a if isinstance(a, Rows) else Rows(a, name, a.dtype)
    mean, sd = rows.column_stats(log1p)
    keep = sd > 0
    if not keep.any():
        raise ValueError(f"{name} is constant (every column has zero variance); MI with a constant is 0")
    if not keep.all():
        warnings.warn(
            f"{name}: dropped {int((~keep).sum())} constant column(s) before standardisation",
            UserWarning,
            stacklevel=3,
        )
    sd = sd[keep]
    scale = sd if normalization == "local" else np.full_like(sd, np.sqrt(np.mean(sd**2)))
    return np.flatnonzero(keep), mean[keep], scale, sd


def _tensors(
    model: LMIModel, xr: Rows, yr: Rows, index: np.ndarray, batch_size: int = 8192
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the standardised float32 tensors of the rows ``index`` (sorted) of both variables, on the model's
    device, filled ``batch_size`` rows at a time (never a float64 copy of the whole selection).
    """
    device = model.x_mean.device
    batch_size = min(batch_size, xr.block_rows(), yr.block_rows())
    tx = torch.empty((len(index), len(model.x_keep)), dtype=torch.float32, device=device)
    ty = torch.empty((len(index), len(model.y_keep)), dtype=torch.float32, device=device)
    for start in range(0, len(index), batch_size):
        part = index[start : start + batch_size]
        tx[start : start + len(part)], ty[start : start + len(part)] = model._standardize_arrays(
            xr.take(part), yr.take(part)
        )
    return tx, ty


@torch.no_grad()
def _encode_rows(model: LMIModel, xr: Rows, yr: Rows, batch_size: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Latents of every row, read, standardised and encoded ``batch_size`` rows (at most a block) at a time
    (float64; an encoder's output row does not depend on the other rows of its batch).
    """
    zx = np.empty((xr.n_samples, model.latent_dim))
    zy = np.empty((yr.n_samples, model.latent_dim))
    rows = min(batch_size, xr.block_rows(), yr.block_rows())
    for start in range(0, xr.n_samples, rows):
        stop = min(start + rows, xr.n_samples)
        tx, ty = model._standardize_arrays(xr.block(start, stop), yr.block(start, stop))
        zx[start:stop], zy[start:stop] = model._encode_tensors(tx, ty, batch_size)
    return zx, zy


@torch.no_grad()
def _validation_loss(
    model: LMIModel, x: torch.Tensor, y: torch.Tensor, batch_size: int, c: torch.Tensor | None = None
) -> float:
    model.eval()
    total = torch.zeros((), dtype=_sum_dtype(x.device), device=x.device)
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        cb = None if c is None else c[i : i + batch_size]
        total += model.loss(xb, yb, cb).to(total.dtype) * len(xb)
    model.train()
    return total.item() / len(x)  # one transfer to the host per evaluation


def _native_bfloat16(device: torch.device) -> bool:
    """Whether ``precision="auto"`` trains in bfloat16 on ``device``: a CPU that multiplies bfloat16 in hardware
    (AVX-512 BF16 or AMX tiles). CUDA devices keep float32 (not measured on a GPU yet).
    """
    if device.type != "cpu":
        return False
    # private probes of torch (2.1+); a torch without them counts as no native bfloat16
    probes = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(bool(probe()) for probe in probes if probe is not None)


def _bfloat16_supported(device: torch.device) -> bool:
    """Whether autocast can run bfloat16 on ``device`` at all (natively or emulated, as a CPU does)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return device.type in ("cpu", "mps")


def _resolved_precision(precision: str, device: torch.device) -> str:
    """Return ``"bfloat16"`` or ``"float32"``: the arithmetic :class:`LMIPreset` ``precision`` means on ``device``."""
    bf16 = precision == "bfloat16" or (precision == "auto" and _native_bfloat16(device))
    return "bfloat16" if bf16 else "float32"


def _training_precision(precision: str, device: torch.device) -> torch.autocast:
    """Return the ``torch.autocast`` context of the training loop for :class:`LMIPreset` field ``precision``."""
    enabled = _resolved_precision(precision, device) == "bfloat16"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _sum_dtype(device: torch.device) -> torch.dtype:
    """Accumulator of the per-batch losses on the device: float64 (the host's Python float, so the recorded losses
    are the same numbers), float32 where the device has no float64 (Apple's MPS).
    """
    return torch.float32 if device.type == "mps" else torch.float64


def _train(
    model: LMIModel,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    preset: LMIPreset,
    generator: torch.Generator,
    progress: bool,
    conditions: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Mini-batch Adam with early stopping that restores the best weights (Algorithm 3); ``conditions``: the
    training and validation rows of the conditioning variable, if any.

    Nothing in the loop over mini-batches waits for the device: the training loss is summed on the device and read
    once per epoch, with the validation loss (issue 29: no host round trip per batch on a GPU).
    """
    c_train, c_val = conditions if conditions is not None else (None, None)
    precision = _resolved_precision(preset.precision, x_train.device)  # the hardware is asked once per fit
    optimizer = torch.optim.Adam(model.parameters(), lr=preset.lr, betas=(0.9, 0.999), eps=preset.adam_eps)
    n = len(x_train)
    best_loss, best_state, best_epoch, waited = float("inf"), None, -1, 0
    rows = []
    bar = tqdm(range(preset.max_epochs), desc="LMI training", unit="epoch", disable=not progress, leave=False)
    model.train()
    for epoch in bar:
        perm = torch.randperm(n, generator=generator, device="cpu").to(x_train.device)
        running = torch.zeros((), dtype=_sum_dtype(x_train.device), device=x_train.device)
        for start in range(0, n, preset.batch_size):
            idx = perm[start : start + preset.batch_size]
            with _training_precision(precision, x_train.device):
                loss = model.loss(x_train[idx], y_train[idx], None if c_train is None else c_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += loss.detach().to(running.dtype) * len(idx)
        with _training_precision(precision, x_train.device):
            val = _validation_loss(model, x_val, y_val, 4096, c_val)
        rows.append((epoch, running.item() / n, val))
        bar.set_postfix(val_loss=f"{val:.4f}")
        if val < best_loss:
            best_loss, best_epoch, waited = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= preset.patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return pd.DataFrame(rows, columns=["epoch", "train_loss", "val_loss"]), best_epoch


@torch.no_grad()
def _cross_r2(
    model: LMIModel,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    c_test: torch.Tensor | None = None,
) -> tuple[float, float]:
    """Held-out R^2 of the cross-decoders (x from z_y, y from z_x; with the conditioning variable ``c_test``
    where the model has one) against the trivial predictor, the training mean: 1 - SSE(decoder) /
    SSE(mean), pooled over columns, on the standardised inputs.
    """
    model.eval()
    out = []

    def decoded(decoder: nn.Module, encoder: nn.Module, source: torch.Tensor, i: int) -> torch.Tensor:
        code = encoder(source[i : i + 4096])
        return decoder(code if c_test is None else torch.cat([code, c_test[i : i + 4096]], dim=1))

    for target, source, train, decoder, encoder in [
        (x_test, y_test, x_train, model.yx_decoder, model.y_encoder),
        (y_test, x_test, y_train, model.xy_decoder, model.x_encoder),
    ]:
        sse = sum(
            float(((decoded(decoder, encoder, source, i) - target[i : i + 4096]) ** 2).sum())
            for i in range(0, len(target), 4096)
        )
        sse_mean = float(((target - train.mean(dim=0)) ** 2).sum())
        out.append(1.0 - sse / sse_mean if sse_mean > 0 else 0.0)
    return out[0], out[1]


#: held-out cross-prediction R^2 below NULL_R2 / n_held_out counts as "no better than the mean": on
#: independent data the larger of the two R^2 reached up to 1.07 / n_held_out (30 + 30 Gaussians,
#: 600 held out, seeds 1-3: 0.76, 0.85, 1.07; 20 + 20 at 500 held out: 0.15), hence 2; on Algorithm 4
#: (1 bit, d = 10-1000, N = 2000) it is 0.2-0.35, with 50 per-axis standardised PCs of the lineage
#: simulator (LMI reads 0.16 of 0.34 bits) 0.0013-0.0018 at 500 held out (0.9 / n)
NULL_R2 = 2.0

#: samples per latent dimension that KSG needs on the estimation half (the rule of ``method="auto"``)
SAMPLES_PER_DIM = 10

#: smallest latent size per variable that the default preset adapts down to: 1 keeps one dimension of
#: the dependence only (on Algorithm 4 with rank 2 at N = 60 it read -0.15 bit where 2 read 0.65;
#: benchmarks/bench_small_n_latent.py)
MIN_ADAPTED_LATENT = 2


def _adapted_latent_dim(n_est: int, n_features: tuple[int, int], latent_dim: int) -> int:
    """Latent size per variable of ``preset="default"`` when the user gives none.

    ``latent_dim`` (the preset's 8) is kept whenever the held-out half has ``SAMPLES_PER_DIM`` samples
    per KSG dimension (``n_est >= SAMPLES_PER_DIM * 2 * min(latent_dim, max(n_features))``, the level
    of the "few-samples" warning); below it the size is
    ``clip(n_est // (2 * SAMPLES_PER_DIM), MIN_ADAPTED_LATENT, latent_dim)``.
    """
    if n_est >= SAMPLES_PER_DIM * 2 * min(latent_dim, max(n_features)):
        return latent_dim
    return int(np.clip(n_est // (2 * SAMPLES_PER_DIM), min(MIN_ADAPTED_LATENT, latent_dim), latent_dim))


def _diagnose(
    estimate: float,
    base: str | float,
    cross_r2: tuple[float, float] | None,
    *,
    n_est: int,
    latent_dim: int,
    n_features: tuple[int, int],
    latent_dim_rule: str = "given",
) -> None:
    """Warn (:class:`~bioinfo_mi.EstimateWarning`) when an LMI estimate should not be trusted as is."""
    unit = base if isinstance(base, str) else f"log-{base} units"
    if cross_r2 is not None and max(cross_r2) < NULL_R2 / n_est:
        warnings.warn(
            EstimateWarning(
                f"LMI: on held-out samples the cross-decoders predicted neither variable from the other's latent "
                f"better than its mean does (R^2 x<-y = {cross_r2[0]:.4f}, y<-x = {cross_r2[1]:.4f}, below "
                f"{NULL_R2:g}/n_held_out = {NULL_R2 / n_est:.4f}, the level of independent data), so the latents "
                f"carry little of any dependence and the estimate ({estimate:.3f} {unit}) can fall far below the "
                "truth, down to ~0. If you expect dependence: use method='ksg-calibrated' (or 'auto') when "
                "n >= 10 (d_x + d_y); normalization='global-corrected' for PCA-like inputs whose axes differ in "
                "variance; more samples, or more epochs/patience.",
                "no-cross-prediction",
            ),
            stacklevel=3,
        )
    n_dims = 2 * min(latent_dim, max(n_features))
    if n_est < SAMPLES_PER_DIM * n_dims:
        largest = n_est // (2 * SAMPLES_PER_DIM)  # the largest size with SAMPLES_PER_DIM per dimension
        if largest >= MIN_ADAPTED_LATENT:
            advice = (
                f"Use latent_dim <= {largest} or more samples: latent_dim={largest} in bm.mi(..., method='lmi'), "
                f"estimator_kwds={{'latent_dim': {largest}}} in the tl tools"
                + (
                    "; with preset='default' and no latent_dim the size adapts to the sample by itself."
                    if latent_dim_rule != "given"
                    else "."
                )
            )
        else:
            low = 2 * SAMPLES_PER_DIM * MIN_ADAPTED_LATENT
            advice = (
                f"With fewer than {low} held-out samples even latent_dim={MIN_ADAPTED_LATENT}, the smallest size "
                "preset='default' adapts to (latent_dim=1 keeps one dimension of the dependence only), is short of "
                "that; use more samples."
            )
        warnings.warn(
            EstimateWarning(
                f"LMI: KSG scores {n_est} held-out samples in {n_dims} latent dimensions; below about "
                f"{SAMPLES_PER_DIM} samples per dimension ({SAMPLES_PER_DIM * n_dims} here) it is biased "
                f"(usually downwards). {advice}",
                "few-samples",
            ),
            stacklevel=3,
        )


def _preset_config(
    preset: str | LMIPreset,
    latent_dim: int | None,
    epochs: int | None,
    patience: int | None,
    batch_size: int | None,
    lr: float | None,
    screen: Any = None,
    log_counts: Any = None,
    precision: Any = None,
) -> tuple[str, LMIPreset]:
    """Return the preset's name (``"custom"`` for an :class:`LMIPreset`) and its settings with the given overrides
    (``None``: the preset's).
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; valid presets: {sorted(PRESETS)}")
        preset_name, cfg = preset, PRESETS[preset]
    elif isinstance(preset, LMIPreset):
        preset_name, cfg = "custom", preset
    else:
        raise TypeError(f"preset must be a preset name or an LMIPreset, got {type(preset).__name__}")
    overrides: dict[str, Any] = {}
    if latent_dim is not None:
        overrides["latent_dim"] = check_positive_int(latent_dim, name="latent_dim")
    if epochs is not None:
        overrides["max_epochs"] = check_positive_int(epochs, name="epochs")
    if patience is not None:
        overrides["patience"] = check_positive_int(patience, name="patience")
    if batch_size is not None:
        overrides["batch_size"] = check_positive_int(batch_size, name="batch_size")
    if lr is not None:
        if not (np.isscalar(lr) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        overrides["lr"] = float(lr)
    if screen is not None:
        overrides["screen"] = screen
    if log_counts is not None:
        overrides["log_counts"] = log_counts
    if precision is not None:
        overrides["precision"] = precision
    cfg = replace(cfg, **overrides)
    check_positive_int(cfg.latent_dim, name="latent_dim")
    if cfg.max_queries is not None:
        check_positive_int(cfg.max_queries, name="LMIPreset.max_queries")
    return preset_name, cfg


def lmi_screens(options: Mapping[str, Any]) -> bool:
    """Whether :func:`lmi` called with ``options`` screens its columns (``screen``, else its preset's).

    Parameters
    ----------
    options
        Keyword arguments of :func:`lmi` (``preset`` and ``screen`` are read; the rest is ignored).

    Returns
    -------
    The screen setting the fit would use (the preset is resolved and checked as :func:`lmi` does).
    """
    cfg = _preset_config(options.get("preset", "default"), None, None, None, None, None, options.get("screen"))[1]
    return bool(cfg.screen)


def lmi_can_split(n: int, k: int, options: Mapping[str, Any]) -> bool:
    """Whether :func:`lmi` called with ``options`` can split ``n`` samples into its two halves (LMI paper,
    Algorithm 1): at least 2 training samples and ``k + 2`` held out for the KSG step.

    Parameters
    ----------
    n
        Number of paired samples.
    k
        Neighbours of the KSG step.
    options
        Keyword arguments of :func:`lmi` (``preset`` is read, for its ``estimate_fraction``; the rest is ignored).

    Returns
    -------
    ``False`` where :func:`lmi` would raise ``ValueError`` for too few samples.
    """
    cfg = _preset_config(options.get("preset", "default"), None, None, None, None, None)[1]
    try:
        _halves(n, cfg.estimate_fraction, k)
    except ValueError:
        return False
    return True


def _check_choices(regularizer: Any, normalization: Any, cfg: LMIPreset) -> None:
    """Raise ``ValueError`` for an unknown regularizer or normalization, an estimation fraction outside (0, 1),
    or caps (``max_train``, ``max_validation``, ``patience_pairs``) that are not positive integers, and
    ``TypeError`` for a ``screen`` or ``log_counts`` (given or the preset's) that is not a bool.
    """
    for field in ("screen", "log_counts"):
        if not isinstance(getattr(cfg, field), bool | np.bool_):
            raise TypeError(f"{field} must be True, False or None (the preset's), got {getattr(cfg, field)!r}")
    if regularizer not in ("cross", "mine", "infonce"):
        raise ValueError(f"regularizer must be 'cross', 'mine' or 'infonce', got {regularizer!r}")
    if normalization not in ("local", "global-corrected"):
        raise ValueError(f"normalization must be 'local' or 'global-corrected', got {normalization!r}")
    if not 0 < cfg.estimate_fraction < 1:
        raise ValueError(f"estimate_fraction must lie in (0, 1), got {cfg.estimate_fraction}")
    if cfg.precision not in ("float32", "bfloat16", "auto"):
        raise ValueError(f"precision must be 'float32', 'bfloat16' or 'auto', got {cfg.precision!r}")
    check_positive_int(cfg.max_train, name="max_train", minimum=2)
    check_positive_int(cfg.max_validation, name="max_validation")
    if cfg.patience_pairs is not None:
        check_positive_int(cfg.patience_pairs, name="patience_pairs")


def _halves(n: int, estimate_fraction: float, k: int) -> tuple[int, int]:
    """Return the sizes of the training and the estimation half, or raise ``ValueError`` when one is too small."""
    n_est = int(round(n * estimate_fraction))
    n_train = n - n_est
    if n_est < k + 2 or n_train < 2:
        raise ValueError(
            f"method 'lmi' needs enough samples for both halves: {n} samples give {n_train} training and "
            f"{n_est} estimation samples, but KSG with k={k} needs at least {k + 2} and training at least 2"
        )
    return n_train, n_est


def _build_model(
    x_shape: tuple[int, int],
    y_shape: tuple[int, int],
    x_scaling: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    y_scaling: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    cfg: LMIPreset,
    regularizer: Regularizer,
    reconstruction_weight: float,
    regularizer_weight: float,
    generator: torch.Generator,
    d_condition: int = 0,
    *,
    log1p: tuple[bool, bool] = (False, False),
) -> LMIModel:
    """Return an initialised :class:`LMIModel` (on the CPU) holding the inputs' standardisation
    (``(keep, mean, sd, column sd)`` of :func:`_standardization` per variable, of ``log(1 + x)`` on the sides
    ``log1p`` marks).
    """
    x_keep, x_mean, x_sd, x_col_sd = x_scaling
    y_keep, y_mean, y_sd, y_col_sd = y_scaling
    model = LMIModel(
        len(x_keep),
        len(y_keep),
        preset=cfg,
        regularizer=regularizer,
        reconstruction_weight=reconstruction_weight,
        regularizer_weight=regularizer_weight,
        d_condition=d_condition,
    )
    model.init_weights(generator)
    model.x_log1p, model.y_log1p = (bool(v) for v in log1p)
    model.x_keep, model.y_keep = x_keep, y_keep
    model.n_features_in = (x_shape[1], y_shape[1])
    model.x_mean.copy_(torch.as_tensor(x_mean))
    model.x_scale.copy_(torch.as_tensor(x_sd))
    model.y_mean.copy_(torch.as_tensor(y_mean))
    model.y_scale.copy_(torch.as_tensor(y_sd))
    model.x_bound.copy_(torch.as_tensor(cfg.clip * x_col_sd / x_sd))
    model.y_bound.copy_(torch.as_tensor(cfg.clip * y_col_sd / y_sd))
    return model


def _checked_device(device: Any, cfg: LMIPreset) -> torch.device:
    """Return the torch device of a fit, or raise ``ValueError`` where ``cfg.precision`` asks for bfloat16 on a device
    without it (before any input is read).
    """
    dev = check_device(device)
    if _resolved_precision(cfg.precision, dev) == "bfloat16" and not _bfloat16_supported(dev):
        raise ValueError(f"precision='bfloat16' needs a device with bfloat16 support; {dev} has none: use 'float32'")
    return dev


def _sizes(n: int, k: int, cfg: LMIPreset, rules: dict[str, str]) -> tuple[int, int, LMIPreset]:
    """Return the training and held-out sizes of ``n`` samples and ``cfg`` with its patience bounded in training
    pairs (:class:`LMIPreset` ``patience_pairs``; ``rules["patience_rule"]`` becomes ``"adapted"`` where it acts).
    """
    n_train, n_est = _halves(n, cfg.estimate_fraction, k)
    if n_train > cfg.max_train:  # the rest is held out: scored by KSG, a sample of it validates
        n_train, n_est = cfg.max_train, n - cfg.max_train
    if rules["patience_rule"] == "preset" and cfg.patience_pairs is not None:
        bounded = min(cfg.patience, max(1, -(-cfg.patience_pairs // n_train)))
        if bounded != cfg.patience:
            cfg, rules["patience_rule"] = replace(cfg, patience=bounded), "adapted"
    return n_train, n_est, cfg


def _split(n: int, n_train: int, max_validation: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Training, held-out and validation rows (sorted): a random ``n_train`` train, the rest is held out, and
    at most ``max_validation`` of the held-out rows validate.
    """
    order = rng.permutation(n)
    train_idx, test_idx = np.sort(order[:n_train]), np.sort(order[n_train:])
    val_idx = test_idx if n - n_train <= max_validation else np.sort(order[n_train : n_train + max_validation])
    return train_idx, test_idx, val_idx


def _screened_model(
    model: LMIModel,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    shapes: tuple[tuple[int, int], tuple[int, int]],
    scalings: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]],
    cfg: LMIPreset,
    weights: tuple[Any, ...],
    rng: np.random.Generator,
) -> tuple[LMIModel, torch.Tensor, torch.Tensor]:
    """Restrict the model and training tensors to the screened columns (``lmi(screen=True)``): where a column
    is left out, a new model, initialised from ``weights``' generator, whose standardisation keeps only the
    kept columns (``scalings``: :func:`_standardization` of each side).
    """
    # a child stream: the screen draws nothing from the fit's own streams, so where it keeps every column
    # the fit is the one of screen=False
    child = spawn_generator(rng)
    kx, ky = screen_columns(x_train, y_train, child, torch.Generator().manual_seed(seed_from(child)))
    if len(kx) == x_train.shape[1] and len(ky) == y_train.shape[1]:
        return model, x_train, y_train
    x_scaling, y_scaling = (tuple(a[kept] for a in sc) for sc, kept in zip(scalings, (kx, ky), strict=True))
    log1p = (model.x_log1p, model.y_log1p)
    new = _build_model(shapes[0], shapes[1], x_scaling, y_scaling, cfg, *weights, log1p=log1p)
    new.to(x_train.device)
    new.set_generator(model.generator)
    index = [torch.as_tensor(k, device=x_train.device) for k in (kx, ky)]
    return new, x_train.index_select(1, index[0]), y_train.index_select(1, index[1])


def _check_condition(condition: Any, n: int) -> np.ndarray | None:
    if condition is None:
        return None
    values = np.asarray(condition, dtype=np.float64)
    values = values.reshape(-1, 1) if values.ndim == 1 else values
    if values.ndim != 2 or len(values) != n or not np.isfinite(values).all():
        raise ValueError(f"condition must be {n} rows of finite numbers, got shape {np.shape(condition)}")
    return values


def scaled_condition(cond: np.ndarray, train_idx: np.ndarray) -> np.ndarray:
    """Return the conditioning sample as the decoders of :func:`lmi` see it: every row, standardised with the
    statistics of the training rows ``train_idx`` (constant columns centred only).
    """
    train = cond[train_idx]
    mean, sd = train.mean(axis=0), train.std(axis=0)
    return (cond - mean) / np.where(sd > 0, sd, 1.0)


def _condition_tensors(
    cond: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the training and validation rows of the conditioning sample, standardised with the training
    statistics.
    """
    scaled = scaled_condition(cond, train_idx)
    return (torch.tensor(scaled[train_idx], dtype=torch.float32, device=device),) + (
        torch.tensor(scaled[val_idx], dtype=torch.float32, device=device),
    )


def _held_out_pmi(
    zx: np.ndarray, zy: np.ndarray, test_idx: np.ndarray, k: int, rng: np.random.Generator, max_queries: int | None
) -> np.ndarray:
    """Pointwise KSG (nats) of the latents on the estimation half, NaN on the training half; 0 with a
    warning where a latent representation collapsed to a constant there. Above ``max_queries`` held-out pairs,
    only a random ``max_queries`` of them are scored (against all; the others NaN).
    """
    pmi = np.full(len(zx), np.nan)
    zx_est, zy_est = zx[test_idx], zy[test_idx]
    if not (zx_est.std(axis=0) > 0).any() or not (zy_est.std(axis=0) > 0).any():
        warnings.warn(
            "a latent representation collapsed to a constant on the estimation half; "
            "a constant carries no information, so the estimate is 0",
            UserWarning,
            stacklevel=3,
        )
        pmi[test_idx] = 0.0
    else:
        with warnings.catch_warnings():
            # duplicated latents come from duplicated inputs, which were reported above
            warnings.filterwarnings("ignore", message=".*duplicated", category=UserWarning)
            if max_queries is None or len(test_idx) <= max_queries:
                pmi[test_idx] = ksg_pointwise(zx_est, zy_est, k=k, base="nats", random_state=rng)
            else:
                queries = np.sort(rng.choice(len(test_idx), size=max_queries, replace=False))
                scored = ksg_pointwise(zx_est, zy_est, k=k, base="nats", random_state=rng, queries=queries)
                pmi[test_idx[queries]] = scored
    return pmi


def lmi(
    x: Any,
    y: Any,
    *,
    preset: str | LMIPreset = "default",
    latent_dim: int | None = None,
    regularizer: Regularizer = "cross",
    reconstruction_weight: float = 1.0,
    regularizer_weight: float = 1.0,
    normalization: Literal["local", "global-corrected"] = "local",
    epochs: int | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    k: int = 3,
    base: str | float = "bits",
    random_state: int | np.random.Generator | None = 0,
    device: Any = None,
    progress: bool = False,
    condition: Any = None,
    screen: bool | None = None,
    log_counts: bool | None = None,
    precision: Literal["float32", "bfloat16", "auto"] | None = None,
) -> LMIResult:
    """Latent MI estimate of I(X;Y) (LMI paper, Algorithm 1).

    Parameters
    ----------
    x, y
        Paired samples ``(N, d_x)``, ``(N, d_y)`` (not modified): numpy arrays (float32 stays float32,
        and is not copied), frames, scipy sparse matrices, or lazy arrays read by row slices (a backed
        AnnData's ``X``, ``h5py`` datasets, Dask arrays). They are read one block of rows at a time
        (:func:`~bioinfo_mi._rows.check_rows`): only the training pairs (at most ``max_train`` of the
        preset) and a validation sample are held as dense float32 tensors, every row is encoded block
        by block, so no input is ever densified whole (benchmarks/bench_scale.py).
    preset
        ``"default"`` or ``"paper"`` (Appendix A.1.2 exactly), or an :class:`LMIPreset`.
    latent_dim
        Latent size per variable. A given value is always used (it overrides the preset). ``None``
        (default): the preset's size (8, the paper's), except that ``preset="default"`` adapts it to
        small samples. KSG scores the held-out half (``n_held_out = N / 2``) in ``2 * latent_dim``
        dimensions and is biased, usually downwards, below about ``SAMPLES_PER_DIM`` (10) samples
        per dimension. Where that level is missed (``n_held_out < 20 * min(8, max(d_x, d_y))``,
        i.e. N < 320 for inputs of 8 or more features), the size becomes
        ``clip(n_held_out // 20, 2, 8)``: 2, 2, 3, 5 and 7 per variable at N = 60, 100, 150, 200
        and 300 (below N = 80 even 2 misses the level, and the warning below says so). From N = 320
        on the default is 8 as in the paper and nothing changes.
        ``preset="paper"`` and an :class:`LMIPreset` keep their size. ``res.params["latent_dim"]``
        is the size used, ``res.params["latent_dim_rule"]`` where it came from: ``"given"``,
        ``"preset"`` or ``"adapted"``. The rule, and its floor of 2 (one latent dimension keeps
        one dimension of the dependence only), come from ``benchmarks/bench_small_n_latent.py``
        (docs/benchmarks.md, "Latent size at small N"). On Algorithm 4 (1 bit; d = 100 and 1000) at
        N = 60, the RMSE was 0.34 bit against 0.45 at 8 and 0.62 with a floor of 1. At N = 100
        it was 0.39 against 0.43. At N = 150 and 200 it was 0.25 and 0.39 against 0.18 and 0.38,
        from 3 and 2 fits: too few to tell the two apart (1-2 data sets per task in all).
        Too large a size for the sample gives an :class:`~bioinfo_mi.EstimateWarning` (kind
        ``"few-samples"``) that says how to pass a smaller one (``latent_dim=`` here and in
        ``bm.mi``, ``estimator_kwds={"latent_dim": ...}`` in the ``tl`` tools).
    regularizer
        ``"cross"`` (cross-prediction, eqs. 4-5), ``"mine"`` or ``"infonce"`` (Appendix A.2.1).
    reconstruction_weight, regularizer_weight
        Weights of the self-reconstruction and regularisation losses.
    normalization
        How each variable is scaled before training. ``"local"`` (default; Appendix A.1.2): every
        column standardised by its own SD, so all features count equally. ``"global-corrected"``:
        centred and divided by one scale per variable, the root mean column variance (the
        scale-invariance paper's global normalisation times ``sqrt(d)``, Section 5.3), so that
        features keep their relative variances; right for embeddings whose axes are ranked by
        variance (PCA, ``obsm`` representations), where per-column standardisation lifts dozens of
        low-variance noise components to the weight of the signal. Values are clipped at
        ``clip`` SDs of their own column either way.
    epochs, patience, batch_size, lr
        Override the preset's training settings. A ``patience`` given is always used; by default
        the preset's patience is bounded in training pairs at large N (``patience_pairs`` of
        :class:`LMIPreset`: 2 epochs instead of 10 with 50 000 training pairs);
        ``res.params["patience_rule"]`` says ``"given"``, ``"preset"`` or ``"adapted"``.
    k
        Neighbours of the latent KSG estimate.
    base
        ``"bits"`` (default) or ``"nats"``.
    random_state
        Seed or Generator for the split, weight initialisation, batches, dropout and KSG jitter.
        The same seed gives the same numbers on CPU.
    device
        Torch device; default CUDA when available, else CPU.
    progress
        Show a tqdm progress bar over epochs.
    condition
        ``(N, d_c)`` numbers that every decoder sees beside the codes (standardised with the training
        half's statistics; one-hot columns for labels), so that the codes need not carry what they
        explain: the training objective of the latent conditional MI
        (:func:`bioinfo_mi.estimators.latent_cmi`). ``None`` (default): the paper's model. The
        encoders never see it, so ``res.model.encode`` takes ``x`` and ``y`` alone.
    screen
        Keep only the columns of each side that the other side's leading principal components predict
        beyond chance, measured on the training half (``bioinfo_mi/estimators/_screen.py``; issue 30): for
        inputs of many columns of which few carry the partner's information (genes), where the encoders
        otherwise keep the noise. The held-out half is not used to choose, so the estimate stays that of the
        kept columns, a lower bound of the MI of all of them. The screen is linear: where one side has no
        column above its null, neither side is screened (a pass on the other side alone is as likely chance
        or a nonlinear dependence), a side of at most 20 columns never is, and a column that differs from its
        median in at most 20 training rows is kept unscored. ``None`` (default): the
        preset's (:class:`LMIPreset` field ``screen``): on in ``"default"`` (issue 30, session 13; the
        evidence, per benchmark, in docs/benchmarks.md, "The screen is LMI's default": e.g. the bmi suite's
        ten core tasks MSE 0.714 -> 0.047 at N = 2000, Algorithm 4's grid at d = 1000 0.016 -> 0.002 at
        k = 1), off in ``"paper"``. ``False``: every column, the paper's model. A value given is always used.
        ``res.params["screen"]`` is the choice used, ``res.params["screen_rule"]`` ``"given"`` or
        ``"preset"``; ``res.extra["screened_columns"]``: the kept columns of ``x`` and ``y`` (raw indices).
    log_counts
        Pass a side that is a count matrix (every value a non-negative integer and some above 1, e.g. raw UMI
        counts) through ``log(1 + x)`` before the standardisation. The map is invertible per column, so the MI
        it estimates is the same; the encoders learn better on it (issue 30, session 18: the single-cell-shaped
        suite's negative-binomial counts read 0.61 -> 0.81 of 1.15 bits at N = 2000; docs/benchmarks.md,
        "Session 18: counts through log(1 + x) inside LMI"). A side with any negative or fractional value
        (normalised, log-normalised or scaled data) is used as given. ``None`` (default): the preset's
        (:class:`LMIPreset` field ``log_counts``): on in ``"default"``, off in ``"paper"`` (Appendix A.1.2). A
        value given is always used. ``res.params["log1p"]``: the sides transformed (``[bool, bool]``),
        ``res.params["log_counts_rule"]`` ``"given"`` or ``"preset"``. ``res.model.encode`` applies the same map to new
        samples.
    precision
        Arithmetic of the training loop's matrix products: ``"float32"``, ``"bfloat16"`` (mixed precision: the
        products in bfloat16 under ``torch.autocast``, weights, optimiser and losses in float32) or ``"auto"``
        (bfloat16 on a CPU that multiplies it natively, AVX-512 BF16 or AMX; float32 elsewhere, CUDA included).
        The held-out codes that KSG scores are computed in float32 whatever the choice. ``None`` (default): the
        preset's (:class:`LMIPreset` field ``precision``). A value given is always used (``"bfloat16"`` on a CUDA
        device without bfloat16 support raises ``ValueError`` before any work; a CPU without native bfloat16 runs
        it emulated, slower than float32); ``res.params["training_precision"]`` is the arithmetic used.

    Returns
    -------
    :class:`LMIResult`: ``mi`` (mean pMI over the estimation half), ``pmi`` (NaN on the training
    half, and above :class:`LMIPreset` ``max_queries`` held-out pairs on those not scored), latents ``zx``/``zy``
    of all samples, the trained ``model``, ``train_idx``/``test_idx``, per-epoch ``history`` and ``best_epoch``;
    ``params`` holds the settings used (the preset's fields with ``latent_dim`` as used, ``latent_dim_rule``,
    ``preset``, ``regularizer``, ..., ``training_precision``: the arithmetic :class:`LMIPreset` ``precision`` meant
    on the device, ``"bfloat16"`` or ``"float32"``); ``extra["n_queries"]`` the number of held-out pairs scored.
    """
    preset_name, cfg = _preset_config(
        preset, latent_dim, epochs, patience, batch_size, lr, screen, log_counts, precision
    )
    given = {"latent_dim": latent_dim, "patience": patience, "screen": screen, "log_counts": log_counts}
    rules = {f"{name}_rule": "preset" if value is None else "given" for name, value in given.items()}
    k = check_positive_int(k, name="k")
    _check_choices(regularizer, normalization, cfg)
    dev = _checked_device(device, cfg)
    xr, yr = check_row_pair(x, y, min_samples=2, method="lmi")
    _warn_duplicates(xr, yr)
    n = xr.n_samples
    cond = _check_condition(condition, n)
    n_train, n_est, cfg = _sizes(n, k, cfg, rules)
    log1p = (bool(cfg.log_counts and xr.is_counts()), bool(cfg.log_counts and yr.is_counts()))
    x_scaling = _standardization(xr, "x", normalization, log1p[0])
    y_scaling = _standardization(yr, "y", normalization, log1p[1])
    if rules["latent_dim_rule"] == "preset" and preset_name == "default":
        adapted = _adapted_latent_dim(n_est, (len(x_scaling[0]), len(y_scaling[0])), cfg.latent_dim)
        if adapted != cfg.latent_dim:
            cfg, rules["latent_dim_rule"] = replace(cfg, latent_dim=adapted), "adapted"

    rng = check_random_state(random_state)
    train_idx, test_idx, val_idx = _split(n, n_train, cfg.max_validation, rng)
    generator = torch.Generator(device="cpu").manual_seed(seed_from(rng))
    model_generator = generator if dev.type == "cpu" else torch.Generator(device=dev).manual_seed(seed_from(rng))
    weights = (regularizer, reconstruction_weight, regularizer_weight, generator, 0 if cond is None else cond.shape[1])
    model = _build_model(xr.shape, yr.shape, x_scaling, y_scaling, cfg, *weights, log1p=log1p)
    model.to(dev)
    model.set_generator(model_generator)

    x_train, y_train = _tensors(model, xr, yr, train_idx)
    if cfg.screen:
        shapes, scalings = (xr.shape, yr.shape), (x_scaling, y_scaling)
        model, x_train, y_train = _screened_model(model, x_train, y_train, shapes, scalings, cfg, weights, rng)
    x_val, y_val = _tensors(model, xr, yr, val_idx)
    c_pair = _condition_tensors(cond, train_idx, val_idx, dev) if cond is not None else None
    history, best_epoch = _train(model, x_train, y_train, x_val, y_val, cfg, generator, progress, c_pair)

    zx, zy = _encode_rows(model, xr, yr)
    pmi = to_base(_held_out_pmi(zx, zy, test_idx, k, rng, cfg.max_queries), base)
    c_val = None if c_pair is None else c_pair[1]
    cross_r2 = _cross_r2(model, x_train, y_train, x_val, y_val, c_val) if regularizer == "cross" else None
    _diagnose(
        float(np.nanmean(pmi)),
        base,
        cross_r2,
        n_est=n_est,
        latent_dim=cfg.latent_dim,
        n_features=(len(x_scaling[0]), len(y_scaling[0])),
        latent_dim_rule=rules["latent_dim_rule"],
    )
    settings = {**rules, "preset": preset_name, "regularizer": regularizer, "k": k, "normalization": normalization}
    settings.update(reconstruction_weight=reconstruction_weight, regularizer_weight=regularizer_weight)
    settings.update(d_condition=weights[-1], screen=bool(cfg.screen), log1p=list(log1p))
    settings["training_precision"] = _resolved_precision(cfg.precision, dev)
    fitted = {"model": model, "train_idx": train_idx, "test_idx": test_idx, "history": history}
    return _lmi_result(pmi, base, n, {**asdict(cfg), **settings}, dev, cross_r2, zx, zy, best_epoch, fitted)


def _lmi_result(
    pmi: np.ndarray,
    base: str | float,
    n: int,
    params: dict[str, Any],
    dev: torch.device,
    cross_r2: float | None,
    zx: np.ndarray,
    zy: np.ndarray,
    best_epoch: int,
    fitted: dict[str, Any],
) -> LMIResult:
    """Assemble the :class:`LMIResult` of :func:`lmi`."""
    extra = {"device": str(dev), "n_epochs": len(fitted["history"]), "n_queries": int(np.isfinite(pmi).sum())}
    if params.get("screen"):
        extra["screened_columns"] = (fitted["model"].x_keep.copy(), fitted["model"].y_keep.copy())
    if cross_r2 is not None:
        extra["cross_r2"] = cross_r2
    return LMIResult(
        mi=float(np.nanmean(pmi)),
        pmi=pmi,
        method="lmi",
        base=base,
        n_samples=n,
        params=params,
        extra=extra,
        zx=zx,
        zy=zy,
        best_epoch=best_epoch,
        **fitted,
    )
