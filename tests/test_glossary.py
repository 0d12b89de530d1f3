"""One name per concept: the public signatures agree with the glossary of docs/contributing.md ("Names").

- Every parameter name that two or more public functions use, and every name the project decided on
  (``DECIDED``), has an entry in the glossary; every entry is still used by a public function.
- No retired name (``RETIRED``) appears in a public signature, and none is kept alive by a deprecation
  shim (``@renamed``, a module ``__getattr__``): an old name is Python's plain "unexpected keyword argument".
- ``random_state`` accepts ``int | np.random.Generator | None``, and it is a function's only seed parameter.
- A few names whose meaning shows in their type have that type wherever they occur (``TYPES``).

The public functions are those in ``__all__`` of ``bm``, ``bm.estimators``, ``bm.uncertainty``,
``bm.datasets``, ``bm.pp``, ``bm.tl``, ``bm.pl`` and ``bm.benchmark``; the retired-name and seed checks also
cover the constructors of the public classes that are not dataclasses (records).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRIBUTING = ROOT / "docs" / "contributing.md"
MODULES = [
    "bioinfo_mi",
    "bioinfo_mi.estimators",
    "bioinfo_mi.uncertainty",
    "bioinfo_mi.datasets",
    "bioinfo_mi.pp",
    "bioinfo_mi.tl",
    "bioinfo_mi.pl",
    "bioinfo_mi.benchmark",
]
#: names the project decided on: listed in the glossary even while only one public function uses them
DECIDED = {
    "x", "y", "k", "base", "method", "random_state", "n_jobs", "progress", "error_bars", "n_shuffles",
    "n_pairings", "fits", "cache_dir", "estimator_kwds", "use_rep", "layer", "key_added", "key", "copy",
    "clone_key", "condition_key", "time_key", "well_key", "conditions", "min_clones", "attribution", "rank",
    "n_samples", "d", "mi_bits",
}  # fmt: skip
#: old name -> the name to use; none of them may appear in a public signature
RETIRED = {
    "progressbar": "progress",
    "verbose": "progress",
    "pmi_key": "key",
    "splits": "fits",
    "K": "n_<things>",
    "seed": "random_state",
    "estimator_options": "estimator_kwds",
    "alpha": "a name that says what it weighs",
    "chunk_size": "max_elements",
    "n": "n_samples",
    "dim": "d or n_features",
    "query": "query_embeddings or omnipath_kwds",
}
#: name -> words its annotation must contain wherever it is annotated (the type that carries its meaning)
TYPES = {
    "random_state": ("int", "Generator", "None"),
    "k": ("int",),
    "base": ("str", "float"),  # a unit: "bits", "nats" or a logarithm base
    "progress": ("bool",),
    "copy": ("bool",),
    "n_jobs": ("int",),
    "fits": ("Sequence[int]", "None"),
    "key_added": ("str",),
    "key": ("str",),
    "error_bars": ("bool",),
    "n_shuffles": ("int",),
    "n_pairings": ("int",),
    "estimator_kwds": ("Mapping", "None"),
    "scale": ("float",),  # a scale factor (not a switch)
}
#: a parameter that is a seed (other than random_state); ``n_seeds`` is a count, not a seed
SEED = re.compile(r"(?:^|_)seed$")


def public_objects() -> dict[str, object]:
    """``{"bm.tl.lmi": function, ...}`` for every public function and class (each object once).

    Dataclasses are left out: their fields are the attributes of a record the package returns or a
    user fills in (``MIResult.se``, ``HoldoutSplit.seed``, the int seed a split's fits got), not options.
    """
    found: dict[int, tuple[str, object]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = getattr(module, public)
            if inspect.isfunction(obj) or (inspect.isclass(obj) and not dataclasses.is_dataclass(obj)):
                found.setdefault(id(obj), (f"{name.replace('bioinfo_mi', 'bm')}.{public}", obj))
    return dict(found.values())


def parameters(obj: object) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in inspect.signature(obj).parameters.items() if n not in ("self", "cls")}


def section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section of a Markdown page (up to the next level-2 heading)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"docs/contributing.md has no '## {heading}' section"
    return match.group(1)


def glossary_terms(text: str) -> set[str]:
    """Names defined in the Names section: the terms of its definition lists (```name`, `other```, then ``: ...``)."""
    body = section(text, "Names")
    terms = re.findall(r"^((?:`\w+`(?:,\s*)?)+)\s*\n:\s", body, flags=re.M)
    return {name for term in terms for name in re.findall(r"`(\w+)`", term)}


def retired_terms(text: str) -> set[str]:
    """Old names in the first column of the table under '### Retired names'."""
    body = section(text, "Names")
    match = re.search(r"^### Retired names\s*$(.*?)(?=^#|\Z)", body, flags=re.M | re.S)
    assert match, "the Names section has no '### Retired names' table"
    rows = re.findall(r"^\|([^|\n]*)\|", match.group(1), flags=re.M)
    return {name for row in rows for name in re.findall(r"`(\w+)`", row)}


@pytest.fixture(scope="module")
def objects() -> dict[str, object]:
    return public_objects()


@pytest.fixture(scope="module")
def functions(objects) -> dict[str, object]:
    return {name: obj for name, obj in objects.items() if inspect.isfunction(obj)}


@pytest.fixture(scope="module")
def text() -> str:
    return CONTRIBUTING.read_text(encoding="utf-8")


def _uses(functions: dict[str, object]) -> dict[str, list[str]]:
    uses = defaultdict(list)
    for where, func in functions.items():
        for name in parameters(func):
            uses[name].append(where)
    return uses


def test_shared_and_decided_names_are_in_the_glossary(functions, text):
    terms = glossary_terms(text)
    uses = _uses(functions)
    required = {name for name, where in uses.items() if len(where) >= 2} | DECIDED
    missing = {name: sorted(uses.get(name, []))[:4] for name in sorted(required - terms - set(RETIRED))}
    assert not missing, f"parameter names missing from the glossary (docs/contributing.md, Names): {missing}"


def test_every_glossary_entry_is_used(functions, text):
    uses = _uses(functions)
    stale = sorted(glossary_terms(text) - set(uses))
    assert not stale, f"glossary entries that no public function uses (remove or rename them): {stale}"


def test_no_retired_name_in_a_public_signature(objects):
    found = {
        where: [f"{old} (use {RETIRED[old]})" for old in sorted(set(parameters(obj)) & set(RETIRED))]
        for where, obj in objects.items()
    }
    found = {where: olds for where, olds in found.items() if olds}
    assert not found, f"retired parameter names in public signatures: {found}"


def test_the_glossary_lists_the_retired_names_and_defines_none_of_them(text):
    assert set(RETIRED) <= retired_terms(text), "docs/contributing.md, Retired names, lacks some of RETIRED"
    assert not glossary_terms(text) & set(RETIRED), "a retired name is defined in the glossary"


def test_no_deprecation_shims_keep_old_names_alive():
    """No ``@renamed`` decorator, no module ``__getattr__`` and no ``**estimator_options`` catch-all."""
    found = []
    for path in sorted((ROOT / "bioinfo_mi").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    call = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if ast.unparse(call).split(".")[-1] == "renamed":
                        found.append(f"{where}:{node.lineno}: @renamed on {node.name}")
                if node.args.kwarg is not None and node.args.kwarg.arg == "estimator_options":
                    found.append(f"{where}:{node.lineno}: **estimator_options in {node.name}")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                found.append(f"{where}:{node.lineno}: module __getattr__")
    assert not found, "deprecation shims (remove them; an old name must be a plain TypeError):\n" + "\n".join(found)


def _annotation(param: inspect.Parameter) -> str:
    annotation = param.annotation
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def test_random_state_accepts_a_generator_and_is_the_only_seed(objects):
    wrong, seeds = {}, {}
    for where, obj in objects.items():
        params = parameters(obj)
        if "random_state" in params:
            annotation = _annotation(params["random_state"])
            if not all(re.search(rf"\b{word}\b", annotation) for word in TYPES["random_state"]):
                wrong[where] = annotation
        if extra := [name for name in params if SEED.search(name)]:
            seeds[where] = extra
    assert not wrong, f"random_state must be annotated int | np.random.Generator | None: {wrong}"
    assert not seeds, f"seed parameters other than random_state (one seed argument per function): {seeds}"


@pytest.mark.parametrize("name", sorted(set(TYPES) - {"random_state"}))
def test_one_type_per_name(name, functions):
    wrong = {}
    for where, func in functions.items():
        param = parameters(func).get(name)
        if param is None or param.annotation is inspect.Parameter.empty:
            continue
        annotation = _annotation(param)
        if not all(word in annotation for word in TYPES[name]):
            wrong[where] = annotation
    assert not wrong, f"'{name}' should be annotated with {' and '.join(TYPES[name])} everywhere: {wrong}"


def test_glossary_parser():
    page = """# Contributing

## Names

Text with `not_a_term` inline.

`x`, `y`
: arrays.

`k`
: neighbours.

### Retired names

| old | use |
| --- | --- |
| `progressbar`, `verbose` | `progress` |

## Later

`z`
: not in the section.
"""
    assert glossary_terms(page) == {"x", "y", "k"}
    assert retired_terms(page) == {"progressbar", "verbose"}


@pytest.mark.parametrize(
    ("where", "kwargs"),
    [
        ("datasets.gaussian_low_rank", {"n": 10}),
        ("datasets.correlated_gaussian", {"n": 10}),
        ("datasets.additive_noise", {"n": 10}),
        ("datasets.clustered", {"n": 10}),
        ("datasets.label_pairs", {"n": 10, "mi_bits": 0.5}),
        ("datasets.resample_pairs", {"data": None, "labels": None, "n": 10}),
        ("uncertainty.growth_factor", {"part_size": 10, "n": 100, "mi_bits": 1.0}),
        ("datasets.simulate_interactions", {"dim": 8}),
        ("estimators.choose_method", {"n_samples": 100, "dim": 4}),
        ("estimators.normalize", {"x": None, "kind": "local"}),
        (
            "estimators.role_log_ratios",
            {"train_embeddings": None, "source_degree": None, "target_degree": None, "query": None},
        ),
        ("datasets.load_interactions", {"kind": "ligrec"}),
        ("datasets.load_interactions", {"query": {"organism": 9606}}),
        ("pl.lmi", {"adata": None, "labels": ["a"]}),
    ],
)
def test_renamed_parameters_are_plain_type_errors(where: str, kwargs: dict) -> None:
    """Old names (``n``, ``dim``, ``kind``, ``query``, ``pl.lmi(labels=)``) are unknown keywords, not aliases."""
    module, name = where.split(".")
    func = getattr(importlib.import_module(f"bioinfo_mi.{module}"), name)
    old = next(key for key in kwargs if key not in parameters(func))
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '{old}'"):
        func(**kwargs)
