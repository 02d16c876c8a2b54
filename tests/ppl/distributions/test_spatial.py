"""CAR and ICAR with batched adjacency matrices and parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment
from tessera.testing import verify_grad

N = 5


def _graph(rng, batch):
    """Symmetric 0/1 adjacency: a ring plus random chords (every node linked)."""
    w = np.zeros(tuple(batch) + (N, N))
    idx = np.arange(N)
    w[..., idx, (idx + 1) % N] = 1.0
    extra = np.triu(rng.random(tuple(batch) + (N, N)) < 0.3, 2)
    w = np.maximum(w, extra)
    w = np.maximum(w, np.swapaxes(w, -1, -2))
    w[..., idx, idx] = 0.0
    return w


def _car_ref(x, mu, W, alpha, tau):
    q = tau * (np.diag(W.sum(-1)) - alpha * W)
    return st.multivariate_normal(mu, np.linalg.inv(q)).logpdf(x)


def _car_case(symbolic_w: bool):
    return MvCase(
        ppl.CAR,
        {
            "mu": lambda r, b: r.normal(size=tuple(b) + (N,)),
            "W": _graph,
            "alpha": lambda r, b: r.uniform(-0.9, 0.95, size=b),
            "tau": lambda r, b: r.uniform(0.5, 2.0, size=b),
        },
        {"mu": 1, "W": 2, "alpha": 0, "tau": 0},
        _car_ref,
        rtol=1e-9,
        id="CAR-symbolicW" if symbolic_w else "CAR-constW",
    )


@pytest.mark.parametrize("pattern", PATTERNS)
def test_car_constant_w_vs_scipy(pattern, rng):
    check_logp(_car_case(False), pattern, rng)


@pytest.mark.parametrize("pattern", ["vector", "broadcast"])
def test_car_symbolic_w_matches_constant_w(pattern, rng):
    case = _car_case(True)
    params, full = case.make(rng, pattern)
    W = ts.tensor("W", shape=(None,) * params["W"].ndim)
    x = ppl.CAR.dist(**{**params, "W": W})
    value = rng.normal(size=tuple(full) + (N,))
    got = ppl.logp(x, value).eval({W: params["W"]})
    want = ppl.logp(ppl.CAR.dist(**params), value).eval()
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_car_grad(rng):
    check_grad(_car_case(False), rng, wrt=["mu", "alpha", "tau"])


def test_car_grad_in_w(rng):
    w = _graph(rng, ())
    mask = w > 0

    def fn(weights, alpha):
        ww = ts.where(mask, weights, 0.0)
        return ppl.logp(
            ppl.CAR.dist(0.0, 0.5 * (ww + ww.T), alpha, 1.5), np.linspace(-1, 1, N)
        )

    verify_grad(fn, [w * rng.uniform(0.5, 2.0, size=w.shape), np.array([0.3, -0.4])])


def _icar_ref(x, W, sigma, n_comp=1, s=0.001):
    lap = np.diag(W.sum(-1)) - W
    n = x.shape[-1]
    return (
        -0.5 * x @ lap @ x / sigma**2
        - (n - n_comp) * np.log(sigma)
        + st.norm(0, s * n).logpdf(x.sum())
    )


@pytest.mark.parametrize("pattern", PATTERNS)
def test_icar_vs_reference(pattern, rng):
    case = MvCase(
        ppl.ICAR,
        {"W": _graph, "sigma": lambda r, b: r.uniform(0.5, 2.0, size=b)},
        {"W": 2, "sigma": 0},
        _icar_ref,
        value=lambda r, full, p: r.normal(size=tuple(full) + (N,)) * 0.1,
        rtol=1e-9,
    )
    check_logp(case, pattern, rng)


def test_icar_counts_components_of_a_constant_graph():
    w = np.zeros((4, 4))
    w[0, 1] = w[1, 0] = w[2, 3] = w[3, 2] = 1.0
    x = np.array([0.3, -0.3, 0.1, -0.1])
    got = ppl.logp(ppl.ICAR.dist(W=w, sigma=1.7), x).eval()
    np.testing.assert_allclose(got, _icar_ref(x, w, 1.7, n_comp=2), rtol=1e-10)


def test_icar_grad(rng):
    w = _graph(rng, (2,))
    verify_grad(
        lambda s, x: ppl.logp(ppl.ICAR.dist(W=w, sigma=s, zero_sum_stdev=0.1), x),
        [np.array([0.7, 1.3]), rng.normal(size=(2, N))],
    )


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda w: ppl.CAR.dist(0.0, w + np.triu(w), 0.5, 1.0), "symmetric"),
        (lambda w: ppl.CAR.dist(0.0, w, 1.0, 1.0), "-1 < alpha < 1"),
        (lambda w: ppl.CAR.dist(0.0, w, 0.5, [1.0, 0.0]), r"tau > 0.*\(1,\)"),
        (lambda w: ppl.CAR.dist(0.0, np.zeros((3, 3)), 0.5, 1.0), "neighbour"),
        (lambda w: ppl.CAR.dist(0.0, np.ones(3), 0.5, 1.0), r"\(\.\.\., n, n\)"),
        (lambda w: ppl.ICAR.dist(-w), "nonnegative"),
        (lambda w: ppl.ICAR.dist(w, sigma=0.0), "sigma > 0"),
    ],
)
def test_invalid(make, msg, rng):
    with pytest.raises(ValueError, match=msg):
        make(_graph(rng, ()))


def test_symbolic_invalid_alpha_is_minus_inf(rng):
    a = ts.vector("a")
    lp = ppl.logp(ppl.CAR.dist(0.0, _graph(rng, ()), a, 1.0), np.zeros(N))
    got = lp.eval({a: np.array([0.5, 1.5])})
    assert np.isfinite(got[0]) and np.isneginf(got[1])


# --- draws -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda w: ppl.CAR.dist(0.0, w, 0.5, 1.0), (N,)),
        (lambda w: ppl.CAR.dist(np.zeros((3, 1, N)), w, [0.1, 0.5], 1.0), (3, 2, N)),
        (
            lambda w: ppl.CAR.dist(0.0, np.stack([w] * 4), 0.5, 1.0, size=(2, 4)),
            (2, 4, N),
        ),
        (lambda w: ppl.ICAR.dist(w, sigma=[1.0, 2.0]), (2, N)),
        (lambda w: ppl.ICAR.dist(w, size=(3,)), (3, N)),
    ],
)
def test_draw_shapes(make, expected, rng):
    x = make(_graph(rng, ()))
    assert x.type.shape == expected
    assert ppl.draw(x, random_seed=0).shape == expected


def test_car_draw_covariance(rng):
    S = 40_000
    w = _graph(rng, ())
    alpha, tau = np.array([0.3, 0.9]), 2.0
    mu = rng.normal(size=N)
    d = ppl.draw(ppl.CAR.dist(mu, w, alpha, tau, size=(S, 2)), random_seed=9)
    for j, a in enumerate(alpha):
        cov = np.linalg.inv(tau * (np.diag(w.sum(-1)) - a * w))
        var = np.diag(cov)
        assert np.all(np.abs(d[:, j].mean(0) - mu) < 5 * np.sqrt(var / S))
        c = np.cov(d[:, j].T)
        se = np.sqrt((np.outer(var, var) + cov**2) / S)
        assert np.all(np.abs(c - cov) < 6 * se)


def test_icar_draws_sum_to_zero_per_component():
    w = np.zeros((5, 5))
    for i, j in [(0, 1), (1, 2), (3, 4)]:
        w[i, j] = w[j, i] = 1.0
    S = 20_000
    d = ppl.draw(ppl.ICAR.dist(w, sigma=2.0, size=(S,)), random_seed=1)
    np.testing.assert_allclose(d[:, :3].sum(-1), 0.0, atol=1e-10)
    np.testing.assert_allclose(d[:, 3:].sum(-1), 0.0, atol=1e-10)
    cov = 4.0 * np.linalg.pinv(np.diag(w.sum(-1)) - w)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / S)
    assert np.all(np.abs(d.T @ d / S - cov) < 6 * se)


def test_moments(rng):
    w = _graph(rng, ())
    mu = rng.normal(size=(2, N))
    np.testing.assert_array_equal(moment(ppl.CAR.dist(mu, w, 0.5, 1.0)).eval(), mu)
    np.testing.assert_array_equal(moment(ppl.ICAR.dist(w)).eval(), np.zeros(N))
