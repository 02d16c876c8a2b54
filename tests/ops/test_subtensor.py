"""Indexing (getitem, set_subtensor, inc_subtensor) checked against NumPy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts
from tessera.ops.advanced_subtensor import (
    AdvancedIncSubtensor,
    AdvancedSubtensor,
    may_repeat,
)
from tessera.ops.indexing import parse_index, slice_length
from tessera.ops.shape import ShapeI, make_vector, shape_tuple
from tessera.ops.subtensor import IncSubtensor, Subtensor, getitem
from tessera.ops.vectorize import vectorize_graph
from tessera.testing import verify_grad

SHAPE = (4, 5, 3)
_M45 = np.array(
    [[1, 0, 1, 1, 0], [0, 0, 0, 0, 1], [1, 1, 0, 0, 0], [0, 1, 0, 1, 0]], dtype=bool
)

# index expressions on an array of shape SHAPE
INDICES = {
    "int": 1,
    "neg_int": -1,
    "two_ints": (1, 2),
    "three_neg_ints": (-1, -2, -3),
    "slice": slice(1, 3),
    "reverse": slice(None, None, -1),
    "neg_step": slice(3, 0, -2),
    "neg_start": slice(-2, None),
    "clipped_stop": (slice(None), slice(2, 99)),
    "inner_neg_step": (slice(None), slice(4, 1, -1)),
    "newaxis": None,
    "newaxis_int": (None, 0),
    "ellipsis_newaxis": (Ellipsis, None),
    "int_ellipsis_int": (0, Ellipsis, 1),
    "ellipsis": Ellipsis,
    "empty_tuple": (),
    "int_list": [0, 2],
    "neg_int_array": np.array([-1, 0, 3]),
    "repeated": [1, 1, 0],
    "int_array_2d": np.array([[0, 1], [3, 3]]),
    "broadcast_arrays": ([[0], [1]], [0, 2, 4]),
    "separated": ([0, 1], slice(None), [1, 2]),
    "adjacent": (slice(None), [0, 1], [1, 2]),
    "int_and_array_separated": (0, slice(None), [1, 2]),
    "int_and_array_adjacent": (slice(None), 0, [1, 2]),
    "ellipsis_separates": ([1], Ellipsis, [0]),
    "newaxis_separates": ([0, 1], None, [1, 2]),
    "array_slice_newaxis": (np.array([[0, 1], [2, 3]]), slice(None, None, -1), None),
    "mask_first_axis": np.array([True, False, True, True]),
    "mask_two_axes": _M45,
    "mask_after_slice": (slice(None), np.array([0, 1, 1, 0, 1], dtype=bool)),
    "mask_and_array": (np.array([True, False, True, False]), slice(None), [0, 2]),
    "mask_all": np.arange(60).reshape(SHAPE) % 7 == 0,
    "zero_slice": slice(2, 2),
    "zero_past_end": slice(5, None),
    "zero_reverse": slice(0, 3, -1),
    "empty_list": [],
    "empty_array": (slice(None), np.zeros(0, dtype=np.int64)),
    "mask_none": np.zeros(4, dtype=bool),
}


@pytest.fixture
def value(rng):
    return rng.standard_normal(SHAPE)


@pytest.mark.parametrize("static", [True, False], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", INDICES)
def test_getitem_matches_numpy(name, static, value):
    idx = INDICES[name]
    x = ts.tensor("x", shape=SHAPE if static else (None,) * 3)
    y = x[idx]
    expected = value[idx]
    got = y.eval({x: value})
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype
    assert y.ndim == expected.ndim
    for s, e in zip(y.type.shape, expected.shape):
        assert s is None or s == e
    if static and not (isinstance(idx, np.ndarray) and idx.dtype == bool):
        # every dim is known statically when x's shape and the index are
        assert y.type.shape == expected.shape


def _symbolic_arrays(idx):
    """``idx`` with every index array replaced by a symbolic input."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    sym, values = [], []
    for k, e in enumerate(idx):
        if isinstance(e, list | np.ndarray):
            arr = np.asarray(e, dtype=None if np.size(e) else np.int64)
            var = ts.tensor(f"i{k}", shape=(None,) * arr.ndim, dtype=arr.dtype)
            sym.append(var)
            values.append((var, arr))
        else:
            sym.append(e)
    return tuple(sym), values


