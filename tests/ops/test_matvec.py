"""MatVec and VecMat (the fused matrix-vector products) against NumPy."""

import numpy as np
import pytest

import tessera as ts
from tessera.ops.blockwise import apply_core
from tessera.ops.matvec import MatVec, VecMat
from tessera.testing import verify_grad

# (op, matrix-side shape, vector-side shape, NumPy reference); the batched
# rows put batch dims on either side, broadcasting against each other
CASES = [
    (MatVec, (3, 4), (4,), lambda a, v: a @ v),
    (MatVec, (2, 3, 4), (4,), lambda a, v: a @ v),
    (MatVec, (3, 4), (5, 4), lambda a, v: (a @ v[..., None])[..., 0]),
    (MatVec, (2, 1, 3, 4), (5, 4), lambda a, v: (a @ v[..., None])[..., 0]),
    (VecMat, (4, 3), (4,), lambda b, v: v @ b),
    (VecMat, (2, 4, 3), (4,), lambda b, v: v @ b),
    (VecMat, (4, 3), (5, 4), lambda b, v: (v[..., None, :] @ b)[..., 0, :]),
]


def _args(op, m, v):
    return (m, v) if op is MatVec else (v, m)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(("op", "mshape", "vshape", "ref"), CASES)
def test_values_and_static_shape(op, mshape, vshape, ref, backend):
    rng = np.random.default_rng(0)
    m_val, v_val = rng.standard_normal(mshape), rng.standard_normal(vshape)
    m, v = ts.tensor("m", shape=mshape), ts.tensor("v", shape=vshape)
    out = apply_core(op(), *_args(op, m, v))
    expected = ref(m_val, v_val)
    assert out.type.shape == expected.shape
    got = ts.function([m, v], out, backend=backend, rewrites="none")(m_val, v_val)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    shape = ts.function([m, v], out.shape)(m_val, v_val)
    assert tuple(shape) == expected.shape


@pytest.mark.parametrize(("op", "mshape", "vshape", "ref"), CASES)
def test_gradients(op, mshape, vshape, ref):
    rng = np.random.default_rng(1)
    vals = [rng.standard_normal(mshape), rng.standard_normal(vshape)]
    verify_grad(lambda m, v: apply_core(op(), *_args(op, m, v)), vals)


def test_integer_vector_promotes_and_gets_no_gradient():
    a = ts.tensor("a", shape=(2, 3))
    k = ts.tensor("k", shape=(3,), dtype="int64")
    y = MatVec()(a, k)
    assert y.dtype == "float64"
    ga = ts.grad(y.sum(), a)
    got = ts.function([a, k], ga)(np.ones((2, 3)), np.array([1, 2, 3]))
    np.testing.assert_array_equal(got, [[1, 2, 3], [1, 2, 3]])


@pytest.mark.parametrize(
    ("op", "shapes", "message"),
    [
        (MatVec, ((3, 4), (5,)), r"MatVec: shapes \(3, 4\) and \(5,\) are not aligned"),
        (MatVec, ((3,), (3,)), r"MatVec: takes a 2-D and a 1-D input"),
        (VecMat, ((4,), (3, 2)), r"VecMat: shapes \(4,\) and \(3, 2\) are not aligned"),
        (VecMat, ((4, 1), (4, 2)), r"VecMat: takes a 1-D and a 2-D input"),
    ],
)
def test_bad_shapes_name_the_op(op, shapes, message):
    xs = [ts.tensor(f"x{k}", shape=s) for k, s in enumerate(shapes)]
    with pytest.raises(ValueError, match=message):
        op()(*xs)
