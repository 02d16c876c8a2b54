"""ts.scan's calling convention and its build-time errors."""

import numpy as np
import pytest

import tessera as ts


def test_calling_convention_order():
    # sequence slices (per tap), previous outputs (per tap), non-sequences
    seen = []
    x = ts.tensor("x", shape=(6,))
    q = ts.scalar("q")

    def step(*args):
        seen.append([a.name for a in args[:4]])
        xm1, x0, p1, p2, qq = args
        assert qq is q
        return p1 + p2 + x0 - xm1 + qq

    init = ts.constant(np.array([1.0, 2.0]))
    ys, updates = ts.scan(
        step,
        sequences=[{"input": x, "taps": [-1, 0]}],
        outputs_info=[{"initial": init, "taps": [-1, -2]}],
        non_sequences=[q],
    )
    assert seen == [["x[t-1]", "x[t]", "out0[t-1]", "out0[t-2]"]]
    assert updates == {}
    assert ys.type.shape == (5,)


def test_one_output_or_a_list():
    x = ts.tensor("x", shape=(3,))
    one, _ = ts.scan(lambda xt: xt * 2.0, sequences=x)
    several, _ = ts.scan(lambda xt: [xt * 2.0, xt + 1.0], sequences=x)
    assert isinstance(one, ts.Variable)
    assert isinstance(several, list) and len(several) == 2


def _bad(**kwargs):
    return lambda: ts.scan(name="loop", **kwargs)


X5 = ts.tensor("x5", shape=(5,))
X4 = ts.tensor("x4", shape=(4,))
V3 = ts.tensor("v3", shape=(3,))

ERRORS = [
    (
        "too_few_outputs",
        _bad(fn=lambda p, q: p, outputs_info=[V3, V3], n_steps=2),
        ValueError,
        r"scan 'loop': the step function returned 1 outputs, but outputs_info "
        r"has 2",
    ),
    (
        "output_dtype",
        _bad(fn=lambda p: p.astype("float32"), outputs_info=[V3], n_steps=2),
        TypeError,
        r"scan 'loop': output 0 of the step function has type float32\(3,\), but "
        r"its initial value gives float64\(3,\)",
    ),
    (
        "output_shape",
        _bad(fn=lambda p: p[:2], outputs_info=[V3], n_steps=2),
        TypeError,
        r"scan 'loop': output 0 .* float64\(2,\), but its initial value gives "
        r"float64\(3,\)",
    ),
    (
        "taps_without_initial_values",
        _bad(
            fn=lambda a, b: a + b,
            outputs_info=[{"initial": ts.zeros(1), "taps": [-1, -2]}],
            n_steps=2,
        ),
        ValueError,
        r"scan 'loop': output 0 has taps \[-1, -2\], which need 2 initial values"
        r".* shape \(1,\)",
    ),
    (
        "sequences_of_different_lengths",
        _bad(fn=lambda a, b: a + b, sequences=[X5, X4]),
        ValueError,
        r"scan 'loop': sequences have different lengths: sequence 0 gives 5 "
        r"\(shape \(5,\)\), sequence 1 gives 4 \(shape \(4,\)\)",
    ),
    (
        "sequence_shorter_than_n_steps",
        _bad(fn=lambda a: a, sequences=[X4], n_steps=6),
        ValueError,
        r"scan 'loop': sequence 0 \(shape \(4,\), taps \[0\]\) gives 4 steps, "
        r"fewer than n_steps = 6",
    ),
    (
        "non_sequence_not_a_tensor",
        _bad(fn=lambda a, q: a, sequences=[X4], non_sequences=[object()]),
        TypeError,
        r"scan 'loop': non_sequences\[0\] must be a graph variable or a value "
        r"convertible to a tensor",
    ),
    (
        "n_steps_float",
        _bad(fn=lambda p: p, outputs_info=[V3], n_steps=2.5),
        TypeError,
        r"scan 'loop': n_steps must be a scalar int, got 2.5",
    ),
    (
        "n_steps_vector",
        _bad(
            fn=lambda p: p,
            outputs_info=[V3],
            n_steps=ts.tensor("n", shape=(2,), dtype="int64"),
        ),
        TypeError,
        r"scan 'loop': n_steps must be a scalar int, got n of type",
    ),
    (
        "no_sequences_no_n_steps",
        _bad(fn=lambda p: p, outputs_info=[V3]),
        ValueError,
        r"scan 'loop': n_steps is required when there are no sequences",
    ),
    (
        "positive_output_tap",
        _bad(fn=lambda p: p, outputs_info=[{"initial": V3, "taps": [1]}], n_steps=2),
        ValueError,
        r"scan 'loop': output 0 taps must be negative",
    ),
]


@pytest.mark.parametrize(
    "build, exc, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_build_time_errors(build, exc, message):
    with pytest.raises(exc, match=message):
        build()


def test_unnamed_scan_says_scan():
    with pytest.raises(ValueError, match=r"^scan: n_steps is required"):
        ts.scan(lambda p: p, outputs_info=[V3])
