"""The NumPy backend's cholesky_inverse: the single-matrix potri callable
chosen at compile time against NumPy and the general kernel (a zero on the
diagonal must give the general kernel's error or NaNs)."""

from __future__ import annotations

import numpy as np
import pytest
from _linalg_cases import fast_and_general as _fast_and_general
from _linalg_cases import spd_matrix as _spd
from _linalg_cases import tol as _tol

import tessera as ts

LEADS = [(), (1,), (1, 1)]


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cholesky_inverse(lead, lower, dtype, rng):
    n = 5
    spd = _spd(rng, n, dtype)
    f = np.linalg.cholesky(spd)
    # junk in the triangle that is not read
    cv = (
        f + np.triu(np.ones((n, n)), 1) if lower else f.T + np.tril(np.ones((n, n)), -1)
    )
    cv = cv.astype(dtype).reshape(lead + (n, n))
    c = ts.tensor("c", shape=cv.shape, dtype=dtype)
    fast, general = _fast_and_general(ts.linalg.cholesky_inverse(c, lower=lower).owner)
    out = fast(cv)
    assert out.shape == cv.shape and out.dtype == dtype
    want = np.linalg.inv(spd.astype("float64")).reshape(cv.shape)
    np.testing.assert_allclose(out, want, **_tol(dtype))
    np.testing.assert_allclose(out, general(cv), **_tol(dtype))


def test_cholesky_inverse_zero_diagonal_is_the_general_kernels():
    cv = np.tril(np.ones((1, 4, 4)))
    cv[0, 1, 1] = 0.0
    c = ts.tensor("c", shape=cv.shape)
    fast, _ = _fast_and_general(ts.linalg.cholesky_inverse(c).owner)
    with pytest.raises(np.linalg.LinAlgError, match=r"cholesky_inverse.*singular"):
        fast(cv)
    fast, _ = _fast_and_general(ts.linalg.cholesky_inverse(c, on_error="nan").owner)
    out = fast(cv)
    assert out.shape == cv.shape and np.isnan(out).all()
