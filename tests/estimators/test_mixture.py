"""The mixture-calibrated copula KSG (``method="ksg-mixture"``, issue 30 direction 3): KSG's bias measured on twins
drawn from a Gaussian mixture fitted to the normal scores, removed; exact on shared states and curved links where
the Gaussian twins of ``ksg-calibrated`` are not."""

import warnings

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.benchmark import sc_tasks
from bioinfo_mi.estimators import _mixture, ksg_mixture
from bioinfo_mi.estimators._mixture import _choose_components


@pytest.fixture(scope="module")
def states():
    """4 shared states seen in 5 + 5 dimensions (a Gaussian mixture), truth by Monte Carlo."""
    task = sc_tasks.states_task(4, 5, 1.0, n_samples=2000, random_state=0)
    return (*bm.benchmark.sample_task(task, 0), task.true_mi)


def test_gaussian_reads_the_truth_and_chooses_few_components():
    x, y, truth = bm.datasets.correlated_gaussian(n_samples=2000, d=2, rho=0.7, random_state=0)
    res = ksg_mixture(x, y, random_state=0)
    assert res.method == "ksg-mixture" and res.extra["components"] <= 2
    assert abs(res.mi - truth) < 0.08
    assert res.mi == pytest.approx(res.pmi.mean())


def test_shared_states_read_closer_to_the_truth_than_ksg(states):
    x, y, truth = states
    res = ksg_mixture(x, y, random_state=0)
    plain = bm.mi(x, y, method="ksg", transform="copula").mi
    assert res.extra["components"] > 1  # the held-out likelihood sees the states
    assert abs(res.mi - truth) < 0.08 and abs(res.mi - truth) < abs(plain - truth) - 0.03


def test_a_curved_link_is_corrected_where_gaussian_twins_cannot():
    """y = x^2 + noise in 3 + 3 dims, 3.47 bits: no correlation for a Gaussian twin to reproduce."""
    task = sc_tasks.link_task("square", 3, 0.5, n_samples=2000)
    x, y = bm.benchmark.sample_task(task, 0)
    res = ksg_mixture(x, y, random_state=0, max_components=16)
    assert res.extra["ksg"] < 2.6 and res.mi > 3.0 and res.mi < task.true_mi + 0.2


def test_independence_reads_zero():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(1500, 4)), rng.exponential(size=(1500, 3))
    assert abs(ksg_mixture(x, y, random_state=1).mi) < 0.05


