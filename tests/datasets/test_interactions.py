"""simulate_interactions: paired layout, known MI, distinct pairs, and the oracle AUC against brute force."""

from __future__ import annotations

import itertools
import math

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from bioinfo_mi.datasets import family_affinity, oracle_auc, simulate_interactions

SMALL = {"n_pairs": 300, "n_families": 4, "n_proteins": (40, 50), "d": 12, "latent_dim": 3}


def _mi_bits(joint: np.ndarray) -> float:
    joint = joint / joint.sum()
    ratio = joint / np.outer(joint.sum(axis=1), joint.sum(axis=0))
    nz = joint > 0
    return float((joint[nz] * np.log2(ratio[nz])).sum())


def test_layout_and_dtypes():
    pairs = simulate_interactions(mi_bits=1.0, random_state=1, **SMALL)
    assert pairs.shape == (300, 0) and pairs.X.dtype == np.float32
    for key in ("source", "target"):
        assert pairs.obsm[key].shape == (300, 12) and pairs.obsm[key].dtype == np.float32
    for col in ("source_id", "target_id", "source_family", "target_family"):
        assert col in pairs.obs
    assert pairs.obs["source_id"].map(type).eq(str).all()
    assert pairs.obs["source_id"].str.fullmatch(r"S\d{4}").all()
    assert pairs.obs["target_id"].astype(str).str.fullmatch(r"T\d{4}").all()
    emb = pairs.uns["embeddings"]
    proteins = pairs.uns["proteins"]
    assert isinstance(emb, pd.DataFrame) and emb.shape == (90, 12)  # every protein, paired or not
    assert (emb.index == proteins.index).all()
    assert (proteins["role"] == "source").sum() == 40
    # obsm rows are the per-protein embeddings of the partners
    np.testing.assert_array_equal(pairs.obsm["source"], emb.loc[pairs.obs["source_id"].astype(str)].to_numpy())
    np.testing.assert_array_equal(pairs.obsm["target"], emb.loc[pairs.obs["target_id"].astype(str)].to_numpy())
    assert (
        proteins.loc[pairs.obs["target_id"].astype(str), "family"].to_numpy()
        == pairs.obs["target_family"].astype(str).to_numpy()
    ).all()
    assert proteins["degree"].sum() == 2 * 300
    for key in ("true_mi_bits", "empirical_family_mi_bits", "oracle_auc", "oracle_auc_bipartite"):
        assert isinstance(pairs.uns[key], float)
    assert pairs.uns["simulation"]["n_sources"] == 40 and pairs.uns["simulation"]["random_state"] == 1


def test_no_duplicate_pairs_and_plugin_mi():
    pairs = simulate_interactions(mi_bits=1.5, random_state=2, **SMALL)
    assert not pairs.obs[["source_id", "target_id"]].duplicated().any()
    assert pairs.obs_names.is_unique
    counts = pd.crosstab(pairs.obs["source_family"], pairs.obs["target_family"]).to_numpy()
    assert pairs.uns["empirical_family_mi_bits"] == pytest.approx(_mi_bits(counts.astype(float)))


def test_deterministic():
    a = simulate_interactions(mi_bits=1.0, random_state=3, **SMALL)
    b = simulate_interactions(mi_bits=1.0, random_state=3, **SMALL)
    c = simulate_interactions(mi_bits=1.0, random_state=4, **SMALL)
    np.testing.assert_array_equal(a.obsm["source"], b.obsm["source"])
    np.testing.assert_array_equal(a.obsm["target"], b.obsm["target"])
    assert (a.obs_names == b.obs_names).all()
    assert a.uns["oracle_auc"] == b.uns["oracle_auc"]
    assert not np.array_equal(a.obsm["source"], c.obsm["source"])


@pytest.mark.parametrize("mi_bits", [0.0, 0.3, 1.0, 2.5])
def test_family_mi_is_analytic(mi_bits):
    affinity, coupling = family_affinity(mi_bits, 8, random_state=0)
    assert affinity.sum() == pytest.approx(1.0)
    assert 0.0 <= coupling < 1.0
    np.testing.assert_allclose(affinity.sum(axis=1), 1 / 8)  # uniform family marginals
    assert _mi_bits(affinity) == pytest.approx(mi_bits, abs=1e-9)
    pairs = simulate_interactions(n_pairs=100, mi_bits=mi_bits, n_families=8, n_proteins=30, d=4, latent_dim=2)
    assert pairs.uns["true_mi_bits"] == pytest.approx(mi_bits, abs=1e-9)


def test_protein_level_mi_equals_family_mi():
    # P(s, t) = A(f_s, f_t) / (n_fs n_ft) with unequal family sizes: I(S; T) = I(F_s; F_t) (module docstring)
    pairs = simulate_interactions(
        mi_bits=1.2, random_state=5, n_pairs=30, n_families=3, n_proteins=(7, 11), d=4, latent_dim=2
    )
    proteins = pairs.uns["proteins"]
    affinity = pairs.uns["family_affinity"]
    src = proteins[proteins.role == "source"]
    tgt = proteins[proteins.role == "target"]
    size_s = src["family"].value_counts().reindex(affinity.index).to_numpy()
    size_t = tgt["family"].value_counts().reindex(affinity.columns).to_numpy()
    assert len(set(size_s)) > 1 and len(set(size_t)) > 1  # unequal sizes
    joint = affinity.loc[src["family"], tgt["family"]].to_numpy()
    joint = joint / np.outer(
        size_s[affinity.index.get_indexer(src["family"])], size_t[affinity.columns.get_indexer(tgt["family"])]
    )
    assert joint.sum() == pytest.approx(1.0)
    assert _mi_bits(joint) == pytest.approx(pairs.uns["true_mi_bits"], abs=1e-9)


