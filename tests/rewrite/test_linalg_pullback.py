"""Cholesky pullbacks of structured cotangents in closed form: each case
agrees with the unrewritten graph, and the pullback goes only when every
term of its cotangent has a closed form."""

import numpy as np
import pytest

import tessera as ts
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg.decomposition import CholeskyPullback
from tessera.rewrite.linalg import core_op
from tessera.testing import compare_backends, verify_grad

L = ts.linalg
N = 4


def _core_names(f):
    return [type(core_op(n)).__name__ for n in f.fg.apply_nodes]


def _spd(rng, batch, n):
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def _outer(a, b):
    return ts.expand_dims(a, -1) * ts.expand_dims(b, -2)


def _solve_t(c, b):
    """c^{-T} b for a lower factor c."""
    return L.solve_triangular(c, b, lower=True, trans=1, b_ndim=1)


# cotangent of the factor c, from c and a vector z -> (pullback gone,
# cholesky_inverse used)
CASES = {
    "outer": (lambda c, z: _outer(_solve_t(c, z), z), True, False),
    "outer, scaled": (
        lambda c, z: _outer(-2.0 * _solve_t(c, 3.0 * z), z / 4.0),
        True,
        False,
    ),
    "outer, negated": (lambda c, z: _outer(-_solve_t(c, -z), -z), True, False),
    "outer by indexing": (
        lambda c, z: _solve_t(c, z)[..., :, None] * z[..., None, :],
        True,
        False,
    ),
    "diag": (lambda c, z: L.diag_embed(-1.0 / L.diagonal(c)), True, True),
    "diag, reciprocal": (
        lambda c, z: L.diag_embed(3.0 * ts.reciprocal(L.diagonal(c))),
        True,
        True,
    ),
    "outer - diag": (
        lambda c, z: _outer(_solve_t(c, z), z) - L.diag_embed(0.5 / L.diagonal(c)),
        True,
        True,
    ),
    "outer + diag + rest": (
        lambda c, z: (
            _outer(_solve_t(c, z), z) + L.diag_embed(1.0 / L.diagonal(c)) + _outer(z, z)
        ),
        False,
        True,
    ),
    "outer, per-batch scale": (
        lambda c, z: _outer(_solve_t(c, z.sum(axis=-1, keepdims=True) * z), 2.0 * z),
        True,
        False,
    ),
    "outer, broadcast per-batch scale": (
        lambda c, z: _outer(
            -_solve_t(c, ts.broadcast_to(ts.exp(z[..., :1]), z.shape) * z), z
        ),
        True,
        False,
    ),
    "diag, per-batch": (
        lambda c, z: L.diag_embed(
            (z[..., :1] + L.diagonal(c)[..., :1]) / L.diagonal(c)
        ),
        True,
        True,
    ),
    "col and row swapped": (lambda c, z: _outer(z, _solve_t(c, z)), False, False),
    "another right-hand side": (
        lambda c, z: _outer(_solve_t(c, z), z * z),
        False,
        False,
    ),
    "not transposed": (
        lambda c, z: _outer(L.solve_triangular(c, z, lower=True, b_ndim=1), z),
        False,
        False,
    ),
    "scaled by a non-uniform constant": (
        lambda c, z: _outer(_solve_t(c, np.arange(1.0, N + 1) * z), z),
        False,
        False,
    ),
    "diag of another matrix": (
        lambda c, z: L.diag_embed(1.0 / L.diagonal(c.mT @ c)),
        False,
        False,
    ),
    "diag of a vector": (lambda c, z: L.diag_embed(1.0 / z), False, False),
}


@pytest.mark.parametrize(
    "batch_a, batch_z", [((), ()), ((3,), (3,)), ((), (3,)), ((2, 1), (1, 3))]
)
@pytest.mark.parametrize("name", CASES)
def test_closed_form(name, batch_a, batch_z):
    build, gone, inverse = CASES[name]
    rng = np.random.default_rng(0)
    av, zv = _spd(rng, batch_a, N), rng.normal(size=batch_z + (N,))
    a = ts.tensor("a", shape=av.shape)
    z = ts.tensor("z", shape=zv.shape)
    c = L.cholesky(a)
    out = apply_core(CholeskyPullback(), c, build(c, z))
    fast = ts.function([a, z], out)
    plain = ts.function([a, z], out, rewrites="none")
    np.testing.assert_allclose(fast(av, zv), plain(av, zv), rtol=1e-9, atol=1e-12)
    names = _core_names(fast)
    assert ("CholeskyPullback" not in names) == gone, names
    assert ("CholeskyInverse" in names) == inverse, names


