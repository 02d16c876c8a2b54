"""ZeroSumNormal: a normal distribution constrained to sum to zero along axes.

JAX samplers: :mod:`tessera.ppl.jax.multivariate.zerosum`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.shape import expand_dims, shape_i
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import LOG_SQRT_2PI
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    literal_signature,
    raise_if_invalid,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["ZeroSumNormal"]


class ZeroSumNormalRV(RandomVariable):
    """Sampler of ZeroSumNormal; the support shape is a prop (the event shape).

    ``sigma`` has one core dim of size 1 per zero-sum axis.
    """

    name, dtype = "zerosum_normal", "floatX"
    __props__ = ("support_shape",)

    def __init__(self, support_shape: tuple[int, ...]):
        self.support_shape = tuple(int(s) for s in support_shape)
        k = len(self.support_shape)
        ins = ["(" + ",".join(["1"] * k) + ")"]
        super().__init__(signature=literal_signature(ins, self.support_shape))

    def rng_fn(self, rng, sigma, size):
        (sigma,) = broadcast_params([sigma], [len(self.support_shape)], size)
        x = rng.standard_normal(tuple(size) + self.support_shape) * sigma
        for axis in range(-len(self.support_shape), 0):
            x = x - x.mean(axis=axis, keepdims=True)
        return x


class ZeroSumNormal(MvMixin, Continuous):
    r"""Normal values that sum to zero along the last ``n_zerosum_axes`` axes.

    A draw is :math:`\mathcal N(0, \sigma^2)` noise with the mean along each
    zero-sum axis removed. On the zero-sum subspace (of dimension
    :math:`d = \prod_i (n_i - 1)`) it is isotropic with variance
    :math:`\sigma^2`, so in the subspace's own (Hausdorff) measure

    .. math:: \log f(x \mid \sigma) = -\frac{\lVert x\rVert^2}{2\sigma^2}
              - d \big(\log\sigma + \tfrac12 \log 2\pi\big)

    (each entry's marginal variance is :math:`\sigma^2 (n-1)/n` for one
    axis). Parameters: ``sigma`` > 0 (default 1) with batch dims, constant
    along the zero-sum axes (size 1 there if given); ``n_zerosum_axes``
    (default 1); the support shape comes from ``shape`` (its last
    ``n_zerosum_axes`` entries) or ``support_shape``. Default transform
    ``"zerosum"``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.ZeroSumNormal.dist(sigma=[[1.0], [2.0]], shape=(2, 3))
    >>> x.type.shape
    (2, 3)
    >>> np.abs(ppl.draw(x, random_seed=0).sum(-1)).max() < 1e-12
    np.True_
    >>> ppl.logp(x, [1.0, -1.0, 0.0]).eval().round(4)
    array([-2.8379, -3.4742])
    """

    rv_op = ZeroSumNormalRV((2,))  # representative; dist() makes one per shape
    params = ("sigma",)
    support = "zerosum"
    default_transform = "zerosum"

    @classmethod
    def dist(
        cls,
        sigma: Any = 1.0,
        n_zerosum_axes: int = 1,
        support_shape: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A ZeroSumNormal; give ``shape`` (batch + support) or ``support_shape``."""
        k = int(n_zerosum_axes)
        if k != n_zerosum_axes or k < 1:
            raise ValueError(
                f"ZeroSumNormal: n_zerosum_axes must be a positive int, got "
                f"{n_zerosum_axes!r}"
            )
        if shape is not None:
            if size is not None:
                raise TypeError("ZeroSumNormal.dist: give size or shape, not both")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            if len(shape) < k:
                raise ValueError(
                    f"ZeroSumNormal: shape {shape} has fewer dims than "
                    f"n_zerosum_axes={k}"
                )
            from_shape = tuple(shape[len(shape) - k :])
            if support_shape is not None and tuple(support_shape) != from_shape:
                raise ValueError(
                    f"ZeroSumNormal: support_shape {tuple(support_shape)} does not "
                    f"match the last {k} entries of shape {shape}"
                )
            support_shape, size = from_shape, shape[: len(shape) - k]
        if support_shape is None:
            raise ValueError(
                "ZeroSumNormal: the support shape is unknown; give shape=(..., n) "
                "or support_shape"
            )
        support_shape = tuple(int(s) for s in np.atleast_1d(support_shape))
        if len(support_shape) != k:
            raise ValueError(
                f"ZeroSumNormal: support_shape {support_shape} must have "
                f"n_zerosum_axes={k} entries"
            )
        sigma = cls._sigma_with_core(as_float(sigma), k)
        raise_if_invalid(cls.__name__, cls._conditions(sigma, k))
        return ZeroSumNormalRV(support_shape)(sigma, size=size, rng=rng)

    @classmethod
    def _sigma_with_core(cls, sigma: Variable, k: int) -> Variable:
        """``sigma`` with ``k`` trailing size-1 core dims."""
        if sigma.ndim >= k:
            tail = sigma.type.shape[sigma.ndim - k :]
            if any(s != 1 for s in tail):
                raise ValueError(
                    f"ZeroSumNormal: sigma must have size 1 along the {k} zero-sum "
                    f"axes (it cannot vary along them), got shape {sigma.type.shape}"
                )
            return sigma
        return expand_dims(sigma, tuple(range(-(k - sigma.ndim), 0)))

    @classmethod
    def _conditions(cls, sigma: Variable, k: int) -> list:
        return [(tm.gt(sigma, 0.0).all(axis=tuple(range(-k, 0))), "sigma > 0")]

    @classmethod
    def node_param_conditions(cls, op, params):
        return cls._conditions(params[0], len(op.support_shape))

    @classmethod
    def node_support_mask(cls, op, value, params):
        k = len(op.support_shape)
        axes = tuple(range(-k, 0))
        scale = 1.0 + tm.abs(value).max(axis=axes)
        tol = (1e-4 if value.dtype == "float32" else 1e-9) * scale
        ok = None
        for a in axes:
            c = tm.le(tm.abs(value.mean(axis=a, keepdims=True)), expand_dims(tol, axes))
            c = c.all(axis=axes)
            ok = c if ok is None else tm.logical_and(ok, c)
        return ok

    @classmethod
    def node_logp(cls, op, value, params):
        (sigma,) = params
        k = len(op.support_shape)
        axes = tuple(range(-k, 0))
        dof = 1.0
        for a in axes:
            dof = dof * (shape_i(value, a) - 1)
        dof = float(dof) if isinstance(dof, int | float) else dof.astype(value.dtype)
        quad = tm.square(value / sigma).sum(axis=axes)
        s = sigma
        for _ in range(k):
            s = s[..., 0]
        return -0.5 * quad - dof * (tm.log(s) + LOG_SQRT_2PI)

    @classmethod
    def node_moment(cls, op, params):
        from tessera.ops.creation import zeros

        return zeros(op.support_shape, dtype=params[0].dtype)

    @classmethod
    def node_transform_kwargs(cls, op, params) -> dict:
        """Parameters of the default transform (the number of zero-sum axes)."""
        return {"n_zerosum_axes": len(op.support_shape)}
