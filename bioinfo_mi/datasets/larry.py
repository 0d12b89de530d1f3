"""Loader for the LARRY lineage-tracing data (Weinreb et al., Science 2020): Experiment 1 (in vitro),
2 (in vivo) and 3 (cytokine perturbations).

LARRY tags haematopoietic progenitors with heritable expressed barcodes, so cells sharing a barcode
(a *clone*) are sisters. The LMI paper (Section 4.2, Appendix A.4.2) uses this data set to measure
the mutual information between the transcriptomes of sister cells, within and across wells, and
pointwise MI along the neutrophil pseudotime.

:func:`read_larry` turns the published files into one :class:`anndata.AnnData` with the clone
labels both as ``obs['clone']`` (one label per cell) and in CoSpar's layout (``obsm['X_clone']``,
``obs['time_info']``); :func:`download_larry` fetches an experiment's files with ``pooch`` from the Klein lab's server
(:data:`LARRY_BASE_URL`).

The loader does no preprocessing. The LMI paper then kept cells with a clone, normalised total
counts to 1e4, applied log1p, took 1000 highly variable genes and scaled with ``max_value=10``
(for pMI along pseudotime it dropped cells with pseudotime < 1e4).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

if TYPE_CHECKING:
    import anndata

__all__ = ["read_larry", "download_larry", "larry_files", "LARRY_FILES", "LARRY_BASE_URL", "LARRY_EXPERIMENTS"]

#: File-name prefix of each experiment of Weinreb et al. 2020 (the names the Klein lab serves them under).
LARRY_EXPERIMENTS: dict[str, str] = {
    "in_vitro": "stateFate_inVitro_",  # Experiment 1: days 2, 4, 6 in culture, sisters split between wells
    "in_vivo": "stateFate_inVivo_",  # Experiment 2: day 2 before transplantation, days 9 and 16
    "cytokine": "stateFate_cytokinePerturbation_",  # Experiment 3: clones split between cytokine conditions
}
_ROLES = ("normed_counts", "metadata", "clone_matrix", "gene_names", "neutrophil_pseudotime")
_MTX_EXTS = (".mtx", ".mtx.gz")
_TXT_EXTS = (".txt", ".txt.gz")
_EXTS: dict[str, tuple[str, ...]] = {
    "normed_counts": _MTX_EXTS,
    "metadata": _TXT_EXTS,
    "clone_matrix": _MTX_EXTS,
    "gene_names": _TXT_EXTS,
    "neutrophil_pseudotime": _TXT_EXTS,
}
_REQUIRED_ROLES = ("normed_counts", "metadata", "clone_matrix", "gene_names")

#: Columns of ``stateFate_inVitro_metadata.txt`` the loader needs.
METADATA_COLUMNS: tuple[str, ...] = (
    "Library",
    "Cell barcode",
    "Time point",
    "Starting population",
    "Cell type annotation",
    "Well",
    "SPRING-x",
    "SPRING-y",
)
#: Metadata columns each experiment must have (the in-vivo and cytokine files have no ``Well`` nor
#: ``Starting population``; the cytokine file has ``Cytokine condition``). Optional columns (``Well``,
#: ``Starting population``, ``Cytokine condition``, ``SPRING-x`` / ``SPRING-y``) are read when present.
EXPERIMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "in_vitro": METADATA_COLUMNS,
    "in_vivo": ("Library", "Cell barcode", "Time point", "Cell type annotation"),
    "cytokine": ("Library", "Cell barcode", "Time point", "Cell type annotation", "Cytokine condition"),
}
_PSEUDOTIME_HEADER = ("Cell index", "pseudotime")

#: Where the Klein lab serves the published files (all gzipped, flat names
#: ``stateFate_<experiment>_<role>``): the links of the data's public description, the README of
#: AllonKleinLab/paper-data, folder
#: ``Lineage_tracing_on_transcriptional_landscapes_links_state_to_fate_during_differentiation``
#: (that GitHub folder holds only the README). Mirror without the pseudotime file: GEO GSE140802
#: (per-sample files prefixed ``GSM4185642_`` in vitro, ``GSM4185643_`` in vivo, ``GSM4185644_`` cytokine).
LARRY_BASE_URL = "https://kleintools.hms.harvard.edu/paper_websites/state_fate2020"


def _check_experiment(experiment: str) -> str:
    if experiment not in LARRY_EXPERIMENTS:
        raise ValueError(f"experiment must be one of {sorted(LARRY_EXPERIMENTS)}, got {experiment!r}")
    return experiment


def _stem(role: str, experiment: str = "in_vitro") -> str:
    return f"{LARRY_EXPERIMENTS[_check_experiment(experiment)]}{role}"


def larry_files(experiment: str = "in_vitro") -> tuple[str, ...]:
    """Remote file names of one LARRY experiment (the four core files; in vitro also the neutrophil
    pseudotime, the only experiment that has one).

    Parameters
    ----------
    experiment
        ``"in_vitro"``, ``"in_vivo"`` or ``"cytokine"``.

    Returns
    -------
    File names relative to :data:`LARRY_BASE_URL`.
    """
    roles = _ROLES if experiment == "in_vitro" else _REQUIRED_ROLES
    return tuple(f"{_stem(role, experiment)}{_EXTS[role][-1]}" for role in roles)


#: Remote file names fetched by :func:`download_larry` by default (the in-vitro experiment).
LARRY_FILES: tuple[str, ...] = larry_files("in_vitro")


# ----------------------------------------------------------------------------------------------
# file discovery and parsers (private, shared by the loader and the tests)
# ----------------------------------------------------------------------------------------------


def _find_file(folder: Path, role: str, *, required: bool = True, experiment: str = "in_vitro") -> Path | None:
    """Path of the file for ``role`` in ``folder``, trying the plain extension before ``.gz``."""
    stem = _stem(role, experiment)
    for ext in _EXTS[role]:
        candidate = folder / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    if not required:
        return None
    present = sorted(p.name for p in folder.iterdir())
    wanted = " or ".join(f"{stem}{ext}" for ext in _EXTS[role])
    raise FileNotFoundError(
        f"LARRY file {wanted!r} not found in folder '{folder}'; files present: {present}. "
        f"Download the data with bioinfo_mi.datasets.download_larry(folder, experiment={experiment!r})."
    )


def _open_text(path: Path) -> IO[str]:
    """Open a text file for reading, gunzipping when the name ends in ``.gz``."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _read_gene_names(path: str | Path) -> list[str]:
    """Gene symbols, one per line, no header (plain or gzipped).

    Surrounding whitespace is stripped and blank lines at the end of the file are ignored; a blank
    line in the middle would misalign genes and columns, so it raises ``ValueError``.
    """
    path = Path(path)
    with _open_text(path) as handle:
        names = [line.strip() for line in handle]
    while names and names[-1] == "":
        names.pop()
    blank = [i + 1 for i, name in enumerate(names) if name == ""]
    if blank:
        raise ValueError(
            f"gene-name file '{path}' has blank lines at line(s) {blank[:5]}; one symbol per line expected"
        )
    if not names:
        raise ValueError(f"gene-name file '{path}' is empty")
    return names


