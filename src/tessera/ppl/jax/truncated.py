"""JAX samplers of :mod:`tessera.ppl.distributions.truncated`.

A truncated draw inverts the base distribution's CDF like NumPy does, but
with the base's own log-CDF graph (lowered to JAX) instead of SciPy:
bisection on the value, in log space so that deep upper tails keep their
precision, a fixed number of rounds (one per bit of the value's
representation). Bases without a log-CDF fall back to rejection sampling,
as on NumPy. The truncated normal uses ``jax.random.truncated_normal``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.dispatch import runtime_check
from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ops.type import TensorType
from tessera.ppl.distributions.logprob import op_logcdf
from tessera.ppl.distributions.truncated import TruncatedNormalRV, TruncatedRV
from tessera.ppl.jax.draws import float_dtype, sub_sampler
from tessera.ppl.jax.inner import graph_callable

#: Bisection rounds for integer values: integers up to 2**53 are exact floats.
_INT_STEPS = 56


@jax_sample.register(TruncatedNormalRV)
def _truncated_normal(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, sigma, lo, hi, size: (
        mu
        + sigma * jr.truncated_normal(k, (lo - mu) / sigma, (hi - mu) / sigma, size, dt)
    )


@jax_sample.register(TruncatedRV)
def _truncated(op, node) -> Callable:
    bparams = node.inputs[4:]
    base_sample = sub_sampler(op.base, bparams)
    out = node.outputs[1]
    dt = float_dtype(node)
    logcdf = _base_logcdf(op.base, bparams, out.ndim)
    if logcdf is None:
        draw = _rejection(op, base_sample, out.type.numpy_dtype)
    else:
        draw = _inverse_cdf(logcdf, dt, out.type.numpy_dtype)

    def sample(key, lower, upper, *params, size):
        lower, upper, *params = broadcast_params(
            [lower, upper, *params], [0] * (2 + len(params)), size
        )
        return draw(key, lower.astype(dt), upper.astype(dt), params, size)

    return sample


def _base_logcdf(base, bparams, ndim: int) -> Callable | None:
    """``logcdf(value, *params)`` of ``base`` as a JAX function, or None.

    Value and parameters are arrays of ``ndim`` dims (the batch).
    """
    value = TensorType(base.out_dtype(), (None,) * ndim)("value")
    params = [TensorType(p.dtype, (None,) * ndim)() for p in bparams]
    try:
        lc = op_logcdf(base, value, params)
        fn = graph_callable([value, *params], [lc])
    except (NotImplementedError, TypeError):  # no log-CDF, or no JAX lowering
        return None
    return lambda x, *ps: fn(x, *ps)[0]


def _rejection(op, base_sample: Callable, out_dtype) -> Callable:
    """Whole-batch rejection rounds until every element lies in its interval."""

    def draw(key, lower, upper, params, size):
        def cond(state):
            return (state[3] < op.max_n_steps) & ~jnp.all(state[2])

        def body(state):
            key, x, done, i = state
            key, sub = jr.split(key)
            new = base_sample(sub, *params, size=size).astype(out_dtype)
            ok = (new >= lower) & (new <= upper)
            return key, jnp.where(~done & ok, new, x), done | ok, i + 1

        init = (key, jnp.zeros(size, out_dtype), jnp.zeros(size, bool), 0)
        _, x, done, _ = jax.lax.while_loop(cond, body, init)
        runtime_check(
            done,
            RuntimeError(
                f"Truncated({op.base}): rejection sampling did not finish in "
                f"{op.max_n_steps} rounds; the interval holds too little mass"
            ),
        )
        return x

    return draw


def _inverse_cdf(logcdf: Callable, dt, out_dtype) -> Callable:
    """Inversion of the base CDF by bisection, on integers or on float bits."""
    discrete = out_dtype.kind in "iu"
    search = _integer_search() if discrete else _float_search(dt)

    def draw(key, lower, upper, params, size):
        start, stop, at, steps, mid_of = search(lower, upper)

        def cdf(x):
            return logcdf(x.astype(out_dtype) if discrete else x, *params)

        # integers: the CDF just below the interval (at lower - 1), and at its top
        lc_lo = cdf(start if discrete else lower)
        lc_hi = cdf(stop if discrete else upper)
        log_mass = lc_hi + jnp.log(-jnp.expm1(lc_lo - lc_hi))
        u = jr.uniform(key, size, dt, minval=jnp.finfo(dt).tiny)
        target = jnp.logaddexp(lc_lo, jnp.log(u) + log_mass)
        found = _smallest_true(
            lambda k: cdf(at(k)) >= target, start, stop, steps, mid_of
        )
        return jnp.clip(at(found), lower, upper).astype(out_dtype)

    return draw


def _integer_search() -> Callable:
    """The bisection bracket over integers (as exact floats; kept finite)."""

    def mid_of(a, b):
        return jnp.floor(0.5 * a + 0.5 * b)

    def search(lower, upper):
        big = 2.0**53
        lo = jnp.clip(jnp.ceil(lower), -big, big) - 1.0
        hi = jnp.clip(jnp.floor(upper), -big, big)
        return lo, hi, (lambda k: k), _INT_STEPS, mid_of

    return search


def _float_search(dt) -> Callable:
    """The bisection bracket over the bit patterns of floats of ``dt``."""
    to_key, from_key, steps = _float_keys(dt)

    def mid_of(a, b):
        # floor((a + b) / 2) without overflow
        return (a >> 1) + (b >> 1) + (a & b & 1)

    def search(lower, upper):
        return to_key(lower) - 1, to_key(upper), from_key, steps, mid_of

    return search


def _float_keys(dt):
    """Order-preserving maps between floats of ``dt`` and signed integers."""
    it = jnp.int64 if jnp.dtype(dt).itemsize == 8 else jnp.int32
    low = jnp.iinfo(it).min

    def to_key(x):
        bits = jax.lax.bitcast_convert_type(jnp.asarray(x, dt), it)
        return jnp.where(bits < 0, low - bits, bits)

    def from_key(key):
        return jax.lax.bitcast_convert_type(jnp.where(key < 0, low - key, key), dt)

    return to_key, from_key, 8 * jnp.dtype(dt).itemsize


def _smallest_true(pred, lo, hi, steps: int, mid_of):
    """Bisection: with ``pred(lo)`` false and ``pred(hi)`` true, the smallest
    point where ``pred`` holds (elementwise, ``steps`` rounds)."""

    def body(_, state):
        lo, hi = state
        open_ = lo + 1 < hi
        mid = mid_of(lo, hi)
        ok = pred(mid)
        return jnp.where(open_ & ~ok, mid, lo), jnp.where(open_ & ok, mid, hi)

    return jax.lax.fori_loop(0, steps, body, (lo, hi))[1]
