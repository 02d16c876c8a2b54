"""Discrete distributions against scipy.stats: one table, run over batch shapes.

Covers ``discrete/counts.py``, ``discrete/finite.py`` and the zero-inflated
counts of ``mixture.py`` (checks in
``_univariate_checks.py``): logp and logcdf for batch shapes (), (3,) and
(2,1) with (1,4); ``verify_grad`` of logp in the float parameters; draws
(shapes, empirical mass function per batch element at a fixed seed);
out-of-support values and parameters; an integer moment inside the support.
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
PROB = P(0.2, 0.8)


def _int(lo, hi):
    return P(lo, hi, integer=True)


def _zero_inflated(base):
    def make(psi, **params):
        b = base(**params)

        def logpmf(x):
            with np.errstate(divide="ignore"):
                return np.log(np.where(x == 0, 1 - psi, 0.0) + psi * b.pmf(x))

        def logcdf(x):
            return np.log(1 - psi + psi * b.cdf(x))

        def rvs(size, random_state):
            keep = random_state.uniform(size=size) < psi
            return np.where(keep, b.rvs(size=size, random_state=random_state), 0)

        return Ref(logpdf=logpmf, logcdf=logcdf, rvs=rvs)

    return make


def _categorical(p):
    p = p / p.sum(axis=-1, keepdims=True)
    k = p.shape[-1]

    def logpmf(x):
        x = np.asarray(x)
        inside = (x >= 0) & (x < k)
        xi = np.clip(x, 0, k - 1)
        pb = np.broadcast_to(p, np.broadcast_shapes(x.shape, p.shape[:-1]) + (k,))
        chosen = np.take_along_axis(
            pb, np.broadcast_to(xi, pb.shape[:-1])[..., None], -1
        )
        with np.errstate(divide="ignore"):
            return np.where(inside, np.log(chosen[..., 0]), -np.inf)

    def logcdf(x):
        c = np.cumsum(p, axis=-1)
        xi = np.clip(np.asarray(x), 0, k - 1)
        cb = np.broadcast_to(c, np.broadcast_shapes(xi.shape, c.shape[:-1]) + (k,))
        got = np.take_along_axis(cb, np.broadcast_to(xi, cb.shape[:-1])[..., None], -1)
        with np.errstate(divide="ignore"):
            return np.where(np.asarray(x) < 0, -np.inf, np.log(got[..., 0]))

    def rvs(size, random_state):
        u = random_state.uniform(size=tuple(size) + (1,))
        return np.minimum((np.cumsum(p, -1) <= u).sum(-1), k - 1)

    return Ref(logpdf=logpmf, logcdf=logcdf, rvs=rvs)


def _dirichlet(rng, shape):
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


CASES = [
    DistCase(
        ppl.Bernoulli,
        {"p": PROB},
        lambda p: st.bernoulli(p),
        bad_params={"p": 1.5},
        bad_values=[-1, 2],
    ),
    DistCase(
        ppl.Binomial,
        {"n": _int(1, 10), "p": PROB},
        lambda n, p: st.binom(n, p),
        bad_params={"n": -1, "p": -0.5},
        bad_values=[-1, 11],
    ),
    DistCase(
        ppl.BetaBinomial,
        {"alpha": P(0.5, 3), "beta": P(0.5, 3), "n": _int(1, 10)},
        lambda alpha, beta, n: st.betabinom(n, alpha, beta),
        bad_params={"alpha": -1.0, "n": -2},
        bad_values=[-1, 11],
    ),
    DistCase(
        ppl.Poisson,
        {"mu": P(0.5, 5)},
        lambda mu: st.poisson(mu),
        bad_params={"mu": -1.0},
        bad_values=[-1],
    ),
    DistCase(
        ppl.NegativeBinomial,
        {"n": P(0.5, 5), "p": PROB},
        lambda n, p: st.nbinom(n, p),
        bad_params={"n": -1.0, "p": 1.5},
        bad_values=[-1],
    ),
    DistCase(
        ppl.Geometric,
        {"p": PROB},
        lambda p: st.geom(p),
        bad_params={"p": 0.0},
        bad_values=[0, -1],
    ),
    DistCase(
        ppl.HyperGeometric,
        {"N": _int(15, 20), "k": _int(1, 10), "n": _int(1, 10)},
        lambda N, k, n: st.hypergeom(N, k, n),
        bad_params={"k": 30, "n": -1},
        bad_values=[-1, 11],
    ),
    DistCase(
        ppl.DiscreteUniform,
        {"lower": _int(-5, -1), "upper": _int(1, 5)},
        lambda lower, upper: st.randint(lower, upper + 1),
        bad_params={"lower": 10},
        bad_values=[-6, 6],
    ),
    DistCase(
        ppl.Categorical,
        {"p": P(core=(4,), fn=_dirichlet)},
        _categorical,
        bad_params={"p": [-0.1, 0.5, 0.3, 0.3]},
        bad_values=[-1, 4],
    ),
    DistCase(
        ppl.ZeroInflatedPoisson,
        {"psi": PROB, "mu": P(0.5, 5)},
        _zero_inflated(lambda mu: st.poisson(mu)),
        bad_params={"psi": 1.5, "mu": -1.0},
        bad_values=[-1],
    ),
    DistCase(
        ppl.ZeroInflatedBinomial,
        {"psi": PROB, "n": _int(1, 10), "p": PROB},
        _zero_inflated(lambda n, p: st.binom(n, p)),
        bad_params={"psi": -0.5, "p": 2.0},
        bad_values=[-1, 11],
    ),
    DistCase(
        ppl.ZeroInflatedNegativeBinomial,
        {"psi": PROB, "n": P(0.5, 5), "p": PROB},
        _zero_inflated(lambda n, p: st.nbinom(n, p)),
        bad_params={"psi": 1.5, "n": -1.0},
        bad_values=[-1],
    ),
]
for _c in CASES:
    _c.ks = False
    _c.grad_value = False


@pytest.fixture
def rng():
    return np.random.default_rng(20240612)


class TestTable(UnivariateTableChecks):
    cases = CASES


# --- entries outside the table ---------------------------------------------------


@pytest.mark.parametrize(
    "make, reference",
    [
        (lambda: ppl.Bernoulli.dist(logit_p=0.5), st.bernoulli(1 / (1 + np.exp(-0.5)))),
        (lambda: ppl.Binomial.dist(5, logit_p=-1.0), st.binom(5, 1 / (1 + np.e))),
        (lambda: ppl.NegativeBinomial.dist(mu=3.0, alpha=2.0), st.nbinom(2.0, 0.4)),
        (
            lambda: ppl.ZeroInflatedNegativeBinomial.dist(1.0, mu=3.0, alpha=2.0),
            st.nbinom(2.0, 0.4),
        ),
    ],
)
def test_alternative_parametrizations(make, reference):
    x = np.array([0, 1, 4])
    np.testing.assert_allclose(
        ppl.logp(make(), x).eval(), reference.logpmf(x), rtol=1e-9
    )


def test_categorical_batched_p_and_logit_p():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(3), size=(2, 4))
    x = rng.integers(0, 3, size=(5, 2, 4))
    got = ppl.logp(ppl.Categorical.dist(p=p), x).eval()
    expected = np.log(
        np.take_along_axis(np.broadcast_to(p, (5, 2, 4, 3)), x[..., None], -1)
    )
    np.testing.assert_allclose(got, expected[..., 0])
    logits = np.log(p) + 3.0  # a softmax ignores the shift
    got2 = ppl.logp(ppl.Categorical.dist(logit_p=logits), x).eval()
    np.testing.assert_allclose(got2, got)
    # unnormalized p is normalized over the last axis
    got3 = ppl.logp(ppl.Categorical.dist(p=2.0 * p), x).eval()
    np.testing.assert_allclose(got3, got)
    d = ppl.draw(ppl.Categorical.dist(p=p, size=(7, 2, 4)), random_seed=0)
    assert d.shape == (7, 2, 4) and d.min() >= 0 and d.max() <= 2


def test_integer_parameters_are_checked():
    with pytest.raises(TypeError, match="integer"):
        ppl.Binomial.dist(ts.scalar("n"), 0.5)
    x = ppl.Binomial.dist(4.0, 0.5)  # an integral float constant is fine
    assert x.owner.inputs[2].dtype == "int64"


def test_logcdf_by_summation_handles_values_beyond_n():
    rv = ppl.BetaBinomial.dist(2.0, 3.0, 5)
    x = np.array([-3, 0, 2, 5, 9])
    expected = st.betabinom(5, 2.0, 3.0).logcdf(x)
    np.testing.assert_allclose(ppl.logcdf(rv, x).eval(), expected, atol=1e-12)
