"""structure_key: equal keys exactly for graphs that compute alike."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera.graph import Apply, Op
from tessera.graph.structure import structure_key


class Tagged(Op):
    """A toy op whose one prop may be unhashable."""

    __props__ = ("tag",)

    def __init__(self, tag):
        self.tag = tag

    def make_node(self, x):
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = inputs[0]


def _graph(scale=2.0, shape=(3,), const=None, dtype="float64"):
    x = ts.tensor("x", shape=shape, dtype=dtype)
    c = np.arange(3.0) if const is None else const
    return [x], [ts.exp(x * scale).sum() + c]


BIG = np.linspace(0.0, 1.0, 1000)
BIG_CHANGED = BIG.copy()
BIG_CHANGED[517] += 1e-12


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ({}, {}, True),
        ({}, {"scale": 3.0}, False),  # a constant's value
        ({}, {"shape": (4,)}, False),  # an input's type
        ({}, {"dtype": "float32"}, False),
        ({}, {"const": np.arange(3)}, False),  # same values, other dtype
        ({"const": BIG}, {"const": BIG.copy()}, True),  # digest of equal bytes
        ({"const": BIG}, {"const": BIG_CHANGED}, False),  # one ulp-scale change
    ],
    ids=["rebuilt", "constant", "shape", "dtype", "const-dtype", "big", "big-changed"],
)
def test_keys_are_equal_exactly_for_graphs_that_compute_alike(a, b, equal):
    assert (structure_key(*_graph(**a)) == structure_key(*_graph(**b))) is equal


def test_inputs_count_by_position():
    x, y = ts.tensor("x", shape=()), ts.tensor("y", shape=())
    assert structure_key([x, y], [x - y]) != structure_key([y, x], [x - y])


def test_shared_values_count_by_their_value_now():
    def graph(s):
        x = ts.tensor("x", shape=(2,))
        return [x], [x * s]

    s = ts.shared(np.ones(2))
    before = structure_key(*graph(s))
    assert structure_key(*graph(ts.shared(np.ones(2)))) == before
    s.set_value(np.full(2, 3.0))
    assert structure_key(*graph(s)) != before


def test_an_input_not_listed_is_equal_only_to_itself():
    x, free = ts.tensor("x", shape=()), ts.tensor("free", shape=())
    same = structure_key([x], [x + free])
    assert structure_key([x], [x + free]) == same
    other = ts.tensor("free", shape=())
    assert structure_key([x], [x + other]) != same


def test_op_props_count_and_unhashable_ones_give_none():
    x = ts.tensor("x", shape=(2,))
    assert structure_key([x], [Tagged("a")(x)]) == structure_key([x], [Tagged("a")(x)])
    assert structure_key([x], [Tagged("a")(x)]) != structure_key([x], [Tagged("b")(x)])
    assert structure_key([x], [Tagged(["a"])(x)]) is None
