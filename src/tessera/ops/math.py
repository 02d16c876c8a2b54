"""Elementwise math: the table of scalar functions and their derivatives.

Every entry is one line: name, NumPy/SciPy implementation, arity and the
derivative rule ``(inputs, output, g) -> cotangents``. The public functions
(``tessera.exp``, ``tessera.add``, ...) are generated from the table.
"""

from __future__ import annotations

import builtins
import functools
import math as _m

import numpy as np
import scipy.special as sp

from tessera.graph.null import NonDifferentiable
from tessera.ops.elemwise import Elemwise, ScalarFn

_SQRT_PI = _m.sqrt(_m.pi)
_SQRT_2PI = _m.sqrt(2 * _m.pi)

OPS: dict[str, Elemwise] = {}


def _define(name, impl, nin, grad, doc, out_dtype=None, example="[0.5, 2.0]"):
    op = Elemwise(ScalarFn(name, impl, nin, grad, out_dtype))
    OPS[name] = op

    def fn(*args):
        return op(*args)

    params = ", ".join("xyz"[:nin]) if nin <= 3 else "*args"
    fn.__name__ = fn.__qualname__ = name
    args = ", ".join([f"ts.constant({example})"] * nin)
    fn.__doc__ = (
        f"{doc}\n\nElementwise with NumPy broadcasting and dtype promotion.\n\n"
        f"Parameters\n----------\n{params} : tensor_like\n\n"
        f"Returns\n-------\nTensorVariable\n\n"
        f"Examples\n--------\n>>> import tessera as ts\n"
        f">>> ts.{name}({args}).eval().shape\n(2,)\n"
    )
    return fn


# --- arithmetic -----------------------------------------------------------
add = _define("add", np.add, 2, lambda i, o, g: [g, g], "x + y.")
sub = _define("sub", np.subtract, 2, lambda i, o, g: [g, -g], "x - y.")
mul = _define("mul", np.multiply, 2, lambda i, o, g: [g * i[1], g * i[0]], "x * y.")
true_div = _define(
    "true_div", np.true_divide, 2, lambda i, o, g: [g / i[1], -g * o / i[1]], "x / y."
)
floor_div = _define("floor_div", np.floor_divide, 2, None, "x // y.")
mod = _define(
    "mod", np.mod, 2, lambda i, o, g: [g, -g * floor_div(i[0], i[1])], "x % y."
)
pow = _define(
    "pow",
    np.power,
    2,
    lambda i, o, g: [
        g * i[1] * i[0] ** (i[1] - 1),
        g * where(eq(i[0], 0), 0.0, o * log(i[0])),
    ],
    "x ** y.",
)
neg = _define("neg", np.negative, 1, lambda i, o, g: [-g], "-x.")
abs = _define("abs", np.abs, 1, lambda i, o, g: [g * sign(i[0])], "|x|.")
sign = _define("sign", np.sign, 1, None, "Sign of x (-1, 0 or 1).")
reciprocal = _define(
    "reciprocal", np.reciprocal, 1, lambda i, o, g: [-g * o * o], "1 / x."
)
square = _define("square", np.square, 1, lambda i, o, g: [2.0 * g * i[0]], "x ** 2.")
sqrt = _define("sqrt", np.sqrt, 1, lambda i, o, g: [g / (2.0 * o)], "Square root.")
maximum = _define(
    "maximum",
    np.maximum,
    2,
    lambda i, o, g: [where(ge(i[0], i[1]), g, 0.0), where(ge(i[0], i[1]), 0.0, g)],
    "Elementwise maximum (ties send the gradient to x).",
)
minimum = _define(
    "minimum",
    np.minimum,
    2,
    lambda i, o, g: [where(le(i[0], i[1]), g, 0.0), where(le(i[0], i[1]), 0.0, g)],
    "Elementwise minimum (ties send the gradient to x).",
)
clip = _define(
    "clip",
    np.clip,
    3,
    lambda i, o, g: [
        where(and_(ge(i[0], i[1]), le(i[0], i[2])), g, 0.0),
        where(lt(i[0], i[1]), g, 0.0),
        where(gt(i[0], i[2]), g, 0.0),
    ],
    "Clip x to [lo, hi].",
)

