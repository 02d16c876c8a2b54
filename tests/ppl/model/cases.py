"""Models with NumPy/SciPy references for the model tests.

Each :class:`Case` holds a model builder, a point and a reference: the
inverse transforms written out in NumPy, the log-densities from
``scipy.stats``, the log-det-Jacobians by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.stats as st
from scipy.special import expit, logsumexp, softmax

from tessera import ppl

COV = np.array([[1.0, 0.3], [0.3, 2.0]])
Y_OBS = np.array([0.3, -1.2, 0.8])


# --- NumPy inverse transforms: (constrained value, log|J|) ------------------------
def _log(y):
    return np.exp(y), np.sum(y)


def _interval(y, lo, hi):
    return lo + (hi - lo) * expit(y), np.sum(
        np.log(hi - lo) + np.log(expit(y)) + np.log(expit(-y))
    )


def _simplex(y):
    z = np.append(y, -np.sum(y))
    k = z.size
    return softmax(z), np.log(k) - k * logsumexp(z)


@dataclass
class Case:
    id: str
    build: Callable[[], ppl.Model]
    point: dict
    reference: Callable[[dict, bool], float]


def _hierarchical():
    with ppl.Model(coords={"g": ["a", "b", "c"]}) as m:
        mu = ppl.Normal("mu", 1.0, 2.0)
        tau = ppl.HalfNormal("tau", 1.5)
        theta = ppl.Normal("theta", mu, tau, dims="g")
        ppl.Normal("y", theta, 1.0, observed=Y_OBS, dims="g")
    return m


def _hierarchical_ref(p, jac):
    tau, j = _log(p["tau_log__"])
    return (
        st.norm(1, 2).logpdf(p["mu"])
        + st.halfnorm(scale=1.5).logpdf(tau)
        + st.norm(p["mu"], tau).logpdf(p["theta"]).sum()
        + st.norm(p["theta"], 1.0).logpdf(Y_OBS).sum()
        + jac * j
    )


def _bounded():
    with ppl.Model() as m:
        s = ppl.Gamma("s", 2.0, 3.0)
        u = ppl.Uniform("u", -1.0, s)  # bounds depend on another RV
        b = ppl.Beta("b", 2.0, 5.0, shape=2)
        ppl.Potential("pot", -(u**2) + b.sum())
    return m


def _bounded_ref(p, jac):
    s, j1 = _log(p["s_log__"])
    u, j2 = _interval(p["u_interval__"], -1.0, s)
    b, j3 = _interval(p["b_logodds__"], 0.0, 1.0)
    return (
        st.gamma(2.0, scale=1 / 3.0).logpdf(s)
        + st.uniform(-1.0, s + 1.0).logpdf(u)
        + st.beta(2, 5).logpdf(b).sum()
        - u**2
        + b.sum()
        + jac * (j1 + j2 + j3)
    )


def _multivariate():
    with ppl.Model(coords={"k": range(3), "d": ["x", "y"], "obs": range(4)}) as m:
        w = ppl.Dirichlet("w", np.array([1.0, 2.0, 3.0]), dims="k")
        mu = ppl.MvNormal("mu", np.zeros(2), COV, dims="d")
        ppl.MvNormal("y", mu, COV, observed=_MV_OBS, dims=("obs", "d"))
        ppl.Multinomial("c", 10, w, observed=np.array([2, 3, 5]))
    return m


_MV_OBS = np.random.default_rng(1).normal(size=(4, 2))


def _multivariate_ref(p, jac):
    w, j = _simplex(p["w_simplex__"])
    return (
        st.dirichlet([1.0, 2.0, 3.0]).logpdf(w)
        + st.multivariate_normal(np.zeros(2), COV).logpdf(p["mu"])
        + st.multivariate_normal(p["mu"], COV).logpdf(_MV_OBS).sum()
        + st.multinomial(10, w).logpmf([2, 3, 5])
        + jac * j
    )


CASES = [
    Case(
        "hierarchical",
        _hierarchical,
        {"mu": 0.4, "tau_log__": -0.3, "theta": np.array([0.1, -0.5, 1.2])},
        _hierarchical_ref,
    ),
    Case(
        "bounded",
        _bounded,
        {"s_log__": 0.2, "u_interval__": -0.7, "b_logodds__": np.array([0.3, -1.1])},
        _bounded_ref,
    ),
    Case(
        "multivariate",
        _multivariate,
        {"w_simplex__": np.array([0.2, -0.4]), "mu": np.array([0.5, -0.2])},
        _multivariate_ref,
    ),
]
IDS = [c.id for c in CASES]


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g
