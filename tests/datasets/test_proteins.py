"""Protein-interaction loaders: UniProt per-protein ProtT5 h5, UniProt FASTA, OmniPath and local tables.

Fixtures are tiny files written in the real layouts (see shared/formats/README.md): one dataset per
accession at the root of the h5 file, ``>sp|P12345|NAME_HUMAN ...`` FASTA headers, and OmniPath
frames with the client's columns. OmniPath is never contacted: only the client's ``get`` is
replaced.
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from bioinfo_mi.datasets import (
    PROTT5_HUMAN_URL,
    load_interactions,
    read_interactions,
    read_prott5_h5,
    read_uniprot_fasta,
)

DIM = 1024
ACCESSIONS = ["P01137", "P37173", "A0A024R1R8", "P00533", "P01133"]  # not sorted: HDF5 sorts them


def embedding_values(n: int = len(ACCESSIONS), dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def write_h5(path: Path, entries: dict[str, np.ndarray], dtype: type = np.float32) -> Path:
    """UniProt's per-protein layout: one 1-D dataset per accession at the root."""
    with h5py.File(path, "w") as handle:
        for name, values in entries.items():
            handle.create_dataset(name, data=np.asarray(values, dtype=dtype))
    return path


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    """``records``: (header without '>', sequence); sequences wrapped at 60 residues as UniProt does."""
    lines = []
    for header, sequence in records:
        lines.append(f">{header}")
        lines.extend(sequence[i : i + 60] for i in range(0, len(sequence), 60))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def h5_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    values = embedding_values()
    return write_h5(tmp_path / "per-protein.h5", dict(zip(ACCESSIONS, values, strict=True))), values


# ---------------------------------------------------------------------------------------------
# per-protein h5
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [np.float16, np.float32])
def test_read_prott5_roundtrip(tmp_path: Path, stored: type) -> None:
    values = embedding_values().astype(stored)
    path = write_h5(tmp_path / "per-protein.h5", dict(zip(ACCESSIONS, values, strict=True)), dtype=stored)
    frame = read_prott5_h5(path)

    assert frame.index.name == "accession"
    assert list(frame.index) == sorted(ACCESSIONS)  # HDF5 lists root links alphabetically
    assert frame.shape == (len(ACCESSIONS), DIM)
    assert frame.columns.equals(pd.RangeIndex(DIM))
    assert (frame.dtypes == np.float32).all()
    expected = pd.DataFrame(values.astype(np.float32), index=ACCESSIONS).loc[frame.index]
    np.testing.assert_array_equal(frame.to_numpy(), expected.to_numpy())  # float16 -> float32 is exact
    assert frame.attrs["prott5"]["n_in_file"] == frame.attrs["prott5"]["n_proteins"] == len(ACCESSIONS)

    as64 = read_prott5_h5(path, dtype=np.float64)
    assert (as64.dtypes == np.float64).all()
    np.testing.assert_array_equal(as64.to_numpy(), expected.to_numpy().astype(np.float64))


def test_read_uniprot_fasta(tmp_path: Path) -> None:
    path = write_fasta(
        tmp_path / "UP000005640_9606.fasta",
        [
            ("sp|P01137|TGFB1_HUMAN Transforming growth factor beta-1 proprotein OS=Homo sapiens OX=9606", "M" * 130),
            ("tr|A0A024R1R8|A0A024R1R8_HUMAN Uncharacterized protein OS=Homo sapiens", "MKW"),
            ("Q9XYZ1 custom entry without bars", "ACDE"),
        ],
    )
    table = read_uniprot_fasta(path)
    assert table.index.name == "accession"
    assert list(table.index) == ["P01137", "A0A024R1R8", "Q9XYZ1"]
    assert list(table.columns) == ["entry_name", "description", "length", "sequence"]
    assert table.loc["P01137", "entry_name"] == "TGFB1_HUMAN"
    assert table.loc["P01137", "description"].startswith("Transforming growth factor beta-1")
    assert table.loc["Q9XYZ1", "entry_name"] == "" and table.loc["Q9XYZ1", "description"] == "custom entry without bars"
    assert table["length"].tolist() == [130, 3, 4] and table["length"].dtype == np.int64
    assert table.loc["P01137", "sequence"] == "M" * 130  # wrapped lines joined


