"""bm.mi dispatches every method; the demo command runs end to end."""

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.__main__ import main

REQUIRED = [
    "lmi",
    "ksg",
    "bi-ksg",
    "ksg-local",
    "ksg-global",
    "ksg-global-linf",
    "mine",
    "mine-local",
    "mine-global",
    "mine-global-corrected",
    "infonce",
]


def test_all_required_methods_registered():
    assert set(REQUIRED) <= set(bm.METHODS)


@pytest.mark.parametrize("method", ["ksg", "bi-ksg", "ksg-local", "ksg-global", "ksg-global-linf"])
def test_knn_methods_via_api(method):
    x, t, truth = bm.datasets.correlated_gaussian(n_samples=1500, d=2, rho=0.7, random_state=0)
    res = bm.mi(x, t, method=method, random_state=0)
    assert isinstance(res, bm.MIResult)
    assert res.method == method
    assert res.pmi.shape == (1500,)
    assert abs(res.mi - truth) < 0.25
    assert method in repr(res)


def test_method_name_is_case_insensitive():
    x, t, _ = bm.datasets.correlated_gaussian(n_samples=300, d=1, rho=0.7, random_state=0)
    assert bm.mi(x, t, method="KSG").mi == bm.mi(x, t, method="ksg").mi


@pytest.mark.slow
def test_lmi_via_api_returns_lmi_result():
    x, y = bm.datasets.gaussian_low_rank(d=20, rank=1, n_samples=300, mi_bits=1.0, random_state=0)
    res = bm.mi(x, y, method="lmi", random_state=0, epochs=3)
    assert isinstance(res, bm.LMIResult)
    assert np.isnan(res.pmi).sum() == 150


@pytest.mark.slow
def test_demo_runs(capsys):
    assert main(["demo", "--d", "30", "--n", "400", "--shuffles", "2"]) == 0
    out = capsys.readouterr().out
    assert "true MI = 1.000 bits" in out and "shuffled pairings (2)" in out
    # "p <= 0.333" needs the LMI estimate above both shuffled fits. From the spread: random_state 0-5 (and 1
    # vs 2 torch threads), 7 runs, gave estimate minus the larger shuffle 0.80 +/- 0.10 bits (0.63-0.93): 8 SD.
    assert "+/-" in out and "95% CI" in out and "p <= 0.333 (the resolution of 2 shuffles)" in out


def test_pandas_inputs_are_paired_by_index():
    """Two frames pair rows by label, as pandas does: a shuffled y gives the same MI, not ~0."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 2))
    y = x + 0.5 * rng.normal(size=(1000, 2))
    dx = pd.DataFrame(x, index=[f"c{i}" for i in range(1000)])
    dy = pd.DataFrame(y, index=dx.index)
    same = bm.mi(dx, dy, method="ksg").mi
    assert same > 1.0
    assert bm.mi(dx, dy.sample(frac=1, random_state=0), method="ksg").mi == same
    assert bm.mi(dx[0], dy[0].sample(frac=1, random_state=1), method="ksg").mi == bm.mi(dx[0], dy[0], method="ksg").mi
    with pytest.raises(ValueError, match="1 label\\(s\\) of x are not in y's index"):
        bm.mi(dx, dy.rename(index={"c5": "other"}), method="ksg")
    # arrays (or one array and one frame) are paired by position
    assert bm.mi(dx, y, method="ksg").mi == same
