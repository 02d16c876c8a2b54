"""CustomDist: callables and dist= graphs, against SciPy; derived log-densities,
gradients, draws, models (observed data, no random), backend parity and the
``backend="auto"`` fallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.testing import compare_backends, verify_grad


def normal_logp(value, mu, sigma):
    return -0.5 * ((value - mu) / sigma) ** 2 - ts.log(sigma) - 0.5 * np.log(2 * np.pi)


def normal_random(mu, sigma, rng=None, size=None):
    return rng.normal(mu, sigma, size=size)


def normal_logcdf(value, mu, sigma):
    return ts.log_ndtr((value - mu) / sigma)


# --- callables -------------------------------------------------------------------
def test_callables_logp_logcdf_draws_batched():
    mu, sigma = np.array([0.0, 1.0, -2.0]), np.array([[1.0], [2.0]])
    x = ppl.CustomDist.dist(
        mu, sigma, logp=normal_logp, random=normal_random, logcdf=normal_logcdf
    )
    assert x.type.shape == (2, 3)
    value = np.array([0.3, -1.0, 2.5])
    ref = st.norm(mu, sigma)
    np.testing.assert_allclose(ppl.logp(x, value).eval(), ref.logpdf(value))
    np.testing.assert_allclose(ppl.logcdf(x, value).eval(), ref.logcdf(value))
    d = ppl.draw(x, draws=4000, random_seed=0)
    assert d.shape == (4000, 2, 3)
    np.testing.assert_allclose(d.mean(0), np.broadcast_to(mu, (2, 3)), atol=0.15)
    np.testing.assert_allclose(d.std(0), np.broadcast_to(sigma, (2, 3)), rtol=0.05)
    # size, and the default support point (zeros)
    y = ppl.CustomDist.dist(0.0, 1.0, logp=normal_logp, size=(4,))
    assert y.type.shape == (4,)
    np.testing.assert_array_equal(ppl.moment(y).eval(), np.zeros(4))


def test_callables_with_core_dims():
    def logp(value, mu, chol):
        z = ts.linalg.solve_triangular(chol, (value - mu)[..., None], lower=True)
        maha = (z[..., 0] ** 2).sum(axis=-1)
        logdet = ts.log(ts.linalg.diagonal(chol)).sum(axis=-1)
        return -0.5 * maha - logdet - np.log(2 * np.pi)

    def random(mu, chol, rng=None, size=None):
        eps = rng.standard_normal(size + (2,))
        return mu + np.einsum("...ij,...j->...i", chol, eps)

    chol = np.array([[1.0, 0.0], [0.5, 2.0]])
    mu = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    x = ppl.CustomDist.dist(
        mu, chol, logp=logp, random=random, signature="(n),(n,n)->(n)"
    )
    assert x.type.shape == (3, 2)
    value = np.array([0.3, -0.7])
    want = [st.multivariate_normal(m, chol @ chol.T).logpdf(value) for m in mu]
    np.testing.assert_allclose(ppl.logp(x, value).eval(), want)
    assert ppl.draw(x, draws=5, random_seed=1).shape == (5, 3, 2)


def test_discrete_callables_and_support_point():
    def logp(value, mu):
        return value * ts.log(mu) - mu - ts.gammaln(value + 1.0)

    def random(mu, rng=None, size=None):
        return rng.poisson(mu, size=size)

    x = ppl.CustomDist.dist(
        [1.0, 6.0],
        logp=logp,
        random=random,
        dtype="int64",
        support_point=lambda mu: ts.floor(mu),
    )
    assert x.dtype == "int64"
    np.testing.assert_allclose(
        ppl.logp(x, np.array([2, 3])).eval(), st.poisson([1.0, 6.0]).logpmf([2, 3])
    )
    np.testing.assert_array_equal(ppl.moment(x).eval(), [1, 6])
    assert ppl.draw(x, random_seed=0).dtype == np.int64


# --- dist= graphs: derived log-densities -------------------------------------------
# (id, params, dist function, scipy reference, values); params are batched
DIST_CASES = [
    (
        "exp(normal) = lognormal",
        ([0.0, 0.5], 1.5),
        lambda mu, s, size: ts.exp(ppl.Normal.dist(mu, s, size=size)),
        st.lognorm(1.5, scale=np.exp([0.0, 0.5])),
        np.array([[0.3], [2.0], [-1.0]]),
    ),
    (
        "normal squared = chi2",
        (),
        lambda size: ppl.Normal.dist(0.0, 1.0, size=size) ** 2,
        st.chi2(1),
        np.array([0.5, 2.0, -1.0]),
    ),
    (
        "affine gamma",
        ([1.0, -2.0], 3.0),
        lambda loc, scale, size: loc + scale * ppl.Gamma.dist(2.0, 1.0, size=size),
        st.gamma(2.0, loc=[1.0, -2.0], scale=3.0),
        np.array([[3.0], [0.5], [-3.0]]),
    ),
    (
        "1 / gamma = inverse gamma",
        (3.0, [1.0, 2.0]),
        lambda a, b, size: 1.0 / ppl.Gamma.dist(a, b, size=size),
        st.invgamma(3.0, scale=[1.0, 2.0]),
        np.array([[0.2], [1.5]]),
    ),
    (
        "log(gamma) = log-gamma",
        (2.5,),
        lambda a, size: ts.log(ppl.Gamma.dist(a, 1.0, size=size)),
        st.loggamma(2.5),
        np.array([-1.0, 0.3, 1.7]),
    ),
    (
        "abs(normal) = half-normal",
        (2.0,),
        lambda s, size: abs(ppl.Normal.dist(0.0, s, size=size)),
        st.halfnorm(scale=2.0),
        np.array([0.1, 3.0, -0.5]),
    ),
    (
        "poisson shifted",
        ([1.0, 4.0],),
        lambda mu, size: ppl.Poisson.dist(mu, size=size) + 2,
        st.poisson([1.0, 4.0], loc=2),
        np.array([[1], [2], [5]]),
    ),
]


def _ref_logp(ref, values):
    if hasattr(ref, "logpmf"):
        return ref.logpmf(values)
    return ref.logpdf(values)


@pytest.mark.parametrize(
    "name, params, fn, ref, values", DIST_CASES, ids=[c[0] for c in DIST_CASES]
)
def test_derived_logp_against_scipy(name, params, fn, ref, values):
    x = ppl.CustomDist.dist(*params, dist=fn)
    np.testing.assert_allclose(
        ppl.logp(x, values).eval(), _ref_logp(ref, values), rtol=1e-9
    )


@pytest.mark.parametrize(
    "name, params, fn, ref, values", DIST_CASES, ids=[c[0] for c in DIST_CASES]
)
def test_dist_draws_against_scipy(name, params, fn, ref, values):
    x = ppl.CustomDist.dist(*params, dist=fn)
    d = ppl.draw(x, draws=3000, random_seed=4)
    assert d.shape == (3000, *x.type.shape)
    assert d.dtype == x.dtype
    cols = d.reshape(3000, -1)
    cdf = np.broadcast_to(ref.cdf(d), d.shape).reshape(3000, -1)
    for j in range(cols.shape[1]):
        if x.dtype.startswith("int"):
            assert np.isclose(cols[:, j].mean(), ref.mean().ravel()[j], rtol=0.1)
        else:
            assert st.kstest(cdf[:, j], "uniform").pvalue > 1e-3


def test_derived_logp_with_event_dims_and_size():
    def fn(mu, cov, size):
        return ts.exp(ppl.MvNormal.dist(mu, cov, size=size))

    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    x = ppl.CustomDist.dist(
        np.zeros(2), cov, dist=fn, signature="(n),(n,n)->(n)", size=(3,)
    )
    assert x.type.shape == (3, 2)
    value = np.array([1.0, 2.0])
    want = st.multivariate_normal(np.zeros(2), cov).logpdf(np.log(value))
    np.testing.assert_allclose(
        ppl.logp(x, value).eval(), np.full(3, want - np.log(value).sum())
    )
    assert ppl.draw(x, draws=4, random_seed=0).shape == (4, 3, 2)


def test_derived_logp_gradient_and_backend_parity():
    pytest.importorskip("jax")

    def fn(loc, scale, value):
        x = ppl.CustomDist.dist(
            loc,
            scale,
            dist=lambda lo, sc, size: ts.exp(lo + sc * ppl.Normal.dist(size=size)),
        )
        return ppl.logp(x, value)

    point = [np.array([0.2, -0.3]), np.array([1.3, 0.7]), np.array([0.5, 2.0])]
    verify_grad(fn, point)
    compare_backends(fn, point)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda size: ts.sin(ppl.Normal.dist(size=size)), "through op sin"),
        (
            lambda size: ppl.Normal.dist(size=size) + ppl.Normal.dist(size=size),
            "2 of its inputs are random",
        ),
        (lambda size: 2 * ppl.Poisson.dist(3.0, size=size), "discrete"),
    ],
)
def test_underivable_graphs_name_the_op(fn, match):
    x = ppl.CustomDist.dist(dist=fn)
    with pytest.raises(NotImplementedError, match=match):
        ppl.logp(x, 1.0)
    assert ppl.draw(x, random_seed=0).shape == ()  # draws still work


def test_user_logp_takes_precedence_over_derivation():
    x = ppl.CustomDist.dist(
        dist=lambda size: ts.sin(ppl.Normal.dist(size=size)),
        logp=lambda value: -ts.abs(value),
    )
    assert float(ppl.logp(x, -0.5).eval()) == -0.5


def test_build_time_errors():
    with pytest.raises(TypeError, match="give a logp function"):
        ppl.CustomDist.dist(0.0)
    with pytest.raises(ValueError, match="needs a signature"):
        ppl.CustomDist.dist(0.0, logp=normal_logp, ndim_supp=1)
    with pytest.raises(ValueError, match="pass `size` on"):
        ppl.CustomDist.dist([0.0, 1.0], dist=lambda mu, size: ppl.Normal.dist(0.0, 1.0))
    with pytest.raises(TypeError, match="must return a tessera variable"):
        ppl.CustomDist.dist(dist=lambda size: 1.0)


# --- in a model ------------------------------------------------------------------
def _model(random=None):
    data = np.array([0.1, 0.5, 1.0, -0.3])
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.CustomDist("y", mu, 1.0, logp=normal_logp, random=random, observed=data)
        ppl.CustomDist(
            "z",
            mu,
            dist=lambda m, size: ts.exp(ppl.Normal.dist(m, 1.0, size=size)),
            observed=np.array([1.0, 2.5]),
        )
    return model, data


def test_model_logp_on_both_backends():
    pytest.importorskip("jax")
    model, data = _model()
    want = (
        st.norm.logpdf(0.3)
        + st.norm(0.3, 1.0).logpdf(data).sum()
        + st.lognorm(1.0, scale=np.exp(0.3)).logpdf([1.0, 2.5]).sum()
    )
    assert np.isclose(model.compile_logp()({"mu": np.array(0.3)}), want)
    (mu_v,) = model.value_vars
    f = ts.function([mu_v], model.logp(), backend="jax")
    assert np.isclose(float(f(0.3)), want)


def test_draws_without_random_raise_and_auto_falls_back(caplog):
    model, _ = _model()
    with model, pytest.raises(NotImplementedError, match="no `random` function"):
        ppl.sample_prior_predictive(draws=5, random_seed=0)
    pytest.importorskip("jax")
    model, _ = _model(random=normal_random)
    with caplog.at_level(logging.INFO, logger="tessera.ppl"), model:
        idata = ppl.sample_prior_predictive(draws=50, random_seed=0)
    assert "no lowering for random variable CustomDist(" in caplog.text
    assert idata.prior_predictive["y"].shape == (1, 50, 4)
    assert idata.prior_predictive["z"].shape == (1, 50, 2)
    assert (idata.prior_predictive["z"] > 0).all()


@pytest.mark.slow
def test_nuts_on_a_custom_dist_without_random():
    # y_i ~ N(mu, 1), mu ~ N(0, 1): posterior N(sum(y) / (n + 1), 1 / (n + 1))
    data = np.random.default_rng(0).normal(1.0, 1.0, size=20)
    with ppl.Model():
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.CustomDist("y", mu, 1.0, logp=normal_logp, observed=data)
        idata = ppl.sample(
            draws=300, tune=300, chains=2, progressbar=False, random_seed=1
        )
    post = idata.posterior["mu"].values.ravel()
    n = len(data)
    assert abs(post.mean() - data.sum() / (n + 1)) < 0.1
    assert abs(post.std() - np.sqrt(1 / (n + 1))) < 0.06
