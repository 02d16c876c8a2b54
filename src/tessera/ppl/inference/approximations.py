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
Approximations that are not Gaussian (normalizing flows, particles) use
Monte-Carlo (or particle) moments throughout.

Graphs of draws
---------------
:meth:`Approximation.sample_node` returns a graph drawing a model variable
(or any graph of the model's variables) under the approximation: a random
node of standard normals (or of particle indices) pushed through the
approximation and the backward transforms, vectorized over the draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.ops.basic import shared
from tessera.ops.math import log, softplus

_LOG_2PI_E = float(np.log(2 * np.pi) + 1.0)

__all__ = ["Approximation", "FullRank", "MeanField", "flat_replacements"]


def flat_replacements(model, x) -> dict:
    """``{value variable: its slice of the flat vector x, reshaped}``.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     a = ppl.Normal("a", 0.0, 1.0, shape=2)
    >>> x = ts.tensor("x", shape=(2,))
    >>> list(flat_replacements(m, x))[0].name
    'a'
    """
    layout = model.flat_layout()
    by_name = {v.name: v for v in model.value_vars}
    repl = {}
    for name, sl, shape in zip(layout.names, layout.slices, layout.shapes):
        v = by_name[name]
        part = x[sl].reshape(shape)
        repl[v] = part if v.dtype == "float64" else part.astype(v.dtype)
    return repl


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
    #: moments of untransformed free RVs come from mean_flat/std_flat exactly
    exact_moments = False

    def __init__(self, model, start: np.ndarray | None = None) -> None:
        self.model = model
        self.layout = model.flat_layout()
        self.size = self.layout.size
        self.hist = np.zeros(0)
        self._to_values = None
        if start is None:  # approximations without a location parameter
            return
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (self.layout.size,):
            raise ValueError(
                f"start has shape {start.shape}, expected ({self.layout.size},)"
            )
        self.mu = shared(start.copy(), name="mu", shape=(self.size,))

    # --- symbolic ------------------------------------------------------------
    def symbolic_draws(self, eps):
        """``z`` from standard normal ``eps`` of shape ``(..., n)``."""
        raise NotImplementedError

    def symbolic_entropy(self):
        """The entropy of the approximation (a scalar graph)."""
        raise NotImplementedError

    def symbolic_elbo_parts(self, eps):
        """``(z, entropy)``: draws from ``eps`` and the entropy (estimate)."""
        return self.symbolic_draws(eps), self.symbolic_entropy()

    def symbolic_random(self, size: int):
        """A graph of ``size`` fresh draws on the flat space, ``(size, n)``."""
        from tessera.ppl.distributions import Normal

        return self.symbolic_draws(Normal.dist(0.0, 1.0, size=(int(size), self.size)))

    # --- numeric -------------------------------------------------------------
    def _param_key(self) -> tuple:
        return tuple(
            np.asarray(p.get_value(borrow=True)).tobytes() for p in self.params
        )

    def _flat_mc(self) -> np.ndarray:
        key = self._param_key()
        cached = getattr(self, "_flat_mc_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        flat = self.sample_flat(self.mc_draws, random_seed=0)
        self._flat_mc_cache = (key, flat)
        return flat

    @property
    def mean_flat(self) -> np.ndarray:
        """Mean on the flat unconstrained space."""
        return self._flat_mc().mean(axis=0)

    @property
    def cov_flat(self) -> np.ndarray:
        """Covariance on the flat unconstrained space."""
        return np.atleast_2d(np.cov(self._flat_mc(), rowvar=False))

    @property
    def std_flat(self) -> np.ndarray:
        """Standard deviations on the flat unconstrained space."""
        return np.sqrt(np.diag(self.cov_flat))

    def draws_from_eps(self, eps: np.ndarray) -> np.ndarray:
        """Numeric :meth:`symbolic_draws` of ``eps`` (shape ``(..., n)``)."""
        fn = getattr(self, "_draws_fn", None)
        if fn is None:
            from tessera.compile.function import function
            from tessera.ops.type import TensorType

            e = TensorType("float64", (None, self.size))(name="eps")
            fn = self._draws_fn = function([e], self.symbolic_draws(e))
        eps = np.asarray(eps, dtype=np.float64)
        return np.asarray(fn(eps.reshape(-1, self.size))).reshape(eps.shape)

    def sample_flat(self, draws: int, random_seed: Any = None) -> np.ndarray:
        """``(draws, n)`` draws on the flat unconstrained space."""
        eps = np.random.default_rng(random_seed).standard_normal(
            (int(draws), self.size)
        )
        return self.draws_from_eps(eps)

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
        key = self._param_key()
        cached = getattr(self, "_mc_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        values = self._values(self._flat_mc())
        self._mc_cache = (key, values)
        return values

    def _moment(self, flat: np.ndarray, mc_stat) -> dict[str, np.ndarray]:
        """Per variable: its slice of ``flat`` (exact) or ``mc_stat`` of draws."""
        exact = self._exact_names() if self.exact_moments else {}
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
        exact = self._exact_names() if self.exact_moments else {}
        free = [rv.name for rv in self.model.free_RVs]
        if all(n in exact for n in free):
            idx = np.concatenate([np.arange(self.size)[exact[n][0]] for n in free])
            return self.cov_flat[np.ix_(idx, idx)]
        values = self._mc()
        flat = np.concatenate([values[n].reshape(len(values[n]), -1) for n in free], 1)
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

    def sample_flat_logq(self, draws: int, random_seed: Any = None):
        """``(draws, n)`` flat draws and ``log q`` of each (for importance
        weights ``log p - log q`` and their Pareto ``k``)."""
        raise NotImplementedError(f"{type(self).__name__} has no density")

    def sample_node(self, node, size: int | None = None):
        """A graph drawing ``node`` under the approximation.

        Parameters
        ----------
        node : Variable, str or list of them
            Free RVs, deterministics or any graph of the model's variables.
        size : int, optional
            Draws: the result gains a leading axis of this length (none when
            ``size`` is None: one draw).

        Returns
        -------
        TensorVariable or list of them
            Fresh draws at every evaluation (a random node inside).

        Examples
        --------
        >>> import numpy as np
        >>> from tessera import ppl
        >>> with ppl.Model() as m:
        ...     s = ppl.HalfNormal("s", 1.0)
        >>> q = MeanField(m, np.array([0.0]), init_std=1e-6)
        >>> round(float(q.sample_node(s).eval()), 3), q.sample_node("s", 5).type.shape
        (1.0, (5,))
        """
        from tessera.graph.traversal import clone_replace
        from tessera.ops.type import TensorType
        from tessera.ops.vectorize import vectorize_graph
        from tessera.ppl.model.compile import replace_rvs_by_values

        single = not isinstance(node, list | tuple)
        nodes = [node] if single else list(node)
        nodes = [self.model[v] if isinstance(v, str) else v for v in nodes]
        outs = replace_rvs_by_values(self.model, nodes)
        x = TensorType("float64", (self.size,))(name="x")
        outs = clone_replace(outs, flat_replacements(self.model, x))
        z = self.symbolic_random(1 if size is None else size)
        if size is None:
            res = clone_replace(outs, {x: z[0]})
        else:
            res = vectorize_graph(outs, {x: z})
        return res[0] if single else res

    def flat_labels(self) -> list[str]:
        """Labels of the flat unconstrained entries (``"sigma_log__"``)."""
        return [
            label
            for name, shape in zip(self.layout.names, self.layout.shapes)
            for label in _entry_labels(name, shape)
        ]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.size} unconstrained values>"


def _gaussian_logq(z, mean, L):
    """``log N(z; mean, L L^T)`` of the rows of ``z``."""
    from scipy.linalg import solve_triangular

    u = solve_triangular(L, (z - mean).T, lower=True).T
    logdet = 2.0 * np.log(np.abs(np.diag(L))).sum()
    return -0.5 * ((u * u).sum(axis=1) + logdet + z.shape[1] * np.log(2 * np.pi))


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

    exact_moments = True

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
        return np.logaddexp(0.0, np.asarray(self.rho.get_value()))

    @property
    def cov_flat(self) -> np.ndarray:
        return np.diag(self.std_flat**2)

    @property
    def mean_flat(self) -> np.ndarray:
        return np.array(self.mu.get_value())

    def sample_flat(self, draws: int, random_seed: Any = None) -> np.ndarray:
        eps = np.random.default_rng(random_seed).standard_normal(
            (int(draws), self.size)
        )
        return np.asarray(self.mu.get_value(borrow=True)) + eps * self.std_flat

    def sample_flat_logq(self, draws: int, random_seed: Any = None):
        z = self.sample_flat(draws, random_seed)
        return z, _gaussian_logq(z, self.mean_flat, np.diag(self.std_flat))


class FullRank(Approximation):
    """``N(mu, L L^T)`` with ``L`` lower triangular: correlated Gaussians.

    ``L = diag(softplus(rho)) (I + U)`` with ``U`` the strict lower triangle
    of a free ``n x n`` parameter (as NumPyro's ``AutoMultivariateNormal``):
    the diagonal stays positive, and an optimizer step on ``U`` moves ``L``
    by the row's scale, not by the step itself. (A free ``L`` lets Adam,
    whose steps have the learning rate's size whatever the gradient, grow
    all ``n (n - 1) / 2`` off-diagonal entries at once: on the 161-dim
    hierarchical MvNormal of ``benchmarks/vi.py`` the ELBO went to -1e12.)

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

    exact_moments = True

    def __init__(self, model, start: np.ndarray, init_std: float = 1.0) -> None:
        super().__init__(model, start)
        rho = np.log(np.expm1(init_std)) * np.ones(self.size)  # softplus^-1
        self.rho = shared(rho, name="rho", shape=(self.size,))
        self.U = shared(
            np.zeros((self.size, self.size)), name="L_unit", shape=(self.size,) * 2
        )
        self._mask = np.tril(np.ones((self.size, self.size)), -1)
        self.params = [self.mu, self.U, self.rho]

    @property
    def L(self) -> np.ndarray:
        """The Cholesky factor of the covariance (flat unconstrained space)."""
        scale = np.logaddexp(0.0, np.asarray(self.rho.get_value()))
        unit = np.tril(np.asarray(self.U.get_value()), -1) + np.eye(self.size)
        return scale[:, None] * unit

    def _symbolic_L(self):
        unit = self.U * self._mask + np.eye(self.size)
        return softplus(self.rho)[:, None] * unit

    def symbolic_draws(self, eps):
        # row vectors: z = mu + eps @ L^T works for (n,) and (S, n) alike
        return self.mu + eps @ self._symbolic_L().T

    def symbolic_entropy(self):
        return log(softplus(self.rho)).sum() + 0.5 * self.size * _LOG_2PI_E

    @property
    def cov_flat(self) -> np.ndarray:
        L = self.L
        return L @ L.T

    @property
    def mean_flat(self) -> np.ndarray:
        return np.array(self.mu.get_value())

    def sample_flat(self, draws: int, random_seed: Any = None) -> np.ndarray:
        eps = np.random.default_rng(random_seed).standard_normal(
            (int(draws), self.size)
        )
        return np.asarray(self.mu.get_value(borrow=True)) + eps @ self.L.T

    def sample_flat_logq(self, draws: int, random_seed: Any = None):
        z = self.sample_flat(draws, random_seed)
        return z, _gaussian_logq(z, self.mean_flat, self.L)