def _brute_force_auc(pairs: ad.AnnData, holdout: list[str], candidates: str, include_self: bool = False) -> float:
    proteins = pairs.uns["proteins"]
    affinity = pairs.uns["family_affinity"].to_numpy()
    ratio = np.log(affinity / np.outer(affinity.sum(axis=1), affinity.sum(axis=0)))
    row = {f: i for i, f in enumerate(pairs.uns["family_affinity"].index)}
    col = {f: j for j, f in enumerate(pairs.uns["family_affinity"].columns)}
    annotated = set(zip(pairs.obs["source_id"].astype(str), pairs.obs["target_id"].astype(str), strict=True))
    scores, labels = [], []
    ordered = itertools.product(holdout, repeat=2) if include_self else itertools.permutations(holdout, 2)
    for a, b in ordered:
        possible = proteins.at[a, "role"] == "source" and proteins.at[b, "role"] == "target"
        if not possible and candidates == "bipartite":
            continue
        scores.append(ratio[row[proteins.at[a, "family"]], col[proteins.at[b, "family"]]] if possible else -math.inf)
        labels.append((a, b) in annotated)
    scores, labels = np.array(scores), np.array(labels)
    pos, neg = scores[labels], scores[~labels]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (np.isclose(pos[:, None], neg[None, :], rtol=0, atol=1e-9) | (pos[:, None] == neg[None, :])).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


@pytest.mark.parametrize("candidates", ["all", "bipartite"])
def test_oracle_auc_matches_brute_force(candidates):
    pairs = simulate_interactions(
        n_pairs=120, mi_bits=1.0, n_families=3, n_proteins=(20, 25), d=4, latent_dim=2, random_state=6
    )
    pairs = pairs[pairs.obs["source_id"] != "S0001"].copy()  # rows removed: S0001 is in no pair any more
    ids = list(pairs.uns["proteins"].index)
    paired = [i for i in ids if i != "S0001"]  # the default protein set: those in a pair
    assert oracle_auc(pairs, candidates=candidates) == pytest.approx(_brute_force_auc(pairs, paired, candidates))
    rng = np.random.default_rng(0)
    held = [ids[i] for i in rng.choice(len(ids), size=25, replace=False)]
    assert oracle_auc(pairs, held, candidates=candidates) == pytest.approx(_brute_force_auc(pairs, held, candidates))
    assert oracle_auc(pairs, held, include_self=True) == pytest.approx(_brute_force_auc(pairs, held, "all", True))
    # an int draws a random hold-out of that size, reproducibly
    assert oracle_auc(pairs, 25, random_state=1) == oracle_auc(pairs, 25, random_state=1)


def test_oracle_auc_without_dependence_is_chance():
    pairs = simulate_interactions(mi_bits=0.0, random_state=7, **SMALL)
    assert oracle_auc(pairs, candidates="bipartite") == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ({"mi_bits": 2.0}, ValueError, "mi_bits"),  # log2(4) = 2 is not reachable
        ({"mi_bits": -0.1}, ValueError, "mi_bits"),
        ({"mi_bits": float("nan")}, ValueError, "mi_bits"),
        ({"n_families": 1}, ValueError, "n_families"),
        ({"n_proteins": 3}, ValueError, "n_proteins"),
        ({"n_proteins": (40, 50, 60)}, ValueError, "n_proteins"),
        ({"n_pairs": 1001}, ValueError, "n_pairs"),
        ({"n_pairs": 0}, ValueError, "n_pairs"),
        ({"latent_dim": 13}, ValueError, "latent_dim"),
        ({"family_spread": 0.0}, ValueError, "family_spread"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"d": 2.5}, TypeError, "d"),
    ],
)
def test_invalid_arguments(bad, error, match):
    with pytest.raises(error, match=match):
        simulate_interactions(**{**SMALL, **bad})


def test_oracle_auc_invalid_arguments():
    pairs = simulate_interactions(random_state=8, **SMALL)
    with pytest.raises(KeyError, match="holdout"):
        oracle_auc(pairs, ["S0001", "nope"])
    with pytest.raises(ValueError, match="repeats"):
        oracle_auc(pairs, ["S0001", "S0001"])
    with pytest.raises(TypeError, match="holdout"):
        oracle_auc(pairs, "S0001")
    with pytest.raises(ValueError, match="candidates"):
        oracle_auc(pairs, candidates="pairs")
    with pytest.raises(KeyError, match="proteins"):
        oracle_auc(ad.AnnData(obs=pairs.obs))


def test_h5ad_round_trip(tmp_path):
    pairs = simulate_interactions(random_state=9, **SMALL)
    pairs.write_h5ad(tmp_path / "pairs.h5ad")
    back = ad.read_h5ad(tmp_path / "pairs.h5ad")
    np.testing.assert_array_equal(back.obsm["source"], pairs.obsm["source"])
    pd.testing.assert_frame_equal(back.uns["embeddings"], pairs.uns["embeddings"], check_names=False)
    assert back.uns["simulation"]["mi_bits"] == pairs.uns["simulation"]["mi_bits"]
    assert back.uns["true_mi_bits"] == pairs.uns["true_mi_bits"]
    assert oracle_auc(back) == pytest.approx(pairs.uns["oracle_auc"])
    held = list(pairs.uns["proteins"].index[::3])
    assert oracle_auc(back, held) == pytest.approx(oracle_auc(pairs, held))


def test_exhausted_likely_pairs_raise():
    # near the maximal MI only the 4 partner cells (100 pairs in all) are likely: 200 distinct pairs cannot be drawn
    with pytest.raises(ValueError, match="exhausted"):
        simulate_interactions(n_pairs=200, mi_bits=1.99, n_families=4, n_proteins=20, d=4, latent_dim=2)
