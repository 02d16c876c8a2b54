"""``ppl.fit_many``: mean-field ADVI of one model for many datasets at once.

The models are built and checked as for :func:`~tessera.ppl.sample_many`
and the log-density is compiled once with the data as inputs
(:class:`~tessera.ppl.inference.many_data.ManyLogp`). The ADVI step
(:class:`~tessera.ppl.MeanField`'s ``N(mu, softplus(rho)**2)``, the ELBO's
reparameterized Monte Carlo gradient, Adam at ``learning_rate``) is written
in JAX and run for every dataset under ``jax.vmap`` inside one
``jax.lax.scan``: one program for all datasets and all steps.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> def build(y):
...     with ppl.Model() as m:
...         mu = ppl.Normal("mu", 0.0, 10.0)
...         ppl.Normal("y", mu, 1.0, observed=y)
...     return m
>>> res = ppl.fit_many(build, np.array([[0.0, 2.0], [9.0, 11.0]]), n=3000,
...                    random_seed=0)
>>> np.round(res.mean_flat[:, 0]).tolist()
[1.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.ppl.inference.many_data import (
    ManyDraws,
    ManyLogp,
    build_models,
    data_arrays,
    split_datasets,
)

__all__ = ["ManyApproximation", "fit_many"]


@dataclass
class ManyApproximation:
    """Mean-field approximations of every dataset's posterior.

    Attributes
    ----------
    mean_flat, std_flat : ndarray
        ``(datasets, ndim)`` means and standard deviations on the flat
        unconstrained space (the model's :class:`FlatLayout`).
    hist : ndarray
        ``(datasets, n)`` negative ELBO per step (PyMC's ``approx.hist``).
    models : list of Model
    """

    mean_flat: np.ndarray
    std_flat: np.ndarray
    hist: np.ndarray
    models: list

    def sample(self, draws: int = 1000, random_seed: Any = None) -> list:
        """``draws`` draws of each dataset's approximation, as a list of
        InferenceData (one chain; deterministics computed from each
        dataset's own data)."""
        from tessera.ppl.model.idata import to_inference_data

        rng = np.random.default_rng(random_seed)
        to_values = ManyDraws(self.models[0])
        out = []
        for m, mu, sd in zip(self.models, self.mean_flat, self.std_flat):
            flat = mu + sd * rng.standard_normal((1, int(draws), mu.size))
            post = to_values(flat, *data_arrays(m))
            out.append(to_inference_data(m, posterior=post))
        return out


def _program(logdensity: Callable, n: int, n_mc: int, learning_rate: float):
    """``run(mu, rho, key, *data) -> (mu, rho, hist)`` for one dataset."""
    import jax
    import jax.numpy as jnp

    b1, b2, eps_adam = 0.9, 0.999, 1e-8

    def neg_elbo(params, eps, data):
        mu, rho = params
        sd = jax.nn.softplus(rho)
        z = mu + sd * eps  # (n_mc, ndim)
        lp = jax.vmap(lambda x: logdensity(x, *data))(z)
        return -(jnp.mean(lp) + jnp.sum(jnp.log(sd)))

    grad = jax.value_and_grad(neg_elbo)

    def run(mu, rho, key, *data):
        def step(carry, inp):
            params, m, v = carry
            t, k = inp
            eps = jax.random.normal(k, (n_mc, mu.shape[0]), dtype=mu.dtype)
            loss, g = grad(params, eps, data)
            m = jax.tree_util.tree_map(lambda a, b: b1 * a + (1 - b1) * b, m, g)
            v = jax.tree_util.tree_map(lambda a, b: b2 * a + (1 - b2) * b * b, v, g)
            mhat = jax.tree_util.tree_map(lambda a: a / (1 - b1**t), m)
            vhat = jax.tree_util.tree_map(lambda a: a / (1 - b2**t), v)
            new = jax.tree_util.tree_map(
                lambda p, a, b: p - learning_rate * a / (jnp.sqrt(b) + eps_adam),
                params,
                mhat,
                vhat,
            )
            # a non-finite step leaves the parameters where they were
            good = jnp.isfinite(loss) & jnp.all(
                jnp.stack([jnp.all(jnp.isfinite(a)) for a in new])
            )
            new = jax.tree_util.tree_map(
                lambda a, b: jnp.where(good, a, b), new, params
            )
            return (new, m, v), loss

        zeros = (jnp.zeros_like(mu), jnp.zeros_like(rho))
        steps = jnp.arange(1, n + 1, dtype=mu.dtype)
        keys = jax.random.split(key, n)
        ((mu, rho), _, _), hist = jax.lax.scan(
            step, ((mu, rho), zeros, zeros), (steps, keys)
        )
        return mu, rho, hist

    return run


def fit_many(
    build: Callable[[Any], Any],
    datasets: Any,
    *,
    n: int = 10_000,
    method: str = "advi",
    random_seed: Any = None,
    obj_n_mc: int = 1,
    learning_rate: float = 0.01,
    init_std: float = 0.1,
) -> ManyApproximation:
    """Mean-field ADVI of the same model for many datasets, one program.

    Parameters
    ----------
    build : callable
        ``build(data) -> Model``, as for :func:`~tessera.ppl.sample_many`.
    datasets : sequence, or array / dict of arrays with a leading dataset axis
    n : int
        Optimization steps (every dataset takes all of them).
    method : {"advi"}
        Mean-field ADVI only.
    random_seed : optional
    obj_n_mc : int
        Monte Carlo draws of the ELBO's gradient per step.
    learning_rate : float
        Adam's (``ppl.fit``'s default optimizer).
    init_std : float
        The approximations' starting standard deviation (as ``ppl.ADVI``'s);
        their means start at the model's initial point.

    Returns
    -------
    ManyApproximation

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> def build(y):
    ...     with ppl.Model() as m:
    ...         s = ppl.HalfNormal("s", 5.0)
    ...         ppl.Normal("y", 0.0, s, observed=y)
    ...     return m
    >>> res = ppl.fit_many(build, np.ones((3, 4)), n=500, random_seed=1)
    >>> res.mean_flat.shape, res.hist.shape
    ((3, 1), (3, 500))
    """
    import jax

    from tessera.compile.backends import get_backend
    from tessera.compile.backends.jax.options import jit

    if method != "advi":
        raise ValueError(f"fit_many: method={method!r}; only 'advi' (mean-field)")
    get_backend("jax").load()
    models = build_models(build, split_datasets(datasets))
    f = ManyLogp(models[0])
    data = [np.stack(a) for a in zip(*(data_arrays(m) for m in models))]
    x0 = models[0].point_to_array(models[0].initial_point())
    count = len(models)
    mu = np.tile(x0, (count, 1))
    rho = np.full_like(mu, np.log(np.expm1(init_std)))
    rng = np.random.default_rng(random_seed)
    key_shape = jax.eval_shape(jax.random.PRNGKey, 0).shape
    keys = rng.integers(0, 2**32, size=(count, *key_shape), dtype=np.uint32)
    run = _program(f.logdensity, int(n), int(obj_n_mc), float(learning_rate))
    mu, rho, hist = jit(jax.vmap(run))(mu, rho, keys, *data)
    mu, rho, hist = (np.asarray(a) for a in (mu, rho, hist))
    return ManyApproximation(mu, np.logaddexp(0.0, rho), hist, models)
