"""Standard errors, confidence intervals and permutation tests of ``bm.mi`` (issue 12)."""

import warnings

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.uncertainty import subsampling_se


def gaussian(n, seed, rho=0.6, d=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ksg", "bi-ksg", "ksg-global-linf", "ksg-calibrated", "auto"])
def test_error_bars_never_change_the_estimate(method):
    x, y = gaussian(400, 0)
    plain = bm.mi(x, y, method=method, random_state=3)
    res = bm.mi(x, y, method=method, random_state=3, error_bars=True)
    assert res.mi == plain.mi
    np.testing.assert_array_equal(res.pmi, plain.pmi)
    assert np.isfinite(res.se) and res.se > 0
    assert np.isnan(plain.se) and np.isnan(plain.ci()[0]) and np.isnan(plain.p_value) and plain.null is None
    # a Generator: the estimate consumes it exactly as without error bars
    again = bm.mi(x, y, method=method, random_state=np.random.default_rng(5), error_bars=True)
    assert again.mi == bm.mi(x, y, method=method, random_state=np.random.default_rng(5)).mi


@pytest.mark.slow
def test_ci_brackets_the_estimate():
    x, y = gaussian(400, 1)
    res = bm.mi(x, y, method="ksg", error_bars=True)
    low, high = res.ci(0.95)
    assert low < res.mi < high
    assert high - low == pytest.approx(2 * 1.959964 * res.se, rel=1e-6)
    lo90, hi90 = res.ci(0.9)
    assert low < lo90 < res.mi < hi90 < high
    with pytest.raises(ValueError, match="level"):
        res.ci(1.5)


@pytest.mark.slow
def test_subsampling_se_is_calibrated_on_gaussians():
    # 30 independent data sets of one distribution: the spread of the estimates against the mean
    # reported SE (subsampling over 2-6 disjoint parts, extrapolated to n); the band allows for the 30-sample
    # SD's own uncertainty (13 %) and the SE's (13 %). Measured: 1.08 on these seeds, 0.89 and 0.88 on seeds
    # 1100-1129 and 2100-2129 (before the extrapolation across part sizes: 1.19, 0.98, 0.97).
    est, se = [], []
    for seed in range(30):
        x, y = gaussian(500, 100 + seed)
        res = bm.mi(x, y, method="ksg", random_state=seed, error_bars=True)
        est.append(res.mi)
        se.append(res.se)
    ratio = np.std(est, ddof=1) / np.mean(se)
    assert 0.7 < ratio < 1.4, ratio


@pytest.mark.slow
def test_subsampling_details_and_too_few_samples():
    x, y = gaussian(400, 2)
    info = subsampling_se(x, y, method="ksg", options={}, random_state=0)
    assert info["partitions"] == [2, 3, 4, 5, 6] and info["repeats"] == 2
    assert len(info["b_per_partition"]) == 5 and info["B"] > 0
    assert info["se"] == pytest.approx(np.sqrt(info["B"] / 400))
    # the variance on the parts, extrapolated to n (it grows with the sample size), is what the SE reports
    assert info["B"] == pytest.approx(info["growth_factor"] * info["B_parts"]) and info["growth_factor"] > 1
    small = subsampling_se(x[:100], y[:100], method="ksg", options={}, random_state=0)
    assert small["partitions"] == [2, 3, 4, 5]  # parts of >= 20 samples
    assert small["design"] == "standard"


def test_growth_factor_extrapolates_across_part_sizes():
    """``B(n) / B(n_m)`` of ``log B(n) = log B_inf - 2 kappa / sqrt(n)``: 1 at the same size, growing as the parts
    shrink and with the MI the estimator resolves, vanishing for large samples, bounded."""
    from bioinfo_mi import uncertainty

    assert uncertainty.growth_factor(1000, 1000, 1.0) == pytest.approx(1.0)
    sizes = np.array([500, 250, 100])
    low, high = uncertainty.growth_factor(sizes, 1000, 0.5), uncertainty.growth_factor(sizes, 1000, 3.0)
    assert np.all(np.diff(low) > 0) and np.all(high > low) and low[0] > 1
    kappa = uncertainty.GROWTH_BASE + uncertainty.GROWTH_PER_BIT * 0.5
    assert low[1] == pytest.approx(np.exp(2 * kappa * (1 / np.sqrt(250) - 1 / np.sqrt(1000))))
    assert uncertainty.growth_factor(50_000 // 6, 50_000, 1.0) < 1.06  # large samples: the parts' variance holds
    assert uncertainty.growth_factor(10, 10_000, 10.0) == uncertainty.MAX_GROWTH_FACTOR


def small_sample_warnings(caught):
    return [w for w in caught if isinstance(w.message, bm.EstimateWarning) and w.message.kind == "small-sample-se"]


@pytest.mark.slow
@pytest.mark.parametrize("n", [30, 45, 56])
def test_small_samples_give_a_finite_se_and_say_so(n):
    """Below 60 samples the default used to raise ``ValueError: error_bars needs at least 60 samples``; now
    parts go down to SMALL_MIN_PART samples, with an EstimateWarning saying so."""
    from bioinfo_mi import uncertainty

    x, y = gaussian(n, 20 + n)
    with pytest.warns(bm.EstimateWarning) as caught:
        res = bm.mi(x, y, method="ksg", error_bars=True, random_state=0)
    assert np.isfinite(res.se) and res.se > 0
    (warned,) = small_sample_warnings(caught)
    assert f"{n} samples" in str(warned.message) and "parts of" in str(warned.message)
    info = res.extra["error_bars"]
    assert info["design"] == "small" and info["repeats"] == uncertainty.SMALL_REPEATS
    assert min(n // m for m in info["partitions"]) >= uncertainty.SMALL_MIN_PART


def test_tiny_samples_pointwise_se_then_nan_never_an_exception():
    x, y = gaussian(60, 9)
    with pytest.warns(bm.EstimateWarning) as caught:
        res = bm.mi(x[:14], y[:14], method="ksg", error_bars=True, random_state=0)
    assert np.isfinite(res.se) and res.extra["error_bars"]["design"] == "pointwise"
    pmi = res.pmi[np.isfinite(res.pmi)]
    assert res.se == pytest.approx(np.std(pmi, ddof=1) / np.sqrt(14))  # the same estimate, seed and rows
    assert "pointwise" in str(small_sample_warnings(caught)[0].message)
    with pytest.warns(bm.EstimateWarning) as caught:
        info = subsampling_se(x[:6], y[:6], method="ksg", options={}, random_state=0)
    assert np.isnan(info["se"]) and info["design"] == "none"
    assert "se = NaN" in str(small_sample_warnings(caught)[0].message)
    with pytest.warns(bm.EstimateWarning):
        res = bm.mi(x[:12], y[:12], method="ksg-calibrated", error_bars=True, random_state=0)
    assert res.mi == bm.mi(x[:12], y[:12], method="ksg-calibrated", random_state=0).mi


@pytest.mark.slow
@pytest.mark.parametrize("n_held_out", [30, 45, 56])
def test_lmi_error_bars_on_few_held_out_pairs(n_held_out):
    """The LARRY case of issue 27: 113 clones, 56 held-out pairs, and LMI's SE (KSG on the held-out latents)
    raised ValueError; now a finite SE and the warning."""
    x, y = gaussian(2 * n_held_out, 40 + n_held_out, d=4)
    with pytest.warns(bm.EstimateWarning) as caught:
        res = bm.mi(x, y, method="lmi", error_bars=True, n_refits=1, random_state=0, epochs=2, latent_dim=2)
    assert len(res.test_idx) == n_held_out
    assert np.isfinite(res.se) and res.se > 0
    assert res.extra["error_bars"]["sampling"]["design"] == "small"
    assert any(f"{n_held_out} samples" in str(w.message) for w in small_sample_warnings(caught))


@pytest.mark.slow
def test_subsampling_design_from_large_n_on():
    """From LARGE_N samples on, one random partition into 3, ..., 6 parts (the fits cost seconds there);
    an explicit ``partitions`` keeps REPEATS."""
    from bioinfo_mi import uncertainty

    x, y = gaussian(uncertainty.LARGE_N, 4)
    info = subsampling_se(x, y, method="ksg", options={}, random_state=0)
    assert info["partitions"] == [3, 4, 5, 6] and info["repeats"] == 1
    assert info["se_rel_uncertainty"] == pytest.approx(np.sqrt(1 / (2 * 14)))
    assert 0.7 < info["se"] * np.sqrt(uncertainty.LARGE_N) < 3.0  # measured sqrt(n) SD: 1.4-1.6 bits (N = 1000-20 000)
    explicit = subsampling_se(x, y, method="ksg", options={}, random_state=0, partitions=(4, 5))
    assert explicit["partitions"] == [4, 5] and explicit["repeats"] == uncertainty.REPEATS
    below = subsampling_se(x[:-1], y[:-1], method="ksg", options={}, random_state=0)
    assert below["partitions"] == [2, 3, 4, 5, 6] and below["repeats"] == 2


@pytest.mark.slow
def test_permutation_test_strong_dependence_and_resolution():
    x, y = gaussian(300, 3, rho=0.8)
    res = bm.mi(x, y, method="ksg", n_shuffles=99)
    assert res.null.shape == (99,)
    assert res.p_value == pytest.approx(0.01)  # the resolution 1 / (1 + 99): no shuffle reaches the estimate
    assert res.extra["permutation"]["resolution"] == pytest.approx(0.01)
    assert abs(res.null.mean()) < 0.1 and res.mi > 1.0


@pytest.mark.slow
def test_permutation_p_values_are_uniformish_under_independence():
    rng = np.random.default_rng(7)
    p = []
    for seed in range(20):
        x, y = rng.standard_normal((150, 2)), rng.standard_normal((150, 2))
        p.append(bm.mi(x, y, method="ksg", n_shuffles=19, random_state=seed).p_value)
    p = np.array(p)
    assert 0.3 < p.mean() < 0.7, p
    assert (p <= 0.05).mean() <= 0.2, p


@pytest.mark.slow
def test_same_seed_same_numbers_whatever_n_jobs():
    x, y = gaussian(300, 4)
    a = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=9, random_state=11, n_jobs=1)
    b = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=9, random_state=11, n_jobs=2)
    c = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=9, random_state=11)
    assert a.se == b.se == c.se
    np.testing.assert_array_equal(a.null, b.null)
    np.testing.assert_array_equal(a.null, c.null)
    d = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=9, random_state=12)
    assert d.se != a.se


