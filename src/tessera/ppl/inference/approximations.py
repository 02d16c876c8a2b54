"""Gaussian approximations on a model's flat unconstrained vector.

:class:`MeanField` is ``N(mu, diag(sigma**2))`` with ``sigma =
softplus(rho)``; :class:`FullRank` is ``N(mu, L L^T)`` with ``L`` lower
triangular. Their parameters are tessera shared variables, so an ELBO
graph built from :meth:`Approximation.symbolic_draws` and
:meth:`Approximation.symbolic_entropy` updates them in place through a
compiled step function (see :mod:`tessera.ppl.inference.advi`).

Results in the original space
-----------------------------
``mean``, ``std`` and ``cov`` are moments of the approximation pushed
through the backward transforms: exact for free variables without a
transform (an affine image of a Gaussian), Monte-Carlo estimates from
``mc_draws`` draws with a fixed seed otherwise (the transformed variables
and deterministics), so repeated access gives the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.ops.basic import shared
from tessera.ops.math import abs as ts_abs
from tessera.ops.math import log, softplus

_LOG_2PI_E = float(np.log(2 * np.pi) + 1.0)

__all__ = ["Approximation", "FullRank", "MeanField"]


def _entry_labels(name: str, shape: tuple) -> list[str]:
    """``["x"]`` for a scalar, ``["x[0, 0]", "x[0, 1]", ...]`` otherwise."""
    if not shape:
        return [name]
    return [f"{name}[{', '.join(map(str, i))}]" for i in np.ndindex(*shape)]


class Approximation:
    """Base class: a Gaussian over the model's flat unconstrained vector.

    Attributes
    ----------
    model : Model
    layout : FlatLayout
        How the flat vector splits into value variables.
    params : list of SharedVariable
        What the optimizer updates.
    hist : ndarray
        The ELBO at each iteration of the fits so far (set by the fit).
    mc_draws : int
        Draws behind the Monte-Carlo moments in the original space.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> q = MeanField(m, np.array([0.0]), init_std=0.1)  # s = exp(N(0, 0.1^2))
    >>> round(float(q.mean["s"]), 2), q.flat_labels()
    (1.0, ['s_log__'])
    """

    mc_draws = 4000
    params: list

    def __init__(self, model, start: np.ndarray) -> None:
        self.model = model
        self.layout = model.flat_layout()
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (self.layout.size,):
            raise ValueError(
                f"start has shape {start.shape}, expected ({self.layout.size},)"
            )
        self.size = self.layout.size
        self.mu = shared(start.copy(), name="mu", shape=(self.size,))
        self.hist = np.zeros(0)
        self._to_values = None

    # --- symbolic ------------------------------------------------------------
    def symbolic_draws(self, eps):
        """``z`` from standard normal ``eps`` of shape ``(..., n)``."""
        raise NotImplementedError

    def symbolic_entropy(self):
        """The entropy of the approximation (a scalar graph)."""
        raise NotImplementedError

    # --- numeric -------------------------------------------------------------
    @property
    def mean_flat(self) -> np.ndarray:
        """Mean on the flat unconstrained space."""
        return self.mu.get_value()

    @property
    def cov_flat(self) -> np.ndarray:
        """Covariance on the flat unconstrained space."""
        raise NotImplementedError

    @property
    def std_flat(self) -> np.ndarray:
        """Standard deviations on the flat unconstrained space."""
        return np.sqrt(np.diag(self.cov_flat))

    def _scale_flat(self, eps: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample_flat(self, draws: int, random_seed: Any = None) -> np.ndarray:
        """``(draws, n)`` draws on the flat unconstrained space."""
        eps = np.random.default_rng(random_seed).standard_normal(
            (int(draws), self.size)
        )
        return self.mu.get_value(borrow=True) + self._scale_flat(eps)

    def _values(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        if self._to_values is None:
            self._to_values = self.model.compile_constrained_draws()
        return self._to_values(flat)

    def sample(
        self,
        draws: int = 1000,
        random_seed: Any = None,
        return_inferencedata: bool = True,
    ):
        """Draws from the approximation, in the original space.

        Parameters
        ----------
        draws : int
        random_seed : int, SeedSequence or Generator, optional
        return_inferencedata : bool
            False: a dict of name to array of shape ``(draws, ...)``.

        Returns
        -------
        arviz.InferenceData
            A ``posterior`` group (one chain) with the free RVs and
            deterministics under the model's coords and dims, plus
            ``observed_data`` and ``constant_data``.
        """
        if int(draws) < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        flat = self.sample_flat(draws, random_seed)
        if not return_inferencedata:
            return self._values(flat)
        from tessera.ppl.model.idata import posterior_from_flat

        return posterior_from_flat(
            self.model, flat[None], attrs={"approximation": type(self).__name__}
        )

    def _exact_names(self) -> dict[str, slice]:
        """Free RVs whose value is their flat slice (no transform)."""
        out = {}
        for rv in self.model.free_RVs:
            value = self.model.rvs_to_values[rv]
            if self.model.rvs_to_transforms[rv] is None and value.name in (
                self.layout.names
            ):
                k = self.layout.names.index(value.name)
                out[rv.name] = (self.layout.slices[k], self.layout.shapes[k])
        return out

    def _mc(self) -> dict[str, np.ndarray]:
        key = tuple(p.get_value(borrow=True).tobytes() for p in self.params)
        cached = getattr(self, "_mc_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        values = self._values(self.sample_flat(self.mc_draws, random_seed=0))
        self._mc_cache = (key, values)
        return values

    def _moment(self, flat: np.ndarray, mc_stat) -> dict[str, np.ndarray]:
        """Per variable: its slice of ``flat`` (exact) or ``mc_stat`` of draws."""
        exact = self._exact_names()
        out = {}
        for name, v in self._mc().items():
            if name in exact:
                sl, shape = exact[name]
                out[name] = flat[sl].reshape(shape)
            else:
                out[name] = mc_stat(v, axis=0)
        return out

    @property
    def mean(self) -> dict[str, np.ndarray]:
        """Means in the original space (free RVs and deterministics)."""
        return self._moment(self.mean_flat, np.mean)

    @property
    def std(self) -> dict[str, np.ndarray]:
        """Standard deviations in the original space."""
        return self._moment(self.std_flat, np.std)

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the free RVs (original space), flattened in
        ``model.free_RVs`` order; see :attr:`cov_labels`."""
        exact = self._exact_names()
        free = [rv.name for rv in self.model.free_RVs]
        if all(n in exact for n in free):
            idx = np.concatenate([np.arange(self.size)[exact[n][0]] for n in free])
            return self.cov_flat[np.ix_(idx, idx)]
        values = self._mc()
        flat = np.concatenate(
            [values[n].reshape(self.mc_draws, -1) for n in free], axis=1
        )
        return np.atleast_2d(np.cov(flat, rowvar=False))

    @property
    def cov_labels(self) -> list[str]:
        """Labels of the rows of :attr:`cov` (``"beta[0]"``, ``"sigma"``)."""
        values = self._mc()
        return [
            label
            for rv in self.model.free_RVs
            for label in _entry_labels(rv.name, values[rv.name].shape[1:])
        ]

    def flat_labels(self) -> list[str]:
        """Labels of the flat unconstrained entries (``"sigma_log__"``)."""
        return [
            label
            for name, shape in zip(self.layout.names, self.layout.shapes)
            for label in _entry_labels(name, shape)
        ]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.size} unconstrained values>"


