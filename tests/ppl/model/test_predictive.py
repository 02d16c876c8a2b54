"""Tests for tessera.ppl.model.predictive: prior and posterior predictive."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ppl
from tessera.ppl.distributions.continuous.unbounded import NormalRV

COV = np.array([[1.0, 0.3], [0.3, 2.0]])
N = 4000


def _hierarchical():
    with ppl.Model(coords={"g": ["a", "b", "c"]}) as m:
        mu = ppl.Normal("mu", 1.0, 2.0)
        tau = ppl.HalfNormal("tau", 1.5)
        theta = ppl.Normal("theta", mu, tau, dims="g")
        ppl.Deterministic("shift", theta - mu, dims="g")
        ppl.Normal("y", theta, 1.0, observed=np.zeros(3), dims="g")
    return m


@pytest.fixture(scope="module")
def hier_prior():
    m = _hierarchical()
    return m, ppl.sample_prior_predictive(draws=N, model=m, random_seed=11)


def test_prior_moments(hier_prior):
    _, idata = hier_prior
    mu = idata.prior["mu"].values[0]
    tau = idata.prior["tau"].values[0]
    y = idata.prior_predictive["y"].values[0]
    assert abs(mu.mean() - 1.0) < 4.5 * 2.0 / np.sqrt(N)
    assert abs(mu.std() - 2.0) < 0.1
    tau_mean = 1.5 * np.sqrt(2 / np.pi)
    tau_sd = 1.5 * np.sqrt(1 - 2 / np.pi)
    assert abs(tau.mean() - tau_mean) < 4.5 * tau_sd / np.sqrt(N)
    # y = mu + tau * z1 + z2: variance 4 + 1.5**2 + 1
    y_sd = np.sqrt(4 + 2.25 + 1)
    assert np.all(np.abs(y.mean(axis=0) - 1.0) < 4.5 * y_sd / np.sqrt(N))
    np.testing.assert_allclose(y.std(axis=0), y_sd, rtol=0.07)
    shift = idata.prior["shift"].values[0]
    theta = idata.prior["theta"].values[0]
    np.testing.assert_allclose(shift, theta - mu[:, None])


def test_prior_groups_coords_and_dims(hier_prior):
    _, idata = hier_prior
    assert set(idata.groups()) == {"prior", "prior_predictive", "observed_data"}
    assert set(idata.prior.data_vars) == {"mu", "tau", "theta", "shift"}
    assert idata.prior["theta"].dims == ("chain", "draw", "g")
    assert idata.prior["mu"].dims == ("chain", "draw")
    assert idata.prior_predictive["y"].shape == (1, N, 3)
    assert list(idata.prior.coords["g"].values) == ["a", "b", "c"]
    assert idata.observed_data["y"].dims == ("g",)


def test_prior_draws_are_seeded_and_vectorized(monkeypatch):
    m = _hierarchical()
    calls = []
    original = NormalRV.rng_fn
    monkeypatch.setattr(
        NormalRV,
        "rng_fn",
        lambda self, *a, **k: calls.append(k["size"]) or original(self, *a, **k),
    )
    # the NumPy backend's draws (the JAX backend's are compared in
    # tests/compile/backends/test_jax_random.py)
    a = ppl.sample_prior_predictive(
        50, model=m, random_seed=3, return_inferencedata=False, backend="numpy"
    )
    # one call per normal variable, each drawing all 50 samples at once
    assert sorted(calls) == [(50,), (50, 3), (50, 3)]
    b = ppl.sample_prior_predictive(
        50, model=m, random_seed=3, return_inferencedata=False, backend="numpy"
    )
    c = ppl.sample_prior_predictive(
        50, model=m, random_seed=4, return_inferencedata=False, backend="numpy"
    )
    np.testing.assert_array_equal(a["y"], b["y"])
    assert not np.array_equal(a["y"], c["y"])
    assert a["theta"].shape == (50, 3)


@pytest.mark.parametrize("backend", ["auto", "jax", "numpy"])
def test_prior_predictive_is_seeded_on_every_backend(backend):
    m = _hierarchical()

    def prior(seed):
        return ppl.sample_prior_predictive(
            20, model=m, random_seed=seed, return_inferencedata=False, backend=backend
        )["y"]

    np.testing.assert_array_equal(prior(3), prior(3))
    assert not np.array_equal(prior(3), prior(4))


def test_prior_of_multivariate_variables():
    with ppl.Model(coords={"k": range(3), "d": ["x", "y"]}):
        w = ppl.Dirichlet("w", np.array([1.0, 2.0, 3.0]), dims="k")
        mu = ppl.MvNormal("mu", np.zeros(2), COV, dims="d")
        ppl.MvNormal("z", mu, COV, observed=np.zeros((5, 2)))
        ppl.Multinomial("c", 20, w, observed=np.array([5, 5, 10]))
        idata = ppl.sample_prior_predictive(N, random_seed=5)
    w = idata.prior["w"].values[0]
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.mean(axis=0), [1 / 6, 2 / 6, 3 / 6], atol=0.02)
    mu = idata.prior["mu"].values[0]
    np.testing.assert_allclose(np.cov(mu.T), COV, atol=0.15)
    z = idata.prior_predictive["z"].values[0]
    assert z.shape == (N, 5, 2)
    np.testing.assert_allclose(np.cov((z[:, 0] - mu).T), COV, atol=0.15)
    counts = idata.prior_predictive["c"].values[0]
    assert np.all(counts.sum(axis=1) == 20) and counts.dtype == np.int64
    assert idata.prior["mu"].dims == ("chain", "draw", "d")
    assert idata.prior_predictive["z"].dims == ("chain", "draw", "z_dim_0", "z_dim_1")


def test_prior_var_names_and_errors():
    m = _hierarchical()
    with m:
        ppl.Potential("pot", -(m["mu"] ** 2))
    out = ppl.sample_prior_predictive(
        10, model=m, var_names=["theta"], return_inferencedata=False
    )
    assert list(out) == ["theta"]
    idata = ppl.sample_prior_predictive(10, model=m, var_names=["y"])
    assert "prior" not in idata.groups() and "prior_predictive" in idata.groups()
    with pytest.raises(ValueError, match="'pot' is a potential"):
        ppl.sample_prior_predictive(10, model=m, var_names=["pot"])
    with pytest.raises(ValueError, match="draws must be at least 1"):
        ppl.sample_prior_predictive(0, model=m)
    with pytest.raises(KeyError, match="no variable named 'nope'"):
        ppl.sample_prior_predictive(10, model=m, var_names=["nope"])


def test_prior_predictive_records_constant_data():
    with ppl.Model(coords={"obs": range(3)}) as m:
        x = ppl.Data("x", [1.0, 2.0, 3.0], dims="obs")
        b = ppl.Normal("b", 0.0, 1.0)
        ppl.Normal("y", b * x, 0.1, observed=np.zeros(3), dims="obs")
    idata = ppl.sample_prior_predictive(20, model=m, random_seed=0)
    np.testing.assert_array_equal(idata.constant_data["x"].values, [1.0, 2.0, 3.0])
    assert idata.constant_data["x"].dims == ("obs",)


# --- posterior predictive -----------------------------------------------------------------
def _regression():
    with ppl.Model(coords={"obs": range(4)}) as m:
        x = ppl.Data("x", [0.0, 1.0, 2.0, 3.0], dims="obs")
        a = ppl.Normal("a", 0.0, 1.0)
        b = ppl.Normal("b", 0.0, 1.0)
        s = ppl.HalfNormal("s", 1.0)
        mu = ppl.Deterministic("mu", a + b * x, dims="obs")
        ppl.Normal("y", mu, s, observed=np.zeros(4), dims="obs")
    return m


def _posterior(chains=2, draws=30, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "a": rng.normal(size=(chains, draws)),
        "b": rng.normal(size=(chains, draws)),
        "s": np.full((chains, draws), 1e-6),
    }


def test_posterior_predictive_uses_the_posterior_values():
    m = _regression()
    post = _posterior()
    pp = ppl.sample_posterior_predictive(post, model=m, random_seed=1)
    y = pp.posterior_predictive["y"]
    assert y.dims == ("chain", "draw", "obs") and y.shape == (2, 30, 4)
    want = post["a"][..., None] + post["b"][..., None] * np.arange(4.0)
    np.testing.assert_allclose(y.values, want, atol=1e-4)
    assert set(pp.groups()) == {"posterior_predictive", "observed_data"}


def test_posterior_predictive_accepts_inferencedata_and_datasets():
    from tessera.ppl.model.idata import to_inference_data

    m = _regression()
    idata = to_inference_data(m, posterior=_posterior())
    a = ppl.sample_posterior_predictive(idata, model=m, random_seed=2)
    b = ppl.sample_posterior_predictive(idata.posterior, model=m, random_seed=2)
    np.testing.assert_array_equal(
        a.posterior_predictive["y"].values, b.posterior_predictive["y"].values
    )
    out = ppl.sample_posterior_predictive(
        idata, model=m, extend_inferencedata=True, random_seed=2
    )
    assert out is idata and "posterior_predictive" in idata.groups()


def test_out_of_sample_predictions_after_set_data():
    m = _regression()
    post = _posterior()
    ppl.set_data({"x": [10.0, 20.0]}, model=m, coords={"obs": ["p", "q"]})
    pred = ppl.sample_posterior_predictive(
        post, model=m, var_names=["mu", "y"], predictions=True, random_seed=0
    )
    assert set(pred.groups()) == {"predictions", "predictions_constant_data"}
    want = post["a"][..., None] + post["b"][..., None] * np.array([10.0, 20.0])
    np.testing.assert_allclose(pred.predictions["mu"].values, want, rtol=1e-12)
    np.testing.assert_allclose(pred.predictions["y"].values, want, atol=1e-3)
    assert list(pred.predictions.coords["obs"].values) == ["p", "q"]
    np.testing.assert_array_equal(pred.predictions_constant_data["x"], [10.0, 20.0])


def test_free_variables_missing_from_the_posterior_are_drawn():
    m = _regression()
    post = {"a": np.zeros((1, N)), "b": np.zeros((1, N))}
    out = ppl.sample_posterior_predictive(
        post, model=m, var_names=["s", "y"], random_seed=0, return_inferencedata=False
    )
    s = out["s"][0]
    assert abs(s.mean() - np.sqrt(2 / np.pi)) < 4.5 * 0.61 / np.sqrt(N)
    # y | s ~ Normal(0, s): its spread follows the drawn s
    np.testing.assert_allclose(out["y"][0].std(axis=0), np.sqrt(1.0), rtol=0.07)


def test_posterior_predictive_of_a_batched_multivariate_likelihood():
    with ppl.Model(coords={"d": ["x", "y"]}) as m:
        sigma = ppl.HalfNormal("sigma", 1.0)
        mu = ppl.MvNormal("mu", np.zeros(2), np.eye(2), dims="d")
        ppl.MvNormal("z", mu, COV * sigma**2, observed=np.zeros((3, 2)))
    rng = np.random.default_rng(0)
    mu_post = rng.normal(size=(2, 20, 2))
    tiny = {"sigma": np.full((2, 20), 1e-6), "mu": mu_post}
    z = ppl.sample_posterior_predictive(
        tiny, model=m, random_seed=0, return_inferencedata=False
    )["z"]
    assert z.shape == (2, 20, 3, 2)
    np.testing.assert_allclose(
        z, np.broadcast_to(mu_post[:, :, None], z.shape), atol=1e-4
    )
    # scale 2: the covariance of each draw is 4 * COV
    wide = {"sigma": np.full((1, N), 2.0), "mu": np.zeros((1, N, 2))}
    z = ppl.sample_posterior_predictive(
        wide, model=m, random_seed=1, return_inferencedata=False
    )["z"]
    np.testing.assert_allclose(np.cov(z[0, :, 1].T), 4 * COV, rtol=0.1, atol=0.1)


def test_posterior_predictive_errors():
    m = _regression()
    with pytest.raises(ValueError, match="holds none of the model's free variables"):
        ppl.sample_posterior_predictive({"zz": np.zeros((1, 2))}, model=m)
    with pytest.raises(ValueError, match=r"posterior of 'a' has shape \(2, 3, 4\)"):
        ppl.sample_posterior_predictive({"a": np.zeros((2, 3, 4))}, model=m)
    with pytest.raises(ValueError, match=r"disagree on \(chain, draw\)"):
        ppl.sample_posterior_predictive(
            {"a": np.zeros((2, 3)), "b": np.zeros((2, 4))}, model=m
        )
    with pytest.raises(TypeError, match="expected an InferenceData"):
        ppl.sample_posterior_predictive(np.zeros(3), model=m)
    with pytest.raises(TypeError, match="extend_inferencedata needs"):
        ppl.sample_posterior_predictive(
            {"a": np.zeros((1, 2))}, model=m, extend_inferencedata=True
        )


# --- pointwise log-likelihood ------------------------------------------------------------
def test_log_likelihood_matches_scipy_per_observation():
    import scipy.stats as st

    from tessera.ppl.model.idata import to_inference_data

    with ppl.Model(coords={"obs": range(3)}) as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        s = ppl.HalfNormal("s", 1.0)
        ppl.Normal("y", mu, s, observed=np.array([0.5, -1.0, 2.0]), dims="obs")
        ppl.Poisson("k", 3.0, observed=np.array([1, 4]))
    rng = np.random.default_rng(0)
    post = {"mu": rng.normal(size=(2, 5)), "s": rng.uniform(0.5, 2, size=(2, 5))}
    idata = to_inference_data(m, posterior=post)
    out = ppl.model.compute_log_likelihood(idata, model=m)
    assert out is idata and "log_likelihood" in idata.groups()
    ll = idata.log_likelihood
    assert ll["y"].dims == ("chain", "draw", "obs")
    want = st.norm(post["mu"][..., None], post["s"][..., None]).logpdf([0.5, -1.0, 2.0])
    np.testing.assert_allclose(ll["y"].values, want, rtol=1e-12)
    # k does not depend on the posterior: broadcast over the draws
    np.testing.assert_allclose(
        ll["k"].values, np.broadcast_to(st.poisson(3.0).logpmf([1, 4]), (2, 5, 2))
    )


def test_log_likelihood_of_a_multivariate_likelihood_sums_the_event():
    import scipy.stats as st

    with ppl.Model(coords={"obs": range(3), "d": ["x", "y"]}) as m:
        mu = ppl.MvNormal("mu", np.zeros(2), np.eye(2), dims="d")
        z_obs = np.random.default_rng(1).normal(size=(3, 2))
        ppl.MvNormal("z", mu, COV, observed=z_obs, dims=("obs", "d"))
    mu_post = np.random.default_rng(2).normal(size=(1, 4, 2))
    new = ppl.model.compute_log_likelihood({"mu": mu_post}, model=m)
    ll = new.log_likelihood["z"]
    assert ll.dims == ("chain", "draw", "obs") and ll.shape == (1, 4, 3)
    for d in range(4):
        np.testing.assert_allclose(
            ll.values[0, d], st.multivariate_normal(mu_post[0, d], COV).logpdf(z_obs)
        )


def test_log_likelihood_errors():
    m = _regression()
    with pytest.raises(ValueError, match=r"no values for the free RVs \['s'\]"):
        ppl.model.compute_log_likelihood(
            {"a": np.zeros((1, 2)), "b": np.zeros((1, 2))}, model=m
        )
    with pytest.raises(ValueError, match="'a' is not an observed variable"):
        ppl.model.compute_log_likelihood(_posterior(), model=m, var_names=["a"])


def test_roots_batched_by_their_parameters():
    with ppl.Model() as m:
        ppl.Normal("w", np.arange(3.0), 1.0)
        ppl.Normal("v", 0.0, np.array([1.0, 10.0, 100.0]))  # batch from sigma
    out = ppl.sample_prior_predictive(
        N, model=m, random_seed=0, return_inferencedata=False
    )
    assert out["w"].shape == (N, 3) and out["v"].shape == (N, 3)
    assert np.all(np.abs(out["w"].mean(axis=0) - [0.0, 1.0, 2.0]) < 4.5 / np.sqrt(N))
    np.testing.assert_allclose(out["v"].std(axis=0), [1.0, 10.0, 100.0], rtol=0.07)


def test_posterior_predictive_pymc_keywords(capsys):
    m = _regression()
    post = _posterior()
    out = ppl.sample_posterior_predictive(
        post,
        model=m,
        random_seed=2,
        progressbar=True,
        sample_dims=["chain", "draw"],
        idata_kwargs={"attrs": {"note": "ported"}},
    )
    assert out.posterior_predictive.attrs["note"] == "ported"
    assert "Sampling the posterior predictive (2 x 30 draws)" in capsys.readouterr().err
    prior = ppl.sample_prior_predictive(
        draws=5, model=m, random_seed=0, idata_kwargs={"attrs": {"note": "p"}}
    )
    assert prior.prior.attrs["note"] == "p"
    post["s"] = np.ones_like(post["s"])
    ll = ppl.compute_log_likelihood(post, model=m, progressbar=True)
    assert "Computing the log-likelihood" in capsys.readouterr().err
    assert ll.log_likelihood["y"].shape[:2] == (2, 30)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"compile_kwargs": {}}, NotImplementedError, "'compile_kwargs' is not"),
        ({"sample_dims": ["sample"]}, NotImplementedError, "sample_dims"),
        ({"idata_kwargs": {"log_likelihood": True}}, TypeError, "idata_kwargs has"),
        ({"extend_inference_data": True}, TypeError, "'extend_inferencedata'"),
    ],
)
def test_posterior_predictive_bad_keywords(kwargs, error, match):
    with pytest.raises(error, match=match):
        ppl.sample_posterior_predictive(_posterior(), model=_regression(), **kwargs)
