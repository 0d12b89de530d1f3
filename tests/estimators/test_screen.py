"""Feature screening on LMI's training half (``lmi(screen=True)``, issue 30): the columns that carry the
partner's information are kept, noise columns are left out, a side with no linear signal keeps every
column, and the held-out estimate recovers what the noise columns hid."""

import warnings

import numpy as np
import pytest
import torch

import bioinfo_mi as bm
from bioinfo_mi.estimators._lmi import lmi
from bioinfo_mi.estimators._screen import screen_columns


def _states_with_noise(n, n_informative, n_noise, effect, seed):
    """Shared states (6) seen in ``n_informative`` columns per side among ``n_noise`` noise columns, shuffled."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 6, size=n)
    sides, informative = [], []
    for _ in range(2):
        means = rng.normal(scale=effect, size=(6, n_informative))
        a = np.hstack([means[s] + rng.normal(size=(n, n_informative)), rng.normal(size=(n, n_noise))])
        order = rng.permutation(a.shape[1])
        sides.append(a[:, order])
        informative.append(np.flatnonzero(order < n_informative))
    return sides[0], sides[1], informative


def _tensor(a):
    return torch.as_tensor((a - a.mean(0)) / a.std(0), dtype=torch.float32)


def test_screen_keeps_the_informative_columns_and_leaves_out_noise():
    x, y, (ix, iy) = _states_with_noise(1000, 5, 95, 1.0, seed=0)
    kx, ky = screen_columns(_tensor(x), _tensor(y), np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert set(ix) <= set(kx) and set(iy) <= set(ky)
    # a noise column passes the family-wise null with probability ~1/6 of the largest of its side's
    assert len(kx) <= len(ix) + 3 and len(ky) <= len(iy) + 3


@pytest.mark.parametrize("d", [3, 40])
def test_screen_keeps_every_column_without_linear_signal(d):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, d))
    y = x**2 + 0.3 * rng.normal(size=(800, d))  # dependent, but no column correlates with the other side
    # 3 columns: not screened at all (SCREEN_MIN_COLUMNS); 40: none passes the null, so neither side is screened
    # (the largest noise column of a side passes with probability ~1/21; seed 1 is not such a case)
    kx, ky = screen_columns(_tensor(x), _tensor(y), np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert list(kx) == list(range(d)) and list(ky) == list(range(d))


def test_columns_of_a_few_rows_are_kept_and_do_not_set_the_null():
    # a column non-zero in 2 of 600 rows scores high R^2 under permutations by chance; as part of the null it let
    # one of 61 digit pixels pass on a 1-bit data set (LMI read 0.00; session 13). Such columns are not scored:
    # they are kept, and the informative columns pass as they do without them
    x, y, (ix, iy) = _states_with_noise(600, 5, 35, 1.0, seed=4)
    sparse = np.zeros((600, 3))
    sparse[[5, 17], 0], sparse[[3, 9, 400], 1], sparse[250, 2] = 1.0, 2.0, 3.0
    y_sparse = np.hstack([y, sparse])
    args = (np.random.default_rng(0), torch.Generator().manual_seed(0))
    kx, ky = screen_columns(_tensor(x), _tensor(y_sparse), *args)
    assert {40, 41, 42} <= set(ky) and set(iy) <= set(ky) and set(ix) <= set(kx)
    kx0, ky0 = screen_columns(_tensor(x), _tensor(y), np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert set(ky) - {40, 41, 42} == set(ky0)


def test_a_pass_on_one_side_alone_screens_neither_side(monkeypatch):
    """Where one screened side has no column above its null, the other side's passes are not trusted (chance,
    or a dependence the linear screen cannot see): every column of both sides is kept."""
    from bioinfo_mi.estimators import _screen

    x, y, _ = _states_with_noise(600, 5, 35, 1.0, seed=3)
    kx, ky = screen_columns(_tensor(x), _tensor(y), np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert len(kx) < 40 and len(ky) < 40  # both sides pass: screened
    calls = []

    def y_never_passes(a, stats, basis, rng):
        calls.append(a.shape[1])
        return (None, 0) if len(calls) % 2 == 0 else (np.arange(3), 0)  # x keeps 3 columns, y none

    monkeypatch.setattr(_screen, "_screen_side", y_never_passes)
    kx, ky = screen_columns(_tensor(x), _tensor(y), np.random.default_rng(0), torch.Generator().manual_seed(0))
    assert list(kx) == list(range(40)) and list(ky) == list(range(40))


@pytest.fixture(scope="module")
def noisy_states():
    return _states_with_noise(2000, 5, 95, 1.2, seed=2)


@pytest.fixture(scope="module")
def fits(noisy_states):
    x, y, _ = noisy_states
    x0, y0 = x.copy(), y.copy()
    plain = lmi(x, y, random_state=0, screen=False)
    screened = lmi(x, y, random_state=0, screen=True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    return plain, screened


def test_lmi_screen_recovers_what_noise_columns_hide(noisy_states, fits):
    x, y, (ix, iy) = noisy_states
    plain, screened = fits
    # the 5 informative columns per side on their own read 1.0-1.1 bits with these seeds; among 95 noise
    # columns plain LMI keeps the noise (reads ~0.3 here, 0.00 with 190 noise columns in sc_suite)
    assert screened.mi > plain.mi + 0.3
    kx, ky = screened.extra["screened_columns"]
    assert set(ix) <= set(kx) and set(iy) <= set(ky)
    assert screened.params["screen"] is True and plain.params["screen"] is False
    assert "screened_columns" not in plain.extra
    # the model takes raw inputs of the full width and encodes them through the kept columns
    zx, zy = screened.model.encode(x[:10], y[:10])
    np.testing.assert_allclose(zx, screened.zx[:10], rtol=1e-5, atol=1e-5)
    assert zy.shape == (10, screened.params["latent_dim"])


def test_attribution_of_a_screened_fit_scores_every_column(noisy_states, fits):
    x, y, _ = noisy_states
    screened = fits[1]
    att = bm.estimators.attribution(screened, x, y, score="cross_r2")
    kx, ky = screened.extra["screened_columns"]
    assert att.x.shape == (x.shape[1],) and att.y.shape == (y.shape[1],)
    left_out = np.setdiff1d(np.arange(x.shape[1]), kx)
    assert np.all(att.x[left_out] == 0) and np.all(att.x[kx] > 0)


def test_lmi_screen_same_seed_same_numbers(noisy_states):
    x, y, _ = noisy_states
    a = lmi(x[:1000], y[:1000], random_state=3, epochs=5, screen=True)
    b = lmi(x[:1000], y[:1000], random_state=3, epochs=5, screen=True)
    assert a.mi == b.mi
    np.testing.assert_array_equal(a.extra["screened_columns"][0], b.extra["screened_columns"][0])


@pytest.mark.slow
def test_lmi_screen_under_independence_reads_zero():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(1500, 60)), rng.normal(size=(1500, 60))
    with pytest.warns(bm.EstimateWarning):
        res = lmi(x, y, random_state=4, screen=True)
    # Bound from the spread: seeds 4-11 (data and fit) gave 0.005 +/- 0.047 bits (-0.076 to 0.061; the screen
    # kept every column in 7 of 8, one column of one side in the other); 0.2 is 4 SD, as for plain LMI
    assert abs(res.mi) < 0.2


def test_screen_that_keeps_every_column_changes_nothing():
    x, y, _ = _states_with_noise(600, 5, 10, 1.0, seed=5)  # 15 columns: not screened
    a = lmi(x, y, random_state=0, epochs=3)
    b = lmi(x, y, random_state=0, epochs=3, screen=True)
    assert a.mi == b.mi
    assert [len(c) for c in b.extra["screened_columns"]] == [15, 15]


def test_screen_must_be_a_bool():
    x = np.random.default_rng(0).normal(size=(100, 3))
    with pytest.raises(TypeError, match="screen must be True, False or None"):
        lmi(x, x, screen="yes")
    with pytest.raises(TypeError, match="screen must be True, False or None"):
        lmi(x, x, preset=bm.estimators.LMIPreset(screen=1))


def test_the_default_preset_screens_and_the_paper_preset_does_not(noisy_states, fits):
    # issue 30, session 13: the screen is the default preset's; the paper's model trains on every column
    x, y, _ = noisy_states
    default = lmi(x, y, random_state=0)
    assert default.mi == fits[1].mi and default.params["screen"] is True
    assert default.params["screen_rule"] == "preset" and fits[1].params["screen_rule"] == "given"
    np.testing.assert_array_equal(default.extra["screened_columns"][1], fits[1].extra["screened_columns"][1])
    paper = lmi(x[:300], y[:300], preset="paper", random_state=0, epochs=1)
    assert paper.params["screen"] is False and "screened_columns" not in paper.extra
    forced = lmi(x[:300], y[:300], preset="paper", random_state=0, epochs=1, screen=True)
    assert forced.params["screen"] is True and forced.params["screen_rule"] == "given"


def test_bm_mi_passes_screen_to_lmi(noisy_states):
    x, y, _ = noisy_states
    res = bm.mi(x[:600], y[:600], method="lmi", screen=True, epochs=3, random_state=0)
    assert res.params["screen"] is True and "screened_columns" in res.extra


@pytest.mark.parametrize("n", [12, 60])
def test_screen_on_few_samples_runs(n):
    # a training half of 6 or 30 rows: the screen has little power, keeps what passes or every column
    x, y, _ = _states_with_noise(n, 3, 30, 1.0, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmi(x, y, random_state=0, epochs=2, screen=True)
    assert np.isfinite(res.mi)
    kx, ky = res.extra["screened_columns"]
    assert 1 <= len(kx) <= 33 and 1 <= len(ky) <= 33


def _strong_and_weak(n, n_weak_signal, n_noise, seed):
    """A shared factor seen strongly in 3 columns per side, weakly (loading 0.2) in ``n_weak_signal`` columns, and
    not at all in ``n_noise`` columns."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1))
    loadings = np.r_[np.ones(3), np.full(n_weak_signal, 0.2), np.zeros(n_noise)]
    return [f * loadings + rng.standard_normal((n, len(loadings))) for _ in range(2)]


