"""MvGaussianRandomWalk with batched innovations and initial distributions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp, spd

from tessera import ppl
from tessera.ppl.distributions.logprob import moment

N, T = 2, 4


def _ref(x, mu, cov, init=lambda x0: st.norm(0, 10).logpdf(x0).sum()):
    steps = np.diff(x, axis=0)
    return init(x[0]) + st.multivariate_normal(mu, cov).logpdf(steps).sum()


CASE = MvCase(
    ppl.MvGaussianRandomWalk,
    {
        "mu": lambda r, b: r.normal(size=tuple(b) + (N,)) * 0.3,
        "cov": lambda r, b: spd(r, b, N),
    },
    {"mu": 1, "cov": 2},
    _ref,
    kwargs={"steps": T},
    rtol=1e-9,
)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_logp_vs_scipy(pattern, rng):
    check_logp(CASE, pattern, rng)


def test_grad(rng):
    check_grad(CASE, rng)


def test_mvnormal_init_dist_with_batch(rng):
    m0 = rng.normal(size=(3, N))
    c0 = spd(rng, (), N)
    init = ppl.MvNormal.dist(mu=m0, cov=c0)
    mu, cov = rng.normal(size=N), spd(rng, (), N)
    x = ppl.MvGaussianRandomWalk.dist(mu=mu, cov=cov, init_dist=init, steps=T)
    assert x.type.shape == (3, T + 1, N)
    v = ppl.draw(x, random_seed=4)
    got = ppl.logp(x, v).eval()
    for i in range(3):
        want = _ref(v[i], mu, cov, init=st.multivariate_normal(m0[i], c0).logpdf)
        np.testing.assert_allclose(got[i], want, rtol=1e-10)


def test_univariate_init_with_size_carries_its_batch(rng):
    init = ppl.Normal.dist(mu=[[0.0], [5.0]], sigma=1.0, size=(2, N))
    x = ppl.MvGaussianRandomWalk.dist(cov=np.eye(N), init_dist=init, steps=T)
    assert x.type.shape == (2, T + 1, N)
    v = ppl.draw(x, random_seed=1)
    got = ppl.logp(x, v).eval()
    for i, m in enumerate([0.0, 5.0]):
        want = _ref(
            v[i],
            np.zeros(N),
            np.eye(N),
            init=lambda x0, m=m: st.norm(m, 1).logpdf(x0).sum(),
        )
        np.testing.assert_allclose(got[i], want, rtol=1e-10)


def test_shape_gives_steps():
    x = ppl.MvGaussianRandomWalk.dist(chol=np.eye(3), shape=(5, 7, 3))
    assert x.type.shape == (5, 7, 3)
    assert x.owner.op.steps == 6


@pytest.mark.parametrize(
    "kwargs, err, msg",
    [
        ({"cov": np.eye(2)}, ValueError, "give steps"),
        ({"cov": np.eye(2), "steps": 0}, ValueError, "steps must be >= 1"),
        ({"cov": np.eye(2), "steps": 3, "shape": (5, 2)}, ValueError, "does not match"),
        ({"cov": -np.eye(2), "steps": 3}, ValueError, "positive definite"),
        ({"cov": np.eye(2), "steps": 3, "init_dist": 1.0}, TypeError, "init_dist"),
        (
            {
                "cov": np.eye(2),
                "steps": 3,
                "init_dist": ppl.Normal.dist(0.0, 1.0, size=3),
            },
            ValueError,
            "trailing shape",
        ),
    ],
)
def test_bad_arguments(kwargs, err, msg):
    with pytest.raises(err, match=msg):
        ppl.MvGaussianRandomWalk.dist(**kwargs)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"mu": np.zeros(N), "cov": np.eye(N), "steps": T}, (T + 1, N)),
        (
            {"mu": np.zeros((3, 1, N)), "cov": np.stack([np.eye(N)] * 4), "steps": T},
            (3, 4, T + 1, N),
        ),
        ({"cov": np.eye(N), "steps": T, "size": (6,)}, (6, T + 1, N)),
    ],
)
def test_draw_shapes(kwargs, expected):
    x = ppl.MvGaussianRandomWalk.dist(**kwargs)
    assert x.type.shape == expected
    assert ppl.draw(x, random_seed=0).shape == expected


def test_draw_moments(rng):
    S = 30_000
    mu, cov = np.array([0.5, -1.0]), spd(rng, (), N)
    init = ppl.Normal.dist(np.array([1.0, 2.0]), 0.5)
    x = ppl.MvGaussianRandomWalk.dist(
        mu=mu, cov=cov, init_dist=init, steps=T, size=(S,)
    )
    d = ppl.draw(x, random_seed=2)
    last = d[:, -1]
    want_mean = np.array([1.0, 2.0]) + T * mu
    want_cov = 0.25 * np.eye(N) + T * cov
    var = np.diag(want_cov)
    assert np.all(np.abs(last.mean(0) - want_mean) < 5 * np.sqrt(var / S))
    se = np.sqrt((np.outer(var, var) + want_cov**2) / S)
    assert np.all(np.abs(np.cov(last.T) - want_cov) < 6 * se)
    steps = (d[:, 1:] - d[:, :-1]).reshape(-1, N)
    assert np.all(
        np.abs(steps.mean(0) - mu) < 5 * np.sqrt(np.diag(cov) / steps.shape[0])
    )


def test_moment():
    x = ppl.MvGaussianRandomWalk.dist(
        mu=[1.0, -1.0], cov=np.eye(2), init_dist=ppl.Normal.dist(3.0, 1.0), steps=2
    )
    np.testing.assert_allclose(moment(x).eval(), [[3.0, 3.0], [4.0, 2.0], [5.0, 1.0]])


@pytest.mark.parametrize(
    "init",
    [
        lambda: ppl.Normal.dist(0.0, 1.0),
        lambda: ppl.Normal.dist([[0.0], [1.0]], 1.0),
        lambda: ppl.Normal.dist(0.0, 1.0, size=(2, N)),
        lambda: ppl.MvNormal.dist(np.zeros(N), np.eye(N), size=(2,)),
    ],
)
def test_logp_graph_has_no_random_node(init):
    from tessera.graph.traversal import toposort
    from tessera.random.op import RandomVariable

    x = ppl.MvGaussianRandomWalk.dist(cov=np.eye(N), init_dist=init(), steps=T)
    lp = ppl.logp(x, np.zeros((T + 1, N)))
    assert not any(isinstance(n.op, RandomVariable) for n in toposort([lp]))
    assert np.all(np.isfinite(lp.eval()))
