"""Tests for the LARRY loader (three experiments) on tiny files written in the published layouts."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

from bioinfo_mi.datasets import LARRY_BASE_URL, LARRY_FILES, download_larry, larry_files, read_larry
from bioinfo_mi.datasets.larry import METADATA_COLUMNS, _read_gene_names, _read_pseudotime

REAL_DIR = Path("/work/shared/formats/larry")
PREFIX = "stateFate_inVitro_"

N_CELLS, N_GENES, N_CLONES = 12, 6, 4
GENES = ["Gata1", "Mpo", "Elane", "Gata1", "Actb", "mt-Nd1"]  # one repeated symbol
# (cell, clone column) pairs; cell 4 carries two barcodes, listed with the higher column first
# so "first clone" must mean the lowest column, not file order. Cells 2, 6, 9 have no clone.
CLONE_ENTRIES = [(0, 0), (1, 0), (3, 1), (4, 3), (4, 1), (5, 2), (7, 2), (8, 3), (10, 3), (11, 0)]
EXPECTED_CLONE = {0: 0, 1: 0, 3: 1, 4: 1, 5: 2, 7: 2, 8: 3, 10: 3, 11: 0}
UNASSIGNED = [2, 6, 9]
TIMES = [2.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0, 6.0, 6.0, 6.0, 6.0]
WELLS = [0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2]
CELL_TYPES = ["Undifferentiated"] * 4 + ["Monocyte", "Neutrophil"] * 4
# pseudotime for a subset of the original rows, including unassigned cells 2 and 9
PSEUDOTIME = {2: 100, 3: 200, 5: 300, 9: 400, 11: 500}


def counts_matrix() -> np.ndarray:
    cells, genes = np.meshgrid(np.arange(N_CELLS), np.arange(N_GENES), indexing="ij")
    values = (10 * cells + genes + 0.5).astype(np.float64)
    values[(cells + genes) % 3 == 0] = 0.0  # sparse like real counts
    return values


def metadata_table(n_cells: int = N_CELLS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Library": [f"d{int(t)}_lib{i % 2}" for i, t in enumerate(TIMES)],
            "Cell barcode": [f"AAAC-{i:03d}" for i in range(N_CELLS)],
            "Time point": TIMES,
            "Starting population": ["Lin-Kit+Sca1+" if i % 2 else "Lin-Kit+" for i in range(N_CELLS)],
            "Cell type annotation": CELL_TYPES,
            "Well": WELLS,
            "SPRING-x": [1.5 * i for i in range(N_CELLS)],
            "SPRING-y": [-float(i) for i in range(N_CELLS)],
        }
    ).iloc[:n_cells]


def _gzip_file(path: Path) -> None:
    with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()


def write_larry(
    folder: Path,
    *,
    gz: bool = False,
    with_pseudotime: bool = True,
    metadata: pd.DataFrame | None = None,
    clones: sp.spmatrix | None = None,
    genes: list[str] | None = None,
    prefix: str = PREFIX,
) -> Path:
    """Write the five LARRY files (optionally gzipped) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.mmwrite(str(folder / f"{prefix}normed_counts.mtx"), sp.coo_matrix(counts_matrix()))
    if clones is None:
        rows, cols = zip(*CLONE_ENTRIES, strict=True)
        clones = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(N_CELLS, N_CLONES))
    scipy.io.mmwrite(str(folder / f"{prefix}clone_matrix.mtx"), sp.coo_matrix(clones))
    (folder / f"{prefix}gene_names.txt").write_text("\n".join(GENES if genes is None else genes) + "\n")
    meta = metadata_table() if metadata is None else metadata
    meta.to_csv(folder / f"{prefix}metadata.txt", sep="\t", index=False)
    if with_pseudotime:
        lines = ["Cell index\tpseudotime"] + [f"{i}\t{v}" for i, v in PSEUDOTIME.items()]
        (folder / f"{prefix}neutrophil_pseudotime.txt").write_text("\n".join(lines) + "\n")
    if gz:
        for path in list(folder.iterdir()):
            _gzip_file(path)
    return folder


@pytest.fixture
def larry_dir(tmp_path: Path) -> Path:
    return write_larry(tmp_path / "larry")


