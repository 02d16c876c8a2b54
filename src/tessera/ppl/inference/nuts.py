"""NUTS through nutpie, fed with tessera's compiled log-density and gradient.

nutpie (a Rust implementation of NUTS with gradient-based mass-matrix
adaptation) accepts any Python callable ``x -> (logp, grad)`` over a flat
float64 vector (``nutpie.compiled_pyfunc.from_pyfunc``). :func:`run_nutpie`
wraps such a callable; :func:`sample` feeds it the model's
:class:`~tessera.ppl.model.FlatLogpDlogp` (one compiled call per
gradient), records the flat unconstrained draws only, and maps all of them
to the original space at the end in one vectorized call
(:class:`~tessera.ppl.model.ConstrainedDraws`: backward transforms and
deterministics), so nothing but the sampler runs per draw.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["NutpieResult", "run_nutpie", "run_nutpie_processes", "sample"]

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


@dataclass
class NutpieResult:
    """Flat draws and sampler statistics of :func:`run_nutpie`.

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


def _stats(dataset) -> dict[str, np.ndarray]:
    return {
        new: np.asarray(dataset[old].values)
        for old, new in _STAT_NAMES.items()
        if old in dataset.data_vars
    }


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
        nutpie's progress display.
    save_warmup : bool
        Keep the tuning draws.
    **nutpie_kwargs
        Passed to ``nutpie.sample`` (``target_accept``, ``maxdepth``,
        ``low_rank_modified_mass_matrix``, ...).

    Returns
    -------
    NutpieResult

    Examples
    --------
    >>> res = run_nutpie(lambda x: (-0.5 * float(x @ x), -x), 3, draws=50,
    ...                  tune=50, chains=1, seed=0)
    >>> res.stats["diverging"].shape
    (1, 50)
    """
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc

    ndim = int(ndim)
    if ndim < 1:
        raise ValueError(f"NUTS needs at least one continuous variable, got {ndim}")
    for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(v) < 1:
            # nutpie's adaptation windows need at least one tuning step
            raise ValueError(f"{name} must be positive, got {v}")
    logp = _safe_logp(logp_dlogp, ndim)

    def make_logp_fn():
        return logp

    def make_expand_fn(seed1, seed2, chain):
        # the flat draw only: mapping to the original space happens once, in
        # a vectorized call over all draws, after sampling
        def expand(x, **_shared):
            return {_FLAT: np.array(x, dtype=np.float64)}

        return expand

    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    init_fn = None
    if initial_point is not None:
        # probe once here, so that a bad point raises a clear error instead
        # of a panic inside nutpie's threads; then each chain asks with its
        # own seed (derived by nutpie from `seed` and the chain number, so
        # the run is reproducible whatever the thread scheduling)
        _check_start(initial_point(int(seed)), ndim)

        def init_fn(chain_seed):
            return _check_start(initial_point(int(chain_seed)), ndim)

    compiled = from_pyfunc(
        ndim,
        make_logp_fn,
        make_expand_fn,
        [np.dtype("float64")],
        [(ndim,)],
        [_FLAT],
        make_initial_point_fn=init_fn,
    )
    if cores is None:
        cores = min(int(chains), os.cpu_count() or 1)
    trace = nutpie.sample(
        compiled,
        draws=int(draws),
        tune=int(tune),
        chains=int(chains),
        cores=int(cores),
        seed=int(seed),
        progress_bar=bool(progressbar),
        save_warmup=bool(save_warmup),
        **nutpie_kwargs,
    )
    out = NutpieResult(
        np.asarray(trace.posterior[_FLAT].values), _stats(trace.sample_stats)
    )
    if save_warmup and "warmup_posterior" in trace.groups():
        out.warmup_draws = np.asarray(trace.warmup_posterior[_FLAT].values)
        out.warmup_stats = _stats(trace.warmup_sample_stats)
    return out


# jobs of the forked chain processes, inherited through fork (not pickled)
_FORK_JOBS: dict[int, tuple] = {}


def _fork_chain(job: tuple) -> NutpieResult:
    key, seed = job
    logp_dlogp, kwargs = _FORK_JOBS[key]
    return run_nutpie(logp_dlogp, chains=1, cores=1, seed=seed, **kwargs)


def run_nutpie_processes(
    logp_dlogp: Callable, ndim: int, *, chains: int, cores: int, seed: int, **kwargs
) -> NutpieResult:
    """:func:`run_nutpie` with one forked process per chain.

    nutpie runs chains in threads, which a Python log-density serializes on
    the GIL; forked processes run them in parallel. Each process samples one
    chain with its own seed (derived from ``seed``); the compiled function
    is inherited through ``fork``, not recompiled. Needs the ``fork`` start
    method (Linux, macOS) and a fork-safe backend (NumPy: JAX's threads do
    not survive a fork).

    Examples
    --------
    >>> res = run_nutpie_processes(lambda x: (-0.5 * float(x @ x), -x), 2,
    ...                            chains=2, cores=2, seed=0, draws=20, tune=20)
    >>> res.draws.shape
    (2, 20, 2)
    """
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        raise ValueError(
            "chain_method='processes' needs the 'fork' start method, which this "
            "platform lacks; use chain_method='threads'"
        )
    seeds = np.random.SeedSequence(int(seed)).generate_state(int(chains), np.uint64)
    key = id(logp_dlogp)
    _FORK_JOBS[key] = (logp_dlogp, {"ndim": ndim, **kwargs})
    try:
        with mp.get_context("fork").Pool(max(1, min(int(cores), int(chains)))) as pool:
            parts = pool.map(_fork_chain, [(key, int(s >> 1)) for s in seeds])
    finally:
        del _FORK_JOBS[key]

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


def _int_seed(random_seed: Any) -> int:
    """A non-negative 63-bit int seed from an int, SeedSequence, Generator or None."""
    if isinstance(random_seed, np.random.Generator):
        return int(random_seed.integers(2**63))
    if isinstance(random_seed, np.random.SeedSequence):
        return int(random_seed.generate_state(1, np.uint64)[0] >> 1)
    ss = np.random.SeedSequence(random_seed)
    return int(ss.generate_state(1, np.uint64)[0] >> 1)


def check_no_minibatch(model, what: str) -> None:
    """Raise if the model's log-density reads :func:`~tessera.ppl.Minibatch` rows.

    NUTS and MAP need the full-data log-density; minibatches are for
    :func:`~tessera.ppl.fit`.
    """
    from tessera.ppl.inference.minibatch import minibatch_indices

    graphs = [model.rvs_to_values[rv] for rv in model.observed_RVs]
    graphs += list(model.potentials) + list(model.deterministics)
    if graphs and minibatch_indices(graphs):
        raise ValueError(
            f"{what} needs the full-data log-density, but the model uses "
            "ppl.Minibatch data; minibatches are for ppl.fit (ADVI). Build the "
            "model with the full arrays for this"
        )


def starting_vector(model, logp_dlogp, seed: int, jitter: bool = True) -> np.ndarray:
    """A flat starting point with a finite log-density and gradient.

    The model's initial point, plus uniform(-1, 1) jitter when ``jitter``;
    up to 20 jittered tries, then the point without jitter.

    Raises
    ------
    ValueError
        If even the unjittered point has a non-finite log-density: names
        the terms (variables) that are not finite there.
    """
    tries = [(seed + k, True) for k in range(20)] if jitter else []
    for s, jit in [*tries, (seed, False)]:
        point = model.initial_point(random_seed=s, jitter=jit)
        x = logp_dlogp.point_to_array(point)
        lp, g = logp_dlogp(x)
        if np.isfinite(lp) and np.all(np.isfinite(g)):
            return x
    raise ValueError(
        "the model's log-density or its gradient is not finite at the initial "
        f"point {point}: {_bad_terms(model, point)}"
    )


def _bad_terms(model, point) -> str:
    names = [v.name for v in list(model.basic_RVs) + list(model.potentials)]
    terms = model.compile_logp(sum=False)(point)
    bad = [
        f"{n} (logp {np.sum(t):.4g})"
        for n, t in zip(names, terms)
        if not np.all(np.isfinite(t))
    ]
    if not bad:
        return "every log-density term is finite there, the gradient is not"
    return "non-finite terms: " + ", ".join(bad)


def sample(
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    random_seed: Any = None,
    progressbar: bool = True,
    model: Any = None,
    jitter: bool = True,
    save_warmup: bool = False,
    target_accept: float = 0.8,
    backend: str = "numpy",
    chain_method: str = "threads",
    nuts_sampler: str | None = None,
    **nutpie_kwargs: Any,
):
    """Draw posterior samples with NUTS, tessera computing the gradient.

    The model's log-density and gradient over its flat unconstrained vector
    are compiled once (:meth:`Model.logp_dlogp_function`). With
    ``nuts_sampler="nutpie"`` (the default on the NumPy backend) they are
    handed to nutpie, which runs the chains in parallel threads with its
    gradient-based mass-matrix adaptation, calling the compiled function
    once per gradient. With ``nuts_sampler="blackjax"`` (the default on the
    JAX backend) the graph is traced into one XLA program with BlackJAX's
    NUTS and Stan's window adaptation, compiled once for warm-up and
    sampling, chains in parallel threads (or vectorized in one program),
    so no Python runs per step (see :mod:`tessera.ppl.inference.nuts_jax`). Draws are mapped to
    the original space at the end (backward transforms, deterministics) in
    one vectorized call.

    Parameters
    ----------
    draws : int
        Draws per chain after tuning.
    tune : int
        Tuning (warm-up) iterations per chain (at least 1); discarded unless
        ``save_warmup``.
    chains : int
    cores : int, optional
        Chains sampled in parallel (default: ``min(chains, cpu count)``).
    random_seed : int, SeedSequence or Generator, optional
    progressbar : bool
    model : Model, optional
        Default: the active model.
    jitter : bool
        Start each chain at the model's initial point plus uniform(-1, 1)
        noise on the unconstrained space.
    save_warmup : bool
        Keep the tuning draws (groups ``warmup_posterior``,
        ``warmup_sample_stats``).
    target_accept : float
        Target mean acceptance probability of the step-size adaptation.
    backend : {"numpy", "jax"}
        Backend of the compiled log-density and gradient.
    chain_method : {"threads", "processes", "vectorized"}
        ``"threads"`` (default): nutpie's threads, or with BlackJAX one
        thread per chain (up to ``cores``) running the compiled program.
        ``"processes"`` (nutpie, NumPy backend): one forked process per
        chain (see :func:`run_nutpie_processes`), parallel chains for the
        NumPy backend, whose Python calls hold the GIL; no progress bar.
        ``"vectorized"`` (BlackJAX): all chains in one program with
        ``jax.vmap``, which takes longer to compile; worth it for many
        chains on few cores, or on a GPU.
    nuts_sampler : {"nutpie", "blackjax"}, optional
        Default: ``"blackjax"`` with ``backend="jax"``, else ``"nutpie"``.
        ``"blackjax"`` needs the JAX backend (``pip install 'tessera[jax]'``).
    **nutpie_kwargs
        Passed to ``nutpie.sample`` (``maxdepth``,
        ``low_rank_modified_mass_matrix``, ...); with BlackJAX only
        ``maxdepth`` (maximum tree depth, default 10) is accepted.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (free RVs in the original space and deterministics,
        with the model's coords and dims), ``sample_stats`` (``diverging``,
        ``step_size``, ``tree_depth``, ``n_steps``, ``lp``, ``energy``,
        ``acceptance_rate``, ...), ``observed_data`` and ``constant_data``.
        The posterior's attrs hold ``compile_time`` and ``sampling_time``
        in seconds.

    Raises
    ------
    ValueError
        If the model uses minibatches or the initial point has a
        non-finite log-density.
    TypeError
        If the model has discrete free variables (NUTS needs gradients).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"g": ["a", "b"]}) as model:
    ...     mu = ppl.Normal("mu", 0.0, 10.0, dims="g")
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.array([1.0, -1.0]))
    ...     idata = ppl.sample(draws=200, tune=200, random_seed=1,
    ...                        progressbar=False)
    >>> idata.posterior["mu"].dims
    ('chain', 'draw', 'g')
    >>> bool(idata.sample_stats["diverging"].sum() == 0)
    True
    """
    import time

    from tessera.ppl.model.context import modelcontext
    from tessera.ppl.model.idata import posterior_from_flat

    if nuts_sampler is None:
        nuts_sampler = "blackjax" if backend == "jax" else "nutpie"
    if nuts_sampler not in ("nutpie", "blackjax"):
        raise ValueError(
            f"nuts_sampler must be 'nutpie' or 'blackjax', got {nuts_sampler!r}"
        )
    if nuts_sampler == "blackjax":
        if backend != "jax":
            raise ValueError(
                "nuts_sampler='blackjax' runs the sampler inside JAX and needs "
                f"backend='jax', got backend={backend!r}"
            )
        unknown = set(nutpie_kwargs) - {"maxdepth"}
        if unknown:
            raise TypeError(
                f"ppl.sample with nuts_sampler='blackjax' got unexpected options "
                f"{sorted(unknown)} (nutpie-only options; 'maxdepth' is accepted)"
            )
    if chain_method not in ("threads", "processes", "vectorized"):
        raise ValueError(
            "chain_method must be 'threads', 'processes' or 'vectorized', got "
            f"{chain_method!r}"
        )
    if chain_method == "vectorized" and nuts_sampler != "blackjax":
        raise ValueError(
            "chain_method='vectorized' runs the chains in one JAX program: it "
            "needs nuts_sampler='blackjax' (backend='jax')"
        )
    if chain_method == "processes" and backend != "numpy":
        raise ValueError(
            f"chain_method='processes' forks the sampler, which the {backend!r} "
            "backend does not survive; use the numpy backend or threads"
        )
    model = modelcontext(model)
    check_no_minibatch(model, "ppl.sample (NUTS)")
    t0 = time.perf_counter()
    logp_dlogp = model.logp_dlogp_function(backend=backend)
    compile_time = time.perf_counter() - t0
    seed = _int_seed(random_seed)
    t0 = time.perf_counter()
    kwargs = dict(
        draws=draws,
        tune=tune,
        initial_point=lambda s: starting_vector(model, logp_dlogp, s, jitter),
        save_warmup=save_warmup,
        target_accept=target_accept,
        **nutpie_kwargs,
    )
    if nuts_sampler == "blackjax":
        from tessera.ppl.inference.nuts_jax import jax_logdensity, run_blackjax

        seeds = np.random.SeedSequence(seed).generate_state(int(chains), np.uint64)
        x0 = np.stack(
            [starting_vector(model, logp_dlogp, int(s >> 1), jitter) for s in seeds]
        )
        # the log-density at the starting points, from the function compiled
        # already, so that the sampler needs no program of its own for them
        values = [logp_dlogp(x) for x in x0]
        res = run_blackjax(
            jax_logdensity(logp_dlogp.fn.traceable),
            x0,
            x0_values=(
                np.array([v[0] for v in values]),
                np.stack([v[1] for v in values]),
            ),
            draws=draws,
            tune=tune,
            seed=seed,
            target_accept=target_accept,
            max_treedepth=nutpie_kwargs.get("maxdepth", 10),
            save_warmup=save_warmup,
            progressbar=progressbar,
            vectorized=chain_method == "vectorized",
            cores=cores,
        )
    elif chain_method == "threads":
        res = run_nutpie(
            logp_dlogp,
            logp_dlogp.size,
            chains=chains,
            cores=cores,
            seed=seed,
            progressbar=progressbar,
            **kwargs,
        )
    else:
        res = run_nutpie_processes(
            logp_dlogp,
            logp_dlogp.size,
            chains=chains,
            cores=cores if cores is not None else min(chains, os.cpu_count() or 1),
            seed=seed,
            **kwargs,
        )
    sampling_time = time.perf_counter() - t0
    if res.timings is not None:  # the sampler compiled itself first
        compile_time += res.timings["compile"]
        sampling_time = res.timings["run"]
    return posterior_from_flat(
        model,
        res.draws,
        sample_stats=res.stats,
        warmup_samples=res.warmup_draws,
        warmup_sample_stats=res.warmup_stats,
        attrs={
            "compile_time": compile_time,
            "sampling_time": sampling_time,
            "tuning_steps": int(tune),
            "sampler": f"{nuts_sampler} NUTS",
            "backend": backend,
            "chain_method": chain_method,
        },
    )
