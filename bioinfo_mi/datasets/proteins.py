"""Loaders for the protein-interaction data of the LMI paper (Section 4.1, Appendix A.4.1).

The paper estimates the mutual information between the ProtT5 sequence embeddings of interaction
partners (ligand-receptor and kinase-target pairs annotated in OmniPath). Two inputs are needed:

- per-protein embeddings: UniProt distributes mean-pooled ``prottrans_t5_xl_u50`` embeddings of
  whole proteomes as ``per-protein.h5``; :func:`read_prott5_h5` reads such a file into a table
  (one row per UniProt accession), optionally dropping proteins longer than 12 000 residues, as the
  paper did, using the matching UniProt FASTA (:func:`read_uniprot_fasta`);
- interaction pairs: :func:`load_interactions` queries OmniPath through its python client
  (``pip install omnipath``), or reads the OmniPath-derived ligand-receptor resource that the
  ``liana`` package ships (``source="liana"``, no network); :func:`read_interactions` reads any
  local table with the same information (a saved OmniPath export, or your own list of pairs).

Both interaction functions return the same *standard interaction frame*: columns ``source`` and
``target`` (UniProt accessions, strings) followed by the table's other columns, unchanged. Pairs
are joined with the embeddings by :func:`bioinfo_mi.pp.pair_interactions`, which also applies the
paper's normalisation (unit variance per dimension, clipping at ±10).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "read_prott5_h5",
    "read_uniprot_fasta",
    "load_interactions",
    "read_interactions",
    "download_prott5",
    "PROTT5_HUMAN_URL",
    "PROTT5_BASE_URL",
    "PROTT5_PROTEOMES",
    "UNIPROT_EMBEDDINGS_URL",
]

#: UniProt's page listing the per-protein embedding files of each reference proteome.
UNIPROT_EMBEDDINGS_URL = "https://www.uniprot.org/help/downloads#embeddings"

#: Per-protein ProtT5 embeddings of the human reference proteome (UP000005640, about 20 600 entries).
PROTT5_HUMAN_URL = (
    "https://ftp.uniprot.org/pub/databases/uniprot/current_release/knowledgebase/embeddings/"
    "UP000005640_9606/per-protein.h5"
)

#: Folder of UniProt's embedding files, one sub-folder per reference proteome (``UP..._<taxon>``) and
#: ``uniprot_sprot`` for all of Swiss-Prot, each holding ``per-protein.h5``.
PROTT5_BASE_URL = "https://ftp.uniprot.org/pub/databases/uniprot/current_release/knowledgebase/embeddings"

#: Reference proteomes with embeddings on UniProt's server, by proteome ID (the folder adds the taxon)
#: and by common name.
PROTT5_PROTEOMES: dict[str, str] = {
    "UP000005640": "UP000005640_9606",  # human
    "UP000000589": "UP000000589_10090",  # mouse
    "UP000002494": "UP000002494_10116",  # rat
    "UP000006548": "UP000006548_3702",  # Arabidopsis thaliana
    "UP000001940": "UP000001940_6239",  # Caenorhabditis elegans
    "UP000000625": "UP000000625_83333",  # Escherichia coli K-12
    "UP000464024": "UP000464024_2697049",  # SARS-CoV-2
    "human": "UP000005640_9606",
    "mouse": "UP000000589_10090",
    "rat": "UP000002494_10116",
    "swissprot": "uniprot_sprot",
}

#: Prefix OmniPath gives to protein complexes (``COMPLEX:P1_P2``), which have no single embedding.
COMPLEX_PREFIX = "COMPLEX:"

#: OmniPath client classes queried by :func:`load_interactions`, by ``interaction_type``.
_OMNIPATH_CLASSES: dict[str, str] = {"ligrec": "LigRecExtra", "kinase": "KinaseExtra"}


# ----------------------------------------------------------------------------------------------
# embeddings and sequences
# ----------------------------------------------------------------------------------------------


def _fasta_accession(record_id: str) -> tuple[str, str]:
    """``sp|P12345|NAME_HUMAN`` -> ``("P12345", "NAME_HUMAN")``; an id without ``|`` is its own accession."""
    fields = record_id.split("|")
    if len(fields) >= 2 and fields[1]:
        return fields[1], fields[2] if len(fields) >= 3 else ""
    return record_id, ""


def read_uniprot_fasta(path: str | Path) -> pd.DataFrame:
    """Read a UniProt FASTA file into a table of sequences, one row per protein.

    Headers look like ``>sp|P12345|NAME_HUMAN Protein name OS=Homo sapiens ...``: the accession is
    the second ``|`` field and the entry name the third. A header without ``|`` (``>P12345 ...``)
    is taken as the accession itself, with an empty entry name. Used by :func:`read_prott5_h5` to
    drop long proteins (LMI paper, Appendix A.4.1).

    Parameters
    ----------
    path
        FASTA file (plain text), e.g. UniProt's ``UP000005640_9606.fasta``.

    Returns
    -------
    DataFrame indexed by accession (index name ``"accession"``), in file order, with columns
    ``entry_name`` (str), ``description`` (the header after the id, str), ``length`` (int64, number
    of residues) and ``sequence`` (str).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not FASTA or holds no record, or an accession occurs twice.
    """
    from Bio import SeqIO

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"fasta: FASTA file '{path}' not found")
    rows = []
    try:
        with open(path, encoding="utf-8") as handle:
            for record in SeqIO.parse(handle, "fasta"):
                accession, entry_name = _fasta_accession(record.id)
                description = record.description
                if description.startswith(record.id):
                    description = description[len(record.id) :].strip()
                sequence = str(record.seq)
                rows.append((accession, entry_name, description, len(sequence), sequence))
    except (ValueError, UnicodeDecodeError) as err:  # Biopython rejects text before the first '>'
        raise ValueError(
            f"fasta: '{path}' is not a FASTA file (expected '>sp|P12345|NAME_HUMAN ...' headers): {err}"
        ) from err
    if not rows:
        raise ValueError(f"fasta: '{path}' holds no FASTA record (expected '>sp|P12345|NAME_HUMAN ...' headers)")
    table = pd.DataFrame(rows, columns=["accession", "entry_name", "description", "length", "sequence"])
    table["length"] = table["length"].astype(np.int64)
    table = table.set_index("accession")
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"fasta: '{path}' lists accession(s) {dup} more than once")
    return table


def _missing_h5_message(path: Path) -> str:
    return (
        f"path: ProtT5 embedding file '{path}' not found. Download UniProt's per-protein embeddings "
        f"(per-protein.h5) of your proteome from {UNIPROT_EMBEDDINGS_URL}, e.g. for human: {PROTT5_HUMAN_URL}"
    )


def _read_embedding_matrix(path: Path, dtype: np.dtype) -> tuple[list[str], np.ndarray]:
    """Read the accessions (file order) and the ``(n_proteins, dim)`` matrix of a UniProt per-protein file."""
    import h5py

    expected = "one 1-D numeric dataset per protein at the root, named by UniProt accession"
    with h5py.File(path, "r") as handle:
        names = list(handle.keys())
        if not names:
            raise ValueError(f"path: HDF5 file '{path}' contains no dataset; expected {expected}")
        matrix: np.ndarray | None = None
        for row, name in enumerate(names):
            # one link lookup per protein is unavoidable; the values go straight into the matrix
            node = handle[name]
            if not isinstance(node, h5py.Dataset):
                raise ValueError(
                    f"path: '{path}' is not in UniProt's per-protein layout: '{name}' is a group, not a "
                    f"dataset; expected {expected} (per-residue files, with a group per protein, are not supported)"
                )
            if node.ndim != 1 or node.dtype.kind not in "fiu":
                raise ValueError(
                    f"path: '{path}' is not in UniProt's per-protein layout: dataset '{name}' has shape "
                    f"{node.shape} and dtype {node.dtype}; expected {expected}"
                )
            if matrix is None:
                if node.shape[0] == 0:
                    raise ValueError(f"path: dataset '{name}' in '{path}' is empty; expected {expected}")
                matrix = np.empty((len(names), node.shape[0]), dtype=dtype)
            elif node.shape[0] != matrix.shape[1]:
                raise ValueError(
                    f"path: '{path}' holds embeddings of different lengths: '{names[0]}' has {matrix.shape[1]} "
                    f"values but '{name}' has {node.shape[0]}; expected {expected}, all of the same length"
                )
            node.read_direct(matrix, dest_sel=np.s_[row])
    assert matrix is not None
    return names, matrix


def _proteome_folder(proteome: str) -> str:
    """UniProt's embedding folder of ``proteome`` (an ID, ``ID_taxon``, a common name or ``swissprot``)."""
    if not isinstance(proteome, str) or not proteome:
        raise TypeError(f"proteome must be a UniProt proteome ID such as 'UP000005640', got {proteome!r}")
    key = proteome.strip()
    if key in PROTT5_PROTEOMES or key.lower() in PROTT5_PROTEOMES:
        return PROTT5_PROTEOMES.get(key, PROTT5_PROTEOMES.get(key.lower(), key))
    if key == "uniprot_sprot" or (key.startswith("UP") and "_" in key and key.split("_")[1].isdigit()):
        return key
    raise ValueError(
        f"proteome {proteome!r}: pass a reference proteome as UniProt names its embedding folder, "
        f"'UP<id>_<taxon id>' (e.g. 'UP000005640_9606'), one of {sorted(PROTT5_PROTEOMES)}, or "
        f"'swissprot'; the folders are listed at {PROTT5_BASE_URL}/ ({UNIPROT_EMBEDDINGS_URL})"
    )


