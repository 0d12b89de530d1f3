"""Faults a long analysis meets: an interrupt, a killed worker, a damaged cache file, a cache of another version.

The fit-job layer (``bioinfo_mi._fits``) writes each finished fit to ``cache_dir`` at once and atomically,
and a tool writes to the AnnData only after every fit: an interrupted run leaves the AnnData as it was and a
cache whose every file is a whole result, and a rerun finishes with the numbers of an uninterrupted run. A cache
file that is not a whole result is refitted with a warning; a fit of another package version or other defaults
is never read back (the one key, :func:`bioinfo_mi._fits.cache_key`).
"""

import ast
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from joblib.externals.loky.process_executor import TerminatedWorkerError
from tqdm.auto import tqdm

import bioinfo_mi as bm
from bioinfo_mi import _cache, _fits
from bioinfo_mi.benchmark import Estimator, gaussian_task, run_benchmark
from bioinfo_mi.estimators import _knn

REPO = Path(__file__).resolve().parents[1]
#: tiny LMI fits, in worker processes with n_jobs=2 (LMI is not thread-exact)
LMI = {"method": "lmi", "estimator_kwds": {"epochs": 2}}
#: KSG fits, deterministic and run in this process (thread-exact)
KSG = {"method": "ksg"}
COMMON = {"n_pairings": 2, "n_shuffles": 2, "error_bars": False, "random_state": 0, "progress": False}


@pytest.fixture(scope="module")
def lineage():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.datasets.simulate_lineage(n_clones=60, n_genes=20, random_state=0)


def _run(adata, **kwds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)  # small data: the fits say so, not under test here
        bm.tl.lmi(adata, **COMMON, **kwds)
    return adata.uns["lmi"]


@pytest.fixture(scope="module")
def clean_lmi(lineage):
    """The uninterrupted, uncached run (n_jobs=1: the numbers do not depend on n_jobs)."""
    return _run(lineage.copy(), n_jobs=1, **LMI)


@pytest.fixture(scope="module")
def clean_ksg(lineage):
    return _run(lineage.copy(), n_jobs=1, **KSG)


def _snapshot(adata):
    return {
        "uns": sorted(adata.uns),
        "obs": adata.obs.copy(),
        "var": adata.var.copy(),
        "obsm": sorted(adata.obsm),
        "X": adata.X.toarray() if sp.issparse(adata.X) else np.array(adata.X, copy=True),
        "layers": {name: adata.layers[name].copy() for name in adata.layers},
    }


def _assert_unchanged(adata, snap):
    assert sorted(adata.uns) == snap["uns"] and "lmi" not in adata.uns
    pd.testing.assert_frame_equal(adata.obs, snap["obs"])
    pd.testing.assert_frame_equal(adata.var, snap["var"])
    assert sorted(adata.obsm) == snap["obsm"]
    np.testing.assert_array_equal(adata.X.toarray() if sp.issparse(adata.X) else adata.X, snap["X"])
    assert sorted(adata.layers) == sorted(snap["layers"])


def _assert_same_numbers(result, clean):
    pd.testing.assert_frame_equal(result["table"], clean["table"])
    pd.testing.assert_frame_equal(result["summary"], clean["summary"])


def _assert_cache_whole(folder: Path) -> int:
    """Every file in the cache is a whole result of the key it is named by; no temporary file is left."""
    files = sorted(folder.iterdir())
    assert not [f.name for f in files if ".tmp" in f.name]
    for f in files:
        _cache.load_arrays(f, {"mi": (), "pmi": (-1,)})
    return len(files)


def _loky_workers() -> list:
    """The loky worker processes of this process that are alive."""
    return [p for p in multiprocessing.active_children() if "Loky" in type(p).__name__]


