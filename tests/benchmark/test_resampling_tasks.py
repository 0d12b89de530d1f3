"""Resampling benchmark tasks (LMI paper, Section 3.2 / Fig. 4): shared pools, exact truths, loaders."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.benchmark import (
    Estimator,
    digits_tasks,
    mnist_tasks,
    resampling_tasks,
    run_benchmark,
    species_tasks,
)
from bioinfo_mi.datasets import DIGITS_CLASSES, bernoulli_mi, load_digits_source, resample_pairs


def blobs(n_per_class: int = 200, dim: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 1, (n_per_class, dim)), rng.normal(15, 1, (n_per_class, dim))])
    return x, np.repeat([3, 8], n_per_class)


def test_resampling_tasks_span_the_mi_range_with_exact_truths():
    x, labels = blobs()
    tasks = resampling_tasks(x, labels, n_samples=150, n_datasets=5, source="blobs")
    assert [t.true_mi for t in tasks] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0], abs=1e-9)
    for task in tasks:
        assert task.true_mi == pytest.approx(bernoulli_mi(task.params["correlation"]), abs=1e-12)
        assert task.params["source"] == "blobs" and task.params["d"] == 4 and task.n_samples == 150
    assert len({t.name for t in tasks}) == 5 and all(t.name.startswith("resample-blobs-") for t in tasks)
    assert tasks[0].sampler.keywords["pools"] is tasks[4].sampler.keywords["pools"]  # built once


def test_task_sample_equals_resample_pairs_and_survives_pickling():
    x, labels = blobs()
    task = resampling_tasks(x, labels, n_samples=120, n_datasets=3, source="blobs")[1]
    a, b = task.sample(7)
    ref = resample_pairs(x, labels, 120, correlation=task.params["correlation"], random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(a, ref[0])
    np.testing.assert_array_equal(b, ref[1])
    clone = pickle.loads(pickle.dumps(task))
    np.testing.assert_array_equal(clone.sample(7)[0], a)


def test_task_names_change_with_the_classes_so_caches_do_not_mix():
    first = digits_tasks(2, 200, classes=(0, 1))
    second = digits_tasks(2, 200, classes=(0, 7))
    default = digits_tasks(2, 200)
    assert first[0].name != second[0].name != default[0].name
    assert default[0].params["classes"] == "2,3|4,6" and DIGITS_CLASSES == ((2, 3), (4, 6))


def test_too_many_samples_is_refused_with_the_limit():
    with pytest.raises(ValueError, match="n_samples=400 is too many .* at most"):
        digits_tasks(2, 400, classes=(0, 1))
    x, labels = blobs(50)
    with pytest.raises(ValueError, match="mi_range"):
        resampling_tasks(x, labels, n_samples=20, mi_range=(0.5, 0.2))
    with pytest.raises(ValueError, match="mi_bits"):  # 2 bits exceed a binary label's entropy
        resampling_tasks(x, labels, n_samples=20, mi_range=(0.0, 2.0))


@pytest.mark.slow
def test_run_benchmark_on_digits_tasks():
    tasks = digits_tasks(3, 300)
    table = run_benchmark(tasks, [Estimator("KSG", "ksg", {"k": 3})], progress=False)
    assert list(table.true_mi) == pytest.approx([0.0, 0.5, 1.0], abs=1e-9)
    assert {"source", "classes", "correlation", "d"} <= set(table.columns)
    assert (table.error == "").all()
    # separable single-cluster-pair classes: KSG tracks the label MI
    assert np.abs(table.estimate - table.true_mi).max() < 0.2
    x, _ = load_digits_source()
    assert table.d.iloc[0] == x.shape[1]


def write_idx(path, array):
    import struct

    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_mnist_and_species_tasks_from_tiny_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (120, 28, 28), dtype=np.uint8)
    digits = np.repeat(np.array([0, 1, 5], dtype=np.uint8), 40)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", digits)
    tasks = mnist_tasks(tmp_path, n_datasets=2, n_samples=30, subset="train")
    x, y = tasks[1].sample(0)
    assert x.shape == (30, 784) and tasks[1].params["classes"] == "0|1"
    zero_or_one = {row.tobytes() for row in images[:80].reshape(80, -1).astype(np.float32) / 255.0}
    assert all(row.tobytes() in zero_or_one for row in x)

    paths = {}
    for name, shift in (("E. coli", 0.0), ("A. thaliana", 5.0)):
        with h5py.File(tmp_path / f"{name}.h5", "w") as handle:
            for i in range(40):
                handle.create_dataset(f"{name[0]}{i:04d}", data=rng.normal(shift, 1, 32).astype(np.float16))
        paths[name] = tmp_path / f"{name}.h5"
    tasks = species_tasks(paths, n_datasets=2, n_samples=30)
    x, y = tasks[0].sample(1)
    assert x.shape == (30, 32) and tasks[0].params["source"] == "species"
    assert np.abs(x).max() <= 10.0  # normalised and clipped as in Appendix A.4.1
    with pytest.raises(ValueError, match="two digits"):
        mnist_tasks(tmp_path, digits=(0, 1, 5))


def test_bm_namespace_exports():
    assert bm.benchmark.digits_tasks is digits_tasks
    assert bm.datasets.resample_pairs is resample_pairs