def _check_per_protein_layout(path: Path) -> int:
    """Count the proteins of a per-protein file, after checking its first entries' layout."""
    import h5py

    if not h5py.is_hdf5(path):
        raise ValueError(f"'{path}' is not an HDF5 file; expected UniProt's per-protein embeddings")
    with h5py.File(path, "r") as handle:
        names = list(handle.keys())
        for name in names[:5]:
            node = handle[name]
            if not isinstance(node, h5py.Dataset) or node.ndim != 1 or node.dtype.kind not in "fiu":
                raise ValueError(
                    f"'{path}' is not in UniProt's per-protein layout (one 1-D numeric dataset per accession at "
                    f"the root): '{name}' is {node!r}"
                )
    if not names:
        raise ValueError(f"'{path}' holds no embedding")
    return len(names)


def download_prott5(
    dest: str | Path,
    *,
    proteome: str = "UP000005640_9606",
    base_url: str = PROTT5_BASE_URL,
    progress: bool = False,
) -> Path:
    """Download UniProt's per-protein ProtT5 embeddings of a reference proteome (LMI paper, Section 4.1).

    The file is UniProt's ``<base_url>/<proteome folder>/per-protein.h5`` (mean-pooled
    ``prottrans_t5_xl_u50`` vectors of 1024 numbers; about 20 600 proteins for human), fetched with
    ``pooch`` into ``dest`` as ``prott5_<folder>_per-protein.h5``; a file already there is not
    fetched again (``pooch`` writes to a temporary name and renames it when complete). Its layout is
    checked before the path is returned; read it with :func:`read_prott5_h5`.

    Parameters
    ----------
    dest
        Folder to write into (created if needed).
    proteome
        The reference proteome: UniProt's embedding folder name ``"UP<id>_<taxon id>"``, a proteome
        ID of :data:`PROTT5_PROTEOMES` (``"UP000005640"``: human, the default), a common name
        (``"human"``, ``"mouse"``, ``"rat"``) or ``"swissprot"`` (all of UniProtKB/Swiss-Prot).
    base_url
        Folder holding the proteome folders (default :data:`PROTT5_BASE_URL`; e.g. the EBI mirror
        ``https://ftp.ebi.ac.uk/pub/databases/uniprot/current_release/knowledgebase/embeddings``).
    progress
        Show pooch's download progress bar.

    Returns
    -------
    Path of the downloaded ``.h5`` file.

    Raises
    ------
    ValueError
        If ``proteome`` is not recognisable, or the file is not in the per-protein layout.
    ImportError
        If ``pooch`` is not installed.
    OSError
        If the download fails (the message names the URL and the alternatives).
    """
    folder_name = _proteome_folder(proteome)
    try:
        import pooch
    except ImportError as err:
        raise ImportError("download_prott5 needs the 'pooch' package: pip install pooch") from err
    folder = Path(dest).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    url = f"{base_url.rstrip('/')}/{folder_name}/per-protein.h5"
    fname = f"prott5_{folder_name}_per-protein.h5"
    try:
        path = Path(pooch.retrieve(url=url, known_hash=None, fname=fname, path=folder, progressbar=progress))
    except Exception as err:  # requests' HTTPError / ConnectionError, OSError, ...
        raise OSError(
            f"downloading {url} failed ({type(err).__name__}: {err}). Check the proteome folder at "
            f"{PROTT5_BASE_URL}/, pass base_url= for a mirror, or download per-protein.h5 by hand and read it "
            "with read_prott5_h5(path)"
        ) from err
    _check_per_protein_layout(path)
    return path


