"""``ppl.sample``: NUTS on a model, with a sampler that suits its backend.

The model's log-density and gradient over its flat unconstrained vector
are compiled once (:meth:`Model.logp_dlogp_function`), by default for the
JAX backend when the model lowers to it (``backend="auto"``, see
:mod:`tessera.ppl.backend`); then a driver runs the chains:

* nutpie (:mod:`~tessera.ppl.inference.nuts_nutpie`, the default on the
  NumPy backend) calls the compiled function once per gradient, with its
  gradient-based mass-matrix adaptation; chains in its threads
  (``chain_method="threads"``) or, on a fork-safe backend, one forked
  process per chain (``"processes"``: parallel chains for the NumPy
  backend, whose Python calls hold the GIL).
* BlackJAX (:mod:`~tessera.ppl.inference.nuts_blackjax`, the default on a
  backend that traces into JAX) traces the graph into one XLA program with
  its NUTS and Stan's window adaptation, compiled once for warm-up and
  sampling, so no Python runs per step; one thread per chain (up to
  ``cores``) runs the program, or all chains run in one program
  (``"vectorized"``: tessera's lanes NUTS, :mod:`~tessera.ppl.inference.
  nuts_lanes`, each chain at its own pace; for many chains on few cores,
  or on a GPU).

Which combinations of backend, sampler and chain method go together is one
rule set (:mod:`~tessera.ppl.inference.nuts_rules`), asking the backend's capabilities (``traceable``,
``fork_safe``), not its name. Draws are mapped to the original space at the
end (backward transforms, deterministics) in one vectorized call, and
checked for convergence as PyMC does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.compile.backends import Backend, get_backend
from tessera.ppl.backend import AUTO, cached_on_model, compile_logp_dlogp, requested
from tessera.ppl.inference.convergence import warn_convergence
from tessera.ppl.inference.nuts_blackjax import run_blackjax
from tessera.ppl.inference.nuts_nutpie import run_nutpie
from tessera.ppl.inference.nuts_nutpie_processes import run_nutpie_processes
from tessera.ppl.inference.nuts_result import NutpieResult
from tessera.ppl.inference.nuts_rules import choose_sampler
from tessera.ppl.inference.output import check_outputs as _check_outputs
from tessera.ppl.inference.output import finish_idata
from tessera.ppl.inference.start import (
    advi_start,
    check_no_minibatch,
    parse_init,
    pathfinder_start,
    starting_vector,
)
from tessera.ppl.inference.trace import MultiTrace
from tessera.ppl.log import quiet_logging
from tessera.ppl.model.context import modelcontext
from tessera.ppl.model.idata import posterior_from_flat
from tessera.ppl.options import check_keywords
from tessera.ppl.progress import stage

__all__ = ["sample"]

#: PyMC's ``sample`` keywords tessera does not take, and why
_PYMC_ONLY = {
    "step": "tessera samples every free variable with NUTS (continuous models "
    "only; marginalize discrete variables)",
    "trace": "use var_names to choose the variables kept",
    "callback": "per-draw callbacks are not supported",
    "mp_ctx": "chains run in threads or one compiled program (chain_method=)",
    "blas_cores": "set OPENBLAS_NUM_THREADS / threadpoolctl before sampling",
    "keep_warning_stat": "sampler warnings are summarized after sampling",
    "compile_kwargs": "the model is compiled by tessera (see backend=)",
    "progressbar_theme": "the progress bar is tqdm's",
    "pickle_backend": "chains do not pickle the model",
    "zarr_trace": "draws are kept in memory",
}


def default_cores_chains(cores: int | None, chains: int | None) -> tuple[int, int]:
    """PyMC's defaults: ``cores`` the CPU count (at most 4), ``chains``
    ``max(2, cores)``.

    Examples
    --------
    >>> default_cores_chains(None, 3)[1], default_cores_chains(1, None)
    (3, (1, 2))
    """
    if cores is None:
        cores = min(4, os.cpu_count() or 1)
    if chains is None:
        chains = max(2, int(cores))
    return int(cores), int(chains)


def _int_seed(random_seed: Any) -> int:
    """A non-negative 63-bit int seed from an int, SeedSequence, Generator or None."""
    if isinstance(random_seed, np.random.Generator):
        return int(random_seed.integers(2**63))
    if isinstance(random_seed, np.random.SeedSequence):
        return int(random_seed.generate_state(1, np.uint64)[0] >> 1)
    ss = np.random.SeedSequence(random_seed)
    return int(ss.generate_state(1, np.uint64)[0] >> 1)


@dataclass
class _Job:
    """Everything a driver needs to sample the model, and what it records."""

    sampler: str
    backend: str
    model: Any
    logp_dlogp: Any  # the model's FlatLogpDlogp
    seed: int
    draws: int
    tune: int
    chains: int
    cores: int
    jitter: bool
    save_warmup: bool
    target_accept: float
    max_treedepth: int
    progressbar: bool
    chain_method: str
    options: dict[str, Any]
    initvals: Any = None  # a dict, or one dict per chain
    max_retries: int = 10
    # "advi+adapt_diag", "pathfinder": starting points, inverse mass matrix
    advi_start: tuple[np.ndarray, np.ndarray] | None = None


def _chain_initvals(job: _Job, chain: int):
    if isinstance(job.initvals, list | tuple):
        return job.initvals[chain]
    return job.initvals


def _start(job: _Job, chain: int, seed: int, f: Any = None) -> np.ndarray:
    """Chain ``chain``'s starting vector (checked with ``f``, default the
    job's compiled function)."""
    f = job.logp_dlogp if f is None else f
    if job.advi_start is not None:
        x = job.advi_start[0][chain]
        lp, g = f(x)
        if np.isfinite(lp) and np.all(np.isfinite(g)):
            return x
    return starting_vector(
        job.model,
        f,
        seed,
        job.jitter,
        _chain_initvals(job, chain),
        max_retries=job.max_retries,
    )


