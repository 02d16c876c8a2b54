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