# ---------------------------------------------------------------------------------------------
# full loader
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_read_all_cells(tmp_path: Path, gz: bool) -> None:
    folder = write_larry(tmp_path / "d", gz=gz)
    adata = read_larry(folder, drop_unassigned=False)

    assert isinstance(adata, anndata.AnnData)
    assert adata.shape == (N_CELLS, N_GENES)
    assert sp.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    np.testing.assert_allclose(adata.X.toarray(), counts_matrix().astype(np.float32))
    assert list(adata.obs_names) == [str(i) for i in range(N_CELLS)]
    assert list(adata.var_names) == ["Gata1", "Mpo", "Elane", "Gata1-1", "Actb", "mt-Nd1"]
    assert adata.var_names.is_unique

    obs = adata.obs
    for cell in range(N_CELLS):
        label = obs["clone"].iloc[cell]
        if cell in UNASSIGNED:
            assert pd.isna(label)
        else:
            assert label == f"clone_{EXPECTED_CLONE[cell]}"
    assert obs["n_clone_barcodes"].tolist() == [1, 1, 0, 1, 2, 1, 0, 1, 1, 0, 1, 1]
    assert obs["time"].dtype == np.float64 and obs["time"].tolist() == TIMES
    assert obs["time_info"].tolist() == [str(int(t)) for t in TIMES]
    assert obs["well"].dtype == np.int64 and obs["well"].tolist() == WELLS
    assert isinstance(obs["cell_type"].dtype, pd.CategoricalDtype)
    assert obs["cell_type"].astype(str).tolist() == CELL_TYPES
    meta = metadata_table()
    assert obs["library"].astype(str).tolist() == meta["Library"].tolist()
    assert obs["barcode"].tolist() == meta["Cell barcode"].tolist()
    assert obs["starting_population"].astype(str).tolist() == meta["Starting population"].tolist()

    expected_pt = np.array([PSEUDOTIME.get(i, np.nan) for i in range(N_CELLS)], dtype=float)
    np.testing.assert_array_equal(obs["neutrophil_pseudotime"].to_numpy(), expected_pt)

    np.testing.assert_allclose(adata.obsm["X_spring"], meta[["SPRING-x", "SPRING-y"]].to_numpy())
    x_clone = adata.obsm["X_clone"]
    assert sp.isspmatrix_csr(x_clone) and x_clone.shape == (N_CELLS, N_CLONES)
    dense = x_clone.toarray()
    assert set(np.unique(dense)) <= {0.0, 1.0}
    for cell, clone in CLONE_ENTRIES:
        assert dense[cell, clone] == 1.0
    assert dense.sum() == len(CLONE_ENTRIES)

    info = adata.uns["larry"]
    ext_mtx, ext_txt = (".mtx.gz", ".txt.gz") if gz else (".mtx", ".txt")
    assert info["files"] == {
        "normed_counts": f"{PREFIX}normed_counts{ext_mtx}",
        "metadata": f"{PREFIX}metadata{ext_txt}",
        "clone_matrix": f"{PREFIX}clone_matrix{ext_mtx}",
        "gene_names": f"{PREFIX}gene_names{ext_txt}",
        "neutrophil_pseudotime": f"{PREFIX}neutrophil_pseudotime{ext_txt}",
    }
    assert info["n_cells_total"] == N_CELLS and info["n_clones"] == N_CLONES
    assert info["drop_unassigned"] is False and info["uppercase_genes"] is False


def test_drop_unassigned_keeps_alignment(larry_dir: Path) -> None:
    full = read_larry(larry_dir, drop_unassigned=False)
    adata = read_larry(larry_dir)  # drop_unassigned=True by default
    kept = [i for i in range(N_CELLS) if i not in UNASSIGNED]

    assert adata.n_obs == len(kept)
    assert list(adata.obs_names) == [str(i) for i in kept]
    assert adata.obs["clone"].notna().all()
    assert adata.obs["clone"].tolist() == [f"clone_{EXPECTED_CLONE[i]}" for i in kept]
    # pseudotime follows original row indices: cells 2 and 9 are gone, 3/5/11 keep their values
    expected_pt = np.array([PSEUDOTIME.get(i, np.nan) for i in kept], dtype=float)
    np.testing.assert_array_equal(adata.obs["neutrophil_pseudotime"].to_numpy(), expected_pt)
    assert adata.obs.loc["11", "neutrophil_pseudotime"] == 500
    # every per-cell field stays on its cell
    np.testing.assert_array_equal(adata.X.toarray(), full[kept].X.toarray())
    np.testing.assert_array_equal(adata.obsm["X_spring"], full.obsm["X_spring"][kept])
    np.testing.assert_array_equal(adata.obsm["X_clone"].toarray(), full.obsm["X_clone"].toarray()[kept])
    pd.testing.assert_frame_equal(adata.obs, full.obs.iloc[kept])
    assert adata.obsm["X_clone"].shape[1] == N_CLONES
    assert adata.uns["larry"]["drop_unassigned"] is True