def _read_pseudotime(path: str | Path) -> pd.Series:
    """Neutrophil pseudotime: header ``Cell index<TAB>pseudotime``, then 0-based row index and value.

    Returns a float Series indexed by the (int64) cell index, in file order.
    """
    path = Path(path)
    table = pd.read_csv(path, sep="\t", compression="infer")
    columns = [str(c).strip() for c in table.columns]
    if tuple(c.lower() for c in columns) != tuple(c.lower() for c in _PSEUDOTIME_HEADER):
        raise ValueError(
            f"pseudotime file '{path}' must have the header {'<TAB>'.join(_PSEUDOTIME_HEADER)!r}; "
            f"found columns {columns}"
        )
    index = pd.to_numeric(table.iloc[:, 0], errors="coerce")
    if index.isna().any() or not np.all(np.mod(index.to_numpy(dtype=float), 1) == 0):
        raise ValueError(f"pseudotime file '{path}': 'Cell index' must hold integer row indices")
    index = index.astype(np.int64)
    if (index < 0).any():
        raise ValueError(f"pseudotime file '{path}': 'Cell index' has negative values (0-based indices expected)")
    if index.duplicated().any():
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"pseudotime file '{path}': duplicated cell indices {dup}")
    values = pd.to_numeric(table.iloc[:, 1], errors="coerce").astype(np.float64)
    if values.isna().any():
        raise ValueError(f"pseudotime file '{path}': 'pseudotime' has non-numeric or missing values")
    return pd.Series(values.to_numpy(), index=pd.Index(index.to_numpy(), name="Cell index"), name="pseudotime")


