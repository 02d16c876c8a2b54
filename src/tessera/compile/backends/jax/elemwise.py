"""JAX lowerings of :mod:`tessera.ops.elemwise` (the elementwise table, SumTo).

Each scalar function of :mod:`tessera.ops.math` maps by name to a
:mod:`jax.numpy` / :mod:`jax.scipy.special` function in :data:`SCALAR_FNS`.
Inputs are first converted to the dtype NumPy computes in, so results match
the NumPy backend's dtypes and precision (JAX's own promotion rules differ,
e.g. ``int32 + float32`` is float32 in JAX but float64 in NumPy).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    JaxLoweringError,
    jax_funcify,
    static_inputs,
    static_ints,
)
from tessera.ops.elemwise import Elemwise, SumTo

_LOG2 = float(np.log(2.0))


def _log1mexp(x):
    # log1p(-exp(x)) is accurate for x < -log 2, log(-expm1(x)) above
    return jnp.where(
        x < -_LOG2, jnp.log1p(-jnp.exp(x)), jnp.log(-jnp.expm1(jnp.minimum(x, 0)))
    )


def _betaln(a, b):
    # jax.scipy's betaln loses up to 5e-5 relative accuracy (a >> b, b < 1);
    # the log-gamma form agrees with SciPy to ~1e-10 over 1e-3..1e6
    return jsp.gammaln(a) + jsp.gammaln(b) - jsp.gammaln(a + b)


def _polygamma(n, x):
    # jax.scipy wants an integer order; the graph may hold it as a float
    return jsp.polygamma(jnp.asarray(n).astype(jnp.int64), x)


def _owens_t_quadrature(h, a):
    """Owen's T for JAX versions without ``jax.scipy.special.owens_t``.

    ``T(h, a) = 1/(2 pi) int_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx``,
    by 48-point Gauss-Legendre for ``|a| <= 1``; for ``|a| > 1`` through
    ``T(h, a) = (q(h) + q(ah)) / 2 - q(h) q(ah) - T(ah, 1/a)`` (``h, a > 0``,
    ``q`` the normal upper tail), which avoids the cancellation of the
    textbook form. T is even in ``h`` and odd in ``a``.
    """
    h, a = jnp.broadcast_arrays(jnp.abs(h), a)
    sign = jnp.sign(a)
    a = jnp.abs(a)
    t, w = np.polynomial.legendre.leggauss(48)

    def small(h, a):
        x = a[..., None] * (t + 1.0) / 2.0
        f = jnp.exp(-0.5 * h[..., None] ** 2 * (1.0 + x * x)) / (1.0 + x * x)
        return a * jnp.sum(w * f, axis=-1) / (4.0 * np.pi)

    big = a > 1.0
    a_in = jnp.where(big, 1.0 / jnp.where(big, a, 1.0), a)
    h_in = jnp.where(big, a * h, h)
    inner = small(h_in, a_in)
    qh, qah = jsp.ndtr(-h), jsp.ndtr(-a * h)
    outer = 0.5 * (qh + qah) - qh * qah - inner
    return sign * jnp.where(big, outer, inner)


#: Scalar-function name -> JAX implementation (NumPy broadcasting).
SCALAR_FNS: dict[str, Callable] = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "true_div": jnp.true_divide,
    "floor_div": jnp.floor_divide,
    "mod": jnp.mod,
    "pow": jnp.power,
    "neg": jnp.negative,
    "abs": jnp.abs,
    "sign": jnp.sign,
    "reciprocal": jnp.reciprocal,
    "square": jnp.square,
    "sqrt": jnp.sqrt,
    "maximum": jnp.maximum,
    "minimum": jnp.minimum,
    "clip": lambda x, lo, hi: jnp.minimum(jnp.maximum(x, lo), hi),
    "exp": jnp.exp,
    "expm1": jnp.expm1,
    "log": jnp.log,
    "log1p": jnp.log1p,
    "log2": jnp.log2,
    "log10": jnp.log10,
    "logaddexp": jnp.logaddexp,
    "sigmoid": jsp.expit,
    "softplus": lambda x: jnp.logaddexp(jnp.zeros((), x.dtype), x),
    "log_sigmoid": jax.nn.log_sigmoid,
    "logit": jsp.logit,
    "log1mexp": _log1mexp,
    "xlogy": jsp.xlogy,
    "xlog1py": jsp.xlog1py,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tan": jnp.tan,
    "arcsin": jnp.arcsin,
    "arccos": jnp.arccos,
    "arctan": jnp.arctan,
    "arctan2": jnp.arctan2,
    "sinh": jnp.sinh,
    "cosh": jnp.cosh,
    "tanh": jnp.tanh,
    "erf": jsp.erf,
    "erfc": jsp.erfc,
    "erfinv": jsp.erfinv,
    "ndtr": jsp.ndtr,
    "log_ndtr": jsp.log_ndtr,
    "ndtri": jsp.ndtri,
    "gammaln": jsp.gammaln,
    "digamma": jsp.digamma,
    "polygamma": _polygamma,
    "betaln": _betaln,
    "gammainc": jsp.gammainc,
    "gammaincc": jsp.gammaincc,
    "betainc": jsp.betainc,
    "i0": jsp.i0,
    "i1": jsp.i1,
    "i0e": jsp.i0e,
    "i1e": jsp.i1e,
    "owens_t": getattr(jsp, "owens_t", _owens_t_quadrature),
    "floor": jnp.floor,
    "ceil": jnp.ceil,
    "round": jnp.round,
    "where": jnp.where,
    "eq": jnp.equal,
    "neq": jnp.not_equal,
    "lt": jnp.less,
    "le": jnp.less_equal,
    "gt": jnp.greater,
    "ge": jnp.greater_equal,
    "logical_and": jnp.logical_and,
    "logical_or": jnp.logical_or,
    "logical_xor": jnp.logical_xor,
    "logical_not": jnp.logical_not,
    "isnan": jnp.isnan,
    "isinf": jnp.isinf,
    "isfinite": jnp.isfinite,
    "and_": jnp.bitwise_and,
    "or_": jnp.bitwise_or,
    "xor": jnp.bitwise_xor,
    "invert": jnp.invert,
    "identity": lambda x: x,
}


def register_scalar(name: str, fn: Callable) -> None:
    """Give the elementwise op ``name`` (a ScalarFn name) a JAX implementation.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> register_scalar("my_cube", lambda x: x**3)
    >>> SCALAR_FNS["my_cube"](jnp.asarray(2.0))
    Array(8., dtype=float64, weak_type=True)
    """
    SCALAR_FNS[name] = fn


def host_scalar(impl: Callable) -> Callable:
    """A JAX implementation that calls the NumPy/SciPy ``impl`` on the host.

    For scalar functions JAX has no kernel for (e.g. the von Mises CDF):
    :func:`jax.pure_callback` runs ``impl`` on host copies of the inputs, so
    it works under ``jit`` on any device, at the cost of a transfer. Only
    values cross; tessera differentiates the graph itself.

    Examples
    --------
    >>> import numpy as np
    >>> register_scalar("my_sinc", host_scalar(np.sinc))
    """

    def run(*args):
        args = [jnp.asarray(a) for a in args]
        shape = jnp.broadcast_shapes(*[a.shape for a in args])
        dtype = jnp.result_type(*args)

        def on_host(*vals):
            return np.asarray(impl(*vals), dtype=dtype)

        out = jax.ShapeDtypeStruct(shape, dtype)
        return jax.pure_callback(on_host, out, *args, vmap_method="broadcast_all")

    return run


def _compute_dtype(node) -> tuple[np.dtype | None, ...]:
    """Dtype each input is converted to before the JAX call (None: as is)."""
    fn = node.op.scalar_fn
    out = node.outputs[0].type.numpy_dtype
    dtypes = [i.type.numpy_dtype for i in node.inputs]
    if fn.name == "where":
        return (None, *([_compute_dtype_of(dtypes[1:], out)] * 2))
    if fn.name == "polygamma":
        return (None, out)
    return (_compute_dtype_of(dtypes, out),) * len(dtypes)


def _compute_dtype_of(dtypes, out: np.dtype) -> np.dtype:
    # float results: NumPy computes in the result dtype (an int input of exp
    # gives float64); other results: in the inputs' common dtype
    return out if out.kind in "fc" else np.result_type(*dtypes)


@jax_funcify.register(Elemwise)
def _funcify_elemwise(op: Elemwise, node) -> Callable:
    name = op.scalar_fn.name
    out = node.outputs[0].type.numpy_dtype
    if name.startswith("cast_"):
        return lambda x: jnp.asarray(x).astype(out)
    impl = SCALAR_FNS.get(name)
    if impl is None:
        raise JaxLoweringError(
            f"JAX backend: no lowering for elementwise op {name} (register one with "
            "tessera.compile.backends.jax.elemwise.register_scalar)"
        )
    casts = _compute_dtype(node)
    in_dtypes = [i.type.numpy_dtype for i in node.inputs]
    if all(c is None or c == d for c, d in zip(casts, in_dtypes)):
        return impl

    def run(*args):
        args = [
            a if c is None or c == d else jnp.asarray(a).astype(c)
            for a, c, d in zip(args, casts, in_dtypes)
        ]
        return impl(*args)

    return run


@jax_funcify.register(SumTo)
def _funcify_sum_to(op: SumTo, node) -> Callable:
    def run(g, shape):
        shape = static_ints(shape)
        axes = tuple(
            k for k, (s, gs) in enumerate(zip(shape, jnp.shape(g))) if s == 1 != gs
        )
        return jnp.sum(g, axis=axes, keepdims=True) if axes else g

    return static_inputs(run, 1)
