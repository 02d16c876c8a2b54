"""GARCH11: the GARCH(1, 1) volatility process with normal innovations.

Given the values, the variance recursion
``s_t = omega + alpha_1 x_{t-1}^2 + beta_1 s_{t-1}`` is linear in ``s``:
:func:`linear_recursion` solves it without a loop over time, in blocks of
matrix products of powers of ``beta_1`` (every term positive, so no
cancellation). NumPy draws loop over time, vectorized over the batch; the
JAX sampler (:mod:`tessera.ppl.jax.timeseries.garch`) runs a ``lax.scan``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.join import concatenate
from tessera.ops.products import matmul
from tessera.ops.shape import expand_dims, swapaxes
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.mv_util import as_float, raise_if_invalid
from tessera.ppl.distributions.timeseries.common import resolve_steps
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["GARCH11", "GARCH11RV", "linear_recursion"]


def _dims(x: Variable, stop: int) -> list:
    return [
        x.type.shape[i] if x.type.shape[i] is not None else x.shape[i]
        for i in range(stop)
    ]


def linear_recursion(u: Variable, beta: Variable) -> Variable:
    r"""``s_t = beta s_{t-1} + u_t`` (``s_{-1} = 0``) along the last axis of ``u``.

    The solution :math:`s_t = \sum_{j \le t} \beta^{t-j} u_j` is evaluated in
    blocks of ``K = ceil(sqrt(n))`` steps: a ``K x K`` lower-triangular
    matrix of powers of ``beta`` gives every block's partial sums (one batched
    matrix product), a ``(n/K) x (n/K)`` one carries the block ends across
    blocks, and ``beta^(i+1)`` spreads each carry into the next block. Cost
    per series: ``O(n K + (n/K)^2) = O(n^1.5)`` multiply-adds and
    ``O(n + K^2)`` memory, against ``O(n^2)`` for the full ``n x n`` matrix
    and ``O(n)`` sequential steps for a loop. For ``u >= 0`` and
    ``0 <= beta <= 1`` every term is non-negative: no cancellation, and no
    power above 1 (unlike ``beta^t cumsum(beta^-j u_j)``, which overflows).
    ``beta`` broadcasts with ``u``'s batch dims; ``u``'s last axis must have
    a static length.

    Examples
    --------
    >>> import tessera as ts
    >>> linear_recursion(ts.constant([1.0, 1.0, 1.0]), ts.constant(0.5)).eval()
    array([1.  , 1.5 , 1.75])
    """
    n = u.type.shape[-1]
    if n is None:
        raise ValueError("linear_recursion: the last axis needs a static length")
    K = max(1, math.ceil(math.sqrt(n)))
    nb = math.ceil(n / K)
    if nb * K > n:
        u = concatenate([u, 0.0 * u[..., : nb * K - n]], axis=-1)
    U = u.reshape((*_dims(u, u.ndim - 1), nb, K))
    # beta^0 = 1 also at beta = 0; a floor keeps pow's gradient finite there
    b = tm.maximum(expand_dims(as_float(beta), (-1, -2)), 1e-30)
    i = np.arange(K)
    dt = np.dtype(b.dtype)
    lag = (i[:, None] - i[None, :]).astype(dt)
    P = tm.where(lag >= 0, b ** np.maximum(lag, 0.0), 0.0)  # (..., K, K)
    local = matmul(U, swapaxes(P, -1, -2))  # (..., nb, K): sums within blocks
    j = np.arange(nb)
    blag = (j[:, None] - j[None, :]).astype(dt)
    Q = tm.where(blag >= 0, b ** (K * np.maximum(blag, 0.0)), 0.0)  # (..., nb, nb)
    ends = matmul(Q, local[..., K - 1 :])  # (..., nb, 1): s at each block's end
    before = concatenate([0.0 * ends[..., :1, :], ends[..., :-1, :]], axis=-2)
    # beta^(i+1) times s at the end of the previous block
    s = local + before * b ** (i + 1).astype(dt)
    return s.reshape((*_dims(s, s.ndim - 2), nb * K))[..., :n]


def garch_variance(value, omega, alpha_1, beta_1, initial_vol) -> Variable:
    """``sigma_t^2`` of GARCH(1, 1) given the values ``(..., T + 1)``."""
    value, omega, alpha_1, beta_1, initial_vol = (
        as_float(v) for v in (value, omega, alpha_1, beta_1, initial_vol)
    )
    x_prev = concatenate([value[..., :1], value[..., :-1]], axis=-1)
    first = np.arange(value.type.shape[-1]) == 0
    drive = tm.where(
        first,
        expand_dims(tm.square(initial_vol), -1),
        expand_dims(omega, -1) + expand_dims(alpha_1, -1) * tm.square(x_prev),
    )
    return linear_recursion(drive, beta_1)


class GARCH11RV(RandomVariable):
    """Sampler of GARCH(1, 1): inputs ``(omega, alpha_1, beta_1, initial_vol)``.

    Examples
    --------
    >>> GARCH11RV(4).signature
    '(),(),(),()->(5)'
    """

    name = "garch11"
    __props__ = ("steps",)

    def __init__(self, steps: int):
        self.steps = int(steps)
        super().__init__(signature=f"(),(),(),()->({self.steps + 1})")

    def rng_fn(self, rng, omega, alpha_1, beta_1, initial_vol, size):
        size = tuple(size)
        omega, a, b, v0 = broadcast_params(
            [omega, alpha_1, beta_1, initial_vol], [0] * 4, size
        )
        z = rng.standard_normal(size + (self.steps + 1,))
        x = np.empty_like(z)
        var = np.square(v0)
        x[..., 0] = v0 * z[..., 0]
        for t in range(1, self.steps + 1):  # time only: every batch element at once
            var = omega + a * np.square(x[..., t - 1]) + b * var
            x[..., t] = np.sqrt(var) * z[..., t]
        return x


class GARCH11(Continuous):
    r"""GARCH(1, 1) process with normal innovations.

    .. math::

        x_t \sim \mathcal N(0, \sigma_t^2), \qquad
        \sigma_t^2 = \omega + \alpha_1 x_{t-1}^2 + \beta_1 \sigma_{t-1}^2,
        \quad t = 1, \dots, T,

    with :math:`\sigma_0` = ``initial_vol``. The variance follows an
    ARMA(1, 1) recursion; with :math:`\alpha_1 + \beta_1 < 1` it is
    stationary with unconditional variance :math:`\omega / (1 - \alpha_1 -
    \beta_1)` (not enforced: the density is defined for any
    :math:`\alpha_1, \beta_1 \ge 0`).

    Parameters
    ----------
    omega : tensor_like of float
        > 0, the variance's constant term.
    alpha_1 : tensor_like of float
        >= 0, the weight of the last squared value.
    beta_1 : tensor_like of float
        >= 0, the weight of the last variance.
    initial_vol : tensor_like of float
        > 0, :math:`\sigma_0`.
    steps : int, optional
        ``T``; or give ``shape`` (``(..., T + 1)``) or, in a model, ``dims``.

    Every parameter carries batch dims that broadcast; a value has shape
    ``(*batch, T + 1)``. The log-density solves the variance recursion in
    closed form (:func:`linear_recursion`), without a loop over time.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.GARCH11.dist(omega=0.1, alpha_1=[0.1, 0.3], beta_1=0.5,
    ...                      initial_vol=1.0, steps=2)
    >>> x.type.shape
    (2, 3)
    >>> ppl.logp(x, [1.0, -1.0, 0.5]).eval().round(4)
    array([-3.7211, -3.8255])
    """

    rv_op = GARCH11RV(1)  # representative
    params = ("omega", "alpha_1", "beta_1", "initial_vol")

    @classmethod
    def dist(
        cls,
        omega: Any,
        alpha_1: Any,
        beta_1: Any,
        initial_vol: Any,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A GARCH(1, 1) series; ``shape`` (if given) is ``(..., steps + 1)``."""
        steps, size = resolve_steps("GARCH11", steps, shape, size)
        params = [as_float(p) for p in (omega, alpha_1, beta_1, initial_vol)]
        op = GARCH11RV(steps)
        raise_if_invalid("GARCH11", cls.node_param_conditions(op, params))
        return op(*params, size=size, rng=rng)

    @classmethod
    def node_param_conditions(cls, op, params):
        omega, alpha_1, beta_1, initial_vol = params
        return [
            (tm.gt(omega, 0.0), "omega > 0"),
            (tm.ge(alpha_1, 0.0), "alpha_1 >= 0"),
            (tm.ge(beta_1, 0.0), "beta_1 >= 0"),
            (tm.gt(initial_vol, 0.0), "initial_vol > 0"),
        ]

    @classmethod
    def node_logp(cls, op, value, params):
        var = garch_variance(value, *params)
        return Normal._logp(value, 0.0, tm.sqrt(var)).sum(axis=-1)

    @classmethod
    def node_moment(cls, op, params):
        omega = params[0]
        return expand_dims(0.0 * omega, -1)  # the process has mean zero
