"""Each Scan rewrite changes the graph as it says and keeps the values."""

import numpy as np

import tessera as ts
from tessera.graph.traversal import toposort
from tessera.scan import Scan


def _scans(f):
    return [n for n in f.fg.toposort() if isinstance(n.op, Scan)]


def _inner_ops(node):
    return [str(n.op) for n in toposort(node.op.inner_outputs)]


def test_loop_invariant_moves_out():
    x = ts.tensor("x", shape=(None,))
    h0 = ts.tensor("h0", shape=(3,))
    w = ts.tensor("w", shape=(3, 3))
    ys, _ = ts.scan(
        lambda xt, h, w: ts.tanh(ts.exp(w) @ h + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[w],
    )
    assert "exp" in _inner_ops(ys.owner)
    f = ts.function([x, h0, w], ys)
    (node,) = _scans(f)
    assert "exp" not in _inner_ops(node)
    assert any(str(n.op) == "exp" for n in f.fg.toposort())  # computed once
    args = (np.arange(4.0), np.full(3, 0.1), 0.1 * np.eye(3))
    plain = ts.function([x, h0, w], ys, rewrites="none")
    np.testing.assert_allclose(f(*args), plain(*args), rtol=1e-14)


def test_two_loops_over_the_same_steps_merge():
    x = ts.tensor("x", shape=(None,))
    sums, _ = ts.scan(
        lambda xt, a: a + xt, sequences=[x], outputs_info=[ts.constant(0.0)]
    )
    prods, _ = ts.scan(
        lambda xt, a: a * xt, sequences=[x], outputs_info=[ts.constant(1.0)]
    )
    f = ts.function([x], [sums, prods])
    (node,) = _scans(f)
    assert node.op.info.n_seqs == 1  # the shared sequence is read once
    assert node.op.info.n_mit == 2
    s, p = f(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(s, [1.0, 3.0, 6.0])
    np.testing.assert_array_equal(p, [1.0, 2.0, 6.0])


def test_dependent_loops_do_not_merge():
    x = ts.tensor("x", shape=(None,))
    sums, _ = ts.scan(
        lambda xt, a: a + xt, sequences=[x], outputs_info=[ts.constant(0.0)]
    )
    again, _ = ts.scan(
        lambda st, a: a + st, sequences=[sums], outputs_info=[ts.constant(0.0)]
    )
    f = ts.function([x], again)
    assert len(_scans(f)) == 2
    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0])), [1.0, 4.0, 10.0])


def test_unused_output_is_removed():
    x = ts.tensor("x", shape=(None,))
    y = ts.tensor("y", shape=(None,))
    (total, doubled), _ = ts.scan(
        lambda xt, yt, acc: [acc + yt, xt * 2.0],
        sequences=[x, y],
        outputs_info=[ts.constant(0.0), None],
    )
    f = ts.function([x, y], doubled)
    (node,) = _scans(f)
    info = node.op.info
    assert (info.n_mit, info.n_nit, info.n_seqs) == (0, 1, 1)  # y is gone too
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]), np.zeros(2)), [2.0, 4.0])


def test_recurrent_output_read_by_a_kept_one_stays():
    x = ts.tensor("x", shape=(None,))
    (acc, scaled), _ = ts.scan(
        lambda xt, a: [a + xt, a * 10.0],
        sequences=[x],
        outputs_info=[ts.constant(0.0), None],
    )
    f = ts.function([x], scaled)
    (node,) = _scans(f)
    assert node.op.info.n_mit == 1
    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0])), [0.0, 10.0, 30.0])
