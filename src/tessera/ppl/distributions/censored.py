"""Censored distributions: any univariate distribution, clipped to ``[lower, upper]``.

A censored variable is a draw of the base distribution clipped to the
bounds: values below ``lower`` are recorded as ``lower``, values above
``upper`` as ``upper``. The bounds therefore carry point masses:

.. math::

    \\log f_C(x) = \\begin{cases}
        \\log F(l)              & x = l \\\\
        \\log f(x)              & l < x < u \\\\
        \\log (1 - F(u^-))      & x = u \\\\
        -\\infty                & \\text{otherwise}
    \\end{cases}

with :math:`F(u^-) = F(u)` for continuous and :math:`F(u - 1)` for
discrete base distributions.

JAX samplers: :mod:`tessera.ppl.jax.censored`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.signature import parse_signature
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import dist_of_op, register_op
from tessera.ppl.distributions.dist_math import NEG_INF
from tessera.ppl.distributions.logprob import op_logcdf, op_logp
from tessera.ppl.distributions.per_call import PerCallDistribution
from tessera.random.op import RandomVariable
from tessera.random.type import is_none_const

__all__ = ["Censored", "CensoredRV"]


def _is_discrete_op(op: RandomVariable) -> bool:
    return np.dtype(op.out_dtype()).kind in "iu"


def _sig_arg(dims) -> str:
    return "(" + ",".join(dims) + ")"


class CensoredRV(RandomVariable):
    """Sampler of a censored distribution: inputs ``(rng, size, lower, upper,
    *base params)``; the base op's draws clipped to ``[lower, upper]``.

    Parameters
    ----------
    base : RandomVariable
        The univariate op being censored.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Censored.dist(ppl.Normal.dist(0.0, 1.0), lower=-1.0, upper=1.0)
    >>> type(x.owner.op).__name__, x.owner.op.signature
    ('CensoredRV', '(),(),(),()->()')
    """

    name = "censored"
    __props__ = ("base",)

    def __init__(self, base: RandomVariable):
        if base.ndim_supp != 0:
            raise NotImplementedError(
                f"Censored: only univariate distributions, got {base} with "
                f"{base.ndim_supp} event dims"
            )
        self.base = base
        sig = parse_signature(base.signature)
        args = ["()", "()"] + [_sig_arg(d) for d in sig.inputs]
        super().__init__(signature=",".join(args) + "->()", dtype=base.dtype)

    def rng_fn(self, rng, lower, upper, *params, size):
        x = np.asarray(self.base.rng_fn(rng, *params, size=size))
        out = np.clip(x, lower, upper)
        return out.astype(x.dtype) if x.dtype.kind in "iu" else out


def _static_inf(v: Variable, sign: float) -> bool:
    val = get_static_value(v)
    return val is not None and bool(np.all(val == sign * np.inf))


class Censored(PerCallDistribution):
    r"""A univariate distribution censored (clipped) to ``[lower, upper]``.

    .. math::

        \log f_C(x) = \begin{cases}
            \log F(l)              & x = l \\
            \log f(x)              & l < x < u \\
            \log (1 - F(u^-))      & x = u
        \end{cases}

    Parameters
    ----------
    dist : TensorVariable
        The base distribution, an unregistered ``ppl.<Distribution>.dist(...)``
        variable (continuous or discrete, univariate, with a log-CDF).
    lower, upper : tensor_like or None
        The censoring bounds; None means ``-inf`` / ``+inf`` (no censoring on
        that side). Batched bounds broadcast with the base's parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.Censored.dist(ppl.Normal.dist(0.0, 1.0), lower=-1.0, upper=None)
    >>> lp = ppl.logp(x, np.array([-2.0, -1.0, 0.0])).eval()
    >>> lp.round(4)  # outside, log Phi(-1) at the bound, the normal inside
    array([   -inf, -1.841 , -0.9189])
    >>> bool((ppl.draw(x, draws=50, random_seed=0) >= -1.0).all())
    True
    """

    params = ("lower", "upper")
    support = "interval"
    default_transform = None

    @classmethod
    def dist(
        cls,
        dist: Variable,
        lower: Any = None,
        upper: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """``dist`` censored to ``[lower, upper]``; ``size`` defaults to ``dist``'s.

        Raises
        ------
        TypeError
            If ``dist`` is not an unregistered distribution variable.
        ValueError
            If bounds known now have ``lower > upper``.
        """
        node = getattr(dist, "owner", None)
        if (
            node is None
            or not isinstance(node.op, RandomVariable)
            or dist is not node.outputs[1]
        ):
            raise TypeError(
                f"Censored: dist {dist} is not a distribution; build it with "
                "ppl.<Distribution>.dist(...)"
            )
        _check_unregistered(dist)
        base = node.op
        lower = as_tensor(-np.inf if lower is None else lower)
        upper = as_tensor(np.inf if upper is None else upper)
        lower, upper = lower.astype(config.floatX), upper.astype(config.floatX)
        lo, hi = get_static_value(lower), get_static_value(upper)
        if lo is not None and hi is not None and not np.all(lo <= hi):
            raise ValueError(
                f"Censored: lower {lo} must not be above upper {hi} "
                f"(censoring {dist_of_op(base).__name__})"
            )
        if shape is not None:
            if size is not None:
                raise TypeError("Censored.dist: give size or shape, not both")
            size = (shape,) if isinstance(shape, int) else tuple(shape)
        if size is None and not is_none_const(node.inputs[1]):
            size = node.inputs[1]
        return CensoredRV(base)(lower, upper, *node.inputs[2:], size=size, rng=rng)

    @classmethod
    def _draw_dtype(cls, dist: Variable, *args: Any, **kwargs: Any) -> str:
        return dist.dtype

    @classmethod
    def _upper_log_sf(cls, op: CensoredRV, upper, bparams):
        """``log P(X >= upper)`` of the base."""
        at = upper - 1.0 if _is_discrete_op(op.base) else upper
        return tm.log1mexp(op_logcdf(op.base, at, bparams))

    @classmethod
    def node_logp(cls, op, value, params):
        lower, upper, *bparams = params
        lp = op_logp(op.base, value, bparams)
        if not _static_inf(upper, 1):
            lp = tm.where(
                tm.eq(value, upper), cls._upper_log_sf(op, upper, bparams), lp
            )
        if not _static_inf(lower, -1):
            lp = tm.where(tm.eq(value, lower), op_logcdf(op.base, lower, bparams), lp)
        return lp

    @classmethod
    def node_logcdf(cls, op, value, params):
        lower, upper, *bparams = params
        lc = op_logcdf(op.base, value, bparams)
        return tm.where(
            tm.lt(value, lower), NEG_INF, tm.where(tm.ge(value, upper), 0.0, lc)
        )

    @classmethod
    def node_support_mask(cls, op, value, params):
        lower, upper = params[:2]
        return tm.logical_and(tm.ge(value, lower), tm.le(value, upper))

    @classmethod
    def node_param_conditions(cls, op, params):
        lower, upper = params[:2]
        return [(tm.le(lower, upper), "lower <= upper")]

    @classmethod
    def node_support_bounds(cls, op, params):
        lower, upper, *bparams = params
        blo, bhi = dist_of_op(op.base).node_support_bounds(op.base, bparams)
        return (
            blo if _static_inf(lower, -1) else lower,
            bhi if _static_inf(upper, 1) else upper,
        )

    @classmethod
    def node_moment(cls, op, params):
        lower, upper, *bparams = params
        m = as_tensor(dist_of_op(op.base).node_moment(op.base, bparams))
        out = tm.clip(m, lower, upper)
        return tm.round(out) if _is_discrete_op(op.base) else out


def _check_unregistered(dist: Variable) -> None:
    from tessera.ppl.context import modelcontext_or_none

    model = modelcontext_or_none()
    if model is not None and dist in getattr(model, "basic_RVs", ()):
        raise TypeError(
            f"Censored: dist {dist.name!r} is a registered model variable; pass "
            "an unregistered one, built with ppl.<Distribution>.dist(...)"
        )


register_op(CensoredRV, Censored)
