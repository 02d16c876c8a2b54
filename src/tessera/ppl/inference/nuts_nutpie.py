"""The nutpie driver: NUTS over a Python log-density-and-gradient callable.

nutpie (a Rust implementation of NUTS with gradient-based mass-matrix
adaptation) accepts any Python callable ``x -> (logp, grad)`` over a flat
float64 vector (``nutpie.compiled_pyfunc.from_pyfunc``). :func:`run_nutpie`
wraps such a callable, running the chains in nutpie's threads;
:func:`~tessera.ppl.inference.nuts_nutpie_processes.run_nutpie_processes`
runs one forked process per chain instead.
:func:`~tessera.ppl.sample` feeds them the model's
:class:`~tessera.ppl.model.FlatLogpDlogp` (one compiled call per
gradient); only the flat unconstrained draws are recorded, so nothing but
the sampler runs per draw.

Examples
--------
>>> import numpy as np
>>> def logp_dlogp(x):  # a standard 2-d Gaussian
...     return -0.5 * float(x @ x), -x
>>> res = run_nutpie(logp_dlogp, 2, draws=200, tune=200, chains=2, seed=1)
>>> res.draws.shape
(2, 200, 2)
>>> bool(np.abs(res.draws.mean(axis=(0, 1))).max() < 0.3)
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np

from tessera.ppl.inference.nuts_result import NutpieResult, join_chains, sigint_flag

__all__ = ["run_nutpie"]

_FLAT = "__unconstrained"

# nutpie's sample-stat names -> the names ArviZ and PyMC use
_STAT_NAMES = {
    "diverging": "diverging",
    "step_size": "step_size",
    "step_size_bar": "step_size_bar",
    "depth": "tree_depth",
    "maxdepth_reached": "reached_max_treedepth",
    "n_steps": "n_steps",
    "logp": "lp",
    "energy": "energy",
    "energy_error": "energy_error",
    "mean_tree_accept": "acceptance_rate",
    "mean_tree_accept_sym": "acceptance_rate_sym",
    "index_in_trajectory": "index_in_trajectory",
}


def _safe_logp(logp_dlogp: Callable, ndim: int) -> Callable:
    """``logp_dlogp`` that never raises a numerical error into nutpie.

    nutpie aborts the whole run on an exception, but treats a log-density of
    ``-inf`` as a divergence (the trajectory ends, the chain goes on); an
    invalid region (a non-positive-definite matrix, an overflow) is that.
    """
    zeros = np.zeros(ndim)

    def logp(x, **_shared):
        try:
            # overflow at the edge of the support is expected while exploring
            # (a -inf logp is a divergence), not worth a warning
            with np.errstate(all="ignore"):
                lp, g = logp_dlogp(x)
        except (FloatingPointError, ArithmeticError, np.linalg.LinAlgError):
            return -np.inf, zeros
        lp = float(lp)
        if not np.isfinite(lp):
            return -np.inf, zeros
        g = np.asarray(g, dtype=np.float64)
        if not np.all(np.isfinite(g)):
            return -np.inf, zeros
        return lp, g

    return logp


def _check_start(x, ndim: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (ndim,):
        raise ValueError(f"initial point has shape {x.shape}, expected ({ndim},)")
    return x


def _check_sizes(ndim: int, draws: int, tune: int, chains: int) -> int:
    """``ndim`` as an int, after checking that every size is positive."""
    ndim = int(ndim)
    if ndim < 1:
        raise ValueError(f"NUTS needs at least one continuous variable, got {ndim}")
    for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(v) < 1:
            # nutpie's adaptation windows need at least one tuning step
            raise ValueError(f"{name} must be positive, got {v}")
    return ndim


def _chain_initial_point(initial_point, ndim: int, seed: int):
    """nutpie's per-chain initial-point callback, or None for nutpie's own."""
    if initial_point is None:
        return None
    # probe once here, so that a bad point raises a clear error instead of a
    # panic inside nutpie's threads; then each chain asks with its own seed
    # (derived by nutpie from `seed` and the chain number, so the run is
    # reproducible whatever the thread scheduling)
    _check_start(initial_point(int(seed)), ndim)

    def init_fn(chain_seed):
        return _check_start(initial_point(int(chain_seed)), ndim)

    return init_fn


def _pyfunc_model(logp: Callable, ndim: int, init_fn):
    """nutpie's compiled model around the Python log-density ``logp``."""
    from nutpie.compiled_pyfunc import from_pyfunc

    def make_logp_fn():
        return logp

    def make_expand_fn(seed1, seed2, chain):
        # the flat draw only: mapping to the original space happens once, in
        # a vectorized call over all draws, after sampling
        def expand(x, **_shared):
            return {_FLAT: np.array(x, dtype=np.float64)}

        return expand

    return from_pyfunc(
        ndim,
        make_logp_fn,
        make_expand_fn,
        [np.dtype("float64")],
        [(ndim,)],
        [_FLAT],
        make_initial_point_fn=init_fn,
    )


