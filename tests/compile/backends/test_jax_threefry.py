"""tessera's Threefry lowering (compile/backends/jax/threefry.py): the bits
of JAX's own, with the rounds in line inside ``unrolled_threefry``."""

from __future__ import annotations

import re

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from jax.extend.random import threefry_2x32  # noqa: E402

from tessera.compile.backends.jax.threefry import (  # noqa: E402
    threefry2x32,
    unrolled_threefry,
)

RNG = np.random.default_rng(0)


def _u32(*shape):
    return RNG.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)


@pytest.mark.parametrize("unroll", [True, False])
@pytest.mark.parametrize(
    "key_shape, count_shape", [((), (6,)), ((), (3, 4)), ((5,), (5,))]
)
def test_the_cipher_gives_jaxs_bits(unroll, key_shape, count_shape):
    k0, k1 = _u32(*key_shape), _u32(*key_shape)
    x0, x1 = _u32(*count_shape), _u32(*count_shape)
    ours = jax.jit(lambda *a: threefry2x32(*a, unroll=unroll))(k0, k1, x0, x1)
    if key_shape:  # JAX's cipher takes one key: each element on its own
        ref = [
            np.asarray(threefry_2x32(np.array([a, b]), np.array([c, d])))
            for a, b, c, d in zip(k0, k1, x0, x1)
        ]
        ref = (np.array([r[0] for r in ref]), np.array([r[1] for r in ref]))
    else:
        n = x0.size
        flat = np.asarray(
            threefry_2x32(np.array([k0, k1]), np.concatenate([x0.ravel(), x1.ravel()]))
        )
        ref = (flat[:n].reshape(count_shape), flat[n:].reshape(count_shape))
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(np.asarray(a), b)


def _draws(key):
    return (
        jax.random.normal(key, (4,)),
        jax.random.key_data(jax.random.split(key, 3)),
        jax.random.key_data(jax.random.fold_in(key, 7)),
        jax.random.bernoulli(key, 0.3, (5,)),
    )


def _trip_counts(compiled) -> list[str]:
    return re.findall(r'known_trip_count":\{"n":"(\d+)"', compiled.as_text())


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU lowering")
def test_inside_the_scope_the_rounds_are_in_line_and_the_draws_the_same():
    key = jax.random.key(42)
    outside = jax.jit(_draws).lower(key).compile()
    with unrolled_threefry():
        lowered = jax.jit(lambda k: _draws(k)).lower(key)
    inside = lowered.compile()
    # JAX's CPU lowering loops over the 5 blocks of rounds; inside, none
    assert "5" in _trip_counts(outside)
    assert "5" not in _trip_counts(inside)
    for a, b in zip(outside(key), inside(key)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # after the scope, programs loop again (tessera's loop): the same bits
    after = jax.jit(lambda k: _draws(k)).lower(key).compile()
    assert "5" in _trip_counts(after)
    for a, b in zip(outside(key), after(key)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