def _sample_nutpie(job: _Job) -> NutpieResult:
    """nutpie calling the compiled function, chains in threads or processes."""
    lock, taken = threading.Lock(), [0]

    def initial_point(seed: int) -> np.ndarray:
        # nutpie probes once with the run's seed, then each chain's thread
        # asks once with a seed of its own: chains take the per-chain starts
        # (initvals lists, ADVI draws) in the order they ask
        if seed == job.seed:
            return _start(job, 0, seed)
        with lock:
            chain, taken[0] = taken[0] % job.chains, taken[0] + 1
        return _start(job, chain, seed)

    kwargs = dict(
        draws=job.draws,
        tune=job.tune,
        initial_point=initial_point,
        save_warmup=job.save_warmup,
        target_accept=job.target_accept,
        maxdepth=job.max_treedepth,
        **job.options,
    )
    size = job.logp_dlogp.size
    if job.chain_method == "processes":
        # each forked process asks for its own chain's start (the counter
        # above is copied into every process, so it would give all of them
        # the same one)
        return run_nutpie_processes(
            job.logp_dlogp,
            size,
            chains=job.chains,
            cores=job.cores,
            seed=job.seed,
            progressbar=job.progressbar,
            chain_initial_point=lambda seed, chain: _start(job, chain, seed),
            **kwargs,
        )
    return run_nutpie(
        job.logp_dlogp,
        size,
        chains=job.chains,
        cores=job.cores,
        seed=job.seed,
        progressbar=job.progressbar,
        **kwargs,
    )


def _sample_blackjax(job: _Job) -> NutpieResult:
    """BlackJAX's NUTS traced with the compiled graph into one JAX program
    (``chain_method="vectorized"``: tessera's lanes NUTS). The model's data
    arrays are inputs of the program, which is kept with the model: a later
    run reuses it, also after ``set_data`` with arrays of the same shapes."""
    # the starts and the log-density there from the NumPy backend's twin of
    # the model's function (compiled in milliseconds): XLA then compiles
    # the model once, inside the sampler's program
    host = host_logp_dlogp(job.model)
    seeds = np.random.SeedSequence(job.seed).generate_state(int(job.chains), np.uint64)
    x0 = np.stack([_start(job, c, int(s >> 1), host) for c, s in enumerate(seeds)])
    f, data, key = _data_logp(job.model)
    inv_mass = None if job.advi_start is None else job.advi_start[1]
    if job.chain_method == "vectorized":
        # sample_many's program and starts: the draws are sample_many's for
        # this dataset and seed, bit for bit (its seeds policy)
        from tessera.ppl.inference.adaptation import adapt_init
        from tessera.ppl.inference.nuts_lanes_run import run_lanes_chains

        carry = (
            (x0, *_values(f, x0, *data)),
            adapt_init(x0.shape, inverse_mass_matrix=inv_mass),
        )
        return run_lanes_chains(f.both, carry, data, key=key, **_run_options(job))
    return run_blackjax(
        f.logdensity,
        x0,
        x0_values=_values(host, x0),
        cores=job.cores,
        inverse_mass_matrix=inv_mass,
        data=data,
        key=key,
        **_run_options(job),
    )


