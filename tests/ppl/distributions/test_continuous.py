"""Continuous distributions against scipy.stats: one table, run over batch shapes.

Covers the package ``continuous/`` (``unbounded.py``, ``skewed.py``,
``positive.py``, ``half.py``, ``bounded.py``, ``circular.py``) and
``TruncatedNormal`` (``truncated.py``). For each entry (checks in
``_univariate_checks.py``): logp and logcdf at reference draws for batch
shapes (), (3,) and (2,1) with (1,4); ``verify_grad`` of logp in the
parameters and the value; draws (shapes, KS test per batch element at a
fixed seed); out-of-support values and parameters; a moment inside the
support.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _univariate_checks import UnivariateTableChecks

import tessera as ts
from tessera import ppl
from tessera.ppl.testing import DistCase, Param, Ref

P = Param
POS = P(0.5, 2.0)


def _halfstudentt(nu, sigma):
    t = st.t(nu, 0.0, sigma)
    return Ref(
        logpdf=lambda x: np.where(x >= 0, np.log(2.0) + t.logpdf(x), -np.inf),
        logcdf=lambda x: np.log(np.clip(2.0 * t.cdf(x) - 1.0, 0.0, 1.0)),
        rvs=lambda size, random_state: np.abs(
            t.rvs(size=size, random_state=random_state)
        ),
    )


def _kumaraswamy(a, b):
    def logpdf(x):
        return np.log(a) + np.log(b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-(x**a))

    def rvs(size, random_state):
        u = random_state.uniform(size=size)
        return (1 - (1 - u) ** (1 / b)) ** (1 / a)

    return Ref(logpdf=logpdf, logcdf=lambda x: np.log1p(-((1 - x**a) ** b)), rvs=rvs)


def _vonmises(mu, kappa):
    def turns(t):
        k = np.floor((t + np.pi) / (2 * np.pi))
        return st.vonmises.cdf(t - 2 * np.pi * k, kappa) + k

    def cdf(x):
        return turns(x - mu) - turns(-np.pi - mu)

    def rvs(size, random_state):
        return random_state.vonmises(mu, kappa, size=size)

    return Ref(
        logpdf=lambda x: st.vonmises.logpdf(x, kappa, loc=mu),
        logcdf=lambda x: np.log(cdf(x)),
        cdf_fn=cdf,
        rvs=rvs,
    )


def _truncnorm(mu, sigma, lower, upper):
    return st.truncnorm((lower - mu) / sigma, (upper - mu) / sigma, mu, sigma)


CASES = [
    DistCase(
        ppl.Normal,
        {"mu": P(-2, 2), "sigma": POS},
        lambda mu, sigma: st.norm(mu, sigma),
        bad_params={"sigma": -1.0},
    ),
    DistCase(
        ppl.HalfNormal,
        {"sigma": POS},
        lambda sigma: st.halfnorm(0, sigma),
        bad_params={"sigma": 0.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.TruncatedNormal,
        {"mu": P(-1, 1), "sigma": POS, "lower": P(-2, -1), "upper": P(1, 2)},
        _truncnorm,
        bad_params={"sigma": -1.0, "lower": 3.0},
        bad_values=[-5.0, 5.0],
    ),
    DistCase(
        ppl.StudentT,
        {"nu": P(1, 5), "mu": P(-1, 1), "sigma": POS},
        lambda nu, mu, sigma: st.t(nu, mu, sigma),
        bad_params={"nu": -1.0, "sigma": -1.0},
    ),
    DistCase(
        ppl.HalfStudentT,
        {"nu": P(1, 5), "sigma": POS},
        _halfstudentt,
        bad_params={"nu": 0.0},
        bad_values=[-0.5],
    ),
    DistCase(
        ppl.Cauchy,
        {"alpha": P(-1, 1), "beta": POS},
        lambda alpha, beta: st.cauchy(alpha, beta),
        bad_params={"beta": -1.0},
    ),
    DistCase(
        ppl.HalfCauchy,
        {"beta": POS},
        lambda beta: st.halfcauchy(0, beta),
        bad_params={"beta": -1.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.Laplace,
        {"mu": P(-1, 1), "b": POS},
        lambda mu, b: st.laplace(mu, b),
        bad_params={"b": 0.0},
    ),
    DistCase(
        ppl.Logistic,
        {"mu": P(-1, 1), "s": POS},
        lambda mu, s: st.logistic(mu, s),
        bad_params={"s": -2.0},
    ),
    DistCase(
        ppl.LogNormal,
        {"mu": P(-1, 1), "sigma": P(0.3, 1.0)},
        lambda mu, sigma: st.lognorm(sigma, 0, np.exp(mu)),
        bad_params={"sigma": -1.0},
        bad_values=[-1.0, 0.0],
    ),
    DistCase(
        ppl.Exponential,
        {"lam": POS},
        lambda lam: st.expon(0, 1 / lam),
        bad_params={"lam": -1.0},
        bad_values=[-0.1],
    ),
    DistCase(
        ppl.Gamma,
        {"alpha": P(0.5, 3), "beta": POS},
        lambda alpha, beta: st.gamma(alpha, 0, 1 / beta),
        bad_params={"alpha": -1.0, "beta": 0.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.InverseGamma,
        {"alpha": P(1, 4), "beta": POS},
        lambda alpha, beta: st.invgamma(alpha, 0, beta),
        bad_params={"alpha": 0.0, "beta": -1.0},
        bad_values=[-1.0, 0.0],
    ),
    DistCase(
        ppl.Beta,
        {"alpha": P(0.5, 3), "beta": P(0.5, 3)},
        lambda alpha, beta: st.beta(alpha, beta),
        bad_params={"alpha": -1.0},
        bad_values=[-0.1, 1.1],
    ),
    DistCase(
        ppl.Kumaraswamy,
        {"a": P(0.5, 3), "b": P(0.5, 3)},
        _kumaraswamy,
        bad_params={"b": -1.0},
        bad_values=[-0.1, 1.1],
    ),
    DistCase(
        ppl.Uniform,
        {"lower": P(-2, -1), "upper": P(1, 2)},
        lambda lower, upper: st.uniform(lower, upper - lower),
        bad_params={"lower": 5.0},
        bad_values=[-3.0, 3.0],
    ),
    DistCase(
        ppl.Weibull,
        {"alpha": P(0.5, 3), "beta": POS},
        lambda alpha, beta: st.weibull_min(alpha, 0, beta),
        bad_params={"alpha": -1.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.ChiSquared,
        {"nu": P(1, 5)},
        lambda nu: st.chi2(nu),
        bad_params={"nu": -1.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.Pareto,
        {"alpha": P(1, 4), "m": POS},
        lambda alpha, m: st.pareto(alpha, 0, m),
        bad_params={"m": -1.0},
        bad_values=[0.1],
    ),
    DistCase(
        ppl.Gumbel,
        {"mu": P(-1, 1), "beta": POS},
        lambda mu, beta: st.gumbel_r(mu, beta),
        bad_params={"beta": -1.0},
    ),
    DistCase(
        ppl.VonMises,
        {"mu": P(-1, 1), "kappa": P(0.5, 3)},
        _vonmises,
        bad_params={"kappa": -1.0},
        bad_values=[-4.0, 4.0],
    ),
    DistCase(
        ppl.SkewNormal,
        {"mu": P(-1, 1), "sigma": POS, "alpha": P(-3, 3)},
        lambda mu, sigma, alpha: st.skewnorm(alpha, mu, sigma),
        bad_params={"sigma": -1.0},
    ),
    DistCase(
        ppl.ExGaussian,
        {"mu": P(-1, 1), "sigma": POS, "nu": POS},
        lambda mu, sigma, nu: st.exponnorm(nu / sigma, mu, sigma),
        bad_params={"nu": -1.0},
    ),
    DistCase(
        ppl.Wald,
        {"mu": POS, "lam": P(0.5, 3), "alpha": P(0, 1)},
        lambda mu, lam, alpha: st.invgauss(mu / lam, alpha, lam),
        bad_params={"mu": -1.0},
        bad_values=[-1.0],
    ),
    DistCase(
        ppl.AsymmetricLaplace,
        {"b": POS, "kappa": POS, "mu": P(-1, 1)},
        lambda b, kappa, mu: st.laplace_asymmetric(kappa, mu, 1 / b),
        bad_params={"kappa": 0.0},
    ),
]


class TestTable(UnivariateTableChecks):
    cases = CASES


# --- entries outside the table ---------------------------------------------------


@pytest.mark.parametrize("dist", [ppl.Flat, ppl.HalfFlat])
def test_flat_distributions(dist):
    x = dist.dist(size=(3,))
    v = np.array([-2.0, 0.0, 5.0])
    lp = ppl.logp(x, v).eval()
    expected = np.zeros(3) if dist is ppl.Flat else np.array([-np.inf, 0.0, 0.0])
    np.testing.assert_array_equal(lp, expected)
    lc = ppl.logcdf(x, [-np.inf, 1.0, np.inf]).eval()
    if dist is ppl.Flat:
        np.testing.assert_allclose(lc, [-np.inf, np.log(0.5), 0.0])
    else:
        np.testing.assert_allclose(lc, [-np.inf, -np.inf, 0.0])
    with pytest.raises(NotImplementedError, match="improper"):
        ppl.draw(x, random_seed=0)
    assert ppl.moment(x).eval().shape == (3,)


@pytest.mark.parametrize(
    "make, reference",
    [
        (lambda: ppl.Normal.dist(1.0, tau=4.0), st.norm(1.0, 0.5)),
        (lambda: ppl.HalfNormal.dist(tau=4.0), st.halfnorm(0, 0.5)),
        (lambda: ppl.LogNormal.dist(0.5, tau=4.0), st.lognorm(0.5, 0, np.exp(0.5))),
        (lambda: ppl.StudentT.dist(3.0, 1.0, lam=4.0), st.t(3.0, 1.0, 0.5)),
        (lambda: ppl.Gamma.dist(mu=2.0, sigma=0.5), st.gamma(16.0, 0, 1 / 8.0)),
        (lambda: ppl.InverseGamma.dist(mu=2.0, sigma=1.0), st.invgamma(6.0, 0, 10.0)),
        (lambda: ppl.Beta.dist(mu=0.4, sigma=0.2), st.beta(2.0, 3.0)),
        (lambda: ppl.Exponential.dist(scale=2.0), st.expon(0, 2.0)),
        (lambda: ppl.Wald.dist(mu=2.0, phi=1.5), st.invgauss(2 / 3, 0, 3.0)),
        (
            lambda: ppl.SkewNormal.dist(0.5, tau=4.0, alpha=2.0),
            st.skewnorm(2, 0.5, 0.5),
        ),
    ],
)
def test_alternative_parametrizations(make, reference):
    x = np.array([0.3, 1.1, 2.5])
    np.testing.assert_allclose(
        ppl.logp(make(), x).eval(), reference.logpdf(x), rtol=1e-9
    )


def test_truncated_normal_one_sided_and_far_tail():
    # one-sided bounds use the one-sided normalizer; a far upper tail keeps precision
    cases = [
        (ppl.TruncatedNormal.dist(0.0, 1.0, lower=1.0), st.truncnorm(1.0, np.inf)),
        (ppl.TruncatedNormal.dist(0.0, 1.0, upper=-1.0), st.truncnorm(-np.inf, -1.0)),
        (ppl.TruncatedNormal.dist(0.0, 1.0, lower=8.0, upper=9.0), st.truncnorm(8, 9)),
    ]
    for rv, ref in cases:
        x = ref.rvs(size=5, random_state=1)
        np.testing.assert_allclose(ppl.logp(rv, x).eval(), ref.logpdf(x), rtol=1e-7)
        np.testing.assert_allclose(ppl.logcdf(rv, x).eval(), ref.logcdf(x), rtol=1e-6)
        d = ppl.draw(rv, draws=50, random_seed=0)
        assert np.all((d >= ref.support()[0]) & (d <= ref.support()[1]))


def test_logcdf_outside_support_is_minus_inf_or_zero():
    rvs = [
        (ppl.Beta.dist(2.0, 3.0), -0.5, 1.5),
        (ppl.Uniform.dist(-1.0, 1.0), -2.0, 2.0),
        (ppl.Gamma.dist(2.0, 1.0), -1.0, np.inf),
        (ppl.Pareto.dist(2.0, 1.0), 0.5, np.inf),
        (ppl.TruncatedNormal.dist(0.0, 1.0, -1.0, 1.0), -2.0, 2.0),
        (ppl.VonMises.dist(0.5, 2.0), -4.0, 4.0),
    ]
    for rv, below, above in rvs:
        lc = ppl.logcdf(rv, [below, above]).eval()
        np.testing.assert_array_equal(lc, [-np.inf, 0.0])


def test_eager_parameter_error_names_the_condition():
    with pytest.raises(ValueError, match=r"Normal: invalid parameters, sigma > 0"):
        ppl.Normal.dist(0.0, [1.0, -1.0])
    with pytest.raises(ValueError, match="lower < upper"):
        ppl.Uniform.dist(2.0, 1.0)


def test_logp_check_raise_mode():
    s = ts.scalar("s")
    lp = ppl.logp(ppl.Normal.dist(0.0, s), 1.0, check="raise")
    f = ts.function([s], lp)
    assert np.isclose(f(1.0), st.norm.logpdf(1.0))
    with pytest.raises(ppl.ParameterValueError, match="sigma > 0"):
        f(-1.0)


def test_logp_batches_broadcast_value_against_parameters():
    mu = np.array([[0.0], [1.0]])
    sigma = np.array([1.0, 2.0, 3.0])
    x = np.linspace(-1, 1, 3)
    got = ppl.logp(ppl.Normal.dist(mu, sigma), x).eval()
    np.testing.assert_allclose(got, st.norm(mu, sigma).logpdf(x))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        ppl.logp(ppl.Normal.dist(mu, sigma), np.zeros(4))


def test_named_variable_needs_a_model():
    with pytest.raises(TypeError, match=r"ppl.Normal\('x', \.\.\.\).*with ppl.Model"):
        ppl.Normal("x", 0.0, 1.0)


def test_declared_parameters_support_and_transform():
    assert ppl.Normal.param_ndims() == {"mu": 0, "sigma": 0}
    assert ppl.Categorical.param_ndims() == {"p": 1}
    assert (ppl.HalfNormal.support, ppl.HalfNormal.default_transform) == (
        "nonnegative",
        "log",
    )
    assert ppl.Beta.default_transform == "logodds"
    assert ppl.Normal.default_transform is None
    lo, hi = ppl.Uniform._support_bounds(ts.constant(1.0), ts.constant(3.0))
    assert (float(lo.data), float(hi.data)) == (1.0, 3.0)
    x = ppl.TruncatedNormal.dist(0.0, 1.0, lower=0.0)
    bounds = ppl.TruncatedNormal._support_bounds(*x.owner.inputs[2:])
    assert bounds[1] is None and float(bounds[0].data) == 0.0
