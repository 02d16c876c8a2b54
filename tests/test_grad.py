"""grad, jacobian and hessian: many wrt, broadcasting, errors, disconnected inputs."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.testing import verify_grad


def test_grad_single_and_many_wrt(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    x, y = ts.tensor("x", shape=(3,)), ts.tensor("y", shape=(3,))
    cost = ts.sum(x * y + ts.exp(x))
    gx = ts.grad(cost, x)
    assert isinstance(gx, ts.TensorVariable)
    gs = ts.grad(cost, [x, y])
    assert isinstance(gs, list) and len(gs) == 2
    gt = ts.grad(cost, (y, x))
    got = ts.function([x, y], [gx, *gs, *gt])(a, b)
    for g, e in zip(got, [b + np.exp(a), b + np.exp(a), a, a, b + np.exp(a)]):
        np.testing.assert_allclose(g, e)


def test_fan_out_contributions_are_summed(rng):
    a = rng.standard_normal(4)
    x = ts.tensor("x", shape=(4,))
    y = ts.sin(x)
    cost = ts.sum(y * y + 3.0 * y + x)
    got = ts.function([x], ts.grad(cost, x))(a)
    np.testing.assert_allclose(got, (2 * np.sin(a) + 3) * np.cos(a) + 1)


def test_grad_wrt_intermediate_and_cost_itself(rng):
    a = rng.standard_normal(3)
    x = ts.tensor("x", shape=(3,))
    y = ts.exp(x)
    cost = ts.sum(y * 2.0)
    gy, gc = ts.grad(cost, [y, cost])
    got_y, got_c = ts.function([x], [gy, gc])(a)
    np.testing.assert_allclose(got_y, np.full(3, 2.0))
    assert float(got_c) == 1.0


@pytest.mark.parametrize(
    "xs, ys, xv, yv",
    [
        ((2, 1, 4), (5, 4), (2, 1, 4), (5, 4)),
        ((), (3, 2), (), (3, 2)),
        ((None, None), (None,), (4, 1), (3,)),
        ((None, None), (None, None), (1, 3), (4, 1)),
        ((None, 3), (None, None, None), (1, 3), (2, 4, 1)),
        ((None,), (None,), (1,), (1,)),
        ((None, None), (None,), (0, 1), (3,)),
    ],
)
def test_gradient_through_broadcasting_is_summed_to_runtime_shape(xs, ys, xv, yv, rng):
    a, b = rng.standard_normal(xv), rng.standard_normal(yv)
    x, y = ts.tensor("x", shape=xs), ts.tensor("y", shape=ys)
    w = rng.standard_normal(np.broadcast_shapes(xv, yv))
    cost = ts.sum(x * y * w + x)
    gx, gy = ts.function([x, y], ts.grad(cost, [x, y]))(a, b)
    assert gx.shape == a.shape and gy.shape == b.shape
    full = np.broadcast_shapes(xv, yv)
    ex = (np.broadcast_to(b, full) * w + 1).reshape((-1,) * 0 + full)
    ey = np.broadcast_to(a, full) * w
    lead_x, lead_y = len(full) - a.ndim, len(full) - b.ndim
    ex = ex.sum(axis=tuple(range(lead_x)))
    ey = ey.sum(axis=tuple(range(lead_y)))
    ex = ex.sum(axis=tuple(k for k, s in enumerate(a.shape) if s == 1), keepdims=True)
    ey = ey.sum(axis=tuple(k for k, s in enumerate(b.shape) if s == 1), keepdims=True)
    np.testing.assert_allclose(gx, ex.reshape(a.shape))
    np.testing.assert_allclose(gy, ey.reshape(b.shape))


def test_same_graph_handles_broadcast_and_full_sizes_at_run_time(rng):
    """One compiled gradient, called once with a size-1 dim and once without."""
    x = ts.tensor("x", shape=(None, None))
    y = ts.tensor("y", shape=(None, None))
    f = ts.function([x, y], ts.grad(ts.sum(x * y), [x, y]))
    for xv, yv in [((2, 3), (2, 3)), ((2, 1), (2, 3)), ((1, 3), (2, 1))]:
        a, b = rng.standard_normal(xv), rng.standard_normal(yv)
        gx, gy = f(a, b)
        full = np.broadcast_shapes(xv, yv)
        bb, ab = np.broadcast_to(b, full), np.broadcast_to(a, full)
        ax_x = tuple(k for k, s in enumerate(xv) if s == 1 and full[k] != 1)
        ax_y = tuple(k for k, s in enumerate(yv) if s == 1 and full[k] != 1)
        np.testing.assert_allclose(gx, bb.sum(axis=ax_x, keepdims=True))
        np.testing.assert_allclose(gy, ab.sum(axis=ax_y, keepdims=True))


def test_second_order_by_nesting_grad(rng):
    a = rng.uniform(0.5, 1.5, 3)
    x = ts.tensor("x", shape=(3,))
    g = ts.grad(ts.sum(x**3), x)
    gg = ts.grad(ts.sum(g * ts.log(x)), x)
    got = ts.function([x], gg)(a)
    np.testing.assert_allclose(got, 6 * a * np.log(a) + 3 * a)


def test_gradient_wrt_shared_variable():
    w = ts.shared(np.array([1.0, 2.0]), "w")
    x = ts.tensor("x", shape=(2,))
    g = ts.grad(ts.sum(w * w * x), w)
    np.testing.assert_allclose(ts.function([x], g)([3.0, 4.0]), [6.0, 16.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_dtype_of_wrt(dtype):
    x = ts.tensor("x", shape=(2,), dtype=dtype)
    y = ts.tensor("y", shape=(2,), dtype="float64")
    gx, gy = ts.grad(ts.sum(x * y), [x, y])
    assert gx.dtype == dtype and gy.dtype == "float64"
    out = ts.function([x, y], [gx, gy])(np.ones(2, dtype), np.ones(2))
    assert out[0].dtype == np.dtype(dtype)


# --- errors -------------------------------------------------------------------------


def test_cost_must_be_a_float_scalar():
    x = ts.tensor("x", shape=(3,))
    with pytest.raises(ValueError, match="cost must be a scalar"):
        ts.grad(x * 2, x)
    with pytest.raises(TypeError, match="integer dtype"):
        ts.grad(ts.argmax(x), x)


def test_wrt_must_be_a_float_variable():
    x = ts.tensor("x", shape=(3,))
    n = ts.tensor("n", shape=(3,), dtype="int64")
    with pytest.raises(TypeError, match="dtype int64"):
        ts.grad(ts.sum(x * n), n)
    with pytest.raises(TypeError, match="must be variables"):
        ts.grad(ts.sum(x), [x, 3.0])


@pytest.mark.parametrize(
    "make_cost, op_name",
    [
        (lambda x: ts.cast(ts.argmax(x), "float64"), "ArgReduce"),
        (lambda x: ts.sum(ts.where(x, 1.0, 2.0)), "where"),
        (lambda x: ts.sum(ts.cast(x > 0, "float64")), "gt"),
        (lambda x: ts.sum(ts.cast(ts.cast(x, "int64"), "float64")), "cast_int64"),
        (lambda x: ts.sum(ts.polygamma(x, 2.0)), "polygamma"),
        (lambda x: ts.sum(ts.gammainc(x, 2.0)), "gammainc"),
        (lambda x: ts.cast(ts.any(x > 1.0), "float64"), "gt"),
    ],
)
def test_non_differentiable_path_raises_naming_the_op(make_cost, op_name):
    x = ts.tensor("x", shape=(3,))
    cost = make_cost(x)
    with pytest.raises(ValueError, match=op_name):
        ts.grad(cost, x)
    with pytest.raises(ValueError, match=op_name):
        ts.grad(cost, x, disconnected="zero")


def test_integer_side_paths_contribute_no_gradient(rng):
    """An integer path next to a float one is simply not differentiated."""
    a = rng.standard_normal(3)
    x = ts.tensor("x", shape=(3,))
    cost = ts.sum(x * 2.0) + ts.cast(ts.argmax(x), "float64")
    np.testing.assert_allclose(ts.function([x], ts.grad(cost, x))(a), np.full(3, 2.0))


def test_shape_only_dependence_is_disconnected():
    x = ts.tensor("x", shape=(None,))
    cost = ts.cast(x.shape[0], "float64") * 2.0
    with pytest.raises(ValueError, match="does not depend on x"):
        ts.grad(cost, x)
    g = ts.grad(cost, x, disconnected="zero")
    np.testing.assert_array_equal(ts.function([x], g)(np.ones(4)), np.zeros(4))


def test_disconnected_inputs_raise_or_give_zeros(rng):
    x = ts.tensor("x", shape=(None, 2))
    y = ts.tensor("y", shape=(3,))
    cost = ts.sum(ts.exp(y))
    with pytest.raises(ValueError, match="does not depend on x"):
        ts.grad(cost, [y, x])
    gy, gx = ts.grad(cost, [y, x], disconnected="zero")
    got_y, got_x = ts.function([x, y], [gy, gx])(np.ones((4, 2)), np.zeros(3))
    np.testing.assert_allclose(got_y, np.ones(3))
    np.testing.assert_array_equal(got_x, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="disconnected must be"):
        ts.grad(cost, y, disconnected="ignore")


# --- jacobian and hessian -----------------------------------------------------------


def test_jacobian_of_vector_function(rng):
    a = rng.standard_normal(3)
    x = ts.tensor("x", shape=(3,))
    jac = ts.jacobian(ts.sin(x) * x[::-1], x)
    assert jac.type.shape == (3, 3)
    got = ts.function([x], jac)(a)
    expected = np.diag(np.cos(a) * a[::-1]) + np.diag(np.sin(a))[:, ::-1]
    np.testing.assert_allclose(got, expected)


def test_jacobian_shapes_with_many_wrt(rng):
    a, b, c = (
        rng.standard_normal((2, 2)),
        rng.standard_normal(3),
        rng.standard_normal(4),
    )
    x = ts.tensor("x", shape=(2, 2))
    y = ts.tensor("y", shape=(3,))
    z = ts.tensor("z", shape=(None,))
    expr = ts.expand_dims(ts.sum(x, axis=1), 1) * y + ts.sum(z**2)  # shape (2, 3)
    jx, jy, jz = ts.jacobian(expr, [x, y, z])
    gx, gy, gz = ts.function([x, y, z], [jx, jy, jz])(a, b, c)
    assert gx.shape == (2, 3, 2, 2) and gy.shape == (2, 3, 3)
    assert gz.shape == (2, 3, 4)
    ex = np.zeros((2, 3, 2, 2))
    ey = np.zeros((2, 3, 3))
    for i in range(2):
        for j in range(3):
            ex[i, j, i, :] = b[j]
            ey[i, j, j] = a[i].sum()
    np.testing.assert_allclose(gx, ex)
    np.testing.assert_allclose(gy, ey)
    np.testing.assert_allclose(gz, np.broadcast_to(2 * c, (2, 3, 4)))


def test_jacobian_of_scalar_is_the_gradient(rng):
    a = rng.standard_normal(3)
    x = ts.tensor("x", shape=(3,))
    j = ts.jacobian(ts.sum(x**2), x)
    np.testing.assert_allclose(ts.function([x], j)(a), 2 * a)


def test_jacobian_and_hessian_with_run_time_shapes():
    x = ts.tensor("x", shape=(None,))
    jac = ts.jacobian(ts.sin(x) * x[::-1], x)
    h = ts.hessian((x**3).sum() + x[0] * x[1], x)
    v = np.array([0.3, -1.2, 2.0])
    expected = np.diag(np.cos(v) * v[::-1]) + np.sin(v)[:, None] * np.eye(3)[::-1]
    np.testing.assert_allclose(jac.eval({x: v}), expected)
    hv = np.diag(6 * v)
    hv[0, 1] = hv[1, 0] = 1.0
    np.testing.assert_allclose(h.eval({x: v}), hv)


def test_jacobian_is_one_batched_pass():
    # rows come from vectorizing one vjp, not from one graph per row
    x = ts.tensor("x", shape=(50,))
    f = ts.function([x], ts.jacobian(ts.exp(x).cumsum(), x))
    assert len(f.fg.apply_nodes) < 30
    v = np.linspace(-1, 1, 50)
    np.testing.assert_allclose(f(v), np.tril(np.ones((50, 50))) * np.exp(v))


def test_jacobian_of_disconnected_wrt_raises_unless_zero():
    x, y = ts.tensor("x", shape=(2,)), ts.tensor("y", shape=(2,))
    with pytest.raises(ValueError, match="does not depend on y"):
        ts.jacobian(x * 2.0, y)
    with pytest.raises(ValueError, match="does not depend on y"):
        ts.jacobian(x * 2.0, [x, y])


def test_jacobian_of_an_empty_expression_is_empty():
    x = ts.tensor("x", shape=(0,))
    y = ts.tensor("y", shape=(None, 2))
    jx, jy = ts.jacobian(x * 2.0, [x, y], disconnected="zero")
    gx, gy = ts.function([x, y], [jx, jy])(np.zeros(0), np.ones((3, 2)))
    assert gx.shape == (0, 0) and gy.shape == (0, 3, 2)


def test_jacobian_disconnected_entries_are_zero():
    x, y = ts.tensor("x", shape=(2,)), ts.tensor("y", shape=(2,))
    jy = ts.jacobian(x * 2.0, y, disconnected="zero")
    np.testing.assert_array_equal(
        ts.function([x, y], jy)(np.ones(2), np.ones(2)), np.zeros((2, 2))
    )


def test_hessian(rng):
    a = rng.uniform(0.5, 1.5, 3)
    x = ts.tensor("x", shape=(3,))
    m = rng.standard_normal((3, 3))
    quad = ts.sum(ts.expand_dims(x, 1) * m * ts.expand_dims(x, 0))
    h = ts.hessian(quad + ts.sum(ts.log(x)), x)
    assert h.type.shape == (3, 3)
    np.testing.assert_allclose(ts.function([x], h)(a), m + m.T - np.diag(1 / a**2))


def test_hessian_many_wrt(rng):
    x, y = ts.tensor("x", shape=(2,)), ts.tensor("y", shape=())
    hx, hy = ts.hessian(ts.sum(x**3) * y + y**3, [x, y])
    a, b = np.array([1.0, 2.0]), np.array(1.5)
    got_x, got_y = ts.function([x, y], [hx, hy])(a, b)
    np.testing.assert_allclose(got_x, np.diag(6 * a * b))
    np.testing.assert_allclose(got_y, 6 * b)


def test_verify_grad_catches_a_wrong_gradient():
    """The checker itself must fail on a wrong pullback."""
    from tessera.graph.basic import Apply
    from tessera.graph.op import Op

    class BadSquare(Op):
        __props__ = ()

        def make_node(self, x):
            x = ts.as_tensor(x)
            return Apply(self, [x], [x.type])

        def perform(self, node, inputs, out):
            out[0][0] = inputs[0] ** 2

        def pullback(self, inputs, outputs, cotangents):
            return [cotangents[0] * inputs[0]]  # should be 2 * x

    with pytest.raises(AssertionError, match="gradients differ"):
        verify_grad(BadSquare(), [np.array([1.0, 2.0])])


@pytest.mark.parametrize("wrt", [5.0, "x", None, np.ones(2)])
@pytest.mark.parametrize("fn", [ts.grad, ts.jacobian, ts.hessian])
def test_wrt_must_be_variables(fn, wrt):
    # issue #23: ts.grad(cost, 5.0) said "'float' object is not iterable"
    x = ts.scalar("x")
    with pytest.raises(
        TypeError, match=r"wrt must be a variable or a list of variables"
    ):
        fn(x**2, wrt)
    with pytest.raises(TypeError, match=r"wrt must be variables, got float 5.0"):
        fn(x**2, [x, 5.0])
