"""``ppl.sample(chain_method="vectorized")``: a run's chains as the lanes
of :mod:`~tessera.ppl.inference.nuts_lanes`, one slot each, in one
compiled program.

The chains of a run do not wait for each other's trajectories (as they do
under ``jax.vmap`` of a NUTS kernel). :class:`LanesProgram` is also
``ppl.sample_many``'s program: ``ppl.sample`` passes the model's data as
inputs of the program, as ``sample_many`` does, so that a chain's draws
are those of the same chain in ``sample_many`` (same seed, start and data)
bit for bit.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> from tessera.ppl.inference.adaptation import adapt_init
>>> from tessera.compile.backends import get_backend
>>> _ = get_backend("jax").load()  # float64
>>> both = jax.value_and_grad(lambda x: -0.5 * jnp.sum(x * x))
>>> x0 = np.zeros((2, 3))
>>> carry = ((x0, np.zeros(2), np.zeros((2, 3))), adapt_init((2, 3)))
>>> res = run_lanes_chains(both, carry, draws=300, tune=300, seed=1)
>>> res.draws.shape, res.stats["n_steps"].shape
((2, 300, 3), (2, 300))
>>> bool(np.abs(res.draws.std(axis=(0, 1)) - 1).max() < 0.2)
True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tessera.ppl.inference.adaptation import window_schedule
from tessera.ppl.inference.nuts_result import NutpieResult, join_chains, sigint_flag
from tessera.ppl.progress import stage

__all__ = ["ITERATIONS", "LanesProgram", "run_lanes_chains"]

#: leapfrog steps per call of the program (the progress bar moves and
#: Ctrl-C is seen between calls)
ITERATIONS = 256


class LanesProgram:
    """The lanes program (:func:`~tessera.ppl.inference.nuts_lanes.
    lanes_program`) of a log-density over each slot's data, compiled at its
    first call and shared by the threads that run chunks of lanes.

    Parameters
    ----------
    both : callable
        ``both(x, *data) -> (logp, grad)`` for one lane (JAX-traceable),
        ``logp = -inf`` where it is not finite.
    settings : tuple
        ``(max_treedepth, target_accept)``.
    iterations : int
        Leapfrog steps per call.
    devices : sequence of jax devices, optional
        Shard the slot axis over them (a 1-D ``jax.sharding`` mesh).
    key : object, optional
        Weak-referenceable object the compiled program is kept under (with
        the settings, argument shapes and XLA options), so that a later run
        with the same key reuses it; default: compiled per instance.
    progressbar : bool
        Show the compile as a stage.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> both = jax.value_and_grad(lambda x: -0.5 * jnp.sum(x * x))
    >>> p = LanesProgram(both, (10, 0.8), iterations=64)
    >>> p.compiled is None, p.max_treedepth
    (True, 10)
    """

    def __init__(
        self,
        both: Callable,
        settings: tuple,
        *,
        iterations: int,
        devices: Sequence | None = None,
        key: Any = None,
        progressbar: bool = False,
    ):
        import jax

        from tessera.ppl.inference.nuts_lanes import lanes_program

        vg = jax.vmap(both)
        max_treedepth, target_accept = settings
        program = lanes_program(
            lambda x, data: vg(x, *data),
            max_treedepth=max_treedepth,
            target_accept=target_accept,
            iterations=iterations,
        )
        self.zeros = program.zeros
        self.max_treedepth = max_treedepth
        self.program = program
        self.sharding = None
        if devices:
            from jax.sharding import Mesh, NamedSharding, PartitionSpec

            mesh = Mesh(np.asarray(list(devices)), ("slot",))
            self.sharding = NamedSharding(mesh, PartitionSpec("slot"))
        self._key = key
        # the mesh too: a program compiled for one sharding is not another's
        where = tuple(str(d) for d in devices) if devices else ()
        self._settings = ("lanes", max_treedepth, target_accept, iterations, where)
        self._progressbar = progressbar
        self.compiled = None
        self.seconds = 0.0  # spent compiling
        self._compiling = threading.Lock()

    def put(self, tree):
        import jax

        if self.sharding is None:
            return tree
        return jax.device_put(tree, self.sharding)

    def compile(self, args: tuple):
        """The program compiled for ``args`` (or the one compiled earlier
        under the same key)."""
        from tessera.compile.backends.jax.options import jit
        from tessera.ppl.inference.nuts_blackjax import compiled_program

        if self._key is None:
            return jit(self.program).lower(*args).compile()
        return compiled_program(self._key, self._settings, self.program, args)

    def __call__(self, state, fresh, start, rand, data, flags, until):
        # every input but the schedule has a leading slot axis
        state, fresh, start, rand, data, until = self.put(
            (state, fresh, start, rand, data, until)
        )
        args = (state, fresh, start, rand, data, flags, until)
        if self.compiled is None:
            # chunks start in several threads at once: one compiles, the
            # others wait for its program instead of compiling their own
            with self._compiling:
                if self.compiled is None:
                    t0 = time.perf_counter()
                    with stage("Compiling the sampler (JAX)", self._progressbar):
                        self.compiled = self.compile(args)
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
    both: Callable,
    carry: tuple,
    data: tuple = (),
    *,
    key: Any = None,
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
    both : callable
        A JAX-traceable ``both(x, *data) -> (logp, grad)`` of one chain
        (``logp = -inf`` where it is not finite), such as
        :attr:`~tessera.ppl.inference.many_data.ManyLogp.both`.
    carry : tuple
        ``((position, logdensity, grad), AdaptState)``: the chains' starts
        ``(chains, ...)`` and their warm-up states.
    data : tuple of ndarray
        The arrays ``both`` takes after ``x`` (the same for every chain).
    key : object, optional
        The compiled program is kept under it (see :class:`LanesProgram`).
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
    settings = (int(max_treedepth), float(target_accept))
    program = LanesProgram(
        both, settings, iterations=ITERATIONS, key=key, progressbar=progressbar
    )
    starts = (np.asarray(x0), np.asarray(lp), np.asarray(grad), adapt)
    # every lane (chain) has its own copy of the data, as in sample_many
    lane_data = tuple(
        np.ascontiguousarray(np.broadcast_to(a, (chains, *np.shape(a)))) for a in data
    )
    bar = tqdm(total=steps * chains, desc="NUTS (tessera)", disable=not progressbar)
    t0 = time.perf_counter()
    try:
        with sigint_flag() as stop:
            out, made = run_lanes(
                program,
                program.zeros,
                starts,
                lane_seeds(seed, chains),
                lane_data,
                window_schedule(tune, steps),
                slots=chains,
                max_treedepth=int(max_treedepth),
                window=window_size(ITERATIONS, chains, x0.shape[1], int(max_treedepth)),
                progress=bar.update,
                stop=stop,
            )
    finally:
        bar.close()
    res = _lane_result(out, made, tune, int(max_treedepth), save_warmup)
    total = time.perf_counter() - t0
    res.timings = {"compile": program.seconds, "run": total - program.seconds}
    return res
