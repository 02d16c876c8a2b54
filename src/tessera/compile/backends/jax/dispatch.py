"""``jax_funcify``: turn an Apply node into a function of JAX arrays.

Every op the JAX backend can run has a lowering registered here (one module
per op module sits beside this one). A lowering is called once per node at
compile time and returns ``f(*input_values) -> output value`` (a tuple for
multi-output nodes) built from :mod:`jax.numpy` / :mod:`jax.scipy`; the
linker calls these functions while :func:`jax.jit` traces the whole graph.

Some inputs must be known while tracing (JAX compiles fixed shapes): the
shape of a reshape, the sizes of a split, slice bounds, boolean masks. A
lowering marks them with :func:`static_inputs`; the linker then proves at
compile time that those inputs depend only on constants and on shapes, and
hands them to the lowering as NumPy values.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from functools import singledispatch

from tessera.graph.op import Op


class JaxLoweringError(NotImplementedError):
    """Raised at compile time when a node cannot run on the JAX backend.

    Examples
    --------
    >>> issubclass(JaxLoweringError, NotImplementedError)
    True
    """


def no_lowering(op: Op, what: str = "op") -> JaxLoweringError:
    """The error for an op without a JAX lowering (names the op).

    Examples
    --------
    >>> from tessera.ops.shape import Shape
    >>> str(no_lowering(Shape()))[:38]
    'JAX backend: no lowering for op Shape '
    """
    return JaxLoweringError(
        f"JAX backend: no lowering for {what} {op} (register one with "
        "tessera.compile.backends.jax.jax_funcify.register)"
    )


@singledispatch
def jax_funcify(op: Op, node) -> Callable:
    """Return the JAX implementation of ``node`` (whose op is ``op``).

    Register a lowering for a new op class with
    ``@jax_funcify.register(MyOp)``; the function receives the op and the
    node, and returns a callable on JAX arrays. Mark the inputs that must be
    static (known while tracing) with :func:`static_inputs`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import tessera as ts
    >>> from tessera.graph.basic import Apply
    >>> from tessera.graph.op import Op
    >>> class Double(Op):
    ...     __props__ = ()
    ...     def make_node(self, x):
    ...         x = ts.as_tensor(x)
    ...         return Apply(self, [x], [x.type])
    ...     def perform(self, node, inputs, out):
    ...         out[0][0] = 2 * inputs[0]
    >>> @jax_funcify.register(Double)
    ... def _(op, node):
    ...     return lambda x: 2 * x
    >>> x = ts.tensor("x", shape=(2,))
    >>> ts.function([x], Double()(x), backend="jax")([1.0, 2.0])
    Array([2., 4.], dtype=float64)
    """
    if load_lazy_lowerings():
        return jax_funcify(op, node)
    raise no_lowering(op)


#: Lowerings of ops defined outside ``tessera.ops`` live in modules imported
#: the first time such an op is lowered, so importing the backend does not
#: import those packages: op-module prefix -> lowering module.
LAZY_LOWERINGS = {"tessera.ppl.": "tessera.compile.backends.jax.ppl"}
_lazy_loaded: set[str] = set()


def load_lazy_lowerings() -> bool:
    """Import the lowering modules of the op packages imported so far.

    Returns whether any was imported (then a failed lookup is worth retrying).

    Examples
    --------
    >>> load_lazy_lowerings() in (True, False)
    True
    """
    loaded = False
    for prefix, target in LAZY_LOWERINGS.items():
        if target not in _lazy_loaded and prefix.rstrip(".") in sys.modules:
            _lazy_loaded.add(target)
            importlib.import_module(target)
            loaded = True
    return loaded


def static_inputs(fn: Callable, *positions: int) -> Callable:
    """Mark inputs of a lowered function as static (NumPy values at trace time).

    Returns ``fn`` itself, with the positions in ``fn.static_inputs``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> f = static_inputs(lambda x, shp: jnp.reshape(x, tuple(shp)), 1)
    >>> f.static_inputs
    (1,)
    """
    fn.static_inputs = tuple(
        sorted(set(getattr(fn, "static_inputs", ())) | set(positions))
    )
    return fn


def static_ints(value) -> tuple[int, ...]:
    """A static shape-like value (NumPy array or sequence) as a tuple of ints.

    Examples
    --------
    >>> import numpy as np
    >>> static_ints(np.array([2, -1]))
    (2, -1)
    """
    import numpy as np

    return tuple(int(v) for v in np.asarray(value).reshape(-1))


class _TraceChecks(threading.local):
    """The run-time checks recorded while one graph is being traced."""

    checks: list | None = None


_TRACE = _TraceChecks()


def runtime_check(ok, error: Exception) -> None:
    """Raise ``error`` after the call if ``ok`` (a traced boolean array) is not all true.

    A lowering cannot raise on traced values, so it records the condition;
    the compiled function reduces it with ``all``, returns it with the
    results and raises on the host before any update is written. Outside a
    JAX-backend trace the condition is checked at once.

    Examples
    --------
    >>> import numpy as np
    >>> runtime_check(np.array([True, False]), ValueError("negative scale"))
    Traceback (most recent call last):
    ...
    ValueError: negative scale
    """
    if _TRACE.checks is None:
        import numpy as np

        if not np.all(np.asarray(ok)):
            raise error
        return
    _TRACE.checks.append((ok, error))