@pytest.mark.parametrize(
    "name", [n for n in INDICES if _symbolic_arrays(INDICES[n])[1]]
)
def test_getitem_with_symbolic_index_arrays(name, value):
    idx, arrays = _symbolic_arrays(INDICES[name])
    x = ts.tensor("x", shape=SHAPE)
    y = x[idx]
    f = ts.function([x] + [v for v, _ in arrays], y)
    expected = value[INDICES[name]]
    np.testing.assert_array_equal(f(value, *[a for _, a in arrays]), expected)
    for s, e in zip(y.type.shape, expected.shape):
        assert s is None or s == e
    inc = ts.function([x] + [v for v, _ in arrays], ts.inc_subtensor(y, 1.0))
    np.testing.assert_array_equal(
        inc(value, *[a for _, a in arrays]),
        _numpy_update(value, INDICES[name], 1.0, False),
    )


def test_list_of_symbolic_scalars_is_an_index_array(value):
    x = ts.tensor("x", shape=SHAPE)
    i, j = ts.scalar("i", dtype="int64"), ts.scalar("j", dtype="int64")
    y = x[[i, j, 0]]
    assert isinstance(y.owner.op, AdvancedSubtensor) and y.type.shape == (3, 5, 3)
    np.testing.assert_array_equal(y.eval({x: value, i: 2, j: -1}), value[[2, -1, 0]])


@pytest.mark.parametrize("name", INDICES)
def test_infer_shape_matches_run_time_shape(name, value):
    x = ts.tensor("x", shape=(None,) * 3)
    y = x[INDICES[name]]
    node = y.owner
    in_shapes = [shape_tuple(i) for i in node.inputs]
    (out_shape,) = node.op.infer_shape(node, in_shapes)
    vec = make_vector(*out_shape) if out_shape else ts.constant(np.zeros(0, "int64"))
    got = ts.function([x], vec)(value)
    np.testing.assert_array_equal(got, value[INDICES[name]].shape)


STATIC_SHAPES = [
    # (x shape, index, expected static shape of x[index])
    ((5, 4), slice(1, 3), (2, 4)),
    ((5, 4), slice(None, None, -1), (5, 4)),
    ((5, 4), slice(-1, -4, -1), (3, 4)),
    ((None, 4), slice(1, 3), (None, 4)),
    ((None, 4), 0, (4,)),
    ((5, 4), [0, 1, 1], (3, 4)),
    ((5, None, 3), ([0, 1], slice(None), [1, 2]), (2, None)),
    ((5, None, 3), (slice(None), [0, 1], [1, 2]), (5, 2)),
    ((5, 4), (None, Ellipsis, None), (1, 5, 4, 1)),
    ((5, 4), np.array([True, False, True, True, False]), (3, 4)),
    ((5, 4), (Ellipsis, np.array([[0, 1, 2]])), (5, 1, 3)),
    ((0, 4), slice(None, None, -1), (0, 4)),
]


@pytest.mark.parametrize("shape, idx, expected", STATIC_SHAPES)
def test_static_shape_inference(shape, idx, expected):
    assert ts.tensor("x", shape=shape)[idx].type.shape == expected


def test_static_shape_unknown_for_symbolic_parts():
    x = ts.tensor("x", shape=(5, 4))
    n = ts.scalar("n", dtype="int64")
    m = ts.tensor("m", shape=(5,), dtype="bool")
    assert x[:n].type.shape == (None, 4)
    assert x[n].type.shape == (4,)
    assert x[m].type.shape == (None, 4)
    assert x[::n].type.shape == (None, 4)


BUILD_ERRORS = [
    (5, IndexError, r"index 5 is out of bounds for axis 0 with size 5.*\(5, 4\)"),
    ((0, -5), IndexError, r"index -5 is out of bounds for axis 1 with size 4"),
    ([0, 7], IndexError, r"index 7 is out of bounds for axis 0 with size 5"),
    ((slice(None), np.array([[-5]])), IndexError, r"index -5 .* axis 1"),
    ((0, 0, 0), IndexError, r"too many indices.*\(5, 4\)"),
    ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
    (1.5, IndexError, "valid indices"),
    (np.array([0.5]), IndexError, "valid indices"),
    (slice(None, None, 0), ValueError, "step cannot be zero"),
    (np.array([True, False]), IndexError, r"boolean index of shape \(2,\)"),
    (([0, 1], [0, 1, 2]), IndexError, "could not be broadcast"),
    (True, TypeError, "boolean scalar"),
    (slice(0.5, None), TypeError, "slice bound"),
]