def _t_inside_each_side(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent sides, each a 3-D t with 2 degrees of freedom and its own scale (N = 2000)."""
    rng = np.random.default_rng(100 + seed)
    return tuple(rng.standard_normal((2000, 3)) / np.sqrt(rng.chisquare(2.0, size=(2000, 1)) / 2.0) for _ in range(2))


def test_reading_within_noise_of_zero_is_not_calibrated(monkeypatch):
    """Where the copula KSG is below RESOLVE_Z of its standard errors under independence it is returned as it is: the
    matched calibration clipped negative readings at 0 and amplified positive ones (this data set read 0.082 bits with
    a copula KSG of 0.047 before the check)."""
    x, y = _t_inside_each_side(9)
    res = ksg_mixture(x, y, random_state=9)
    assert res.extra["calibration"] == "unresolved" and not res.extra["calibrated"]
    assert res.mi == pytest.approx(res.extra["ksg"]) and abs(res.mi) < 0.05
    assert res.extra["ksg"] < _mixture.RESOLVE_Z * res.extra["null_se"]
    assert np.isfinite(bm.mi(x, y, method="ksg-mixture", random_state=9, error_bars=True).se)
    monkeypatch.setattr(_mixture, "RESOLVE_Z", -np.inf)
    assert ksg_mixture(x, y, random_state=9).mi > res.mi + 0.02


def test_the_resolution_check_draws_no_random_numbers(monkeypatch):
    """Where the copula KSG resolves the dependence (0.2 bit in 3 + 3 Gaussians) the estimate is the one without the
    check, to the bit."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
    y[:, 0] = 0.5 * x[:, 0] + np.sqrt(0.75) * y[:, 0]
    res = ksg_mixture(x, y, random_state=2)
    assert res.extra["calibrated"] and res.extra["ksg"] >= _mixture.RESOLVE_Z * res.extra["null_se"]
    monkeypatch.setattr(_mixture, "RESOLVE_Z", -np.inf)
    again = ksg_mixture(x, y, random_state=2)
    assert again.mi == res.mi and np.array_equal(again.pmi, res.pmi)


def test_same_seed_same_numbers_and_inputs_untouched(states):
    x, y, _ = states
    x0, y0 = x.copy(), y.copy()
    a = ksg_mixture(x, y, random_state=5)
    b = ksg_mixture(x, y, random_state=np.random.default_rng(5))
    assert a.mi == b.mi and np.array_equal(a.pmi, b.pmi) and a.extra["heldout"] == b.extra["heldout"]
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


def test_one_component_gives_gaussian_twins(states):
    x, y, _ = states
    res = ksg_mixture(x, y, random_state=0, max_components=1)
    assert res.extra["components"] == 1 and list(res.extra["heldout"]) == [1]


def test_the_matched_blur_reproduces_the_data_ksg(states):
    """Where the twins read more than the data, the blur is chosen so that they read as much: the estimate is the
    blurred mixture's MI, below the unblurred one."""
    x, y, _ = states
    res = ksg_mixture(x, y, random_state=0)
    extra = res.extra
    if extra["calibration"] == "matched":
        assert extra["sigma"] > 0 and res.mi <= extra["mixture_mi"] + 1e-9
    else:
        assert extra["sigma"] == extra["sigma0"] and (extra["sigma0"] > 0) == (extra["inflation"] > 0)
        assert res.mi == pytest.approx(extra["ksg"] + extra["mixture_mi"] - extra["twin_ksg"])


def test_the_component_search_uses_held_out_halves():
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    z = centres[rng.integers(0, 3, size=900)] + rng.normal(size=(900, 2))
    best, scores = _choose_components(z, 32, np.random.default_rng(0))
    assert best in (2, 4) and scores[best] > scores[1]  # three clusters: more than one component
    assert max(scores) < 32  # stopped after two sizes without a gain


@pytest.mark.parametrize(("option", "value"), [("n_twins", 0), ("max_components", 0), ("k", 0)])
def test_bad_options_are_named(option, value):
    x, y, _ = bm.datasets.correlated_gaussian(n_samples=200, d=2, rho=0.5, random_state=0)
    with pytest.raises(ValueError, match=option):
        ksg_mixture(x, y, **{option: value})


def test_bm_mi_dispatches_and_predicts_its_cost():
    x, y, _ = bm.datasets.correlated_gaussian(n_samples=400, d=2, rho=0.5, random_state=0)
    assert bm.mi(x, y, method="ksg-mixture").method == "ksg-mixture"
    few, many = (bm.estimators.predicted_seconds("ksg-mixture", 2000, d, d) for d in (3, 30))
    assert 0 < few < many


def test_fewer_samples_than_dimensions_is_refused_before_any_fit():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="more samples than dimensions"):
        ksg_mixture(rng.normal(size=(30, 20)), rng.normal(size=(30, 20)))


def test_a_rejected_calibration_returns_the_copula_ksg_with_a_warning(states, monkeypatch):
    from bioinfo_mi.estimators import _mixture

    x, y, _ = states
    monkeypatch.setattr(
        _mixture, "_convergence", lambda *a, **k: {"gain_data": 0.0, "gain_twins": 1.0, "rejected": True}
    )
    with pytest.warns(bm.EstimateWarning, match="returning the uncorrected copula KSG"):
        res = ksg_mixture(x, y, random_state=0)
    assert res.extra["calibration"] == "rejected" and res.mi == pytest.approx(res.extra["ksg"])


def test_the_fitted_mixture_inflation_is_measured_and_removed():
    """One Gaussian fitted to 14 + 14 dimensions of 1000 samples is more dependent than the truth (by about
    d_x d_y / 2n = 0.098 nats); the blur sigma0 brings the model's MI down by that inflation, exact for one
    component (no Monte Carlo error)."""
    from bioinfo_mi.estimators._copula import gaussian_mi_inflation

    x, y, truth = bm.datasets.correlated_gaussian(n_samples=1000, d=14, rho=0.3, random_state=0)
    res = ksg_mixture(x, y, random_state=0, max_components=1, base="nats")
    extra = res.extra
    assert extra["guard"]["supported"] and extra["guard"]["expected_inflation"] == pytest.approx(0.098)
    assert extra["inflation"] == pytest.approx(gaussian_mi_inflation(1000, 14, 14)) and extra["inflation_se"] == 0
    assert extra["sigma0"] > 0 and abs(extra["mixture_mi"] - truth * np.log(2)) < 0.1