def test_uppercase_genes(larry_dir: Path) -> None:
    adata = read_larry(larry_dir, uppercase_genes=True)
    assert list(adata.var_names) == ["GATA1", "MPO", "ELANE", "GATA1-1", "ACTB", "MT-ND1"]
    assert adata.uns["larry"]["uppercase_genes"] is True


def test_pseudotime_optional(tmp_path: Path) -> None:
    adata = read_larry(write_larry(tmp_path / "d", with_pseudotime=False), drop_unassigned=False)
    assert adata.obs["neutrophil_pseudotime"].isna().all()
    assert adata.uns["larry"]["files"]["neutrophil_pseudotime"] == ""


def test_mixed_plain_and_gz(tmp_path: Path) -> None:
    folder = write_larry(tmp_path / "d")
    _gzip_file(folder / f"{PREFIX}metadata.txt")
    _gzip_file(folder / f"{PREFIX}clone_matrix.mtx")
    adata = read_larry(folder)
    assert adata.uns["larry"]["files"]["metadata"].endswith(".txt.gz")
    assert adata.uns["larry"]["files"]["normed_counts"].endswith(".mtx")
    assert adata.n_obs == N_CELLS - len(UNASSIGNED)


def test_non_integer_well_is_categorical(tmp_path: Path) -> None:
    meta = metadata_table()
    meta["Well"] = ["A", "B"] * (N_CELLS // 2)
    adata = read_larry(write_larry(tmp_path / "d", metadata=meta), drop_unassigned=False)
    assert isinstance(adata.obs["well"].dtype, pd.CategoricalDtype)
    assert adata.obs["well"].astype(str).tolist() == meta["Well"].tolist()


def test_h5ad_roundtrip(larry_dir: Path, tmp_path: Path) -> None:
    adata = read_larry(larry_dir, drop_unassigned=False)
    out = tmp_path / "larry.h5ad"
    adata.write_h5ad(out)
    back = anndata.read_h5ad(out)
    assert back.obs["clone"].isna().sum() == len(UNASSIGNED)
    assert back.uns["larry"]["files"]["metadata"] == adata.uns["larry"]["files"]["metadata"]
    np.testing.assert_array_equal(back.obsm["X_clone"].toarray(), adata.obsm["X_clone"].toarray())


# ---------------------------------------------------------------------------------------------
# the real files in /work/shared/formats/larry, through the loader's own parsers
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not (REAL_DIR / f"{PREFIX}gene_names.txt").is_file(), reason="real LARRY gene names absent")
def test_real_gene_names() -> None:
    names = _read_gene_names(REAL_DIR / f"{PREFIX}gene_names.txt")
    # 25 289 symbols: the file has no newline after the last one, so `wc -l` reports 25 288
    assert len(names) == 25289
    assert names[0] == "0610006L08Rik" and names[-1] == "mt-Nd6"
    assert all(name and name == name.strip() for name in names)
    assert anndata.utils.make_index_unique(pd.Index(names)).is_unique
    assert anndata.utils.make_index_unique(pd.Index([n.upper() for n in names])).is_unique


@pytest.mark.skipif(
    not (REAL_DIR / f"{PREFIX}neutrophil_pseudotime.txt").is_file(), reason="real LARRY pseudotime absent"
)
def test_real_pseudotime() -> None:
    table = _read_pseudotime(REAL_DIR / f"{PREFIX}neutrophil_pseudotime.txt")
    # 61 310 data rows after the header (no trailing newline, so `wc -l` reports 61 310 lines in all)
    assert len(table) == 61310
    assert table.index.dtype == np.int64 and table.index.is_unique and table.index.min() >= 0
    assert table.index[0] == 0 and table.iloc[0] == 23849
    assert table.index.max() < 131000  # about 130 000 cells in the in-vitro data
    assert np.isfinite(table.to_numpy()).all()


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_larry(tmp_path / "nowhere")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_larry(a_file)


@pytest.mark.parametrize(
    ("filename", "stem"),
    [
        (f"{PREFIX}normed_counts.mtx", "normed_counts"),
        (f"{PREFIX}metadata.txt", "metadata"),
        (f"{PREFIX}clone_matrix.mtx", "clone_matrix"),
        (f"{PREFIX}gene_names.txt", "gene_names"),
    ],
)
def test_missing_required_file(larry_dir: Path, filename: str, stem: str) -> None:
    (larry_dir / filename).unlink()
    with pytest.raises(FileNotFoundError) as err:
        read_larry(larry_dir)
    message = str(err.value)
    assert f"{PREFIX}{stem}" in message  # names the file ...
    assert str(larry_dir) in message  # ... and the folder ...
    assert f"{PREFIX}neutrophil_pseudotime.txt" in message  # ... and lists what is there