def _no_workers_left(timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _loky_workers():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_keyboard_interrupt_leaves_anndata_and_cache_whole(lineage, clean_lmi, tmp_path, monkeypatch):
    """Ctrl-C in the parent while the fits run in workers: the first fit is stored, the second is written to
    its temporary file when the interrupt arrives (before the rename)."""
    stored = []
    real_save = _fits._save

    def save_then_interrupt(path, result):
        real_save(path, result)
        if stored:
            raise KeyboardInterrupt
        stored.append(path)

    monkeypatch.setattr(_fits, "_save", save_then_interrupt)
    adata = lineage.copy()
    snap = _snapshot(adata)
    with pytest.raises(KeyboardInterrupt):
        _run(adata, n_jobs=2, cache_dir=tmp_path, **LMI)
    _assert_unchanged(adata, snap)
    assert _assert_cache_whole(tmp_path) == 1  # the first fit; the interrupted write left nothing behind
    assert _no_workers_left(), "the worker processes outlived the interrupt"
    monkeypatch.undo()
    _assert_same_numbers(_run(adata, n_jobs=1, cache_dir=tmp_path, **LMI), clean_lmi)
    assert _assert_cache_whole(tmp_path) == 4


_REAL_FIT = _fits._fit


def _kill_self_in_one_fit(x, y, job, *rest):
    """Fit of the tests below, run in a worker: the fit of the real pairing 1 kills its own process."""
    if job.pairing == 1 and not job.shuffled:
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_FIT(x, y, job, *rest)


def _fail_in_one_fit(x, y, job, *rest):
    """Fit of the tests below, run in a worker: the fit of the real pairing 1 draws a progress bar (as LMI's
    training does with ``progress=True``, and the error bars' inner loop always), then raises."""
    result = _REAL_FIT(x, y, job, *rest)
    if job.pairing == 1 and not job.shuffled:
        for _ in tqdm(range(2), disable=True):
            pass
        raise ValueError("injected failure")
    return result


@pytest.mark.slow
def test_killed_worker_leaves_anndata_and_cache_whole(lineage, clean_lmi, tmp_path, monkeypatch):
    monkeypatch.setattr(_fits, "_fit", _kill_self_in_one_fit)
    adata = lineage.copy()
    snap = _snapshot(adata)
    with pytest.raises(TerminatedWorkerError):
        _run(adata, n_jobs=2, cache_dir=tmp_path, **LMI)
    _assert_unchanged(adata, snap)
    assert _assert_cache_whole(tmp_path) < 4  # the killed fit is missing
    assert _no_workers_left(), "the worker processes outlived the killed one"
    monkeypatch.undo()
    _assert_same_numbers(_run(adata, n_jobs=1, cache_dir=tmp_path, **LMI), clean_lmi)
    assert _assert_cache_whole(tmp_path) == 4


@pytest.mark.slow
def test_error_in_a_worker_releases_every_worker_resource(tmp_path):
    """A fit that fails in a worker stops the loop, and the interpreter exits without leaked semaphores (tqdm's
    multiprocessing lock in workers that joblib kills on the error path was never unregistered)."""
    script = f"""
import sys, warnings
sys.path.insert(0, {str(Path(__file__).parent)!r})
import bioinfo_mi as bm
from bioinfo_mi import _fits
import test_faults

warnings.simplefilter("ignore", bm.EstimateWarning)
_fits._fit = test_faults._fail_in_one_fit
adata = bm.datasets.simulate_lineage(n_clones=60, n_genes=20, random_state=0)
try:
    bm.tl.lmi(adata, n_pairings=2, n_shuffles=2, error_bars=False, estimator_kwds={{"epochs": 2}}, n_jobs=2,
              progress=False, cache_dir={str(tmp_path)!r})
except ValueError as exc:
    print("raised:", exc)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=500, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "raised: injected failure" in proc.stdout
    assert "leaked" not in proc.stderr, proc.stderr


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_shape(path: Path) -> None:
    """A whole file of the right key whose pointwise MI is not aligned with the fit's rows."""
    with np.load(path) as f:
        arrays = dict(f)
    arrays["pmi"] = arrays["pmi"][:-1]
    np.savez(path, **arrays)


def _missing_field(path: Path) -> None:
    with np.load(path) as f:
        arrays = dict(f)
    del arrays["pmi"]
    np.savez(path, **arrays)


def _without_marker(path: Path) -> None:
    """A file of the layout before the format marker."""
    with np.load(path) as f:
        arrays = {k: v for k, v in f.items() if not k.startswith("__")}
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", [_truncate, _garbage, _empty, _wrong_shape, _missing_field, _without_marker])
def test_damaged_cache_file_is_refitted_with_a_warning(lineage, clean_ksg, tmp_path, damage):
    _run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG)
    files = sorted(tmp_path.glob("*.npz"))
    damage(files[0])
    adata = lineage.copy()
    with pytest.warns(UserWarning, match=rf"1 cache file\(s\) could not be read.*{files[0].name}"):
        result = _run(adata, n_jobs=1, cache_dir=tmp_path, **KSG)
    _assert_same_numbers(result, clean_ksg)
    assert _assert_cache_whole(tmp_path) == len(files)  # overwritten with the refit
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # read back silently now
        _assert_same_numbers(_run(adata, n_jobs=1, cache_dir=tmp_path, **KSG), clean_ksg)


