"""The NumPy backend's linalg kernels, one module per op module.

``decomposition.py`` (Cholesky, its pullback, LU), ``solve.py``,
``inverse.py`` (``cholesky_inverse``), ``expm.py`` and ``structure.py``
mirror :mod:`tessera.ops.linalg`; ops without a module here (det, slogdet,
adjugate, eigh, svd, qr, inv, pinv, ...) run their reference ``perform``, whose
np.linalg gufuncs are already the fastest NumPy kernels. How a node picks
its kernel: :mod:`._dispatch`; every size crossover:
:mod:`tessera.compile.backends.numpy.tuning`.
"""

from tessera.compile.backends.numpy.linalg import (  # noqa: F401 (registers)
    decomposition,
    expm,
    inverse,
    solve,
    structure,
)