def test_metadata_row_mismatch(tmp_path: Path) -> None:
    folder = write_larry(tmp_path / "d", metadata=metadata_table(N_CELLS - 2))
    with pytest.raises(ValueError, match=rf"normed_counts.mtx has {N_CELLS} .*metadata.txt has {N_CELLS - 2}"):
        read_larry(folder)


def test_clone_row_mismatch(tmp_path: Path) -> None:
    clones = sp.coo_matrix((np.ones(2), ([0, 1], [0, 1])), shape=(N_CELLS + 1, N_CLONES))
    folder = write_larry(tmp_path / "d", clones=clones)
    with pytest.raises(ValueError, match=rf"{N_CELLS} cells .*clone_matrix.mtx is {N_CELLS + 1} x {N_CLONES}"):
        read_larry(folder)


def test_gene_count_mismatch(tmp_path: Path) -> None:
    folder = write_larry(tmp_path / "d", genes=GENES[:-1])
    with pytest.raises(ValueError, match=rf"{N_GENES} columns .*lists {N_GENES - 1} gene names"):
        read_larry(folder)


@pytest.mark.parametrize("column", ["Well", "SPRING-x", "Cell type annotation"])
def test_metadata_missing_column(tmp_path: Path, column: str) -> None:
    folder = write_larry(tmp_path / "d", metadata=metadata_table().drop(columns=column))
    with pytest.raises(KeyError) as err:
        read_larry(folder)
    message = str(err.value)
    assert repr(column) in message and "available" in message and "'Library'" in message
    assert column in METADATA_COLUMNS


def test_pseudotime_index_out_of_range(larry_dir: Path) -> None:
    (larry_dir / f"{PREFIX}neutrophil_pseudotime.txt").write_text(f"Cell index\tpseudotime\n0\t1\n{N_CELLS}\t2\n")
    with pytest.raises(ValueError, match=rf"cell indices \[{N_CELLS}\] .*only {N_CELLS} cells"):
        read_larry(larry_dir)


def test_pseudotime_bad_header(larry_dir: Path) -> None:
    (larry_dir / f"{PREFIX}neutrophil_pseudotime.txt").write_text("cell\tvalue\n0\t1\n")
    with pytest.raises(ValueError, match="header"):
        read_larry(larry_dir)


def test_gene_names_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "genes.txt"
    path.write_text("A\n\nB\n\n")
    with pytest.raises(ValueError, match="blank lines"):
        _read_gene_names(path)
    path.write_text("A\nB\n\n")
    assert _read_gene_names(path) == ["A", "B"]


# ---------------------------------------------------------------------------------------------
# download (pooch.retrieve mocked; no network)
# ---------------------------------------------------------------------------------------------


def test_download_larry_uses_pooch(tmp_path: Path, fake_pooch) -> None:
    calls = fake_pooch()
    dest = tmp_path / "data" / "larry"
    out = download_larry(dest)
    assert out == dest and dest.is_dir()
    assert [c["fname"] for c in calls] == list(LARRY_FILES) == list(larry_files("in_vitro"))
    assert all(c["known_hash"] is None and c["path"] == dest for c in calls)
    # the Klein lab's server, as linked from the data's description (AllonKleinLab/paper-data README)
    assert calls[1]["url"] == (
        "https://kleintools.hms.harvard.edu/paper_websites/state_fate2020/stateFate_inVitro_metadata.txt.gz"
    )

    calls.clear()
    download_larry(dest, files=[f"{PREFIX}gene_names.txt.gz"], base_url="https://example.org/mirror/")
    assert calls == [
        {
            "url": f"https://example.org/mirror/{PREFIX}gene_names.txt.gz",
            "known_hash": None,
            "fname": f"{PREFIX}gene_names.txt.gz",
            "path": dest,
            "progressbar": False,
        }
    ]
    # progress= shows pooch's bar; pooch's own name is not an argument here
    calls.clear()
    download_larry(dest, files=[f"{PREFIX}gene_names.txt.gz"], progress=True)
    assert calls[0]["progressbar"] is True
    with pytest.raises(TypeError, match="unexpected keyword argument 'progressbar'"):
        download_larry(dest, progressbar=True)


