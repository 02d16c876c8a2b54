"""PositiveDefiniteTransform and CorrelationTransform (ppl/transforms/matrix.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.ppl.transforms import get_transform
from tessera.ppl.transforms.matrix import (
    CorrelationTransform,
    PositiveDefiniteTransform,
)


def _fn(t, method, ndim):
    v = ts.tensor("v", shape=(None,) * ndim)
    return ts.function([v], getattr(t, method)(v))


@pytest.mark.parametrize(
    "cls, n, m, diag",
    [(PositiveDefiniteTransform, 3, 6, True), (CorrelationTransform, 3, 3, False)],
)
def test_round_trip_batched(cls, n, m, diag, rng):
    t = cls(n)
    y = rng.normal(size=(2, 4, m)) * 0.7
    x = _fn(t, "backward", 3)(y)
    assert x.shape == (2, 4, n, n)
    np.testing.assert_allclose(x, np.swapaxes(x, -1, -2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(x) > 0)
    if not diag:
        np.testing.assert_allclose(np.diagonal(x, axis1=-2, axis2=-1), 1.0)
    np.testing.assert_allclose(_fn(t, "forward", 4)(x), y, atol=1e-10)


@pytest.mark.parametrize(
    "cls, n, offset",
    [
        (PositiveDefiniteTransform, 2, 0),
        (PositiveDefiniteTransform, 3, 0),
        (CorrelationTransform, 3, -1),
        (CorrelationTransform, 4, -1),
    ],
)
def test_log_jac_det_numerically(cls, n, offset, rng):
    """log|det| of y -> the free lower-triangular entries of X, by central FD."""
    t = cls(n)
    m = t.packed_size(n)
    rows, cols = np.tril_indices(n, offset)
    back = _fn(t, "backward", 1)
    y = rng.normal(size=m) * 0.5
    eps = 1e-6
    jac = np.empty((m, m))
    for j in range(m):
        d = np.zeros(m)
        d[j] = eps
        jac[:, j] = (back(y + d)[rows, cols] - back(y - d)[rows, cols]) / (2 * eps)
    want = np.log(abs(np.linalg.det(jac)))
    got = _fn(t, "log_jac_det", 1)(y)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_registered_keys():
    assert isinstance(
        get_transform("positive_definite", n=2), PositiveDefiniteTransform
    )
    assert isinstance(get_transform("correlation"), CorrelationTransform)
    assert PositiveDefiniteTransform(3).unconstrained_shape((5, 3, 3)) == (5, 6)
    assert CorrelationTransform().constrained_shape((5, 3)) == (5, 3, 3)
