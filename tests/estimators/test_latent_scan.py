"""scan_latent_dim: table layout, the fits it runs, n_jobs invariance, the choice rule, input errors."""

import numpy as np
import pandas as pd
import pytest

import bioinfo_mi as bm
from bioinfo_mi.estimators import _latent_scan as latent_scan
from bioinfo_mi.estimators._latent_scan import choose_latent_dim, scan_latent_dim
from bioinfo_mi.estimators._lmi import lmi

FAST = {"epochs": 3, "progress": False}
# 3-epoch fits on tiny data may well "still rise" at the largest size; the warning is tested below
pytestmark = pytest.mark.filterwarnings("ignore:the chosen latent size is the largest")


@pytest.fixture(scope="module")
def data():
    return bm.datasets.gaussian_low_rank(d=12, rank=2, n_samples=200, mi_bits=1.0, random_state=0)


@pytest.fixture(scope="module")
def scan(data):
    x, y = data
    return scan_latent_dim(x, y, latent_dims=[3, 1], n_repeats=2, random_state=5, **FAST)


def test_table_layout(scan):
    table = scan.table
    assert list(table.columns) == [
        "latent_dim",
        "estimate_0",
        "estimate_1",
        "mean",
        "sd",
        "sem",
        "threshold",
        "within_noise",
    ]
    assert table.latent_dim.tolist() == [1, 3]  # ascending whatever the order given
    est = table[["estimate_0", "estimate_1"]].to_numpy()
    np.testing.assert_allclose(table["mean"], est.mean(axis=1))
    np.testing.assert_allclose(table["sd"], est.std(axis=1, ddof=1))
    np.testing.assert_allclose(table["sem"], table["sd"] / np.sqrt(2))
    assert list(scan.runs.columns) == ["latent_dim", "repeat", "seed", "estimate", "n_epochs", "seconds"]
    assert len(scan.runs) == 4 and (scan.runs.n_epochs <= 3).all()
    assert scan.chosen in (1, 3) and scan.best == table.latent_dim[table["mean"].idxmax()]
    assert table.set_index("latent_dim").loc[scan.chosen, "within_noise"]
    assert scan.estimate == table.set_index("latent_dim").loc[scan.chosen, "mean"]
    assert scan.params["n_repeats"] == 2 and scan.params["lmi_options"] == {"epochs": 3}
    assert "chosen=" in repr(scan)


def test_each_fit_is_lmi_with_that_size_and_the_repeat_seed(data, scan):
    x, y = data
    # one seed per repeat, shared by every latent size
    assert scan.runs.groupby("repeat").seed.nunique().eq(1).all()
    assert scan.runs.seed.nunique() == 2
    for row in scan.runs.itertuples():
        direct = lmi(x, y, latent_dim=int(row.latent_dim), random_state=int(row.seed), epochs=3)
        assert direct.mi == row.estimate
        assert direct.zx.shape[1] == row.latent_dim


def test_same_numbers_whatever_n_jobs(data, scan):
    x, y = data
    again = scan_latent_dim(x, y, latent_dims=(1, 3), n_repeats=2, random_state=5, n_jobs=2, **FAST)
    cols = ["latent_dim", "repeat", "seed", "estimate", "n_epochs"]
    pd.testing.assert_frame_equal(again.runs[cols], scan.runs[cols])
    assert again.chosen == scan.chosen
    other_seed = scan_latent_dim(x, y, latent_dims=(1, 3), n_repeats=2, random_state=6, **FAST)
    assert not np.array_equal(other_seed.runs.estimate, scan.runs.estimate)


def _table(means, sems, dims=(2, 4, 6, 8)):
    return pd.DataFrame({"latent_dim": list(dims), "mean": means, "sem": sems})


