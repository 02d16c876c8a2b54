"""A run-time failure inside a compiled function names the failing node:
its op, its inputs' names and run-time shapes, and the user's line that
built it; the exception keeps its type."""

import sys

import numpy as np
import pytest

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


# (failure, graph builder, exception type, op name, "name: dtype, shape" parts)
CASES = [
    (
        "broadcast",
        _broadcast,
        ValueError,
        "add",
        ["x: float64, shape (3,)", "y: float64, shape (4,)"],
    ),
    ("reshape", _reshape, ValueError, "Reshape", ["x: float64, shape (5,)"]),
    (
        "index",
        _index,
        IndexError,
        "Subtensor",
        ["x: float64, shape (3,)", "i: int64, shape ()"],
    ),
]


@pytest.mark.parametrize(
    "builder, exc, op, inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_numpy_error_names_node_inputs_and_user_line(builder, exc, op, inputs):
    ins, out, line, values = builder()
    f = ts.function(ins, out)
    with pytest.raises(exc) as info:
        f(*values)
    msg = str(info.value)
    assert "Apply node that caused the error: " + op in msg, msg
    for part in inputs:
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
