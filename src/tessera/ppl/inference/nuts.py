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
  ``cores``) runs the program, or all chains run in one ``jax.vmap``
  program (``"vectorized"``: longer to compile, worth it for many chains
  on few cores, or on a GPU). It accepts ``maxdepth`` (maximum tree depth,
  default 10) as its only extra option.

Which combinations of backend, sampler and chain method go together is one
rule set (:data:`_RULES`), asking the backend's capabilities (``traceable``,
``fork_safe``), not its name. Draws are mapped to the original space at the
end (backward transforms, deterministics) in one vectorized call, and
checked for convergence as PyMC does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.compile.backends import Backend, get_backend
from tessera.ppl.backend import AUTO, compile_logp_dlogp, requested
from tessera.ppl.inference.convergence import warn_convergence
from tessera.ppl.inference.nuts_blackjax import jax_logdensity, run_blackjax
from tessera.ppl.inference.nuts_nutpie import run_nutpie, run_nutpie_processes
from tessera.ppl.inference.nuts_result import NutpieResult
from tessera.ppl.inference.progress import stage
from tessera.ppl.inference.start import check_no_minibatch, starting_vector
from tessera.ppl.model.context import modelcontext
from tessera.ppl.model.idata import posterior_from_flat

__all__ = ["sample"]

_SAMPLERS = ("nutpie", "blackjax")
_CHAIN_METHODS = ("threads", "processes", "vectorized")
#: the options (``**nutpie_kwargs``) BlackJAX's driver accepts
_BLACKJAX_OPTIONS = frozenset({"maxdepth"})


@dataclass(frozen=True)
class _Choice:
    """What the user asked for: sampler, backend, chain method, options."""

    sampler: str
    backend: Backend
    chain_method: str
    options: frozenset[str]


@dataclass(frozen=True)
class _Rule:
    """A combination :func:`sample` refuses: when ``broken``, raise ``error``."""

    broken: Callable[[_Choice], bool]
    error: Callable[[_Choice], Exception]


#: Checked in order; the first broken rule raises.
_RULES = (
    _Rule(
        lambda c: c.sampler not in _SAMPLERS,
        lambda c: ValueError(
            f"nuts_sampler must be 'nutpie' or 'blackjax', got {c.sampler!r}"
        ),
    ),
    # BlackJAX traces the log-density into its own JAX program
    _Rule(
        lambda c: c.sampler == "blackjax" and not c.backend.traceable,
        lambda c: ValueError(
            "nuts_sampler='blackjax' runs the sampler inside JAX and needs "
            f"backend='jax', got backend={c.backend.name!r}"
        ),
    ),
    _Rule(
        lambda c: c.sampler == "blackjax" and bool(c.options - _BLACKJAX_OPTIONS),
        lambda c: TypeError(
            f"ppl.sample with nuts_sampler='blackjax' got unexpected options "
            f"{sorted(c.options - _BLACKJAX_OPTIONS)} (nutpie-only options; "
            "'maxdepth' is accepted)"
        ),
    ),
    _Rule(
        lambda c: c.chain_method not in _CHAIN_METHODS,
        lambda c: ValueError(
            "chain_method must be 'threads', 'processes' or 'vectorized', got "
            f"{c.chain_method!r}"
        ),
    ),
    _Rule(
        lambda c: c.chain_method == "vectorized" and c.sampler != "blackjax",
        lambda c: ValueError(
            "chain_method='vectorized' runs the chains in one JAX program: it "
            "needs nuts_sampler='blackjax' (backend='jax')"
        ),
    ),
    # forked processes inherit the compiled function
    _Rule(
        lambda c: c.chain_method == "processes" and not c.backend.fork_safe,
        lambda c: ValueError(
            f"chain_method='processes' forks the sampler, which the "
            f"{c.backend.name!r} backend does not survive; use the numpy backend "
            "or threads"
        ),
    ),
)


def _choose(chosen: Backend, nuts_sampler, chain_method, options) -> str:
    """The sampler for ``chosen``, once the choice has passed every rule."""
    if nuts_sampler is None:
        # a backend that traces into JAX runs best with the sampler inside JAX
        nuts_sampler = "blackjax" if chosen.traceable else "nutpie"
    choice = _Choice(nuts_sampler, chosen, chain_method, frozenset(options))
    for rule in _RULES:
        if rule.broken(choice):
            raise rule.error(choice)
    return nuts_sampler


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
    progressbar: bool
    chain_method: str
    options: dict[str, Any]


