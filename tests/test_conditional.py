"""``bm.cmi``: conditional MI (k-NN and stratified), ``auto``'s choice, and the conditional-independence test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from scipy.special import digamma

import bioinfo_mi as bm
from bioinfo_mi.conditional import is_categorical, local_permutations
from bioinfo_mi.estimators._cmi import ksg_cmi

LN2 = np.log(2.0)


def _gaussian(cov, sizes, n, seed):
    d = np.random.default_rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n)
    a, b = sizes[0], sizes[0] + sizes[1]
    return d[:, :a], d[:, a:b], d[:, b:]


def _gaussian_cmi(cov, sizes):
    """Closed form: 1/2 log2(det S_xz det S_yz / (det S_z det S_xyz))."""
    a, b, c = sizes
    ix, iy, iz = np.arange(a), np.arange(a, a + b), np.arange(a + b, a + b + c)

    def det(idx):
        return np.linalg.det(cov[np.ix_(idx, idx)])

    xz, yz = np.r_[ix, iz], np.r_[iy, iz]
    return 0.5 * np.log2(det(xz) * det(yz) / (det(iz) * det(np.r_[ix, iy, iz])))


def _random_cov(dim, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim))
    cov = a @ a.T + dim * np.eye(dim)
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def test_ksg_cmi_equals_a_reference_with_scipy_trees():
    """The package kernel's counts are exact: the same numbers as an independent cKDTree implementation."""
    x, y, z = _gaussian(_random_cov(4, 0), (1, 2, 1), 800, 1)
    k = 4
    res = ksg_cmi(x, y, z, k=k, jitter=0.0)
    joint = np.hstack([x, y, z])
    eps = cKDTree(joint).query(joint, k + 1, p=np.inf)[0][:, -1]

    def count(a):
        return cKDTree(a).query_ball_point(a, np.nextafter(eps, 0), p=np.inf, return_length=True) - 1

    pointwise = digamma(k) - digamma(count(np.hstack([x, z])) + 1) - digamma(count(np.hstack([y, z])) + 1)
    pointwise += digamma(count(z) + 1)
    np.testing.assert_allclose(res.pmi, pointwise / LN2, rtol=0, atol=1e-12)
    assert res.mi == pytest.approx(res.pmi.mean()) and res.extra["conditional"] is True


@pytest.mark.parametrize("sizes", [(1, 1, 1), (2, 2, 2), (1, 1, 3)])
def test_ksg_cmi_matches_the_gaussian_closed_form(sizes):
    cov = _random_cov(sum(sizes), sum(sizes))
    truth = _gaussian_cmi(cov, sizes)
    estimates = [bm.cmi(*_gaussian(cov, sizes, 3000, seed), method="ksg").mi for seed in range(3)]
    # the k-NN estimator's own bias grows with the dimension (-0.05 bits at 2 + 2 | 2 here; a wrong count
    # or digamma term is off by 0.2 bits or more)
    assert abs(np.mean(estimates) - truth) < 0.09, (truth, estimates)


def test_calibrated_ksg_cmi_removes_the_k_nn_bias_on_gaussian_data():
    sizes = (5, 5, 5)
    cov = _random_cov(15, 3)
    truth = _gaussian_cmi(cov, sizes)
    x, y, z = _gaussian(cov, sizes, 2000, 4)
    plain = bm.cmi(x, y, z, method="ksg").mi
    res = bm.cmi(x, y, z, method="ksg-calibrated", n_twins=3)
    assert res.method == "ksg-calibrated" and len(res.extra["twin_errors"]) == 3
    assert abs(res.mi - truth) < 0.06 < abs(plain - truth)
    assert res.extra["raw"] - res.mi == pytest.approx(np.mean(res.extra["twin_errors"]) + res.extra["null_excess"])
    assert res.pmi.mean() == pytest.approx(res.mi)
    assert bm.estimators.gaussian_cmi(cov, 5, 5) == pytest.approx(truth)
    with pytest.raises(ValueError, match="n_twins"):
        bm.cmi(x, y, z, method="ksg-calibrated", n_twins=0)
    with pytest.raises(TypeError, match="n_twins"):
        bm.cmi(x, y, z, method="ksg", n_twins=2)


