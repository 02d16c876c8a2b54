"""What a NUTS driver returns: flat draws and sampler statistics.

Both drivers (:mod:`~tessera.ppl.inference.nuts_nutpie` and
:mod:`~tessera.ppl.inference.nuts_blackjax`) return a :class:`NutpieResult`
with statistics named as in ArviZ; :func:`~tessera.ppl.sample` maps its
draws to the original space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NutpieResult"]


@dataclass
class NutpieResult:
    """Flat draws and sampler statistics of a NUTS run.

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
