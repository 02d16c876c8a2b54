"""The JAX linker's call path: input checks, run-time checks, outputs."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tessera as ts  # noqa: E402


@pytest.mark.parametrize("shape", [(2, 3), (None, 3), (None, None)])
def test_inputs_pass_through_or_are_converted_and_checked(shape):
    x = ts.tensor("x", shape=shape)
    f = ts.function([x], [x * 2.0, x.sum()], backend="jax")
    a = np.arange(6.0).reshape(2, 3)
    for value in [a, a.tolist(), a.astype(np.float32), jax.numpy.asarray(a)]:
        out, total = f(value)
        np.testing.assert_allclose(np.asarray(out), 2 * a)
        assert float(total) == 15.0
    bad = np.ones((2, 4)) if shape[1] is not None else np.ones((2, 3, 1))
    with pytest.raises(ValueError, match="'x'"):
        f(bad)
    with pytest.raises(ValueError, match="'x'"):
        f(jax.numpy.asarray(bad))
    with pytest.raises(TypeError, match="'x'"):
        f(np.ones((2, 3), dtype=complex))


def test_single_output_and_failed_check_among_several():
    # three run-time checks (one cholesky, two triangular solves): the error
    # raised is the one of the check that failed
    a = ts.tensor("a", shape=(2, 3, 3))
    b = ts.tensor("b", shape=(2, 3))
    l_fac = ts.linalg.cholesky(a)
    t = ts.tensor("t", shape=(2, 3, 3))
    z = ts.linalg.solve_triangular(t, b, lower=True, b_ndim=1)
    f = ts.function([a, b, t], [l_fac.sum() + z.sum()], backend="jax")
    spd = np.broadcast_to(np.eye(3) * 2.0, (2, 3, 3))
    tri = np.broadcast_to(np.eye(3), (2, 3, 3)).copy()
    (value,) = f(spd, np.ones((2, 3)), tri)
    np.testing.assert_allclose(float(value), 2 * 3 * np.sqrt(2.0) + 6.0)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        f(-spd, np.ones((2, 3)), tri)
    tri[1, 2, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(spd, np.ones((2, 3)), tri)
    g = ts.function([a], ts.linalg.cholesky(a).sum(), backend="jax")
    assert np.ndim(g(spd)) == 0


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_triangular_solve_check_is_on_the_diagonal(backend):
    # singular means a zero on the diagonal on both backends; a NaN in the
    # right-hand side propagates without raising
    t = ts.tensor("t", shape=(2, 3, 3))
    b = ts.tensor("b", shape=(2, 3))
    x = ts.linalg.solve_triangular(t, b, lower=True, b_ndim=1)
    f = ts.function([t, b], x, backend=backend)
    tri = np.broadcast_to(np.eye(3), (2, 3, 3)).copy()
    rhs = np.ones((2, 3))
    rhs[1, 0] = np.nan
    out = np.asarray(f(tri, rhs))
    assert np.isnan(out[1, 0]) and np.isfinite(out[0]).all()
    tri[0, 1, 1] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(tri, np.ones((2, 3)))
    g = ts.function(
        [t, b],
        ts.linalg.solve_triangular(t, b, lower=True, b_ndim=1, on_error="nan"),
        backend=backend,
    )
    out = np.asarray(g(tri, np.ones((2, 3))))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()
