"""Continuous distributions, by where their values lie.

* :mod:`.unbounded`: symmetric, on the real line (Normal, StudentT, Cauchy,
  Laplace, Logistic, Flat);
* :mod:`.skewed`: skewed, on the real line (SkewNormal, ExGaussian,
  AsymmetricLaplace, Gumbel);
* :mod:`.positive`: on a half-line (Exponential, Gamma, InverseGamma,
  ChiSquared, Weibull, LogNormal, Pareto, Wald);
* :mod:`.half`: folded at zero (HalfNormal, HalfStudentT, HalfCauchy,
  HalfFlat);
* :mod:`.bounded`: on an interval (Beta, Kumaraswamy, Uniform);
* :mod:`.circular`: angles (VonMises).

The truncated normal is in :mod:`tessera.ppl.distributions.truncated`.
"""

from tessera.ppl.distributions.continuous.bounded import Beta, Kumaraswamy, Uniform
from tessera.ppl.distributions.continuous.circular import VonMises
from tessera.ppl.distributions.continuous.half import (
    HalfCauchy,
    HalfFlat,
    HalfNormal,
    HalfStudentT,
)
from tessera.ppl.distributions.continuous.positive import (
    ChiSquared,
    Exponential,
    Gamma,
    InverseGamma,
    LogNormal,
    Pareto,
    Wald,
    Weibull,
)
from tessera.ppl.distributions.continuous.skewed import (
    AsymmetricLaplace,
    ExGaussian,
    Gumbel,
    SkewNormal,
)
from tessera.ppl.distributions.continuous.unbounded import (
    Cauchy,
    Flat,
    Laplace,
    Logistic,
    Normal,
    StudentT,
)

__all__ = [
    "AsymmetricLaplace",
    "Beta",
    "Cauchy",
    "ChiSquared",
    "ExGaussian",
    "Exponential",
    "Flat",
    "Gamma",
    "Gumbel",
    "HalfCauchy",
    "HalfFlat",
    "HalfNormal",
    "HalfStudentT",
    "InverseGamma",
    "Kumaraswamy",
    "Laplace",
    "LogNormal",
    "Logistic",
    "Normal",
    "Pareto",
    "SkewNormal",
    "StudentT",
    "Uniform",
    "VonMises",
    "Wald",
    "Weibull",
]
