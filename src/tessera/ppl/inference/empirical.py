"""The empirical approximation: a set of particles (posterior draws).

:class:`Empirical` holds ``N`` points of the model's flat unconstrained
space as one shared ``(N, n)`` parameter (``histogram``): the draws of an
InferenceData (NUTS, Pathfinder, another approximation) mapped to the
unconstrained space, or particles that :class:`~tessera.ppl.SVGD` moves.
Its moments are those of the particles; a draw picks a particle uniformly.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     s = ppl.HalfNormal("s", 1.0)
>>> q = ppl.Empirical(size=3, jitter=0.0, model=m)
>>> q.histogram.get_value().shape, round(float(q.mean["s"]), 3)
((3, 1), 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.ops.basic import shared
from tessera.ppl.inference.approximations import Approximation

__all__ = ["Empirical", "flat_from_posterior"]


def flat_from_posterior(model: Any, trace: Any) -> np.ndarray:
    """Posterior draws mapped to the flat unconstrained space, ``(draws, n)``.

    ``trace`` is an InferenceData (its ``posterior`` group; chains are
    stacked), an xarray Dataset or a dict of arrays ``(draws, *shape)`` by
    free-variable name. Each free variable goes through its transform's
    ``forward``, vectorized over the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> flat_from_posterior(m, {"s": np.array([1.0, np.e])})
    array([[0.],
           [1.]])
    """
    from tessera.compile.function import function
    from tessera.ops.type import TensorType
    from tessera.ops.vectorize import vectorize_graph

    post = getattr(trace, "posterior", trace)
    layout = model.flat_layout()
    cols, n_draws = [], None
    for name in layout.names:
        value = next(v for v in model.value_vars if v.name == name)
        rv = model.values_to_rvs[value]
        if rv.name not in post:
            raise KeyError(
                f"Empirical: the trace has no draws of the free variable {rv.name!r}"
            )
        arr = np.asarray(post[rv.name], dtype=np.float64)
        if hasattr(post, "dims") and "chain" in getattr(post[rv.name], "dims", ()):
            arr = arr.reshape((-1, *arr.shape[2:]))
        n_draws = arr.shape[0] if n_draws is None else n_draws
        if arr.shape[0] != n_draws:
            raise ValueError("Empirical: the variables have different numbers of draws")
        t = model.rvs_to_transforms[rv]
        if t is not None:
            one = TensorType("float64", arr.shape[1:])(name="v")
            many = TensorType("float64", arr.shape)(name="vs")
            fwd = vectorize_graph(t.forward(one), {one: many})
            arr = np.asarray(function([many], fwd)(arr))
        cols.append(arr.reshape(n_draws, -1))
    return np.concatenate(cols, axis=1)


class Empirical(Approximation):
    """Particles on the model's flat unconstrained space.

    Parameters
    ----------
    trace : InferenceData, xarray Dataset or dict, optional
        Posterior draws (see :func:`flat_from_posterior`).
    size : int, optional
        Without ``trace``: this many particles at ``start`` plus
        ``jitter`` times standard normal noise.
    jitter : float
    start : dict, optional
        Free variables (original space) or value variables (unconstrained).
    model : Model, optional
    random_seed : int, optional

    Attributes
    ----------
    histogram : SharedVariable
        The ``(N, n)`` particles (the approximation's one parameter).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0)
    >>> q = ppl.Empirical({"x": np.array([0.0, 1.0, 2.0])}, model=m)
    >>> float(q.mean["x"]), q.sample(4, random_seed=0).posterior["x"].shape
    (1.0, (1, 4))
    """

    def __init__(
        self,
        trace: Any = None,
        size: int | None = None,
        jitter: float = 1.0,
        start: dict | None = None,
        model: Any = None,
        random_seed: Any = None,
    ) -> None:
        from tessera.ppl.inference.start import start_values
        from tessera.ppl.model.context import modelcontext

        model = modelcontext(model)
        super().__init__(model)
        if isinstance(trace, np.ndarray) and trace.ndim == 2:
            particles = trace  # flat particles (see from_flat)
        elif trace is not None:
            particles = flat_from_posterior(model, trace)
        else:
            if size is None or int(size) < 1:
                raise ValueError("Empirical: give a trace or a size >= 1")
            rng = np.random.default_rng(random_seed)
            point = model.initial_point(random_seed=int(rng.integers(2**31)))
            point.update(start_values(model, start, "Empirical: start"))
            x0 = model.point_to_array(point)
            noise = rng.standard_normal((int(size), self.size))
            particles = x0 + float(jitter) * noise
        self.histogram = shared(
            np.ascontiguousarray(particles, dtype=np.float64),
            name="histogram",
            shape=particles.shape,
        )
        self.params = [self.histogram]

    @classmethod
    def from_flat(cls, particles: np.ndarray, model: Any = None) -> Empirical:
        """Particles given on the flat unconstrained space, ``(N, n)``.

        Examples
        --------
        >>> import numpy as np
        >>> from tessera import ppl
        >>> with ppl.Model() as m:
        ...     x = ppl.Normal("x", 0.0, 1.0)
        >>> Empirical.from_flat(np.zeros((4, 1)), model=m).n_particles
        4
        """
        particles = np.asarray(particles, dtype=np.float64)
        if particles.ndim != 2:
            raise ValueError(f"particles must be (N, n), got {particles.shape}")
        return cls(particles, model=model)

    @property
    def n_particles(self) -> int:
        """Number of particles."""
        return int(self.histogram.type.shape[0])

    def _particles(self) -> np.ndarray:
        return np.asarray(self.histogram.get_value(borrow=True))

    # --- symbolic: a draw picks a particle -----------------------------------
    def symbolic_random(self, size: int):
        from tessera.ppl.distributions import DiscreteUniform

        idx = DiscreteUniform.dist(0, self.n_particles - 1, size=(int(size),))
        return self.histogram[idx]

    # --- numeric --------------------------------------------------------------
    def _flat_mc(self) -> np.ndarray:
        return self._particles()

    @property
    def mean_flat(self) -> np.ndarray:
        return self._particles().mean(axis=0)

    @property
    def cov_flat(self) -> np.ndarray:
        return np.atleast_2d(np.cov(self._particles(), rowvar=False))

    def draws_from_eps(self, eps: np.ndarray) -> np.ndarray:
        """The particles (an empirical approximation has no noise input)."""
        return self._particles()

    def sample_flat(self, draws: int, random_seed: Any = None) -> np.ndarray:
        idx = np.random.default_rng(random_seed).integers(
            0, self.n_particles, size=int(draws)
        )
        return self._particles()[idx]