def _stats(dataset) -> dict[str, np.ndarray]:
    return {
        new: np.asarray(dataset[old].values)
        for old, new in _STAT_NAMES.items()
        if old in dataset.data_vars
    }


def _result(trace, save_warmup: bool) -> NutpieResult:
    """Flat draws and ArviZ-named statistics of nutpie's trace."""
    out = NutpieResult(
        np.asarray(trace.posterior[_FLAT].values), _stats(trace.sample_stats)
    )
    if save_warmup and "warmup_posterior" in trace.groups():
        out.warmup_draws = np.asarray(trace.warmup_posterior[_FLAT].values)
        out.warmup_stats = _stats(trace.warmup_sample_stats)
    return out


def run_nutpie(
    logp_dlogp: Callable[[np.ndarray], tuple[float, np.ndarray]],
    ndim: int,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    seed: int | None = None,
    initial_point: Callable[[int], np.ndarray] | None = None,
    progressbar: bool = False,
    save_warmup: bool = False,
    **nutpie_kwargs: Any,
) -> NutpieResult:
    """Run nutpie's NUTS on a plain log-density-and-gradient callable.

    Parameters
    ----------
    logp_dlogp : callable
        ``x -> (logp, grad)`` with ``x`` a float64 vector of ``ndim``.
        Numerical errors and non-finite values count as ``logp = -inf``.
    ndim : int
    draws, tune, chains : int
        Per chain.
    cores : int, optional
        Chains run in parallel threads (default: ``min(chains, cpu count)``).
    seed : int, optional
    initial_point : callable, optional
        ``seed -> starting vector``, called once per chain with a seed
        derived from ``seed`` and the chain (default: nutpie's,
        uniform(-2, 2) around zero).
    progressbar : bool
        A tqdm bar of the draws made (warm-up included) and divergences,
        shown also when stderr is not a terminal.
    save_warmup : bool
        Keep the tuning draws.
    **nutpie_kwargs
        Passed to ``nutpie.sample`` (``target_accept``, ``maxdepth``,
        ``low_rank_modified_mass_matrix``, ...).

    Returns
    -------
    NutpieResult
        Ctrl-C stops the chains at their next draw and returns the draws
        made so far (``interrupted`` set; see
        :func:`~tessera.ppl.inference.nuts_result.join_chains`), or raises
        ``KeyboardInterrupt`` when no chain had finished its warm-up.

    Examples
    --------
    >>> res = run_nutpie(lambda x: (-0.5 * float(x @ x), -x), 3, draws=50,
    ...                  tune=50, chains=1, seed=0)
    >>> res.stats["diverging"].shape
    (1, 50)
    """
    res, interrupted = _run_nutpie(
        logp_dlogp,
        ndim,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        initial_point=initial_point,
        progressbar=progressbar,
        save_warmup=save_warmup,
        **nutpie_kwargs,
    )
    return join_chains(res, interrupted=True) if interrupted else res


