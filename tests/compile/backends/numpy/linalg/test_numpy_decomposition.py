"""The NumPy backend's factorization kernels: Cholesky, its pullback, LU.

Both sides of every crossover against SciPy; the single-matrix callables
chosen at compile time against SciPy and against the general kernel, on
the core op (an unbatched graph) and on Blockwise nodes whose batch dims
are all 1; failures (not positive definite) must give the general
kernel's error or NaNs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sla
from _linalg_cases import check_grad, per_element, spd, triangular
from _linalg_cases import cholesky_pullback_reference as _reference
from _linalg_cases import factor_and_cotangent as _factor_and_cotangent
from _linalg_cases import fast_and_general as _fast_and_general
from _linalg_cases import spd_matrix as _spd
from _linalg_cases import tol as _tol

import tessera as ts
from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg import decomposition as D
from tessera.compile.backends.numpy.linalg._batch_last import tri_inv_lower
from tessera.compile.backends.numpy.linalg._dispatch import (
    linalg_funcify,
    linalg_kernel,
)
from tessera.ops.blockwise import Blockwise, apply_core
from tessera.ops.linalg.decomposition import CholeskyPullback
from tessera.testing import compare_backends

F64 = np.dtype(np.float64)
LEADS = [(), (1,), (1, 1)]


@pytest.mark.parametrize("gufunc", [True, False])
def test_cholesky_paths_agree_and_locate_failures(gufunc, rng, monkeypatch):
    if not gufunc:  # the per-matrix LAPACK fallback
        monkeypatch.setattr(D, "_gu", None)
    # below and from CHOLESKY_LOOP_MIN_N (the gufunc, potrf per matrix)
    for n in (5, 100, tuning.CHOLESKY_LOOP_MIN_N):
        a = spd(rng, (3,), n)
        a[1] = -a[1]
        for lower in (True, False):
            # junk in the triangle that is not read
            junk = rng.standard_normal(a.shape)
            a_junk = a + (np.triu(junk, 1) if lower else np.tril(junk, -1))
            got = D.cholesky(a_junk, lower, F64, "nan")
            assert np.isnan(got[1]).all()
            ref = np.linalg.cholesky(a[[0, 2]])
            want = ref if lower else np.swapaxes(ref, -1, -2)
            np.testing.assert_allclose(got[[0, 2]], want, rtol=1e-10, atol=1e-12)
        with pytest.raises(np.linalg.LinAlgError, match=r"\(1,\) is not positive"):
            D.cholesky(a, True, F64, "raise")


@pytest.mark.parametrize("batch", [(), (1,), (1, 1)])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cholesky_single_matrix_path(batch, lower, dtype, rng):
    # straight to potrf: same values, only one triangle read, same errors
    a = spd(rng, batch, 6)
    junk = rng.standard_normal(a.shape)
    a = a + (np.triu(junk, 1) if lower else np.tril(junk, -1))
    dt = np.dtype(dtype)
    got = D.cholesky(a.astype(dt), lower, dt, "raise")
    assert got.shape == a.shape and got.dtype == dt
    want = per_element(lambda m: sla.cholesky(m, lower=lower), [a], [2])
    tol = 1e-4 if dt == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    bad = -a
    where = "matrix is" if not batch else "matrix at batch index"
    with pytest.raises(np.linalg.LinAlgError, match=f"cholesky: {where}"):
        D.cholesky(bad, lower, F64, "raise")
    assert np.isnan(D.cholesky(bad, lower, F64, "nan")).all()


@pytest.mark.parametrize("path", ["batched", "loop"])
@pytest.mark.parametrize(
    "batch_c, batch_g, n",
    [((), (), 5), ((7,), (7,), 4), ((2, 3), (2, 3), 6), ((2, 1), (1, 3), 3)],
)
def test_kernel_paths_match_scipy(path, batch_c, batch_g, n, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, n)
    want = _reference(c, g)
    if path == "batched":
        got = D._cholesky_pullback_batched(*np.broadcast_arrays(c, g), F64)
    else:
        got = D._cholesky_pullback_loop(c, g, F64)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch, n", [((256,), 4), ((3,), 40), ((), 1), ((2,), 0)])
def test_kernel_choice_and_edge_sizes(batch, n, rng):
    c, g = _factor_and_cotangent(rng, batch, batch, n)
    got = D.cholesky_pullback(c, g, F64)
    assert got.shape == batch + (n, n)
    if n:
        np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)


def test_float32_and_non_contiguous_inputs(rng):
    c, g = _factor_and_cotangent(rng, (5,), (5,), 30)
    want = _reference(c, g)
    got = D.cholesky_pullback(
        np.asfortranarray(c.astype(np.float32)),
        np.ascontiguousarray(g.swapaxes(-1, -2)).swapaxes(-1, -2),
        np.float32,
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "batch_c, batch_g, n", [((), (), 112), ((2,), (2,), 150), ((2, 1), (1, 2), 129)]
)
def test_blocked_pullback_matches_scipy(batch_c, batch_g, n, rng):
    # from BLOCKED_MIN_N on, every matrix goes the blocked reverse-mode way
    assert n >= tuning.PULLBACK_BLOCKED_MIN_N
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, n)
    got = D.cholesky_pullback(c, g, F64)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-9, atol=1e-11)
    one = D.cholesky_pullback_one(c[(0,) * len(batch_c)], g[(0,) * len(batch_g)], F64)
    np.testing.assert_allclose(one, got[(0,) * len(got.shape[:-2])], rtol=1e-12)
    # float32, a Fortran-ordered factor and a transposed cotangent
    got32 = D.cholesky_pullback(
        np.asfortranarray(c.astype(np.float32)),
        np.ascontiguousarray(g.swapaxes(-1, -2)).swapaxes(-1, -2).astype(np.float32),
        np.float32,
    )
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, got, rtol=2e-3, atol=2e-3 * abs(got).max())


@pytest.fixture
def small_blocks(monkeypatch):
    # blocks of at most 4 from n = 5 on: uneven splits and many block steps
    monkeypatch.setattr(tuning, "PULLBACK_BLOCK", 4)
    monkeypatch.setattr(tuning, "PULLBACK_BLOCKED_MIN_N", 5)


@pytest.mark.parametrize("n", [5, 9, 13])
def test_blocked_pullback_with_small_blocks(small_blocks, n, rng):
    c, g = _factor_and_cotangent(rng, (3,), (3,), n)
    got = D._cholesky_pullback_loop(c, g, F64)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)


def test_blocked_pullback_gradient(small_blocks, rng):
    # the op's own pullback (second order) over the blocked kernel
    c, g = _factor_and_cotangent(rng, (2,), (2,), 7)
    check_grad(_pullback, [c, g])


@pytest.mark.parametrize("batch", [(6,), (2, 3)])
def test_triangular_inverse(batch, rng):
    c = triangular(rng, batch, 5, lower=True, junk=True)
    got = tri_inv_lower(c)
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, np.linalg.inv(np.tril(c)), rtol=1e-12, atol=1e-12)


def _pullback(c, g):
    return apply_core(CholeskyPullback(), c, g)


@pytest.mark.parametrize("batch, n", [((), 3), ((4096,), 3), ((3,), 30), ((2, 1), 4)])
def test_backends_agree(batch, n, rng):
    # both NumPy kernel paths (batched, per matrix) against the JAX lowering
    c, g = _factor_and_cotangent(rng, batch, batch, n)
    compare_backends(_pullback, [c, g], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "batch_c, batch_g", [((), (3,)), ((3,), ()), ((1,), (1, 1)), ((1, 1), ())]
)
def test_single_matrix_broadcast_against_a_batch(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 4)
    got = D.cholesky_pullback(c, g, F64)
    want = _reference(c, g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_c, batch_g", [((), ()), ((1,), (1, 1)), ((1, 1), ())])
def test_single_matrix_path(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 5)
    got = D.cholesky_pullback_one(c, g, F64)
    want = _reference(c, g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # anything else goes the general way
    assert D.cholesky_pullback_one(c.astype(np.float32), g, F64) is None
    assert D.cholesky_pullback_one(np.stack([c, c]), g, F64) is None
    assert D.cholesky_pullback_one(c, g[..., :4, :4], F64) is None


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
    general = linalg_kernel(node.op.core_op, node)
    np.testing.assert_allclose(fast(cv, gv), general(cv, gv), rtol=1e-12)
    # an upper factor, transposed or not, is not taken for a lower one
    upper = ts.linalg.cholesky(a, lower=False)
    node = Blockwise(CholeskyPullback())(upper, g).owner
    assert linalg_funcify(node.op.core_op, node, None) is None
