"""Distributions over matrices.

* :mod:`.wishart`: Wishart and InverseWishart (positive definite matrices);
* :mod:`.normal`: MatrixNormal and KroneckerNormal;
* :mod:`.lkj`: LKJCorr, LKJCholesky and LKJCholeskyCov (correlation
  matrices, their Cholesky factors, Cholesky factors of covariances).
"""

from tessera.ppl.distributions.matrix.lkj import LKJCholesky, LKJCholeskyCov, LKJCorr
from tessera.ppl.distributions.matrix.normal import KroneckerNormal, MatrixNormal
from tessera.ppl.distributions.matrix.wishart import InverseWishart, Wishart

__all__ = [
    "InverseWishart",
    "KroneckerNormal",
    "LKJCholesky",
    "LKJCholeskyCov",
    "LKJCorr",
    "MatrixNormal",
    "Wishart",
]
