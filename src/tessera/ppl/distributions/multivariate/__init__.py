"""Multivariate distributions over vectors (and arrays with zero-sum axes).

* :mod:`.normal`: the multivariate normal family (MvNormal, MvStudentT,
  LowRankMvNormal);
* :mod:`.simplex`: the simplex and counts (Dirichlet, Multinomial,
  DirichletMultinomial, StickBreakingWeights);
* :mod:`.spatial`: Gaussian Markov random fields (CAR, ICAR);
* :mod:`.zerosum`: ZeroSumNormal.

Distributions over matrices are in :mod:`tessera.ppl.distributions.matrix`,
random walks in :mod:`tessera.ppl.distributions.timeseries`.
"""

from tessera.ppl.distributions.multivariate.normal import (
    LowRankMvNormal,
    MvNormal,
    MvStudentT,
)
from tessera.ppl.distributions.multivariate.simplex import (
    Dirichlet,
    DirichletMultinomial,
    Multinomial,
    StickBreakingWeights,
)
from tessera.ppl.distributions.multivariate.spatial import CAR, ICAR
from tessera.ppl.distributions.multivariate.zerosum import ZeroSumNormal

__all__ = [
    "CAR",
    "ICAR",
    "Dirichlet",
    "DirichletMultinomial",
    "LowRankMvNormal",
    "Multinomial",
    "MvNormal",
    "MvStudentT",
    "StickBreakingWeights",
    "ZeroSumNormal",
]