def _logp(x, mu, cov):
    c = L.cholesky(cov)
    z = L.solve_triangular(c, x - mu, lower=True, b_ndim=1)
    logdet = ts.log(L.diagonal(c)).sum(axis=-1)
    return (-0.5 * (z * z).sum(axis=-1) - logdet).sum()


@pytest.mark.parametrize(
    "batch_x, batch_cov", [((), ()), ((5,), (5,)), ((5,), ()), ((2, 3), (3,))]
)
def test_gaussian_log_density_gradient(batch_x, batch_cov):
    # the textbook gradient: (a a^T - cov^{-1}) / 2 with a = cov^{-1} (x - mu)
    rng = np.random.default_rng(1)
    xv, muv = rng.normal(size=(2,) + batch_x + (N,))
    cv = _spd(rng, batch_cov, N)
    x, mu = ts.tensor("x", shape=xv.shape), ts.tensor("mu", shape=muv.shape)
    cov = ts.tensor("cov", shape=cv.shape)
    logp = _logp(x, mu, cov)
    outs = [logp, *ts.grad(logp, [mu, cov])]
    fast = ts.function([x, mu, cov], outs)
    assert "CholeskyPullback" not in _core_names(fast)
    got = fast(xv, muv, cv)
    alpha = np.linalg.solve(cv, (xv - muv)[..., None])
    inv = np.broadcast_to(np.linalg.inv(cv), alpha.shape[:-2] + (N, N))
    want = 0.5 * (alpha @ np.swapaxes(alpha, -1, -2) - inv)
    want = want.reshape((-1,) + cv.shape).sum(axis=0) if batch_x != batch_cov else want
    np.testing.assert_allclose(got[2], want, rtol=1e-9, atol=1e-12)
    plain = ts.function([x, mu, cov], outs, rewrites="none")
    for g, p in zip(got, plain(xv, muv, cv)):
        np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)
    compare_backends(_logp, [xv, muv, cv], rtol=1e-8, atol=1e-10)


def test_second_order_through_the_closed_form():
    # a Hessian-vector product: differentiates cholesky_inverse and the outer product
    rng = np.random.default_rng(2)
    xv = rng.normal(size=(3, N))
    w = rng.normal(size=(N, N))

    def fn(cov):
        cov = 0.5 * (cov + cov.mT)
        g = ts.grad(_logp(xv, 0.0, cov), cov)
        return (g * w).sum()

    verify_grad(fn, [_spd(rng, (), N)])


def test_masked_gaussian_log_density():
    # as the ppl writes it: where(valid, logp, -inf) makes the cotangent's
    # scale a per-batch variable, zero for the invalid elements
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(4, N))
    xv[1] = -np.abs(xv[1])
    cv = _spd(rng, (4,), N)
    x, cov = ts.tensor("x", shape=xv.shape), ts.tensor("cov", shape=cv.shape)
    c = L.cholesky(cov)
    z = L.solve_triangular(c, x, lower=True, b_ndim=1)
    raw = -0.5 * (z * z).sum(axis=-1) - ts.log(L.diagonal(c)).sum(axis=-1)
    logp = ts.where(x.sum(axis=-1) > -1.0, raw, -np.inf).sum()
    outs = [logp, ts.grad(logp, cov)]
    fast = ts.function([x, cov], outs)
    names = _core_names(fast)
    assert "CholeskyPullback" not in names and "CholeskyInverse" in names
    plain = ts.function([x, cov], outs, rewrites="none")
    for g, p in zip(fast(xv, cv), plain(xv, cv)):
        np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)
    assert not fast(xv, cv)[1][1].any()  # the masked element has no gradient


def test_not_on_the_jax_backend():
    # XLA's CPU runtime may deadlock running cholesky_inverse's solves beside
    # the log-density's own: the JAX backend keeps the pullback
    x, cov = ts.tensor("x", shape=(3, N)), ts.tensor("cov", shape=(3, N, N))
    logp = _logp(x, 0.0, cov)
    names = _core_names(ts.function([x, cov], ts.grad(logp, cov), backend="jax"))
    assert "CholeskyPullback" in names and "CholeskyInverse" not in names