def _wide_nonlinear_null(n, seed, d=20):
    """x, y of d columns independent given a 2-D z that enters x through z_1^2 and sin 2 z_2 (truth 0)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    f = np.hstack([z[:, :1] ** 2 - 1, np.sin(2 * z[:, 1:])])
    x = f @ rng.normal(size=(2, d)) + rng.normal(size=(n, d))
    y = z @ rng.normal(size=(2, d)) + rng.normal(size=(n, d))
    return x, y, z


def test_calibrated_cmi_null_check_removes_what_the_twins_miss():
    # the twins depend on z linearly; x follows z through z^2 and sin 2z: without the null check the calibrated
    # k-NN CMI reads the nonlinear dependence on z as conditional dependence (0.6 bits in session 23)
    x, y, z = _wide_nonlinear_null(2000, 3)
    res = bm.cmi(x, y, z, random_state=1, n_jobs=1)  # the default runs the calibrated k-NN CMI with the check
    unchecked = bm.cmi(x, y, z, method="ksg-calibrated", n_null=0, random_state=1, n_jobs=1)
    assert res.method == "ksg-calibrated" and res.params["n_null"] == 2 and unchecked.params["n_null"] == 0
    assert unchecked.mi > 0.3 and unchecked.extra["null_excess"] == 0.0
    assert abs(res.mi) < 0.05 and res.extra["null_excess"] > 0.3
    with pytest.raises(ValueError, match="n_null"):
        bm.cmi(x, y, z, method="ksg-calibrated", n_null=-1)


def test_null_excess_counts_only_an_excess_beyond_the_permutations_noise():
    from bioinfo_mi.estimators._cmi import null_excess

    assert null_excess([0.50, 0.52], [0.01, 0.03, 0.02, 0.00]) == pytest.approx(0.495)
    assert null_excess([0.05, 0.03], [0.01, 0.03, 0.02, 0.00]) == 0.0  # 2.1 standard errors: within the noise
    assert null_excess([-0.05, -0.04], [0.01, 0.03, 0.02, 0.00]) == 0.0  # below the twins': never added
    assert null_excess([0.5], [0.0]) == 0.0  # no degree of freedom for the noise


def test_conditional_independence_reads_near_zero_while_mi_is_large():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3000, 2))
    x = z @ rng.normal(size=(2, 2)) + 0.5 * rng.normal(size=(3000, 2))
    y = z @ rng.normal(size=(2, 1)) + 0.5 * rng.normal(size=(3000, 1))
    assert bm.mi(x, y, method="ksg").mi > 0.5
    assert abs(bm.cmi(x, y, z).mi) < 0.05
    assert abs(bm.cmi(x, y, z, method="ksg-calibrated").mi) < 0.05


def _strata_data(n, seed, rho=(0.8, 0.0, 0.5), weights=(0.5, 0.3, 0.2)):
    """Strata 'a', 'b', 'c' with their own means and within-stratum correlation rho: exact CMI known."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(np.array(["a", "b", "c"]), size=n, p=weights)
    codes = pd.factorize(labels, sort=True)[0]
    shift = np.array([-3.0, 0.0, 3.0])[codes]
    r = np.asarray(rho)[codes]
    e1, e2 = rng.normal(size=n), rng.normal(size=n)
    x = shift + e1
    y = 2 * shift + r * e1 + np.sqrt(1 - r**2) * e2
    truth = float(np.sum(np.asarray(weights) * -0.5 * np.log2(1 - np.asarray(rho) ** 2)))
    return x, y, labels, truth


