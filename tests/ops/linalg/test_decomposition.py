"""cholesky, lu_factor, qr: values, gradients, bad input, build-time errors."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.ops.blockwise import Blockwise
from tessera.ops.linalg.decomposition import QR, Cholesky, LUFactor

from .cases import BATCHES, check_grad, evaluate, general, per_element, spd, sym

N = 3


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_matches_scipy_per_element(batch, lower, rng):
    a = spd(rng, batch, N)
    # the triangle that is not read holds junk
    a = a + (np.triu if lower else np.tril)(
        rng.standard_normal(a.shape), 1 if lower else -1
    )
    got = evaluate(lambda x: ts.linalg.cholesky(x, lower=lower), [a])
    want = per_element(lambda m: sla.cholesky(m, lower=lower), [a], [2])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_gradient(batch, lower, rng):
    check_grad(lambda x: ts.linalg.cholesky(sym(x), lower=lower), [spd(rng, batch, N)])


def test_cholesky_with_unknown_shape_and_large_matrices(rng):
    a = spd(rng, (2,), 100)
    got = evaluate(ts.linalg.cholesky, [a], static=False)
    np.testing.assert_allclose(got, np.linalg.cholesky(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [3, 100])
def test_cholesky_not_positive_definite(n, rng):
    a = spd(rng, (2, 3), n)
    a[1, 0] = -a[1, 0]
    with pytest.raises(
        np.linalg.LinAlgError,
        match=r"cholesky: matrix at batch index \(1, 0\) is not positive definite",
    ):
        evaluate(ts.linalg.cholesky, [a])
    got = evaluate(lambda x: ts.linalg.cholesky(x, on_error="nan"), [a])
    assert np.isnan(got[1, 0]).all()
    mask = np.ones((2, 3), bool)
    mask[1, 0] = False
    np.testing.assert_allclose(got[mask], np.linalg.cholesky(a[mask]), rtol=1e-10)


def test_cholesky_error_counts_bad_matrices_and_unbatched_message(rng):
    a = np.stack([-np.eye(2), np.eye(2), -np.eye(2)])
    with pytest.raises(np.linalg.LinAlgError, match=r"\(0,\) .*\(2 of 3 matrices\)"):
        evaluate(ts.linalg.cholesky, [a])
    with pytest.raises(np.linalg.LinAlgError, match="cholesky: matrix is not positive"):
        evaluate(ts.linalg.cholesky, [-np.eye(2)])


def test_cholesky_nan_gradient_only_for_the_bad_element(rng):
    a = spd(rng, (3,), N)
    a[1] = -a[1]
    x = ts.tensor("x", shape=a.shape)
    L = ts.linalg.cholesky(x, on_error="nan")
    g = ts.function([x], ts.grad(ts.log(ts.linalg.diagonal(L)).sum(), x))(a)
    assert np.isnan(g[1]).all() and np.isfinite(g[[0, 2]]).all()


def test_batched_cholesky_runs_one_kernel_call(rng, monkeypatch):
    def no_loop(*args, **kwargs):
        raise AssertionError("Blockwise fell back to a Python loop")

    monkeypatch.setattr(Blockwise, "_perform_loop", no_loop)
    a = spd(rng, (5,), N)
    x = ts.tensor("x", shape=a.shape)
    y = ts.linalg.cholesky(sym(x))
    f = ts.function([x], [y, ts.grad(ts.log(ts.linalg.diagonal(y)).sum(), x)])
    np.testing.assert_allclose(f(a)[0], np.linalg.cholesky(a))


def test_float_dtypes(rng):
    a = spd(rng, (2,), N)
    assert evaluate(ts.linalg.cholesky, [a.astype(np.float32)]).dtype == np.float32
    ints = np.array([[4, 2], [2, 2]])
    np.testing.assert_allclose(
        evaluate(ts.linalg.cholesky, [ints]), np.linalg.cholesky(ints)
    )


# --- LU --------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", BATCHES + [(300,)])  # (300,): batch-vectorized LU
def test_lu_factor_matches_scipy_per_element(batch, rng):
    a = rng.standard_normal(tuple(batch) + (5, 5))
    lu, piv = evaluate(ts.linalg.lu_factor, [a])
    want_lu, want_piv = per_element(sla.lu_factor, [a], [2], n_out=2)
    np.testing.assert_allclose(lu, want_lu, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(piv, want_piv)
    assert piv.dtype == np.int32


@pytest.mark.parametrize("batch", BATCHES)
def test_lu_factor_gradient(batch, rng):
    check_grad(lambda x: ts.linalg.lu_factor(x)[0], [general(rng, batch, N)])


def test_lu_pivots_are_not_differentiable(rng):
    x = ts.tensor("x", shape=(N, N))
    _, piv = ts.linalg.lu_factor(x)
    with pytest.raises(ValueError, match="does not depend"):
        ts.grad(ts.cast(piv, "float64").sum(), x)


# --- QR ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5)])
@pytest.mark.parametrize("batch", BATCHES)
def test_qr_matches_numpy_per_element(batch, shape, mode, rng):
    a = rng.standard_normal(tuple(batch) + shape)
    got = evaluate(lambda x: ts.linalg.qr(x, mode=mode), [a])
    n_out = 1 if mode == "r" else 2
    want = per_element(lambda m: np.linalg.qr(m, mode=mode), [a], [2], n_out=n_out)
    for g, w in zip(got if n_out > 1 else [got], want if n_out > 1 else [want]):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


QR_GRADS = {
    "q": lambda x: ts.linalg.qr(x)[0],
    "r": lambda x: ts.linalg.qr(x)[1],
    "both": lambda x: (lambda q, r: q.sum(axis=(-2, -1)) + r.sum(axis=(-2, -1)))(
        *ts.linalg.qr(x)
    ),
    "mode-r": lambda x: ts.linalg.qr(x, mode="r"),
    "complete": lambda x: ts.linalg.qr(x, mode="complete")[0],
}


# complete QR of a tall matrix is not differentiable (tested below)
QR_GRAD_CASES = [
    (which, shape)
    for which in QR_GRADS
    for shape in [(4, 3), (3, 3), (3, 5)]
    if not (which == "complete" and shape[0] > shape[1])
]


@pytest.mark.parametrize("which, shape", QR_GRAD_CASES)
@pytest.mark.parametrize("batch", [(), (2, 3)])
def test_qr_gradient(batch, which, shape, rng):
    check_grad(QR_GRADS[which], [rng.standard_normal(tuple(batch) + shape)])


def test_complete_qr_of_tall_matrix_is_not_differentiable():
    x = ts.tensor("x", shape=(4, 3))
    with pytest.raises(ValueError, match="complete QR"):
        ts.grad(ts.linalg.qr(x, mode="complete")[0].sum(), x)


def test_qr_wide_matrix_with_unknown_shape_is_a_clear_runtime_error(rng):
    with pytest.raises(ValueError, match=r"m >= n.*3x5.*static shape"):
        evaluate(ts.linalg.qr, [rng.standard_normal((3, 5))], static=False)


# --- build-time errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        ts.linalg.cholesky,
        ts.linalg.lu_factor,
        ts.linalg.eigh,
        ts.linalg.inv,
        ts.linalg.det,
        ts.linalg.slogdet,
        ts.linalg.expm,
        ts.linalg.eigvalsh,
        lambda x: ts.linalg.matrix_power(x, 2),
    ],
    ids=[
        "cholesky",
        "lu_factor",
        "eigh",
        "inv",
        "det",
        "slogdet",
        "expm",
        "eigvalsh",
        "matrix_power",
    ],
)
def test_non_square_static_input_is_a_build_time_error(fn):
    x = ts.tensor("x", shape=(5, 2, 3))
    with pytest.raises(ValueError, match=r"square.*\(5, 2, 3\)"):
        fn(x)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Cholesky()(ts.tensor("x", shape=(2, 3))), r"cholesky: .*\(2, 3\)"),
        (lambda: Cholesky()(ts.tensor("x", shape=(4, 3, 3))), "core op takes a 2-d"),
        (lambda: LUFactor()(ts.tensor("x", shape=(3,))), "core op takes a 2-d"),
        (
            lambda: Blockwise(Cholesky())(ts.tensor("x", shape=(4, 2, 3))),
            "dim 'm' is 2",
        ),
        (lambda: Cholesky(on_error="ignore"), "on_error"),
        (lambda: QR(mode="economic"), "mode"),
        (lambda: QR(wide=True)(ts.tensor("x", shape=(4, 3))), "wide"),
        (lambda: ts.linalg.cholesky(ts.tensor("x", shape=(3,))), "expected a matrix"),
        (
            lambda: ts.linalg.cholesky(
                ts.tensor("x", shape=(2, 2), dtype="complex128")
            ),
            "complex",
        ),
    ],
)
def test_build_time_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize(
    "fn",
    [
        ts.linalg.cholesky,
        ts.linalg.inv,
        ts.linalg.det,
        ts.linalg.expm,
        lambda x: ts.linalg.solve(x, np.ones(2)),
        lambda x: ts.linalg.solve_triangular(x, np.ones(2)),
    ],
)
def test_unknown_square_dims_are_checked_at_run_time(fn, rng):
    with pytest.raises(ValueError, match=r"square matrices.*\(2, 3\)"):
        evaluate(fn, [rng.standard_normal((2, 3))], static=False)


def test_unknown_rhs_rows_are_checked_at_run_time(rng):
    with pytest.raises(ValueError, match="3 rows"):
        evaluate(
            lambda a, b: ts.linalg.solve(a, b, b_ndim=1),
            [np.eye(3), np.ones(4)],
            static=False,
        )


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_with_unknown_shapes(lower, rng):
    a, w = spd(rng, (4,), N), rng.standard_normal((4, N, N))
    grads = []
    for shape in [a.shape, (None, None, None)]:
        x = ts.tensor("x", shape=shape)
        cost = (ts.linalg.cholesky(x, lower=lower) * w).sum()
        grads.append(ts.function([x], ts.grad(cost, x))(a))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    check_grad(lambda x: ts.linalg.cholesky(sym(x), lower=lower), [a[0]])


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_cholesky_gradient_at_a_semidefinite_matrix_raises(backend):
    # issue #23: the edge of the domain (singular, positive semidefinite) is a
    # clear error, never a silent NaN
    x = ts.tensor("x", shape=(2, 2, 2))
    cost = ts.log(ts.linalg.diagonal(ts.linalg.cholesky(x))).sum()
    f = ts.function([x], ts.grad(cost, x), backend=backend)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        f(np.stack([np.eye(2), np.ones((2, 2))]))