@pytest.mark.parametrize(
    ("experiment", "prefix"), [("in_vivo", "stateFate_inVivo_"), ("cytokine", "stateFate_cytokinePerturbation_")]
)
def test_download_other_experiments(tmp_path: Path, fake_pooch, experiment: str, prefix: str) -> None:
    calls = fake_pooch()
    download_larry(tmp_path, experiment=experiment)
    names = [c["fname"] for c in calls]
    assert names == [
        f"{prefix}{role}"
        for role in ("normed_counts.mtx.gz", "metadata.txt.gz", "clone_matrix.mtx.gz", "gene_names.txt.gz")
    ]  # no pseudotime outside in vitro
    assert all(c["url"] == f"{LARRY_BASE_URL}/{c['fname']}" for c in calls)


def test_download_failure_names_the_url_and_the_way_out(tmp_path: Path, fake_pooch) -> None:
    calls = fake_pooch(fail_on="clone_matrix.mtx.gz")
    with pytest.raises(OSError) as err:
        download_larry(tmp_path, experiment="in_vivo")
    message = str(err.value)
    assert f"{LARRY_BASE_URL}/stateFate_inVivo_clone_matrix.mtx.gz" in message and "404" in message
    assert "base_url=" in message and "read_larry(folder, experiment='in_vivo')" in message
    assert "stateFate_inVivo_metadata.txt.gz" in message  # what is already there (kept)
    assert len(calls) == 3  # stopped at the failing file
    calls.clear()
    with pytest.raises(ValueError, match="experiment must be one of"):
        download_larry(tmp_path, experiment="invitro")
    assert calls == []


def test_in_vivo_and_cytokine_experiments(tmp_path: Path) -> None:
    """The in-vivo metadata have no Well, Starting population or SPRING columns; the cytokine ones a
    Cytokine condition, and its clone matrix is published clones x cells."""
    vivo_times = [2.0] * 4 + [9.0] * 4 + [16.0] * 4
    vivo = metadata_table().drop(columns=["Well", "Starting population", "SPRING-x", "SPRING-y"])
    vivo["Time point"] = vivo_times
    folder = write_larry(tmp_path / "vivo", metadata=vivo, prefix="stateFate_inVivo_", with_pseudotime=False)
    with pytest.raises(FileNotFoundError, match="experiment='in_vitro'"):
        read_larry(folder)  # in-vitro names are not there
    adata = read_larry(folder, experiment="in_vivo", drop_unassigned=False)
    assert adata.obs["time_info"].tolist() == [str(int(t)) for t in vivo_times]
    assert "well" not in adata.obs and "starting_population" not in adata.obs and "X_spring" not in adata.obsm
    assert adata.obs["neutrophil_pseudotime"].isna().all()
    assert adata.uns["larry"]["experiment"] == "in_vivo" and not adata.uns["larry"]["clone_matrix_transposed"]

    cyto = metadata_table().drop(columns=["Well", "Starting population"])
    cyto["Cytokine condition"] = ["SCF", "EPO", "GM-CSF"] * 4
    rows, cols = zip(*CLONE_ENTRIES, strict=True)
    clones_by_cells = sp.coo_matrix((np.ones(len(rows)), (cols, rows)), shape=(N_CLONES, N_CELLS))
    prefix = "stateFate_cytokinePerturbation_"
    folder = write_larry(tmp_path / "cyto", metadata=cyto, clones=clones_by_cells, prefix=prefix, with_pseudotime=False)
    adata = read_larry(folder, experiment="cytokine")
    assert adata.uns["larry"]["clone_matrix_transposed"]
    assert adata.n_obs == N_CELLS - len(UNASSIGNED) and adata.obsm["X_clone"].shape == (adata.n_obs, N_CLONES)
    assert adata.obs["clone"].tolist() == [f"clone_{EXPECTED_CLONE[c]}" for c in sorted(EXPECTED_CLONE)]
    assert adata.obs["cytokine"].astype(str).tolist() == [cyto["Cytokine condition"][c] for c in sorted(EXPECTED_CLONE)]
    assert "X_spring" in adata.obsm
    with pytest.raises(KeyError, match="'Cytokine condition'.*'cytokine' experiment"):
        write_larry(
            tmp_path / "cyto2", metadata=cyto.drop(columns="Cytokine condition"), prefix=prefix, with_pseudotime=False
        )
        read_larry(tmp_path / "cyto2", experiment="cytokine")
    with pytest.raises(ValueError, match="experiment must be one of"):
        read_larry(folder, experiment="vitro")


def test_download_larry_without_pooch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pooch", None)  # makes `import pooch` raise ImportError
    with pytest.raises(ImportError, match="pip install pooch"):
        download_larry(tmp_path)