def _run_nutpie(
    logp_dlogp,
    ndim,
    *,
    draws,
    tune,
    chains,
    cores=None,
    seed=None,
    initial_point=None,
    progressbar=False,
    save_warmup=False,
    stop=None,
    on_progress=None,
    **nutpie_kwargs,
):
    """:func:`run_nutpie`'s work: ``(result, False)``, or, when Ctrl-C (or
    ``stop``, an event set by the caller) stopped the chains, ``(one-chain
    results of the draws made so far, True)``."""
    import nutpie

    ndim = _check_sizes(ndim, draws, tune, chains)
    logp = _safe_logp(logp_dlogp, ndim)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    init_fn = _chain_initial_point(initial_point, ndim, seed)
    compiled = _pyfunc_model(logp, ndim, init_fn)
    if cores is None:
        cores = min(int(chains), os.cpu_count() or 1)
    sampler = nutpie.sample(
        compiled,
        draws=int(draws),
        tune=int(tune),
        chains=int(chains),
        cores=int(cores),
        seed=int(seed),
        # nutpie's own display shows only in a terminal or a notebook: a tqdm
        # bar (like BlackJAX's) shows in log files and CI too
        progress_bar=False,
        save_warmup=bool(save_warmup),
        blocking=False,
        **nutpie_kwargs,
    )
    total = int(chains) * (int(draws) + int(tune))
    try:
        with sigint_flag() if stop is None else nullcontext(stop) as flag:
            _follow(sampler, total, progressbar, stop=flag, on_progress=on_progress)
    except BaseException:  # a second Ctrl-C, or an error: stop nutpie's threads
        sampler.cancel()
        raise
    if flag.is_set():
        return _partial(sampler, ndim, save_warmup), True
    return _result(sampler.wait(), save_warmup), False


def _column(batch, name: str) -> np.ndarray:
    import pyarrow

    return np.asarray(pyarrow.array(batch.column(name)).to_numpy(False))


def _partial(sampler, ndim: int, save_warmup: bool) -> list[NutpieResult]:
    """Stop nutpie's chains; one result per chain of the draws made so far
    (any number, zero included), read from nutpie's trace store."""
    import pyarrow

    sampler._sampler.abort()  # joins the chains' threads
    draw_batches, stat_batches = sampler._sampler.take_results().get_arrow_trace()
    parts = []
    for draws, stats in zip(draw_batches, stat_batches):
        flat = pyarrow.array(draws.column(_FLAT)).flatten()
        flat = np.asarray(flat.to_numpy(False), dtype=np.float64).reshape(-1, ndim)
        named = {
            new: _column(stats, old)
            for old, new in _STAT_NAMES.items()
            if old in stats.schema.names
        }
        tuning = _column(stats, "tuning").astype(bool)
        n_tune = int(tuning.sum())
        part = NutpieResult(
            flat[None, n_tune:], {k: v[None, n_tune:] for k, v in named.items()}
        )
        if save_warmup:
            part.warmup_draws = flat[None, :n_tune]
            part.warmup_stats = {k: v[None, :n_tune] for k, v in named.items()}
        parts.append(part)
    return parts


def _finished(sampler) -> bool:
    try:
        return bool(sampler.is_finished)
    except TimeoutError:  # nutpie's way of saying "still running"
        return False


def _draws_so_far(sampler) -> tuple[int, int] | None:
    """Draws (warm-up included) and divergences of all chains so far, from
    nutpie's trace store; None where this nutpie cannot tell."""
    try:
        draws, stats = sampler._sampler.inspect().get_arrow_trace()
        n = sum(int(b.num_rows) for b in draws)
        div = sum(
            int(np.asarray(b.column("diverging")).sum())
            for b in stats
            if "diverging" in b.schema.names
        )
    except Exception:  # noqa: BLE001 - progress must never break sampling
        return None
    return n, div


def _follow(
    sampler,
    total: int,
    enabled: bool,
    every: float = 0.25,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Wait until nutpie has finished or ``stop`` is set, advancing a
    progress bar of ``total`` draws (``enabled``) and calling
    ``on_progress(draws so far)``."""
    from tqdm.auto import tqdm

    stop = stop or threading.Event()
    bar = tqdm(total=total, desc="NUTS (nutpie)", disable=not enabled)
    done, wait = 0, 0.005
    try:
        while True:
            finished = _finished(sampler)
            state = None
            if enabled or on_progress is not None:
                state = _draws_so_far(sampler)
            if state is not None:
                bar.set_postfix_str(f"{state[1]} divergences", refresh=False)
                bar.update(max(0, min(total, state[0]) - done))
                done = min(total, state[0])
                if on_progress is not None:
                    on_progress(done)
            if finished or stop.is_set():
                break
            # short waits first: a short run ends soon after it finishes
            stop.wait(wait)
            wait = min(every, 2 * wait)
    finally:
        bar.close()
