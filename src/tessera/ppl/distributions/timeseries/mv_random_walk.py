"""Multivariate random walks: MvGaussianRandomWalk and MvStudentTRandomWalk.

Random walks (:class:`~.random_walk.RandomWalkRV`) whose steps are
multivariate normal or Student t vectors of size ``n``: a value has shape
``(*batch, steps + 1, n)``. Every parameter (``mu``, the covariance or
scale, ``nu``, the initial distribution's) carries batch dims that
broadcast; the density factors each covariance once for all steps.

JAX samplers: :mod:`tessera.ppl.jax.timeseries.random_walk`.
"""

from __future__ import annotations

from typing import Any

from tessera.graph.basic import Variable
from tessera.ops.shape import shape_i
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.continuous.unbounded import Normal
from tessera.ppl.distributions.multivariate.normal import MvNormal, MvStudentT
from tessera.ppl.distributions.mv_util import MvMixin, check_symmetric
from tessera.ppl.distributions.timeseries.common import embed, resolve_steps
from tessera.ppl.distributions.timeseries.random_walk import (
    RandomWalkRV,
    WalkMaths,
    _check_event,
    build_walk,
)
from tessera.random.op import RandomVariable

__all__ = [
    "MvGaussianRandomWalk",
    "MvGaussianRandomWalkRV",
    "MvStudentTRandomWalk",
    "MvStudentTRandomWalkRV",
]


class MvGaussianRandomWalkRV(RandomWalkRV):
    """Sampler of ``x_t = x_{t-1} + mu + L z_t``; inputs ``(mu, chol, *init)``."""

    name = "mv_gaussian_random_walk"

    def __init__(self, steps: int, init_op: RandomVariable, innov_op=None):
        super().__init__(steps, init_op, MvNormal.rv_op)


class MvStudentTRandomWalkRV(RandomWalkRV):
    """Sampler of a walk with multivariate t steps; inputs ``(nu, mu, chol, *init)``."""

    name = "mv_studentt_random_walk"

    def __init__(self, steps: int, init_op: RandomVariable, innov_op=None):
        super().__init__(steps, init_op, MvStudentT.rv_op)


def _mv_walk(cls, op_type, innov_params, chol, init_dist, steps, size, shape, rng):
    steps, size = resolve_steps(cls.__name__, steps, shape, size, 1, 1)
    n = chol.type.shape[-1] if chol.type.shape[-1] is not None else shape_i(chol, -1)
    if init_dist is None:
        # PyMC's MvNormal(0, 100 I): independent N(0, 10) components
        init_dist = Normal.dist(0.0, 10.0)
    init = embed(cls.__name__, "init_dist", init_dist, (n,))
    op = op_type(steps, init.op)
    rv = build_walk(cls.__name__, op, innov_params, init, cls, size, rng)
    return _check_event(cls.__name__, rv, shape, 1)


class MvGaussianRandomWalk(WalkMaths, MvMixin, Continuous):
    r"""Random walk with multivariate normal innovations.

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_t - x_{t-1} \sim \mathcal N(\mu, \Sigma), \quad t = 1, \dots, T

    A value has shape ``(..., T + 1, n)`` (``T`` = ``steps``). Parameters:
    ``mu`` of shape ``(..., n)`` (default 0), exactly one of ``cov``,
    ``chol`` or ``tau`` of shape ``(..., n, n)``, ``init_dist`` (a
    ``.dist(...)``: univariate, broadcast over the ``n`` components, or with
    a vector event of size ``n``; default independent ``Normal(0, 10)``
    components, PyMC's ``MvNormal(0, 100 I)``; its own generator is not
    used) and ``steps`` (a static int, or from ``shape[-2] - 1``). Batch
    dims of every parameter broadcast.

    A constant ``cov`` and ``tau`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

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
        # checked here so that an error names this distribution
        check_symmetric(cls.__name__, "cov", cov)
        check_symmetric(cls.__name__, "tau", tau)
        mu, L = MvNormal._canonical_params(mu, cov=cov, chol=chol, tau=tau, lower=lower)
        return _mv_walk(
            cls, MvGaussianRandomWalkRV, [mu, L], L, init_dist, steps, size, shape, rng
        )


class MvStudentTRandomWalk(WalkMaths, MvMixin, Continuous):
    r"""Random walk with multivariate Student t innovations.

    .. math::

        x_0 \sim \text{init\_dist}, \qquad
        x_t - x_{t-1} \sim t_\nu(\mu, \Sigma), \quad t = 1, \dots, T

    with the density of :class:`~tessera.ppl.MvStudentT` for each step.
    Parameters: ``nu`` > 0 (batch-shaped), ``mu`` of shape ``(..., n)``
    (default 0), exactly one of ``scale`` (alias ``cov``, as PyMC accepts),
    ``chol`` or ``tau`` of shape ``(..., n, n)``, ``init_dist`` (as for
    :class:`MvGaussianRandomWalk`) and ``steps``. A value has shape
    ``(..., T + 1, n)``; batch dims of every parameter broadcast.

    A constant ``scale``, ``cov`` and ``tau`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.MvStudentTRandomWalk.dist(
    ...     nu=[3.0, 30.0], mu=np.zeros(2), scale=np.eye(2), steps=2,
    ...     init_dist=ppl.Normal.dist(0.0, 1.0),
    ... )
    >>> x.type.shape
    (2, 3, 2)
    >>> steps = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])  # two (1, 2) steps
    >>> ppl.logp(x, steps).eval().round(4)
    array([-10.4178, -10.4465])
    """

    rv_op = MvStudentTRandomWalkRV(1, MvNormal.rv_op)  # representative
    params = ("nu", "mu", "chol", "init_mu", "init_chol")

    @classmethod
    def dist(
        cls,
        nu: Any,
        mu: Any = 0.0,
        scale: Any = None,
        tau: Any = None,
        chol: Any = None,
        lower: bool = True,
        init_dist: Any = None,
        steps: Any = None,
        cov: Any = None,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A walk of ``steps`` steps; ``shape`` (if given) is ``(..., steps + 1, n)``."""
        if scale is not None and cov is not None:
            raise ValueError("MvStudentTRandomWalk: give scale or cov, not both")
        check_symmetric(
            cls.__name__,
            "scale" if cov is None else "cov",
            scale if cov is None else cov,
        )
        check_symmetric(cls.__name__, "tau", tau)
        nu, mu, L = MvStudentT._convert_params(
            MvStudentT._canonical_params(
                nu,
                mu,
                scale=scale if cov is None else cov,
                chol=chol,
                tau=tau,
                lower=lower,
            )
        )
        return _mv_walk(
            cls,
            MvStudentTRandomWalkRV,
            [nu, mu, L],
            L,
            init_dist,
            steps,
            size,
            shape,
            rng,
        )
