"""MeanField / FullRank: moments in the original space, sample()."""

import numpy as np
import pytest

from tessera import ppl
from tessera.ppl.inference import FullRank, MeanField


def _model():
    with ppl.Model(coords={"g": ["a", "b"]}) as model:
        mu = ppl.Normal("mu", 0.0, 1.0, dims="g")
        sigma = ppl.HalfNormal("sigma", 1.0)
        ppl.Deterministic("shift", mu + 10.0, dims="g")
        ppl.Normal("y", mu, sigma, observed=np.array([0.1, -0.3]), dims="g")
    return model


def _set(q, mu, sd):
    q.mu.set_value(np.asarray(mu, dtype=float))
    # both keep their scales as softplus(rho); FullRank's U starts at zero
    q.rho.set_value(np.log(np.expm1(np.asarray(sd, dtype=float))))


@pytest.mark.parametrize("cls", [MeanField, FullRank])
def test_moments_in_original_space(cls):
    model = _model()
    q = cls(model, np.zeros(3))
    # flat layout: mu (2 entries), sigma_log__
    _set(q, [1.0, -2.0, np.log(0.5)], [0.3, 0.4, 0.2])
    mean, std = q.mean, q.std
    assert sorted(mean) == ["mu", "shift", "sigma"]
    # untransformed: exact
    np.testing.assert_array_equal(mean["mu"], [1.0, -2.0])
    np.testing.assert_allclose(std["mu"], [0.3, 0.4])
    # log-normal sigma: Monte Carlo with mc_draws draws
    tol = 4 * 0.5 * 0.2 / np.sqrt(q.mc_draws)
    assert abs(mean["sigma"] - 0.5 * np.exp(0.2**2 / 2)) < tol * 1.5
    sd_exact = 0.5 * np.sqrt((np.exp(0.04) - 1) * np.exp(0.04))
    np.testing.assert_allclose(std["sigma"], sd_exact, rtol=0.05)
    np.testing.assert_allclose(mean["shift"], [11.0, 8.0], atol=0.05)
    # deterministic for repeated access
    assert q.mean["sigma"] == mean["sigma"]
    c = q.cov
    assert q.cov_labels == ["mu[0]", "mu[1]", "sigma"]
    assert c.shape == (3, 3)
    np.testing.assert_allclose(np.sqrt(np.diag(c)), [0.3, 0.4, sd_exact], rtol=0.06)
    assert q.flat_labels() == ["mu[0]", "mu[1]", "sigma_log__"]


def test_cov_exact_without_transforms():
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0, shape=2)
    q = FullRank(model, np.zeros(2))
    # L = diag(softplus(rho)) (I + U) = [[1, 0], [0.5, 2]]
    q.rho.set_value(np.log(np.expm1([1.0, 2.0])))
    q.U.set_value(np.array([[0.0, 0.0], [0.25, 0.0]]))
    np.testing.assert_allclose(q.cov, [[1.0, 0.5], [0.5, 4.25]], rtol=1e-12)
    np.testing.assert_allclose(q.std["x"], np.sqrt([1.0, 4.25]))


@pytest.mark.parametrize("cls", [MeanField, FullRank])
def test_sample_inference_data(cls):
    model = _model()
    q = cls(model, np.zeros(3))
    _set(q, [1.0, -2.0, 0.0], [0.1, 0.1, 0.1])
    idata = q.sample(500, random_seed=0)
    post = idata.posterior
    assert post["mu"].dims == ("chain", "draw", "g")
    assert post["mu"].shape == (1, 500, 2)
    assert list(post["g"].values) == ["a", "b"]
    assert (post["sigma"] > 0).all()
    np.testing.assert_allclose(post["shift"].values, post["mu"].values + 10.0)
    np.testing.assert_allclose(
        post["mu"].mean(("chain", "draw")), [1.0, -2.0], atol=0.02
    )
    assert "observed_data" in idata.groups()
    same = q.sample(500, random_seed=0).posterior["mu"].values
    np.testing.assert_array_equal(same, post["mu"].values)
    raw = q.sample(7, random_seed=1, return_inferencedata=False)
    assert raw["mu"].shape == (7, 2)
    with pytest.raises(ValueError, match="draws must be at least 1"):
        q.sample(0)


def test_bad_start():
    with pytest.raises(ValueError, match=r"expected \(3,\)"):
        MeanField(_model(), np.zeros(2))
    assert "3 unconstrained" in repr(MeanField(_model(), np.zeros(3)))
