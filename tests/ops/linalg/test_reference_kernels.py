"""Helpers of the linalg reference kernels: LU pivots, failures, dtypes."""

import numpy as np
import pytest
import scipy.linalg as sla

from tessera.ops.linalg import _failures as K
from tessera.ops.linalg import _lu as KL
from tessera.ops.linalg._base import float_dtype

from .cases import spd

F64 = np.dtype(np.float64)


def test_pivots_to_permutation(rng):
    a = rng.standard_normal((6, 6))
    lu, piv = sla.lu_factor(a)
    perm = KL.pivots_to_permutation(piv)
    np.testing.assert_allclose(a[perm], (np.tril(lu, -1) + np.eye(6)) @ np.triu(lu))


def test_gufunc_failure_is_located_not_raised(rng):
    a = spd(rng, (4,), 3)
    a[2] = -a[2]
    out, failed = K.call_gufunc(np.linalg._umath_linalg.cholesky_lo, a, dtype=F64)
    assert failed
    np.testing.assert_array_equal(K.nan_elements(out, 2), [False, False, True, False])
    out, failed = K.call_gufunc(np.linalg._umath_linalg.cholesky_lo, a[:2], dtype=F64)
    assert not failed


def test_float_dtype_rule():
    assert float_dtype("float32") == np.float32
    assert float_dtype("float32", "float64") == np.float64
    assert float_dtype("int64") == np.float64
    assert float_dtype("int8", "float32") == np.float32
    with pytest.raises(TypeError, match="real"):
        float_dtype("complex128")
