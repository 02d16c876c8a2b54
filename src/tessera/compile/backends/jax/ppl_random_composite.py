"""JAX samplers of composite distributions: mixtures and truncation.

Both reuse the samplers of the ops they wrap. A truncated draw inverts the
base distribution's CDF like NumPy does, but with the base's own log-CDF
graph (lowered to JAX) instead of SciPy: bisection on the value, in log
space so that deep upper tails keep their precision, a fixed number of
rounds (one per bit of the value's representation). Bases without a
log-CDF fall back to rejection sampling, as on NumPy.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.dispatch import runtime_check
from tessera.compile.backends.jax.ppl_random import (
    float_dtype,
    register_sampler,
    sub_sampler,
)
from tessera.compile.backends.jax.ppl_summation import graph_callable
from tessera.compile.backends.jax.random import broadcast_params


@register_sampler("Mixture")
def _mixture(op, node) -> Callable:
    groups = op.split_params(node.inputs[3:])
    samplers = [sub_sampler(c, g) for c, g in zip(op.components, groups)]
    out_dtype = node.outputs[1].type.numpy_dtype

    def sample(key, w, *params, size):
        (w,) = broadcast_params([w], [1], size)
        n_comp = w.shape[-1]
        groups = op.split_params(params)
        keys = jr.split(key, len(samplers) + 1)
        if op.stacked:
            draws = samplers[0](keys[0], *groups[0], size=size + (n_comp,))
        else:
            parts = [s(k, *g, size=size) for s, k, g in zip(samplers, keys, groups)]
            draws = jnp.stack([jnp.asarray(p, out_dtype) for p in parts], len(size))
        cdf = jnp.cumsum(w, axis=-1)
        cdf = cdf / cdf[..., -1:]
        u = jr.uniform(keys[-1], size + (1,), cdf.dtype)
        idx = jnp.minimum(jnp.sum(cdf <= u, axis=-1), n_comp - 1)
        idx = idx.reshape(size + (1,) * (draws.ndim - len(size)))
        picked = jnp.take_along_axis(draws, idx, axis=len(size))
        return jnp.squeeze(picked, axis=len(size)).astype(out_dtype)

    return sample


def _base_logcdf(base, bparams, ndim: int) -> Callable | None:
    """``logcdf(value, *params)`` of ``base`` as a JAX function, or None.

    Value and parameters are arrays of ``ndim`` dims (the batch).
    """
    from tessera.ops.type import TensorType
    from tessera.ppl.distributions.logprob import op_logcdf

    value = TensorType(base.out_dtype(), (None,) * ndim)("value")
    params = [TensorType(p.dtype, (None,) * ndim)() for p in bparams]
    try:
        lc = op_logcdf(base, value, params)
        fn = graph_callable([value, *params], [lc])
    except (NotImplementedError, TypeError):  # no log-CDF, or no JAX lowering
        return None
    return lambda x, *ps: fn(x, *ps)[0]


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


@register_sampler("Truncated")
def _truncated(op, node) -> Callable:
    base = op.base
    bparams = node.inputs[4:]
    base_sample = sub_sampler(base, bparams)
    out = node.outputs[1]
    discrete = out.type.numpy_dtype.kind in "iu"
    dt = float_dtype(node)
    logcdf = _base_logcdf(base, bparams, out.ndim)
    out_dtype = out.type.numpy_dtype

    def rejection(key, lower, upper, params, size):
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
                f"Truncated({base}): rejection sampling did not finish in "
                f"{op.max_n_steps} rounds; the interval holds too little mass"
            ),
        )
        return x

    def inverse_cdf(key, lower, upper, params, size):
        if discrete:
            # integers as exact floats; the bracket stays finite
            big = 2.0**53
            lo = jnp.clip(jnp.ceil(lower), -big, big) - 1.0
            hi = jnp.clip(jnp.floor(upper), -big, big)

            def cdf_at(x):
                return logcdf(x.astype(out_dtype), *params)

            steps = 56

            def mid_of(a, b):
                return jnp.floor(0.5 * a + 0.5 * b)

            start, decode = lo, hi
        else:
            to_key, from_key, steps = _float_keys(dt)

            def cdf_at(x):
                return logcdf(x, *params)

            def mid_of(a, b):
                # floor((a + b) / 2) without overflow
                return (a >> 1) + (b >> 1) + (a & b & 1)

            start, decode = to_key(lower) - 1, to_key(upper)
        at = (lambda k: k) if discrete else from_key
        lc_lo, lc_hi = (
            cdf_at(lo if discrete else lower),
            cdf_at(hi if discrete else upper),
        )
        log_mass = lc_hi + jnp.log(-jnp.expm1(lc_lo - lc_hi))
        u = jr.uniform(key, size, dt, minval=jnp.finfo(dt).tiny)
        target = jnp.logaddexp(lc_lo, jnp.log(u) + log_mass)
        found = _smallest_true(
            lambda k: cdf_at(at(k)) >= target, start, decode, steps, mid_of
        )
        x = jnp.clip(at(found), lower, upper)
        return x.astype(out_dtype)

    def sample(key, lower, upper, *params, size):
        lower, upper, *params = broadcast_params(
            [lower, upper, *params], [0] * (2 + len(params)), size
        )
        lower, upper = lower.astype(dt), upper.astype(dt)
        if logcdf is None:
            return rejection(key, lower, upper, params, size)
        return inverse_cdf(key, lower, upper, params, size)

    return sample
