"""Time-series distributions, batched over any leading dims.

A value has its time axis last before the event dims (as in PyMC):
``(*batch, steps + 1)`` for the univariate walks, GARCH11 and
EulerMaruyama, ``(*batch, steps + ar_order)`` for AR and
``(*batch, steps + 1, n)`` for the multivariate walks. Each parameter
carries batch dims that broadcast with the others'. Densities are
closed-form graphs over the whole series (no loop over time); NumPy draws
loop over time only, JAX draws run a ``lax.scan`` (or a cumulative sum).

* :mod:`.random_walk`: RandomWalk (any innovation), GaussianRandomWalk;
* :mod:`.mv_random_walk`: MvGaussianRandomWalk, MvStudentTRandomWalk;
* :mod:`.autoregressive`: AR;
* :mod:`.garch`: GARCH11;
* :mod:`.sde`: EulerMaruyama;
* :mod:`.common`: steps and shapes, distributions used inside others.

JAX samplers: :mod:`tessera.ppl.jax.timeseries` (same module names).
"""

from tessera.ppl.distributions.timeseries.autoregressive import AR, ARRV
from tessera.ppl.distributions.timeseries.garch import GARCH11, GARCH11RV
from tessera.ppl.distributions.timeseries.mv_random_walk import (
    MvGaussianRandomWalk,
    MvGaussianRandomWalkRV,
    MvStudentTRandomWalk,
    MvStudentTRandomWalkRV,
)
from tessera.ppl.distributions.timeseries.random_walk import (
    GaussianRandomWalk,
    GaussianRandomWalkRV,
    RandomWalk,
    RandomWalkRV,
)
from tessera.ppl.distributions.timeseries.sde import EulerMaruyama, EulerMaruyamaRV

__all__ = [
    "AR",
    "ARRV",
    "EulerMaruyama",
    "EulerMaruyamaRV",
    "GARCH11",
    "GARCH11RV",
    "GaussianRandomWalk",
    "GaussianRandomWalkRV",
    "MvGaussianRandomWalk",
    "MvGaussianRandomWalkRV",
    "MvStudentTRandomWalk",
    "MvStudentTRandomWalkRV",
    "RandomWalk",
    "RandomWalkRV",
]
