"""JAX sampler of :class:`~tessera.ppl.distributions.timeseries.EulerMaruyama`:
``sde_fn``'s graph lowered to JAX (:func:`tessera.ppl.jax.inner.graph_callable`)
and stepped through time by a ``lax.scan``."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.timeseries.sde import EulerMaruyamaRV, sde_graph
from tessera.ppl.jax.draws import float_dtype
from tessera.ppl.jax.inner import graph_callable
from tessera.ppl.jax.timeseries.common import init_sampler


@jax_sample.register(EulerMaruyamaRV)
def _euler_maruyama(op, node) -> Callable:
    dt_ = float_dtype(node)
    init_sample = init_sampler(op.init_op, node.inputs[3 + op.n_pars :])
    fns: dict = {}

    def drift_diffusion(ndim: int) -> Callable:
        if ndim not in fns:
            ins, outs = sde_graph(op.sde_fn, ndim, op.n_pars, str(jnp.dtype(dt_)))
            fns[ndim] = graph_callable(ins, outs)
        return fns[ndim]

    def sample(key, dt, *params, size):
        size = tuple(size)
        k0, kz = jr.split(key)
        pars, init = params[: op.n_pars], params[op.n_pars :]
        dt, *pars = (
            p.astype(dt_)
            for p in broadcast_params([dt, *pars], [0] * (1 + op.n_pars), size)
        )
        fn = drift_diffusion(len(size))
        x0 = jnp.broadcast_to(jnp.asarray(init_sample(k0, *init, size=size), dt_), size)
        noise = jnp.sqrt(dt) * jr.normal(kz, (op.steps, *size), dt_)  # time first

        def step(x, e):
            f, g = fn(x, *pars)
            x = x + f * dt + g * e
            return x, x

        _, xs = jax.lax.scan(step, x0, noise)
        return jnp.concatenate([x0[..., None], jnp.moveaxis(xs, 0, -1)], axis=-1)

    return sample
