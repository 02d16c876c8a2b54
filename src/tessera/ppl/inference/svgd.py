"""Stein variational gradient descent (SVGD) and its amortized form (ASVGD).

SVGD (Liu & Wang, 2016) moves ``N`` particles ``x_i`` along

.. math:: \\phi(x_i) = \\frac{1}{N} \\sum_j \\Big[ k(x_j, x_i)
          \\frac{\\nabla \\log p(x_j)}{T} + \\nabla_{x_j} k(x_j, x_i) \\Big],

the direction that most decreases the KL divergence to the posterior in the
unit ball of the kernel's RKHS: the first term pulls particles to high
density, the second keeps them apart. ``T`` is the temperature (larger:
broader). The kernel is the RBF ``k(x, y) = exp(-|x - y|^2 / h)`` with the
median heuristic ``h = med / log(N + 1)`` (``med``: the median of the
squared distances between particles, computed in the graph by bisection so
that it lowers to every backend).

ASVGD applies the same direction to draws ``z = f_theta(eps)`` of a
parametric approximation (full-rank Gaussian by default) and moves its
parameters by the chain rule, ``sum_i phi(z_i) dz_i/dtheta``.

The whole update is one graph: the optimizer treats ``-phi`` as the
gradient, so a step is one compiled call (see :mod:`.engine`).

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     x = ppl.Normal("x", 1.0, 0.5)
>>> svgd = ppl.SVGD(n_particles=50, model=m, random_seed=0)
>>> approx = svgd.fit(600, progressbar=False, obj_optimizer=ppl.adam(0.05))
>>> round(float(approx.mean["x"]), 1), round(float(approx.std["x"]), 1)
(1.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ops.math import exp, maximum, where
from tessera.ppl.inference.engine import Inference

__all__ = ["ASVGD", "SVGD", "lower_median", "rbf_kernel", "stein_direction"]

#: bisection rounds of :func:`lower_median` (relative precision 2**-40)
_MEDIAN_ROUNDS = 40


def lower_median(values, rounds: int = _MEDIAN_ROUNDS):
    """The lower median of a non-negative tensor with a static size, by
    bisection on ``[0, max]`` (comparisons and sums only, no sort).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> v = ts.constant(np.array([4.0, 1.0, 3.0, 2.0]))
    >>> round(float(lower_median(v).eval()), 6)
    2.0
    """
    m = int(np.prod(values.type.shape))
    target = (m - 1) // 2 + 1
    lo = values.min() * 0.0
    hi = values.max()
    for _ in range(int(rounds)):
        mid = 0.5 * (lo + hi)
        enough = (values <= mid).sum() >= target
        hi = where(enough, mid, hi)
        lo = where(enough, lo, mid)
    return hi


def rbf_kernel(X):
    """``(K, h)``: the RBF kernel matrix of the rows of ``X`` (``(N, n)``)
    with the median-heuristic bandwidth ``h``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> X = ts.constant(np.array([[0.0], [1.0], [3.0]]))
    >>> K, h = rbf_kernel(X)
    >>> K.eval().round(3)[0, 1] == round(np.exp(-1 / (1 / np.log(4))), 3)
    np.True_
    """
    N = int(X.type.shape[0])
    sq = (X * X).sum(axis=1)
    D = maximum(sq[:, None] + sq[None, :] - 2.0 * (X @ X.T), 0.0)
    med = lower_median(D)
    h = where(med > 0, med, 1.0) / float(np.log(N + 1.0))
    return exp(-D / h), h


def stein_direction(X, G, temperature: float = 1.0, kernel: Any = "rbf"):
    """The SVGD direction ``phi`` at particles ``X`` with log-density
    gradients ``G`` (both ``(N, n)``).

    ``kernel`` is ``"rbf"`` or a callable ``X -> (K, h)`` of an RBF-type
    kernel ``exp(-|x - y|^2 / h)``; for another kernel pass a callable
    ``X -> (K, repulsion)`` with ``repulsion[i] = sum_j grad_{x_j} k(x_j, x_i)``
    and set its attribute ``gives_repulsion = True``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> X = ts.constant(np.zeros((3, 2)))
    >>> stein_direction(X, 1.0 - X).eval()[0]  # all at 0, gradient 1: up
    array([1., 1.])
    """
    N = int(X.type.shape[0])
    if kernel == "rbf":
        kernel = rbf_kernel
    if not callable(kernel):
        raise ValueError(f"kernel must be 'rbf' or a callable, got {kernel!r}")
    K, second = kernel(X)
    if getattr(kernel, "gives_repulsion", False):
        repulsion = second
    else:
        repulsion = (2.0 / second) * (X * K.sum(axis=1)[:, None] - K @ X)
    drive = K @ G
    if float(temperature) != 1.0:
        drive = drive / float(temperature)
    return (drive + repulsion) / float(N)


def _logp_and_grad(model, X):
    """Per-row log-density of the particles and its gradient."""
    from tessera.grad import grad
    from tessera.ppl.inference.advi import batched_logp

    lp = batched_logp(model, X)
    return lp, grad(lp.sum(), X)


class SVGD(Inference):
    """Stein variational gradient descent on ``n_particles`` particles.

    Parameters
    ----------
    n_particles : int
    jitter : float
        Particles start at ``start`` plus ``jitter`` times standard normal
        noise (unconstrained space).
    model : Model, optional
    start : dict, optional
    random_seed : int, optional
    temperature : float
        Divides the log-density gradient (larger: broader particles).
    kernel : "rbf" or callable
        See :func:`stein_direction`.
    obj_optimizer : Optimizer, optional
        Default: ``adam(0.01)``; it receives ``-phi`` as the gradient.
    backend : {"auto", "numpy", "jax"} or Backend

    Attributes
    ----------
    approx : Empirical
        The particles. ``approx.hist`` records the particles' mean
        log-density at each step (SVGD has no ELBO).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> ppl.SVGD(n_particles=10, model=m).approx.histogram.get_value().shape
    (10, 2)
    """

    value_name = "mean logp"

    def __init__(
        self,
        n_particles: int = 100,
        jitter: float = 1.0,
        model: Any = None,
        start: dict | None = None,
        random_seed: Any = None,
        temperature: float = 1.0,
        kernel: str | Callable = "rbf",
        obj_optimizer: Callable | None = None,
        backend: str | Backend = "auto",
        obj_n_mc: int | None = None,
    ) -> None:
        from tessera.ppl.inference.empirical import Empirical

        point = self._setup(model, random_seed, start, obj_optimizer, backend)
        if int(n_particles) < 2:
            raise ValueError(f"SVGD needs n_particles >= 2, got {n_particles}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature, self.kernel = float(temperature), kernel
        x0 = self.model.point_to_array(point)
        rng = np.random.default_rng(self._init_seed)
        particles = x0 + float(jitter) * rng.standard_normal(
            (int(n_particles), x0.size)
        )
        self.approx = Empirical.from_flat(particles, model=self.model)
        self.obj_n_mc = 1
        self._build(self._seed)

    @property
    def eps_shape(self) -> tuple:
        return (0,)  # deterministic: no draws

    def _objective(self, eps):
        X = self.approx.histogram
        lp, G = _logp_and_grad(self.model, X)
        phi = stein_direction(X, G, self.temperature, self.kernel)
        return lp.mean(), [-phi]


class ASVGD(Inference):
    """Amortized SVGD: the SVGD direction moves a parametric approximation.

    Parameters
    ----------
    approx : {"fullrank", "meanfield"} or Approximation, optional
        Default: a full-rank Gaussian at the model's initial point.
    obj_n_mc : int
        Draws (particles) per step.
    temperature, kernel
        As for :class:`SVGD`.
    model, start, random_seed, obj_optimizer, backend
        As for :class:`~tessera.ppl.ADVI`.
    init_std : float
        Starting standard deviation of the ``"fullrank"`` or ``"meanfield"``
        approximation (1.0, close to PyMC's ASVGD, whose ``FullRank`` starts
        at softplus(1) = 1.3; ADVI starts at 0.1).

    Attributes
    ----------
    approx : Approximation
        ``approx.hist`` records the ELBO estimate at each step.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> type(ppl.ASVGD(model=m, obj_n_mc=20).approx).__name__
    'FullRank'
    """

    def __init__(
        self,
        approx: Any = None,
        model: Any = None,
        start: dict | None = None,
        random_seed: Any = None,
        obj_n_mc: int = 500,
        temperature: float = 1.0,
        kernel: str | Callable = "rbf",
        obj_optimizer: Callable | None = None,
        backend: str | Backend = "auto",
        init_std: float = 1.0,
    ) -> None:
        from tessera.ppl.inference.approximations import (
            Approximation,
            FullRank,
            MeanField,
        )

        point = self._setup(model, random_seed, start, obj_optimizer, backend)
        if int(obj_n_mc) < 2:
            raise ValueError(f"ASVGD needs obj_n_mc >= 2 particles, got {obj_n_mc}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.obj_n_mc = int(obj_n_mc)
        self.temperature, self.kernel = float(temperature), kernel
        x0 = self.model.point_to_array(point)
        kinds = {None: FullRank, "fullrank": FullRank, "meanfield": MeanField}
        if isinstance(approx, Approximation):
            self.approx = approx
        elif approx in kinds:
            self.approx = kinds[approx](self.model, x0, init_std=init_std)
        else:
            raise ValueError(
                f"ASVGD: approx must be 'fullrank', 'meanfield' or an "
                f"Approximation, got {approx!r}"
            )
        self._build(self._seed)

    @property
    def eps_shape(self) -> tuple:
        return (self.obj_n_mc, self.approx.size)

    def _objective(self, eps):
        from tessera.grad import pullback_graph
        from tessera.graph.traversal import clone_replace
        from tessera.ops.type import TensorType

        z, entropy = self.approx.symbolic_elbo_parts(eps)
        Z = TensorType("float64", self.eps_shape)(name="particles")
        lp, G = _logp_and_grad(self.model, Z)
        phi = stein_direction(Z, G, self.temperature, self.kernel)
        lp, phi = clone_replace([lp, phi], {Z: z})
        # phi is a cotangent, not differentiated: the parameters move by
        # sum_i phi(z_i) dz_i/dtheta
        grads = pullback_graph([z], [-phi], list(self.approx.params))
        return lp.mean() + entropy, grads
