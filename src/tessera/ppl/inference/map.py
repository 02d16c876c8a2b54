"""Maximum a posteriori estimates with SciPy's optimizers and tessera gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ppl.backend import compile_logp_dlogp
from tessera.ppl.inference.progress import ProgressBar
from tessera.ppl.inference.start import bad_terms, check_no_minibatch
from tessera.ppl.model.context import modelcontext

__all__ = ["find_MAP"]


def find_MAP(
    start: dict[str, Any] | None = None,
    model: Any = None,
    method: str = "L-BFGS-B",
    maxeval: int = 5000,
    jacobian: bool = False,
    include_transformed: bool = False,
    return_raw: bool = False,
    progressbar: bool = True,
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

    Parameters
    ----------
    start : dict, optional
        Starting values: value-variable names (unconstrained, e.g.
        ``"sigma_log__"``) or free RV names (original space); missing ones
        come from the model's initial point.
    model : Model, optional
        Default: the active model.
    method : str
        A gradient-based ``scipy.optimize.minimize`` method.
    maxeval : int
        Maximum iterations (``options["maxiter"]``).
    jacobian : bool
        Include the log-Jacobians of the transforms.
    include_transformed : bool
        Also return the unconstrained values (``"sigma_log__"``).
    return_raw : bool
        Also return SciPy's ``OptimizeResult``.
    progressbar : bool
        Show the log-density as evaluations proceed.
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled log-density and gradient (``"auto"``: JAX
        when the model lowers to it, see :mod:`tessera.ppl.backend`).
    **minimize_kwargs
        Passed to ``scipy.optimize.minimize``.

    Returns
    -------
    dict of str to ndarray
        Free RVs (original space) and deterministics at the optimum;
        ``(dict, OptimizeResult)`` with ``return_raw``.

    Raises
    ------
    ValueError
        If the model uses minibatches or the start has a non-finite
        log-density (naming the terms).

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
    (1.996, ['mu', 'sigma'])
    """
    model = modelcontext(model)
    check_no_minibatch(model, "ppl.find_MAP")
    f, _ = compile_logp_dlogp(model, backend, "ppl.find_MAP", jacobian=jacobian)
    x0, lp0 = _checked_start(model, f, start)
    res = _optimize(f, x0, lp0, method, maxeval, progressbar, minimize_kwargs)
    out = _values_at(model, f, res.x, include_transformed)
    return (out, res) if return_raw else out


def _checked_start(model, f, start) -> tuple[np.ndarray, float]:
    """The flat starting vector and its log-density, which must be finite."""
    point = _start_point(model, start)
    x0 = f.point_to_array(point)
    lp0, g0 = f(x0)
    if not (np.isfinite(lp0) and np.all(np.isfinite(g0))):
        raise ValueError(
            "find_MAP: the log-density or its gradient is not finite at the start "
            f"{point}: {bad_terms(model, point)}"
        )
    return x0, lp0


def _objective(f, bar, maxeval: int, lp0: float):
    """SciPy's objective ``x -> (-logp, -grad)``, and the state it updates
    (evaluations ``n``, ``best`` log-density) for the progress bar."""
    state = {"n": 0, "best": lp0}

    def neg(x):
        lp, g = f(x)
        if not np.isfinite(lp) or not np.all(np.isfinite(g)):
            # outside the support: an infinite cost makes the line search
            # step back
            return np.inf, np.zeros_like(x)
        state["best"] = max(state["best"], lp)
        bar.step(min(state["n"], maxeval - 1), f"logp = {state['best']:.4g}")
        state["n"] += 1
        return -lp, -g

    return neg, state


def _optimize(f, x0, lp0, method, maxeval: int, progressbar: bool, minimize_kwargs):
    """SciPy's ``minimize`` on ``-logp`` from ``x0``, with a progress bar."""
    from scipy.optimize import minimize

    bar = ProgressBar(maxeval, enabled=progressbar, desc="find_MAP")
    neg, state = _objective(f, bar, maxeval, lp0)
    options = {"maxiter": int(maxeval), **minimize_kwargs.pop("options", {})}
    try:
        return minimize(
            neg, x0, jac=True, method=method, options=options, **minimize_kwargs
        )
    finally:
        bar.close(f"logp = {state['best']:.4g}, {state['n']} evaluations")


def _start_point(model, start) -> dict[str, np.ndarray]:
    point = model.initial_point()
    if not start:
        return point
    from tessera.compile.function import function

    for name, value in start.items():
        if name in point:
            point[name] = np.asarray(value, dtype=np.float64)
            continue
        rv = model.named_vars.get(name)
        if rv is None or rv not in model.free_RVs:
            raise KeyError(
                f"find_MAP: start has {name!r}, which is neither a value variable "
                f"{list(point)} nor a free variable of the model"
            )
        value_var = model.rvs_to_values[rv]
        t = model.rvs_to_transforms[rv]
        if t is None:
            point[value_var.name] = np.asarray(value, dtype=np.float64)
            continue
        from tessera.ops.basic import as_tensor

        fwd = function([], t.forward(as_tensor(np.asarray(value, dtype=rv.dtype))))
        point[value_var.name] = np.asarray(fwd(), dtype=np.float64)
    return point


def _values_at(model, f, x, include_transformed: bool) -> dict[str, np.ndarray]:
    values = model.compile_constrained_draws()(np.asarray(x)[None])
    out = {k: v[0] for k, v in values.items()}
    if include_transformed:
        for name, val in f.array_to_point(np.asarray(x)).items():
            out.setdefault(name, val)
    return out