def test_fasta_length_filter(h5_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, values = h5_file
    # P37173 is longer than 12 000 residues, P01133 is absent from the FASTA
    records = [
        ("sp|P01137|TGFB1_HUMAN TGF-beta-1", "A" * 390),
        ("sp|P37173|TGFR2_HUMAN too long for the paper", "A" * 12001),
        ("tr|A0A024R1R8|A0A024R1R8_HUMAN", "A" * 12000),  # exactly at the limit: kept
        ("sp|P00533|EGFR_HUMAN EGFR", "A" * 1210),
    ]
    fasta = write_fasta(tmp_path / "proteome.fasta", records)

    with pytest.warns(UserWarning, match=r"1 of 5 proteins .* not in the FASTA"):
        frame = read_prott5_h5(path, fasta=fasta)
    assert sorted(frame.index) == sorted(["P01137", "A0A024R1R8", "P00533", "P01133"])
    info = frame.attrs["prott5"]
    assert info["n_too_long"] == 1 and info["n_without_sequence"] == 1 and info["n_proteins"] == 4
    row = ACCESSIONS.index("P00533")
    np.testing.assert_array_equal(frame.loc["P00533"].to_numpy(), values[row])

    strict = read_prott5_h5(path, fasta=fasta, require_sequence=True)  # no warning: dropped on request
    assert sorted(strict.index) == sorted(["P01137", "A0A024R1R8", "P00533"])

    with pytest.warns(UserWarning):
        loose = read_prott5_h5(path, fasta=fasta, max_length=None)
    assert "P37173" in loose.index and loose.attrs["prott5"]["n_too_long"] == 0
    with pytest.warns(UserWarning):
        short = read_prott5_h5(path, fasta=fasta, max_length=400)
    assert sorted(short.index) == ["P01133", "P01137"]


# ---------------------------------------------------------------------------------------------
# h5 errors
# ---------------------------------------------------------------------------------------------


def test_missing_h5_names_path_and_download(tmp_path: Path) -> None:
    missing = tmp_path / "per-protein.h5"
    with pytest.raises(FileNotFoundError) as err:
        read_prott5_h5(missing)
    message = str(err.value)
    assert str(missing) in message and PROTT5_HUMAN_URL in message and "uniprot.org" in message


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "per-protein.h5"
    path.write_text("accession,0,1\nP01137,0.1,0.2\n")
    with pytest.raises(ValueError, match=r"path: .*not an HDF5 file"):
        read_prott5_h5(path)


def test_groups_instead_of_datasets(tmp_path: Path) -> None:
    path = tmp_path / "per-residue.h5"
    with h5py.File(path, "w") as handle:
        handle.create_group("P01137").create_dataset("embedding", data=np.zeros(DIM, dtype=np.float32))
    with pytest.raises(ValueError, match=r"path: .*'P01137' is a group.*one 1-D numeric dataset per protein"):
        read_prott5_h5(path)


def test_inconsistent_lengths(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "e.h5", {"P01137": np.zeros(DIM), "P37173": np.zeros(DIM - 1)})
    with pytest.raises(ValueError, match=rf"path: .*different lengths.*{DIM}.*'P37173' has {DIM - 1}"):
        read_prott5_h5(path)


def test_not_one_dimensional(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "e.h5", {"P01137": np.zeros((7, DIM))})  # a per-residue matrix
    with pytest.raises(ValueError, match=rf"path: .*'P01137' has shape \(7, {DIM}\).*1-D"):
        read_prott5_h5(path)


def test_no_datasets(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "e.h5", {})
    with pytest.raises(ValueError, match=r"path: .*contains no dataset"):
        read_prott5_h5(path)


def test_fasta_errors(h5_file: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = h5_file
    with pytest.raises(FileNotFoundError, match="fasta: .*nowhere.fasta"):
        read_prott5_h5(path, fasta=tmp_path / "nowhere.fasta")
    not_fasta = tmp_path / "table.fasta"
    not_fasta.write_text("accession,length\nP01137,390\n")
    with pytest.raises(ValueError, match="fasta: .*table.fasta' is not a FASTA file"):
        read_prott5_h5(path, fasta=not_fasta)
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    with pytest.raises(ValueError, match="fasta: .*empty.fasta' holds no FASTA record"):
        read_prott5_h5(path, fasta=empty)
    twice = write_fasta(tmp_path / "twice.fasta", [("sp|P01137|A", "M"), ("tr|P01137|B", "MM")])
    with pytest.raises(ValueError, match=r"\['P01137'\] more than once"):
        read_uniprot_fasta(twice)


# ---------------------------------------------------------------------------------------------
# interactions from local tables
# ---------------------------------------------------------------------------------------------


def omnipath_frame() -> pd.DataFrame:
    """A LigRecExtra-like frame (columns and dtypes of the client's output), with complexes."""
    return pd.DataFrame(
        {
            "source": ["P01137", "P01133", "COMPLEX:P36897_P37173", "P01579", "P01137"],
            "target": ["P37173", "P00533", "P01137", "COMPLEX:P15260_P38484", "P36897"],
            "is_directed": [True, True, True, True, True],
            "is_stimulation": [True, True, False, True, False],
            "is_inhibition": [False, False, False, False, False],
            "consensus_direction": [True, True, True, True, True],
            "curation_effort": [0, 0, 0, 0, 0],
            "sources": ["CellPhoneDB;Guide2Pharma", "CellChatDB", "CellPhoneDB", "Baccin2019", "ICELLNET"],
            "n_sources": [2, 1, 1, 1, 1],
            "source_genesymbol": ["TGFB1", "EGF", "TGFBR1_TGFBR2", "IFNG", "TGFB1"],
            "target_genesymbol": ["TGFBR2", "EGFR", "TGFB1", "IFNGR1_IFNGR2", "TGFBR1"],
        }
    )


def test_read_interactions_paths_and_frames(tmp_path: Path) -> None:
    table = pd.DataFrame({"ligand": ["P01137", " P01133 "], "receptor": ["P37173", "P00533"], "score": [0.9, 0.4]})
    csv = tmp_path / "pairs.csv"
    table.to_csv(csv, index=False)
    tsv = tmp_path / "pairs.tsv"
    table.to_csv(tsv, index=False, sep="\t")
    txt = tmp_path / "pairs.txt"
    table.to_csv(txt, index=False, sep=";")

    for source in (csv, tsv, txt, str(csv), table):
        frame = read_interactions(source, source_col="ligand", target_col="receptor")
        assert list(frame.columns) == ["source", "target", "score"]
        assert frame["source"].tolist() == ["P01137", "P01133"]  # whitespace stripped
        assert frame["target"].tolist() == ["P37173", "P00533"]
        np.testing.assert_allclose(frame["score"], [0.9, 0.4])
    assert list(table.columns) == ["ligand", "receptor", "score"]  # input untouched


def test_read_interactions_drops_complexes(tmp_path: Path) -> None:
    path = tmp_path / "ligrec.csv"
    omnipath_frame().to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"dropped 2 involving a complex .* of 5 interactions; 3 remain"):
        frame = read_interactions(path)
    assert not frame["source"].str.startswith("COMPLEX:").any()
    assert not frame["target"].str.startswith("COMPLEX:").any()
    assert frame["source_genesymbol"].tolist() == ["TGFB1", "EGF", "TGFB1"]
    assert frame.attrs["interactions"]["n_complexes"] == 2 and frame.attrs["interactions"]["n_interactions"] == 3
    kept = read_interactions(path, exclude_complexes=False)
    assert len(kept) == 5


def test_read_interactions_errors(tmp_path: Path) -> None:
    table = pd.DataFrame({"ligand": ["P01137"], "receptor": ["P37173"], "evidence": ["x"]})
    with pytest.raises(KeyError) as err:
        read_interactions(table)
    message = str(err.value)
    assert "['source', 'target']" in message and "available" in message
    assert all(repr(c) in message for c in ("ligand", "receptor", "evidence"))
    with pytest.raises(KeyError, match="'kinase'"):
        read_interactions(table, source_col="kinase", target_col="receptor")
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        read_interactions(tmp_path / "nowhere.csv")


def test_read_interactions_missing_ids(tmp_path: Path) -> None:
    table = pd.DataFrame({"source": ["P01137", None], "target": ["P37173", "P00533"]})
    with pytest.warns(UserWarning, match="1 with a missing partner id"):
        frame = read_interactions(table)
    assert frame["source"].tolist() == ["P01137"]


# ---------------------------------------------------------------------------------------------
# OmniPath client: only its network call is replaced
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def omnipath_client(tmp_path_factory: pytest.TempPathFactory):
    """The real ``omnipath`` package, imported without network access.

    Importing omnipath queries its server (about six requests) unless ``autoload`` is off; the
    environment variable only sets the default, which a saved ``~/.config/omnipathdb.ini``
    overrides, hence the temporary HOME (also where the client writes its config and cache).
    """
    if "omnipath" not in sys.modules:
        patch = pytest.MonkeyPatch()
        patch.setenv("OMNIPATH_AUTOLOAD", "false")
        patch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        try:
            pytest.importorskip("omnipath")
        finally:
            patch.undo()
    return sys.modules["omnipath"]


@pytest.mark.parametrize(("kind", "class_name"), [("ligrec", "LigRecExtra"), ("kinase", "KinaseExtra")])
def test_load_interactions(omnipath_client, monkeypatch: pytest.MonkeyPatch, kind: str, class_name: str) -> None:
    calls: list[dict] = []

    def fake_get(*args, **kwargs) -> pd.DataFrame:
        calls.append(kwargs)
        return omnipath_frame()

    monkeypatch.setattr(getattr(omnipath_client.interactions, class_name), "get", fake_get)
    with pytest.warns(UserWarning, match="dropped 2 involving a complex"):
        frame = load_interactions(kind, omnipath_kwds={"organism": 9606})
    assert calls == [{"organism": 9606}]
    assert frame[["source", "target"]].values.tolist() == [
        ["P01137", "P37173"],
        ["P01133", "P00533"],
        ["P01137", "P36897"],
    ]
    assert list(frame.columns[:2]) == ["source", "target"]
    assert {"source_genesymbol", "target_genesymbol", "is_stimulation", "sources"} <= set(frame.columns)
    assert frame.attrs["interactions"]["origin"] == f"omnipath.interactions.{class_name}"
    assert frame.attrs["interactions"]["n_complexes"] == 2

    monkeypatch.setattr(getattr(omnipath_client.interactions, class_name), "get", lambda **_: omnipath_frame())
    assert len(load_interactions(kind, exclude_complexes=False)) == 5


@pytest.mark.parametrize("error", [RuntimeError("No active exception to reraise"), OSError("Name or service unknown")])
def test_load_interactions_offline(omnipath_client, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def offline_get(*args, **kwargs):
        raise error

    monkeypatch.setattr(omnipath_client.interactions.LigRecExtra, "get", offline_get)
    with pytest.raises(ConnectionError) as err:
        load_interactions("ligrec")
    message = str(err.value)
    assert "OmniPath is unreachable" in message and "read_interactions(" in message
    assert "source_col=" in message and "target_col=" in message
    assert err.value.__cause__ is error


def test_load_interactions_bad_kind() -> None:
    with pytest.raises(ValueError, match=r"interaction_type must be one of \['ligrec', 'kinase'\]"):
        load_interactions("ppi")


def test_load_interactions_without_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "omnipath", None)  # makes `import omnipath` raise ImportError
    with pytest.raises(ImportError, match="pip install omnipath"):
        load_interactions("kinase")


# ---------------------------------------------------------------------------------------------
# liana's bundled ligand-receptor resource (offline route of load_interactions)
# ---------------------------------------------------------------------------------------------

# the first lines of liana/resource/omni_resource.csv as liana ships it (written from R: an unnamed,
# quoted row-index column; complexes as COMPLEX:P1_P2 with "_"-joined gene symbols)
LIANA_CSV = """"","source","target","source_genesymbol","target_genesymbol","resource"
"1","O00182","P08575","LGALS9","PTPRC","consensus"
"2","O14511","COMPLEX:P04626_P21860","NRG2","ERBB2_ERBB3","consensus"
"3","P01375","P19438","TNF","TNFRSF1A","consensus"
"4","P05231","COMPLEX:P08887_P40189","IL6","IL6R_IL6ST","consensus"
"5","P01375","P20333","TNF","TNFRSF1B","cellphonedb"
"6","P0C0L5","P20023","C4B_2","CR2","italk"
"""


@pytest.fixture
def fake_liana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "site" / "liana"
    (package / "resource").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "resource" / "__init__.py").write_text("")
    (package / "resource" / "omni_resource.csv").write_text(LIANA_CSV)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "liana" or m.startswith("liana.")]:
        monkeypatch.delitem(sys.modules, name)
    return package