@pytest.mark.slow
def test_large_ksg_loops_in_worker_processes_give_the_same_numbers(monkeypatch):
    """Above THREAD_EXACT_MAX_SAMPLES the thread-exact fits go to worker processes (one thread each):
    the same shuffles and standard error as one after the other in this process with every thread."""
    import bioinfo_mi._fits as fits
    import bioinfo_mi._parallel as parallel

    x, y = gaussian(300, 4)
    a = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=5, random_state=3, n_jobs=2)
    calls = []
    real = parallel.Parallel
    monkeypatch.setattr(parallel, "Parallel", lambda *args, **kw: calls.append(kw) or real(*args, **kw))
    monkeypatch.setattr(fits, "THREAD_EXACT_MAX_SAMPLES", 0)
    b = bm.mi(x, y, method="ksg", error_bars=True, n_shuffles=5, random_state=3, n_jobs=2)
    assert len(calls) == 2  # the partitions and the shuffles
    assert a.se == b.se
    np.testing.assert_array_equal(a.null, b.null)


@pytest.mark.slow
def test_lmi_error_bars_from_refits_and_held_out_latents():
    x, y = gaussian(400, 5, d=4)
    opts = {"epochs": 3, "latent_dim": 2}
    plain = bm.mi(x, y, method="lmi", random_state=0, **opts)
    res = bm.mi(x, y, method="lmi", random_state=0, error_bars=True, n_refits=2, **opts)
    assert res.mi == plain.mi
    info = res.extra["error_bars"]
    assert info["method"] == "refits" and len(info["refit_estimates"]) == 2
    # the held-out sampling variance enters scaled from the n / 2 held-out samples to all n
    assert info["sampling_scale"] == pytest.approx(0.5)
    assert res.se == pytest.approx(np.sqrt(info["fit_sd"] ** 2 + 0.5 * info["sampling_se"] ** 2))
    assert info["sampling_se"] > 0 and res.zx is not None  # an LMIResult still


