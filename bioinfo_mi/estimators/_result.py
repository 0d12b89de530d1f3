"""Result containers returned by every estimator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIResult", "LMIResult"]


@dataclass(frozen=True, repr=False)
class MIResult:
    """A mutual-information estimate.

    Attributes
    ----------
    mi
        The estimate (mean of the scored pointwise values), in ``base`` units.
    pmi
        ``(n_samples,)`` pointwise MI; NaN where a sample was not scored.
    method
        Name of the estimator that produced it.
    base
        ``"bits"`` or ``"nats"`` (or the numeric base that was requested).
    n_samples
        Number of input samples.
    params
        The estimator parameters used (plain values only).
    extra
        Method-specific diagnostics (e.g. the chosen scale ``c`` of KSG-Global).
    se
        Standard error of ``mi`` in ``base`` units (``bm.mi(..., error_bars=True)``; NaN otherwise).
        How it is computed per method: :mod:`bioinfo_mi.uncertainty`.
    p_value
        Permutation p-value of independence, ``(1 + #{null >= mi}) / (1 + n_shuffles)``
        (``bm.mi(..., n_shuffles=n)``; NaN otherwise). Its resolution is ``1 / (1 + n_shuffles)``.
    null
        The estimates on the ``n_shuffles`` shuffled pairings (``None`` without a permutation test).
    """

    mi: float
    pmi: np.ndarray
    method: str
    base: str | float
    n_samples: int
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    se: float = float("nan")
    p_value: float = float("nan")
    null: np.ndarray | None = None

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation confidence interval ``mi -/+ z se`` at ``level`` (NaN without error bars).

        Parameters
        ----------
        level
            Coverage, strictly between 0 and 1.

        Returns
        -------
        ``(low, high)`` in ``base`` units.
        """
        from scipy.stats import norm

        if not (np.isscalar(level) and 0 < level < 1):
            raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
        half = float(norm.ppf(0.5 + level / 2)) * self.se
        return self.mi - half, self.mi + half

    @property
    def n_scored(self) -> int:
        """Number of samples with a pointwise value (all but LMI's training half)."""
        return int(np.isfinite(self.pmi).sum())

    def __repr__(self) -> str:
        unit = self.base if isinstance(self.base, str) else f"log{self.base:g}"
        se = f" +/- {self.se:.4f}" if np.isfinite(self.se) else ""
        p = f", p_value={self.p_value:.4g} ({len(self.null)} shuffles)" if self.null is not None else ""
        return (
            f"{type(self).__name__}(method={self.method!r}, mi={self.mi:.4f}{se} {unit}, "
            f"n_samples={self.n_samples}, n_scored={self.n_scored}{p})"
        )


@dataclass(frozen=True, repr=False)
class LMIResult(MIResult):
    """Result of latent MI (Algorithm 1 of the LMI paper).

    Additional attributes
    ---------------------
    zx, zy
        ``(n_samples, latent_dim)`` latent embeddings of every input sample.
    model
        The trained :class:`~bioinfo_mi.estimators.LMIModel`; ``model.encode(x, y)``
        embeds new samples (raw features, standardised with the training statistics).
    train_idx, test_idx
        Row indices used to train the networks and to estimate MI (KSG on ``test_idx`` only).
    history
        Per-epoch losses: columns ``epoch``, ``train_loss``, ``val_loss``.
    best_epoch
        Epoch whose weights were restored by early stopping (Algorithm 3).
    """

    zx: np.ndarray = field(default=None)  # type: ignore[assignment]
    zy: np.ndarray = field(default=None)  # type: ignore[assignment]
    model: Any = None
    train_idx: np.ndarray = field(default=None)  # type: ignore[assignment]
    test_idx: np.ndarray = field(default=None)  # type: ignore[assignment]
    history: pd.DataFrame = field(default=None)  # type: ignore[assignment]
    best_epoch: int = -1
