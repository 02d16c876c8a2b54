"""Many NUTS chains through a fixed number of slots of one program.

:func:`~tessera.ppl.inference.nuts_lanes.lanes_program` advances a batch
of *slots*, each running a chain at its own pace, by a number of leapfrog
steps per call. Here the host keeps a queue of chains (*lanes*: every chain
of every dataset) and, between calls, hands a slot whose chain has
finished its run to the next chain waiting. A batch of fixed size keeps one
compiled program; it is full of work until the queue runs dry, so the cost
is about the total work of the chains divided by the slots, not the longest
chain's work times the number of chains, as when every chain of the batch
runs to the end together.

Chains differ in work (a hard dataset's trajectories are several times
longer), and a long chain that starts last runs alone at the end while the
other slots idle. So each chain first makes a *pilot* of its transitions
(:data:`PILOT` of them) and pauses between two transitions; the paused
chains then go on to the end, the one with the most leapfrog steps left
(estimated from its pilot) first.

The draws of a chain depend on its own start, keys and data only, not on
the slot it ran in or the chains beside it.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> from tessera.compile.backends import get_backend
>>> from tessera.ppl.inference.adaptation import adapt_init, window_schedule
>>> from tessera.ppl.inference.nuts_lanes import lanes_program
>>> _ = get_backend("jax").load()  # float64
>>> vg = jax.vmap(jax.value_and_grad(lambda x: -0.5 * jnp.sum(x * x)))
>>> program = lanes_program(lambda x, data: vg(x), max_treedepth=10,
...                         target_accept=0.8, iterations=64)
>>> from tessera.compile.backends.jax.options import jit  # tessera's XLA options
>>> advance = jit(program)
>>> x0 = np.zeros((6, 3))
>>> starts = (x0, np.zeros(6), np.zeros((6, 3)), adapt_init((6, 3)))
>>> out, made = run_lanes(advance, program.zeros, starts, lane_seeds(0, 6), (),
...                       window_schedule(200, 400), slots=4, max_treedepth=10,
...                       window=64)
>>> made.tolist()
[400, 400, 400, 400, 400, 400]
>>> out.position.shape
(6, 400, 3)
>>> bool(np.abs(out.position[:, 200:].std(axis=(0, 1)) - 1).max() < 0.2)
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from tessera.ppl.inference.nuts_lanes import LaneOutput, ended
from tessera.ppl.inference.nuts_result import nuts_stats

__all__ = [
    "MAX_DRAWN",
    "MAX_GATHERED",
    "PILOT",
    "LaneRandom",
    "lane_seeds",
    "lane_stats",
    "run_lanes",
    "window_size",
]

#: most momentum values handed to the program per call (8 bytes each)
MAX_DRAWN = 2**22

#: most values of one randomness array (``slots x window x ndim`` momenta,
#: ``slots x window x 2 max_treedepth`` uniforms) where that keeps the
#: window at :data:`MIN_WINDOW` or more: each step gathers its slots' next
#: randomness from these arrays, and XLA:CPU splits a gather from an array
#: of about 64K values or more over its threads (its cost model counts the
#: whole array), which costs 2-3 us per step against 1 us for the gather
MAX_GATHERED = 40_960
MIN_WINDOW = 32

#: share of the steps a lane makes before :func:`run_lanes` orders the
#: lanes by the work they have left (when they outnumber the slots)
PILOT = 0.2


def window_size(iterations: int, slots: int, ndim: int, max_treedepth: int = 10) -> int:
    """Transitions a slot may make per call: ``iterations`` (each takes a
    leapfrog step at least), fewer where the slots' randomness would pass
    :data:`MAX_GATHERED` values (down to :data:`MIN_WINDOW`) or their
    momenta :data:`MAX_DRAWN` values (large models, whose transitions are
    long). A call ends when a slot has made its window's transitions.

    Examples
    --------
    >>> window_size(512, 4, 10), window_size(512, 16, 10)
    (512, 128)
    >>> window_size(512, 16, 1000), window_size(512, 16, 100_000)
    (32, 2)
    """
    slots, ndim = max(int(slots), 1), max(int(ndim), 1)
    small = max(MIN_WINDOW, MAX_GATHERED // (slots * max(ndim, 2 * max_treedepth)))
    return max(1, min(int(iterations), small, MAX_DRAWN // (slots * ndim)))


def _take(tree, rows):
    import jax

    return jax.tree_util.tree_map(lambda a: np.asarray(a)[rows], tree)


class LaneRandom:
    """A chain's randomness, transition after transition: standard normals
    (momenta), uniforms (directions and merges) and a key for the leaves'
    uniforms, each from its own NumPy stream spawned from ``seed``, drawn
    ahead in blocks (the values do not depend on the blocks' sizes).

    Examples
    --------
    >>> a, b = LaneRandom(1, 3, 4), LaneRandom(1, 3, 4)
    >>> z1 = a.window(0, 5)[0]
    >>> z2 = np.concatenate([b.window(0, 2)[0][:2], b.window(2, 3)[0]])
    >>> bool(np.array_equal(z1, z2)), z1.shape
    (True, (5, 3))
    """

    def __init__(self, seed, ndim: int, max_depth: int):
        ss = seed if isinstance(seed, np.random.SeedSequence) else None
        ss = ss or np.random.SeedSequence(seed)
        self._gens = [np.random.Generator(np.random.PCG64(s)) for s in ss.spawn(3)]
        self._shapes = (ndim, 2 * max_depth)
        self._start = 0  # the transition of the buffers' first row
        self._bufs = (
            np.empty((0, ndim)),
            np.empty((0, 2 * max_depth)),
            np.empty((0, 2), np.uint32),
        )

    def window(self, start: int, size: int) -> tuple:
        """``(z, u, key)`` of transitions ``start, ..., start + size - 1``
        (``start`` never decreasing between calls)."""
        drop = start - self._start
        have = len(self._bufs[0]) - drop
        if have < size:
            k = max(size - have, size)  # draw ahead
            z_gen, u_gen, k_gen = self._gens
            n, m = self._shapes
            new = (
                z_gen.standard_normal((k, n)),
                u_gen.random((k, m)),
                k_gen.integers(0, 2**32, (k, 2), np.uint32),
            )
            self._bufs = tuple(
                np.concatenate([b[drop:], x]) for b, x in zip(self._bufs, new)
            )
        else:
            self._bufs = tuple(b[drop:] for b in self._bufs)
        self._start = start
        return tuple(b[:size] for b in self._bufs)


def lane_seeds(seed: int, chains: int) -> list:
    """The randomness seeds of a run's ``chains`` (spawned from ``seed``).

    Examples
    --------
    >>> len(lane_seeds(3, 2))
    2
    """
    return np.random.SeedSequence(int(seed)).spawn(int(chains))


def run_lanes(
    advance: Callable,
    zeros: Callable,
    starts: tuple,
    seeds: list,
    data: tuple,
    schedule: np.ndarray,
    *,
    slots: int,
    max_treedepth: int,
    window: int,
    progress: Callable[[int], None] | None = None,
    stop=None,
    pilot: int | None = None,
) -> tuple[LaneOutput, np.ndarray]:
    """Run every lane's chain through ``schedule`` in ``slots`` slots.

    Parameters
    ----------
    advance : callable
        A compiled :func:`~tessera.ppl.inference.nuts_lanes.lanes_program`.
    zeros : callable
        Its ``zeros`` (the program's state before the first call).
    starts : tuple
        ``(position (lanes, ndim), logdensity (lanes,), grad (lanes, ndim),
        AdaptState (lanes, ...))``: each lane's start.
    seeds : list
        Each lane's seed (an int or ``SeedSequence``, see
        :class:`LaneRandom`).
    data : tuple of ndarray
        Each lane's data arrays, ``(lanes, ...)`` each (may be empty).
    schedule : ndarray
        ``(steps, 4)`` warm-up flags
        (:func:`~tessera.ppl.inference.adaptation.window_schedule`).
    slots : int
        Chains run at once (the program's batch size); slots beyond the
        lanes idle.
    max_treedepth : int
        The program's.
    window : int
        Transitions a slot may make per call (randomness drawn ahead).
    progress : callable, optional
        Called with the number of transitions finished after each call.
    stop : threading.Event, optional
        When set, the run ends after the current call.
    pilot : int, optional
        With more lanes than slots, each lane first makes ``pilot``
        transitions and pauses; the paused lanes then run to the end, the
        most leapfrog steps left first (estimated from their pilots).
        Default: :data:`PILOT` of the steps; 0 runs the lanes in order.

    Returns
    -------
    LaneOutput, ndarray
        ``(lanes, steps, ...)`` NumPy arrays, and the transitions each lane
        made (``steps`` unless ``stop`` cut the run short).
    """
    import jax

    leaves = jax.tree_util.tree_leaves
    lanes, steps = len(seeds), schedule.shape[0]
    ndim = np.shape(starts[0])[1]
    size = max(1, int(slots))
    out = LaneOutput(
        np.zeros((lanes, steps, ndim)),
        np.zeros((lanes, steps)),
        np.zeros((lanes, steps)),
        np.zeros((lanes, steps), bool),
        np.zeros((lanes, steps), np.int32),
        np.zeros((lanes, steps), np.int32),
        np.zeros((lanes, steps)),
        np.zeros((lanes, steps)),
    )
    if pilot is None:
        pilot = max(1, int(PILOT * steps))
    pilot = int(pilot) if lanes > size and 0 < pilot < steps else steps
    book = _Lanes(starts, seeds, steps, pilot, out.num_integration_steps)
    lane_of = np.full(size, -1)  # each slot's lane (-1: none)
    until = np.zeros(size, np.int32)  # each slot's lane stops there
    # the slots' inputs, rewritten on the host when a slot takes a lane
    start = (np.zeros(size, np.int32), *_take(starts, [0] * size))
    slot_data = tuple(np.asarray(a)[[0] * size].copy() for a in data)
    rand = (
        np.zeros((size, window, ndim)),
        np.full((size, window, 2 * max_treedepth), 0.5),
        np.zeros((size, window, 2), np.uint32),
    )
    state = zeros(start, rand)
    first = True
    while True:
        # at the first call every slot takes its start (idle ones too)
        fresh = np.full(size, first)
        first = False
        for b in np.flatnonzero(lane_of < 0):
            lane = book.next_lane()
            lane_of[b], until[b] = (-1, 0) if lane is None else (lane, book.until(lane))
            if lane is not None:
                fresh[b] = True
                start[0][b] = book.made[lane]
                for dst, src in zip(leaves(start[1:]), book.state(lane)):
                    dst[b] = src
                for dst, src in zip(slot_data, data):
                    dst[b] = src[lane]
        if not np.any(lane_of >= 0):
            break
        for b in np.flatnonzero(lane_of >= 0):
            for dst, src in zip(rand, book.window(lane_of[b], window, max_treedepth)):
                dst[b] = src
        state, rows = advance(state, fresh, start, rand, slot_data, schedule, until)
        now = np.asarray(state.chain.i)
        res, offsets = ended(jax.device_get(rows), ndim)
        total, chain = 0, None
        for b in np.flatnonzero(lane_of >= 0):
            total += book.record(lane_of[b], out, res, offsets[b], int(now[b]))
            if now[b] >= until[b]:  # done or paused: the slot is free
                if now[b] < steps:
                    chain = jax.device_get(state.chain) if chain is None else chain
                    book.pause(lane_of[b], _take(leaves(chain)[1:], b))
                lane_of[b] = -1
        if progress is not None:
            progress(total)
        if stop is not None and stop.is_set():
            break
    return out, book.made


class _Lanes:
    """The lanes' bookkeeping in :func:`run_lanes`: the transitions each
    has made, its randomness, and the order in which lanes take the free
    slots: the lanes not yet started in order (each for its pilot's
    transitions), then the paused lanes, the most leapfrog steps left
    first. A long chain that started last would otherwise run alone at the
    end while the other slots idle."""

    def __init__(self, starts, seeds: list, steps: int, pilot: int, n_steps):
        import jax

        self._starts = [np.asarray(a) for a in jax.tree_util.tree_leaves(starts)]
        self._seeds, self._steps, self._pilot = seeds, steps, pilot
        self.made = np.zeros(len(seeds), np.int64)
        self._streams: dict[int, LaneRandom] = {}
        self._queue = deque(range(len(seeds)))
        self._paused: dict[int, list] = {}  # lane -> its chain's state
        self._left: dict[int, float] = {}  # lane -> leapfrog steps left (est.)
        self._n_steps = n_steps  # (lanes, steps) leapfrog steps so far

    def next_lane(self) -> int | None:
        if self._queue:
            return self._queue.popleft()
        if not self._paused:
            return None
        return max(self._paused, key=self._left.__getitem__)

    def until(self, lane: int) -> int:
        """The transitions the lane makes before it leaves its slot."""
        return self._pilot if lane not in self._paused else self._steps

    def state(self, lane: int) -> list:
        """The lane's chain state to start from (its start, or where it
        paused): position, log-density, gradient and warm-up state."""
        if lane in self._paused:
            del self._left[lane]
            return self._paused.pop(lane)
        return [a[lane] for a in self._starts]

    def window(self, lane: int, size: int, max_treedepth: int) -> tuple:
        """The randomness of the lane's next ``size`` transitions."""
        if lane not in self._streams:
            ndim = self._starts[0].shape[1]
            self._streams[lane] = LaneRandom(self._seeds[lane], ndim, max_treedepth)
        return self._streams[lane].window(int(self.made[lane]), size)

    def record(self, lane: int, out: LaneOutput, res, at: int, now: int) -> int:
        """Copy the lane's transitions of a call (those of ``res`` from
        ``at``, up to transition ``now``) to ``out``; their number."""
        made = int(self.made[lane])
        for dst, src in zip(out, res):
            dst[lane, made:now] = src[at : at + now - made]
        self.made[lane] = now
        if now >= self._steps:
            self._streams.pop(lane, None)
        return now - made

    def pause(self, lane: int, chain: list) -> None:
        """The lane left its slot between two transitions, at ``chain``;
        its work left is estimated once, from the steps its transitions took."""
        made = int(self.made[lane])
        self._left[lane] = self._n_steps[lane, :made].mean() * (self._steps - made)
        self._paused[lane] = chain


def lane_stats(out, max_treedepth: int, sl: slice) -> dict:
    """Sampler statistics named as in ArviZ, ``(datasets, chains, steps)``
    each, of a :class:`~tessera.ppl.inference.nuts_lanes.LaneOutput`
    ``(datasets, chains, steps, ...)``."""
    stats = nuts_stats(out, out.logdensity, out.step_size, max_treedepth)
    return {k: np.ascontiguousarray(v[:, :, sl]) for k, v in stats.items()}
