"""Random walks: RandomWalk (any innovation) and GaussianRandomWalk.

A walk of ``steps`` steps is ``x_0 ~ init_dist``, ``x_t = x_{t-1} + e_t``
with independent innovations ``e_t ~ innovation_dist``; a value has shape
``(*batch, steps + 1, *event)`` (the time axis last before the event dims
of the innovations, as in PyMC). The density is the initial density plus
the innovation density of the differences ``x_t - x_{t-1}``, all evaluated
at once; draws are a cumulative sum of whole-batch innovation draws.

:class:`RandomWalkRV` also samples the multivariate walks of
:mod:`.mv_random_walk`. JAX samplers: :mod:`tessera.ppl.jax.timeseries`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.creation import arange
from tessera.ops.shape import expand_dims
from tessera.ppl.distributions.base import Continuous, register_op
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.mv_util import draw_shape, raise_if_invalid
from tessera.ppl.distributions.per_call import PerCallDistribution
from tessera.ppl.distributions.timeseries.common import (
    Embedded,
    embed,
    embedded_conditions,
    embedded_draw,
    embedded_logp,
    embedded_moment,
    embedded_signature,
    resolve_steps,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["GaussianRandomWalk", "GaussianRandomWalkRV", "RandomWalk", "RandomWalkRV"]


class RandomWalkRV(RandomVariable):
    """Sampler of ``x_0 ~ init``, ``x_t = x_{t-1} + e_t``, ``e_t ~ innov``.

    Inputs ``(*innovation params, *initial params)``; ``steps`` and the two
    ops are props. Innovations are univariate (a walk of shape
    ``(..., steps + 1)``) or have a vector event ``(n,)`` (a walk of shape
    ``(..., steps + 1, n)``); the initial distribution is univariate
    (broadcast over ``n``) or has the innovations' event. NumPy draws take
    one cumulative sum over time of whole-batch innovation draws.

    Examples
    --------
    >>> from tessera import ppl
    >>> op = RandomWalkRV(3, ppl.Normal.rv_op, ppl.StudentT.rv_op)
    >>> op.signature
    '(),(),(),(),()->(4)'
    """

    name = "random_walk"
    __props__ = ("steps", "init_op", "innov_op")

    def __init__(self, steps: int, init_op: RandomVariable, innov_op: RandomVariable):
        self.steps = int(steps)
        self.init_op, self.innov_op = init_op, innov_op
        k = innov_op.ndim_supp
        if k > 1:
            raise ValueError(
                "RandomWalk: innovation_dist must be univariate or have a vector "
                f"event, got {innov_op}"
            )
        if init_op.ndim_supp not in (0, k):
            raise ValueError(
                "RandomWalk: init_dist must be univariate or have the event of the "
                f"innovations ({k} dims), got {init_op}"
            )
        event = ["n"] if k else []
        ins = [
            *embedded_signature(innov_op, event, "innov"),
            *embedded_signature(init_op, event, "init"),
        ]
        out = "(" + ",".join([str(self.steps + 1), *event]) + ")"
        super().__init__(signature=",".join(ins) + "->" + out, dtype=innov_op.dtype)
        self.param_names = (
            *(f"innovation {n}" for n in _param_names(innov_op)),
            *(f"init_dist {n}" for n in _param_names(init_op)),
        )

    def split(self, params):
        """``(innovation params, initial params)``."""
        n = len(self.innov_op.ndims_params)
        return params[:n], params[n:]

    def rng_fn(self, rng, *params, size):
        size = tuple(size)
        innov, init = self.split(params)
        innov = broadcast_params(innov, self.innov_op.ndims_params, size)
        b = len(size)
        innov = [np.expand_dims(p, b) for p in innov]  # a time axis after the batch
        steps = np.asarray(self.innov_op.rng_fn(rng, *innov, size=size + (self.steps,)))
        event = steps.shape[b + 1 :]
        x0 = np.expand_dims(embedded_draw(self.init_op, rng, init, size, event), b)
        return np.concatenate([x0, x0 + np.cumsum(steps, axis=b)], axis=b)


def _param_names(op: RandomVariable) -> tuple[str, ...]:
    names = tuple(type(op).param_names)
    return (
        names
        if len(names) == len(op.ndims_params)
        else tuple(f"parameter {k}" for k in range(len(op.ndims_params)))
    )


class WalkMaths:
    """Density, conditions and moment of the draws of a :class:`RandomWalkRV`."""

    @classmethod
    def node_logp(cls, op, value, params):
        innov, init = op.split(params)
        k = op.innov_op.ndim_supp
        t_axis = value.ndim - 1 - k
        x = value if k == 0 else value
        lo = [slice(None)] * value.ndim
        hi = [slice(None)] * value.ndim
        lo[t_axis], hi[t_axis] = slice(None, -1), slice(1, None)
        diffs = x[tuple(hi)] - x[tuple(lo)]
        first = [slice(None)] * value.ndim
        first[t_axis] = 0
        x0 = value[tuple(first)]
        innov = [
            expand_dims(p, p.ndim - nd)
            for p, nd in zip(innov, op.innov_op.ndims_params)
        ]
        lp = embedded_logp(op.innov_op, diffs, innov, 0).sum(axis=-1)
        return embedded_logp(op.init_op, x0, init, k) + lp

    @classmethod
    def node_param_conditions(cls, op, params):
        innov, init = op.split(params)
        k = op.innov_op.ndim_supp
        return embedded_conditions(
            op.innov_op, innov, 0, "innovation_dist"
        ) + embedded_conditions(op.init_op, init, k, "init_dist")

    @classmethod
    def node_moment(cls, op, params):
        innov, init = op.split(params)
        k = op.innov_op.ndim_supp
        m0 = embedded_moment(op.init_op, init)
        mi = embedded_moment(op.innov_op, innov)
        t = arange(op.steps + 1).astype(m0.dtype)
        if k:
            t = expand_dims(t, -1)
            m0, mi = (m if m.ndim else expand_dims(m, 0) for m in (m0, mi))
        return expand_dims(m0, -1 - k) + t * expand_dims(mi, -1 - k)


def build_walk(
    who: str,
    op: RandomWalkRV,
    innov_params,
    init: Embedded,
    dist_cls,
    size: Any,
    rng: Any,
) -> Variable:
    """The draw of ``op``, after the build-time checks of its parameters."""
    params = [*innov_params, *init.params]
    raise_if_invalid(who, dist_cls.node_param_conditions(op, params))
    return op(*params, size=size, rng=rng)


class RandomWalk(WalkMaths, PerCallDistribution):
    r"""Random walk with any innovation distribution.

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_t - x_{t-1} \sim \text{innovation\_dist}, \quad t = 1, \dots, T

    so :math:`\log p(x) = \log p_0(x_0) + \sum_{t=1}^T \log p_e(x_t - x_{t-1})`.

    Parameters
    ----------
    init_dist : TensorVariable
        The distribution of :math:`x_0`, an unregistered ``.dist(...)``
        variable; univariate, or with the innovations' vector event.
    innovation_dist : TensorVariable
        The distribution of each step, an unregistered ``.dist(...)``
        variable (univariate, or with a vector event ``(n,)``); its batch
        shape is the walk's batch (the steps are independent draws of it).
    steps : int, optional
        ``T``; or give ``shape`` (``(..., T + 1)``, or ``(..., T + 1, n)``).

    Batch dims of both distributions broadcast. A value has shape
    ``(*batch, T + 1)`` (plus ``(n,)`` for vector innovations), with the
    innovations' dtype (a walk of integer steps is discrete).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.RandomWalk.dist(
    ...     init_dist=ppl.Normal.dist(0.0, 1.0),
    ...     innovation_dist=ppl.StudentT.dist(nu=3.0, mu=0.0, sigma=[1.0, 2.0]),
    ...     steps=4,
    ... )
    >>> x.type.shape
    (2, 5)
    >>> ppl.logp(x, np.zeros(5)).eval().round(4)
    array([-4.9225, -7.6951])
    """

    rv_op = RandomWalkRV(1, Normal.rv_op, Normal.rv_op)  # representative
    # names of the representative op's inputs (a Normal walk from a Normal)
    params = ("innovation_mu", "innovation_sigma", "init_mu", "init_sigma")

    @classmethod
    def dist(
        cls,
        init_dist: Variable,
        innovation_dist: Variable,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A walk of ``steps`` steps; ``shape`` (if given) is ``(..., steps + 1[, n])``."""
        node = getattr(innovation_dist, "owner", None)
        k = getattr(node.op, "ndim_supp", 0) if node is not None else 0
        if k > 1:
            raise ValueError(
                "RandomWalk: innovation_dist must be univariate or have a vector "
                f"event, got {k} event dims"
            )
        steps, size = resolve_steps(cls.__name__, steps, shape, size, 1, k)
        event = tuple(draw_shape(innovation_dist)[-k:]) if k else ()
        innov = embed(cls.__name__, "innovation_dist", innovation_dist, event)
        init = embed(cls.__name__, "init_dist", init_dist, event)
        op = RandomWalkRV(steps, init.op, innov.op)
        rv = build_walk(cls.__name__, op, innov.params, init, cls, size, rng)
        return _check_event(cls.__name__, rv, shape, k)

    @classmethod
    def _draw_dtype(cls, init_dist: Variable, innovation_dist: Variable, *a, **kw):
        return innovation_dist.dtype


