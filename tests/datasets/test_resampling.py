"""Resampling sources (LMI paper, Section 3.2): label MI, sampling without replacement, loaders.

Loader fixtures are tiny files in the real formats: LeCun idx files (plain and gzipped), Keras'
``mnist.npz`` and UniProt's per-protein h5 layout (one 1-D dataset per accession at the root).
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.datasets import (
    DIGITS_CLASSES,
    bernoulli_mi,
    class_pools,
    class_separability,
    correlation_for_mi,
    label_pairs,
    load_digits_source,
    max_pairs,
    read_mnist,
    read_species_embeddings,
    resample_pairs,
)


def binary_entropy(q: float) -> float:
    return 0.0 if q in (0.0, 1.0) else -(q * math.log2(q) + (1 - q) * math.log2(1 - q))


def blobs(n_per_class: int = 400, dim: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two far-apart Gaussian blobs with string labels: H(L | X) = 0 for practical purposes."""
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 1, (n_per_class, dim)), rng.normal(20, 1, (n_per_class, dim))])
    return x, np.repeat(np.array(["a", "b"], dtype=object), n_per_class)


# ---------------------------------------------------------------------------------------- labels


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.78, 1.0, -0.5])
def test_bernoulli_mi_matches_closed_form(rho):
    assert bernoulli_mi(rho) == pytest.approx(1 - binary_entropy((1 + rho) / 2), abs=1e-12)


def test_bernoulli_mi_unbalanced_and_inverse():
    assert bernoulli_mi(1.0, p=0.2) == pytest.approx(binary_entropy(0.2), abs=1e-12)
    assert bernoulli_mi(0.0, p=0.2) == pytest.approx(0.0, abs=1e-12)
    for target in (0.0, 0.1, 0.5, 0.999, 1.0):
        assert bernoulli_mi(correlation_for_mi(target)) == pytest.approx(target, abs=1e-9)
    assert bernoulli_mi(correlation_for_mi(0.3, p=0.3), p=0.3) == pytest.approx(0.3, abs=1e-9)
    with pytest.raises(ValueError, match="mi_bits"):
        correlation_for_mi(1.2)
    with pytest.raises(ValueError, match="p must lie"):
        bernoulli_mi(0.5, p=1.0)
    with pytest.raises(ValueError, match="coupling"):  # joint table would be negative
        bernoulli_mi(-0.9, p=0.2)


def test_label_pairs_have_prescribed_correlation_and_marginal():
    lx, ly = label_pairs(200_000, correlation=0.6, p=0.3, random_state=1)
    assert set(np.unique(lx)) == {0, 1}
    assert lx.mean() == pytest.approx(0.3, abs=0.005) and ly.mean() == pytest.approx(0.3, abs=0.005)
    assert np.corrcoef(lx, ly)[0, 1] == pytest.approx(0.6, abs=0.01)
    a, b = label_pairs(50, 0.5, random_state=3)
    c, d = label_pairs(50, 0.5, random_state=3)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
    with pytest.raises(ValueError, match="not both"):
        label_pairs(10, 0.5, correlation=0.5)
    with pytest.raises(ValueError, match="mi_bits or the label correlation"):
        label_pairs(10)


# ------------------------------------------------------------------------------ pools and draws


def test_class_pools_drop_duplicates_and_ambiguous_rows():
    x = np.array([[0.0, 0], [0, 0], [1, 1], [2, 2], [2, 2], [3, 3], [9, 9]])
    labels = np.array([0, 0, 0, 1, 0, 1, 7])  # [2, 2] in both classes; label 7 in neither
    with pytest.warns(UserWarning, match="dropped 3 duplicated"):
        pool0, pool1 = class_pools(x, labels, (0, 1))
    np.testing.assert_array_equal(pool0, [[0, 0], [1, 1]])
    np.testing.assert_array_equal(pool1, [[3, 3]])
    with pytest.raises(ValueError, match="in both classes"):
        class_pools(x, labels, ((0, 1), 1))
    with pytest.raises(ValueError, match="matches no label"):
        class_pools(x, labels, (0, 5))
    with pytest.raises(ValueError, match="distinct values"):
        class_pools(x, labels)  # three labels, no classes given
    with pytest.raises(ValueError, match="one label per row"):
        class_pools(x, labels[:3], (0, 1))


