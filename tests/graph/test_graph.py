"""Graph core: op equality, traversal, cloning, FunctionGraph and printing."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tessera as ts
from tessera.graph import (
    Apply,
    FunctionGraph,
    Op,
    ancestors,
    clone_replace,
    dprint,
    graph_inputs,
    toposort,
)
from tessera.ops.elemwise import Elemwise
from tessera.ops.reduction import Reduce
from tessera.ops.shape import Transpose


class Scale(Op):
    """A toy op with one prop."""

    __props__ = ("factor",)

    def __init__(self, factor):
        self.factor = factor

    def make_node(self, x):
        x = ts.as_tensor(x)
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0] * self.factor


# --- ops ---------------------------------------------------------------------------


def test_op_equality_and_hash_follow_props():
    assert Scale(2.0) == Scale(2.0)
    assert hash(Scale(2.0)) == hash(Scale(2.0))
    assert Scale(2.0) != Scale(3.0)
    assert len({Scale(2.0), Scale(2.0), Scale(3.0)}) == 2
    assert Reduce("sum", (0,), False) == Reduce("sum", (0,), False)
    assert Reduce("sum", (0,), False) != Reduce("sum", (0,), True)
    assert Reduce("sum", (0,), False) != Reduce("prod", (0,), False)
    assert Transpose((1, 0)) == Transpose([1, 0])
    x = ts.tensor("x", shape=(3,))
    assert ts.exp(x).owner.op == ts.exp(x).owner.op
    assert ts.exp(x).owner.op != ts.log(x).owner.op


def test_ops_of_different_classes_with_equal_props_differ():
    class Other(Scale):
        pass

    assert Other(2.0) != Scale(2.0)


def test_op_str_shows_props_and_call_returns_outputs():
    assert str(Scale(2.0)) == "Scale{factor=2.0}"
    x = ts.tensor("x", shape=(2,))
    y = Scale(2.0)(x)
    assert y.owner.op == Scale(2.0) and y.owner.inputs == [x]
    np.testing.assert_array_equal(y.eval({x: [1.0, 2.0]}), [2.0, 4.0])
    outs = ts.split(ts.arange(4), 2)
    assert len(outs) == 2 and outs[0].owner is outs[1].owner
    assert [o.index for o in outs] == [0, 1]


def test_default_pullback_is_non_differentiable():
    x = ts.tensor("x", shape=(2,))
    with pytest.raises(ValueError, match="Scale"):
        ts.grad(ts.sum(Scale(2.0)(x)), x)


def test_apply_rejects_non_variables():
    with pytest.raises(TypeError, match="is not a Variable"):
        Apply(Scale(1.0), [np.ones(2)], [])


# --- traversal ---------------------------------------------------------------------


def _graph():
    x, y = ts.tensor("x", shape=(3,)), ts.tensor("y", shape=(3,))
    a = ts.exp(x)
    b = a * y
    c = ts.log(a) + b
    return x, y, a, b, c


def test_toposort_orders_every_node_after_its_inputs():
    x, y, a, b, c = _graph()
    order = toposort(c)
    assert len(order) == 4
    position = {node: k for k, node in enumerate(order)}
    for node in order:
        for i in node.inputs:
            if i.owner is not None:
                assert position[i.owner] < position[node]
    assert order[0] is a.owner and order[-1] is c.owner
    assert toposort([b, c]) == order or set(toposort([b, c])) == set(order)


def test_toposort_stops_at_given_inputs():
    x, y, a, b, c = _graph()
    assert a.owner not in toposort(c, [a])
    assert toposort(x) == []


def test_toposort_handles_deep_graphs_without_recursion():
    x = ts.tensor("x", shape=())
    y = x
    for _ in range(5000):
        y = y + 1.0
    assert len(toposort(y)) == 5000


def test_ancestors_and_graph_inputs():
    x, y, a, b, c = _graph()
    anc = ancestors(c)
    assert {x, y, a, b, c} <= set(anc)
    assert x not in ancestors(b, blockers=[a])
    assert y in ancestors(b, blockers=[a])
    inputs = graph_inputs(c)
    assert x in inputs and y in inputs
    assert all(v.owner is None for v in inputs)
    assert a in graph_inputs(c, blockers=[a])


def test_clone_replace_rebuilds_with_replacements():
    x, y, a, b, c = _graph()
    z = ts.tensor("z", shape=(3,))
    new = clone_replace(c, {y: z})
    assert new is not c
    assert z in ancestors(new) and y not in ancestors(new)
    assert y in ancestors(c)  # the original is untouched
    v = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(
        ts.function([x, z], new)(v, 2 * v), v + np.exp(v) * 2 * v
    )


def test_clone_replace_list_and_intermediate_and_type_checks():
    x, y, a, b, c = _graph()
    new_b, new_c = clone_replace([b, c], {a: x})
    assert a not in ancestors(new_c)
    assert new_b.owner.inputs[0] is x
    with pytest.raises(TypeError, match="cannot replace"):
        clone_replace(c, {x: ts.tensor("w", shape=(4,))})
    with pytest.raises(TypeError, match="cannot replace"):
        clone_replace(c, {x: ts.tensor("w", shape=(3,), dtype="float32")})


def test_clone_replace_reinfers_types():
    x = ts.tensor("x", shape=(None,))
    out = ts.exp(x) * 2.0
    assert out.type.shape == (None,)
    new = clone_replace(out, {x: ts.tensor("s", shape=(5,))})
    assert new.type.shape == (5,)


# --- FunctionGraph --------------------------------------------------------------------


def test_function_graph_tracks_clients():
    x, y, a, b, c = _graph()
    fg = FunctionGraph([x, y], [c], clone=False)
    assert len(fg.apply_nodes) == 4
    assert {node.op for node, _ in fg.clients[a]} == {b.owner.op, ts.log(a).owner.op}
    assert len(fg.clients[a]) == 2
    assert fg.clients[c] == [("output", 0)]
    assert fg.clients[y] == [(b.owner, 1)]


def test_function_graph_clones_by_default():
    x, y, a, b, c = _graph()
    fg = FunctionGraph([x, y], [c])
    assert fg.outputs[0] is not c
    assert fg.inputs == [x, y]
    assert not set(fg.apply_nodes) & set(toposort(c))


def test_function_graph_replace_updates_clients_and_prunes():
    x, y, a, b, c = _graph()
    fg = FunctionGraph([x, y], [c], clone=False)
    log_node = c.owner.inputs[0].owner
    fg.replace(c.owner.inputs[0], x, reason="test")
    assert log_node not in fg.apply_nodes
    assert (c.owner, 0) in fg.clients[x]
    assert all(node is not log_node for node, _ in fg.clients[a])
    assert len(fg.apply_nodes) == 3
    fg.replace(c, b)
    assert fg.outputs == [b]
    assert c.owner not in fg.apply_nodes
    assert ("output", 0) in fg.clients[b]


def test_function_graph_replace_checks_types():
    x, y, a, b, c = _graph()
    fg = FunctionGraph([x, y], [c], clone=False)
    with pytest.raises(TypeError, match="cannot stand for"):
        fg.replace(a, ts.tensor("w", shape=(3,), dtype="int64"))


# --- printing ---------------------------------------------------------------------------


def test_dprint_shows_ops_types_and_shapes():
    x = ts.tensor("x", shape=(None, 3))
    y = ts.tensor("y", shape=(3,), dtype="float32")
    out = ts.sum(ts.exp(x) * y, axis=0)
    buf = io.StringIO()
    text = dprint(out, file=buf)
    assert buf.getvalue().strip() == text.strip()
    for piece in ["sum", "mul", "exp", "x", "y", "float64(?, 3)", "float32(3,)"]:
        assert piece in text
    lines = text.splitlines()
    assert lines[0].startswith("sum") and lines[0].endswith("float64(3,)")
    assert len(lines) == 5


def test_dprint_prints_shared_subgraphs_once():
    x = ts.tensor("x", shape=(2,))
    e = ts.exp(x)
    text = dprint(e * e, file=io.StringIO())
    lines = text.splitlines()
    assert sum("exp" in line for line in lines) == 2
    ids = [line.split("[id ")[1].split("]")[0] for line in lines if "exp" in line]
    assert ids[0] == ids[1]
    assert len(lines) == 4  # the repeat is not expanded again


def test_dprint_of_compiled_function_and_function_graph():
    x = ts.tensor("x", shape=(2,))
    f = ts.function([x], ts.exp(x) * ts.exp(x))
    text = dprint(f, file=io.StringIO())
    assert text.count("exp") == 2  # merged: printed once, referred to once
    fg = FunctionGraph([x], [ts.log(x)])
    assert "log" in dprint(fg, file=io.StringIO())
    assert "exp" in dprint([ts.exp(x), ts.log(x)], file=io.StringIO())


def test_dprint_depth_and_names():
    x = ts.tensor("x", shape=(2,))
    y = ts.exp(ts.log(x))
    y.name = "result"
    text = dprint(y, file=io.StringIO(), depth=1)
    assert "'result'" in text
    assert "log" in text and "x " not in text


def test_elemwise_op_identity_through_the_table():
    x = ts.tensor("x", shape=(2,))
    op = ts.add(x, x).owner.op
    assert isinstance(op, Elemwise) and str(op) == "add"
    assert (x + x).owner.op == op


def test_dprint_labels_outputs_of_multi_output_nodes():
    a, b = ts.split(ts.tensor("x", shape=(4,)), 2)
    text = dprint(b * 2.0, file=io.StringIO())
    assert "Split{n=2, axis=0}.1" in text
    assert repr(b) == "Split{n=2, axis=0}.1" and repr(ts.exp(a)) == "exp"


def test_symbolic_variables_refuse_python_truth_and_mutation():
    x = ts.tensor("x", shape=(3,))
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 1.0
    assert len(x) == 3
    with pytest.raises(TypeError, match="not known statically"):
        len(ts.tensor("y", shape=(None,)))
    # == keeps identity semantics so variables work in dicts and sets
    assert (x == x) is True and {x: 1}[x] == 1


def test_tensor_types_are_interned_values():
    import copy
    import pickle

    from tessera.ops.type import TensorType

    a = TensorType("float64", (2, None))
    assert TensorType("float64", (2, None)) is a
    # other spellings give an equal type
    assert TensorType(np.float64, [2, None]) == a
    assert TensorType("float64", (np.int64(2), None)).shape == (2, None)
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.deepcopy(a) == a
    assert TensorType("float32", (2, None)) != a
    with pytest.raises(ValueError, match="static dims must be >= 0"):
        TensorType("float64", (-1,))
