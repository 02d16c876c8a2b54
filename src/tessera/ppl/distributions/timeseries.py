"""MvGaussianRandomWalk: a random walk with multivariate normal innovations.

JAX samplers: :mod:`tessera.ppl.jax.timeseries`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import arange
from tessera.ops.shape import broadcast_to, expand_dims, shape_i
from tessera.ops.signature import parse_signature
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous, dist_of_op
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.logprob import op_logp
from tessera.ppl.distributions.multivariate.normal import (
    MvNormal,
    _chol_conditions,
    _lower,
    vector_like_last,
)
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    chol_param,
    draw_shape,
    embedded_dist,
    raise_if_invalid,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["MvGaussianRandomWalk"]


def _init_signature(init_op: RandomVariable) -> list[str]:
    """Core signatures of the initial distribution's parameters.

    A univariate initial distribution has its parameters broadcast to
    ``(..., n)`` (core ``(n)``); a multivariate one (event ``(m,)``) keeps
    its own core dims, with ``m`` renamed to the walk's ``n``.
    """
    if init_op.ndim_supp == 0:
        return ["(n)"] * len(init_op.ndims_params)
    sig = parse_signature(init_op.signature)
    (out,) = sig.outputs
    rename = {out[0]: "n"}
    args = []
    for dims in sig.inputs:
        names = [d if d.isdigit() else rename.get(d, f"{d}_init") for d in dims]
        args.append("(" + ",".join(names) + ")")
    return args


class MvGaussianRandomWalkRV(RandomVariable):
    """Sampler of the walk: ``x_0 ~ init``, ``x_t = x_{t-1} + mu + L z_t``.

    Inputs ``(mu, chol, *init params)``; ``steps`` and the initial
    distribution's op are props.
    """

    name, dtype = "mv_gaussian_random_walk", "floatX"
    __props__ = ("steps", "init_op")

    def __init__(self, steps: int, init_op: RandomVariable):
        self.steps = int(steps)
        self.init_op = init_op
        if init_op.ndim_supp > 1:
            raise ValueError(
                "MvGaussianRandomWalk: init_dist must be univariate or have a "
                f"vector event, got {init_op}"
            )
        ins = ["(n)", "(n,n)", *_init_signature(init_op)]
        super().__init__(signature=",".join(ins) + f"->({self.steps + 1},n)")

    def rng_fn(self, rng, mu, chol, *init_params, size):
        size = tuple(size)
        mu, chol = broadcast_params([mu, chol], [1, 2], size)
        n = chol.shape[-1]
        if self.init_op.ndim_supp == 0:
            init_params = broadcast_params(init_params, [1] * len(init_params), size)
            x0 = self.init_op.rng_fn(rng, *init_params, size=size + (n,))
        else:
            x0 = self.init_op.rng_fn(rng, *init_params, size=size)
        z = rng.standard_normal(size + (self.steps, n, 1))
        innov = mu[..., None, :] + np.matmul(chol[..., None, :, :], z)[..., 0]
        x0 = np.asarray(x0)[..., None, :]
        return np.concatenate([x0, x0 + np.cumsum(innov, axis=-2)], axis=-2)


class MvGaussianRandomWalk(MvMixin, Continuous):
    r"""Random walk with multivariate normal innovations.

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_t - x_{t-1} \sim \mathcal N(\mu, \Sigma), \quad t = 1, \dots, T

    A value has shape ``(..., T + 1, n)`` (``T`` = ``steps``). Parameters:
    ``mu`` of shape ``(..., n)`` (default 0), exactly one of ``cov``,
    ``chol`` or ``tau`` of shape ``(..., n, n)``, ``init_dist`` (a
    ``.dist(...)``: univariate, broadcast over the ``n`` components, or with
    a vector event of size ``n``; default ``Normal(0, 10)``; its own generator
    is not used) and ``steps`` (a static int, or from ``shape[-2] - 1``).
    Batch dims of every parameter broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.MvGaussianRandomWalk.dist(
    ...     mu=np.zeros(2), cov=np.eye(2), init_dist=ppl.Normal.dist(0.0, 1.0),
    ...     steps=3,
    ... )
    >>> x.type.shape
    (4, 2)
    >>> round(float(ppl.logp(x, np.zeros((4, 2))).eval()), 4)  # 4 N(0, I_2) at 0
    -7.3515
    """

    rv_op = MvGaussianRandomWalkRV(1, MvNormal.rv_op)  # representative
    params = ("mu", "chol", "init_mu", "init_chol")

    @classmethod
    def dist(
        cls,
        mu: Any = 0.0,
        cov: Any = None,
        tau: Any = None,
        chol: Any = None,
        lower: bool = True,
        init_dist: Any = None,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A walk of ``steps`` steps; ``shape`` (if given) is ``(..., steps + 1, n)``."""
        if shape is not None:
            if size is not None:
                raise TypeError("MvGaussianRandomWalk.dist: give size or shape")
            shape = tuple(shape)
            if len(shape) < 2:
                raise ValueError(
                    f"MvGaussianRandomWalk: shape {shape} must end with (steps + 1, n)"
                )
            if steps is not None and int(steps) + 1 != shape[-2]:
                raise ValueError(
                    f"MvGaussianRandomWalk: steps={steps} does not match shape {shape}"
                )
            steps, size = shape[-2] - 1, shape[:-2]
        if steps is None:
            raise ValueError("MvGaussianRandomWalk: give steps (or shape)")
        if not isinstance(steps, int | np.integer):
            val = get_static_value(steps) if isinstance(steps, Variable) else steps
            if val is None or np.ndim(val):
                raise TypeError("MvGaussianRandomWalk: steps must be an int known now")
            steps = val
        steps = int(steps)
        if steps < 1:
            raise ValueError(f"MvGaussianRandomWalk: steps must be >= 1, got {steps}")
        L = chol_param(cls.__name__, cov=cov, chol=_lower(chol, lower), tau=tau)
        n = L.type.shape[-1] if L.type.shape[-1] is not None else shape_i(L, -1)
        mu = vector_like_last(mu, n)
        if init_dist is None:
            init_dist = Normal.dist(0.0, 10.0)
        init_op, init_params = _init_inputs(init_dist, n)
        op = MvGaussianRandomWalkRV(steps, init_op)
        params = [mu, L, *init_params]
        raise_if_invalid(cls.__name__, cls.node_param_conditions(op, params))
        return op(*params, size=size, rng=rng)

    @classmethod
    def node_param_conditions(cls, op, params):
        mu, chol, *init_params = params
        out = list(_chol_conditions(chol))
        init_cls = dist_of_op(op.init_op)
        for cond, text in init_cls.node_param_conditions(op.init_op, init_params):
            if op.init_op.ndim_supp == 0 and cond.ndim:
                cond = cond.all(axis=-1)
            out.append((cond, f"init_dist: {text}"))
        return out

    @classmethod
    def node_logp(cls, op, value, params):
        mu, chol, *init_params = params
        lp0 = op_logp(op.init_op, value[..., 0, :], init_params)
        if op.init_op.ndim_supp == 0:
            lp0 = lp0.sum(axis=-1)
        steps = value[..., 1:, :] - value[..., :-1, :]
        lp = MvNormal._logp(steps, expand_dims(mu, -2), expand_dims(chol, -3))
        return lp0 + lp.sum(axis=-1)

    @classmethod
    def node_moment(cls, op, params):
        mu, chol, *init_params = params
        m0 = dist_of_op(op.init_op).node_moment(op.init_op, init_params)
        t = arange(op.steps + 1).astype(mu.dtype)
        return expand_dims(tm.cast(m0, mu.dtype), -2) + expand_dims(
            t, -1
        ) * expand_dims(mu, -2)


def _init_inputs(init_dist: Any, n: Any):
    """The op of ``init_dist`` and its parameters for the walk's signature."""
    node = getattr(init_dist, "owner", None)
    if node is None or not isinstance(node.op, RandomVariable):
        raise TypeError(
            "MvGaussianRandomWalk: init_dist must be a distribution made with "
            f"ppl.<Distribution>.dist(...), got {init_dist!r}"
        )
    if node.op.ndim_supp == 0:
        if init_dist.ndim == 0 or init_dist.type.shape[-1] == 1:
            batch = draw_shape(init_dist)[:-1]
            init_dist = node.op(*node.inputs[2:], size=(*batch, n))
        return embedded_dist("MvGaussianRandomWalk", "init_dist", init_dist, (n,))
    if node.op.ndim_supp != 1:
        raise ValueError(
            "MvGaussianRandomWalk: init_dist must be univariate or have a vector event"
        )
    # keep a size given to init_dist: its batch dims go into the parameters
    batch = draw_shape(init_dist)[:-1]
    params = []
    for p, nd in zip(node.inputs[2:], node.op.ndims_params):
        core = [p.shape[p.ndim - nd + j] for j in range(nd)]
        params.append(broadcast_to(p, (*batch, *core)))
    return node.op, params
