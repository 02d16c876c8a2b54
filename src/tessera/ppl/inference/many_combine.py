"""The results of many datasets as one InferenceData with a ``dataset`` dim.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     mu = ppl.Normal("mu")
>>> post = {"mu": np.zeros((2, 5))}
>>> stats = {"diverging": np.zeros((2, 5), bool)}
>>> idata = combine_results(m, [post, None], [stats, None], [1, 2], [1], {})
>>> idata.posterior["mu"].dims, idata.attrs["failed_datasets"]
(('dataset', 'chain', 'draw'), [1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["combine_results"]


def _stack(items: list, template: dict) -> dict[str, np.ndarray]:
    """``{name: (dataset, ...)}``, NaN (False for booleans) where missing."""
    out = {}
    for name, ref in template.items():
        ref = np.asarray(ref)
        fill = False if ref.dtype == bool else np.nan
        dtype = ref.dtype if ref.dtype == bool else np.result_type(ref, np.float64)
        if ref.dtype.kind in "iu":
            dtype = np.float64
        arr = np.full((len(items), *ref.shape), fill, dtype=dtype)
        for d, item in enumerate(items):
            if item is not None:
                arr[d] = item[name]
        out[name] = arr
    return out


def combine_results(
    model: Any,
    posts: list,
    stats: list,
    seeds: list[int],
    failed: list[int],
    attrs: dict[str, Any],
):
    """One InferenceData: ``posterior`` and ``sample_stats`` with a leading
    ``dataset`` dim (failed datasets NaN, listed in
    ``attrs["failed_datasets"]``), the datasets' seeds in
    ``attrs["random_seed"]``; the model's coords and dims."""
    from tessera.ppl.model.idata import _arviz, dict_to_dataset

    template_post = next(p for p in posts if p is not None)
    template_stats = next(s for s in stats if s is not None)
    sample_dims = ("dataset", "chain", "draw")
    coords = {"dataset": np.arange(len(posts))}
    attrs = {
        **attrs,
        "random_seed": [int(s) for s in seeds],
        "failed_datasets": [int(d) for d in failed],
    }
    posterior = dict_to_dataset(
        _stack(posts, template_post),
        model,
        coords=coords,
        sample_dims=sample_dims,
        attrs=attrs,
    )
    sample_stats = dict_to_dataset(
        _stack(stats, template_stats),
        None,
        coords=coords,
        sample_dims=sample_dims,
        attrs=attrs,
    )
    idata = _arviz().InferenceData(posterior=posterior, sample_stats=sample_stats)
    idata.attrs = attrs
    return idata