@pytest.mark.slow
def test_infonce_error_bars():
    x, y = gaussian(300, 6)
    res = bm.mi(x, y, method="infonce", random_state=0, error_bars=True, n_refits=2, steps=30)
    assert np.isfinite(res.se) and res.se > 0
    assert res.extra["error_bars"]["sampling"]["method"].startswith("variance of the pointwise")


@pytest.mark.parametrize(
    "kwargs, err",
    [
        ({"error_bars": "yes"}, TypeError),
        ({"n_shuffles": -1}, ValueError),
        ({"n_refits": 0}, ValueError),
        ({"n_jobs": 0}, ValueError),
    ],
)
def test_bad_arguments(kwargs, err):
    x, y = gaussian(100, 0)
    with pytest.raises(err):
        bm.mi(x, y, method="ksg", **kwargs)


def test_repeated_fits_hold_the_small_sample_warning_of_their_se():
    """In the repeated-fit layer (the tl tools) a fit's standard error on few samples is a diagnostic of that fit,
    held in ``FitResult.warnings`` and reported once per kind by ``warn_fits``, not raised per fit."""
    import warnings

    from bioinfo_mi._fits import FitJob, run_fits
    from bioinfo_mi.uncertainty import sampling_se

    x, y = gaussian(40, 11)
    rows = np.arange(40)
    job = FitJob(0, False, rows, rows, 3)
    with pytest.raises(ValueError, match="pass standard_error="):
        run_fits(x, y, [job], method="ksg", options={}, n_jobs=1, progress=False, with_se=[True])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (fit,) = run_fits(
            x,
            y,
            [job],
            method="ksg",
            options={},
            n_jobs=1,
            progress=False,
            with_se=[True],
            standard_error=sampling_se,
        )
    assert np.isfinite(fit.se)
    assert [kind for kind, _ in fit.warnings].count("small-sample-se") == 1
    assert not small_sample_warnings(caught)


