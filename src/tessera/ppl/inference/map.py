"""Maximum a posteriori estimates with SciPy's optimizers and tessera gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ppl.backend import compile_logp_dlogp
from tessera.ppl.inference.start import bad_terms, check_no_minibatch, start_values
from tessera.ppl.model.context import modelcontext
from tessera.ppl.progress import CountBar

__all__ = ["find_MAP"]


def find_MAP(
    start: dict[str, Any] | None = None,
    vars: Sequence[Any] | None = None,  # noqa: A002 - PyMC's name
    method: str = "L-BFGS-B",
    return_raw: bool = False,
    include_transformed: bool = True,
    progressbar: bool = True,
    maxeval: int = 5000,
    model: Any = None,
    *,
    seed: Any = None,
    jacobian: bool = False,
    backend: str | Backend = "auto",
    **minimize_kwargs: Any,
):
    """The mode of the posterior, found with ``scipy.optimize.minimize``.

    The optimizer runs on the model's flat unconstrained vector with the
    log-density and its gradient compiled once by tessera; the result is
    mapped back to the original space. Without the transforms'
    log-Jacobians (``jacobian=False``, the default) the optimum is the mode
    of the density of the original variables (what PyMC's ``find_MAP``
    returns); ``jacobian=True`` gives the mode on the unconstrained space.
    Keywords and defaults are PyMC's.

    Parameters
    ----------
    start : dict, optional
        Starting values: free variables (names or variables, original
        space) or value variables (``"sigma_log__"``, unconstrained);
        missing ones come from the model's initial point.
    vars : list, optional
        The free variables (or names) to optimize; the others stay at their
        starting values. Default: all.
    method : str
        A gradient-based ``scipy.optimize.minimize`` method.
    return_raw : bool
        Also return SciPy's ``OptimizeResult``.
    include_transformed : bool
        Also return the unconstrained values (``"sigma_log__"``), as PyMC.
    progressbar : bool
        Count the log-density evaluations, with the best value so far.
    maxeval : int
        Maximum iterations (``options["maxiter"]``).
    model : Model, optional
        Default: the active model.
    seed : int, optional
        Seeds the prior draws of an initial point that needs them.
    jacobian : bool
        Include the log-Jacobians of the transforms.
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled log-density and gradient (``"auto"``: JAX
        when the model lowers to it, see :mod:`tessera.ppl.backend`).
    **minimize_kwargs
        Keywords of ``scipy.optimize.minimize`` (``tol``, ``options``, ...).

    Returns
    -------
    dict of str to ndarray
        Free RVs (original space), deterministics and, with
        ``include_transformed``, the value variables at the optimum;
        ``(dict, OptimizeResult)`` with ``return_raw``.

    Raises
    ------
    ValueError
        If the model uses minibatches or the start has a non-finite
        log-density (naming the terms).
    TypeError
        For a keyword neither PyMC's ``find_MAP`` nor SciPy's ``minimize``
        takes.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as model:
    ...     mu = ppl.Normal("mu", 0.0, 10.0)
    ...     sigma = ppl.HalfNormal("sigma", 5.0)
    ...     y = ppl.Normal("y", mu, sigma, observed=np.array([1.0, 2.0, 3.0]))
    ...     est = ppl.find_MAP(progressbar=False)
    >>> round(float(est["mu"]), 3), sorted(est)
    (1.996, ['mu', 'sigma', 'sigma_log__'])
    """
    _check_minimize_kwargs(minimize_kwargs)
    model = modelcontext(model)
    check_no_minibatch(model, "ppl.find_MAP")
    f, _ = compile_logp_dlogp(model, backend, "ppl.find_MAP", jacobian=jacobian)
    x0, lp0 = _checked_start(model, f, start, seed)
    free = _free_mask(model, f, vars)
    res = _optimize(f, x0, lp0, free, method, maxeval, progressbar, minimize_kwargs)
    out = _values_at(model, f, res.x, include_transformed)
    return (out, res) if return_raw else out


def _check_minimize_kwargs(kwargs: dict) -> None:
    import inspect

    from scipy.optimize import minimize

    if "progressbar_theme" in kwargs:
        raise NotImplementedError(
            "ppl.find_MAP: PyMC's keyword 'progressbar_theme' is not supported: "
            "the progress bar is tqdm's"
        )

    valid = set(inspect.signature(minimize).parameters) - {"fun", "x0", "jac"}
    valid -= {"method"}
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise TypeError(
            f"ppl.find_MAP got unexpected keyword arguments {unknown}; it takes "
            "PyMC's keywords (start, vars, method, return_raw, include_transformed, "
            "progressbar, maxeval, model, seed), jacobian, backend and "
            f"scipy.optimize.minimize's {sorted(valid)}"
        )


def _free_mask(model, f, vars) -> np.ndarray | None:
    """Which entries of the flat vector ``vars`` names (None: all)."""
    if vars is None:
        return None
    from tessera.graph.basic import Variable

    names = [v.name if isinstance(v, Variable) else str(v) for v in vars]
    free = {rv.name: model.rvs_to_values[rv].name for rv in model.free_RVs}
    value_names = set(free.values())
    point = {k: np.zeros_like(v) for k, v in f.array_to_point(np.zeros(f.size)).items()}
    for n in names:
        key = free.get(n, n if n in value_names else None)
        if key is None:
            raise KeyError(
                f"find_MAP: vars has {n!r}, which is not a free variable "
                f"{sorted(free)} of the model"
            )
        point[key] = np.ones_like(point[key])
    return f.point_to_array(point) > 0


def _checked_start(model, f, start, seed) -> tuple[np.ndarray, float]:
    """The flat starting vector and its log-density, which must be finite."""
    point = _start_point(model, start, seed)
    x0 = f.point_to_array(point)
    lp0, g0 = f(x0)
    if not (np.isfinite(lp0) and np.all(np.isfinite(g0))):
        raise ValueError(
            "find_MAP: the log-density or its gradient is not finite at the start "
            f"{point}: {bad_terms(model, point)}"
        )
    return x0, lp0


def _objective(f, bar, lp0: float, x0: np.ndarray, free: np.ndarray | None):
    """SciPy's objective ``x -> (-logp, -grad)`` over the ``free`` entries
    of the flat vector (the others stay at ``x0``), and the state it updates
    (evaluations ``n``, ``best`` log-density) for the progress bar."""
    state = {"n": 0, "best": lp0}

    def neg(x):
        if free is not None:
            full = x0.copy()
            full[free] = x
            x = full
        lp, g = f(x)
        state["n"] += 1
        if free is not None:
            g = g[free]
        if not np.isfinite(lp) or not np.all(np.isfinite(g)):
            # outside the support: an infinite cost makes the line search
            # step back
            return np.inf, np.zeros_like(g)
        state["best"] = max(state["best"], lp)
        bar.update(state["n"], f"logp = {state['best']:.4g}")
        return -lp, -g

    return neg, state


def _optimize(f, x0, lp0, free, method, maxeval: int, progressbar, minimize_kwargs):
    """SciPy's ``minimize`` on ``-logp`` from ``x0``, with a progress bar of
    the evaluations."""
    from scipy.optimize import minimize

    bar = CountBar(progressbar, desc="find_MAP", unit="evaluations")
    neg, state = _objective(f, bar, lp0, x0, free)
    options = {"maxiter": int(maxeval), **minimize_kwargs.pop("options", {})}
    start = x0 if free is None else x0[free]
    try:
        res = minimize(
            neg, start, jac=True, method=method, options=options, **minimize_kwargs
        )
    finally:
        bar.close(f"logp = {state['best']:.4g}")
    if free is not None:
        full = x0.copy()
        full[free] = res.x
        res.x = full
    return res


def _start_point(model, start, seed=None) -> dict[str, np.ndarray]:
    point = model.initial_point(random_seed=seed)
    point.update(start_values(model, start, "find_MAP: start"))
    return point


def _values_at(model, f, x, include_transformed: bool) -> dict[str, np.ndarray]:
    values = model.compile_constrained_draws()(np.asarray(x)[None])
    out = {k: v[0] for k, v in values.items()}
    if include_transformed:
        for name, val in f.array_to_point(np.asarray(x)).items():
            out.setdefault(name, val)
    return out
