"""Property tests: tessera broadcasting agrees with NumPy's.

Random broadcastable shape pairs (some dims static, some known only at run
time) give the same shapes and values as NumPy for add, mul and where;
random incompatible static pairs raise at graph-build time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tessera as ts

SETTINGS = settings(max_examples=30, deadline=None)


def _static(shape, hide):
    """Static shape with the dims flagged in ``hide`` made unknown (None)."""
    return tuple(None if h else s for s, h in zip(shape, hide))


@st.composite
def broadcastable_pair(draw):
    shapes = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=4, max_side=4
        )
    )
    hides = [
        draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s)))
        for s in shapes.input_shapes
    ]
    return shapes.input_shapes, shapes.result_shape, hides


@SETTINGS
@given(broadcastable_pair(), st.sampled_from(["add", "mul"]))
def test_binary_broadcasting_matches_numpy(pair, name):
    (sa, sb), result, (ha, hb) = pair
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    x = ts.tensor("x", shape=_static(sa, ha))
    y = ts.tensor("y", shape=_static(sb, hb))
    out = getattr(ts, name)(x, y)
    assert out.ndim == len(result)
    for static, actual in zip(out.type.shape, result):
        assert static is None or static == actual
    if not any(ha) and not any(hb):
        assert out.type.shape == result
    expected = getattr(np, {"add": "add", "mul": "multiply"}[name])(a, b)
    got = ts.function([x, y], out)(a, b)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected)


@SETTINGS
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    st.data(),
)
def test_where_broadcasting_matches_numpy(shapes, data):
    rng = np.random.default_rng(1)
    sc, sa, sb = shapes.input_shapes
    cond = rng.random(sc) < 0.5
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    hides = [
        data.draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s)))
        for s in (sc, sa, sb)
    ]
    c = ts.tensor("c", shape=_static(sc, hides[0]), dtype="bool")
    x = ts.tensor("x", shape=_static(sa, hides[1]))
    y = ts.tensor("y", shape=_static(sb, hides[2]))
    out = ts.where(c, x, y)
    expected = np.where(cond, a, b)
    got = ts.function([c, x, y], out)(cond, a, b)
    assert got.shape == expected.shape == shapes.result_shape
    np.testing.assert_array_equal(got, expected)


@SETTINGS
@given(broadcastable_pair())
def test_gradients_are_summed_back_to_runtime_shapes(pair):
    (sa, sb), result, (ha, hb) = pair
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    x = ts.tensor("x", shape=_static(sa, ha))
    y = ts.tensor("y", shape=_static(sb, hb))
    gx, gy = ts.function([x, y], ts.grad(ts.sum(x * y), [x, y]))(a, b)
    assert gx.shape == a.shape and gy.shape == b.shape
    # d/dx sum(x * y) is y broadcast to the result and summed back to x
    full_b = np.broadcast_to(b, result)
    full_a = np.broadcast_to(a, result)
    np.testing.assert_allclose(gx, _sum_to(full_b, sa))
    np.testing.assert_allclose(gy, _sum_to(full_a, sb))


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, s in enumerate(shape) if s == 1 and g.shape[k] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


@st.composite
def incompatible_pair(draw):
    """Two static shapes that NumPy refuses to broadcast."""
    nd = draw(st.integers(1, 4))
    a = draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd))
    b = list(a)
    k = draw(st.integers(0, nd - 1))
    bad = draw(st.integers(2, 5).filter(lambda v: v != a[k]))
    if a[k] == 1:
        a[k] = draw(st.integers(2, 5).filter(lambda v: v != bad))
    b[k] = bad
    lead = draw(st.integers(0, 2))
    b = draw(st.lists(st.integers(1, 3), min_size=lead, max_size=lead)) + b
    if draw(st.booleans()):
        a, b = b, a
    return tuple(a), tuple(b)


@SETTINGS
@given(incompatible_pair(), st.sampled_from(["add", "mul", "where"]))
def test_incompatible_static_shapes_raise_at_build_time(pair, name):
    sa, sb = pair
    with pytest.raises(ValueError):
        np.broadcast_shapes(sa, sb)
    x, y = ts.tensor("x", shape=sa), ts.tensor("y", shape=sb)
    with pytest.raises(ValueError, match="cannot be broadcast") as info:
        if name == "where":
            ts.where(ts.tensor("c", shape=(), dtype="bool"), x, y)
        else:
            getattr(ts, name)(x, y)
    assert name in str(info.value)


@SETTINGS
@given(broadcastable_pair(), st.data())
def test_runtime_shape_mismatch_is_an_error(pair, data):
    """Unknown dims that turn out incompatible fail when called, not silently."""
    (sa, sb), result, _ = pair
    assume(len(sa) > 0 and len(sb) > 0)
    # make the last dims disagree at run time: sizes p and q, both > 1
    p = data.draw(st.integers(2, 4))
    q = data.draw(st.integers(2, 4).filter(lambda v: v != p))
    bad_a, bad_b = sa[:-1] + (p,), sb[:-1] + (q,)
    x = ts.tensor("x", shape=(None,) * len(sa))
    y = ts.tensor("y", shape=(None,) * len(sb))
    f = ts.function([x, y], x + y)
    with pytest.raises(ValueError):
        f(np.zeros(bad_a), np.zeros(bad_b))
