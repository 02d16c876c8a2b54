"""EulerMaruyama: a stochastic differential equation discretized in time.

``dx = f(x, theta) dt + g(x, theta) dW`` becomes the Markov chain
``x_{t+1} ~ Normal(x_t + f(x_t) dt, g(x_t) sqrt(dt))``. Every state is part
of the value, so the density evaluates all transition densities at once
(``sde_fn`` applied to the whole series but its last state). Draws step
through time: NumPy calls ``sde_fn``'s graph, compiled once per batch rank,
at each step; the JAX sampler (:mod:`tessera.ppl.jax.timeseries.sde`)
traces it into a ``lax.scan``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Constant, Variable
from tessera.graph.traversal import graph_inputs
from tessera.ops import math as tm
from tessera.ops.shape import expand_dims
from tessera.ops.type import TensorType
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.mv_util import as_float, raise_if_invalid
from tessera.ppl.distributions.timeseries.common import (
    embed,
    embedded_conditions,
    embedded_draw,
    embedded_logp,
    embedded_moment,
    embedded_signature,
    resolve_steps,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["EulerMaruyama", "EulerMaruyamaRV", "sde_graph"]


def sde_graph(sde_fn: Callable, ndim: int, n_pars: int, dtype: str | None = None):
    """``([x, *pars], [drift, diffusion])``: ``sde_fn`` on placeholders of ``ndim`` dims.

    Raises a ValueError if the drift or the diffusion depends on anything
    but the arguments and constants (every parameter of ``sde_fn`` must be
    passed in ``sde_pars``, so that draws can evaluate it).

    Examples
    --------
    >>> (x, lam), (f, g) = sde_graph(lambda x, lam: (-lam * x, 1.0), 1, 1)
    >>> f.eval({x: [1.0, 2.0], lam: [0.5, 0.5]})
    array([-0.5, -1. ])
    """
    dtype = dtype or config.floatX
    x = TensorType(dtype, (None,) * ndim)("x")
    pars = [TensorType(dtype, (None,) * ndim)(f"sde_par{k}") for k in range(n_pars)]
    f, g = _call(sde_fn, x, pars)
    free = [
        v
        for v in graph_inputs([f, g])
        if v not in (x, *pars) and not isinstance(v, Constant)
    ]
    if free:
        raise ValueError(
            "EulerMaruyama: sde_fn must compute the drift and the diffusion from "
            "its arguments (x, *sde_pars) and constants only; it also uses "
            f"{', '.join(map(str, free))}: pass those in sde_pars"
        )
    return [x, *pars], [f, g]


def _call(sde_fn: Callable, x: Variable, pars: Sequence[Variable]):
    out = sde_fn(x, *pars)
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise TypeError(
            "EulerMaruyama: sde_fn(x, *sde_pars) must return (drift, diffusion), "
            f"got {out!r}"
        )
    return [as_float(v) for v in out]


class EulerMaruyamaRV(RandomVariable):
    """Sampler of the Euler-Maruyama chain: inputs ``(dt, *sde_pars, *init)``.

    ``steps``, ``sde_fn``, the number of ``sde_pars`` and the initial
    distribution's op are props; each ``sde_par`` has core shape ``()``.

    Examples
    --------
    >>> from tessera import ppl
    >>> EulerMaruyamaRV(3, lambda x, k: (-k * x, 1.0), 1, ppl.Normal.rv_op).signature
    '(),(),(),()->(4)'
    """

    name = "euler_maruyama"
    __props__ = ("steps", "sde_fn", "n_pars", "init_op")

    def __init__(self, steps: int, sde_fn: Callable, n_pars: int, init_op):
        self.steps, self.sde_fn, self.n_pars = int(steps), sde_fn, int(n_pars)
        self.init_op = init_op
        if init_op.ndim_supp:
            raise ValueError(
                f"EulerMaruyama: init_dist must be univariate, got {init_op}"
            )
        ins = ["()"] * (1 + self.n_pars) + embedded_signature(init_op, [], "init")
        super().__init__(signature=",".join(ins) + f"->({self.steps + 1})")
        self._compiled: dict = {}

    def split(self, params):
        """``(dt, sde_pars, initial params)``."""
        return params[0], params[1 : 1 + self.n_pars], params[1 + self.n_pars :]

    def _numpy_fn(self, ndim: int) -> Callable:
        fn = self._compiled.get(ndim)
        if fn is None:
            from tessera.compile.function import function

            ins, outs = sde_graph(self.sde_fn, ndim, self.n_pars)
            fn = self._compiled[ndim] = function(ins, outs)
        return fn

    def rng_fn(self, rng, dt, *params, size):
        size = tuple(size)
        pars, init = params[: self.n_pars], params[self.n_pars :]
        dt, *pars = broadcast_params([dt, *pars], [0] * (1 + self.n_pars), size)
        fn = self._numpy_fn(len(size))
        dtype = np.dtype(config.floatX)
        pars = [np.array(p, dtype=dtype) for p in pars]
        x = np.empty(size + (self.steps + 1,), dtype=dtype)
        x[..., 0] = embedded_draw(self.init_op, rng, init, size, ())
        noise = np.sqrt(dt)[..., None] * rng.standard_normal(size + (self.steps,))
        for t in range(self.steps):  # time only: every batch element at once
            f, g = fn(x[..., t].copy(), *pars)
            x[..., t + 1] = x[..., t] + f * dt + g * noise[..., t]
        return x


class EulerMaruyama(Continuous):
    r"""A stochastic differential equation, discretized by the Euler-Maruyama method.

    For :math:`dx = f(x, \theta)\, dt + g(x, \theta)\, dW`:

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_{t+1} \mid x_t \sim \mathcal N\big(x_t + f(x_t, \theta)\, \Delta t,\;
        g(x_t, \theta)^2\, \Delta t\big), \quad t = 0, \dots, T - 1.

    Parameters
    ----------
    dt : tensor_like of float
        The time step :math:`\Delta t` (> 0).
    sde_fn : callable
        ``sde_fn(x, *sde_pars) -> (drift, diffusion)``, tessera graphs (or
        numbers) that broadcast with ``x``; it may use only its arguments and
        constants.
    sde_pars : sequence of tensor_like
        The parameters :math:`\theta`, each with batch dims only. In the
        density each gets a trailing time axis (``p[..., None]``), as in PyMC.
    init_dist : TensorVariable, optional
        The distribution of :math:`x_0`, an unregistered univariate
        ``.dist(...)``; default ``Normal.dist(0, 100)`` (PyMC's).
    steps : int, optional
        ``T``; or give ``shape`` (``(..., T + 1)``) or, in a model, ``dims``.

    ``dt``, every ``sde_par`` and ``init_dist`` carry batch dims that
    broadcast; a value has shape ``(*batch, T + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.EulerMaruyama.dist(
    ...     dt=0.1, sde_fn=lambda x, lam: (-lam * x, 1.0), sde_pars=[[0.5, 2.0]],
    ...     init_dist=ppl.Normal.dist(0.0, 1.0), steps=2,
    ... )
    >>> x.type.shape
    (2, 3)
    >>> ppl.logp(x, [1.0, 0.9, 0.8]).eval().round(4)
    array([-0.9819, -1.0362])
    """

    rv_op = EulerMaruyamaRV(1, lambda x, p: (p * x, 1.0), 1, Normal.rv_op)
    params = ("dt", "sde_pars", "init_mu", "init_sigma")

    @classmethod
    def dist(
        cls,
        dt: Any,
        sde_fn: Callable,
        sde_pars: Sequence[Any] = (),
        init_dist: Any = None,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """The chain of ``steps`` steps; ``shape`` (if given) is ``(..., steps + 1)``."""
        if not callable(sde_fn):
            raise TypeError(f"EulerMaruyama: sde_fn must be callable, got {sde_fn!r}")
        steps, size = resolve_steps("EulerMaruyama", steps, shape, size)
        pars = [as_float(p) for p in sde_pars]
        sde_graph(sde_fn, 0, len(pars))  # checks what sde_fn depends on
        if init_dist is None:
            init_dist = Normal.dist(0.0, 100.0)
        init = embed("EulerMaruyama", "init_dist", init_dist)
        op = EulerMaruyamaRV(steps, sde_fn, len(pars), init.op)
        params = [as_float(dt), *pars, *init.params]
        raise_if_invalid("EulerMaruyama", cls.node_param_conditions(op, params))
        return op(*params, size=size, rng=rng)

    @classmethod
    def node_param_conditions(cls, op, params):
        dt, _, init = op.split(params)
        return [(tm.gt(dt, 0.0), "dt > 0")] + embedded_conditions(
            op.init_op, init, 0, "init_dist"
        )

    @classmethod
    def node_logp(cls, op, value, params):
        dt, pars, init = op.split(params)
        x_prev, x_next = value[..., :-1], value[..., 1:]
        dt = expand_dims(dt, -1)
        f, g = _call(op.sde_fn, x_prev, [expand_dims(p, -1) for p in pars])
        sd = tm.sqrt(dt) * g
        safe = tm.where(tm.gt(sd, 0.0), sd, 1.0)
        lp = tm.where(
            tm.gt(sd, 0.0), Normal._logp(x_next, x_prev + f * dt, safe), -np.inf
        )
        return embedded_logp(op.init_op, value[..., 0], init, 0) + lp.sum(axis=-1)

    @classmethod
    def node_moment(cls, op, params):
        dt, _, init = op.split(params)
        m0 = embedded_moment(op.init_op, init)
        return expand_dims(m0, -1) + np.zeros(op.steps + 1)
