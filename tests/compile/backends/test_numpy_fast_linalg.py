"""The NumPy backend's single-matrix linalg callables.

Each is checked against SciPy and against the op's general kernel, on the
core op (an unbatched graph) and on Blockwise nodes whose batch dims are
all 1; failures (not positive definite, a zero on the diagonal) must give
the general kernel's error or NaNs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.fast_linalg import linalg_funcify
from tessera.graph.op import Op
from tessera.ops.blockwise import Blockwise
from tessera.ops.linalg.decomposition import CholeskyPullback

LEADS = [(), (1,), (1, 1)]


def _spd(rng, n, dtype="float64"):
    a = rng.standard_normal((n, n))
    return (a @ a.T / n + np.eye(n)).astype(dtype)


def _fast_and_general(node):
    """The node's NumPy callable (which must be a fast path) and its
    general one (``perform``)."""
    op = node.op
    core = op.core_op if isinstance(op, Blockwise) else op
    assert linalg_funcify(core, node, None) is not None
    return numpy_funcify(op, node), numpy_funcify.dispatch(Op)(op, node)


def _tol(dtype):
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-10}


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cholesky(lead, lower, dtype, rng):
    n = 5
    a = ts.tensor("a", shape=lead + (n, n), dtype=dtype)
    fast, general = _fast_and_general(ts.linalg.cholesky(a, lower=lower).owner)
    value = _spd(rng, n, dtype).reshape(lead + (n, n))
    before = value.copy()
    out = fast(value)
    np.testing.assert_array_equal(value, before)  # the input is not overwritten
    assert out.shape == value.shape and out.dtype == dtype
    want = sla.cholesky(value.reshape(n, n), lower=lower).reshape(value.shape)
    np.testing.assert_allclose(out, want, **_tol(dtype))
    np.testing.assert_allclose(out, general(value), **_tol(dtype))


@pytest.mark.parametrize("lead", LEADS)
def test_cholesky_failure_is_the_general_kernels(lead, rng):
    n = 4
    bad = -_spd(rng, n).reshape(lead + (n, n))
    a = ts.tensor("a", shape=lead + (n, n))
    fast, _ = _fast_and_general(ts.linalg.cholesky(a).owner)
    with pytest.raises(np.linalg.LinAlgError, match="cholesky.*not positive definite"):
        fast(bad)
    fast, _ = _fast_and_general(ts.linalg.cholesky(a, on_error="nan").owner)
    assert np.isnan(fast(bad)).all()


@pytest.mark.parametrize(
    "a_lead, b_lead", [((), ()), ((1,), ()), ((), (1,)), ((1,), (1,)), ((1, 1), (1,))]
)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("b_ndim", [1, 2])
def test_solve_triangular(a_lead, b_lead, lower, trans, unit, b_ndim, rng):
    n, k = 5, 3
    tri = rng.standard_normal((n, n)) + 3 * np.eye(n)  # both triangles set
    b_core = (n,) if b_ndim == 1 else (n, k)
    av = tri.reshape(a_lead + (n, n))
    bv = rng.standard_normal(b_lead + b_core)
    a = ts.tensor("a", shape=av.shape)
    b = ts.tensor("b", shape=bv.shape)
    x = ts.linalg.solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit, b_ndim=b_ndim
    )
    fast, general = _fast_and_general(x.owner)
    out = fast(av, bv)
    assert out.shape == x.type.shape
    want = sla.solve_triangular(
        tri, bv.reshape(b_core), trans=trans, lower=lower, unit_diagonal=unit
    )
    np.testing.assert_allclose(out.reshape(b_core), want, rtol=1e-10)
    np.testing.assert_allclose(out, general(av, bv), rtol=1e-12)


def test_solve_triangular_zero_diagonal_is_the_general_kernels():
    n = 4
    av = np.tril(np.ones((1, n, n)))
    av[0, 2, 2] = 0.0
    bv = np.ones((1, n))
    a = ts.tensor("a", shape=(1, n, n))
    b = ts.tensor("b", shape=(1, n))
    fast, _ = _fast_and_general(
        ts.linalg.solve_triangular(a, b, lower=True, b_ndim=1).owner
    )
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        fast(av, bv)
    x = ts.linalg.solve_triangular(a, b, lower=True, b_ndim=1, on_error="nan")
    fast, _ = _fast_and_general(x.owner)
    assert np.isnan(fast(av, bv)).all()


def test_solve_with_a_failed_cholesky_factor_gives_nan(rng):
    # the zero-diagonal check is skipped for a Cholesky factor: a failed
    # factorization (on_error="nan") has NaNs, never zeros, on its diagonal
    n = 4
    c = ts.tensor("c", shape=(1, n, n))
    b = ts.tensor("b", shape=(1, n))
    L = ts.linalg.cholesky(c, on_error="nan")
    f = ts.function([c, b], ts.linalg.solve_triangular(L, b, lower=True, b_ndim=1))
    assert np.isnan(f(-_spd(rng, n)[None], np.ones((1, n)))).all()
    good = _spd(rng, n)
    want = sla.solve_triangular(np.linalg.cholesky(good), np.ones(n), lower=True)
    np.testing.assert_allclose(f(good[None], np.ones((1, n)))[0], want, rtol=1e-10)


@pytest.mark.parametrize("lead", LEADS)
def test_cholesky_pullback(lead, rng):
    n = 6
    cv = np.linalg.cholesky(_spd(rng, n)).reshape(lead + (n, n))
    gv = rng.standard_normal(lead + (n, n))
    c = ts.tensor("c", shape=cv.shape)
    g = ts.tensor("g", shape=gv.shape)
    # batched inputs go through Blockwise, as in a gradient graph
    op = Blockwise(CholeskyPullback()) if lead else CholeskyPullback()
    node = op(c, g).owner
    fast, general = _fast_and_general(node)
    out = fast(cv, gv)
    assert out.shape == cv.shape
    np.testing.assert_allclose(out, general(cv, gv), rtol=1e-12)


def test_batched_or_dynamic_nodes_take_the_general_path():
    for shape in [(3, 4, 4), (None, 4, 4), (1, None, None)]:
        node = ts.linalg.cholesky(ts.tensor("a", shape=shape)).owner
        assert linalg_funcify(node.op.core_op, node, None) is None
    # an integer matrix is converted by the general kernel
    node = ts.linalg.cholesky(ts.tensor("a", shape=(4, 4), dtype="int64")).owner
    assert linalg_funcify(node.op, node, None) is None


@pytest.mark.parametrize("batch", [(64,), (3, 1)])
def test_batched_pullback_of_a_cholesky_factor(batch, rng):
    # the factor's upper triangle is zero: the batched kernel skips masking
    # it (64 8x8 matrices take the batched kernel, 3 the per-matrix loop)
    n = 8 if batch == (64,) else 4
    a = ts.tensor("a", shape=batch + (n, n))
    c = ts.linalg.cholesky(a)
    g = ts.tensor("g", shape=batch + (n, n))
    node = Blockwise(CholeskyPullback())(c, g).owner
    fast = linalg_funcify(node.op.core_op, node, None)
    assert fast is not None
    av = np.stack([_spd(rng, n) for _ in range(math.prod(batch))])
    cv = np.linalg.cholesky(av).reshape(batch + (n, n))
    gv = rng.standard_normal(batch + (n, n))
    general = numpy_funcify.dispatch(Op)(node.op, node)
    np.testing.assert_allclose(fast(cv, gv), general(cv, gv), rtol=1e-12)
    # an upper factor, transposed or not, is not taken for a lower one
    upper = ts.linalg.cholesky(a, lower=False)
    node = Blockwise(CholeskyPullback())(upper, g).owner
    assert linalg_funcify(node.op.core_op, node, None) is None


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cholesky_inverse(lead, lower, dtype, rng):
    n = 5
    spd = _spd(rng, n, dtype)
    f = np.linalg.cholesky(spd)
    # junk in the triangle that is not read
    cv = (
        f + np.triu(np.ones((n, n)), 1) if lower else f.T + np.tril(np.ones((n, n)), -1)
    )
    cv = cv.astype(dtype).reshape(lead + (n, n))
    c = ts.tensor("c", shape=cv.shape, dtype=dtype)
    fast, general = _fast_and_general(ts.linalg.cholesky_inverse(c, lower=lower).owner)
    out = fast(cv)
    assert out.shape == cv.shape and out.dtype == dtype
    want = np.linalg.inv(spd.astype("float64")).reshape(cv.shape)
    np.testing.assert_allclose(out, want, **_tol(dtype))
    np.testing.assert_allclose(out, general(cv), **_tol(dtype))


def test_cholesky_inverse_zero_diagonal_is_the_general_kernels():
    cv = np.tril(np.ones((1, 4, 4)))
    cv[0, 1, 1] = 0.0
    c = ts.tensor("c", shape=cv.shape)
    fast, _ = _fast_and_general(ts.linalg.cholesky_inverse(c).owner)
    with pytest.raises(np.linalg.LinAlgError, match=r"cholesky_inverse.*singular"):
        fast(cv)
    fast, _ = _fast_and_general(ts.linalg.cholesky_inverse(c, on_error="nan").owner)
    out = fast(cv)
    assert out.shape == cv.shape and np.isnan(out).all()
