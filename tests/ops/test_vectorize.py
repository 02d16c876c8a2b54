"""vectorize_graph / vectorize against a per-batch-element NumPy loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts


def _loop(fn, *arrays, batch_ndim=1):
    batch = np.broadcast_shapes(*[a.shape[:batch_ndim] for a in arrays])
    arrays = [np.broadcast_to(a, batch + a.shape[batch_ndim:]) for a in arrays]
    return np.stack([fn(*[a[i] for a in arrays]) for i in np.ndindex(*batch)]).reshape(
        batch + np.shape(fn(*[a[(0,) * batch_ndim] for a in arrays]))
    )


CORE_GRAPHS = {
    # name: (tessera core fn, numpy core fn, core shapes)
    "softmax": (
        lambda x: ts.exp(x) / ts.exp(x).sum(),
        lambda x: np.exp(x) / np.exp(x).sum(),
        [(4,)],
    ),
    "centered_outer": (
        lambda x, y: ts.expand_dims(x - x.mean(), 1) * y,
        lambda x, y: (x - x.mean())[:, None] * y,
        [(3,), (2,)],
    ),
    "reductions": (
        lambda x: ts.stack(
            [x.max(axis=0).sum(), ts.logsumexp(x, axis=1).mean(), x.var()]
        ),
        lambda x: np.stack(
            [x.max(axis=0).sum(), np.log(np.exp(x).sum(1)).mean(), x.var()]
        ),
        [(3, 2)],
    ),
    "shape_ops": (
        lambda x: ts.concatenate(
            [
                ts.reshape(ts.transpose(x), (-1,)),
                ts.flatten(x)[::-1],
                ts.cumsum(x, axis=0)[0],
            ]
        ),
        lambda x: np.concatenate(
            [x.T.reshape(-1), x.reshape(-1)[::-1], np.cumsum(x, 0)[0]]
        ),
        [(2, 3)],
    ),
    "broadcast_and_alloc": (
        lambda x, s: ts.broadcast_to(x, (2, 3)) * s + ts.zeros((2, 3)),
        lambda x, s: np.broadcast_to(x, (2, 3)) * s,
        [(3,), ()],
    ),
    "split_squeeze": (
        lambda x: ts.split(x, [1], axis=0)[1].squeeze(0) * ts.expand_dims(x[0, 0], 0),
        lambda x: x[1] * x[0, 0],
        [(2, 3)],
    ),
}


@pytest.mark.parametrize("name", CORE_GRAPHS)
@pytest.mark.parametrize("batch", [(5,), (2, 3)])
def test_vectorize_graph_matches_loop(name, batch):
    tfn, nfn, shapes = CORE_GRAPHS[name]
    rng = np.random.default_rng(0)
    core = [ts.tensor(f"c{k}", shape=s) for k, s in enumerate(shapes)]
    out = tfn(*core)
    values = [rng.normal(size=batch + s) for s in shapes]
    batched = [ts.tensor(f"b{k}", shape=v.shape) for k, v in enumerate(values)]
    vout = ts.vectorize_graph(out, dict(zip(core, batched)))
    got = ts.function(batched, vout)(*values)
    np.testing.assert_allclose(
        got, _loop(nfn, *values, batch_ndim=len(batch)), rtol=1e-10
    )


def test_vectorize_graph_only_some_inputs_batched():
    x = ts.tensor("x", shape=(3,))
    y = ts.tensor("y", shape=(3,))
    out = (x * y).sum() + y.max()
    xb = ts.tensor("xb", shape=(4, 3))
    vout = ts.vectorize_graph(out, {x: xb})
    rng = np.random.default_rng(1)
    xv, yv = rng.normal(size=(4, 3)), rng.normal(size=3)
    np.testing.assert_allclose(vout.eval({xb: xv, y: yv}), xv @ yv + yv.max())


def test_vectorize_graph_gradients():
    x = ts.tensor("x", shape=(3,))
    g = ts.grad((ts.exp(x) / ts.exp(x).sum()).max() + (x**2).sum(), x)
    xb = ts.tensor("xb", shape=(None, 3))
    gb = ts.vectorize_graph(g, {x: xb})
    rng = np.random.default_rng(2)
    xv = rng.normal(size=(6, 3))
    per_row = ts.function([x], g)
    np.testing.assert_allclose(gb.eval({xb: xv}), np.stack([per_row(r) for r in xv]))


def test_vectorize_signature_and_composition():
    def f(x, w):
        return (x * w).sum() / w.sum()

    vf = ts.vectorize(f, signature="(n),(n)->()")
    vvf = ts.vectorize(vf, signature="(m,n),(n)->(m)")
    rng = np.random.default_rng(3)
    xv, wv = rng.normal(size=(2, 4, 3)), rng.uniform(1, 2, size=3)
    assert vf(ts.constant(xv[0]), ts.constant(wv)).type.shape == (4,)
    out = vvf(ts.constant(xv), ts.constant(wv))
    assert out.type.shape == (2, 4)
    np.testing.assert_allclose(out.eval(), (xv * wv).sum(-1) / wv.sum())


def test_vectorize_without_signature_is_elementwise():
    vf = ts.vectorize(lambda a, b: ts.maximum(a, b) ** 2)
    out = vf(ts.constant(np.arange(3.0)), ts.constant(np.ones((2, 1))))
    np.testing.assert_allclose(
        out.eval(), np.maximum(np.arange(3.0), np.ones((2, 1))) ** 2
    )


def test_vectorize_errors():
    vf = ts.vectorize(lambda x: x.sum(), signature="(n,n)->()")
    with pytest.raises(ValueError, match="needs at least 2 dims"):
        vf(ts.ones(3))
    bad = ts.vectorize(lambda x: x, signature="(n)->()")
    with pytest.raises(ValueError, match="core shapes"):
        bad(ts.ones((2, 3)))
    x = ts.tensor("x", shape=(3,))
    with pytest.raises(ValueError, match="core shape"):
        ts.vectorize_graph(x * 2, {x: ts.tensor("y", shape=(2, 4))})


@settings(max_examples=25, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    n=st.integers(1, 4),
)
def test_hypothesis_random_batch_shapes(batch, n):
    rng = np.random.default_rng(len(batch) * 10 + n)
    x = ts.tensor("x", shape=(n,))
    out = ts.logsumexp(x) - x.mean() + x[::-1].cumsum().max()
    xv = rng.normal(size=tuple(batch) + (n,))
    xb = ts.tensor("xb", shape=xv.shape)
    got = ts.vectorize_graph(out, {x: xb}).eval({xb: xv})

    def ref(v):
        return np.log(np.exp(v).sum()) - v.mean() + np.cumsum(v[::-1]).max()

    expected = np.apply_along_axis(ref, -1, xv) if batch else ref(xv)
    np.testing.assert_allclose(got, expected)
