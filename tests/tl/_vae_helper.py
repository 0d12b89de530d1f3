"""A small scVI-like variational autoencoder for tests that need an ``obsm`` latent like ``X_scVI``.

The same model as ``benchmarks/_vae.py`` (tests do not import from ``benchmarks/``): Lopez et al. 2018
(Nat. Methods 15, 1053) reduced to its core, an encoder from ``log1p`` counts to a Gaussian posterior
over ``n_latent`` dimensions, a decoder to gene frequencies scaled by the library size, a
negative-binomial likelihood and the KL term to a standard normal prior. The representation is the
posterior mean: axes of very unequal variance (unused dimensions collapse towards 0), like a PCA.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


class _VAE(nn.Module):
    def __init__(self, n_genes: int, n_latent: int, n_hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_genes, n_hidden), nn.BatchNorm1d(n_hidden), nn.ReLU(), nn.Dropout(0.1))
        self.mean = nn.Linear(n_hidden, n_latent)
        self.log_var = nn.Linear(n_hidden, n_latent)
        self.decoder = nn.Sequential(
            nn.Linear(n_latent, n_hidden), nn.BatchNorm1d(n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_genes)
        )
        self.log_theta = nn.Parameter(torch.zeros(n_genes))

    def loss(self, counts: torch.Tensor) -> torch.Tensor:
        h = self.encoder(torch.log1p(counts))
        mean, log_var = self.mean(h), self.log_var(h).clamp(-10, 10)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        library = counts.sum(dim=1, keepdim=True)
        mu = torch.softmax(self.decoder(z), dim=1) * library
        theta = torch.exp(self.log_theta)
        eps = 1e-8
        log_nb = (
            torch.lgamma(counts + theta)
            - torch.lgamma(theta)
            - torch.lgamma(counts + 1)
            + theta * (torch.log(theta + eps) - torch.log(theta + mu + eps))
            + counts * (torch.log(mu + eps) - torch.log(theta + mu + eps))
        )
        kl = 0.5 * (mean**2 + torch.exp(log_var) - 1 - log_var).sum(dim=1)
        return (-log_nb.sum(dim=1) + kl).mean()


def scvi_like_latent(
    counts,
    *,
    n_latent: int = 10,
    n_hidden: int = 128,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """Posterior means ``(n_cells, n_latent)`` of a scVI-like VAE trained on ``counts`` (cells x genes, >= 0).

    Non-integer counts (normalised ones) are rounded. Deterministic for a seed on one machine.
    """
    x = counts.toarray() if sp.issparse(counts) else np.asarray(counts)
    x = torch.as_tensor(np.round(x), dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = _VAE(x.shape[1], n_latent, n_hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x) - 1, batch_size):
            batch = x[order[start : start + batch_size]]
            if len(batch) < 2:  # BatchNorm needs two cells
                continue
            optimizer.zero_grad()
            model.loss(batch).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return model.mean(model.encoder(torch.log1p(x))).numpy().astype(np.float64)
