"""tessera.function: input checking, outputs, updates, givens, rewrites, codegen."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tessera as ts
from tessera.ops.elemwise import Elemwise


def _ops(f) -> list[str]:
    return [str(node.op) for node in f.fg.toposort()]


# --- calling -------------------------------------------------------------------------


def test_single_output_vs_list_of_outputs():
    x = ts.tensor("x", shape=(2,))
    single = ts.function([x], x * 2)
    one_list = ts.function([x], [x * 2])
    two = ts.function([x], [x * 2, x + 1])
    none = ts.function([x], [])
    assert isinstance(single([1.0, 2.0]), np.ndarray)
    assert isinstance(one_list([1.0, 2.0]), list) and len(one_list([1.0, 2.0])) == 1
    np.testing.assert_array_equal(two([1.0, 2.0])[1], [2.0, 3.0])
    assert none([1.0, 2.0]) == []


def test_scalar_outputs_are_ndarrays():
    x = ts.tensor("x", shape=(3,))
    f = ts.function([x], [ts.sum(x), x[0], ts.constant(2.0) * 3.0])
    for v in f([1.0, 2.0, 3.0]):
        assert isinstance(v, np.ndarray) and v.ndim == 0


def test_keyword_arguments_by_name():
    x, y = ts.tensor("x", shape=()), ts.tensor("y", shape=())
    f = ts.function([x, y], x - y)
    assert f(y=1.0, x=3.0) == 2.0
    assert f(3.0, y=1.0) == 2.0
    with pytest.raises(TypeError, match="no input named 'z'"):
        f(x=1.0, z=2.0)
    with pytest.raises(TypeError, match=r"missing inputs \['y'\]"):
        f(x=1.0)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        f(1.0)
    with pytest.raises(TypeError, match="takes 2 inputs"):
        f(1.0, 2.0, 3.0)


def test_outputs_do_not_alias_inputs():
    x = ts.tensor("x", shape=(2,))
    f = ts.function([x], [x, x.T, ts.reshape(x, (2, 1))])
    a = np.array([1.0, 2.0])
    for out in f(a):
        out[...] = 0.0
    np.testing.assert_array_equal(a, [1.0, 2.0])


def test_outputs_do_not_alias_constants():
    f = ts.function([], ts.constant([1.0, 2.0]) * 2.0)
    out = f()
    out[0] = 100.0
    np.testing.assert_array_equal(f(), [2.0, 4.0])


# --- input checking --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, error, match",
    [
        (np.ones((2, 4)), ValueError, r"input 'x'.*expected shape \(\?, 3\)"),
        (np.ones(3), ValueError, r"input 'x'.*expected 2 dimensions"),
        (np.ones((1, 2, 3)), ValueError, r"input 'x'.*got an array of shape"),
        (np.ones((2, 3), dtype=complex), TypeError, r"input 'x'.*cannot cast"),
        ([["a", "b", "c"]], TypeError, r"input 'x'.*cannot cast"),
    ],
)
def test_bad_inputs_raise_naming_the_input(value, error, match):
    x = ts.tensor("x", shape=(None, 3))
    y = ts.tensor("y", shape=())
    f = ts.function([y, x], x * y)
    with pytest.raises(error, match=match):
        f(1.0, value)


def test_integer_input_refuses_floats_and_unnamed_inputs_get_a_position():
    n = ts.tensor(shape=(2,), dtype="int64")
    f = ts.function([n], n * 2)
    with pytest.raises(TypeError, match=r"#0.*cannot cast array of dtype float64"):
        f(np.array([1.5, 2.0]))
    np.testing.assert_array_equal(f(np.array([1, 2], dtype="int32")), [2, 4])


@pytest.mark.parametrize(
    "value, dtype",
    [
        ([1000, 5], "int8"),
        (np.array([-1, 2]), "uint8"),
        (np.array([2**40, 0]), "int32"),
        (np.array([2**63], dtype="uint64"), "int64"),
    ],
)
def test_integer_inputs_that_do_not_fit_are_refused(value, dtype):
    n = ts.tensor("n", shape=(None,), dtype=dtype)
    f = ts.function([n], n + 1)
    with pytest.raises(TypeError, match="input 'n'.*values out of range"):
        f(value)


@pytest.mark.parametrize(
    "value, dtype",
    [([1, 2], "uint8"), (np.array([3, 4], dtype="uint64"), "int8"), ([7], "int16")],
)
def test_integer_inputs_that_fit_are_converted(value, dtype):
    n = ts.tensor("n", shape=(None,), dtype=dtype)
    out = ts.function([n], n)(value)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, value)


@pytest.mark.parametrize(
    "value, dtype",
    [
        ([1.0, 2.0], "float64"),
        ([1, 2], "float64"),
        (np.array([1, 2], dtype="int8"), "float32"),
        (np.array([True, False]), "float32"),
        (np.array([1.0, 2.0]), "float32"),
        ((1.0, 2.0), "float32"),
    ],
)
def test_castable_inputs_are_converted(value, dtype):
    x = ts.tensor("x", shape=(2,), dtype=dtype)
    out = ts.function([x], x + 1)(value)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, np.asarray(value, dtype=float) + 1)


def test_function_arguments_are_checked():
    x = ts.tensor("x", shape=(2,))
    y = ts.tensor("y", shape=(2,))
    with pytest.raises(TypeError, match="not a symbolic variable"):
        ts.function([np.ones(2)], x)
    with pytest.raises(TypeError, match="inputs must be free variables"):
        ts.function([x * 2], x)
    with pytest.raises(TypeError, match="inputs must be free variables"):
        ts.function([ts.constant(1.0)], x)
    with pytest.raises(ValueError, match="given twice"):
        ts.function([x, x], x)
    with pytest.raises(ValueError, match="depend on y"):
        ts.function([x], x + y)
    with pytest.raises(ValueError, match="unknown backend"):
        ts.function([x], x, backend="fortran")


def test_unused_inputs_are_allowed_and_checked():
    x, y = ts.tensor("x", shape=(2,)), ts.tensor("y", shape=(3,))
    f = ts.function([x, y], x * 2)
    np.testing.assert_array_equal(f([1.0, 2.0], [0.0, 0.0, 0.0]), [2.0, 4.0])
    with pytest.raises(ValueError, match="input 'y'"):
        f([1.0, 2.0], [0.0])


# --- shared variables and updates --------------------------------------------------------


def test_shared_variable_keeps_its_value_and_is_updated():
    w = ts.shared(np.array([1.0, 2.0]), "w")
    x = ts.tensor("x", shape=(2,))
    step = ts.function([x], ts.sum(w * x), updates={w: w + x})
    assert step([1.0, 1.0]) == 3.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0])
    assert step([1.0, 1.0]) == 5.0
    read = ts.function([], w)
    np.testing.assert_array_equal(read(), [3.0, 4.0])
    w.set_value([0.0, 0.0])
    np.testing.assert_array_equal(read(), [0.0, 0.0])


def test_updates_as_pairs_are_simultaneous():
    a = ts.shared(np.array(1.0), "a")
    b = ts.shared(np.array(2.0), "b")
    swap = ts.function([], [], updates=[(a, b), (b, a)])
    swap()
    assert a.get_value() == 2.0 and b.get_value() == 1.0


def test_update_is_cast_to_the_shared_dtype():
    w = ts.shared(np.zeros(2, dtype="float32"), "w")
    x = ts.tensor("x", shape=(2,), dtype="float64")
    ts.function([x], [], updates={w: w + x})([0.5, 1.5])
    value = w.get_value()
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, [0.5, 1.5])


def test_shared_value_can_change_shape():
    w = ts.shared(np.zeros(2), "w")
    grow = ts.function([], [], updates={w: ts.concatenate([w, w + 1.0])})
    grow()
    grow()
    np.testing.assert_array_equal(w.get_value(), [0, 0, 1, 1, 1, 1, 2, 2])


def test_shared_values_are_private_copies():
    init = np.zeros(2)
    w = ts.shared(init, "w")
    init[0] = 5.0
    got = w.get_value()
    got[1] = 7.0
    np.testing.assert_array_equal(w.get_value(), [0.0, 0.0])


def test_update_results_do_not_alias_outputs_or_inputs():
    w = ts.shared(np.zeros(2), "w")
    inc = ts.function([], w + 1.0, updates={w: w + 1.0})
    out = inc()
    out[...] = 100.0
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0])
    new = ts.expand_dims(w, 0) * 2.0
    view = ts.function([], ts.reshape(new, (2,)), updates={w: new[0]})
    view()[...] = -1.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0])
    x = ts.tensor("x", shape=(2,))
    store = ts.function([x], [], updates={w: x})
    a = np.array([3.0, 4.0])
    store(a)
    a[0] = -1.0
    np.testing.assert_array_equal(w.get_value(), [3.0, 4.0])


def test_bad_updates_raise():
    w = ts.shared(np.zeros(2), "w")
    x = ts.tensor("x", shape=(2,))
    with pytest.raises(TypeError, match="not a shared variable"):
        ts.function([x], [], updates={x: x + 1})
    with pytest.raises(ValueError, match="new value of w"):
        ts.function([], [], updates={w: ts.zeros((2, 2))})


def test_set_value_is_validated():
    w = ts.shared(np.zeros(2), "w")
    with pytest.raises(ValueError, match="'w'"):
        w.set_value(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="'w'"):
        w.set_value(np.array(["a", "b"]))


# --- givens ---------------------------------------------------------------------------------


def test_givens_substitute_variables():
    x, y = ts.tensor("x", shape=()), ts.tensor("y", shape=())
    z = x * 2 + y
    f = ts.function([y], z, givens={x: y * 10})
    assert f(1.0) == 21.0
    w = ts.shared(np.array(3.0), "w")
    g = ts.function([y], w * y, givens={w: ts.constant(5.0)})
    assert g(2.0) == 10.0
    h = ts.function([x], z, givens={y: 1.0})
    assert h(2.0) == 5.0


def test_givens_must_have_a_compatible_type():
    x = ts.tensor("x", shape=(2,))
    y = ts.tensor("y", shape=(3,))
    with pytest.raises(TypeError, match="cannot replace x"):
        ts.function([y], x * 2, givens={x: y})


# --- rewrites ---------------------------------------------------------------------------------


def test_merge_removes_common_subexpressions():
    x = ts.tensor("x", shape=(3,))
    a = ts.exp(x) * 2.0
    b = ts.exp(x) * 2.0
    out = a + b + ts.sin(x) * ts.sin(x)
    plain = ts.function([x], out, rewrites="none")
    merged = ts.function([x], out)
    assert len(plain.fg.apply_nodes) == 9
    assert len(merged.fg.apply_nodes) < len(plain.fg.apply_nodes)
    assert _ops(merged).count("exp") == 1
    assert _ops(merged).count("sin") == 1
    v = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(merged(v), 4 * np.exp(v) + np.sin(v) ** 2)
    np.testing.assert_allclose(plain(v), merged(v))


def test_merge_joins_equal_constants_and_multiple_outputs():
    x = ts.tensor("x", shape=(3,))
    f = ts.function([x], [x + ts.constant([1.0, 2.0, 3.0]), x + np.array([1.0, 2, 3])])
    assert len(f.fg.apply_nodes) == 1
    a, b = f(np.zeros(3))
    np.testing.assert_array_equal(a, b)


def test_constant_folding_evaluates_constant_subgraphs():
    x = ts.tensor("x", shape=(2,))
    c = ts.exp(ts.constant([0.0, 1.0])) * 3.0 + ts.sum(ts.constant([1.0, 2.0]))
    f = ts.function([x], x * c)
    nodes = list(f.fg.apply_nodes)
    assert len(nodes) == 1 and isinstance(nodes[0].op, Elemwise)
    const = [i for i in nodes[0].inputs if isinstance(i, ts.Constant)]
    np.testing.assert_allclose(const[0].data, np.exp([0.0, 1.0]) * 3 + 3)
    np.testing.assert_allclose(f([1.0, 2.0]), [1.0, 2.0] * (np.exp([0.0, 1.0]) * 3 + 3))
    unfolded = ts.function([x], x * c, rewrites="none")
    assert len(unfolded.fg.apply_nodes) == 5


def test_rewrites_do_not_modify_the_users_graph():
    x = ts.tensor("x", shape=(2,))
    out = ts.exp(x) + ts.exp(x)
    before = ts.graph.toposort(out)
    ts.function([x], out)
    assert ts.graph.toposort(out) == before
    assert out.owner.inputs[0] is not out.owner.inputs[1]


# --- code generation ----------------------------------------------------------------------


def test_generated_source_is_straight_line():
    x = ts.tensor("x", shape=(None,))
    f = ts.function([x], [ts.sum(ts.exp(x) * 2.0), ts.log(x)], rewrites="none")
    body = f.source.splitlines()
    assert body[0].startswith("def compiled_fn(i0)")
    assert not any(line.strip().startswith(("for ", "while ")) for line in body)
    # one statement per node: a call, or an expression written inline
    stmts = [line for line in body if re.match(r"\s+v\d+_\d+(, v\d+_\d+)* = ", line)]
    assert len(stmts) == len(f.fg.apply_nodes)


def test_function_repr_and_attributes():
    x = ts.tensor("x", shape=(2,))
    out = x + 1
    f = ts.function([x], out)
    assert f.inputs == [x] and f.outputs == [out]
    assert f.backend == "numpy"
    assert "numpy" in repr(f)
