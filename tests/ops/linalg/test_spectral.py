"""eigh, eigvalsh, svd: values, gradients (distinct eigen/singular values)."""

import numpy as np
import pytest

import tessera as ts

from .cases import BATCHES, check_grad, evaluate, fix_signs, per_element, spd, sym

N = 3


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
def test_eigh_matches_numpy_per_element(batch, lower, rng):
    a = spd(rng, batch, N)
    a = a + (np.triu if lower else np.tril)(
        rng.standard_normal(a.shape), 1 if lower else -1
    )
    uplo = "L" if lower else "U"
    w, v = evaluate(lambda x: ts.linalg.eigh(x, lower=lower), [a])
    want_w, want_v = per_element(lambda m: np.linalg.eigh(m, UPLO=uplo), [a], [2], 2)
    np.testing.assert_allclose(w, want_w, rtol=1e-10)
    np.testing.assert_allclose(fix_signs(v), fix_signs(want_v), rtol=1e-8, atol=1e-10)
    got = evaluate(lambda x: ts.linalg.eigvalsh(x, lower=lower), [a])
    np.testing.assert_allclose(got, want_w, rtol=1e-10)


EIGH_GRADS = {
    "w": lambda x: ts.linalg.eigh(sym(x))[0],
    # eigenvectors are defined up to sign: check a sign-invariant function
    "v": lambda x: (lambda w, v: v * ts.sign(v.sum(axis=-2, keepdims=True)))(
        *ts.linalg.eigh(sym(x))
    ),
    "w+v": lambda x: (lambda w, v: (v * v).sum(axis=-1) + w)(*ts.linalg.eigh(sym(x))),
    "upper": lambda x: ts.linalg.eigh(sym(x), lower=False)[0],
    "eigvalsh": lambda x: ts.linalg.eigvalsh(sym(x)),
}


@pytest.mark.parametrize("which", list(EIGH_GRADS))
@pytest.mark.parametrize("batch", BATCHES)
def test_eigh_gradient(batch, which, rng):
    check_grad(EIGH_GRADS[which], [spd(rng, batch, N)])


@pytest.mark.parametrize("full_matrices", [False, True])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
@pytest.mark.parametrize("batch", BATCHES)
def test_svd_matches_numpy_per_element(batch, shape, full_matrices, rng):
    a = rng.standard_normal(tuple(batch) + shape)
    u, s, vh = evaluate(lambda x: ts.linalg.svd(x, full_matrices=full_matrices), [a])
    wu, ws, wvh = per_element(
        lambda m: np.linalg.svd(m, full_matrices=full_matrices), [a], [2], 3
    )
    np.testing.assert_allclose(s, ws, rtol=1e-10)
    k = min(shape)
    # singular vectors match up to a common sign per pair
    signs = np.sign(np.sum(u[..., :k] * wu[..., :k], axis=-2))
    np.testing.assert_allclose(u[..., :k], wu[..., :k] * signs[..., None, :], atol=1e-8)
    np.testing.assert_allclose(
        vh[..., :k, :], wvh[..., :k, :] * signs[..., :, None], atol=1e-8
    )
    assert u.shape == wu.shape and vh.shape == wvh.shape
    values = evaluate(lambda x: ts.linalg.svd(x, compute_uv=False), [a])
    np.testing.assert_allclose(values, ws, rtol=1e-10)


SVD_GRADS = {
    "s": lambda x: ts.linalg.svd(x, compute_uv=False),
    "s-of-uv": lambda x: ts.linalg.svd(x, full_matrices=False)[1],
    "u": lambda x: (lambda u, s, vh: u * u)(*ts.linalg.svd(x, full_matrices=False)),
    "vh": lambda x: (lambda u, s, vh: vh * vh)(*ts.linalg.svd(x, full_matrices=False)),
    "all": lambda x: (lambda u, s, vh: (u * s[..., None, :]) @ vh)(
        *ts.linalg.svd(x, full_matrices=False)
    ),
}


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
@pytest.mark.parametrize("which", list(SVD_GRADS))
@pytest.mark.parametrize("batch", BATCHES)
def test_svd_gradient(batch, which, shape, rng):
    check_grad(SVD_GRADS[which], [rng.standard_normal(tuple(batch) + shape)])


def test_full_svd_gradient_of_square_matrices(rng):
    fn = lambda x: (lambda u, s, vh: u * u + vh * vh)(*ts.linalg.svd(x))  # noqa: E731
    check_grad(fn, [rng.standard_normal((2, 3, 3))])


def test_full_svd_of_rectangular_matrix_is_not_differentiable_through_u():
    x = ts.tensor("x", shape=(4, 3))
    u, s, vh = ts.linalg.svd(x)
    with pytest.raises(ValueError, match="full_matrices"):
        ts.grad(u.sum(), x)
    # the singular values alone are fine
    g = ts.grad(s.sum(), x).eval({x: np.eye(4, 3)})
    np.testing.assert_allclose(g, np.eye(4, 3))


def test_svd_wide_matrix_with_unknown_shape_is_a_clear_runtime_error(rng):
    with pytest.raises(ValueError, match=r"m >= n.*2x4"):
        evaluate(ts.linalg.svd, [rng.standard_normal((2, 4))], static=False)


# --- repeated eigenvalues (issue #23) ------------------------------------------------


def _exp_sym(x):
    """``v exp(w) v^T``: through the eigenvectors of ``x``."""
    w, v = ts.linalg.eigh(sym(x))
    return (v * ts.exp(w)[..., None, :]) @ v.mT


DEGENERATE = np.stack([np.eye(3), np.diag([1.0, 1.0, 2.0]), np.diag([2.0, 0.5, 2.0])])


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_eigh_gradient_with_repeated_eigenvalues(backend):
    x = ts.tensor("x", shape=DEGENERATE.shape)
    w, v = ts.linalg.eigh(x)

    def grad(cost):
        return ts.function([x], ts.grad(cost, x), backend=backend)(DEGENERATE)

    # through a symmetric function of the eigenvalues: exact (d tr(a^2) = 2a)
    np.testing.assert_allclose(grad((w**2).sum()), 2 * DEGENERATE, atol=1e-12)
    # through eigenvectors with a cotangent that vanishes in the eigenspace
    # (v^T v = I): exact and finite
    g = grad((v * v).sum() + w.sum())
    np.testing.assert_allclose(g, np.broadcast_to(np.eye(3), g.shape), atol=1e-12)
    # through eigenvectors of a repeated eigenvalue: undefined, a clear error
    with pytest.raises(np.linalg.LinAlgError, match="repeated eigenvalues"):
        grad((_exp_sym(x) * np.arange(9.0).reshape(3, 3)).sum())


def test_eigh_gradient_error_names_the_batch_index():
    a = np.stack([np.diag([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 1.0])])
    x = ts.tensor("x", shape=a.shape)
    f = ts.function([x], ts.grad((_exp_sym(x) * np.arange(9.0)[:3]).sum(), x))
    with pytest.raises(np.linalg.LinAlgError, match=r"batch index \(1,\)"):
        f(a)


def test_eigh_gradient_near_repeated_eigenvalues_matches_finite_differences():
    check_grad(_exp_sym, [np.diag([1.0, 1.0 + 1e-4, 2.0])], rtol=1e-4)


def test_eigen_gaps_gradient(rng):
    from tessera.ops.linalg.spectral import EigenGaps

    check_grad(EigenGaps(), [np.array([0.5, 1.0, 2.5]), rng.standard_normal((3, 3))])
