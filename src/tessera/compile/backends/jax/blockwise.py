"""JAX lowering of :class:`tessera.ops.blockwise.Blockwise`.

A core op with a natively batched JAX kernel registers it with
``@jax_batched.register(CoreOp)`` (``jnp.matmul``, ``jnp.linalg.cholesky``,
...): the kernel receives the batched inputs, whose batch dims broadcast
like a gufunc's. Other core ops are vectorized with :func:`jax.numpy.vectorize`
over their gufunc signature, which JAX turns into one batched computation
(no Python loop at run time).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

import jax.numpy as jnp

from tessera.compile.backends.jax.dispatch import JaxLoweringError, jax_funcify
from tessera.graph.op import Op
from tessera.ops.blockwise import Blockwise


@singledispatch
def jax_batched(core_op: Op, node) -> Callable | None:
    """A JAX kernel for ``Blockwise(core_op)`` that handles batch dims itself.

    ``node`` is the Blockwise node. The default (``None``) makes the backend
    vectorize the core op's lowering over its gufunc signature.

    Examples
    --------
    >>> from tessera.ops.products import MatMul
    >>> jax_batched(MatMul(), None).__name__
    '_matmul'
    """
    return None


@jax_funcify.register(Blockwise)
def _funcify_blockwise(op: Blockwise, node) -> Callable:
    kernel = jax_batched(op.core_op, node)
    if kernel is not None:
        return kernel
    core_node = op.core_node(node.inputs)
    core_fn = jax_funcify(op.core_op, core_node)
    if getattr(core_fn, "static_inputs", ()):
        raise JaxLoweringError(
            f"JAX backend: cannot vectorize {op.core_op} over batch dims: its inputs "
            f"{core_fn.static_inputs} must be static; register a batched kernel with "
            "tessera.compile.backends.jax.blockwise.jax_batched.register"
        )
    return jnp.vectorize(core_fn, signature=op.signature)
