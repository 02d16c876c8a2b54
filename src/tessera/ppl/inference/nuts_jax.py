"""NUTS compiled whole with JAX: BlackJAX's sampler over tessera's JAX graph.

With the JAX backend, nutpie would call the compiled log-density through
Python once per gradient, and that call (dispatch, transfers, the GIL
shared by the chains' threads) costs more than the gradient itself for
small and mid-sized models. Here the model's log-density and gradient (one
tessera graph, lowered to JAX) are traced into a single XLA program together
with BlackJAX's NUTS (multinomial sampling) and Stan-style window
adaptation (dual-averaging step size, diagonal mass matrix), the chains
vectorized with ``jax.vmap``: after one compilation, sampling runs with no
Python in the loop.

tessera's own gradient graph is used (through ``jax.custom_vjp``), not
JAX's differentiation of the log-density, so both backends follow the same
gradient rules. Points where the log-density or its gradient is not finite,
or where a run-time check of the graph fails (a matrix that is not
positive definite, a parameter outside its support), count as
``logp = -inf``: a divergence, never an error mid-run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tessera.ppl.inference.nuts import NutpieResult

__all__ = ["jax_logdensity", "run_blackjax"]


def _require_blackjax():
    try:
        import blackjax
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "nuts_sampler='blackjax' needs BlackJAX: pip install 'tessera[jax]' "
            "(or pass nuts_sampler='nutpie')"
        ) from e
    return blackjax


def jax_logdensity(traceable: Callable) -> Callable:
    """A JAX log-density ``x -> logp`` whose gradient is tessera's.

    ``traceable(x) -> ([logp, grad], ok)`` is the pure form of a compiled
    JAX-backend log-density-and-gradient function (the ``traceable``
    attribute the JAX linker gives it). Non-finite values and failed
    run-time checks give ``logp = -inf`` and a zero gradient.

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
    # sampler's program calls it (JAX caches the trace per input shape)
    @jax.jit
    def both(x):
        (lp, g), ok = traceable(x)
        good = ok & jnp.isfinite(lp) & jnp.all(jnp.isfinite(g))
        return jnp.where(good, lp, -jnp.inf), jnp.where(good, g, 0.0)

    @jax.custom_vjp
    def logdensity(x):
        return both(x)[0]

    def fwd(x):
        return both(x)

    def bwd(g, cotangent):
        return (cotangent * g,)

    logdensity.defvjp(fwd, bwd)
    return logdensity


def _chunk_length(draws: int) -> int:
    """The largest divisor of ``draws`` up to a tenth of it (at least 1)."""
    top = max(1, draws // 10)
    return max(d for d in range(1, top + 1) if draws % d == 0)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="NUTS (BlackJAX)", disable=not enabled)


def _stats(info, logdensity, step_size, max_treedepth: int) -> dict[str, Any]:
    depth = info.num_trajectory_expansions
    return {
        "diverging": info.is_divergent,
        "tree_depth": depth,
        "reached_max_treedepth": depth >= max_treedepth,
        "n_steps": info.num_integration_steps,
        "energy": info.energy,
        "acceptance_rate": info.acceptance_rate,
        "lp": logdensity,
        "step_size": step_size,
    }


