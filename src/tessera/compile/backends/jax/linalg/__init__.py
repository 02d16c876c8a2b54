"""JAX lowerings of :mod:`tessera.ops.linalg`, one module per ops module.

Every kernel here handles leading batch dims, so each lowering serves both
the core op and ``Blockwise(core_op)`` (registered with
:func:`~tessera.compile.backends.jax.blockwise.jax_batched`): a batch of
matrices is one call to a batched XLA / LAPACK kernel.

Semantics follow the NumPy backend: factorizations read only the triangle
they are told to (no symmetrization); ``on_error="raise"`` raises
``numpy.linalg.LinAlgError`` after the call when a matrix of the batch fails
(JAX kernels return NaN or inf instead of raising; see
:func:`~tessera.compile.backends.jax.dispatch.runtime_check`), and
``on_error="nan"`` fills the failed matrices with NaN.
"""

# the modules register their lowerings on import
from tessera.compile.backends.jax.linalg import (  # noqa: F401
    decomposition,
    determinant,
    expm,
    inverse,
    solve,
    spectral,
    structure,
)