def test_the_plug_in_gaussian_inflation_matches_monte_carlo():
    """The expected excess of the plug-in Gaussian MI (maximum-likelihood covariance) over the truth, whatever the
    correlation: 400 samples of 3 + 4 dimensions, 400 data sets at two correlations."""
    from bioinfo_mi.estimators._copula import gaussian_mi_inflation

    rng = np.random.default_rng(0)
    n, d_x, d_y = 400, 3, 4
    expected = gaussian_mi_inflation(n, d_x, d_y)
    assert expected == pytest.approx(d_x * d_y / (2 * n), rel=0.1)
    for rho in (0.0, 0.8):
        cov = np.eye(d_x + d_y)
        cov[0, d_x] = cov[d_x, 0] = rho
        truth = -0.5 * np.log(1 - rho**2)
        z = rng.standard_normal((400, n, d_x + d_y)) @ np.linalg.cholesky(cov).T
        excess = []
        for zi in z:
            s = np.cov(zi, rowvar=False, bias=True)
            logdet = [np.linalg.slogdet(m)[1] for m in (s[:d_x, :d_x], s[d_x:, d_x:], s)]
            excess.append(0.5 * (logdet[0] + logdet[1] - logdet[2]) - truth)
        # 400 data sets: the mean excess is known to about 0.002 nats (0.1 and 0.6 SE off here); 4 SE is a wide bound
        assert abs(np.mean(excess) - expected) < 4 * np.std(excess) / np.sqrt(len(excess))


def test_a_mixture_of_several_components_averages_its_refits(states):
    """More than one component: the inflation is the mean excess of INFLATION_REFITS refits to fresh draws of the
    mixture, with its standard error, which the error bars count where the twins' error was subtracted."""
    from bioinfo_mi.estimators import _mixture
    from bioinfo_mi.uncertainty import _inflation_se

    x, y, _ = states
    res = ksg_mixture(x, y, random_state=0)
    extra = res.extra
    assert extra["components"] > 1 and extra["inflation_se"] > 0 and _mixture.INFLATION_REFITS >= 4
    c = 0.4
    expected = (1 - c) * extra["inflation_se"] if extra["calibration"] == "subtracted" else 0.0
    assert _inflation_se(res, c) == pytest.approx(expected)


def test_a_mixture_the_samples_cannot_support_is_rejected_before_it_is_fitted(monkeypatch):
    """K components fitted to n rows inflate the model's MI by about K d_x d_y / 2n nats, more than the blur
    removes: above MAX_INFLATION (0.1 nats) the copula KSG is returned with a warning that says why, and no
    mixture is fitted to every row nor any twin drawn."""
    from bioinfo_mi.estimators import _mixture

    x, y, _ = bm.datasets.correlated_gaussian(n_samples=1000, d=20, rho=0.3, random_state=0)
    monkeypatch.setattr(_mixture, "_Twins", None)  # a twin drawn would fail
    with pytest.warns(bm.EstimateWarning, match=r"not supported by 1000 samples of 20 \+ 20 dimensions.*0\.20 nats"):
        res = ksg_mixture(x, y, random_state=0, max_components=1, base="nats")
    guard = res.extra["guard"]
    assert guard == {"expected_inflation": pytest.approx(0.2), "supported": False, "rejected": True}
    assert res.extra["calibration"] == "rejected" and res.mi == pytest.approx(res.extra["ksg"])
    assert "mixture_mi" not in res.extra


def test_above_the_row_cap_the_mixture_is_fitted_to_a_subset(monkeypatch):
    from bioinfo_mi.estimators import _mixture

    fitted_rows = []
    fit = _mixture._fit
    monkeypatch.setattr(_mixture, "MIXTURE_MAX_ROWS", 600)
    monkeypatch.setattr(_mixture, "_fit", lambda z, m, seed: fitted_rows.append(len(z)) or fit(z, m, seed))
    x, y, truth = bm.datasets.correlated_gaussian(n_samples=1500, d=2, rho=0.7, random_state=0)
    res = ksg_mixture(x, y, random_state=0)
    assert max(fitted_rows) == 600 and len(res.pmi) == 1500  # every KSG estimate keeps all rows
    assert abs(res.mi - truth) < 0.1


