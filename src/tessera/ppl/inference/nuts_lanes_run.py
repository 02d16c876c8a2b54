"""``ppl.sample(chain_method="vectorized")``: a run's chains as the lanes
of :mod:`~tessera.ppl.inference.nuts_lanes`, one slot each, in one
compiled program.

The chains of a run do not wait for each other's trajectories (as they do
under ``jax.vmap`` of a NUTS kernel); a chain's draws are those of the same
chain in ``ppl.sample_many`` (same seed, start and data).

Examples
--------
>>> import jax.numpy as jnp
>>> from tessera.ppl.inference.adaptation import adapt_init
>>> from tessera.compile.backends import get_backend
>>> _ = get_backend("jax").load()  # float64
>>> logdensity = lambda x: -0.5 * jnp.sum(x * x)
>>> x0 = np.zeros((2, 3))
>>> carry = ((x0, np.zeros(2), np.zeros((2, 3))), adapt_init((2, 3)))
>>> res = run_lanes_chains(logdensity, carry, draws=300, tune=300, seed=1)
>>> res.draws.shape, res.stats["n_steps"].shape
((2, 300, 3), (2, 300))
>>> bool(np.abs(res.draws.std(axis=(0, 1)) - 1).max() < 0.2)
True
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from tessera.ppl.inference.adaptation import window_schedule
from tessera.ppl.inference.nuts_result import NutpieResult, join_chains, sigint_flag
from tessera.ppl.progress import stage

__all__ = ["ITERATIONS", "run_lanes_chains"]

#: leapfrog steps per call of the program (the progress bar moves and
#: Ctrl-C is seen between calls)
ITERATIONS = 256


class _Compiled:
    """The lanes program of ``logdensity``, compiled at its first call (or
    taken from an earlier run with the same log-density, settings, shapes
    and XLA options)."""

    def __init__(
        self,
        logdensity: Callable,
        max_treedepth: int,
        target_accept: float,
        progressbar: bool = False,
    ):
        import jax

        from tessera.ppl.inference.nuts_lanes import lanes_program

        vg = jax.vmap(jax.value_and_grad(logdensity))
        program = lanes_program(
            lambda x, data: vg(x),
            max_treedepth=max_treedepth,
            target_accept=target_accept,
            iterations=ITERATIONS,
        )
        self.zeros = program.zeros
        self.program = program
        self._logdensity = logdensity
        self._settings = ("lanes", max_treedepth, target_accept)
        self.compiled = None
        self.seconds = 0.0  # spent compiling
        self._progressbar = progressbar

    def __call__(self, *args):
        from tessera.ppl.inference.nuts_blackjax import compiled_program

        if self.compiled is None:
            t0 = time.perf_counter()
            with stage("Compiling the sampler (JAX)", self._progressbar):
                self.compiled = compiled_program(
                    self._logdensity, self._settings, self.program, args
                )
            self.seconds = time.perf_counter() - t0
        return self.compiled(*args)


def _lane_result(out, made, tune: int, max_treedepth: int, save_warmup: bool):
    """A :class:`NutpieResult` of the lanes' outputs ``(chains, steps, ...)``
    (the first ``made[c]`` transitions of chain ``c``)."""
    from tessera.ppl.inference.nuts_lanes_pool import lane_stats

    def one(c: int, sl: slice) -> tuple:
        rows = type(out)(*(a[None, c : c + 1, sl] for a in out))
        stats = {
            k: v[0] for k, v in lane_stats(rows, max_treedepth, slice(None)).items()
        }
        return rows.position[0], stats

    parts = []
    for c in range(out.position.shape[0]):
        draws, stats = one(c, slice(tune, int(made[c])))
        part = NutpieResult(draws, stats)
        if save_warmup:
            part.warmup_draws, part.warmup_stats = one(
                c, slice(0, min(tune, int(made[c])))
            )
        parts.append(part)
    return join_chains(parts, interrupted=bool(np.any(made < out.position.shape[1])))


def run_lanes_chains(
    logdensity: Callable,
    carry: tuple,
    *,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    target_accept: float = 0.8,
    max_treedepth: int = 10,
    save_warmup: bool = False,
    progressbar: bool = False,
) -> NutpieResult:
    """NUTS with Stan's window adaptation for every chain, in one program.

    Parameters
    ----------
    logdensity : callable
        A JAX-traceable ``x -> logp`` (see
        :func:`~tessera.ppl.inference.nuts_blackjax.jax_logdensity`).
    carry : tuple
        ``((position, logdensity, grad), AdaptState)``: the chains' starts
        ``(chains, ...)`` and their warm-up states.
    draws, tune, seed, target_accept, max_treedepth, save_warmup, progressbar
        As in :func:`~tessera.ppl.inference.nuts_blackjax.run_blackjax`;
        chain ``c`` draws from :func:`~tessera.ppl.inference.nuts_lanes_pool.
        lane_seeds` ``(seed, chains)[c]``.

    Returns
    -------
    NutpieResult
        As :func:`~tessera.ppl.inference.nuts_blackjax.run_blackjax`; Ctrl-C
        stops the chains at the next call of the program (a few hundred
        leapfrog steps) and keeps the draws made.
    """
    from tqdm.auto import tqdm

    from tessera.ppl.inference.nuts_lanes_pool import lane_seeds, run_lanes, window_size

    (x0, lp, grad), adapt = carry
    chains = x0.shape[0]
    steps = tune + draws
    program = _Compiled(
        logdensity, int(max_treedepth), float(target_accept), progressbar
    )
    starts = (np.asarray(x0), np.asarray(lp), np.asarray(grad), adapt)
    bar = tqdm(total=steps * chains, desc="NUTS (tessera)", disable=not progressbar)
    t0 = time.perf_counter()
    try:
        with sigint_flag() as stop:
            out, made = run_lanes(
                program,
                program.zeros,
                starts,
                lane_seeds(seed, chains),
                (),
                window_schedule(tune, steps),
                slots=chains,
                max_treedepth=int(max_treedepth),
                window=window_size(ITERATIONS, chains, x0.shape[1]),
                progress=bar.update,
                stop=stop,
            )
    finally:
        bar.close()
    res = _lane_result(out, made, tune, int(max_treedepth), save_warmup)
    total = time.perf_counter() - t0
    res.timings = {"compile": program.seconds, "run": total - program.seconds}
    return res
