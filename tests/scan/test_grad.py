"""Gradients of scan: BPTT against finite differences, both backends,
second order and truncated backpropagation."""

import numpy as np
import pytest

import tessera as ts
from tessera.testing import compare_backends, verify_grad

from .test_op import CASES, rnn


@pytest.mark.parametrize(
    "fn, args", [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_gradient_against_finite_differences(fn, args):
    args = [np.asarray(a, dtype=float) for a in args]

    def one_output(*xs):
        out = fn(*xs)
        return ts.stack(out) if isinstance(out, list) else out

    verify_grad(one_output, args)


@pytest.mark.parametrize(
    "fn, args", [(c[1], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_gradient_on_both_backends(fn, args):
    args = [np.asarray(a, dtype=float) for a in args]
    compare_backends(fn, args, grad=True)


def _rnn_cost(h0, w, x):
    return (rnn(ts.constant(x), h0, w) ** 2).sum()


def test_hessian_against_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3))
    w = 0.5 * rng.standard_normal((3, 3))
    h = rng.standard_normal(3)
    h0 = ts.tensor("h0", shape=(3,))
    cost = _rnn_cost(h0, ts.constant(w), x)
    hess = ts.function([h0], ts.hessian(cost, h0))(h)
    grad = ts.function([h0], ts.grad(cost, h0))
    eps = 1e-6
    numeric = np.stack(
        [(grad(h + eps * e) - grad(h - eps * e)) / (2 * eps) for e in np.eye(3)]
    )
    np.testing.assert_allclose(hess, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, atol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_hessian_vector_product_through_the_weights(backend):
    # grad of (grad . v): the backward loop is itself differentiated
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 2))
    h = rng.standard_normal(2)
    wv = 0.4 * rng.standard_normal((2, 2))
    v = rng.standard_normal((2, 2))
    w = ts.tensor("w", shape=(2, 2))
    cost = _rnn_cost(ts.constant(h), w, x)
    g = ts.grad(cost, w)
    hvp = ts.function([w], ts.grad((g * v).sum(), w), backend=backend)(wv)
    grad = ts.function([w], g)
    eps = 1e-6
    numeric = (grad(wv + eps * v) - grad(wv - eps * v)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(hvp), numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("k", [0, 2, 5, 10])
def test_truncate_gradient(k):
    # y_t = a y_{t-1} + x_t; cost = sum(c_t y_t): only the last k steps
    # backpropagate, earlier sequence rows and the initial value get zeros
    n = 6
    rng = np.random.default_rng(3)
    xv, c, av, y0 = rng.standard_normal(n), rng.standard_normal(n), 0.7, 0.4
    x, a, init = ts.tensor("x", shape=(n,)), ts.scalar("a"), ts.scalar("y0")
    ys, _ = ts.scan(
        lambda xt, p, a: a * p + xt,
        sequences=[x],
        outputs_info=[init],
        non_sequences=[a],
        truncate_gradient=k,
    )
    cost = (ys * c).sum()
    gx, ga, g0 = ts.function([x, a, init], ts.grad(cost, [x, a, init]))(xv, av, y0)
    y = [y0]
    for t in range(n):
        y.append(av * y[-1] + xv[t])
    total, gx_ref, ga_ref = 0.0, np.zeros(n), 0.0
    window = min(n, k)
    for t in range(n - 1, n - 1 - window, -1):
        total = c[t] + av * total
        gx_ref[t] = total
        ga_ref += total * y[t]  # y[t] is y_{t-1}
    g0_ref = av * total if window == n else 0.0
    np.testing.assert_allclose(gx, gx_ref, atol=1e-12)
    np.testing.assert_allclose(ga, ga_ref, atol=1e-12)
    np.testing.assert_allclose(g0, g0_ref, atol=1e-12)


def test_gradient_with_respect_to_a_symbolic_n_steps_loop():
    n = ts.scalar("n", dtype="int64")
    a = ts.scalar("a")
    ys, _ = ts.scan(
        lambda p, a: p * a,
        outputs_info=[ts.constant(1.0)],
        non_sequences=[a],
        n_steps=n,
    )
    g = ts.function([n, a], ts.grad(ys.sum(), a))
    # d/da sum_t a^t = sum_t t a^(t-1)
    np.testing.assert_allclose(g(4, 0.5), sum(t * 0.5 ** (t - 1) for t in range(1, 5)))


def test_rnn_with_every_dim_unknown_values_and_gradient():
    # inputs declared with no static shape (ts.matrix, ts.vector): the output
    # types come from the step's static shapes, not its symbolic ones
    W, x, h0 = ts.matrix("W"), ts.matrix("x"), ts.vector("h0")
    hs, _ = ts.scan(
        lambda xt, h, w: ts.tanh(w @ h + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[W],
    )
    assert hs.type.shape == (None, None)
    rng = np.random.default_rng(0)
    wv, xv, hv = 0.3 * rng.normal(size=(3, 3)), rng.normal(size=(5, 3)), np.zeros(3)

    def reference(w):
        h, out = hv, []
        for t in range(5):
            h = np.tanh(w @ h + xv[t])
            out.append(h)
        return np.stack(out)

    np.testing.assert_allclose(ts.function([W, x, h0], hs)(wv, xv, hv), reference(wv))

    def cost(w, xs, h):
        return ts.scan(
            lambda xt, hp, ww: ts.tanh(ww @ hp + xt),
            sequences=[xs],
            outputs_info=[h],
            non_sequences=[w],
        )[0].sum()

    verify_grad(cost, [wv, xv, hv])
    compare_backends(lambda w, xs, h: ts.grad(cost(w, xs, h), w), [wv, xv, hv])
