"""``draw``: sample random variables eagerly, reproducibly from a seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import SharedValue, Variable
from tessera.graph.traversal import clone_replace
from tessera.random.type import rng as make_rng
from tessera.random.utils import random_nodes, rng_updates


def _seed_sequence(random_seed: Any) -> np.random.SeedSequence:
    if isinstance(random_seed, np.random.SeedSequence):
        return random_seed
    if isinstance(random_seed, np.random.Generator):
        return np.random.SeedSequence(random_seed.integers(2**63))
    return np.random.SeedSequence(random_seed)


def draw(
    vars: Variable | Sequence[Variable],
    draws: int | None = None,
    random_seed: Any = None,
    **kwargs: Any,
):
    """Draw values of random variables (and of graphs built on them).

    The graph is compiled once with every shared generator it uses replaced
    by a fresh one seeded from ``random_seed`` (the variables' own
    generators are left untouched), and called ``draws`` times, advancing
    the generators between calls.

    Parameters
    ----------
    vars : TensorVariable or list of TensorVariable
    draws : int, optional
        Number of draws, stacked along a new leading axis. ``None`` gives a
        single draw without that axis.
    random_seed : int, SeedSequence or Generator, optional
        Same seed, same values.
    **kwargs
        Passed to :func:`tessera.function`.

    Returns
    -------
    ndarray or list of ndarray

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, 1.0, size=(3,))
    >>> draw(x, draws=5, random_seed=1).shape
    (5, 3)
    >>> bool((draw(x, random_seed=1) == draw(x, random_seed=1)).all())
    True
    """
    from tessera.compile.function import function

    single = isinstance(vars, Variable)
    outs = [vars] if single else list(vars)
    rngs: list[Variable] = []
    for node in random_nodes(outs):
        g = node.inputs[0]
        if isinstance(g, SharedValue) and g not in rngs:
            rngs.append(g)
    seeds = _seed_sequence(random_seed).spawn(len(rngs))
    fresh = {g: make_rng(s) for g, s in zip(rngs, seeds)}
    if fresh:
        outs = clone_replace(outs, fresh)
    fn = function([], outs, updates=rng_updates(outs), **kwargs)
    if draws is None:
        values = fn()
    else:
        runs = [fn() for _ in range(int(draws))]
        values = [np.stack([r[k] for r in runs]) for k in range(len(outs))]
    return values[0] if single else values