def test_stratified_is_the_weighted_sum_of_the_strata():
    x, y, labels, truth = _strata_data(3000, 0)
    res = bm.cmi(x, y, labels, within_method="ksg")
    table = pd.DataFrame(res.extra["stratified"])
    assert res.method == "stratified" and res.extra["auto"]["method"] == "stratified"
    assert list(table.stratum) == ["a", "b", "c"] and table.kept.all()
    np.testing.assert_allclose(table.weight, table.n_samples / 3000)
    assert res.mi == pytest.approx(float((table.weight * table.estimate).sum()))
    assert abs(res.mi - truth) < 0.05
    assert np.isfinite(res.pmi).all() and res.pmi.mean() == pytest.approx(res.mi)
    assert bm.mi(x, y, method="ksg").mi > truth + 1  # the shared means, which z explains


def test_stratified_error_bars_combine_the_strata():
    x, y, labels, _ = _strata_data(1500, 9)
    res = bm.cmi(x, y, labels, within_method="ksg", error_bars=True)
    table = pd.DataFrame(res.extra["stratified"])
    assert (table.se > 0).all()
    assert res.se == pytest.approx(float(np.sqrt(np.sum((table.weight * table.se) ** 2))))
    low, high = res.ci(0.95)
    assert low < res.mi < high
    assert res.mi == bm.cmi(x, y, labels, within_method="ksg").mi  # error bars never change the estimate
    with pytest.raises(TypeError, match="error_bars"):
        bm.cmi(x, y, labels, error_bars="yes")


@pytest.mark.slow
def test_stratified_error_bars_are_calibrated():
    """40 independent data sets: SD of the estimates / mean reported SE near 1."""
    estimates, ses = [], []
    for seed in range(40):
        x, y, labels, _ = _strata_data(900, 100 + seed)
        res = bm.cmi(x, y, labels, within_method="ksg", error_bars=True, random_state=seed, n_jobs=1)
        estimates.append(res.mi)
        ses.append(res.se)
    ratio = np.std(estimates, ddof=1) / np.mean(ses)
    assert 0.7 <= ratio <= 1.4, ratio


def test_small_strata_are_left_out_with_a_warning():
    x, y, labels, _ = _strata_data(400, 1, weights=(0.47, 0.47, 0.06))
    with pytest.warns(bm.EstimateWarning, match="strata of z have fewer than 30 samples") as caught:
        res = bm.cmi(x, y, labels, method="stratified", within_method="ksg", min_stratum_samples=30)
    assert any(w.message.kind == "small-strata" for w in caught)
    table = pd.DataFrame(res.extra["stratified"])
    small = table.n_samples < 30
    assert small.any() and not table.kept[small].any() and (table.weight[small] == 0).all()
    assert table.weight.sum() == pytest.approx(1.0)
    assert np.isnan(res.pmi[labels == table.stratum[small].iloc[0]]).all()


def test_auto_chooses_by_the_type_of_z():
    assert is_categorical(np.array(["a", "b"] * 50))
    assert is_categorical(pd.Categorical(["a", "b"] * 50))
    assert is_categorical(np.array([True, False] * 50))
    assert is_categorical(np.arange(200) % 4)  # 4 integer labels of 200 samples
    assert not is_categorical(np.arange(200))  # an integer covariate
    assert not is_categorical(np.random.default_rng(0).normal(size=(200, 1)))
    x, y, labels, _ = _strata_data(600, 2)
    codes = pd.factorize(labels, sort=True)[0]
    a = bm.cmi(x, y, labels, within_method="ksg")
    b = bm.cmi(x, y, pd.Series(codes), within_method="ksg")
    assert a.method == b.method == "stratified" and a.mi == b.mi
    numeric = bm.cmi(x, y, np.random.default_rng(0).normal(size=600))
    assert numeric.method == "ksg-calibrated" and numeric.extra["auto"]["reason"] == "z is numeric"


