"""Batched substitution, the reference kernel of the triangular solves."""

import numpy as np
import pytest
import scipy.linalg as sla

from tessera.ops.linalg._triangular import substitute

from .cases import per_element, triangular

F64 = np.dtype(np.float64)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("batch, n", [((7,), 5), ((2, 3), 4), ((), 6), ((0,), 3)])
def test_substitution_matches_scipy(batch, n, k, unit, lower, rng):
    a = triangular(rng, batch, n, lower=lower)
    b = rng.standard_normal(tuple(batch) + (n, k))
    got = substitute(a, b, lower, unit, F64)
    if not batch or 0 not in batch:
        want = (
            per_element(
                lambda m, v: sla.solve_triangular(
                    m, v, lower=lower, unit_diagonal=unit
                ),
                [a, b],
                [2, 2],
            )
            if batch
            else sla.solve_triangular(a, b, lower=lower, unit_diagonal=unit)
        )
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got.shape == tuple(batch) + (n, k)