def _check_event(who: str, rv: Variable, shape: Any, k: int) -> Variable:
    if shape is None or not k:
        return rv
    want = tuple(shape)[-k:]
    got = rv.type.shape[-k:]
    if any(
        isinstance(w, int | np.integer) and g is not None and w != g
        for w, g in zip(want, got)
    ):
        raise ValueError(
            f"{who}: shape {tuple(shape)} does not end with the event {got}"
        )
    return rv


register_op(RandomWalkRV, RandomWalk)


class GaussianRandomWalkRV(RandomWalkRV):
    """Sampler of a walk with normal steps (inputs ``mu, sigma, *init params``)."""

    name = "gaussian_random_walk"

    def __init__(self, steps: int, init_op: RandomVariable, innov_op=None):
        super().__init__(steps, init_op, Normal.rv_op)


class GaussianRandomWalk(WalkMaths, Continuous):
    r"""Random walk with normal innovations.

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_t \mid x_{t-1} \sim \mathcal N(x_{t-1} + \mu, \sigma^2),
        \quad t = 1, \dots, T

    Parameters
    ----------
    mu : tensor_like of float, default 0
        The drift of each step.
    sigma : tensor_like of float, default 1
        The standard deviation of each step (> 0).
    init_dist : TensorVariable, optional
        The distribution of :math:`x_0`, an unregistered univariate
        ``.dist(...)`` variable; default ``Normal.dist(0, 100)`` (PyMC's).
    steps : int, optional
        ``T``; or give ``shape`` (``(..., T + 1)``) or, in a model, ``dims``.

    ``mu``, ``sigma`` and ``init_dist`` carry batch dims that broadcast; a
    value has shape ``(*batch, T + 1)``, time on the last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.GaussianRandomWalk.dist(
    ...     mu=0.0, sigma=[1.0, 2.0], init_dist=ppl.Normal.dist(0.0, 1.0), steps=3
    ... )
    >>> x.type.shape
    (2, 4)
    >>> ppl.logp(x, np.zeros(4)).eval().round(4)  # four N(0, sigma) terms at 0
    array([-3.6758, -5.7552])
    """

    rv_op = GaussianRandomWalkRV(1, Normal.rv_op)  # representative
    params = ("mu", "sigma", "init_mu", "init_sigma")

    @classmethod
    def dist(
        cls,
        mu: Any = 0.0,
        sigma: Any = 1.0,
        init_dist: Any = None,
        steps: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A walk of ``steps`` steps; ``shape`` (if given) is ``(..., steps + 1)``."""
        steps, size = resolve_steps(cls.__name__, steps, shape, size)
        mu, sigma = Normal._convert_params([mu, sigma])
        if init_dist is None:
            init_dist = Normal.dist(0.0, 100.0)
        init = embed(cls.__name__, "init_dist", init_dist)
        op = GaussianRandomWalkRV(steps, init.op)
        return build_walk(cls.__name__, op, [mu, sigma], init, cls, size, rng)
