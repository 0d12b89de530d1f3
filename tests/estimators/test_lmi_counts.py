"""LMI on count matrices (issue 30, session 18): a side of non-negative integer values passes through
``log(1 + x)`` before the standardisation in the ``"default"`` preset, exactly as if the user had applied
``np.log1p``; never in ``"paper"``, never where a value is negative or fractional, and never where
``log_counts=False``. The map is applied again to new samples by ``model.encode``."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from bioinfo_mi.estimators._lmi import PRESETS, lmi


def _counts(n=600, d=24, seed=0):
    """Negative-binomial-like counts whose rates share one factor on the first 4 columns of each side."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    rates = np.full((n, d), 0.5)
    rates[:, :4] = 2 * np.exp(0.9 * z)[:, None]
    gamma = rng.gamma(2.0, 0.5, size=(n, d))
    x = rng.poisson(rates * gamma).astype(np.float64)
    rates[:, :4] = 2 * np.exp(0.9 * (z + 0.5 * rng.normal(size=n)))[:, None]
    y = rng.poisson(rates * rng.gamma(2.0, 0.5, size=(n, d))).astype(np.float64)
    return x, y


def _fit(x, y, **kwds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lmi(x, y, random_state=0, epochs=kwds.pop("epochs", 3), **kwds)


def test_counts_are_fitted_as_their_log1p_exactly():
    x, y = _counts()
    res = _fit(x, y)
    assert res.params["log1p"] == [True, True] and res.params["log_counts_rule"] == "preset"
    assert res.model.x_log1p and res.model.y_log1p
    # the same fit as on np.log1p of the counts (not counts: used as given)
    logged = _fit(np.log1p(x), np.log1p(y))
    assert logged.params["log1p"] == [False, False]
    assert res.mi == logged.mi and np.array_equal(res.pmi, logged.pmi, equal_nan=True)
    # the model maps new raw counts the same way
    new_x, new_y = _counts(seed=5)
    zx, zy = res.model.encode(new_x[:50], new_y[:50])
    lx, ly = logged.model.encode(np.log1p(new_x[:50]), np.log1p(new_y[:50]))
    assert np.array_equal(zx, lx) and np.array_equal(zy, ly)
    with pytest.raises(ValueError, match="x has negative values.*counts"):
        res.model.encode(new_x[:50] - 1, new_y[:50])


def test_log_counts_off_paper_preset_and_non_counts_use_the_values_as_given():
    x, y = _counts()
    off = _fit(x, y, log_counts=False)
    assert off.params["log1p"] == [False, False] and off.params["log_counts_rule"] == "given"
    assert not PRESETS["paper"].log_counts and PRESETS["default"].log_counts
    paper = _fit(x, y, preset="paper", epochs=1)
    assert paper.params["log1p"] == [False, False]
    # one side counts, the other not: only the counts side is transformed
    mixed = _fit(x, y + 0.5, epochs=1)
    assert mixed.params["log1p"] == [True, False]
    # 0/1 values (log1p is linear on them) and negative integers are not counts
    assert _fit((x > 1).astype(float), y, epochs=1).params["log1p"] == [False, True]
    assert _fit(x - 1, y, epochs=1).params["log1p"] == [False, True]
    assert off.mi != _fit(x, y).mi
    with pytest.raises(TypeError, match="log_counts must be True, False or None"):
        lmi(x, y, log_counts="yes")


def test_sparse_and_float32_counts_match_the_dense_fit():
    x, y = _counts()
    dense = _fit(x.astype(np.float32), y.astype(np.float32))
    sparse = _fit(sp.csr_matrix(x.astype(np.float32)), sp.csc_matrix(y.astype(np.float32)))
    assert sparse.params["log1p"] == [True, True]
    # the sparse statistics are sums of the stored values (another order of the float64 sums)
    assert abs(sparse.mi - dense.mi) < 0.05
