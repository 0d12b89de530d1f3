"""Learned cell representations for benchmarks that need an ``obsm`` latent like ``X_scVI``.

scvi-tools is not a dependency (it pins its own torch and lightning stack). :func:`scvi_like_latent`
is the model of Lopez et al. 2018 (Nat. Methods 15, 1053) reduced to its core, so that the tools
can be measured on the kind of representation users pass as ``use_rep`` (LMI paper, Section 4, the
representation question of the lineage experiments). One copy serves the benchmark scripts and the
tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._docs import shared_docs
from .._parallel import root_seed
from .._validation import check_device, check_positive_int, check_real

__all__ = ["scvi_like_latent"]


def _vae(n_genes: int, latent_dim: int, hidden: int) -> Any:
    """Build the encoder/decoder pair with one negative-binomial dispersion per gene (built lazily: torch)."""
    import torch
    from torch import nn

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(n_genes, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.1))
            self.mean = nn.Linear(hidden, latent_dim)
            self.log_var = nn.Linear(hidden, latent_dim)
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, n_genes)
            )
            self.log_theta = nn.Parameter(torch.zeros(n_genes))

        def loss(self, counts: torch.Tensor) -> torch.Tensor:
            """Negative ELBO per cell: NB reconstruction of the counts plus KL to the N(0, I) prior."""
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

    return VAE()


@shared_docs
def scvi_like_latent(
    count_matrix: Any,
    *,
    latent_dim: int = 10,
    hidden: int = 128,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 1e-3,
    random_state: int | np.random.Generator | None = 0,
    device: Any = None,
) -> np.ndarray:
    """Posterior means of a small scVI-like variational autoencoder trained on raw counts.

    An encoder from ``log1p`` counts to a Gaussian posterior over ``latent_dim`` dimensions, a decoder
    to gene frequencies (softmax) scaled by the cell's observed library size, a negative-binomial
    likelihood with one dispersion per gene and the KL term to a standard normal prior; no batch
    covariates (Lopez et al. 2018). The representation is the posterior mean, as scvi-tools'
    ``get_latent_representation()`` returns: axes of very unequal variance (dimensions the model does
    not use collapse towards 0), like a PCA. Used by ``benchmarks/bench_tl_representations.py`` and
    the tests of ``tl.lmi`` on learned representations (LMI paper, Section 4).

    Parameters
    ----------
    count_matrix
        Counts, ``(n_cells, n_genes)``, dense or sparse, all >= 0; non-integer values (normalised
        counts) are rounded.
    latent_dim
        Dimension of the latent space.
    hidden
        Width of the encoder's and the decoder's hidden layer.
    epochs, batch_size, lr
        Passes over the cells, cells per mini-batch (Adam), learning rate.
    {random_state}
    device
        Torch device; default CUDA when available, else CPU (numbers differ between devices).

    Returns
    -------
    numpy.ndarray
        ``(n_cells, latent_dim)`` float64 posterior means. Same seed, same machine: same numbers.
    """
    import torch

    x = count_matrix.toarray() if sp.issparse(count_matrix) else np.asarray(count_matrix, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or not np.all(np.isfinite(x)) or (x < 0).any():
        raise ValueError(f"count_matrix must be a finite, non-negative (n_cells >= 2, n_genes) matrix, got {x.shape}")
    latent_dim = check_positive_int(latent_dim, name="latent_dim")
    hidden = check_positive_int(hidden, name="hidden")
    epochs = check_positive_int(epochs, name="epochs")
    batch_size = check_positive_int(batch_size, name="batch_size", minimum=2)
    lr = check_real(lr, name="lr", low=0.0, low_inclusive=False)
    seed, dev = root_seed(random_state), check_device(device)
    x = torch.as_tensor(np.round(x), dtype=torch.float32, device=dev)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = _vae(x.shape[1], latent_dim, hidden).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen).to(dev)
        for start in range(0, len(x) - 1, batch_size):
            batch = x[order[start : start + batch_size]]
            if len(batch) < 2:  # BatchNorm needs two cells
                continue
            optimizer.zero_grad()
            model.loss(batch).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return model.mean(model.encoder(torch.log1p(x))).cpu().numpy().astype(np.float64)