@pytest.mark.parametrize("idx, error, match", BUILD_ERRORS)
def test_build_time_index_errors(idx, error, match):
    x = ts.tensor("x", shape=(5, 4))
    with pytest.raises(error, match=match):
        x[idx]


def test_symbolic_index_errors():
    x = ts.tensor("x", shape=(5, 4))
    with pytest.raises(IndexError, match="valid indices"):
        x[ts.vector("f")]
    with pytest.raises(TypeError, match="scalar integer"):
        x[ts.scalar("f") :]
    with pytest.raises(TypeError, match="boolean scalar"):
        x[ts.scalar("b", dtype="bool")]


def test_run_time_index_errors_come_from_numpy():
    x = ts.vector("x")
    i = ts.scalar("i", dtype="int64")
    f = ts.function([x, i], x[i])
    assert f(np.arange(3.0), 2) == 2.0
    with pytest.raises(IndexError):
        f(np.arange(3.0), 3)


@pytest.mark.parametrize(
    "make_idx, np_idx",
    [
        (lambda i, j, s: i, lambda i, j, s: i),
        (lambda i, j, s: (slice(None), i), lambda i, j, s: (slice(None), i)),
        (lambda i, j, s: slice(i, None), lambda i, j, s: slice(i, None)),
        (lambda i, j, s: slice(None, j), lambda i, j, s: slice(None, j)),
        (lambda i, j, s: slice(None, None, s), lambda i, j, s: slice(None, None, s)),
        (lambda i, j, s: slice(i, j, s), lambda i, j, s: slice(i, j, s)),
        (
            lambda i, j, s: (slice(i, j, s), [0, 2]),
            lambda i, j, s: (slice(i, j, s), [0, 2]),
        ),
        (
            lambda i, j, s: (i, slice(j, None, -1)),
            lambda i, j, s: (i, slice(j, None, -1)),
        ),
    ],
)
def test_symbolic_scalar_indices_and_slice_bounds(make_idx, np_idx, value):
    x = ts.tensor("x", shape=(None,) * 3)
    i, j, s = (ts.scalar(n, dtype="int64") for n in "ijs")
    y = x[make_idx(i, j, s)]
    inputs = [v for v in (x, i, j, s) if v in ts.graph_inputs([y])]
    f = ts.function(inputs, y)
    for iv, jv, sv in [(0, 3, 1), (-1, 1, -1), (2, -1, 2), (-3, -6, -2), (1, 1, 3)]:
        vals = {x: value, i: iv, j: jv, s: sv}
        expected = value[np_idx(iv, jv, sv)]
        np.testing.assert_array_equal(f(*[vals[v] for v in inputs]), expected)


@pytest.mark.parametrize("pattern", ["sss", "ssn", "nsn", "snn", "ss-1", "nn-2", "nns"])
def test_slice_length_symbolic_matches_python(pattern):
    start, stop, n = (
        ts.scalar("a", "int64"),
        ts.scalar("b", "int64"),
        ts.scalar("n", "int64"),
    )
    step = ts.scalar("c", "int64")
    sym_start = start if pattern[0] == "s" else None
    sym_stop = stop if pattern[1] == "s" else None
    rest = pattern[2:]
    sym_step = step if rest == "s" else (None if rest == "n" else int(rest))
    length = slice_length(sym_start, sym_stop, sym_step, n)
    f = ts.function([start, stop, step, n], length, rewrites="none")
    vals = range(-7, 8)
    steps = [-3, -1, 1, 2] if rest == "s" else [None if rest == "n" else int(rest)]
    for nv in (0, 1, 5):
        for a in vals if sym_start is not None else [None]:
            for b in vals if sym_stop is not None else [None]:
                for c in steps:
                    expected = len(range(nv)[slice(a, b, c)])
                    got = f(a or 0, b or 0, c or 1, nv)
                    assert got == expected, (a, b, c, nv)


def test_shape_vector_indexing():
    x = ts.tensor("x", shape=(None, 3, 4))
    value = np.zeros((2, 3, 4))
    first = x.shape[0]
    assert isinstance(first.owner.op, ShapeI) and first.ndim == 0
    assert first.eval({x: value}) == 2
    assert x.shape[-1].eval({x: value}) == 4
    np.testing.assert_array_equal(x.shape[1:].eval({x: value}), [3, 4])
    np.testing.assert_array_equal(x.shape[::-1].eval({x: value}), [4, 3, 2])
    new = ts.set_subtensor(x.shape[0], 6)
    np.testing.assert_array_equal(new.eval({x: value}), [6, 3, 4])
    assert ts.reshape(x, (x.shape[0], -1)).eval({x: value}).shape == (2, 12)
    xs = ts.tensor("xs", shape=(2, 3, 4))
    # the size of a static dim is known statically, so reshape infers -1
    assert ts.reshape(xs, (xs.shape[0], -1)).type.shape == (2, 12)
    with pytest.raises(IndexError, match="out of bounds"):
        x.shape[3]


