"""Inference: MAP, variational inference (ADVI) and NUTS (nutpie or BlackJAX).

* :mod:`.map`: :func:`find_MAP` (SciPy optimizers, tessera gradients);
* :mod:`.advi`: :func:`fit`, :class:`ADVI`, :class:`FullRankADVI`;
* :mod:`.approximations`: the mean-field and full-rank Gaussians;
* :mod:`.optimizers`: Adam, adagrad-window, SGD as symbolic update builders;
* :mod:`.callbacks`: convergence checks for :func:`fit`;
* :mod:`.minibatch`: :func:`Minibatch` for stochastic (minibatch) ADVI;
* :mod:`.nuts`: :func:`sample`, NUTS through a driver suited to the backend:
  :mod:`.nuts_nutpie` (nutpie calling the compiled function) or
  :mod:`.nuts_blackjax` (BlackJAX's NUTS traced with the model into JAX),
  both returning :mod:`.nuts_result`; :mod:`.adaptation` is the warm-up;
  :mod:`.convergence` warns of divergences, r_hat and low ESS after it;
* :mod:`.start`: checks and starting points shared by NUTS and MAP;
* :mod:`.progress`: progress bars of fits and compile steps.

Each compiles the model for the backend that ``backend="auto"`` chooses
(:mod:`tessera.ppl.backend`).

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as model:
...     mu = ppl.Normal("mu", 0.0, 10.0)
...     y = ppl.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
...     est = ppl.find_MAP(progressbar=False)
>>> round(float(est["mu"]), 2)
1.0
"""

from tessera.ppl.inference.advi import (
    ADVI,
    FullRankADVI,
    NonFiniteELBOError,
    fit,
)
from tessera.ppl.inference.approximations import Approximation, FullRank, MeanField
from tessera.ppl.inference.callbacks import CheckParametersConvergence, ELBOPlateau
from tessera.ppl.inference.map import find_MAP
from tessera.ppl.inference.minibatch import Minibatch
from tessera.ppl.inference.nuts import sample
from tessera.ppl.inference.optimizers import adagrad_window, adam, sgd

__all__ = [
    "ADVI",
    "Approximation",
    "CheckParametersConvergence",
    "ELBOPlateau",
    "FullRank",
    "FullRankADVI",
    "MeanField",
    "Minibatch",
    "NonFiniteELBOError",
    "adagrad_window",
    "adam",
    "find_MAP",
    "fit",
    "sample",
    "sgd",
]