def read_prott5_h5(
    path: str | Path,
    *,
    fasta: str | Path | None = None,
    max_length: int | None = 12000,
    require_sequence: bool = False,
    dtype: Any = np.float32,
) -> pd.DataFrame:
    """Read UniProt's per-protein ProtT5 embeddings (``per-protein.h5``) into a table.

    These are the pLM embeddings of the LMI paper's protein-interaction experiments (Section 4.1):
    mean-pooled ``prottrans_t5_xl_u50`` vectors of 1024 numbers, one per protein. With ``fasta``,
    proteins longer than ``max_length`` residues are dropped, as in Appendix A.4.1 (12 000). No
    normalisation is applied here; :func:`bioinfo_mi.pp.pair_interactions` does it.

    Parameters
    ----------
    path
        HDF5 file in UniProt's layout: one dataset per protein at the root, named by the UniProt
        accession (``A0A024R1R8``), holding a 1-D vector (1024 values, float16 or float32). Files
        are listed on UniProt's downloads page (:data:`UNIPROT_EMBEDDINGS_URL`); human:
        :data:`PROTT5_HUMAN_URL`.
    fasta
        Optional UniProt FASTA of the same proteome, read with :func:`read_uniprot_fasta`. Used only
        to filter by sequence length; the sequences are not returned (call
        :func:`read_uniprot_fasta` for them).
    max_length
        With ``fasta``: drop proteins whose sequence has more than this many residues (paper:
        12 000). ``None`` keeps all lengths. Ignored without ``fasta``.
    require_sequence
        With ``fasta``: what to do with proteins of the h5 file that the FASTA does not list. By
        default they are kept (their length is unknown) and a warning gives their number;
        ``True`` drops them silently.
    dtype
        Floating dtype of the returned values (the file's float16 values are converted).

    Returns
    -------
    DataFrame indexed by accession (index name ``"accession"``, in the order h5py lists the
    datasets: alphabetical for UniProt's files) with one float column per embedding dimension
    (``RangeIndex`` 0 … 1023). ``df.attrs["prott5"]`` records ``path``, ``fasta`` (``""`` if
    none), ``max_length`` and the counts ``n_in_file``, ``n_too_long``, ``n_without_sequence`` (in
    the h5 file, not in the FASTA; kept or dropped per ``require_sequence``) and ``n_proteins``
    (returned). ``attrs`` are informative only: pandas drops them in many operations.

    Raises
    ------
    FileNotFoundError
        If ``path`` (with the download address in the message) or ``fasta`` does not exist.
    ValueError
        If ``path`` is not an HDF5 file, is not in the per-protein layout (groups instead of
        datasets, datasets that are not 1-D numeric, of different lengths, or none at all), or the
        FASTA holds no record.
    """
    import h5py

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(_missing_h5_message(path))
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"path: '{path}' is not an HDF5 file; expected UniProt's per-protein embeddings (per-protein.h5, "
            f"see {UNIPROT_EMBEDDINGS_URL})"
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype such as np.float32, got {dtype}")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer))):
        raise TypeError(f"max_length must be a positive integer or None, got {max_length!r}")
    if max_length is not None and max_length < 1:
        raise ValueError(f"max_length must be a positive integer or None, got {max_length}")

    names, matrix = _read_embedding_matrix(path, dtype)
    accessions = pd.Index(names, name="accession")
    if not accessions.is_unique:  # cannot happen in HDF5 (link names are unique), checked for safety
        raise ValueError(f"path: '{path}' has duplicated protein names")

    keep = np.ones(len(accessions), dtype=bool)
    n_too_long = n_without_sequence = 0
    if fasta is not None:
        lengths = read_uniprot_fasta(fasta)["length"].reindex(accessions)
        without = lengths.isna().to_numpy()
        n_without_sequence = int(without.sum())
        if max_length is not None:
            too_long = lengths.to_numpy(dtype=float, na_value=np.nan) > max_length
            n_too_long = int(too_long.sum())
            keep &= ~too_long
        if require_sequence:
            keep &= ~without
        elif n_without_sequence:
            warnings.warn(
                f"{n_without_sequence} of {len(accessions)} proteins in '{path.name}' are not in the FASTA "
                f"'{Path(fasta).name}'; kept with unknown length (pass require_sequence=True to drop them)",
                UserWarning,
                stacklevel=2,
            )

    frame = pd.DataFrame(matrix[keep] if not keep.all() else matrix, index=accessions[keep], copy=False)
    frame.attrs["prott5"] = {
        "path": str(path),
        "fasta": "" if fasta is None else str(Path(fasta).expanduser()),
        "max_length": max_length,
        "n_in_file": len(accessions),
        "n_too_long": n_too_long,
        "n_without_sequence": n_without_sequence,
        "n_proteins": int(keep.sum()),
    }
    return frame


