"""PyMC's ``MultiTrace`` view of a posterior, for ``return_inferencedata=False``.

Code written for PyMC 3 indexes the result of ``sample`` by name
(``trace["mu"]``: the draws of all chains, concatenated) and asks for
sampler statistics with ``trace.get_sampler_stats``. :class:`MultiTrace`
answers those calls from an InferenceData's ``posterior`` and
``sample_stats`` groups, without copying them.

Examples
--------
>>> import numpy as np
>>> import arviz as az
>>> idata = az.from_dict(posterior={"mu": np.arange(6.0).reshape(2, 3)})
>>> trace = MultiTrace(idata)
>>> trace["mu"], trace.nchains, len(trace)
(array([0., 1., 2., 3., 4., 5.]), 2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MultiTrace"]


class MultiTrace:
    """Draws by variable name, chains concatenated, as PyMC's ``MultiTrace``.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``posterior`` group (and ``sample_stats`` for
        :meth:`get_sampler_stats`).

    Attributes
    ----------
    varnames : list of str
    stat_names : set of str
    nchains : int
    chains : list of int

    Examples
    --------
    >>> import numpy as np
    >>> import arviz as az
    >>> idata = az.from_dict(posterior={"x": np.zeros((2, 4, 3))},
    ...                      sample_stats={"diverging": np.zeros((2, 4), bool)})
    >>> t = MultiTrace(idata)
    >>> t.get_values("x", chains=[1]).shape, t.get_sampler_stats("diverging").shape
    ((4, 3), (8,))
    >>> sorted(t.point(2, chain=0))
    ['x']
    """

    def __init__(self, idata: Any) -> None:
        self.idata = idata
        self._posterior = idata.posterior
        self._stats = idata.sample_stats if "sample_stats" in idata.groups() else None
        self.varnames = list(self._posterior.data_vars)
        self.stat_names = set() if self._stats is None else set(self._stats.data_vars)
        self.nchains = int(self._posterior.sizes["chain"])
        self.chains = list(range(self.nchains))

    def __len__(self) -> int:
        """Draws per chain."""
        return int(self._posterior.sizes["draw"])

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.varnames:
            return self.get_values(name)
        if name in self.stat_names:
            return self.get_sampler_stats(name)
        raise KeyError(
            f"{name!r} is neither a variable {self.varnames} nor a sampler "
            f"statistic {sorted(self.stat_names)} of the trace"
        )

    def __repr__(self) -> str:
        return (
            f"<MultiTrace: {self.nchains} chains, {len(self)} draws, "
            f"variables {self.varnames}>"
        )

    def _values(self, ds, name, burn, thin, combine, chains) -> Any:
        arr = np.asarray(ds[name].values)[:, int(burn) :: int(thin)]
        chains = self.chains if chains is None else _as_list(chains)
        for c in chains:
            if not 0 <= c < self.nchains:
                raise IndexError(f"chain {c} is not in 0..{self.nchains - 1}")
        arr = arr[chains]
        if combine:
            return arr.reshape(-1, *arr.shape[2:])
        return list(arr)

    def get_values(
        self,
        varname: str,
        burn: int = 0,
        thin: int = 1,
        combine: bool = True,
        chains: int | Sequence[int] | None = None,
    ) -> Any:
        """The draws of ``varname``: one array (``combine``) or one per chain."""
        if varname not in self.varnames:
            raise KeyError(
                f"{varname!r} is not a variable of the trace {self.varnames}"
            )
        return self._values(self._posterior, varname, burn, thin, combine, chains)

    def get_sampler_stats(
        self,
        stat_name: str,
        burn: int = 0,
        thin: int = 1,
        combine: bool = True,
        chains: int | Sequence[int] | None = None,
    ) -> Any:
        """A sampler statistic (``"diverging"``, ``"step_size"``, ...)."""
        if stat_name not in self.stat_names:
            raise KeyError(
                f"{stat_name!r} is not a sampler statistic {sorted(self.stat_names)}"
            )
        return self._values(self._stats, stat_name, burn, thin, combine, chains)

    def point(self, idx: int, chain: int | None = None) -> dict[str, np.ndarray]:
        """Every variable's value at draw ``idx`` of ``chain`` (default: the last)."""
        chain = self.chains[-1] if chain is None else chain
        return {
            n: np.asarray(self._posterior[n].values[chain, idx]) for n in self.varnames
        }


def _as_list(chains: int | Sequence[int]) -> list[int]:
    if isinstance(chains, int | np.integer):
        return [int(chains)]
    return [int(c) for c in chains]