def test_load_interactions_from_liana_offline(fake_liana: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "omnipath", None)  # the OmniPath client is never imported
    with pytest.warns(UserWarning, match="dropped 2 involving a complex"):
        frame = load_interactions("ligrec", source="liana")
    assert frame[["source", "target"]].values.tolist() == [["O00182", "P08575"], ["P01375", "P19438"]]
    assert list(frame.columns) == ["source", "target", "source_genesymbol", "target_genesymbol", "resource"]
    assert frame.attrs["interactions"]["n_input"] == 4 and frame.attrs["interactions"]["n_complexes"] == 2
    kept = load_interactions("ligrec", source="liana", exclude_complexes=False)
    assert kept.target.tolist()[1] == "COMPLEX:P04626_P21860" and len(kept) == 4  # as the OmniPath route
    other = load_interactions("ligrec", source="liana", resource="cellphonedb")
    assert other.source_genesymbol.tolist() == ["TNF"]
    with pytest.raises(ValueError, match="resource 'nope' is not in liana.*'cellphonedb', 'consensus', 'italk'"):
        load_interactions("ligrec", source="liana", resource="nope")
    with pytest.raises(ValueError, match="kinase-substrate interactions come from OmniPath only"):
        load_interactions("kinase", source="liana")
    with pytest.raises(ValueError, match="source must be 'omnipath' or 'liana'"):
        load_interactions("ligrec", source="cellphonedb")
    with pytest.raises(ValueError, match="omnipath_kwds: source='liana' takes no OmniPath query options"):
        load_interactions("ligrec", source="liana", omnipath_kwds={"organism": 9606})


