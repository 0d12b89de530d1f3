"""The public surface: every public function documents its parameters and return value (numpydoc),
no shared docstring snippet is left unfilled, and the package's modules import one way only (no circle)."""

import inspect
import re

import pytest

import bioinfo_mi as bm
from bioinfo_mi import uncertainty

MODULES = {
    "bm": bm,
    "bm.estimators": bm.estimators,
    "bm.datasets": bm.datasets,
    "bm.pp": bm.pp,
    "bm.tl": bm.tl,
    "bm.pl": bm.pl,
    "bm.benchmark": bm.benchmark,
    "bioinfo_mi.uncertainty": uncertainty,
}


def _public_functions():
    for prefix, module in MODULES.items():
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield pytest.param(obj, id=f"{prefix}.{name}")


@pytest.mark.parametrize("func", list(_public_functions()))
def test_numpydoc_parameters_and_returns(func):
    doc = inspect.getdoc(func) or ""
    assert doc, "no docstring"
    assert not re.search(r"^\s*\{\w+\}\s*$", doc, re.M), "unfilled shared snippet"
    params = [p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")]
    if params:
        assert re.search(r"^Parameters\n-{10}", doc, re.M), "no Parameters section"
        for p in params:
            name = ("**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else "") + p.name
            assert re.search(rf"^(?:[\w*]+, )*{re.escape(name)}(?:, [\w*]+)*\s*(?::.*)?$", doc, re.M), (
                f"parameter {name} not documented"
            )
    assert re.search(r"^(Returns|Yields)\n-{7}", doc, re.M), "no Returns section"


#: the package's layers, bottom to top: each unit (a module directly in ``bioinfo_mi/``, or a subpackage) may import
#: only the units listed for it, function-local imports included (docs/contributing.md, "Layout")
_BASE = {"_version", "_docs", "_validation", "_rows", "_arrays"}
_CORE = _BASE | {"_parallel", "_cache", "_fits", "uncertainty", "api", "conditional"}
LAYERS: dict[str, set[str]] = {
    "_version": set(),
    "_docs": set(),
    "_validation": set(),
    "_rows": {"_validation"},  # samples read one block of rows at a time (sparse, lazy, atlas-sized)
    "_arrays": {"_validation"},
    "_parallel": set(),  # threads, seeds, the parallel loop, progress
    "_cache": {"_parallel", "_version"},  # cache file formats, fingerprints, defaults behind a fit
    "estimators": _BASE | {"_parallel"},  # the estimators and the method registry (estimators/_registry.py)
    "_fits": _BASE | {"_parallel", "_cache", "estimators"},  # fit jobs through the registry
    "uncertainty": _BASE | {"_parallel", "_fits", "estimators"},
    "api": _BASE | {"_parallel", "_fits", "estimators", "uncertainty"},
    "conditional": _BASE
    | {"_parallel", "_fits", "estimators", "uncertainty"},  # bm.cmi: conditional MI and its CI test
    "datasets": _BASE | {"estimators"},
    "pp": _BASE | {"_parallel", "estimators", "datasets"},
    "tl": _CORE | {"estimators", "datasets", "pp"},
    "pl": _BASE | {"pp"},
    "benchmark": _CORE | {"estimators", "datasets"},
    "__main__": _CORE | {"estimators", "datasets", "pp", "tl", "pl", "benchmark", "__init__"},
}


def _module_name(path, root):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module):
    """The layer a module belongs to: its root module or subpackage (``__init__`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def import_edges(root):
    """Every import of the package at ``root`` (function-local ones too): ``{(module, target): line}``, each
    target the most specific module of the package that the imported name refers to (a subpackage's
    ``__init__`` included), as ``python ../shared/tools/import_graph.py`` reads them."""
    import ast

    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    edges = {}
    for mod, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    base = node.module or ""
                else:
                    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join(package + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != mod:
                    edges.setdefault((mod, target), node.lineno)
    return files, edges


def layer_violations(root):
    """Imports of the package at ``root`` that go against :data:`LAYERS` (or come from a unit not in it)."""
    files, edges = import_edges(root)
    out = [f"{_unit(m)} is in no layer of LAYERS" for m in files if _unit(m) not in LAYERS and _unit(m) != "__init__"]
    for (mod, target), line in sorted(edges.items()):
        a, b = _unit(mod), _unit(target)
        if a != b and a != "__init__" and b not in LAYERS.get(a, set()):
            out.append(f"{files[mod].relative_to(root.parent)}:{line} imports {target} ({a} -> {b})")
    return sorted(set(out))


def import_circles(root):
    """Circles of modules of the package at ``root`` (function-local imports included; an import of a
    subpackage's ``__init__`` is not followed into it, as in ``python ../shared/tools/import_graph.py``)."""
    files, edges = import_edges(root)
    graph = {m: [] for m in files}
    for mod, target in edges:
        if files[target].name != "__init__.py":
            graph[mod].append(target)
    state, circles = {}, []

    def visit(mod, path):
        state[mod] = "open"
        for target in graph[mod]:
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[mod] = "done"

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    return circles


def test_one_way_layers():
    """Every import goes down the layers of LAYERS: the estimators know no AnnData tools and no repeated fits,
    the fit jobs run the estimators through their registry (not through ``bm.mi``), the error bars sit on
    the fit jobs, ``bm.mi`` on the error bars, the datasets never import pp, pl never imports tl."""
    from pathlib import Path

    assert layer_violations(Path(bm.__file__).parent) == []


def test_no_import_circle():
    from pathlib import Path

    assert import_circles(Path(bm.__file__).parent) == []


def test_layer_checks_catch_a_lower_module_importing_a_higher_one(tmp_path):
    """The checks see a function-local import of a higher layer (the fit-job layer calling ``bm.mi``), and the
    circle it closes."""
    package = tmp_path / "bioinfo_mi"
    (package / "estimators").mkdir(parents=True)
    (package / "__init__.py").write_text("from .api import mi\n")
    (package / "estimators" / "__init__.py").write_text("")
    (package / "estimators" / "_knn.py").write_text("from .._parallel import cpu_workers\n")
    (package / "_parallel.py").write_text("")
    (package / "_fits.py").write_text("from .estimators._knn import ksg\n\ndef fit():\n    from .api import mi\n")
    (package / "api.py").write_text("from ._fits import fit\n")
    assert layer_violations(package) == ["bioinfo_mi/_fits.py:4 imports bioinfo_mi.api (_fits -> api)"]
    assert import_circles(package) == ["bioinfo_mi.api -> bioinfo_mi._fits -> bioinfo_mi.api"]


def test_method_registry_is_the_one_source_of_method_metadata():
    """``bm.METHODS``, the option lists, the error-bar designs and the threading sets are views of one registry."""
    from bioinfo_mi import api
    from bioinfo_mi.estimators._registry import REGISTRY

    assert list(bm.METHODS) == list(REGISTRY)
    assert all(bm.METHODS[name] is entry.run for name, entry in REGISTRY.items())
    assert all(api.method_options(name) == set(entry.options) for name, entry in REGISTRY.items())
    assert api.DETERMINISTIC == {name for name, entry in REGISTRY.items() if entry.deterministic}
    assert uncertainty.SUBSAMPLED == {name for name, entry in REGISTRY.items() if entry.se_design == "subsampling"}
    assert uncertainty.REFITTED == {name for name, entry in REGISTRY.items() if entry.refits}
    # every method but auto (which takes the design of the estimator it ran) has a standard error of its own
    assert {entry.se_design for name, entry in REGISTRY.items() if name != "auto"} <= {
        "subsampling",
        "copula-subsampling",
        "latent-subsampling",
        "pointwise",
    }
    assert "normalization" not in api.method_options("mine-local") and "normalization" in api.method_options("lmi")


def test_a_misspelled_or_removed_keyword_is_a_plain_type_error():
    x, y = bm.datasets.gaussian_low_rank(d=4, rank=1, n_samples=120, mi_bits=1.0, random_state=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'verbose'"):
        bm.estimators.lmi(x, y, verbose=False, epochs=2)
    for func in (bm.estimators.mine, bm.estimators.infonce):
        with pytest.raises(TypeError, match="unexpected keyword argument 'verbose'"):
            func(x, y, verbose=False)
    with pytest.raises(TypeError, match="unexpected option 'verbose'"):
        bm.mi(x, y, method="lmi", verbose=False, epochs=2)


@pytest.mark.slow
def test_progress_means_progress_bars_everywhere(capsys):
    x, y = bm.datasets.gaussian_low_rank(d=4, rank=1, n_samples=200, mi_bits=1.0, random_state=0)
    quiet = bm.mi(x, y, method="lmi", epochs=3, random_state=0)
    shown = bm.mi(x, y, method="lmi", epochs=3, random_state=0, progress=True)
    assert shown.mi == quiet.mi and "LMI training" in capsys.readouterr().err  # the estimator's own bar
    # auto on 200 x (4 + 4) runs the calibrated KSG, which has no training bar: progress is not an error there
    assert bm.mi(x, y, progress=True).method == "ksg-calibrated"