# --- set_subtensor / inc_subtensor -----------------------------------------

UPDATES = {
    # name: (index, shape of y)
    "int": (1, (5, 3)),
    "scalar_y": ((slice(1, 3), 0), ()),
    "broadcast_row": ((slice(None), slice(None, None, -2)), (3,)),
    "newaxis": ((None, 2, slice(1, 4)), (1, 3, 1)),
    "ellipsis": ((Ellipsis, 1), (4, 1)),
    "int_array": ([0, 2], (2, 5, 3)),
    "repeated": ([1, 1, 0, 1], (4, 5, 3)),
    "repeated_broadcast_y": ([3, 3], (3,)),
    "repeated_pairs": (([0, 0, 2], [1, 1, 4]), (3, 3)),
    "separated": (([0, 1], slice(None), [1, 1]), (2, 5)),
    "mask": (np.array([True, False, True, True]), (5, 3)),
    "mask_two_axes": (_M45, ()),
    "empty": (slice(2, 2), ()),
}


def _numpy_update(value, idx, y, set_):
    out = value.copy()
    if set_:
        out[idx] = y
    else:
        np.add.at(out, idx, y)
    return out


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("name", UPDATES)
def test_set_and_inc_match_numpy(name, set_, value, rng):
    idx, y_shape = UPDATES[name]
    yv = rng.standard_normal(y_shape)
    x = ts.tensor("x", shape=SHAPE)
    y = ts.tensor("y", shape=y_shape)
    fn = ts.set_subtensor if set_ else ts.inc_subtensor
    out = fn(x[idx], y)
    assert out.type == x.type
    original = value.copy()
    got = ts.function([x, y], out)(value, yv)
    np.testing.assert_allclose(got, _numpy_update(value, idx, yv, set_))
    np.testing.assert_array_equal(value, original)  # the input is not mutated


def test_last_write_wins_and_add_at():
    x = ts.zeros(3)
    np.testing.assert_array_equal(
        ts.set_subtensor(x[[0, 0, 0]], [1.0, 2.0, 3.0]).eval(), [3, 0, 0]
    )
    np.testing.assert_array_equal(
        ts.inc_subtensor(x[[0, 0, 2]], [1.0, 2.0, 3.0]).eval(), [3, 0, 3]
    )


def test_set_subtensor_on_read_only_constant():
    c = ts.constant(np.arange(4.0))
    np.testing.assert_array_equal(ts.set_subtensor(c[1:3], -1.0).eval(), [0, -1, -1, 3])
    np.testing.assert_array_equal(ts.inc_subtensor(c[[3]], 1.0).eval(), [0, 1, 2, 4])


def test_set_subtensor_dtype_rules():
    xi = ts.tensor("xi", shape=(3,), dtype="int64")
    out = ts.set_subtensor(xi[0], 5)
    assert out.dtype == "int64"
    np.testing.assert_array_equal(out.eval({xi: np.array([1, 2, 3])}), [5, 2, 3])
    x32 = ts.tensor("x32", shape=(3,), dtype="float32")
    assert ts.inc_subtensor(x32[1:], ts.vector("v")).dtype == "float32"
    with pytest.raises(TypeError, match="dtype float64 into a tensor of dtype int64"):
        ts.set_subtensor(xi[0], 1.5)


@pytest.mark.parametrize(
    "idx, y_shape",
    [(0, (3,)), (slice(1, 3), (3, 4)), ([0, 1], (3, 4)), (slice(None), (2, 5, 4))],
)
def test_set_subtensor_shape_errors(idx, y_shape):
    x = ts.tensor("x", shape=(5, 4))
    with pytest.raises(
        ValueError, match=r"cannot broadcast y of shape .* indexed shape"
    ):
        ts.set_subtensor(x[idx], ts.tensor("y", shape=y_shape))


def test_set_subtensor_needs_an_indexing_result():
    x = ts.tensor("x", shape=(5, 4))
    with pytest.raises(TypeError, match=r"set_subtensor\(x\[idx\], y\)"):
        ts.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match=r"inc_subtensor\(x\[idx\], y\)"):
        ts.inc_subtensor(ts.exp(x), 1.0)


