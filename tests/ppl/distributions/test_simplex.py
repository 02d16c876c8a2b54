"""Dirichlet, Multinomial, DirichletMultinomial, StickBreakingWeights vs references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment

K = 4


def _conc(rng, batch):
    return rng.uniform(0.5, 3.0, size=tuple(batch) + (K,))


def _probs(rng, batch):
    return rng.dirichlet(np.ones(K), size=batch)


def _count(rng, batch):
    return rng.integers(0, 12, size=batch)


def _stick_forward(v):
    rest = np.concatenate([[1.0], np.cumprod(1.0 - v)])
    return np.concatenate([v * rest[:-1], rest[-1:]])


def _stick_ref(w, alpha):
    """Beta(1, alpha) density of the breaks minus the log-Jacobian of v -> w[:K].

    The Jacobian is taken by central finite differences: an independent route
    to the density.
    """
    k = w.shape[-1] - 1
    v = w[:-1] / (1.0 - np.concatenate([[0.0], np.cumsum(w[:-2])]))
    eps = 1e-6
    jac = np.empty((k, k))
    for j in range(k):
        d = np.zeros(k)
        d[j] = eps
        jac[:, j] = (_stick_forward(v + d)[:k] - _stick_forward(v - d)[:k]) / (2 * eps)
    return st.beta(1.0, alpha).logpdf(v).sum() - np.log(abs(np.linalg.det(jac)))


CASES = [
    MvCase(
        ppl.Dirichlet,
        {"a": _conc},
        {"a": 1},
        lambda x, a: st.dirichlet(a).logpdf(x),
    ),
    MvCase(
        ppl.Multinomial,
        {"n": _count, "p": _probs},
        {"n": 0, "p": 1},
        lambda x, n, p: st.multinomial(n, p).logpmf(x),
    ),
    MvCase(
        ppl.DirichletMultinomial,
        {"n": _count, "a": _conc},
        {"n": 0, "a": 1},
        lambda x, n, a: st.dirichlet_multinomial(a, n).logpmf(x),
    ),
    MvCase(
        ppl.StickBreakingWeights,
        {"alpha": lambda r, b: r.uniform(0.5, 3.0, size=b)},
        {"alpha": 0},
        _stick_ref,
        kwargs={"K": K},
        rtol=1e-6,
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logp_vs_reference(case, pattern, rng):
    check_logp(case, pattern, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad(case, rng):
    check_grad(case, rng, value_too=False)


def test_dirichlet_grad_in_value_on_the_interior(rng):
    # move only within the simplex: the value is a softmax of free logits
    a = _conc(rng, ())
    x = ppl.Dirichlet.dist(a=a)

    def fn(z):
        e = ts.exp(z)
        return ppl.logp(x, e / e.sum(axis=-1, keepdims=True))

    from tessera.testing import verify_grad

    verify_grad(fn, [rng.normal(size=K)])


def test_stick_breaking_k1_is_beta():
    w = ppl.StickBreakingWeights.dist(alpha=[0.7, 2.5], K=1)
    got = ppl.logp(w, [0.3, 0.7]).eval()
    np.testing.assert_allclose(got, st.beta(1.0, [0.7, 2.5]).logpdf(0.3))


@pytest.mark.parametrize(
    "dist, kw, value",
    [
        (ppl.Dirichlet, {"a": [1.0, 2.0, 3.0]}, [0.2, 0.2, 0.2]),
        (ppl.Dirichlet, {"a": [1.0, 2.0, 3.0]}, [-0.1, 0.6, 0.5]),
        (ppl.Multinomial, {"n": 3, "p": [0.5, 0.5]}, [1, 1]),
        (ppl.Multinomial, {"n": 3, "p": [0.5, 0.5]}, [-1, 4]),
        (ppl.DirichletMultinomial, {"n": 3, "a": [1.0, 1.0]}, [2, 2]),
        (ppl.StickBreakingWeights, {"alpha": 1.0, "K": 2}, [0.5, 0.6, -0.1]),
    ],
)
def test_out_of_support_is_minus_inf(dist, kw, value):
    assert np.isneginf(ppl.logp(dist.dist(**kw), value).eval())


@pytest.mark.parametrize(
    "dist, kw, msg",
    [
        (ppl.Dirichlet, {"a": [[1.0, 2.0], [1.0, -2.0]]}, r"a > 0.*index \(1,\)"),
        (ppl.Multinomial, {"n": -1, "p": [0.5, 0.5]}, "n >= 0"),
        (ppl.Multinomial, {"n": 2, "p": [-0.5, 0.5]}, "p >= 0"),
        (ppl.DirichletMultinomial, {"n": 2, "a": [0.0, 1.0]}, "a > 0"),
        (ppl.StickBreakingWeights, {"alpha": [1.0, 0.0], "K": 2}, "alpha > 0"),
    ],
)
def test_invalid_constant_params_raise(dist, kw, msg):
    with pytest.raises(ValueError, match=msg):
        dist.dist(**kw)


def test_invalid_symbolic_params_give_minus_inf():
    a = ts.vector("a")
    lp = ppl.logp(ppl.Dirichlet.dist(a=a), [0.5, 0.5])
    assert np.isneginf(lp.eval({a: np.array([1.0, -1.0])}))


def test_stick_breaking_bad_k():
    with pytest.raises(ValueError, match="K must be >= 1"):
        ppl.StickBreakingWeights.dist(1.0, K=0)
    with pytest.raises(ValueError, match="must end with K"):
        ppl.StickBreakingWeights.dist(1.0, K=3, shape=(2, 3))


# --- draws -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ppl.Dirichlet.dist(a=np.ones((5, 1, K))), (5, 1, K)),
        (lambda: ppl.Dirichlet.dist(a=np.ones(K), size=(2, 3)), (2, 3, K)),
        (lambda: ppl.Multinomial.dist(n=[[3], [4]], p=np.ones((3, K)) / K), (2, 3, K)),
        (lambda: ppl.Multinomial.dist(n=5, p=np.ones(K) / K, size=(6,)), (6, K)),
        (lambda: ppl.Multinomial.dist(n=5, p=np.ones(K) / K), (K,)),
        (lambda: ppl.DirichletMultinomial.dist(n=[2, 3], a=np.ones(K)), (2, K)),
        (lambda: ppl.StickBreakingWeights.dist([1.0, 2.0], K=3), (2, 4)),
        (lambda: ppl.StickBreakingWeights.dist(1.0, K=3, shape=(5, 4)), (5, 4)),
    ],
)
def test_draw_shapes(make, expected):
    x = make()
    assert x.type.shape == expected
    d = ppl.draw(x, random_seed=0)
    assert d.shape == expected


def test_draws_lie_in_the_support(rng):
    a = np.array([0.01, 0.05, 1.0, 20.0])  # tiny concentrations stay finite
    d = ppl.draw(ppl.Dirichlet.dist(a=a, size=(200,)), random_seed=1)
    assert np.all(np.isfinite(d)) and np.all(d >= 0)
    np.testing.assert_allclose(d.sum(-1), 1.0)
    m = ppl.draw(ppl.Multinomial.dist(n=[[3], [9]], p=[0.2, 0.3, 0.5]), random_seed=1)
    np.testing.assert_array_equal(m.sum(-1), [[3], [9]])
    m = ppl.draw(ppl.DirichletMultinomial.dist(n=[4, 7], a=a), random_seed=1)
    np.testing.assert_array_equal(m.sum(-1), [4, 7])
    w = ppl.draw(ppl.StickBreakingWeights.dist([0.5, 5.0], K=6), random_seed=1)
    np.testing.assert_allclose(w.sum(-1), 1.0)


S = 20_000


def _check_mean(samples, mean, cov):
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * np.sqrt(var / S) + 1e-12)
    c = samples - samples.mean(0)
    cov_hat = np.einsum("s...i,s...j->...ij", c, c) / (S - 1)
    se = np.sqrt((var[..., :, None] * var[..., None, :] + cov**2) / S)
    assert np.all(np.abs(cov_hat - cov) < 6 * se + 1e-12)


def test_dirichlet_mean_and_cov():
    a = np.array([[0.5, 1.0, 2.0], [3.0, 3.0, 1.0]])
    d = ppl.draw(ppl.Dirichlet.dist(a=a, size=(S, 2)), random_seed=2)
    a0 = a.sum(-1, keepdims=True)
    m = a / a0
    cov = (np.eye(3) * m[..., None] - m[..., :, None] * m[..., None, :]) / (
        a0[..., None] + 1
    )
    _check_mean(d, m, cov)


def test_multinomial_mean_and_cov():
    n = np.array([5, 20])
    p = np.array([0.2, 0.3, 0.5])
    d = ppl.draw(ppl.Multinomial.dist(n=n, p=p, size=(S, 2)), random_seed=2)
    m = n[:, None] * p
    cov = n[:, None, None] * (np.diag(p) - np.outer(p, p))
    _check_mean(d, m, cov)


def test_dirichlet_multinomial_mean_and_cov():
    n, a = 10, np.array([1.0, 2.0, 3.0])
    d = ppl.draw(ppl.DirichletMultinomial.dist(n=n, a=a, size=(S,)), random_seed=2)
    a0 = a.sum()
    p = a / a0
    cov = n * (np.diag(p) - np.outer(p, p)) * (n + a0) / (1 + a0)
    _check_mean(d, n * p, cov)


def test_stick_breaking_mean():
    alpha, k = 2.0, 3
    d = ppl.draw(ppl.StickBreakingWeights.dist(alpha, K=k, size=(S,)), random_seed=2)
    want = moment(ppl.StickBreakingWeights.dist(alpha, K=k)).eval()
    se = d.std(0) / np.sqrt(S)
    assert np.all(np.abs(d.mean(0) - want) < 5 * se)
    np.testing.assert_allclose(want.sum(), 1.0)


@pytest.mark.parametrize(
    "make, check",
    [
        (
            lambda: ppl.Dirichlet.dist(a=[[1.0, 3.0], [2.0, 2.0]]),
            lambda m: np.allclose(m, [[0.25, 0.75], [0.5, 0.5]]),
        ),
        (
            lambda: ppl.Multinomial.dist(n=[7, 10], p=[0.3, 0.3, 0.4]),
            lambda m: (m.sum(-1) == [7, 10]).all() and m.dtype == np.int64,
        ),
        (
            lambda: ppl.DirichletMultinomial.dist(n=5, a=[1.0, 1.0, 1.0]),
            lambda m: m.sum() == 5,
        ),
    ],
)
def test_moments_are_in_the_support(make, check):
    x = make()
    m = moment(x).eval()
    assert m.shape == x.type.shape and check(m)
    assert np.all(np.isfinite(ppl.logp(x, m).eval()))
