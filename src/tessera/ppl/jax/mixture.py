"""JAX samplers of :mod:`tessera.ppl.distributions.mixture`.

Both kinds reuse the samplers of the ops they wrap (found with
:func:`~tessera.ppl.jax.draws.sub_sampler`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.mixture import MixtureRV, ZeroInflatedRV
from tessera.ppl.jax.draws import sub_sampler


@jax_sample.register(MixtureRV)
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


@jax_sample.register(ZeroInflatedRV)
def _zero_inflated(op, node) -> Callable:
    base = jax_sample(op.base_op, node)

    def sample(key, psi, *params, size):
        k0, k1 = jax.random.split(key)
        keep = jr.uniform(k1, size) < psi
        return jnp.where(keep, base(k0, *params, size=size), 0)

    return sample