def test_the_completion_takes_back_a_diffuse_signal_and_leaves_noise_out():
    """A family-wise pass keeps only the strongest columns; where the left-out columns together still carry more
    than chance, they are taken back in decreasing order of their excess (``_screen._completed``), and where
    they are noise, not."""
    from bioinfo_mi.estimators._screen import screen_report

    gen = torch.Generator().manual_seed(0)
    x, y = _strong_and_weak(1000, 37, 0, seed=4)
    kx, ky, taken_back = screen_report(_tensor(x), _tensor(y), np.random.default_rng(0), gen)
    assert min(taken_back) > 0 and len(kx) >= 30 and len(ky) >= 30  # most of the 40 informative columns
    x, y = _strong_and_weak(1000, 0, 37, seed=4)
    kx, ky, taken_back = screen_report(_tensor(x), _tensor(y), np.random.default_rng(0), gen)
    assert set(range(3)) <= set(kx) and set(range(3)) <= set(ky) and len(kx) <= 6 and len(ky) <= 6


def _signal_behind_noise_factors(n, seed):
    """Each side: 12 strong noise factors (independent of the other side), each loading on its own 100 columns,
    so the 10 leading components are noise; and 20 columns carrying a state shared with the other side."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 6, size=n)
    sides = []
    for _ in range(2):
        factors = rng.normal(size=(n, 12))
        noise = np.repeat(factors, 100, axis=1) + rng.normal(size=(n, 1200))
        signal = rng.normal(scale=1.2, size=(6, 20))[s] + rng.normal(size=(n, 20))
        sides.append(np.hstack([signal, noise]))
    return sides


def test_a_first_pass_that_finds_nothing_retries_against_more_components():
    """Where the leading components of both sides are noise, no column passes on either side; the first pass is
    then tried again against SCREEN_WIDE_COMPONENTS components, which reach the shared signal (the sc suite's
    2000-column states: 3 of 6 data sets read ~0 bits before)."""
    from bioinfo_mi.estimators import _screen

    x, y = (_tensor(a) for a in _signal_behind_noise_factors(1000, seed=0))
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    means = (_screen._column_means(x), _screen._column_means(y))
    stats = [
        (m, _screen._centered_sq_norms(a, m), _screen._support(a) > 20) for a, m in zip((x, y), means, strict=True)
    ]
    every = [np.arange(x.shape[1]), np.arange(y.shape[1])]
    narrow = _screen._pass((x, y), means, stats, every, _screen.SCREEN_COMPONENTS, rng, gen)
    assert narrow[0][0] is None and narrow[1][0] is None  # the construction: 10 components see only noise
    kx, ky, _ = _screen.screen_report(x, y, np.random.default_rng(0), torch.Generator().manual_seed(0))
    for kept in (kx, ky):
        assert len(set(kept) & set(range(20))) >= 15 and len(set(kept) - set(range(20))) <= 3
