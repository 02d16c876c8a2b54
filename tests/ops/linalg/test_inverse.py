"""inv, pinv and cholesky_inverse: values, gradients, singular matrices."""

import numpy as np
import pytest

import tessera as ts
from tessera.compile.backends.numpy import tuning
from tessera.testing import compare_backends

from .cases import BATCHES, check_grad, evaluate, general, per_element, triangular


@pytest.mark.parametrize("batch", BATCHES)
def test_inv_matches_numpy_per_element(batch, rng):
    a = general(rng, batch, 3)
    np.testing.assert_allclose(
        evaluate(ts.linalg.inv, [a]), per_element(np.linalg.inv, [a], [2]), rtol=1e-10
    )


@pytest.mark.parametrize("batch", BATCHES)
def test_inv_gradient(batch, rng):
    check_grad(ts.linalg.inv, [general(rng, batch, 3)])


def test_inv_singular(rng):
    a = general(rng, (2, 2), 3)
    a[0, 1] = 0.0
    with pytest.raises(
        np.linalg.LinAlgError, match=r"inv: matrix at batch index \(0, 1\) is singular"
    ):
        evaluate(ts.linalg.inv, [a])
    got = evaluate(lambda x: ts.linalg.inv(x, on_error="nan"), [a])
    assert np.isnan(got[0, 1]).all()
    np.testing.assert_allclose(got[1], np.linalg.inv(a[1]))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
@pytest.mark.parametrize("batch", BATCHES)
def test_pinv_matches_numpy_per_element(batch, shape, rng):
    a = rng.standard_normal(tuple(batch) + shape)
    np.testing.assert_allclose(
        evaluate(ts.linalg.pinv, [a]), per_element(np.linalg.pinv, [a], [2]), rtol=1e-9
    )


def test_pinv_rtol_drops_small_singular_values():
    a = np.diag([1.0, 1e-3])
    np.testing.assert_allclose(
        evaluate(lambda x: ts.linalg.pinv(x, rtol=1e-2), [a]), np.diag([1.0, 0.0])
    )
    np.testing.assert_allclose(evaluate(ts.linalg.pinv, [a]), np.diag([1.0, 1e3]))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
@pytest.mark.parametrize("batch", BATCHES)
def test_pinv_gradient(batch, shape, rng):
    check_grad(ts.linalg.pinv, [rng.standard_normal(tuple(batch) + shape)])


def _cho_inv_reference(c, lower):
    def one(c):
        f = np.tril(c) if lower else np.triu(c)
        return np.linalg.inv(f @ f.T if lower else f.T @ f)

    return per_element(one, [c], [2])


@pytest.fixture(params=["potri", "pullback", "batched"])
def cho_inv_path(request, monkeypatch):
    # every kernel: per matrix LAPACK potri or (for large n) the blocked
    # pullback of a diagonal cotangent, or the batch-last one
    monkeypatch.setattr(
        tuning, "cholesky_inverse_loop_wins", lambda nb, n: request.param != "batched"
    )
    if request.param == "pullback":
        monkeypatch.setattr(tuning, "POTRI_MAX_N", 1)
    return request.param


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_inverse_matches_numpy(batch, lower, cho_inv_path, rng):
    # junk in the other triangle: only the factor's is read
    c = triangular(rng, batch, 4, lower=lower, junk=True)
    got = evaluate(lambda x: ts.linalg.cholesky_inverse(x, lower=lower), [c])
    np.testing.assert_allclose(got, _cho_inv_reference(c, lower), rtol=1e-10)
    np.testing.assert_array_equal(got, np.swapaxes(got, -1, -2))


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_inverse_gradient(batch, lower, rng):
    c = triangular(rng, batch, 3, lower=lower, junk=False)
    check_grad(lambda x: ts.linalg.cholesky_inverse(x, lower=lower), [c])


def test_cholesky_inverse_of_a_cholesky_factor(rng):
    from .cases import spd

    a = spd(rng, (2, 3), 5)
    got = evaluate(lambda x: ts.linalg.cholesky_inverse(ts.linalg.cholesky(x)), [a])
    np.testing.assert_allclose(got, np.linalg.inv(a), rtol=1e-10, atol=1e-12)


def test_cholesky_inverse_backends_agree(rng):
    for lower in (True, False):
        c = triangular(rng, (3,), 4, lower=lower, junk=True)
        compare_backends(
            lambda x, lower=lower: ts.linalg.cholesky_inverse(x, lower=lower),
            [c],
            rtol=1e-8,
            atol=1e-10,
        )


def test_cholesky_inverse_singular_factor(cho_inv_path, rng):
    c = triangular(rng, (2, 2), 3, lower=True, junk=False)
    c[1, 0, 2, 2] = 0.0
    with pytest.raises(
        np.linalg.LinAlgError,
        match=r"cholesky_inverse: matrix at batch index \(1, 0\) is singular",
    ):
        evaluate(ts.linalg.cholesky_inverse, [c])
    got = evaluate(lambda x: ts.linalg.cholesky_inverse(x, on_error="nan"), [c])
    assert np.isnan(got[1, 0]).all() and not np.isnan(got[[0, 1], [1, 1]]).any()
    np.testing.assert_allclose(got[0], _cho_inv_reference(c[0], True), rtol=1e-10)


def test_cholesky_inverse_bad_input():
    with pytest.raises(ValueError, match=r"cholesky_inverse: expected a square"):
        ts.linalg.cholesky_inverse(ts.tensor("c", shape=(2, 3, 4)))
    with pytest.raises(ValueError, match="on_error"):
        ts.linalg.cholesky_inverse(np.eye(2), on_error="ignore")


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_inv_gradient_at_a_singular_matrix_raises(backend):
    # issue #23: the edge of the domain is a clear error, never a silent NaN
    x = ts.tensor("x", shape=(2, 2, 2))
    f = ts.function([x], ts.grad(ts.linalg.inv(x).sum(), x), backend=backend)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(np.stack([np.eye(2), np.ones((2, 2))]))