# ----------------------------------------------------------------------------------------------
# interactions
# ----------------------------------------------------------------------------------------------


def _standardize_interactions(
    table: pd.DataFrame,
    *,
    source_col: str,
    target_col: str,
    exclude_complexes: bool,
    origin: str,
) -> pd.DataFrame:
    """Return the standard interaction frame: ``source``, ``target`` (str) first, other columns unchanged.

    Drops rows with a missing partner, and complexes when ``exclude_complexes``; counts go to
    ``attrs["interactions"]`` and, when rows were dropped, to a warning.
    """
    missing = [c for c in (source_col, target_col) if c not in table.columns]
    if missing:
        raise KeyError(
            f"{origin}: column(s) {missing} not found; available: {[str(c) for c in table.columns]}. "
            "Pass source_col= / target_col= naming the columns with the UniProt accessions of the partners"
        )
    if source_col == target_col:
        raise ValueError(f"source_col and target_col must differ, both are {source_col!r}")
    clashes = [
        name
        for name, col in (("source", source_col), ("target", target_col))
        if name in table.columns and name not in (source_col, target_col)
    ]
    if clashes:
        raise ValueError(
            f"{origin}: the table already has column(s) {clashes} besides source_col={source_col!r} / "
            f"target_col={target_col!r}; rename them first (the standard frame uses 'source' and 'target' "
            "for the partners)"
        )

    others = [c for c in table.columns if c not in (source_col, target_col)]
    frame = table[[source_col, target_col, *others]].rename(columns={source_col: "source", target_col: "target"})
    n_input = len(frame)

    has_ids = frame["source"].notna().to_numpy() & frame["target"].notna().to_numpy()
    frame = frame.loc[has_ids].copy()
    for name in ("source", "target"):
        frame[name] = frame[name].astype(str).str.strip().astype(object)
    n_missing_id = int(n_input - has_ids.sum())

    n_complexes = 0
    if exclude_complexes:
        is_complex = (
            frame["source"].str.startswith(COMPLEX_PREFIX).to_numpy()
            | frame["target"].str.startswith(COMPLEX_PREFIX).to_numpy()
        )
        n_complexes = int(is_complex.sum())
        frame = frame.loc[~is_complex]

    frame = frame.reset_index(drop=True)
    if n_missing_id or n_complexes:
        parts = []
        if n_complexes:
            parts.append(f"{n_complexes} involving a complex ('{COMPLEX_PREFIX}...', no single embedding)")
        if n_missing_id:
            parts.append(f"{n_missing_id} with a missing partner id")
        warnings.warn(
            f"{origin}: dropped {' and '.join(parts)} of {n_input} interactions; {len(frame)} remain",
            UserWarning,
            stacklevel=3,
        )
    frame.attrs["interactions"] = {
        "origin": origin,
        "n_input": n_input,
        "n_complexes": n_complexes,
        "n_missing_id": n_missing_id,
        "n_interactions": len(frame),
    }
    return frame


