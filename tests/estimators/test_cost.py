"""The cost model (``bm.estimators.predicted_seconds``) and the cost part of ``auto``'s rule.

Measured against real run times in ``benchmarks/bench_cost_model.py`` (docs/performance.md); here the
model's shape and the rule's logic, which do not depend on the machine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.estimators import _auto, _cost, _registry
from bioinfo_mi.estimators import predicted_seconds as predicted


@pytest.mark.parametrize("method", sorted(_registry.REGISTRY))
def test_every_method_has_a_cost_that_grows_with_the_work(method):
    base = predicted(method, 2000, 10, 10)
    assert np.isfinite(base) and base > 0
    assert predicted(method, 8000, 10, 10) >= base  # more samples (MINE/InfoNCE: fixed steps, so equal is fine)
    # more dimensions (auto: from 10 + 10 to 300 + 300 it changes estimator, ksg-mixture -> LMI; both LMI's)
    wide = predicted(method, 2000, 300, 300)
    assert wide > (predicted(method, 2000, 100, 100) if method == "auto" else base)


def test_knn_cost_regimes():
    # the torch search above 200 joint dimensions is quadratic in n and linear in d
    t1, t2 = _cost.knn_seconds(4000, 4000, 1000), _cost.knn_seconds(8000, 8000, 1000)
    assert t2 / t1 == pytest.approx(4.0)
    assert _cost.knn_seconds(4000, 4000, 2000) / t1 == pytest.approx(2.0)
    # the compiled kernel grows far below quadratically in a few dimensions, close to it near 200
    low = _cost.knn_seconds(10**5, 10**5, 4) / _cost.knn_seconds(10**4, 10**4, 4)
    high = _cost.knn_seconds(10**5, 10**5, 128) / _cost.knn_seconds(10**4, 10**4, 128)
    assert low < 20 < 60 < high <= 100
    # between the table's rows the constants are interpolated, so the cost is continuous in d
    assert _cost.knn_seconds(10**4, 10**4, 20) == pytest.approx(_cost.knn_seconds(10**4, 10**4, 21), rel=0.1)


def test_calibrated_ksg_costs_its_ksg_estimates_on_full_and_half_samples_and_a_small_guard():
    ksg, half = predicted("ksg", 5000, 100, 100), predicted("ksg", 2500, 100, 100)
    calibrated = predicted("ksg-calibrated", 5000, 100, 100)
    assert 3 * ksg + 8 * half < calibrated < 1.25 * (3 * ksg + 8 * half)  # the guard (<= 5 + 5 dims) is small
    # two more twins: two more full-size estimates and four more half-size ones
    assert predicted("ksg-calibrated", 5000, 100, 100, n_twins=4) - calibrated > 2 * ksg + 4 * half


def test_lmi_cost_counts_its_parameters_and_epochs():
    # the parameter count is the model's own
    model = bm.estimators.LMIModel(30, 700, preset=bm.estimators.PRESETS["default"])
    count = sum(p.numel() for p in model.parameters())
    assert _cost.lmi_parameters(30, 8, {}) + _cost.lmi_parameters(700, 8, {}) == count
    assert predicted("lmi", 10000, 500, 500, epochs=5) < predicted("lmi", 10000, 500, 500)


def test_lmi_cost_follows_the_caps_of_the_default_preset_at_large_n():
    """Above 20 000 samples: at most 50 000 training pairs and a patience bounded in pairs, so the time
    grows with the rows encoded and scored, not with epochs over half of them (benchmarks/bench_scale.py
    measured 80 s at 10^5 x 1000 + 1000; the model without the caps predicted 458 s)."""
    at_1e5 = predicted("lmi", 100_000, 1000, 1000)
    assert 40 < at_1e5 < 160
    # from 20 000 samples on LMI trains on ~400 000 pairs in all (42 epochs of 10 000, ..., 8 of 50 000)
    assert 0.5 < predicted("lmi", 20_000, 1000, 1000) / at_1e5 < 2
    assert at_1e5 < predicted("lmi", 1_000_000, 1000, 1000) < 10 * at_1e5
    # the training part stops growing at the cap: doubling N past it adds encoding and scoring only
    growth = predicted("lmi", 400_000, 1000, 1000) - predicted("lmi", 200_000, 1000, 1000)
    assert growth < predicted("lmi", 200_000, 1000, 1000) - predicted("lmi", 100_000, 1000, 1000) + 60


def test_predicted_seconds_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown method"):
        predicted("nope", 100, 1, 1)
    with pytest.raises(ValueError, match="n_samples"):
        predicted("ksg", 0, 1, 1)
    with pytest.raises(TypeError, match="d_x"):
        predicted("ksg", 100, 1.5, 1)
    with pytest.raises(TypeError, match="epochs"):
        predicted("ksg", 100, 1, 1, epochs=3)


def test_choose_method_gives_way_to_lmi_only_when_too_costly():
    costs = {"ksg-calibrated": 1000.0, "ksg": 400.0, "lmi": 200.0}
    assert _auto.choose_method(5000, 20, mixture=False) == "ksg-calibrated"
    assert _auto.choose_method(5000, 20, costs=costs, mixture=False) == "lmi"  # 1000 s > max(300 s, 3 x 200 s)
    assert _auto.choose_method(5000, 20, costs=costs, cost_ratio=6.0, mixture=False) == "ksg-calibrated"
    assert _auto.choose_method(5000, 20, costs=costs, cost_ratio=np.inf, mixture=False) == "ksg-calibrated"
    # below the floor (5 minutes) the cost does not matter, however large the ratio
    cheap = {"ksg-calibrated": 250.0, "ksg": 250.0, "lmi": 0.1}
    assert _auto.choose_method(5000, 20, costs=cheap, mixture=False) == "ksg-calibrated"
    # the mixture gives way to the calibrated KSG first, by the same rule, then to LMI
    assert _auto.choose_method(5000, 20) == "ksg-mixture"
    assert _auto.choose_method(5000, 20, costs={**cheap, "ksg-mixture": 299.0}) == "ksg-mixture"
    assert _auto.choose_method(5000, 20, costs={**cheap, "ksg-mixture": 301.0}) == "ksg-calibrated"
    assert _auto.choose_method(5000, 20, costs={**costs, "ksg-mixture": 601.0}) == "lmi"  # both > 3 x 200 s
    # costs without the mixture's prediction (e.g. bm.cmi's candidates): the mixture is not a candidate, no KeyError
    assert _auto.choose_method(5000, 20, costs=cheap) == "ksg-calibrated"
    # plain KSG on discrete data follows the same rule
    assert _auto.choose_method(5000, 20, discrete=True, costs=costs) == "ksg"
    assert _auto.choose_method(5000, 20, discrete=True, costs={**costs, "ksg": 601.0}) == "lmi"
    # below MIN_SAMPLES a KSG estimator on all samples stays, whatever the cost
    assert _auto.choose_method(40, 4, costs={"ksg-calibrated": 1e6, "ksg": 1e6, "lmi": 1.0}) == "ksg-calibrated"


def test_the_mixture_runs_from_1000_samples_where_one_gaussian_would_inflate_by_at_most_a_tenth_of_a_nat():
    """``ksg-mixture`` replaces ``ksg-calibrated`` where ``n >= MIXTURE_MIN_SAMPLES`` and ``d_x d_y / 2n <=
    MAX_INFLATION`` (0.1 nats): 20 + 20 columns from 2000 samples on, 5 + 5 from 1000, 25 + 25 not at 2000."""
    assert _auto.MIXTURE_MIN_SAMPLES == 1000 and _auto.MAX_INFLATION == 0.1
    assert _auto.choose_method(1999, 40) == "ksg-calibrated" and _auto.choose_method(2000, 40) == "ksg-mixture"
    assert _auto.choose_method(999, 10) == "ksg-calibrated" and _auto.choose_method(1000, 10) == "ksg-mixture"
    assert _auto.choose_method(2000, 50) == "ksg-calibrated"
    # the widths decide, not their sum: 5 + 45 inflate by 225 / 4000 nats
    assert _auto.choose_method(2000, 50, widths=(5, 45)) == "ksg-mixture"
    assert _auto.choose_method(2000, 40, discrete=True) == "ksg"  # tied columns keep plain KSG


def test_the_cost_rule_changes_nothing_at_the_sizes_of_the_peer_suites():
    # the bmi suite (d <= 25 + 25, n <= 5000) and the Gaussian grid's calibrated cells stay with the KSG
    for n, d in [(2000, 25), (5000, 25), (10000, 50), (5000, 100)]:
        assert bm.estimators.predicted_seconds("ksg-calibrated", n, d, d) < _auto.COST_FLOOR_SECONDS
    # and the atlas case (20 000 cells x 1000 + 1000 genes) goes to LMI
    assert _registry._auto_seconds(20000, 1000, 1000) == bm.estimators.predicted_seconds("lmi", 20000, 1000, 1000)


def test_auto_records_its_reason_and_the_predicted_times():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = x + rng.normal(size=(300, 2))
    res = bm.mi(x, y)
    record = res.extra["auto"]
    assert record["method"] == "ksg-calibrated" and record["reason"] == "samples" and record["mixture"] is None
    assert set(record["predicted_seconds"]) == {"ksg-mixture", "ksg-calibrated", "ksg", "lmi"}
    assert record["predicted_seconds"]["ksg-calibrated"] == pytest.approx(predicted("ksg-calibrated", 300, 2, 2))
    assert record["cost_ratio"] == _auto.COST_RATIO


def test_auto_runs_lmi_when_the_calibrated_ksg_is_predicted_too_costly(monkeypatch):
    # predict an hour for the calibrated KSG: the same small sample then goes to LMI, for cost
    entry = _registry._CANDIDATES["ksg-calibrated"]
    monkeypatch.setitem(_registry._CANDIDATES, "ksg-calibrated", dataclasses.replace(entry, cost=lambda *a: 3600.0))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = x + rng.normal(size=(300, 2))
    with pytest.warns(bm.EstimateWarning, match="cost_ratio=np.inf") as record:
        res = bm.mi(x, y, epochs=3)
    assert res.method == "lmi" and res.extra["auto"]["reason"] == "cost"
    assert [w.category.__name__ for w in record].count("EstimateWarning") >= 1
    assert any(w.filename == __file__ for w in record if "cost_ratio" in str(w.message))  # points at the call
    # cost_ratio=np.inf: by the samples alone; an option only LMI takes then names the estimator that ran
    res = bm.mi(x, y, cost_ratio=np.inf)
    assert res.method == "ksg-calibrated" and res.extra["auto"]["reason"] == "samples"
    with pytest.raises(ValueError, match="ksg-calibrated"):
        bm.mi(x, y, cost_ratio=np.inf, epochs=3)


@pytest.mark.parametrize("bad", [0.5, np.nan, "3"])
def test_auto_rejects_a_bad_cost_ratio(bad):
    x = np.arange(100.0)
    with pytest.raises(ValueError, match="cost_ratio"):
        bm.mi(x, x**2, cost_ratio=bad)


def test_the_k_nn_cmi_has_its_own_cost_model_and_auto_uses_it():
    from bioinfo_mi.conditional import _choose
    from bioinfo_mi.estimators._cost import CMI_KNN_FACTOR, knn_seconds, ksg_cmi_calibrated_seconds, ksg_cmi_seconds

    one = ksg_cmi_seconds(10_000, 50, 50, 2)
    assert one == pytest.approx(CMI_KNN_FACTOR * knn_seconds(10_000, 10_000, 102))
    # data, 2 permutations, 4 twins and one permutation of each; without the null check data and twins
    assert ksg_cmi_calibrated_seconds(10_000, 50, 50, 2) == pytest.approx(11 * one)
    assert ksg_cmi_calibrated_seconds(10_000, 50, 50, 2, {"n_null": 0}) == pytest.approx(5 * one)
    # about 2 minutes at 10 000 x (50 + 50 | 2) (measured 113 s without the check): the k-NN CMI stays; at
    # 20 000 it is predicted above 5 minutes and 3 times LMI, and the latent CMI runs
    z = np.zeros((10_000, 2))
    method, record = _choose(z, 10_000, 20, 100, "auto")
    assert method == "ksg-calibrated"
    method, record = _choose(np.zeros((20_000, 2)), 20_000, 20, 100, "auto")
    assert method == "lmi" and "predicted to take" in record["reason"]
    assert record["predicted_seconds"]["ksg-calibrated"] > 3 * record["predicted_seconds"]["lmi"]