def test_choice_rule_on_constructed_tables():
    # the paper's appendix values: 2 per side is far below the plateau 4-8 -> 4
    chosen, best, threshold = choose_latent_dim(_table([0.296, 0.720, 0.671, 0.687], [0.02] * 4))
    assert (chosen, best) == (4, 4)
    np.testing.assert_allclose(threshold, 0.720 - 2 * np.sqrt(2) * 0.02)
    # best at 6, but 4 is within 2 SE of the difference (0.95 - 0.9 < 2 * sqrt(2) * 0.03) -> smallest such size
    assert choose_latent_dim(_table([0.5, 0.90, 0.95, 0.93], [0.03] * 4))[:2] == (4, 6)
    # with less noise 4 is no longer within the band
    assert choose_latent_dim(_table([0.5, 0.90, 0.95, 0.93], [0.01] * 4))[:2] == (6, 6)
    # one repeat (sem NaN): no noise band, atol alone decides
    nan = [np.nan] * 4
    assert choose_latent_dim(_table([0.5, 0.90, 0.95, 0.93], nan))[0] == 6
    assert choose_latent_dim(_table([0.5, 0.90, 0.95, 0.93], nan), atol=0.06)[0] == 4
    # rows in any order
    shuffled = _table([0.671, 0.296, 0.687, 0.720], [0.02, 0.02, 0.02, 0.05], dims=(6, 2, 8, 4))
    chosen, best, threshold = choose_latent_dim(shuffled)
    assert (chosen, best) == (4, 4)
    # the threshold is aligned with the given rows; the best row's band is 2 * sqrt(2) * its own sem
    np.testing.assert_allclose(threshold[3], 0.720 - 2 * np.sqrt(2) * 0.05)
    np.testing.assert_allclose(threshold[0], 0.720 - 2 * np.sqrt(0.02**2 + 0.05**2))
    with pytest.raises(KeyError, match="sem"):
        choose_latent_dim(pd.DataFrame({"latent_dim": [2], "mean": [0.1]}))
    with pytest.raises(ValueError, match="n_se"):
        choose_latent_dim(_table([0.1] * 4, [0.1] * 4), n_se=-1)


def test_scan_applies_the_rule_and_warns_when_still_rising(data, monkeypatch):
    x, y = data

    def plateau_at_4(x, y, latent_dim, seed, options):
        noise = (seed % 1000) / 1000 * 0.02  # differs between repeats, so the sd is > 0
        return 0.8 * min(latent_dim, 4) / 4 + noise, 1, 0.0

    monkeypatch.setattr(latent_scan, "_fit", plateau_at_4)
    res = scan_latent_dim(x, y, n_repeats=3, progress=False)
    assert res.table["sd"].gt(0).all()
    assert res.chosen == 4
    assert res.table.within_noise.tolist() == [False, True, True, True]

    monkeypatch.setattr(
        latent_scan, "_fit", lambda x, y, latent_dim, seed, options: (latent_dim / 10 + (seed % 7) / 1000, 1, 0.0)
    )
    with pytest.warns(UserWarning, match="largest one scanned"):
        res = scan_latent_dim(x, y, n_repeats=2, progress=False)
    assert res.chosen == 8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"latent_dims": []}, ValueError, "latent_dims is empty"),
        ({"latent_dims": (2, 4, 2)}, ValueError, "repeated: \\[2\\]"),
        ({"latent_dims": (0, 2)}, ValueError, "latent_dims entries"),
        ({"latent_dims": (2.5,)}, TypeError, "latent_dims entries"),
        ({"latent_dims": "248"}, TypeError, "latent_dims must be a sequence"),
        ({"latent_dims": 4}, TypeError, "latent_dims must be a sequence"),
        ({"n_repeats": 0}, ValueError, "n_repeats"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"n_se": -1.0}, ValueError, "n_se"),
        ({"atol": float("nan")}, ValueError, "atol"),
        ({"random_state": "a"}, TypeError, "random_state"),
        ({"latent_dim": 4}, TypeError, "latent_dims="),
        ({"epoch": 4}, TypeError, "unknown LMI option"),
    ],
)
def test_input_errors(data, kwargs, error, match):
    x, y = data
    with pytest.raises(error, match=match):
        scan_latent_dim(x, y, **{"progress": False, **kwargs})


def test_data_errors(data):
    x, y = data
    with pytest.raises(ValueError, match="same number of samples"):
        scan_latent_dim(x, y[:-1], progress=False)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scan_latent_dim(bad, y, progress=False)
