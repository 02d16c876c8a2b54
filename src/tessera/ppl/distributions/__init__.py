"""Probability distributions: samplers, log-densities and log-CDFs.

Grouped as users look for them: :mod:`.continuous` (unbounded, skewed,
positive, half, bounded, circular), :mod:`.discrete` (counts, finite,
ordinal), :mod:`.multivariate` (normal family, simplex, spatial, zero-sum),
:mod:`.matrix` (Wishart, matrix normals, LKJ), :mod:`.timeseries`,
:mod:`.mixture` (mixtures, zero-inflated counts) and :mod:`.truncated`. Each
distribution's JAX sampler is in the module of the same path under
:mod:`tessera.ppl.jax` (e.g. ``continuous/unbounded.py`` ->
``tessera/ppl/jax/continuous/unbounded.py``).

See :mod:`tessera.ppl.distributions.base` for the ``Distribution`` contract;
:mod:`.logprob` and :mod:`.draw` hold ``logp``, ``logcdf`` and ``draw``;
:mod:`.dist_math`, :mod:`.params`, :mod:`.mv_util` and :mod:`.range_sum`
the building blocks the distributions share.
"""

from tessera.ppl.distributions import transforms  # noqa: F401  (the module)
from tessera.ppl.distributions.base import (
    Continuous,
    Discrete,
    Distribution,
    dist_of,
)
from tessera.ppl.distributions.censored import Censored
from tessera.ppl.distributions.continuous import (
    AsymmetricLaplace,
    Beta,
    Cauchy,
    ChiSquared,
    ExGaussian,
    Exponential,
    Flat,
    Gamma,
    Gumbel,
    HalfCauchy,
    HalfFlat,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    Kumaraswamy,
    Laplace,
    Logistic,
    LogNormal,
    Normal,
    Pareto,
    SkewNormal,
    StudentT,
    Uniform,
    VonMises,
    Wald,
    Weibull,
)
from tessera.ppl.distributions.custom import CustomDist
from tessera.ppl.distributions.discrete import (
    Bernoulli,
    BetaBinomial,
    Binomial,
    Categorical,
    DiscreteUniform,
    Geometric,
    HyperGeometric,
    NegativeBinomial,
    OrderedLogistic,
    OrderedProbit,
    Poisson,
)
from tessera.ppl.distributions.draw import draw
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
    LKJCholesky,
    LKJCholeskyCov,
    LKJCorr,
    MatrixNormal,
    Wishart,
)
from tessera.ppl.distributions.mixture import (
    Mixture,
    NormalMixture,
    ZeroInflatedBinomial,
    ZeroInflatedNegativeBinomial,
    ZeroInflatedPoisson,
)
from tessera.ppl.distributions.multivariate import (
    CAR,
    ICAR,
    Dirichlet,
    DirichletMultinomial,
    LowRankMvNormal,
    Multinomial,
    MvNormal,
    MvStudentT,
    StickBreakingWeights,
    ZeroSumNormal,
)
from tessera.ppl.distributions.timeseries import MvGaussianRandomWalk
from tessera.ppl.distributions.truncated import Truncated, TruncatedNormal

__all__ = [
    "AsymmetricLaplace",
    "Bernoulli",
    "Beta",
    "BetaBinomial",
    "Binomial",
    "CAR",
    "Categorical",
    "Censored",
    "Cauchy",
    "ChiSquared",
    "Continuous",
    "CustomDist",
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
    "NormalMixture",
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