#: The OmniPath-derived resources the ``liana`` package ships in its wheel (one csv, a ``resource``
#: column naming the set; ``consensus`` is liana's default ligand-receptor resource)
LIANA_RESOURCE = ("liana", "resource/omni_resource.csv")


def _liana_ligrec(resource: str) -> pd.DataFrame:
    """Read liana's bundled ligand-receptor table (no network), rows of ``resource``."""
    from importlib import resources

    try:
        files = resources.files(LIANA_RESOURCE[0])
    except ModuleNotFoundError as err:
        raise ImportError(
            "load_interactions(source='liana') reads the ligand-receptor resource the liana package ships: "
            "pip install liana (or pip install bioinfo_mi[proteins])"
        ) from err
    path = files.joinpath(LIANA_RESOURCE[1])
    if not path.is_file():
        raise FileNotFoundError(
            f"this liana installation has no {LIANA_RESOURCE[1]} (looked in {files}); liana >= 1.0 ships it"
        )
    with path.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle)
    table = table.drop(columns=[c for c in table.columns if str(c).startswith("Unnamed") or str(c) == ""])
    missing = [
        c for c in ("source", "target", "source_genesymbol", "target_genesymbol", "resource") if c not in table.columns
    ]
    if missing:
        raise ValueError(f"liana's {LIANA_RESOURCE[1]} lacks column(s) {missing}; found {list(table.columns)}")
    names = sorted(table["resource"].astype(str).unique())
    if resource not in names:
        raise ValueError(f"resource {resource!r} is not in liana's {LIANA_RESOURCE[1]}; choose from {names}")
    return table.loc[table["resource"] == resource].reset_index(drop=True)