def test_auto_on_inputs_wider_than_the_samples_runs_the_plain_k_nn_cmi():
    rng = np.random.default_rng(11)
    x, y, z = rng.normal(size=(60, 2)), rng.normal(size=(60, 2)), rng.normal(size=(60, 57))
    res = bm.cmi(x, y, z)  # x and y narrow (no latent CMI), z too wide for the twins
    assert res.method == "ksg" and "no calibration" in res.extra["auto"]["reason"] and np.isfinite(res.mi)
    with pytest.raises(ValueError, match="needs more samples than columns"):
        bm.cmi(x, y, z, method="ksg-calibrated")


def test_auto_without_an_estimable_stratum_runs_ksg_on_the_codes():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(20).astype(str), 5)  # 20 strata of 5 samples
    x, y = rng.normal(size=100), rng.normal(size=100)
    with pytest.warns(bm.EstimateWarning, match="no stratum has 20 samples"):
        res = bm.cmi(x, y, labels)
    assert res.method == "ksg" and "no stratum" in res.extra["auto"]["reason"]


def test_local_permutations_keep_x_near_its_z():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(500, 1))
    perms = local_permutations(z, 3, 5, rng)
    assert perms.shape == (3, 500)
    near = np.abs(z[perms[0], 0] - z[:, 0]).mean()
    anywhere = np.abs(z[rng.permutation(500), 0] - z[:, 0]).mean()
    assert near < 0.05 * anywhere
    assert len(np.unique(perms[0])) > 0.8 * 500  # drawn without repeats where possible


def test_the_test_rejects_a_link_beyond_z_and_not_a_common_cause():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(600, 1))
    x = z + 0.5 * rng.normal(size=(600, 1))
    confounded = z + 0.5 * rng.normal(size=(600, 1))
    linked = z + x + 0.5 * rng.normal(size=(600, 1))
    assert bm.cmi(x, linked, z, n_shuffles=19).p_value == pytest.approx(0.05)
    res = bm.cmi(x, confounded, z, n_shuffles=19)
    assert res.p_value > 0.05 and res.null.shape == (19,)
    assert res.extra["permutation"]["scheme"].startswith("local permutation")


@pytest.mark.slow
def test_p_values_are_calibrated_under_conditional_independence():
    """60 data sets where X and Y share only Z (numeric and categorical): the p-values are not skewed to 0
    (benchmarks/bench_cmi.py checks the level on 200)."""
    p_numeric, p_strata = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=(200, 1))
        x, y = z**2 + 0.5 * rng.normal(size=(200, 1)), z + 0.5 * rng.normal(size=(200, 1))
        # the plain k-NN CMI keeps the test fast; bench_cmi.py checks auto's ksg-calibrated on 200 data sets
        p_numeric.append(bm.cmi(x, y, z, method="ksg", n_shuffles=19, random_state=seed, n_jobs=1).p_value)
        xs, ys, labels, _ = _strata_data(200, seed, rho=(0.0, 0.0, 0.0), weights=(0.4, 0.3, 0.3))
        p_strata.append(bm.cmi(xs, ys, labels, within_method="ksg", n_shuffles=19, random_state=seed, n_jobs=1).p_value)
    for p in (np.array(p_numeric), np.array(p_strata)):
        assert np.mean(p <= 0.1) <= 0.22  # nominal 0.10; binomial SD 0.04 over 60 data sets
        assert 0.4 <= np.mean(p) <= 0.65


