"""Reductions and cumulative ops checked against NumPy, with gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sp

import tessera as ts
from tessera.testing import verify_grad

# name -> (tessera function, reference, differentiable)
REDUCTIONS = {
    "sum": (ts.sum, np.sum, True),
    "prod": (ts.prod, np.prod, True),
    "mean": (ts.mean, np.mean, True),
    "var": (ts.var, np.var, True),
    "std": (ts.std, np.std, True),
    "max": (ts.max, np.max, True),
    "min": (ts.min, np.min, True),
    "all": (ts.all, np.all, False),
    "any": (ts.any, np.any, False),
    "logsumexp": (ts.logsumexp, sp.logsumexp, True),
}
AXES = [None, 0, 1, -1, (0, 2), (2, 0), (), (0, 1, 2)]


def _data(name, rng, shape=(2, 3, 4), dtype="float64"):
    if name in ("all", "any"):
        return rng.random(shape) < 0.7
    a = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    return a.astype(dtype)


def _check(got, expected, rtol=1e-10):
    expected = np.asarray(expected)
    got = np.asarray(got)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_matches_numpy(name, axis, keepdims, rng):
    fn, ref, _ = REDUCTIONS[name]
    a = _data(name, rng)
    x = ts.tensor("x", shape=a.shape, dtype=a.dtype)
    out = fn(x, axis=axis, keepdims=keepdims)
    expected = np.asarray(ref(a, axis=axis, keepdims=keepdims))
    assert out.type.shape == expected.shape
    assert out.dtype == expected.dtype.name
    _check(ts.function([x], out)(a), expected)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_with_unknown_static_shape(name, axis, rng):
    fn, ref, _ = REDUCTIONS[name]
    a = _data(name, rng, (3, 1, 2))
    x = ts.tensor("x", shape=(None, None, None), dtype=a.dtype)
    out = fn(x, axis=axis)
    _check(ts.function([x], out)(a), ref(a, axis=axis))


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "bool", "int8"])
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_dtype_matches_numpy(name, dtype, rng):
    fn, ref, _ = REDUCTIONS[name]
    a = (rng.uniform(-3, 3, (3, 4))).astype(dtype)
    x = ts.tensor("x", shape=a.shape, dtype=dtype)
    with np.errstate(all="ignore"):
        expected = np.asarray(ref(a, axis=0))
    out = fn(x, axis=0)
    assert out.dtype == expected.dtype.name
    got = ts.function([x], out)(a)
    tol = 1e-3 if expected.dtype.itemsize <= 2 else 1e-5
    _check(got, expected, rtol=tol)


def test_sum_and_prod_accept_an_accumulator_dtype(rng):
    a = rng.integers(0, 5, (3, 4)).astype("int8")
    x = ts.tensor("x", shape=a.shape, dtype="int8")
    f = ts.function([x], [ts.sum(x, axis=1, dtype="float32"), x.sum(dtype="int64")])
    got = f(a)
    _check(got[0], a.sum(axis=1, dtype="float32"))
    _check(got[1], a.sum(dtype="int64"))


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_ddof(name, ddof, rng):
    fn, ref, _ = REDUCTIONS[name]
    a = rng.standard_normal((4, 3))
    for shape in [a.shape, (None, None)]:
        x = ts.tensor("x", shape=shape)
        got = ts.function([x], fn(x, axis=0, ddof=ddof))(a)
        _check(got, ref(a, axis=0, ddof=ddof))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "any", "all"])
def test_zero_size_reductions(name):
    fn, ref, _ = REDUCTIONS[name]
    a = np.zeros((0, 3), dtype=bool if name in ("any", "all") else float)
    x = ts.tensor("x", shape=(None, 3), dtype=a.dtype)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of empty slice
        expected = ref(a, axis=0)
        got = ts.function([x], fn(x, axis=0))(a)
    np.testing.assert_array_equal(got, expected)


# --- gradients ------------------------------------------------------------------

GRAD_REDUCTIONS = [n for n, (_, _, d) in REDUCTIONS.items() if d]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 2), ()], ids=str)
@pytest.mark.parametrize("name", GRAD_REDUCTIONS)
def test_reduction_verify_grad(name, axis, keepdims, rng):
    fn = REDUCTIONS[name][0]
    if name == "std" and axis == ():
        # std of single elements is sqrt(0): not differentiable there
        axis = -1
    a = _data(name, rng, (2, 3, 2))
    verify_grad(lambda x: fn(x, axis=axis, keepdims=keepdims), [a])


@pytest.mark.parametrize("name", GRAD_REDUCTIONS)
def test_reduction_grad_with_unknown_static_shape(name, rng):
    fn, _, _ = REDUCTIONS[name]
    a = _data(name, rng, (3, 1, 2))
    w = rng.standard_normal(2)

    def gradient(shape):
        x = ts.tensor("x", shape=shape)
        return ts.function([x], ts.grad(ts.sum(fn(x, axis=(0, 1)) * w), x))(a)

    np.testing.assert_allclose(gradient((None, None, None)), gradient(a.shape))


@pytest.mark.parametrize(
    "a, expected",
    [
        ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
        ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),
        ([0.0, 0.0, 4.0], [0.0, 0.0, 0.0]),
    ],
)
def test_prod_gradient_is_exact_with_zeros(a, expected):
    x = ts.tensor("x", shape=(3,))
    got = ts.function([x], ts.grad(ts.prod(x), x))(a)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name, pick", [("max", np.max), ("min", np.min)])
def test_max_min_ties_share_the_gradient(name, pick):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = ts.tensor("x", shape=a.shape)
    got = ts.function([x], ts.grad(ts.sum(getattr(ts, name)(x, axis=1)), x))(a)
    mask = a == pick(a, axis=1, keepdims=True)
    np.testing.assert_allclose(got, mask / mask.sum(axis=1, keepdims=True))


def test_logsumexp_is_stable_and_its_gradient_is_softmax(rng):
    a = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [-np.inf, 0.0]])
    x = ts.tensor("x", shape=a.shape)
    out = ts.logsumexp(x, axis=1)
    f = ts.function([x], [out, ts.grad(ts.sum(out), x)])
    with np.errstate(all="ignore"):
        value, g = f(a)
    np.testing.assert_allclose(value, [1000.0 + np.log(2.0), -np.inf, 0.0])
    np.testing.assert_allclose(g, [[0.5, 0.5], [0.0, 0.0], [0.0, 1.0]])


def test_methods_match_functions(rng):
    a = rng.standard_normal((2, 3))
    x = ts.tensor("x", shape=a.shape)
    outs = [
        x.sum(axis=0),
        x.prod(),
        x.mean(axis=1, keepdims=True),
        x.var(ddof=1),
        x.std(axis=0),
        x.max(axis=1),
        x.min(),
        x.argmax(axis=0),
        x.argmin(),
        (x > 0).all(axis=1),
        (x > 0).any(),
        x.cumsum(axis=1),
        x.cumprod(),
    ]
    expected = [
        a.sum(axis=0),
        a.prod(),
        a.mean(axis=1, keepdims=True),
        a.var(ddof=1),
        a.std(axis=0),
        a.max(axis=1),
        a.min(),
        a.argmax(axis=0),
        a.argmin(),
        (a > 0).all(axis=1),
        (a > 0).any(),
        a.cumsum(axis=1),
        a.cumprod(),
    ]
    for got, want in zip(ts.function([x], outs)(a), expected):
        _check(got, want)


def test_builtins_are_not_shadowed_in_tests():
    """``ts.sum`` & co shadow builtins only inside the tessera namespace."""
    assert sum([1, 2]) == 3
    assert ts.sum is not sum
    assert ts.max(ts.constant([1.0, 5.0])).eval() == 5.0


# --- argmax / argmin ------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_match_numpy(name, axis, keepdims, rng):
    a = rng.standard_normal((3, 4))
    for shape in [a.shape, (None, None)]:
        x = ts.tensor("x", shape=shape)
        out = getattr(ts, name)(x, axis=axis, keepdims=keepdims)
        expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
        assert out.dtype == "int64"
        _check(ts.function([x], out)(a), np.asarray(expected, dtype=np.int64))


def test_arg_reduction_has_no_gradient_and_says_so():
    x = ts.tensor("x", shape=(3,))
    cost = ts.cast(ts.argmax(x), "float64") * 2.0
    with pytest.raises(ValueError, match="ArgReduce"):
        ts.grad(cost, x)


# --- cumulative ops --------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_matches_numpy(name, axis, rng):
    a = rng.uniform(0.5, 1.5, (3, 4))
    for shape in [a.shape, (None, None)]:
        x = ts.tensor("x", shape=shape)
        got = ts.function([x], getattr(ts, name)(x, axis=axis))(a)
        _check(got, getattr(np, name)(a, axis=axis))


@pytest.mark.parametrize("dtype", ["int32", "bool", "float32", "int8"])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_dtype_matches_numpy(name, dtype, rng):
    a = rng.integers(0, 3, (3, 4)).astype(dtype)
    x = ts.tensor("x", shape=a.shape, dtype=dtype)
    out = getattr(ts, name)(x, axis=1)
    expected = getattr(np, name)(a, axis=1)
    assert out.dtype == expected.dtype.name
    _check(ts.function([x], out)(a), expected)


@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_verify_grad(name, axis, rng):
    a = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4))
    verify_grad(lambda x: getattr(ts, name)(x, axis=axis), [a])


def test_cumprod_gradient_divides_by_x():
    """Documented: the cumprod gradient is NaN where x has zeros."""
    x = ts.tensor("x", shape=(3,))
    with np.errstate(all="ignore"):
        got = ts.function([x], ts.grad(ts.sum(ts.cumprod(x)), x))([1.0, 0.0, 2.0])
    assert np.isnan(got[1])


# --- build-time errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: ts.sum(x, axis=3), "sum: axis 3 is out of range for 3 dims"),
        (lambda x: ts.sum(x, axis=-4), "sum: axis -4 is out of range"),
        (lambda x: ts.mean(x, axis=(0, 0)), "mean: repeated axis"),
        (lambda x: ts.max(x, axis=(1, -2)), "max: repeated axis"),
        (lambda x: ts.max(x, axis=2), "max: zero-size axis 2"),
        (lambda x: ts.argmin(x, axis=2), "argmin: axis 2 has size zero"),
        (lambda x: ts.argmax(x, axis=5), "argmax: axis 5 is out of range"),
        (lambda x: ts.cumsum(x, axis=3), "cumsum: axis 3 is out of range"),
        (lambda x: ts.logsumexp(x, axis=7), "logsumexp: axis 7 is out of range"),
    ],
)
def test_bad_axes_raise_at_build_time(call, match):
    x = ts.tensor("x", shape=(2, 3, 0))
    with pytest.raises(ValueError, match=match):
        call(x)
