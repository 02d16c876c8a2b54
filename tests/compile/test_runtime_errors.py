"""A run-time failure inside a compiled function names the failing node:
its op, its inputs' names and run-time shapes, and the user's line that
built it; the exception keeps its type."""

import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tessera as ts


def _line() -> int:
    return sys._getframe(1).f_lineno


def _broadcast():
    x = ts.tensor("x", shape=(None,))
    y = ts.tensor("y", shape=(None,))
    out, line = x + y, _line()
    return [x, y], out, line, [np.zeros(3), np.zeros(4)]


def _reshape():
    x = ts.tensor("x", shape=(None,))
    out, line = x.reshape((2, 3)), _line()
    return [x], out, line, [np.zeros(5)]


def _index():
    x = ts.tensor("x", shape=(None,))
    i = ts.scalar("i", dtype="int64")
    out, line = x[i], _line()
    return [x, i], out * 2.0, line, [np.zeros(3), np.int64(7)]


def _index_array():
    x = ts.tensor("x", shape=(None, 2))
    idx = ts.tensor("idx", shape=(None,), dtype="int64")
    out, line = x[idx], _line()
    return [x, idx], out, line, [np.zeros((3, 2)), np.array([0, -4])]


def _set_index():
    x = ts.tensor("x", shape=(None,))
    i = ts.scalar("i", dtype="int64")
    out, line = ts.set_subtensor(x[i], 1.0), _line()
    return [x, i], out, line, [np.zeros(3), np.int64(3)]


def _inc_index_array():
    x = ts.tensor("x", shape=(2, None))
    idx = ts.tensor("idx", shape=(None,), dtype="int64")
    out, line = ts.inc_subtensor(x[:, idx], 1.0), _line()
    return [x, idx], out, line, [np.zeros((2, 3)), np.array([2, 5])]


def _cholesky():
    a = ts.tensor("a", shape=(None, None, 3, 3))
    out, line = ts.linalg.cholesky(a), _line()
    bad = np.broadcast_to(np.eye(3), (2, 4, 3, 3)).copy()
    bad[1, 2] = -np.eye(3)
    return [a], out, line, [bad]


# (failure, graph builder, op name, "name: dtype, shape" parts, and by
# backend the exception type; JAX itself clamps an index out of bounds,
# tessera's lowering checks it)
CASES = [
    (
        "broadcast",
        _broadcast,
        "add",
        ["x: float64, shape (3,)", "y: float64, shape (4,)"],
        {"numpy": ValueError, "jax": TypeError},
    ),
    (
        "reshape",
        _reshape,
        "Reshape",
        ["x: float64, shape (5,)"],
        {"numpy": ValueError, "jax": TypeError},
    ),
    (
        "index",
        _index,
        "Subtensor",
        ["x: float64, shape (3,)", "i: int64, shape ()"],
        {"numpy": IndexError, "jax": IndexError},
    ),
    (
        "index-array",
        _index_array,
        "AdvancedSubtensor",
        ["x: float64, shape (3, 2)", "idx: int64, shape (2,)"],
        {"numpy": IndexError, "jax": IndexError},
    ),
    (
        "set-index",
        _set_index,
        "IncSubtensor",
        ["x: float64, shape (3,)", "i: int64, shape ()"],
        {"numpy": IndexError, "jax": IndexError},
    ),
    (
        "inc-index-array",
        _inc_index_array,
        "AdvancedIncSubtensor",
        ["x: float64, shape (2, 3)", "idx: int64, shape (2,)", "axis 1"],
        {"numpy": IndexError, "jax": IndexError},
    ),
    (
        "cholesky",
        _cholesky,
        "Cholesky",
        ["a: float64, shape (2, 4, 3, 3)", "batch index (1, 2)"],
        {"numpy": np.linalg.LinAlgError, "jax": np.linalg.LinAlgError},
    ),
]
PARAMS = [
    pytest.param(builder, op, parts, backend, excs[backend], id=f"{name}-{backend}")
    for name, builder, op, parts, excs in CASES
    for backend in ("numpy", "jax")
    if excs[backend] is not None
]


@pytest.mark.parametrize("builder, op, parts, backend, exc", PARAMS)
def test_error_names_node_inputs_and_user_line(builder, op, parts, backend, exc):
    ins, out, line, values = builder()
    f = ts.function(ins, out, backend=backend)
    with pytest.raises(exc) as info:
        f(*values)
    msg = str(info.value)
    assert "Apply node that caused the error: " in msg, msg
    assert op in msg.split("Apply node that caused the error: ")[1].splitlines()[0]
    for part in parts:
        assert part in msg, msg
    assert f"{__file__}:{line}" in msg, msg


def test_success_path_unchanged_and_switch_off():
    ins, out, _, _ = _reshape()
    f = ts.function(ins, out)
    np.testing.assert_array_equal(f(np.arange(6.0)), np.arange(6.0).reshape(2, 3))
    old = ts.config.creation_trace
    ts.config.creation_trace = False
    try:
        ins, out, _, values = _reshape()
    finally:
        ts.config.creation_trace = old
    with pytest.raises(ValueError, match="Reshape") as info:
        ts.function(ins, out)(*values)
    assert "config.creation_trace is off" in str(info.value)


def test_input_check_errors_are_left_alone():
    x = ts.tensor("x", shape=(3,))
    f = ts.function([x], x * 2)
    with pytest.raises(ValueError) as info:
        f(np.zeros(4))
    assert "Apply node" not in str(info.value)


# properties: on both backends, a run-time broadcast clash names the same op
# and the inputs' run-time shapes, a failed Cholesky the same batch index
SETTINGS = settings(max_examples=15, deadline=None)


@SETTINGS
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=2),
    st.integers(2, 4),
    st.integers(2, 4),
    st.sampled_from(["add", "mul", "sub"]),
)
def test_runtime_broadcast_clash_named_alike_on_both_backends(lead, p, q, name):
    assume(p != q)
    x = ts.tensor("x", shape=(None,) * (len(lead) + 1))
    y = ts.tensor("y", shape=(None,))
    out = getattr(ts, name)(x, y)
    a, b = np.zeros((*lead, p)), np.zeros(q)
    heads = []
    for backend in ("numpy", "jax"):
        with pytest.raises((ValueError, TypeError)) as info:
            ts.function([x, y], out, backend=backend)(a, b)
        msg = str(info.value)
        heads.append(msg.split("Apply node that caused the error: ")[1].split("\n")[0])
        assert f"x: float64, shape {(*lead, p)}" in msg, msg
        assert f"y: float64, shape {(q,)}" in msg, msg
    assert heads[0] == heads[1] and name in heads[0]


@SETTINGS
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3).flatmap(
        lambda shape: st.tuples(
            st.just(tuple(shape)),
            st.tuples(*[st.integers(0, s - 1) for s in shape]),
        )
    )
)
def test_failed_cholesky_batch_index_alike_on_both_backends(case):
    batch, bad = case
    a = ts.tensor("a", shape=(None,) * len(batch) + (2, 2))
    values = np.broadcast_to(np.eye(2), (*batch, 2, 2)).copy()
    values[bad] = -np.eye(2)
    for backend in ("numpy", "jax"):
        with pytest.raises(np.linalg.LinAlgError) as info:
            ts.function([a], ts.linalg.cholesky(a), backend=backend)(values)
        assert f"batch index {bad}" in str(info.value), (backend, str(info.value))