class MeanField(Approximation):
    """``N(mu, diag(softplus(rho)**2))``: independent Gaussians.

    Parameters
    ----------
    model : Model
    start : ndarray
        Initial ``mu`` (a flat unconstrained vector).
    init_std : float
        Initial standard deviation of every entry.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> q = MeanField(m, np.array([1.0, 2.0]), init_std=0.5)
    >>> q.std_flat
    array([0.5, 0.5])
    """

    def __init__(self, model, start: np.ndarray, init_std: float = 1.0) -> None:
        super().__init__(model, start)
        rho = np.log(np.expm1(init_std)) * np.ones(self.size)  # softplus^-1
        self.rho = shared(rho, name="rho", shape=(self.size,))
        self.params = [self.mu, self.rho]

    def symbolic_draws(self, eps):
        return self.mu + softplus(self.rho) * eps

    def symbolic_entropy(self):
        return log(softplus(self.rho)).sum() + 0.5 * self.size * _LOG_2PI_E

    @property
    def std_flat(self) -> np.ndarray:
        return np.logaddexp(0.0, self.rho.get_value())

    @property
    def cov_flat(self) -> np.ndarray:
        return np.diag(self.std_flat**2)

    def _scale_flat(self, eps):
        return eps * self.std_flat


class FullRank(Approximation):
    """``N(mu, L L^T)`` with ``L`` lower triangular: correlated Gaussians.

    ``L`` is the lower triangle of a free ``n x n`` parameter; its diagonal
    may take either sign (the entropy uses ``log |L_ii|``).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> FullRank(m, np.zeros(2)).cov_flat
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, model, start: np.ndarray, init_std: float = 1.0) -> None:
        super().__init__(model, start)
        self.L_raw = shared(
            np.eye(self.size) * init_std, name="L", shape=(self.size, self.size)
        )
        self._mask = np.tril(np.ones((self.size, self.size)))
        self.params = [self.mu, self.L_raw]

    @property
    def L(self) -> np.ndarray:
        """The Cholesky factor of the covariance (flat unconstrained space)."""
        return np.tril(self.L_raw.get_value())

    def _symbolic_L(self):
        return self.L_raw * self._mask

    def symbolic_draws(self, eps):
        # row vectors: z = mu + eps @ L^T works for (n,) and (S, n) alike
        return self.mu + eps @ self._symbolic_L().T

    def symbolic_entropy(self):
        from tessera.ops.linalg import diagonal

        d = diagonal(self.L_raw)
        return log(ts_abs(d)).sum() + 0.5 * self.size * _LOG_2PI_E

    @property
    def cov_flat(self) -> np.ndarray:
        L = self.L
        return L @ L.T

    def _scale_flat(self, eps):
        return eps @ self.L.T