def _values(f: Callable, x0: np.ndarray, *data) -> tuple[np.ndarray, np.ndarray]:
    """The log-densities ``(chains,)`` and gradients ``(chains, n)`` of
    ``f`` at the starts ``x0``."""
    values = [f(x, *data) for x in x0]
    return np.array([v[0] for v in values]), np.stack([v[1] for v in values])


def _run_options(job: _Job) -> dict[str, Any]:
    """The job's keywords of both JAX drivers (BlackJAX's and the lanes)."""
    return dict(
        draws=job.draws,
        tune=job.tune,
        seed=job.seed,
        target_accept=job.target_accept,
        max_treedepth=job.max_treedepth,
        save_warmup=job.save_warmup,
        progressbar=job.progressbar,
    )


def host_logp_dlogp(model: Any) -> Any:
    """The model's flat log-density and gradient on the NumPy backend, kept
    with the model: for work on the host between compiled programs
    (starting points), where an XLA compile would cost more than the
    calls."""
    return cached_on_model(
        model,
        "_host_logp_dlogp",
        "numpy",
        lambda: (model.logp_dlogp_function(backend="numpy"), get_backend("numpy")),
        None,
    )[0]


def _data_logp(model: Any) -> tuple[Any, tuple, Any]:
    """The model's log-density with its data arrays as inputs
    (:class:`~tessera.ppl.inference.many_data.ManyLogp`, kept with the
    model per data shapes), the data arrays now, and the key of its
    compiled samplers (:meth:`~tessera.ppl.inference.many_data.ManyLogp.
    program_key`: shared by rebuilt models of the same structure)."""
    from tessera.ppl.inference.many_data import ManyLogp, data_arrays

    data = data_arrays(model)
    shapes = tuple((a.shape, a.dtype.str) for a in data)
    f, _ = cached_on_model(
        model, "_data_logp", shapes, lambda: (ManyLogp(model), None), None
    )
    return f, data, f.program_key()


_DRIVERS: dict[str, Callable[[_Job], NutpieResult]] = {
    "nutpie": _sample_nutpie,
    "blackjax": _sample_blackjax,
}


def _compile(model: Any, backend: Any, progressbar: bool) -> tuple[Any, float]:
    """The model's flat log-density and gradient (for the backend that
    ``"auto"`` chooses), and the seconds it took."""
    check_no_minibatch(model, "ppl.sample (NUTS)")  # NUTS needs the full data
    t0 = time.perf_counter()

    with stage("Compiling the model", progressbar):
        logp_dlogp, _ = compile_logp_dlogp(model, backend, "ppl.sample")
    return logp_dlogp, time.perf_counter() - t0


def _run(job: _Job) -> tuple[NutpieResult, float, float]:
    """The driver's result, and the seconds it spent compiling and sampling
    (a sampler that compiles itself first reports both)."""
    t0 = time.perf_counter()
    res = _DRIVERS[job.sampler](job)
    sampling_time = time.perf_counter() - t0
    if res.timings is None:
        return res, 0.0, sampling_time
    return res, res.timings["compile"], res.timings["run"]


def _inference_data(job: _Job, res: NutpieResult, compile_time, sampling_time):
    """The draws in the original space, as ArviZ InferenceData."""
    attrs = {
        "compile_time": compile_time,
        "sampling_time": sampling_time,
        "tuning_steps": int(job.tune),
        "sampler": f"{job.sampler} NUTS",
        "backend": job.backend,
        "chain_method": job.chain_method,
    }
    idata = posterior_from_flat(
        job.model,
        res.draws,
        sample_stats=res.stats,
        warmup_samples=res.warmup_draws,
        warmup_sample_stats=res.warmup_stats,
        attrs=attrs,
    )
    # Ctrl-C: the draws made so far (cut to the shortest chain, see
    # nuts_result.join_chains, which warned with the draws per chain)
    idata.sample_stats.attrs["interrupted"] = bool(res.interrupted)
    if res.interrupted:
        idata.sample_stats.attrs["draws_per_chain"] = list(res.chain_draws or ())
    return idata


