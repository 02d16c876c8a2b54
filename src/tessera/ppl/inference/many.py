"""``ppl.sample_many``: NUTS on one model for many datasets, in one program.

``build(data) -> Model`` is called for every dataset and the models are
checked to share one structure before anything is compiled
(:mod:`~tessera.ppl.inference.many_data`). The log-density is then
compiled once, as a function of the data, and every chain of every
dataset (a *lane*) runs tessera's lanes NUTS with its window adaptation
(:mod:`~tessera.ppl.inference.nuts_lanes`): one XLA program for warm-up
and sampling with :data:`SLOTS` chains at once, each at its own pace, the
host handing a slot whose chain has finished to the next chain waiting
(:mod:`~tessera.ppl.inference.nuts_lanes_pool`); chunks of datasets are
sized to memory.

Seeds: dataset ``d`` runs with the seed ``seeds[d]`` of
:func:`dataset_seeds` (``random_seed`` spawned, recorded in the result's
``attrs["random_seed"]``): its starting points and random streams are
those of ``ppl.sample(model_d, random_seed=seeds[d],
chain_method="vectorized")``, which runs this module's program
(:class:`~tessera.ppl.inference.nuts_lanes_run.LanesProgram`, the data as
its inputs), so a dataset's fit rerun alone gives the same draws bit for
bit, whatever the chunking, threads and chains beside it.

Memory: each dataset keeps ``chains * (tune + draws) * (ndim + 10)``
float64 values on the host (draws and statistics); ``chunk_size=None``
takes as many datasets per program as fit in :data:`MEMORY_FRACTION` of
the available memory (psutil, else ``os.sysconf``), at most
:data:`MAX_CHUNK`.

Cores: XLA runs one lanes program on about one core (its operations are
small), so the chunks run in ``cores`` threads at once,
sharing the compiled program; by default the datasets are split into at
least one chunk per core.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from tessera.ppl.inference.convergence import RHAT_MAX, SamplingWarning
from tessera.ppl.inference.diagnostics import rhat
from tessera.ppl.inference.many_data import (
    ManyDraws,
    ManyLogp,
    build_models,
    data_arrays,
    split_datasets,
)
from tessera.ppl.inference.nuts_lanes_run import LanesProgram
from tessera.ppl.inference.start import starting_vector

__all__ = ["MAX_CHUNK", "MEMORY_FRACTION", "dataset_seeds", "sample_many"]

#: fraction of the available memory a chunk's draws may take
MEMORY_FRACTION = 0.25
#: most datasets in one program (beyond it, one program gains nothing on CPU)
MAX_CHUNK = 1024
#: chains run at once by a chunk's program (its batch): each slot takes the
#: next chain waiting when its chain has finished (100 eight-schools
#: datasets in 2 threads, 2026-12-08: 20 or 24 slots ran about a tenth
#: faster than 16, 12 slower, 32 no faster)
SLOTS = 20
#: leapfrog steps per call of the program (between them, the host hands
#: finished slots new chains)
ITERATIONS = 512


def dataset_seeds(random_seed: Any, n: int) -> list[int]:
    """The seed of each of ``n`` datasets (``random_seed`` spawned).

    Examples
    --------
    >>> dataset_seeds(1, 3) == dataset_seeds(1, 3), len(set(dataset_seeds(1, 3)))
    (True, 3)
    """
    if isinstance(random_seed, np.random.SeedSequence):
        ss = random_seed
    elif isinstance(random_seed, np.random.Generator):
        ss = np.random.SeedSequence(int(random_seed.integers(2**63)))
    else:
        ss = np.random.SeedSequence(random_seed)
    return [int(s.generate_state(1, np.uint64)[0] >> 1) for s in ss.spawn(n)]


def available_memory() -> int:
    """Bytes of memory available (psutil, else ``os.sysconf``)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil is usually there
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def auto_chunk_size(n: int, chains: int, steps: int, ndim: int) -> int:
    """Datasets per program so that their draws take at most
    :data:`MEMORY_FRACTION` of the available memory.

    Examples
    --------
    >>> 1 <= auto_chunk_size(10_000, 4, 2000, 10) <= MAX_CHUNK
    True
    """
    per_dataset = 8 * chains * steps * (ndim + 10) * 2  # device + host copies
    fit = int(MEMORY_FRACTION * available_memory() // max(per_dataset, 1))
    return max(1, min(n, MAX_CHUNK, fit))


def _starts(model, f: ManyLogp, data, seeds, chains, jitter, initvals, retries):
    """Each dataset's chains' starts (as ``ppl.sample`` picks them), with
    their log-densities and gradients; ``None`` for a dataset without a
    finite start."""
    out = []
    for d, seed in enumerate(seeds):
        arrays = [a[d] for a in data]

        def one(x, arrays=arrays):
            return f(x, *arrays)

        one.point_to_array = model.point_to_array
        chain_seeds = np.random.SeedSequence(seed).generate_state(chains, np.uint64)
        try:
            x0 = np.stack(
                [
                    starting_vector(model, one, int(s >> 1), jitter, initvals, retries)
                    for s in chain_seeds
                ]
            )
        except ValueError:
            out.append(None)
            continue
        values = [one(x) for x in x0]
        out.append(
            (x0, np.array([v[0] for v in values]), np.stack([v[1] for v in values]))
        )
    return out


def run_chunk(
    program: LanesProgram, starts, data, seeds, chains: int, schedule, bar, slots: int
):
    """One chunk of datasets through warm-up and sampling, their chains
    (the lanes) through the program's ``slots`` (the same for every chunk:
    one compiled program); outputs ``(datasets, chains, steps, ...)``."""
    from tessera.ppl.inference.adaptation import adapt_init
    from tessera.ppl.inference.nuts_lanes_pool import lane_seeds, run_lanes, window_size

    x0, lp, grad = (np.asarray(a) for a in starts)
    n_data, ndim = x0.shape[0], x0.shape[-1]
    lanes = n_data * chains
    lane_starts = (
        x0.reshape(lanes, ndim),
        lp.reshape(lanes),
        grad.reshape(lanes, ndim),
        adapt_init((lanes, ndim)),
    )
    lane_data = tuple(np.repeat(np.asarray(a), chains, axis=0) for a in data)
    seeds_ = [s for seed in seeds for s in lane_seeds(seed, chains)]
    out, _ = run_lanes(
        program,
        program.zeros,
        lane_starts,
        seeds_,
        lane_data,
        schedule,
        slots=slots,
        max_treedepth=program.max_treedepth,
        window=window_size(ITERATIONS, slots, ndim, program.max_treedepth),
        progress=bar.update,
    )
    return type(out)(*(a.reshape(n_data, chains, *a.shape[1:]) for a in out))


def _workers(cores: int | None, devices) -> int:
    """Threads running chunks at once: one with devices (the mesh spreads
    each chunk), else ``cores`` (default: every CPU)."""
    if devices:
        return 1
    if cores is None:
        return os.cpu_count() or 1
    if int(cores) < 1:
        raise ValueError(f"sample_many: cores must be at least 1, got {cores}")
    return int(cores)


def _chunk_size(chunk_size, n, chains, steps, ndim, devices, workers=1) -> int:
    if chunk_size is None:
        # one chunk per thread at least, so that every thread has work
        size = min(auto_chunk_size(n, chains, steps, ndim), -(-n // workers))
    else:
        size = chunk_size
    size = max(1, min(int(size), n))
    if devices:  # a whole number of datasets per device
        k = len(devices)
        size = -(-size // k) * k
    return size


def sample_many(
    build: Callable[[Any], Any],
    datasets: Any,
    *,
    combine: bool = False,
    chunk_size: int | None = None,
    devices: Sequence | None = None,
    executor: Any = None,
    cores: int | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: Any = None,
    target_accept: float = 0.8,
    max_treedepth: int = 10,
    init: str = "jitter+adapt_diag",
    initvals: dict | None = None,
    jitter_max_retries: int = 10,
    progressbar: bool = True,
    compute_convergence_checks: bool = True,
):
    """NUTS on the same model for many datasets, compiled once, run as one
    vectorized program per chunk of datasets.

    Parameters
    ----------
    build : callable
        ``build(data) -> Model`` for one dataset. Per-dataset arrays must
        reach the model as observed data (``observed=``) or ``ppl.Data``:
        those become inputs of the compiled program; any other constant
        differing between datasets is an error.
    datasets : sequence, or array / dict of arrays with a leading dataset axis
        What ``build`` takes, one per dataset.
    combine : bool
        One InferenceData with a ``dataset`` dimension instead of a list.
    chunk_size : int, optional
        Datasets per program run; default from the memory (see the module
        notes).
    devices : sequence of jax devices, optional
        Shard the dataset axis over them (a 1-D ``jax.sharding`` mesh).
    executor : dask.distributed.Client, optional
        Ship chunks of datasets to the cluster's workers (see
        :mod:`~tessera.ppl.inference.many_dask`).
    cores : int, optional
        Threads running chunks at once (default: the CPU count; with
        ``devices``, 1). With the default ``chunk_size`` the datasets are
        split into at least this many chunks, so every core has work; the
        results do not depend on the chunking (see the seeds policy).
    draws, tune, chains, random_seed, target_accept, max_treedepth : optional
        As in :func:`~tessera.ppl.sample`; the seeds policy is in the
        module notes.
    init : {"jitter+adapt_diag", "adapt_diag"}
    initvals : dict, optional
        Starting values for every dataset and chain.
    jitter_max_retries : int
    progressbar : bool
    compute_convergence_checks : bool
        One :class:`SamplingWarning` naming the datasets with divergences
        and those with r_hat above 1.01.

    Returns
    -------
    list of arviz.InferenceData, or arviz.InferenceData
        One per dataset (``None`` for a dataset whose log-density is not
        finite at any start: reported by a warning naming its index, the
        others still run); with ``combine=True`` one InferenceData whose
        variables have a leading ``dataset`` dimension (those datasets'
        draws are NaN), ``attrs["failed_datasets"]`` listing them.

    Raises
    ------
    StructureError
        Datasets whose models differ in structure (before compiling).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> def build(y):
    ...     with ppl.Model() as m:
    ...         mu = ppl.Normal("mu", 0.0, 10.0)
    ...         ppl.Normal("y", mu, 1.0, observed=y)
    ...     return m
    >>> ys = np.array([[-1.0, 1.0], [4.0, 6.0]])
    >>> res = ppl.sample_many(build, ys, draws=300, tune=300, random_seed=1,
    ...                       progressbar=False)
    >>> [abs(round(float(r.posterior["mu"].mean()))) for r in res]
    [0, 5]
    """
    if init not in ("jitter+adapt_diag", "adapt_diag", "auto"):
        raise ValueError(f"sample_many: init={init!r} is not supported")
    datasets = split_datasets(datasets)
    models = build_models(build, datasets)  # structure checked before compiling
    if executor is not None:
        from tessera.ppl.inference.many_dask import sample_many_dask

        return sample_many_dask(
            executor,
            build,
            datasets,
            models,
            combine=combine,
            chunk_size=chunk_size,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            target_accept=target_accept,
            max_treedepth=max_treedepth,
            init=init,
            initvals=initvals,
            jitter_max_retries=jitter_max_retries,
            progressbar=progressbar,
            compute_convergence_checks=compute_convergence_checks,
        )
    seeds = dataset_seeds(random_seed, len(models))
    flat, stats, timings = sample_flat(
        models[0],
        stacked_data(models),
        seeds,
        chunk_size=chunk_size,
        devices=devices,
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        max_treedepth=max_treedepth,
        jitter=init != "adapt_diag",
        initvals=initvals,
        retries=jitter_max_retries,
        progressbar=progressbar,
        cores=cores,
    )
    return results(
        models,
        flat,
        stats,
        seeds,
        combine,
        timings,
        max_treedepth,
        compute_convergence_checks,
    )


def stacked_data(models: list) -> list[np.ndarray]:
    """Every data array of the models, stacked over a leading dataset axis."""
    return [np.stack(a) for a in zip(*(data_arrays(m) for m in models))]


def sample_flat(
    model: Any,
    data: list[np.ndarray],
    seeds: list[int],
    *,
    chunk_size=None,
    devices=None,
    draws=1000,
    tune=1000,
    chains=2,
    target_accept=0.8,
    max_treedepth=10,
    jitter=True,
    initvals=None,
    retries=10,
    progressbar=False,
    on_chunk=None,
    cores=None,
) -> tuple[list, list, dict]:
    """Flat draws ``(chains, draws, ndim)`` and statistics of every dataset
    (``None`` for one without a finite start), and the timings.

    ``data`` holds the arrays of ``data_arrays(model)`` stacked over the
    datasets; dataset ``d`` runs with ``seeds[d]``. Chunks run in ``cores``
    threads (the compiled program is shared; XLA releases the GIL)."""
    from tqdm.auto import tqdm

    from tessera.compile.backends import get_backend
    from tessera.ppl.inference.adaptation import window_schedule
    from tessera.ppl.inference.nuts_lanes_pool import lane_stats

    get_backend("jax").load()  # float64 in JAX
    draws, tune, chains = int(draws), int(tune), int(chains)
    if draws < 1 or tune < 1:
        raise ValueError(f"draws and tune must be positive, got {draws}, {tune}")
    from tessera.ppl.inference.nuts import _int_seed

    # the run seeds of ppl.sample(random_seed=seeds[d])
    seeds = [_int_seed(s) for s in seeds]
    t0 = time.perf_counter()
    f = ManyLogp(model)
    starts = _starts(model, f, data, seeds, chains, jitter, initvals, retries)
    failed = [d for d, s in enumerate(starts) if s is None]
    if failed:
        warnings.warn(
            f"sample_many: datasets {failed} have no start with a finite "
            "log-density and gradient; they are skipped (None in the results)",
            SamplingWarning,
            stacklevel=3,
        )
    ok = [d for d, s in enumerate(starts) if s is not None]
    flat: list = [None] * len(seeds)
    stats: list = [None] * len(seeds)
    if not ok:
        return flat, stats, {"compile": time.perf_counter() - t0, "run": 0.0}
    total = tune + draws
    workers = _workers(cores, devices)
    size = _chunk_size(chunk_size, len(ok), chains, total, f.size, devices, workers)
    settings = (int(max_treedepth), float(target_accept))
    # kept under the log-density's structure: a later call on models of
    # this structure (a notebook cell run again) reuses the compiled program
    program = LanesProgram(
        f.both, settings, iterations=ITERATIONS, devices=devices, key=f.program_key()
    )
    schedule = window_schedule(tune, total)
    slots = min(SLOTS, size * chains)
    if devices:  # a whole number of slots per device
        slots = -(-slots // len(devices)) * len(devices)
    bar = tqdm(
        total=total * len(ok) * chains, desc="NUTS (many)", disable=not progressbar
    )
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    lock = threading.Lock()

    def run(idx: list[int]) -> None:
        st = [np.stack([starts[d][k] for d in idx]) for k in range(3)]
        chunk_data = [a[idx] for a in data]
        out = run_chunk(
            program,
            st,
            chunk_data,
            [seeds[d] for d in idx],
            chains,
            schedule,
            bar,
            slots,
        )
        st_all = lane_stats(out, max_treedepth, slice(tune, None))
        with lock:
            for j, d in enumerate(idx):
                flat[d] = np.ascontiguousarray(out.position[j, :, tune:])
                stats[d] = {k: v[j] for k, v in st_all.items()}
            if on_chunk is not None:
                on_chunk(idx)

    chunks = [ok[lo : lo + size] for lo in range(0, len(ok), size)]
    try:
        if workers == 1 or len(chunks) == 1:
            for idx in chunks:
                run(idx)
        else:
            # XLA releases the GIL while a program runs: chunks in threads
            with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
                for fut in [pool.submit(run, idx) for idx in chunks]:
                    fut.result()
    finally:
        bar.close()
    return flat, stats, {"compile": t_compile, "run": time.perf_counter() - t0}


def _convergence(names: list[str], posts: list, stats: list) -> dict[str, list]:
    """Datasets with divergences and with r_hat above the limit (r_hat of
    every dataset at once: the datasets as one more parameter axis)."""
    ok = [d for d, post in enumerate(posts) if post is not None]
    div = [d for d in ok if int(np.sum(stats[d]["diverging"])) > 0]
    high = np.zeros(len(posts), bool)
    for n in names:
        if not ok:
            break
        x = np.stack([np.asarray(posts[d][n]) for d in ok])
        if x.shape[1] < 2 or x.shape[2] < 4:  # r_hat needs 2 chains, 4 draws
            break
        r = np.asarray(rhat(np.moveaxis(x, 0, 2))).reshape(len(ok), -1)
        high[ok] |= np.any(np.where(np.isfinite(r), r, 0.0) > RHAT_MAX, axis=1)
    return {"divergences": div, "rhat": [int(d) for d in np.flatnonzero(high)]}


def warn_many(found: dict[str, list]) -> list[str]:
    """One :class:`SamplingWarning` naming the datasets with problems."""
    msgs = []
    if found["divergences"]:
        msgs.append(f"datasets {found['divergences']} had divergences after tuning")
    if found["rhat"]:
        msgs.append(
            f"datasets {found['rhat']} have r_hat above {RHAT_MAX} for some parameters"
        )
    if msgs:
        warnings.warn(
            "sample_many: " + "; ".join(msgs) + ". Increase `target_accept`, "
            "draw more or reparameterize.",
            SamplingWarning,
            stacklevel=4,
        )
    return msgs


def results(models, flat, stats, seeds, combine, timings, max_treedepth, check):
    """The InferenceData of each dataset (or all combined)."""
    from tessera.ppl.model.idata import to_inference_data

    to_values = ManyDraws(models[0])
    posts = [
        None if x is None else to_values(x, *data_arrays(m))
        for m, x in zip(models, flat)
    ]
    failed = [d for d, p in enumerate(posts) if p is None]
    if combine and len(failed) == len(posts):
        raise ValueError("sample_many: no dataset has a finite start")
    attrs = {
        "compile_time": timings["compile"],
        "sampling_time": timings["run"],
        "sampler": "tessera lanes NUTS (sample_many)",
        "backend": "jax",
    }
    if check:
        found = _convergence([rv.name for rv in models[0].free_RVs], posts, stats)
        warn_many(found)
    if combine:
        from tessera.ppl.inference.many_combine import combine_results

        return combine_results(models[0], posts, stats, seeds, failed, attrs)
    return [
        None
        if p is None
        else to_inference_data(
            m, posterior=p, sample_stats=s, attrs={**attrs, "random_seed": seed}
        )
        for m, p, s, seed in zip(models, posts, stats, seeds)
    ]
