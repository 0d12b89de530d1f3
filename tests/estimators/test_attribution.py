"""attribution: per-feature scores of an LMI fit recover the informative features of a known construction."""

import warnings

import numpy as np
import pytest

import bioinfo_mi as bm
from bioinfo_mi._parallel import fit_threads
from bioinfo_mi.estimators import Attribution, LMIPreset, attribution, lmi

X_INFORMATIVE, X_CONSTANT = np.array([3, 7, 11, 15, 19]), np.array([0, 10])
Y_INFORMATIVE, Y_CONSTANT = np.array([1, 5, 9, 13, 17]), np.array([2, 21])
# a small network trained with more steps per epoch: the truth is recovered in a few seconds
FAST = {"preset": LMIPreset(min_width=64, lr=3e-3), "epochs": 60, "batch_size": 128, "random_state": 0}


def _data(n=2000, seed=0):
    """22 columns per side: 5 informative (one independent shared factor each), 15 noise, 2 constant."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, 5))
    x, y = rng.standard_normal((n, 22)), rng.standard_normal((n, 22))
    x[:, X_INFORMATIVE] = shared + 0.3 * rng.standard_normal((n, 5))
    y[:, Y_INFORMATIVE] = shared + 0.3 * rng.standard_normal((n, 5))
    x[:, X_CONSTANT], y[:, Y_CONSTANT] = 3.0, -1.0
    return x, y


@pytest.fixture(scope="module")
def fit():
    x, y = _data()
    # one thread: on a loaded machine torch's default pool made this 4 s fit take minutes
    with warnings.catch_warnings(), fit_threads(1):
        warnings.simplefilter("ignore")  # constant columns dropped; few-samples diagnostics
        res = lmi(x, y, **FAST)
    return res, x, y


def _top(scores, n):
    return set(np.argsort(-scores, kind="stable")[:n].tolist())


def test_cross_r2_ranks_informative_features_first_and_constants_score_zero(fit):
    res, x, y = fit
    x0, y0 = x.copy(), y.copy()
    scores = attribution(res, x, y)
    assert isinstance(scores, Attribution) and scores.score == "cross_r2" and scores.unit == "R^2"
    assert scores.x.shape == (22,) and scores.y.shape == (22,) and scores.n_scored == len(res.test_idx)
    assert _top(scores.x, 5) == set(X_INFORMATIVE.tolist())
    assert _top(scores.y, 5) == set(Y_INFORMATIVE.tolist())
    assert (scores.x[X_CONSTANT] == 0).all() and (scores.y[Y_CONSTANT] == 0).all()
    # R^2 of uninformative features is kept as computed: around 0, some below (not clipped)
    noise_x = np.delete(scores.x, np.r_[X_INFORMATIVE, X_CONSTANT])
    assert np.abs(noise_x).max() < 0.05 and (np.r_[scores.x, scores.y] < 0).any()
    assert np.array_equal(x, x0) and np.array_equal(y, y0)  # inputs untouched
    assert not res.model.training
    assert "cross_r2" in repr(scores)


def test_cross_r2_matches_a_brute_force_reference(fit):
    """Per-feature R^2 of the decoder predictions, recomputed by hand on the held-out rows."""
    import torch

    res, x, y = fit
    model, test = res.model, res.test_idx
    tx, ty = model.standardize(x[test], y[test])
    with torch.no_grad():
        prediction = model.xy_decoder(model.x_encoder(tx)).double().numpy()
    target = ty.double().numpy()
    expected = 1 - ((prediction - target) ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0)
    scores = attribution(res, x, y)
    np.testing.assert_allclose(scores.y[model.y_keep], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_permutation_ranks_informative_features_first_and_is_deterministic(fit):
    res, x, y = fit
    x0, y0 = x.copy(), y.copy()
    scores = attribution(res, x, y, score="permutation", n_repeats=4, random_state=0)
    assert scores.score == "permutation" and scores.unit == "bits"
    assert _top(scores.x, 5) == set(X_INFORMATIVE.tolist())
    assert _top(scores.y, 5) == set(Y_INFORMATIVE.tolist())
    assert (scores.x[X_CONSTANT] == 0).all() and (scores.y[Y_CONSTANT] == 0).all()
    # the reference is lmi's held-out estimate, recomputed (differs only by the tie-breaking jitter)
    assert scores.params["mi_heldout"] == pytest.approx(res.mi, abs=1e-6)
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


@pytest.mark.slow
def test_permutation_is_deterministic_under_a_seed(fit):
    res, x, y = fit
    a = attribution(res, x, y, score="permutation", random_state=3)
    b = attribution(res, x, y, score="permutation", random_state=np.random.default_rng(3))
    c = attribution(res, x, y, score="permutation", random_state=4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_validation_errors(fit):
    res, x, y = fit
    with pytest.raises(TypeError, match="res must be an LMIResult"):
        attribution(bm.estimators.ksg(x[:200, :3], y[:200, :3]), x, y)
    with pytest.raises(ValueError, match="score must be"):
        attribution(res, x, y, score="gradient")
    with pytest.raises(ValueError, match="features the model was trained on"):
        attribution(res, x[:, :-1], y)
    with pytest.raises(ValueError, match="res has 2000 samples"):
        attribution(res, x[:-1], y[:-1])
    with pytest.raises(ValueError, match="do not look like the data res was fitted on"):
        attribution(res, x[::-1], y[::-1])
    with pytest.raises(ValueError, match="n_repeats"):
        attribution(res, x, y, score="permutation", n_repeats=0)


@pytest.mark.slow
def test_cross_r2_needs_the_cross_decoders():
    x, y = _data(n=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmi(x, y, regularizer="mine", preset=LMIPreset(min_width=64), epochs=1, random_state=0)
    with pytest.raises(ValueError, match="regularizer='cross'.*score='permutation'"):
        attribution(res, x, y)
    scores = attribution(res, x, y, score="permutation")  # works for any regularizer
    assert (scores.x[X_CONSTANT] == 0).all() and np.isfinite(scores.y).all()


def _confounded(n=1500, seed=0):
    """20 columns per side: 0-4 read a 3-level z (the pair shares them only through z), 5-9 a link beyond z."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 3, n)
    means = rng.normal(0.0, 1.5, (3, 5))
    link = rng.standard_normal((n, 1))

    def side():
        out = rng.standard_normal((n, 20))
        out[:, :5] += means[z]
        out[:, 5:10] += link
        return out

    return side(), side(), z, means