def _read_metadata(path: Path, experiment: str = "in_vitro") -> pd.DataFrame:
    """Metadata table (tab-separated, header row); checks the experiment's required columns are present."""
    text_cols = {
        "Library": str,
        "Cell barcode": str,
        "Starting population": str,
        "Cell type annotation": str,
        "Cytokine condition": str,
    }
    table = pd.read_csv(path, sep="\t", compression="infer", dtype=text_cols, keep_default_na=False)
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in EXPERIMENT_COLUMNS[experiment] if c not in table.columns]
    if missing:
        raise KeyError(
            f"metadata file '{path}' lacks required column(s) {missing} of the {experiment!r} experiment; "
            f"available: {list(table.columns)}"
        )
    return table


def _read_mtx(path: Path) -> sp.csr_matrix:
    """Matrix Market file (plain or gzipped) as CSR."""
    return sp.csr_matrix(scipy.io.mmread(str(path)))


def _first_clone(clones: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: column of its first (lowest-index) clone, or -1, and how many clones it carries."""
    clones = clones.copy()
    clones.eliminate_zeros()
    clones.sort_indices()
    n_per_cell = np.diff(clones.indptr)
    first = np.full(clones.shape[0], -1, dtype=np.int64)
    has = n_per_cell > 0
    first[has] = clones.indices[clones.indptr[:-1][has]]
    return first, n_per_cell.astype(np.int64)


def _format_time(value: float) -> str:
    """``2.0`` -> ``"2"``, ``2.5`` -> ``"2.5"`` (CoSpar's ``time_info`` strings)."""
    if not np.isfinite(value):
        return "nan"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _well_column(values: pd.Series) -> pd.Series | pd.Categorical:
    """``Well`` as int64 when every entry is an integer, otherwise as a categorical of strings."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and np.all(np.mod(numeric.to_numpy(dtype=float), 1) == 0):
        return numeric.astype(np.int64).to_numpy()
    return pd.Categorical(values.astype(str))


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------


def read_larry(
    path: str | Path,
    *,
    experiment: str = "in_vitro",
    drop_unassigned: bool = True,
    uppercase_genes: bool = False,
) -> anndata.AnnData:
    """Read a LARRY data set (Weinreb et al. 2020) into AnnData; by default Experiment 1 (in vitro).

    The in-vitro experiment is the lineage-traced scRNA-seq data the LMI paper analyses in Section
    4.2 and Appendix A.4.2 (MI between sister-cell transcriptomes; pMI along neutrophil pseudotime).

    Parameters
    ----------
    path
        Folder holding the files below; each text file may be plain (``.txt``) or gzipped
        (``.txt.gz``), each matrix ``.mtx`` or ``.mtx.gz`` (the plain one is used when both exist).
        The names are those of the in-vitro experiment; the others have the prefix
        ``stateFate_inVivo_`` or ``stateFate_cytokinePerturbation_`` and no pseudotime file.

        - ``stateFate_inVitro_normed_counts.mtx``: cells × genes, total-count normalised counts;
        - ``stateFate_inVitro_metadata.txt``: header, then one tab-separated row per cell with
          ``Library``, ``Cell barcode``, ``Time point``, ``Starting population``,
          ``Cell type annotation``, ``Well``, ``SPRING-x``, ``SPRING-y``;
        - ``stateFate_inVitro_clone_matrix.mtx``: cells × clones, binary;
        - ``stateFate_inVitro_gene_names.txt``: one symbol per line, in column order;
        - ``stateFate_inVitro_neutrophil_pseudotime.txt`` (optional): header
          ``Cell index<TAB>pseudotime``, then 0-based row indices into the files above.

        The in-vivo metadata need ``Library``, ``Cell barcode``, ``Time point`` (days 2, 9, 16) and
        ``Cell type annotation``; the cytokine metadata also ``Cytokine condition``. ``Well``,
        ``Starting population`` and the SPRING coordinates are read where present. The clone matrix
        is cells × clones in vitro and is published clones × cells for the cytokine experiment: a
        matrix whose columns, not rows, match the cells is transposed.
    experiment
        ``"in_vitro"`` (Experiment 1), ``"in_vivo"`` (Experiment 2, transplantation) or
        ``"cytokine"`` (Experiment 3, cytokine perturbations).
    drop_unassigned
        Drop cells that carry no clone barcode (the LMI paper keeps only cells with a clone).
    uppercase_genes
        Upper-case the mouse gene symbols (``Gata1`` -> ``GATA1``), as the LMI paper did.

    Returns
    -------
    :class:`anndata.AnnData` with cells in file order (minus dropped cells):

    - ``X``: normalised counts, CSR ``float32``;
    - ``obs_names``: the cell's 0-based row index in the original files, as a string (kept after
      dropping, so a cell can always be traced back);
    - ``var_names``: gene symbols, made unique (``-1``, ``-2`` suffixes on repeats);
    - ``obs['clone']``: ``"clone_<j>"`` where ``j`` is the 0-based column of the clone matrix;
      NaN for cells with no clone. A cell carrying several barcodes (several 1s in its row) gets
      its **first** clone, the lowest column index; all of them stay in ``obsm['X_clone']``;
    - ``obs['n_clone_barcodes']``: int, how many clones the cell's row carries (0, 1, 2, ...);
    - ``obs['time']``: float day (2.0, 4.0, 6.0) from ``Time point``;
    - ``obs['time_info']``: the time point as a string (``"2"``, ``"4"``, ``"6"``), CoSpar's layout;
    - ``obs['well']``: int64 from ``Well`` (0 on day 2, then 1 or 2), categorical if not integer
      (only where the metadata have ``Well``: in vitro);
    - ``obs['cell_type']``: categorical from ``Cell type annotation``;
    - ``obs['library']``: categorical; ``obs['barcode']``: string; ``obs['starting_population']``
      (where present) and ``obs['cytokine']`` (``Cytokine condition``, cytokine experiment): categorical;
    - ``obs['neutrophil_pseudotime']``: float, NaN for cells not in the pseudotime file (all NaN
      when the file is absent); aligned on the original row indices before any cell is dropped;
    - ``obsm['X_spring']``: ``(n_cells, 2)`` SPRING coordinates (``SPRING-x``, ``SPRING-y``), where present;
    - ``obsm['X_clone']``: cells × clones binary CSR (``float32``), all clone columns of the file
      in their order, CoSpar's layout;
    - ``uns['larry']``: ``experiment``, ``files`` (role -> file name read; ``neutrophil_pseudotime``
      is ``""`` when absent), ``folder``, ``n_cells_total``, ``n_clones``,
      ``clone_matrix_transposed``, ``drop_unassigned``, ``uppercase_genes``;
    - ``uns['bioinfo_mi_X']``: ``"normalized_counts"``, so that :func:`bioinfo_mi.pp.preprocess`
      accepts these non-integer counts and normalises them again, as the paper did.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or a required file is missing (the message lists the folder's files).
    ValueError
        If the files disagree on the number of cells or genes, or the pseudotime file refers to rows
        that do not exist.
    KeyError
        If the metadata lacks a required column (the message lists those available).
    """
    import anndata
    from anndata.utils import make_index_unique

    experiment = _check_experiment(experiment)
    folder = _check_folder(path, experiment)
    files = {role: _find_file(folder, role, experiment=experiment) for role in _REQUIRED_ROLES}
    pseudotime_file = _find_file(folder, "neutrophil_pseudotime", required=False, experiment=experiment)

    metadata = _read_metadata(files["metadata"], experiment)
    genes = _read_gene_names(files["gene_names"])
    counts = _read_mtx(files["normed_counts"]).astype(np.float32)
    clones, transposed = _cells_by_clones(_read_mtx(files["clone_matrix"]), counts, metadata, files)
    if counts.shape[1] != len(genes):
        raise ValueError(
            f"gene counts disagree: {files['normed_counts'].name} has {counts.shape[1]} columns but "
            f"{files['gene_names'].name} lists {len(genes)} gene names"
        )
    n_cells = counts.shape[0]
    first_clone, n_barcodes = _first_clone(clones)
    obs = _larry_obs(metadata, first_clone, n_barcodes, _aligned_pseudotime(pseudotime_file, n_cells))
    has_spring = {"SPRING-x", "SPRING-y"} <= set(metadata.columns)
    spring = (
        metadata[["SPRING-x", "SPRING-y"]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        if has_spring
        else None
    )

    symbols = [g.upper() for g in genes] if uppercase_genes else list(genes)
    var = pd.DataFrame(index=make_index_unique(pd.Index(symbols)))

    x_clone = clones.astype(np.float32)
    x_clone.eliminate_zeros()
    x_clone.data[:] = 1.0

    keep = first_clone >= 0 if drop_unassigned else np.ones(n_cells, dtype=bool)
    used = {role: p.name for role, p in files.items()}
    used["neutrophil_pseudotime"] = pseudotime_file.name if pseudotime_file is not None else ""

    adata = anndata.AnnData(
        X=counts[keep],
        obs=obs.loc[keep].copy(),
        var=var,
        obsm={"X_clone": sp.csr_matrix(x_clone[keep]), **({"X_spring": spring[keep]} if has_spring else {})},
        uns={
            "larry": {
                "experiment": experiment,
                "clone_matrix_transposed": bool(transposed),
                "files": used,
                "folder": str(folder),
                "n_cells_total": int(n_cells),
                "n_clones": int(clones.shape[1]),
                "drop_unassigned": bool(drop_unassigned),
                "uppercase_genes": bool(uppercase_genes),
            },
            "bioinfo_mi_X": "normalized_counts",  # what .X holds, read by pp.preprocess (counts="auto")
        },
    )
    return adata


def _check_folder(path: str | Path, experiment: str) -> Path:
    """Return ``path`` as a folder, or raise a ``FileNotFoundError`` saying how to get the files."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(
            f"LARRY folder '{folder}' does not exist; download it with "
            f"download_larry('{folder}', experiment={experiment!r})"
        )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"LARRY path '{folder}' is not a folder; pass the folder that holds the stateFate files"
        )
    return folder


