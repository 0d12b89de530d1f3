"""Packaging smoke test: the sdist and wheel build offline, hold what they must, and the installed wheel runs.

The build runs on a copy of the repository's sources in a temporary folder (``python -m build --no-isolation``: no
network, setuptools from this environment), so it leaves nothing behind in the working tree. The wheel is
installed into a fresh ``python -m venv`` that sees this environment's installed dependencies through a
``.pth`` file but not the editable source tree, and its console script runs ``bioinfo-mi demo --quick``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import bioinfo_mi
from bioinfo_mi.__main__ import DEMO_SIZES

REPO = Path(__file__).resolve().parents[1]
VERSION = bioinfo_mi.__version__
NAME = "bioinfo_mi"
#: without git: working-tree entries that are not sources (environments, caches, build outputs)
NOT_SOURCES = (
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "_build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".snakemake",
    "*.pyc",
    "bmi_suite_cache",
)


def _copy_sources(dest: Path) -> None:
    """Copy what a clone holds plus untracked files git does not ignore (no caches, environments, outputs)."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=REPO,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*NOT_SOURCES), symlinks=True)
        return
    for name in filter(None, listed):
        if (REPO / name).is_file():  # tracked files deleted in the working tree are skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)


def _env() -> dict[str, str]:
    """Environment for the subprocesses: nothing that would put the source tree on the path, no network."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONNOUSERSITE="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path | str]:
    """Build the sdist and the wheel (from the sdist, as ``python -m build`` does) of a copy of the repository."""
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("`build` is missing: install the test extra, pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("packaging")
    src = root / "src"
    _copy_sources(src)
    out = root / "dist"
    proc = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, src], cwd=root)
    return {
        "root": root,
        "log": proc.stdout,
        "sdist": out / f"{NAME}-{VERSION}.tar.gz",
        "wheel": out / f"{NAME}-{VERSION}-py3-none-any.whl",
    }


@pytest.mark.integration
@pytest.mark.slow
def test_build_names_the_version(dists):
    assert f"Successfully built {NAME}-{VERSION}.tar.gz and {NAME}-{VERSION}-py3-none-any.whl" in dists["log"]
    assert dists["sdist"].is_file() and dists["wheel"].is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_sdist_contents(dists):
    with tarfile.open(dists["sdist"]) as tar:
        names = set(tar.getnames())
        pkg_info = tar.extractfile(f"{NAME}-{VERSION}/PKG-INFO").read().decode()
    for required in ("LICENSE", "README.md", "pyproject.toml", "bioinfo_mi/py.typed", "bioinfo_mi/__init__.py"):
        assert f"{NAME}-{VERSION}/{required}" in names, f"sdist lacks {required}"
    assert f"\nVersion: {VERSION}\n" in pkg_info
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]


@pytest.mark.integration
@pytest.mark.slow
def test_wheel_contents(dists):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"{dist_info}/METADATA").decode()
        entry_points = whl.read(f"{dist_info}/entry_points.txt").decode()
    assert "bioinfo_mi/py.typed" in names
    assert {f"{dist_info}/licenses/LICENSE", f"{dist_info}/LICENSE"} & names, "wheel lacks LICENSE in its dist-info"
    assert f"\nVersion: {VERSION}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "bioinfo-mi = bioinfo_mi.__main__:main" in entry_points
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


@pytest.mark.integration
@pytest.mark.slow
def test_installed_wheel_runs_demo(dists):
    root = dists["root"]
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # this environment's dependencies (and pip) on the fresh venv's path, after its own site-packages; a
    # directory named in a .pth file is not scanned for .pth files, so the editable install's hook stays off
    here = sysconfig.get_paths()
    deps = dict.fromkeys([here["purelib"], here["platlib"], *site.getsitepackages()])
    venv_site = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root).stdout.strip()
    )
    (venv_site / "_test_environment.pth").write_text("\n".join(deps) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation", dists["wheel"]], cwd=root)

    where = json.loads(
        _run(
            [python, "-c", "import json, bioinfo_mi; print(json.dumps([bioinfo_mi.__file__, bioinfo_mi.__version__]))"],
            cwd=root,
        ).stdout
    )
    installed = Path(where[0]).resolve()
    assert installed.is_relative_to(venv_site.resolve()), f"bioinfo_mi imported from {installed}, not the wheel"
    assert not installed.is_relative_to(REPO / "bioinfo_mi")
    assert where[1] == VERSION

    script = bindir / ("bioinfo-mi.exe" if os.name == "nt" else "bioinfo-mi")
    assert script.is_file(), "the wheel did not install the bioinfo-mi console script"
    out = _run([script, "demo", "--quick"], cwd=root, timeout=240).stdout
    quick = DEMO_SIZES["quick"]
    assert f"Algorithm 4 data: N={quick['n']}, d={quick['d']}, rank 1, true MI = 1.000 bits" in out
    assert re.search(r"estimate: -?\d+\.\d{3} \+/- \d+\.\d{3} bits \(95% CI ", out), out
    assert f"shuffled pairings ({quick['shuffles']}):" in out, out


def test_demo_quick_sizes(monkeypatch):
    """``demo --quick`` runs the quick sizes; options given explicitly win; without it, the full demo."""
    import bioinfo_mi.__main__ as cli

    calls = []
    monkeypatch.setattr(cli, "demo", lambda *args: calls.append(args) or 0)
    assert cli.main(["demo", "--quick"]) == 0
    assert cli.main(["demo", "--quick", "--n", "500", "--shuffles", "2"]) == 0
    assert cli.main(["demo"]) == 0
    quick, default = DEMO_SIZES["quick"], DEMO_SIZES["default"]
    # demo(d, rank, n, mi_bits, n_shuffles, method, random_state, n_refits)
    assert calls[0] == (quick["d"], 1, quick["n"], 1.0, quick["shuffles"], "auto", 0, quick["refits"])
    assert calls[1] == (quick["d"], 1, 500, 1.0, 2, "auto", 0, quick["refits"])
    assert calls[2] == (default["d"], 1, default["n"], 1.0, default["shuffles"], "auto", 0, default["refits"])
    assert default == {"d": 1000, "n": 2000, "shuffles": 3, "refits": 2}  # the README's demo
