"""tessera quickstart: a batched log-density, its gradient, compiled once.

Builds the log-density of 1000 independent 3-dim Gaussians with diagonal
covariance as a symbolic graph, differentiates it, compiles it with the
NumPy backend and checks it against SciPy.

Run: python examples/quickstart.py
"""

import numpy as np
from scipy import stats

import tessera as ts

# symbolic inputs: a batch of points, means and log-scales (batch size unknown)
x = ts.tensor("x", shape=(None, 3))
mu = ts.tensor("mu", shape=(None, 3))
log_sigma = ts.tensor("log_sigma", shape=(3,))

z = (x - mu) / ts.exp(log_sigma)
logp = (-0.5 * z**2 - log_sigma - 0.5 * np.log(2 * np.pi)).sum(axis=-1)
total = logp.sum()

# one compiled function returns the log-density and both gradients
f = ts.function([x, mu, log_sigma], [total, *ts.grad(total, [mu, log_sigma])])

rng = np.random.default_rng(0)
xv, muv = rng.normal(size=(1000, 3)), rng.normal(size=(1000, 3))
ls = np.log(np.array([0.5, 1.0, 2.0]))
value, d_mu, d_log_sigma = f(xv, muv, ls)

reference = stats.norm(muv, np.exp(ls)).logpdf(xv).sum()
print(f"log-density: {value:.6f} (scipy: {reference:.6f})")
print(f"d/d mu[0]: {d_mu[0]}")
print(f"d/d log_sigma: {d_log_sigma}")
assert np.isclose(value, reference)
print("\nThe compiled graph:")
ts.dprint(f)
