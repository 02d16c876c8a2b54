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
from tessera.ppl.backend import compile_with
from tessera.ppl.inference.approximations import Approximation, FullRank, MeanField

__all__ = ["ADVI", "FullRankADVI", "NonFiniteELBOError", "fit", "flat_logp_graph"]


class NonFiniteELBOError(FloatingPointError):
    """The ELBO became non-finite; the approximation holds the last finite state.

    Attributes
    ----------
    iteration : int
        The iteration (0-based, over this fit) whose ELBO was not finite.
    approx : Approximation
        Restored to the parameters of the last iteration with a finite ELBO.

    Examples
    --------
    >>> issubclass(NonFiniteELBOError, FloatingPointError)
    True
    """

    def __init__(self, message: str, iteration: int, approx: Approximation) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.approx = approx


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
    layout = model.flat_layout()
    by_name = {v.name: v for v in model.value_vars}
    repl = {}
    for name, sl, shape in zip(layout.names, layout.slices, layout.shapes):
        v = by_name[name]
        part = x[sl].reshape(shape)
        repl[v] = part if v.dtype == "float64" else part.astype(v.dtype)
    return clone_replace(total, repl)


class ADVI:
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
        Starting standard deviation of every unconstrained entry.
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
        init_std: float = 1.0,
        backend: str | Backend = "auto",
    ) -> None:
        from tessera.ppl.inference.optimizers import adam
        from tessera.ppl.inference.start import start_values
        from tessera.ppl.model.context import modelcontext

        self.model = model = modelcontext(model)
        discrete = [
            v.name for v in model.value_vars if v.dtype.startswith(("int", "uint"))
        ]
        if discrete:
            raise TypeError(
                f"ADVI needs continuous free variables; {discrete} are discrete"
            )
        if int(obj_n_mc) < 1:
            raise ValueError(f"obj_n_mc must be >= 1, got {obj_n_mc}")
        self.obj_n_mc = int(obj_n_mc)
        self.optimizer = obj_optimizer if obj_optimizer is not None else adam(0.01)
        seeds = np.random.SeedSequence(_entropy(random_seed)).spawn(2)
        point = model.initial_point(random_seed=int(seeds[0].generate_state(1)[0]))
        point.update(start_values(model, start, f"{type(self).__name__}: start"))
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
        self.backend = backend
        self._seed = seeds[1]
        self._build(self._seed)

    def _build(self, seed) -> None:
        from tessera.compile.function import function
        from tessera.grad import grad
        from tessera.graph.traversal import clone_replace
        from tessera.ops.type import TensorType
        from tessera.ops.vectorize import vectorize_graph
        from tessera.ppl.inference.minibatch import minibatch_indices

        approx, n, s = self.approx, self.approx.size, self.obj_n_mc
        x = TensorType("float64", (n,))(name="x")
        logp_x = flat_logp_graph(self.model, x)
        gen_seed, mb_seed = seed.spawn(2)
        # eps is an input drawn by NumPy in blocks: a random node in the graph
        # would copy its generator at every step (more than the whole step of
        # a small model)
        self._eps_rng = np.random.default_rng(gen_seed)
        eps_shape = (n,) if s == 1 else (s, n)
        eps = TensorType("float64", eps_shape)(name="eps")
        if s == 1:
            logp = clone_replace(logp_x, {x: approx.symbolic_draws(eps)})
        else:
            logp = vectorize_graph(logp_x, {x: approx.symbolic_draws(eps)}).mean()
        elbo = logp + approx.symbolic_entropy()
        params = approx.params
        updates = dict(self.optimizer(grad(-elbo, params), params))
        self._minibatches = minibatch_indices([logp_x])
        for info, ss in zip(
            self._minibatches, mb_seed.spawn(max(1, len(self._minibatches)))
        ):
            info.reseed(ss)
            updates.update(info.updates())
        self.elbo = elbo
        self._eps_shape = eps_shape
        self.step_fn, self.backend = compile_with(
            self.backend,
            lambda b: function([eps], elbo, updates=updates, backend=b),
            "ppl.fit",
        )

    def fit(
        self,
        n: int = 10000,
        callbacks: Sequence[Callable] | None = None,
        progressbar: bool = True,
        obj_optimizer: Callable | None = None,
        obj_n_mc: int | None = None,
    ) -> Approximation:
        """Run ``n`` optimization steps (continuing from the current state).

        Parameters
        ----------
        n : int
        callbacks : list of callables, optional
            ``callback(approx, hist, i)`` after each step; raising
            ``StopIteration`` (or returning True) ends the fit.
        progressbar : bool
            A tqdm bar showing the running ELBO.
        obj_optimizer : Optimizer, optional
            Replace the optimizer (as PyMC's ``Inference.fit`` takes it; its
            state starts afresh, the approximation's parameters carry on).
        obj_n_mc : int, optional
            Replace the number of Monte-Carlo draws per gradient.

        Returns
        -------
        Approximation
            ``approx.hist`` gains the ELBO of each step.

        Raises
        ------
        NonFiniteELBOError
            If an ELBO estimate is not finite; the approximation keeps the
            last state with a finite ELBO and ``hist`` stops before it.
        """
        from tessera.ppl.progress import ProgressBar

        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if obj_optimizer is not None or obj_n_mc is not None:
            if obj_n_mc is not None and int(obj_n_mc) < 1:
                raise ValueError(f"obj_n_mc must be >= 1, got {obj_n_mc}")
            self.optimizer = obj_optimizer or self.optimizer
            self.obj_n_mc = int(obj_n_mc or self.obj_n_mc)
            self._seed = self._seed.spawn(1)[0]
            self._build(self._seed)  # a new step function for them
        approx, step = self.approx, self.step_fn.raw_fn
        callbacks = list(callbacks or [])
        state = list(approx.params) + list(self.optimizer.state)
        hist = np.empty(n)
        bar = ProgressBar(n, enabled=progressbar, desc=type(self).__name__)
        done, stop_msg = n, None
        block = max(1, min(n, 1000))
        current = [v.get_value(borrow=True) for v in state]
        try:
            for i in range(n):
                if i % block == 0:
                    eps = self._eps_rng.standard_normal((block, *self._eps_shape))
                # the step rebinds every shared value to a new array (no
                # in-place writes), so borrowed references are a snapshot.
                # `last_good` is the state whose ELBO was the last finite one
                last_good, current = current, [v.get_value(borrow=True) for v in state]
                value = float(step(eps[i % block]))
                if not np.isfinite(value):
                    bad = {v: v.get_value(borrow=True) for v in approx.params}
                    for v, b in zip(state, last_good):
                        v.set_value(b, borrow=True)
                    done = i
                    raise NonFiniteELBOError(
                        self._nonfinite_message(value, i, len(approx.hist), bad),
                        i,
                        approx,
                    )
                hist[i] = value
                bar.step(i, f"ELBO = {_smooth(hist, i):.4g}")
                if callbacks:
                    full = np.concatenate([approx.hist, hist[: i + 1]])
                    stop = False
                    for cb in callbacks:
                        try:
                            stop = bool(cb(approx, full, len(full) - 1)) or stop
                        except StopIteration as why:
                            stop, stop_msg = True, str(why) or type(cb).__name__
                    if stop:
                        done = i + 1
                        break
        finally:
            approx.hist = np.concatenate([approx.hist, hist[:done]])
            self.stop_reason = stop_msg
            last = f"ELBO = {_smooth(hist, done - 1):.4g}" if done else None
            bar.close(last)
        return approx

    def _nonfinite_message(self, value, i, offset, values) -> str:
        labels = self.approx.flat_labels()
        bad = []
        for p, val in values.items():
            val = np.asarray(val)
            idx = np.flatnonzero(~np.isfinite(val.ravel()))
            if not idx.size:
                continue
            if val.ndim == 1 and val.size == len(labels):
                names = [labels[k] for k in idx[:5]]
            else:
                names = [str(np.unravel_index(k, val.shape)) for k in idx[:5]]
            more = f" and {idx.size - 5} more" if idx.size > 5 else ""
            bad.append(f"{p.name}: {', '.join(names)}{more}")
        where = (
            "non-finite parameters after the step: " + "; ".join(bad)
            if bad
            else "the parameters stayed finite (the model's log-density was not "
            "finite at a Monte-Carlo draw: a draw left the region where the "
            "model is defined, or the log-density overflowed)"
        )
        return (
            f"the ELBO is {value} at iteration {i}"
            + (f" of this fit ({offset + i} overall)" if offset else "")
            + f"; {where}. The approximation keeps the parameters of the last "
            "iteration with a finite ELBO; try a smaller learning rate, a better "
            "start, or a model parametrization that avoids the problem"
        )


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
    'L'
    """

    approximation_class = FullRank


_METHODS = {"advi": ADVI, "fullrank_advi": FullRankADVI}


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

#: ``inf_kwargs`` keys: the Inference constructor's keywords ``fit`` also takes
_INF_KWARGS = ("start", "start_sigma", "random_seed")


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
    obj_n_mc: int = 1,
    callbacks: Sequence[Callable] | None = None,
    progressbar: bool = True,
    backend: str | Backend = "auto",
    **kwargs: Any,
) -> Approximation:
    """Fit a variational approximation of the posterior with ADVI.

    Keywords and their meaning are PyMC's ``pm.fit`` (one difference: the
    default optimizer is Adam with learning rate 0.01, which converges in
    fewer steps than PyMC's ``adagrad_window``; pass
    ``obj_optimizer=ppl.adagrad_window()`` for PyMC's).

    Parameters
    ----------
    n : int
        Optimization steps.
    method : {"advi", "fullrank_advi"}
        Mean-field or full-rank Gaussian on the unconstrained space.
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
        ``start``, ``start_sigma`` or ``random_seed`` given PyMC's other way.
    obj_optimizer : Optimizer, optional
        Default: ``ppl.adam(learning_rate=0.01)``; see
        :mod:`tessera.ppl.inference.optimizers` (``adagrad_window``, ...).
    obj_n_mc : int
        Monte-Carlo draws per gradient estimate.
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
    cls = _METHODS.get(method)
    if cls is None:
        raise ValueError(f"unknown method {method!r}; choose one of {list(_METHODS)}")
    given = dict(start=start, start_sigma=start_sigma, random_seed=random_seed)
    for key, value in (inf_kwargs or {}).items():
        if key not in _INF_KWARGS:
            raise TypeError(
                f"ppl.fit: inf_kwargs has {key!r}; it takes {list(_INF_KWARGS)} "
                "(the other Inference keywords are fit's own)"
            )
        given[key] = value
    inference = cls(
        model=model,
        obj_n_mc=obj_n_mc,
        obj_optimizer=obj_optimizer,
        backend=backend,
        **given,
    )
    return inference.fit(n, callbacks=callbacks, progressbar=progressbar)


def _entropy(random_seed: Any):
    if isinstance(random_seed, np.random.Generator):
        return int(random_seed.integers(2**63))
    if isinstance(random_seed, np.random.SeedSequence):
        return random_seed.entropy
    return random_seed


def _smooth(hist: np.ndarray, i: int, window: int = 100) -> float:
    return float(hist[max(0, i + 1 - window) : i + 1].mean())
