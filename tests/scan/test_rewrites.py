"""Each Scan rewrite changes the graph as it says and keeps the values."""

import numpy as np
import pytest

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


def _bptt_grad_w(x, h0, w):
    """d/dW of sum_t sum(h_t), h_t = tanh(W h_{t-1} + x_t), by hand."""
    hs = [h0]
    for xt in x:
        hs.append(np.tanh(w @ hs[-1] + xt))
    gw, gh = np.zeros_like(w), np.zeros_like(h0)
    for t in range(len(x), 0, -1):
        ga = (1.0 + gh) * (1.0 - hs[t] ** 2)
        gw += np.outer(ga, hs[t - 1])
        gh = w.T @ ga
    return gw


def _accumulating_carries(node):
    info = node.op.info
    return node.op.inner_outputs[info.n_mit + info.n_nit :]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("n", [0, 1, 7])
def test_summed_products_leave_the_loop(backend, n):
    # backpropagation through time accumulates outer(g_t, h_{t-1}) into
    # dW at every step; the rewrite keeps g_t and h_{t-1} and sums once
    x = ts.tensor("x", shape=(None, 3))
    h0 = ts.tensor("h0", shape=(3,))
    w = ts.tensor("w", shape=(3, 3))
    hs, _ = ts.scan(
        lambda xt, h, w: ts.tanh(w @ h + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[w],
    )
    gw = ts.grad(hs.sum(), w)
    f = ts.function([x, h0, w], gw, backend=backend)
    back = [s for s in _scans(f) if s.op.info.name.startswith("grad_of")]
    assert len(back) == 1
    # only the (3,) cotangent owed to h_{t-1} is still carried, not a (3, 3) sum
    assert [c.type.shape for c in _accumulating_carries(back[0])] == [(3,)]
    rng = np.random.default_rng(n)
    args = (
        rng.standard_normal((n, 3)),
        rng.standard_normal(3),
        rng.standard_normal((3, 3)),
    )
    np.testing.assert_allclose(f(*args), _bptt_grad_w(*args), rtol=1e-12, atol=1e-14)


def test_summed_products_wider_than_the_sum_stay_in_the_loop():
    # d/dw of sum_t sum(tanh(w @ x_t^T)) adds (2, 8) @ (8, 5) at every step:
    # the factors hold more than their (2, 5) product, so the sum stays
    x = ts.tensor("x", shape=(None, 8, 5))
    w = ts.tensor("w", shape=(2, 5))
    ys, _ = ts.scan(
        lambda xt, w: ts.tanh(w @ xt.T).sum(), sequences=[x], non_sequences=[w]
    )
    f = ts.function([x, w], ts.grad(ys.sum(), w))
    back = [s for s in _scans(f) if s.op.info.name.startswith("grad_of")]
    assert [c.type.shape for c in _accumulating_carries(back[0])] == [(2, 5)]
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((4, 8, 5)), rng.standard_normal((2, 5))
    expect = sum((1 - np.tanh(wv @ m.T) ** 2) @ m for m in xv)
    np.testing.assert_allclose(f(xv, wv), expect, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_map_of_sequences_leaves_the_loop(backend):
    # exp(x_t) * w reads no state: computed once over all of x, after the loop
    x = ts.tensor("x", shape=(5, 3))
    w = ts.tensor("w", shape=(3,))
    (total, mapped), _ = ts.scan(
        lambda xt, acc, w: [acc + xt, ts.exp(xt) * w],
        sequences=[x],
        outputs_info=[ts.zeros(3), None],
        non_sequences=[w],
    )
    f = ts.function([x, w], [total, mapped], backend=backend)
    (node,) = _scans(f)
    assert (node.op.info.n_mit, node.op.info.n_nit) == (1, 0)
    assert "exp" not in _inner_ops(node)
    args = (np.arange(15.0).reshape(5, 3) / 10, np.array([1.0, 2.0, 3.0]))
    plain = ts.function([x, w], [total, mapped], rewrites="none")
    for got, want in zip(f(*args), plain(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_shape_change_of_a_step_value_is_made_after_the_loop(backend):
    x = ts.tensor("x", shape=(4, 3))
    (hs, cols), _ = ts.scan(
        lambda xt, h: [ts.tanh(h + xt), ts.expand_dims(ts.tanh(h + xt), 1)],
        sequences=[x],
        outputs_info=[ts.zeros(3), None],
    )
    f = ts.function([x], [hs, cols], backend=backend)
    (node,) = _scans(f)
    assert not any("ExpandDims" in op for op in _inner_ops(node))
    xv = np.arange(12.0).reshape(4, 3) / 10
    got_h, got_c = f(xv)
    assert got_c.shape == (4, 3, 1)
    np.testing.assert_allclose(got_c[..., 0], got_h, rtol=1e-14)
    want = ts.function([x], [hs, cols], rewrites="none")(xv)
    np.testing.assert_allclose(got_c, want[1], rtol=1e-14)


def test_map_of_a_sequence_of_unknown_length_keeps_the_length_check():
    # leaving the loop would drop y's check against n_steps: it stays
    x = ts.tensor("x", shape=(None,))
    y = ts.tensor("y", shape=(None,))
    (total, mapped), _ = ts.scan(
        lambda xt, yt, acc: [acc + xt, ts.exp(yt)],
        sequences=[x, y],
        outputs_info=[ts.constant(0.0), None],
    )
    f = ts.function([x, y], [total, mapped])
    (node,) = _scans(f)
    assert node.op.info.n_nit == 1
    with pytest.raises(ValueError, match="sequence 1 has 2 rows"):
        f(np.ones(3), np.ones(2))
