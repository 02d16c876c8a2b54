"""MvStudentTRandomWalk and RandomWalk with vector innovations against
per-step scipy.stats references (MvGaussianRandomWalk: test_timeseries.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp, spd

from tessera import ppl

N, T = 2, 4


def _ref_mvt(x, nu, mu, scale, init=lambda x0: st.norm(0, 10).logpdf(x0).sum()):
    lp = init(x[0])
    for t in range(1, len(x)):
        lp += st.multivariate_t(loc=mu, shape=scale, df=nu).logpdf(x[t] - x[t - 1])
    return lp


CASES = [
    MvCase(
        ppl.MvStudentTRandomWalk,
        {
            "nu": lambda r, b: r.uniform(2.5, 8.0, size=tuple(b)),
            "mu": lambda r, b: r.normal(size=tuple(b) + (N,)) * 0.3,
            "scale": lambda r, b: spd(r, b, N),
        },
        {"nu": 0, "mu": 1, "scale": 2},
        _ref_mvt,
        kwargs={"steps": T},
        rtol=1e-9,
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_logp_vs_scipy(pattern, rng):
    check_logp(CASES[0], pattern, rng)


def test_grad(rng):
    check_grad(CASES[0], rng)


def test_cov_is_accepted_as_scale(rng):
    S = spd(rng, (), N)
    a = ppl.MvStudentTRandomWalk.dist(nu=4.0, mu=0.0, cov=S, steps=T)
    b = ppl.MvStudentTRandomWalk.dist(
        nu=4.0, mu=0.0, chol=np.linalg.cholesky(S), steps=T
    )
    v = ppl.draw(a, random_seed=0)
    np.testing.assert_allclose(ppl.logp(a, v).eval(), ppl.logp(b, v).eval())
    with pytest.raises(ValueError, match="scale or cov"):
        ppl.MvStudentTRandomWalk.dist(nu=4.0, scale=S, cov=S, steps=T)


def test_random_walk_with_mvnormal_innovations_matches_mv_gaussian(rng):
    mu, cov = rng.normal(size=(3, N)), spd(rng, (), N)
    init = ppl.Normal.dist(0.0, 2.0)
    a = ppl.RandomWalk.dist(init, ppl.MvNormal.dist(mu, cov=cov), steps=T)
    b = ppl.MvGaussianRandomWalk.dist(mu=mu, cov=cov, init_dist=init, steps=T)
    assert a.type.shape == b.type.shape == (3, T + 1, N)
    v = ppl.draw(b, random_seed=3)
    np.testing.assert_allclose(ppl.logp(a, v).eval(), ppl.logp(b, v).eval())
    assert ppl.draw(a, random_seed=1).shape == (3, T + 1, N)


def test_random_walk_with_integer_steps_is_discrete():
    x = ppl.RandomWalk.dist(
        ppl.DiscreteUniform.dist(0, 3), ppl.Poisson.dist([1.0, 4.0]), steps=5
    )
    assert x.dtype == "int64" and x.type.shape == (2, 6)
    v = ppl.draw(x, random_seed=0)
    assert v.dtype == np.int64 and np.all(np.diff(v, axis=-1) >= 0)
    want = [
        st.randint(0, 4).logpmf(v[i, 0]) + st.poisson(m).logpmf(np.diff(v[i])).sum()
        for i, m in enumerate([1.0, 4.0])
    ]
    np.testing.assert_allclose(ppl.logp(x, v).eval(), want)
    # a decreasing step is outside the innovations' support
    assert ppl.logp(x, [[0, 1, 0, 1, 2, 3]] * 2).eval()[0] == -np.inf


def test_shape_gives_steps_and_checks_the_event():
    x = ppl.MvStudentTRandomWalk.dist(nu=3.0, chol=np.eye(3), shape=(5, 7, 3))
    assert x.type.shape == (5, 7, 3) and x.owner.op.steps == 6
    with pytest.raises(ValueError, match="does not end with the event"):
        ppl.MvStudentTRandomWalk.dist(nu=3.0, chol=np.eye(3), shape=(5, 7, 2))
