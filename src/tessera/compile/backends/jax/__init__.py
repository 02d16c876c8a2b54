"""The JAX backend: every op lowered to :mod:`jax.numpy`, the graph jitted.

``tessera.function(..., backend="jax")`` lowers each node through the
:func:`jax_funcify` registry (one module per op module beside this one),
wraps the whole graph in one :func:`jax.jit`, and returns JAX arrays.

Importing this package turns on ``jax_enable_x64``: tessera's dtypes are
NumPy's, and a float64 graph must compute in float64 (JAX would otherwise
silently run it in float32). float32 graphs (``tessera.config.floatX =
"float32"``) stay float32, because every input, constant and op output
carries its dtype explicitly. The flag is global to JAX in this process.

Shared variables updated by a JAX function hold JAX arrays afterwards (kept
on the device, no copy back to the host per call); ``get_value()`` returns
a JAX array then, which NumPy accepts wherever it accepts an array
(``np.asarray(w.get_value())`` gives an ndarray).

Examples
--------
>>> import tessera as ts
>>> x = ts.tensor("x", shape=(None,))
>>> f = ts.function([x], (x**2).sum(), backend="jax")
>>> f([1.0, 2.0])
Array(5., dtype=float64)
"""

import warnings

import jax

from tessera.compile.backends.registry import JAX

jax.config.update("jax_enable_x64", True)

if JAX.problem() is not None:  # a jaxlib release known to hang
    warnings.warn(
        f"tessera's JAX backend: {JAX.problem()}", RuntimeWarning, stacklevel=2
    )

# the op modules register their lowerings on import
from tessera.compile.backends.jax import (  # noqa: E402, F401
    advanced_subtensor,
    blockwise,
    creation,
    elemwise,
    join,
    linalg,
    products,
    random,
    reduction,
    shape,
    subtensor,
)
from tessera.compile.backends.jax.blockwise import jax_batched  # noqa: E402
from tessera.compile.backends.jax.dispatch import (  # noqa: E402
    JaxLoweringError,
    jax_funcify,
    static_inputs,
)
from tessera.compile.backends.jax.linker import jax_link  # noqa: E402
from tessera.compile.backends.jax.random import jax_sample  # noqa: E402

__all__ = [
    "JaxLoweringError",
    "jax_batched",
    "jax_funcify",
    "jax_link",
    "jax_sample",
    "static_inputs",
]

JAX.loaded()  # after every lowering of this package is registered
