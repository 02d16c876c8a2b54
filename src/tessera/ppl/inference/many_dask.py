"""``sample_many(..., executor=client)``: chunks of datasets on a Dask cluster.

The datasets are checked on the client (:func:`build_models`, before
anything is compiled), cut into chunks, and each chunk is shipped to a
worker of the ``dask.distributed.Client`` with ``build`` (pickled by
cloudpickle: a function of an importable module, or one defined in a script
or notebook); the worker builds the chunk's models and runs the batched
program of :func:`~tessera.ppl.inference.many.sample_flat` (compiled once
per worker process and reused by its later chunks of the same shapes). A
progress bar counts the datasets done. A chunk that fails is reported (a
:class:`ChunkFailedWarning` naming its dataset indices and the error) and
submitted once more; a chunk that fails twice raises
:class:`ChunkFailedError` naming its datasets: none is silently dropped.

Each dataset keeps its seed of :func:`~tessera.ppl.inference.many.dataset_seeds`,
so the draws are those of the same call without ``executor`` (whatever the
chunks and workers).

Install with ``pip install "tessera[distributed]"``.

Examples
--------
>>> chunks_of(list(range(5)), 2)
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["ChunkFailedError", "ChunkFailedWarning", "chunks_of", "sample_many_dask"]


class ChunkFailedError(RuntimeError):
    """A chunk of datasets failed on the cluster twice.

    Attributes
    ----------
    datasets : list of int
        The chunk's dataset indices.

    Examples
    --------
    >>> ChunkFailedError("failed", [3, 4]).datasets
    [3, 4]
    """

    def __init__(self, message: str, datasets: list[int]):
        super().__init__(message)
        self.datasets = datasets


class ChunkFailedWarning(UserWarning):
    """A chunk of datasets failed once on the cluster and is run again.

    Examples
    --------
    >>> issubclass(ChunkFailedWarning, UserWarning)
    True
    """


def chunks_of(indices: list[int], size: int) -> list[list[int]]:
    """``indices`` cut into runs of ``size``."""
    return [indices[i : i + size] for i in range(0, len(indices), max(1, size))]


def _run_chunk(build: Callable, datasets: list, seeds: list[int], options: dict):
    """On a worker: build the chunk's models and sample them; flat draws
    and statistics (``None`` where a dataset has no finite start)."""
    from tessera.ppl.inference.many import sample_flat, stacked_data
    from tessera.ppl.inference.many_data import build_models

    models = build_models(build, datasets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failed starts come back as None
        flat, stats, timings = sample_flat(
            models[0], stacked_data(models), seeds, **options
        )
    return flat, stats, timings


def _default_chunk_size(client: Any, n: int) -> int:
    """Two chunks per worker, so that a slow or failed chunk costs little."""
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return max(1, -(-n // (2 * workers)))


def sample_many_dask(
    client: Any,
    build: Callable,
    datasets: list,
    models: list,
    *,
    combine: bool,
    chunk_size: int | None,
    draws: int,
    tune: int,
    chains: int,
    random_seed: Any,
    target_accept: float,
    max_treedepth: int,
    init: str,
    initvals: Any,
    jitter_max_retries: int,
    progressbar: bool,
    compute_convergence_checks: bool,
):
    """:func:`~tessera.ppl.sample_many`'s result, chunks run on ``client``."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    from tessera.ppl.inference.many import dataset_seeds, results

    n = len(datasets)
    seeds = dataset_seeds(random_seed, n)
    size = _default_chunk_size(client, n) if chunk_size is None else int(chunk_size)
    options = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        max_treedepth=max_treedepth,
        jitter=init != "adapt_diag",
        initvals=initvals,
        retries=jitter_max_retries,
    )

    def submit(idx: list[int]):
        future = client.submit(
            _run_chunk,
            build,
            [datasets[i] for i in idx],
            [seeds[i] for i in idx],
            options,
            pure=False,  # a retry runs again, not the failed result
        )
        pending[future.key] = idx
        return future

    pending: dict[str, list[int]] = {}
    tried: set[tuple[int, ...]] = set()
    flat: list = [None] * n
    stats: list = [None] * n
    timings = {"compile": 0.0, "run": 0.0}
    futures = as_completed([submit(idx) for idx in chunks_of(list(range(n)), size)])
    with tqdm(total=n, desc="NUTS (many, dask)", disable=not progressbar) as bar:
        for future in futures:
            idx = pending.pop(future.key)
            if future.status != "finished":
                error = future.exception()
                if tuple(idx) in tried:
                    raise ChunkFailedError(
                        f"sample_many: the chunk of datasets {idx} failed twice "
                        f"on the cluster: {error!r}",
                        idx,
                    ) from error
                tried.add(tuple(idx))
                warnings.warn(
                    f"sample_many: the chunk of datasets {idx} failed on the "
                    f"cluster ({error!r}); running it once more",
                    ChunkFailedWarning,
                    stacklevel=3,
                )
                futures.add(submit(idx))
                continue
            chunk_flat, chunk_stats, t = future.result()
            for j, d in enumerate(idx):
                flat[d], stats[d] = chunk_flat[j], chunk_stats[j]
            for k in timings:
                timings[k] += t[k]
            bar.update(len(idx))
    failed = [d for d in range(n) if flat[d] is None]
    if failed:
        from tessera.ppl.inference.convergence import SamplingWarning

        warnings.warn(
            f"sample_many: datasets {failed} have no start with a finite "
            "log-density and gradient; they are skipped (None in the results)",
            SamplingWarning,
            stacklevel=3,
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
