"""Nodes written inline into the generated source (#23 item 10): ``y * k0``
on 0-d floats with NumPy-scalar constants, ``x[1:3]``, ``a @ b``,
``ufunc.reduce(x, axis)``; results identical, bit for bit and in dtype,
shape and type, to the call-per-node code; run-time errors still name the
node."""

import re

import numpy as np
import pytest

import tessera as ts
from tessera.compile.backends.numpy import linker


def _chain(x):
    y = x
    for _ in range(3):
        y = ts.sin(y)
        y = y * 1.0001
        y = y + 0.1
    return y


def _body(f) -> list[str]:
    """The node statements of ``f``'s source."""
    return [
        ln.strip()
        for ln in f.source.splitlines()
        if re.match(r"\s+v\d+_\d+(, v\d+_\d+)* = ", ln)
    ]


def test_zero_d_float_chain_uses_operators_and_scalar_constants():
    x = ts.scalar("x")
    f = ts.function([x], _chain(x))
    body = _body(f)
    ops = [ln.split(" = ", 1)[1] for ln in body]
    # sin stays a ufunc call; * and + are operators, not calls
    assert (
        sum(re.fullmatch(r"f\d+\(v\d+_\d+\)|f\d+\(i0\)", e) is not None for e in ops)
        == 3
    )
    assert sum(re.fullmatch(r"v\d+_\d+ [*+] k\d+", e) is not None for e in ops) == 6
    assert len(ops) == 9
    ns = f.raw_fn.__globals__
    consts = sorted(n for n in ns if re.fullmatch(r"k\d+", n))
    assert len(consts) == 2
    for n in consts:
        assert type(ns[n]) is np.float64  # a NumPy scalar, not a 0-d array
    out = f(0.3)
    assert type(out) is np.ndarray and out.shape == () and out.dtype == np.float64


def test_array_chain_keeps_array_constants():
    # against arrays a 0-d array operand is the cheaper one
    x = ts.tensor("x", shape=(8,))
    f = ts.function([x], _chain(x))
    ns = f.raw_fn.__globals__
    assert not any(re.fullmatch(r"k\d+", n) for n in ns)
    assert any(" * c" in ln for ln in _body(f))


def test_indexing_reductions_and_matmul_are_inline():
    x = ts.tensor("x", shape=(8,))
    w = ts.tensor("w", shape=(8, 8))
    out = ts.sum((w @ x)[1:3], axis=0) + x[0]
    col = ts.expand_dims(x, 1) * w
    f = ts.function([w, x], [out, x[::-1][:2], ts.max(x), col])
    src = f.source
    assert (
        "[1:3]" in src and "i1[0]" in src and "i1[::-1]" in src and "i1[:, None]" in src
    )
    assert "i0 @ i1" in src  # a matrix-vector product, fused into one node
    assert re.search(r"= f\d+\(v\d+_\d+, \(0,\)\)", src)  # a reduce, positional


def _reference_fn(inputs, outputs):
    """The same graph compiled with every node a call (no inlining)."""
    orig = linker.numpy_inline
    linker.numpy_inline = lambda op, node: None
    try:
        return ts.function(inputs, outputs)
    finally:
        linker.numpy_inline = orig


def _float_graph(x, y):
    z = (x - 0.5) * 2.0 / (y + 3.0) - x / y
    w = -z + 1.5 * ts.sin(z) - (2.0 - x) * (1.0 / y)
    return [w, z * z, ts.exp(w) / 7.0, -x * 0.5]


def _int_graph(x, y):
    z = x * 3 + 2 - y
    return [z, -z, z * y - x, z // 2, x / 2, (z - y) * 9223372036854775807]


def _bool_graph(x, y):
    return [x + y, x * y, x & ~y, (x | y) ^ x]


GRAPHS = {
    "float64": (_float_graph, lambda r, s: r.uniform(0.5, 2.0, s)),
    "float32": (_float_graph, lambda r, s: r.uniform(0.5, 2.0, s).astype("float32")),
    "int64": (_int_graph, lambda r, s: r.integers(-50, 50, s)),
    "bool": (_bool_graph, lambda r, s: r.random(s) < 0.5),
}


def _same(got, want):
    assert type(got) is type(want) is np.ndarray
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.filterwarnings("ignore:overflow")
@pytest.mark.parametrize("shape", [(), (8,)], ids=["0-d", "(8,)"])
@pytest.mark.parametrize("dtype", list(GRAPHS))
def test_results_bit_identical_to_calls(dtype, shape):
    build, draw = GRAPHS[dtype]
    x = ts.tensor("x", shape=shape, dtype=dtype)
    y = ts.tensor("y", shape=shape, dtype=dtype)
    outs = build(x, y)
    f = ts.function([x, y], outs)
    ref = _reference_fn([x, y], outs)
    assert f.source != ref.source or dtype in ("int64", "bool") and shape == ()
    rng = np.random.default_rng(7)
    for _ in range(20):
        xv, yv = np.asarray(draw(rng, shape)), np.asarray(draw(rng, shape))
        for got, want in zip(f(xv, yv), ref(xv, yv)):
            _same(got, want)


def test_zero_d_integer_and_bool_arithmetic_keep_ufuncs():
    # NumPy's integer scalar math warns on overflow where the ufunc wraps
    for dtype in ("int64", "bool"):
        x = ts.tensor("x", shape=(), dtype=dtype)
        f = ts.function([x], x * x + x)
        assert all(re.search(r"= f\d+\(", ln) for ln in _body(f)), f.source


def test_float32_constants_are_float32_scalars():
    x = ts.tensor("x", shape=(), dtype="float32")
    f = ts.function([x], ts.sin(x) * 1.0001 + 2.0)
    ns = f.raw_fn.__globals__
    ks = [ns[n] for n in ns if re.fullmatch(r"k\d+", n)]
    assert ks and all(type(k) is np.float32 for k in ks)
    v = np.float32(0.25)
    want = np.add(np.multiply(np.sin(v), np.float32(1.0001)), np.float32(2.0))
    _same(f(v), np.asarray(want))


def test_zero_d_outputs_are_fresh_arrays():
    x = ts.tensor("x", shape=(8,))
    s = ts.scalar("s")
    f = ts.function([x, s], [x[0], x[3] * 2.0, s, s * 1.0])
    xv, sv = np.arange(8.0), np.asarray(4.0)
    first, second, s_out, s_mul = f(xv, sv)
    for out in (first, second, s_out, s_mul):
        assert type(out) is np.ndarray and out.shape == ()
    first[()] = 100.0
    s_out[()] = -1.0
    assert xv[0] == 0.0 and sv == 4.0


def test_inline_statement_errors_name_the_node():
    x = ts.tensor("x", shape=(None,))
    f = ts.function([x], x[5] * 2.0)
    assert "i0[5]" in f.source
    with pytest.raises(IndexError, match="Subtensor"):
        f(np.zeros(3))
