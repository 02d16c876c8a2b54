"""Random variables on the JAX backend: :mod:`jax.random` with threaded keys.

How generators become keys
--------------------------
A tessera generator variable holds a :class:`numpy.random.Generator` on
every backend, so one shared generator serves both backends and
``get_value()`` keeps its meaning. At each call of a JAX-compiled function,
every generator the graph starts from (a shared generator, a generator
passed as an input, or a constant one) is copied on the host and the copy
draws two 32-bit words: they are the raw data of a threefry
:func:`jax.random.key` passed into the jitted function. Inside, each
:class:`~tessera.random.RandomVariable` node splits its incoming key, draws
with one half and passes the other on as its ``next_rng``, so a chain of
draws threads one key through the graph. An update ``{rng: next_rng}``
writes back the host copy that drew the key: the generator advances by one
draw per call, without reading anything back from the device.

So draws are reproducible from the seed on the JAX backend, but differ
from the NumPy backend's draws for the same seed (different algorithms).

Lowering a random variable
--------------------------
Each RandomVariable class registers a sampler with
``@jax_sample.register(MyRV)``: ``jax_sample(op, node)`` returns
``sample(key, *params, size) -> array`` of shape ``size + event_shape``
(like ``rng_fn``, with the parameters' batch dims broadcast to ``size``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import singledispatch

import jax
import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    JaxLoweringError,
    jax_funcify,
    no_lowering,
    static_inputs,
    static_ints,
)
from tessera.graph.basic import Apply, Variable
from tessera.random.op import RandomVariable
from tessera.random.type import RandomGeneratorType, copy_generator

__all__ = ["broadcast_params", "copy_generator", "jax_sample"]


def is_rng(var: Variable) -> bool:
    """Whether ``var`` holds a random generator."""
    return isinstance(var.type, RandomGeneratorType)


def is_random_node(node: Apply) -> bool:
    """Whether ``node`` draws random numbers (never evaluated ahead of time)."""
    return isinstance(node.op, RandomVariable) or any(is_rng(o) for o in node.outputs)


@singledispatch
def advanced_generator(op, node: Apply, index: int) -> int | None:
    """Which input generator ``node``'s output ``index`` is an advanced copy of.

    The position of that input, or None. A random variable's ``next_rng``
    advances its ``rng`` input; an op that carries generators (a loop)
    registers its own rule, so that an update ``{rng: next_rng}`` through it
    is traced back to the generator it starts from.

    Examples
    --------
    >>> import tessera.random as tr
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, 1.0, rng=tr.rng(0))
    >>> advanced_generator(x.owner.op, x.owner, 0)
    0
    """
    return None


@advanced_generator.register(RandomVariable)
def _(op, node: Apply, index: int) -> int | None:
    return 0 if index == 0 else None


def chain_root(var: Variable, roots: Sequence[Variable]) -> Variable:
    """The generator a chain of draws ending in ``var`` starts from."""
    cur = var
    while cur not in roots:
        node = cur.owner
        k = None if node is None else advanced_generator(node.op, node, cur.index)
        if k is None:
            raise JaxLoweringError(
                f"JAX backend: cannot tell which generator {var} advances; "
                "generators must come from a chain of random-variable draws"
            )
        cur = node.inputs[k]
    return cur


def key_from_generator(gen, name: str) -> tuple[np.ndarray, np.random.Generator]:
    """Raw key data drawn from a copy of ``gen``, and that advanced copy."""
    if not isinstance(gen, np.random.Generator):
        raise TypeError(
            f"generator {name!r}: expected a numpy.random.Generator, got "
            f"{type(gen).__name__}"
        )
    after = copy_generator(gen)
    return after.integers(0, 2**32, size=2, dtype=np.uint32), after


def wrap_key(data):
    """The typed JAX key for raw threefry key data (inside the jitted function)."""
    return jax.random.wrap_key_data(data, impl="threefry2x32")


def broadcast_params(
    params: Sequence, ndims_params: Sequence[int], size: tuple
) -> list:
    """Broadcast each parameter's batch dims to ``size`` (JAX arrays).

    Examples
    --------
    >>> import numpy as np
    >>> broadcast_params([np.array([0.2, 0.8])], [1], (3,))[0].shape
    (3, 2)
    """
    out = []
    for p, nd in zip(params, ndims_params):
        p = jnp.asarray(p)
        out.append(jnp.broadcast_to(p, tuple(size) + p.shape[p.ndim - nd :]))
    return out


@singledispatch
def jax_sample(op: RandomVariable, node: Apply) -> Callable:
    """Return ``sample(key, *params, size)`` drawing ``op``'s distribution.

    ``size`` is the full batch shape (a tuple); the result has shape
    ``size + event_shape``. Register samplers per RandomVariable class.

    Examples
    --------
    >>> import jax
    >>> import tessera as ts
    >>> import tessera.random as tr
    >>> class UniformRV(tr.RandomVariable):
    ...     name, signature, dtype = "uniform", "(),()->()", "floatX"
    ...     def rng_fn(self, rng, low, high, size):
    ...         return rng.uniform(low, high, size=size)
    >>> @jax_sample.register(UniformRV)
    ... def _(op, node):
    ...     def sample(key, low, high, size):
    ...         return jax.random.uniform(key, size, minval=low, maxval=high)
    ...     return sample
    >>> g = tr.rng(0)
    >>> x = UniformRV()(0.0, 1.0, size=(3,), rng=g)
    >>> f = ts.function([], x, updates=tr.rng_updates(x), backend="jax")
    >>> bool((f() != f()).all())
    True
    """
    raise no_lowering(op, "random variable")


@jax_funcify.register(RandomVariable)
def _funcify_random_variable(op: RandomVariable, node: Apply) -> Callable:
    sample = jax_sample(op, node)
    ndims = op.ndims_params

    def run(key, size, *params):
        if size is None:
            batch = np.broadcast_shapes(
                *[np.shape(p)[: np.ndim(p) - nd] for p, nd in zip(params, ndims)]
            )
        else:
            batch = static_ints(size)
        key, sub = jax.random.split(key)
        return key, sample(sub, *params, size=tuple(batch))

    return static_inputs(run, 1)
