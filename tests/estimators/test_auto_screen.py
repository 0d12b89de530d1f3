"""The screen part of ``auto``'s rule (issue 30): where the samples would send sides of more than 20 columns to
a KSG estimator on every column, ``auto`` first runs LMI's column screen on a random half of the rows; where it
leaves columns out and plain KSG on the other half reads more on the kept columns than on every column (the
left-out columns cost KSG more than the MI they hold), LMI, which screens on its training half, runs instead.
Dense dependence and independence keep every column, and with them the KSG estimator."""

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi.estimators import _auto, choose_method
from bioinfo_mi.estimators._calibrated import ksg_calibrated


def _few_informative(n, seed, n_noise=37):
    """Three shared directions (0.9 correlation) among ``n_noise`` standard normal noise columns per side."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, 3))
    x = np.hstack([shared + 0.5 * rng.standard_normal((n, 3)), rng.standard_normal((n, n_noise))])
    y = np.hstack([shared + 0.5 * rng.standard_normal((n, 3)), rng.standard_normal((n, n_noise))])
    return x, y


def test_choose_method_sends_screened_sides_to_lmi_from_the_lmi_floor():
    assert choose_method(2000, 46) == "ksg-calibrated"  # 23 + 23: too wide for the mixture at 2000 samples
    assert choose_method(2000, 46, screened=True) == "lmi"
    assert choose_method(2000, 400, discrete=True) == "ksg"
    assert choose_method(2000, 400, discrete=True, screened=True) == "lmi"
    # below LMI's floor the small-sample rule (KSG on every sample) stands
    assert choose_method(_auto.LMI_MIN_SAMPLES - 1, 46, screened=True) == "ksg-calibrated"


def test_a_diffuse_signal_keeps_the_ksg_estimator(monkeypatch):
    """Where the screen leaves columns out but plain KSG reads less on the kept ones (the left-out columns held
    MI, as pixels of label-resampled digits do), the KSG estimator stays."""
    from bioinfo_mi.estimators import _registry

    x, y = _few_informative(1000, seed=0)
    real = _registry._screen_check

    def losing(*args):
        check = real(*args)
        return dict(check, ksg_kept=check["ksg_all"] - 0.01)

    monkeypatch.setattr(_registry, "_screen_check", losing)
    res = bm.mi(x, y, random_state=0)
    assert res.method == "ksg-calibrated" and res.extra["auto"]["reason"] == "samples"


def test_auto_runs_lmi_where_the_screen_leaves_noise_columns_out():
    x, y = _few_informative(1000, seed=0)  # 80 columns, 1000 samples: the calibrated KSG by the samples
    res = bm.mi(x, y, random_state=0)
    record = res.extra["auto"]
    assert res.method == "lmi" and record["reason"] == "screen"
    check = record["screen_check"]
    assert 1 <= check["kept"][0] < 40 and 1 <= check["kept"][1] < 40 and check["rows"] == 500  # noise left out
    assert check["ksg_kept"] > check["ksg_all"] + 0.3  # 37 noise columns per side cost plain KSG most of the MI
    assert bm.mi(x, y, random_state=0).extra["auto"]["screen_check"] == check  # the same seed, the same check
    assert res.mi == bm.mi(x, y, method="lmi", random_state=0).mi  # LMI's own fit, its own screen
    # LMI without a screen would read every column: the check then does not apply, and an LMI-only option
    # names the estimator that the samples chose
    with pytest.raises(ValueError, match="ksg-calibrated"):
        bm.mi(x, y, screen=False, random_state=0)


@pytest.mark.parametrize("dependent", [True, False])
def test_dense_dependence_and_independence_keep_the_ksg_estimator(dependent):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 25))
    y = (x if dependent else 0) + rng.standard_normal((600, 25))
    res = bm.mi(x, y, random_state=4)
    assert res.method == "ksg-calibrated" and res.extra["auto"]["reason"] == "samples"
    check = res.extra["auto"]["screen_check"]
    assert check["kept"] == (25, 25) and check["ksg_all"] is None  # nothing left out: no KSG comparison
    # the check draws nothing from the estimator's streams: the same estimate as the estimator called alone,
    # for a seed and for a generator
    assert res.mi == ksg_calibrated(x, y, random_state=4).mi
    mine = bm.mi(x, y, random_state=np.random.default_rng(5)).mi
    assert mine == ksg_calibrated(x, y, random_state=np.random.default_rng(5)).mi


def test_narrow_sides_are_not_screened():
    x, y = _few_informative(1000, seed=1, n_noise=10)  # 13 columns per side: at most 20, never screened
    res = bm.mi(x, y, random_state=0)
    assert res.method == "ksg-mixture" and res.extra["auto"]["screen_check"] is None
