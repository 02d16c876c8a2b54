"""What samplers and optimizers check before they start, and where they start.

:func:`~tessera.ppl.sample` and :func:`~tessera.ppl.find_MAP` both need the
full-data log-density (:func:`check_no_minibatch`) and a starting point at
which the log-density and its gradient are finite
(:func:`starting_vector`); when there is none, :func:`bad_terms` names the
terms of the model that are not finite there.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as model:
...     mu = ppl.Normal("mu", 0.0, 1.0)
>>> f = model.logp_dlogp_function()
>>> starting_vector(model, f, seed=0, jitter=False)
array([0.])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tessera.ppl.inference.minibatch import minibatch_indices

__all__ = ["bad_terms", "check_no_minibatch", "start_values", "starting_vector"]


def check_no_minibatch(model: Any, what: str) -> None:
    """Raise if the model's log-density reads :func:`~tessera.ppl.Minibatch` rows.

    NUTS and MAP need the full-data log-density; minibatches are for
    :func:`~tessera.ppl.fit`.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    >>> check_no_minibatch(model, "ppl.sample")  # no minibatch: no error
    """
    graphs = [model.rvs_to_values[rv] for rv in model.observed_RVs]
    graphs += list(model.potentials) + list(model.deterministics)
    if graphs and minibatch_indices(graphs):
        raise ValueError(
            f"{what} needs the full-data log-density, but the model uses "
            "ppl.Minibatch data; minibatches are for ppl.fit (ADVI). Build the "
            "model with the full arrays for this"
        )


def start_values(
    model: Any, start: Mapping | None, what: str, transform: bool = True
) -> dict[str, np.ndarray]:
    """The unconstrained values that ``start`` gives, by value-variable name.

    ``start`` maps free variables (names or the variables themselves) to
    values in their original space, mapped here by their transform's
    ``forward`` (unless ``transform`` is False: values already on the
    unconstrained space, such as standard deviations there), or
    value-variable names (``"sigma_log__"``) to unconstrained values, used
    as given.

    Raises
    ------
    KeyError
        For a key that is neither a free variable nor a value variable,
        naming ``what`` asked and the valid keys.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> {k: float(v) for k, v in start_values(model, {"s": 1.0}, "test").items()}
    {'s_log__': 0.0}
    """
    from tessera.compile.function import function
    from tessera.graph.basic import Variable
    from tessera.ops.basic import as_tensor

    out: dict[str, np.ndarray] = {}
    value_names = {v.name for v in model.value_vars}
    for key, value in (start or {}).items():
        name = key.name if isinstance(key, Variable) else str(key)
        if name in value_names:
            out[name] = np.asarray(value, dtype=np.float64)
            continue
        rv = model.named_vars.get(name)
        if rv is None or rv not in model.free_RVs:
            raise KeyError(
                f"{what}: {name!r} is neither a free variable "
                f"{[v.name for v in model.free_RVs]} nor a value variable "
                f"{sorted(value_names)} of the model"
            )
        value_var = model.rvs_to_values[rv]
        arr = np.asarray(value, dtype=rv.dtype)
        t = model.rvs_to_transforms[rv]
        if t is not None and transform:
            arr = function([], t.forward(as_tensor(arr)))()
        out[value_var.name] = np.asarray(arr, dtype=np.float64)
    return out


def starting_vector(
    model: Any,
    logp_dlogp: Any,
    seed: int,
    jitter: bool = True,
    initvals: Mapping | None = None,
    max_retries: int = 20,
) -> np.ndarray:
    """A flat starting point with a finite log-density and gradient.

    The model's initial point with ``initvals`` (see :func:`start_values`)
    in place of their defaults, plus uniform(-1, 1) jitter on every value
    when ``jitter`` (PyMC's ``"jitter+adapt_diag"``); up to ``max_retries``
    jittered tries, then the point without jitter.

    Raises
    ------
    ValueError
        If even the unjittered point has a non-finite log-density: names
        the terms (variables) that are not finite there.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> x = starting_vector(model, model.logp_dlogp_function(), seed=1)
    >>> x.shape
    (1,)
    >>> starting_vector(model, model.logp_dlogp_function(), 1, False, {"s": 1.0})
    array([0.])
    """
    given = start_values(model, initvals, "initvals")
    tries = [(seed + k, True) for k in range(int(max_retries))] if jitter else []
    for s, jit in [*tries, (seed, False)]:
        point = model.initial_point(random_seed=s, jitter=jit)
        rng = np.random.default_rng([s, 1])
        for name, value in given.items():
            noise = rng.uniform(-1.0, 1.0, size=value.shape) if jit else 0.0
            point[name] = value + noise
        x = logp_dlogp.point_to_array(point)
        lp, g = logp_dlogp(x)
        if np.isfinite(lp) and np.all(np.isfinite(g)):
            return x
    raise ValueError(
        "the model's log-density or its gradient is not finite at the initial "
        f"point {point}: {bad_terms(model, point)}"
    )


def bad_terms(model: Any, point: dict) -> str:
    """The log-density terms (variables, potentials) not finite at ``point``.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    >>> bad_terms(model, {"mu": np.array(np.inf)})
    'non-finite terms: mu (logp -inf)'
    """
    names = [v.name for v in list(model.basic_RVs) + list(model.potentials)]
    terms = model.compile_logp(sum=False)(point)
    bad = [
        f"{n} (logp {np.sum(t):.4g})"
        for n, t in zip(names, terms)
        if not np.all(np.isfinite(t))
    ]
    if not bad:
        return "every log-density term is finite there, the gradient is not"
    return "non-finite terms: " + ", ".join(bad)


#: PyMC's ``init`` values tessera takes: (jitter, start from a fit: None,
#: "advi" or "pathfinder")
INITS = {
    "auto": (True, None),
    "jitter+adapt_diag": (True, None),
    "adapt_diag": (False, None),
    "advi+adapt_diag": (False, "advi"),
    "pathfinder": (False, "pathfinder"),
}


def parse_init(init: str) -> tuple[bool, str | None]:
    """``(jitter, fit to start from)`` for PyMC's ``init`` string.

    Raises
    ------
    NotImplementedError
        For PyMC's other initializations, listing the ones tessera takes.

    Examples
    --------
    >>> parse_init("adapt_diag"), parse_init("pathfinder")
    ((False, None), (False, 'pathfinder'))
    """
    if init in INITS:
        return INITS[init]
    raise NotImplementedError(
        f"ppl.sample: init={init!r} is not supported; tessera adapts a diagonal "
        f"mass matrix and starts from {list(INITS)} (dense mass matrices and "
        "MAP starts are not available)"
    )


def advi_start(
    model: Any,
    chains: int,
    seed: int,
    n_init: int,
    progressbar: bool,
    backend: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """PyMC's ``"advi+adapt_diag"`` start: a mean-field ADVI fit (at most
    ``n_init`` steps, stopped when its parameters converge), one draw from
    it per chain, and its variances as the initial inverse mass matrix.

    Returns
    -------
    x0 : ndarray, shape (chains, n)
    inverse_mass_matrix : ndarray, shape (n,)

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     x = ppl.Normal("x", 1.0, 2.0)
    >>> x0, inv_mass = advi_start(model, 2, 0, 3000, False, "numpy")
    >>> x0.shape, bool(abs(inv_mass[0] - 4.0) < 1.5)
    ((2, 1), True)
    """
    from tessera.ppl.inference.advi import fit
    from tessera.ppl.inference.callbacks import CheckParametersConvergence

    approx = fit(
        int(n_init),
        model=model,
        random_seed=seed,
        callbacks=[CheckParametersConvergence(tolerance=1e-2, diff="absolute")],
        progressbar=progressbar,
        backend=backend,
    )
    mean = approx.mu.get_value()
    std = approx.std_flat
    rng = np.random.default_rng([seed, 2])
    x0 = mean + std * rng.standard_normal((int(chains), mean.size))
    return x0, std**2


def pathfinder_start(
    model: Any,
    chains: int,
    seed: int,
    n_init: int,
    progressbar: bool,
    backend: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """``init="pathfinder"``: one multi-path Pathfinder draw per chain as its
    start and the draws' variances as the initial inverse mass matrix (as
    BlackJAX's Pathfinder adaptation does); ``n_init`` caps the L-BFGS
    iterations of each path.

    Returns
    -------
    x0 : ndarray, shape (chains, n)
    inverse_mass_matrix : ndarray, shape (n,)

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     x = ppl.Normal("x", 1.0, 2.0)
    >>> x0, inv_mass = pathfinder_start(model, 2, 0, 1000, False, "numpy")
    >>> x0.shape, bool(abs(inv_mass[0] - 4.0) < 1.5)
    ((2, 1), True)
    """
    import warnings

    with warnings.catch_warnings():  # a start needs no accurate posterior
        warnings.filterwarnings("ignore", "Pathfinder: the Pareto k")
        res = _pathfinder_init(model, chains, seed, n_init, progressbar, backend)
    rng = np.random.default_rng([seed, 2])
    idx = rng.choice(len(res.draws), size=int(chains), replace=False)
    return res.draws[idx], np.maximum(res.draws.var(axis=0), 1e-8)


def _pathfinder_init(model, chains, seed, n_init, progressbar, backend):
    from tessera.ppl.inference.pathfinder import pathfinder_draws

    return pathfinder_draws(
        model,
        num_paths=4,
        num_draws=max(1000, int(chains)),
        maxiter=min(int(n_init), 1000),
        random_seed=[seed, 3],
        progressbar=progressbar,
        num_draws_per_path=250,
        backend=backend,
    )
