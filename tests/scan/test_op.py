"""Scan against hand-written Python recursions, on both backends."""

import numpy as np
import pytest

import tessera as ts
from tessera.graph.evaluate import perform_node
from tessera.scan import Scan
from tessera.testing import compare_backends

RNG = np.random.default_rng(0)


def cumprod(x):
    ys, _ = ts.scan(
        lambda xt, acc: acc * xt, sequences=[x], outputs_info=[ts.constant(1.0)]
    )
    return ys


def cumprod_ref(x):
    out, acc = [], 1.0
    for v in x:
        acc = acc * v
        out.append(acc)
    return np.array(out)


def ar2(x, a):
    init = ts.constant(np.array([0.3, -0.2]))
    ys, _ = ts.scan(
        lambda xt, p1, p2, a: a[0] * p1 + a[1] * p2 + xt,
        sequences=[x],
        outputs_info=[{"initial": init, "taps": [-1, -2]}],
        non_sequences=[a],
        name="ar2",
    )
    return ys


def ar2_ref(x, a):
    hist = [0.3, -0.2]  # x[-2], x[-1]
    for v in x:
        hist.append(a[0] * hist[-1] + a[1] * hist[-2] + v)
    return np.array(hist[2:])


def two_outputs(x, h0):
    # a running sum and a running (sum-weighted) product; the second reads
    # both previous values
    (s, p), _ = ts.scan(
        lambda xt, s, p: [s + xt, p * ts.tanh(s) + xt],
        sequences=[x],
        outputs_info=[h0, h0],
    )
    return [s, p]


def two_outputs_ref(x, h0):
    s, p, ss, ps = h0, h0, [], []
    for v in x:
        s, p = s + v, p * np.tanh(s) + v
        ss.append(s)
        ps.append(p)
    return [np.array(ss), np.array(ps)]


def rnn(x, h0, w):
    ys, _ = ts.scan(
        lambda xt, h, w: ts.tanh(w @ h + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[w],
    )
    return ys


def rnn_ref(x, h0, w):
    out, h = [], h0
    for v in x:
        h = np.tanh(w @ h + v)
        out.append(h)
    return np.array(out)


def seq_taps(x):
    # a centred difference: sequence taps -1 and +1
    ys, _ = ts.scan(
        lambda prev, nxt: (nxt - prev) / 2.0, sequences=[{"input": x, "taps": [-1, 1]}]
    )
    return ys


def seq_taps_ref(x):
    return (x[2:] - x[:-2]) / 2.0


CASES = [
    ("cumprod", cumprod, cumprod_ref, [RNG.uniform(0.5, 1.5, 6)]),
    ("ar2", ar2, ar2_ref, [RNG.standard_normal(7), np.array([0.5, -0.3])]),
    ("two_outputs", two_outputs, two_outputs_ref, [RNG.standard_normal(5), 0.2]),
    (
        "rnn",
        rnn,
        rnn_ref,
        [RNG.standard_normal((5, 3)), RNG.standard_normal(3), 0.5 * np.eye(3)],
    ),
    ("sequence_taps", seq_taps, seq_taps_ref, [RNG.standard_normal(6)]),
]


@pytest.mark.parametrize(
    "fn, ref, args", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_values_on_both_backends(fn, ref, args):
    args = [np.asarray(a, dtype=float) for a in args]
    got = compare_backends(fn, args, grad=False)
    expected = ref(*args)
    expected = expected if isinstance(expected, list) else [expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.mark.parametrize(
    "fn, ref, args", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_reference_perform(fn, ref, args):
    # the op's own perform (the reference the backends are checked against)
    args = [np.asarray(a, dtype=float) for a in args]
    sym = [ts.constant(a) for a in args]
    outs = fn(*sym)
    outs = outs if isinstance(outs, list) else [outs]
    node = outs[0].owner
    assert isinstance(node.op, Scan)
    values = ts.function([], node.inputs)()
    got = perform_node(node, values)
    expected = ref(*args)
    expected = expected if isinstance(expected, list) else [expected]
    for o, e in zip(outs, expected):
        np.testing.assert_allclose(got[o.index], e, rtol=1e-12)


def _doubling(n):
    ys, _ = ts.scan(lambda p: p * 2.0, outputs_info=[ts.constant(1.0)], n_steps=n)
    return ys


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_n_steps_without_sequences(backend):
    f = ts.function([], _doubling(4), backend=backend)
    np.testing.assert_array_equal(np.asarray(f()), [2.0, 4.0, 8.0, 16.0])


def test_symbolic_n_steps():
    n = ts.scalar("n", dtype="int64")
    f = ts.function([n], _doubling(n))
    np.testing.assert_array_equal(f(3), [2.0, 4.0, 8.0])
    assert f(0).shape == (0,)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_n_steps_from_a_shape(backend):
    # n_steps computed from a shape is known while tracing, so JAX runs it too
    x = ts.tensor("x", shape=(None, 2))
    ys = _doubling(ts.shape(x)[0] + 1)
    np.testing.assert_array_equal(
        np.asarray(ts.function([x], ys, backend=backend)(np.zeros((2, 2)))),
        [2.0, 4.0, 8.0],
    )


def test_jax_needs_n_steps_known_while_tracing():
    from tessera.compile.backends.jax import JaxLoweringError

    n = ts.scalar("n", dtype="int64")
    with pytest.raises(JaxLoweringError, match="Scan"):
        ts.function([n], _doubling(n), backend="jax")


def test_n_steps_shortens_sequences():
    x = ts.tensor("x", shape=(5,))
    ys, _ = ts.scan(lambda xt: xt * 10.0, sequences=[x], n_steps=3)
    assert ys.type.shape == (3,)
    np.testing.assert_array_equal(ys.eval({x: np.arange(5.0)}), [0.0, 10.0, 20.0])


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_not_fed_back_output_and_free_variables(backend):
    # `scale` is used without being passed: it becomes a non-sequence
    x = ts.tensor("x", shape=(None, 2))
    scale = ts.tensor("scale", shape=())
    (acc, sq), _ = ts.scan(
        lambda xt, acc: [acc + xt * scale, (xt**2).sum()],
        sequences=[x],
        outputs_info=[ts.zeros(2), None],
    )
    xv = np.arange(6.0).reshape(3, 2)
    a, s = ts.function([x, scale], [acc, sq], backend=backend)(xv, 2.0)
    np.testing.assert_allclose(np.asarray(a), np.cumsum(2.0 * xv, axis=0))
    np.testing.assert_allclose(np.asarray(s), (xv**2).sum(axis=1))


def test_run_time_length_checks():
    x = ts.tensor("x", shape=(None,))
    n = ts.scalar("n", dtype="int64")
    ys, _ = ts.scan(lambda xt: xt + 1.0, sequences=[x], n_steps=n, name="loop")
    f = ts.function([x, n], ys)
    with pytest.raises(ValueError, match=r"scan 'loop': sequence 0 has 2 rows"):
        f(np.zeros(2), 3)
    init = ts.tensor("init", shape=(None,))
    ys, _ = ts.scan(
        lambda p1, p2: p1 + p2,
        outputs_info=[{"initial": init, "taps": [-1, -2]}],
        n_steps=3,
    )
    with pytest.raises(ValueError, match=r"taps \[-1, -2\], which need 2 initial"):
        ts.function([init], ys)(np.zeros(1))
