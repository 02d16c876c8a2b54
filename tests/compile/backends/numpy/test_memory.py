"""Memory of compiled NumPy functions (#23 item 9): the generated code drops
each temporary after its last reader; ``cholesky_inverse``'s batched kernel
builds its result in its own work buffer."""

import tracemalloc

import numpy as np
import pytest

import tessera as ts
from tessera.compile.backends.numpy.linalg.inverse import cholesky_inverse


def _peak(fn, *args):
    """(result, the bytes allocated at the peak of one call)."""
    tracemalloc.start()
    try:
        out = fn(*args)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_temporaries_deleted_after_last_use_outputs_kept():
    x = ts.vector("x")
    a = ts.exp(x)
    b = ts.sin(a)
    c = ts.cos(b)
    f = ts.function([x], [c, a])
    # the output `a` stays; `b` goes after `c` read it
    body = f.source.split("try:\n")[1]
    assert "del " in body
    deleted = {
        n.strip()
        for line in body.splitlines()
        if "del " in line
        for n in line.split("del ", 1)[1].split(",")
    }
    returned = body.split("return ")[1].splitlines()[0]
    assert not any(name in returned for name in deleted), (deleted, returned)
    v = np.linspace(0.0, 1.0, 5)
    got_c, got_a = f(v)
    np.testing.assert_array_equal(got_c, np.cos(np.sin(np.exp(v))))
    np.testing.assert_array_equal(got_a, np.exp(v))


def test_updates_and_repeated_calls_unaffected():
    w = ts.shared(np.zeros(3), name="w")
    x = ts.vector("x")
    t = ts.exp(x)
    f = ts.function([x], ts.log(t).sum(), updates=[(w, w + t * 2.0)])
    v = np.arange(3.0)
    for k in range(1, 3):
        f(v)
        np.testing.assert_allclose(w.get_value(), k * 2.0 * np.exp(v))


def test_error_after_deletions_still_names_the_node():
    x = ts.tensor("x", shape=(None,))
    y = ts.tensor("y", shape=(None,))
    h = ts.exp(x) * 2.0
    f = ts.function([x, y], ts.log(h) + y)
    assert "del " in f.source
    with pytest.raises(ValueError) as info:
        f(np.zeros(3), np.zeros(4))
    msg = str(info.value)
    assert "Apply node that caused the error: " in msg
    assert "add" in msg.split("Apply node that caused the error: ")[1]


def test_a_chain_of_large_temporaries_keeps_few_alive():
    # each step's input is read twice, so no ufunc can write over it: without
    # the deletions every step's array stays alive until the return (6x)
    x = ts.tensor("x", shape=(200_000,))
    y, ref = x, np.linspace(0.0, 1.0, 200_000)
    v = ref.copy()
    for op, npop in ((ts.exp, np.exp), (ts.sin, np.sin), (ts.cos, np.cos)) * 2:
        y = op(y) + y
        ref = npop(ref) + ref
    f = ts.function([x], y.sum())
    f(v)
    got, peak = _peak(f, v)
    np.testing.assert_array_equal(got, ref.sum())
    assert peak <= 3 * v.nbytes, peak / v.nbytes


def test_batched_cholesky_inverse_peak_and_values():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20_000, 4, 4))
    c = np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + np.eye(4))
    got, peak = _peak(cholesky_inverse, c, True, c.dtype, "raise")
    # the batch-last work buffer and the result (was 3x: a second buffer)
    assert peak <= 2.3 * c.nbytes, peak / c.nbytes
    np.testing.assert_allclose(
        got, np.linalg.inv(c @ np.swapaxes(c, -1, -2)), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(got, np.swapaxes(got, -1, -2))
