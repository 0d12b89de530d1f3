"""Pairing protein embeddings along interactions (LMI paper, Section 4.1 / Appendix A.4.1)."""

from __future__ import annotations

from pathlib import Path

import anndata
import h5py
import numpy as np
import pandas as pd
import pytest

from bioinfo_mi.datasets import read_interactions, read_prott5_h5
from bioinfo_mi.pp import interaction_proteins, normalize_embeddings, pair_interactions

DIM = 6
PROTEINS = ["HUB", "P1", "P2", "P3", "P4", "P5", "LONELY"]


def embeddings(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(PROTEINS), DIM)) * np.arange(1, DIM + 1) + 3.0
    values[PROTEINS.index("HUB")] += 20.0  # far from the rest: weighting it by degree moves the mean
    return pd.DataFrame(values.astype(np.float32), index=pd.Index(PROTEINS, name="accession"))


def hub_interactions() -> pd.DataFrame:
    """HUB binds five partners; P1-P2 is one more pair. LONELY has an embedding but no partner."""
    return pd.DataFrame(
        {
            "source": ["HUB"] * 5 + ["P1"],
            "target": ["P1", "P2", "P3", "P4", "P5", "P2"],
            "source_genesymbol": ["H", "H", "H", "H", "H", "A"],
            "target_genesymbol": ["A", "B", "C", "D", "E", "B"],
            "is_stimulation": [True, False, True, True, False, True],
            "n_sources": [1, 2, 3, 1, 1, 2],
        }
    )


