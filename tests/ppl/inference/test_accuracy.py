"""Posterior accuracy of NUTS and ADVI on conjugate models (fixed seeds)."""

import arviz as az
import numpy as np
import pytest

from tessera import ppl

from .conjugate import CASES


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "jax"], ids=["nutpie", "blackjax"])
@pytest.mark.parametrize("case", list(CASES))
def test_nuts_means_within_4_mcse(case, backend):
    model, exact = CASES[case]()
    idata = ppl.sample(
        draws=500,
        tune=500,
        chains=2,
        random_seed=1,
        progressbar=False,
        model=model,
        backend=backend,
    )
    assert int(idata.sample_stats["diverging"].sum()) == 0
    for name, (mean, sd) in exact.items():
        draws = idata.posterior[name]
        got = draws.mean(("chain", "draw")).values
        mcse = az.mcse(idata, var_names=[name])[name].values
        assert got.shape == np.shape(mean)
        assert np.all(np.abs(got - mean) < 4 * mcse), (got, mean, mcse)
        # the Monte-Carlo error is small next to the posterior spread
        assert np.all(mcse < 0.2 * sd)
        np.testing.assert_allclose(draws.std(("chain", "draw")).values, sd, rtol=0.2)


@pytest.mark.parametrize("case", list(CASES))
def test_advi_means_close(case):
    model, exact = CASES[case]()
    approx = ppl.fit(6000, obj_n_mc=4, model=model, random_seed=1, progressbar=False)
    for name, (mean, sd) in exact.items():
        got = approx.mean[name]
        assert got.shape == np.shape(mean)
        # mean-field Gaussians on the unconstrained space: exact means for
        # Gaussian posteriors, close ones otherwise; the rest is the noise
        # of the stochastic optimizer
        assert np.all(np.abs(got - mean) < 0.35 * sd), (got, mean, sd)
        ratio = approx.std[name] / sd
        assert np.all((ratio > 0.5) & (ratio < 1.6)), ratio


def _correlated_regression():
    rng = np.random.default_rng(4)
    n = 40
    x1 = rng.normal(size=n)
    x2 = 0.95 * x1 + np.sqrt(1 - 0.95**2) * rng.normal(size=n)
    X = np.stack([x1, x2], axis=1)
    y = X @ np.array([1.0, 0.5]) + rng.normal(size=n)
    prior_sd = 5.0
    cov = np.linalg.inv(np.eye(2) / prior_sd**2 + X.T @ X)
    with ppl.Model(coords={"coef": ["a", "b"]}) as model:
        beta = ppl.Normal("beta", 0.0, prior_sd, dims="coef")
        ppl.Normal("y", X @ beta, 1.0, observed=y)
    return model, cov @ X.T @ y, cov


def test_fullrank_recovers_correlation_meanfield_cannot():
    model, mean, cov = _correlated_regression()
    exact_corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert exact_corr < -0.8
    full = ppl.fit(
        8000,
        method="fullrank_advi",
        obj_n_mc=4,
        model=model,
        random_seed=0,
        progressbar=False,
    )
    mf = ppl.fit(8000, obj_n_mc=4, model=model, random_seed=0, progressbar=False)
    c = full.cov
    assert c.shape == (2, 2) and full.cov_labels == ["beta[0]", "beta[1]"]
    full_corr = c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])
    assert abs(full_corr - exact_corr) < 0.08, (full_corr, exact_corr)
    np.testing.assert_allclose(np.sqrt(np.diag(c)), np.sqrt(np.diag(cov)), rtol=0.2)
    np.testing.assert_allclose(full.mean["beta"], mean, atol=0.3 * np.sqrt(cov[0, 0]))
    # mean-field: no correlation, and marginal sds shrink to the conditional
    # ones, sqrt(1 - corr^2) of the exact
    mc = mf.cov
    assert mc[0, 1] == 0.0
    cond_sd = np.sqrt(1 / np.diag(np.linalg.inv(cov)))
    np.testing.assert_allclose(mf.std["beta"], cond_sd, rtol=0.2)
    assert np.all(mf.std["beta"] < 0.6 * np.sqrt(np.diag(cov)))