def sample(
    draws: int = 1000,
    *,
    tune: int = 1000,
    chains: int | None = None,
    cores: int | None = None,
    random_seed: Any = None,
    progressbar: bool = True,
    quiet: bool = False,
    var_names: Sequence[str] | None = None,
    nuts_sampler: str | None = None,
    initvals: Any = None,
    init: str = "auto",
    jitter_max_retries: int = 10,
    n_init: int = 200_000,
    target_accept: float = 0.8,
    max_treedepth: int = 10,
    discard_tuned_samples: bool = True,
    compute_convergence_checks: bool = True,
    return_inferencedata: bool = True,
    idata_kwargs: dict[str, Any] | None = None,
    nuts_sampler_kwargs: dict[str, Any] | None = None,
    model: Any = None,
    backend: str | Backend = "auto",
    chain_method: str = "threads",
    **kwargs: Any,
):
    """Draw posterior samples with NUTS, tessera computing the gradient.

    BlackJAX (compiled with the model into one JAX program) or nutpie runs
    the chains over the model's compiled log-density and gradient (see
    :mod:`tessera.ppl.inference.nuts`). The keywords and their meaning are
    PyMC 5's ``pm.sample``; ``backend`` and ``chain_method`` are tessera's.

    Parameters
    ----------
    draws, tune : int
        Per chain, draws kept and tuning iterations (at least 1).
    chains : int, optional
        Default, as in PyMC: ``max(2, cores)`` with ``cores`` at most 4.
    cores : int, optional
        Chains sampled in parallel (default: the CPU count, at most 4).
    random_seed : int, SeedSequence or Generator, optional
    progressbar : bool
        Progress of compiling, warm-up and sampling (shown also when stderr
        is not a terminal).
    quiet : bool
        No progress bars and no log records (which backend ran, convergence
        findings), as PyMC's ``quiet``; convergence warnings still go
        through :mod:`warnings`.
    var_names : list of str, optional
        The variables kept in the posterior (default: every free variable
        and deterministic).
    nuts_sampler : {"blackjax", "nutpie"}, optional
        Default: ``"blackjax"`` on the JAX backend, else ``"nutpie"``.
        ``"blackjax"`` needs the JAX backend.
    initvals : dict or list of dict, optional
        Starting values by free variable (name or variable; original space)
        or value variable (unconstrained), for every chain or one dict per
        chain; the others start at the model's initial point.
    init : {"auto", "jitter+adapt_diag", "adapt_diag", "advi+adapt_diag", \
"pathfinder"}
        ``"auto"`` is ``"jitter+adapt_diag"``: start at the initial point
        plus uniform(-1, 1) jitter (``"adapt_diag"``: no jitter);
        ``"advi+adapt_diag"`` starts from draws of a mean-field ADVI fit
        (and, with BlackJAX, from its variances as the mass matrix);
        ``"pathfinder"`` likewise from multi-path Pathfinder draws.
        The mass matrix is diagonal and adapted during warm-up (nutpie:
        from gradients too).
    jitter_max_retries : int
        Jittered starts tried before the unjittered one.
    n_init : int
        Maximum ADVI steps of ``init="advi+adapt_diag"`` (L-BFGS
        iterations per path, at most 1000, of ``init="pathfinder"``).
    target_accept : float
        Target mean acceptance probability of the step-size adaptation.
    max_treedepth : int
        Maximum number of trajectory doublings.
    discard_tuned_samples : bool
        False keeps the tuning draws (``warmup_posterior``,
        ``warmup_sample_stats``).
    compute_convergence_checks : bool
        Warn, as PyMC does, of divergences, r_hat above 1.01, an effective
        sample size under 100 per chain and a saturated tree depth (see
        :mod:`tessera.ppl.inference.convergence`).
    return_inferencedata : bool
        False returns a :class:`~tessera.ppl.inference.trace.MultiTrace`
        (PyMC 3's ``trace["mu"]``).
    idata_kwargs : dict, optional
        ``log_likelihood`` (True, or the observed variables' names) adds
        the ``log_likelihood`` group (:func:`~tessera.ppl.compute_log_likelihood`);
        ``include_transformed=True`` keeps the value variables
        (``"sigma_log__"``) in the posterior.
    nuts_sampler_kwargs : dict, optional
        Options of the sampler: ``maxdepth`` (= ``max_treedepth``) for
        both; nutpie's mass-matrix options (``low_rank_modified_mass_matrix``,
        ``mass_matrix_gamma``, ...).
    model : Model, optional
        Default: the active model.
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled log-density and gradient; ``"auto"`` is the
        JAX backend (NUTS compiled whole with BlackJAX) when the model
        lowers to it, else NumPy (see :mod:`tessera.ppl.backend`).
    chain_method : {"threads", "processes", "vectorized"}
        Chains in threads, forked processes (nutpie, NumPy backend) or one
        program (tessera's lanes NUTS, each chain at its own pace).
    **kwargs
        PyMC's step options ``nuts={"target_accept": ..., "max_treedepth":
        ...}``; any other keyword raises ``TypeError`` naming it (a PyMC
        keyword tessera does not support: ``NotImplementedError`` saying
        what to use instead).

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (with the model's coords and dims), ``sample_stats``
        (``diverging``, ``step_size``, ``lp``, ...), ``observed_data``,
        ``constant_data``; attrs ``compile_time``, ``sampling_time`` (s) and
        ``backend`` (the one that ran). A ``MultiTrace`` when
        ``return_inferencedata=False``. Ctrl-C while sampling stops the
        chains (at their next draw with nutpie, their next chunk of steps
        with BlackJAX) and returns the draws made so far, with a warning
        giving the draws per chain and ``sample_stats.attrs["interrupted"]``
        True: chains are cut to the shortest that has draws, chains with
        none are dropped (a second Ctrl-C stops at once, keeping nothing).

    Raises
    ------
    KeyboardInterrupt
        Ctrl-C during warm-up (no chain has a draw to keep), after the
        chains have stopped.
    ValueError
        Minibatches, a non-finite log-density at the initial point, or
        options that do not go together.
    TypeError
        Discrete free variables, or an unknown keyword or sampler option.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"g": ["a", "b"]}) as model:
    ...     mu = ppl.Normal("mu", 0.0, 10.0, dims="g")
    ...     y = ppl.Normal("y", mu, 1.0, observed=[1.0, -1.0])
    ...     idata = ppl.sample(draws=200, tune=200, random_seed=1, progressbar=False)
    >>> idata.posterior["mu"].dims, int(idata.sample_stats["diverging"].sum())
    (('chain', 'draw', 'g'), 0)
    """
    target_accept, max_treedepth = _step_options(kwargs, target_accept, max_treedepth)
    options = dict(nuts_sampler_kwargs or {})
    max_treedepth = int(options.pop("maxdepth", max_treedepth))  # nutpie's name
    progressbar = progressbar and not quiet
    with quiet_logging(quiet):
        jitter, start_fit = parse_init(init)
        backend = requested(
            backend,
            numpy=chain_method == "processes",  # forks the process
            jax=nuts_sampler == "blackjax" or chain_method == "vectorized",
        )
        if backend != AUTO:  # reject what cannot go together before compiling
            choose_sampler(get_backend(backend), nuts_sampler, chain_method, options)
        model = modelcontext(model)
        _check_outputs(model, var_names, idata_kwargs)
        logp_dlogp, compile_time = _compile(model, backend, progressbar)
        chosen = logp_dlogp.fn.backend
        cores, chains = default_cores_chains(cores, chains)
        _check_initvals(initvals, chains)
        job = _Job(
            sampler=choose_sampler(chosen, nuts_sampler, chain_method, options),
            backend=chosen.name,
            model=model,
            logp_dlogp=logp_dlogp,
            seed=_int_seed(random_seed),
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            jitter=jitter,
            save_warmup=not discard_tuned_samples,
            target_accept=target_accept,
            max_treedepth=int(max_treedepth),
            progressbar=progressbar,
            chain_method=chain_method,
            options=options,
            initvals=initvals,
            max_retries=int(jitter_max_retries),
        )
        if start_fit:
            fit_start = advi_start if start_fit == "advi" else pathfinder_start
            job.advi_start = fit_start(
                model, chains, job.seed, n_init, progressbar, chosen.name
            )
        res, sampler_compile_time, sampling_time = _run(job)
        idata = _inference_data(
            job, res, compile_time + sampler_compile_time, sampling_time
        )
        if compute_convergence_checks:
            warn_convergence(idata, model, job.max_treedepth)
        idata = finish_idata(idata, model, var_names, idata_kwargs, res.draws)
        return idata if return_inferencedata else MultiTrace(idata)


def _step_options(kwargs: dict, target_accept: float, max_treedepth: int):
    """PyMC's step keywords: ``nuts={...}``; anything else is an error."""
    nuts = dict(kwargs.pop("nuts", None) or {})
    check_keywords("ppl.sample", kwargs, sample, _PYMC_ONLY)
    unknown = sorted(set(nuts) - {"target_accept", "max_treedepth"})
    if unknown:
        raise TypeError(
            f"ppl.sample: nuts={{...}} has {unknown}; tessera's NUTS takes "
            "target_accept and max_treedepth there"
        )
    return (
        float(nuts.get("target_accept", target_accept)),
        int(nuts.get("max_treedepth", max_treedepth)),
    )


def _check_initvals(initvals: Any, chains: int) -> None:
    if isinstance(initvals, list | tuple) and len(initvals) != chains:
        raise ValueError(
            f"ppl.sample: initvals has {len(initvals)} dicts (one per chain) for "
            f"{chains} chains"
        )
