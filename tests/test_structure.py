"""The code base stays one a newcomer can change: short functions, private names kept inside their
subpackage, and tests that depend on the package only (docs/contributing.md, "Layout").

Rules checked here, each on the source with :mod:`ast` (nothing is imported or run):

- **Function length.** No function or method in ``bioinfo_mi/`` has more than ``MAX_LINES`` lines of code.
  A line of code is a line of the function (``def`` line and decorators' own lines excluded, nested
  functions included) that holds a token other than a comment; the lines of a docstring (of the function
  or of a function nested in it) do not count, nor do blank and comment-only lines.
- **Private names stay in their subpackage.** The package's groups are its subpackages (``estimators``,
  ``datasets``, ``pp``, ``tl``, ``pl``, ``benchmark``) and its root (the modules directly in
  ``bioinfo_mi/``: ``api``, ``uncertainty``, ``_validation``, ``_fits``, ...). An import from another group
  (function-local imports included) may name only public names: nothing whose name starts with one
  underscore (``from ..pp.pairing import _check_obs_key``, ``from .._fits import _jobs``), and no
  attribute ``module._name`` of a module imported from another group. The module *path* may be private:
  ``from .._validation import check_pair`` and ``from ..estimators._knn import density_ratio_grid`` are fine
  (scanpy's layout: private module files, public names). A helper that two groups share gets a public name
  in a module meant for sharing (``tl/_utils.py``, ``bioinfo_mi/_arrays.py``).
- **Tests stand on the package.** No file under ``tests/`` imports a module of ``benchmarks/``: no
  ``import _common`` (or any other ``benchmarks/*.py`` module name), no ``sys.path`` change and no
  ``importlib`` loading in a file whose code names the ``benchmarks`` folder. A benchmark script is tested
  by running it (``subprocess``), as ``tests/workflows/test_reproduce_real_data.py`` does.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bioinfo_mi"
TESTS = ROOT / "tests"
BENCHMARKS = ROOT / "benchmarks"
#: most lines of code per function (docstring, blank and comment lines excluded)
MAX_LINES = 80
#: tokens that do not make a line a line of code
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _code_lines(source: str) -> set[int]:
    """Line numbers (1-based) that hold a token other than a comment or whitespace."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers of every docstring (module, class and function) in ``tree``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, *FUNCTIONS)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def function_lengths(source: str, name: str = "<source>") -> dict[str, int]:
    """Lines of code of every function in ``source``, keyed ``qualified.name:line``."""
    tree = ast.parse(source, name)
    code = _code_lines(source) - _docstring_lines(tree)
    lengths = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, FUNCTIONS):
                qualname = f"{prefix}{child.name}"
                lengths[f"{qualname}:{child.lineno}"] = len(code & set(range(child.lineno, child.end_lineno + 1)))
                visit(child, f"{qualname}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return lengths


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def group(module: str) -> str:
    """The subpackage a module of the package belongs to (``tl``, ``pp``, ...), ``""`` for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def private_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that bring a private name from another group, as readable strings."""
    problems = []
    foreign_modules: dict[str, str] = {}  # local alias -> module of another group imported under it
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node)
            if base.split(".")[0] != "bioinfo_mi":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in MODULES else base
                if group(target) == group(module):
                    continue
                if full in MODULES:  # a module imported by name: its private attributes are checked below
                    foreign_modules[alias.asname or alias.name] = full
                elif _private(alias.name):
                    problems.append(f"line {node.lineno}: from {base} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES and group(alias.name) != group(module) and alias.asname:
                    foreign_modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            if node.value.id in foreign_modules:
                problems.append(f"line {node.lineno}: {foreign_modules[node.value.id]}.{node.attr}")
    return sorted(problems, key=lambda problem: int(problem.split(":")[0].removeprefix("line ")))


BENCHMARK_MODULES = {p.stem for p in BENCHMARKS.glob("*.py")}
LOADERS = {"spec_from_file_location", "import_module", "run_path", "SourceFileLoader"}


def _is_benchmarks(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and "benchmarks" in Path(node.value).parts


def _names_benchmarks(node: ast.AST) -> bool:
    """Whether ``node`` builds a path into ``benchmarks/``: ``root / "benchmarks"``, ``Path("benchmarks/x.py")``,
    ``os.path.join(root, "benchmarks")`` (a page or word "benchmarks" elsewhere does not count)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _is_benchmarks(node.left) or _is_benchmarks(node.right)
    if isinstance(node, ast.Call):
        return any(_is_benchmarks(arg) for arg in node.args)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and "benchmarks/" in node.value


def benchmark_imports(source: str) -> list[str]:
    """How a test file's code reaches into ``benchmarks/``, as readable strings (empty when it does not)."""
    tree = ast.parse(source)
    problems = []
    names_benchmarks = any(_names_benchmarks(node) for node in ast.walk(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            modules = []
        for name in modules:
            if name.split(".")[0] in BENCHMARK_MODULES | {"benchmarks"}:
                problems.append(f"line {node.lineno}: imports {name}")
        if names_benchmarks and isinstance(node, ast.Attribute):
            if node.attr in LOADERS:
                problems.append(f"line {node.lineno}: {node.attr} in a file that names benchmarks/")
            elif node.attr in {"insert", "append"} and ast.unparse(node.value) == "sys.path":
                problems.append(f"line {node.lineno}: sys.path.{node.attr} in a file that names benchmarks/")
    return sorted(problems, key=lambda problem: int(problem.split(":")[0].removeprefix("line ")))


# ---- the rules, on the package and the tests ----


def test_no_function_is_longer_than_80_lines_of_code():
    long = {
        f"{path.relative_to(ROOT)}::{name}": n
        for path in MODULES.values()
        for name, n in function_lengths(path.read_text(encoding="utf-8"), str(path)).items()
        if n > MAX_LINES
    }
    listed = "\n".join(f"  {where}: {n} lines" for where, n in sorted(long.items(), key=lambda kv: -kv[1]))
    assert not long, f"functions over {MAX_LINES} lines of code (split them into named private steps):\n{listed}"


def test_no_private_name_is_imported_across_subpackages():
    found = {
        module: problems
        for module, path in MODULES.items()
        if (problems := private_imports(module, path.read_text(encoding="utf-8"), path.name == "__init__.py"))
    }
    listed = "\n".join(f"  {module}: {'; '.join(problems)}" for module, problems in found.items())
    assert not found, f"private names imported from another subpackage (give the helper a public name):\n{listed}"


def test_tests_do_not_import_from_benchmarks():
    found = {
        str(path.relative_to(ROOT)): problems
        for path in sorted(TESTS.rglob("*.py"))
        if (problems := benchmark_imports(path.read_text(encoding="utf-8")))
    }
    listed = "\n".join(f"  {name}: {'; '.join(problems)}" for name, problems in found.items())
    assert not found, f"tests that import code from benchmarks/ (move it into the package or run the script):\n{listed}"


# ---- the checkers themselves catch what they should ----


def test_function_lengths_count_code_only():
    source = '''
def f(a,
      b):
    """Doc
    string."""
    # a comment

    x = [
        1,
    ]

    def inner():
        """Inner doc."""
        return """not a
        docstring"""

    return x  # trailing comment


class C:
    @property
    def g(self):
        return 1
'''
    lengths = function_lengths(source)
    # f: signature (2 lines), x = [...] (3), def inner (1), its return (2), return x (1)
    assert lengths == {"f:2": 9, "f.inner:12": 3, "C.g:22": 2}


def test_private_import_rule(monkeypatch):
    monkeypatch.setitem(MODULES, "bioinfo_mi.pp.pairing", PACKAGE / "pp" / "pairing.py")
    monkeypatch.setitem(MODULES, "bioinfo_mi._validation", PACKAGE / "_validation.py")
    source = """
from ..pp.pairing import _check_obs_key, shared_clones
from .._validation import check_pair
from ._utils import _private_but_same_subpackage
from ..pp import pairing
from .. import _validation

def f():
    from .._fits import _jobs
    return pairing._draw(), _validation._helper(), pairing.shared_clones
"""
    problems = private_imports("bioinfo_mi.tl._markov", source)
    assert problems == [
        "line 2: from bioinfo_mi.pp.pairing import _check_obs_key",
        "line 9: from bioinfo_mi._fits import _jobs",
        "line 10: bioinfo_mi.pp.pairing._draw",
        "line 10: bioinfo_mi._validation._helper",
    ]
    # inside one group (the root here) private names are the group's own business
    assert private_imports("bioinfo_mi.api", "from ._fits import _jobs\n") == []
    assert group("bioinfo_mi.tl._markov") == "tl" and group("bioinfo_mi._fits") == "" and group("bioinfo_mi") == ""


def test_benchmark_import_rule():
    hack = 'import sys\nfrom pathlib import Path\nsys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))\n'
    assert benchmark_imports(hack + "from _common import f\n") == [
        "line 3: sys.path.insert in a file that names benchmarks/",
        "line 4: imports _common",
    ]
    loader = (
        'import importlib.util\nSCRIPT = ROOT / "benchmarks" / "x.py"\n'
        'importlib.util.spec_from_file_location("x", SCRIPT)\n'
    )
    assert benchmark_imports(loader) == ["line 3: spec_from_file_location in a file that names benchmarks/"]
    # running a script, or a sys.path change that does not concern benchmarks/, is fine
    assert benchmark_imports('subprocess.run([sys.executable, str(ROOT / "benchmarks" / "x.py")])\n') == []
    assert benchmark_imports("import sys\nsys.path.insert(0, str(HERE))\n") == []


@pytest.mark.parametrize("name", ["_common", "check_numbers"])
def test_benchmark_module_names_are_known(name):
    assert name in BENCHMARK_MODULES
