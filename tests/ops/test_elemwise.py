"""The elementwise op table, checked against NumPy/SciPy.

One table (``CASES``) lists every elementwise op with its reference, the
domain each input is drawn from and which inputs are differentiable. The
tests below run the table over broadcasting patterns, dtypes, Python-scalar
operands and ``verify_grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.special as sp

import tessera as ts
from tessera.ops.math import OPS
from tessera.testing import verify_grad

# --- input domains ------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """Where an input is drawn from, for floats, ints and bools.

    ``ints``/``bools`` are None when the domain has no sensible values of that
    kind; ``scalar`` is a Python number inside the domain.
    """

    name: str
    floats: Callable
    scalar: object
    ints: Callable | None = None
    bools: bool = False

    def sample(self, rng, shape, kind: str) -> np.ndarray:
        if kind == "f":
            return np.asarray(self.floats(rng, shape), dtype=np.float64)
        if kind == "i":
            return np.asarray(self.ints(rng, shape), dtype=np.int64)
        return rng.random(shape) < 0.5

    def kinds(self) -> str:
        return (
            ("f" if self.floats is not None else "")
            + ("i" if self.ints is not None else "")
            + ("b" if self.bools else "")
        )


def _signed(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, shape)


REAL = Domain(
    "real",
    lambda r, s: r.standard_normal(s),
    0.5,
    lambda r, s: r.integers(-3, 4, s),
    True,
)
POS = Domain(
    "pos", lambda r, s: r.uniform(0.5, 2.0, s), 1.5, lambda r, s: r.integers(1, 4, s)
)
UNIT = Domain("unit", lambda r, s: r.uniform(-0.9, 0.9, s), 0.5)
PROB = Domain("prob", lambda r, s: r.uniform(0.1, 0.9, s), 0.25)
NEG = Domain(
    "neg",
    lambda r, s: r.uniform(-2.0, -0.1, s),
    -0.5,
    lambda r, s: r.integers(-3, 0, s),
)
NONZERO = Domain(
    "nonzero", _signed, 1.5, lambda r, s: r.choice([-3, -2, -1, 1, 2, 3], size=s)
)
EXPONENT = Domain(
    "exponent",
    lambda r, s: r.uniform(-1.5, 2.5, s),
    2.0,
    lambda r, s: r.integers(0, 3, s),
)
ORDER = Domain(
    "order",
    lambda r, s: r.integers(0, 3, s).astype(float),
    1,
    lambda r, s: r.integers(0, 3, s),
)
LOW = Domain(
    "low", lambda r, s: r.uniform(-1.0, -0.2, s), -0.5, lambda r, s: np.full(s, -1)
)
HIGH = Domain(
    "high", lambda r, s: r.uniform(0.2, 1.0, s), 0.5, lambda r, s: np.full(s, 1)
)
BOOL = Domain("bool", None, True, None, True)
INT = Domain("int", None, 3, lambda r, s: r.integers(0, 8, s), True)


def _special(rng, shape):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    if flat.size:
        specials = np.array([np.nan, np.inf, -np.inf])
        flat[rng.random(flat.size) < 0.4] = specials[rng.integers(0, 3)]
    return x


SPECIAL = Domain("special", _special, 0.5, lambda r, s: r.integers(-3, 4, s), True)

# --- the table ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One elementwise op.

    ``grad`` lists the inputs checked with ``verify_grad``; ``nondiff`` the
    float inputs through which a gradient must raise an error naming the op.
    """

    name: str
    ref: Callable
    domains: tuple[Domain, ...]
    grad: tuple[int, ...] = ()
    nondiff: tuple[int, ...] = ()

    @property
    def fn(self) -> Callable:
        return getattr(ts, self.name)

    @property
    def nin(self) -> int:
        return len(self.domains)

    def __repr__(self) -> str:
        return self.name


def _u(name, ref, dom=REAL, grad=True):
    return Case(name, ref, (dom,), (0,) if grad else (), () if grad else (0,))


def _b(name, ref, d0=REAL, d1=REAL, grad=(0, 1), nondiff=()):
    return Case(name, ref, (d0, d1), grad, nondiff)


def _cmp(name, ref, dom=REAL):
    return Case(name, ref, (dom, dom), (), (0, 1))