def test_same_seed_same_numbers_whatever_n_jobs_and_inputs_untouched():
    x, y, labels, _ = _strata_data(300, 6)
    before = x.copy()
    a = bm.cmi(x, y, labels, within_method="ksg", n_shuffles=4, random_state=7, n_jobs=1)
    b = bm.cmi(x, y, labels, within_method="ksg", n_shuffles=4, random_state=7, n_jobs=2)
    assert a.mi == b.mi and np.array_equal(a.null, b.null)
    c = bm.cmi(x, y, labels, within_method="ksg", n_shuffles=4, random_state=np.random.default_rng(7))
    assert np.isfinite(c.mi)
    z = np.random.default_rng(8).normal(size=300)
    d, e = (bm.cmi(x, y, z, n_shuffles=3, random_state=1, n_jobs=j) for j in (1, 2))
    assert d.mi == e.mi and np.array_equal(d.null, e.null) and d.params["random_state"] == 1
    assert np.array_equal(x, before)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(method="gmm"), ValueError, "method must be one of"),
        (dict(within_method="nope"), ValueError, "nope"),
        (dict(method="ksg", epochs=3), TypeError, "epochs"),
        (dict(n_shuffles=-1), ValueError, "n_shuffles"),
        (dict(shuffle_neighbors=1), ValueError, "shuffle_neighbors"),
        (dict(min_stratum_samples=1), ValueError, "min_stratum_samples"),
    ],
)
def test_bad_arguments_are_named_before_any_fit(kwargs, error, match):
    rng = np.random.default_rng(0)
    with pytest.raises(error, match=match):
        bm.cmi(rng.normal(size=50), rng.normal(size=50), rng.normal(size=50), **kwargs)


def test_bad_z_is_named():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    with pytest.raises(ValueError, match="same number of samples"):
        bm.cmi(x, y, rng.normal(size=49))
    with pytest.raises(TypeError, match="method='stratified'"):
        bm.cmi(x, y, np.array(["a", "b"] * 25), method="ksg")
    with pytest.raises(ValueError, match="missing labels"):
        bm.cmi(x, y, pd.Series(["a", None] * 25), method="stratified")
    with pytest.raises(TypeError, match="z must be"):
        bm.cmi(x, y, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="z is constant"):
            bm.cmi(x, y, np.ones(50), method="ksg")


def _latent_data(n, d, seed, link=0.0):
    """Wide x and y that share a numeric z (through 3 genes' worth of loadings each) and, with ``link``, a
    direction beyond it; the rest noise genes."""
    rng = np.random.default_rng(seed)
    z, h = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
    wx, wy, vx, vy = (rng.normal(size=(1, d)) for _ in range(4))
    x = 1.5 * z @ wx + link * h @ vx + rng.normal(size=(n, d))
    y = 1.5 * z @ wy + link * h @ vy + rng.normal(size=(n, d))
    return x, y, z


def test_latent_cmi_removes_what_z_explains_and_keeps_a_link_beyond_it():
    x, y, z = _latent_data(1200, 40, 0)
    opts = dict(method="lmi", epochs=20, random_state=0)
    null = bm.cmi(x, y, z, **opts)
    assert bm.mi(x, y, method="lmi", epochs=20).mi > 1.0  # z makes x and y strongly dependent
    assert abs(null.mi) < 0.1
    assert null.method == "lmi" and null.extra["conditional"] and np.isnan(null.pmi).sum() == 600
    assert null.extra["latent_mi"] > 1.0  # the codes do hold the z-driven dependence; the CMI removes it
    x, y, z = _latent_data(1200, 40, 0, link=1.5)
    assert bm.cmi(x, y, z, **opts).mi > 0.4


def test_latent_cmi_of_labels_scores_within_the_strata_of_the_held_out_half():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 900)
    means = rng.normal(scale=2.0, size=(3, 30))
    x = means[labels] + rng.normal(size=(900, 30))
    y = means[labels] + rng.normal(size=(900, 30))
    res = bm.cmi(x, y, labels.astype(str), method="lmi", epochs=15)
    assert abs(res.mi) < 0.2 and bm.mi(x, y, method="lmi", epochs=15).mi > 0.8  # 0.05 and 1.6 here
    strata = res.extra["strata"]
    assert sum(strata["n_held_out"]) == 450 and np.isclose(sum(strata["weight"]), 1.0)