def test_calibrated_error_bars_when_capped_on_inputs_too_wide_for_the_parts():
    """A calibrated estimate capped at the Gaussian-copula MI on 100 samples of 30 + 30 columns: the parts of
    the subsampling (17-50 samples) cannot hold that closed form (a singular correlation matrix raised
    LinAlgError), so the copula KSG's subsampling gives the standard error."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(100, 30)), rng.normal(size=(100, 30))
    res = bm.mi(x, y, method="ksg-calibrated", error_bars=True)
    assert res.extra["capped"] and np.isfinite(res.se) and res.se > 0
    assert res.extra["error_bars"]["what"].startswith("copula KSG")


def test_calibrated_error_bars_include_the_correction_that_follows_the_data():
    """The calibrated estimate is ``ksg + G - KSG_twins``, and the twins' KSG follows the data's Gaussian MI G
    with slope ~ c = KSG_twins / G, so the correction moves by (1 - c) per unit of G. Its standard error is the
    subsampling of ``ksg + (1 - c) G`` on the same parts plus the twins' own KSG noise; the copula KSG's
    alone (times sqrt(1 + 1 / n_twins)) read SD / SE 1.45 at 8 + 8, 4 bits, N = 2000 (issue 27's grid).
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((800, 4))
    y = 0.4 * x + np.sqrt(1 - 0.4**2) * rng.standard_normal((800, 4))
    res = bm.mi(x, y, method="ksg-calibrated", random_state=0, error_bars=True)
    assert res.extra["calibrated"] and not res.extra["capped"]
    info, extra = res.extra["error_bars"], res.extra
    c = (extra["twin_mi"] + np.mean(extra["twin_errors"])) / extra["twin_mi"]
    assert info["twin_response"] == pytest.approx(c) and 0.5 < c < 1
    assert res.se == pytest.approx(np.sqrt((info["B"] + info["B_ksg"] / res.params["n_twins"]) / 800), rel=1e-12)
    assert info["B"] != pytest.approx(info["B_ksg"], rel=0.05)  # the Gaussian MI's term counts
    assert res.mi == bm.mi(x, y, method="ksg-calibrated", random_state=0).mi


def test_k_nn_cmi_error_bars_extrapolate_with_the_growth_of_its_joint_space():
    """The k-NN CMI's n var grows faster with n than KSG's (bench_cmi.py --parts errorbars): its partitions'
    B are extrapolated with kappa = min(d - 1, 4.5) + 1.5 I, d the columns of (x, y, z).
    """
    from bioinfo_mi.uncertainty import GROWTH_BASE, GROWTH_PER_BIT, _growth, cmi_growth_base

    assert cmi_growth_base(2) == GROWTH_BASE and cmi_growth_base(4) == 3.0 and cmi_growth_base(9) == 4.5
    rng = np.random.default_rng(0)
    z = rng.normal(size=(600, 2))
    x = z @ rng.normal(size=(2, 2)) + rng.normal(size=(600, 2))
    y = z @ rng.normal(size=(2, 2)) + 0.5 * x + rng.normal(size=(600, 2))
    x[:, 1] = 1.0  # a constant column adds nothing to the joint space
    res = bm.cmi(x, y, z, method="ksg", error_bars=True, n_jobs=1)
    info = res.extra["error_bars"]
    sizes = 600 // np.asarray(info["partitions"])
    dof = np.asarray(info["partitions"]) - 1
    kappa = cmi_growth_base(5) + GROWTH_PER_BIT * info["growth_mi_bits"]
    b = np.asarray(info["b_per_partition"])
    expected = float(np.sum(dof * b * _growth(sizes, 600, kappa)) / np.sum(dof * b))
    assert info["growth_factor"] == pytest.approx(expected, rel=1e-9) and expected > 1.1
    assert res.se == pytest.approx(np.sqrt(info["B"] / 600))


def test_calibrated_error_bars_on_rank_deficient_inputs():
    """Columns that repeat others (Algorithm 4's few factors behind many columns, as in ``demo --quick``): the
    Gaussian MI of each part is taken on the span of each side's correlations, as the estimate's own model
    does (it raised ``LinAlgError: singular covariance``)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((600, 3))
    b = 0.5 * a + np.sqrt(1 - 0.25) * rng.standard_normal((600, 3))
    x, y = np.hstack([a, a[:, :2]]), np.hstack([b, b[:, :1]])
    res = bm.mi(x, y, method="ksg-calibrated", random_state=0, error_bars=True)
    assert res.extra["calibrated"] and np.isfinite(res.se) and res.se > 0
    assert res.extra["capped"] or "twin_response" in res.extra["error_bars"]


def test_parts_on_which_a_side_is_constant_count_as_zero():
    """Four non-zero values in 120 rows: most parts of the subsampling error bars see a constant x, whose MI is 0 by
    definition (the estimators raise for a constant side, which is right for the data passed, not for a part)."""
    rng = np.random.default_rng(1)
    x = np.zeros((120, 2))
    x[rng.choice(120, 4, replace=False), 0] = 1.0
    y = rng.normal(size=(120, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bm.mi(x, y, method="ksg", error_bars=True, random_state=0)
    assert np.isfinite(res.se) and res.se > 0 and res.mi == bm.mi(x, y, method="ksg", random_state=0).mi