def _cells_by_clones(
    clones: sp.csr_matrix, counts: sp.csr_matrix, metadata: pd.DataFrame, files: dict[str, Path]
) -> tuple[sp.csr_matrix, bool]:
    """Check that the metadata and the clone matrix describe the counts' cells; return the clone matrix
    as cells x clones and whether it was transposed (published clones x cells).
    """
    n_cells = counts.shape[0]
    if metadata.shape[0] != n_cells:
        raise ValueError(
            f"row counts disagree: {files['normed_counts'].name} has {n_cells} cells (rows) but "
            f"{files['metadata'].name} has {metadata.shape[0]} rows after its header"
        )
    transposed = clones.shape[0] != n_cells and clones.shape[1] == n_cells
    if transposed:  # published clones x cells (the cytokine experiment)
        clones = sp.csr_matrix(clones.T)
    if clones.shape[0] != n_cells:
        raise ValueError(
            f"row counts disagree: {files['normed_counts'].name} has {n_cells} cells (rows) but "
            f"{files['clone_matrix'].name} is {clones.shape[0]} x {clones.shape[1]}: neither its rows nor its "
            "columns match the cells"
        )
    return clones, transposed


def _aligned_pseudotime(pseudotime_file: Path | None, n_cells: int) -> np.ndarray:
    """Neutrophil pseudotime per row of the original files (NaN where absent), aligned before any
    cell is dropped: the file's indices point at those rows.
    """
    pseudotime = np.full(n_cells, np.nan)
    if pseudotime_file is not None:
        table = _read_pseudotime(pseudotime_file)
        rows = table.index.to_numpy()
        if rows.size and rows.max() >= n_cells:
            bad = rows[rows >= n_cells][:5].tolist()
            raise ValueError(
                f"{pseudotime_file.name} refers to cell indices {bad} but the data have only {n_cells} cells "
                "(0-based indices expected)"
            )
        pseudotime[rows] = table.to_numpy()
    return pseudotime


