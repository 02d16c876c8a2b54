"""tessera's probabilistic layer: distributions, log-densities, sampling.

Examples
--------
>>> from tessera import ppl
>>> x = ppl.Normal.dist(mu=0.0, sigma=[1.0, 2.0])
>>> ppl.draw(x, draws=3, random_seed=0).shape
(3, 2)
>>> ppl.logp(x, 0.0).eval().round(4)
array([-0.9189, -1.6121])
"""

from tessera.compile.backends import get_backend
from tessera.ppl.distributions import *  # noqa: F403
from tessera.ppl.distributions import __all__ as _dist_all
from tessera.ppl.log import logger as _logger  # noqa: F401  (its default handler)

__all__ = list(_dist_all)

from tessera.ppl.model import (  # noqa: E402
    Data,
    Deterministic,
    Model,
    Potential,
    compute_deterministics,
    compute_log_likelihood,
    do,
    model_to_graphviz,
    modelcontext,
    observe,
    sample_posterior_predictive,
    sample_prior_predictive,
    set_data,
)

__all__ += [
    "Data",
    "Deterministic",
    "Model",
    "Potential",
    "compute_deterministics",
    "compute_log_likelihood",
    "do",
    "model_to_graphviz",
    "modelcontext",
    "observe",
    "sample_posterior_predictive",
    "sample_prior_predictive",
    "set_data",
]

from tessera.ppl import math  # noqa: E402  (PyMC's pm.math)

__all__ += ["math"]

from tessera.ppl.inference import (  # noqa: E402
    ADVI,
    ASVGD,
    NFVI,
    SVGD,
    CheckParametersConvergence,
    ELBOPlateau,
    Empirical,
    FullRank,
    FullRankADVI,
    MeanField,
    Minibatch,
    NonFiniteELBOError,
    NormalizingFlow,
    Tracker,
    adagrad_window,
    adam,
    find_MAP,
    fit,
    fit_many,
    flows,
    pathfinder,
    sample,
    sample_many,
    sbc,
    sgd,
)

__all__ += [
    "ADVI",
    "ASVGD",
    "NFVI",
    "SVGD",
    "CheckParametersConvergence",
    "ELBOPlateau",
    "Empirical",
    "FullRank",
    "FullRankADVI",
    "MeanField",
    "Minibatch",
    "NonFiniteELBOError",
    "NormalizingFlow",
    "Tracker",
    "flows",
    "pathfinder",
    "adagrad_window",
    "adam",
    "find_MAP",
    "fit",
    "fit_many",
    "sample",
    "sample_many",
    "sbc",
    "sgd",
]


def _register_jax_lowerings(backend) -> None:
    # imported once the JAX backend is (importing tessera.ppl must not import
    # JAX): the samplers and lowerings of the ppl's ops, registered by op class
    import tessera.ppl.jax  # noqa: F401


get_backend("jax").on_load(_register_jax_lowerings)