@pytest.fixture(scope="module")
def conditional_fits():
    x, y, z, means = _confounded()
    numeric = means[z] @ np.random.default_rng(1).standard_normal((5, 2))
    numeric = numeric + 0.1 * np.random.default_rng(2).standard_normal(numeric.shape)
    with warnings.catch_warnings(), fit_threads(1):
        warnings.simplefilter("ignore")
        fits = {
            "labels": (bm.estimators.latent_cmi(x, y, z, categorical=True, **FAST), z),
            "numbers": (bm.estimators.latent_cmi(x, y, numeric, **FAST), numeric),
        }
    return fits, x, y


@pytest.mark.parametrize("kind", ["labels", "numbers"])
def test_a_conditional_fit_is_attributed_beyond_z(conditional_fits, kind):
    """The partial cross_r2: features shared only through z score near 0, the link beyond z stays on top."""
    fits, x, y = conditional_fits
    res, z = fits[kind]
    z0 = np.array(z, copy=True)
    scores = attribution(res, x, y, z=z)
    assert scores.params["conditional"] and scores.unit == "R^2"
    for side in (scores.x, scores.y):
        assert _top(side, 5) == {5, 6, 7, 8, 9}
        assert side[5:10].min() > 0.2 and np.abs(side[:5]).max() < 0.05 and np.abs(side[10:]).max() < 0.05
    assert np.array_equal(z, z0)
    assert np.array_equal(attribution(res, x, y, z=z).x, scores.x)  # no randomness


def test_conditional_cross_r2_matches_a_brute_force_reference(conditional_fits):
    """Per-feature partial R^2 against the leave-one-out stratum mean of the decoder's predictions, by hand."""
    import torch

    fits, x, y = conditional_fits
    res, z = fits["labels"]
    model, test = res.model, res.test_idx
    tx, ty = model.standardize(x[test], y[test])
    onehot = np.eye(3)[z]
    c = (onehot - onehot[res.train_idx].mean(0)) / onehot[res.train_idx].std(0)
    with torch.no_grad():
        code = model.x_encoder(tx)
        prediction = model.xy_decoder(torch.cat([code, torch.tensor(c[test], dtype=torch.float32)], 1)).double()
    prediction, target, strata = prediction.numpy(), ty.double().numpy(), z[test]
    from_z = np.empty_like(prediction)
    for i in range(len(test)):
        others = (strata == strata[i]) & (np.arange(len(test)) != i)
        from_z[i] = prediction[others].mean(0)
    expected = 1 - ((prediction - target) ** 2).sum(0) / ((from_z - target) ** 2).sum(0)
    np.testing.assert_allclose(attribution(res, x, y, z=z).y, expected, rtol=1e-6, atol=1e-9)


def test_conditional_attribution_validation(conditional_fits, fit):
    fits, x, y = conditional_fits
    res, z = fits["labels"]
    with pytest.raises(ValueError, match="conditional fit.*pass z="):
        attribution(res, x, y)
    with pytest.raises(ValueError, match="not defined for a conditional fit"):
        attribution(res, x, y, z=z, score="permutation")
    with pytest.raises(ValueError, match="stratum codes res was fitted with"):
        attribution(res, x, y, z=z + 1)
    numeric_res, numeric = fits["numbers"]
    with pytest.raises(ValueError, match="not the conditioning variable"):
        attribution(numeric_res, x, y, z=numeric[::-1])
    plain, px, py = fit
    with pytest.raises(ValueError, match="only for a conditional fit"):
        attribution(plain, px, py, z=np.zeros(len(px), dtype=int))
