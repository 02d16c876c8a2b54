"""Normalizing-flow variational inference (NFVI).

The approximation pushes standard normal draws ``eps`` through a sequence
of flows (:mod:`.flows`), ``z = f_K(... f_1(eps))``, with density

.. math:: \\log q(z) = \\log N(\\epsilon; 0, I) - \\sum_k \\log |\\det J_{f_k}|,

so the ELBO estimate is the mean of ``log p(z)`` plus the mean summed
log-det-Jacobians plus the base entropy ``n/2 log(2 pi e)``. The default
flow, ``"scale-loc"``, is the mean-field Gaussian; planar and radial flows
add non-Gaussian shape (bananas); inverse autoregressive flows (``"iaf"``)
also let one variable's scale depend on others (funnels).

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     x = ppl.Normal("x", 1.0, 0.5)
>>> approx = ppl.fit(2000, method="nfvi", model=m, random_seed=0, progressbar=False)
>>> round(float(approx.mean["x"]), 1), round(float(approx.std["x"]), 1)
(1.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ppl.inference.approximations import Approximation
from tessera.ppl.inference.engine import Inference

__all__ = ["NFVI", "NormalizingFlow"]

_LOG_2PI_E = float(np.log(2 * np.pi) + 1.0)


class NormalizingFlow(Approximation):
    """Standard normal draws pushed through a sequence of flows.

    Parameters
    ----------
    model : Model
    start : ndarray
        The flat start point (where ``loc`` flows and flow centres start).
    flow : str, Flow or list
        A PyMC formula (``"scale-loc-planar*4"``) or flow specifications.
    random_seed : int, optional
        Seeds the flows' initial parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> q = NormalizingFlow(m, np.zeros(2), "scale-loc-radial")
    >>> [p.name for p in q.params][:3]
    ['scale0_log_s', 'loc1_b', 'radial2_z0']
    """

    def __init__(
        self, model, start: np.ndarray, flow: Any = "scale-loc", random_seed: Any = None
    ) -> None:
        from tessera.ppl.inference.flows import parse_formula

        super().__init__(model)
        x0 = np.asarray(start, dtype=np.float64)
        if x0.shape != (self.size,):
            raise ValueError(f"start has shape {x0.shape}, expected ({self.size},)")
        rng = np.random.default_rng(random_seed)
        self.flows = parse_formula(flow)
        self.flow_params = [
            f.create(self.size, rng, x0, k) for k, f in enumerate(self.flows)
        ]
        self.params = [p for ps in self.flow_params for p in ps]

    @property
    def formula(self) -> str:
        """The flows as a formula string."""
        return "-".join(f.short_name for f in self.flows)

    def symbolic_flow(self, eps):
        """``(z, logdet)``: the draws and their summed log-det-Jacobians."""
        z, logdet = eps, None
        for f, ps in zip(self.flows, self.flow_params):
            z, ld = f.forward(ps, z)
            logdet = ld if logdet is None else logdet + ld
        return z, logdet

    def symbolic_draws(self, eps):
        return self.symbolic_flow(eps)[0]

    def symbolic_elbo_parts(self, eps):
        z, logdet = self.symbolic_flow(eps)
        mean_ld = logdet if logdet.ndim == 0 else logdet.mean()
        return z, mean_ld + 0.5 * self.size * _LOG_2PI_E

    def symbolic_logq(self, eps):
        """``log q(z)`` of the draws ``z`` made from ``eps``."""
        _, logdet = self.symbolic_flow(eps)
        base = -0.5 * (eps * eps).sum(axis=-1) - 0.5 * self.size * np.log(2 * np.pi)
        return base - logdet

    def sample_flat_logq(self, draws: int, random_seed: Any = None):
        """``(draws, n)`` draws and their ``log q`` (for importance weights)."""
        fn = getattr(self, "_logq_fn", None)
        if fn is None:
            from tessera.compile.function import function
            from tessera.ops.type import TensorType

            e = TensorType("float64", (None, self.size))(name="eps")
            fn = self._logq_fn = function(
                [e], [self.symbolic_draws(e), self.symbolic_logq(e)]
            )
        eps = np.random.default_rng(random_seed).standard_normal(
            (int(draws), self.size)
        )
        z, lq = fn(eps)
        return np.asarray(z), np.asarray(lq)


class NFVI(Inference):
    """Fit a normalizing flow by maximizing the ELBO.

    Parameters
    ----------
    flow : str, Flow or list
        PyMC formula (default ``"scale-loc"``, the mean-field Gaussian), a
        :class:`~tessera.ppl.inference.flows.Flow` or a list of them.
    model, random_seed, start, obj_n_mc, obj_optimizer, backend
        As for :class:`~tessera.ppl.ADVI`.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> ppl.NFVI(flow="scale-loc-planar*2", model=m).approx.formula
    'scale-loc-planar-planar'
    """

    def __init__(
        self,
        flow: Any = "scale-loc",
        model: Any = None,
        random_seed: Any = None,
        start: dict | None = None,
        obj_n_mc: int = 1,
        obj_optimizer: Callable | None = None,
        backend: str | Backend = "auto",
    ) -> None:
        point = self._setup(model, random_seed, start, obj_optimizer, backend)
        if int(obj_n_mc) < 1:
            raise ValueError(f"obj_n_mc must be >= 1, got {obj_n_mc}")
        self.obj_n_mc = int(obj_n_mc)
        x0 = self.model.point_to_array(point)
        seed = int(self._init_seed.generate_state(1)[0])
        self.approx = NormalizingFlow(self.model, x0, flow, random_seed=seed)
        self._build(self._seed)

    @property
    def eps_shape(self) -> tuple:
        n = self.approx.size
        return (n,) if self.obj_n_mc == 1 else (self.obj_n_mc, n)

    def _objective(self, eps):
        from tessera.ppl.inference.advi import elbo_objective

        return elbo_objective(self.model, self.approx, eps)