def _sample_nutpie(job: _Job) -> NutpieResult:
    """nutpie calling the compiled function, chains in threads or processes."""
    kwargs = dict(
        draws=job.draws,
        tune=job.tune,
        initial_point=lambda s: starting_vector(
            job.model, job.logp_dlogp, s, job.jitter
        ),
        save_warmup=job.save_warmup,
        target_accept=job.target_accept,
        **job.options,
    )
    size = job.logp_dlogp.size
    if job.chain_method == "processes":
        return run_nutpie_processes(
            job.logp_dlogp,
            size,
            chains=job.chains,
            cores=job.cores,
            seed=job.seed,
            progressbar=job.progressbar,
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
    """BlackJAX's NUTS traced with the compiled graph into one JAX program."""
    f = job.logp_dlogp
    seeds = np.random.SeedSequence(job.seed).generate_state(int(job.chains), np.uint64)
    x0 = np.stack(
        [starting_vector(job.model, f, int(s >> 1), job.jitter) for s in seeds]
    )
    # the log-density at the starting points, from the function compiled
    # already, so that the sampler needs no program of its own for them
    values = [f(x) for x in x0]
    return run_blackjax(
        _logdensity(f),
        x0,
        x0_values=(np.array([v[0] for v in values]), np.stack([v[1] for v in values])),
        draws=job.draws,
        tune=job.tune,
        seed=job.seed,
        target_accept=job.target_accept,
        max_treedepth=job.options.get("maxdepth", 10),
        save_warmup=job.save_warmup,
        progressbar=job.progressbar,
        vectorized=job.chain_method == "vectorized",
        cores=job.cores,
    )


def _logdensity(f: Any) -> Callable:
    """The JAX log-density of ``f``'s traceable form, the same object while
    the shared values it reads are (tracing bakes them into the program), so
    that a sampler compiled for it earlier is reused."""
    from tessera.graph.basic import SharedValue
    from tessera.graph.traversal import graph_inputs

    shared = f.__dict__.get("_shared_inputs")
    if shared is None:
        shared = [
            v for v in graph_inputs(f.fn.fg.outputs) if isinstance(v, SharedValue)
        ]
        f._shared_inputs = shared
    values = tuple(v.get_value(borrow=True) for v in shared)
    cached = f.__dict__.get("_jax_logdensity")
    if cached is not None and all(a is b for a, b in zip(cached[0], values)):
        return cached[1]
    logdensity = jax_logdensity(f.fn.traceable)
    f._jax_logdensity = (values, logdensity)
    return logdensity


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
    return posterior_from_flat(
        job.model,
        res.draws,
        sample_stats=res.stats,
        warmup_samples=res.warmup_draws,
        warmup_sample_stats=res.warmup_stats,
        attrs=attrs,
    )


def sample(
    draws: int = 1000,
    tune: int = 1000,
    chains: int | None = None,
    cores: int | None = None,
    random_seed: Any = None,
    progressbar: bool = True,
    model: Any = None,
    jitter: bool = True,
    save_warmup: bool = False,
    target_accept: float = 0.8,
    backend: str | Backend = "auto",
    chain_method: str = "threads",
    nuts_sampler: str | None = None,
    compute_convergence_checks: bool = True,
    **nutpie_kwargs: Any,
):
    """Draw posterior samples with NUTS, tessera computing the gradient.

    nutpie or BlackJAX runs the chains over the model's compiled
    log-density and gradient (see :mod:`tessera.ppl.inference.nuts`).

    Parameters
    ----------
    draws, tune : int
        Per chain, draws kept and tuning iterations (at least 1, discarded
        unless ``save_warmup``).
    chains : int, optional
        Default, as in PyMC: ``max(2, cores)`` with ``cores`` at most 4.
    cores : int, optional
        Chains sampled in parallel (default: the CPU count, at most 4).
    random_seed : int, SeedSequence or Generator, optional
    progressbar : bool
    model : Model, optional
        Default: the active model.
    jitter : bool
        Start each chain at the initial point plus uniform(-1, 1) noise.
    save_warmup : bool
        Keep the tuning draws (``warmup_posterior``, ``warmup_sample_stats``).
    target_accept : float
        Target mean acceptance probability of the step-size adaptation.
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled log-density and gradient; ``"auto"`` is the
        JAX backend (NUTS compiled whole with BlackJAX) when the model
        lowers to it, else NumPy (see :mod:`tessera.ppl.backend`).
    chain_method : {"threads", "processes", "vectorized"}
        Chains in threads, forked processes (nutpie, NumPy backend) or one
        ``jax.vmap`` program (BlackJAX).
    nuts_sampler : {"nutpie", "blackjax"}, optional
        Default: ``"blackjax"`` on the JAX backend, else ``"nutpie"``.
        ``"blackjax"`` needs the JAX backend.
    compute_convergence_checks : bool
        Warn, as PyMC does, of divergences, r_hat above 1.01, an effective
        sample size under 100 per chain and a saturated tree depth (see
        :mod:`tessera.ppl.inference.convergence`).
    **nutpie_kwargs
        Passed to ``nutpie.sample`` (``maxdepth``, ...); BlackJAX accepts
        ``maxdepth`` only.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (with the model's coords and dims), ``sample_stats``
        (``diverging``, ``step_size``, ``lp``, ...), ``observed_data``,
        ``constant_data``; attrs ``compile_time``, ``sampling_time`` (s) and
        ``backend`` (the one that ran).

    Raises
    ------
    ValueError
        Minibatches, a non-finite log-density at the initial point, or
        options that do not go together.
    TypeError
        Discrete free variables, or a nutpie option given to BlackJAX.

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
    backend = requested(
        backend,
        numpy=chain_method == "processes",  # forks the process
        jax=nuts_sampler == "blackjax" or chain_method == "vectorized",
    )
    if backend != AUTO:  # reject what cannot go together before compiling
        _choose(get_backend(backend), nuts_sampler, chain_method, nutpie_kwargs)
    model = modelcontext(model)
    logp_dlogp, compile_time = _compile(model, backend, progressbar)
    chosen = logp_dlogp.fn.backend
    cores, chains = default_cores_chains(cores, chains)
    job = _Job(
        sampler=_choose(chosen, nuts_sampler, chain_method, nutpie_kwargs),
        backend=chosen.name,
        model=model,
        logp_dlogp=logp_dlogp,
        seed=_int_seed(random_seed),
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        jitter=jitter,
        save_warmup=save_warmup,
        target_accept=target_accept,
        progressbar=progressbar,
        chain_method=chain_method,
        options=nutpie_kwargs,
    )
    res, sampler_compile_time, sampling_time = _run(job)
    idata = _inference_data(
        job, res, compile_time + sampler_compile_time, sampling_time
    )
    if compute_convergence_checks:
        warn_convergence(idata, model, job.options.get("maxdepth", 10))
    return idata
