"""The BlackJAX driver: NUTS compiled whole with JAX over tessera's JAX graph.

With the JAX backend, nutpie would call the compiled log-density through
Python once per gradient, and that call (dispatch, transfers, the GIL
shared by the chains' threads) costs more than the gradient itself for
small and mid-sized models. Here the model's log-density and gradient (one
tessera graph, lowered to JAX) are traced into a single XLA program together
with BlackJAX's NUTS kernel (multinomial sampling) and Stan's window
adaptation (dual-averaging step size, diagonal mass matrix; see
:mod:`tessera.ppl.inference.adaptation`): after one compilation, sampling
runs with no Python in the loop.

Compile time matters as much as speed here (it is most of a first run), so
the program is built once and as small as it can be: the warm-up schedule
is an input, so warm-up and sampling share one program, and that program
runs one chain; the chains run in parallel threads (XLA releases the GIL),
or, with ``vectorized=True``, in one program of tessera's lanes NUTS
(:mod:`~tessera.ppl.inference.nuts_lanes_run`: the same algorithm, each
chain at its own pace rather than in the lockstep of ``jax.vmap``), which
suits many chains on few cores or a GPU.

tessera's own gradient graph is used (through ``jax.custom_vjp``), not
JAX's differentiation of the log-density, so both backends follow the same
gradient rules. Points where the log-density or its gradient is not finite,
or where a run-time check of the graph fails (a matrix that is not
positive definite, a parameter outside its support), count as
``logp = -inf``: a divergence, never an error mid-run.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, NamedTuple

import numpy as np

from tessera.compile.backends import get_backend
from tessera.ppl.inference.adaptation import adapt_init, adapt_update, window_schedule
from tessera.ppl.inference.nuts_result import (
    NutpieResult,
    join_chains,
    nuts_stats,
    sigint_flag,
)
from tessera.ppl.progress import stage

__all__ = ["jax_logdensity", "run_blackjax"]


def _require_blackjax():
    try:
        import blackjax
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ImportError(
            "nuts_sampler='blackjax' needs BlackJAX, a dependency of tessera: "
            "pip install blackjax (or pass nuts_sampler='nutpie')"
        ) from e
    return blackjax


def jax_logdensity(traceable: Callable) -> Callable:
    """A JAX log-density ``(x, *data) -> logp`` whose gradient in ``x`` is
    tessera's.

    ``traceable(x, *data) -> ([logp, grad], ok)`` is the pure form of a
    compiled log-density-and-gradient function
    (:attr:`tessera.compile.Function.traceable`, on a backend whose
    ``traceable`` capability is set; ``ok`` may be None). Non-finite values
    and failed run-time checks give ``logp = -inf`` and a zero gradient; the
    data get zero cotangents. Its ``both`` attribute is the jitted
    ``(x, *data) -> (logp, grad)``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> f = jax_logdensity(lambda x: ([-0.5 * x @ x, -x], jnp.asarray(True)))
    >>> lp, g = jax.value_and_grad(f)(jnp.array([1.0, 2.0]))
    >>> float(lp), g.tolist()
    (-2.5, [-1.0, -2.0])
    """
    import jax
    import jax.numpy as jnp

    # jitted so that the graph is traced once, however many times the
    # sampler's program calls it (JAX caches the trace per input shape); a
    # nested jit, compiled with the sampler's options
    @jax.jit
    def both(x, *data):
        (lp, g), ok = traceable(x, *data)
        good = jnp.isfinite(lp) & jnp.all(jnp.isfinite(g))
        if ok is not None:
            good = good & ok
        return jnp.where(good, lp, -jnp.inf), jnp.where(good, g, 0.0)

    @jax.custom_vjp
    def logdensity(x, *data):
        return both(x, *data)[0]

    def fwd(x, *data):
        lp, g = both(x, *data)
        return lp, (g, data)

    def bwd(res, cotangent):
        g, data = res
        return (cotangent * g, *(_zero_cotangent(d) for d in data))

    logdensity.defvjp(fwd, bwd)
    logdensity.both = both
    return logdensity


def _zero_cotangent(a: Any) -> Any:
    import jax
    import jax.numpy as jnp

    if jnp.issubdtype(a.dtype, jnp.inexact):
        return jnp.zeros_like(a)
    return np.zeros(a.shape, dtype=jax.dtypes.float0)


def _chunks(steps: int, target: int = 20) -> tuple[int, int]:
    """``(n_chunks, length)`` covering ``steps`` with about ``target`` chunks."""
    n = max(1, min(target, steps))
    length = -(-steps // n)
    return -(-steps // length), length


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="NUTS (BlackJAX)", disable=not enabled)


def _stats(info, logdensity, step_size, max_treedepth: int, sl: slice):
    """Sampler statistics named as in ArviZ, ``(chains, steps)`` each."""
    stats = nuts_stats(info, logdensity, step_size, max_treedepth)
    return {k: _by_chain(np.asarray(v)[sl]) for k, v in stats.items()}


def _by_chain(a) -> np.ndarray:
    # the scan stacks steps first: (steps, chains, ...) -> (chains, steps, ...)
    return np.ascontiguousarray(np.swapaxes(np.asarray(a), 0, 1))


def _check_x0(x0, draws: int, tune: int) -> np.ndarray:
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] < 1:
        raise ValueError(f"x0 must be (chains, ndim) with ndim >= 1, got {x0.shape}")
    for name, v in (("draws", draws), ("tune", tune)):
        if int(v) < 1:
            raise ValueError(f"{name} must be positive, got {v}")
    return x0


class _StepInfo(NamedTuple):
    """The statistics of a NUTS step the results keep: BlackJAX's
    ``NUTSInfo`` less the momentum and the trajectory's end states, which
    the program would otherwise stack step by step (seven more vectors of
    the model's size per step). Radon (89 parameters), medians of 3
    alternating runs: XLA compile 1.22 -> 1.01 s, sampling 0.61 -> 0.52 s."""

    is_divergent: Any
    energy: Any
    num_trajectory_expansions: Any
    num_integration_steps: Any
    acceptance_rate: Any


def _step_info(info) -> _StepInfo:
    return _StepInfo(*(getattr(info, name) for name in _StepInfo._fields))


def _chunk_fn(blackjax, logdensity, max_treedepth: int, target):
    """``chunk(carry, keys, flags, data)``: one chain's NUTS steps with the
    warm-up's adaptation, scanned over the rows of one chunk of the
    schedule, on the log-density ``logdensity(x, *data)``."""
    import jax

    kernel = blackjax.nuts.build_kernel()

    def transition(key, state, adapt, flags, data):
        new, info = kernel(
            key,
            state,
            lambda x: logdensity(x, *data),
            adapt.step_size,
            adapt.inverse_mass_matrix,
            max_num_doublings=max_treedepth,
        )
        out = (new.position, _step_info(info), new.logdensity, adapt.step_size)
        adapt = adapt_update(adapt, new.position, info.acceptance_rate, flags, target)
        return new, adapt, out

    def chunk(carry, keys, flags, data):
        # one compiled program for warm-up and sampling: the schedule rows
        # (`flags`) say what each step adapts; the data are inputs, so
        # that new values of the same shapes reuse the program
        def scan_step(carry, inputs):
            key, row = inputs
            state, adapt, out = transition(key, *carry, row, data)
            return (state, adapt), out

        return jax.lax.scan(scan_step, carry, (keys, flags))

    return chunk


def _schedule_and_keys(tune: int, draws: int, chains: int, seed: int):
    """The warm-up schedule and the random keys, both cut into chunks:
    ``(schedule (n_chunks, length, 4), keys (n_chunks, length, chains,
    ...))``."""
    import jax

    # the steps run in compiled chunks, so a progress bar can move between
    # them without host callbacks inside the program (which would also keep
    # JAX from caching the compiled program on disk); the last chunk may
    # run a few steps past the draws, which are dropped
    n_chunks, length = _chunks(tune + draws)
    schedule = window_schedule(tune, n_chunks * length)
    schedule = schedule.reshape(n_chunks, length, -1)
    # raw keys drawn with NumPy (any bits make a valid key): no JAX program
    # is compiled outside the sampler's
    key_shape = jax.eval_shape(jax.random.PRNGKey, 0).shape
    rng = np.random.default_rng(int(seed) % 2**64)
    keys = rng.integers(
        0, 2**32, size=(n_chunks, length, chains, *key_shape), dtype=np.uint32
    )
    return schedule, keys


def _initial_carry(
    blackjax, logdensity, x0: np.ndarray, x0_values, inv_mass=None, data=()
):
    """The chains' NUTS states at ``x0`` and fresh adaptation states."""
    import jax

    from tessera.compile.backends.jax.options import jit

    chains = x0.shape[0]
    if x0_values is None:
        init = jit(
            jax.vmap(lambda x: blackjax.nuts.init(x, lambda y: logdensity(y, *data)))
        )
        x0_values = jax.device_get(init(x0)[1:])
    lp, grad = (np.asarray(v, dtype=np.float64) for v in x0_values)
    if lp.shape != (chains,) or grad.shape != x0.shape:
        raise ValueError(
            f"x0_values must be shaped ({chains},) and {x0.shape}, got "
            f"{lp.shape} and {grad.shape}"
        )
    state = blackjax.mcmc.hmc.HMCState(x0, lp, grad)
    return (state, adapt_init(x0.shape, inverse_mass_matrix=inv_mass))


def _chain_runs(carry, keys, chains: int) -> list[tuple]:
    """The programs' ``(carry, keys)``, one per chain."""
    import jax

    return [
        (jax.tree_util.tree_map(lambda a, c=c: a[c], carry), keys[:, :, c])
        for c in range(chains)
    ]


# compiled chunk programs by log-density, then by settings and shapes: a
# second ppl.sample of the same model in a process reuses the program
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_program(logdensity, settings: tuple, program: Callable, args: tuple):
    """``program`` compiled for ``args`` (with tessera's XLA options), or
    the program compiled earlier for the same log-density, settings,
    argument shapes and XLA options (a second ``ppl.sample`` of a model
    reuses its sampler)."""
    import jax

    from tessera.compile.backends.jax.options import compiler_options, jit
    from tessera.compile.backends.jax.threefry import unrolled_threefry

    shapes = tuple(
        (np.shape(a), np.result_type(a).str) for a in jax.tree_util.tree_leaves(args)
    )
    # XLA options too: a program compiled before they changed is not reused
    key = (settings, shapes, repr(sorted(compiler_options().items())))
    try:
        programs = _COMPILED.setdefault(logdensity, {})
    except TypeError:  # a log-density that takes no weak reference
        programs = {}
    if key not in programs:
        # BlackJAX draws at every leaf: Threefry's rounds in line, not a loop
        # (the lanes program, also kept here, hashes its uniforms instead)
        with unrolled_threefry():
            lowered = jit(program).lower(*args)
        programs[key] = lowered.compile()
    return programs[key]


def _compile_chunk(chunk, runs, schedule, data, logdensity, settings: tuple):
    """``chunk`` compiled once, for the shapes of the first program (see
    :func:`compiled_program`)."""
    (carry, keys), *_ = runs
    args = (carry, keys[0], schedule[0], data)
    return compiled_program(logdensity, settings, chunk, args)


class _Stopped(list):
    """:func:`_run_chains`'s outputs when ``stop`` cut the run short: one
    output ``(steps, chains, ...)`` per program (None for a program that ran
    no chunk), the steps finished before it stopped."""


def _run_chains(chunk_c, runs, schedule, data, total: int, bar, cores, stop=None):
    """Run each program's chunks, the programs in threads (one per chain);
    returns the outputs ``(steps, chains, ...)``, or,
    when the event ``stop`` was set, a :class:`_Stopped` of the steps run
    (each program stops at its next chunk boundary)."""
    import jax

    lock = threading.Lock()
    length = schedule.shape[1]

    def run(args):
        carry, keys = args
        parts = []
        for i in range(len(schedule)):
            if stop is not None and stop.is_set():
                break
            carry, out = chunk_c(carry, keys[i], schedule[i], data)
            parts.append(jax.device_get(out))
            with lock:
                bar.update(min(length, total - i * length))
        if not parts:
            return None
        # the last chunk may run past the draws: drop those steps
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a)[:total], *parts)

    # XLA releases the GIL while a program runs: one thread per chain (up
    # to the cores) samples them in parallel
    workers = min(len(runs), cores or os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        outs = list(pool.map(run, runs))
    outs = [
        None if o is None else jax.tree_util.tree_map(lambda a: a[:, None], o)
        for o in outs
    ]
    if stop is not None and stop.is_set():
        return _Stopped(outs)
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=1), *outs)


