"""Copula transforms, the calibrated copula KSG and ``method="auto"`` (the default of ``bm.mi``)."""

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.estimators import choose_method, copula_transform, gaussian_mi, ksg_calibrated, rank_transform
from bioinfo_mi.estimators._calibrated import _draw_twin, gaussian_twin_model


def sparse_gaussian(n, d, rho=0.8, n_pairs=2, seed=0):
    """``n_pairs`` coordinate pairs with correlation ``rho`` among ``d + d`` standard normals."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((n, d))
    y[:, :n_pairs] = rho * x[:, :n_pairs] + np.sqrt(1 - rho**2) * y[:, :n_pairs]
    return x, y, -0.5 * n_pairs * np.log2(1 - rho**2)


def monotone(a):
    """Invertible, strictly increasing per-coordinate maps of very different shapes."""
    out = a.copy()
    out[:, 0] = np.exp(3 * a[:, 0])
    if a.shape[1] > 1:
        out[:, 1:] = a[:, 1:] ** 3 + 1e6
    return out


def test_transforms_are_ranks():
    a = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 5.0]])
    np.testing.assert_allclose(rank_transform(a), [[0.75, 0.375], [0.25, 0.375], [0.5, 0.75]])
    z = copula_transform(a)
    assert z[1, 0] < 0 < z[0, 0] and z[2, 0] == pytest.approx(0.0)
    before = a.copy()
    rank_transform(a)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("transform", ["rank", "copula"])
@pytest.mark.parametrize("method", ["ksg", "bi-ksg", "ksg-global-linf"])
def test_transform_makes_estimates_invariant_to_monotone_maps(transform, method):
    x, y, _ = sparse_gaussian(600, 3, seed=1)
    a = bm.mi(x, y, method=method, transform=transform, random_state=0)
    b = bm.mi(monotone(x), monotone(y), method=method, transform=transform, random_state=0)
    assert abs(a.mi - b.mi) < 1e-9
    np.testing.assert_allclose(a.pmi, b.pmi, atol=1e-9)
    assert a.params["transform"] == transform


def test_transform_rejects_unknown_and_keeps_inputs():
    x, y, _ = sparse_gaussian(200, 2)
    with pytest.raises(ValueError, match="transform"):
        bm.mi(x, y, method="ksg", transform="log")
    x0 = x.copy()
    bm.mi(x, y, method="ksg", transform="copula")
    np.testing.assert_array_equal(x, x0)


def test_gaussian_mi_is_unbiased_on_gaussians():
    # the bias correction removes the ~d_x d_y / 2N upward bias of the plug-in Gaussian MI
    x, y, truth = sparse_gaussian(1000, 10, seed=2)
    nats = gaussian_mi(x, y)
    assert nats / np.log(2) == pytest.approx(truth, abs=0.1)
    rng = np.random.default_rng(3)
    null = [gaussian_mi(rng.standard_normal((500, 10)), rng.standard_normal((500, 10))) for _ in range(20)]
    # plug-in bias here would be 100 / 1000 = 0.1 nats; the corrected mean is within its SE of 0
    assert abs(np.mean(null)) < 3 * np.std(null) / np.sqrt(20) + 0.005


def test_twin_has_the_model_correlations_and_target_mi():
    x, y, _ = sparse_gaussian(3000, 4, seed=4)
    model = gaussian_twin_model(copula_transform(x), copula_transform(y))
    # the twin's exact MI equals max(bias-corrected Gaussian MI, 0)
    assert model["twin_mi"] == pytest.approx(max(model["gaussian_mi"], 0.0), abs=1e-6)
    tx, ty, _, _ = _draw_twin(model, 200_000, np.random.default_rng(0))
    c = np.corrcoef(np.hstack([tx, ty]), rowvar=False)
    c_data = np.corrcoef(np.hstack([copula_transform(x), copula_transform(y)]), rowvar=False)
    np.testing.assert_allclose(c[:4, :4], c_data[:4, :4], atol=0.02)  # within-x correlations kept
    assert c[0, 4] == pytest.approx(c_data[0, 4], abs=0.03)  # the strong cross pair barely shrunk


def test_calibration_removes_ksg_bias_in_high_dimension():
    # 20 + 20 dimensions, 2 informative pairs, 1.47 bits: plain KSG reads about half of it
    x, y, truth = sparse_gaussian(2000, 20, seed=5)
    res = ksg_calibrated(x, y, random_state=0)
    assert res.extra["calibrated"]
    assert truth - res.extra["ksg"] > 0.5  # the uncorrected copula KSG is far off
    assert res.mi == pytest.approx(truth, abs=0.15)  # twin noise: SD about 0.05 bits here
    assert res.mi == pytest.approx(res.pmi.mean())
    assert res.pmi.shape == (2000,) and np.isfinite(res.pmi).all()


@pytest.mark.slow
def test_calibrated_independent_mean_near_zero():
    # bound: 10 data sets, per-estimate SD about 0.03-0.05 bits at this size -> SE of the mean <= 0.016
    est = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        est.append(ksg_calibrated(rng.standard_normal((800, 4)), rng.standard_normal((800, 4)), random_state=seed).mi)
    assert abs(np.mean(est)) < 0.05


def test_calibrated_is_deterministic_and_invariant():
    x, y, _ = sparse_gaussian(500, 3, seed=6)
    a = ksg_calibrated(x, y, random_state=7)
    b = ksg_calibrated(monotone(x), monotone(y), random_state=np.random.default_rng(7))
    c = ksg_calibrated(x, y, random_state=7)
    assert a.mi == c.mi
    assert a.mi == pytest.approx(b.mi, abs=1e-9)


def test_calibrated_ignores_constant_columns_and_falls_back_when_linear():
    x, y, _ = sparse_gaussian(400, 2, seed=8)
    with_const = np.hstack([x, np.ones((400, 1))])
    assert ksg_calibrated(with_const, y).mi == pytest.approx(ksg_calibrated(x, y).mi, abs=1e-9)
    with pytest.warns(UserWarning, match="calibration skipped"):
        res = ksg_calibrated(x, x[:, ::-1] * 2.0)
    assert not res.extra["calibrated"] and res.mi == pytest.approx(res.extra["ksg"], rel=1e-12)


def test_calibrated_needs_more_samples_than_dimensions():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="more samples than dimensions"):
        ksg_calibrated(rng.standard_normal((30, 20)), rng.standard_normal((30, 20)))
    with pytest.raises(ValueError, match="n_twins"):
        ksg_calibrated(rng.standard_normal((30, 2)), rng.standard_normal((30, 2)), n_twins=0)


@pytest.mark.slow
def test_auto_chooses_by_samples_per_dimension():
    assert choose_method(2000, 100) == "ksg-calibrated"
    assert choose_method(999, 100) == "lmi"
    x, y, _ = sparse_gaussian(400, 3, seed=9)
    res = bm.mi(x, y, method="auto")
    assert res.method == "ksg-calibrated" and res.extra["auto"]["method"] == "ksg-calibrated"
    assert res.mi == bm.mi(x, y, method="ksg-calibrated").mi
    assert bm.mi(x, y).mi == res.mi  # auto is the package default
    wide = np.random.default_rng(1).standard_normal((100, 40))  # from the LMI floor (80 samples) on
    res = bm.mi(wide[:, :20], wide[:, 20:], method="auto", random_state=0)
    record = dict(res.extra["auto"])
    predicted = record.pop("predicted_seconds")
    assert res.method == "lmi" and record == {
        "method": "lmi",
        "reason": "samples",
        "mixture": None,
        "samples_per_dim": 10.0,
        "cost_ratio": 3.0,
        "n_samples": 100,
        "n_features": 40,
        "discrete": False,
        "screen_check": None,
    }
    candidates = ("lmi", "ksg-calibrated", "ksg", "ksg-mixture")
    assert predicted == {m: bm.estimators.predicted_seconds(m, 100, 20, 20) for m in candidates}
    assert res.mi == bm.mi(wide[:, :20], wide[:, 20:], method="lmi", random_state=0).mi  # LMI's own fit


def test_auto_routes_options_to_the_chosen_estimator():
    x, y, _ = sparse_gaussian(400, 3, seed=9)
    assert bm.mi(x, y, n_twins=3).params["n_twins"] == 3
    with pytest.raises(ValueError, match="chose 'ksg-calibrated'.*does not take 'epochs'.*method='lmi'"):
        bm.mi(x, y, epochs=2)
    with pytest.raises(TypeError, match="unexpected option 'epohcs'; did you mean 'epochs'"):
        bm.mi(x, y, epohcs=2)
    wide = np.random.default_rng(1).standard_normal((100, 40))  # 100 samples: from the LMI floor (80) on
    res = bm.mi(wide[:, :20], wide[:, 20:], epochs=2, random_state=0)
    assert res.method == "lmi" and res.params["max_epochs"] == 2
    with pytest.raises(ValueError, match="chose 'lmi'.*does not take 'n_twins'"):
        bm.mi(wide[:, :20], wide[:, 20:], n_twins=2)
    with pytest.raises(ValueError, match="samples_per_dim"):
        bm.mi(x, y, method="auto", samples_per_dim=0)


def test_calibrated_never_exceeds_both_uncorrected_readings():
    # the cap: the result is at most max(Gaussian-copula MI, copula KSG), whatever the twins say
    rng = np.random.default_rng(10)
    lab = rng.integers(0, 4, 600)
    centres = rng.normal(size=(2, 4, 6)) * 2.0  # clustered: a shared discrete state
    for x, y in [
        (centres[0][lab] + rng.normal(size=(600, 6)), centres[1][lab] + rng.normal(size=(600, 6))),
        sparse_gaussian(600, 6, seed=11)[:2],
    ]:
        res = ksg_calibrated(x, y, random_state=0)
        assert res.mi <= max(res.extra["gaussian_mi"], res.extra["ksg"]) + 1e-9
        assert isinstance(res.extra["capped"], bool)


def test_guard_rejects_the_gaussian_model_on_well_separated_clusters():
    # 4 shared, well-separated states: MI = 2 bits, but the Gaussian model says about 3; along the three
    # strongest canonical pairs the twins' joint KSG (~2.8 bits) exceeds the data's (~2.0) by far more
    # than the guard's margin (max(0.1 nats, 10 %)), so the uncorrected copula KSG is returned
    rng = np.random.default_rng(100)
    centres = rng.normal(size=(2, 4, 10)) * 3.0
    lab = rng.integers(0, 4, 1000)
    x = centres[0][lab] + rng.normal(size=(1000, 10))
    y = centres[1][lab] + rng.normal(size=(1000, 10))
    with pytest.warns(UserWarning, match="overstates the dependence"):
        res = ksg_calibrated(x, y, random_state=0)
    assert res.extra["guard"]["rejected"] and not res.extra["calibrated"]
    assert res.extra["gaussian_mi"] > 2.5  # what the calibration would have trusted
    assert res.mi == pytest.approx(res.extra["ksg"], rel=1e-12)
    assert res.mi == pytest.approx(2.0, abs=0.2)


def test_convergence_check_rejects_clusters_the_canonical_checks_miss():
    # 8 shared states, 20 dimensions per side (bench_clustered.py, task seed 104, sample seed 0): MI = 3
    # bits, the Gaussian model says 6. The joint KSG along the strongest canonical pairs looks like the
    # twins' (2.6 vs 2.8 bits) and the redundancy shortfall stays under the margin, so before the
    # convergence check the calibration returned 6.0 bits. KSG has converged on the data (its gain from
    # n/2 to n is about 0) but not on the twins (about 0.2 bits): the bias the twins measure is not the data's.
    rng = np.random.default_rng(104)
    cx, cy = rng.normal(size=(8, 20)) * 2.0, rng.normal(size=(8, 20)) * 2.0
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 8, 1000)
    x, y = cx[lab] + rng.normal(size=(1000, 20)), cy[lab] + rng.normal(size=(1000, 20))
    with pytest.warns(UserWarning, match="overstates the dependence"):
        res = ksg_calibrated(x, y, random_state=0)
    guard = res.extra["guard"]
    assert guard["gain_twin"] - guard["gain_data"] > 0.1
    assert guard["rejected"] and not res.extra["calibrated"]
    assert res.mi == pytest.approx(3.0, abs=0.25)


@pytest.mark.slow
def test_guard_margin_scales_with_the_sample_size():
    # 3 + 3 Gaussian, y = x + noise (1.5 bits), 500 samples: with a fixed 0.1-nat margin the redundancy
    # check rejected seed 0 (shortfall 0.14 nats; its SD on Gaussian data is ~0.04 sqrt(1000 / n) nats).
    # The margin grows as 1 / sqrt(n), and no seed here is rejected.
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(500, 3))
        y = x + rng.normal(size=(500, 3))
        res = ksg_calibrated(x, y, random_state=0)
        assert not res.extra["guard"]["rejected"], seed
        assert res.mi == pytest.approx(1.5, abs=0.3)


def test_redundancy_margin_keeps_gaussian_data_with_many_weak_pairs():
    # issue 27's error-bar grid, 8 + 8 Gaussian, 1 bit spread over 8 pairs (rho 0.40 each), N = 2000, data set
    # 34: the redundancy shortfall read 0.116 nats against a margin of 0.113 (then the first check's,
    # 0.16 sqrt(1000 / n)), so the model was rejected and 0.48 bits returned. That shortfall's SD on
    # Gaussian data is about 0.06 sqrt(1000 / n) nats; its margin is now about four of them (0.184 here).
    rho = np.sqrt(1 - 2.0 ** (-2 * 1.0 / 8))
    rng = np.random.default_rng([27, 8, 10, 2000, 34])
    x = rng.standard_normal((2000, 8))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((2000, 8))
    res = ksg_calibrated(x, y, random_state=34)
    guard = res.extra["guard"]
    shortfall = (guard["expected_joint"] - guard["joint_data"]) * np.log(2)  # nats; 0.116 here
    assert shortfall < 0.26 * np.sqrt(1000 / 2000)
    assert not guard["rejected"] and res.extra["calibrated"]
    assert res.mi == pytest.approx(1.0, abs=0.2)  # 0.89 here; the rejected branch returned 0.48


def test_guard_accepts_gaussian_data():
    x, y, _ = sparse_gaussian(1000, 8, seed=12)
    res = ksg_calibrated(x, y, random_state=0)
    guard = res.extra["guard"]
    # On Gaussian data both shortfalls are noise: over seeds 12-19 the twins-minus-data gap had mean
    # 0.016 and SD 0.04 bits, the redundancy gap mean 0.02 and SD 0.035; the guard's threshold at
    # n = 1000 (0.16 nats = 0.23 bits) sits more than 5 SD above both.
    assert guard["pairs"] >= 2 and guard["redundancy_pairs"] == 2
    # convergence: over the same seeds the twins' gain from n/2 to n minus the data's had mean -0.033 and
    # SD 0.029 bits; 0.072 bits is 3.6 SD above that (the guard's own threshold at n = 1000 is 0.17 bits)
    assert guard["gain_twin"] - guard["gain_data"] < 0.072
    assert not guard["rejected"] and res.extra["calibrated"]


def test_auto_uses_plain_ksg_on_mostly_discrete_columns():
    """Heavily tied columns (digit pixels, small counts) lose their spacing under normal scores and
    are not Gaussian-twin-like: auto runs plain KSG there (same number as method='ksg'), and keeps
    the calibrated copula KSG on continuous data."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(1000, 3)).astype(float)
    y = x + rng.integers(0, 3, size=(1000, 3))
    res = bm.mi(x, y, random_state=0)
    assert res.method == "ksg" and res.extra["auto"]["discrete"] is True
    assert res.mi == bm.mi(x, y, method="ksg", random_state=0).mi
    cont = bm.mi(x + rng.normal(size=x.shape), y + rng.normal(size=y.shape), random_state=0)
    assert cont.method == "ksg-mixture" and cont.extra["auto"]["discrete"] is False  # continuous: the mixture
    assert choose_method(1000, 6, discrete=True) == "ksg" and choose_method(100, 60, discrete=True) == "lmi"
    # 2-10 samples per dimension: plain KSG on discrete columns (digits: LMI learns little from a few
    # hundred tied samples), LMI on continuous ones and below 2 per dimension
    assert choose_method(300, 128, discrete=True) == "ksg" and choose_method(300, 128) == "lmi"
    assert choose_method(255, 128, discrete=True) == "lmi"
    assert choose_method(300, 128, samples_per_dim=1.0, discrete=True) == "ksg"
    assert choose_method(120, 128, samples_per_dim=1.0) == "lmi"


def test_auto_runs_plain_ksg_on_discrete_columns_with_few_samples_per_dimension():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(120, 20)).astype(float)  # 3 samples per dimension, 4 values per column
    y = x + rng.integers(0, 2, size=(120, 20))
    res = bm.mi(x, y, random_state=0)
    assert res.method == "ksg" and res.extra["auto"]["discrete"] is True
    assert res.mi == bm.mi(x, y, method="ksg", random_state=0).mi
