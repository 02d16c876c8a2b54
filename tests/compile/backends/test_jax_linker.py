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


@pytest.mark.parametrize("n_out", [0, 1, 3])
def test_generated_call_path_returns_every_output(n_out):
    x = ts.tensor("x", shape=(2,))
    y = ts.tensor("y", shape=(None,))
    outs = [x.sum() * (k + 1) + y.sum() for k in range(n_out)]
    f = ts.function([x, y], outs, backend="jax")
    res = f(np.ones(2), y=np.arange(3.0))
    assert isinstance(res, list) and len(res) == n_out
    np.testing.assert_allclose(
        np.asarray(res, dtype=float), [2 * (k + 1) + 3 for k in range(n_out)]
    )
    g = ts.function([x, y], x * 2.0, backend="jax")
    np.testing.assert_allclose(np.asarray(g([1.0, 2.0], [0.0])), [2.0, 4.0])


def test_failed_check_raises_between_successful_calls():
    # the flag of the checks is read on every call, not only the first
    a = ts.tensor("a", shape=(1, 3, 3))
    f = ts.function([a], [ts.linalg.cholesky(a), a.sum()], backend="jax")
    spd = np.eye(3)[None] * 2.0
    for value, ok in [(spd, True), (-spd, False), (spd, True), (-spd, False)]:
        if ok:
            np.testing.assert_allclose(np.asarray(f(value)[0]), np.sqrt(spd))
        else:
            with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
                f(value)


def test_read_flag_reads_jax_and_numpy_booleans():
    from tessera.compile.backends.jax.calls import read_flag as _read_flag

    flag = jax.jit(lambda v: jax.numpy.all(v > 0))
    assert _read_flag(flag(np.ones(3))) is True
    assert _read_flag(flag(-np.ones(3))) is False
    # objects without the buffer protocol take the general path
    assert _read_flag(np.bool_(True)) is True
    assert _read_flag(True) is True
