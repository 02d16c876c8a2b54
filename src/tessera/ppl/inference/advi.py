"""Automatic differentiation variational inference (ADVI), mean-field and full-rank.

The ELBO of a Gaussian approximation ``q`` on the model's flat
unconstrained vector,

.. math:: \\mathrm{ELBO}(q) = \\mathbb{E}_{z \\sim q}[\\log p(z)] + H[q],

is built as one tessera graph of ``eps ~ N(0, I)`` of shape ``(obj_n_mc, n)``
(an input, drawn by NumPy), ``z = mu + sigma * eps`` (mean-field) or ``mu + L eps``
(full-rank), the model's log-density of every draw at once (the flat
log-density graph rebuilt over a batch of vectors with
:func:`tessera.vectorize_graph`, no Python loop over draws), the entropy in
closed form. Its reparameterization gradient (:func:`tessera.grad`) feeds an
optimizer (:mod:`.optimizers`) whose updates of the shared parameters and
optimizer state, plus the generator and minibatch updates, make one
compiled step function. A fit is a Python loop calling it.

Minibatches
-----------
An observed variable whose data is a :func:`~tessera.ppl.Minibatch` has its
log-likelihood scaled by ``total_size / batch_size`` (``total_size``: the
full data's rows, or ``model.rvs_to_total_sizes[rv]`` where the model
records one), so the ELBO estimates the full-data one; every step draws new
rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ppl.inference.approximations import (
    Approximation,
    FullRank,
    MeanField,
    flat_replacements,
)
from tessera.ppl.inference.engine import Inference, NonFiniteELBOError

__all__ = ["ADVI", "FullRankADVI", "NonFiniteELBOError", "fit", "flat_logp_graph"]


def _minibatch_scale(model, rv) -> float | None:
    from tessera.ppl.inference.minibatch import minibatch_info

    value = model.rvs_to_values[rv]
    total = getattr(model, "rvs_to_total_sizes", {}).get(rv)
    info = minibatch_info(value)
    if total is None and info is None:
        return None
    rows = info.batch_size if info is not None else value.type.shape[0]
    if total is None:
        total = info.total_size
    if rows is None:
        raise ValueError(
            f"total_size of {rv.name!r}: the number of rows of its data is not "
            "known before running"
        )
    return float(total) / float(rows)


def flat_logp_graph(model, x, jacobian: bool = True):
    """The model's log-density as a graph of one flat vector variable ``x``.

    ``x`` holds the continuous value variables in the model's flat layout
    (:meth:`Model.flat_layout`). Log-likelihoods of minibatch-observed
    variables are scaled to the full data (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     a = ppl.Normal("a", 0.0, 1.0, shape=2)
    >>> x = ts.tensor("x", shape=(2,))
    >>> round(float(flat_logp_graph(m, x).eval({x: np.zeros(2)})), 4)
    -1.8379
    """
    from tessera.graph.traversal import clone_replace
    from tessera.ops.basic import as_tensor
    from tessera.ops.reduction import sum as ts_sum

    terms = model.logp(jacobian=jacobian, sum=False)
    owners = list(model.basic_RVs) + list(model.potentials)
    total = as_tensor(np.float64(0.0))
    for var, term in zip(owners, terms):
        s = ts_sum(term) if term.ndim else term
        if s.dtype != "float64":
            s = s.astype("float64")
        if var in model.observed_RVs:
            scale = _minibatch_scale(model, var)
            if scale is not None:
                s = s * scale
        total = total + s
    return clone_replace(total, flat_replacements(model, x))


class ADVI(Inference):
    """Mean-field ADVI: fit independent Gaussians on the unconstrained space.

    Parameters
    ----------
    model : Model, optional
        Default: the active model.
    random_seed : int, SeedSequence or Generator, optional
        Seeds the Monte-Carlo draws and the minibatch rows.
    start : dict, optional
        Starting mean: free variables (names or variables, original space)
        or value variables (unconstrained); the others start at the model's
        initial point.
    start_sigma : dict, optional
        Starting standard deviations on the unconstrained space, by free
        variable or value variable (mean-field only, as in PyMC); the
        others start at ``init_std``.
    obj_n_mc : int
        Monte-Carlo draws per ELBO gradient estimate.
    obj_optimizer : Optimizer, optional
        Default: ``adam(learning_rate=0.01)``.
    init_std : float
        Starting standard deviation of every unconstrained entry (0.1, as
        NumPyro's and Pyro's autoguides: a wide start spends its first
        thousands of steps shrinking; on the hierarchical MvNormal of
        ``benchmarks/vi.py`` mean-field ADVI reaches in 225 steps what it
        reaches in 2,900 from 1.0).
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled step function (``"auto"``: JAX when the
        model lowers to it, see :mod:`tessera.ppl.backend`).

    Attributes
    ----------
    approx : Approximation
    step_fn : tessera.Function
        One ELBO-ascent step ``step_fn(eps) -> ELBO`` given standard normal
        draws ``eps`` of shape ``(n,)`` (``(obj_n_mc, n)`` when
        ``obj_n_mc > 1``): returns the ELBO estimate at the parameters before
        the step and updates them.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 10.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
    >>> advi = ADVI(model=m, random_seed=0)
    >>> approx = advi.fit(3000, progressbar=False)
    >>> round(float(approx.mean["mu"]), 1), approx.hist.shape
    (1.0, (3000,))
    """

    approximation_class: type[Approximation] = MeanField

    def __init__(
        self,
        model: Any = None,
        random_seed: Any = None,
        start: dict | None = None,
        start_sigma: dict | None = None,
        obj_n_mc: int = 1,
        obj_optimizer: Callable | None = None,
        init_std: float = 0.1,
        backend: str | Backend = "auto",
    ) -> None:
        from tessera.ppl.inference.start import start_values

        point = self._setup(model, random_seed, start, obj_optimizer, backend)
        model = self.model
        if int(obj_n_mc) < 1:
            raise ValueError(f"obj_n_mc must be >= 1, got {obj_n_mc}")
        self.obj_n_mc = int(obj_n_mc)
        x0 = model.point_to_array(point)
        std = init_std
        if start_sigma:
            if self.approximation_class is not MeanField:
                raise ValueError(
                    f"start_sigma is for mean-field ADVI; {type(self).__name__} "
                    "starts from init_std"
                )
            given = start_values(model, start_sigma, "ADVI: start_sigma", False)
            sigmas = {
                k: np.full(np.shape(v), float(init_std)) for k, v in point.items()
            }
            sigmas.update({k: np.abs(v) for k, v in given.items()})
            std = model.point_to_array(sigmas)
        self.approx = self.approximation_class(model, x0, init_std=std)
        self._build(self._seed)

    @property
    def eps_shape(self) -> tuple:
        n = self.approx.size
        return (n,) if self.obj_n_mc == 1 else (self.obj_n_mc, n)

    @property
    def _eps_shape(self) -> tuple:
        return self.eps_shape

    def _objective(self, eps):
        return elbo_objective(self.model, self.approx, eps)


def batched_logp(model, z):
    """The model's flat log-density at every row of ``z`` (shape ``(S, n)``),
    or at ``z`` itself when it is one vector.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     a = ppl.Normal("a", 0.0, 1.0)
    >>> z = ts.tensor("z", shape=(2, 1))
    >>> batched_logp(m, z).eval({z: np.zeros((2, 1))}).round(4)
    array([-0.9189, -0.9189])
    """
    from tessera.graph.traversal import clone_replace
    from tessera.ops.type import TensorType
    from tessera.ops.vectorize import vectorize_graph

    x = TensorType("float64", (model.flat_layout().size,))(name="x")
    logp_x = flat_logp_graph(model, x)
    if z.ndim == 1:
        return clone_replace(logp_x, {x: z})
    return vectorize_graph(logp_x, {x: z})


def elbo_objective(model, approx, eps):
    """``(elbo, grads of -elbo)``: the reparameterized ELBO estimate at
    ``eps`` (one draw ``(n,)`` or several ``(S, n)``).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     a = ppl.Normal("a", 0.0, 1.0)
    >>> q = MeanField(m, np.zeros(1))
    >>> elbo, grads = elbo_objective(m, q, ts.tensor("eps", shape=(1,)))
    >>> len(grads)
    2
    """
    from tessera.grad import grad

    z, entropy = approx.symbolic_elbo_parts(eps)
    logp = batched_logp(model, z)
    elbo = (logp if logp.ndim == 0 else logp.mean()) + entropy
    return elbo, grad(-elbo, list(approx.params))


class FullRankADVI(ADVI):
    """Full-rank ADVI: one correlated Gaussian ``N(mu, L L^T)``.

    Same parameters as :class:`ADVI`. Captures posterior correlations that
    mean-field ADVI cannot, at ``O(n^2)`` parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> FullRankADVI(model=m, random_seed=0).approx.params[1].name
    'L_unit'
    """

    approximation_class = FullRank


def _methods() -> dict[str, type[Inference]]:
    from tessera.ppl.inference.nfvi import NFVI
    from tessera.ppl.inference.svgd import ASVGD, SVGD

    return {
        "advi": ADVI,
        "fullrank_advi": FullRankADVI,
        "svgd": SVGD,
        "asvgd": ASVGD,
        "nfvi": NFVI,
    }


#: PyMC's ``fit``/``Inference.fit`` keywords tessera does not take, and why
_PYMC_ONLY = {
    "tf_n_mc": "tessera's VI methods have no test function (no OPVI operator)",
    "test_optimizer": "tessera's VI methods have no test function",
    "more_tf_params": "tessera's VI methods have no test function",
    "more_obj_params": "extra optimized parameters are not supported",
    "more_updates": "extra updates are not supported",
    "more_replacements": "graph replacements are not supported",
    "total_grad_norm_constraint": "gradient-norm clipping is not supported",
    "fn_kwargs": "the step function is compiled by tessera (see backend=)",
    "score": "the ELBO is always recorded (approx.hist)",
    "progressbar_theme": "the progress bar is tqdm's",
}

#: constructor keywords that are fit's own (not taken in inf_kwargs)
_FIT_OWN = ("model", "obj_optimizer", "backend", "obj_n_mc")


def _inf_keywords(cls: type) -> list[str]:
    """The constructor keywords of ``cls`` that ``inf_kwargs`` may give."""
    import inspect

    names = inspect.signature(cls.__init__).parameters
    return [k for k in names if k not in ("self", *_FIT_OWN)]


def fit(
    n: int = 10000,
    method: str = "advi",
    model: Any = None,
    random_seed: Any = None,
    start: dict | None = None,
    start_sigma: dict | None = None,
    inf_kwargs: dict | None = None,
    *,
    obj_optimizer: Callable | None = None,
    obj_n_mc: int | None = None,
    callbacks: Sequence[Callable] | None = None,
    progressbar: bool = True,
    backend: str | Backend = "auto",
    **kwargs: Any,
) -> Approximation:
    """Fit a variational approximation of the posterior.

    Keywords and their meaning are PyMC's ``pm.fit`` (one difference: the
    default optimizer is Adam with learning rate 0.01, which converges in
    fewer steps than PyMC's ``adagrad_window``; pass
    ``obj_optimizer=ppl.adagrad_window()`` for PyMC's).

    Parameters
    ----------
    n : int
        Optimization steps.
    method : {"advi", "fullrank_advi", "svgd", "asvgd", "nfvi"} or Inference
        Mean-field or full-rank Gaussian (:class:`ADVI`,
        :class:`FullRankADVI`), Stein particles (:class:`~tessera.ppl.SVGD`),
        amortized SVGD (:class:`~tessera.ppl.ASVGD`), a normalizing flow
        (:class:`~tessera.ppl.NFVI`, flow formula in ``inf_kwargs``), all on
        the unconstrained space; or an Inference object to run.
    model : Model, optional
        Default: the active model.
    random_seed : int, SeedSequence or Generator, optional
    start : dict, optional
        Starting mean: free variables (original space) or value variables
        (unconstrained); see :class:`ADVI`.
    start_sigma : dict, optional
        Starting standard deviations on the unconstrained space
        (``"advi"`` only).
    inf_kwargs : dict, optional
        Keywords of the method's constructor: ``start``, ``start_sigma``,
        ``random_seed`` (ADVI), ``n_particles``, ``jitter``, ``temperature``,
        ``kernel`` (SVGD), ``approx`` (ASVGD), ``flow`` (NFVI), ...
    obj_optimizer : Optimizer, optional
        Default: ``ppl.adam(learning_rate=0.01)``; see
        :mod:`tessera.ppl.inference.optimizers` (``adagrad_window``, ...).
    obj_n_mc : int, optional
        Monte-Carlo draws per gradient estimate (default 1; ASVGD's
        particles, default 500; not used by SVGD).
    callbacks : list of callables, optional
        See :mod:`tessera.ppl.inference.callbacks`.
    progressbar : bool
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled step function (``"auto"``: JAX when the
        model lowers to it, see :mod:`tessera.ppl.backend`).

    Returns
    -------
    Approximation
        With ``hist`` (the ELBO per step), ``mean``/``std`` (dicts in the
        original space), ``cov`` (full covariance of the free variables),
        ``sample(draws)`` returning an InferenceData.

    Raises
    ------
    NonFiniteELBOError
        See :meth:`ADVI.fit`.
    TypeError
        For an unknown keyword (naming it); ``NotImplementedError`` for a
        PyMC keyword tessera does not support, saying why.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     mu = ppl.Normal("mu", 0.0, 10.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
    ...     approx = ppl.fit(4000, random_seed=1, progressbar=False)
    >>> round(float(approx.mean["mu"]), 1), round(float(approx.std["mu"]), 1)
    (1.0, 0.7)
    >>> approx.sample(100, random_seed=0).posterior["mu"].shape
    (1, 100)
    """
    from tessera.ppl.options import check_keywords

    check_keywords("ppl.fit", kwargs, fit, _PYMC_ONLY)
    if isinstance(method, Inference):
        return method.fit(
            n,
            callbacks=callbacks,
            progressbar=progressbar,
            obj_optimizer=obj_optimizer,
            obj_n_mc=obj_n_mc,
        )
    methods = _methods()
    cls = methods.get(method)
    if cls is None:
        raise ValueError(f"unknown method {method!r}; choose one of {list(methods)}")
    allowed = _inf_keywords(cls)
    given = dict(start=start, start_sigma=start_sigma, random_seed=random_seed)
    given = {k: v for k, v in given.items() if v is not None}
    for key, value in (inf_kwargs or {}).items():
        if key not in allowed:
            raise TypeError(
                f"ppl.fit: inf_kwargs has {key!r}; {cls.__name__} takes {allowed} "
                "(the other Inference keywords are fit's own)"
            )
        given[key] = value
    for key in given:
        if key not in allowed:
            raise TypeError(f"ppl.fit: method={method!r} takes no {key!r}")
    if obj_n_mc is not None and cls.__name__ != "SVGD":
        given["obj_n_mc"] = obj_n_mc
    inference = cls(model=model, obj_optimizer=obj_optimizer, backend=backend, **given)
    return inference.fit(n, callbacks=callbacks, progressbar=progressbar)
