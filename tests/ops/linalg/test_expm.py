"""expm: values (small and large norms, batched and single) and gradients."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts

from .cases import BATCHES, check_grad, evaluate, per_element


@pytest.mark.parametrize("scale", [1e-3, 0.3, 1.0, 8.0])
@pytest.mark.parametrize("batch", BATCHES)
def test_expm_matches_scipy_per_element(batch, scale, rng):
    a = scale * rng.standard_normal(tuple(batch) + (4, 4))
    got = evaluate(ts.linalg.expm, [a])
    np.testing.assert_allclose(
        got, per_element(sla.expm, [a], [2]), rtol=1e-9, atol=1e-12
    )


def test_expm_batch_with_mixed_norms(rng):
    # every element gets its own number of squarings
    a = (
        rng.standard_normal((5, 3, 3))
        * np.array([1e-4, 0.1, 1.0, 10.0, 40.0])[:, None, None]
    )
    got = evaluate(ts.linalg.expm, [a])
    want = per_element(sla.expm, [a], [2])
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("batch", BATCHES)
def test_expm_gradient(batch, rng):
    check_grad(ts.linalg.expm, [0.5 * rng.standard_normal(tuple(batch) + (3, 3))])


def test_expm_gradient_unknown_shape(rng):
    a = 0.5 * rng.standard_normal((2, 3, 3))
    x = ts.tensor("x", shape=(None, None, None))
    proj = rng.standard_normal((2, 3, 3))
    g = ts.function([x], ts.grad((ts.linalg.expm(x) * proj).sum(), x))(a)
    eps = 1e-6
    num = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        d = np.zeros_like(a)
        d[idx] = eps
        num[idx] = (
            (per_element(sla.expm, [a + d], [2]) - per_element(sla.expm, [a - d], [2]))
            * proj
        ).sum() / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_expm_float32(rng):
    a = rng.standard_normal((2, 3, 3)).astype(np.float32)
    got = evaluate(ts.linalg.expm, [a])
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, per_element(sla.expm, [a.astype(float)], [2]), rtol=1e-5
    )