def test_error_bars_follow_the_twins_response():
    """The standard error: subsampling of the copula KSG with the share of the data's dependence that the
    calibration follows (``ksg-calibrated``'s design, with the mixture twins' response ``c``), and the twins' noise;
    the same whatever ``n_jobs``."""
    x, y, _ = bm.datasets.correlated_gaussian(n_samples=800, d=2, rho=0.7, random_state=0)
    one = bm.mi(x, y, method="ksg-mixture", error_bars=True, n_jobs=1)
    two = bm.mi(x, y, method="ksg-mixture", error_bars=True, n_jobs=2)
    assert one.se > 0 and one.se == two.se and one.mi == two.mi
    info = one.extra["error_bars"]
    assert "copula KSG" in info["what"] and "twins" in info["what"] and 0 < info["twin_response"] <= 1
    plain = bm.mi(x, y, method="ksg", transform="copula", error_bars=True, n_jobs=1)
    assert 0.5 * plain.se < one.se < 3 * plain.se


def test_a_matched_mixture_divides_the_ksg_error_by_the_twins_response():
    """Where the twins were blurred until they read the data's KSG, the estimate moves by 1 / c per unit of KSG:
    the SE is the copula KSG's (and the twins') over c = KSG / estimate."""
    from bioinfo_mi.uncertainty import _twin_response

    res = bm.MIResult(
        mi=2.0,
        pmi=np.full(10, 2.0),
        method="ksg-mixture",
        base="bits",
        n_samples=10,
        params={"n_twins": 2},
        extra={"calibration": "matched", "ksg": 1.5, "mixture_mi": 2.4, "twin_ksg": 1.6},
    )
    assert _twin_response(res) == (0.75, 0.0, pytest.approx(1 / 0.75))
    res.extra["calibration"] = "subtracted"
    c, share, scale = _twin_response(res)
    assert c == pytest.approx(1.6 / 2.4) and share == pytest.approx(1 - c) and scale == 1.0


def test_auto_runs_the_mixture_where_one_gaussian_would_inflate_by_at_most_a_tenth_of_a_nat(states):
    """From 1000 samples on, where ``d_x d_y / 2n <= 0.1`` nats, ``auto`` runs ``ksg-mixture``: the same number as
    the estimator called alone with the same seed."""
    x, y, _ = states  # 5 + 5 columns, 2000 samples: 0.00625 nats
    res = bm.mi(x, y, random_state=3)
    assert res.method == "ksg-mixture" and res.extra["auto"]["method"] == "ksg-mixture"
    assert res.extra["auto"]["reason"] == "samples" and res.extra["auto"]["mixture"] is None
    assert res.mi == ksg_mixture(x, y, random_state=3).mi


def test_auto_runs_the_calibrated_ksg_where_the_mixture_is_rejected(monkeypatch):
    """A rejected mixture hands over to ``ksg-calibrated`` with the same seed (its number exactly); the mixture's
    warning is not given, its guard is kept in ``extra["auto"]["mixture"]``, the reason says why."""
    from bioinfo_mi.estimators import _mixture, ksg_calibrated

    monkeypatch.setattr(
        _mixture, "_convergence", lambda *a, **k: {"gain_data": 0.0, "gain_twins": 1.0, "rejected": True}
    )
    x, y, _ = bm.datasets.correlated_gaussian(n_samples=1000, d=2, rho=0.7, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.EstimateWarning)
        res = bm.mi(x, y, random_state=2, n_twins=3)
    record = res.extra["auto"]
    assert res.method == "ksg-calibrated" and record["method"] == "ksg-calibrated"
    assert record["reason"] == "mixture-rejected" and record["mixture"]["guard"]["rejected"]
    assert res.mi == ksg_calibrated(x, y, random_state=2, n_twins=3).mi


def test_linearly_dependent_columns_are_modelled_on_their_span():
    """Algorithm 4's design (LMI paper): one shared dimension seen in 10 columns per side, 5 of them linear
    combinations of the others. Fitted in every direction, the regularised covariances and the blur gave the twins
    directions the data do not have, KSG read more on them, and the estimate came out at 1.15 of 2 bits; on the
    span it reads the truth, as ``ksg-calibrated`` does."""
    from bioinfo_mi.benchmark import gaussian_task
    from bioinfo_mi.estimators._mixture import _span

    task = gaussian_task(10, 1, 2.0, n_samples=2000)
    x, y = bm.benchmark.sample_task(task, 0, random_state=0)
    basis = _span(bm.estimators.copula_transform(x))
    assert basis is not None and basis.shape == (10, 5)
    res = ksg_mixture(x, y, random_state=0)
    assert abs(res.mi - task.true_mi) < 0.15
    assert res.extra["guard"]["expected_inflation"] == pytest.approx(5 * 5 / 4000 / np.log(2))
