"""FunctionGraph's client sets: list-like reading, O(1) updates (#23 item 8)."""

from __future__ import annotations

import numpy as np

import tessera as ts
from tessera.graph.fg import ClientList, FunctionGraph
from tessera.rewrite import rewrite_graph


def test_client_list_reads_like_a_list():
    cl = ClientList([("output", 0), ("output", 2)])
    cl.append(("output", 1))
    assert cl == [("output", 0), ("output", 2), ("output", 1)]
    assert cl != [("output", 1)]
    cl.remove(("output", 2))
    assert list(cl) == [("output", 0), ("output", 1)]
    assert ("output", 1) in cl and ("output", 2) not in cl
    assert len(cl) == 2 and bool(cl) and not ClientList()
    assert repr(cl) == "[('output', 0), ('output', 1)]"


def test_clients_of_a_widely_read_constant_after_merge():
    # one constant read by thousands of nodes, duplicates merged away: the
    # clients left are exactly the surviving readers
    x = ts.tensor("x", shape=(3000,))
    outs = [x[i] * 2.0 for i in range(3000)] + [x[0] * 2.0]
    fg = FunctionGraph([x], outs)
    rewrite_graph(fg, "fast_compile")
    assert len(fg.apply_nodes) == 2 * 3000
    (two,) = {n.inputs[1] for n in fg.apply_nodes if n.inputs[0].owner is not None}
    assert isinstance(fg.clients[two], ClientList)
    assert len(fg.clients[two]) == 3000
    assert all(node in fg.apply_nodes and i == 1 for node, i in fg.clients[two])
    assert fg.outputs[-1] is fg.outputs[0]
    f = ts.function([x], outs[::1000])
    np.testing.assert_allclose(f(np.arange(3000.0)), [0.0, 2000.0, 4000.0, 0.0])