def _compile_and_run(
    chunk,
    runs,
    schedule,
    data,
    total,
    cores,
    progressbar,
    cache_key,
    interruptible=False,
):
    """Compile the program, run the chains; returns their outputs and the
    seconds spent compiling (``"compile"``) and running (``"run"``).
    ``cache_key`` is ``(logdensity, settings)``: what the program depends on
    besides the shapes. ``interruptible``: Ctrl-C stops the chains at their
    next chunk boundary, the outputs then a :class:`_Stopped`."""
    logdensity, settings = cache_key
    t0 = time.perf_counter()
    with stage("Compiling the sampler (JAX)", progressbar):
        chunk_c = _compile_chunk(chunk, runs, schedule, data, logdensity, settings)
    t_compile = time.perf_counter() - t0
    # steps of all chains
    bar = _progress_bar(total * len(runs), progressbar)
    try:
        t0 = time.perf_counter()
        with sigint_flag() if interruptible else nullcontext() as stop:
            out = _run_chains(chunk_c, runs, schedule, data, total, bar, cores, stop)
        t_run = time.perf_counter() - t0
    finally:
        bar.close()
    return out, {"compile": t_compile, "run": t_run}


def _result(out, tune: int, max_treedepth: int, save_warmup: bool) -> NutpieResult:
    """Draws and statistics by chain, the warm-up split off."""
    pos, info, lps, steps = out
    res = NutpieResult(
        _by_chain(pos[tune:]),
        _stats(info, lps, steps, max_treedepth, slice(tune, None)),
    )
    if save_warmup:
        res.warmup_draws = _by_chain(pos[:tune])
        res.warmup_stats = _stats(info, lps, steps, max_treedepth, slice(None, tune))
    return res


