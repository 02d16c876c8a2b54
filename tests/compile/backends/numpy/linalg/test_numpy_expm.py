"""The NumPy backend's expm kernel: the batched Pade kernel against SciPy."""

import numpy as np
import pytest
import scipy.linalg as sla
from _linalg_cases import per_element

from tessera.compile.backends.numpy.linalg import expm as E


@pytest.mark.parametrize("scale", [1e-4, 0.2, 1.0, 3.0, 50.0])
def test_expm_pade_matches_scipy(scale, rng):
    a = scale * rng.standard_normal((6, 5, 5))
    got = E.expm_pade(a)
    want = per_element(sla.expm, [a], [2])
    np.testing.assert_allclose(got, want, rtol=1e-8 if scale < 10 else 1e-6, atol=1e-12)
