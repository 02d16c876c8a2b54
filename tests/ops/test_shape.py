"""Shape ops checked against NumPy, with static and run-time shapes and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.testing import verify_grad

# id -> (tessera fn, NumPy fn, input shapes); each fn takes one or more arrays
CASES = {
    "reshape": (lambda x: ts.reshape(x, (3, 4)), lambda a: a.reshape(3, 4), [(2, 6)]),
    "reshape_minus1": (
        lambda x: ts.reshape(x, (-1, 2)),
        lambda a: a.reshape(-1, 2),
        [(2, 3, 2)],
    ),
    "reshape_method": (lambda x: x.reshape(6, 2), lambda a: a.reshape(6, 2), [(3, 4)]),
    "reshape_to_scalar": (
        lambda x: ts.reshape(x, ()),
        lambda a: a.reshape(()),
        [(1, 1)],
    ),
    "transpose": (ts.transpose, np.transpose, [(2, 3, 4)]),
    "transpose_axes": (
        lambda x: ts.transpose(x, (1, 2, 0)),
        lambda a: np.transpose(a, (1, 2, 0)),
        [(2, 3, 4)],
    ),
    "permute_dims": (
        lambda x: ts.permute_dims(x, (2, 0, 1)),
        lambda a: np.permute_dims(a, (2, 0, 1)),
        [(2, 3, 4)],
    ),
    "T": (lambda x: x.T, lambda a: a.T, [(2, 3)]),
    "mT": (lambda x: x.mT, lambda a: a.mT, [(4, 2, 3)]),
    "swapaxes": (
        lambda x: ts.swapaxes(x, 0, -1),
        lambda a: np.swapaxes(a, 0, -1),
        [(2, 3, 4)],
    ),
    "moveaxis": (
        lambda x: ts.moveaxis(x, 0, -1),
        lambda a: np.moveaxis(a, 0, -1),
        [(2, 3, 4)],
    ),
    "moveaxis_many": (
        lambda x: ts.moveaxis(x, (0, 1), (-1, 0)),
        lambda a: np.moveaxis(a, (0, 1), (-1, 0)),
        [(2, 3, 4, 5)],
    ),
    "expand_dims": (
        lambda x: ts.expand_dims(x, 1),
        lambda a: np.expand_dims(a, 1),
        [(2, 3)],
    ),
    "expand_dims_many": (
        lambda x: ts.expand_dims(x, (0, -1, 2)),
        lambda a: np.expand_dims(a, (0, -1, 2)),
        [(2, 3)],
    ),
    "squeeze_all": (ts.squeeze, np.squeeze, [(1, 3, 1, 2)]),
    "squeeze_axis": (
        lambda x: ts.squeeze(x, -2),
        lambda a: np.squeeze(a, -2),
        [(1, 3, 1, 2)],
    ),
    "broadcast_to": (
        lambda x: ts.broadcast_to(x, (4, 2, 3)),
        lambda a: np.broadcast_to(a, (4, 2, 3)),
        [(2, 1)],
    ),
    "broadcast_arrays": (
        lambda x, y: ts.broadcast_arrays(x, y)[0] * ts.broadcast_arrays(x, y)[1],
        lambda a, b: np.multiply(*np.broadcast_arrays(a, b)),
        [(2, 1, 3), (4, 1)],
    ),
    "concatenate": (
        lambda x, y: ts.concatenate([x, y, x], axis=1),
        lambda a, b: np.concatenate([a, b, a], axis=1),
        [(2, 3), (2, 1)],
    ),
    "concatenate_neg_axis": (
        lambda x, y: ts.concatenate([x, y], axis=-2),
        lambda a, b: np.concatenate([a, b], axis=-2),
        [(2, 3, 2), (2, 1, 2)],
    ),
    "stack": (
        lambda x, y: ts.stack([x, y]),
        lambda a, b: np.stack([a, b]),
        [(2, 3), (2, 3)],
    ),
    "stack_axis": (
        lambda x, y: ts.stack([x, y, x], axis=-1),
        lambda a, b: np.stack([a, b, a], axis=-1),
        [(2, 3), (2, 3)],
    ),
    "stack_scalars": (
        lambda x, y: ts.stack([x, y, x]),
        lambda a, b: np.stack([a, b, a]),
        [(), ()],
    ),
    "split_sections": (
        lambda x: ts.split(x, 3, axis=1)[1],
        lambda a: np.split(a, 3, axis=1)[1],
        [(2, 6)],
    ),
    "split_points": (
        lambda x: ts.split(x, [1, 3])[2] * 2.0 + ts.split(x, [1, 3])[0],
        lambda a: np.split(a, [1, 3])[2] * 2.0 + np.split(a, [1, 3])[0],
        [(4, 2)],
    ),
    "flatten": (ts.flatten, lambda a: a.reshape(-1), [(2, 3, 4)]),
    "flatten_ndim2": (
        lambda x: ts.flatten(x, 2),
        lambda a: a.reshape(2, -1),
        [(2, 3, 4)],
    ),
    "flatten_method": (lambda x: x.flatten(), lambda a: a.flatten(), [(2, 3)]),
    "repeat": (lambda x: ts.repeat(x, 2), lambda a: np.repeat(a, 2), [(2, 3)]),
    "repeat_axis": (
        lambda x: ts.repeat(x, 3, axis=1),
        lambda a: np.repeat(a, 3, axis=1),
        [(2, 2, 2)],
    ),
    "tile": (lambda x: ts.tile(x, 2), lambda a: np.tile(a, 2), [(2, 3)]),
    "tile_more_dims": (
        lambda x: ts.tile(x, (2, 1, 3)),
        lambda a: np.tile(a, (2, 1, 3)),
        [(2, 3)],
    ),
    "flip": (ts.flip, np.flip, [(2, 3)]),
    "flip_axis": (lambda x: ts.flip(x, 1), lambda a: np.flip(a, 1), [(2, 3, 2)]),
}


def _arrays(shapes, rng):
    return [rng.standard_normal(s) for s in shapes]


def _run(fn, arrays, static):
    xs = [ts.tensor(f"x{k}", shape=s) for k, s in enumerate(static)]
    out = fn(*xs)
    return out, ts.function(xs, out)(*arrays)


@pytest.mark.parametrize("name", list(CASES))
def test_shape_op_matches_numpy(name, rng):
    fn, ref, shapes = CASES[name]
    arrays = _arrays(shapes, rng)
    expected = ref(*arrays)
    out, got = _run(fn, arrays, shapes)
    assert out.type.shape == expected.shape
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(CASES))
def test_shape_op_with_unknown_static_shapes(name, rng):
    fn, ref, shapes = CASES[name]
    if name.startswith(("split_points", "squeeze_all", "reshape_to_scalar")):
        # these need static sizes by definition (split points, which dims
        # are 1); they are checked for their build-time errors below
        shapes_static = shapes
    else:
        shapes_static = [(None,) * len(s) for s in shapes]
    arrays = _arrays(shapes, rng)
    out, got = _run(fn, arrays, shapes_static)
    expected = ref(*arrays)
    assert out.ndim == expected.ndim
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(CASES))
def test_shape_op_verify_grad(name, rng):
    fn, _, shapes = CASES[name]
    verify_grad(fn, _arrays(shapes, rng))


@pytest.mark.parametrize("dtype", ["int32", "bool", "float32"])
def test_shape_ops_keep_dtype(dtype):
    a = np.arange(6).reshape(2, 3).astype(dtype)
    x = ts.tensor("x", shape=(2, 3), dtype=dtype)
    outs = [x.T, ts.reshape(x, (3, 2)), ts.expand_dims(x, 0), ts.flip(x, 0)]
    for out, got in zip(outs, ts.function([x], outs)(a)):
        assert out.dtype == dtype
        assert got.dtype == np.dtype(dtype)


def test_concatenate_promotes_like_numpy():
    x = ts.tensor("x", shape=(2,), dtype="int32")
    y = ts.tensor("y", shape=(3,), dtype="float32")
    b = ts.tensor("b", shape=(1,), dtype="bool")
    out = ts.concatenate([x, y, b])
    a = [np.array([1, 2], "int32"), np.ones(3, "float32"), np.array([True])]
    expected = np.concatenate(a)
    assert out.dtype == expected.dtype.name
    got = ts.function([x, y, b], out)(*a)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_concatenate_gradient_keeps_each_input_dtype(rng):
    x = ts.tensor("x", shape=(2,), dtype="float32")
    y = ts.tensor("y", shape=(3,))
    gx, gy = ts.grad(ts.sum(ts.concatenate([x, y]) ** 2), [x, y])
    assert gx.dtype == "float32" and gy.dtype == "float64"
    a, b = np.ones(2, "float32"), np.arange(3.0)
    got = ts.function([x, y], [gx, gy])(a, b)
    np.testing.assert_allclose(got[0], 2 * a)
    np.testing.assert_allclose(got[1], 2 * b)


def test_split_with_symbolic_sizes_and_unused_pieces(rng):
    a = rng.standard_normal((5, 2))
    x = ts.tensor("x", shape=(None, 2))
    n = ts.scalar("n", dtype="int64")
    top, bottom = ts.split(x, ts.as_tensor([n, 5 - n]))
    f = ts.function([x, n], [top, bottom, ts.grad(ts.sum(bottom * 3.0), x)])
    got_top, got_bottom, g = f(a, 2)
    np.testing.assert_array_equal(got_top, a[:2])
    np.testing.assert_array_equal(got_bottom, a[2:])
    np.testing.assert_array_equal(g, np.r_[np.zeros((2, 2)), np.full((3, 2), 3.0)])


def test_split_sizes_that_do_not_add_up_raise_at_run_time():
    x = ts.tensor("x", shape=(None,))
    n = ts.scalar("n", dtype="int64")
    parts = ts.split(x, ts.as_tensor([n, n]))
    with pytest.raises(ValueError, match="do not add up"):
        ts.function([x, n], parts)(np.ones(5), 2)


def test_broadcast_to_runtime_shape_and_gradient(rng):
    a = rng.standard_normal((1, 3))
    x = ts.tensor("x", shape=(None, None))
    n = ts.scalar("n", dtype="int64")
    out = ts.broadcast_to(x, ts.as_tensor([n, 4, 3]))
    g = ts.grad(ts.sum(out * 2.0), x)
    got, gval = ts.function([x, n], [out, g])(a, 2)
    np.testing.assert_array_equal(got, np.broadcast_to(a, (2, 4, 3)))
    np.testing.assert_array_equal(gval, np.full((1, 3), 16.0))


def test_broadcast_arrays_static_shapes():
    xs = ts.broadcast_arrays(ts.zeros((2, 1)), ts.zeros(3), ts.zeros((1, 1, 1)))
    assert [x.type.shape for x in xs] == [(1, 2, 3)] * 3


def test_shape_and_shape_i(rng):
    a = rng.standard_normal((2, 0, 3))
    x = ts.tensor("x", shape=(None, 0, None))
    f = ts.function([x], [x.shape, ts.shape(x), x.shape[2], x.size])
    shp, shp2, last, size = f(a)
    np.testing.assert_array_equal(shp, [2, 0, 3])
    np.testing.assert_array_equal(shp2, [2, 0, 3])
    assert shp.dtype == np.int64
    assert last == 3 and size == 0


def test_reshape_with_symbolic_dims(rng):
    a = rng.standard_normal((2, 6))
    x = ts.tensor("x", shape=(None, None))
    out = ts.reshape(x, (x.shape[1], x.shape[0]))
    np.testing.assert_array_equal(ts.function([x], out)(a), a.reshape(6, 2))
    out2 = x.reshape((-1,))
    assert out2.type.shape == (None,)
    np.testing.assert_array_equal(ts.function([x], out2)(a), a.reshape(-1))


def test_identity_shape_ops_add_no_node():
    x = ts.tensor("x", shape=(2, 3))
    assert ts.reshape(x, (2, 3)) is x
    assert ts.transpose(x, (0, 1)) is x
    assert ts.broadcast_to(x, (2, 3)) is x
    assert ts.squeeze(x) is x
    assert ts.concatenate([x]) is x
    assert ts.expand_dims(x, ()) is x


def test_squeeze_of_a_dim_that_is_not_one_at_run_time_raises():
    x = ts.tensor("x", shape=(None, 3))
    f = ts.function([x], ts.squeeze(x, 0))
    np.testing.assert_array_equal(f(np.ones((1, 3))), np.ones(3))
    with pytest.raises(ValueError):
        f(np.ones((2, 3)))


# --- build-time errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: ts.reshape(x, (5, 5)), r"reshape: cannot reshape .*\(2, 3, 4\)"),
        (lambda x: ts.reshape(x, (5, -1)), r"reshape: cannot reshape \(2, 3, 4\)"),
        (lambda x: ts.reshape(x, (-1, -1)), "reshape: at most one -1"),
        (lambda x: ts.transpose(x, (0, 1)), "transpose: axes"),
        (lambda x: ts.transpose(x, (0, 1, 1)), "transpose: repeated axis"),
        (lambda x: ts.transpose(x, (0, 1, 3)), "transpose: axis 3 is out of range"),
        (lambda x: ts.swapaxes(x, 0, 3), "swapaxes: axis 3 is out of range"),
        (lambda x: ts.moveaxis(x, (0, 1), 2), "moveaxis: source and destination"),
        (lambda x: ts.expand_dims(x, 4), "expand_dims: axis 4 is out of range"),
        (lambda x: ts.squeeze(x, 1), "squeeze: cannot remove axis 1 of size 3"),
        (lambda x: ts.broadcast_to(x, (3, 4)), "broadcast_to: cannot broadcast"),
        (lambda x: ts.broadcast_to(x, (5, 3, 4)), r"broadcast_to: .*\(5, 3, 4\)"),
        (lambda x: ts.concatenate([x, ts.zeros((2, 4))]), "concatenate: all inputs"),
        (lambda x: ts.concatenate([x, ts.zeros((2, 4, 4))]), r"differ in dim 1"),
        (lambda x: ts.concatenate([x, x], axis=3), "concatenate: axis 3 is out"),
        (lambda x: ts.stack([x, ts.zeros((2, 3, 5))]), "differ in dim"),
        (lambda x: ts.split(x, 5, axis=1), "split: axis of size 3 does not divide"),
        (lambda x: ts.split(x, [1, 2], axis=3), "split: axis 3 is out of range"),
        (lambda x: ts.flatten(x, 4), r"flatten: ndim must be in \[1, 3\]"),
        (lambda x: ts.repeat(x, 2.5), "repeat: repeats must be a static int"),
        (lambda x: ts.flip(x, 3), "flip: axis 3 is out of range"),
    ],
)
def test_build_time_errors(call, match):
    x = ts.tensor("x", shape=(2, 3, 4))
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


def test_concatenate_of_scalars_is_an_error():
    with pytest.raises(ValueError, match="zero-dimensional"):
        ts.concatenate([ts.scalar("a"), ts.scalar("b")])