def test_resample_pairs_draws_each_class_without_replacement():
    x_src, labels = blobs(300)
    x, y, mi, lx, ly = resample_pairs(x_src, labels, 400, 0.6, return_labels=True, random_state=0)
    assert mi == pytest.approx(0.6, abs=1e-9) and x.shape == (400, 3)
    # every row is a source row of the drawn class (blob a near 0, blob b near 20)
    np.testing.assert_array_equal(x.mean(axis=1) > 10, lx == 1)
    np.testing.assert_array_equal(y.mean(axis=1) > 10, ly == 1)
    source_rows = {row.tobytes() for row in x_src}
    assert all(row.tobytes() in source_rows for row in np.vstack([x, y]))
    # without replacement: no repeated row within x or within y
    assert len({row.tobytes() for row in x}) == 400 and len({row.tobytes() for row in y}) == 400
    # disjoint: no sample shared between x and y
    x2, y2, _ = resample_pairs(x_src, labels, 250, correlation=1.0, disjoint=True, random_state=0)
    assert not ({row.tobytes() for row in x2} & {row.tobytes() for row in y2})
    # determinism
    again = resample_pairs(x_src, labels, 400, 0.6, random_state=0)
    np.testing.assert_array_equal(again[0], x)
    np.testing.assert_array_equal(again[1], y)


def test_resample_pairs_refuses_to_reuse_samples():
    x_src, labels = blobs(50)
    with pytest.raises(ValueError, match="distinct samples of class"):
        resample_pairs(x_src, labels, 150, 0.5, random_state=0)
    with pytest.raises(ValueError, match="disjoint=False"):
        resample_pairs(x_src, labels, 80, correlation=1.0, disjoint=True, random_state=0)


def test_max_pairs_is_safe_and_tight():
    sizes = [60, 60]
    n = max_pairs(sizes)
    assert 60 < n < 120
    assert max_pairs(sizes, disjoint=True) < n
    x_src, labels = blobs(60)
    for seed in range(100):  # at the cap a draw practically never runs out (worst case rho = 1)
        resample_pairs(x_src, labels, n, correlation=1.0, random_state=seed)
    with pytest.raises(ValueError, match="two entries"):
        max_pairs([10])


def test_resampled_mi_is_label_mi_for_separable_classes():
    """Theorem 4 end to end: KSG on resampled well-separated blobs recovers I(Lx; Ly)."""
    x_src, labels = blobs(1500, dim=2, seed=1)
    for target in (0.2, 0.8):
        x, y, mi = resample_pairs(x_src, labels, 2000, target, random_state=2)
        assert bm.mi(x, y, method="ksg", k=3).mi == pytest.approx(mi, abs=0.06)


def test_class_separability_detects_separable_and_random_classes():
    x_src, labels = blobs(100)
    res = class_separability(x_src, labels, n_splits=5)
    assert res["accuracy"] == 1.0 and res["n_splits"] == 5
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(400, 5))
    coin = rng.integers(0, 2, 400)
    res = class_separability(noise, coin, classifier="knn", n_splits=10)
    assert 0.4 < res["accuracy"] < 0.6
    with pytest.raises(ValueError, match="classifier"):
        class_separability(x_src, labels, classifier="svm")


def test_digits_source_and_default_classes():
    x, digits = load_digits_source()
    assert x.shape == (1797, 64) and x.min() == 0 and x.max() == 1
    raw, _ = load_digits_source(unit_interval=False)
    assert raw.max() == 16 and np.array_equal(raw / 16, x)
    pools = class_pools(x, digits, DIGITS_CLASSES)
    assert [p.shape[0] for p in pools] == [360, 362]
    assert max_pairs([p.shape[0] for p in pools]) >= 580  # the benchmark's default size


# --------------------------------------------------------------------------------------- MNIST


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


@pytest.fixture
def mnist_arrays():
    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.array([0, 1, 2, 0, 1, 7], dtype=np.uint8))
    test = (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), np.array([1, 0, 3], dtype=np.uint8))
    return train, test


@pytest.mark.parametrize("compress", [False, True])
def test_read_mnist_idx_folder(tmp_path, mnist_arrays, compress):
    (tr_x, tr_y), (te_x, te_y) = mnist_arrays
    write_idx(tmp_path / "train-images-idx3-ubyte", tr_x, compress)
    write_idx(tmp_path / "train-labels-idx1-ubyte", tr_y, compress)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", te_x, compress)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", te_y, compress)
    x, labels = read_mnist(tmp_path)
    assert x.shape == (9, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x[:6], tr_x.reshape(6, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 1, 2, 0, 1, 7, 1, 0, 3])
    x01, l01 = read_mnist(tmp_path, digits=(0, 1), subset="test")
    np.testing.assert_array_equal(l01, [1, 0])
    np.testing.assert_allclose(x01[0], te_x[0].ravel() / 255.0, rtol=1e-6)
    # a single images file finds its labels by name
    single = tmp_path / ("train-images-idx3-ubyte.gz" if compress else "train-images-idx3-ubyte")
    xs, ls = read_mnist(single)
    np.testing.assert_array_equal(ls, tr_y)


