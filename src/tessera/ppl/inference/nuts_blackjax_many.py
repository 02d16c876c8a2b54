"""BlackJAX's NUTS for many datasets at once: the chains' program of
:mod:`~tessera.ppl.inference.nuts_blackjax` (its chunk of transitions with
the window adaptation, vectorized over chains) under one more ``jax.vmap``,
over a dataset axis of the log-density's data inputs.

Kept beside :mod:`~tessera.ppl.inference.nuts_blackjax` (not in it): it
adds functions only, reusing that module's chunk, schedule and keys as they
are, so the single-dataset driver is unchanged.

Examples
--------
>>> import numpy as np
>>> schedule, keys = many_schedule_and_keys(20, 10, 2, [1, 2, 3])
>>> keys.shape[:1], keys.shape[3]
((3,), 2)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.ppl.inference.adaptation import adapt_init
from tessera.ppl.inference.nuts_blackjax import (
    _chunk_fn,
    _require_blackjax,
    _schedule_and_keys,
)

__all__ = [
    "many_chunk_fn",
    "many_initial_carry",
    "many_schedule_and_keys",
    "many_stats",
]


def many_chunk_fn(blackjax, logdensity_data: Callable, max_treedepth: int, target):
    """``chunk(carry, keys, data, flags)``: :func:`_chunk_fn`'s chains
    (vectorized) run for every dataset under one more ``jax.vmap``.

    ``logdensity_data(x, *data)`` is the log-density of one dataset's
    arrays; ``carry``, ``keys`` and each array of ``data`` have a leading
    dataset axis, ``flags`` (the schedule rows) has none.
    """
    import jax

    def one(carry, keys, data, flags):
        def logdensity(x):
            return logdensity_data(x, *data)

        chunk = _chunk_fn(blackjax, logdensity, max_treedepth, target, True)
        return chunk(carry, keys, flags)

    return jax.vmap(one, in_axes=(0, 0, 0, None))


def many_initial_carry(x0: np.ndarray, lp: np.ndarray, grad: np.ndarray):
    """NUTS and adaptation states of ``(datasets, chains, ndim)`` starts."""
    blackjax = _require_blackjax()
    state = blackjax.mcmc.hmc.HMCState(x0, lp, grad)
    return (state, adapt_init(x0.shape))


def many_schedule_and_keys(tune: int, draws: int, chains: int, seeds) -> tuple:
    """The schedule (as :func:`_schedule_and_keys`) and every dataset's keys
    ``(datasets, n_chunks, length, chains, ...)``, dataset ``d``'s keys
    those a single run seeded ``seeds[d]`` draws."""
    schedule, _ = _schedule_and_keys(tune, draws, chains, 0)
    keys = np.stack([_schedule_and_keys(tune, draws, chains, int(s))[1] for s in seeds])
    return schedule, keys


def many_stats(info, lps, steps, max_treedepth: int, sl: slice) -> dict:
    """:func:`_stats` of ``(datasets, steps, chains)`` outputs, as
    ``(datasets, chains, steps)`` arrays."""

    def by_chain(a):
        return np.ascontiguousarray(np.swapaxes(np.asarray(a)[:, sl], 1, 2))

    depth = info.num_trajectory_expansions
    stats = {
        "diverging": info.is_divergent,
        "tree_depth": depth,
        "reached_max_treedepth": np.asarray(depth) >= max_treedepth,
        "n_steps": info.num_integration_steps,
        "energy": info.energy,
        "acceptance_rate": info.acceptance_rate,
        "lp": lps,
        "step_size": steps,
    }
    return {k: by_chain(v) for k, v in stats.items()}