def per_protein_stats(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    values = frame.to_numpy(dtype=np.float64)
    return values.mean(axis=0), values.std(axis=0, ddof=1)


# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------


def test_normalize_embeddings_statistics() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(loc=5.0, scale=3.0, size=(50, 4))
    values[:, 2] = 7.0  # constant dimension
    normalized, mean, std = normalize_embeddings(values, clip=None)
    assert normalized.dtype == np.float32 and normalized.shape == values.shape
    np.testing.assert_allclose(mean, values.mean(axis=0))
    np.testing.assert_allclose(std[[0, 1, 3]], values[:, [0, 1, 3]].std(axis=0, ddof=1))
    assert std[2] == 1.0  # zero variance: centred, not scaled
    np.testing.assert_allclose(normalized[:, [0, 1, 3]].std(axis=0, ddof=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-5)
    assert np.all(normalized[:, 2] == 0.0)

    # held-out data normalised with the training statistics
    held_out = rng.normal(size=(5, 4))
    again, mean2, std2 = normalize_embeddings(held_out, mean=mean, std=std, clip=None)
    np.testing.assert_allclose(again, (held_out - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)


def test_normalize_embeddings_clip_and_errors() -> None:
    values = np.vstack([np.zeros((99, 2)), [[1000.0, -1000.0]]])
    clipped, _, _ = normalize_embeddings(values, clip=3.0)
    assert clipped.max() == 3.0 and clipped.min() == -3.0
    unclipped, _, _ = normalize_embeddings(values, clip=None)
    assert unclipped.max() > 9.0  # (1000 - 10) / std ~ 9.95
    with pytest.raises(ValueError, match="both mean and std"):
        normalize_embeddings(values, mean=np.zeros(2))
    with pytest.raises(ValueError, match="one value per dimension"):
        normalize_embeddings(values, mean=np.zeros(3), std=np.ones(3))
    with pytest.raises(ValueError, match="std must be positive"):
        normalize_embeddings(values, mean=np.zeros(2), std=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="clip"):
        normalize_embeddings(values, clip=0)
    with pytest.raises(ValueError, match="NaN"):
        normalize_embeddings(np.array([[1.0, np.nan], [0.0, 1.0]]))


# ---------------------------------------------------------------------------------------------
# pairing
# ---------------------------------------------------------------------------------------------


def test_pairs_layout_and_values() -> None:
    emb = embeddings()
    adata = pair_interactions(emb, hub_interactions(), normalize=False)
    assert adata.shape == (6, 0) and adata.X.dtype == np.float32
    assert adata.obs["source_id"].tolist() == ["HUB"] * 5 + ["P1"]
    assert adata.obs["target_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P2"]
    assert list(adata.obs_names) == ["HUB_P1", "HUB_P2", "HUB_P3", "HUB_P4", "HUB_P5", "P1_P2"]
    assert adata.obs["source_genesymbol"].tolist() == ["H"] * 5 + ["A"]
    assert adata.obs["is_stimulation"].tolist() == [True, False, True, True, False, True]
    for key, col in (("source", "source_id"), ("target", "target_id")):
        assert adata.obsm[key].dtype == np.float32 and adata.obsm[key].shape == (6, DIM)
        np.testing.assert_array_equal(adata.obsm[key], emb.loc[adata.obs[col]].to_numpy())
    assert "normalization" not in adata.uns
    assert adata.uns["pairing"]["n_pairs"] == 6 and adata.uns["pairing"]["n_proteins"] == 6


def test_normalization_counts_each_protein_once() -> None:
    emb = embeddings()
    adata = pair_interactions(emb, hub_interactions(), clip=None)
    proteins = emb.loc[["HUB", "P1", "P2", "P3", "P4", "P5"]]  # LONELY is in no pair: not used
    mean, std = per_protein_stats(proteins)
    norm = adata.uns["normalization"]
    np.testing.assert_allclose(norm["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(norm["std"], std, rtol=1e-6)
    assert norm["n_proteins"] == 6 and norm["clip"] == np.inf

    # the statistics of the stacked pair rows (HUB 5 times) differ: that would be the wrong thing
    stacked = np.vstack([emb.loc[adata.obs["source_id"]].to_numpy(), emb.loc[adata.obs["target_id"]].to_numpy()])
    assert not np.allclose(norm["mean"], stacked.mean(axis=0), rtol=1e-2)

    expected = (emb.to_numpy(dtype=np.float64) - mean) / std
    expected = pd.DataFrame(expected, index=emb.index)
    np.testing.assert_allclose(adata.obsm["source"], expected.loc[adata.obs["source_id"]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(adata.obsm["target"], expected.loc[adata.obs["target_id"]], rtol=1e-5, atol=1e-5)


def test_clipping() -> None:
    emb = embeddings()
    adata = pair_interactions(emb, hub_interactions(), clip=1.0)
    free = pair_interactions(emb, hub_interactions(), clip=None)
    assert np.abs(free.obsm["source"]).max() > 1.0
    for key in ("source", "target"):
        np.testing.assert_array_equal(adata.obsm[key], np.clip(free.obsm[key], -1.0, 1.0))
    assert np.all(adata.obsm["source"][:5] == 1.0)  # HUB sits > 1 std above the others everywhere
    assert adata.uns["normalization"]["clip"] == 1.0 and adata.uns["pairing"]["params"]["clip"] == 1.0
    # default: clip at 10, which these 6 proteins never reach
    default = pair_interactions(emb, hub_interactions())
    assert default.uns["normalization"]["clip"] == 10.0
    assert np.abs(default.obsm["source"]).max() < 10.0


def test_duplicates_and_missing_embeddings() -> None:
    emb = embeddings()
    table = pd.concat(
        [
            hub_interactions(),
            pd.DataFrame(
                {
                    "source": ["HUB", "P1", "GHOST", "P3", None, "HUB", "P2"],
                    "target": ["P1", "P2", "P1", "NOBODY", "P4", "P1", "P1"],  # P2-P1: reverse pair, kept
                }
            ),
        ],
        ignore_index=True,
    )
    with pytest.warns(UserWarning, match=r"dropped 3 of 13 interactions .*GHOST.*NOBODY"):
        adata = pair_interactions(emb, table)
    info = adata.uns["pairing"]
    assert info["n_input"] == 13
    assert info["n_duplicates"] == 3  # HUB-P1 twice more, P1-P2 once more
    assert info["n_missing_embedding"] == 3  # GHOST, NOBODY, missing id
    assert info["n_pairs"] == 7
    assert info["n_input"] == info["n_duplicates"] + info["n_missing_embedding"] + info["n_pairs"]
    assert adata.obs_names.is_unique and "P2_P1" in adata.obs_names
    # the first row of a duplicated pair is the one kept
    assert adata.obs.loc["HUB_P1", "source_genesymbol"] == "H"


def test_no_overlap_shows_examples() -> None:
    emb = embeddings()
    table = pd.DataFrame({"source": ["TGFB1", "EGF", "IFNG", "IL6"], "target": ["TGFBR2", "EGFR", "IFNGR1", "IL6R"]})
    with pytest.raises(ValueError) as err:
        pair_interactions(emb, table)
    message = str(err.value)
    assert "no overlap" in message
    for example in ("TGFB1", "EGF", "IFNG", "HUB", "P1", "P2"):
        assert repr(example) in message


def test_errors() -> None:
    emb = embeddings()
    with pytest.raises(KeyError) as err:
        pair_interactions(emb, hub_interactions(), source_col="ligand")
    assert "'ligand'" in str(err.value) and "available" in str(err.value) and "'source_genesymbol'" in str(err.value)
    with pytest.raises(ValueError, match="both partners"):
        pair_interactions(emb, pd.DataFrame({"source": ["HUB"], "target": ["GHOST"]}))
    duplicated = pd.concat([emb, emb.iloc[:1]])
    with pytest.raises(ValueError, match=r"unique.*\['HUB'\]"):
        pair_interactions(duplicated, hub_interactions())
    with pytest.raises(ValueError, match="clip"):
        pair_interactions(emb, hub_interactions(), clip=-1)


def test_non_scalar_columns_dropped() -> None:
    table = hub_interactions()
    table["references"] = [["PMID:1"], [], ["PMID:2", "PMID:3"], [], [], []]
    table["curation"] = pd.Series([1, None, 2, None, 3, 4], dtype=object)
    adata = pair_interactions(embeddings(), table)
    assert "references" not in adata.obs and list(adata.uns["pairing"]["dropped_columns"]) == ["references"]
    assert adata.obs["curation"].isna().sum() == 2 and adata.obs["curation"].iloc[0] == 1


def test_h5ad_roundtrip_and_proteins(tmp_path: Path) -> None:
    emb = embeddings()
    table = hub_interactions()
    table.loc[2, "target_genesymbol"] = None
    adata = pair_interactions(emb, table)
    path = tmp_path / "pairs.h5ad"
    adata.write_h5ad(path)
    back = anndata.read_h5ad(path)

    assert back.shape == adata.shape
    for key in ("source", "target"):
        np.testing.assert_array_equal(back.obsm[key], adata.obsm[key])
    assert back.obs["source_id"].tolist() == adata.obs["source_id"].tolist()
    assert back.obs["target_genesymbol"].isna().sum() == 1
    for key in ("mean", "std"):
        np.testing.assert_array_equal(back.uns["normalization"][key], adata.uns["normalization"][key])
    assert back.uns["pairing"]["n_pairs"] == 6 and back.uns["pairing"]["params"]["normalize"]

    proteins = interaction_proteins(back)
    pd.testing.assert_frame_equal(proteins, interaction_proteins(adata))
    assert list(proteins.index) == sorted(["HUB", "P1", "P2", "P3", "P4", "P5"])
    assert proteins.index.name == "protein_id" and proteins.columns.equals(pd.RangeIndex(DIM))
    np.testing.assert_array_equal(proteins.to_numpy(), emb.loc[proteins.index].to_numpy())  # raw values
    info = back.uns["proteins"]
    assert info.loc["HUB", "role"] == "source" and info.loc["HUB", "degree"] == 5
    assert info.loc["P1", "role"] == "both" and info.loc["P1", "degree"] == 2
    assert info.loc["P3", "role"] == "target" and info.loc["P3", "degree"] == 1

    # a held-out evaluation: statistics from training proteins only, applied to the rest
    train = proteins.loc[["HUB", "P1", "P2", "P3"]]
    _, mean, std = normalize_embeddings(train)
    test_values, _, _ = normalize_embeddings(proteins.loc[["P4", "P5"]], mean=mean, std=std)
    expected = (emb.loc[["P4", "P5"]].to_numpy(dtype=np.float64) - mean) / std
    np.testing.assert_allclose(test_values, np.clip(expected, -10, 10), rtol=1e-5, atol=1e-5)

    with pytest.raises(KeyError, match="pair_interactions"):
        interaction_proteins(anndata.AnnData(np.zeros((2, 1), dtype=np.float32)))


def test_from_loaders(tmp_path: Path) -> None:
    """End to end with the real layouts: per-protein h5 + csv of pairs -> paired AnnData."""
    rng = np.random.default_rng(3)
    accessions = ["P01137", "P37173", "P01133", "P00533"]
    with h5py.File(tmp_path / "per-protein.h5", "w") as handle:
        for accession in accessions:
            handle.create_dataset(accession, data=rng.normal(size=1024).astype(np.float16))
    pd.DataFrame(
        {"source": ["P01137", "P01133", "COMPLEX:P36897_P37173"], "target": ["P37173", "P00533", "P01137"]}
    ).to_csv(tmp_path / "pairs.csv", index=False)

    emb = read_prott5_h5(tmp_path / "per-protein.h5")
    with pytest.warns(UserWarning, match="complex"):
        pairs = read_interactions(tmp_path / "pairs.csv")
    adata = pair_interactions(emb, pairs)
    assert adata.obsm["source"].shape == (2, 1024)
    assert list(adata.obs_names) == ["P01137_P37173", "P01133_P00533"]
    pd.testing.assert_frame_equal(interaction_proteins(adata), emb.loc[sorted(accessions)].rename_axis("protein_id"))
