"""The documentation builds with warnings as errors, and the API reference lists every public name."""

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: subpackages whose ``__all__`` the API reference must cover
MODULES = [
    "bioinfo_mi",
    "bioinfo_mi.estimators",
    "bioinfo_mi.datasets",
    "bioinfo_mi.pp",
    "bioinfo_mi.tl",
    "bioinfo_mi.pl",
    "bioinfo_mi.benchmark",
    "bioinfo_mi.uncertainty",
]
#: top-level names that are modules (documented by their own sections) or not API
NOT_LISTED = {"benchmark", "datasets", "estimators", "pl", "pp", "tl", "uncertainty", "__version__"}


@pytest.mark.integration
@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    for package in ("sphinx", "myst_nb", "sphinx_book_theme"):
        if importlib.util.find_spec(package) is None:
            pytest.fail(f"{package} is not installed: pip install -e '.[doc]' (the test extra includes it)")
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
    for page in (
        "index",
        "installation",
        "quickstart",
        "choosing_estimator",
        "benchmarks",
        "real_data",
        "workflows",
        "citing",
        "contributing",
        "api",
        "tutorials/lineage_markov",
        "tutorials/protein_interactions",
        "generated/bioinfo_mi.mi",
        "generated/bioinfo_mi.tl.lmi",
    ):
        assert (out / f"{page}.html").is_file(), page
    # the figures of docs/benchmarks.md are copied with it
    assert any((out / "_images").glob("*.png"))


def test_api_reference_lists_every_public_name():
    text = (DOCS / "api.md").read_text()
    listed = set(re.findall(r"^\s{3}([\w.]+)\s*$", text, flags=re.MULTILINE))  # autosummary entries
    listed |= set(re.findall(r"`bm\.estimators\.(\w+)`", text))  # re-exported result classes, linked
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for public in module.__all__:
            if name == "bioinfo_mi" and public in NOT_LISTED:
                continue
            if public not in listed:
                missing.append(f"{name}.{public}")
    assert not missing, f"public names missing from docs/api.md: {missing}"


def test_tutorials_are_linked_into_the_docs():
    for notebook in (ROOT / "tutorials").glob("*.ipynb"):
        link = DOCS / "tutorials" / notebook.name
        assert link.exists(), f"docs/tutorials/{notebook.name} is missing (a relative symlink to ../../tutorials/)"
        assert link.resolve() == notebook.resolve()
