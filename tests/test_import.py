"""``import tessera`` stays light: JAX is imported when first used, not before."""

import subprocess
import sys

SCRIPT = """
import sys
import numpy as np
import tessera as ts
from tessera import ppl

x = ts.vector("x")
f = ts.function([x], (x**2).sum())          # the NumPy backend, the default
assert f(np.ones(3)) == 3.0
with ppl.Model() as m:
    mu = ppl.Normal("mu", 0.0, 1.0)
    ppl.Normal("y", mu, 1.0, observed=np.zeros(2))
m.logp_dlogp_function(backend="numpy")(np.zeros(1))
print("jax" in sys.modules, "blackjax" in sys.modules)
"""


def test_import_and_numpy_backend_do_not_import_jax():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