def test_cache_file_of_another_fit_is_not_used(lineage, clean_ksg, tmp_path):
    """A whole file copied under another fit's name (an interrupted or mistaken copy) is refitted."""
    _run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG)
    first, second = sorted(tmp_path.glob("*.npz"))[:2]
    second.write_bytes(first.read_bytes())
    with pytest.warns(UserWarning, match=rf"{second.name} \(CacheError: holds the fit of key"):
        _assert_same_numbers(_run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG), clean_ksg)


def _plant(folder: Path, mi: float) -> None:
    """Rewrite every cached fit, whole and under its own key, with the estimate ``mi``."""
    for f in folder.glob("*.npz"):
        with np.load(f) as stored:
            arrays = dict(stored)
        arrays["mi"] = np.array(mi)
        np.savez(f, **arrays)


def test_version_and_defaults_are_part_of_the_key(lineage, clean_ksg, tmp_path, monkeypatch):
    _run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG)
    _plant(tmp_path, 123.0)
    # the same version and defaults read the (planted) cached fits: the cache is in use
    assert (_run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG)["table"].estimate == 123.0).all()
    # another package version: the old files are not read, every fit runs again
    monkeypatch.setattr(_fits, "__version__", "999.0")
    _assert_same_numbers(_run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG), clean_ksg)
    assert len(list(tmp_path.glob("*.npz"))) == 8
    monkeypatch.undo()
    # another default of the estimator (KSG's k): another key, so the fits run again with the new default
    monkeypatch.setitem(_knn.ksg.__kwdefaults__, "k", 4)
    changed = _run(lineage.copy(), n_jobs=1, cache_dir=tmp_path, **KSG)
    assert len(list(tmp_path.glob("*.npz"))) == 12
    assert not (changed["table"].estimate == 123.0).any()
    assert not np.allclose(changed["table"].estimate, clean_ksg["table"].estimate)


def test_one_key_for_every_cache():
    job = _fits.FitJob(pairing=0, shuffled=False, x_rows=np.arange(5), y_rows=np.arange(5, 10), seed=3)
    base = {"method": "lmi", "options": {"epochs": 2}, "seed": 3, "data": "d", "rows": (job.x_rows, job.y_rows)}
    key = _fits.cache_key(**base)
    # run_fits' key is the one key
    assert _fits._cache_path(Path("f"), job, "lmi", {"epochs": 2}, "d") == Path("f") / f"{key}.npz"
    changed = [
        {"method": "ksg"},
        {"options": {"epochs": 3}},
        {"options": {"epochs": 2, "latent_dim": 4}},
        {"seed": 4},
        {"data": "e"},
        {"rows": (job.x_rows, job.y_rows[::-1])},
        {"standard_error": bm.uncertainty.sampling_se},
        {"attribution": "cross_r2"},
        {"extra": {"k": 3}},
    ]
    keys = {_fits.cache_key(**{**base, **change}) for change in changed}
    assert key not in keys and len(keys) == len(changed)
    # a changed preset value (the defaults LMI resolves its None options from) changes the key
    from bioinfo_mi.estimators import PRESETS, LMIPreset

    original = PRESETS["default"]
    try:
        PRESETS["default"] = LMIPreset(max_epochs=original.max_epochs + 1)
        assert _fits.cache_key(**base) != key
    finally:
        PRESETS["default"] = original
    assert _fits.cache_key(**base) == key


