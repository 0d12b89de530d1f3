"""tl.interaction_roc: no leakage between held-out proteins and training, training-only normalisation,
correct labels, chunking, determinism, split-into-jobs, errors (LMI paper, Section 4.1)."""

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.estimators import density_ratio, density_ratio_grid


@pytest.fixture(scope="module")
def pairs():
    """120 sources and 120 targets in 4 families; source family f interacts with target family f."""
    rng = np.random.default_rng(0)
    n, dim, fam = 120, 16, 4
    centres_s, centres_t = rng.normal(0, 3, (fam, dim)), rng.normal(0, 3, (fam, dim))
    fs, ft = np.arange(n) % fam, np.arange(n) % fam
    values = np.vstack([centres_s[fs] + rng.normal(size=(n, dim)), centres_t[ft] + rng.normal(size=(n, dim))])
    emb = pd.DataFrame(values, index=[f"S{i}" for i in range(n)] + [f"T{i}" for i in range(n)])
    src = rng.integers(0, n, 900)
    tgt = np.array([rng.choice(np.flatnonzero(ft == fs[s])) for s in src])
    table = pd.DataFrame({"source": [f"S{i}" for i in src], "target": [f"T{i}" for i in tgt]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bm.pp.pair_interactions(emb, table)


def test_holdout_splits_never_leak(pairs):
    sources, targets = pairs.obs["source_id"].to_numpy(str), pairs.obs["target_id"].to_numpy(str)
    splits = bm.pp.holdout_splits(pairs, n_holdout=30, n_splits=4, random_state=0)
    assert len({tuple(s.held_out) for s in splits}) == 4  # different draws
    for split in splits:
        assert len(np.unique(split.held_out)) == 30  # without replacement
        train = np.zeros(pairs.n_obs, dtype=bool)
        train[split.train_rows] = True
        involved = np.isin(sources, split.held_out) | np.isin(targets, split.held_out)
        assert not involved[train].any()  # no held-out protein in any training pair
        assert involved[~train].all()  # and every other pair is left out only because of one
    again = bm.pp.holdout_splits(pairs, n_holdout=30, n_splits=4, random_state=0)
    assert all(np.array_equal(a.held_out, b.held_out) for a, b in zip(splits, again, strict=True))


def test_held_out_normalised_with_training_statistics_only(pairs):
    emb = bm.pp.interaction_proteins(pairs)
    sources, targets = pairs.obs["source_id"].to_numpy(str), pairs.obs["target_id"].to_numpy(str)
    split = bm.pp.holdout_splits(pairs, n_holdout=30, n_splits=1, random_state=1)[0]
    x_train, y_train, held, mean, std = bm.pp.split_arrays(emb, sources, targets, split)
    train_proteins = np.unique(np.concatenate([sources[split.train_rows], targets[split.train_rows]]))
    raw = emb.loc[train_proteins].to_numpy(float)
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std, raw.std(axis=0, ddof=1), rtol=1e-5)
    expected = np.clip((emb.loc[split.held_out].to_numpy(float) - mean) / std, -10, 10)
    np.testing.assert_allclose(held, expected, rtol=1e-5, atol=1e-5)
    # changing the held-out proteins' embeddings changes nothing on the training side
    poisoned = emb.copy()
    poisoned.loc[split.held_out] *= 1000.0
    x2, y2, held2, mean2, std2 = bm.pp.split_arrays(poisoned, sources, targets, split)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(y2, y_train)
    assert not np.allclose(held2, held)


@pytest.mark.parametrize("k", [1, 3])
def test_density_ratio_grid_equals_density_ratio_on_every_pair(k):
    """The grid shortcut gives Algorithm 2's value for every (x_i, y_j), in any chunking."""
    rng = np.random.default_rng(2)
    zx_ref, zy_ref = rng.normal(size=(300, 3)), rng.normal(size=(300, 2))
    zy_ref[:, 0] += zx_ref[:, 0]
    zx_held, zy_held = rng.normal(size=(13, 3)), rng.normal(size=(11, 2))
    full = density_ratio(np.repeat(zx_held, 11, axis=0), np.tile(zy_held, (13, 1)), zx_ref, zy_ref, k=k, random_state=0)
    for max_elements in (300 * 11, 10**7):  # one query row per chunk, everything at once
        grid = density_ratio_grid(zx_held, zy_held, zx_ref, zy_ref, k=k, random_state=0, max_elements=max_elements)
        assert grid.shape == (13, 11)
        np.testing.assert_allclose(grid.ravel(), full, atol=1e-9)


@pytest.mark.slow
def test_interaction_roc_end_to_end(pairs, tmp_path):
    data = pairs.copy()
    opts = dict(n_holdout=40, n_splits=2, random_state=0, estimator_kwds={"epochs": 30}, progress=False)
    assert bm.tl.interaction_roc(data, **opts) is None
    table = data.uns["interaction_roc"]["table"]
    assert list(table.columns) == [
        "split",
        "auc",
        "auc_density_ratio",
        "auc_cosine",
        "n_holdout",
        "n_candidates",
        "n_positive",
        "n_train_pairs",
        "mi_train",
    ]
    assert (table.n_candidates == 1600).all()
    # labels: annotated ordered pairs among the held-out proteins, counted by brute force
    holdout = data.uns["interaction_roc"]["holdout"]
    annotated = set(zip(data.obs.source_id, data.obs.target_id, strict=True))
    for split, group in holdout.groupby("split"):
        ids = group.protein_id.tolist()
        assert table.n_positive[split] == sum((s, t) in annotated for s in ids for t in ids)
    assert table.auc.mean() > 0.75  # the families are learnable; the raw cosine is not informative
    assert table.auc.mean() > table.auc_cosine.mean()
    # roles are disjoint: the role terms rank source-source, target-target and target->source candidates low
    assert (table.auc > table.auc_density_ratio).all()
    res = data.uns["interaction_roc"]
    assert set(res) == {"table", "curves", "holdout", "params"}
    assert set(res["curves"].score) == {"log_odds", "density_ratio", "cosine"}
    ax = bm.pl.interaction_roc(data, save=tmp_path / "roc.png")
    assert ax.get_xlabel() == "false positive rate" and (tmp_path / "roc.png").exists()
    data.write_h5ad(tmp_path / "pairs.h5ad")
    # parallel splits and the split-into-jobs route give the same numbers
    parallel = bm.tl.interaction_roc(pairs, n_jobs=2, copy=True, **opts).uns["interaction_roc"]["table"]
    assert "interaction_roc" not in pairs.uns  # copy=True leaves the input untouched
    pd.testing.assert_frame_equal(parallel, table)
    staged = pairs.copy()
    for i in range(2):
        assert bm.tl.interaction_roc(staged, fits=[i], cache_dir=tmp_path / "cache", **opts) is None
    bm.tl.interaction_roc(staged, cache_dir=tmp_path / "cache", **opts)
    pd.testing.assert_frame_equal(staged.uns["interaction_roc"]["table"], table)
    # the cache keeps every score: another score or candidate set is assembled without refitting
    bm.tl.interaction_roc(staged, cache_dir=tmp_path / "cache", score="density_ratio", **opts)
    ratio = staged.uns["interaction_roc"]["table"]
    np.testing.assert_array_equal(ratio.auc, table.auc_density_ratio)
    assert set(staged.uns["interaction_roc"]["curves"].score) == {"density_ratio", "cosine"}
    bm.pl.interaction_roc(staged, save=tmp_path / "roc_ratio.png")


def test_role_log_ratios():
    """k-NN regression of the training proteins' degrees over the mean degree, smoothed by one pseudo-neighbour."""
    train = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    source_degree = np.array([3, 3, 3, 0, 0, 0])  # the first three only ever appear as sources
    target_degree = np.array([0, 0, 0, 2, 2, 2])
    log_s, log_t = bm.estimators.role_log_ratios(
        train, source_degree, target_degree, np.array([[0.05], [10.05]]), n_neighbors=3
    )
    # near the sources: (9 + 1.5) / 4 / 1.5 = 1.75; near the targets: (0 + 1.5) / 4 / 1.5 = 0.25
    np.testing.assert_allclose(np.exp(log_s), [1.75, 0.25])
    np.testing.assert_allclose(np.exp(log_t), [0.25, 1.75])
    assert np.isfinite(log_s).all() and np.isfinite(log_t).all()
    with pytest.raises(ValueError, match="n_neighbors"):
        bm.estimators.role_log_ratios(train, source_degree, target_degree, train, n_neighbors=0)


def test_interaction_roc_errors(pairs):
    with pytest.raises(ValueError, match="n_holdout=240 needs more proteins than the 238"):
        bm.tl.interaction_roc(pairs, n_holdout=240, progress=False)
    broken = pairs.copy()
    del broken.uns["embeddings"]
    with pytest.raises(KeyError, match="embeddings"):
        bm.tl.interaction_roc(broken, progress=False)
    no_ids = pairs.copy()
    no_ids.obs = no_ids.obs.drop(columns="target_id")
    with pytest.raises(KeyError, match=r"obs columns \['target_id'\] not found"):
        bm.tl.interaction_roc(no_ids, progress=False)
    with pytest.raises(ValueError, match="give cache_dir"):
        bm.tl.interaction_roc(pairs, fits=[0], progress=False)
    with pytest.raises(ValueError, match="give random_state as an int"):
        bm.tl.interaction_roc(pairs, fits=[0], cache_dir="unused", random_state=None, progress=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'splits'"):
        bm.tl.interaction_roc(pairs, splits=[0], progress=False)
    with pytest.raises(ValueError, match="score must be 'log_odds' or 'density_ratio'"):
        bm.tl.interaction_roc(pairs, score="joint", progress=False)


def test_bipartite_candidates(pairs):
    data = pairs.copy()
    bm.tl.interaction_roc(
        data,
        n_holdout=40,
        n_splits=1,
        candidates="bipartite",
        random_state=0,
        estimator_kwds={"epochs": 5},
        progress=False,
    )
    table = data.uns["interaction_roc"]["table"]
    held = data.uns["interaction_roc"]["holdout"].protein_id
    n_sources, n_targets = held.str.startswith("S").sum(), held.str.startswith("T").sum()
    assert table.n_candidates[0] == n_sources * n_targets  # only (source, target) pairs are candidates
    annotated = set(zip(data.obs.source_id, data.obs.target_id, strict=True))
    assert table.n_positive[0] == sum((s, t) in annotated for s in held for t in held)  # no positive lost
    with pytest.raises(ValueError, match="candidates must be"):
        bm.tl.interaction_roc(data, candidates="square", progress=False)


def test_interaction_roc_warns_when_the_auc_rests_on_few_positives(pairs):
    # 10 held-out proteins of the fixture's families give a handful of annotated pairs among them
    with pytest.warns(UserWarning, match=r"rests on only \d+ positive pair"):
        out = bm.tl.interaction_roc(
            pairs, n_holdout=10, n_splits=1, random_state=0, copy=True, estimator_kwds={"epochs": 2}, progress=False
        )
    table = out.uns["interaction_roc"]["table"]
    assert table.n_positive.min() < 20


def test_generator_random_state_is_honoured(pairs):
    """Two Generators in the same state give the same splits and fits; the stored root seed repeats the run."""
    opts = dict(n_holdout=10, n_splits=1, copy=True, estimator_kwds={"epochs": 2}, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.EstimateWarning)  # few positives among 10 held-out proteins
        a = bm.tl.interaction_roc(pairs, random_state=np.random.default_rng(5), **opts).uns["interaction_roc"]
        b = bm.tl.interaction_roc(pairs, random_state=np.random.default_rng(5), **opts).uns["interaction_roc"]
        c = bm.tl.interaction_roc(pairs, random_state=a["params"]["random_state"], **opts).uns["interaction_roc"]
    pd.testing.assert_frame_equal(a["table"], b["table"])
    pd.testing.assert_frame_equal(a["table"], c["table"])
    pd.testing.assert_frame_equal(a["holdout"], c["holdout"])


def test_default_n_holdout_is_the_papers_170_from_1700_proteins_else_a_tenth(pairs):
    """238 proteins: a tenth (23) held out, with a warning; a number given is used as given (170 of 238 is allowed
    by the split itself, and refused by the tool when it leaves LMI too few training pairs)."""
    with pytest.warns(bm.EstimateWarning, match=r"238 proteins, fewer than the 1700 .* holding out 23") as caught:
        splits = bm.pp.holdout_splits(pairs, n_splits=2, random_state=0)
    assert caught[0].message.kind == "few-proteins" and all(len(s.held_out) == 23 for s in splits)
    ids = {"source_id": [f"P{i}" for i in range(900)], "target_id": [f"Q{i}" for i in range(900)]}
    many = ad.AnnData(obs=pd.DataFrame(ids, index=[f"pair{i}" for i in range(900)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.EstimateWarning)  # 1800 proteins: the paper's 170, no warning
        wide = bm.pp.holdout_splits(many, n_splits=1, random_state=0)
    assert len(wide[0].held_out) == 170
    assert len(bm.pp.holdout_splits(pairs, n_holdout=170, n_splits=1, random_state=0)[0].held_out) == 170


def test_too_few_training_pairs_are_refused_before_any_fit(pairs, monkeypatch):
    import bioinfo_mi.tl._interactions as module

    monkeypatch.setattr(module, "run_parallel", lambda *a, **k: pytest.fail("a split was fitted"))
    with pytest.raises(ValueError, match=r"leaves \d+ training pairs .* too few for LMI's two halves; lower n_holdout"):
        bm.tl.interaction_roc(pairs, n_holdout=230, n_splits=2, progress=False)


def test_the_splits_diagnostics_are_reported_once_per_kind():
    """40 pairs of 34 proteins: every split trains LMI on 30-40 pairs, each fit warns (few-samples and more)."""
    small = bm.datasets.simulate_interactions(n_pairs=40, n_proteins=20, d=8, mi_bits=1.0, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.tl.interaction_roc(small, n_splits=3, random_state=0, estimator_kwds={"epochs": 2}, progress=False, n_jobs=1)
    assert small.uns["interaction_roc"]["params"]["n_holdout"] == 3  # the number used (a tenth of 34), not None
    fits = [str(w.message) for w in caught if "splits' LMI fits" in str(w.message)]
    assert fits and all(m.split(":")[0].endswith("of 3 splits' LMI fits") for m in fits)
    kinds = [w.message.kind for w in caught if "splits' LMI fits" in str(w.message)]
    assert len(kinds) == len(set(kinds))  # once per kind, however many splits raised it
    assert not any(w.filename.endswith(("_registry.py", "_interactions.py")) for w in caught)  # none raw


def test_tl_holds_the_tools_only():
    """Array-level helpers live in pp and estimators; bm.tl has no shim that forwards their old names."""
    assert set(bm.tl.__all__) == {"lmi", "pmi", "markov_test", "interaction_roc"}
    for name in ("holdout_splits", "role_log_ratios", "nothing"):
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(bm.tl, name)
