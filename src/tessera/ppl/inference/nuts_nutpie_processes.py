"""nutpie's chains in forked processes, one per chain.

nutpie runs chains in threads, which a Python log-density serializes on the
GIL (:func:`~tessera.ppl.inference.nuts_nutpie.run_nutpie`); here each chain
runs in a process of its own, forked so that the compiled log-density is
inherited rather than recompiled. The parent follows the chains' progress,
forwards Ctrl-C to them and collects the draws they made.

Examples
--------
Whether chains may be forked here (a process running JAX's threads is not):

>>> isinstance(jax_runtime_started(), bool)
True
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable

import numpy as np

from tessera.ppl.inference.nuts_nutpie import _run_nutpie, run_nutpie
from tessera.ppl.inference.nuts_result import NutpieResult, join_chains, sigint_flag

__all__ = ["jax_runtime_started", "run_nutpie_processes"]


def jax_runtime_started() -> bool:
    """Whether JAX has started its runtime (and its threads) in this process.

    Reads JAX's state without importing it: False when JAX is not imported
    or has run nothing yet.

    Examples
    --------
    >>> isinstance(jax_runtime_started(), bool)
    True
    """
    bridge = sys.modules.get("jax._src.xla_bridge")
    if bridge is None:
        return False
    backends = getattr(bridge, "_backends", None)
    # a JAX whose internals differ: assume it runs
    return bool(backends) if isinstance(backends, dict) else True


# jobs of the forked chain processes, inherited through fork (not pickled)
_FORK_JOBS: dict[int, tuple] = {}


# seconds an interrupted chain process has to send the draws it has made
_GRACE = 10.0


def _chain_process(key: int, chain: int, seed: int, conn, progress) -> None:
    """A forked process's work: sample chain ``chain``, send the outcome of
    :func:`~tessera.ppl.inference.nuts_nutpie._run_nutpie` (or the exception) through ``conn``."""
    stop = threading.Event()
    # Ctrl-C, forwarded by the parent or sent by a terminal to the whole
    # process group (or both), stops the chain at its next draw: the parent
    # collects what it has drawn
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        logp_dlogp, kwargs = _FORK_JOBS[key]
        kwargs = dict(kwargs)
        start = kwargs.pop("chain_initial_point", None)
        if start is not None:  # this chain's own start, not chain 0's
            kwargs["initial_point"] = lambda s: start(s, chain)

        def report(n: int) -> None:
            progress[chain] = n

        out = (
            "ok",
            _run_nutpie(
                logp_dlogp,
                chains=1,
                cores=1,
                seed=seed,
                stop=stop,
                on_progress=report,
                **kwargs,
            ),
        )
    except BaseException as e:  # noqa: BLE001 - the parent raises it
        out = ("error", e)
    try:
        conn.send(out)
    except Exception as e:  # noqa: BLE001 - an exception that does not pickle
        conn.send(("error", RuntimeError(f"chain {chain}: {out[1]!r} ({e!r})")))
    finally:
        conn.close()


def _interrupt(process) -> None:
    try:
        os.kill(process.pid, signal.SIGINT)
    except (ProcessLookupError, TypeError):  # exited already / not started
        pass


def _run_processes(key: int, seeds: list[int], workers: int, bar) -> list:
    """Run the chains, at most ``workers`` processes at a time; returns each
    chain's :func:`~tessera.ppl.inference.nuts_nutpie._run_nutpie` outcome (None for a chain never started,
    after Ctrl-C). Ctrl-C is forwarded to the running chains, which send
    what they have drawn; none outlives this call."""
    import multiprocessing as mp
    from multiprocessing.connection import wait as wait_any

    ctx = mp.get_context("fork")
    progress = ctx.RawArray("q", len(seeds))
    outcomes: list = [None] * len(seeds)
    pending, running = list(range(len(seeds))), {}
    deadline, shown = None, 0
    with sigint_flag() as stop:
        try:
            while pending or running:
                while pending and len(running) < workers and not stop.is_set():
                    c = pending.pop(0)
                    recv, send = ctx.Pipe(duplex=False)
                    p = ctx.Process(
                        target=_chain_process,
                        args=(key, c, seeds[c], send, progress),
                        daemon=True,
                    )
                    p.start()
                    send.close()
                    running[recv] = (c, p)
                if stop.is_set() and deadline is None:
                    pending.clear()
                    for _, p in running.values():
                        _interrupt(p)
                    deadline = time.monotonic() + _GRACE
                for conn in wait_any(list(running), timeout=0.1):
                    c, p = running.pop(conn)
                    try:
                        status, value = conn.recv()
                    except EOFError:
                        status, value = (
                            "error",
                            RuntimeError(
                                f"the process sampling chain {c} ended without a "
                                f"result (exit code {p.join(1) or p.exitcode})"
                            ),
                        )
                    conn.close()
                    p.join()
                    if status == "error":
                        raise value
                    outcomes[c] = value
                n = sum(progress)
                if len(progress) > 1:  # the bar sums the chains: show the laggard
                    bar.set_postfix_str(
                        f"slowest chain {min(progress)} steps", refresh=False
                    )
                bar.update(max(0, n - shown))
                shown = max(shown, n)
                if deadline is not None and time.monotonic() > deadline:
                    break  # a chain that does not stop: killed below
        finally:
            for conn, (_, p) in running.items():
                p.kill()
                p.join()
                conn.close()
    return outcomes


def run_nutpie_processes(
    logp_dlogp: Callable,
    ndim: int,
    *,
    chains: int,
    cores: int,
    seed: int,
    progressbar: bool = False,
    **kwargs,
) -> NutpieResult:
    """:func:`run_nutpie` with one forked process per chain.

    nutpie runs chains in threads, which a Python log-density serializes on
    the GIL; forked processes run them in parallel. Each process samples one
    chain with its own seed (derived from ``seed``); the compiled function
    is inherited through ``fork``, not recompiled. Needs the ``fork`` start
    method (Linux, macOS) and a fork-safe backend (NumPy: JAX's threads do
    not survive a fork). A process that has started JAX's runtime is never
    forked: its chains run in threads, with a warning. A keyword
    ``chain_initial_point`` (``(seed, chain) -> starting vector``) gives
    each process its chain's start (``initial_point`` is called in the
    process, which does not know its chain). The progress bar
    (``progressbar``) advances as the chains draw. Ctrl-C is forwarded to
    the chain processes, which send the draws they have made (see
    :func:`run_nutpie`); no process outlives the call.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():  # threads, should JAX have started here
    ...     warnings.simplefilter("ignore", RuntimeWarning)
    ...     res = run_nutpie_processes(lambda x: (-0.5 * float(x @ x), -x), 2,
    ...                                chains=2, cores=2, seed=0, draws=20, tune=20)
    >>> res.draws.shape
    (2, 20, 2)
    """
    import multiprocessing as mp

    chain_initial_point = kwargs.pop("chain_initial_point", None)
    if jax_runtime_started():
        # a fork would copy JAX's thread pools without their threads (JAX
        # warns of a likely deadlock): nutpie's threads instead
        warnings.warn(
            "chain_method='processes': this process has started JAX's "
            "runtime, which does not survive a fork; the chains run in "
            "threads instead (start a fresh process to sample in processes)",
            RuntimeWarning,
            stacklevel=3,
        )
        return run_nutpie(
            logp_dlogp,
            ndim,
            chains=chains,
            cores=cores,
            seed=seed,
            progressbar=progressbar,
            **kwargs,
        )
    if "fork" not in mp.get_all_start_methods():
        raise ValueError(
            "chain_method='processes' needs the 'fork' start method, which this "
            "platform lacks; use chain_method='threads'"
        )
    seeds = np.random.SeedSequence(int(seed)).generate_state(int(chains), np.uint64)
    key = id(logp_dlogp)
    _FORK_JOBS[key] = (
        logp_dlogp,
        {"ndim": ndim, "chain_initial_point": chain_initial_point, **kwargs},
    )
    per_chain = int(kwargs.get("draws", 1000)) + int(kwargs.get("tune", 1000))
    from tqdm.auto import tqdm

    bar = tqdm(
        total=int(chains) * per_chain,
        desc="NUTS (nutpie, one process per chain)",
        disable=not progressbar,
    )
    try:
        workers = max(1, min(int(cores), int(chains)))
        outcomes = _run_processes(key, [int(s >> 1) for s in seeds], workers, bar)
    finally:
        bar.close()
        del _FORK_JOBS[key]
    parts, interrupted = [], False
    for outcome in outcomes:
        if outcome is None:  # never started: no draws
            interrupted = True
            parts.append(NutpieResult(np.empty((1, 0, int(ndim))), {}))
        elif outcome[1]:
            interrupted = True
            parts.extend(outcome[0])
        else:
            parts.append(outcome[0])
    return join_chains(parts, interrupted=interrupted)
