"""Blockwise: batch shapes, broadcasting, kernels, gradients and errors."""

import numpy as np
import pytest

import tessera as ts
from tessera.graph.basic import Apply
from tessera.graph.op import Op
from tessera.ops.blockwise import Blockwise, apply_core
from tessera.ops.type import TensorType
from tessera.testing import verify_grad


class RowDot(Op):
    """Core op "(n),(n)->()" without a batched kernel (loop fallback)."""

    signature = "(n),(n)->()"
    __props__ = ()

    def make_node(self, a, b):
        return Apply(self, [a, b], [TensorType(np.result_type(a.dtype, b.dtype), ())])

    def perform(self, node, inputs, out):
        out[0][0] = np.asarray(np.dot(inputs[0], inputs[1]))

    def pullback(self, inputs, outputs, cotangents):
        (g,) = cotangents
        return [g * inputs[1], g * inputs[0]]


class BatchedRowDot(RowDot):
    """The same core op with a natively batched kernel."""

    calls = 0

    def perform_batched(self, node, inputs, out):
        BatchedRowDot.calls += 1
        a, b = inputs
        out[0][0] = np.einsum("...n,...n->...", a, b)


class OuterSum(Op):
    """Core op "(m),(n)->(m,n),()" with two outputs."""

    signature = "(m),(n)->(m,n),()"
    __props__ = ()

    def make_node(self, a, b):
        m, n = a.type.shape[0], b.type.shape[0]
        return Apply(
            self, [a, b], [TensorType("float64", (m, n)), TensorType("float64", ())]
        )

    def perform(self, node, inputs, out):
        a, b = inputs
        out[0][0] = np.outer(a, b)
        out[1][0] = np.asarray(a.sum() + b.sum())

    def pullback(self, inputs, outputs, cotangents):
        from tessera.graph.null import DisconnectedType

        a, b = inputs
        g_outer, g_sum = cotangents
        ga, gb = ts.zeros_like(a), ts.zeros_like(b)
        if not isinstance(g_outer, DisconnectedType):
            ga = ga + (g_outer * ts.expand_dims(b, 0)).sum(axis=1)
            gb = gb + (g_outer * ts.expand_dims(a, 1)).sum(axis=0)
        if not isinstance(g_sum, DisconnectedType):
            ga = ga + g_sum
            gb = gb + g_sum
        return [ga, gb]


SHAPE_PAIRS = [
    ((3,), (3,)),
    ((4, 3), (3,)),
    ((2, 3, 3), (3, 3)),
    ((2, 1, 3), (1, 4, 3)),
    ((0, 3), (3,)),
]


@pytest.mark.parametrize("op", [RowDot(), BatchedRowDot()], ids=["loop", "batched"])
@pytest.mark.parametrize("sa, sb", SHAPE_PAIRS)
def test_forward_matches_numpy(op, sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    out = apply_core(op, ts.constant(a), ts.constant(b))
    expected = np.einsum("...n,...n->...", a, b)
    assert out.type.shape == expected.shape
    np.testing.assert_allclose(out.eval(), expected)


def test_batched_kernel_called_once_per_call():
    a = ts.tensor("a", shape=(None, 5, 3))
    b = ts.tensor("b", shape=(3,))
    f = ts.function([a, b], Blockwise(BatchedRowDot())(a, b))
    BatchedRowDot.calls = 0
    f(np.ones((7, 5, 3)), np.ones(3))
    assert BatchedRowDot.calls == 1


def test_runtime_size_one_batch_dims_broadcast():
    a = ts.tensor("a", shape=(None, None, 3))
    b = ts.tensor("b", shape=(None, None, 3))
    out = Blockwise(RowDot())(a, b)
    assert out.type.shape == (None, None)
    rng = np.random.default_rng(1)
    av, bv = rng.normal(size=(2, 1, 3)), rng.normal(size=(1, 4, 3))
    np.testing.assert_allclose(
        ts.function([a, b], out)(av, bv), np.einsum("...n,...n->...", av, bv)
    )


def test_static_core_mismatch_is_build_error():
    a = ts.tensor("a", shape=(4, 3))
    b = ts.tensor("b", shape=(4, 5))
    with pytest.raises(ValueError, match=r"dim 'n' is 3 in input 0 but 5 in input 1"):
        Blockwise(RowDot())(a, b)


def test_static_batch_mismatch_is_build_error():
    a = ts.tensor("a", shape=(4, 3))
    b = ts.tensor("b", shape=(5, 3))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        Blockwise(RowDot())(a, b)


def test_too_few_dims_is_build_error():
    with pytest.raises(ValueError, match="needs at least 1 dims"):
        Blockwise(RowDot())(ts.tensor("a", shape=()), ts.tensor("b", shape=(3,)))


def test_infer_shape_without_computing():
    a = ts.tensor("a", shape=(None, None, 3))
    b = ts.tensor("b", shape=(None, 3))
    out = Blockwise(RowDot())(a, b)
    f = ts.function([a, b], out.shape)
    np.testing.assert_array_equal(f(np.ones((2, 1, 3)), np.ones((5, 3))), [2, 5])
    # only shape arithmetic remains: the blockwise node was not needed
    assert not any(isinstance(n.op, Blockwise) for n in f.fg.apply_nodes)


def test_multi_output():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4, 1, 2))
    outer, total = apply_core(OuterSum(), ts.constant(a), ts.constant(b))
    assert outer.type.shape == (4, 2, 3, 2)
    assert total.type.shape == (4, 2)
    np.testing.assert_allclose(outer.eval(), a[..., :, None] * b[..., None, :])
    np.testing.assert_allclose(total.eval(), a.sum(-1) + b.sum(-1))


@pytest.mark.parametrize("op", [RowDot(), BatchedRowDot()], ids=["loop", "batched"])
@pytest.mark.parametrize(
    "sa, sb", [((4, 3), (3,)), ((2, 1, 3), (1, 3, 3)), ((2, 3), (2, 3))]
)
def test_gradients_sum_over_broadcast_batch_dims(op, sa, sb):
    rng = np.random.default_rng(3)
    verify_grad(
        lambda a, b: Blockwise(op)(a, b), [rng.normal(size=sa), rng.normal(size=sb)]
    )


def test_multi_output_gradient_with_one_output_unused():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 4))
    verify_grad(lambda a, b: apply_core(OuterSum(), a, b)[1], [a, b])
    verify_grad(lambda a, b: apply_core(OuterSum(), a, b)[0], [a, b])


def test_nested_blockwise_is_flattened_and_equal():
    assert Blockwise(Blockwise(RowDot())) == Blockwise(RowDot())
    assert hash(Blockwise(RowDot())) == hash(Blockwise(RowDot()))
    with pytest.raises(ValueError, match="no gufunc signature"):
        Blockwise(ts.Op())