def test_auto_runs_the_latent_cmi_on_wide_inputs():
    x, y, z = _latent_data(200, 40, 1)  # fewer than 3 samples per column of x and y
    res = bm.cmi(x, y, z, epochs=5)
    assert res.method == "lmi" and res.extra["auto"]["method"] == "lmi"
    labels = np.repeat(["a", "b"], 100)
    assert bm.cmi(x, y, labels, epochs=5).extra["auto"]["method"] == "lmi"
    assert bm.cmi(x[:, :3], y[:, :3], labels).method == "stratified"  # narrow: as before
    assert bm.cmi(x[:, :30], y[:, :30], z).method == "ksg-calibrated"  # 3.3 samples per column
    # a within_method the user typed is used, never set aside for the latent route
    typed = bm.cmi(x, y, labels, within_method="ksg")
    assert typed.method == "stratified" and typed.extra["auto"]["method"] == "stratified"
    assert typed.params["within_method"] == "ksg"


@pytest.mark.parametrize("method", ["ksg", "ksg-calibrated"])
def test_k_nn_cmi_error_bars_cover_the_spread_of_data_sets(method):
    cov = _random_cov(6, 4)
    est, se = [], []
    for seed in range(12):
        x, y, z = _gaussian(cov, (2, 2, 2), 600, seed)
        res = bm.cmi(x, y, z, method=method, error_bars=True, random_state=seed)
        assert res.mi == bm.cmi(x, y, z, method=method, random_state=seed).mi  # error bars never change it
        est.append(res.mi)
        se.append(res.se)
    ratio = np.std(est, ddof=1) / np.mean(se)
    assert 0.5 < ratio < 2.0  # 12 data sets: the SD itself is uncertain by about 20 %
    assert "subsampling" in res.extra["error_bars"]["method"]


def test_latent_cmi_error_bars_add_the_refits():
    x, y, z = _latent_data(400, 20, 2, link=1.0)
    res = bm.cmi(x, y, z, method="lmi", epochs=5, error_bars=True)
    info = res.extra["error_bars"]
    assert info["method"] == "refits" and len(info["refit_estimates"]) == 4
    assert res.se >= info["fit_sd"] > 0 and res.mi == bm.cmi(x, y, z, method="lmi", epochs=5).mi


def test_latent_cmi_test_and_seeds_whatever_n_jobs():
    x, y, z = _latent_data(300, 20, 4, link=1.5)
    a, b = (bm.cmi(x, y, z, method="lmi", epochs=5, n_shuffles=2, n_jobs=j) for j in (1, 2))
    assert a.mi == b.mi and np.array_equal(a.null, b.null)
    assert a.extra["permutation"]["scheme"].startswith("local permutation")


def test_a_wide_numeric_z_enters_the_latent_cmi_as_its_principal_components():
    x, y, z = _latent_data(300, 20, 5)
    wide = np.hstack([z, np.random.default_rng(0).normal(size=(300, 11))])
    res = bm.cmi(x, y, wide, method="lmi", epochs=5)
    assert res.extra["z_reduced"] and res.extra["latent_z"].shape == (150, 8)


def _wide_low_rank(n, d, seed):
    """x, y: d columns each, a 2-D link s beyond a 2-D z that drives both (loadings shrink with d)."""
    rng = np.random.default_rng(seed)
    a_x, a_y = (rng.normal(size=(2, d)) * 1.6 / np.sqrt(d) for _ in range(2))
    b_x, b_y = (rng.normal(size=(2, d)) * 2.5 / np.sqrt(2 * d) for _ in range(2))
    s, z = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    x = s @ a_x + z @ b_x + rng.normal(size=(n, d))
    y = s @ a_y + z @ b_y + rng.normal(size=(n, d))
    loads = np.vstack([np.vstack([a_x, b_x]).T, np.vstack([a_y, b_y]).T, np.hstack([np.zeros((2, 2)), np.eye(2)])])
    cov = loads @ loads.T + np.diag(np.r_[np.ones(2 * d), np.zeros(2)])
    return x, y, z, bm.estimators.gaussian_cmi(cov, d, d)