def test_ops_and_props():
    x = ts.tensor("x", shape=(5, 4))
    n = ts.scalar("n", dtype="int64")
    assert isinstance(x[1:n].owner.op, Subtensor)
    assert x[1:n].owner.op == x[1:n:None].owner.op
    assert x[0].owner.op != x[1].owner.op
    assert str(x[n, ::-1, None].owner.op) == "Subtensor{[?, ::-1, None]}"
    assert isinstance(x[[0]].owner.op, AdvancedSubtensor)
    assert isinstance(ts.set_subtensor(x[n], 0.0).owner.op, IncSubtensor)
    op = ts.inc_subtensor(x[[0]], 0.0).owner.op
    assert isinstance(op, AdvancedIncSubtensor) and not op.set_instead_of_inc
    assert parse_index((slice(None), Ellipsis))[1] == []
    assert getitem(np.arange(3.0), -1).eval() == 2.0


def test_may_repeat():
    x = ts.tensor("x", shape=(4, None))

    def rep(idx):
        z = x[idx]
        return may_repeat(z.owner.op.idx_list, z.owner.inputs[1:], x)

    assert not rep([0, 2])
    assert rep([0, 2, 0])
    assert rep([1, -3])  # -3 wraps to 1
    assert not rep(([0, 0], [1, 2]))
    assert rep((slice(None), [1, -1]))  # dim 1 unknown: -1 may be 1
    assert not rep(np.array([True, False, True, True]))
    assert rep(ts.vector("i", dtype="int64"))


def test_constant_indexing_is_folded():
    c = ts.constant(np.arange(12.0).reshape(3, 4))
    x = ts.scalar("x")
    f = ts.function([x], c[1:, [0, 2]] * x)
    ops = {type(n.op) for n in f.fg.toposort()}
    assert not ops & {Subtensor, AdvancedSubtensor}
    np.testing.assert_array_equal(f(2.0), np.arange(12.0).reshape(3, 4)[1:, [0, 2]] * 2)


# --- gradients ---------------------------------------------------------------

GRAD_INDICES = [
    "int",
    "neg_step",
    "ellipsis_newaxis",
    "int_ellipsis_int",
    "repeated",
    "broadcast_arrays",
    "separated",
    "newaxis_separates",
    "mask_two_axes",
    "mask_and_array",
    "empty_list",
]


@pytest.mark.parametrize("name", GRAD_INDICES)
def test_getitem_grad(name, value):
    idx = INDICES[name]
    verify_grad(lambda x: x[idx], [value])


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("name", list(UPDATES))
def test_set_inc_grad(name, set_, value, rng):
    idx, y_shape = UPDATES[name]
    fn = ts.set_subtensor if set_ else ts.inc_subtensor
    verify_grad(lambda x, y: fn(x[idx], y) ** 2, [value, rng.standard_normal(y_shape)])


def test_grad_symbolic_index_and_mask():
    x = ts.tensor("x", shape=(None, 3))
    i = ts.scalar("i", dtype="int64")
    m = ts.tensor("m", shape=(None,), dtype="bool")
    cost = (x[i:, ::-1] ** 2).sum() + x[m].sum() + ts.set_subtensor(x[m], 0.0).sum()
    gx = ts.grad(cost, x)
    xv = np.arange(12.0).reshape(4, 3)
    mv = np.array([True, False, False, True])
    expected = np.zeros_like(xv)
    expected[2:] += 2 * xv[2:]
    expected[mv] += 1.0
    expected[~mv] += 1.0
    np.testing.assert_allclose(ts.function([x, i, m], gx)(xv, 2, mv), expected)


def test_set_grad_with_symbolic_repeated_indices():
    x = ts.tensor("x", shape=(4,))
    y = ts.tensor("y", shape=(3,))
    i = ts.tensor("i", shape=(3,), dtype="int64")
    out = ts.set_subtensor(x[i], y)
    proj = np.array([1.0, 2.0, 3.0, 4.0])
    gx, gy = ts.grad((out * proj).sum(), [x, y])
    f = ts.function([x, y, i], [gx, gy])
    got_x, got_y = f(np.zeros(4), np.ones(3), np.array([2, 0, 2]))
    np.testing.assert_array_equal(got_x, [0, 2, 0, 4])
    np.testing.assert_array_equal(got_y, [0, 1, 3])  # the first write to 2 is lost


# --- vectorize ---------------------------------------------------------------