# --- exponentials and logarithms --------------------------------------------
exp = _define("exp", np.exp, 1, lambda i, o, g: [g * o], "Exponential.")
expm1 = _define("expm1", np.expm1, 1, lambda i, o, g: [g * (o + 1.0)], "exp(x) - 1.")
log = _define("log", np.log, 1, lambda i, o, g: [g / i[0]], "Natural logarithm.")
log1p = _define("log1p", np.log1p, 1, lambda i, o, g: [g / (1.0 + i[0])], "log(1 + x).")
log2 = _define(
    "log2", np.log2, 1, lambda i, o, g: [g / (i[0] * _m.log(2.0))], "Base-2 log."
)
log10 = _define(
    "log10", np.log10, 1, lambda i, o, g: [g / (i[0] * _m.log(10.0))], "Base-10 log."
)
logaddexp = _define(
    "logaddexp",
    np.logaddexp,
    2,
    lambda i, o, g: [g * exp(i[0] - o), g * exp(i[1] - o)],
    "log(exp(x) + exp(y)), computed stably.",
)
sigmoid = _define(
    "sigmoid", sp.expit, 1, lambda i, o, g: [g * o * (1.0 - o)], "1 / (1 + exp(-x))."
)
softplus = _define(
    "softplus",
    lambda x: np.logaddexp(0.0, x).astype(np.result_type(x, 0.0), copy=False),
    1,
    lambda i, o, g: [g * sigmoid(i[0])],
    "log(1 + exp(x)), computed stably.",
)
log_sigmoid = _define(
    "log_sigmoid",
    sp.log_expit,
    1,
    lambda i, o, g: [g * sigmoid(-i[0])],
    "log(sigmoid(x)), computed stably.",
)
logit = _define(
    "logit", sp.logit, 1, lambda i, o, g: [g / (i[0] * (1.0 - i[0]))], "log(x/(1-x))."
)
log1mexp = _define(
    "log1mexp",
    # each branch sees only arguments in its own range, so the branch not
    # taken warns of nothing (log1mexp(0) = -inf still warns, as log(0) does)
    lambda x: np.where(
        x < -_m.log(2.0),
        np.log1p(-np.exp(np.minimum(x, -_m.log(2.0)))),
        np.log(-np.expm1(np.clip(x, -_m.log(2.0), 0))),
    ),
    1,
    lambda i, o, g: [-g / expm1(-i[0])],
    "log(1 - exp(x)) for x <= 0, computed stably.",
    example="[-0.5, -2.0]",
)
xlogy = _define(
    "xlogy",
    sp.xlogy,
    2,
    lambda i, o, g: [g * where(eq(i[0], 0), 0.0, log(i[1])), g * i[0] / i[1]],
    "x * log(y), with 0 where x == 0.",
)
xlog1py = _define(
    "xlog1py",
    sp.xlog1py,
    2,
    lambda i, o, g: [
        g * where(eq(i[0], 0), 0.0, log1p(i[1])),
        g * i[0] / (1.0 + i[1]),
    ],
    "x * log1p(y), with 0 where x == 0.",
)

# --- trigonometric and hyperbolic -------------------------------------------
sin = _define("sin", np.sin, 1, lambda i, o, g: [g * cos(i[0])], "Sine.")
cos = _define("cos", np.cos, 1, lambda i, o, g: [-g * sin(i[0])], "Cosine.")
tan = _define("tan", np.tan, 1, lambda i, o, g: [g * (1.0 + o * o)], "Tangent.")
arcsin = _define(
    "arcsin",
    np.arcsin,
    1,
    lambda i, o, g: [g / sqrt(1.0 - i[0] * i[0])],
    "Inverse sine.",
    example="[0.5, -0.25]",
)
arccos = _define(
    "arccos",
    np.arccos,
    1,
    lambda i, o, g: [-g / sqrt(1.0 - i[0] * i[0])],
    "Inverse cosine.",
    example="[0.5, -0.25]",
)
arctan = _define(
    "arctan",
    np.arctan,
    1,
    lambda i, o, g: [g / (1.0 + i[0] * i[0])],
    "Inverse tangent.",
)
arctan2 = _define(
    "arctan2",
    np.arctan2,
    2,
    lambda i, o, g: [
        g * i[1] / (i[0] * i[0] + i[1] * i[1]),
        -g * i[0] / (i[0] * i[0] + i[1] * i[1]),
    ],
    "Angle of the point (x=second, y=first) argument: arctan(y / x) by quadrant.",
)
sinh = _define("sinh", np.sinh, 1, lambda i, o, g: [g * cosh(i[0])], "Hyperbolic sine.")
cosh = _define(
    "cosh", np.cosh, 1, lambda i, o, g: [g * sinh(i[0])], "Hyperbolic cosine."
)
tanh = _define(
    "tanh", np.tanh, 1, lambda i, o, g: [g * (1.0 - o * o)], "Hyperbolic tangent."
)