def test_read_mnist_npz_and_errors(tmp_path, mnist_arrays):
    (tr_x, tr_y), (te_x, te_y) = mnist_arrays
    np.savez(tmp_path / "mnist.npz", x_train=tr_x, y_train=tr_y, x_test=te_x, y_test=te_y)
    x, labels = read_mnist(tmp_path / "mnist.npz", subset="train")
    np.testing.assert_array_equal(labels, tr_y)
    assert x.shape == (6, 784)
    np.savez(tmp_path / "other.npz", images=tr_x)
    with pytest.raises(ValueError, match="x_train"):
        read_mnist(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_mnist(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="train-images"):
        read_mnist(tmp_path / "empty")
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04rubbish")
    with pytest.raises(ValueError, match="not an idx file"):
        read_mnist(bad)
    write_idx(tmp_path / "t-images-idx3-ubyte", tr_x)
    write_idx(tmp_path / "t-labels-idx1-ubyte", tr_y[:4])
    with pytest.raises(ValueError, match="do not match"):
        read_mnist(tmp_path / "t-images-idx3-ubyte")
    with pytest.raises(ValueError, match="subset"):
        read_mnist(tmp_path, subset="validation")


# ------------------------------------------------------------------------------------- species


def write_h5(path: Path, entries: dict[str, np.ndarray]) -> Path:
    with h5py.File(path, "w") as handle:
        for name, values in entries.items():
            handle.create_dataset(name, data=np.asarray(values, dtype=np.float16))
    return path


def test_read_species_embeddings_from_proteomes(tmp_path):
    rng = np.random.default_rng(0)
    ecoli = {f"P0A{i:03d}": rng.normal(0, 1, 16) for i in range(5)}
    ath = {f"Q9S{i:03d}": rng.normal(3, 2, 16) for i in range(4)}
    paths = {"E. coli": write_h5(tmp_path / "ecoli.h5", ecoli), "A. thaliana": write_h5(tmp_path / "ath.h5", ath)}
    x, labels = read_species_embeddings(paths, normalize=False)
    assert x.shape == (9, 16) and x.dtype == np.float32
    assert list(labels) == ["E. coli"] * 5 + ["A. thaliana"] * 4
    np.testing.assert_allclose(x[0], np.asarray(ecoli["P0A000"], dtype=np.float16), rtol=1e-6)
    xn, _ = read_species_embeddings(paths)  # paper's normalisation: unit variance per dimension
    np.testing.assert_allclose(xn.std(axis=0, ddof=1), 1.0, rtol=1e-4)
    pools = class_pools(xn, labels, ("E. coli", "A. thaliana"))
    assert [p.shape[0] for p in pools] == [5, 4]


def test_read_species_embeddings_from_table_and_labels(tmp_path):
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(5, 8)), index=pd.Index(["A1", "A2", "B1", "B2", "C1"], name="accession"))
    species_csv = tmp_path / "species.tsv"
    pd.DataFrame({"accession": ["A1", "A2", "B1", "B2"], "species": ["ecoli", "ecoli", "ath", "ath"]}).to_csv(
        species_csv, sep="\t", index=False
    )
    with pytest.warns(UserWarning, match="1 protein"):
        x, labels = read_species_embeddings(table, species_csv, normalize=False)
    np.testing.assert_allclose(x, table.iloc[:4].to_numpy(), rtol=1e-6)
    assert list(labels) == ["ecoli", "ecoli", "ath", "ath"]
    with pytest.warns(UserWarning, match="3 protein"):
        x2, labels2 = read_species_embeddings(table, {"A1": "e", "C1": "a"}, normalize=False)
    assert list(labels2) == ["e", "a"]
    with pytest.raises(ValueError, match="species"):
        read_species_embeddings(table)
    with pytest.raises(ValueError, match="no protein"), pytest.warns(UserWarning, match="5 protein"):
        read_species_embeddings(table, {"Z9": "x"})
    with pytest.raises(FileNotFoundError, match="species"):
        read_species_embeddings(table, tmp_path / "nope.csv")
