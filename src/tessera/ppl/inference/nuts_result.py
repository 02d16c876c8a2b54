"""What a NUTS driver returns: flat draws and sampler statistics.

Both drivers (:mod:`~tessera.ppl.inference.nuts_nutpie` and
:mod:`~tessera.ppl.inference.nuts_blackjax`) return a :class:`NutpieResult`
with statistics named as in ArviZ; :func:`~tessera.ppl.sample` maps its
draws to the original space.

Ctrl-C while the chains run (:func:`sigint_flag`) does not raise at once:
it sets a flag, the drivers stop their chains at the next point they can
(a draw in nutpie, a chunk of steps in BlackJAX) and :func:`join_chains`
keeps what was drawn. Chains stopped at different points are cut to the
shortest chain that has draws (ArviZ needs as many draws in every chain,
and NaN padding would turn every diagnostic into NaN); chains with no draw
after warm-up are dropped. With no draw at all (stopped during warm-up) it
raises ``KeyboardInterrupt`` saying so.
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

__all__ = ["NutpieResult", "join_chains", "nuts_stats", "sigint_flag"]


@dataclass
class NutpieResult:
    """Flat draws and sampler statistics of a NUTS run.

    Attributes
    ----------
    draws : ndarray
        ``(chains, draws, ndim)`` draws after tuning.
    stats : dict of str to ndarray
        ``(chains, draws)`` statistics, named as in ArviZ (``diverging``,
        ``step_size``, ``tree_depth``, ``n_steps``, ``lp``, ``energy``,
        ``acceptance_rate``, ...).
    warmup_draws : ndarray or None
        ``(chains, tune, ndim)`` tuning draws (with ``save_warmup``).
    warmup_stats : dict or None
    timings : dict or None
        Seconds spent compiling (``"compile"``) and running (``"run"``) a
        sampler that compiles (BlackJAX).
    interrupted : bool
        Sampling was stopped by Ctrl-C: the draws are what was drawn so far.
    chain_draws : tuple of int or None
        Of an interrupted run: the draws (after warm-up) each chain had made
        when it stopped, before the chains were cut to the same length.

    Examples
    --------
    >>> res = NutpieResult(np.zeros((1, 2, 3)), {"diverging": np.zeros((1, 2), bool)})
    >>> res.draws.shape
    (1, 2, 3)
    """

    draws: np.ndarray
    stats: dict[str, np.ndarray]
    warmup_draws: np.ndarray | None = None
    warmup_stats: dict[str, np.ndarray] | None = None
    timings: dict[str, float] | None = None
    interrupted: bool = False
    chain_draws: tuple[int, ...] | None = None


@contextmanager
def sigint_flag(*, second_raises: bool = True) -> Iterator[threading.Event]:
    """Ctrl-C (SIGINT) sets the yielded event instead of raising.

    The caller polls the event and stops its chains where it can. A second
    Ctrl-C, a second or more after the first, raises ``KeyboardInterrupt``
    at once (``second_raises``; one signal sent twice, as ``timeout`` does
    to its command and its process group, counts once). Outside the main
    thread, or where SIGINT is ignored, nothing is installed and the event
    is never set.

    Examples
    --------
    >>> with sigint_flag() as stop:
    ...     stop.is_set()
    False
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:
        yield stop
        return

    first: list[float] = []

    def handler(signum, frame):
        if first and second_raises and time.monotonic() - first[0] > 1.0:
            raise KeyboardInterrupt("sampling interrupted twice: stopped at once")
        if not first:
            first.append(time.monotonic())
        stop.set()

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _cut(res: NutpieResult, n: int, warm: int | None) -> NutpieResult:
    out = NutpieResult(res.draws[:, :n], {k: v[:, :n] for k, v in res.stats.items()})
    if res.warmup_draws is not None:
        out.warmup_draws = res.warmup_draws[:, :warm]
        out.warmup_stats = {k: v[:, :warm] for k, v in res.warmup_stats.items()}
    return out


def _concatenate(parts: Sequence[NutpieResult]) -> NutpieResult:
    def stack(arrays):
        return np.concatenate(arrays, axis=0)

    out = NutpieResult(
        stack([p.draws for p in parts]),
        {k: stack([p.stats[k] for p in parts]) for k in parts[0].stats},
    )
    if parts[0].warmup_draws is not None:
        out.warmup_draws = stack([p.warmup_draws for p in parts])
        out.warmup_stats = {
            k: stack([p.warmup_stats[k] for p in parts]) for k in parts[0].warmup_stats
        }
    return out


def join_chains(
    parts: Sequence[NutpieResult], *, interrupted: bool = False
) -> NutpieResult:
    """One result from results of one or more chains each, chains in order.

    Of an interrupted run (``interrupted``), the parts may hold different
    numbers of draws: chains with none are dropped, the others cut to the
    shortest, and a warning gives the draws each chain had made; with no
    draw in any chain it raises ``KeyboardInterrupt``.

    Examples
    --------
    >>> a = NutpieResult(np.zeros((1, 5, 2)), {"lp": np.zeros((1, 5))})
    >>> b = NutpieResult(np.zeros((1, 3, 2)), {"lp": np.zeros((1, 3))})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     res = join_chains([a, b], interrupted=True)
    >>> res.draws.shape, res.chain_draws
    ((2, 3, 2), (5, 3))
    """
    if not interrupted:
        return _concatenate(parts)
    counts = [n for p in parts for n in (p.draws.shape[1],) * p.draws.shape[0]]
    kept = [p for p in parts if p.draws.shape[1] > 0]
    if not kept:
        raise KeyboardInterrupt(
            "sampling interrupted during warm-up: no draws were kept"
        )
    n = min(p.draws.shape[1] for p in kept)
    warm = None
    if kept[0].warmup_draws is not None:
        warm = min(p.warmup_draws.shape[1] for p in kept)
    out = _concatenate([_cut(p, n, warm) for p in kept])
    out.interrupted, out.chain_draws = True, tuple(counts)
    dropped = [c for c, k in enumerate(counts) if k == 0]
    warnings.warn(
        f"sampling interrupted: draws per chain {list(counts)}; kept the first "
        f"{n} draws of {out.draws.shape[0]} chains"
        + (f" (chains {dropped} had no draws and were dropped)" if dropped else ""),
        UserWarning,
        stacklevel=3,
    )
    return out


def nuts_stats(info, logdensity, step_size, max_treedepth: int) -> dict:
    """Sampler statistics named as in ArviZ, from a NUTS step's ``info``
    (BlackJAX's ``NUTSInfo`` or a lanes
    :class:`~tessera.ppl.inference.nuts_lanes.LaneOutput`: the same field
    names), the log-densities and the step sizes; arrays as given.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> info = NS(is_divergent=np.array([False]), num_trajectory_expansions=
    ...           np.array([3]), num_integration_steps=np.array([7]),
    ...           energy=np.array([1.0]), acceptance_rate=np.array([0.9]))
    >>> st = nuts_stats(info, np.array([-1.0]), np.array([0.5]), 3)
    >>> bool(st["reached_max_treedepth"][0]), sorted(st)[:3]
    (True, ['acceptance_rate', 'diverging', 'energy'])
    """
    depth = np.asarray(info.num_trajectory_expansions)
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