def _larry_obs(
    metadata: pd.DataFrame, first_clone: np.ndarray, n_barcodes: np.ndarray, pseudotime: np.ndarray
) -> pd.DataFrame:
    """Return the loader's ``obs`` table for every cell of the files (see :func:`read_larry`, Returns)."""
    clone_labels = np.array([f"clone_{j}" if j >= 0 else np.nan for j in first_clone], dtype=object)
    time = pd.to_numeric(metadata["Time point"], errors="coerce").to_numpy(dtype=np.float64)
    columns: dict[str, Any] = {
        "clone": clone_labels,
        "n_clone_barcodes": n_barcodes,
        "time": time,
        "time_info": [_format_time(t) for t in time],
    }
    if "Well" in metadata:
        columns["well"] = _well_column(metadata["Well"])
    columns.update(
        cell_type=pd.Categorical(metadata["Cell type annotation"].to_numpy()),
        library=pd.Categorical(metadata["Library"].to_numpy()),
        barcode=metadata["Cell barcode"].to_numpy(dtype=object),
    )
    if "Starting population" in metadata:
        columns["starting_population"] = pd.Categorical(metadata["Starting population"].to_numpy())
    if "Cytokine condition" in metadata:
        columns["cytokine"] = pd.Categorical(metadata["Cytokine condition"].to_numpy())
    columns["neutrophil_pseudotime"] = pseudotime
    return pd.DataFrame(columns, index=pd.Index([str(i) for i in range(len(first_clone))]))


