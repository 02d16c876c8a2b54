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

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    raise no_lowering(op)


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


class Check(tuple):
    """One recorded run-time check: the pair ``(ok, error)``, and ``where``,
    the unreduced flags (batch shape) that locate a failure, or None."""

    where = None


def runtime_check(ok, error: Exception, where=None) -> None:
    """Raise ``error`` after the call if ``ok`` (a traced boolean array) is not all true.

    A lowering cannot raise on traced values, so it records the condition;
    the compiled function reduces it with ``all``, returns it with the
    results and raises on the host before any update is written. Outside a
    JAX-backend trace the condition is checked at once. ``where`` (boolean,
    of the batch shape; default ``ok`` itself when it has dims) locates the
    failure: the error then names the first batch index where it is false.
    It is computed only when a call has failed (the program that runs on
    every call does not return it, so XLA leaves it out).

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
    check = Check((ok, error))
    check.where = where
    _TRACE.checks.append(check)


@contextmanager
def recorded_checks() -> Iterator[list]:
    """Record the run-time checks of one trace into the list it yields.

    Each entry is ``(ok, error)`` as given to :func:`runtime_check`. The
    checks recorded before are restored afterwards: a graph may be traced
    inside another one.

    Examples
    --------
    >>> import numpy as np
    >>> with recorded_checks() as checks:
    ...     runtime_check(np.array([False]), ValueError("negative scale"))
    >>> [str(err) for _, err in checks]
    ['negative scale']
    """
    saved, _TRACE.checks = _TRACE.checks, []
    try:
        yield _TRACE.checks
    finally:
        _TRACE.checks = saved
