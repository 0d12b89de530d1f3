"""``bm.benchmark.scvi_like_latent``: the scVI-like latent that the tools' benchmarks and tests share."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import bioinfo_mi as bm


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    rates = np.exp(rng.normal(size=(120, 1)) @ rng.normal(size=(1, 30)))
    return rng.poisson(rates).astype(np.float32)


def test_shape_dtype_and_input_untouched(counts):
    before = counts.copy()
    z = bm.benchmark.scvi_like_latent(counts, latent_dim=3, hidden=16, epochs=2, random_state=0, device="cpu")
    assert z.shape == (120, 3) and z.dtype == np.float64 and np.isfinite(z).all()
    assert np.array_equal(counts, before)


def test_same_seed_same_numbers_sparse_or_dense_and_generator(counts):
    kw = {"latent_dim": 2, "hidden": 8, "epochs": 2, "device": "cpu"}
    a = bm.benchmark.scvi_like_latent(counts, random_state=3, **kw)
    assert np.array_equal(a, bm.benchmark.scvi_like_latent(sp.csr_matrix(counts), random_state=3, **kw))
    assert not np.array_equal(a, bm.benchmark.scvi_like_latent(counts, random_state=4, **kw))
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(
        bm.benchmark.scvi_like_latent(counts, random_state=g1, **kw),
        bm.benchmark.scvi_like_latent(counts, random_state=g2, **kw),
    )


def test_latent_follows_the_dominant_program(counts):
    # one log-rate program drives every gene: the first latent axis with signal must track it
    rng = np.random.default_rng(0)
    program = rng.normal(size=(120, 1))[:, 0]
    z = bm.benchmark.scvi_like_latent(counts, latent_dim=2, hidden=32, epochs=60, random_state=0, device="cpu")
    best = max(abs(np.corrcoef(program, z[:, j])[0, 1]) for j in range(2))
    assert best > 0.8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"count_matrix": -np.ones((5, 3))}, ValueError, "count_matrix"),
        ({"count_matrix": np.full((5, 3), np.nan)}, ValueError, "count_matrix"),
        ({"count_matrix": np.ones(5)}, ValueError, "count_matrix"),
        ({"latent_dim": 0}, ValueError, "latent_dim"),
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"random_state": "a"}, TypeError, "random_state"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    args = {"count_matrix": np.ones((5, 3)), "epochs": 1} | kwargs
    with pytest.raises(error, match=match):
        bm.benchmark.scvi_like_latent(**args)
