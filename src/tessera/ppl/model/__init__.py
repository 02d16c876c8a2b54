"""Models: named random variables, their joint log-density, and sampling.

* :mod:`.context`: the ``with ppl.Model():`` stack;
* :mod:`.core`: :class:`Model` (registration, coords and dims);
* :mod:`.data`: ``Data``, ``set_data``, ``Deterministic``, ``Potential``;
* :mod:`.values`: value variables, transforms, observed data;
* :mod:`.compile`: log-density, gradients, point functions, initial point;
* :mod:`.flat`: flat vectors, the flat log-density and gradient;
* :mod:`.predictive`: prior and posterior predictive sampling;
* :mod:`.idata`: ArviZ ``InferenceData`` construction;
* :mod:`.printing`: the text summary of a model;
* :mod:`.graphviz`: the model's graph drawn with Graphviz;
* :mod:`.debug`: which log-density terms are not finite, and why;
* :mod:`.interventions`: ``do`` and ``observe``, new models from old;
* :mod:`.deterministics`: deterministics of posterior draws.
"""

from tessera.ppl.model.compile import PointFunction
from tessera.ppl.model.context import modelcontext, modelcontext_or_none
from tessera.ppl.model.core import Model
from tessera.ppl.model.data import Data, Deterministic, Potential, set_data
from tessera.ppl.model.debug import debug_model
from tessera.ppl.model.deterministics import compute_deterministics
from tessera.ppl.model.flat import ConstrainedDraws, FlatLayout, FlatLogpDlogp
from tessera.ppl.model.graphviz import model_to_graphviz
from tessera.ppl.model.idata import (
    dict_to_dataset,
    posterior_from_flat,
    to_inference_data,
)
from tessera.ppl.model.interventions import do, observe
from tessera.ppl.model.predictive import (
    compute_log_likelihood,
    sample_posterior_predictive,
    sample_prior_predictive,
)

__all__ = [
    "ConstrainedDraws",
    "Data",
    "Deterministic",
    "FlatLayout",
    "FlatLogpDlogp",
    "Model",
    "PointFunction",
    "Potential",
    "compute_deterministics",
    "compute_log_likelihood",
    "debug_model",
    "dict_to_dataset",
    "do",
    "model_to_graphviz",
    "modelcontext",
    "modelcontext_or_none",
    "observe",
    "posterior_from_flat",
    "sample_posterior_predictive",
    "sample_prior_predictive",
    "set_data",
    "to_inference_data",
]
