"""Stan-style warm-up for NUTS as data, so one compiled kernel serves both phases.

The warm-up (Stan's windowed adaptation: dual-averaging step size, a
diagonal inverse mass matrix estimated from the draws of slow windows that
double in length) is written here as a pure per-chain update driven by a
per-step *schedule*: a row of flags telling the update whether to adapt
the step size, accumulate the draw into the variance estimate, close a
window or end the warm-up. Because the phase is an input rather than part
of the program, the compiled sampler (NUTS kernel plus model) is the same
for warm-up and for sampling, and XLA compiles it once.

Examples
--------
>>> sched = window_schedule(1000)
>>> sched.shape
(1000, 4)
>>> [int(i) for i in np.flatnonzero(sched[:, WINDOW_END])]
[99, 149, 249, 449, 949]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ADAPT",
    "AdaptState",
    "FINAL",
    "SLOW",
    "WINDOW_END",
    "adapt_init",
    "adapt_update",
    "window_schedule",
]

# columns of a schedule row
ADAPT, SLOW, WINDOW_END, FINAL = range(4)

# Stan's dual-averaging constants (Hoffman & Gelman 2014, section 3.2)
_GAMMA, _T0, _KAPPA = 0.05, 10.0, 0.75


def window_schedule(
    tune: int,
    steps: int | None = None,
    *,
    initial_buffer: int = 75,
    final_buffer: int = 50,
    first_window: int = 25,
) -> np.ndarray:
    """Per-step flags of Stan's windowed adaptation.

    Parameters
    ----------
    tune : int
        Number of warm-up steps.
    steps : int, optional
        Total rows (warm-up, then sampling steps, whose flags are all off);
        default ``tune``.
    initial_buffer, final_buffer, first_window : int
        Stan's defaults: a fast start adapting the step size only, slow
        windows (starting at ``first_window`` steps, each twice the last,
        the last one stretched to the final buffer) that also estimate the
        variances, a fast end. When the three do not fit in ``tune``, they
        take 15% / 75% / 10% of it, as in Stan; under 20 steps only the
        step size adapts.

    Returns
    -------
    ndarray
        ``(steps, 4)`` booleans, columns ``ADAPT`` (adapt the step size),
        ``SLOW`` (accumulate the draw), ``WINDOW_END`` (set the mass matrix
        from the window and restart the step size), ``FINAL`` (last
        warm-up step: fix the step size to its average).

    Examples
    --------
    >>> s = window_schedule(10, 12)
    >>> s[:, ADAPT].sum(), s[:, SLOW].any(), int(np.flatnonzero(s[:, FINAL])[0])
    (np.int64(10), np.False_, 9)
    """
    tune = int(tune)
    steps = tune if steps is None else int(steps)
    if tune < 1 or steps < tune:
        raise ValueError(
            f"window_schedule needs 1 <= tune <= steps, got {tune}, {steps}"
        )
    flags = np.zeros((steps, 4), dtype=bool)
    flags[:tune, ADAPT] = True
    flags[tune - 1, FINAL] = True
    if tune < 20:
        return flags
    if initial_buffer + first_window + final_buffer > tune:
        initial_buffer = int(0.15 * tune)
        final_buffer = int(0.1 * tune)
        first_window = tune - initial_buffer - final_buffer
    end_slow = tune - final_buffer
    start, size = initial_buffer, first_window
    while start < end_slow:
        # as in Stan, a window after the first is stretched to the final
        # buffer when the next one (twice as long) would not fit before it
        stop = min(start + size, end_slow)
        if start > initial_buffer and stop + 2 * size >= end_slow:
            stop = end_slow
        flags[start:stop, SLOW] = True
        flags[stop - 1, WINDOW_END] = True
        start, size = stop, 2 * size
    return flags


class AdaptState(NamedTuple):
    """One chain's warm-up state (arrays; batch them with ``jax.vmap``).

    ``step_size`` and ``inverse_mass_matrix`` are what the next transition
    uses; the rest is the dual averaging (``log_step``, ``log_avg``,
    ``h_bar``, ``mu``, ``count``) and the window's running moments
    (Welford: ``n``, ``mean``, ``m2``).
    """

    step_size: object
    inverse_mass_matrix: object
    log_step: object
    log_avg: object
    h_bar: object
    mu: object
    count: object
    n: object
    mean: object
    m2: object


def _restart(step_size, inverse_mass_matrix, xp):
    zero = xp.zeros_like(step_size)
    log_step = xp.log(step_size)
    mean = xp.zeros_like(inverse_mass_matrix)
    return AdaptState(
        step_size,
        inverse_mass_matrix,
        log_step,
        zero,
        zero,
        log_step + np.log(10.0),
        zero,
        zero,
        mean,
        mean,
    )


def adapt_init(
    shape: tuple[int, ...], step_size: float = 1.0, inverse_mass_matrix=None
) -> AdaptState:
    """The state before the first warm-up step: unit mass matrix, or the
    diagonal ``inverse_mass_matrix`` given (broadcast to ``shape``).

    NumPy arrays (no JAX program to compile) for ``shape = (..., ndim)``
    positions: a batch of chains has ``shape = (chains, ndim)``.

    Examples
    --------
    >>> s = adapt_init((3,))
    >>> s.inverse_mass_matrix.tolist(), float(s.step_size)
    ([1.0, 1.0, 1.0], 1.0)
    """
    shape = tuple(shape)
    inv = np.ones(shape) if inverse_mass_matrix is None else inverse_mass_matrix
    inv = np.broadcast_to(np.asarray(inv, dtype=np.float64), shape).copy()
    return _restart(np.full(shape[:-1], float(step_size)), inv, np)


def adapt_update(
    state: AdaptState, position, acceptance_rate, flags, target_accept: float = 0.8
) -> AdaptState:
    """The warm-up state after a transition that landed on ``position``.

    ``flags`` is one row of :func:`window_schedule` (a traced boolean
    vector); with every flag off the state is returned unchanged, so the
    sampling steps run through the same code.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> s = adapt_init((2,))
    >>> row = jnp.array([True, False, False, False])  # adapt the step size
    >>> low = adapt_update(s, jnp.zeros(2), 0.3, row)  # too few acceptances
    >>> high = adapt_update(s, jnp.zeros(2), 1.0, row)
    >>> bool(low.step_size < high.step_size)
    True
    """
    import jax.numpy as jnp

    adapt, slow, window_end, final = (flags[i] for i in range(4))
    # dual averaging of log(step size) towards the target acceptance rate
    accept = jnp.where(jnp.isfinite(acceptance_rate), acceptance_rate, 0.0)
    accept = jnp.minimum(accept, 1.0)
    count = state.count + 1.0
    eta = 1.0 / (count + _T0)
    h_bar = (1.0 - eta) * state.h_bar + eta * (target_accept - accept)
    log_step = state.mu - jnp.sqrt(count) / _GAMMA * h_bar
    weight = count**-_KAPPA
    log_avg = weight * log_step + (1.0 - weight) * state.log_avg
    stepped = state._replace(
        step_size=jnp.exp(log_step),
        log_step=log_step,
        log_avg=log_avg,
        h_bar=h_bar,
        count=count,
    )
    # Welford's running mean and sum of squared deviations over the window
    n = state.n + 1.0
    delta = position - state.mean
    mean = state.mean + delta / n
    m2 = state.m2 + delta * (position - mean)
    stepped = AdaptState(
        *(
            jnp.where(slow, new, old)
            for new, old in zip(
                stepped._replace(n=n, mean=mean, m2=m2), stepped, strict=True
            )
        )
    )
    # a closed window sets the mass matrix (the variances, shrunk towards
    # 1e-3 as in Stan) and restarts the dual averaging from the averaged
    # step size
    var = stepped.m2 / jnp.maximum(stepped.n - 1.0, 1.0)
    var = (stepped.n / (stepped.n + 5.0)) * var + 1e-3 * (5.0 / (stepped.n + 5.0))
    restarted = _restart(jnp.exp(stepped.log_avg), var, jnp)
    stepped = AdaptState(
        *(
            jnp.where(window_end, new, old)
            for new, old in zip(restarted, stepped, strict=True)
        )
    )
    stepped = stepped._replace(
        step_size=jnp.where(final, jnp.exp(stepped.log_avg), stepped.step_size)
    )
    return AdaptState(
        *(jnp.where(adapt, new, old) for new, old in zip(stepped, state, strict=True))
    )