def download_larry(
    dest: str | Path,
    *,
    experiment: str = "in_vitro",
    files: Iterable[str] | None = None,
    base_url: str = LARRY_BASE_URL,
    progress: bool = False,
) -> Path:
    """Download one LARRY experiment's files into ``dest`` (with ``pooch``), ready for :func:`read_larry`.

    The files are those the public description of the data links to (AllonKleinLab/paper-data,
    ``Lineage_tracing_on_transcriptional_landscapes_links_state_to_fate_during_differentiation/README.md``),
    served by the Klein lab at :data:`LARRY_BASE_URL`. Files already in ``dest`` are not fetched
    again, so an interrupted download resumes with the files still missing (``pooch`` writes each file
    to a temporary name and renames it when complete, so a broken transfer never leaves a partial
    file). No checksums are published for these files, so the download is not verified
    (``known_hash=None``). The in-vitro counts matrix alone is several hundred MB gzipped.

    Parameters
    ----------
    dest
        Folder to write into (created if needed).
    experiment
        ``"in_vitro"`` (default), ``"in_vivo"`` or ``"cytokine"``: see :func:`read_larry`.
    files
        Remote file names to fetch, relative to ``base_url``; default :func:`larry_files`
        ``(experiment)`` (counts, metadata, clone matrix, gene names; in vitro also the neutrophil
        pseudotime; all gzipped).
    base_url
        Where the files live; default :data:`LARRY_BASE_URL`. A mirror with the same file names
        works too.
    progress
        Show pooch's download progress bar.

    Returns
    -------
    The folder ``dest`` as a :class:`pathlib.Path`, to pass to :func:`read_larry`.

    Raises
    ------
    ImportError
        If ``pooch`` is not installed.
    OSError
        If a download fails: the message names the URL and how to continue (another ``base_url``, or
        the files placed by hand in a folder for :func:`read_larry`).
    """
    experiment = _check_experiment(experiment)
    try:
        import pooch
    except ImportError as err:
        raise ImportError("download_larry needs the 'pooch' package: pip install pooch") from err

    names: Sequence[str] = (
        larry_files(experiment) if files is None else ([files] if isinstance(files, str) else list(files))
    )
    folder = Path(dest).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        url = f"{base_url.rstrip('/')}/{name}"
        try:
            pooch.retrieve(url=url, known_hash=None, fname=name, path=folder, progressbar=progress)
        except Exception as err:  # requests' HTTPError / ConnectionError, OSError, ...
            done = sorted(p.name for p in folder.iterdir() if p.name in names)
            raise OSError(
                f"downloading {url} failed ({type(err).__name__}: {err}). Files already in '{folder}': {done} "
                "(they are kept; calling download_larry again fetches only the missing ones). To use another "
                "source pass base_url= (a folder URL holding the same file names), or download the files by "
                f"hand into a folder and read it with read_larry(folder, experiment={experiment!r})."
            ) from err
    return folder
