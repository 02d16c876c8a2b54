"""Inference: MAP, variational inference (ADVI) and NUTS (nutpie or BlackJAX).

* :mod:`.map`: :func:`find_MAP` (SciPy optimizers, tessera gradients);
* :mod:`.engine`: the optimization loop every VI method shares;
* :mod:`.advi`: :func:`fit`, :class:`ADVI`, :class:`FullRankADVI`;
* :mod:`.approximations`: the mean-field and full-rank Gaussians;
* :mod:`.svgd`: :class:`SVGD`, :class:`ASVGD` (Stein variational gradient);
* :mod:`.flows`, :mod:`.nfvi`: normalizing flows and :class:`NFVI`;
* :mod:`.empirical`: :class:`Empirical` (particles, posterior draws);
* :mod:`.pathfinder`: :func:`pathfinder` (L-BFGS paths, importance resampling);
* :mod:`.optimizers`: Adam, adagrad-window, SGD as symbolic update builders;
* :mod:`.callbacks`: convergence checks for :func:`fit`;
* :mod:`.minibatch`: :func:`Minibatch` for stochastic (minibatch) ADVI;
* :mod:`.nuts`: :func:`sample`, NUTS through a driver suited to the backend:
  :mod:`.nuts_nutpie` (nutpie calling the compiled function, its chains
  in threads, or in processes: :mod:`.nuts_nutpie_processes`) or
  :mod:`.nuts_blackjax` (BlackJAX's NUTS traced with the model into JAX),
  both returning :mod:`.nuts_result`; :mod:`.adaptation` is the warm-up;
  :mod:`.convergence` warns of divergences, r_hat and low ESS after it;
* :mod:`.many`: :func:`sample_many`, NUTS on one model for many datasets
  in one vectorized program (:mod:`.many_data`: the models' structure and
  the log-density of the data; :mod:`.many_combine`, :mod:`.many_dask`);
  :mod:`.many_fit`: :func:`fit_many` (mean-field ADVI per dataset);
  :mod:`.sbc`: :func:`sbc`, simulation-based calibration;
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

from tessera.ppl.inference import flows
from tessera.ppl.inference.advi import (
    ADVI,
    FullRankADVI,
    NonFiniteELBOError,
    fit,
)
from tessera.ppl.inference.approximations import Approximation, FullRank, MeanField
from tessera.ppl.inference.callbacks import (
    CheckParametersConvergence,
    ELBOPlateau,
    Tracker,
)
from tessera.ppl.inference.empirical import Empirical
from tessera.ppl.inference.engine import Inference
from tessera.ppl.inference.many import sample_many
from tessera.ppl.inference.many_fit import fit_many
from tessera.ppl.inference.map import find_MAP
from tessera.ppl.inference.minibatch import Minibatch
from tessera.ppl.inference.nfvi import NFVI, NormalizingFlow
from tessera.ppl.inference.nuts import sample
from tessera.ppl.inference.optimizers import adagrad_window, adam, sgd
from tessera.ppl.inference.pathfinder import pathfinder
from tessera.ppl.inference.sbc import SBCResult, sbc
from tessera.ppl.inference.svgd import ASVGD, SVGD

__all__ = [
    "ADVI",
    "ASVGD",
    "NFVI",
    "SVGD",
    "Approximation",
    "CheckParametersConvergence",
    "ELBOPlateau",
    "Empirical",
    "FullRank",
    "FullRankADVI",
    "Inference",
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
    "SBCResult",
    "sgd",
]
