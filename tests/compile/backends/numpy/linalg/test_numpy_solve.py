"""The NumPy backend's solve kernels: solve_triangular, cho_solve, lu_solve.

Both sides of every crossover against SciPy, and the single-matrix
callables chosen at compile time against SciPy and the general kernel
(a zero on the diagonal must give the general kernel's error or NaNs).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
from _linalg_cases import fast_and_general as _fast_and_general
from _linalg_cases import per_element, spd, triangular
from _linalg_cases import spd_matrix as _spd

import tessera as ts
from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg import decomposition as D
from tessera.compile.backends.numpy.linalg import solve as S
from tessera.ops.linalg._lu import permutation_matrix

F64 = np.dtype(np.float64)


@pytest.mark.parametrize("shape", [(1, 80, 1), (100, 4, 1), (2, 80, 80), (300, 8, 8)])
@pytest.mark.parametrize("trans", [0, 1])
def test_solve_triangular_both_paths(shape, trans, rng):
    nb, n, k = shape
    a = triangular(rng, (nb,), n, lower=True)
    b = rng.standard_normal((nb, n, k))
    got = S.solve_triangular(a, b, True, trans, False, F64, "raise")
    want = per_element(
        lambda m, v: sla.solve_triangular(m, v, lower=True, trans=trans), [a, b], [2, 2]
    )
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 80, 1), (2, 80, 80)])  # per-matrix LAPACK path
def test_solve_triangular_loop_path_reports_zero_diagonal(shape, rng):
    nb, n, k = shape
    a = triangular(rng, (nb,), n)
    a[-1, 3, 3] = 0.0
    b = rng.standard_normal((nb, n, k))
    with pytest.raises(np.linalg.LinAlgError, match=rf"\({nb - 1},\) is singular"):
        S.solve_triangular(a, b, True, 0, False, F64, "raise")
    got = S.solve_triangular(a, b, True, 0, False, F64, "nan")
    assert np.isnan(got[-1]).all() and np.isfinite(got[:-1]).all()


def test_crossover_rules():
    assert not tuning.trsm_loop_wins(4096, 8, 1)  # many small: vectorized
    assert tuning.trsm_loop_wins(1, 256, 1)  # one large: LAPACK
    assert tuning.trsm_loop_wins(16, 256, 256)
    assert not tuning.trsm_loop_wins(4096, 8, 8)
    assert tuning.lu_loop_wins(1, 8) and not tuning.lu_loop_wins(4096, 8)


@pytest.mark.parametrize("shape", [(2, 80), (300, 6), (3, 5)])
@pytest.mark.parametrize("lower", [True, False])
def test_cho_solve_both_paths(shape, lower, rng):
    nb, n = shape
    a = spd(rng, (nb,), n)
    c = np.linalg.cholesky(a)
    c = c if lower else np.swapaxes(c, -1, -2)
    b = rng.standard_normal((nb, n, 2))
    np.testing.assert_allclose(a @ S.cho_solve(c, lower, b, F64), b, atol=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
@pytest.mark.parametrize("nb, n", [(1, 7), (400, 4), (3, 12), (64, 5)])
def test_lu_factor_and_solve_both_paths(nb, n, rng):
    a = rng.standard_normal((nb, n, n))
    a[0, :, 0] = 0.0  # a singular matrix: a zero pivot column
    lu, piv = D.lu_factor(a, F64)
    want_lu, want_piv = per_element(
        lambda m: sla.lu_factor(m, check_finite=False), [a], [2], 2
    )
    np.testing.assert_allclose(lu, want_lu, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(piv, want_piv)
    p = permutation_matrix(piv, F64)
    rec = p @ (np.tril(lu, -1) + np.eye(n)) @ np.triu(lu)
    np.testing.assert_allclose(rec, a, atol=1e-10)
    b = rng.standard_normal((nb, n, 3))
    good = slice(1, None)
    for trans in (0, 1):
        x = S.lu_solve(lu[good], piv[good], b[good], trans, F64)
        m = np.swapaxes(a[good], -1, -2) if trans else a[good]
        np.testing.assert_allclose(m @ x, b[good], atol=1e-8)


@pytest.mark.parametrize(
    "a_batch, b_batch", [((), ()), ((1,), ()), ((), (1,)), ((1,), (1, 1))]
)
@pytest.mark.parametrize("b_ndim, k", [(1, 1), (2, 1), (2, 3)])
@pytest.mark.parametrize("lower, trans, unit", [(True, 0, False), (False, 1, True)])
def test_solve_triangular_single_matrix_path(
    a_batch, b_batch, b_ndim, k, lower, trans, unit, rng
):
    n = 5
    a = triangular(rng, a_batch, n, lower=lower)
    b = rng.standard_normal(b_batch + ((n,) if b_ndim == 1 else (n, k)))
    got = S.solve_triangular_one(a, b, lower, trans, unit, b_ndim, F64)
    b2 = b[..., None] if b_ndim == 1 else b
    want = S.solve_triangular(a, b2, lower, trans, unit, F64, "raise")
    if b_ndim == 1:
        want = want[..., 0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_solve_triangular_single_matrix_path_declines(rng):
    a = triangular(rng, (), 4, lower=True)
    b = rng.standard_normal(4)
    args = (True, 0, False, 1, F64)
    assert S.solve_triangular_one(a.astype(np.float32), b, *args) is None
    assert S.solve_triangular_one(np.stack([a, a]), b, *args) is None
    assert S.solve_triangular_one(a[:, :3], b, *args) is None  # not square
    assert S.solve_triangular_one(a, b[:3], *args) is None  # wrong rows
    zero = a.copy()
    zero[2, 2] = 0.0
    assert S.solve_triangular_one(zero, b, *args) is None  # reported elsewhere
    x = ts.tensor("a", shape=(4, 4))
    y = ts.tensor("b", shape=(4,))
    f = ts.function([x, y], ts.linalg.solve_triangular(x, y, lower=True))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(zero, b)


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