CASES = [
    # arithmetic
    _b("add", np.add),
    _b("sub", np.subtract),
    _b("mul", np.multiply),
    _b("true_div", np.true_divide, REAL, NONZERO),
    _b("floor_div", np.floor_divide, REAL, NONZERO),
    _b("mod", np.mod, REAL, NONZERO),
    _b("pow", np.power, POS, EXPONENT),
    _u("neg", np.negative),
    _u("abs", np.abs, NONZERO),
    _u("sign", np.sign, NONZERO),
    _u("reciprocal", np.reciprocal, NONZERO),
    _u("square", np.square),
    _u("sqrt", np.sqrt, POS),
    _b("maximum", np.maximum),
    _b("minimum", np.minimum),
    Case("clip", np.clip, (REAL, LOW, HIGH), (0, 1, 2)),
    # exponentials and logarithms
    _u("exp", np.exp),
    _u("expm1", np.expm1),
    _u("log", np.log, POS),
    _u("log1p", np.log1p, POS),
    _u("log2", np.log2, POS),
    _u("log10", np.log10, POS),
    _b("logaddexp", np.logaddexp),
    _u("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x))),
    _u("softplus", lambda x: np.log1p(np.exp(x))),
    _u("log_sigmoid", lambda x: -np.log1p(np.exp(-x))),
    _u("logit", lambda x: np.log(x / (1.0 - x)), PROB),
    _u("log1mexp", lambda x: np.log(-np.expm1(x)), NEG),
    _b("xlogy", lambda x, y: x * np.log(y), REAL, POS),
    _b("xlog1py", lambda x, y: x * np.log1p(y), REAL, POS),
    # trigonometric and hyperbolic
    _u("sin", np.sin),
    _u("cos", np.cos),
    _u("tan", np.tan, UNIT),
    _u("arcsin", np.arcsin, UNIT),
    _u("arccos", np.arccos, UNIT),
    _u("arctan", np.arctan),
    _b("arctan2", np.arctan2, NONZERO, NONZERO),
    _u("sinh", np.sinh),
    _u("cosh", np.cosh),
    _u("tanh", np.tanh),
    # special functions
    _u("erf", sp.erf),
    _u("erfc", sp.erfc),
    _u("erfinv", sp.erfinv, UNIT),
    _u("ndtr", sp.ndtr),
    _u("log_ndtr", sp.log_ndtr),
    _u("ndtri", sp.ndtri, PROB),
    _u("gammaln", sp.gammaln, POS),
    _u("digamma", sp.digamma, POS),
    _b("polygamma", sp.polygamma, ORDER, POS, grad=(1,), nondiff=(0,)),
    _b("betaln", sp.betaln, POS, POS),
    _b("gammainc", sp.gammainc, POS, POS, grad=(1,), nondiff=(0,)),
    _b("gammaincc", sp.gammaincc, POS, POS, grad=(1,), nondiff=(0,)),
    Case("betainc", sp.betainc, (POS, POS, PROB), (2,), (0, 1)),
    _b("owens_t", sp.owens_t, REAL, REAL),
    _u("i0", sp.i0),
    _u("i1", sp.i1, NONZERO),
    _u("i0e", sp.i0e, NONZERO),
    _u("i1e", sp.i1e, NONZERO),
    # rounding: piecewise constant, zero gradient away from the jumps
    _u("floor", np.floor),
    _u("ceil", np.ceil),
    _u("round", np.round),
    # selection
    Case("where", np.where, (BOOL, REAL, REAL), (1, 2)),
    # comparisons and logic: boolean results, no gradient
    _cmp("eq", np.equal),
    _cmp("neq", np.not_equal),
    _cmp("lt", np.less),
    _cmp("le", np.less_equal),
    _cmp("gt", np.greater),
    _cmp("ge", np.greater_equal),
    _cmp("logical_and", np.logical_and, BOOL),
    _cmp("logical_or", np.logical_or, BOOL),
    _cmp("logical_xor", np.logical_xor, BOOL),
    _u("logical_not", np.logical_not, BOOL, grad=False),
    _u("isnan", np.isnan, SPECIAL, grad=False),
    _u("isinf", np.isinf, SPECIAL, grad=False),
    _u("isfinite", np.isfinite, SPECIAL, grad=False),
    Case("and_", np.bitwise_and, (INT, INT)),
    Case("or_", np.bitwise_or, (INT, INT)),
    Case("xor", np.bitwise_xor, (INT, INT)),
    Case("invert", np.invert, (INT,)),
    _u("identity", np.array),
]

BY_NAME = {c.name: c for c in CASES}


def test_table_covers_every_elementwise_op():
    assert set(BY_NAME) == set(OPS)
    assert len(BY_NAME) == len(CASES)


# --- helpers ----------------------------------------------------------------


def _default_kind(dom: Domain) -> str:
    return dom.kinds()[0]


def _inputs(case, rng, shapes, kinds=None):
    kinds = kinds or [_default_kind(d) for d in case.domains]
    return [d.sample(rng, s, k) for d, s, k in zip(case.domains, shapes, kinds)]


def _reference(case, *args):
    with np.errstate(all="ignore"):
        return np.asarray(case.ref(*args))


def _evaluate(case, arrays, static_shapes=None):
    static_shapes = static_shapes or [a.shape for a in arrays]
    sym = [
        ts.tensor(f"x{k}", shape=s, dtype=a.dtype)
        for k, (a, s) in enumerate(zip(arrays, static_shapes))
    ]
    out = case.fn(*sym)
    with np.errstate(all="ignore"):
        value = ts.function(sym, out)(*arrays)
    return out, value


def _is_numpy_function(ref) -> bool:
    """Whether ``ref`` is a NumPy/SciPy function whose dtype rules are exact."""
    return isinstance(ref, np.ufunc) or ref in (np.where, np.clip, np.round, np.array)


def _is_numpy_ufunc(ref) -> bool:
    return isinstance(ref, np.ufunc) and getattr(np, ref.__name__, None) is ref


def _assert_matches(value, expected, static_dtype=None):
    value = np.asarray(value)
    assert value.shape == expected.shape
    assert value.dtype == expected.dtype, (value.dtype, expected.dtype)
    if static_dtype is not None:
        assert static_dtype == expected.dtype.name
    if expected.dtype.kind == "f":
        tol = {2: 2e-3, 4: 1e-5}.get(expected.dtype.itemsize, 1e-10)
        np.testing.assert_allclose(value, expected, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(value, expected)


# --- forward over broadcasting patterns -----------------------------------------

# (static shapes, run-time shapes) per arity; ``None`` static dims are known
# only at run time, where some are 1 and must broadcast.
PATTERNS = {
    "scalars": {1: [()], 2: [(), ()], 3: [(), (), ()]},
    "vectors": {1: [(3,)], 2: [(3,), (3,)], 3: [(3,), (3,), (3,)]},
    "scalar_vector": {1: [(3,)], 2: [(), (3,)], 3: [(3,), (), (1,)]},
    "broadcast": {
        1: [(2, 1, 4)],
        2: [(2, 1, 4), (5, 4)],
        3: [(2, 1, 4), (5, 4), (4,)],
    },
    "zero_size": {1: [(0, 3)], 2: [(0, 3), (3,)], 3: [(0, 3), (1, 3), (3,)]},
}
RUNTIME_ONES = {
    1: ([(None, None)], [(4, 1)]),
    2: ([(None, None), (None,)], [(4, 1), (3,)]),
    3: ([(None, None), (None,), (None, 1)], [(4, 1), (3,), (4, 1)]),
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_matches_reference(case, pattern, rng):
    arrays = _inputs(case, rng, PATTERNS[pattern][case.nin])
    expected = _reference(case, *arrays)
    out, value = _evaluate(case, arrays)
    assert out.type.shape == expected.shape
    _assert_matches(value, expected, out.dtype)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_runtime_size_one_dims_broadcast(case, rng):
    static, runtime = RUNTIME_ONES[case.nin]
    arrays = _inputs(case, rng, runtime)
    expected = _reference(case, *arrays)
    out, value = _evaluate(case, arrays, static)
    assert out.ndim == expected.ndim
    assert all(s is None or s == e for s, e in zip(out.type.shape, expected.shape))
    _assert_matches(value, expected, out.dtype)


# --- dtypes ---------------------------------------------------------------------

DTYPE_COMBOS = [
    ("float32",),
    ("float64",),
    ("int32",),
    ("int64",),
    ("bool",),
    ("float32", "float64"),
    ("int32", "float32"),
    ("int8", "int64"),
    ("bool", "int32"),
]


DEFAULT_DTYPE = {"f": "float64", "i": "int64", "b": "bool"}


def _dtype_params():
    for case in CASES:
        for combo in DTYPE_COMBOS:
            dtypes = [combo[k % len(combo)] for k in range(case.nin)]
            kinds = [np.dtype(d).kind.replace("u", "i") for d in dtypes]
            usable = [k in d.kinds() for k, d in zip(kinds, case.domains)]
            if not any(usable):
                continue
            # inputs whose domain has no values of this kind keep their default
            final = [
                dt
                if ok
                else {"f": "float64", "i": "int64", "b": "bool"}[_default_kind(d)]
                for dt, ok, d in zip(dtypes, usable, case.domains)
            ]
            yield pytest.param(case, tuple(final), id=f"{case.name}-{'-'.join(final)}")


@pytest.mark.parametrize("case, dtypes", list(_dtype_params()))
def test_dtype_promotion_matches_numpy(case, dtypes, rng):
    arrays = [
        d.sample(rng, (2, 3), np.dtype(dt).kind.replace("u", "i")).astype(dt)
        for d, dt in zip(case.domains, dtypes)
    ]
    if not _is_numpy_function(case.ref):
        # a hand-written reference has its own promotion (and may refuse
        # bools): check the values in float64 and that the result is a float
        expected = _reference(case, *[a.astype(np.float64) for a in arrays])
        out, value = _evaluate(case, arrays)
        assert out.dtype.startswith("float")
        _assert_matches(value, expected.astype(out.dtype), out.dtype)
        return
    try:
        expected = _reference(case, *arrays)
    except TypeError:
        # NumPy refuses these dtypes (e.g. -bool): tessera refuses at build time
        sym = [ts.tensor(shape=(2, 3), dtype=dt) for dt in dtypes]
        with pytest.raises(TypeError):
            case.fn(*sym)
        return
    out, value = _evaluate(case, arrays)
    assert out.dtype == expected.dtype.name
    _assert_matches(value, expected, out.dtype)


def _scalar_params():
    for case in CASES:
        if case.nin < 2:
            continue
        for pos in range(case.nin):
            for tensor_kind in ("float32", "int32", "float64"):
                yield pytest.param(
                    case, pos, tensor_kind, id=f"{case.name}-py{pos}-{tensor_kind}"
                )


@pytest.mark.parametrize("case, pos, tensor_dtype", list(_scalar_params()))
def test_python_scalars_are_weak(case, pos, tensor_dtype, rng):
    """NEP 50: a Python number takes the dtype of the tensors it meets.

    The expected result converts the scalar to ``result_type(tensors, scalar)``
    first; for NumPy's own ufuncs it must also equal passing the Python number
    to NumPy directly. (Other functions, e.g. SciPy ufuncs whose float64 loop
    comes first, or ``np.clip`` with a scalar first argument, promote the
    scalar strongly; tessera stays weak for every op.)
    """
    scalar = case.domains[pos].scalar
    arrays = []
    for d in case.domains:
        kind = np.dtype(tensor_dtype).kind
        if kind in d.kinds():
            arrays.append(d.sample(rng, (3,), kind).astype(tensor_dtype))
        else:
            arrays.append(d.sample(rng, (3,), _default_kind(d)))
    sym = [ts.tensor(f"x{k}", shape=(3,), dtype=a.dtype) for k, a in enumerate(arrays)]
    args = list(sym)
    args[pos] = scalar
    others = [a for k, a in enumerate(arrays) if k != pos]
    ref_args = list(arrays)
    ref_args[pos] = np.asarray(scalar, dtype=np.result_type(*others, scalar))
    try:
        expected = _reference(case, *ref_args)
    except TypeError:
        with pytest.raises(TypeError):
            case.fn(*args)
        return
    out = case.fn(*args)
    if _is_numpy_ufunc(case.ref):
        ref_args[pos] = scalar
        assert _reference(case, *ref_args).dtype == expected.dtype
    assert out.dtype == expected.dtype.name
    with np.errstate(all="ignore"):
        value = ts.function([s for k, s in enumerate(sym) if k != pos], out)(*others)
    _assert_matches(value, expected)


@pytest.mark.parametrize(
    "expr, ref",
    [
        (lambda x: x + 1.0, lambda x: x + 1.0),
        (lambda x: 2 * x, lambda x: 2 * x),
        (lambda x: x / 2, lambda x: x / 2),
        (lambda x: 1 - x, lambda x: 1 - x),
        (lambda x: x**2, lambda x: x**2),
        (lambda x: 2.0**x, lambda x: 2.0**x),
        (lambda x: x // 0.5, lambda x: x // 0.5),
        (lambda x: x % 0.5, lambda x: x % 0.5),
        (lambda x: -x, lambda x: -x),
        (lambda x: abs(x), lambda x: abs(x)),
        (lambda x: x < 0.1, lambda x: x < 0.1),
        (lambda x: 0.1 <= x, lambda x: 0.1 <= x),
        (lambda x: x > 0.1, lambda x: x > 0.1),
        (lambda x: x >= 0.1, lambda x: x >= 0.1),
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_operators_match_numpy(expr, ref, dtype, rng):
    a = (rng.standard_normal((2, 3)) * 3).astype(dtype)
    x = ts.tensor("x", shape=(2, 3), dtype=dtype)
    out = expr(x)
    expected = np.asarray(ref(a))
    assert out.dtype == expected.dtype.name
    _assert_matches(ts.function([x], out)(a), expected)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
@pytest.mark.parametrize("value", [1000, -1000, 2**40])
@pytest.mark.parametrize("name", ["eq", "neq", "lt", "le", "gt", "ge"])
def test_comparison_with_out_of_range_python_int(name, value, dtype):
    """NumPy compares with Python ints that do not fit the array dtype exactly."""
    a = np.arange(3).astype(dtype)
    x = ts.tensor("x", shape=(3,), dtype=dtype)
    ref = BY_NAME[name].ref
    for args, ref_args in [((x, value), (a, value)), ((value, x), (value, a))]:
        out = getattr(ts, name)(*args)
        assert out.dtype == "bool"
        np.testing.assert_array_equal(ts.function([x], out)(a), ref(*ref_args))


@pytest.mark.parametrize("name", ["add", "mul", "maximum"])
def test_arithmetic_with_out_of_range_python_int_overflows_like_numpy(name):
    a = np.arange(3, dtype="int8")
    with pytest.raises(OverflowError):
        BY_NAME[name].ref(a, 1000)
    with pytest.raises(OverflowError, match="1000"):
        getattr(ts, name)(ts.tensor("x", shape=(3,), dtype="int8"), 1000)


def test_bitwise_operators_match_numpy(rng):
    a, b = rng.integers(0, 8, (2, 3)), rng.integers(0, 8, (3,))
    x = ts.tensor("x", shape=(2, 3), dtype="int64")
    y = ts.tensor("y", shape=(3,), dtype="int64")
    f = ts.function([x, y], [x & y, x | y, x ^ y, ~x, 1 & x, 2 | y, 3 ^ x])
    for got, want in zip(f(a, b), [a & b, a | b, a ^ b, ~a, 1 & a, 2 | b, 3 ^ a]):
        np.testing.assert_array_equal(got, want)


# --- gradients ------------------------------------------------------------------

GRAD_CASES = [c for c in CASES if c.grad]
GRAD_SHAPES = {
    "broadcast": {1: [(2, 3)], 2: [(2, 3), (3,)], 3: [(2, 3), (3,), (2, 1)]},
    "scalars": {1: [()], 2: [(), ()], 3: [(), (), ()]},
}


@pytest.mark.parametrize("shapes", list(GRAD_SHAPES))
@pytest.mark.parametrize("case", GRAD_CASES, ids=repr)
def test_verify_grad(case, shapes, rng):
    arrays = _inputs(case, rng, GRAD_SHAPES[shapes][case.nin])
    verify_grad(case.fn, arrays, rng=1, wrt=list(case.grad))


@pytest.mark.parametrize("case", GRAD_CASES, ids=repr)
def test_grad_through_runtime_size_one_dims(case, rng):
    """Static dims of None that are 1 at run time: the gradient is summed back
    to each input's run-time shape and agrees with the static-shape graph."""
    static, runtime = RUNTIME_ONES[case.nin]
    arrays = _inputs(case, rng, runtime)

    def grads(shapes):
        sym = [
            ts.tensor(f"x{k}", shape=s, dtype=a.dtype)
            for k, (a, s) in enumerate(zip(arrays, shapes))
        ]
        cost = ts.sum(case.fn(*sym) * np.linspace(-1.0, 1.0, 3))
        gs = ts.grad(cost, [sym[k] for k in case.grad])
        return ts.function(sym, gs)(*arrays)

    for k, got, want in zip(case.grad, grads(static), grads(runtime)):
        assert got.shape == arrays[k].shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.nondiff], ids=repr)
def test_grad_through_nondifferentiable_input_names_the_op(case, rng):
    sym = [ts.tensor(f"x{k}", shape=(3,), dtype="float64") for k in range(case.nin)]
    cost = ts.sum(ts.cast(case.fn(*sym), "float64"))
    for k in case.nondiff:
        with pytest.raises(ValueError, match=case.name):
            ts.grad(cost, sym[k])


def test_gradient_dtype_follows_float32_input(rng):
    x = ts.tensor("x", shape=(3,), dtype="float32")
    g = ts.grad(ts.sum(ts.exp(x) * 2.0 + ts.sigmoid(x)), x)
    assert g.dtype == "float32"
    a = rng.standard_normal(3).astype("float32")
    val = ts.function([x], g)(a)
    assert val.dtype == np.float32
    s = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(val, 2 * np.exp(a) + s * (1 - s), rtol=1e-5)


@pytest.mark.parametrize(
    "fn, x, expected",
    [
        (ts.abs, [-2.0, 0.0, 3.0], [-1.0, 0.0, 1.0]),
        (ts.sqrt, [4.0], [0.25]),
        (ts.maximum, [1.0, 2.0], None),
        (lambda x: ts.pow(x, 2.0), [0.0, -3.0], [0.0, -6.0]),
        (lambda x: ts.pow(0.0 * x + 2.0, x), [1.0], [2.0 * np.log(2.0)]),
        (lambda x: ts.xlogy(x, 1.0 + 0.0 * x), [0.0], [0.0]),
    ],
)
def test_grad_values_at_special_points(fn, x, expected):
    v = ts.tensor("v", shape=(len(x),))
    if expected is None:  # ties in maximum send the gradient to the first input
        y = ts.tensor("y", shape=(len(x),))
        gx, gy = ts.grad(ts.sum(fn(v, y)), [v, y])
        got = ts.function([v, y], [gx, gy])(x, x)
        np.testing.assert_array_equal(got[0], np.ones(len(x)))
        np.testing.assert_array_equal(got[1], np.zeros(len(x)))
        return
    got = ts.function([v], ts.grad(ts.sum(fn(v)), v))(x)
    np.testing.assert_allclose(got, expected)


# --- build-time errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "shapes",
    [[(3,), (4,)], [(2, 3), (3, 2)], [(5, 4), (2, 3, 4)], [(0,), (2,)]],
)
@pytest.mark.parametrize("name", ["add", "mul", "maximum", "arctan2", "lt"])
def test_incompatible_static_shapes_raise_at_build_time(name, shapes):
    xs = [ts.tensor(f"x{k}", shape=s) for k, s in enumerate(shapes)]
    with pytest.raises(ValueError, match=name) as info:
        getattr(ts, name)(*xs)
    msg = str(info.value)
    assert "broadcast" in msg
    assert "(" + ", ".join(map(str, shapes[0])) in msg


def test_wrong_arity_raises():
    x = ts.tensor("x", shape=(3,))
    with pytest.raises(TypeError, match="exp takes 1 inputs, got 2"):
        ts.exp(x, x)


def test_cast_values_and_gradient(rng):
    a = rng.standard_normal(4) * 3
    x = ts.tensor("x", shape=(4,))
    f = ts.function([x], [ts.cast(x, "int32"), ts.cast(x, "float32"), x.astype("bool")])
    got = f(a)
    for g, dt in zip(got, ["int32", "float32", "bool"]):
        _assert_matches(g, a.astype(dt))
    verify_grad(lambda v: ts.cast(v, "float32") * 2.0, [a.astype("float32")])
    assert ts.cast(x, "float64") is x
