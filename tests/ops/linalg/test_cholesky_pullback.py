"""The fused Cholesky pullback op: values, gradients, both backends.

Its NumPy kernels are tested in
``tests/compile/backends/numpy/linalg/test_numpy_decomposition.py``.
"""

import numpy as np
import pytest

import tessera as ts
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg.decomposition import CholeskyPullback
from tessera.testing import compare_backends

from .cases import check_grad, evaluate, spd, sym
from .cases import cholesky_pullback_reference as _reference
from .cases import factor_and_cotangent as _factor_and_cotangent


def _pullback(c, g):
    return apply_core(CholeskyPullback(), c, g)


@pytest.mark.parametrize(
    "batch_c, batch_g", [((), ()), ((4,), (4,)), ((2, 3), (2, 3)), ((2, 1), (1, 3))]
)
def test_op_values_and_gradient(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 3)
    got = evaluate(_pullback, [c, g])
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)
    check_grad(_pullback, [c, g])


def test_op_with_unknown_shapes_and_errors(rng):
    c, g = _factor_and_cotangent(rng, (3,), (3,), 4)
    got = evaluate(_pullback, [c, g], static=False)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="cholesky pullback"):
        CholeskyPullback()(ts.tensor("c", shape=(3, 3)), ts.tensor("g", shape=(4, 4)))
    with pytest.raises(ValueError, match="cholesky pullback"):
        evaluate(_pullback, [c, g[..., :3, :3]], static=False)


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_is_one_fused_op(lower):
    x = ts.tensor("x", shape=(4, 3, 3))
    g = ts.grad((ts.linalg.cholesky(x, lower=lower) ** 2).sum(), x)
    f = ts.function([x], g)
    names = [type(getattr(n.op, "core_op", n.op)).__name__ for n in f.fg.toposort()]
    assert names.count("CholeskyPullback") == 1
    assert "SolveTriangular" not in names


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_second_order(lower, rng):
    # the pullback of CholeskyPullback, through a hessian-vector product
    a = spd(rng, (2,), 4)
    w = rng.standard_normal(a.shape)

    def fn(x):
        x = sym(x)
        gx = ts.grad((ts.linalg.cholesky(x, lower=lower) * w).sum() ** 2, x)
        return (gx * w).sum()

    check_grad(fn, [a])


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_backends_agree(lower, rng):
    a = spd(rng, (3,), 5)
    compare_backends(
        lambda x: ts.linalg.cholesky(sym(x), lower=lower), [a], rtol=1e-8, atol=1e-10
    )
