"""The NumPy linker: straight-line source, and no aliasing of caller arrays."""

import re

import numpy as np
import pytest

import tessera as ts


def test_source_is_straight_line():
    x = ts.tensor("x", shape=(3,))
    f = ts.function([x], ts.exp(x) * 2 + 1)
    assert "for " not in f.source and "while " not in f.source
    # one statement per node: a call, or an expression written inline
    stmts = re.findall(r"\n\s+v\d+_\d+(?:, v\d+_\d+)* = ", f.source)
    assert len(stmts) == len(f.fg.apply_nodes)


def test_outputs_never_alias_inputs_or_constants():
    x = ts.tensor("x", shape=(None,))
    w = ts.shared(np.zeros(2), "w_alias")
    outs = [x[1:], x.reshape((-1, 1)), ts.constant([1.0, 2.0]).T]
    f = ts.function([x], outs, updates={w: x[:2]})
    a = np.arange(3.0)
    sliced, reshaped, const = f(a)
    sliced[0] = 100.0
    reshaped[0, 0] = -1.0
    const[0] = 5.0
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])
    a[0] = 7.0
    np.testing.assert_array_equal(w.get_value(), [0.0, 1.0])
    np.testing.assert_array_equal(f(np.arange(3.0))[2], [1.0, 2.0])


def test_outputs_never_alias_each_other():
    x = ts.tensor("x", shape=(2, 2))
    y = x * 2.0
    L = ts.linalg.cholesky(x)
    f = ts.function([x], [y, y.T, y, L, ts.linalg.diagonal(L)])
    y1, yt, y2, l, d = f(4.0 * np.eye(2))
    y1[0, 1] = 100.0
    l[0, 0] = 7.0
    assert yt[1, 0] == 0.0 and y2[0, 1] == 0.0 and d[0] == 2.0
    # a single view output is not copied
    g = ts.function([x], y.T)
    assert ".copy()" not in g.source


def test_broadcast_outputs_are_writeable_arrays():
    a = ts.tensor("a", shape=(3,))
    f = ts.function([a], ts.broadcast_to(ts.exp(a), (2, 3)))
    out = f(np.zeros(3))
    out[0, 0] = 5.0  # a read-only stride-0 view would refuse this
    np.testing.assert_array_equal(out, [[5.0, 1.0, 1.0], [1.0, 1.0, 1.0]])


def _reused(f):
    """Names of the variables whose buffers take a later result (``out=``)."""
    lines = f.source.splitlines()
    return [ln.split("out=")[1].rstrip(")") for ln in lines if "out=" in ln]


def test_elementwise_chains_reuse_dead_buffers():
    x = ts.tensor("x", shape=(30, 40))
    y = ts.tensor("y", shape=(40,))
    f = ts.function([x, y], ts.log1p(ts.exp(x) * 2.0) + y, rewrites="none")
    # the product, log1p and the sum all land in exp's buffer
    assert _reused(f) == ["v0_0", "v1_0", "v2_0"]
    # not for small arrays, where allocating is cheaper
    small = ts.tensor("small", shape=(3, 4))
    assert not _reused(ts.function([small], ts.exp(small) * 2.0, rewrites="none"))
    xv, yv = np.arange(1200.0).reshape(30, 40) / 1000, np.arange(40.0)
    np.testing.assert_allclose(f(xv, yv), np.log1p(np.exp(xv) * 2.0) + yv)


# outputs built from e = exp(x) (v0_0), whose buffer must not take a result
STILL_NEEDED = {
    "read twice": lambda e: [e * 2.0 + e],
    "an output": lambda e: [e, e * 2.0],
    "a view taken": lambda e: [e * 2.0 + e[::-1]],
    "broadcast": lambda e: [e + ts.ones((3, 2000))],
    "a new dtype": lambda e: [e > 1.0],
}


@pytest.mark.parametrize("name", STILL_NEEDED)
def test_buffers_still_needed_are_not_reused(name):
    x = ts.tensor("x", shape=(2000,))
    outs = STILL_NEEDED[name](ts.exp(x))
    f = ts.function([x], outs, rewrites="none")
    assert "v0_0" not in _reused(f), f.source
    xv = np.linspace(0.0, 2.0, 2000)
    want = ts.function([x], outs, backend="jax")(xv)
    for got, w in zip(f(xv), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_unknown_shapes_are_not_reused():
    x = ts.tensor("x", shape=(None,))
    f = ts.function([x], ts.exp(x) * 2.0, rewrites="none")
    assert not _reused(f)