def test_module_constants_that_change_numbers_are_part_of_the_key(monkeypatch):
    """The error bars' design constants are no signature defaults, yet they decide the SE of a cached fit."""
    from bioinfo_mi import uncertainty
    from bioinfo_mi.estimators import _lmi

    base = {"method": "lmi", "options": {}, "seed": 3, "data": "d", "standard_error": uncertainty.sampling_se}
    key, no_se = _fits.cache_key(**base), _fits.cache_key(**{**base, "standard_error": None})
    monkeypatch.setattr(uncertainty, "GROWTH_PER_BIT", uncertainty.GROWTH_PER_BIT + 0.5)
    assert _fits.cache_key(**base) != key
    assert _fits.cache_key(**{**base, "standard_error": None}) == no_se  # a fit without SE does not depend on them
    monkeypatch.undo()
    assert _fits.cache_key(**base) == key
    monkeypatch.setattr(_lmi, "MIN_ADAPTED_LATENT", 3)  # the small-sample rule of LMI's latent size
    assert _fits.cache_key(**base) != key


@pytest.mark.slow
def test_fresh_interpreter_has_uncertainty_and_the_same_cache_key():
    """``bm.uncertainty`` is there after ``import bioinfo_mi`` alone, and split jobs (``fits=[i]``, one process
    each) find each other's files: the key holds no memory address and no set order."""
    code = (
        "import numpy as np\nimport bioinfo_mi as bm\nbm.uncertainty.sampling_se\nfrom bioinfo_mi import _fits\n"
        "print(_fits.cache_key(method='mine', options={'hidden': (8, 8)}, seed=1, data='d', rows=(np.arange(4),),"
        " standard_error=bm.uncertainty.sampling_se, attribution='cross_r2'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    here = _fits.cache_key(
        method="mine",
        options={"hidden": (8, 8)},
        seed=1,
        data="d",
        rows=(np.arange(4),),
        standard_error=bm.uncertainty.sampling_se,
        attribution="cross_r2",
    )
    assert out.stdout.strip() == here


def test_the_key_holds_the_version_the_build_reads():
    """The build reads the version statically (no import of the package and its dependencies)."""
    attr = re.search(r'^version = \{attr = "([\w.]+)"\}', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    module, _, name = attr.rpartition(".")
    tree = ast.parse((REPO / Path(*module.split("."))).with_suffix(".py").read_text())
    literal = [ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == name]
    assert literal == [bm.__version__] and _fits.__version__ == bm.__version__


def test_run_benchmark_cache_damage_and_version(tmp_path, monkeypatch):
    tasks = [gaussian_task(d=2, rank=1, mi_bits=0.5, n_samples=200)]
    estimators = [Estimator("KSG", "ksg")]
    clean = run_benchmark(tasks, estimators, n_seeds=2, n_jobs=1, progress=False).drop(columns="seconds")
    run_benchmark(tasks, estimators, n_seeds=2, n_jobs=1, cache_dir=tmp_path, progress=False)
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 2
    files[0].write_text(files[0].read_text()[:20])
    with pytest.warns(UserWarning, match=rf"{files[0].name} \(JSONDecodeError"):
        again = run_benchmark(tasks, estimators, n_seeds=2, n_jobs=1, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), clean)
    monkeypatch.setattr(_fits, "__version__", "999.0")
    run_benchmark(tasks, estimators, n_seeds=2, n_jobs=1, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_interaction_roc_cache_damage_and_version(tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = bm.datasets.simulate_interactions(n_pairs=300, n_proteins=60, d=8, n_families=4, random_state=0)
    opts = {"n_holdout": 12, "n_splits": 2, "random_state": 0, "estimator_kwds": {"epochs": 2}, "progress": False}
    opts["n_jobs"] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)
        clean = bm.tl.interaction_roc(pairs, copy=True, **opts).uns["interaction_roc"]
        bm.tl.interaction_roc(pairs.copy(), cache_dir=tmp_path, **opts)
    assert clean["params"]["version"] == bm.__version__
    files = sorted(tmp_path.glob("*.npz"))
    assert len(files) == 2
    _truncate(files[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)
        with pytest.warns(UserWarning, match=rf"{files[1].name} \(BadZipFile"):
            again = bm.tl.interaction_roc(pairs, copy=True, cache_dir=tmp_path, **opts).uns["interaction_roc"]
    pd.testing.assert_frame_equal(again["table"], clean["table"])
    pd.testing.assert_frame_equal(again["curves"], clean["curves"])
    monkeypatch.setattr(_fits, "__version__", "999.0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)
        bm.tl.interaction_roc(pairs.copy(), cache_dir=tmp_path, **opts)
    assert len(list(tmp_path.glob("*.npz"))) == 4  # the other version's splits are fitted anew
