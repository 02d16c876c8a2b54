"""``ppl.sbc``: simulation-based calibration (Talts et al., 2018).

Parameters and data are drawn from the model's prior predictive
(:func:`~tessera.ppl.sample_prior_predictive`, one vectorized call); every
simulated dataset is fitted with NUTS in one program
(:func:`~tessera.ppl.inference.many.sample_flat`, the engine of
:func:`~tessera.ppl.sample_many`): the model's log-density is compiled
once with its observed arrays as inputs, and the simulated data take their
place (``ppl.Data`` arrays keep the model's values). The rank of each
scalar parameter's true value among its thinned posterior draws is uniform
on ``0..L`` when the sampler and the model are correct; :meth:`SBCResult.plot`
draws the ECDF of the ranks minus the uniform CDF with simultaneous
confidence bands (Säilynoja, Bürkner and Vehtari, 2022, the "optimized"
bands of ``arviz.stats.ecdf_utils.ecdf_confidence_band``).

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     mu = ppl.Normal("mu", 0.0, 1.0)
...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3))
>>> res = ppl.sbc(m, 20, draws=100, tune=100, random_seed=1)
>>> res.ranks["mu"].dims, int(res.max_rank)
(('simulation',), 100)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tessera.ppl.inference.many_data import (
    ManyDraws,
    StructureError,
    _signature,
    data_variables,
)

__all__ = ["SBCResult", "sbc"]


@dataclass
class SBCResult:
    """Ranks and truths of a simulation-based calibration.

    Attributes
    ----------
    ranks : xarray.Dataset
        Per free variable, dims ``("simulation", *its dims)``: the number of
        its thinned posterior draws below the true value, ``0..max_rank``.
    truths : xarray.Dataset
        The simulated (prior) values, laid out as ``ranks``.
    max_rank : int
        ``L``, the number of thinned draws per simulation.
    failed : list of int
        Simulations without a finite start (left out of ``ranks``).

    Examples
    --------
    >>> import xarray as xr
    >>> ranks = xr.Dataset({"mu": ("simulation", np.arange(100) % 11)})
    >>> res = SBCResult(ranks=ranks, truths=ranks, max_rank=10)
    >>> res.within_bands()
    {'mu': True}
    """

    ranks: Any
    truths: Any
    max_rank: int
    failed: list = field(default_factory=list)

    def _entries(self) -> dict[str, np.ndarray]:
        """``{label: ranks}`` of every scalar parameter (vector entries apart)."""
        out = {}
        for name, da in self.ranks.data_vars.items():
            arr = np.asarray(da.values).reshape(da.shape[0], -1)
            for k in range(arr.shape[1]):
                label = name if da.ndim == 1 else f"{name}[{k}]"
                out[label] = arr[:, k]
        return out

    def ecdf_difference(self, prob: float = 0.95) -> dict[str, tuple]:
        """Per scalar parameter ``(points, ecdf - cdf, lower, upper)``: the
        ECDF of its ranks minus the uniform CDF at ``points`` (the ranks
        ``0..L-1``) and the simultaneous ``prob`` band around zero."""
        from arviz.stats.ecdf_utils import ecdf_confidence_band

        entries = self._entries()
        n = len(next(iter(entries.values())))
        points = np.arange(self.max_rank)
        cdf = (points + 1.0) / (self.max_rank + 1.0)
        lower, upper = ecdf_confidence_band(n, points, cdf, prob=prob)
        out = {}
        for label, ranks in entries.items():
            ecdf = np.searchsorted(np.sort(ranks), points, side="right") / n
            out[label] = (points, ecdf - cdf, lower - cdf, upper - cdf)
        return out

    def within_bands(self, prob: float = 0.95) -> dict[str, bool]:
        """Per scalar parameter: does its ECDF difference stay in the band?"""
        return {
            k: bool(np.all((d >= lo - 1e-12) & (d <= hi + 1e-12)))
            for k, (_, d, lo, hi) in self.ecdf_difference(prob).items()
        }

    def plot(self, path: str | None = None, ax: Any = None, prob: float = 0.95):
        """The ECDF-difference plot of every scalar parameter's ranks.

        Parameters
        ----------
        path : str, optional
            Write the figure there (PNG, PDF, ... by the suffix).
        ax : matplotlib Axes or array of Axes, optional
            One per scalar parameter; default a new grid.
        prob : float
            The simultaneous band's probability.

        Returns
        -------
        ndarray of Axes
        """
        import matplotlib.pyplot as plt

        curves = self.ecdf_difference(prob)
        if ax is None:
            cols = min(4, len(curves))
            rows = -(-len(curves) // cols)
            fig, ax = plt.subplots(
                rows, cols, figsize=(3 * cols, 2.4 * rows), squeeze=False
            )
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if len(axes) < len(curves):
            raise ValueError(f"plot: {len(curves)} parameters, {len(axes)} axes")
        for a, (label, (x, d, lo, hi)) in zip(axes, curves.items()):
            u = (x + 1.0) / (self.max_rank + 1.0)
            a.fill_between(u, lo, hi, step="post", color="C0", alpha=0.2)
            a.step(
                u,
                d,
                where="post",
                color="C0" if np.all((d >= lo) & (d <= hi)) else "C3",
            )
            a.axhline(0.0, color="k", lw=0.5)
            a.set_title(label, fontsize=9)
        for a in axes[len(curves) :]:
            a.set_visible(False)
        fig = axes[0].figure
        fig.suptitle(f"SBC: ECDF - uniform CDF ({prob:.0%} simultaneous bands)")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return axes


def _observed_data(fit_model: Any, sims: dict, n: int) -> list[np.ndarray]:
    """The fit model's data arrays stacked over the simulations: simulated
    for its observed variables, its own values for ``ppl.Data``."""
    observed = {rv.name for rv in fit_model.observed_RVs}
    out = []
    for name, v in data_variables(fit_model):
        value = np.asarray(v.get_value() if hasattr(v, "get_value") else v.data)
        if name in observed:
            out.append(np.asarray(sims[name]).astype(value.dtype))
        else:
            out.append(np.broadcast_to(value, (n, *value.shape)).copy())
    return out


def _thinned(x: np.ndarray, thin: int) -> np.ndarray:
    """``(chains, draws, ...)`` thinned along the draws, chains pooled."""
    x = x[:, ::thin]
    return x.reshape((-1, *x.shape[2:]))


def sbc(
    model_or_build: Any,
    n_sims: int,
    *,
    data: Any = None,
    fit_model: Any = None,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    thin: int | None = None,
    random_seed: Any = None,
    chunk_size: int | None = None,
    progressbar: bool = False,
    **sample_kwargs: Any,
) -> SBCResult:
    """Simulation-based calibration of NUTS on a model.

    Parameters
    ----------
    model_or_build : Model or callable
        The model simulated from (its observed variables' values only give
        their shapes), or ``build(data) -> Model`` called with ``data``.
    n_sims : int
        Simulated datasets.
    data : optional
        What ``build`` takes (with a callable ``model_or_build``).
    fit_model : Model, optional
        The model fitted to the simulations (default: the simulator); of
        the same structure. A different prior here shows as non-uniform
        ranks.
    draws, tune, chains : int
        NUTS per simulation.
    thin : int, optional
        Keep every ``thin``-th draw of each chain (default: about 100 draws
        kept in all, which lowers their autocorrelation).
    random_seed : optional
        Seeds the simulations and the fits.
    chunk_size : int, optional
        Simulations per program (see :func:`~tessera.ppl.sample_many`).
    progressbar : bool
    **sample_kwargs
        ``target_accept``, ``max_treedepth``, ``cores``.

    Returns
    -------
    SBCResult
    """
    import xarray as xr

    from tessera.ppl.inference.many import dataset_seeds, sample_flat
    from tessera.ppl.model.predictive import sample_prior_predictive

    model = model_or_build
    if callable(model_or_build) and not hasattr(model_or_build, "free_RVs"):
        if data is None:
            raise TypeError("sbc: a build function needs data= (what it takes)")
        model = model_or_build(data)
    fit_model = model if fit_model is None else fit_model
    if _signature(fit_model) != _signature(model):
        raise StructureError("sbc: fit_model has another structure than the model")
    n_sims = int(n_sims)
    sim_seed, fit_seed = np.random.SeedSequence(random_seed).spawn(2)
    sims = sample_prior_predictive(
        n_sims,
        model=model,
        random_seed=int(sim_seed.generate_state(1)[0]),
        return_inferencedata=False,
    )
    stacked = _observed_data(fit_model, sims, n_sims)
    seeds = dataset_seeds(fit_seed, n_sims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failed starts are reported below
        flat, _, _ = sample_flat(
            fit_model,
            stacked,
            seeds,
            chunk_size=chunk_size,
            draws=draws,
            tune=tune,
            chains=chains,
            progressbar=progressbar,
            **sample_kwargs,
        )
    thin = max(1, (chains * draws) // 100) if thin is None else int(thin)
    names = [rv.name for rv in fit_model.free_RVs]
    to_values = ManyDraws(fit_model, names)
    ok = [i for i, x in enumerate(flat) if x is not None]
    failed = [i for i, x in enumerate(flat) if x is None]
    if failed:
        warnings.warn(
            f"sbc: simulations {failed} had no finite start; left out",
            stacklevel=2,
        )
    ranks: dict[str, list] = {n: [] for n in names}
    max_rank = 0
    for i in ok:
        post = to_values(flat[i], *(a[i] for a in stacked))
        for n in names:
            kept = _thinned(post[n], thin)
            max_rank = kept.shape[0]
            ranks[n].append(np.sum(kept < sims[n][i], axis=0))
    dims = {n: fit_model.named_vars_to_dims.get(n) for n in names}

    def dataset(values: dict) -> Any:
        out = {}
        for n, v in values.items():
            v = np.asarray(v)
            vd = dims[n] or tuple(f"{n}_dim_{k}" for k in range(v.ndim - 1))
            out[n] = (("simulation", *vd), v)
        return xr.Dataset(out, coords={"simulation": ok})

    return SBCResult(
        ranks=dataset({n: np.stack(r) for n, r in ranks.items()}),
        truths=dataset({n: np.asarray(sims[n])[ok] for n in names}),
        max_rank=int(max_rank),
        failed=failed,
    )