def run_blackjax(
    logdensity: Callable,
    x0: np.ndarray,
    *,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    target_accept: float = 0.8,
    max_treedepth: int = 10,
    save_warmup: bool = False,
    progressbar: bool = False,
) -> NutpieResult:
    """Run BlackJAX's NUTS with window adaptation, all chains in one program.

    Parameters
    ----------
    logdensity : callable
        A JAX-traceable ``x -> logp`` over a flat float vector (see
        :func:`jax_logdensity`).
    x0 : ndarray
        ``(chains, ndim)`` starting points.
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

    Returns
    -------
    NutpieResult
        Flat draws ``(chains, draws, ndim)`` and statistics named as in
        ArviZ (``diverging``, ``tree_depth``, ``n_steps``, ``step_size``,
        ``lp``, ``energy``, ``acceptance_rate``, ``reached_max_treedepth``);
        ``timings`` holds the seconds spent compiling (``"compile"``) and
        running (``"run"``) the sampler.

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
    import jax
    import jax.numpy as jnp

    blackjax = _require_blackjax()
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] < 1:
        raise ValueError(f"x0 must be (chains, ndim) with ndim >= 1, got {x0.shape}")
    for name, v in (("draws", draws), ("tune", tune)):
        if int(v) < 1:
            raise ValueError(f"{name} must be positive, got {v}")
    draws, tune, max_treedepth = int(draws), int(tune), int(max_treedepth)
    chains = x0.shape[0]
    warmup = blackjax.window_adaptation(
        blackjax.nuts,
        logdensity,
        target_acceptance_rate=float(target_accept),
        max_num_doublings=max_treedepth,
    )
    kernel = blackjax.nuts.build_kernel()

    def warm(keys, x0):
        def one(key, x):
            (state, params), info = warmup.run(key, x, num_steps=tune)
            return state, params, info if save_warmup else None

        return jax.vmap(one)(keys, x0)

    def one_step(key, state, params):
        return kernel(
            key,
            state,
            logdensity,
            params["step_size"],
            params["inverse_mass_matrix"],
            max_num_doublings=max_treedepth,
        )

    def chunk(states, params, keys):
        # `len(keys)` draws for every chain
        def step(states, key):
            states, info = jax.vmap(one_step)(
                jax.random.split(key, chains), states, params
            )
            return states, (states.position, info, states.logdensity)

        return jax.lax.scan(step, states, keys)

    # sampling runs in chunks of compiled steps, so a progress bar can move
    # between them without host callbacks inside the program (which would
    # also keep JAX from caching the compiled program on disk)
    n_chunk = _chunk_length(draws)
    k_warm, k_draw = jax.random.split(jax.random.PRNGKey(int(seed) % 2**32))
    warm_keys = jax.random.split(k_warm, chains)
    draw_keys = jax.random.split(k_draw, draws).reshape(draws // n_chunk, n_chunk, -1)
    bar = _progress_bar(tune + draws, progressbar)
    try:
        t0 = time.perf_counter()
        warm_l = jax.jit(warm).lower(warm_keys, jnp.asarray(x0))
        # the chunk's input shapes, without tracing the warm-up again
        states, params, _ = warm_l.out_info
        warm_c = warm_l.compile()
        chunk_c = jax.jit(chunk).lower(states, params, draw_keys[0]).compile()
        t_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        states, params, winfo = warm_c(warm_keys, jnp.asarray(x0))
        jax.block_until_ready(states)
        bar.update(tune)
        parts = []
        for keys in draw_keys:
            states, out = chunk_c(states, params, keys)
            parts.append(jax.device_get(out))
            bar.update(n_chunk)
        t_run = time.perf_counter() - t0
    finally:
        bar.close()
    pos = np.concatenate([p[0] for p in parts])
    info = jax.tree_util.tree_map(lambda *a: np.concatenate(a), *[p[1] for p in parts])
    lps = np.concatenate([p[2] for p in parts])
    step_size = np.asarray(params["step_size"])[None]
    result = [pos, _stats(info, lps, step_size, max_treedepth)]
    if save_warmup:
        winfo = jax.device_get(winfo)
        w_state = winfo.state
        result += [
            w_state.position,
            _stats(
                winfo.info,
                w_state.logdensity,
                winfo.adaptation_state.step_size,
                max_treedepth,
            ),
        ]
    timings = {"compile": t_compile, "run": t_run}

    def by_chain(a, sample_axis: int) -> np.ndarray:
        # (draws, chains, ...) from our scan; (chains, tune, ...) from BlackJAX's
        a = np.asarray(a)
        return np.swapaxes(a, 0, 1) if sample_axis == 0 else a

    def stats(d, sample_axis, n):
        out = {}
        for k, v in d.items():
            v = np.asarray(v)
            if v.ndim == 1 or (v.ndim == 2 and v.shape == (1, chains)):
                v = np.broadcast_to(v.reshape(1, chains), (n, chains))
                v = v if sample_axis == 0 else v.T
            out[k] = np.ascontiguousarray(by_chain(v, sample_axis))
        return out

    res = NutpieResult(by_chain(result[0], 0), stats(result[1], 0, draws))
    res.timings = timings
    if save_warmup:
        res.warmup_draws = by_chain(result[2], 1)
        res.warmup_stats = stats(result[3], 1, tune)
    return res