VEC_INDICES = [
    "int",
    "neg_step",
    "ellipsis_newaxis",
    "repeated",
    "adjacent",
    "separated",
    "int_and_array_separated",
    "newaxis_separates",
    "mask_first_axis",
    "mask_after_slice",
    "empty_tuple",
]


@pytest.mark.parametrize("name", VEC_INDICES)
@pytest.mark.parametrize("batch", [(2,), (2, 3)])
def test_vectorize_getitem(name, batch, rng):
    idx = INDICES[name]
    x = ts.tensor("x", shape=SHAPE)
    xb = ts.tensor("xb", shape=batch + SHAPE)
    yb = vectorize_graph(x[idx], {x: xb})
    value = rng.standard_normal(batch + SHAPE)
    expected = np.stack([value[b][idx] for b in np.ndindex(*batch)])
    expected = expected.reshape(batch + expected.shape[1:])
    got = yb.eval({xb: value})
    assert yb.type.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize(
    "name",
    ["int", "broadcast_row", "newaxis", "repeated", "separated", "mask", "scalar_y"],
)
@pytest.mark.parametrize("batched", ["x", "y", "xy", "x1y"])
def test_vectorize_set_inc(name, set_, batched, rng):
    idx, y_shape = UPDATES[name]
    fn = ts.set_subtensor if set_ else ts.inc_subtensor
    x = ts.tensor("x", shape=SHAPE)
    y = ts.tensor("y", shape=y_shape)
    xs = ((1,) if batched == "x1y" else (3,)) + SHAPE if "x" in batched else SHAPE
    ys = (3,) + y_shape if "y" in batched else y_shape
    xb, yb = ts.tensor("xb", shape=xs), ts.tensor("yb", shape=ys)
    out = vectorize_graph(fn(x[idx], y), {x: xb, y: yb})
    xv, yv = rng.standard_normal(xs), rng.standard_normal(ys)
    xv3 = np.broadcast_to(xv, (3,) + SHAPE)
    yv3 = yv if "y" in batched else np.broadcast_to(yv, (3,) + y_shape)
    expected = np.stack([_numpy_update(xv3[b], idx, yv3[b], set_) for b in range(3)])
    got = out.eval({xb: xv, yb: yv})
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected)


def test_vectorize_rejects_batched_indices():
    x = ts.tensor("x", shape=(5,))
    i = ts.scalar("i", dtype="int64")
    ib = ts.tensor("ib", shape=(3,), dtype="int64")
    with pytest.raises(NotImplementedError, match="batched index inputs"):
        vectorize_graph(x[i], {i: ib})
    with pytest.raises(NotImplementedError, match="batched index inputs"):
        vectorize_graph(ts.set_subtensor(x[i], 1.0), {i: ib})


# --- random indices ----------------------------------------------------------


@st.composite
def _indices(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    entries = []
    axis = 0
    ellipsis = False
    n_entries = draw(st.integers(0, ndim + 1))
    for _ in range(n_entries):
        kind = draw(
            st.sampled_from(["int", "slice", "none", "ellipsis", "array", "mask"])
        )
        if kind == "none":
            entries.append(None)
            continue
        if kind == "ellipsis":
            if not ellipsis:
                ellipsis = True
                entries.append(Ellipsis)
            continue
        if axis >= ndim:
            continue
        n = shape[axis]
        if kind == "int" and n:
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 2, n + 2)
            step = draw(st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3]))
            entries.append(slice(draw(bound), draw(bound), step))
        elif kind == "array" and n:
            k = draw(st.integers(1, 3))
            entries.append(
                np.array(draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)))
            )
        elif kind == "mask":
            entries.append(
                np.array(
                    draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool
                )
            )
        else:
            continue
        axis += 1
    return shape, tuple(entries), draw(st.booleans())


@settings(max_examples=50, deadline=None)
@given(_indices())
def test_random_indices_agree_with_numpy(case):
    shape, idx, static = case
    value = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = ts.tensor("x", shape=shape if static else (None,) * len(shape))
    try:
        expected = value[idx]
    except IndexError:
        with pytest.raises((IndexError, ValueError)):
            x[idx].eval({x: value})
        return
    y = x[idx]
    assert all(s is None or s == e for s, e in zip(y.type.shape, expected.shape))
    assert y.ndim == expected.ndim
    np.testing.assert_array_equal(y.eval({x: value}), expected)
    inc = ts.inc_subtensor(y, 1.0).eval({x: value})
    np.testing.assert_array_equal(inc, _numpy_update(value, idx, 1.0, False))