def test_calibrated_cmi_does_not_overshoot_on_wide_inputs():
    """The twins carry the bias-corrected Gaussian CMI, not the sample correlations' (inflated by about
    d_x d_y / 2N nats: 0.8 bits here), which made the correction overshoot (1.9 bits of 1.0 at 50 + 50)."""
    x, y, z, truth = _wide_low_rank(800, 30, 0)
    res = bm.cmi(x, y, z, method="ksg-calibrated")
    assert abs(res.mi - truth) < 0.3 and abs(res.extra["gaussian"] - truth) < 0.3
    assert res.extra["raw"] < truth - 0.3  # the k-NN CMI alone is far too low here


def test_latent_cmi_corrects_the_knn_shortfall_on_its_codes():
    """The k-NN CMI of 8 + 8 held-out codes given z reads about half of a 1-bit CMI; the corrected estimate
    (null bias by local permutation, shortfall factor from Gaussian twins) reads most of it (issue 31)."""
    x, y, z, truth = _wide_low_rank(2000, 20, 2)
    res = bm.cmi(x, y, z, method="lmi", random_state=0)
    test = res.test_idx
    plain = bm.estimators.ksg_cmi(res.zx[test], res.zy[test], res.extra["latent_z"]).mi
    assert res.extra["code_estimator"] == "ksg-corrected"
    # the same codes, uncorrected: 0.55 of the truth here, corrected 0.84 (a refit moves either by ~0.05 bits)
    assert plain < 0.7 * truth and res.mi - plain > 0.15
    assert 0.65 * truth < res.mi < 1.2 * truth
    code = res.extra["code_cmi"]
    assert 1.0 < code["factor"] <= 4.0 and code["n_null"] == 4
    assert res.mi == pytest.approx((code["raw"] - code["null_bias"]) * code["factor"])


def test_corrected_code_cmi_removes_the_null_bias_of_codes_that_follow_z():
    """Codes that are smooth functions of z: the k-NN CMI of their normal scores is biased upward where they
    are independent given z, and the local-permutation null takes that bias away."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(1000, 2))
    fx = np.column_stack([z[:, 0] ** 2, np.sin(2 * z[:, 1])])
    fy = np.column_stack([z[:, 0] + z[:, 1], np.cos(z[:, 0])])
    zx = fx @ rng.normal(size=(2, 6)) + 0.7 * rng.normal(size=(1000, 6))
    zy = fy @ rng.normal(size=(2, 6)) + 0.7 * rng.normal(size=(1000, 6))
    res = bm.estimators.corrected_code_cmi(zx, zy, z, random_state=0)
    assert res.method == "ksg-corrected" and res.extra["null_bias"] > 0.05
    assert abs(res.extra["raw"] - res.extra["null_bias"]) < 0.05 and abs(res.mi) < 0.08
    assert bm.estimators.ksg_cmi(zx, zy, z).mi > 0.3  # the plain k-NN CMI of the codes (sessions 6-22): 0.68
    again = bm.estimators.corrected_code_cmi(zx, zy, z, random_state=0)
    assert again.mi == res.mi and np.array_equal(again.pmi, res.pmi)


def test_corrected_code_cmi_does_not_lift_codes_that_read_above_their_gaussian_twins():
    """Six shared, well-separated states: the Gaussian model of the codes says 3.8 bits, at most log2 6 = 2.58 is
    there, and the k-NN CMI of the codes (2.5) reads above its twins' (1.7), so the twins' shortfall is not theirs
    and the estimate is not lifted (the factor alone gave 3.8)."""
    rng = np.random.default_rng(0)
    states, z = rng.integers(0, 6, size=600), rng.normal(size=(600, 1))
    centres = rng.normal(size=(6, 8)) * 2.0
    zx = centres[states] + 0.5 * z + 0.6 * rng.normal(size=(600, 8))
    zy = centres[rng.permutation(6)][states] - 0.5 * z + 0.6 * rng.normal(size=(600, 8))
    res = bm.estimators.corrected_code_cmi(zx, zy, z, random_state=0)
    assert res.extra["gaussian"] > 3.0 and res.extra["knn_ratio"] > 1.2
    assert res.extra["factor"] < res.extra["twin_factor"] and res.mi < np.log2(6) + 0.05


def test_corrected_code_cmi_takes_a_numeric_z_of_few_values():
    """A float z of 3 distinct values makes z's nonlinear features collinear: the twins' target falls back to z
    alone instead of raising (a valid call never fails for a default's internals)."""
    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, size=(500, 1)).astype(float)
    zx, zy = rng.normal(size=(500, 8)) + z, rng.normal(size=(500, 8)) + z
    res = bm.estimators.corrected_code_cmi(zx, zy, z, random_state=0)
    assert np.isfinite(res.mi) and not res.extra["z_features"]


