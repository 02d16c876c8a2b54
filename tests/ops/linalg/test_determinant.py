"""det and slogdet: values and gradients."""

import numpy as np
import pytest

import tessera as ts

from .cases import BATCHES, check_grad, evaluate, per_element


@pytest.mark.parametrize("batch", BATCHES)
def test_det_and_slogdet_match_numpy_per_element(batch, rng):
    a = rng.standard_normal(tuple(batch) + (3, 3))
    np.testing.assert_allclose(
        evaluate(ts.linalg.det, [a]), per_element(np.linalg.det, [a], [2]), rtol=1e-10
    )
    sign, logdet = evaluate(ts.linalg.slogdet, [a])
    want_sign, want_logdet = per_element(
        lambda m: tuple(np.linalg.slogdet(m)), [a], [2], 2
    )
    np.testing.assert_array_equal(sign, want_sign)
    np.testing.assert_allclose(logdet, want_logdet, rtol=1e-10)
    assert sign.shape == logdet.shape == tuple(batch)


@pytest.mark.parametrize("batch", BATCHES)
def test_det_gradient(batch, rng):
    check_grad(ts.linalg.det, [rng.standard_normal(tuple(batch) + (3, 3))])


@pytest.mark.parametrize("batch", BATCHES)
def test_slogdet_gradient(batch, rng):
    check_grad(
        lambda x: ts.linalg.slogdet(x)[1], [rng.standard_normal(tuple(batch) + (3, 3))]
    )


def test_slogdet_sign_carries_no_gradient(rng):
    x = ts.tensor("x", shape=(2, 3, 3))
    sign, logdet = ts.linalg.slogdet(x)
    a = rng.standard_normal((2, 3, 3))
    g = ts.function([x], ts.grad((sign * logdet).sum(), x))(a)
    want = np.linalg.slogdet(a)[0][:, None, None] * np.swapaxes(
        np.linalg.inv(a), -1, -2
    )
    np.testing.assert_allclose(g, want, rtol=1e-10)


def test_singular_det_is_zero(rng):
    a = np.stack([np.eye(2), np.zeros((2, 2))])
    np.testing.assert_allclose(evaluate(ts.linalg.det, [a]), [1.0, 0.0])
    sign, logdet = evaluate(ts.linalg.slogdet, [a])
    assert sign[1] == 0 and logdet[1] == -np.inf


# --- the edge of the domain: singular matrices (issue #23) ------------------------

SINGULAR = {
    "rank n-1": np.diag([1.0, 1.0, 0.0]),
    "rank 1": np.ones((3, 3)),
    "rank n-1, dense": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "zero": np.zeros((3, 3)),
}


def _cofactors(a):
    """The transposed adjugate by cofactor expansion (the reference)."""
    n = len(a)
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            out[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return out


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_det_gradient_at_singular_matrices_is_the_adjugate(backend, rng):
    a = np.stack([*SINGULAR.values(), rng.standard_normal((3, 3))])
    x = ts.tensor("x", shape=(None, 3, 3))
    g = ts.function([x], ts.grad(ts.linalg.det(x).sum(), x), backend=backend)(a)
    want = per_element(_cofactors, [a], [2])
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
    adj = ts.function([x], ts.linalg.adjugate(x), backend=backend)(a)
    np.testing.assert_allclose(adj, np.swapaxes(want, -1, -2), rtol=1e-10, atol=1e-12)


def test_det_gradient_at_singular_matches_jax(rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    a = np.stack(list(SINGULAR.values()))
    want = np.asarray(jax.vmap(jax.grad(jax.numpy.linalg.det))(a))
    x = ts.tensor("x", shape=a.shape)
    g = ts.function([x], ts.grad(ts.linalg.det(x).sum(), x))(a)
    np.testing.assert_allclose(g, want, atol=1e-12)


def test_adjugate_gradient_and_non_finite_inputs(rng):
    check_grad(ts.linalg.adjugate, [rng.standard_normal((2, 3, 3))])
    a = np.stack([np.eye(2), np.full((2, 2), np.nan)])
    adj = evaluate(ts.linalg.adjugate, [a])
    np.testing.assert_allclose(adj[0], np.eye(2))
    assert np.isnan(adj[1]).all()
    np.testing.assert_allclose(evaluate(ts.linalg.adjugate, [np.full((1, 1), 5.0)]), 1)


def test_det_gradient_near_singular_matches_finite_differences(rng):
    a = np.diag([1.0, 2.0, 1e-9]) + 1e-3 * rng.standard_normal((3, 3))
    check_grad(ts.linalg.det, [a])


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_slogdet_gradient_at_singular_matrix_raises(backend):
    x = ts.tensor("x", shape=(2, 3, 3))
    f = ts.function([x], ts.grad(ts.linalg.slogdet(x)[1].sum(), x), backend=backend)
    a = np.stack([np.eye(3), np.diag([1.0, 1.0, 0.0])])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(a)
    np.testing.assert_allclose(
        f(np.stack([np.eye(3), 2 * np.eye(3)]))[1], np.eye(3) / 2
    )
