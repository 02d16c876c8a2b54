"""The NumPy backend's direct callables agree with the ops' ``perform``."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.graph.op import Op
from tessera.ops.reduction import Reduce
from tessera.ops.shape import ExpandDims, Transpose


def _both(node, *values):
    fast = numpy_funcify(node.op, node)(*values)
    slow = numpy_funcify.dispatch(Op)(node.op, node)(*values)
    return fast, slow


def _same(fast, slow):
    assert type(fast) is type(slow)
    assert np.shape(fast) == np.shape(slow)
    assert np.asarray(fast).dtype == np.asarray(slow).dtype
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "all", "any"])
@pytest.mark.parametrize("axis", [(0,), (1,), (0, 1), ()])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "int8", "bool"])
def test_reduce(kind, axis, keepdims, dtype, rng):
    x = ts.tensor("x", shape=(2, 3), dtype=dtype)
    node = Reduce(kind, axis, keepdims)(x).owner
    value = (rng.standard_normal((2, 3)) * 3).astype(dtype)
    _same(*_both(node, value))


def test_reduce_with_an_accumulator_dtype_and_scalars(rng):
    x = ts.tensor("x", shape=(4,), dtype="int8")
    node = Reduce("sum", (0,), False, "int64")(x).owner
    _same(*_both(node, np.full(4, 100, dtype="int8")))
    s = ts.tensor("s", shape=())
    node = Reduce("sum", (), False)(s).owner
    _same(*_both(node, np.float64(3.0)))
    _same(*_both(node, np.array(3.0)))


@pytest.mark.parametrize(
    "shape, axes", [((2, 3), (0,)), ((2, 3), (2,)), ((2, 3), (1, 3)), ((), (0,))]
)
def test_expand_dims_is_a_view(shape, axes, rng):
    x = ts.tensor("x", shape=shape)
    node = ExpandDims(axes)(x).owner
    value = np.asarray(rng.standard_normal(shape))
    fast, slow = _both(node, value)
    _same(fast, slow)
    if shape:
        assert np.shares_memory(fast, value)
    _same(*_both(node, np.float64(2.0) if not shape else value.T.T))


@pytest.mark.parametrize("axes", [(1, 0, 2), (2, 1, 0), (0, 1, 2)])
def test_transpose(axes, rng):
    x = ts.tensor("x", shape=(2, 3, 4))
    node = Transpose(axes)(x).owner
    _same(*_both(node, rng.standard_normal((2, 3, 4))))
    s = ts.tensor("s", shape=())
    node = Transpose(())(s).owner
    _same(*_both(node, np.float64(1.5)))


def test_blockwise_calls_the_batched_kernel(rng):
    a = ts.tensor("a", shape=(3, 4, 4))
    node = ts.linalg.cholesky(a).owner
    value = rng.standard_normal((3, 4, 4))
    value = value @ value.swapaxes(-1, -2) + 4 * np.eye(4)
    _same(*_both(node, value))
    q, r = ts.linalg.qr(a)
    node = q.owner
    fast, slow = _both(node, value)
    for f, s in zip(fast, slow):
        _same(f, s)


@pytest.mark.parametrize("offset", [0, 1, -2])
@pytest.mark.parametrize("lead", [(), (3,), (2, 1)])
def test_alloc_diag(offset, lead, rng):
    from tessera.ops.linalg.structure import AllocDiag

    m, n = 4, 5
    k = len(np.diagonal(np.zeros((m, n)), offset))
    v = ts.tensor("v", shape=lead + (k,))
    node = AllocDiag(offset)(v, m, n).owner
    sizes = [np.asarray(m), np.asarray(n)]
    value = rng.standard_normal(lead + (k,))
    _same(*_both(node, value, *sizes))
    node = AllocDiag(offset)(ts.tensor("w", shape=(None,)), m, n).owner
    with pytest.raises(ValueError, match="does not fit"):
        numpy_funcify(node.op, node)(np.ones(k + 1), *sizes)


@pytest.mark.parametrize("offset", [0, 2, -1])
@pytest.mark.parametrize("lead", [(), (3,), (2, 1)])
def test_extract_diag(offset, lead, rng):
    from tessera.ops.linalg.structure import ExtractDiag

    x = ts.tensor("x", shape=lead + (4, 5))
    node = ExtractDiag(offset)(x).owner
    value = rng.standard_normal(lead + (4, 5))
    fast, slow = _both(node, value)
    np.testing.assert_array_equal(fast, slow)
    assert np.shares_memory(fast, value)  # a strided view, no copy
    # a non-contiguous input goes through np.diagonal
    value_t = np.swapaxes(rng.standard_normal(lead + (5, 4)), -1, -2)
    np.testing.assert_array_equal(*_both(node, value_t))


def test_extract_diag_output_does_not_alias_the_input(rng):
    x = ts.tensor("x", shape=(3, 3))
    f = ts.function([x], ts.linalg.diagonal(x))
    value = rng.standard_normal((3, 3))
    out = f(value)
    out[:] = 0.0
    assert not (np.diagonal(value) == 0).any()


@pytest.mark.parametrize(
    "shape, axes", [((1,), (0,)), ((2, 1, 3), (1,)), ((1, 2, 1), (0, 2))]
)
def test_squeeze(shape, axes, rng):
    from tessera.ops.shape import Squeeze

    x = ts.tensor("x", shape=shape)
    node = Squeeze(axes)(x).owner
    value = rng.standard_normal(shape)
    fast, slow = _both(node, value)
    _same(fast, slow)
    assert np.shares_memory(fast, value)


def test_squeeze_of_a_dim_that_is_not_one_is_an_error():
    from tessera.ops.shape import Squeeze

    node = Squeeze((1,))(ts.tensor("x", shape=(2, None))).owner
    with pytest.raises(ValueError):
        numpy_funcify(node.op, node)(np.ones((2, 3)))