def test_lmi_condition_reaches_the_decoders_only():
    rng = np.random.default_rng(0)
    x, y, c = rng.normal(size=(200, 5)), rng.normal(size=(200, 5)), rng.normal(size=(200, 2))
    res = bm.estimators.lmi(x, y, condition=c, epochs=2)
    assert res.params["d_condition"] == 2 and res.model.d_condition == 2
    assert res.model.encode(x, y)[0].shape == (200, res.params["latent_dim"])  # the encoders take x, y alone
    assert bm.estimators.lmi(x, y, epochs=2).params["d_condition"] == 0
    with pytest.raises(ValueError, match="condition must be 200 rows"):
        bm.estimators.lmi(x, y, condition=c[:10], epochs=2)
    with pytest.raises(TypeError, match="condition"):
        bm.mi(x, y, method="lmi", condition=c)  # not an option of an MI estimate


def test_calibrated_cmi_drops_constant_columns_and_skips_the_calibration_on_collinear_ones():
    rng = np.random.default_rng(0)
    a, z = rng.normal(size=300), rng.normal(size=300)
    y = np.c_[a + z + rng.normal(size=300), rng.normal(size=300)]
    plain = bm.cmi(a[:, None], y, z, method="ksg-calibrated", random_state=0)
    with_constant = bm.cmi(np.c_[np.ones(300), a], y, z, method="ksg-calibrated", random_state=0)
    assert with_constant.mi == plain.mi and with_constant.extra["calibrated"]
    with pytest.warns(bm.EstimateWarning, match="calibration of the k-NN CMI skipped") as caught:
        collinear = bm.cmi(np.c_[a, a], y, z, method="ksg-calibrated", random_state=0)
    assert caught[0].message.kind == "calibration-skipped"
    assert not collinear.extra["calibrated"] and collinear.mi == pytest.approx(collinear.extra["raw"])
    assert 0.2 < collinear.mi < 1.5 and np.isfinite(collinear.pmi).all()


@pytest.mark.parametrize("labels", [False, True])
def test_auto_cmi_on_too_few_samples_for_the_latent_cmi_runs_the_k_nn_cmi(labels):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 40))
    y = x[:, :1] + rng.normal(size=(8, 5))
    z = np.array(["a", "b"] * 4) if labels else rng.normal(size=8)
    with pytest.warns(bm.EstimateWarning) as caught:
        res = bm.cmi(x, y, z, random_state=0)
    assert res.method == "ksg" and np.isfinite(res.mi) and res.extra["auto"]["method"] == "ksg"
    kinds = {w.message.kind for w in caught if isinstance(w.message, bm.EstimateWarning)}
    assert ("small-strata" if labels else "few-samples") in kinds
