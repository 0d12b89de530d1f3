"""The public surface: every public function documents its parameters and return value (numpydoc),
no shared docstring snippet is left unfilled, and the subpackages import one way only."""

import inspect
import re

import numpy as np
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


LAYERS = {  # a subpackage may import from the ones listed (and from the package's root modules)
    "estimators": set(),
    "datasets": {"estimators"},
    "pp": {"estimators", "datasets"},
    "tl": {"estimators", "datasets", "pp"},
    "pl": {"pp"},
}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_one_way_layers(package):
    """estimators know no AnnData tools, datasets never import pp, pl never imports tl."""
    import ast
    from pathlib import Path

    root = Path(bm.__file__).parent
    for path in (root / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                target = node.module.split(".")[0]
                if (root / target).is_dir():
                    assert target in LAYERS[package], f"{path.name} imports bioinfo_mi.{target}"


def test_renamed_keywords_still_work_for_one_release_with_a_warning():
    x, y = bm.datasets.gaussian_low_rank(d=4, rank=1, n=120, mi_bits=1.0, random_state=0)
    fast = {"epochs": 2, "random_state": 0}
    with pytest.warns(FutureWarning, match="'verbose' was renamed to 'progress'"):
        old = bm.estimators.lmi(x, y, verbose=False, **fast)
    assert old.mi == bm.estimators.lmi(x, y, progress=False, **fast).mi
    with pytest.raises(TypeError, match="got both 'progress' and its old name 'verbose'"):
        bm.estimators.lmi(x, y, verbose=False, progress=False, **fast)
    # through bm.mi the old name passes the option check and reaches the estimator's warning
    with pytest.warns(FutureWarning, match="'verbose' was renamed"):
        bm.mi(x, y, method="lmi", verbose=False, **fast)
    import inspect

    with pytest.warns(FutureWarning, match="'k' was renamed to 'rank'"):
        old_x, _ = bm.datasets.gaussian_low_rank(d=4, k=1, n=120, mi_bits=1.0, random_state=0)
    np.testing.assert_array_equal(old_x, x)
    with pytest.warns(FutureWarning, match="'k' was renamed to 'n_noise'"):
        assert bm.datasets.duplicate_noise(x, 0, k=2).shape == (120, 6)
    for func, old, new in (
        (bm.tl.markov_test, "alpha", "significance_level"),
        (bm.tl.interaction_roc, "chunk_size", "max_elements"),
        (bm.estimators.mine, "verbose", "progress"),
        (bm.estimators.infonce, "verbose", "progress"),
    ):
        assert func.__renamed__ == {old: new} and new in inspect.signature(func).parameters


def test_markov_test_alpha_is_the_significance_level_for_one_release():
    adata = bm.datasets.simulate_lineage(n_clones=120, n_genes=30, random_state=0)
    with pytest.warns(FutureWarning, match="'alpha' was renamed to 'significance_level'"):
        bm.tl.markov_test(adata, method="ksg", n_pairings=2, n_shuffles=1, min_clones=20, alpha=0.2, progress=False)
    assert adata.uns["markov_test"]["params"]["significance_level"] == 0.2


def test_progress_means_progress_bars_everywhere(capsys):
    x, y = bm.datasets.gaussian_low_rank(d=4, rank=1, n=200, mi_bits=1.0, random_state=0)
    quiet = bm.mi(x, y, method="lmi", epochs=3, random_state=0)
    shown = bm.mi(x, y, method="lmi", epochs=3, random_state=0, progress=True)
    assert shown.mi == quiet.mi and "LMI training" in capsys.readouterr().err  # the estimator's own bar
    # auto on 200 x (4 + 4) runs the calibrated KSG, which has no training bar: progress is not an error there
    assert bm.mi(x, y, progress=True).method == "ksg-calibrated"
