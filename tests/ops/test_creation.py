"""Array creation checked against NumPy: values, dtypes, static shapes."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.testing import verify_grad

CASES = [
    (lambda: ts.zeros((2, 3)), lambda: np.zeros((2, 3))),
    (lambda: ts.zeros(3, dtype="int32"), lambda: np.zeros(3, dtype="int32")),
    (lambda: ts.zeros(()), lambda: np.zeros(())),
    (lambda: ts.zeros((0, 2)), lambda: np.zeros((0, 2))),
    (lambda: ts.ones((2, 1)), lambda: np.ones((2, 1))),
    (lambda: ts.ones(4, dtype="bool"), lambda: np.ones(4, dtype="bool")),
    (lambda: ts.full((2, 2), 7.5), lambda: np.full((2, 2), 7.5)),
    (lambda: ts.full(3, 7), lambda: np.full(3, 7)),
    (lambda: ts.full((2,), 1, dtype="float32"), lambda: np.full(2, 1, "float32")),
    (lambda: ts.full((2,), True), lambda: np.full(2, True)),
    (
        lambda: ts.zeros_like(ts.constant(np.ones((2, 3), "int32"))),
        lambda: np.zeros_like(np.ones((2, 3), "int32")),
    ),
    (lambda: ts.ones_like(ts.constant([1.5, 2.5])), lambda: np.ones_like([1.5, 2.5])),
    (
        lambda: ts.full_like(ts.constant(np.ones(3, "float32")), 2),
        lambda: np.full_like(np.ones(3, "float32"), 2),
    ),
    (
        lambda: ts.zeros_like(ts.constant([1.0, 2.0]), dtype="int8"),
        lambda: np.zeros_like([1.0, 2.0], dtype="int8"),
    ),
    (lambda: ts.eye(3), lambda: np.eye(3)),
    (lambda: ts.eye(2, 4, k=1), lambda: np.eye(2, 4, k=1)),
    (
        lambda: ts.eye(4, 2, k=-1, dtype="int64"),
        lambda: np.eye(4, 2, k=-1, dtype="int64"),
    ),
    (lambda: ts.eye(0), lambda: np.eye(0)),
    (lambda: ts.arange(5), lambda: np.arange(5)),
    (lambda: ts.arange(2, 9, 3), lambda: np.arange(2, 9, 3)),
    (lambda: ts.arange(5, 1, -1), lambda: np.arange(5, 1, -1)),
    (lambda: ts.arange(0.0, 1.0, 0.25), lambda: np.arange(0.0, 1.0, 0.25)),
    (lambda: ts.arange(3, dtype="float32"), lambda: np.arange(3, dtype="float32")),
    (lambda: ts.arange(4, 2), lambda: np.arange(4, 2)),
    (lambda: ts.linspace(0.0, 1.0, 5), lambda: np.linspace(0.0, 1.0, 5)),
    (lambda: ts.linspace(-2, 3, 7), lambda: np.linspace(-2, 3, 7)),
    (
        lambda: ts.linspace(0.0, 1.0, 4, endpoint=False),
        lambda: np.linspace(0.0, 1.0, 4, endpoint=False),
    ),
    (lambda: ts.linspace(1.0, 3.0, 1), lambda: np.linspace(1.0, 3.0, 1)),
    (lambda: ts.linspace(1.0, 3.0, 0), lambda: np.linspace(1.0, 3.0, 0)),
    (lambda: ts.linspace(0.1, 0.7, 11), lambda: np.linspace(0.1, 0.7, 11)),
    (lambda: ts.tri(3), lambda: np.tri(3)),
    (lambda: ts.tri(2, 4, k=1), lambda: np.tri(2, 4, k=1)),
    (lambda: ts.tri(3, k=-1, dtype="int32"), lambda: np.tri(3, k=-1, dtype="int32")),
]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_creation_matches_numpy(k):
    make, ref = CASES[k]
    out = make()
    expected = np.asarray(ref())
    assert out.type.shape == expected.shape
    assert out.dtype == expected.dtype.name
    got = out.eval()
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)


def test_linspace_endpoint_is_exactly_stop():
    got = ts.linspace(0.1, 0.7, 11).eval()
    assert got[-1] == 0.7


def test_floatx_sets_the_default_dtype():
    old = ts.config.floatX
    try:
        ts.config.floatX = "float32"
        assert ts.zeros(2).dtype == "float32"
        assert ts.ones((2, 2)).dtype == "float32"
        assert ts.eye(2).dtype == "float32"
        assert ts.full((2,), 0.5).dtype == "float32"
    finally:
        ts.config.floatX = old
    with pytest.raises(ValueError, match="floatX"):
        ts.config.floatX = "float16"


def test_symbolic_sizes():
    n = ts.scalar("n", dtype="int64")
    m = ts.scalar("m", dtype="int64")
    outs = [
        ts.zeros((n, 3)),
        ts.full(ts.as_tensor([m, n]), 2.0),
        ts.eye(n, m, k=1),
        ts.arange(n),
        ts.arange(1, n, 2),
        ts.tri(n, m),
    ]
    assert outs[0].type.shape == (None, 3)
    assert outs[3].type.shape == (None,)
    got = ts.function([n, m], outs)(4, 3)
    expected = [
        np.zeros((4, 3)),
        np.full((3, 4), 2.0),
        np.eye(4, 3, 1),
        np.arange(4),
        np.arange(1, 4, 2),
        np.tri(4, 3),
    ]
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)


def test_like_functions_follow_runtime_shape(rng):
    a = rng.standard_normal((3, 2))
    x = ts.tensor("x", shape=(None, None))
    got = ts.function([x], [ts.zeros_like(x), ts.ones_like(x), ts.full_like(x, 4)])(a)
    for g, e in zip(got, [np.zeros_like(a), np.ones_like(a), np.full_like(a, 4)]):
        assert g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)


def test_compiled_creation_results_are_writable():
    f = ts.function([], [ts.zeros((2,)), ts.ones(3), ts.eye(2), ts.arange(3)])
    for v in f():
        v[...] = 0  # must not raise: each call gets its own arrays
    np.testing.assert_array_equal(f()[1], np.ones(3))


def test_full_gradient_wrt_fill_value():
    v = ts.scalar("v")
    out = ts.full((2, 3), v)
    g = ts.grad(ts.sum(out * ts.constant(np.arange(6.0).reshape(2, 3))), v)
    assert float(ts.function([v], g)(1.0)) == 15.0
    verify_grad(lambda s: ts.full((2, 2), s) ** 2, [np.array(1.5)])


def test_linspace_gradient_wrt_start_and_stop():
    verify_grad(lambda a, b: ts.linspace(a, b, 5) ** 2, [np.array(0.3), np.array(2.0)])
    verify_grad(
        lambda a, b: ts.linspace(a, b, 4, endpoint=False) ** 2,
        [np.array(-1.0), np.array(2.0)],
    )


def test_linspace_with_symbolic_bounds():
    a, b = ts.scalar("a"), ts.scalar("b")
    got = ts.function([a, b], ts.linspace(a, b, 6))(-1.0, 4.0)
    np.testing.assert_allclose(got, np.linspace(-1.0, 4.0, 6), rtol=1e-15)


def test_creation_of_constant_shapes_is_not_folded_into_the_graph():
    f = ts.function([], ts.zeros((1000, 1000)))
    assert f.fg.toposort()  # the Alloc node stays: the array is made per call
    assert f().shape == (1000, 1000)


def test_fill_value_must_be_a_scalar():
    with pytest.raises(ValueError, match="fill value must be a scalar"):
        ts.full((2,), ts.constant([1.0, 2.0]))
