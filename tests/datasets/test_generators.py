"""Tests for bioinfo_mi.datasets: generators with known MI and MI-preserving transformations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logit

from bioinfo_mi.datasets import (
    TRANSFORM_NAMES,
    additive_noise,
    additive_noise_mi,
    apply_transforms,
    clustered,
    clustered_mi,
    correlated_gaussian,
    correlated_gaussian_mi,
    coupling_for_mi,
    cube,
    duplicate_noise,
    duplicate_self,
    gaussian_low_rank,
    label_joint,
    low_rank_rho,
    randmat,
    sigmoid,
)
from bioinfo_mi.estimators import ksg


def _pair_mi_bits(a: np.ndarray, b: np.ndarray) -> float:
    r = np.corrcoef(a, b)[0, 1]
    return -0.5 * math.log2(1.0 - r * r)


# ---------------------------------------------------------------- Algorithm 4 (gaussian_low_rank)


def test_low_rank_default_shapes() -> None:
    x, y = gaussian_low_rank()
    assert x.shape == (2000, 1000) and y.shape == (2000, 1000)
    assert x.dtype == np.float64 and y.dtype == np.float64


@pytest.mark.parametrize(("d", "k", "n_nuisance"), [(20, 3, None), (7, 7, None), (10, 2, 0), (10, 2, 8), (1, 1, None)])
def test_low_rank_shapes_and_layout(d: int, k: int, n_nuisance: int | None) -> None:
    x, y = gaussian_low_rank(d=d, rank=k, n_samples=50, mi_bits=1.0, n_nuisance=n_nuisance, random_state=1)
    assert x.shape == (50, d) and y.shape == (50, d)
    nn = (d - k) // 2 if n_nuisance is None else n_nuisance
    # redundant block: every column equals a dependent column, with the same index in x and y
    for j in range(k, d - nn):
        sources = [i for i in range(k) if np.array_equal(x[:, j], x[:, i])]
        assert len(sources) == 1
        assert np.array_equal(y[:, j], y[:, sources[0]])


def test_low_rank_rho_formula() -> None:
    # Covariance [[6, rho], [rho, 3.5]] with rho = sqrt(6 * 3.5) * sqrt(1 - 2^(-2b/k))
    for b, k in [(1.0, 1), (2.0, 3), (0.0, 2), (0.3, 5)]:
        rho = low_rank_rho(b, k)
        assert rho == pytest.approx(math.sqrt(21.0) * math.sqrt(1.0 - 2.0 ** (-2.0 * b / k)))
        r = rho / math.sqrt(21.0)
        assert k * (-0.5 * math.log2(1.0 - r * r)) == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize(("k", "mi_bits"), [(1, 1.0), (3, 2.0), (4, 0.5)])
def test_low_rank_statistics(k: int, mi_bits: float) -> None:
    n, d = 20000, 30
    x, y = gaussian_low_rank(d=d, rank=k, n_samples=n, mi_bits=mi_bits, random_state=7)
    r_target = math.sqrt(1.0 - 2.0 ** (-2.0 * mi_bits / k))
    tol = 4.0 * (1.0 - r_target**2) / math.sqrt(n) + 1e-3
    for i in range(k):
        assert np.corrcoef(x[:, i], y[:, i])[0, 1] == pytest.approx(r_target, abs=tol)
        assert x[:, i].var() == pytest.approx(6.0, rel=0.05)
        assert y[:, i].var() == pytest.approx(3.5, rel=0.05)
        cov = np.cov(x[:, i], y[:, i])[0, 1]
        assert cov == pytest.approx(low_rank_rho(mi_bits, k), rel=0.05)
    # no cross-pair correlation among the dependent block
    if k > 1:
        c = np.corrcoef(x[:, :k].T, y[:, :k].T)[:k, k:]
        off = c[~np.eye(k, dtype=bool)]
        assert np.abs(off).max() < 5.0 / math.sqrt(n)
    # the Gaussian MI formula summed over the k pairs reproduces mi_bits
    mi_hat = sum(_pair_mi_bits(x[:, i], y[:, i]) for i in range(k))
    assert mi_hat == pytest.approx(mi_bits, abs=0.03 * max(1.0, mi_bits))


def test_low_rank_nuisance_independent() -> None:
    n, d, k = 20000, 21, 1
    x, y = gaussian_low_rank(d=d, rank=k, n_samples=n, mi_bits=1.5, random_state=3)
    n_nuisance = (d - k) // 2
    nuis = slice(d - n_nuisance, d)
    assert np.allclose(x[:, nuis].var(axis=0), 1.0, atol=0.05)
    assert np.allclose(y[:, nuis].var(axis=0), 1.0, atol=0.05)
    full = np.hstack([x, y])
    c = np.corrcoef(full.T)
    nuis_cols = list(range(d - n_nuisance, d)) + list(range(2 * d - n_nuisance, 2 * d))
    for j in nuis_cols:
        others = np.delete(c[j], j)
        assert np.abs(others).max() < 5.0 / math.sqrt(n)


def test_low_rank_zero_mi_and_full_rank() -> None:
    x, y = gaussian_low_rank(d=4, rank=4, n_samples=20000, mi_bits=0.0, random_state=0)
    c = np.corrcoef(x.T, y.T)[:4, 4:]
    assert np.abs(c).max() < 5.0 / math.sqrt(20000)


def test_low_rank_deterministic() -> None:
    a = gaussian_low_rank(d=15, rank=2, n_samples=100, random_state=11)
    b = gaussian_low_rank(d=15, rank=2, n_samples=100, random_state=11)
    c = gaussian_low_rank(d=15, rank=2, n_samples=100, random_state=12)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    g1 = gaussian_low_rank(d=15, rank=2, n_samples=100, random_state=np.random.default_rng(5))
    g2 = gaussian_low_rank(d=15, rank=2, n_samples=100, random_state=np.random.default_rng(5))
    assert np.array_equal(g1[0], g2[0]) and np.array_equal(g1[1], g2[1])


# ---------------------------------------------------------------- base distributions (Section 6.1)


def test_correlated_gaussian_analytic_and_empirical() -> None:
    x, t, mi = correlated_gaussian(n_samples=20000, d=3, rho=0.6, random_state=2)
    assert x.shape == t.shape == (20000, 3)
    assert mi == pytest.approx(-1.5 * math.log2(1 - 0.36))
    assert mi == pytest.approx(correlated_gaussian_mi(3, 0.6))
    c = np.corrcoef(x.T, t.T)[:3, 3:]
    assert np.allclose(np.diag(c), 0.6, atol=0.02)
    assert np.abs(c[~np.eye(3, dtype=bool)]).max() < 0.04
    assert np.allclose(t.var(axis=0), 1.0, atol=0.05)
    assert sum(_pair_mi_bits(x[:, i], t[:, i]) for i in range(3)) == pytest.approx(mi, abs=0.05)


def test_additive_noise_analytic_and_empirical() -> None:
    x, t, mi = additive_noise(n_samples=20000, d=2, sigma=0.5, random_state=2)
    assert x.shape == t.shape == (20000, 2)
    assert mi == pytest.approx(math.log2(1 + 1 / 0.25))
    assert mi == pytest.approx(additive_noise_mi(2, 0.5))
    assert np.allclose((t - x).std(axis=0), 0.5, atol=0.02)
    assert sum(_pair_mi_bits(x[:, i], t[:, i]) for i in range(2)) == pytest.approx(mi, abs=0.05)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_ksg_on_correlated_gaussian(rho: float) -> None:
    x, t, mi = correlated_gaussian(n_samples=5000, d=1, rho=rho, random_state=0)
    assert abs(ksg(x, t).mi - mi) < 0.05


def test_base_distributions_deterministic() -> None:
    for gen, kw in [(correlated_gaussian, {"rho": 0.3}), (additive_noise, {"sigma": 2.0})]:
        a = gen(n_samples=50, d=2, random_state=4, **kw)
        b = gen(n_samples=50, d=2, random_state=4, **kw)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


# ---------------------------------------------------------------- transformations (Section 6.3)


@pytest.fixture
def xt() -> tuple[np.ndarray, np.ndarray]:
    x, t, _ = correlated_gaussian(n_samples=300, d=3, rho=0.5, random_state=0)
    return x, t


def test_transform_shapes(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    assert randmat(x, 0).shape == (300, 3)
    assert cube(x).shape == (300, 3)
    assert sigmoid(x).shape == (300, 3)
    assert duplicate_self(x).shape == (300, 60)
    assert duplicate_self(x, n_copies=2).shape == (300, 6)
    assert duplicate_noise(x, 0).shape == (300, 23)
    assert duplicate_noise(x, 0, n_noise=5).shape == (300, 8)
    assert cube(x[:, 0]).shape == (300, 1)  # 1-D input is one column


def test_transforms_do_not_modify_input(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    before = x.copy()
    for name in TRANSFORM_NAMES:
        out = apply_transforms(x, [name], random_state=0)
        assert out is not x and not np.shares_memory(out, x)
    assert np.array_equal(x, before)


def test_transforms_invertible(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    xr = randmat(x, 3)
    m, *_ = np.linalg.lstsq(xr, x, rcond=None)  # X' = a X W with W invertible => X = X' (a W)^-1
    assert np.allclose(xr @ m, x, atol=1e-8)
    assert np.allclose(np.cbrt(cube(x)), x)
    assert np.allclose(logit(sigmoid(x)), x, atol=1e-10)
    assert np.array_equal(duplicate_self(x)[:, :3], x)
    assert np.array_equal(duplicate_self(x)[:, 57:], x)
    assert np.array_equal(duplicate_noise(x, 1)[:, :3], x)
    assert duplicate_noise(x, 1, sigma=0.2)[:, 3:].std() == pytest.approx(0.2, rel=0.1)


def test_randmat_parameters(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    xr = randmat(x, 9)
    a_w = np.linalg.solve(x.T @ x, x.T @ xr)  # recovers alpha * W exactly (noise free)
    assert np.all(a_w > 0) and np.all(a_w < 1)  # alpha in (0,1), W_ij in (0,1)
    assert np.linalg.cond(a_w) < 1e8
    assert np.array_equal(randmat(x, 9), xr)
    assert not np.array_equal(randmat(x, 10), xr)


def test_apply_transforms_chain(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    out = apply_transforms(x, ["rm", "cb", "sg", "ds", "dn"], random_state=5)
    assert out.shape == (300, 3 * 20 + 20)
    again = apply_transforms(x, ("randmat", "cube", "Sigmoid", "duplicate-self", "duplicate_noise"), random_state=5)
    assert np.array_equal(out, again)
    assert np.array_equal(apply_transforms(x, "cb"), cube(x))
    assert np.array_equal(apply_transforms(x, []), x)
    rng = np.random.default_rng(0)
    ref = sigmoid(randmat(x, rng))
    assert np.array_equal(apply_transforms(x, ["rm", "sg"], np.random.default_rng(0)), ref)
    assert set(TRANSFORM_NAMES) == {
        "rm", "cb", "sg", "ds", "dn", "randmat", "cube", "sigmoid", "duplicate_self", "duplicate_noise",
    }  # fmt: skip


def test_apply_transforms_unknown_name(xt: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="names"):
        apply_transforms(xt[0], ["rm", "square"])


def test_duplicate_self_preserves_ksg_linf(xt: tuple[np.ndarray, np.ndarray]) -> None:
    # max-norm distances are unchanged by duplicating columns, so KSG (max norm) is identical
    x, t = xt
    assert ksg(duplicate_self(x, n_copies=4), t, jitter=0).mi == pytest.approx(ksg(x, t, jitter=0).mi, abs=1e-9)


# ---------------------------------------------------------------- clustered data (LMI Section 3.2)


def _binary_entropy(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


@pytest.mark.parametrize("c", [0.0, 0.3, 0.7, -0.5, 1.0])
def test_clustered_binary_mi_closed_form(c: float) -> None:
    # two uniform classes with Cor(Lx, Ly) = c: I = 1 - H_b((1 + c) / 2)
    expected = 1.0 - _binary_entropy((1 + c) / 2) if abs(c) < 1 else 1.0
    assert clustered_mi(c) == pytest.approx(expected, abs=1e-12)
    x, y, mi = clustered(n_samples=50, d=5, coupling=c, random_state=0)
    assert mi == pytest.approx(expected, abs=1e-12)
    joint = label_joint(c)
    lx = np.array([0, 0, 1, 1])
    ly = np.array([0, 1, 0, 1])
    p = joint.ravel()
    corr = (np.sum(p * lx * ly) - 0.25) / 0.25
    assert corr == pytest.approx(c, abs=1e-12)


def test_clustered_mi_direct_multiclass() -> None:
    w = np.array([0.5, 0.3, 0.2])
    joint = label_joint(0.4, 3, w)
    assert joint.sum() == pytest.approx(1.0)
    assert np.allclose(joint.sum(axis=0), w) and np.allclose(joint.sum(axis=1), w)
    direct = sum(
        joint[i, j] * math.log2(joint[i, j] / (w[i] * w[j])) for i in range(3) for j in range(3) if joint[i, j] > 0
    )
    assert clustered_mi(0.4, 3, w) == pytest.approx(direct, abs=1e-12)
    # targeting an MI value
    for target in [0.0, 0.25, 1.0, 1.2]:
        c = coupling_for_mi(target, 3, w)
        assert clustered_mi(c, 3, w) == pytest.approx(target, abs=1e-9)
        _, _, mi = clustered(n_samples=20, d=4, n_clusters=3, mi_bits=target, class_weights=w, random_state=0)
        assert mi == pytest.approx(target, abs=1e-9)


def test_clustered_labels_follow_joint_and_are_recoverable() -> None:
    n = 4000
    x, y, mi, lx, ly = clustered(n_samples=n, d=20, n_clusters=3, mi_bits=0.8, return_labels=True, random_state=1)
    assert x.shape == y.shape == (n, 20)
    assert lx.shape == ly.shape == (n,)
    assert np.all(np.abs(x) < 1) and np.all(np.abs(y) < 1)
    # plug-in MI of the drawn labels is close to the returned population MI
    counts = np.zeros((3, 3))
    np.add.at(counts, (lx, ly), 1)
    pj = counts / n
    px, py = pj.sum(1), pj.sum(0)
    nz = pj > 0
    plug_in = float((pj[nz] * np.log2(pj[nz] / np.outer(px, py)[nz])).sum())
    assert plug_in == pytest.approx(mi, abs=0.03)
    # H(L|X) = 0: clusters are far apart compared to within-cluster nearest-neighbour distances
    for data, lab in [(x[:1000], lx[:1000]), (y[:1000], ly[:1000])]:
        dist = cdist(data, data)
        np.fill_diagonal(dist, np.inf)
        same = lab[:, None] == lab[None, :]
        between = dist[~same].min()
        within_nn = np.where(same, dist, np.inf).min(axis=1).max()
        assert between > 3 * within_nn


def test_clustered_ksg_ballpark() -> None:
    for mi_bits in [0.2, 0.6, 0.9]:
        x, y, mi = clustered(n_samples=800, d=50, mi_bits=mi_bits, random_state=1)
        assert mi == pytest.approx(mi_bits, abs=1e-9)
        assert abs(ksg(x, y).mi - mi) < 0.15


def test_clustered_independent_labels_near_zero() -> None:
    x, y, mi = clustered(n_samples=800, d=10, mi_bits=0.0, random_state=2)
    assert mi == 0.0
    assert abs(ksg(x, y).mi) < 0.15


def test_clustered_deterministic() -> None:
    a = clustered(n_samples=100, d=8, n_clusters=4, mi_bits=0.7, random_state=3)
    b = clustered(n_samples=100, d=8, n_clusters=4, mi_bits=0.7, random_state=3)
    c = clustered(n_samples=100, d=8, n_clusters=4, mi_bits=0.7, random_state=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])


# ---------------------------------------------------------------- input validation


@pytest.mark.parametrize(
    ("func", "kwargs", "argname"),
    [
        (gaussian_low_rank, {"d": 2, "rank": 3}, "d"),
        (gaussian_low_rank, {"rank": 0}, "rank"),
        (gaussian_low_rank, {"n_samples": 0}, "n_samples"),
        (gaussian_low_rank, {"mi_bits": -0.1}, "mi_bits"),
        (gaussian_low_rank, {"mi_bits": float("nan")}, "mi_bits"),
        (gaussian_low_rank, {"d": 10, "rank": 2, "n_nuisance": 9}, "n_nuisance"),
        (gaussian_low_rank, {"n_nuisance": -1}, "n_nuisance"),
        (correlated_gaussian, {"rho": 1.0}, "rho"),
        (correlated_gaussian, {"rho": -1.5}, "rho"),
        (correlated_gaussian, {"d": 0}, "d"),
        (correlated_gaussian, {"n_samples": 0}, "n_samples"),
        (additive_noise, {"sigma": 0.0}, "sigma"),
        (additive_noise, {"sigma": float("inf")}, "sigma"),
        (additive_noise, {"n_samples": -3}, "n_samples"),
        (clustered, {"n_clusters": 1}, "n_clusters"),
        (clustered, {"mi_bits": 1.5}, "mi_bits"),
        (clustered, {"mi_bits": 0.5, "coupling": 0.5}, "coupling"),
        (clustered, {"coupling": 1.2}, "coupling"),
        (clustered, {"n_clusters": 3, "coupling": -0.9}, "coupling"),
        (clustered, {"d": 3, "latent_dim": 4}, "latent_dim"),
        (clustered, {"separation": 1.0}, "separation"),
        (clustered, {"class_weights": [0.5, 0.5, 0.1]}, "class_weights"),
        (clustered, {"class_weights": [1.0, -1.0]}, "class_weights"),
        (clustered, {"n_samples": 0}, "n_samples"),
    ],
)
def test_bad_input_raises(func, kwargs: dict, argname: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{argname}\b"):
        func(**kwargs)


def test_bad_transform_input_raises(xt: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = xt
    with pytest.raises(ValueError, match="n_copies"):
        duplicate_self(x, n_copies=0)
    with pytest.raises(ValueError, match="n_noise"):
        duplicate_noise(x, 0, n_noise=0)
    with pytest.raises(ValueError, match="sigma"):
        duplicate_noise(x, 0, sigma=-1.0)
    with pytest.raises(ValueError, match="x"):
        cube(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError, match="random_state"):
        randmat(x, "seed")


def test_old_argument_names_are_plain_type_errors(xt: tuple[np.ndarray, np.ndarray]) -> None:
    """No deprecation shims: the names before the renames (K, k) are unknown keywords."""
    x, _ = xt
    calls = [
        lambda: duplicate_self(x, K=2),
        lambda: duplicate_noise(x, 0, k=2),
        lambda: gaussian_low_rank(d=4, k=1, n_samples=10),
        lambda: low_rank_rho(1.0, k=1),
    ]
    for call in calls:
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            call()
