"""``method="auto"`` on small samples: continuous columns are not called discrete, and fewer than
``MIN_SAMPLES`` samples give an estimate with a ``"few-samples"`` EstimateWarning (issue 27, item 11)."""

import warnings

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi import EstimateWarning
from bioinfo_mi.estimators import choose_method, ksg, ksg_calibrated
from bioinfo_mi.estimators._auto import MIN_SAMPLES, discrete_threshold, mostly_discrete


def _gaussian(n, d=1, mi_bits=0.5, seed=0):
    rho = np.sqrt(1.0 - 2.0 ** (-2.0 * mi_bits / d))
    x, y, _ = bm.datasets.correlated_gaussian(n_samples=n, d=d, rho=rho, random_state=seed)
    return x, y


def _few_samples(caught):
    return [w for w in caught if issubclass(w.category, EstimateWarning) and w.message.kind == "few-samples"]


@pytest.mark.parametrize("n", [5, 10, 15, 19])
def test_small_continuous_sample_is_not_discrete(n):
    x, y = _gaussian(n)
    assert not mostly_discrete(x, y)


@pytest.mark.parametrize("n", [10, 15, 30])
def test_tied_columns_stay_discrete_in_small_samples(n):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(n, 2)).astype(float)  # at most 3 values in n samples
    y = x + rng.integers(0, 2, size=(n, 2))
    assert mostly_discrete(x, y)


def test_discreteness_threshold_unchanged_from_40_samples():
    for n in (40, 100, 399, 400, 1000, 10_000):
        assert discrete_threshold(n) == max(0.05 * n, 20)
    assert discrete_threshold(15) == 7.5  # half the sample: continuous columns (15 distinct) are not discrete
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 17, size=(300, 4)).astype(float)  # 0-16 values, as the 8x8 digits
    assert mostly_discrete(pixels[:, :2], pixels[:, 2:])


def test_n15_runs_the_calibrated_ksg_on_all_samples_with_a_warning():
    """The issue's case: 15 continuous samples used to run plain KSG as on discrete data, silently."""
    x, y = _gaussian(15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bm.mi(x, y)
    assert res.extra["auto"]["method"] == "ksg-calibrated" and not res.extra["auto"]["discrete"]
    assert res.mi == ksg_calibrated(x, y, random_state=0).mi
    (warning,) = _few_samples(caught)
    message = str(warning.message)
    assert "got 15 samples" in message and f"fewer than the {MIN_SAMPLES}" in message
    assert f"{res.mi:.3f} bits" in message and "returned" in message


def test_warning_below_the_threshold_only():
    for n, warned in ((MIN_SAMPLES - 1, True), (MIN_SAMPLES, False), (2 * MIN_SAMPLES, False)):
        x, y = _gaussian(n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = bm.mi(x, y)
        assert bool(_few_samples(caught)) == warned, n
        assert np.isfinite(res.mi)


def test_estimate_unchanged_from_50_samples_on_continuous_data():
    """From 50 samples on, continuous data get the calibrated KSG wherever the samples-per-dimension rule or the
    LMI floor (80 samples) says so, and the estimate is that of ``ksg_calibrated``."""
    x, y = _gaussian(50)
    res = bm.mi(x, y)
    assert res.extra["auto"]["method"] == "ksg-calibrated"
    assert res.mi == ksg_calibrated(x, y, random_state=0).mi
    for n in (50, 59, 100, 999):
        assert choose_method(n, 6) == "ksg-calibrated"
        assert choose_method(n, 2) == "ksg-calibrated"
    assert choose_method(1000, 6) == "ksg-mixture"  # from MIXTURE_MIN_SAMPLES on
    for n in (80, 99):  # 10 + 10 dimensions: LMI from the size where its held-out half can score 2 + 2 latents
        assert choose_method(n, 20) == "lmi"


def test_small_samples_prefer_knn_on_all_samples_to_lmi():
    assert choose_method(15, 6) == "ksg-calibrated"  # 3+3 dimensions: not LMI on 7 held-out samples
    assert choose_method(49, 6) == "ksg-calibrated"
    # 50-79 samples: LMI would score fewer than 40 held-out samples in at least 2 + 2 latent dimensions
    # (3+3 at n = 50: RMSE 0.30 / 1.60 bits against the calibrated KSG's 0.19 / 0.31; issue 27)
    assert choose_method(50, 6) == "ksg-calibrated" and choose_method(79, 20) == "ksg-calibrated"
    assert choose_method(79, 100) == "lmi"  # too wide for the calibration
    assert choose_method(15, 2, discrete=True) == "ksg"
    assert choose_method(10, 8) == "lmi"  # too wide for the Gaussian calibration (n <= n_features + 2)


def test_discrete_small_sample_runs_plain_ksg_and_warns():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, size=(20, 1)).astype(float)
    y = np.abs(x - (rng.random((20, 1)) < 0.2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bm.mi(x, y)
    assert res.extra["auto"]["method"] == "ksg" and res.extra["auto"]["discrete"]
    assert res.mi == ksg(x, y, random_state=0).mi
    assert len(_few_samples(caught)) == 1


@pytest.mark.parametrize("method", ["ksg", "ksg-calibrated"])
def test_every_method_warns_below_the_threshold(method):
    """A typed method at n = 15 was silent: the warning is bm.mi's, for every method."""
    x, y = _gaussian(15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bm.mi(x, y, method=method)
    (warning,) = _few_samples(caught)
    assert f"bm.mi(method={method!r}) got 15 samples" in str(warning.message) and np.isfinite(res.mi)


@pytest.mark.parametrize("n", [5, 8, 9])
def test_auto_runs_plain_ksg_where_neither_lmi_nor_the_calibration_can(n):
    """Fewer than 10 samples (k = 3: LMI holds out k + 2) of more columns than samples - 2: the default still answers,
    with plain KSG on all samples and a warning that says why; from 10 samples LMI runs as the rule says."""
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 40))
    y = x[:, :3] + rng.normal(size=(n, 3))
    with pytest.warns(EstimateWarning, match="runs plain KSG") as caught:
        res = bm.mi(x, y, random_state=0)
    assert res.method == "ksg" and res.extra["auto"]["reason"] == "no-halves" and np.isfinite(res.mi)
    assert any(w.message.kind == "few-samples" and "LMI needs" in str(w.message) for w in caught)
    assert res.mi == ksg(x, y, random_state=0).mi
    x10 = rng.normal(size=(10, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert bm.mi(x10, x10[:, :3] + rng.normal(size=(10, 3)), random_state=0).method == "lmi"


def test_a_typed_method_is_not_replaced_on_too_few_samples():
    x = np.random.default_rng(0).normal(size=(8, 40))
    with pytest.raises(ValueError, match="method 'lmi' needs enough samples for both halves"):
        bm.mi(x, x[:, :3], method="lmi")


def test_choose_method_names_a_bad_size_argument():
    """``bm.estimators.choose_method`` takes sizes, not data: data given by mistake get an error naming it."""
    with pytest.raises(TypeError, match=r"n_samples must be an integer >= 1, got array"):
        choose_method(np.ones(3), 4)
    with pytest.raises(ValueError, match="n_features must be an integer >= 1, got 0"):
        choose_method(10, 0)
    assert choose_method(np.int64(2000), np.int64(46)) == "ksg-calibrated"