# --- special functions --------------------------------------------------------
erf = _define(
    "erf",
    sp.erf,
    1,
    lambda i, o, g: [g * (2.0 / _SQRT_PI) * exp(-i[0] * i[0])],
    "Error function.",
)
erfc = _define(
    "erfc",
    sp.erfc,
    1,
    lambda i, o, g: [-g * (2.0 / _SQRT_PI) * exp(-i[0] * i[0])],
    "Complementary error function.",
)
erfinv = _define(
    "erfinv",
    sp.erfinv,
    1,
    lambda i, o, g: [g * (_SQRT_PI / 2.0) * exp(o * o)],
    "Inverse error function.",
    example="[0.5, -0.25]",
)
ndtr = _define(
    "ndtr",
    sp.ndtr,
    1,
    lambda i, o, g: [g * exp(-0.5 * i[0] * i[0]) / _SQRT_2PI],
    "Standard normal CDF.",
)
log_ndtr = _define(
    "log_ndtr",
    sp.log_ndtr,
    1,
    lambda i, o, g: [g * exp(-0.5 * i[0] * i[0] - o) / _SQRT_2PI],
    "Log of the standard normal CDF, computed stably.",
)
ndtri = _define(
    "ndtri",
    sp.ndtri,
    1,
    lambda i, o, g: [g * _SQRT_2PI * exp(0.5 * o * o)],
    "Inverse of the standard normal CDF.",
    example="[0.5, 0.25]",
)
gammaln = _define(
    "gammaln", sp.gammaln, 1, lambda i, o, g: [g * digamma(i[0])], "log|Gamma(x)|."
)
digamma = _define(
    "digamma",
    sp.digamma,
    1,
    lambda i, o, g: [g * polygamma(1, i[0])],
    "Digamma function (derivative of gammaln).",
)


@functools.lru_cache(maxsize=256)
def _polygamma_dtype(n_dtype, x_dtype) -> np.dtype:
    return sp.polygamma(np.ones(1, n_dtype), np.ones(1, x_dtype)).dtype


def _polygamma(n, x):
    # scipy computes order 0 with psi in x's own precision even when the
    # result is float64 (e.g. int32 n, float32 x): evaluate in the result
    # dtype so the values are as precise as the dtype says
    n, x = np.asarray(n), np.asarray(x)
    dt = _polygamma_dtype(n.dtype, x.dtype)
    return sp.polygamma(n.astype(dt, copy=False), x.astype(dt, copy=False))


polygamma = _define(
    "polygamma",
    _polygamma,
    2,
    lambda i, o, g: [
        NonDifferentiable(OPS["polygamma"], "order n"),
        g * polygamma(i[0] + 1, i[1]),
    ],
    "Polygamma function of order n (first argument, an integer).",
    example="[1, 2]",
)
betaln = _define(
    "betaln",
    sp.betaln,
    2,
    lambda i, o, g: [
        g * (digamma(i[0]) - digamma(i[0] + i[1])),
        g * (digamma(i[1]) - digamma(i[0] + i[1])),
    ],
    "log|Beta(a, b)|.",
)
gammainc = _define(
    "gammainc",
    sp.gammainc,
    2,
    lambda i, o, g: [
        NonDifferentiable(OPS["gammainc"], "derivative in the shape parameter"),
        g * exp(-i[1] + (i[0] - 1.0) * log(i[1]) - gammaln(i[0])),
    ],
    "Regularized lower incomplete gamma function P(a, x).",
)
gammaincc = _define(
    "gammaincc",
    sp.gammaincc,
    2,
    lambda i, o, g: [
        NonDifferentiable(OPS["gammaincc"], "derivative in the shape parameter"),
        -g * exp(-i[1] + (i[0] - 1.0) * log(i[1]) - gammaln(i[0])),
    ],
    "Regularized upper incomplete gamma function Q(a, x).",
)
betainc = _define(
    "betainc",
    sp.betainc,
    3,
    lambda i, o, g: [
        NonDifferentiable(OPS["betainc"], "derivative in a"),
        NonDifferentiable(OPS["betainc"], "derivative in b"),
        g
        * exp(
            xlogy(i[0] - 1.0, i[2]) + xlog1py(i[1] - 1.0, -i[2]) - betaln(i[0], i[1])
        ),
    ],
    "Regularized incomplete beta function I_x(a, b).",
    example="[0.5, 0.25]",
)
i0 = _define("i0", sp.i0, 1, lambda i, o, g: [g * i1(i[0])], "Modified Bessel I0.")
i1 = _define(
    "i1",
    sp.i1,
    1,
    lambda i, o, g: [g * (i0(i[0]) - o / i[0])],
    "Modified Bessel I1.",
)
i0e = _define(
    "i0e",
    sp.i0e,
    1,
    lambda i, o, g: [g * (i1e(i[0]) - sign(i[0]) * o)],
    "Exponentially scaled Bessel I0: exp(-|x|) I0(x).",
)
i1e = _define(
    "i1e",
    sp.i1e,
    1,
    lambda i, o, g: [g * (i0e(i[0]) - o * (sign(i[0]) + 1.0 / i[0]))],
    "Exponentially scaled Bessel I1: exp(-|x|) I1(x).",
)
owens_t = _define(
    "owens_t",
    sp.owens_t,
    2,
    lambda i, o, g: [
        -g
        * exp(-0.5 * i[0] * i[0])
        * erf(i[1] * i[0] / _m.sqrt(2.0))
        / (2 * _SQRT_2PI),
        g
        * exp(-0.5 * i[0] * i[0] * (1.0 + i[1] * i[1]))
        / (2 * _m.pi * (1.0 + i[1] * i[1])),
    ],
    "Owen's T function T(h, a) (gives the skew-normal CDF).",
)