def test_load_interactions_old_and_misspelled_names_are_plain_type_errors() -> None:
    """The variant is ``interaction_type`` and OmniPath options go in ``omnipath_kwds``: nothing else is accepted."""
    for kwargs in ({"kind": "ligrec"}, {"organism": 9606}, {"query": {"organism": 9606}}):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            load_interactions(**kwargs)
    with pytest.raises(TypeError, match="omnipath_kwds must be a mapping"):
        load_interactions("ligrec", omnipath_kwds=[("organism", 9606)])


def test_load_interactions_from_liana_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "liana", None)
    with pytest.raises(ImportError, match="pip install liana"):
        load_interactions("ligrec", source="liana")


# ---------------------------------------------------------------------------------------------
# download_prott5 (pooch.retrieve mocked; no network)
# ---------------------------------------------------------------------------------------------


def test_download_prott5_proteomes_and_layout(tmp_path: Path, fake_pooch) -> None:
    from bioinfo_mi.datasets import download_prott5, read_prott5_h5
    from bioinfo_mi.datasets.proteins import PROTT5_BASE_URL

    entries = {"P12345": np.arange(4.0), "Q67890": np.ones(4)}
    calls = fake_pooch(lambda target: write_h5(target, entries, np.float16))
    path = download_prott5(tmp_path)  # human by default
    assert calls[0]["url"] == f"{PROTT5_BASE_URL}/UP000005640_9606/per-protein.h5" == PROTT5_HUMAN_URL
    assert path == tmp_path / "prott5_UP000005640_9606_per-protein.h5"
    assert read_prott5_h5(path).shape == (2, 4)
    for proteome, folder in [
        ("UP000000589", "UP000000589_10090"),
        ("mouse", "UP000000589_10090"),
        ("UP000006548_3702", "UP000006548_3702"),
        ("swissprot", "uniprot_sprot"),
    ]:
        download_prott5(tmp_path, proteome=proteome)
        assert calls[-1]["url"] == f"{PROTT5_BASE_URL}/{folder}/per-protein.h5"
    with pytest.raises(ValueError, match="proteome 'UP000999999'.*'UP<id>_<taxon id>'"):
        download_prott5(tmp_path, proteome="UP000999999")  # unknown ID without its taxon
    assert calls[-1]["progressbar"] is False
    download_prott5(tmp_path, progress=True)
    assert calls[-1]["progressbar"] is True
    with pytest.raises(TypeError, match="unexpected keyword argument 'progressbar'"):
        download_prott5(tmp_path, progressbar=True)


def test_download_prott5_checks_the_file_and_reports_failures(tmp_path: Path, fake_pooch) -> None:
    from bioinfo_mi.datasets import download_prott5

    def per_residue(target: Path) -> None:  # a group per protein: the per-residue layout
        with h5py.File(target, "w") as handle:
            handle.create_group("P12345").create_dataset("emb", data=np.ones((3, 4)))

    fake_pooch(per_residue)
    with pytest.raises(ValueError, match="not in UniProt's per-protein layout"):
        download_prott5(tmp_path)
    fake_pooch(per_residue, fail_on="per-protein.h5")
    with pytest.raises(OSError, match=r"downloading https://.*UP000000589_10090/per-protein.h5 failed.*base_url="):
        download_prott5(tmp_path / "other", proteome="mouse")
