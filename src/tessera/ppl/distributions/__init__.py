"""Probability distributions: samplers, log-densities and log-CDFs.

See :mod:`tessera.ppl.distributions.base` for the ``Distribution`` contract.
"""

from tessera.ppl.distributions.base import (
    Continuous,
    Discrete,
    Distribution,
    dist_of,
)
from tessera.ppl.distributions.bounded import (
    Beta,
    Kumaraswamy,
    TruncatedNormal,
    Uniform,
)
from tessera.ppl.distributions.circular import VonMises
from tessera.ppl.distributions.continuous import (
    AsymmetricLaplace,
    Cauchy,
    ExGaussian,
    Flat,
    Gumbel,
    Laplace,
    Logistic,
    Normal,
    SkewNormal,
    StudentT,
)
from tessera.ppl.distributions.discrete import (
    Bernoulli,
    BetaBinomial,
    Binomial,
    Geometric,
    HyperGeometric,
    NegativeBinomial,
    Poisson,
)
from tessera.ppl.distributions.draw import draw
from tessera.ppl.distributions.finite import Categorical, DiscreteUniform
from tessera.ppl.distributions.lkj import (
    LKJCholesky,
    LKJCholeskyCov,
    LKJCorr,
)
from tessera.ppl.distributions.logprob import (
    ParameterValueError,
    check_parameters,
    logcdf,
    logp,
    moment,
)
from tessera.ppl.distributions.matrix import (
    InverseWishart,
    KroneckerNormal,
    MatrixNormal,
    Wishart,
)
from tessera.ppl.distributions.mixture import Mixture
from tessera.ppl.distributions.multivariate import (
    LowRankMvNormal,
    MvNormal,
    MvStudentT,
)
from tessera.ppl.distributions.ordinal import (
    OrderedLogistic,
    OrderedProbit,
)
from tessera.ppl.distributions.positive import (
    Exponential,
    HalfCauchy,
    HalfFlat,
    HalfNormal,
    HalfStudentT,
    LogNormal,
)
from tessera.ppl.distributions.simplex import (
    Dirichlet,
    DirichletMultinomial,
    Multinomial,
    StickBreakingWeights,
)
from tessera.ppl.distributions.skewed import (
    ChiSquared,
    Gamma,
    InverseGamma,
    Pareto,
    Wald,
    Weibull,
)
from tessera.ppl.distributions.spatial import (
    CAR,
    ICAR,
)
from tessera.ppl.distributions.timeseries import (
    MvGaussianRandomWalk,
)
from tessera.ppl.distributions.truncated import Truncated
from tessera.ppl.distributions.zero_inflated import (
    ZeroInflatedBinomial,
    ZeroInflatedNegativeBinomial,
    ZeroInflatedPoisson,
)
from tessera.ppl.distributions.zerosum import (
    ZeroSumNormal,
)

__all__ = [
    "AsymmetricLaplace",
    "Bernoulli",
    "Beta",
    "BetaBinomial",
    "Binomial",
    "CAR",
    "Categorical",
    "Cauchy",
    "ChiSquared",
    "Continuous",
    "Dirichlet",
    "DirichletMultinomial",
    "Discrete",
    "DiscreteUniform",
    "Distribution",
    "ExGaussian",
    "Exponential",
    "Flat",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfFlat",
    "HalfNormal",
    "HalfStudentT",
    "HyperGeometric",
    "ICAR",
    "InverseGamma",
    "InverseWishart",
    "KroneckerNormal",
    "Kumaraswamy",
    "LKJCholesky",
    "LKJCholeskyCov",
    "LKJCorr",
    "Laplace",
    "LogNormal",
    "Logistic",
    "LowRankMvNormal",
    "MatrixNormal",
    "Mixture",
    "Multinomial",
    "MvGaussianRandomWalk",
    "MvNormal",
    "MvStudentT",
    "NegativeBinomial",
    "Normal",
    "OrderedLogistic",
    "OrderedProbit",
    "ParameterValueError",
    "Pareto",
    "Poisson",
    "SkewNormal",
    "StickBreakingWeights",
    "StudentT",
    "Truncated",
    "TruncatedNormal",
    "Uniform",
    "VonMises",
    "Wald",
    "Weibull",
    "Wishart",
    "ZeroInflatedBinomial",
    "ZeroInflatedNegativeBinomial",
    "ZeroInflatedPoisson",
    "ZeroSumNormal",
    "check_parameters",
    "dist_of",
    "draw",
    "logcdf",
    "logp",
    "moment",
]
