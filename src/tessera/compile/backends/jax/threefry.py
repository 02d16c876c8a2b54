"""Threefry with its rounds unrolled, for tessera's sampler programs on CPU.

JAX draws random numbers with the Threefry-2x32 block cipher (Salmon et
al., 2011: 20 rounds of add, rotate and xor on two 32-bit words, with a key
injection every 4 rounds). On CPU, JAX lowers the cipher's 5 blocks of
rounds as a loop, to keep the compile time of programs with many random
calls down. Inside a sampler's leapfrog loop that is the wrong trade:
XLA:CPU runs each loop trip as separate kernels, and BlackJAX's NUTS draws
through ``split``, ``fold_in`` and a uniform at every leaf, so every
leapfrog step ran three 5-trip loops of tiny kernels.

Inside :func:`unrolled_threefry`, the CPU lowering of JAX's
``threefry2x32_p`` emits the rounds in line (one fused kernel); outside,
it emits them as a loop, as JAX does. Both are this module's
implementation of the same cipher, so the bits are JAX's either way (the
tests compare them with :func:`jax.extend.random.threefry_2x32`). tessera
lowers its BlackJAX sampler programs inside it. Measured on a 2-core x86
machine (jaxlib 0.9.2, ``ppl.sample`` of 2 chains x 1000 + 1000, warm
sampling, medians of 3 fresh processes, 2026-12-07): eight schools 0.20 -> 0.12 s, radon
0.63 -> 0.57 s, the hierarchical MvNormal unchanged, the same draws;
lowering took 30-90 ms longer and XLA's compile 60-170 ms less.

Examples
--------
>>> import jax
>>> from tessera.compile.backends.jax.threefry import unrolled_threefry
>>> f = jax.jit(lambda k: jax.random.uniform(k, (3,)))
>>> with unrolled_threefry():
...     compiled = f.lower(jax.random.key(0)).compile()
>>> bool((compiled(jax.random.key(0)) == f(jax.random.key(0))).all())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["threefry2x32", "unrolled_threefry"]

#: the rotation distances of the 8 rounds, repeated (Threefry-2x32's)
ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
#: the key schedule's parity constant
PARITY = 0x1BD11BDA

_UNROLL: ContextVar[bool] = ContextVar("tessera_unrolled_threefry", default=False)
_installed = False


def _rotl(x, d, back=None):
    """``x`` rotated left by ``d`` bits (a uint32 array like ``x``);
    ``back`` is ``32 - d`` when the caller has it."""
    back = lax.sub(_full(x, 32), d) if back is None else back
    return lax.bitwise_or(lax.shift_left(x, d), lax.shift_right_logical(x, back))


def _full(like, value: int):
    return lax.full_like(like, value, np.uint32)


def _block(x0, x1, rotations, backs=None):
    """Four rounds: add, rotate, xor (lax's operations: cheaper to trace
    than jax.numpy's, and this traces at every draw's shapes); ``backs``
    the rotations' ``32 - d``, when the caller has them."""
    for i, d in enumerate(rotations):
        x0 = lax.add(x0, x1)
        x1 = lax.bitwise_xor(_rotl(x1, d, None if backs is None else backs[i]), x0)
    return x0, x1


def threefry2x32(k0, k1, x0, x1, *, unroll: bool = True):
    """Threefry-2x32 of the counts ``(x0, x1)`` under the key ``(k0, k1)``
    (uint32 arrays); ``unroll=False`` loops over the 5 blocks of rounds.

    Examples
    --------
    >>> import numpy as np
    >>> from jax.extend.random import threefry_2x32
    >>> k, x = np.uint32([1, 2]), np.uint32([3, 4, 5, 6])
    >>> ours = np.concatenate(threefry2x32(k[0], k[1], x[:2], x[2:]))
    >>> bool((ours == np.asarray(threefry_2x32(k, x))).all())
    True
    """
    shape = np.broadcast_shapes(*(np.shape(a) for a in (k0, k1, x0, x1)))
    k0, k1, x0, x1 = (
        jnp.broadcast_to(jnp.asarray(a, np.uint32), shape) for a in (k0, k1, x0, x1)
    )
    keys = (k0, k1, lax.bitwise_xor(lax.bitwise_xor(k0, k1), _full(k0, PARITY)))
    x0, x1 = lax.add(x0, keys[0]), lax.add(x1, keys[1])
    if unroll:
        # each shift amount built once (tracing is most of its cost)
        rot = [_full(x0, d) for d in ROTATIONS]
        back = [_full(x0, 32 - d) for d in ROTATIONS]
        for b in range(5):
            half = slice(4 * (b % 2), 4 * (b % 2) + 4)
            x0, x1 = _block(x0, x1, rot[half], back[half])
            x0 = lax.add(x0, keys[(b + 1) % 3])
            x1 = lax.add(lax.add(x1, keys[(b + 2) % 3]), _full(x1, b + 1))
        return x0, x1
    # a loop over the blocks: the key schedule and the rotations advance
    # by one place per block
    rotations = jnp.asarray(np.reshape(ROTATIONS, (2, 4)), np.uint32)

    def body(b, carry):
        x0, x1, keys, rot = carry
        x0, x1 = _block(x0, x1, [jnp.broadcast_to(rot[0, i], shape) for i in range(4)])
        x0 = lax.add(x0, keys[1])
        step = jnp.broadcast_to((b + 1).astype(np.uint32), shape)
        x1 = lax.add(lax.add(x1, keys[2]), step)
        return x0, x1, (keys[1], keys[2], keys[0]), rot[::-1]

    x0, x1, _, _ = lax.fori_loop(0, 5, body, (x0, x1, keys, rotations))
    return x0, x1


def _install() -> None:
    """Register the CPU lowering of ``threefry2x32_p`` (once)."""
    global _installed
    if _installed:
        return
    from jax.extend.random import threefry2x32_p
    from jax.interpreters import mlir

    rules = {
        u: mlir.lower_fun(
            lambda k0, k1, x0, x1, u=u: threefry2x32(k0, k1, x0, x1, unroll=u),
            multiple_results=True,
        )
        for u in (False, True)
    }

    def rule(ctx, *args, **params):
        return rules[_UNROLL.get()](ctx, *args, **params)

    # out of line: lowered once per program and argument shapes, not at
    # every draw (XLA inlines the calls when it compiles)
    mlir.register_lowering(threefry2x32_p, rule, platform="cpu", inline=False)
    _installed = True


@contextmanager
def unrolled_threefry() -> Iterator[None]:
    """Programs lowered inside lower Threefry's rounds in line on CPU.

    Examples
    --------
    >>> import jax
    >>> with unrolled_threefry():
    ...     lowered = jax.jit(lambda k: jax.random.normal(k)).lower(jax.random.key(1))
    >>> "while" in lowered.as_text()
    False
    """
    _install()
    token = _UNROLL.set(True)
    try:
        yield
    finally:
        _UNROLL.reset(token)
