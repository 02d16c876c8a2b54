"""AR: the autoregressive process of order ``p`` with normal innovations.

The density is closed-form over the whole series: the residuals
``x_t - (c + sum_k rho_k x_{t-k})`` come from ``p`` shifted slices of the
value (a loop over the lags, not over time), then one normal log-density.
NumPy draws loop over time, vectorized over the batch; the JAX sampler
(:mod:`tessera.ppl.jax.timeseries.autoregressive`) runs a ``lax.scan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.shape import broadcast_to, expand_dims
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.mv_util import as_float, raise_if_invalid
from tessera.ppl.distributions.params import sigma_from
from tessera.ppl.distributions.timeseries.common import (
    embed,
    embedded_conditions,
    embedded_draw,
    embedded_logp,
    embedded_moment,
    embedded_signature,
    resolve_steps,
    static_int,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["AR", "ARRV"]


class ARRV(RandomVariable):
    """Sampler of an AR(p) series: inputs ``(rho, sigma, *initial params)``.

    ``rho`` has core shape ``(p + constant,)`` (the constant first when
    ``constant``); a draw has core shape ``(p + steps,)``: ``p`` initial
    values from the initial distribution, then ``steps`` values of the
    recursion. ``steps``, ``ar_order``, ``constant`` and the initial
    distribution's op are props.

    Examples
    --------
    >>> from tessera import ppl
    >>> ARRV(5, 2, True, ppl.Normal.rv_op).signature
    '(3),(),(2),(2)->(7)'
    """

    name = "ar"
    __props__ = ("steps", "ar_order", "constant", "init_op")

    def __init__(self, steps: int, ar_order: int, constant: bool, init_op):
        self.steps, self.ar_order = int(steps), int(ar_order)
        self.constant, self.init_op = bool(constant), init_op
        if init_op.ndim_supp > 1:
            raise ValueError(
                f"AR: init_dist must be univariate or a vector, got {init_op}"
            )
        p = str(self.ar_order)
        ins = [
            f"({self.ar_order + self.constant})",
            "()",
            *embedded_signature(init_op, [p], "init"),
        ]
        out = f"({self.steps + self.ar_order})"
        super().__init__(signature=",".join(ins) + "->" + out)

    def rng_fn(self, rng, rho, sigma, *init, size):
        size = tuple(size)
        p = self.ar_order
        rho, sigma = broadcast_params([rho, sigma], [1, 0], size)
        c = rho[..., 0] if self.constant else 0.0
        coefs = rho[..., self.constant :][..., ::-1]  # oldest lag first
        x = np.empty(size + (p + self.steps,))
        x[..., :p] = embedded_draw(self.init_op, rng, init, size, (p,))
        noise = sigma[..., None] * rng.standard_normal(size + (self.steps,))
        for t in range(self.steps):  # time only: every batch element at once
            x[..., p + t] = c + (coefs * x[..., t : t + p]).sum(-1) + noise[..., t]
        return x


class AR(Continuous):
    r"""Autoregressive process of order ``p`` with normal innovations.

    .. math::

        x_t = c + \sum_{k=1}^{p} \rho_k x_{t-k} + \varepsilon_t,
        \qquad \varepsilon_t \sim \mathcal N(0, \sigma^2),

    for :math:`t = p, \dots, p + T - 1`, with the first :math:`p` values
    drawn from ``init_dist``; so
    :math:`\log p(x) = \log p_0(x_{0:p}) + \sum_t \log \mathcal N(x_t \mid
    c + \sum_k \rho_k x_{t-k}, \sigma)`.

    Parameters
    ----------
    rho : tensor_like of float
        The coefficients on the last axis: :math:`\rho_1, \dots, \rho_p`,
        or :math:`c, \rho_1, \dots, \rho_p` when ``constant=True``.
    sigma, tau : tensor_like of float, optional
        The innovations' standard deviation or precision (default sigma 1).
    constant : bool, default False
        Whether ``rho[..., 0]`` is the constant :math:`c`.
    init_dist : TensorVariable, optional
        The distribution of the first ``p`` values, an unregistered
        ``.dist(...)``: univariate (its last axis 1 or ``p``), or with a
        vector event of size ``p``. Default ``Normal.dist(0, 100)`` (PyMC's).
    ar_order : int, optional
        ``p``; by default ``rho``'s static last axis, less one with a constant.
    steps : int, optional
        ``T``; or give ``shape`` (``(..., T + p)``) or, in a model, ``dims``.

    ``rho`` (besides its last axis), ``sigma`` and ``init_dist`` carry batch
    dims that broadcast; a value has shape ``(*batch, T + p)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.AR.dist(rho=[[0.5], [0.9]], sigma=1.0, steps=3,
    ...                 init_dist=ppl.Normal.dist(0.0, 1.0))
    >>> x.type.shape
    (2, 4)
    >>> ppl.logp(x, [1.0, 1.0, 1.0, 1.0]).eval().round(4)
    array([-4.5508, -4.1908])
    """

    rv_op = ARRV(1, 1, False, Normal.rv_op)  # representative
    params = ("rho", "sigma", "init_mu", "init_sigma")

    @classmethod
    def dist(
        cls,
        rho: Any,
        sigma: Any = None,
        tau: Any = None,
        constant: bool = False,
        init_dist: Any = None,
        ar_order: Any = None,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """An AR(``ar_order``) series; ``shape`` (if given) is ``(..., steps + p)``."""
        rho = as_float(rho)
        if rho.ndim == 0:
            rho = expand_dims(rho, 0)
        sigma = as_float(sigma_from(sigma, tau, 1.0))
        constant = bool(constant)
        n_rho = rho.type.shape[-1]
        if ar_order is None:
            if n_rho is None:
                raise ValueError(
                    "AR: cannot tell ar_order from rho, whose last axis has no "
                    "static length; pass ar_order"
                )
            ar_order = n_rho - constant
            if ar_order < 1:
                raise ValueError(
                    f"AR: rho of shape {rho.type.shape} gives ar_order={ar_order} "
                    f"(constant={constant}); it needs at least {1 + constant} "
                    "coefficients on its last axis"
                )
        else:
            ar_order = static_int("AR", "ar_order", ar_order)
            if ar_order < 1:
                raise ValueError(f"AR: ar_order must be >= 1, got {ar_order}")
            if n_rho not in (None, 1) and n_rho != ar_order + constant:
                raise ValueError(
                    f"AR: rho has {n_rho} coefficients on its last axis (shape "
                    f"{rho.type.shape}), but ar_order={ar_order} with "
                    f"constant={constant} needs {ar_order + constant}"
                )
            if n_rho == 1 and ar_order + constant != 1:
                batch = [rho.shape[i] for i in range(rho.ndim - 1)]
                rho = broadcast_to(rho, (*batch, ar_order + constant))
        steps, size = resolve_steps("AR", steps, shape, size, offset=ar_order)
        if init_dist is None:
            init_dist = Normal.dist(0.0, 100.0)
        init = embed("AR", "init_dist", init_dist, (ar_order,))
        op = ARRV(steps, ar_order, constant, init.op)
        params = [rho, sigma, *init.params]
        raise_if_invalid("AR", cls.node_param_conditions(op, params))
        return op(*params, size=size, rng=rng)

    @classmethod
    def node_param_conditions(cls, op, params):
        rho, sigma, *init = params
        return [(tm.gt(sigma, 0.0), "sigma > 0")] + embedded_conditions(
            op.init_op, init, 1, "init_dist"
        )

    @classmethod
    def node_logp(cls, op, value, params):
        rho, sigma, *init = params
        p, n = op.ar_order, op.steps + op.ar_order
        mean = expand_dims(rho[..., 0], -1) if op.constant else 0.0
        for k in range(1, p + 1):  # the lags; each term covers every time step
            coef = expand_dims(rho[..., op.constant + k - 1], -1)
            mean = mean + coef * value[..., p - k : n - k]
        resid = value[..., p:] - mean
        lp = Normal._logp(resid, 0.0, expand_dims(sigma, -1)).sum(axis=-1)
        return embedded_logp(op.init_op, value[..., :p], init, 1) + lp

    @classmethod
    def node_moment(cls, op, params):
        rho, sigma, *init = params
        # as PyMC: the last initial value's moment, all along the series
        m0 = embedded_moment(op.init_op, init)
        last = m0[..., -1:] if m0.ndim else expand_dims(m0, 0)
        return broadcast_to(
            last,
            (*[last.shape[i] for i in range(last.ndim - 1)], op.steps + op.ar_order),
        )