def run_blackjax(
    logdensity: Callable,
    x0: np.ndarray,
    *,
    x0_values: tuple[np.ndarray, np.ndarray] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    target_accept: float = 0.8,
    max_treedepth: int = 10,
    save_warmup: bool = False,
    progressbar: bool = False,
    vectorized: bool = False,
    cores: int | None = None,
    inverse_mass_matrix: np.ndarray | None = None,
    data: tuple = (),
    key: Any = None,
) -> NutpieResult:
    """Run BlackJAX's NUTS kernel with Stan's window adaptation, compiled once.

    Parameters
    ----------
    logdensity : callable
        A JAX-traceable ``(x, *data) -> logp`` over a flat float vector
        ``x`` (see :func:`jax_logdensity` and
        :attr:`~tessera.ppl.inference.many_data.ManyLogp.logdensity`).
    x0 : ndarray
        ``(chains, ndim)`` starting points.
    x0_values : (ndarray, ndarray), optional
        The log-density ``(chains,)`` and its gradient ``(chains, ndim)``
        at ``x0`` when the caller has them already (it saves compiling the
        log-density on its own); computed here otherwise.
    draws, tune : int
        Per chain; ``tune`` adaptation steps (at least 1) are discarded
        unless ``save_warmup``.
    seed : int
    target_accept : float
        Target acceptance rate of the step-size adaptation.
    max_treedepth : int
        Maximum number of trajectory doublings.
    save_warmup : bool
    progressbar : bool
    vectorized : bool
        All chains in one program, each at its own pace
        (:mod:`~tessera.ppl.inference.nuts_lanes`: tessera's NUTS, the same
        algorithm) instead of one thread per chain running BlackJAX's
        one-chain program.
    cores : int, optional
        Threads running chains (default ``min(chains, cpu count)``).
    inverse_mass_matrix : ndarray, optional
        The diagonal inverse mass matrix the warm-up starts from, ``(ndim,)``
        or ``(chains, ndim)`` (default: ones).
    data : tuple of ndarray
        The arrays ``logdensity`` takes after ``x``: inputs of the compiled
        program (a later run with new values of the same shapes reuses it).
    key : object, optional
        The compiled program is kept under it (weakly referenced), with the
        settings, shapes and XLA options (default: ``logdensity``).

    Returns
    -------
    NutpieResult
        Flat draws ``(chains, draws, ndim)`` and statistics named as in
        ArviZ (``diverging``, ``tree_depth``, ``n_steps``, ``step_size``,
        ``lp``, ``energy``, ``acceptance_rate``, ``reached_max_treedepth``);
        ``timings`` holds the seconds spent compiling (``"compile"``) and
        running (``"run"``) the sampler. Ctrl-C stops the chains at their
        next chunk of steps (about a twentieth of the run) and returns the
        draws made so far (``interrupted`` set, see
        :func:`~tessera.ppl.inference.nuts_result.join_chains`), or raises
        ``KeyboardInterrupt`` when no chain had finished its warm-up.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> res = run_blackjax(lambda x: -0.5 * jnp.sum(x * x), np.zeros((2, 3)),
    ...                    draws=200, tune=200, seed=1)
    >>> res.draws.shape
    (2, 200, 3)
    >>> bool(np.abs(res.draws.mean(axis=(0, 1))).max() < 0.3)
    True
    """
    # float64 in JAX: the backend's package turns on jax_enable_x64
    get_backend("jax").load()
    blackjax = _require_blackjax()
    x0 = _check_x0(x0, draws, tune)
    draws, tune, max_treedepth = int(draws), int(tune), int(max_treedepth)
    chains = x0.shape[0]
    if vectorized:
        import jax

        from tessera.ppl.inference.nuts_lanes_run import run_lanes_chains

        carry = _initial_carry(
            blackjax, logdensity, x0, x0_values, inverse_mass_matrix, data
        )
        return run_lanes_chains(
            jax.value_and_grad(logdensity),
            carry,
            data,
            key=logdensity if key is None else key,
            draws=draws,
            tune=tune,
            seed=seed,
            target_accept=target_accept,
            max_treedepth=max_treedepth,
            save_warmup=save_warmup,
            progressbar=progressbar,
        )
    settings = (max_treedepth, float(target_accept))
    chunk = _chunk_fn(blackjax, logdensity, *settings)
    schedule, keys = _schedule_and_keys(tune, draws, chains, seed)
    carry = _initial_carry(
        blackjax, logdensity, x0, x0_values, inverse_mass_matrix, data
    )
    runs = _chain_runs(carry, keys, chains)
    out, timings = _compile_and_run(
        chunk,
        runs,
        schedule,
        tuple(data),
        tune + draws,
        cores,
        progressbar,
        (logdensity if key is None else key, settings),
        interruptible=True,
    )
    if isinstance(out, _Stopped):
        res = _stopped_result(out, x0.shape, tune, max_treedepth, save_warmup)
    else:
        res = _result(out, tune, max_treedepth, save_warmup)
    res.timings = timings
    return res


def _stopped_result(outs, shape, tune, max_treedepth, save_warmup) -> NutpieResult:
    """The draws of a run stopped by Ctrl-C (see
    :func:`~tessera.ppl.inference.nuts_result.join_chains`)."""
    parts = []
    for out in outs:
        if out is None:  # a chain that ran no chunk
            parts.append(NutpieResult(np.empty((1, 0, shape[1])), {}))
            continue
        res = _result(out, tune, max_treedepth, save_warmup)
        # one part per chain, so that join_chains counts each chain's draws
        for c in range(res.draws.shape[0]):
            part = NutpieResult(
                res.draws[c : c + 1], {k: v[c : c + 1] for k, v in res.stats.items()}
            )
            if save_warmup:
                part.warmup_draws = res.warmup_draws[c : c + 1]
                part.warmup_stats = {
                    k: v[c : c + 1] for k, v in res.warmup_stats.items()
                }
            parts.append(part)
    return join_chains(parts, interrupted=True)
