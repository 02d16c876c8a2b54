"""inv and pinv: values, gradients, singular matrices."""

import numpy as np
import pytest

import tessera as ts

from .cases import BATCHES, check_grad, evaluate, general, per_element


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
