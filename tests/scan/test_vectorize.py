"""A batch of scans is one Scan over batched states."""

import numpy as np
import pytest

import tessera as ts
from tessera.scan import Scan

from .test_op import rnn, rnn_ref


def _scans(f):
    return [n for n in f.fg.toposort() if isinstance(n.op, Scan)]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_vectorize_gives_one_batched_loop(backend):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 5, 3))
    h0 = rng.standard_normal(3)
    w = 0.5 * rng.standard_normal((4, 3, 3))
    batched = ts.vectorize(rnn, signature="(t,n),(n),(n,n)->(t,n)")
    x = ts.tensor("x", shape=(4, 5, 3))
    h = ts.tensor("h", shape=(3,))  # shared by the batch: broadcast as a state
    W = ts.tensor("W", shape=(None, 3, 3))
    f = ts.function([x, h, W], batched(x, h, W), backend=backend)
    out = np.asarray(f(xs, h0, w))
    assert out.shape == (4, 5, 3)
    for b in range(4):
        np.testing.assert_allclose(out[b], rnn_ref(xs[b], h0, w[b]), rtol=1e-12)
    if backend == "numpy":
        (node,) = _scans(f)  # one loop, no loop over the batch
        assert node.outputs[0].ndim == 3  # (time, batch, state) inside


def test_vectorized_gradient():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((3, 4))
    x = ts.tensor("x", shape=(4,))
    a = ts.scalar("a")
    ys, _ = ts.scan(
        lambda xt, p, a: a * p + xt,
        sequences=[x],
        outputs_info=[ts.constant(0.0)],
        non_sequences=[a],
    )
    g = ts.grad((ys**2).sum(), a)
    xb = ts.tensor("xb", shape=(3, 4))
    gb = ts.vectorize_graph(g, {x: xb})
    f = ts.function([xb, a], gb)
    single = ts.function([x, a], g)
    np.testing.assert_allclose(f(xs, 0.6), [single(r, 0.6) for r in xs], rtol=1e-12)
    # the same loops as for one sequence (forward and backward), batched
    assert len(_scans(f)) == len(_scans(single)) == 2


def test_batched_n_steps_is_refused():
    n = ts.scalar("n", dtype="int64")
    ys, _ = ts.scan(lambda p: p + 1.0, outputs_info=[ts.constant(0.0)], n_steps=n)
    with pytest.raises(NotImplementedError, match="cannot batch n_steps"):
        ts.vectorize_graph(ys, {n: ts.tensor("nb", shape=(2,), dtype="int64")})