# --- rounding (piecewise constant: zero gradient) --------------------------
floor = _define("floor", np.floor, 1, None, "Round down.")
ceil = _define("ceil", np.ceil, 1, None, "Round up.")
round = _define("round", np.round, 1, None, "Round half to even.")

# --- selection -----------------------------------------------------------------
where = _define(
    "where",
    np.where,
    3,
    lambda i, o, g: [
        NonDifferentiable(OPS["where"], "boolean condition"),
        where(i[0], g, 0.0),
        where(i[0], 0.0, g),
    ],
    "Choose y where the condition x holds, else z.",
    example="[True, False]",
)
switch = where

# --- comparisons and logic (boolean results: no gradient) ----------------------
_B = "bool"
eq = _define("eq", np.equal, 2, "nondiff", "x == y.", _B)
neq = _define("neq", np.not_equal, 2, "nondiff", "x != y.", _B)
lt = _define("lt", np.less, 2, "nondiff", "x < y.", _B)
le = _define("le", np.less_equal, 2, "nondiff", "x <= y.", _B)
gt = _define("gt", np.greater, 2, "nondiff", "x > y.", _B)
ge = _define("ge", np.greater_equal, 2, "nondiff", "x >= y.", _B)
logical_and = _define("logical_and", np.logical_and, 2, "nondiff", "x and y.", _B)
logical_or = _define("logical_or", np.logical_or, 2, "nondiff", "x or y.", _B)
logical_xor = _define("logical_xor", np.logical_xor, 2, "nondiff", "x xor y.", _B)
logical_not = _define("logical_not", np.logical_not, 1, "nondiff", "not x.", _B)
isnan = _define("isnan", np.isnan, 1, "nondiff", "x is NaN.", _B)
isinf = _define("isinf", np.isinf, 1, "nondiff", "x is +-inf.", _B)
isfinite = _define("isfinite", np.isfinite, 1, "nondiff", "x is finite.", _B)
_bits = "[1, 2]"
and_ = _define("and_", np.bitwise_and, 2, "nondiff", "x & y.", example=_bits)
or_ = _define("or_", np.bitwise_or, 2, "nondiff", "x | y.", example=_bits)
xor = _define("xor", np.bitwise_xor, 2, "nondiff", "x ^ y.", example=_bits)
invert = _define("invert", np.invert, 1, "nondiff", "~x.", example=_bits)
identity = _define("identity", np.array, 1, lambda i, o, g: [g], "A copy of x.")

_CASTS: dict[str, Elemwise] = {}


def cast(x, dtype):
    """Convert ``x`` to ``dtype`` (like ``ndarray.astype``).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.cast(ts.constant([1.7, -1.2]), "int64").eval()
    array([ 1, -1])
    """
    from tessera.ops.basic import as_tensor

    x = as_tensor(x)
    dt = np.dtype(dtype).name
    if x.dtype == dt:
        return x
    op = _CASTS.get(dt)
    if op is None:
        op = Elemwise(
            ScalarFn(
                f"cast_{dt}",
                lambda v, _dt=dt: np.asarray(v).astype(_dt),
                1,
                lambda i, o, g: [g],
                dt,
            )
        )
        _CASTS[dt] = op
    return op(x)


def prod(x):
    """Product of all elements (see :func:`tessera.ops.reduction.prod`)."""
    from tessera.ops.reduction import prod as _prod

    return _prod(x)


__all__ = [n for n in OPS] + ["cast", "switch"]
_ = builtins  # the module shadows abs/pow/round; builtins stay reachable
