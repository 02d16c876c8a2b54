"""The batched kernels behind the linalg ops: both sides of every crossover."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.ops.linalg import _kernels as K
from tessera.ops.linalg import _kernels_lu_expm as KL

from .cases import per_element, spd, triangular

F64 = np.dtype(np.float64)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("batch, n", [((7,), 5), ((2, 3), 4), ((), 6), ((0,), 3)])
def test_substitution_matches_scipy(batch, n, k, unit, lower, rng):
    a = triangular(rng, batch, n, lower=lower)
    b = rng.standard_normal(tuple(batch) + (n, k))
    got = K._substitute(a, b, lower, unit, F64)
    if not batch or 0 not in batch:
        want = (
            per_element(
                lambda m, v: sla.solve_triangular(
                    m, v, lower=lower, unit_diagonal=unit
                ),
                [a, b],
                [2, 2],
            )
            if batch
            else sla.solve_triangular(a, b, lower=lower, unit_diagonal=unit)
        )
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got.shape == tuple(batch) + (n, k)


@pytest.mark.parametrize("shape", [(1, 80, 1), (100, 4, 1), (2, 80, 80), (300, 8, 8)])
@pytest.mark.parametrize("trans", [0, 1])
def test_solve_triangular_both_paths(shape, trans, rng):
    nb, n, k = shape
    a = triangular(rng, (nb,), n, lower=True)
    b = rng.standard_normal((nb, n, k))
    got = K.solve_triangular(a, b, True, trans, False, F64, "raise")
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
        K.solve_triangular(a, b, True, 0, False, F64, "raise")
    got = K.solve_triangular(a, b, True, 0, False, F64, "nan")
    assert np.isnan(got[-1]).all() and np.isfinite(got[:-1]).all()


def test_crossover_rules():
    assert not K._trsm_loop_wins(4096, 8, 1)  # many small: vectorized
    assert K._trsm_loop_wins(1, 256, 1)  # one large: LAPACK
    assert K._trsm_loop_wins(16, 256, 256)
    assert not K._trsm_loop_wins(4096, 8, 8)
    assert KL._lu_loop_wins(1, 8) and not KL._lu_loop_wins(4096, 8)


@pytest.mark.parametrize("shape", [(2, 80), (300, 6), (3, 5)])
@pytest.mark.parametrize("lower", [True, False])
def test_cho_solve_both_paths(shape, lower, rng):
    nb, n = shape
    a = spd(rng, (nb,), n)
    c = np.linalg.cholesky(a)
    c = c if lower else np.swapaxes(c, -1, -2)
    b = rng.standard_normal((nb, n, 2))
    np.testing.assert_allclose(a @ K.cho_solve(c, lower, b, F64), b, atol=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
@pytest.mark.parametrize("nb, n", [(1, 7), (400, 4), (3, 12), (64, 5)])
def test_lu_factor_and_solve_both_paths(nb, n, rng):
    a = rng.standard_normal((nb, n, n))
    a[0, :, 0] = 0.0  # a singular matrix: a zero pivot column
    lu, piv = KL.lu_factor(a, F64)
    want_lu, want_piv = per_element(
        lambda m: sla.lu_factor(m, check_finite=False), [a], [2], 2
    )
    np.testing.assert_allclose(lu, want_lu, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(piv, want_piv)
    p = KL.permutation_matrix(piv, F64)
    rec = p @ (np.tril(lu, -1) + np.eye(n)) @ np.triu(lu)
    np.testing.assert_allclose(rec, a, atol=1e-10)
    b = rng.standard_normal((nb, n, 3))
    good = slice(1, None)
    for trans in (0, 1):
        x = KL.lu_solve(lu[good], piv[good], b[good], trans, F64)
        m = np.swapaxes(a[good], -1, -2) if trans else a[good]
        np.testing.assert_allclose(m @ x, b[good], atol=1e-8)


def test_pivots_to_permutation(rng):
    a = rng.standard_normal((6, 6))
    lu, piv = sla.lu_factor(a)
    perm = KL.pivots_to_permutation(piv)
    np.testing.assert_allclose(a[perm], (np.tril(lu, -1) + np.eye(6)) @ np.triu(lu))


@pytest.mark.parametrize("scale", [1e-4, 0.2, 1.0, 3.0, 50.0])
def test_expm_pade_matches_scipy(scale, rng):
    a = scale * rng.standard_normal((6, 5, 5))
    got = KL.expm_pade(a)
    want = per_element(sla.expm, [a], [2])
    np.testing.assert_allclose(got, want, rtol=1e-8 if scale < 10 else 1e-6, atol=1e-12)


def test_gufunc_failure_is_located_not_raised(rng):
    a = spd(rng, (4,), 3)
    a[2] = -a[2]
    out, failed = K.call_gufunc(np.linalg._umath_linalg.cholesky_lo, a, dtype=F64)
    assert failed
    np.testing.assert_array_equal(K.nan_elements(out, 2), [False, False, True, False])
    out, failed = K.call_gufunc(np.linalg._umath_linalg.cholesky_lo, a[:2], dtype=F64)
    assert not failed


def test_float_dtype_rule():
    assert K.float_dtype("float32") == np.float32
    assert K.float_dtype("float32", "float64") == np.float64
    assert K.float_dtype("int64") == np.float64
    assert K.float_dtype("int8", "float32") == np.float32
    with pytest.raises(TypeError, match="real"):
        K.float_dtype("complex128")


@pytest.mark.parametrize("gufunc", [True, False])
def test_cholesky_paths_agree_and_locate_failures(gufunc, rng, monkeypatch):
    if not gufunc:  # the per-matrix LAPACK fallback
        monkeypatch.setattr(K, "_gu", None)
    # below and from CHOLESKY_LOOP_MIN_N (the gufunc, potrf per matrix)
    for n in (5, 100, K.CHOLESKY_LOOP_MIN_N):
        a = spd(rng, (3,), n)
        a[1] = -a[1]
        for lower in (True, False):
            # junk in the triangle that is not read
            junk = rng.standard_normal(a.shape)
            a_junk = a + (np.triu(junk, 1) if lower else np.tril(junk, -1))
            got = K.cholesky(a_junk, lower, F64, "nan")
            assert np.isnan(got[1]).all()
            ref = np.linalg.cholesky(a[[0, 2]])
            want = ref if lower else np.swapaxes(ref, -1, -2)
            np.testing.assert_allclose(got[[0, 2]], want, rtol=1e-10, atol=1e-12)
        with pytest.raises(np.linalg.LinAlgError, match=r"\(1,\) is not positive"):
            K.cholesky(a, True, F64, "raise")


@pytest.mark.parametrize("batch", [(), (1,), (1, 1)])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cholesky_single_matrix_path(batch, lower, dtype, rng):
    # straight to potrf: same values, only one triangle read, same errors
    a = spd(rng, batch, 6)
    junk = rng.standard_normal(a.shape)
    a = a + (np.triu(junk, 1) if lower else np.tril(junk, -1))
    dt = np.dtype(dtype)
    got = K.cholesky(a.astype(dt), lower, dt, "raise")
    assert got.shape == a.shape and got.dtype == dt
    want = per_element(lambda m: sla.cholesky(m, lower=lower), [a], [2])
    tol = 1e-4 if dt == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    bad = -a
    where = "matrix is" if not batch else "matrix at batch index"
    with pytest.raises(np.linalg.LinAlgError, match=f"cholesky: {where}"):
        K.cholesky(bad, lower, F64, "raise")
    assert np.isnan(K.cholesky(bad, lower, F64, "nan")).all()


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
    got = K.solve_triangular_one(a, b, lower, trans, unit, b_ndim, F64)
    b2 = b[..., None] if b_ndim == 1 else b
    want = K.solve_triangular(a, b2, lower, trans, unit, F64, "raise")
    if b_ndim == 1:
        want = want[..., 0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_solve_triangular_single_matrix_path_declines(rng):
    a = triangular(rng, (), 4, lower=True)
    b = rng.standard_normal(4)
    args = (True, 0, False, 1, F64)
    assert K.solve_triangular_one(a.astype(np.float32), b, *args) is None
    assert K.solve_triangular_one(np.stack([a, a]), b, *args) is None
    assert K.solve_triangular_one(a[:, :3], b, *args) is None  # not square
    assert K.solve_triangular_one(a, b[:3], *args) is None  # wrong rows
    zero = a.copy()
    zero[2, 2] = 0.0
    assert K.solve_triangular_one(zero, b, *args) is None  # reported elsewhere
    x = ts.tensor("a", shape=(4, 4))
    y = ts.tensor("b", shape=(4,))
    f = ts.function([x, y], ts.linalg.solve_triangular(x, y, lower=True))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(zero, b)
