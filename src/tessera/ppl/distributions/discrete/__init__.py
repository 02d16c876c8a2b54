"""Discrete distributions (draws are int64).

* :mod:`.counts`: counts on ``0, 1, 2, ...`` (Binomial, BetaBinomial,
  Poisson, NegativeBinomial, Geometric, HyperGeometric);
* :mod:`.finite`: a finite set given by the parameters (Bernoulli,
  DiscreteUniform, Categorical);
* :mod:`.ordinal`: ordered categories (OrderedLogistic, OrderedProbit).

The zero-inflated counts are mixtures, in
:mod:`tessera.ppl.distributions.mixture`.
"""

from tessera.ppl.distributions.discrete.counts import (
    BetaBinomial,
    Binomial,
    Geometric,
    HyperGeometric,
    NegativeBinomial,
    Poisson,
)
from tessera.ppl.distributions.discrete.finite import (
    Bernoulli,
    Categorical,
    DiscreteUniform,
)
from tessera.ppl.distributions.discrete.ordinal import OrderedLogistic, OrderedProbit

__all__ = [
    "Bernoulli",
    "BetaBinomial",
    "Binomial",
    "Categorical",
    "DiscreteUniform",
    "Geometric",
    "HyperGeometric",
    "NegativeBinomial",
    "OrderedLogistic",
    "OrderedProbit",
    "Poisson",
]