def load_interactions(
    interaction_type: str = "ligrec",
    *,
    source: str = "omnipath",
    resource: str = "consensus",
    exclude_complexes: bool = True,
    omnipath_kwds: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Ligand-receptor or kinase-target interactions from OmniPath, or offline from liana (LMI paper, Section 4.1).

    Calls ``omnipath.interactions.LigRecExtra.get()`` (``interaction_type="ligrec"``) or
    ``omnipath.interactions.KinaseExtra.get()`` (``interaction_type="kinase"``) of the OmniPath python client,
    the interaction sets of the paper's protein experiments. Needs network access and the
    ``omnipath`` package (``pip install omnipath`` or ``pip install bioinfo_mi[proteins]``). Note
    that *importing* the client already contacts the server unless its ``autoload`` option is off
    (``OMNIPATH_AUTOLOAD=false``, or ``autoload = False`` in ``~/.config/omnipathdb.ini``). Offline,
    use ``source="liana"`` (ligand-receptor pairs) or :func:`read_interactions` on a saved table.

    ``source="liana"`` reads, without any network call, the OmniPath-derived ligand-receptor
    resource that the ``liana`` package (scverse) ships inside its wheel
    (``liana/resource/omni_resource.csv``; by default its ``consensus`` set, the one
    ``liana.resource.select_resource()`` returns), with the same columns as the OmniPath route
    (``source`` / ``target`` UniProt accessions, complexes as ``COMPLEX:P1_P2``,
    ``source_genesymbol``, ``target_genesymbol``) and the same handling of complexes.

    Parameters
    ----------
    interaction_type
        Which interactions: ``"ligrec"`` (ligand-receptor) or ``"kinase"`` (kinase-target; OmniPath only).
    source
        ``"omnipath"`` (default; needs the network and the ``omnipath`` client) or ``"liana"``
        (offline; needs the ``liana`` package).
    resource
        With ``source="liana"``: the set of liana's table to keep (``"consensus"``; others such as
        ``"cellphonedb"`` or ``"cellchatdb"`` are rows of the same table).
    exclude_complexes
        Drop interactions whose source or target is a complex (``COMPLEX:P1_P2``): a complex has no
        single sequence embedding. The number dropped is reported in a warning.
    omnipath_kwds
        Query options passed on to the OmniPath client's ``get`` as keyword arguments, e.g.
        ``{"organism": 9606}`` (``None``: none). Only with ``source="omnipath"``.

    Returns
    -------
    The standard interaction frame: ``source`` and ``target`` (UniProt accessions, str), then the
    client's other columns unchanged (``source_genesymbol``, ``target_genesymbol``,
    ``is_directed``, ``is_stimulation``, ``is_inhibition``, curation columns, ...), with a fresh
    ``RangeIndex``. Rows with a missing partner are dropped (with a warning).
    ``df.attrs["interactions"]`` records ``origin``, ``n_input``, ``n_complexes``,
    ``n_missing_id`` and ``n_interactions``.

    Raises
    ------
    ValueError
        If ``interaction_type`` is not ``"ligrec"`` or ``"kinase"``, ``source`` is not ``"omnipath"`` or
        ``"liana"``, ``interaction_type="kinase"`` is asked of liana, or ``omnipath_kwds`` is given with
        ``source="liana"``.
    TypeError
        If ``omnipath_kwds`` is not a mapping.
    ImportError
        If the ``omnipath`` client (or, for ``source="liana"``, ``liana``) is not installed.
    ConnectionError
        If OmniPath cannot be reached (the client raises a bare ``RuntimeError`` or a ``requests``
        error after its retries); the message says how to use a local table instead.
    """
    if interaction_type not in _OMNIPATH_CLASSES:
        raise ValueError(f"interaction_type must be one of {list(_OMNIPATH_CLASSES)}, got {interaction_type!r}")
    if source not in ("omnipath", "liana"):
        raise ValueError(f"source must be 'omnipath' or 'liana', got {source!r}")
    if omnipath_kwds is None:
        omnipath_kwds = {}
    elif not isinstance(omnipath_kwds, Mapping):
        raise TypeError(f"omnipath_kwds must be a mapping of query options or None, got {type(omnipath_kwds).__name__}")
    omnipath_kwds = dict(omnipath_kwds)
    if source == "liana":
        if interaction_type != "ligrec":
            raise ValueError(
                "interaction_type='kinase': kinase-substrate interactions come from OmniPath only (liana ships "
                "ligand-receptor pairs); use source='omnipath' online, or read_interactions() on a saved OmniPath "
                "table offline"
            )
        if omnipath_kwds:
            raise ValueError(
                f"omnipath_kwds: source='liana' takes no OmniPath query options, got {sorted(omnipath_kwds)}"
            )
        return _standardize_interactions(
            _liana_ligrec(resource),
            source_col="source",
            target_col="target",
            exclude_complexes=exclude_complexes,
            origin=f"liana {LIANA_RESOURCE[1]} ({resource})",
        )
    try:
        import omnipath
    except ImportError as err:
        raise ImportError(
            "load_interactions needs the OmniPath client: pip install omnipath (or pip install bioinfo_mi[proteins])"
        ) from err

    class_name = _OMNIPATH_CLASSES[interaction_type]
    request = getattr(omnipath.interactions, class_name)
    try:
        table = request.get(**omnipath_kwds)
    except (RuntimeError, OSError) as err:  # OSError covers requests' ConnectionError and Timeout
        raise ConnectionError(
            f"OmniPath is unreachable: omnipath.interactions.{class_name}.get() failed ({type(err).__name__}: "
            f"{err}). Check the network, or pass a local table of interactions instead: "
            "bioinfo_mi.datasets.read_interactions(path_or_frame, source_col=..., target_col=...) with one "
            "row per pair and two columns of UniProt accessions"
        ) from err
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"omnipath.interactions.{class_name}.get() returned {type(table).__name__}, not a DataFrame")
    return _standardize_interactions(
        table,
        source_col="source",
        target_col="target",
        exclude_complexes=exclude_complexes,
        origin=f"omnipath.interactions.{class_name}",
    )


_SEPARATORS: Mapping[str, str] = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


def read_interactions(
    table: str | Path | pd.DataFrame,
    *,
    source_col: str = "source",
    target_col: str = "target",
    sep: str | None = None,
    exclude_complexes: bool = True,
) -> pd.DataFrame:
    """Read interaction pairs from a local table into the standard interaction frame.

    The offline counterpart of :func:`load_interactions` (LMI paper, Section 4.1): any table with
    one row per interacting pair and the UniProt accessions of the two partners, e.g. an OmniPath
    export saved with ``df.to_csv``.

    Parameters
    ----------
    table
        A DataFrame (not modified), or the path of a delimited text file with a header row
        (``.csv``, ``.tsv``, possibly ``.gz``-compressed).
    source_col, target_col
        Columns holding the accessions of the two partners (renamed ``source`` / ``target``).
    sep
        Field separator of a file; default: ``","`` for ``.csv``, tab for ``.tsv`` / ``.tab``,
        otherwise sniffed by pandas.
    exclude_complexes
        Drop rows whose source or target is an OmniPath complex (``COMPLEX:...``), with a warning.

    Returns
    -------
    The standard interaction frame: ``source``, ``target`` (str, surrounding whitespace removed),
    then the other columns unchanged; rows with a missing partner are dropped (with a warning).
    ``df.attrs["interactions"]`` holds the counts as in :func:`load_interactions`.

    Raises
    ------
    FileNotFoundError
        If ``table`` is a path that does not exist.
    KeyError
        If ``source_col`` or ``target_col`` is not a column (the message lists those available).
    """
    if isinstance(table, pd.DataFrame):
        frame, origin = table, "interactions table"
    elif isinstance(table, (str, Path)):
        path = Path(table).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"table: interaction file '{path}' not found")
        suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zip")]
        if sep is None and suffixes and suffixes[-1] in _SEPARATORS:
            sep = _SEPARATORS[suffixes[-1]]
        options: dict[str, Any] = {"sep": sep} if sep is not None else {"sep": None, "engine": "python"}
        frame, origin = pd.read_csv(path, compression="infer", **options), f"interaction file '{path.name}'"
    else:
        raise TypeError(f"table must be a DataFrame or the path of a csv/tsv file, got {type(table).__name__}")
    return _standardize_interactions(
        frame, source_col=source_col, target_col=target_col, exclude_complexes=exclude_complexes, origin=origin
    )
